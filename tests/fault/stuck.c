/*
 * stuck.c: an LD_PRELOAD library for tests that makes a disk look dead
 * without one: while the file named by $RCP_TEST_STUCK exists, a pread of
 * a file whose name ends in $RCP_TEST_STUCK_NAME, at or past byte
 * $RCP_TEST_STUCK_AT, never returns -- the process stays alive and its
 * other threads (a QUIC loop answering keep-alives) run on, as they do
 * when a read hangs on a failing disk or a dead NFS server.  Used by
 * tests/e2e/chaos-stop.sh; not part of any program.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

typedef ssize_t pread_fn(int, void *, size_t, off_t);

static int
stuck(int fd, off_t off)
{
	const char *flag = getenv("RCP_TEST_STUCK");
	const char *name = getenv("RCP_TEST_STUCK_NAME");
	const char *at = getenv("RCP_TEST_STUCK_AT");
	char link[64], path[PATH_MAX];
	size_t nl;
	ssize_t n;

	if (flag == NULL || name == NULL || access(flag, F_OK) != 0)
		return 0;
	if (at != NULL && off < (off_t)strtoll(at, NULL, 10))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof(path) - 1)) <= 0)
		return 0;
	path[n] = '\0';
	nl = strlen(name);
	return (size_t)n >= nl && strcmp(path + n - nl, name) == 0;
}

static ssize_t
hang_or_read(const char *sym, int fd, void *buf, size_t len, off_t off)
{
	pread_fn *real = (pread_fn *)dlsym(RTLD_NEXT, sym);

	if (stuck(fd, off))
		for (;;)
			pause();
	return real(fd, buf, len, off);
}

ssize_t
pread(int fd, void *buf, size_t len, off_t off)
{
	return hang_or_read("pread", fd, buf, len, off);
}

ssize_t
pread64(int fd, void *buf, size_t len, off_t off)
{
	return hang_or_read("pread64", fd, buf, len, off);
}
