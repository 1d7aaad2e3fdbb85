/* test_fdio.c: full writes, on blocking and non-blocking pipes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fdio.h"
#include "base/util.h"
#include "unit.h"

#include "base/banned.h"

/* More than a pipe holds (64 KiB by default), so the writer must wait. */
#define BIG (1u << 20)

struct drain {
	int	 fd;
	char	*buf;
	size_t	 got;
};

static void *
drain_main(void *arg)
{
	struct drain *d = arg;
	ssize_t n;

	while ((n = read(d->fd, d->buf + d->got, BIG - d->got)) > 0)
		d->got += (size_t)n;
	return NULL;
}

static void
write_through_pipe(int flags)
{
	char *src = rcp_xmalloc(BIG);
	struct drain d = { .buf = rcp_xmalloc(BIG) };
	pthread_t th;
	size_t i;
	int p[2];

	for (i = 0; i < BIG; i++)
		src[i] = (char)(i * 31 + 7);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC | flags) == 0);
	if (flags & O_NONBLOCK)		/* only the writer's end */
		fcntl(p[0], F_SETFL, 0);
	d.fd = p[0];
	CU_ASSERT_FATAL(pthread_create(&th, NULL, drain_main, &d) == 0);
	CU_ASSERT_EQUAL(rcp_write_full(p[1], src, BIG), 0);
	close(p[1]);
	pthread_join(th, NULL);
	close(p[0]);
	CU_ASSERT_EQUAL(d.got, BIG);
	CU_ASSERT(memcmp(src, d.buf, BIG) == 0);
	free(d.buf);
	free(src);
}

static void
test_blocking(void)
{
	write_through_pipe(0);
}

static void
test_nonblocking(void)
{
	write_through_pipe(O_NONBLOCK);
}

static void
test_errors(void)
{
	int p[2];

	CU_ASSERT_EQUAL(rcp_write_full(-1, "x", 1), -EBADF);
	CU_ASSERT_FATAL(pipe2(p, O_CLOEXEC) == 0);
	CU_ASSERT_EQUAL(rcp_write_full(p[1], "", 0), 0);
	close(p[0]);
	/* SIGPIPE is ignored by the test main: the reader is gone. */
	CU_ASSERT_EQUAL(rcp_write_full(p[1], "x", 1), -EPIPE);
	close(p[1]);
}

void
test_fdio_register(void)
{
	static const struct unit_test tests[] = {
		{ "blocking", test_blocking },
		{ "nonblocking", test_nonblocking },
		{ "errors", test_errors },
		{ NULL, NULL }
	};

	unit_add_suite("fdio", tests);
}
