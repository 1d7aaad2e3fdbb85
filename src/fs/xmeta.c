/* xmeta.c: reading and applying POSIX ACLs and extended attributes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/acl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <acl/libacl.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/xmeta.h"

#include "base/banned.h"

#define ACL_ACCESS_XATTR	"system.posix_acl_access"
#define ACL_DEFAULT_XATTR	"system.posix_acl_default"
/* The kernel's XATTR_LIST_MAX: a name list is never longer. */
#define LIST_MAX		65536

void
rcp_xmeta_init(struct rcp_xmeta *xm)
{
	memset(xm, 0, sizeof(*xm));
}

void
rcp_xmeta_release(struct rcp_xmeta *xm)
{
	size_t i;

	for (i = 0; i < xm->n; i++) {
		free(xm->v[i].name);
		free(xm->v[i].value);
	}
	free(xm->v);
	free(xm->acl_access);
	free(xm->acl_default);
	free(xm->skipped);
	rcp_xmeta_init(xm);
}

bool
rcp_xmeta_empty(const struct rcp_xmeta *xm)
{
	return xm->n == 0 && xm->acl_access == NULL && xm->acl_default == NULL;
}

int
rcp_xmeta_add(struct rcp_xmeta *xm, const char *name, const void *value,
    size_t len)
{
	struct rcp_xattr *x;
	size_t nlen = strlen(name);

	if (nlen == 0 || nlen > RCP_XMETA_NAME_MAX ||
	    len > RCP_XMETA_VALUE_MAX || xm->n >= RCP_XMETA_COUNT_MAX ||
	    len > RCP_XMETA_TOTAL_MAX - xm->total)
		return RCP_ERR_INVAL;
	xm->total += len;
	xm->v = rcp_xrealloc(xm->v, (xm->n + 1) * sizeof(*xm->v));
	x = &xm->v[xm->n++];
	x->name = rcp_xstrdup(name);
	x->value = rcp_xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(x->value, value, len);
	x->len = len;
	return 0;
}

/* The name through which a path call reaches what fd or dirfd/name is. */
static char *
proc_path(int fd, int dirfd, const char *name)
{
	if (fd >= 0)
		return rcp_xasprintf("/proc/self/fd/%d", fd);
	if (dirfd == AT_FDCWD)
		return rcp_xstrdup(name);
	return rcp_xasprintf("/proc/self/fd/%d/%s", dirfd, name);
}

/* trusted.* and security.*: only root may set them (and read trusted.*). */
static bool
privileged(const char *name)
{
	return strncmp(name, "trusted.", 8) == 0 ||
	    strncmp(name, "security.", 9) == 0;
}

bool
rcp_xmeta_settable(const char *name)
{
	if (strncmp(name, "user.", 5) == 0)
		return true;
	return privileged(name) && geteuid() == 0;
}

static void
note_skipped(struct rcp_xmeta *xm, const char *name)
{
	if (xm->skipped == NULL)
		xm->skipped = rcp_xstrdup(name);
}

void
rcp_xmeta_keep_settable(struct rcp_xmeta *xm)
{
	size_t i, n = 0;

	for (i = 0; i < xm->n; i++) {
		if (rcp_xmeta_settable(xm->v[i].name)) {
			xm->v[n++] = xm->v[i];
			continue;
		}
		note_skipped(xm, xm->v[i].name);
		xm->total -= xm->v[i].len;
		free(xm->v[i].name);
		free(xm->v[i].value);
	}
	xm->n = n;
}

static ssize_t
x_list(int fd, const char *path, char *buf, size_t len)
{
	return fd >= 0 ? flistxattr(fd, buf, len) : llistxattr(path, buf, len);
}

static ssize_t
x_get(int fd, const char *path, const char *name, void *buf, size_t len)
{
	return fd >= 0 ? fgetxattr(fd, name, buf, len) :
	    lgetxattr(path, name, buf, len);
}

/* Reads one value into xm; a name gone meanwhile is not an error. */
static int
read_value(int fd, const char *path, const char *name, struct rcp_xmeta *xm)
{
	uint8_t small[4096], *big = NULL;
	ssize_t n;
	int r;

	n = x_get(fd, path, name, small, sizeof(small));
	if (n < 0 && errno == ERANGE) {
		big = rcp_xmalloc(RCP_XMETA_VALUE_MAX);
		n = x_get(fd, path, name, big, RCP_XMETA_VALUE_MAX);
	}
	if (n < 0) {
		r = errno == ENODATA ? 0 : -errno;
		free(big);
		return r;
	}
	r = rcp_xmeta_add(xm, name, big != NULL ? big : small, (size_t)n);
	free(big);
	return r == 0 ? 0 : -E2BIG;
}

/* Reads one ACL as numeric-id text; a minimal access ACL is NULL. */
static int
read_acl(int fd, const char *path, acl_type_t type, char **out)
{
	acl_t acl;
	char *t;

	/* By path only for a non-symlink: a symlink lists no ACL names. */
	acl = type == ACL_TYPE_ACCESS && fd >= 0 ? acl_get_fd(fd) :
	    acl_get_file(path, type);
	if (acl == NULL)
		return errno == ENOTSUP || errno == ENODATA ? 0 : -errno;
	if (type == ACL_TYPE_ACCESS && acl_equiv_mode(acl, NULL) == 0) {
		acl_free(acl);
		return 0;
	}
	t = acl_to_any_text(acl, NULL, ',', TEXT_NUMERIC_IDS);
	acl_free(acl);
	if (t == NULL)
		return -errno;
	if (t[0] != '\0')
		*out = rcp_xstrdup(t);
	acl_free(t);
	return 0;
}

static int
cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct rcp_xattr *)a)->name,
	    ((const struct rcp_xattr *)b)->name);
}

int
rcp_xmeta_read(int fd, int dirfd, const char *name, unsigned what,
    struct rcp_xmeta *xm)
{
	char small[1024], *list = small, *path = NULL, *p;
	ssize_t n;
	int r = 0;

	rcp_xmeta_init(xm);
	if (fd < 0)
		path = proc_path(fd, dirfd, name);
	n = x_list(fd, path, small, sizeof(small));
	if (n < 0 && errno == ERANGE) {
		list = rcp_xmalloc(LIST_MAX);
		n = x_list(fd, path, list, LIST_MAX);
	}
	if (n < 0) {
		r = rcp_xmeta_unsupported(errno) ? 0 : -errno;
		goto out;
	}
	for (p = list; r == 0 && p < list + n; p += strlen(p) + 1) {
		if ((what & RCP_XMETA_ACL) && strcmp(p, ACL_ACCESS_XATTR) == 0)
			r = read_acl(fd, path, ACL_TYPE_ACCESS, &xm->acl_access);
		else if ((what & RCP_XMETA_ACL) &&
		    strcmp(p, ACL_DEFAULT_XATTR) == 0) {
			if (path == NULL)
				path = proc_path(fd, dirfd, name);
			r = read_acl(fd, path, ACL_TYPE_DEFAULT,
			    &xm->acl_default);
		} else if ((what & RCP_XMETA_XATTR) && rcp_xmeta_settable(p))
			r = read_value(fd, path, p, xm);
		else if ((what & RCP_XMETA_XATTR) && privileged(p))
			note_skipped(xm, p);
	}
	if (xm->n > 1)
		qsort(xm->v, xm->n, sizeof(*xm->v), cmp_xattr);
out:
	if (r != 0)
		rcp_xmeta_release(xm);
	if (list != small)
		free(list);
	free(path);
	return r;
}

/* Permission bits of the first entry of tag in acl, or -1. */
static int
acl_perms_of(acl_t acl, acl_tag_t tag)
{
	acl_entry_t e;
	acl_tag_t t;
	acl_permset_t ps;
	int id, bits;

	for (id = ACL_FIRST_ENTRY; acl_get_entry(acl, id, &e) == 1;
	    id = ACL_NEXT_ENTRY) {
		if (acl_get_tag_type(e, &t) != 0 || t != tag ||
		    acl_get_permset(e, &ps) != 0)
			continue;
		bits = (acl_get_perm(ps, ACL_READ) == 1 ? 4 : 0) |
		    (acl_get_perm(ps, ACL_WRITE) == 1 ? 2 : 0) |
		    (acl_get_perm(ps, ACL_EXECUTE) == 1 ? 1 : 0);
		return bits;
	}
	return -1;
}

mode_t
rcp_xmeta_safe_mode(const struct rcp_xmeta *xm, mode_t mode)
{
	acl_t acl;
	int g, m;

	if (xm == NULL || xm->acl_access == NULL)
		return mode;
	if ((acl = acl_from_text(xm->acl_access)) == NULL)
		return mode & ~(mode_t)070;	/* unreadable: the safest */
	g = acl_perms_of(acl, ACL_GROUP_OBJ);
	m = acl_perms_of(acl, ACL_MASK);
	acl_free(acl);
	if (g < 0)
		return mode & ~(mode_t)070;
	if (m >= 0)
		g &= m;
	return (mode & ~(mode_t)070) | ((mode_t)g << 3 & (mode & 070));
}

/*
 * Removes one ACL xattr of fd (or, fd < 0, of path, followed) if it is
 * there: one call when it is not.
 */
static int
drop_one(int fd, const char *path, const char *name)
{
	if ((fd >= 0 ? fgetxattr(fd, name, NULL, 0) :
	    getxattr(path, name, NULL, 0)) < 0)
		return errno == ENODATA || rcp_xmeta_unsupported(errno) ? 0 :
		    -errno;
	if ((fd >= 0 ? fremovexattr(fd, name) : removexattr(path, name)) != 0 &&
	    errno != ENODATA)
		return -errno;
	return 0;
}

int
rcp_xmeta_drop_inherited(int fd, bool dir, const struct rcp_xmeta *xm)
{
	int r = 0;

	if (xm->acl_access == NULL)
		r = drop_one(fd, NULL, ACL_ACCESS_XATTR);
	if (r == 0 && dir && xm->acl_default == NULL)
		r = drop_one(fd, NULL, ACL_DEFAULT_XATTR);
	return r;
}

int
rcp_xmeta_drop_inherited_path(const char *path, const struct rcp_xmeta *xm)
{
	return xm->acl_access == NULL ? drop_one(-1, path, ACL_ACCESS_XATTR) : 0;
}

bool
rcp_xmeta_has_default_acl(int fd)
{
	char *path;
	ssize_t n;
	int e;

	n = fgetxattr(fd, ACL_DEFAULT_XATTR, NULL, 0);
	e = errno;
	if (n < 0 && e == EBADF) {	/* an O_PATH handle */
		path = rcp_xasprintf("/proc/self/fd/%d", fd);
		n = getxattr(path, ACL_DEFAULT_XATTR, NULL, 0);
		e = errno;
		free(path);
	}
	if (n >= 0)
		return true;
	return !(e == ENODATA || rcp_xmeta_unsupported(e));
}

static int
cmp_name_key(const void *key, const void *x)
{
	return strcmp(key, ((const struct rcp_xattr *)x)->name);
}

int
rcp_xmeta_drop_extra(int fd, const struct rcp_xmeta *xm)
{
	char small[1024], *list = small, *p;
	ssize_t n;
	int r = 0;

	n = flistxattr(fd, small, sizeof(small));
	if (n < 0 && errno == ERANGE) {
		list = rcp_xmalloc(LIST_MAX);
		n = flistxattr(fd, list, LIST_MAX);
	}
	if (n < 0) {
		r = rcp_xmeta_unsupported(errno) ? 0 : -errno;
		goto out;
	}
	for (p = list; r == 0 && p < list + n; p += strlen(p) + 1) {
		if (!rcp_xmeta_settable(p) || (xm->n > 0 && bsearch(p, xm->v,
		    xm->n, sizeof(*xm->v), cmp_name_key) != NULL))
			continue;
		if (fremovexattr(fd, p) != 0 && errno != ENODATA)
			r = -errno;
	}
out:
	if (list != small)
		free(list);
	return r;
}

bool
rcp_xmeta_unsupported(int err)
{
	return err == ENOTSUP || err == EOPNOTSUPP;
}

static int
apply_acl(int fd, const char *path, acl_type_t type, const char *text)
{
	acl_t acl;
	int r;

	if ((acl = acl_from_text(text)) == NULL)
		return -EINVAL;
	r = type == ACL_TYPE_ACCESS && fd >= 0 ? acl_set_fd(fd, acl) :
	    acl_set_file(path, type, acl);
	r = r == 0 ? 0 : -errno;
	acl_free(acl);
	return r;
}

/*
 * Where a by-name apply reaches name below dirfd: for a symlink, its path
 * (l*xattr calls do not follow it; it has no ACLs); for anything else an
 * O_PATH handle (*hfd, which the caller closes), so that a FIFO or device
 * is never opened and a name swapped for a symlink meanwhile is not
 * followed.  NULL with errno set on failure.
 */
static char *
by_name(int dirfd, const char *name, int *hfd, bool *link)
{
	struct stat st;
	int e;

	*hfd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (*hfd < 0)
		return NULL;
	if (fstat(*hfd, &st) != 0) {
		e = errno;
		close(*hfd);
		*hfd = -1;
		errno = e;
		return NULL;
	}
	*link = S_ISLNK(st.st_mode);
	if (*link) {
		close(*hfd);
		*hfd = -1;
		return proc_path(-1, dirfd, name);
	}
	return rcp_xasprintf("/proc/self/fd/%d", *hfd);
}

/* Sets one xattr; -errno or 0. */
static int
set_one(int fd, const char *path, bool link, const struct rcp_xattr *x)
{
	int e;

	if (fd >= 0)
		e = fsetxattr(fd, x->name, x->value, x->len, 0);
	else if (link)
		e = lsetxattr(path, x->name, x->value, x->len, 0);
	else
		e = setxattr(path, x->name, x->value, x->len, 0);
	return e == 0 ? 0 : -errno;
}

int
rcp_xmeta_apply(int fd, int dirfd, const char *name,
    const struct rcp_xmeta *xm, const char **what)
{
	char *path = NULL;
	bool link = false;
	int r = 0, e, hfd = -1;
	size_t i;

	if (fd < 0 && (path = by_name(dirfd, name, &hfd, &link)) == NULL) {
		*what = "set extended attributes of";
		return -errno;
	}
	if (fd >= 0 && xm->acl_default != NULL)
		path = rcp_xasprintf("/proc/self/fd/%d", fd);
	if (!link && xm->acl_access != NULL && (e = apply_acl(fd, path,
	    ACL_TYPE_ACCESS, xm->acl_access)) != 0 && r == 0) {
		r = e;
		*what = "set the ACL of";
	}
	if (!link && xm->acl_default != NULL && (e = apply_acl(fd, path,
	    ACL_TYPE_DEFAULT, xm->acl_default)) != 0 && r == 0) {
		r = e;
		*what = "set the default ACL of";
	}
	for (i = 0; i < xm->n; i++) {
		e = set_one(fd, path, link, &xm->v[i]);
		if (e != 0 && r == 0) {
			r = e;
			*what = "set extended attributes of";
		}
		/* One refusal of the file system is its answer for all. */
		if (e != 0 && rcp_xmeta_unsupported(-e))
			break;
	}
	if (hfd >= 0)
		close(hfd);
	free(path);
	return r;
}

static bool
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
rcp_xmeta_equal(const struct rcp_xmeta *a, const struct rcp_xmeta *b,
    bool compare_acl, bool compare_xattr)
{
	size_t i;

	if (compare_acl && (!str_eq(a->acl_access, b->acl_access) ||
	    !str_eq(a->acl_default, b->acl_default)))
		return false;
	if (!compare_xattr)
		return true;
	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].name, b->v[i].name) != 0 ||
		    a->v[i].len != b->v[i].len ||
		    memcmp(a->v[i].value, b->v[i].value, a->v[i].len) != 0)
			return false;
	return true;
}
