/*
 * agent.c: the rcpd runtime, common to both roles: the start-up over the
 * SSH channel, the connection to the master and its requests, and a
 * watcher thread that turns EOF on stdin (the master is gone) into a
 * prompt exit.  The roles are agent-source.c and agent-dest.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "engine/progress.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agent-int.h"
#include "remote/agentline.h"
#include "remote/agent.h"
#include "remote/agentmsg.h"
#include "remote/srccache.h"
#include "remote/srcclient.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* How long rcpd lingers once the master is gone before it _exits. */
#define ORPHAN_GRACE_MS 1500

static const char *
role_name(int role)
{
	return role == RCP_ROLE_SOURCE ? "source" : "destination";
}

/* Log records go to the master (tagged there) and, failing that, stderr. */
static void
forward_log(void *arg, int level, const char *msg)
{
	struct rcp_agent *a = arg;
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_agentmsg_put_log(&b, level, msg);
	pthread_mutex_lock(&a->lock);
	if (a->master == NULL || rcp_quic_send(a->master, a->logs, RCP_MSG_LOG,
	    0, b.data, b.len, 1000) != 0)
		fprintf(stderr, "rcpd (%s): %s: %s\n", role_name(a->o->role),
		    rcp_log_level_name(level), msg);
	pthread_mutex_unlock(&a->lock);
	rcp_buf_release(&b);
}

/* --- start-up over the SSH channel --------------------------------------- */

/* Reads one line from fd within timeout_ms.  Caller frees. */
static int
read_line(int fd, char **out, int timeout_ms, char **cause)
{
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t end = rcp_now_ns() + (uint64_t)timeout_ms * 1000000u;
	struct pollfd pfd = { fd, POLLIN, 0 };
	char ch;
	ssize_t n;

	for (;;) {
		if (rcp_now_ns() >= end) {
			*cause = rcp_xstrdup("no start-up line from the master "
			    "in time");
			goto fail;
		}
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if ((n = read(fd, &ch, 1)) < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			*cause = rcp_xstrdup("the master closed the channel "
			    "before sending the start-up line");
			goto fail;
		}
		if (ch == '\n')
			break;
		if (b.len >= RCP_PROTO_MAX_LINE) {
			*cause = rcp_xstrdup("start-up line too long");
			goto fail;
		}
		rcp_buf_addch(&b, ch);
	}
	*out = rcp_buf_detach(&b);
	return 0;
fail:
	rcp_buf_release(&b);
	return RCP_ERR_PROTO;
}

/* --- the stdin watcher --------------------------------------------------- */

/*
 * Waits until our stdin ends, which means the master is gone (true), or
 * until rcp_agent_run stops us by closing a->wake[1] (false).
 */
static bool
master_gone(struct rcp_agent *a)
{
	struct pollfd pfd[2] = {
		{ a->o->in_fd, POLLIN, 0 }, { a->wake[0], POLLIN, 0 },
	};
	char buf[256];
	ssize_t n;

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return false;	/* cannot watch: leave it to QUIC */
		}
		if (pfd[1].revents != 0)
			return false;
		if (pfd[0].revents == 0)
			continue;
		n = read(a->o->in_fd, buf, sizeof(buf));
		if (n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN)))
			continue;
		return true;
	}
}

/*
 * Waits up to ms for rcp_agent_run to stop us.  True if it did.
 */
static bool
stopped_within(struct rcp_agent *a, int ms)
{
	struct pollfd pfd = { a->wake[0], POLLIN, 0 };
	uint64_t end = rcp_now_ns() + (uint64_t)ms * 1000000u, now;

	while ((now = rcp_now_ns()) < end) {
		if (poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) > 0)
			return true;
	}
	return false;
}

/*
 * The master is gone when our stdin ends: stop what runs, give
 * rcp_agent_run the grace to end, then leave without it.
 */
static void *
stdin_watch(void *arg)
{
	struct rcp_agent *a = arg;
	size_t i;

	if (!master_gone(a) || atomic_load(&a->stop))
		return NULL;
	fprintf(stderr, "rcpd (%s): the master is gone (its SSH channel "
	    "closed); stopping\n", role_name(a->o->role));
	atomic_store(&a->stop, true);
	pthread_mutex_lock(&a->lock);
	if (a->copy != NULL)
		rcp_copy_cancel(a->copy);
	if (a->master != NULL)
		rcp_quic_close(a->master, 1);
	if (a->peer != NULL)
		rcp_quic_close(a->peer, 1);
	for (i = 0; i < a->nmore; i++)
		rcp_quic_close(a->more[i].conn, 1);
	pthread_mutex_unlock(&a->lock);
	if (stopped_within(a, ORPHAN_GRACE_MS))
		return NULL;
	_exit(3);
}

/*
 * Starts the watcher.  Without it (no pipe, no thread) rcpd still ends
 * when the master's QUIC connection times out.
 */
static void
watcher_start(struct rcp_agent *a)
{
	if (pipe2(a->wake, O_CLOEXEC) != 0)
		return;
	if (pthread_create(&a->watcher, NULL, stdin_watch, a) != 0) {
		close(a->wake[0]);
		close(a->wake[1]);
		return;
	}
	a->watching = true;
}

/* Stops the watcher and joins it: after this, nothing else sees *a. */
static void
watcher_stop(struct rcp_agent *a)
{
	if (!a->watching)
		return;
	close(a->wake[1]);
	pthread_join(a->watcher, NULL);
	close(a->wake[0]);
	a->watching = false;
}

/* --- the master's requests ---------------------------------------------- */

/* PEER: the source allows the destination; the destination connects. */
static int
handle_peer(struct rcp_agent *a, const struct rcp_quic_msg *m, char **cause)
{
	uint8_t fp[RCP_CERT_FP_LEN];
	char *addr, *host = NULL, *version = NULL;
	int r;

	if (rcp_agentmsg_get_peer(m->f.body, m->f.len, &addr, fp) != 0) {
		*cause = rcp_xstrdup("malformed peer message");
		return RCP_ERR_PROTO;
	}
	if (a->o->role == RCP_ROLE_SOURCE)
		r = rcp_agent_source_peer(a, fp, cause);
	else if (a->o->helper && addr[0] == '\0')
		r = rcp_agent_helper_peer(a, fp, cause);
	else if (rcp_agentmsg_peer_kind(m->f.body, m->f.len) ==
	    RCP_AGENTMSG_PEER_HELPER) {
		(void)rcp_agentmsg_get_peer_about(m->f.body, m->f.len, &host,
		    &version);
		r = rcp_agent_dest_helper(a, addr, fp, host, version, cause);
	} else if (rcp_agentmsg_peer_more(m->f.body, m->f.len)) {
		r = rcp_agent_dest_peer(a, true, addr, fp, cause);
		if (r == 0) {
			(void)rcp_agentmsg_get_peer_about(m->f.body, m->f.len,
			    &host, &version);
			pthread_mutex_lock(&a->lock);
			a->more[a->nmore - 1].host = host;
			a->more[a->nmore - 1].version = version;
			pthread_mutex_unlock(&a->lock);
		}
	} else {
		free(a->src_host);
		free(a->src_version);
		(void)rcp_agentmsg_get_peer_about(m->f.body, m->f.len,
		    &a->src_host, &a->src_version);
		r = rcp_agent_dest_peer(a, false, addr, fp, cause);
	}
	free(addr);
	return r;
}

/*
 * PEER_GONE to a helper, of a source: its link to that source is cut now,
 * so that what it reads there fails over to the others at once.
 */
static void
source_gone(struct rcp_agent *a, const struct rcp_quic_msg *m)
{
	struct rcp_wire_cursor cur;
	char *host = NULL;
	uint8_t role = RCP_ROLE_SOURCE;
	size_t i;

	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_str(&cur, &host, RCP_PROTO_MAX_NAME) != 0)
		return;
	(void)rcp_wire_get_u8(&cur, &role);
	pthread_mutex_lock(&a->lock);
	if (role == RCP_ROLE_SOURCE && a->peer != NULL &&
	    a->src_host != NULL && strcmp(a->src_host, host) == 0)
		rcp_quic_close(a->peer, 0);
	for (i = 0; role == RCP_ROLE_SOURCE && i < a->nmore; i++)
		if (a->more[i].host != NULL &&
		    strcmp(a->more[i].host, host) == 0)
			rcp_quic_close(a->more[i].conn, 0);
	pthread_mutex_unlock(&a->lock);
	rcp_log(&a->log, RCP_LOG_INFO, "the master lost the source agent on "
	    "'%s': reading through the others", host);
	free(host);
}

static void
put_done(struct rcp_agent *a, struct rcp_buf *b, int status)
{
	struct rcp_runstats rs;

	rcp_runstats_now(&rs, a->start_ns);
	rcp_agentmsg_put_done(b, status, &rs);
}

/*
 * For tests only: RCPD_TEST_LACKS=TYPE makes this agent answer requests
 * of that message type as an older rcpd that lacks it does (the default
 * branch of serve_master), so a test can meet an older agent without
 * building one.  0: none.
 */
static unsigned
test_lacks(void)
{
	const char *v = getenv("RCPD_TEST_LACKS");
	long t;

	if (v == NULL || (t = strtol(v, NULL, 10)) <= 0 || t > UINT16_MAX)
		return 0;
	return (unsigned)t;
}

/* The master's requests, until SHUTDOWN.  Returns the exit status. */
static int
serve_master(struct rcp_agent *a)
{
	struct rcp_quic_conn *c = rcp_agent_master(a);
	struct rcp_quic_msg *m;
	struct rcp_buf reply = RCP_BUF_INIT;
	char *cause = NULL;
	unsigned lacks = test_lacks();
	int r;

	while (!atomic_load(&a->stop)) {
		if (rcp_quic_recv(c, &m, 1000) != 0) {
			if (rcp_quic_conn_error(c) != NULL)
				break;
			continue;
		}
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		rcp_buf_reset(&reply);
		/* Type 0 is none: a lacked one falls to the default. */
		switch (m->f.type == lacks ? 0u : m->f.type) {
		case RCP_MSG_PEER:
			r = handle_peer(a, m, &cause);
			if (r == 0)
				rcp_quic_send(c, m->stream,
				    RCP_MSG_PEER_OK, m->f.id, NULL, 0, 5000);
			break;
		case RCP_MSG_SELFTEST:
			r = rcp_agent_dest_selftest(a, m, &reply, &cause);
			if (r == 0)
				rcp_quic_send(c, m->stream,
				    RCP_MSG_SELFTEST_OK, m->f.id, reply.data,
				    reply.len, 5000);
			break;
		case RCP_MSG_ECHO:
			r = 0;
			rcp_agentmsg_echo(c, m);
			break;
		case RCP_MSG_COPY:
			if (a->o->role != RCP_ROLE_DESTINATION) {
				r = RCP_ERR_PROTO;
				cause = rcp_xstrdup("copy goes to the "
				    "destination agent");
				break;
			}
			r = rcp_agent_dest_copy(a, m, &reply, &cause);
			if (r == 0)
				rcp_quic_send(c, m->stream,
				    RCP_MSG_COPY_DONE, m->f.id, reply.data,
				    reply.len, 5000);
			break;
		case RCP_MSG_COMPARE:
			if (a->o->role != RCP_ROLE_DESTINATION) {
				r = RCP_ERR_PROTO;
				cause = rcp_xstrdup("compare goes to the "
				    "destination agent");
				break;
			}
			r = rcp_agent_dest_compare(a, m, &reply, &cause);
			if (r == 0)
				rcp_quic_send(c, m->stream,
				    RCP_MSG_COMPARE_DONE, m->f.id, reply.data,
				    reply.len, 5000);
			break;
		case RCP_MSG_PEER_GONE:
			/* A helper reads from the sources: one is lost. */
			r = 0;
			if (a->o->helper)
				source_gone(a, m);
			break;
		case RCP_MSG_SRC_PREFETCH:
			/* Only a hint: nothing to say if we are not the source. */
			r = a->o->role == RCP_ROLE_SOURCE ?
			    rcp_agent_source_prefetch(a, m, &cause) : 0;
			break;
		case RCP_MSG_SHUTDOWN:
			put_done(a, &reply, 0);
			rcp_quic_send(c, m->stream, RCP_MSG_DONE,
			    m->f.id, reply.data, reply.len, 5000);
			rcp_quic_flush(c, 5000);
			rcp_quic_msg_free(m);
			rcp_buf_release(&reply);
			return 0;
		default:
			if (m->f.id == 0) {
				/* A one-way hint of a newer master: no harm. */
				rcp_log(&a->log, RCP_LOG_DEBUG, "ignored message "
				    "type %u", m->f.type);
				r = 0;
				break;
			}
			r = RCP_ERR_PROTO;
			cause = rcp_xasprintf("unknown message type %u",
			    m->f.type);
			break;
		}
		if (r != 0 && m->f.id != 0)
			rcp_agentmsg_reply_error(c, m->stream, m->f.id,
			    r, cause);
		if (r != 0)
			rcp_log(&a->log, RCP_LOG_ERROR, "%s", cause);
		free(cause);
		cause = NULL;
		rcp_quic_msg_free(m);
	}
	rcp_buf_release(&reply);
	fprintf(stderr, "rcpd (%s): lost the master: %s\n",
	    role_name(a->o->role), rcp_quic_conn_error(c) != NULL ?
	    rcp_quic_conn_error(c) : "stopped");
	return 3;
}

void
rcp_agent_opts_init(struct rcp_agent_opts *o)
{
	memset(o, 0, sizeof(*o));
	rcp_quic_config_init(&o->quic);
	o->in_fd = 0;
	o->out_fd = 1;
	o->startup_timeout_ms = 30000;
	o->verbosity = RCP_LOG_INFO;
}

/* Connects to the master and says hello.  0 or error with *cause. */
static int
hello_master(struct rcp_agent *a, const struct sockaddr_storage *addr,
    socklen_t alen, const uint8_t *fp, char **cause)
{
	struct rcp_quic_conn *c;
	struct rcp_quic_msg *m = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	int r;

	if ((r = rcp_quic_connect(&a->o->quic, (const struct sockaddr *)addr,
	    alen, fp, &c, cause)) != 0)
		return r;
	/* From now on the watcher may close it; rcp_agent_run frees it. */
	(void)rcp_agent_swap_conn(a, &a->master, c);
	if ((r = rcp_quic_stream_open(c, &a->ctrl)) != 0 ||
	    (r = rcp_quic_stream_open(c, &a->logs)) != 0) {
		*cause = rcp_xstrdup("cannot open streams to the master");
		return r;
	}
	rcp_agentmsg_put_hello(&b, a->o->role, a->token);
	r = rcp_quic_send(c, a->ctrl, RCP_MSG_HELLO, 1, b.data, b.len, 5000);
	rcp_buf_release(&b);
	if (r == 0)
		r = rcp_agentmsg_await(c, 1, &m, a->o->startup_timeout_ms,
		    cause);
	rcp_quic_msg_free(m);
	return r;
}

/*
 * For tests only: RCPD_TEST_PROTO makes this agent claim another protocol
 * in its first line, as an older or newer rcpd would.
 */
static unsigned
test_proto(void)
{
	const char *v = getenv("RCPD_TEST_PROTO");
	long p;

	if (v == NULL || (p = strtol(v, NULL, 10)) <= 0 || p > 1000)
		return RCP_PROTO_VERSION;
	return (unsigned)p;
}

/*
 * For tests only: RCPD_TEST_CONNECT_DELAY_MS holds this agent back before
 * it dials the master, so a test can make the other agent connect first.
 */
static void
test_delay(void)
{
	const char *v = getenv("RCPD_TEST_CONNECT_DELAY_MS");
	struct timespec ts;
	long ms;

	if (v == NULL || (ms = strtol(v, NULL, 10)) <= 0 || ms > 10000)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/*
 * This process's start time, in clock ticks after boot (field 22 of
 * /proc/self/stat), or "0": with the pid, it names this process and no
 * later one that gets the same pid, so that the master can kill us safely
 * if we stop answering (doc/protocol.md, "Liveness").
 */
static void
proc_start(char *buf, size_t len)
{
	char stat[1024], *p;
	ssize_t n;
	int fd, field;

	snprintf(buf, len, "0");
	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0)
		return;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return;
	stat[n] = '\0';
	/* The name (field 2) may hold spaces: count from its ')'. */
	if ((p = strrchr(stat, ')')) == NULL)
		return;
	for (field = 2; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22)
		snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
}

int
rcp_agent_run(const struct rcp_agent_opts *opts)
{
	struct rcp_agent_opts o = *opts;
	struct rcp_agent a;
	struct rcp_agentline_hello hello;
	struct rcp_agentline_secrets sec;
	char *line = NULL, *cause = NULL, *out;
	int status = 1;
	size_t i, n;

	memset(&a, 0, sizeof(a));
	a.o = &o;
	a.start_ns = rcp_now_ns();
	a.logs = -1;
	pthread_mutex_init(&a.lock, NULL);
	a.log.fn = forward_log;
	a.log.arg = &a;
	a.log.level = o.verbosity;
	o.quic.log = &a.log;
	o.quic.name = role_name(o.role);
	/* Both of its connections begin with a HELLO that awaits a reply. */
	o.quic.early_open = true;
	if (o.ports.n > 0)
		o.quic.ports = &o.ports;

	if (rcp_cert_new(&a.cert, &cause) != 0)
		goto fail;
	o.quic.cert = a.cert;
	/*
	 * First our protocol, version and fingerprint, so that the master
	 * checks the version and pins us without a separate exec; then its
	 * secrets.  Both over SSH, never argv.
	 */
	memset(&hello, 0, sizeof(hello));
	hello.proto = test_proto();
	snprintf(hello.version, sizeof(hello.version), "%s", PACKAGE_VERSION);
	memcpy(hello.fp, rcp_cert_fp(a.cert), RCP_CERT_FP_LEN);
	hello.pid = (long)getpid();
	proc_start(hello.start, sizeof(hello.start));
	out = rcp_agentline_put_hello(&hello);
	if (rcp_write_full(o.out_fd, out, strlen(out)) != 0) {
		free(out);
		cause = rcp_xstrdup("cannot write to the master's channel");
		goto fail;
	}
	free(out);
	if (read_line(o.in_fd, &line, o.startup_timeout_ms, &cause) != 0)
		goto fail;
	if (rcp_agentline_get_secrets(line, &sec) != 0) {
		cause = rcp_xstrdup("malformed start-up line from the master");
		goto fail;
	}
	memcpy(a.token, sec.token, RCP_TOKEN_LEN);
	watcher_start(&a);
	/* A helper listens, as a source does, for the agent it helps. */
	if ((o.role == RCP_ROLE_SOURCE || o.helper) &&
	    rcp_agent_source_listen(&a, &sec.addr, sec.alen, &cause) != 0)
		goto fail;
	test_delay();
	if (hello_master(&a, &sec.addr, sec.alen, sec.fp, &cause) != 0)
		goto fail;
	if ((o.role == RCP_ROLE_SOURCE || o.helper) &&
	    rcp_agent_source_announce(&a) != 0) {
		cause = rcp_xstrdup("lost the master");
		goto fail;
	}
	status = serve_master(&a);
	goto out;
fail:
	fprintf(stderr, "rcpd (%s): %s\n", role_name(o.role),
	    cause != NULL ? cause : "failed");
	status = 1;
out:
	atomic_store(&a.stop, true);
	pthread_mutex_lock(&a.lock);
	if (a.peer != NULL)
		rcp_quic_close(a.peer, 0);
	for (i = 0; i < a.nmore; i++)
		rcp_quic_close(a.more[i].conn, 0);
	for (i = 0; i < a.nhelpers; i++)
		rcp_quic_close(a.helpers[i].conn, 0);
	for (i = 0; i < a.ndconns; i++)
		rcp_quic_close(a.dconns[i], 0);
	if (a.lead != NULL)
		rcp_quic_close(a.lead, 0);
	pthread_mutex_unlock(&a.lock);
	if (a.ep != NULL && a.peer_started) {
		/* The server thread ends when its connection does. */
		pthread_join(a.peer_thread, NULL);
	}
	/* Those the accepting thread took in, now that it is joined. */
	pthread_mutex_lock(&a.lock);
	for (i = 0; i < a.ndconns; i++)
		rcp_quic_close(a.dconns[i], 0);
	pthread_mutex_unlock(&a.lock);
	for (i = 0; i < a.ndconns; i++)
		if (a.dstarted[i])
			pthread_join(a.dthreads[i], NULL);
	/* A source's peer is the first of them: freed with them below. */
	if (a.ndconns > 0)
		(void)rcp_agent_swap_conn(&a, &a.peer, NULL);
	/* Out of the watcher's sight (NULL) before they are freed. */
	rcp_quic_conn_free(rcp_agent_swap_conn(&a, &a.master, NULL));
	rcp_srcclient_free(a.sr);	/* after the close: its reader ends */
	for (i = 0; i < a.nmore; i++) {
		rcp_srcclient_free(a.more[i].sr);
		free(a.more[i].host);
		free(a.more[i].version);
	}
	for (i = 0; i < a.nhelpers; i++) {
		rcp_srcclient_free(a.helpers[i].sr);
		rcp_quic_conn_free(a.helpers[i].conn);
		free(a.helpers[i].host);
		free(a.helpers[i].version);
	}
	for (i = 0; i < a.ndconns; i++)
		rcp_quic_conn_free(a.dconns[i]);
	rcp_quic_conn_free(rcp_agent_swap_conn(&a, &a.lead, NULL));
	free(a.src_host);
	free(a.src_version);
	rcp_srccache_free(atomic_load(&a.cache));	/* after its server */
	rcp_quic_conn_free(rcp_agent_swap_conn(&a, &a.peer, NULL));
	pthread_mutex_lock(&a.lock);
	n = a.nmore;
	a.nmore = 0;
	pthread_mutex_unlock(&a.lock);
	for (i = 0; i < n; i++)
		rcp_quic_conn_free(a.more[i].conn);
	rcp_quic_ep_free(a.ep);
	/* Last: until here it ends a cleanup that hangs without the master. */
	watcher_stop(&a);
	pthread_mutex_destroy(&a.lock);
	rcp_cert_free(a.cert);
	free(line);
	free(cause);
	return status;
}
