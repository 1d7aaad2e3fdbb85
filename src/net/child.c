/* child.c: a local command with pipes on stdin, stdout and stderr. */
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/util.h"
#include "net/child.h"

#include "base/banned.h"

extern char **environ;

/*
 * How long a child gets to leave after EOF (rcpd takes up to 1.5 s to see
 * its master gone), after SIGTERM, and to be reaped after SIGKILL (a
 * process stuck in the kernel, on a dead NFS server say, cannot be).
 */
#define CHILD_EOF_GRACE_MS	2500
#define CHILD_TERM_GRACE_MS	2000
#define CHILD_KILL_GRACE_MS	5000
/* How often rcp_child_wait looks again. */
#define CHILD_WAIT_STEP_NS	2000000L

struct rcp_child {
	pid_t		 pid;
	int		 out;		/* its stdout; owned by the reader */
	int		 err;		/* its stderr */
	char		*pend;		/* stdout read ahead of a line */
	size_t		 pend_len;

	pthread_mutex_t	 in_lock;
	int		 in;		/* its stdin; -1 once closed; requires in_lock */

	pthread_mutex_t	 wait_lock;
	bool		 reaped;	/* requires wait_lock */
	int		 status;	/* requires wait_lock */
};

static void
close_pair(int p[2])
{
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/*
 * The children not reaped yet, for rcp_child_kill_all in a signal handler:
 * a slot holds a pid from the spawn until the reap (0: free).  Past
 * RCP_ARRAY_SIZE(live) children, the others are not listed.
 */
static _Atomic pid_t live[16];

static void
live_add(pid_t pid)
{
	pid_t none;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(live); i++) {
		none = 0;
		if (atomic_compare_exchange_strong(&live[i], &none, pid))
			return;
	}
}

static void
live_remove(pid_t pid)
{
	pid_t p;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(live); i++) {
		p = pid;
		if (atomic_compare_exchange_strong(&live[i], &p, 0))
			return;
	}
}

void
rcp_child_kill_all(int sig)
{
	pid_t p;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(live); i++)
		if ((p = atomic_load(&live[i])) > 0)
			kill(p, sig);
}

int
rcp_child_spawn(char *const *argv, struct rcp_child **out, char **cause)
{
	int in[2] = { -1, -1 }, o[2] = { -1, -1 }, e[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	struct rcp_child *c;
	pid_t pid;
	int r;

	if (pipe2(in, O_CLOEXEC) != 0 || pipe2(o, O_CLOEXEC) != 0 ||
	    pipe2(e, O_CLOEXEC) != 0) {
		r = errno;
		close_pair(in);
		close_pair(o);
		close_pair(e);
		*cause = rcp_xasprintf("cannot start '%s': %s", argv[0],
		    strerror(r));
		return RCP_ERR_IO;
	}
	/* dup2 clears O_CLOEXEC on 0-2; everything else stays behind. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, o[1], 1);
	posix_spawn_file_actions_adddup2(&fa, e[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/*
	 * Its own process group; no signal blocked, whatever the spawning
	 * thread blocks (rcp-master's block SIGTERM, SIGINT, SIGHUP), and
	 * none ignored that it should die of.
	 */
	sigemptyset(&none);
	sigemptyset(&dfl);
	sigaddset(&dfl, SIGPIPE);
	sigaddset(&dfl, SIGTERM);
	sigaddset(&dfl, SIGINT);
	sigaddset(&dfl, SIGHUP);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dfl);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	if (strchr(argv[0], '/') != NULL)
		r = posix_spawn(&pid, argv[0], &fa, &attr,
		    argv, environ);
	else
		r = posix_spawnp(&pid, argv[0], &fa, &attr,
		    argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (r != 0) {
		close(in[1]);
		close(o[0]);
		close(e[0]);
		*cause = rcp_xasprintf("cannot start '%s': %s", argv[0],
		    strerror(r));
		return r == ENOENT || r == EACCES ? RCP_ERR_NOTFOUND :
		    RCP_ERR_IO;
	}
	c = rcp_xcalloc(1, sizeof(*c));
	c->pid = pid;
	live_add(pid);
	c->in = in[1];
	c->out = o[0];
	c->err = e[0];
	pthread_mutex_init(&c->in_lock, NULL);
	pthread_mutex_init(&c->wait_lock, NULL);
	*out = c;
	return 0;
}

pid_t
rcp_child_pid(const struct rcp_child *c)
{
	return c->pid;
}

/* One read of fd within deadline: as rcp_child_read. */
static ssize_t
fd_read(int fd, void *buf, size_t n, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t k;
	int p;

	for (;;) {
		p = poll(&pfd, 1, rcp_deadline_ms_left(deadline));
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return RCP_ERR_IO;
		if (p == 0)
			return RCP_ERR_TIMEOUT;
		k = read(fd, buf, n);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return k < 0 ? RCP_ERR_IO : k;
	}
}

ssize_t
rcp_child_read(struct rcp_child *c, bool err, void *buf, size_t n,
    int timeout_ms)
{
	if (n == 0)
		return RCP_ERR_INVAL;
	if (!err && c->pend_len > 0) {
		if (n > c->pend_len)
			n = c->pend_len;
		memcpy(buf, c->pend, n);
		memmove(c->pend, c->pend + n, c->pend_len - n);
		c->pend_len -= n;
		return (ssize_t)n;
	}
	return fd_read(err ? c->err : c->out, buf, n, rcp_deadline_after(timeout_ms));
}

int
rcp_child_read_line(struct rcp_child *c, char **line, size_t max,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	char *nl;
	size_t k;
	ssize_t got;

	*line = NULL;
	for (;;) {
		nl = c->pend_len > 0 ? memchr(c->pend, '\n', c->pend_len) :
		    NULL;
		if (nl != NULL) {
			k = (size_t)(nl - c->pend);
			if (k > max)
				return RCP_ERR_TOOBIG;
			*line = rcp_xstrndup(c->pend, k);
			memmove(c->pend, nl + 1, c->pend_len - k - 1);
			c->pend_len -= k + 1;
			return 0;
		}
		if (c->pend_len >= max)
			return RCP_ERR_TOOBIG;
		c->pend = rcp_xrealloc(c->pend, max + 1);
		got = fd_read(c->out, c->pend + c->pend_len,
		    max + 1 - c->pend_len, deadline);
		if (got < 0)
			return (int)got;
		if (got == 0)
			return RCP_ERR_PROTO;
		c->pend_len += (size_t)got;
	}
}

int
rcp_child_write(struct rcp_child *c, const void *buf, size_t n)
{
	int r = 0;

	pthread_mutex_lock(&c->in_lock);
	/* EPIPE: it is gone. */
	if (n > 0 && (c->in < 0 || rcp_write_full(c->in, buf, n) != 0))
		r = RCP_ERR_IO;
	pthread_mutex_unlock(&c->in_lock);
	return r;
}

int
rcp_child_close_stdin(struct rcp_child *c)
{
	pthread_mutex_lock(&c->in_lock);
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
	pthread_mutex_unlock(&c->in_lock);
	return 0;
}

/* requires c->wait_lock.  Reaps the child if it has exited: true if so. */
static bool
reap(struct rcp_child *c)
{
	int st;
	pid_t w;

	if (c->reaped)
		return true;
	while ((w = waitpid(c->pid, &st, WNOHANG)) < 0 && errno == EINTR)
		;
	if (w == 0)
		return false;
	c->reaped = true;
	live_remove(c->pid);
	if (w < 0)
		c->status = -1;		/* someone else reaped it */
	else if (WIFSIGNALED(st))
		c->status = 128 + WTERMSIG(st);
	else
		c->status = WEXITSTATUS(st);
	return true;
}

int
rcp_child_wait(struct rcp_child *c, int timeout_ms, int *status)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct timespec step = { 0, CHILD_WAIT_STEP_NS };
	bool done;

	for (;;) {
		pthread_mutex_lock(&c->wait_lock);
		if ((done = reap(c)))
			*status = c->status;
		pthread_mutex_unlock(&c->wait_lock);
		if (done)
			return 0;
		if (rcp_deadline_passed(deadline))
			return RCP_ERR_TIMEOUT;
		nanosleep(&step, NULL);
	}
}

int
rcp_child_kill(struct rcp_child *c, int sig)
{
	int r = 0;

	pthread_mutex_lock(&c->wait_lock);
	if (reap(c))
		r = RCP_ERR_NOTFOUND;
	else
		kill(c->pid, sig);
	pthread_mutex_unlock(&c->wait_lock);
	return r;
}

void
rcp_child_free(struct rcp_child *c)
{
	int status;

	if (c == NULL)
		return;
	rcp_child_close_stdin(c);
	if (rcp_child_wait(c, CHILD_EOF_GRACE_MS, &status) != 0) {
		kill(c->pid, SIGTERM);
		if (rcp_child_wait(c, CHILD_TERM_GRACE_MS, &status) != 0) {
			kill(c->pid, SIGKILL);
			/* Left to init when we exit if it cannot go now. */
			(void)rcp_child_wait(c, CHILD_KILL_GRACE_MS, &status);
		}
	}
	close(c->out);
	close(c->err);
	free(c->pend);
	pthread_mutex_destroy(&c->in_lock);
	pthread_mutex_destroy(&c->wait_lock);
	free(c);
}
