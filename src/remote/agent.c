/*
 * agent.c: the rcpd runtime.  One thread talks to the master; a source rcpd
 * has another serving the destination rcpd; a watcher thread turns EOF on
 * stdin (the master is gone) into a prompt exit.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "engine/progress.h"
#include "fs/filter.h"
#include "fs/fsops.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agent.h"
#include "remote/copywire.h"
#include "remote/srccache.h"
#include "remote/srcremote.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* Engine workers of a remote copy by default: most of them wait on RTTs. */
#define RCP_AGENT_REMOTE_WORKERS 16
/* Threads serving the destination's reads on the source. */
#define RCP_AGENT_SERVE_THREADS 8

/* How long rcpd lingers once the master is gone before it _exits. */
#define ORPHAN_GRACE_MS 1500

struct agent {
	const struct rcp_agent_opts *o;
	struct rcp_cert	*cert;
	struct rcp_quic_conn	*master;	/* control connection */
	int64_t			 ctrl;		/* request stream */
	int64_t			 logs;		/* our log/progress stream */
	uint8_t			 token[RCP_TOKEN_LEN];
	struct rcp_quic_ep	*ep;		/* source: for the destination */
	struct rcp_quic_conn	*peer;		/* the other agent */
	struct rcp_srcremote	*sr;		/* destination: reads the source
						 * for every copy of the run */
	struct rcp_srccache *_Atomic cache;	/* source: the read-ahead */
	pthread_t		 peer_thread;
	bool			 peer_started;
	atomic_bool		 stop;
	struct rcp_copy *_Atomic copy;		/* destination: the running copy */
	uint64_t		 start_ns;
	struct rcp_log		 log;		/* forwards to the master */
	pthread_mutex_t		 log_lock;
};

static const char *
role_name(int role)
{
	return role == RCP_ROLE_SOURCE ? "source" : "destination";
}

/* Log records go to the master (tagged there) and, failing that, stderr. */
static void
forward_log(void *arg, int level, const char *msg)
{
	struct agent *a = arg;
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_wire_put_u8(&b, (uint8_t)(level + 1));
	rcp_wire_put_str(&b, msg);
	pthread_mutex_lock(&a->log_lock);
	if (a->master == NULL || rcp_quic_send(a->master, a->logs, RCP_MSG_LOG,
	    0, b.data, b.len, 1000) != 0)
		fprintf(stderr, "rcpd (%s): %s: %s\n", role_name(a->o->role),
		    rcp_log_level_name(level), msg);
	pthread_mutex_unlock(&a->log_lock);
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

static int
hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t i;
	unsigned v;

	if (strlen(hex) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* Parses "RCP1 master=ADDR fp=HEX token=HEX". */
static int
parse_secrets(char *line, struct sockaddr_storage *addr, socklen_t *alen,
    uint8_t *fp, uint8_t *token, char **cause)
{
	char *save = NULL, *w;
	int have = 0;

	w = strtok_r(line, " ", &save);
	if (w == NULL || strcmp(w, RCP_AGENT_SECRETS_TAG) != 0)
		goto bad;
	while ((w = strtok_r(NULL, " ", &save)) != NULL) {
		if (strncmp(w, "master=", 7) == 0 &&
		    rcp_udp_addr_parse(w + 7, addr, alen) == 0)
			have |= 1;
		else if (strncmp(w, "fp=", 3) == 0 &&
		    rcp_cert_fp_parse(w + 3, fp) == 0)
			have |= 2;
		else if (strncmp(w, "token=", 6) == 0 &&
		    hex_decode(w + 6, token, RCP_TOKEN_LEN) == 0)
			have |= 4;
		/* Unknown words are for newer agents: ignored. */
	}
	if (have == 7)
		return 0;
bad:
	*cause = rcp_xstrdup("malformed start-up line from the master");
	return RCP_ERR_PROTO;
}

/* The master is gone when our stdin ends: leave promptly. */
static void *
stdin_watch(void *arg)
{
	struct agent *a = arg;
	char buf[256];
	struct timespec ts = { 0, 50000000 };
	uint64_t end;
	ssize_t n;

	for (;;) {
		n = read(a->o->in_fd, buf, sizeof(buf));
		if (n > 0 || (n < 0 && errno == EINTR))
			continue;
		break;
	}
	if (atomic_load(&a->stop))
		return NULL;
	fprintf(stderr, "rcpd (%s): the master is gone (its SSH channel "
	    "closed); stopping\n", role_name(a->o->role));
	atomic_store(&a->stop, true);
	if (atomic_load(&a->copy) != NULL)
		rcp_copy_cancel(atomic_load(&a->copy));
	pthread_mutex_lock(&a->log_lock);
	if (a->master != NULL)
		rcp_quic_close(a->master, 1);
	if (a->peer != NULL)
		rcp_quic_close(a->peer, 1);
	pthread_mutex_unlock(&a->log_lock);
	end = rcp_now_ns() + ORPHAN_GRACE_MS * 1000000ull;
	while (rcp_now_ns() < end)
		nanosleep(&ts, NULL);
	_exit(3);
}

/* --- requests ------------------------------------------------------------ */

static int
reply_error(struct rcp_quic_conn *c, int64_t stream, uint32_t id, int code,
    const char *msg)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int r;

	rcp_wire_put_u32(&b, (uint32_t)-code);
	rcp_wire_put_str(&b, msg);
	r = rcp_quic_send(c, stream, RCP_MSG_ERROR, id, b.data, b.len, 5000);
	rcp_buf_release(&b);
	return r;
}

/* Waits for a reply with the given id on c, skipping nothing else. */
static int
await_reply(struct rcp_quic_conn *c, uint32_t id, struct rcp_quic_msg **out,
    int timeout_ms, char **cause)
{
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;
	uint32_t code;
	char *text = NULL;
	int r;

	for (;;) {
		if ((r = rcp_quic_recv(c, &m, timeout_ms)) != 0) {
			*cause = rcp_xasprintf("no reply: %s",
			    rcp_quic_conn_error(c) != NULL ?
			    rcp_quic_conn_error(c) : "timed out");
			return r;
		}
		if (!m->fin && m->f.id == id)
			break;
		rcp_quic_msg_free(m);
	}
	if (m->f.type == RCP_MSG_ERROR) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &code) != 0 ||
		    rcp_wire_get_str(&cur, &text, RCP_PROTO_MAX_TEXT) != 0)
			text = rcp_xstrdup("malformed error reply");
		*cause = text;
		rcp_quic_msg_free(m);
		return RCP_ERR_PROTO;
	}
	*out = m;
	return 0;
}

static void
put_hello(struct rcp_buf *b, int role, const uint8_t *token)
{
	rcp_wire_put_u32(b, RCP_PROTO_VERSION);
	rcp_wire_put_u8(b, (uint8_t)role);
	rcp_wire_put_bytes(b, token, RCP_TOKEN_LEN);
}

/* Checks a HELLO body: version and token.  0, or an error with *cause. */
static int
check_hello(const struct rcp_wire_frame *f, const uint8_t *token, int *role,
    char **cause)
{
	struct rcp_wire_cursor c;
	const uint8_t *tok;
	uint32_t version;
	uint8_t r;
	size_t n;

	rcp_wire_cursor_init(&c, f->body, f->len);
	if (f->type != RCP_MSG_HELLO || rcp_wire_get_u32(&c, &version) != 0 ||
	    rcp_wire_get_u8(&c, &r) != 0 ||
	    rcp_wire_get_bytes(&c, &tok, &n, RCP_TOKEN_LEN) != 0) {
		*cause = rcp_xstrdup("malformed hello");
		return RCP_ERR_PROTO;
	}
	if (version != RCP_PROTO_VERSION) {
		*cause = rcp_xasprintf("peer speaks protocol %u, we speak %u",
		    version, RCP_PROTO_VERSION);
		return RCP_ERR_VERSION;
	}
	/* Constant time: the token is a secret. */
	if (n != RCP_TOKEN_LEN || gnutls_memcmp(tok, token, n) != 0) {
		*cause = rcp_xstrdup("hello with a wrong token");
		return RCP_ERR_AUTH;
	}
	*role = r;
	return 0;
}

/* --- the source serves the destination ---------------------------------- */

static void
serve_echo(struct rcp_quic_conn *c, struct rcp_quic_msg *m)
{
	rcp_quic_send(c, m->stream, RCP_MSG_ECHO_OK, m->f.id, m->f.body,
	    m->f.len, 10000);
}

static void *
peer_serve(void *arg)
{
	struct agent *a = arg;
	struct rcp_quic_conn *c = NULL;
	struct rcp_quic_msg *m;
	char *cause = NULL;
	uint64_t end = rcp_now_ns() +
	    (uint64_t)a->o->startup_timeout_ms * 1000000u;
	struct rcp_srcserve *srv = NULL;
	int role, r;

	/* In slices, so that a shutdown does not wait for the timeout. */
	while ((r = rcp_quic_accept(a->ep, 200, &c, &cause)) == RCP_ERR_TIMEOUT &&
	    !atomic_load(&a->stop) && rcp_now_ns() < end) {
		free(cause);
		cause = NULL;
	}
	if (r != 0) {
		if (!atomic_load(&a->stop))
			rcp_log(&a->log, RCP_LOG_ERROR, "the destination agent "
			    "did not connect: %s", cause);
		free(cause);
		return NULL;
	}
	/* Its first message must be a HELLO with the run's token. */
	if (rcp_quic_recv(c, &m, a->o->startup_timeout_ms) != 0) {
		rcp_log(&a->log, RCP_LOG_ERROR, "destination agent: %s",
		    rcp_quic_conn_error(c) ? rcp_quic_conn_error(c) : "no hello");
		rcp_quic_conn_free(c);
		return NULL;
	}
	if ((r = check_hello(&m->f, a->token, &role, &cause)) != 0 ||
	    role != RCP_ROLE_DESTINATION) {
		rcp_log(&a->log, RCP_LOG_ERROR, "destination agent refused: %s",
		    cause != NULL ? cause : "wrong role");
		reply_error(c, m->stream, m->f.id, r ? r : RCP_ERR_PROTO,
		    cause != NULL ? cause : "wrong role");
		free(cause);
		rcp_quic_msg_free(m);
		rcp_quic_conn_free(c);
		return NULL;
	}
	{
		struct rcp_buf b = RCP_BUF_INIT;
		rcp_wire_put_u32(&b, RCP_PROTO_VERSION);
		rcp_quic_send(c, m->stream, RCP_MSG_HELLO_OK, m->f.id, b.data,
		    b.len, 5000);
		rcp_buf_release(&b);
	}
	rcp_quic_msg_free(m);
	pthread_mutex_lock(&a->log_lock);
	a->peer = c;
	pthread_mutex_unlock(&a->log_lock);
	rcp_log(&a->log, RCP_LOG_INFO, "destination agent connected");
	srv = rcp_srcserve_new(RCP_AGENT_SERVE_THREADS, atomic_load(&a->cache),
	    &a->log);
	while (!atomic_load(&a->stop) && rcp_quic_recv(c, &m, -1) == 0) {
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		if (rcp_srcserve_take(srv, c, m))
			continue;	/* answered by a server thread */
		switch (m->f.type) {
		case RCP_MSG_ECHO:
			serve_echo(c, m);
			break;
		default:
			if (m->f.id != 0)
				reply_error(c, m->stream, m->f.id, RCP_ERR_PROTO,
				    "unknown message type");
			break;
		}
		rcp_quic_msg_free(m);
	}
	rcp_srcserve_free(srv);
	return NULL;
}

static int
start_listening(struct agent *a, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *conn_env;
	char ip[INET6_ADDRSTRLEN + 2], *spec;
	int r;

	/*
	 * Listen where the master reached this host over SSH (the server
	 * side of $SSH_CONNECTION), unless told otherwise.
	 */
	ip[0] = '\0';
	if (a->o->bind_addr != NULL)
		snprintf(ip, sizeof(ip), "%s", a->o->bind_addr);
	else if ((conn_env = getenv("SSH_CONNECTION")) != NULL)
		sscanf(conn_env, "%*s %*s %45s", ip);
	if (ip[0] == '\0')
		snprintf(ip, sizeof(ip), "0.0.0.0");
	spec = rcp_xasprintf(strchr(ip, ':') != NULL ? "[%s]:1" : "%s:1", ip);
	r = rcp_udp_addr_parse(spec, &ss, &len);
	free(spec);
	if (r != 0) {
		*cause = rcp_xasprintf("bad address to listen on: '%s'", ip);
		return RCP_ERR_INVAL;
	}
	return rcp_quic_listen(&a->o->quic, (struct sockaddr *)&ss, len,
	    &a->ep, cause);
}

/* --- handling the master's requests -------------------------------------- */

static int
send_listening(struct agent *a)
{
	struct sockaddr_storage ss;
	struct rcp_buf b = RCP_BUF_INIT;
	socklen_t len;
	char *addr;
	int r;

	rcp_quic_ep_addr(a->ep, &ss, &len);
	addr = rcp_udp_addr_str((struct sockaddr *)&ss);
	rcp_wire_put_str(&b, addr);
	rcp_wire_put_bytes(&b, rcp_cert_fp(a->cert), RCP_CERT_FP_LEN);
	r = rcp_quic_send(a->master, a->ctrl, RCP_MSG_LISTENING, 0, b.data,
	    b.len, 5000);
	rcp_log(&a->log, RCP_LOG_DEBUG, "listening for the destination on %s",
	    addr);
	free(addr);
	rcp_buf_release(&b);
	return r;
}

/* PEER: the source allows the destination; the destination connects. */
static int
handle_peer(struct agent *a, const struct rcp_quic_msg *m, char **cause)
{
	struct rcp_wire_cursor cur;
	struct sockaddr_storage ss;
	struct rcp_quic_msg *rep = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *fp;
	socklen_t len;
	char *addr = NULL;
	size_t n;
	int64_t sid;
	int r;

	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_str(&cur, &addr, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_bytes(&cur, &fp, &n, RCP_CERT_FP_LEN) != 0 ||
	    n != RCP_CERT_FP_LEN) {
		free(addr);
		*cause = rcp_xstrdup("malformed peer message");
		return RCP_ERR_PROTO;
	}
	if (a->o->role == RCP_ROLE_SOURCE) {
		rcp_quic_ep_allow(a->ep, fp);
		free(addr);
		if (pthread_create(&a->peer_thread, NULL, peer_serve, a) != 0) {
			*cause = rcp_xstrdup("cannot start a thread");
			return RCP_ERR_INTERNAL;
		}
		a->peer_started = true;
		return 0;
	}
	if (rcp_udp_addr_parse(addr, &ss, &len) != 0) {
		*cause = rcp_xasprintf("bad source address '%s'", addr);
		free(addr);
		return RCP_ERR_PROTO;
	}
	r = rcp_quic_connect(&a->o->quic, (struct sockaddr *)&ss, len, fp,
	    &a->peer, cause);
	if (r != 0) {
		char *c2 = rcp_xasprintf("cannot reach the source agent at %s: %s",
		    addr, *cause);
		free(*cause);
		*cause = c2;
		free(addr);
		return r;
	}
	free(addr);
	if ((r = rcp_quic_stream_open(a->peer, &sid)) != 0) {
		*cause = rcp_xstrdup("cannot open a stream to the source");
		return r;
	}
	put_hello(&b, RCP_ROLE_DESTINATION, a->token);
	r = rcp_quic_send(a->peer, sid, RCP_MSG_HELLO, 1, b.data, b.len, 5000);
	rcp_buf_release(&b);
	if (r == 0)
		r = await_reply(a->peer, 1, &rep, a->o->startup_timeout_ms, cause);
	if (r != 0)
		return r;
	rcp_quic_msg_free(rep);
	rcp_log(&a->log, RCP_LOG_INFO, "connected to the source agent");
	return 0;
}

/* SELFTEST: echo count messages carrying name through the source. */
static int
handle_selftest(struct agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause)
{
	struct rcp_wire_cursor cur;
	struct rcp_quic_msg *rep;
	const uint8_t *name;
	uint64_t bytes = 0;
	uint32_t count, i;
	size_t n;
	int64_t sid;
	int r;

	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_u32(&cur, &count) != 0 ||
	    rcp_wire_get_bytes(&cur, &name, &n, RCP_PROTO_MAX_NAME) != 0) {
		*cause = rcp_xstrdup("malformed selftest");
		return RCP_ERR_PROTO;
	}
	if (a->peer == NULL) {
		*cause = rcp_xstrdup("not connected to the source agent");
		return RCP_ERR_PROTO;
	}
	if ((r = rcp_quic_stream_open(a->peer, &sid)) != 0) {
		*cause = rcp_xstrdup("cannot open a stream to the source");
		return r;
	}
	for (i = 0; i < count; i++) {
		if ((r = rcp_quic_send(a->peer, sid, RCP_MSG_ECHO, i + 100,
		    name, n, 10000)) != 0 ||
		    (r = await_reply(a->peer, i + 100, &rep, 10000, cause)) != 0)
			return r;
		if (rep->f.len != n || memcmp(rep->f.body, name, n) != 0) {
			rcp_quic_msg_free(rep);
			*cause = rcp_xasprintf("echo %u came back changed", i);
			return RCP_ERR_PROTO;
		}
		bytes += rep->f.len;
		rcp_quic_msg_free(rep);
	}
	rcp_log(&a->log, RCP_LOG_INFO, "selftest: %u echoes through the "
	    "source agent came back intact", count);
	rcp_wire_put_u32(reply, count);
	rcp_wire_put_u64(reply, bytes);
	return 0;
}

struct progress_pump {
	struct agent	*a;
	struct rcp_copy	*copy;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	bool		 done;		/* requires lock */
	char		*lost;		/* why the source is gone; requires lock */
};

static void
send_progress(struct agent *a, struct rcp_copy *copy)
{
	struct rcp_copy_stats st;
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_copy_stats(copy, &st);
	rcp_copywire_put_stats(&b, &st);
	pthread_mutex_lock(&a->log_lock);
	if (a->master != NULL)
		rcp_quic_send(a->master, a->logs, RCP_MSG_PROGRESS, 0, b.data,
		    b.len, 1000);
	pthread_mutex_unlock(&a->log_lock);
	rcp_buf_release(&b);
}

/* Sends the copy's counters to the master twice a second. */
static void *
progress_main(void *arg)
{
	struct progress_pump *p = arg;
	struct timespec ts;

	pthread_mutex_lock(&p->lock);
	while (!p->done) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 500000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->cond, &p->lock, &ts);
		/* Without its source a copy can only pile up errors: stop. */
		if (!p->done && p->lost == NULL &&
		    rcp_quic_conn_error(p->a->peer) != NULL) {
			p->lost = rcp_xasprintf("lost the source agent: %s",
			    rcp_quic_conn_error(p->a->peer));
			rcp_log(&p->a->log, RCP_LOG_ERROR, "%s; stopping the "
			    "copy", p->lost);
			rcp_copy_cancel(p->copy);
		}
		if (!p->done)
			send_progress(p->a, p->copy);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* COPY: run the engine here, reading the source through its agent. */
static int
handle_copy(struct agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause)
{
	struct rcp_wire_cursor cur;
	struct rcp_copy_opts o;
	struct rcp_copy_stats st;
	struct rcp_filter *filter = NULL;
	struct rcp_srcremote *sr;
	struct progress_pump pump;
	struct rcp_copy *copy;
	pthread_t th;
	char **srcs = NULL, *dst = NULL, *dst2, *why = NULL;
	uint32_t n = 0, i;
	bool pumping = false;
	int r;

	if (a->peer == NULL) {
		*cause = rcp_xstrdup("not connected to the source agent");
		return RCP_ERR_PROTO;
	}
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_u32(&cur, &n) != 0 || n == 0 ||
	    n > RCP_PROTO_MAX_PATHS) {
		*cause = rcp_xstrdup("malformed copy request");
		return RCP_ERR_PROTO;
	}
	srcs = rcp_xcalloc(n, sizeof(char *));
	for (i = 0; i < n; i++)
		if (rcp_wire_get_str(&cur, &srcs[i], RCP_PROTO_MAX_NAME) != 0)
			break;
	if (i < n || rcp_wire_get_str(&cur, &dst, RCP_PROTO_MAX_NAME) != 0 ||
	    (r = rcp_copywire_get_opts(&cur, &o, &filter, cause)) != 0) {
		if (*cause == NULL)
			*cause = rcp_xstrdup("malformed copy request");
		r = RCP_ERR_PROTO;
		goto out;
	}
	/*
	 * Remote reads wait on the network, not the CPU: keep many in
	 * flight unless told otherwise.
	 */
	if (o.max_workers == 0)
		o.max_workers = RCP_AGENT_REMOTE_WORKERS;
	dst2 = rcp_copy_expand_home(dst, getenv("HOME"));
	free(dst);
	dst = dst2;
	/* One reader of the source serves each copy of this run. */
	if (a->sr == NULL)
		a->sr = rcp_srcremote_new(a->peer);
	sr = a->sr;
	copy = rcp_copy_new(&o, &a->log);
	rcp_copy_set_source(copy, &rcp_src_remote, sr);
	atomic_store(&a->copy, copy);
	memset(&pump, 0, sizeof(pump));
	pump.a = a;
	pump.copy = copy;
	pthread_mutex_init(&pump.lock, NULL);
	pthread_cond_init(&pump.cond, NULL);
	pumping = pthread_create(&th, NULL, progress_main, &pump) == 0;
	r = rcp_copy_run(copy, (const char *const *)srcs, n, dst, &why);
	if (pumping) {
		pthread_mutex_lock(&pump.lock);
		pump.done = true;
		pthread_cond_broadcast(&pump.cond);
		pthread_mutex_unlock(&pump.lock);
		pthread_join(th, NULL);
	}
	send_progress(a, copy);
	rcp_copy_stats(copy, &st);
	if (pump.lost != NULL) {
		free(why);
		why = pump.lost;
		pump.lost = NULL;
		r = RCP_ERR_IO;
	}
	atomic_store(&a->copy, NULL);
	rcp_copy_free(copy);
	pthread_cond_destroy(&pump.cond);
	pthread_mutex_destroy(&pump.lock);
	rcp_wire_put_u32(reply, (uint32_t)r);
	rcp_wire_put_str(reply, why != NULL ? why : "");
	rcp_copywire_put_stats(reply, &st);
	r = 0;
out:
	for (i = 0; i < n && srcs != NULL; i++)
		free(srcs[i]);
	free(srcs);
	free(dst);
	free(why);
	rcp_filter_free(filter);
	return r;
}

static void
put_done(struct agent *a, struct rcp_buf *b, int status)
{
	struct rcp_runstats rs;

	rcp_runstats_now(&rs, a->start_ns);
	rcp_wire_put_u32(b, (uint32_t)status);
	rcp_wire_put_u64(b, rs.wall_ns);
	rcp_wire_put_u64(b, rs.cpu_ns);
	rcp_wire_put_u64(b, rs.peak_rss);
}

/* The master's requests, until SHUTDOWN.  Returns the exit status. */
/*
 * SRC_PREFETCH (source, one-way, once a run): read the trees ahead while
 * the destination is not there yet (srccache.h).
 */
static int
handle_prefetch(struct agent *a, const struct rcp_quic_msg *m, char **cause)
{
	struct rcp_wire_cursor cur;
	char **paths = NULL;
	uint32_t n, i;
	int r = 0;

	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (a->o->role != RCP_ROLE_SOURCE || atomic_load(&a->cache) != NULL)
		return 0;		/* only a hint: nothing to say */
	if (rcp_wire_get_u32(&cur, &n) != 0 || n > RCP_PROTO_MAX_PATHS) {
		*cause = rcp_xstrdup("malformed read-ahead request");
		return RCP_ERR_PROTO;
	}
	paths = rcp_xcalloc(n ? n : 1, sizeof(char *));
	for (i = 0; i < n && r == 0; i++) {
		if (rcp_wire_get_str(&cur, &paths[i], RCP_PROTO_MAX_NAME) != 0) {
			*cause = rcp_xstrdup("malformed read-ahead request");
			r = RCP_ERR_PROTO;
		}
	}
	if (r == 0)
		atomic_store(&a->cache, rcp_srccache_new(paths, n,
		    RCP_SRCCACHE_CAP, &a->log));
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return r;
}

static int
serve_master(struct agent *a)
{
	struct rcp_quic_msg *m;
	struct rcp_buf reply = RCP_BUF_INIT;
	char *cause = NULL;
	int r;

	while (!atomic_load(&a->stop)) {
		if (rcp_quic_recv(a->master, &m, 1000) != 0) {
			if (rcp_quic_conn_error(a->master) != NULL)
				break;
			continue;
		}
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		rcp_buf_reset(&reply);
		switch (m->f.type) {
		case RCP_MSG_PEER:
			r = handle_peer(a, m, &cause);
			if (r == 0)
				rcp_quic_send(a->master, m->stream,
				    RCP_MSG_PEER_OK, m->f.id, NULL, 0, 5000);
			break;
		case RCP_MSG_SELFTEST:
			r = handle_selftest(a, m, &reply, &cause);
			if (r == 0)
				rcp_quic_send(a->master, m->stream,
				    RCP_MSG_SELFTEST_OK, m->f.id, reply.data,
				    reply.len, 5000);
			break;
		case RCP_MSG_ECHO:
			r = 0;
			serve_echo(a->master, m);
			break;
		case RCP_MSG_COPY:
			if (a->o->role != RCP_ROLE_DESTINATION) {
				r = RCP_ERR_PROTO;
				cause = rcp_xstrdup("copy goes to the "
				    "destination agent");
				break;
			}
			r = handle_copy(a, m, &reply, &cause);
			if (r == 0)
				rcp_quic_send(a->master, m->stream,
				    RCP_MSG_COPY_DONE, m->f.id, reply.data,
				    reply.len, 5000);
			break;
		case RCP_MSG_SRC_PREFETCH:
			r = handle_prefetch(a, m, &cause);
			break;
		case RCP_MSG_SHUTDOWN:
			put_done(a, &reply, 0);
			rcp_quic_send(a->master, m->stream, RCP_MSG_DONE,
			    m->f.id, reply.data, reply.len, 5000);
			rcp_quic_flush(a->master, 5000);
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
			reply_error(a->master, m->stream, m->f.id, r, cause);
		if (r != 0)
			rcp_log(&a->log, RCP_LOG_ERROR, "%s", cause);
		free(cause);
		cause = NULL;
		rcp_quic_msg_free(m);
	}
	rcp_buf_release(&reply);
	fprintf(stderr, "rcpd (%s): lost the master: %s\n",
	    role_name(a->o->role), rcp_quic_conn_error(a->master) != NULL ?
	    rcp_quic_conn_error(a->master) : "stopped");
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
hello_master(struct agent *a, const struct sockaddr_storage *addr,
    socklen_t alen, const uint8_t *fp, char **cause)
{
	struct rcp_quic_msg *m = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	int r;

	if ((r = rcp_quic_connect(&a->o->quic, (const struct sockaddr *)addr,
	    alen, fp, &a->master, cause)) != 0)
		return r;
	if ((r = rcp_quic_stream_open(a->master, &a->ctrl)) != 0 ||
	    (r = rcp_quic_stream_open(a->master, &a->logs)) != 0) {
		*cause = rcp_xstrdup("cannot open streams to the master");
		return r;
	}
	put_hello(&b, a->o->role, a->token);
	r = rcp_quic_send(a->master, a->ctrl, RCP_MSG_HELLO, 1, b.data, b.len,
	    5000);
	rcp_buf_release(&b);
	if (r == 0)
		r = await_reply(a->master, 1, &m, a->o->startup_timeout_ms,
		    cause);
	rcp_quic_msg_free(m);
	return r;
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

int
rcp_agent_run(const struct rcp_agent_opts *opts)
{
	struct rcp_agent_opts o = *opts;
	struct agent a;
	struct sockaddr_storage addr;
	socklen_t alen = 0;
	uint8_t fp[RCP_CERT_FP_LEN];
	char hex[RCP_CERT_FP_HEXLEN + 1], *line = NULL, *cause = NULL, *out;
	pthread_t watcher;
	int status = 1;

	memset(&a, 0, sizeof(a));
	a.o = &o;
	a.start_ns = rcp_now_ns();
	a.logs = -1;
	pthread_mutex_init(&a.log_lock, NULL);
	a.log.fn = forward_log;
	a.log.arg = &a;
	a.log.level = o.verbosity;
	o.quic.log = &a.log;
	o.quic.name = role_name(o.role);
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
	rcp_cert_fp_hex(rcp_cert_fp(a.cert), hex);
	out = rcp_xasprintf("%s proto=%d version=%s fp=%s\n",
	    RCP_AGENT_HELLO_TAG, RCP_PROTO_VERSION, PACKAGE_VERSION, hex);
	if (rcp_fs_write_full(o.out_fd, out, strlen(out)) != 0) {
		free(out);
		cause = rcp_xstrdup("cannot write to the master's channel");
		goto fail;
	}
	free(out);
	if (read_line(o.in_fd, &line, o.startup_timeout_ms, &cause) != 0 ||
	    parse_secrets(line, &addr, &alen, fp, a.token, &cause) != 0)
		goto fail;
	if (pthread_create(&watcher, NULL, stdin_watch, &a) == 0)
		pthread_detach(watcher);
	if (o.role == RCP_ROLE_SOURCE && start_listening(&a, &cause) != 0)
		goto fail;
	test_delay();
	if (hello_master(&a, &addr, alen, fp, &cause) != 0)
		goto fail;
	if (o.role == RCP_ROLE_SOURCE && send_listening(&a) != 0) {
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
	pthread_mutex_lock(&a.log_lock);
	if (a.peer != NULL)
		rcp_quic_close(a.peer, 0);
	pthread_mutex_unlock(&a.log_lock);
	if (a.ep != NULL && a.peer_started) {
		/* The server thread ends when its connection does. */
		pthread_join(a.peer_thread, NULL);
	}
	pthread_mutex_lock(&a.log_lock);
	rcp_quic_conn_free(a.master);
	a.master = NULL;
	pthread_mutex_unlock(&a.log_lock);
	rcp_srcremote_free(a.sr);	/* after the close: its reader ends */
	rcp_srccache_free(atomic_load(&a.cache));	/* after its server */
	rcp_quic_conn_free(a.peer);
	rcp_quic_ep_free(a.ep);
	rcp_cert_free(a.cert);
	free(line);
	free(cause);
	return status;
}
