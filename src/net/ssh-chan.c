/*
 * ssh-chan.c: commands on the channels of an SSH session (ssh.c).  libssh
 * sessions must not be used by two threads at once, so a session's calls go
 * through its mutex and every step taken under it is non-blocking.
 * Whichever thread holds the lock processes every packet that has arrived:
 * libssh keeps the data for other channels in their buffers.  A thread with
 * nothing to do waits unlocked: one of them (the poller) in poll() on the
 * socket, the others on a condition variable; a step that consumed socket
 * input wakes them all (the poller through a pipe), so nobody sleeps on data
 * that another thread already moved into its buffer.
 */
#include <sys/types.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/ssh-int.h"
#include "net/ssh.h"

#include "base/banned.h"

/* Longest wait before a waiting thread looks again anyway. */
#define SSH_WAIT_MAX_MS		1000
/* Bytes moved per locked step, so that one stream cannot hog the lock. */
#define SSH_STEP_BYTES		(64 * 1024)
/* Stderr kept by rcp_ssh_run for its log record. */
#define SSH_RUN_ERR_MAX		(16 * 1024)

struct rcp_ssh_proc {
	struct rcp_ssh		*s;
	ssh_channel		 ch;		/* requires s->lock */
	struct ssh_channel_callbacks_struct cb;
	char			*what;		/* "'command' on 'host'" for messages */
	char			*pend;		/* requires s->lock: stdout read ahead */
	size_t			 pend_len;
	int			 status;	/* requires s->lock: -1 until reported */
	bool			 exited;	/* requires s->lock */
	bool			 closed;	/* requires s->lock: the server closed it */
	bool			 eof_sent;	/* requires s->lock */
	struct rcp_ssh_proc	*prev, *next;	/* requires s->lock */
};

/* Time and waiting. */

/*
 * requires s->lock.  Returns true if the socket has bytes that the next libssh
 * call may process; a step that had them calls session_notify after.
 */
static bool
session_fed(struct rcp_ssh *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	return s->fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/*
 * requires s->lock.  Wakes the threads waiting in session_wait: the step just
 * taken may have moved data, window space or an exit status to their
 * channels.
 */
static void
session_notify(struct rcp_ssh *s)
{
	if (s->waiters > 0)
		pthread_cond_broadcast(&s->progress);
	if (s->polling && !s->kicked && write(s->kick[1], "!", 1) == 1)
		s->kicked = true;
}

/*
 * requires s->lock, which it releases while it waits.  Waits until the socket
 * has input, another thread's step may have brought news (session_notify),
 * the deadline (0: none) or SSH_WAIT_MAX_MS passes.  Call it in the same
 * hold of the lock as the step that found nothing, so no news is missed.
 */
static void
session_wait(struct rcp_ssh *s, uint64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = s->fd, .events = POLLIN },
		{ .fd = s->kick[0], .events = POLLIN }
	};
	uint64_t now = rcp_now_ns(), until = now + SSH_WAIT_MAX_MS * 1000000ull;
	char drain[16];

	if (deadline != 0 && deadline < until)
		until = deadline;
	if (until <= now)
		return;
	if (!s->polling) {
		s->polling = true;
		pthread_mutex_unlock(&s->lock);
		poll(pfd, 2, (int)((until - now + 999999) / 1000000));
		pthread_mutex_lock(&s->lock);
		s->polling = false;
		if (s->kicked) {
			while (read(s->kick[0], drain, sizeof(drain)) > 0)
				;
			s->kicked = false;
		}
		/* Another waiter may take over the polling. */
		if (s->waiters > 0)
			pthread_cond_broadcast(&s->progress);
		return;
	}
	s->waiters++;
	rcp_cond_wait_until(&s->progress, &s->lock, until);
	s->waiters--;
}

/* Lets other threads take the lock between two productive steps. */
static void
session_yield(struct rcp_ssh *s)
{
	pthread_mutex_unlock(&s->lock);
	sched_yield();
	pthread_mutex_lock(&s->lock);
}

/* Errors. */

/* requires s->lock.  Records that the connection is gone; returns RCP_ERR_IO. */
static int
session_died(struct rcp_ssh *s)
{
	if (s->dead == NULL) {
		s->dead = rcp_xasprintf("connection to '%s' lost: %s", s->host,
		    ssh_get_error(s->ss));
		rcp_log(&s->log, RCP_LOG_DEBUG, "%s", s->dead);
	}
	return RCP_ERR_IO;
}

/* requires s->lock.  Handles a failed libssh call: RCP_ERR_IO either way. */
static int
session_failed(struct rcp_ssh *s)
{
	if (!ssh_is_connected(s->ss))
		return session_died(s);
	return RCP_ERR_IO;
}

/*
 * requires s->lock.  Processes, without blocking, whatever the socket has:
 * packets for every channel, window changes, exit statuses.  Returns 0 or
 * RCP_ERR_IO if the connection is gone.
 */
static int
session_pump(struct rcp_ssh *s)
{
	bool fed = session_fed(s);
	int r = 0;

	if (s->dead != NULL)
		return RCP_ERR_IO;
	if (ssh_event_dopoll(s->ev, 0) == SSH_ERROR || !ssh_is_connected(s->ss))
		r = session_died(s);
	if (fed)
		session_notify(s);
	return r;
}

/* Channels. */

static void
on_exit_status(ssh_session session, ssh_channel channel, int status,
    void *userdata)
{
	struct rcp_ssh_proc *p = userdata;

	p->status = status;
	p->exited = true;
}

static int
signal_number(const char *name)
{
	static const struct {
		const char	*name;
		int		 sig;
	} sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "SYS", SIGSYS },
	};
	size_t i;

	for (i = 0; name != NULL && i < RCP_ARRAY_SIZE(sigs); i++)
		if (strcmp(name, sigs[i].name) == 0)
			return sigs[i].sig;
	return 0;
}

static void
on_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
    int core, const char *errmsg, const char *lang, void *userdata)
{
	struct rcp_ssh_proc *p = userdata;
	int sig = signal_number(signal);

	p->status = sig > 0 ? 128 + sig : -1;
	p->exited = true;
}

static void
on_close(ssh_session session, ssh_channel channel, void *userdata)
{
	struct rcp_ssh_proc *p = userdata;

	p->closed = true;
}

/*
 * requires s->lock.  Opens a channel and starts command: 0 or an error.  The
 * protocol exchanges block (at most the connect timeout) under the lock.
 */
static int
proc_start(struct rcp_ssh *s, const char *command, struct rcp_ssh_proc **pp,
    char **cause)
{
	struct rcp_ssh_proc *p;
	char *esc;

	if (s->dead != NULL) {
		*cause = rcp_xstrdup(s->dead);
		return RCP_ERR_IO;
	}
	p = rcp_xcalloc(1, sizeof(*p));
	p->s = s;
	p->status = -1;
	esc = rcp_escape(command);
	p->what = rcp_xasprintf("'%s' on '%s'", esc, s->host);
	free(esc);
	if ((p->ch = ssh_channel_new(s->ss)) == NULL)
		goto fail;
	ssh_callbacks_init(&p->cb);
	p->cb.userdata = p;
	p->cb.channel_exit_status_function = on_exit_status;
	p->cb.channel_exit_signal_function = on_exit_signal;
	p->cb.channel_close_function = on_close;
	if (ssh_set_channel_callbacks(p->ch, &p->cb) != SSH_OK ||
	    ssh_channel_open_session(p->ch) != SSH_OK)
		goto fail;
	if (ssh_channel_request_exec(p->ch, command) != SSH_OK) {
		*cause = rcp_xasprintf("cannot run %s: %s", p->what,
		    ssh_get_error(s->ss));
		goto fail_err;
	}
	session_notify(s);
	p->next = s->procs;
	if (s->procs != NULL)
		s->procs->prev = p;
	s->procs = p;
	*pp = p;
	return 0;

fail:
	*cause = rcp_xasprintf("cannot open a channel to '%s': %s", s->host,
	    ssh_get_error(s->ss));
fail_err:
	session_failed(s);
	session_notify(s);
	if (p->ch != NULL) {
		ssh_remove_channel_callbacks(p->ch, &p->cb);
		ssh_channel_free(p->ch);
	}
	free(p->what);
	free(p);
	return RCP_ERR_IO;
}

struct rcp_ssh_proc *
rcp_ssh_exec(struct rcp_ssh *s, const char *command, char **cause)
{
	struct rcp_ssh_proc *p = NULL;

	pthread_mutex_lock(&s->lock);
	proc_start(s, command, &p, cause);
	pthread_mutex_unlock(&s->lock);
	if (p != NULL)
		rcp_log(&s->log, RCP_LOG_DEBUG, "started %s", p->what);
	return p;
}

/*
 * requires s->lock.  One write step: returns the bytes sent (0 while the
 * window is full) or RCP_ERR_IO.  Only the flush of what fits in the window
 * may block, until the kernel takes it.
 */
static ssize_t
proc_write_step(struct rcp_ssh_proc *p, const void *buf, size_t n)
{
	struct rcp_ssh *s = p->s;
	uint32_t w;
	int r;

	if ((r = session_pump(s)) != 0)
		return r;
	if (p->eof_sent || p->closed || ssh_channel_is_closed(p->ch)) {
		rcp_log(&s->log, RCP_LOG_DEBUG, "cannot write to %s: its "
		    "input is closed", p->what);
		return RCP_ERR_IO;
	}
	if ((w = ssh_channel_window_size(p->ch)) == 0)
		return 0;
	if (n > w)
		n = w;
	if (n > SSH_STEP_BYTES)
		n = SSH_STEP_BYTES;
	r = ssh_channel_write(p->ch, buf, (uint32_t)n);
	/* The flush processes incoming packets too. */
	session_notify(s);
	if (r < 0) {
		rcp_log(&s->log, RCP_LOG_DEBUG, "cannot write to %s: %s",
		    p->what, ssh_get_error(s->ss));
		return session_failed(s);
	}
	return r;
}

int
rcp_ssh_proc_write_timeout(struct rcp_ssh_proc *p, const void *buf, size_t n,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	const char *c = buf;
	ssize_t k;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	while (n > 0) {
		if ((k = proc_write_step(p, c, n)) < 0) {
			r = (int)k;
			break;
		}
		c += k;
		n -= (size_t)k;
		if (k > 0)
			session_yield(s);
		else if (rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		} else
			session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
rcp_ssh_proc_write(struct rcp_ssh_proc *p, const void *buf, size_t n)
{
	return rcp_ssh_proc_write_timeout(p, buf, n, -1);
}

/* requires s->lock. */
static int
proc_send_eof(struct rcp_ssh_proc *p)
{
	int r = 0;

	if (p->eof_sent)
		return 0;
	if (p->s->dead != NULL)
		return RCP_ERR_IO;
	if (ssh_channel_send_eof(p->ch) != SSH_OK)
		r = session_failed(p->s);
	else
		p->eof_sent = true;
	session_notify(p->s);
	return r;
}

int
rcp_ssh_proc_close_stdin(struct rcp_ssh_proc *p)
{
	int r;

	pthread_mutex_lock(&p->s->lock);
	r = proc_send_eof(p);
	pthread_mutex_unlock(&p->s->lock);
	return r;
}

/*
 * requires s->lock.  One non-blocking read of the channel: returns the bytes
 * read, 0 with *eof false if nothing has come yet, 0 with *eof true at EOF,
 * or RCP_ERR_IO.
 */
static ssize_t
channel_read_step(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    bool *eof)
{
	bool fed = session_fed(p->s);
	ssize_t r;
	int avail;

	*eof = false;
	/* Polling an empty stream reads the socket without blocking. */
	avail = ssh_channel_poll(p->ch, err);
	if (avail == SSH_EOF) {
		*eof = true;
		r = 0;
	} else if (avail == SSH_ERROR)
		r = session_failed(p->s);
	else if (avail == 0)
		r = 0;
	else {
		if (n > (size_t)avail)
			n = (size_t)avail;
		if (n > SSH_STEP_BYTES)
			n = SSH_STEP_BYTES;
		r = ssh_channel_read_nonblocking(p->ch, buf, (uint32_t)n, err);
		if (r < 0)
			r = session_failed(p->s);
	}
	if (fed)
		session_notify(p->s);
	return r;
}

/* requires s->lock.  As channel_read_step, stdout read ahead first. */
static ssize_t
proc_read_step(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    bool *eof)
{
	if (err || p->pend_len == 0)
		return channel_read_step(p, err, buf, n, eof);
	*eof = false;
	if (n > p->pend_len)
		n = p->pend_len;
	memcpy(buf, p->pend, n);
	memmove(p->pend, p->pend + n, p->pend_len - n);
	p->pend_len -= n;
	return (ssize_t)n;
}

ssize_t
rcp_ssh_proc_read(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	ssize_t k;
	bool eof;

	if (n == 0)
		return RCP_ERR_INVAL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		k = proc_read_step(p, err, buf, n, &eof);
		if (k != 0 || eof)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			k = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return k;
}

/*
 * requires s->lock.  Looks for a line in the read-ahead buffer, reading
 * more stdout into it: 1 with *line set, 0 to wait, or an error.
 */
static int
proc_line_step(struct rcp_ssh_proc *p, char **line, size_t max)
{
	char *nl;
	size_t room, k;
	ssize_t got;
	bool eof;

	for (;;) {
		nl = p->pend_len > 0 ? memchr(p->pend, '\n', p->pend_len) : NULL;
		if (nl != NULL) {
			k = (size_t)(nl - p->pend);
			*line = rcp_xstrndup(p->pend, k);
			memmove(p->pend, nl + 1, p->pend_len - k - 1);
			p->pend_len -= k + 1;
			return 1;
		}
		if (p->pend_len >= max)
			return RCP_ERR_TOOBIG;
		/* Room for max bytes and the newline, never more. */
		room = max + 1 - p->pend_len;
		if (room > SSH_STEP_BYTES)
			room = SSH_STEP_BYTES;
		p->pend = rcp_xrealloc(p->pend, p->pend_len + room);
		got = channel_read_step(p, false, p->pend + p->pend_len, room,
		    &eof);
		if (got < 0)
			return (int)got;
		if (eof)
			return RCP_ERR_PROTO;
		if (got == 0)
			return 0;
		p->pend_len += (size_t)got;
	}
}

int
rcp_ssh_proc_read_line(struct rcp_ssh_proc *p, char **line, size_t max,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	int r;

	*line = NULL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if ((r = proc_line_step(p, line, max)) != 0)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r > 0 ? 0 : r;
}

int
rcp_ssh_proc_wait(struct rcp_ssh_proc *p, int timeout_ms, int *status)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	int r;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		r = session_pump(s);
		*status = p->status;
		if (p->exited || p->closed) {
			r = 0;
			break;
		}
		if (r != 0)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
rcp_ssh_proc_signal(struct rcp_ssh_proc *p, const char *name)
{
	int r = 0;

	pthread_mutex_lock(&p->s->lock);
	if (p->s->dead != NULL)
		r = RCP_ERR_IO;
	else if (ssh_channel_request_send_signal(p->ch, name) != SSH_OK)
		r = session_failed(p->s);
	session_notify(p->s);
	pthread_mutex_unlock(&p->s->lock);
	return r;
}

/* requires s->lock.  Closes the channel, unlinks p and frees it (ssh-int.h). */
void
rcp_ssh_proc_free_locked(struct rcp_ssh_proc *p)
{
	struct rcp_ssh *s = p->s;

	/* A freed channel lives on in libssh until the server's close. */
	ssh_remove_channel_callbacks(p->ch, &p->cb);
	if (s->dead == NULL && ssh_is_connected(s->ss)) {
		if (!p->exited && !p->closed)
			ssh_channel_request_send_signal(p->ch, "TERM");
		if (ssh_channel_is_open(p->ch))
			ssh_channel_close(p->ch);
		session_notify(s);
	}
	ssh_channel_free(p->ch);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		s->procs = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p->what);
	free(p->pend);
	free(p);
}

void
rcp_ssh_proc_free(struct rcp_ssh_proc *p)
{
	struct rcp_ssh *s;

	if (p == NULL)
		return;
	s = p->s;
	pthread_mutex_lock(&s->lock);
	rcp_ssh_proc_free_locked(p);
	pthread_mutex_unlock(&s->lock);
}

/* Running a command to completion. */

struct run_state {
	struct rcp_ssh_run_io	*io;
	struct rcp_buf		 out, err;
	size_t			 in_off, in_len;	/* in_len: 0 without input */
	bool			 out_eof, err_eof;
};

/* requires s->lock.  Reads one stream into its buffer: bytes read or an error. */
static ssize_t
run_read(struct rcp_ssh_proc *p, struct run_state *st, bool err,
    char **cause)
{
	struct rcp_buf *b = err ? &st->err : &st->out;
	char buf[16384];
	size_t keep;
	ssize_t k;
	bool eof;

	if ((k = proc_read_step(p, err, buf, sizeof(buf), &eof)) < 0)
		return k;
	if (err) {
		keep = st->io->err_max - b->len;
		rcp_buf_add(b, buf, keep < (size_t)k ? keep : (size_t)k);
		st->err_eof = eof;
	} else if (b->len + (size_t)k > st->io->out_max) {
		*cause = rcp_xasprintf("output of %s is over %zu bytes",
		    p->what, st->io->out_max);
		return RCP_ERR_TOOBIG;
	} else {
		rcp_buf_add(b, buf, (size_t)k);
		st->out_eof = eof;
	}
	return k > 0 || eof ? 1 : 0;
}

/* requires s->lock.  One step: 1 if progress was made, 0 if not, or an error. */
static int
run_step(struct rcp_ssh_proc *p, struct run_state *st, char **cause)
{
	ssize_t k;
	int progress = 0;

	if (st->in_off < st->in_len) {
		k = proc_write_step(p, (const char *)st->io->in + st->in_off,
		    st->in_len - st->in_off);
		if (k < 0)
			goto io_error;
		st->in_off += (size_t)k;
		progress |= k > 0;
	}
	if (st->in_off == st->in_len && !p->eof_sent && proc_send_eof(p) != 0)
		goto io_error;
	if (!st->out_eof) {
		if ((k = run_read(p, st, false, cause)) == RCP_ERR_TOOBIG)
			return RCP_ERR_TOOBIG;
		if (k < 0)
			goto io_error;
		progress |= k > 0;
	}
	if (!st->err_eof) {
		if ((k = run_read(p, st, true, cause)) < 0)
			goto io_error;
		progress |= k > 0;
	}
	if (session_pump(p->s) != 0)
		goto io_error;
	return progress;

io_error:
	*cause = rcp_xasprintf("cannot run %s: %s", p->what, p->s->dead != NULL ?
	    p->s->dead : ssh_get_error(p->s->ss));
	return RCP_ERR_IO;
}

int
rcp_ssh_run_io(struct rcp_ssh *s, const char *command,
    struct rcp_ssh_run_io *io, int timeout_ms, char **cause)
{
	struct run_state st = { .io = io, .out = RCP_BUF_INIT,
	    .err = RCP_BUF_INIT };
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh_proc *p = NULL;
	int r;

	io->out = io->err = NULL;
	io->out_len = io->err_len = 0;
	io->status = -1;
	st.in_len = io->in != NULL ? io->in_len : 0;
	pthread_mutex_lock(&s->lock);
	if ((r = proc_start(s, command, &p, cause)) != 0) {
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	for (;;) {
		if ((r = run_step(p, &st, cause)) < 0)
			break;
		io->status = p->status;
		if (st.out_eof && st.err_eof && (p->exited || p->closed))
			break;
		if (r > 0)
			session_yield(s);
		else if (rcp_deadline_passed(deadline)) {
			*cause = rcp_xasprintf("%s did not finish within %d ms",
			    p->what, timeout_ms);
			r = RCP_ERR_TIMEOUT;
			break;
		} else
			session_wait(s, deadline);
	}
	rcp_ssh_proc_free_locked(p);
	pthread_mutex_unlock(&s->lock);
	if (r >= 0) {
		io->out_len = st.out.len;
		io->out = rcp_buf_detach(&st.out);
		io->err_len = st.err.len;
		io->err = rcp_buf_detach(&st.err);
		r = 0;
	}
	rcp_buf_release(&st.out);
	rcp_buf_release(&st.err);
	return r;
}

int
rcp_ssh_run(struct rcp_ssh *s, const char *command, char **out, size_t max,
    int *status, int timeout_ms, char **cause)
{
	struct rcp_ssh_run_io io = { .out_max = max,
	    .err_max = SSH_RUN_ERR_MAX };
	char *esc, *err;
	int r;

	*out = NULL;
	if ((r = rcp_ssh_run_io(s, command, &io, timeout_ms, cause)) != 0)
		return r;
	if (io.err_len > 0 && rcp_log_enabled(&s->log, RCP_LOG_DEBUG)) {
		esc = rcp_escape(command);
		err = rcp_escape(io.err);
		rcp_log(&s->log, RCP_LOG_DEBUG, "stderr of '%s' on '%s': %s",
		    esc, s->host, err);
		free(esc);
		free(err);
	}
	free(io.err);
	*out = io.out;
	*status = io.status;
	return 0;
}
