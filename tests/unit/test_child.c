/* test_child.c: local commands with pipes (child.c), run for real. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "net/child.h"
#include "unit.h"

static struct rcp_child *
sh(const char *script)
{
	char *argv[] = { "sh", "-c", (char *)(uintptr_t)script, NULL };
	struct rcp_child *c = NULL;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(rcp_child_spawn(argv, &c, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	return c;
}

/* The three pipes and the exit status, as an agent uses them. */
static void
test_conversation(void)
{
	struct rcp_child *c = sh("echo hello; read x; echo \"got $x\"; "
	    "echo oops >&2; exit 3");
	char *line = NULL, buf[64];
	ssize_t n;
	int status = -1;

	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 64, 5000), 0);
	CU_ASSERT_STRING_EQUAL(line, "hello");
	free(line);
	CU_ASSERT_EQUAL(rcp_child_write(c, "secret\n", 7), 0);
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 64, 5000), 0);
	CU_ASSERT_STRING_EQUAL(line, "got secret");
	free(line);
	n = rcp_child_read(c, true, buf, sizeof(buf), 5000);
	CU_ASSERT_EQUAL(n, 5);
	CU_ASSERT_NSTRING_EQUAL(buf, "oops\n", 5);
	CU_ASSERT_EQUAL(rcp_child_read(c, true, buf, sizeof(buf), 5000), 0);
	CU_ASSERT_EQUAL(rcp_child_wait(c, 5000, &status), 0);
	CU_ASSERT_EQUAL(status, 3);
	/* Its stdin is gone: a write fails, it does not kill us (SIGPIPE). */
	signal(SIGPIPE, SIG_IGN);
	CU_ASSERT_EQUAL(rcp_child_write(c, "x\n", 2), RCP_ERR_IO);
	rcp_child_free(c);
}

/* Lines: cut at max, EOF before a newline, timeouts that keep the data. */
static void
test_lines(void)
{
	struct rcp_child *c = sh("printf 'abcdefgh'; sleep 0.3; printf 'ij\\n'; "
	    "printf '%s\\n' 0123456789; printf tail");
	char *line = NULL;

	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 64, 100),
	    RCP_ERR_TIMEOUT);
	CU_ASSERT_PTR_NULL(line);
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 64, 5000), 0);
	CU_ASSERT_STRING_EQUAL(line, "abcdefghij");
	free(line);
	/* A line longer than max. */
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 4, 5000),
	    RCP_ERR_TOOBIG);
	rcp_child_free(c);

	c = sh("printf 'no newline'");
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 64, 5000),
	    RCP_ERR_PROTO);
	rcp_child_free(c);
}

/* A program that does not exist is told apart; one that is not a program. */
static void
test_missing(void)
{
	char *argv[] = { "rcp-no-such-program", NULL };
	char *argv2[] = { "/nonexistent/rcpd", NULL };
	struct rcp_child *c = NULL;
	char *cause = NULL;

	CU_ASSERT_EQUAL(rcp_child_spawn(argv, &c, &cause), RCP_ERR_NOTFOUND);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "cannot start "
		    "'rcp-no-such-program': No such file or directory"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_child_spawn(argv2, &c, &cause), RCP_ERR_NOTFOUND);
	free(cause);
}

/*
 * free: a child that ignores EOF on stdin is ended (SIGTERM) and reaped; a
 * signal's death reads as 128 + its number.
 */
static void
test_free_ends_it(void)
{
	struct rcp_child *c = sh("exec sleep 100");
	uint64_t t0 = rcp_now_ns();
	pid_t pid = rcp_child_pid(c);
	int status = -1;

	CU_ASSERT_EQUAL(rcp_child_wait(c, 50, &status), RCP_ERR_TIMEOUT);
	rcp_child_free(c);
	CU_ASSERT(rcp_now_ns() - t0 < 10ULL * 1000000000);
	CU_ASSERT_EQUAL(kill(pid, 0), -1);	/* reaped: no such process */

	c = sh("kill -KILL $$");
	CU_ASSERT_EQUAL(rcp_child_wait(c, 5000, &status), 0);
	CU_ASSERT_EQUAL(status, 128 + SIGKILL);
	rcp_child_free(c);
}

/* Its own process group, and nothing of ours but the three pipes. */
static void
test_isolation(void)
{
	int fd = dup(0);		/* a descriptor without O_CLOEXEC */
	struct rcp_child *c;
	char *line = NULL;

	CU_ASSERT_FATAL(fd > 2);
	c = sh("ls /proc/self/fd | sort -n | tr '\\n' ' '; echo; read x");
	/* A group of its own, led by it (it waits for us on stdin). */
	CU_ASSERT_EQUAL(getpgid(rcp_child_pid(c)), rcp_child_pid(c));
	CU_ASSERT_NOT_EQUAL(getpgid(rcp_child_pid(c)), getpgrp());
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 256, 5000), 0);
	/* ls's own: 0 1 2 and the directory it reads (3); not our fd. */
	CU_ASSERT_STRING_EQUAL(line, "0 1 2 3 ");
	free(line);
	rcp_child_free(c);
	close(fd);
}

/* None of the spawning thread's blocked signals (rcp-master blocks some). */
static void
test_signals(void)
{
	sigset_t block, old;
	struct rcp_child *c;
	char *line = NULL;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	c = sh("exec grep SigBlk /proc/self/status");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	CU_ASSERT_EQUAL(rcp_child_read_line(c, &line, 256, 5000), 0);
	if (line != NULL)
		CU_ASSERT_STRING_EQUAL(line, "SigBlk:\t0000000000000000");
	free(line);
	rcp_child_free(c);
}

void
test_child_register(void)
{
	static const struct unit_test tests[] = {
		{ "conversation", test_conversation },
		{ "lines", test_lines },
		{ "missing", test_missing },
		{ "free_ends_it", test_free_ends_it },
		{ "isolation", test_isolation },
		{ "signals", test_signals },
		{ NULL, NULL }
	};

	unit_add_suite("child", tests);
}
