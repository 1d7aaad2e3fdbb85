/* srcfs.c: the local source of the copy engine: plain fd-relative calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "fs/dents.h"
#include "fs/fsops.h"
#include "fs/meta.h"
#include "fs/srcfs.h"
#include "fs/xmeta.h"

#include "base/banned.h"

/* Splits a path (trailing slashes already gone) into dirname and basename. */
static void
split(const char *p, char **dir, char **base)
{
	const char *s = strrchr(p, '/');

	if (s == NULL) {
		*dir = rcp_xstrdup(".");
		*base = rcp_xstrdup(p);
	} else if (s == p) {
		*dir = rcp_xstrdup("/");
		*base = rcp_xstrdup(s[1] != '\0' ? s + 1 : ".");
	} else {
		*dir = rcp_xstrndup(p, (size_t)(s - p));
		*base = rcp_xstrdup(s + 1);
	}
}

static int
local_root(void *ctx, const char *path, bool follow, int *dirp, char **base,
    struct stat *st, char **cause)
{
	char *dir = NULL, *shown;
	int fd, e;

	split(path, &dir, base);
	if ((fd = rcp_fs_open_parent(dir)) < 0)
		errno = -fd;
	if (fd < 0 ||
	    fstatat(fd, *base, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0) {
		e = errno;
		shown = rcp_escape(path);
		*cause = rcp_xasprintf("cannot access source '%s': %s", shown,
		    strerror(e));
		free(shown);
		if (fd >= 0)
			close(fd);
		free(dir);
		free(*base);
		*base = NULL;
		return -e;
	}
	free(dir);
	*dirp = fd;
	return 0;
}

static int
local_opendir(void *ctx, int dir, const char *name, bool follow, int *out)
{
	int fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (follow ? 0 : O_NOFOLLOW));

	if (fd < 0)
		return -errno;
	*out = fd;
	return 0;
}

static int
local_list(void *ctx, int dir, int flags, rcp_src_entry_fn *fn, void *arg)
{
	struct rcp_dents it;
	struct rcp_dent de;
	int n;

	rcp_dents_init(&it, dir);
	while ((n = rcp_dents_next(&it, &de)) > 0)
		if (fn(arg, de.name, de.type) != 0)
			break;
	rcp_dents_release(&it);
	return n < 0 ? n : 0;
}

static int
local_stat(void *ctx, int dir, const char *name, bool follow, struct stat *st)
{
	return fstatat(dir, name, st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 ?
	    0 : -errno;
}

static int
open_flags(int dir, const char *name, bool follow, int flags, int *fh,
    struct stat *st)
{
	/* O_NONBLOCK: if a FIFO took the file's place, do not hang on it. */
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (follow ? 0 : O_NOFOLLOW) | flags), e;

	if (fd < 0)
		return -errno;
	if (fstat(fd, st) != 0) {
		e = errno;
		close(fd);
		return -e;
	}
	*fh = fd;
	return 0;
}

static int
local_open(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	return open_flags(dir, name, follow, 0, fh, st);
}

/* A comparison leaves atimes alone where it may (only owners may ask). */
static int
local_open_hash(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	int r = open_flags(dir, name, follow, O_NOATIME, fh, st);

	return r == -EPERM ? open_flags(dir, name, follow, 0, fh, st) : r;
}

static int64_t
local_copy(void *ctx, int fh, int dfd, off_t off, off_t len, bool sparse,
    struct rcp_io *io, const char **what)
{
	return sparse ? rcp_fs_copy_sparse(fh, dfd, off, len, io, what) :
	    rcp_fs_copy_range(fh, dfd, off, len, io, what);
}

static int64_t
local_copy_checked(void *ctx, int fh, int dfd, off_t off, off_t len,
    struct rcp_io *io, const char **what, bool *checked)
{
	*checked = true;
	return rcp_fs_copy_checked(fh, dfd, off, len, io, what);
}

static int
local_changed(void *ctx, int fh, const struct stat *before)
{
	struct stat now;

	if (fstat(fh, &now) != 0)
		return 1;
	return rcp_attrs_diff(RCP_ATTR_SIZE | RCP_ATTR_MTIME, &now,
	    before) != 0;
}

static ssize_t
local_readlink(void *ctx, int dir, const char *name, char *buf, size_t len)
{
	ssize_t n = readlinkat(dir, name, buf, len);

	return n < 0 ? -errno : n;
}

static void
local_close(void *ctx, int h)
{
	close(h);
}

static int
local_xmeta(void *ctx, int dir, const char *name, int h, unsigned what,
    struct rcp_xmeta *xm)
{
	return rcp_xmeta_read(h, dir, name, what, xm);
}

static int64_t
local_hash(void *ctx, int fh, off_t off, off_t len, struct rcp_io *io,
    uint8_t *out)
{
	if (len < 0 || (uint64_t)len > RCP_SRC_HASH_MAX)
		return -EINVAL;
	return rcp_fs_hash(fh, off, len, io, out);
}

const struct rcp_src_ops rcp_src_local = {
	local_root,
	local_opendir,
	local_list,
	local_stat,
	local_open,
	local_copy,
	local_changed,
	local_readlink,
	local_close,
	local_xmeta,
	local_hash,
	local_open_hash,
	true,
	local_copy_checked
};
