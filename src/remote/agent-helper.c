/*
 * agent-helper.c: rcpd as a destination helper (dstpool.h).  It connects
 * to the source agents as a destination does, listens for the destination
 * agent it helps, and copies the ranges that one hands it: read through
 * its own connections to the sources, written into the destination's file
 * by its path.  It runs no engine and makes no entry of its own.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/fsops.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "remote/agent-int.h"
#include "remote/agent.h"
#include "remote/agentmsg.h"
#include "remote/dstpool.h"
#include "remote/srcclient.h"

#include "base/banned.h"

/*
 * Ranges copied at once: the destination agent hands out about as many as
 * it copies itself, and each mostly waits on the network.
 */
#define HELPER_THREADS 32
#define HELPER_BUFSZ (256u << 10)

struct helper_job {
	struct helper_job	*next;
	struct rcp_quic_msg	*m;
};

struct helper {
	struct rcp_agent	*a;
	struct rcp_quic_conn	*c;		/* to the destination agent */
	struct rcp_dstpool_source src[RCP_AGENT_MORE_MAX + 1];
	size_t			 nsrc;
	atomic_int		 busy[RCP_AGENT_MORE_MAX + 1];
	atomic_bool		 lost[RCP_AGENT_MORE_MAX + 1];
	atomic_bool		 no_cfr;
	atomic_bool		 cancel;
	uint64_t		 lease_ns;	/* rcp_quic_conn_lease_ns */
	atomic_bool		 lease_told;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct helper_job	*head;		/* requires lock */
	struct helper_job	**tail;		/* requires lock */
	bool			 done;		/* requires lock */
	pthread_t		 threads[HELPER_THREADS];
	int			 nthreads;
};

static void
answer(struct helper *h, struct rcp_io *io, struct rcp_quic_msg *m)
{
	struct rcp_dstrange q;
	struct rcp_buf b = RCP_BUF_INIT;
	bool checked = false;
	int64_t n;

	if (rcp_dstrange_get(m->f.body, m->f.len, &q) != 0)
		n = RCP_ERR_PROTO;
	else
		n = rcp_dstpool_run(h->src, h->nsrc, h->busy, h->lost, &q, io,
		    &checked);
	rcp_dstrange_release(&q);
	if (n >= 0) {
		rcp_dstpool_put_done(&b, (uint64_t)n, checked);
		rcp_quic_send(h->c, m->stream, RCP_MSG_SRC_OK, m->f.id, b.data,
		    b.len, 60000);
	} else {
		rcp_wire_put_u32(&b, (uint32_t)rcp_err_to_wire((int)n));
		rcp_quic_send(h->c, m->stream, RCP_MSG_SRC_ERR, m->f.id,
		    b.data, b.len, 60000);
	}
	rcp_buf_release(&b);
}

/*
 * The fence before each write: none once the copy is called off, or once
 * nothing this helper sent has been heard by the destination agent for a
 * lease.  That one, having given up on this helper (lost, or stuck),
 * copies its ranges again only a lease after it last heard it, so a write
 * of this helper, stopped or cut off one way, never lands on that copy.
 */
static int
helper_fence(void *arg)
{
	struct helper *h = arg;
	struct rcp_quic_stats st;
	uint64_t now;

	if (atomic_load(&h->cancel))
		return -ECANCELED;
	rcp_quic_conn_stats(h->c, &st);
	now = rcp_now_ns();
	if (st.heard_ns != 0 && now - st.heard_ns < h->lease_ns)
		return 0;
	if (!atomic_exchange(&h->lease_told, true))
		rcp_log(&h->a->log, RCP_LOG_WARN, "the destination agent has "
		    "heard nothing from this helper for %.1f s: writing no "
		    "more, as it copies again what this one has in flight",
		    st.heard_ns != 0 ? (double)(now - st.heard_ns) / 1e9 : 0.0);
	return RCP_ERR_TIMEOUT;
}

/*
 * A one-way message (id 0, which the destination agent drops) whenever
 * nothing of ours has been acknowledged for a quarter of the lease: its
 * ACK keeps the lease (heard_ns) fresh on a link where the other side
 * does all the talking.
 */
static void
helper_keep_lease(struct helper *h, int64_t *stream)
{
	struct rcp_quic_stats st;

	rcp_quic_conn_stats(h->c, &st);
	if (rcp_now_ns() - st.heard_ns < h->lease_ns / 4)
		return;
	if (*stream < 0 && rcp_quic_stream_open(h->c, stream) != 0)
		return;
	(void)rcp_quic_send(h->c, *stream, RCP_MSG_ECHO, 0, NULL, 0, 100);
}

static void *
helper_worker(void *arg)
{
	struct helper *h = arg;
	struct helper_job *j;
	struct rcp_io io;

	memset(&io, 0, sizeof(io));
	io.buf = rcp_xmalloc(HELPER_BUFSZ);
	io.bufsz = HELPER_BUFSZ;
	io.no_cfr = &h->no_cfr;
	io.cancel = &h->cancel;
	io.fence = helper_fence;
	io.fence_arg = h;
	for (;;) {
		pthread_mutex_lock(&h->lock);
		while (h->head == NULL && !h->done)
			pthread_cond_wait(&h->cond, &h->lock);
		if ((j = h->head) == NULL) {
			pthread_mutex_unlock(&h->lock);
			break;
		}
		if ((h->head = j->next) == NULL)
			h->tail = &h->head;
		pthread_mutex_unlock(&h->lock);
		answer(h, &io, j->m);
		rcp_quic_msg_free(j->m);
		free(j);
	}
	free(io.buf);
	return NULL;
}

static void
helper_sources(struct helper *h)
{
	struct rcp_agent *a = h->a;
	struct rcp_quic_conn *peer = rcp_agent_peer(a);
	size_t i, n;

	h->nsrc = 0;
	if (peer != NULL) {
		if (a->sr == NULL)
			a->sr = rcp_srcclient_new(peer);
		rcp_srcclient_set_peer(a->sr, a->src_host, a->src_version,
		    &a->log);
		h->src[h->nsrc].ops = &rcp_srcclient_ops;
		h->src[h->nsrc++].ctx = a->sr;
	}
	pthread_mutex_lock(&a->lock);
	n = a->nmore;
	pthread_mutex_unlock(&a->lock);
	for (i = 0; i < n; i++) {
		if (a->more[i].sr == NULL)
			a->more[i].sr = rcp_srcclient_new(a->more[i].conn);
		rcp_srcclient_set_peer(a->more[i].sr, a->more[i].host,
		    a->more[i].version, &a->log);
		h->src[h->nsrc].ops = &rcp_srcclient_ops;
		h->src[h->nsrc++].ctx = a->more[i].sr;
	}
	for (i = 0; i < h->nsrc; i++) {
		atomic_init(&h->busy[i], 0);
		atomic_init(&h->lost[i], false);
	}
}

/* Takes in the destination agent: 0 with *out, or an error (logged). */
static int
accept_lead(struct rcp_agent *a, struct rcp_quic_conn **out)
{
	struct rcp_quic_conn *c = NULL;
	char *cause = NULL;
	uint64_t end = rcp_now_ns() +
	    (uint64_t)a->o->startup_timeout_ms * 1000000u;
	int r;

	while ((r = rcp_quic_accept(a->ep, 200, &c, &cause)) ==
	    RCP_ERR_TIMEOUT && !atomic_load(&a->stop) && rcp_now_ns() < end) {
		free(cause);
		cause = NULL;
	}
	if (r != 0) {
		if (!atomic_load(&a->stop))
			rcp_log(&a->log, RCP_LOG_ERROR, "the destination agent "
			    "this one helps did not connect: %s", cause);
		free(cause);
		return r;
	}
	if ((r = rcp_agent_take_destination(a, c)) != 0)
		return r;
	*out = c;
	return 0;
}

static void *
helper_serve(void *arg)
{
	struct rcp_agent *a = arg;
	struct helper h;
	struct helper_job *j;
	struct rcp_quic_msg *m;
	struct rcp_quic_conn *c;
	int64_t stream = -1;
	int i, r;

	if (accept_lead(a, &c) != 0)
		return NULL;
	(void)rcp_agent_swap_conn(a, &a->lead, c);
	rcp_log(&a->log, RCP_LOG_INFO, "the destination agent connected");
	memset(&h, 0, sizeof(h));
	h.a = a;
	h.c = c;
	atomic_init(&h.no_cfr, false);
	atomic_init(&h.cancel, false);
	atomic_init(&h.lease_told, false);
	h.lease_ns = rcp_quic_conn_lease_ns(c);
	helper_sources(&h);
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	h.tail = &h.head;
	for (i = 0; i < HELPER_THREADS; i++)
		if (pthread_create(&h.threads[h.nthreads], NULL, helper_worker,
		    &h) == 0)
			h.nthreads++;
	while (!atomic_load(&a->stop) &&
	    ((r = rcp_quic_recv(c, &m, 250)) == 0 || r == RCP_ERR_TIMEOUT)) {
		helper_keep_lease(&h, &stream);
		if (r != 0)
			continue;
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		if (m->f.type == RCP_MSG_DST_RANGE && m->f.id != 0 &&
		    h.nthreads > 0) {
			j = rcp_xcalloc(1, sizeof(*j));
			j->m = m;
			pthread_mutex_lock(&h.lock);
			*h.tail = j;
			h.tail = &j->next;
			pthread_cond_signal(&h.cond);
			pthread_mutex_unlock(&h.lock);
			continue;
		}
		if (m->f.type == RCP_MSG_ECHO)
			rcp_agentmsg_echo(c, m);
		else if (m->f.id != 0)
			rcp_agentmsg_reply_error(c, m->stream, m->f.id,
			    RCP_ERR_PROTO, "unknown message type");
		rcp_quic_msg_free(m);
	}
	/*
	 * The destination agent is gone or done: nothing it handed out is
	 * worth finishing, since it copies again what it did not hear of.
	 */
	atomic_store(&h.cancel, true);
	pthread_mutex_lock(&h.lock);
	h.done = true;
	while ((j = h.head) != NULL) {
		h.head = j->next;
		rcp_quic_msg_free(j->m);
		free(j);
	}
	h.tail = &h.head;
	pthread_cond_broadcast(&h.cond);
	pthread_mutex_unlock(&h.lock);
	for (i = 0; i < h.nthreads; i++)
		pthread_join(h.threads[i], NULL);
	pthread_cond_destroy(&h.cond);
	pthread_mutex_destroy(&h.lock);
	return NULL;
}

int
rcp_agent_helper_peer(struct rcp_agent *a, const uint8_t *fp, char **cause)
{
	if (a->ep == NULL || a->peer_started) {
		*cause = rcp_xstrdup("a helper helps one destination agent");
		return RCP_ERR_PROTO;
	}
	rcp_quic_ep_allow(a->ep, fp);
	if (pthread_create(&a->peer_thread, NULL, helper_serve, a) != 0) {
		*cause = rcp_xstrdup("cannot start a thread");
		return RCP_ERR_INTERNAL;
	}
	a->peer_started = true;
	return 0;
}
