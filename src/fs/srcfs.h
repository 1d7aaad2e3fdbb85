/*
 * srcfs.h: where the copy engine reads from.  Locally that is the file
 * system through fds; in a remote copy the engine runs on the destination
 * host and reads through the source agent (srcclient.h).  Every operation
 * is relative to a directory handle, so trees deeper than PATH_MAX work and
 * names are plain bytes.  Errors are -errno, so that messages read the same
 * whichever side the source is on; a remote source may also return an
 * RCP_ERR_* (RCP_ERR_GONE: the source agent is lost), so describe an error
 * with rcp_strerror, never strerror(-e).
 */
#ifndef RCP_SRCFS_H
#define RCP_SRCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rcp_io;
struct rcp_xmeta;

/*
 * The longest range one hash covers: a remote source serves a hash in one
 * request, and this bounds the time a request may hold a server thread.
 */
#define RCP_SRC_HASH_MAX (64u << 20)

/* Flags of list. */
#define RCP_SRC_LIST_ALL 1

/* Called for each directory entry; nonzero stops the listing. */
typedef int rcp_src_entry_fn(void *arg, const char *name, unsigned char dtype);

struct rcp_src_ops {
	/*
	 * Opens the parent directory of path as *dir and stats its last
	 * component (following a symlink if follow) into *st; *base is that
	 * component (caller frees).  0, or -errno with *cause set.
	 */
	int	(*root)(void *ctx, const char *path, bool follow, int *dir,
		    char **base, struct stat *st, char **cause);
	/* Opens directory name below dir as *out.  0 or -errno. */
	int	(*opendir)(void *ctx, int dir, const char *name, bool follow,
		    int *out);
	/*
	 * Calls fn for each entry of dir but "." and "..".  With
	 * RCP_SRC_LIST_ALL the caller will copy every file (its destination
	 * directory is new), so a remote source may send small files along
	 * with the names.  0 or -errno.
	 */
	int	(*list)(void *ctx, int dir, int flags, rcp_src_entry_fn *fn,
		    void *arg);
	int	(*stat)(void *ctx, int dir, const char *name, bool follow,
		    struct stat *st);
	/* Opens a regular file for reading; *st is its fstat.  0 or -errno. */
	int	(*open)(void *ctx, int dir, const char *name, bool follow,
		    int *fh, struct stat *st);
	/*
	 * Copies [off, off+len) of fh into dfd at the same offset (only data
	 * segments if sparse).  Bytes copied, or -errno with *what naming the
	 * failed step.
	 */
	int64_t	(*copy)(void *ctx, int fh, int dfd, off_t off, off_t len,
		    bool sparse, struct rcp_io *io, const char **what);
	/* 1 if fh no longer matches before (size or mtime), 0 if it does. */
	int	(*changed)(void *ctx, int fh, const struct stat *before);
	/* readlinkat: length, or -errno.  buf is not NUL-terminated. */
	ssize_t	(*readlink)(void *ctx, int dir, const char *name, char *buf,
		    size_t len);
	void	(*close)(void *ctx, int h);
	/*
	 * Reads the ACLs and xattrs asked by what (RCP_XMETA_*, xmeta.h) of
	 * the entry open as handle h, or if h < 0 of name below dir without
	 * following it (a symlink).  0 or -errno; *xm is the caller's to
	 * release (rcp_xmeta_release) either way.
	 */
	int	(*xmeta)(void *ctx, int dir, const char *name, int h,
		    unsigned what, struct rcp_xmeta *xm);
	/*
	 * Hashes [off, off+len) of fh (XXH3-128, RCP_HASH_LEN bytes into out)
	 * where the data lives: only the hash crosses a network.  len is at
	 * most RCP_SRC_HASH_MAX; holes hash as zeros.  Bytes hashed (fewer
	 * only at the end of the file), or -errno.  io->buf is scratch.
	 */
	int64_t	(*hash)(void *ctx, int fh, off_t off, off_t len,
		    struct rcp_io *io, uint8_t *out);
	/*
	 * As open, for hashing only: a remote source sends no data with it
	 * (open may send a small file whole).  0 or -errno.
	 */
	int	(*open_hash)(void *ctx, int dir, const char *name, bool follow,
		    int *fh, struct stat *st);
	/* Handles are local fds (the engine may also look at paths). */
	bool	local;
	/*
	 * As copy (never sparse), checking each piece as it lands: the source
	 * hashes what it read for sending, this side re-reads what it wrote
	 * (io->buf) and hashes that, so --verify needs no second read of the
	 * source nor a request of its own.  *checked is false if the source
	 * could not hash as it read (an older agent): then nothing was
	 * checked and the caller verifies as before.  Bytes copied; -errno
	 * with *what; or RCP_ERR_DIFFERENT if a piece's hashes differ.  NULL
	 * where the source has no such thing.
	 */
	int64_t	(*copy_checked)(void *ctx, int fh, int dfd, off_t off,
		    off_t len, struct rcp_io *io, const char **what,
		    bool *checked);
};

/* The local file system. */
extern const struct rcp_src_ops rcp_src_local;

/*
 * Whether a file opened again (on another host, by path) is the one first
 * opened: the same inode, type, size and mtime.
 */
static inline bool
rcp_src_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino &&
	    (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT) &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

#endif
