/*
 * fault.c: an LD_PRELOAD library for tests that makes a disk fail without
 * one (this machine has neither device-mapper nor FUSE).  Each fault acts
 * on the files whose path ends in a given name, only while a flag file
 * exists, so that a test turns it on and off without restarting the
 * processes that load it (the agents of an sshd started once).  No effect
 * when its variables are unset.  Used by tests/e2e/chaos-stop.sh and
 * chaos-eio.sh; not part of any program.
 *
 * A dead disk: while $RCP_TEST_STUCK exists, a pread of a file whose name
 * ends in $RCP_TEST_STUCK_NAME, at or past byte $RCP_TEST_STUCK_AT, never
 * returns -- the process stays alive and its other threads (a QUIC loop
 * answering keep-alives) run on, as they do when a read hangs on a failing
 * disk or a dead NFS server.
 *
 * A failing disk: for the files whose name ends in $RCP_TEST_EIO_NAME,
 *   while "$RCP_TEST_EIO-read" exists, reading (read, pread, the source
 *   side of copy_file_range) at or past byte $RCP_TEST_EIO_AT (0) fails
 *   with EIO;
 *   while "$RCP_TEST_EIO-write" exists, writing (write, pwrite, the
 *   destination side of copy_file_range) at or past that byte fails with
 *   EIO;
 *   while "$RCP_TEST_EIO-close" exists, close, fsync and fdatasync of such
 *   a file open for writing fail with EIO, as on a write-back error (the
 *   descriptor is closed all the same, as Linux does).
 * A transfer that straddles the byte is cut short at it, so that the data
 * before it is written as a real disk would, and the next call fails.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t pread_fn(int, void *, size_t, off_t);
typedef ssize_t pwrite_fn(int, const void *, size_t, off_t);
typedef ssize_t read_fn(int, void *, size_t);
typedef ssize_t write_fn(int, const void *, size_t);
typedef ssize_t cfr_fn(int, loff_t *, int, loff_t *, size_t, unsigned);
typedef int int_fn(int);

/* True if fd is open on a path that ends in name. */
static bool
named(int fd, const char *name)
{
	char link[64], path[PATH_MAX];
	size_t nl;
	ssize_t n;

	if (name == NULL || *name == '\0' || fd < 0)
		return false;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return false;
	path[n] = '\0';
	nl = strlen(name);
	return (size_t)n >= nl && strcmp(path + n - nl, name) == 0;
}

/* True while the flag file of EIO fault kind ("read", ...) exists. */
static bool
eio_on(const char *kind)
{
	const char *base = getenv("RCP_TEST_EIO");
	char flag[PATH_MAX];

	if (base == NULL || getenv("RCP_TEST_EIO_NAME") == NULL)
		return false;
	snprintf(flag, sizeof(flag), "%s-%s", base, kind);
	return access(flag, F_OK) == 0;
}

/*
 * Whether a transfer of *len bytes at off on fd meets a fault of kind:
 * -1 (fail it with EIO) or 0, with *len cut short at the faulty byte.
 */
static int
eio_at(const char *kind, int fd, off_t off, size_t *len)
{
	const char *at = getenv("RCP_TEST_EIO_AT");
	int saved = errno;
	off_t from = at != NULL ? (off_t)strtoll(at, NULL, 10) : 0;
	bool hit;

	if (!eio_on(kind))
		return 0;
	hit = named(fd, getenv("RCP_TEST_EIO_NAME"));
	errno = saved;
	if (!hit)
		return 0;
	if (off >= from) {
		errno = EIO;
		return -1;
	}
	if ((off_t)*len > from - off)
		*len = (size_t)(from - off);
	return 0;
}

/* Whether closing or syncing fd meets the close fault. */
static bool
eio_close(int fd)
{
	int saved = errno, fl;
	bool hit = false;

	if (eio_on("close") && (fl = fcntl(fd, F_GETFL)) >= 0 &&
	    (fl & O_ACCMODE) != O_RDONLY)
		hit = named(fd, getenv("RCP_TEST_EIO_NAME"));
	errno = saved;
	return hit;
}

static bool
stuck(int fd, off_t off)
{
	const char *flag = getenv("RCP_TEST_STUCK");
	const char *at = getenv("RCP_TEST_STUCK_AT");

	if (flag == NULL || access(flag, F_OK) != 0)
		return false;
	if (at != NULL && off < (off_t)strtoll(at, NULL, 10))
		return false;
	return named(fd, getenv("RCP_TEST_STUCK_NAME"));
}

static void *
real(const char *sym)
{
	return dlsym(RTLD_NEXT, sym);
}

static ssize_t
do_pread(const char *sym, int fd, void *buf, size_t len, off_t off)
{
	if (stuck(fd, off))
		for (;;)
			pause();
	if (eio_at("read", fd, off, &len) != 0)
		return -1;
	return ((pread_fn *)real(sym))(fd, buf, len, off);
}

ssize_t
pread(int fd, void *buf, size_t len, off_t off)
{
	return do_pread("pread", fd, buf, len, off);
}

ssize_t
pread64(int fd, void *buf, size_t len, off_t off)
{
	return do_pread("pread64", fd, buf, len, off);
}

static ssize_t
do_pwrite(const char *sym, int fd, const void *buf, size_t len, off_t off)
{
	if (eio_at("write", fd, off, &len) != 0)
		return -1;
	return ((pwrite_fn *)real(sym))(fd, buf, len, off);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return do_pwrite("pwrite", fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return do_pwrite("pwrite64", fd, buf, len, off);
}

/* read and write at the file's offset (lseek fails on pipes: no fault). */
static off_t
here(const char *kind, int fd)
{
	int saved = errno;
	off_t off = eio_on(kind) ? lseek(fd, 0, SEEK_CUR) : -1;

	errno = saved;
	return off;
}

ssize_t
read(int fd, void *buf, size_t len)
{
	off_t off = here("read", fd);

	if (off >= 0 && eio_at("read", fd, off, &len) != 0)
		return -1;
	return ((read_fn *)real("read"))(fd, buf, len);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	off_t off = here("write", fd);

	if (off >= 0 && eio_at("write", fd, off, &len) != 0)
		return -1;
	return ((write_fn *)real("write"))(fd, buf, len);
}

ssize_t
copy_file_range(int in, loff_t *inoff, int out, loff_t *outoff, size_t len,
    unsigned flags)
{
	off_t ioff = inoff != NULL ? *inoff : here("read", in);
	off_t ooff = outoff != NULL ? *outoff : here("write", out);

	if (ioff >= 0 && eio_at("read", in, ioff, &len) != 0)
		return -1;
	if (ooff >= 0 && eio_at("write", out, ooff, &len) != 0)
		return -1;
	return ((cfr_fn *)real("copy_file_range"))(in, inoff, out, outoff,
	    len, flags);
}

int
close(int fd)
{
	bool fail = eio_close(fd);
	int r = ((int_fn *)real("close"))(fd);

	if (fail && r == 0) {
		errno = EIO;
		return -1;
	}
	return r;
}

int
fsync(int fd)
{
	if (eio_close(fd)) {
		errno = EIO;
		return -1;
	}
	return ((int_fn *)real("fsync"))(fd);
}

int
fdatasync(int fd)
{
	if (eio_close(fd)) {
		errno = EIO;
		return -1;
	}
	return ((int_fn *)real("fdatasync"))(fd);
}
