/*
 * agent-dest.c: rcpd as the destination.  It connects to the source
 * agent and runs the ordinary copy engine here with the remote source as
 * its source (srcclient.h), sending the copy's progress to the master
 * and stopping it when the source is lost.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/socket.h>

#include "base/error.h"
#include "base/log.h"
#include "base/ticker.h"
#include "base/util.h"
#include "engine/copy.h"
#include "net/proto.h"
#include "net/udp.h"
#include "net/wire.h"
#include "remote/agent-int.h"
#include "remote/agent.h"
#include "remote/agentmsg.h"
#include "remote/copywire.h"
#include "remote/dstpool.h"
#include "remote/srcclient.h"
#include "remote/srcmux.h"

#include "base/banned.h"

/* Engine workers of a remote copy by default: most of them wait on RTTs. */
#define RCP_AGENT_REMOTE_WORKERS 32
/*
 * A helper with ranges in flight that answers none for this long is stuck
 * (its disk, or its sources): dropped, its ranges copied here.  A range is
 * at most a chunk, and even a 64 MiB chunk over a 200 Mbit/s link takes
 * under 3 s.
 */
#define RCP_AGENT_HELPER_QUIET_S 60
#define RCP_AGENT_HELPER_QUIET_STR "60"
/* And with destination helpers: as many again for the ranges they copy. */
#define RCP_AGENT_HELPED_WORKERS 64
/*
 * Chunks of a copy read through several source agents, unless told
 * otherwise: a 512 MiB file through 4 sources capped at 25 MB/s each took
 * 7.8 s in 16 MiB chunks (the last ones each on one host) and 6.5 s in
 * 4 MiB ones.
 */
#define RCP_AGENT_MUX_CHUNK (4u << 20)

/* Says HELLO on peer, a source or a helper (what), and awaits the reply. */
static int
hello_peer(struct rcp_agent *a, struct rcp_quic_conn *peer, const char *what,
    char **cause)
{
	struct rcp_quic_msg *rep = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	int64_t sid;
	int r;

	if ((r = rcp_quic_stream_open(peer, &sid)) != 0) {
		*cause = rcp_xasprintf("cannot open a stream to the %s", what);
		return r;
	}
	rcp_agentmsg_put_hello(&b, RCP_ROLE_DESTINATION, a->token);
	r = rcp_quic_send(peer, sid, RCP_MSG_HELLO, 1, b.data, b.len, 5000);
	rcp_buf_release(&b);
	if (r == 0)
		r = rcp_agentmsg_await(peer, 1, &rep,
		    a->o->startup_timeout_ms, cause);
	if (r != 0)
		return r;
	rcp_quic_msg_free(rep);
	rcp_log(&a->log, RCP_LOG_INFO, "connected to the %s", what);
	return 0;
}

/* Connects to the agent at addr (what it is, for messages), pinning fp. */
static int
dial(struct rcp_agent *a, const char *addr, const uint8_t *fp,
    const char *what, struct rcp_quic_conn **out, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *c2;
	int r;

	if (rcp_udp_addr_parse(addr, &ss, &len) != 0) {
		*cause = rcp_xasprintf("bad %s address '%s'", what, addr);
		return RCP_ERR_PROTO;
	}
	r = rcp_quic_connect(&a->o->quic, (struct sockaddr *)&ss, len, fp,
	    out, cause);
	if (r != 0) {
		c2 = rcp_xasprintf("cannot reach the %s at %s: %s", what,
		    addr, *cause);
		free(*cause);
		*cause = c2;
	}
	return r;
}

int
rcp_agent_dest_peer(struct rcp_agent *a, bool more, const char *addr,
    const uint8_t *fp, char **cause)
{
	struct rcp_quic_conn *peer;
	int r;

	if ((r = dial(a, addr, fp, "source agent", &peer, cause)) != 0)
		return r;
	/* The watcher may close it from now on; rcp_agent_run frees it. */
	if (more) {
		pthread_mutex_lock(&a->lock);
		if (a->nmore == RCP_AGENT_MORE_MAX) {
			pthread_mutex_unlock(&a->lock);
			rcp_quic_close(peer, 0);
			rcp_quic_conn_free(peer);
			*cause = rcp_xasprintf("more than %d source agents",
			    RCP_AGENT_MORE_MAX + 1);
			return RCP_ERR_INVAL;
		}
		memset(&a->more[a->nmore], 0, sizeof(a->more[0]));
		a->more[a->nmore].conn = peer;
		a->nmore++;
		pthread_mutex_unlock(&a->lock);
	} else
		(void)rcp_agent_swap_conn(a, &a->peer, peer);
	return hello_peer(a, peer, "source agent", cause);
}

int
rcp_agent_dest_helper(struct rcp_agent *a, const char *addr,
    const uint8_t *fp, char *host, char *version, char **cause)
{
	struct rcp_quic_conn *peer;
	struct rcp_agent_more *h;
	int r;

	if ((r = dial(a, addr, fp, "destination helper", &peer, cause)) !=
	    0) {
		free(host);
		free(version);
		return r;
	}
	pthread_mutex_lock(&a->lock);
	if (a->nhelpers == RCP_AGENT_MORE_MAX) {
		pthread_mutex_unlock(&a->lock);
		rcp_quic_close(peer, 0);
		rcp_quic_conn_free(peer);
		free(host);
		free(version);
		*cause = rcp_xasprintf("more than %d destination agents",
		    RCP_AGENT_MORE_MAX + 1);
		return RCP_ERR_INVAL;
	}
	h = &a->helpers[a->nhelpers++];
	memset(h, 0, sizeof(*h));
	h->conn = peer;
	h->host = host;
	h->version = version;
	pthread_mutex_unlock(&a->lock);
	return hello_peer(a, peer, "destination helper", cause);
}

/* SELFTEST: echo count messages carrying name through the source. */
int
rcp_agent_dest_selftest(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause)
{
	struct rcp_quic_conn *peer;
	struct rcp_quic_msg *rep;
	const uint8_t *name;
	uint64_t bytes = 0;
	uint32_t count, i;
	size_t n;
	int64_t sid;
	int r;

	if (rcp_agentmsg_get_selftest(m->f.body, m->f.len, &count, &name,
	    &n) != 0) {
		*cause = rcp_xstrdup("malformed selftest");
		return RCP_ERR_PROTO;
	}
	if ((peer = rcp_agent_peer(a)) == NULL) {
		*cause = rcp_xstrdup("not connected to the source agent");
		return RCP_ERR_PROTO;
	}
	if ((r = rcp_quic_stream_open(peer, &sid)) != 0) {
		*cause = rcp_xstrdup("cannot open a stream to the source");
		return r;
	}
	for (i = 0; i < count; i++) {
		if ((r = rcp_quic_send(peer, sid, RCP_MSG_ECHO, i + 100,
		    name, n, 10000)) != 0 ||
		    (r = rcp_agentmsg_await(peer, i + 100, &rep, 10000,
		    cause)) != 0)
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
	rcp_agentmsg_put_selftest_ok(reply, count, bytes);
	return 0;
}

/*
 * The files a copy copied, for the master (COPY's record_files): the
 * engine's workers add them, and a batch goes as one FILES when it is
 * full, on every tick and at the end.  A worker that fills it sends it
 * itself, so a master slower than the copy slows the copy, and what waits
 * here is at most one batch.
 */
struct file_batch {
	struct rcp_agent	*a;
	struct rcp_quic_conn	*master;
	int64_t			 stream;	/* the COPY's: ahead of its
						 * reply */
	pthread_mutex_t		 lock;
	/* The batch: n paths, bytes long in all; requires lock. */
	char			*paths[RCP_PROTO_FILES_BATCH];
	size_t			 n;		/* requires lock */
	size_t			 bytes;		/* requires lock */
	uint64_t		 unsent;	/* requires lock */
	char			*why;		/* the first send that failed;
						 * requires lock */
};

/* How long a batch may wait for room on the master's stream. */
#define FILES_SEND_MS 60000

/* Sends what fb holds; requires fb->lock. */
static void
files_flush_locked(struct file_batch *fb)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t i;
	int r;

	if (fb->n == 0)
		return;
	rcp_agentmsg_put_files(&b, (const char *const *)fb->paths, fb->n);
	r = fb->master == NULL ? RCP_ERR_GONE :
	    b.len > RCP_PROTO_MAX_FRAME ? RCP_ERR_TOOBIG :
	    rcp_quic_send(fb->master, fb->stream, RCP_MSG_FILES, 0, b.data,
	    b.len, FILES_SEND_MS);
	if (r != 0) {
		fb->unsent += fb->n;
		if (fb->why == NULL)
			fb->why = rcp_xstrdup(rcp_strerror(r));
	}
	rcp_buf_release(&b);
	for (i = 0; i < fb->n; i++)
		free(fb->paths[i]);
	fb->n = 0;
	fb->bytes = 0;
}

static void
files_flush(struct file_batch *fb)
{
	pthread_mutex_lock(&fb->lock);
	files_flush_locked(fb);
	pthread_mutex_unlock(&fb->lock);
}

/* The engine's copied hook: from its workers, any number at once. */
static void
file_copied(void *arg, const char *path)
{
	struct file_batch *fb = arg;
	size_t len = strlen(path);

	pthread_mutex_lock(&fb->lock);
	if (fb->n > 0 && fb->bytes + len > RCP_PROTO_FILES_BYTES)
		files_flush_locked(fb);
	fb->paths[fb->n++] = rcp_xstrdup(path);
	fb->bytes += len;
	if (fb->n == RCP_PROTO_FILES_BATCH ||
	    fb->bytes >= RCP_PROTO_FILES_BYTES)
		files_flush_locked(fb);
	pthread_mutex_unlock(&fb->lock);
}

/* The last batch, before COPY_DONE; says if any could not be sent. */
static void
files_end(struct file_batch *fb)
{
	files_flush(fb);
	if (fb->unsent > 0)
		rcp_log(&fb->a->log, RCP_LOG_ERROR, "the master's list of "
		    "copied files lacks %llu of them: cannot send them: %s",
		    (unsigned long long)fb->unsent, fb->why);
	free(fb->why);
	pthread_mutex_destroy(&fb->lock);
}

struct progress_pump {
	struct rcp_agent *a;
	struct rcp_quic_conn *peer;	/* the source agent */
	struct rcp_srcmux *mux;		/* NULL: that one alone */
	struct rcp_quic_conn *master;	/* with a mux: for PEER_GONE */
	struct rcp_quic_conn *conns[RCP_SRCMUX_MAX];	/* the mux's */
	struct rcp_dstpool *pool;	/* the helpers, or NULL */
	struct rcp_quic_conn *hconns[RCP_DSTPOOL_MAX];	/* the pool's */
	struct rcp_copy	*copy;
	struct file_batch *files;	/* NULL: none asked for */
	char		*lost;		/* why the source is gone; the ticker's
					 * until it is stopped */
};

void
rcp_agent_send_progress(struct rcp_agent *a, const struct rcp_copy_stats *st)
{
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_copywire_put_stats(&b, st);
	pthread_mutex_lock(&a->lock);
	if (a->master != NULL)
		rcp_quic_send(a->master, a->logs, RCP_MSG_PROGRESS, 0, b.data,
		    b.len, 1000);
	pthread_mutex_unlock(&a->lock);
	rcp_buf_release(&b);
}

static void
send_progress(struct rcp_agent *a, struct rcp_copy *copy)
{
	struct rcp_copy_stats st;

	rcp_copy_stats(copy, &st);
	rcp_agent_send_progress(a, &st);
}

/* A tick, twice a second: sends the copy's counters to the master. */
static void
progress_tick(void *arg)
{
	struct progress_pump *p = arg;

	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;
	char *host;
	uint8_t role;
	size_t i;

	/*
	 * The master says nothing else while a copy runs but which source
	 * agent or helper it lost (PEER_GONE): its link to that one is cut
	 * now.
	 */
	while (p->mux != NULL && p->master != NULL &&
	    rcp_quic_recv(p->master, &m, 1) == 0) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		host = NULL;
		if (!m->fin && m->f.type == RCP_MSG_PEER_GONE &&
		    rcp_wire_get_str(&cur, &host, RCP_PROTO_MAX_NAME) == 0 &&
		    rcp_wire_get_u8(&cur, &role) == 0 &&
		    role == RCP_ROLE_DESTINATION) {
			for (i = 0; p->pool != NULL &&
			    i < rcp_dstpool_size(p->pool); i++) {
				if (strcmp(rcp_dstpool_host(p->pool, i),
				    host) != 0)
					continue;
				rcp_dstpool_lose(p->pool, i, "the master lost "
				    "it");
				rcp_quic_close(p->hconns[i], 0);
			}
		} else if (host != NULL && m->f.type == RCP_MSG_PEER_GONE) {
			for (i = 0; i < rcp_srcmux_size(p->mux); i++) {
				if (strcmp(rcp_srcmux_host(p->mux, i),
				    host) != 0 || p->conns[i] == NULL)
					continue;
				rcp_srcmux_lose(p->mux, i, "the master lost "
				    "it");
				rcp_quic_close(p->conns[i], 0);
			}
		} else if (!m->fin)
			rcp_log(&p->a->log, RCP_LOG_DEBUG, "ignored message "
			    "type %u during a copy", m->f.type);
		free(host);
		rcp_quic_msg_free(m);
	}
	/* A helper stuck on a range: as lost. */
	if (p->pool != NULL && (i = (size_t)rcp_dstpool_stuck(p->pool,
	    (uint64_t)RCP_AGENT_HELPER_QUIET_S * 1000000000u)) != (size_t)-1) {
		rcp_dstpool_lose(p->pool, i, "it answered nothing for "
		    RCP_AGENT_HELPER_QUIET_STR " s");
		rcp_quic_close(p->hconns[i], 0);
	}
	/* A helper lost: its ranges come back here (the pool's calls fail). */
	for (i = 0; p->pool != NULL && i < rcp_dstpool_size(p->pool); i++)
		if (!rcp_dstpool_lost(p->pool, i) &&
		    rcp_quic_conn_error(p->hconns[i]) != NULL)
			rcp_dstpool_lose(p->pool, i,
			    rcp_quic_conn_error(p->hconns[i]));
	/* A source agent of several lost: the others take its work. */
	for (i = 0; p->mux != NULL && i < RCP_SRCMUX_MAX; i++)
		if (p->conns[i] != NULL && !rcp_srcmux_lost(p->mux, i) &&
		    rcp_quic_conn_error(p->conns[i]) != NULL)
			rcp_srcmux_lose(p->mux, i,
			    rcp_quic_conn_error(p->conns[i]));
	if (p->mux != NULL && p->lost == NULL &&
	    rcp_srcmux_alive(p->mux) == 0) {
		p->lost = rcp_xstrdup("lost every source agent");
		rcp_log(&p->a->log, RCP_LOG_ERROR, "%s; stopping the copy",
		    p->lost);
		rcp_copy_cancel(p->copy);
	}
	/* Without its source a copy can only pile up errors: stop. */
	if (p->mux == NULL && p->lost == NULL &&
	    rcp_quic_conn_error(p->peer) != NULL) {
		p->lost = rcp_xasprintf("lost the source agent: %s",
		    rcp_quic_conn_error(p->peer));
		rcp_log(&p->a->log, RCP_LOG_ERROR, "%s; stopping the copy",
		    p->lost);
		rcp_copy_cancel(p->copy);
	}
	if (p->files != NULL)
		files_flush(p->files);
	send_progress(p->a, p->copy);
}

/*
 * With more source agents than the first (hosts of one file system), a mux
 * of them all for one copy, their connections in conns; else NULL.
 */
static struct rcp_srcmux *
source_mux(struct rcp_agent *a, struct rcp_srcclient *sr, const char *host,
    struct rcp_quic_conn **conns)
{
	struct rcp_srcmux_member mm[RCP_SRCMUX_MAX];
	struct rcp_agent_more *mo;
	size_t i, n, nh;

	pthread_mutex_lock(&a->lock);
	n = a->nmore;
	nh = a->nhelpers;
	pthread_mutex_unlock(&a->lock);
	/* With helpers, a mux of one: it knows the paths they need. */
	if (n == 0 && nh == 0)
		return NULL;
	if (n + 1 > RCP_SRCMUX_MAX)
		n = RCP_SRCMUX_MAX - 1;
	mm[0].ops = &rcp_srcclient_ops;
	mm[0].ctx = sr;
	mm[0].cached = rcp_srcclient_has_inline;
	mm[0].host = a->src_host != NULL ? a->src_host : host != NULL ? host :
	    "the source host";
	conns[0] = rcp_agent_peer(a);
	/* Added by PEERs before any copy, and never taken away until the
	 * agent ends: read without the lock from here. */
	for (i = 0; i < n; i++) {
		mo = &a->more[i];
		if (mo->sr == NULL)
			mo->sr = rcp_srcclient_new(mo->conn);
		rcp_srcclient_set_peer(mo->sr, mo->host, mo->version, &a->log);
		mm[i + 1].ops = &rcp_srcclient_ops;
		mm[i + 1].ctx = mo->sr;
		mm[i + 1].cached = rcp_srcclient_has_inline;
		mm[i + 1].host = mo->host != NULL ? mo->host : "a source host";
		conns[i + 1] = mo->conn;
	}
	return rcp_srcmux_new(mm, n + 1, &a->log);
}

/* The helpers of this copy, their connections in conns; or NULL. */
static struct rcp_dstpool *
helper_pool(struct rcp_agent *a, struct rcp_quic_conn **conns)
{
	struct rcp_dstpool_member mm[RCP_DSTPOOL_MAX];
	struct rcp_agent_more *h;
	size_t i, n;

	pthread_mutex_lock(&a->lock);
	n = a->nhelpers;
	pthread_mutex_unlock(&a->lock);
	if (n == 0)
		return NULL;
	if (n > RCP_DSTPOOL_MAX)
		n = RCP_DSTPOOL_MAX;
	/* Added by PEERs before any copy, as more[] is. */
	for (i = 0; i < n; i++) {
		h = &a->helpers[i];
		if (h->sr == NULL)
			h->sr = rcp_srcclient_new(h->conn);
		mm[i].sr = h->sr;
		mm[i].conn = h->conn;
		mm[i].host = h->host != NULL ? h->host : "a destination host";
		conns[i] = h->conn;
	}
	return rcp_dstpool_new(mm, n, &a->log);
}

/* How the data went over this host and its helpers, for -v. */
static void
helped_log(struct rcp_agent *a, struct rcp_dstpool *p,
    const struct rcp_copy_stats *st)
{
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t ranges, bytes, helped = 0;
	size_t i;

	for (i = 0; i < rcp_dstpool_size(p); i++) {
		rcp_dstpool_served(p, i, &ranges, &bytes);
		helped += bytes;
		rcp_buf_addf(&b, "; '%s' %llu ranges, %llu bytes%s",
		    rcp_dstpool_host(p, i), (unsigned long long)ranges,
		    (unsigned long long)bytes, rcp_dstpool_lost(p, i) ?
		    " (lost)" : "");
	}
	rcp_log(&a->log, RCP_LOG_INFO, "wrote through %zu destination "
	    "agents: this one %llu bytes%s", rcp_dstpool_size(p) + 1,
	    (unsigned long long)(st->bytes_copied > helped ?
	    st->bytes_copied - helped : 0), rcp_buf_str(&b));
	rcp_buf_release(&b);
}

/* How the work went over the source agents, for -v. */
static void
served_log(struct rcp_agent *a, struct rcp_srcmux *x)
{
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t calls, bytes;
	size_t i;

	for (i = 0; i < rcp_srcmux_size(x); i++) {
		rcp_srcmux_served(x, i, &calls, &bytes);
		rcp_buf_addf(&b, "%s'%s' %llu requests, %llu bytes%s",
		    i > 0 ? "; " : "", rcp_srcmux_host(x, i),
		    (unsigned long long)calls, (unsigned long long)bytes,
		    rcp_srcmux_lost(x, i) ? " (lost)" : "");
	}
	rcp_log(&a->log, RCP_LOG_INFO, "read through %zu source agents "
	    "(%zu left): %s", rcp_srcmux_size(x), rcp_srcmux_alive(x),
	    rcp_buf_str(&b));
	rcp_buf_release(&b);
}

int
rcp_agent_dest_copy(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause)
{
	struct rcp_copywire_request req;
	struct rcp_copy_stats st;
	struct rcp_quic_conn *peer;
	struct rcp_srcclient *sr;
	struct progress_pump pump;
	struct file_batch files;
	struct rcp_copy *copy;
	rcp_ticker *pumping;
	char *dst, *why = NULL;
	bool workers_default;
	int r;

	if ((peer = rcp_agent_peer(a)) == NULL) {
		*cause = rcp_xstrdup("not connected to the source agent");
		return RCP_ERR_PROTO;
	}
	if ((r = rcp_copywire_get_request(m->f.body, m->f.len, &req,
	    cause)) != 0)
		goto out;
	/*
	 * Remote reads wait on the network, not the CPU: keep many in
	 * flight unless told otherwise.
	 */
	if ((workers_default = req.opts.max_workers == 0))
		req.opts.max_workers = RCP_AGENT_REMOTE_WORKERS;
	dst = rcp_copy_expand_home(req.dst, getenv("HOME"));
	free(req.dst);
	req.dst = dst;
	/* The manifest is on this host, named as the destination is. */
	if (req.manifest != NULL) {
		dst = rcp_copy_expand_home(req.manifest, getenv("HOME"));
		free(req.manifest);
		req.opts.manifest = req.manifest = dst;
	}
	/* One reader of the source serves each copy of this run. */
	if (a->sr == NULL)
		a->sr = rcp_srcclient_new(peer);
	sr = a->sr;
	memset(&pump, 0, sizeof(pump));
	if (req.record_files && !req.opts.dry_run) {
		memset(&files, 0, sizeof(files));
		files.a = a;
		files.master = rcp_agent_master(a);
		files.stream = m->stream;
		pthread_mutex_init(&files.lock, NULL);
		req.opts.copied = file_copied;
		req.opts.copied_arg = &files;
		pump.files = &files;
	}
	rcp_srcclient_set_peer(sr, a->src_host != NULL ? a->src_host :
	    req.opts.src_host, a->src_version, &a->log);
	if ((pump.mux = source_mux(a, sr, req.opts.src_host, pump.conns)) !=
	    NULL && req.opts.chunk_size == RCP_COPY_CHUNK_DEFAULT)
		req.opts.chunk_size = RCP_AGENT_MUX_CHUNK;
	/* With helpers, workers for them too: each waits on one of theirs. */
	if ((pump.pool = helper_pool(a, pump.hconns)) != NULL) {
		rcp_srcmux_set_offload(pump.mux, rcp_dstpool_offload,
		    pump.pool);
		if (workers_default)
			req.opts.max_workers = RCP_AGENT_HELPED_WORKERS;
	}
	copy = rcp_copy_new(&req.opts, &a->log);
	if (pump.mux != NULL) {
		rcp_copy_set_source(copy, &rcp_srcmux_ops, pump.mux);
		pump.master = rcp_agent_master(a);
	}
	else
		rcp_copy_set_source(copy, &rcp_srcclient_ops, sr);
	/* Under the lock: the watcher cancels it from its thread. */
	pthread_mutex_lock(&a->lock);
	a->copy = copy;
	pthread_mutex_unlock(&a->lock);
	pump.a = a;
	pump.peer = peer;
	pump.copy = copy;
	pumping = rcp_ticker_start(500000000u, progress_tick, &pump);
	r = rcp_copy_run(copy, (const char *const *)req.srcs, req.nsrcs,
	    req.dst, &why);
	rcp_ticker_stop(pumping);
	if (pump.files != NULL)
		files_end(pump.files);
	send_progress(a, copy);
	rcp_copy_stats(copy, &st);
	if (pump.pool != NULL)
		helped_log(a, pump.pool, &st);
	if (pump.mux != NULL) {
		if (rcp_srcmux_size(pump.mux) > 1)
			served_log(a, pump.mux);
		if (pump.lost == NULL && rcp_srcmux_alive(pump.mux) == 0)
			pump.lost = rcp_xstrdup("lost every source agent");
	}
	/* Lost before the pump looked: the errors it caused are not ours. */
	if (pump.mux == NULL && pump.lost == NULL &&
	    rcp_quic_conn_error(peer) != NULL)
		pump.lost = rcp_xasprintf("lost the source agent: %s",
		    rcp_quic_conn_error(peer));
	if (pump.lost != NULL) {
		free(why);
		why = pump.lost;
		pump.lost = NULL;
		r = RCP_ERR_GONE;
	}
	pthread_mutex_lock(&a->lock);
	a->copy = NULL;
	pthread_mutex_unlock(&a->lock);
	rcp_copy_free(copy);
	rcp_srcmux_free(pump.mux);
	rcp_dstpool_free(pump.pool);
	rcp_copywire_put_done(reply, r, why != NULL ? why : "", &st);
	r = 0;
out:
	rcp_copywire_request_release(&req);
	free(why);
	return r;
}
