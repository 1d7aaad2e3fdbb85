/* fsops.c: moving file data and removing trees for the copy engine. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
/* For XXH3_state_t on the stack: no allocation per hash. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>
#ifdef HAVE_XXH3_128BITS_DISPATCH
/* XXH3_128bits and its update as the CPU best runs them (same digests). */
#include <xxh_x86dispatch.h>
#endif

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/fsops.h"

#include "base/banned.h"

/* Largest single copy_file_range request: keeps cancel and progress live. */
#define CFR_STEP (8u << 20)

static int
pwrite_full(int fd, const char *p, size_t n, off_t off)
{
	ssize_t w;

	while (n > 0) {
		if ((w = pwrite(fd, p, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

static bool
canceled(const struct rcp_io *io)
{
	return io->cancel != NULL && atomic_load_explicit(io->cancel,
	    memory_order_relaxed);
}

static void
account(struct rcp_io *io, uint64_t n)
{
	if (io->bytes != NULL)
		atomic_fetch_add_explicit(io->bytes, n, memory_order_relaxed);
}

/* The read/write path: always works, on any file system. */
static int64_t
copy_rw(int in, int out, off_t off, off_t len, struct rcp_io *io,
    const char **what)
{
	int64_t done = 0;
	size_t want;
	ssize_t n;
	int r;

	while (done < len) {
		if (canceled(io))
			return -ECANCELED;
		want = io->bufsz;
		if ((off_t)want > len - done)
			want = (size_t)(len - done);
		n = pread(in, io->buf, want, off + done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*what = "read";
			return -errno;
		}
		if (n == 0)
			break;
		if ((r = pwrite_full(out, io->buf, (size_t)n, off + done)) != 0) {
			*what = "write";
			return r;
		}
		done += n;
		account(io, (uint64_t)n);
	}
	return done;
}

int64_t
rcp_fs_copy_checked(int in, int out, off_t off, off_t len, struct rcp_io *io,
    const char **what)
{
	uint8_t hs[RCP_HASH_LEN], hd[RCP_HASH_LEN];
	int64_t done = 0;
	size_t want;
	ssize_t n, m;
	int r;

	while (done < len) {
		if (canceled(io))
			return -ECANCELED;
		want = io->bufsz;
		if ((off_t)want > len - done)
			want = (size_t)(len - done);
		n = pread(in, io->buf, want, off + done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*what = "read";
			return -errno;
		}
		if (n == 0)
			break;
		/* Hashed while the piece is in the cache, then written. */
		rcp_fs_hash_mem(io->buf, (size_t)n, hs);
		if ((r = pwrite_full(out, io->buf, (size_t)n, off + done)) != 0) {
			*what = "write";
			return r;
		}
		account(io, (uint64_t)n);
		while ((m = pread(out, io->buf, (size_t)n, off + done)) < 0 &&
		    errno == EINTR)
			;
		if (m < 0) {
			*what = "read back";
			return -errno;
		}
		rcp_fs_hash_mem(io->buf, (size_t)m, hd);
		if (m != n || memcmp(hs, hd, RCP_HASH_LEN) != 0)
			return RCP_ERR_DIFFERENT;
		done += n;
	}
	return done;
}

/* Errors that mean "this file system pair will not do copy_file_range". */
static bool
cfr_refused(int err)
{
	return err == EXDEV || err == EINVAL || err == EOPNOTSUPP ||
	    err == ENOSYS || err == EBADF || err == ETXTBSY || err == EPERM ||
	    err == ENOTSUP;
}

int64_t
rcp_fs_copy_range(int in, int out, off_t off, off_t len, struct rcp_io *io,
    const char **what)
{
	int64_t done = 0, rest;
	loff_t ioff, ooff;
	size_t want;
	ssize_t n;

	if (len <= (off_t)io->bufsz ||
	    atomic_load_explicit(io->no_cfr, memory_order_relaxed))
		return copy_rw(in, out, off, len, io, what);
	while (done < len) {
		if (canceled(io))
			return -ECANCELED;
		want = CFR_STEP;
		if ((off_t)want > len - done)
			want = (size_t)(len - done);
		ioff = off + done;
		ooff = off + done;
		n = copy_file_range(in, &ioff, out, &ooff, want, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && cfr_refused(errno) && done == 0) {
			atomic_store(io->no_cfr, true);
			break;
		}
		if (n < 0) {
			*what = "copy data of";
			return -errno;
		}
		if (n == 0) {
			/*
			 * Zero before the expected end: either the source
			 * shrank or the file system (SMB, NTFS over FUSE)
			 * does not really copy.  read/write tells which.
			 */
			break;
		}
		done += n;
		account(io, (uint64_t)n);
	}
	if (done == len)
		return done;
	rest = copy_rw(in, out, off + done, len - done, io, what);
	return rest < 0 ? rest : done + rest;
}

/* The hash of [off, off+len); past the end of fd, zeros if pad. */
static int64_t
hash_range(int fd, off_t off, off_t len, bool pad, struct rcp_io *io,
    uint8_t out[RCP_HASH_LEN])
{
	XXH3_state_t st;
	XXH128_canonical_t canon;
	int64_t done = 0;
	size_t want;
	ssize_t n;
	bool eof = false;

	XXH3_128bits_reset(&st);
	while (done < len) {
		if (canceled(io)) {
			done = -ECANCELED;
			break;
		}
		want = (uint64_t)(len - done) < io->bufsz ?
		    (size_t)(len - done) : io->bufsz;
		if (eof) {
			memset(io->buf, 0, want);
			n = (ssize_t)want;
		} else if ((n = pread(fd, io->buf, want, off + done)) < 0) {
			if (errno == EINTR)
				continue;
			done = -errno;
			break;
		}
		if (n == 0 && !pad)
			break;
		if (n == 0) {
			eof = true;
			continue;
		}
		XXH3_128bits_update(&st, io->buf, (size_t)n);
		done += n;
	}
	if (done >= 0) {
		XXH128_canonicalFromHash(&canon, XXH3_128bits_digest(&st));
		memcpy(out, canon.digest, RCP_HASH_LEN);
	}
	return done;
}

int64_t
rcp_fs_hash(int fd, off_t off, off_t len, struct rcp_io *io,
    uint8_t out[RCP_HASH_LEN])
{
	return hash_range(fd, off, len, false, io, out);
}

int64_t
rcp_fs_hash_sparse(int fd, off_t off, off_t len, struct rcp_io *io,
    uint8_t out[RCP_HASH_LEN])
{
	return hash_range(fd, off, len, true, io, out);
}

void
rcp_fs_hash_mem(const void *p, size_t n, uint8_t out[RCP_HASH_LEN])
{
	XXH128_canonical_t canon;

	XXH128_canonicalFromHash(&canon, XXH3_128bits(n > 0 ? p : "", n));
	memcpy(out, canon.digest, RCP_HASH_LEN);
}

bool
rcp_fs_is_sparse(const struct stat *st)
{
	return S_ISREG(st->st_mode) && st->st_size > 0 &&
	    (off_t)st->st_blocks * 512 < st->st_size;
}

bool
rcp_fs_has_data(int fd, off_t off, off_t len)
{
	off_t d = lseek(fd, off, SEEK_DATA);

	if (d < 0)
		return errno != ENXIO;	/* unknown (no SEEK_DATA): say yes */
	return d < off + len;
}

int
rcp_fs_punch(int fd, off_t off, off_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off,
	    len) != 0)
		return -errno;
	return 0;
}

int64_t
rcp_fs_copy_sparse(int in, int out, off_t off, off_t len, struct rcp_io *io,
    const char **what)
{
	off_t end = off + len, data, hole;
	int64_t done = 0, n;

	while (off < end) {
		if ((data = lseek(in, off, SEEK_DATA)) < 0) {
			if (errno == ENXIO)	/* only a hole is left */
				break;
			if (errno == EINVAL)	/* no SEEK_DATA here */
				return rcp_fs_copy_range(in, out, off,
				    end - off, io, what);
			*what = "seek in";
			return -errno;
		}
		if (data >= end)
			break;
		if ((hole = lseek(in, data, SEEK_HOLE)) < 0) {
			*what = "seek in";
			return -errno;
		}
		if (hole > end)
			hole = end;
		if ((n = rcp_fs_copy_range(in, out, data, hole - data, io,
		    what)) < 0)
			return n;
		done += n;
		if (n < hole - data)	/* the source shrank */
			break;
		off = hole;
	}
	return done;
}

static int
rmtree(int atfd, const char *name, struct rcp_buf *path, char **cause)
{
	struct dirent *de;
	size_t mark;
	DIR *d;
	int fd, r = 0, e;

	if (unlinkat(atfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM) {
		e = -errno;
		goto fail;
	}
	fd = openat(atfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		e = -errno;
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	mark = path->len;
	while (r == 0) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				r = -errno;
				if (cause != NULL && *cause == NULL)
					*cause = rcp_xstrdup(rcp_buf_str(path));
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rcp_buf_addch(path, '/');
		rcp_buf_addstr(path, de->d_name);
		r = rmtree(dirfd(d), de->d_name, path, cause);
		path->len = mark;
		path->data[mark] = '\0';
	}
	closedir(d);
	if (r != 0)
		return r;
	if (unlinkat(atfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	e = -errno;
fail:
	if (cause != NULL && *cause == NULL)
		*cause = rcp_xstrdup(rcp_buf_str(path));
	return e;
}

int
rcp_fs_rmtree_at(int dirfd, const char *name, char **cause)
{
	struct rcp_buf path = RCP_BUF_INIT;
	int r;

	if (cause != NULL)
		*cause = NULL;
	rcp_buf_addstr(&path, name);
	r = rmtree(dirfd, name, &path, cause);
	rcp_buf_release(&path);
	return r;
}

int
rcp_fs_open_parent(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 && errno == EACCES)
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
