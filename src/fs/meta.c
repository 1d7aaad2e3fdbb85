/* meta.c: parsing of compare and preserve settings; applying metadata. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/meta.h"
#include "fs/xmeta.h"

#include "base/banned.h"

static const struct {
	const char	*name;
	unsigned	 bit;
} attr_names[] = {
	{ "uid", RCP_ATTR_UID },   { "gid", RCP_ATTR_GID },
	{ "mode", RCP_ATTR_MODE }, { "size", RCP_ATTR_SIZE },
	{ "mtime", RCP_ATTR_MTIME }, { "ctime", RCP_ATTR_CTIME },
	{ "content", RCP_ATTR_CONTENT },
	{ "acl", RCP_ATTR_ACL },   { "xattr", RCP_ATTR_XATTR },
};

const char *
rcp_attr_name(unsigned bit)
{
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(attr_names); i++)
		if (attr_names[i].bit == bit)
			return attr_names[i].name;
	return "?";
}

void
rcp_attrs_format(unsigned mask, struct rcp_buf *b)
{
	size_t i;
	int first = 1;

	for (i = 0; i < RCP_ARRAY_SIZE(attr_names); i++) {
		if (!(mask & attr_names[i].bit))
			continue;
		if (!first)
			rcp_buf_addch(b, ',');
		rcp_buf_addstr(b, attr_names[i].name);
		first = 0;
	}
}

/* Parses a comma-separated list of attribute names of length n. */
static int
parse_attr_list(const char *s, size_t n, unsigned *mask, char **cause)
{
	const char *end = s + n, *comma;
	size_t i, len;

	*mask = 0;
	while (s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		len = (size_t)((comma != NULL ? comma : end) - s);
		for (i = 0; i < RCP_ARRAY_SIZE(attr_names); i++) {
			if (strlen(attr_names[i].name) == len &&
			    memcmp(attr_names[i].name, s, len) == 0)
				break;
		}
		if (i == RCP_ARRAY_SIZE(attr_names)) {
			*cause = rcp_xasprintf("unknown attribute '%.*s' "
			    "(expected uid, gid, mode, size, mtime, ctime, "
			    "content, acl or xattr)",
			    (int)len, s);
			return RCP_ERR_INVAL;
		}
		*mask |= attr_names[i].bit;
		s += len + (comma != NULL);
	}
	return 0;
}

/*
 * Splits spec into whitespace-separated "X:..." groups and calls fn for each
 * with the type letter and the text after the colon.
 */
static int
for_each_group(const char *spec, int (*fn)(void *, char, const char *, size_t,
    char **), void *arg, char **cause)
{
	const char *p = spec, *end;
	int r;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, " \t");
		if (end - p < 2 || p[1] != ':' || strchr("fdl", p[0]) == NULL) {
			*cause = rcp_xasprintf("bad group '%.*s' (expected "
			    "f:..., d:... or l:...)", (int)(end - p), p);
			return RCP_ERR_INVAL;
		}
		if ((r = fn(arg, p[0], p + 2, (size_t)(end - p - 2), cause)) != 0)
			return r;
		p = end;
	}
	return 0;
}

static int
attrs_group(void *arg, char type, const char *s, size_t n, char **cause)
{
	struct rcp_attrs *a = arg;
	unsigned *m = type == 'f' ? &a->f : type == 'd' ? &a->d : &a->l;

	return parse_attr_list(s, n, m, cause);
}

int
rcp_attrs_parse(struct rcp_attrs *out, const char *spec, char **cause)
{
	struct rcp_attrs a = { 0, 0, 0 };
	unsigned m;
	int r;

	if (strchr(spec, ':') == NULL) {
		if ((r = parse_attr_list(spec, strlen(spec), &m, cause)) != 0)
			return r;
		a.f = a.d = a.l = m;
	} else if ((r = for_each_group(spec, attrs_group, &a, cause)) != 0)
		return r;
	*out = a;
	return 0;
}

unsigned
rcp_attrs_for(const struct rcp_attrs *a, mode_t mode)
{
	if (S_ISDIR(mode))
		return a->d;
	if (S_ISLNK(mode))
		return a->l;
	return a->f;
}

unsigned
rcp_attrs_diff(unsigned mask, const struct stat *a, const struct stat *b)
{
	unsigned d = 0;

	if ((mask & RCP_ATTR_UID) && a->st_uid != b->st_uid)
		d |= RCP_ATTR_UID;
	if ((mask & RCP_ATTR_GID) && a->st_gid != b->st_gid)
		d |= RCP_ATTR_GID;
	if ((mask & RCP_ATTR_MODE) && (a->st_mode & 07777) != (b->st_mode & 07777))
		d |= RCP_ATTR_MODE;
	if ((mask & RCP_ATTR_SIZE) && a->st_size != b->st_size)
		d |= RCP_ATTR_SIZE;
	if ((mask & RCP_ATTR_MTIME) && (a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	    a->st_mtim.tv_nsec != b->st_mtim.tv_nsec))
		d |= RCP_ATTR_MTIME;
	if ((mask & RCP_ATTR_CTIME) && (a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	    a->st_ctim.tv_nsec != b->st_ctim.tv_nsec))
		d |= RCP_ATTR_CTIME;
	return d;
}

void
rcp_preserve_default(struct rcp_preserve *p)
{
	memset(p, 0, sizeof(*p));
	p->f.mode_mask = 0777;
	p->d.mode_mask = 0777;
}

void
rcp_preserve_all(struct rcp_preserve *p)
{
	struct rcp_preserve_one all = { true, true, true, 07777, true, true };

	p->f = p->d = p->l = all;
}

static int
preserve_group(void *arg, char type, const char *s, size_t n, char **cause)
{
	struct rcp_preserve *p = arg;
	struct rcp_preserve_one o = { false, false, false, 0, false, false };
	const char *end = s + n, *comma;
	size_t len;
	char *num, *e;
	unsigned long m;

	while (s < end) {
		comma = memchr(s, ',', (size_t)(end - s));
		len = (size_t)((comma != NULL ? comma : end) - s);
		if (len == 3 && memcmp(s, "uid", 3) == 0)
			o.uid = true;
		else if (len == 3 && memcmp(s, "gid", 3) == 0)
			o.gid = true;
		else if (len == 4 && memcmp(s, "time", 4) == 0)
			o.time = true;
		else if (len == 3 && memcmp(s, "acl", 3) == 0)
			o.acl = true;
		else if (len == 5 && memcmp(s, "xattr", 5) == 0)
			o.xattr = true;
		else if (len > 0 && s[0] >= '0' && s[0] <= '7') {
			num = rcp_xstrndup(s, len);
			m = strtoul(num, &e, 8);
			if (*e != '\0' || m > 07777) {
				*cause = rcp_xasprintf("bad mode mask '%s' "
				    "(expected octal, at most 07777)", num);
				free(num);
				return RCP_ERR_INVAL;
			}
			free(num);
			o.mode_mask = (mode_t)m;
		} else {
			*cause = rcp_xasprintf("unknown preserve setting "
			    "'%.*s' (expected uid, gid, time, acl, xattr or an "
			    "octal mode mask)", (int)len, s);
			return RCP_ERR_INVAL;
		}
		s += len + (comma != NULL);
	}
	if (type == 'f')
		p->f = o;
	else if (type == 'd')
		p->d = o;
	else
		p->l = o;
	return 0;
}

int
rcp_preserve_parse(struct rcp_preserve *out, const char *spec, char **cause)
{
	struct rcp_preserve p;
	int r;

	if (strcmp(spec, "all") == 0) {
		rcp_preserve_all(out);
		return 0;
	}
	memset(&p, 0, sizeof(p));
	if (strcmp(spec, "none") == 0) {
		*out = p;
		return 0;
	}
	if (strchr(spec, ':') == NULL) {
		*cause = rcp_xasprintf("bad preserve settings '%s' (expected "
		    "all, none or \"f:uid,gid,time,acl,xattr,0777 d:... "
		    "l:...\")", spec);
		return RCP_ERR_INVAL;
	}
	if ((r = for_each_group(spec, preserve_group, &p, cause)) != 0)
		return r;
	*out = p;
	return 0;
}

const struct rcp_preserve_one *
rcp_preserve_for(const struct rcp_preserve *p, mode_t mode)
{
	if (S_ISDIR(mode))
		return &p->d;
	if (S_ISLNK(mode))
		return &p->l;
	return &p->f;
}

/* An EPERM from chown is expected for an unprivileged user: cp -p ignores it. */
static int
chown_failed(int err)
{
	return !(err == EPERM && geteuid() != 0);
}

unsigned
rcp_preserve_xmeta(const struct rcp_preserve_one *p)
{
	return (p->acl ? RCP_XMETA_ACL : 0) | (p->xattr ? RCP_XMETA_XATTR : 0);
}

/*
 * Applies xm; an unsupported file system is noted in *xerr, not failed.
 * Returns 0 or -errno with *what set.
 */
static int
apply_xmeta(int fd, int dirfd, const char *name, const struct rcp_xmeta *xm,
    int *xerr, const char **what)
{
	const char *w = NULL;
	int r;

	if (xerr != NULL)
		*xerr = 0;
	if (xm == NULL || rcp_xmeta_empty(xm))
		return 0;
	r = rcp_xmeta_apply(fd, dirfd, name, xm, &w);
	if (r != 0 && rcp_xmeta_unsupported(-r) && xerr != NULL) {
		*xerr = r;
		return 0;
	}
	if (r != 0)
		*what = w;
	return r;
}

int
rcp_meta_apply_fd(int fd, const struct rcp_preserve_one *p,
    const struct stat *src, mode_t cur_mode, const struct rcp_xmeta *xm,
    bool inherits, int *xerr, const char **what)
{
	int r;

	struct timespec ts[2];
	bool force = false;
	mode_t want;

	if (p->uid || p->gid) {
		if (fchown(fd, p->uid ? src->st_uid : (uid_t)-1,
		    p->gid ? src->st_gid : (gid_t)-1) != 0 &&
		    chown_failed(errno)) {
			*what = "chown";
			return -errno;
		}
		/* chown may have cleared setuid/setgid: chmod must run. */
		if (src->st_mode & (S_ISUID | S_ISGID))
			force = true;
	}
	/*
	 * A default ACL of the parent, not the umask, made the mode of what
	 * was created in it: cur_mode, from the umask, may not be it.
	 */
	if (inherits)
		force = true;
	want = rcp_xmeta_safe_mode(xm, src->st_mode & p->mode_mask);
	if (p->mode_mask != 0 && (force || (cur_mode & 07777) != want)) {
		if (fchmod(fd, want) != 0) {
			*what = "chmod";
			return -errno;
		}
	}
	/* An ACL inherited where the source has none would grant more. */
	if (p->acl && inherits && xm != NULL && (r =
	    rcp_xmeta_drop_inherited(fd, S_ISDIR(src->st_mode), xm)) != 0) {
		*what = "remove an inherited ACL of";
		return r;
	}
	if ((r = apply_xmeta(fd, -1, NULL, xm, xerr, what)) != 0)
		return r;
	if (p->time) {
		ts[0] = src->st_atim;
		ts[1] = src->st_mtim;
		if (futimens(fd, ts) != 0) {
			*what = "set times of";
			return -errno;
		}
	}
	return 0;
}

int
rcp_meta_apply_link(int dirfd, const char *name,
    const struct rcp_preserve_one *p, const struct stat *src,
    const struct rcp_xmeta *xm, int *xerr, const char **what)
{
	struct timespec ts[2];
	int r;

	if (p->uid || p->gid) {
		if (fchownat(dirfd, name, p->uid ? src->st_uid : (uid_t)-1,
		    p->gid ? src->st_gid : (gid_t)-1, AT_SYMLINK_NOFOLLOW) != 0 &&
		    chown_failed(errno)) {
			*what = "chown";
			return -errno;
		}
	}
	if ((r = apply_xmeta(-1, dirfd, name, xm, xerr, what)) != 0)
		return r;
	if (p->time) {
		ts[0] = src->st_atim;
		ts[1] = src->st_mtim;
		if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) != 0) {
			*what = "set times of";
			return -errno;
		}
	}
	return 0;
}

int
rcp_meta_apply_special(int dirfd, const char *name,
    const struct rcp_preserve_one *p, const struct stat *src, mode_t cur_mode,
    const struct rcp_xmeta *xm, bool inherits, int *xerr, const char **what)
{
	struct timespec ts[2];
	struct stat st;
	char path[64];
	mode_t want;
	int fd, r = 0;

	if (xerr != NULL)
		*xerr = 0;
	/* A handle that opens nothing: a FIFO would block, a device act. */
	if ((fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		*what = "open";
		return -errno;
	}
	if (fstat(fd, &st) != 0) {
		r = -errno;
		*what = "stat";
		goto out;
	}
	if ((st.st_mode & S_IFMT) != (src->st_mode & S_IFMT)) {
		r = -ESTALE;	/* replaced meanwhile: not ours to change */
		*what = "set the metadata of (replaced during the copy)";
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if ((p->uid || p->gid) && fchownat(fd, "", p->uid ? src->st_uid :
	    (uid_t)-1, p->gid ? src->st_gid : (gid_t)-1, AT_EMPTY_PATH) != 0 &&
	    chown_failed(errno)) {
		r = -errno;
		*what = "chown";
		goto out;
	}
	want = rcp_xmeta_safe_mode(xm, src->st_mode & p->mode_mask);
	/* As rcp_meta_apply_fd: a default ACL may have made another mode. */
	if (p->mode_mask != 0 && ((inherits ? st.st_mode : cur_mode) & 07777) !=
	    want && fchmodat(AT_FDCWD, path, want, 0) != 0) {
		r = -errno;
		*what = "chmod";
		goto out;
	}
	if (p->acl && inherits && xm != NULL &&
	    (r = rcp_xmeta_drop_inherited_path(path, xm)) != 0) {
		*what = "remove an inherited ACL of";
		goto out;
	}
	if ((r = apply_xmeta(-1, dirfd, name, xm, xerr, what)) != 0)
		goto out;
	if (p->time) {
		ts[0] = src->st_atim;
		ts[1] = src->st_mtim;
		if (utimensat(AT_FDCWD, path, ts, 0) != 0) {
			r = -errno;
			*what = "set times of";
		}
	}
out:
	close(fd);
	return r;
}

bool
rcp_meta_creates_as_us(int dirfd)
{
	struct statfs sf;
	struct stat st;

	if (fstat(dirfd, &st) != 0 || st.st_gid != getegid() ||
	    fstatfs(dirfd, &sf) != 0)
		return false;
	switch ((unsigned long)sf.f_type) {
	case TMPFS_MAGIC:
	case EXT4_SUPER_MAGIC:	/* ext2 and ext3 too */
	case XFS_SUPER_MAGIC:
	case BTRFS_SUPER_MAGIC:
		return true;
	default:
		return false;
	}
}
