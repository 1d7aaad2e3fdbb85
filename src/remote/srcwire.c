/*
 * srcwire.c: the encoding both ends of the source protocol share: stats,
 * and LIST replies read from a directory (see srcwire.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/dents.h"
#include "fs/fsops.h"
#include "fs/xmeta.h"
#include "remote/srcwire.h"

#include "base/banned.h"

/* Entries (and inline data) per LIST reply, about. */
#define LIST_BATCH (1u << 20)
/* A LIST reply's header: u8 more, u32 count. */
#define LIST_HDR 5
/* A stat on the wire: 3 u32, 3 (u64 s, u32 ns), 4 u64... see stat_at. */
#define STAT_WIRE_LEN	96

static void
put32_at(uint8_t **p, uint32_t v)
{
	(*p)[0] = (uint8_t)(v >> 24);
	(*p)[1] = (uint8_t)(v >> 16);
	(*p)[2] = (uint8_t)(v >> 8);
	(*p)[3] = (uint8_t)v;
	*p += 4;
}

static void
put64_at(uint8_t **p, uint64_t v)
{
	put32_at(p, (uint32_t)(v >> 32));
	put32_at(p, (uint32_t)v);
}

void
rcp_srcwire_put32_at(struct rcp_buf *b, size_t at, uint32_t v)
{
	uint8_t *p = (uint8_t *)b->data + at;

	put32_at(&p, v);
}

/* Writes st's STAT_WIRE_LEN bytes at offset at of b (room made already). */
static void
stat_at(struct rcp_buf *b, size_t at, const struct stat *st)
{
	uint8_t *p = (uint8_t *)b->data + at;

	put32_at(&p, st->st_mode);
	put32_at(&p, st->st_uid);
	put32_at(&p, st->st_gid);
	put64_at(&p, (uint64_t)st->st_size);
	put64_at(&p, (uint64_t)st->st_blocks);
	put64_at(&p, (uint64_t)st->st_atim.tv_sec);
	put32_at(&p, (uint32_t)st->st_atim.tv_nsec);
	put64_at(&p, (uint64_t)st->st_mtim.tv_sec);
	put32_at(&p, (uint32_t)st->st_mtim.tv_nsec);
	put64_at(&p, (uint64_t)st->st_ctim.tv_sec);
	put32_at(&p, (uint32_t)st->st_ctim.tv_nsec);
	put64_at(&p, (uint64_t)st->st_dev);
	put64_at(&p, (uint64_t)st->st_ino);
	put64_at(&p, (uint64_t)st->st_nlink);
	put64_at(&p, (uint64_t)st->st_rdev);
}

void
rcp_srcwire_put_stat(struct rcp_buf *b, const struct stat *st)
{
	size_t at = b->len;

	rcp_buf_reserve(b, STAT_WIRE_LEN);
	rcp_buf_commit(b, STAT_WIRE_LEN);
	stat_at(b, at, st);
}

int
rcp_srcwire_get_stat(struct rcp_wire_cursor *c, struct stat *st)
{
	uint32_t mode, uid, gid, an, mn, cn;
	uint64_t size, blocks, as, ms, cs, dev, ino, nlink, rdev;

	if (rcp_wire_get_u32(c, &mode) || rcp_wire_get_u32(c, &uid) ||
	    rcp_wire_get_u32(c, &gid) || rcp_wire_get_u64(c, &size) ||
	    rcp_wire_get_u64(c, &blocks) || rcp_wire_get_u64(c, &as) ||
	    rcp_wire_get_u32(c, &an) || rcp_wire_get_u64(c, &ms) ||
	    rcp_wire_get_u32(c, &mn) || rcp_wire_get_u64(c, &cs) ||
	    rcp_wire_get_u32(c, &cn) || rcp_wire_get_u64(c, &dev) ||
	    rcp_wire_get_u64(c, &ino) || rcp_wire_get_u64(c, &nlink) ||
	    rcp_wire_get_u64(c, &rdev))
		return RCP_ERR_PROTO;
	if (size > INT64_MAX || an >= 1000000000u || mn >= 1000000000u ||
	    cn >= 1000000000u)
		return RCP_ERR_PROTO;
	memset(st, 0, sizeof(*st));
	st->st_mode = mode;
	st->st_uid = uid;
	st->st_gid = gid;
	st->st_size = (off_t)size;
	st->st_blocks = (blkcnt_t)blocks;
	st->st_atim.tv_sec = (time_t)as;
	st->st_atim.tv_nsec = an;
	st->st_mtim.tv_sec = (time_t)ms;
	st->st_mtim.tv_nsec = mn;
	st->st_ctim.tv_sec = (time_t)cs;
	st->st_ctim.tv_nsec = cn;
	st->st_dev = (dev_t)dev;
	st->st_ino = (ino_t)ino;
	st->st_nlink = (nlink_t)nlink;
	st->st_rdev = (dev_t)rdev;
	return 0;
}

ssize_t
rcp_srcwire_pread_full(int fd, uint8_t *p, size_t n, off_t off)
{
	size_t got = 0;
	ssize_t k;

	while (got < n) {
		k = pread(fd, p + got, n - got, off + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/*
 * Appends a small regular file's stat, a second stat after reading (to
 * catch a change) and its contents, after a 1; or just a 0 if it is not
 * such a file or cannot be read now (the destination then asks again and
 * gets the error itself).  Only small regular files by lstat are opened
 * (no device, FIFO or big file), and the bytes are read straight into
 * ents: size + 1 of them, so that a file longer than its stat said (stale
 * attributes on a network file system) shows up as a change.
 */
static void
put_inline(struct rcp_buf *ents, int dirfd, const char *name)
{
	struct stat st, after;
	size_t mark = ents->len, at;
	uint8_t *data;
	ssize_t n;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISREG(st.st_mode) ||
	    st.st_size > (off_t)RCP_SRCWIRE_INLINE_MAX ||
	    rcp_fs_is_sparse(&st) ||
	    (fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) < 0) {
		rcp_wire_put_u8(ents, RCP_SRCWIRE_INLINE_NONE);
		return;
	}
	rcp_wire_put_u8(ents, RCP_SRCWIRE_INLINE_FILE);
	rcp_srcwire_put_stat(ents, &st);
	at = ents->len;
	rcp_srcwire_put_stat(ents, &st);	/* the stat after: below */
	rcp_wire_put_u32(ents, 0);		/* the length, likewise */
	data = rcp_buf_reserve(ents, (size_t)st.st_size + 1);
	n = rcp_srcwire_pread_full(fd, data, (size_t)st.st_size + 1, 0);
	if (n < 0 || fstat(fd, &after) != 0) {
		ents->len = mark;
		rcp_wire_put_u8(ents, RCP_SRCWIRE_INLINE_NONE);
	} else {
		rcp_buf_commit(ents, (size_t)n);
		stat_at(ents, at, &after);
		rcp_srcwire_put32_at(ents, at + STAT_WIRE_LEN, (uint32_t)n);
	}
	close(fd);
}

/* A subdirectory's lstat, or nothing if it is gone or no longer one. */
static void
put_dirstat(struct rcp_buf *ents, int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !S_ISDIR(st.st_mode)) {
		rcp_wire_put_u8(ents, RCP_SRCWIRE_INLINE_NONE);
		return;
	}
	rcp_wire_put_u8(ents, RCP_SRCWIRE_INLINE_DIRSTAT);
	rcp_srcwire_put_stat(ents, &st);
}

int
rcp_srcwire_list(int fd, unsigned flags, struct rcp_buf *out, bool *more,
    rcp_srcwire_dir_fn *dirfn, void *arg)
{
	struct rcp_buf ents = RCP_BUF_INIT;
	struct rcp_dents it;
	struct rcp_dent de;
	uint32_t count = 0;
	int64_t resume = 0;
	int n = 0;

	rcp_wire_put_u8(&ents, 0);		/* more, filled in at the end */
	rcp_wire_put_u32(&ents, 0);		/* count, likewise */
	/*
	 * One directory is listed by one destination worker, a batch at a
	 * time: the fd's offset carries on.  Stop at a batch's end, and
	 * rewind to the entry after the last one sent (getdents64 may have
	 * read past it into the buffer).
	 */
	rcp_dents_init(&it, fd);
	while (ents.len - LIST_HDR < LIST_BATCH) {
		if ((n = rcp_dents_next(&it, &de)) <= 0)
			break;
		resume = de.off;
		rcp_wire_put_str(&ents, de.name);
		rcp_wire_put_u8(&ents, de.type);
		if ((flags & RCP_SRCWIRE_LIST_FILES) &&
		    (de.type == DT_REG || de.type == DT_UNKNOWN))
			put_inline(&ents, fd, de.name);
		else if ((flags & RCP_SRCWIRE_LIST_DIRSTAT) &&
		    de.type == DT_DIR)
			put_dirstat(&ents, fd, de.name);
		else
			rcp_wire_put_u8(&ents, RCP_SRCWIRE_INLINE_NONE);
		if (dirfn != NULL && de.type == DT_DIR)
			dirfn(arg, de.name);
		count++;
	}
	rcp_dents_release(&it);
	if (n > 0)
		lseek(fd, (off_t)resume, SEEK_SET);
	if (n < 0) {
		rcp_buf_release(&ents);
		return n;
	}
	/* more: the batch filled up; the next LIST goes on from here. */
	*more = ents.len - LIST_HDR >= LIST_BATCH;
	ents.data[0] = *more;
	rcp_srcwire_put32_at(&ents, 1, count);
	rcp_buf_release(out);
	*out = ents;
	return 0;
}

void
rcp_srcwire_put_xmeta(struct rcp_buf *b, const struct rcp_xmeta *xm)
{
	size_t i;

	rcp_wire_put_str(b, xm->acl_access != NULL ? xm->acl_access : "");
	rcp_wire_put_str(b, xm->acl_default != NULL ? xm->acl_default : "");
	rcp_wire_put_u32(b, (uint32_t)xm->n);
	for (i = 0; i < xm->n; i++) {
		rcp_wire_put_str(b, xm->v[i].name);
		rcp_wire_put_bytes(b, xm->v[i].value, xm->v[i].len);
	}
}

/* An empty ACL text on the wire is none. */
static int
get_acl(struct rcp_wire_cursor *c, char **out)
{
	if (rcp_wire_get_str(c, out, RCP_XMETA_ACL_MAX) != 0)
		return RCP_ERR_PROTO;
	if (**out == '\0') {
		free(*out);
		*out = NULL;
	}
	return 0;
}

int
rcp_srcwire_get_xmeta(struct rcp_wire_cursor *c, struct rcp_xmeta *xm)
{
	const uint8_t *v;
	char *name = NULL;
	uint32_t n, i;
	size_t len;
	int r;

	rcp_xmeta_init(xm);
	if (get_acl(c, &xm->acl_access) != 0 ||
	    get_acl(c, &xm->acl_default) != 0 ||
	    rcp_wire_get_u32(c, &n) != 0 || n > RCP_XMETA_COUNT_MAX)
		return RCP_ERR_PROTO;
	for (i = 0; i < n; i++) {
		if (rcp_wire_get_str(c, &name, RCP_XMETA_NAME_MAX) != 0 ||
		    rcp_wire_get_bytes(c, &v, &len, RCP_XMETA_VALUE_MAX) != 0) {
			free(name);
			return RCP_ERR_PROTO;
		}
		r = rcp_xmeta_add(xm, name, v, len);
		free(name);
		name = NULL;
		if (r != 0)
			return RCP_ERR_PROTO;
	}
	return 0;
}
