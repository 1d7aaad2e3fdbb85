/*
 * fsops.h: file system primitives of the copy engine: moving the bytes of a
 * file range (copy_file_range, falling back to read/write), skipping holes,
 * hashing a range (XXH3-128), and removing a tree by fd-relative calls.
 */
#ifndef RCP_FSOPS_H
#define RCP_FSOPS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Scratch state of one worker for moving data. */
struct rcp_io {
	char			*buf;		/* the worker's buffer */
	size_t			 bufsz;
	atomic_bool		*no_cfr;	/* set once copy_file_range is refused */
	const atomic_bool	*cancel;	/* stop early when it turns true */
	atomic_uint_least64_t	*bytes;		/* progress: bytes written */
	pthread_mutex_t		*wlock;		/* serializes writes to one file
						 * written by several workers;
						 * NULL: none */
	/*
	 * Asked before each write of data from a remote source (srcclient.c):
	 * 0 lets it go, else the error that ends the copy.  NULL: none.
	 */
	int			(*fence)(void *arg);
	void			*fence_arg;
};

/*
 * Copies up to len bytes at offset off of in to the same offset of out.
 * Stops early at the end of in.  Returns the number of bytes copied, or
 * -errno with *what naming the failed call ("read", "write"); -ECANCELED if
 * io->cancel turned true.
 */
int64_t rcp_fs_copy_range(int in, int out, off_t off, off_t len,
    struct rcp_io *io, const char **what);

/*
 * As rcp_fs_copy_range through io->buf, checking each piece as it is
 * written: its XXH3-128 taken from the buffer it was read into, then the
 * piece read back from out and hashed (--verify without a second read of
 * in).  Returns bytes copied, -errno with *what, or RCP_ERR_DIFFERENT if a
 * piece read back differs.
 */
int64_t rcp_fs_copy_checked(int in, int out, off_t off, off_t len,
    struct rcp_io *io, const char **what);

/*
 * As rcp_fs_copy_range, but only the data segments of [off, off+len) are
 * copied (holes found with SEEK_DATA/SEEK_HOLE are left as holes in out; the
 * caller sets the final size).  Returns bytes of data copied, or -errno.
 */
int64_t rcp_fs_copy_sparse(int in, int out, off_t off, off_t len,
    struct rcp_io *io, const char **what);

/*
 * Returns false if [off, off+len) of fd holds no data (a hole, or past the
 * end: SEEK_DATA says so), true if it does or that cannot be told.
 */
bool rcp_fs_has_data(int fd, off_t off, off_t len);

/*
 * Turns [off, off+len) of fd into a hole, keeping its size: a sparse copy
 * written over old data leaves no old bytes where the source has holes.
 * Returns 0, or -errno (EOPNOTSUPP where the file system cannot).
 */
int rcp_fs_punch(int fd, off_t off, off_t len);

/* Bytes of a hash: XXH3-128, in its canonical (big-endian) form. */
#define RCP_HASH_LEN 16

/*
 * Hashes [off, off+len) of fd with XXH3-128 into out, reading with pread
 * through io->buf (holes read as zeros, as they do for any reader).  Stops
 * early at the end of fd.  Returns the number of bytes hashed, or -errno;
 * -ECANCELED if io->cancel turned true.  io->bytes is not touched.
 */
int64_t rcp_fs_hash(int fd, off_t off, off_t len, struct rcp_io *io,
    uint8_t out[RCP_HASH_LEN]);
/*
 * As rcp_fs_hash, but always len bytes: past the end of fd they hash as
 * zeros, as the holes that a sparse copy's final size will give it.
 */
int64_t rcp_fs_hash_sparse(int fd, off_t off, off_t len, struct rcp_io *io,
    uint8_t out[RCP_HASH_LEN]);
/* The same hash of n bytes in memory (p may be NULL when n is 0). */
void rcp_fs_hash_mem(const void *p, size_t n, uint8_t out[RCP_HASH_LEN]);

/* Returns true if st describes a file worth copying as sparse. */
struct stat;
bool rcp_fs_is_sparse(const struct stat *st);

/*
 * Removes name (relative to dirfd) whatever its type, a directory with all
 * its contents.  Returns 0 or -errno; on error *cause, if not NULL, names the
 * entry that could not be removed (relative to name; caller frees).
 */
int rcp_fs_rmtree_at(int dirfd, const char *name, char **cause);

/*
 * Opens directory dir (followed), the parent of a source or destination
 * root, for *at calls on the root: read-only, or, where that is refused (a
 * directory one may search but not list, as a home of mode 0711 or a drop
 * box of mode 1733: cp and rsync copy from and into them), an O_PATH
 * handle, which lists nothing and takes no f*xattr call (reach its own by
 * /proc/self/fd).  Returns the fd (the caller closes it) or -errno.
 */
int rcp_fs_open_parent(const char *dir);


#endif
