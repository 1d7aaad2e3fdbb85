/*
 * master.c: rcp-master's control socket and loop.  One thread polls the
 * listening socket, a wake-up eventfd (a job changed state, or a shutdown
 * was asked for) and every client; each client's bytes become lines
 * (capped), each line a request answered by master-req.c, each reply queued
 * on that client.  Waits and watches are subscriptions of a client,
 * answered when their job ends or their timer fires.  Nothing a client
 * sends can stop the loop: the worst is an error reply, or that client
 * dropped; one that says no hello, or takes no reply, in time is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "service/master.h"
#include "service/master-int.h"
#include "workers/jobtab.h"
#include "workers/ledger.h"

#include "base/banned.h"

/* Lines of one client handled per round, so that none starves the others. */
#define LINES_PER_ROUND	64
/*
 * Replies a client has not read yet; past this it is dropped (a reply is
 * bounded well below it: lists come in pages).  One that takes none of
 * them for --client-timeout is dropped too, however little is queued.
 */
#define MAX_OUT		(8u << 20)
/* How long a shutdown waits to flush replies to clients. */
#define FLUSH_NS	(1000000000ull)

void
rcp_master_opts_init(struct rcp_master_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->listen_fd = -1;
	o->socket_mode = 0600;
	o->workers = 4;
	o->keep_ns = 7ull * 86400 * 1000000000u;
	o->ledger_max = RCP_LEDGER_DEFAULT_MAX;
	o->session_idle_ns = 60ull * 1000000000u;
	o->max_clients = 1024;
	o->hello_timeout_ns = 30ull * 1000000000u;
	o->client_timeout_ns = 30ull * 1000000000u;
	o->stall_ns = 600ull * 1000000000u;
}

char *
rcp_master_default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");

	if (xdg != NULL && xdg[0] == '/')
		return rcp_xasprintf("%s/rcp", xdg);
	if (home == NULL || home[0] != '/')
		home = "/";
	return rcp_xasprintf("%s/.local/state/rcp", home);
}

static void
wake(struct rcp_master *m)
{
	uint64_t one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0) {
		/* Full counter: the loop wakes anyway. */
	}
}

static void
on_job_change(void *arg)
{
	wake(arg);
}

/* --- the socket ------------------------------------------------------------- */

static int
fill_addr(struct sockaddr_un *sun, const char *path, char **cause)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		*cause = rcp_xasprintf("socket path '%s' is too long", path);
		return RCP_ERR_INVAL;
	}
	memcpy(sun->sun_path, path, strlen(path) + 1);
	return 0;
}

/* Removes a socket left by a master that died; refuses anything else. */
static int
clear_stale(const char *path, char **cause)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd, r = 0;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		*cause = rcp_xasprintf("'%s' exists and is not a socket: not "
		    "replacing it", path);
		return RCP_ERR_EXISTS;
	}
	if ((r = fill_addr(&sun, path, cause)) != 0)
		return r;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		*cause = rcp_xasprintf("socket: %s", strerror(errno));
		return RCP_ERR_IO;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
		*cause = rcp_xasprintf("another rcp-master answers at '%s'",
		    path);
		r = RCP_ERR_EXISTS;
	} else if (unlink(path) != 0 && errno != ENOENT) {
		*cause = rcp_xasprintf("cannot remove stale socket '%s': %s",
		    path, strerror(errno));
		r = RCP_ERR_IO;
	}
	close(fd);
	return r;
}

static int
lock_socket(struct rcp_master *m, char **cause)
{
	m->lock_path = rcp_xasprintf("%s.lock", m->sock_path);
	m->sock_lock_fd = open(m->lock_path, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600);
	if (m->sock_lock_fd < 0) {
		*cause = rcp_xasprintf("cannot open '%s': %s", m->lock_path,
		    strerror(errno));
		return RCP_ERR_IO;
	}
	if (flock(m->sock_lock_fd, LOCK_EX | LOCK_NB) != 0) {
		*cause = rcp_xasprintf("another rcp-master is running on '%s'",
		    m->sock_path);
		return RCP_ERR_EXISTS;
	}
	return 0;
}

static int
bind_socket(struct rcp_master *m, mode_t mode, char **cause)
{
	struct sockaddr_un sun;
	mode_t old;
	int r;

	if ((r = fill_addr(&sun, m->sock_path, cause)) != 0)
		return r;
	m->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (m->listen_fd < 0) {
		*cause = rcp_xasprintf("socket: %s", strerror(errno));
		return RCP_ERR_IO;
	}
	old = umask(0177);	/* no other user in before the chmod */
	r = bind(m->listen_fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r != 0) {
		*cause = rcp_xasprintf("cannot bind '%s': %s", m->sock_path,
		    strerror(errno));
		return RCP_ERR_IO;
	}
	m->own_socket = true;
	if (chmod(m->sock_path, mode) != 0 || listen(m->listen_fd, 1024) != 0) {
		*cause = rcp_xasprintf("cannot listen on '%s': %s",
		    m->sock_path, strerror(errno));
		return RCP_ERR_IO;
	}
	return 0;
}

static int
make_socket(struct rcp_master *m, const struct rcp_master_opts *o,
    char **cause)
{
	char *dir;
	int r;

	if (o->listen_fd >= 0) {
		/* Socket activation: systemd made and owns the socket. */
		m->listen_fd = o->listen_fd;
		fcntl(m->listen_fd, F_SETFL, fcntl(m->listen_fd, F_GETFL) |
		    O_NONBLOCK);
		fcntl(m->listen_fd, F_SETFD, FD_CLOEXEC);
		m->sock_path = o->socket_path != NULL ?
		    rcp_xstrdup(o->socket_path) : NULL;
		return 0;
	}
	m->sock_path = o->socket_path != NULL ? rcp_xstrdup(o->socket_path) :
	    rcp_ctl_default_socket();
	if (o->socket_path == NULL) {
		/* The per-user directory: ours alone, or not at all. */
		dir = rcp_ctl_dirname(m->sock_path);
		r = rcp_ctl_check_dir(dir, geteuid(), true, cause);
		free(dir);
		if (r != 0)
			return r;
	}
	if ((r = lock_socket(m, cause)) != 0 ||
	    (r = clear_stale(m->sock_path, cause)) != 0)
		return r;
	return bind_socket(m, o->socket_mode, cause);
}

/* --- clients ----------------------------------------------------------------- */

static void
conn_free(struct conn *c)
{
	struct sub *s, *next;

	for (s = c->subs; s != NULL; s = next) {
		next = s->next;
		master_sub_free(s);
	}
	close(c->fd);
	rcp_ctl_reader_release(&c->in);
	rcp_buf_release(&c->out);
	free(c);
}

/* Sends what it can of c's replies without blocking. */
static void
conn_flush(struct conn *c)
{
	ssize_t n;

	while (!c->dead && c->out_off < c->out.len) {
		n = send(c->fd, c->out.data + c->out_off, c->out.len -
		    c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n < 0) {
			c->dead = true;	/* the client went away */
			break;
		}
		c->out_off += (size_t)n;
		c->out_ns = rcp_now_ns();
	}
	if (c->out_off == c->out.len) {
		rcp_buf_reset(&c->out);
		c->out_off = 0;
	}
}

/* Queues msg (taking its reference) for c and tries to send it now. */
void
master_conn_send(struct conn *c, json_t *msg)
{
	if (msg == NULL || c->dead) {
		json_decref(msg);
		return;
	}
	if (c->out_off == c->out.len)
		c->out_ns = rcp_now_ns();	/* waiting starts now */
	rcp_ctl_encode(&c->out, msg);
	json_decref(msg);
	if (c->out.len - c->out_off > MAX_OUT) {
		c->dead = true;	/* not reading its replies */
		return;
	}
	conn_flush(c);
}

static void
accept_one(struct rcp_master *m, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	json_t *e;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		close(fd);
		return;
	}
	if (m->nconns >= (size_t)m->max_clients) {
		struct rcp_buf b = RCP_BUF_INIT;
		e = rcp_ctl_error(NULL, RCP_CTL_E_BUSY, "too many clients "
		    "(%d)", m->max_clients);
		rcp_ctl_encode(&b, e);
		json_decref(e);
		if (send(fd, b.data, b.len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* It learns from the close. */
		}
		rcp_buf_release(&b);
		close(fd);
		return;
	}
	c = rcp_xcalloc(1, sizeof(*c));
	c->fd = fd;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->pid = cred.pid;
	c->since_ns = rcp_now_ns();
	rcp_ctl_reader_init(&c->in, RCP_CTL_MAX_LINE);
	rcp_buf_init(&c->out);
	c->next = m->conns;
	m->conns = c;
	m->nconns++;
	rcp_log(&m->log, RCP_LOG_DEBUG, "client pid %d uid %u connected",
	    (int)c->pid, (unsigned)c->uid);
}

static void
accept_all(struct rcp_master *m)
{
	int fd, i;

	for (i = 0; i < 64; i++) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC);
		if (fd < 0)
			return;	/* EAGAIN, or a client that gave up */
		accept_one(m, fd);
	}
}

/* Handles up to LINES_PER_ROUND buffered lines of c. */
static void
handle_lines(struct rcp_master *m, struct conn *c)
{
	char *line;
	size_t len;
	int i, r;

	c->more = false;
	for (i = 0; i < LINES_PER_ROUND && !c->closing && !c->dead; i++) {
		r = rcp_ctl_reader_next(&c->in, &line, &len);
		if (r == 0)
			return;
		if (r < 0)
			master_conn_send(c, rcp_ctl_error(NULL,
			    RCP_CTL_E_TOO_LONG, "a line is longer than %u "
			    "bytes: dropped", RCP_CTL_MAX_LINE));
		else
			master_handle_line(m, c, line, len);
	}
	c->more = !c->closing && !c->dead;
}

static void
conn_read(struct rcp_master *m, struct conn *c)
{
	ssize_t n;

	if (c->eof)
		return;
	n = rcp_ctl_reader_fill(&c->in, c->fd);
	if (n == 0) {
		/*
		 * It will send nothing more (`... | socat`): answer what it
		 * sent; writes fail and drop it if it is gone altogether,
		 * perhaps mid-watch.
		 */
		c->eof = true;
	} else if (n < 0 && n != -EAGAIN && n != -EINTR) {
		c->dead = true;
		return;
	}
	c->more = true;
}

/* --- the loop ------------------------------------------------------------------------ */

/* Milliseconds until the next timer, at most 1 s. */
static int
next_timeout(struct rcp_master *m, uint64_t now)
{
	uint64_t next = now + 1000000000u;
	struct conn *c;
	struct sub *s;

	for (c = m->conns; c != NULL; c = c->next) {
		if (c->more)
			return 0;
		if (!c->hello && c->since_ns + m->hello_timeout_ns < next)
			next = c->since_ns + m->hello_timeout_ns;
		if (m->client_timeout_ns > 0 && c->out_off < c->out.len &&
		    c->out_ns + m->client_timeout_ns + 1 < next)
			next = c->out_ns + m->client_timeout_ns + 1;
		for (s = c->subs; s != NULL; s = s->next) {
			if (s->watch && s->next_ns < next)
				next = s->next_ns;
			if (s->deadline_ns != 0 && s->deadline_ns < next)
				next = s->deadline_ns;
		}
	}
	return next <= now ? 0 : (int)((next - now + 999999) / 1000000);
}

/* Whether c has had replies waiting, none of them taken, too long. */
static bool
stuck(const struct rcp_master *m, const struct conn *c, uint64_t now)
{
	return m->client_timeout_ns > 0 && c->out_off < c->out.len &&
	    now - c->out_ns > m->client_timeout_ns;
}

/* Drops dead clients, those done closing and those that never said hello. */
static void
reap(struct rcp_master *m, uint64_t now)
{
	struct conn **cp, *c;

	for (cp = &m->conns; (c = *cp) != NULL;) {
		if (!c->dead && !c->hello && !c->closing &&
		    now - c->since_ns > m->hello_timeout_ns) {
			master_conn_send(c, rcp_ctl_error(NULL,
			    RCP_CTL_E_HELLO, "no hello in time: closing"));
			c->closing = true;
		}
		if (c->eof && !c->more && c->subs == NULL)
			c->closing = true;
		if (!c->dead && stuck(m, c, now)) {
			rcp_log(&m->log, RCP_LOG_INFO, "client pid %d took no "
			    "reply for %.0f s (%zu bytes waiting): dropped",
			    (int)c->pid, (double)(now - c->out_ns) / 1e9,
			    c->out.len - c->out_off);
			c->dead = true;
		}
		if (c->dead || (c->closing && c->out.len == c->out_off)) {
			*cp = c->next;
			m->nconns--;
			rcp_log(&m->log, RCP_LOG_DEBUG, "client pid %d gone",
			    (int)c->pid);
			conn_free(c);
		} else {
			cp = &c->next;
		}
	}
}

/* Applies a shutdown asked for since the last round. */
static void
apply_shutdown(struct rcp_master *m)
{
	bool sd, rq;

	pthread_mutex_lock(&m->lock);
	sd = m->shutdown;
	rq = m->requeue;
	pthread_mutex_unlock(&m->lock);
	if (!sd || (m->stopping && (m->requeued || !rq)))
		return;
	if (!m->stopping)
		rcp_log(&m->log, RCP_LOG_INFO, "shutting down: %zu job%s "
		    "running", rcp_jobtab_running(m->jobs),
		    rcp_jobtab_running(m->jobs) == 1 ? "" : "s");
	m->stopping = true;
	m->requeued = rq;
	rcp_jobtab_stop(m->jobs, rq);
}

/* Gives clients up to FLUSH_NS to take their last replies. */
static void
flush_all(struct rcp_master *m)
{
	uint64_t end = rcp_now_ns() + FLUSH_NS;
	struct pollfd *pfd;
	struct conn *c;
	size_t n;

	pfd = rcp_xcalloc(m->nconns + 1, sizeof(*pfd));
	while (rcp_now_ns() < end) {
		n = 0;
		for (c = m->conns; c != NULL; c = c->next) {
			conn_flush(c);
			if (!c->dead && c->out_off < c->out.len) {
				pfd[n].fd = c->fd;
				pfd[n++].events = POLLOUT;
			}
		}
		if (n == 0 || poll(pfd, n, 100) < 0)
			break;
	}
	free(pfd);
}

static void
poll_round(struct rcp_master *m, struct pollfd *pfd, size_t n)
{
	struct conn *c;
	size_t i = 2;
	uint64_t buf;

	if (pfd[0].revents & POLLIN) {
		if (read(m->wake_fd, &buf, sizeof(buf)) < 0) {
			/* EAGAIN: someone else read it */
		}
	}
	for (c = m->conns; c != NULL && i < n; c = c->next, i++) {
		if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
			conn_read(m, c);
		if (pfd[i].revents & POLLOUT)
			conn_flush(c);
	}
	/* Last: new clients go to the head of the list pfd follows. */
	if (pfd[1].fd >= 0 && (pfd[1].revents & POLLIN))
		accept_all(m);
}

int
rcp_master_run(struct rcp_master *m)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0, n;
	struct conn *c;
	uint64_t now;

	for (;;) {
		apply_shutdown(m);
		if (m->stopping && rcp_jobtab_running(m->jobs) == 0) {
			master_check_subs(m, rcp_now_ns());
			flush_all(m);
			break;
		}
		if (cap < m->nconns + 2) {
			cap = (m->nconns + 2) * 2;
			pfd = rcp_xrealloc(pfd, cap * sizeof(*pfd));
		}
		pfd[0] = (struct pollfd){ .fd = m->wake_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = m->stopping ? -1 : m->listen_fd,
		    .events = POLLIN };
		n = 2;
		for (c = m->conns; c != NULL; c = c->next, n++) {
			pfd[n].fd = c->fd;
			pfd[n].events = (c->closing || c->eof ? 0 : POLLIN) |
			    (c->out_off < c->out.len ? POLLOUT : 0);
			pfd[n].revents = 0;
		}
		now = rcp_now_ns();
		if (poll(pfd, n, next_timeout(m, now)) < 0 && errno != EINTR) {
			rcp_log(&m->log, RCP_LOG_ERROR, "poll: %s",
			    strerror(errno));
			free(pfd);
			return RCP_ERR_IO;
		}
		poll_round(m, pfd, n);
		for (c = m->conns; c != NULL; c = c->next)
			if (c->more)
				handle_lines(m, c);
		now = rcp_now_ns();
		master_check_subs(m, now);
		reap(m, now);
	}
	free(pfd);
	return 0;
}

void
rcp_master_shutdown(struct rcp_master *m, bool requeue)
{
	pthread_mutex_lock(&m->lock);
	m->shutdown = true;
	m->requeue = m->requeue || requeue;
	pthread_mutex_unlock(&m->lock);
	wake(m);
}

const char *
rcp_master_socket(const struct rcp_master *m)
{
	return m->sock_path;
}

int
rcp_master_new(const struct rcp_master_opts *o, struct rcp_master **out,
    char **cause)
{
	struct rcp_master *m = rcp_xcalloc(1, sizeof(*m));
	struct rcp_jobtab_opts jo;
	char *state_dir = NULL;
	int r;

	*cause = NULL;
	m->listen_fd = m->sock_lock_fd = -1;
	pthread_mutex_init(&m->lock, NULL);
	if (o->log != NULL)
		m->log = *o->log;
	m->max_clients = o->max_clients > 0 ? o->max_clients : 1024;
	m->hello_timeout_ns = o->hello_timeout_ns;
	m->client_timeout_ns = o->client_timeout_ns;
	m->start_ns = rcp_now_ns();
	m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (m->wake_fd < 0) {
		*cause = rcp_xasprintf("eventfd: %s", strerror(errno));
		r = RCP_ERR_IO;
		goto fail;
	}
	if ((r = make_socket(m, o, cause)) != 0)
		goto fail;

	memset(&jo, 0, sizeof(jo));
	state_dir = o->state_dir != NULL ? rcp_xstrdup(o->state_dir) :
	    rcp_master_default_state_dir();
	jo.state_dir = state_dir;
	jo.workers = o->workers;
	jo.pair_cap = o->pair_cap;
	jo.keep_ns = o->keep_ns;
	jo.ledger_max = o->ledger_max;
	jo.session_idle_ns = o->session_idle_ns;
	jo.stall_ns = o->stall_ns;
	jo.log = o->log;
	jo.notify = on_job_change;
	jo.notify_arg = m;
	if (o->metrics_textfile != NULL) {
		m->metrics_path = rcp_xstrdup(o->metrics_textfile);
		jo.tick = master_metrics_tick;
		jo.tick_arg = m;
	}
	if ((r = rcp_jobtab_new(&jo, &m->jobs, cause)) != 0)
		goto fail;
	free(state_dir);
	*out = m;
	return 0;
fail:
	free(state_dir);
	rcp_master_free(m);
	return r;
}

void
rcp_master_free(struct rcp_master *m)
{
	struct conn *c, *next;

	if (m == NULL)
		return;
	for (c = m->conns; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	/* Clients first: a new master may start as soon as the socket goes. */
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	if (m->own_socket)
		unlink(m->sock_path);
	rcp_jobtab_free(m->jobs);
	if (m->sock_lock_fd >= 0)
		close(m->sock_lock_fd);
	if (m->wake_fd >= 0)
		close(m->wake_fd);
	pthread_mutex_destroy(&m->lock);
	free(m->sock_path);
	free(m->lock_path);
	free(m->metrics_path);
	free(m);
}
