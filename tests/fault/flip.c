/*
 * flip.c: an LD_PRELOAD library for tests that corrupts data on its way to
 * the disk without a bad disk: a write (write, pwrite) to a file whose
 * name ends in $RCP_TEST_FLIP_NAME reaches the file with its first byte
 * inverted (the caller's buffer is left alone).  Which writes flip:
 *   - while the path $RCP_TEST_FLIP_ALWAYS exists, every one (a persistent
 *     fault);
 *   - with $RCP_TEST_FLIP_ONCE set to a path, the one write that creates
 *     that path (once for all processes: a transient fault; remove the
 *     path to arm it again);
 *   - with neither variable set, every one.  copy_file_range to such a file is refused
 * (EXDEV), so that the bytes go through write, where they can be flipped.
 * And a slow disk: a write to a file whose name ends in
 * $RCP_TEST_SLOW_NAME first sleeps $RCP_TEST_SLOW_MS milliseconds.
 * Used by tests/e2e/copy-verify.sh and remote-verify.sh; not part of any
 * program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

typedef ssize_t write_fn(int, const void *, size_t);
typedef ssize_t pwrite_fn(int, const void *, size_t, off_t);
typedef ssize_t cfr_fn(int, loff_t *, int, loff_t *, size_t, unsigned);

/* Whether fd is a file whose name ends in $var. */
static int
named(int fd, const char *var)
{
	const char *name = getenv(var);
	char link[64], path[PATH_MAX];
	size_t nl;
	ssize_t n;

	if (name == NULL || name[0] == '\0')
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	nl = strlen(name);
	return (size_t)n >= nl && strcmp(path + n - nl, name) == 0;
}

/* Whether fd is a file the test corrupts. */
static int
target(int fd)
{
	return named(fd, "RCP_TEST_FLIP_NAME");
}

/* A write to a slow file waits first. */
static void
slow(int fd)
{
	const char *ms = getenv("RCP_TEST_SLOW_MS");
	struct timespec ts;
	long n;

	if (ms == NULL || (n = atol(ms)) <= 0 || !named(fd,
	    "RCP_TEST_SLOW_NAME"))
		return;
	ts.tv_sec = n / 1000;
	ts.tv_nsec = n % 1000 * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Whether this write flips: every one, or the first of all processes. */
static int
flips(int fd, size_t len)
{
	const char *once = getenv("RCP_TEST_FLIP_ONCE");
	const char *always = getenv("RCP_TEST_FLIP_ALWAYS");
	int f;

	slow(fd);
	if (len == 0 || !target(fd))
		return 0;
	if (always != NULL && always[0] != '\0' && access(always, F_OK) == 0)
		return 1;
	if (once == NULL || once[0] == '\0')
		return always == NULL || always[0] == '\0';
	f = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (f < 0)
		return 0;
	close(f);
	return 1;
}

/* A copy of buf with its first byte inverted; caller frees. */
static void *
flipped(const void *buf, size_t len)
{
	unsigned char *p = malloc(len);

	if (p == NULL)
		abort();
	memcpy(p, buf, len);
	p[0] ^= 0xff;
	return p;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	write_fn *real = (write_fn *)dlsym(RTLD_NEXT, "write");
	void *p;
	ssize_t n;
	int e;

	if (!flips(fd, len))
		return real(fd, buf, len);
	p = flipped(buf, len);
	n = real(fd, p, len);
	e = errno;
	free(p);
	errno = e;
	return n;
}

static ssize_t
flip_pwrite(const char *sym, int fd, const void *buf, size_t len, off_t off)
{
	pwrite_fn *real = (pwrite_fn *)dlsym(RTLD_NEXT, sym);
	void *p;
	ssize_t n;
	int e;

	if (!flips(fd, len))
		return real(fd, buf, len, off);
	p = flipped(buf, len);
	n = real(fd, p, len, off);
	e = errno;
	free(p);
	errno = e;
	return n;
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return flip_pwrite("pwrite", fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return flip_pwrite("pwrite64", fd, buf, len, off);
}

ssize_t
copy_file_range(int in, loff_t *inoff, int out, loff_t *outoff, size_t len,
    unsigned flags)
{
	cfr_fn *real = (cfr_fn *)dlsym(RTLD_NEXT, "copy_file_range");

	if (target(out)) {
		errno = EXDEV;
		return -1;
	}
	return real(in, inoff, out, outoff, len, flags);
}
