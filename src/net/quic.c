/*
 * quic.c: QUIC endpoints and connections on ngtcp2 0.12 and GnuTLS -- the
 * configuration, the endpoints, and the application's side of a connection
 * (streams, sending, receiving, closing, stats).  The module's other files
 * share quic-int.h: quic-conn.c is a connection's ngtcp2 and TLS side (the
 * callbacks, pinning, set-up and teardown), quic-io.c the endpoint's socket
 * and the loop thread that reads and writes it.
 *
 * Threads: an endpoint's loop thread owns its socket and every ngtcp2_conn
 * and GnuTLS session on it.  Application threads only touch a connection's
 * queues, under conn->lock, and wake the loop through an eventfd.
 *
 * Known traps of ngtcp2 0.12 handled by the module: only bidirectional
 * streams are used (a peer-opened unidirectional stream never closes on the
 * receiving side before 0.14); the peer's stream limit is raised as its
 * streams close (ngtcp2 never does it itself); GnuTLS checks no certificate
 * unless a verify function is set, so one is, on both sides; stream data is
 * not copied by ngtcp2, so queued buffers live until acknowledged; and
 * 0.12's PMTUD never probes past 1452 bytes, so the datacenter profile
 * takes the packet size from the kernel's path MTU instead.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/quic-int.h"

#include "base/banned.h"

/* Bytes queued and not yet acknowledged before senders wait. */
#define SEND_BUDGET (64u << 20)

/* --- configuration and logging ------------------------------------------- */

void
rcp_quic_config_init(struct rcp_quic_config *c)
{
	memset(c, 0, sizeof(*c));
	c->profile = RCP_QUIC_DATACENTER;
	c->name = "rcp";
}

void
quic_log(struct rcp_quic_ep *ep, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rcp_vlog(ep->cfg.log, level, fmt, ap);
	va_end(ap);
}

/* --- endpoints ----------------------------------------------------------- */

static int
ep_new(const struct rcp_quic_config *cfg, bool server, int fd,
    struct rcp_quic_ep **out, char **cause)
{
	struct rcp_quic_ep *ep = rcp_xcalloc(1, sizeof(*ep));
	struct rcp_cert *cert = cfg->cert;
	int r;

	ep->cfg = *cfg;
	ep->server = server;
	ep->fd = fd;
	ep->locallen = sizeof(ep->local);
	getsockname(fd, (struct sockaddr *)&ep->local, &ep->locallen);
	pthread_mutex_init(&ep->lock, NULL);
	rcp_cond_init_mono(&ep->cond);
	atomic_init(&ep->stop, false);
	ep->txbuf = rcp_xmalloc(UDP_MAX_DGRAM + 2048);
	ep->rxbuf = rcp_xmalloc(RXBUF);
	if ((ep->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		*cause = rcp_xasprintf("eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((r = gnutls_certificate_allocate_credentials(&ep->cred)) != 0) {
		*cause = rcp_xasprintf("TLS credentials: %s",
		    gnutls_strerror(r));
		goto fail;
	}
	if (rcp_cert_set_credentials(cert, ep->cred, cause) != 0)
		goto fail;
	quic_socket_tune(ep);
	*out = ep;
	return 0;
fail:
	ep->fd = -1;	/* the caller closes it */
	rcp_quic_ep_free(ep);
	return RCP_ERR_INTERNAL;
}

static int
ep_start(struct rcp_quic_ep *ep, char **cause)
{
	if (pthread_create(&ep->thread, NULL, quic_loop, ep) != 0) {
		*cause = rcp_xstrdup("cannot start the QUIC thread");
		return RCP_ERR_INTERNAL;
	}
	ep->started = true;
	return 0;
}

int
rcp_quic_listen(const struct rcp_quic_config *cfg, const struct sockaddr *addr,
    socklen_t len, struct rcp_quic_ep **out, char **cause)
{
	struct rcp_quic_ep *ep;
	int fd, r;

	if ((r = rcp_udp_bind(addr, len, cfg->ports, &fd, cause)) != 0)
		return r;
	if ((r = ep_new(cfg, true, fd, &ep, cause)) != 0) {
		close(fd);
		return r;
	}
	if ((r = ep_start(ep, cause)) != 0) {
		rcp_quic_ep_free(ep);
		return r;
	}
	*out = ep;
	return 0;
}

void
rcp_quic_ep_allow(struct rcp_quic_ep *ep, const uint8_t *fp)
{
	pthread_mutex_lock(&ep->lock);
	ep->allowed = rcp_xrealloc(ep->allowed, (ep->nallowed + 1) *
	    sizeof(*ep->allowed));
	memcpy(ep->allowed[ep->nallowed++], fp, RCP_CERT_FP_LEN);
	pthread_mutex_unlock(&ep->lock);
}

void
rcp_quic_ep_addr(struct rcp_quic_ep *ep, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memcpy(ss, &ep->local, ep->locallen);
	*len = ep->locallen;
}

int
rcp_quic_accept(struct rcp_quic_ep *ep, int timeout_ms,
    struct rcp_quic_conn **out, char **cause)
{
	uint64_t dl;
	int r = 0;

	dl = rcp_deadline_after(timeout_ms < 0 ? 86400000 : timeout_ms);
	pthread_mutex_lock(&ep->lock);
	while (ep->nacc == 0 && r == 0)
		r = rcp_cond_wait_until(&ep->cond, &ep->lock, dl);
	if (ep->nacc == 0) {
		pthread_mutex_unlock(&ep->lock);
		*cause = rcp_xasprintf("no pinned QUIC client connected to %s "
		    "within %d ms", ep->cfg.name, timeout_ms);
		return RCP_ERR_TIMEOUT;
	}
	*out = ep->acceptq[0];
	memmove(ep->acceptq, ep->acceptq + 1, --ep->nacc * sizeof(*ep->acceptq));
	pthread_mutex_unlock(&ep->lock);
	return 0;
}

void
rcp_quic_ep_free(struct rcp_quic_ep *ep)
{
	size_t i;

	if (ep == NULL)
		return;
	if (ep->started) {
		atomic_store(&ep->stop, true);
		quic_wake(ep);
		pthread_join(ep->thread, NULL);
	}
	for (i = 0; i < ep->nacc; i++)
		rcp_quic_conn_free(ep->acceptq[i]);
	if (ep->cred != NULL)
		gnutls_certificate_free_credentials(ep->cred);
	if (ep->fd >= 0)
		close(ep->fd);
	if (ep->wakefd >= 0)
		close(ep->wakefd);
	pthread_cond_destroy(&ep->cond);
	pthread_mutex_destroy(&ep->lock);
	free(ep->allowed);
	free(ep->txbuf);
	free(ep->rxbuf);
	free(ep);
}

int
rcp_quic_connect(const struct rcp_quic_config *cfg, const struct sockaddr *addr,
    socklen_t len, const uint8_t *fp, struct rcp_quic_conn **out, char **cause)
{
	struct sockaddr_storage any;
	struct rcp_quic_ep *ep = NULL;
	struct rcp_quic_conn *c = NULL;
	ngtcp2_cid dcid, scid;
	char *peer = rcp_udp_addr_str(addr);
	int fd = -1, r;

	memset(&any, 0, sizeof(any));
	any.ss_family = addr->sa_family;
	if ((r = rcp_udp_bind((struct sockaddr *)&any, len, cfg->ports, &fd,
	    cause)) != 0)
		goto out;
	if (connect(fd, addr, len) != 0) {
		*cause = rcp_xasprintf("cannot reach %s: %s", peer,
		    strerror(errno));
		close(fd);
		r = RCP_ERR_IO;
		goto out;
	}
	if ((r = ep_new(cfg, false, fd, &ep, cause)) != 0) {
		close(fd);
		goto out;
	}
	ep->private = true;
	c = quic_conn_alloc(ep, false);
	memcpy(&c->remote, addr, len);
	c->remotelen = len;
	memcpy(c->pin, fp, RCP_CERT_FP_LEN);
	dcid.datalen = NGTCP2_MIN_INITIAL_DCIDLEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
	scid.datalen = SCID_LEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
	if ((r = quic_conn_init(c, &dcid, &scid, NULL, NGTCP2_PROTO_VER_V1,
	    cause)) != 0)
		goto out;
	atomic_fetch_add(&c->refs, 1);		/* the application's */
	quic_ep_add(ep, c);
	if ((r = ep_start(ep, cause)) != 0) {
		atomic_fetch_sub(&c->refs, 1);
		goto out;
	}
	quic_wake(ep);
	pthread_mutex_lock(&c->lock);
	while (c->state == C_HANDSHAKE)
		pthread_cond_wait(&c->cond, &c->lock);
	if (c->state == C_CLOSED) {
		*cause = rcp_xasprintf("cannot connect to %s: %s", peer,
		    c->error != NULL ? c->error : "closed");
		pthread_mutex_unlock(&c->lock);
		rcp_quic_conn_free(c);
		c = NULL;
		ep = NULL;
		r = RCP_ERR_IO;
		goto out;
	}
	pthread_mutex_unlock(&c->lock);
	*out = c;
	c = NULL;
	ep = NULL;
	r = 0;
out:
	if (ep != NULL) {
		if (c != NULL && !ep->started)
			quic_conn_release(c);
		rcp_quic_ep_free(ep);
	}
	free(peer);
	return r;
}

/* --- the application side ------------------------------------------------ */

int
rcp_quic_stream_open(struct rcp_quic_conn *c, int64_t *id)
{
	pthread_mutex_lock(&c->lock);
	if (c->state != C_OPEN) {
		pthread_mutex_unlock(&c->lock);
		return RCP_ERR_IO;
	}
	*id = c->next_stream;
	c->next_stream += 4;
	quic_stream_add(c, *id, false);
	pthread_mutex_unlock(&c->lock);
	quic_wake(c->ep);
	return 0;
}

int
rcp_quic_send_owned(struct rcp_quic_conn *c, int64_t stream, uint16_t type,
    uint32_t id, void *body, size_t len, int timeout_ms)
{
	struct seg *h, *b;
	struct qstream *s;
	uint64_t dl;
	int r = 0;

	if (len > RCP_PROTO_MAX_FRAME) {
		free(body);
		return RCP_ERR_TOOBIG;
	}
	dl = rcp_deadline_after(timeout_ms);
	pthread_mutex_lock(&c->lock);
	c->send_waiters++;
	while (c->state == C_OPEN && c->unacked > SEND_BUDGET && r == 0)
		r = rcp_cond_wait_until(&c->sendcond, &c->lock, dl);
	c->send_waiters--;
	if (c->state != C_OPEN || (s = quic_stream_find(c, stream)) == NULL ||
	    s->fin_queued) {
		pthread_mutex_unlock(&c->lock);
		free(body);
		return RCP_ERR_IO;
	}
	if (r != 0) {
		pthread_mutex_unlock(&c->lock);
		free(body);
		return RCP_ERR_TIMEOUT;
	}
	h = rcp_xcalloc(1, sizeof(*h));
	rcp_wire_header(h->hdr, type, id, (uint32_t)len);
	h->p = h->hdr;
	h->len = RCP_WIRE_HDR;
	if (s->tail != NULL)
		s->tail->next = h;
	else
		s->head = h;
	s->tail = h;
	if (len > 0) {
		b = rcp_xcalloc(1, sizeof(*b));
		b->p = body;
		b->len = len;
		b->to_free = body;
		h->next = b;
		s->tail = b;
	} else
		free(body);
	s->queued += RCP_WIRE_HDR + len;
	c->unacked += RCP_WIRE_HDR + len;
	pthread_mutex_unlock(&c->lock);
	quic_wake(c->ep);
	return 0;
}

int
rcp_quic_send(struct rcp_quic_conn *c, int64_t stream, uint16_t type,
    uint32_t id, const void *body, size_t len, int timeout_ms)
{
	void *copy = NULL;

	if (len > RCP_PROTO_MAX_FRAME)
		return RCP_ERR_TOOBIG;
	if (len > 0) {
		copy = rcp_xmalloc(len);
		memcpy(copy, body, len);
	}
	return rcp_quic_send_owned(c, stream, type, id, copy, len, timeout_ms);
}

int
rcp_quic_stream_fin(struct rcp_quic_conn *c, int64_t stream)
{
	struct qstream *s;

	pthread_mutex_lock(&c->lock);
	if (c->state != C_OPEN || (s = quic_stream_find(c, stream)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return RCP_ERR_IO;
	}
	s->fin_queued = true;
	pthread_mutex_unlock(&c->lock);
	quic_wake(c->ep);
	return 0;
}

int
rcp_quic_flush(struct rcp_quic_conn *c, int timeout_ms)
{
	uint64_t dl;
	int r = 0;

	dl = rcp_deadline_after(timeout_ms < 0 ? 86400000 : timeout_ms);
	pthread_mutex_lock(&c->lock);
	c->send_waiters++;
	while (c->state == C_OPEN && c->unacked > 0 && r == 0)
		r = rcp_cond_wait_until(&c->sendcond, &c->lock, dl);
	c->send_waiters--;
	r = c->unacked == 0 ? 0 : c->state != C_OPEN ? RCP_ERR_IO :
	    RCP_ERR_TIMEOUT;
	pthread_mutex_unlock(&c->lock);
	return r;
}

int
rcp_quic_recv(struct rcp_quic_conn *c, struct rcp_quic_msg **out,
    int timeout_ms)
{
	struct rcp_quic_msg *m;
	struct qstream *s;
	uint64_t dl = rcp_deadline_after(timeout_ms);
	int r = 0;

	pthread_mutex_lock(&c->lock);
	while (c->inbox == NULL && c->state != C_CLOSED && r == 0)
		r = rcp_cond_wait_until(&c->cond, &c->lock, dl);
	if ((m = c->inbox) == NULL) {
		r = c->state == C_CLOSED ? RCP_ERR_IO : RCP_ERR_TIMEOUT;
		pthread_mutex_unlock(&c->lock);
		return r;
	}
	c->inbox = m->next;
	if (c->inbox == NULL)
		c->inbox_tail = NULL;
	if (m->credit > 0 && (s = quic_stream_find(c, m->stream)) != NULL)
		s->credit += m->credit;
	pthread_mutex_unlock(&c->lock);
	if (m->credit > 0)
		quic_wake(c->ep);
	m->next = NULL;
	*out = m;
	return 0;
}

void
rcp_quic_msg_free(struct rcp_quic_msg *m)
{
	if (m == NULL)
		return;
	rcp_wire_frame_release(&m->f);
	free(m);
}

const char *
rcp_quic_conn_error(struct rcp_quic_conn *c)
{
	const char *e;

	pthread_mutex_lock(&c->lock);
	e = c->state == C_CLOSED ? (c->error != NULL ? c->error : "closed") :
	    NULL;
	pthread_mutex_unlock(&c->lock);
	return e;
}

void
rcp_quic_conn_peer(struct rcp_quic_conn *c, struct sockaddr_storage *ss,
    socklen_t *len)
{
	memcpy(ss, &c->remote, c->remotelen);
	*len = c->remotelen;
}

void
rcp_quic_close(struct rcp_quic_conn *c, uint64_t app_error)
{
	pthread_mutex_lock(&c->lock);
	if (c->state != C_CLOSED && !c->close_req) {
		c->close_req = true;
		c->close_code = app_error;
	}
	pthread_mutex_unlock(&c->lock);
	quic_wake(c->ep);
}

void
rcp_quic_conn_free(struct rcp_quic_conn *c)
{
	struct rcp_quic_ep *ep;
	uint64_t dl;

	if (c == NULL)
		return;
	ep = c->ep;
	rcp_quic_close(c, 0);
	/* Give the loop a moment to send CONNECTION_CLOSE. */
	dl = rcp_deadline_after(1000);
	pthread_mutex_lock(&c->lock);
	while (c->state != C_CLOSED)
		if (rcp_cond_wait_until(&c->cond, &c->lock, dl) != 0)
			break;
	pthread_mutex_unlock(&c->lock);
	if (ep->private) {
		rcp_quic_ep_free(ep);	/* joins the loop: it drops its ref */
		quic_conn_release(c);
	} else
		quic_conn_release(c);
}

void
rcp_quic_conn_peer_fp(struct rcp_quic_conn *c, uint8_t *fp)
{
	memcpy(fp, c->peer_fp, RCP_CERT_FP_LEN);
}

uint64_t
rcp_quic_conn_lease_ns(struct rcp_quic_conn *c)
{
	return quic_idle_ms(c->ep) * NS_PER_MS / 2;
}

void
rcp_quic_conn_stats(struct rcp_quic_conn *c, struct rcp_quic_stats *s)
{
	pthread_mutex_lock(&c->lock);
	*s = c->st;
	pthread_mutex_unlock(&c->lock);
	s->gso = c->ep->gso;
	s->rcvbuf = c->ep->rcvbuf;
	s->sndbuf = c->ep->sndbuf;
}
