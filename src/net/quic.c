/*
 * quic.c: QUIC endpoints and connections on ngtcp2 0.12 and GnuTLS.
 *
 * Threads: an endpoint's loop thread owns its socket and every ngtcp2_conn
 * and GnuTLS session on it.  Application threads only touch a connection's
 * queues, under conn->lock, and wake the loop through an eventfd.
 *
 * Known traps of ngtcp2 0.12 handled here: only bidirectional streams are
 * used (a peer-opened unidirectional stream never closes on the receiving
 * side before 0.14); the peer's stream limit is raised as its streams close
 * (ngtcp2 never does it itself); GnuTLS checks no certificate unless a
 * verify function is set, so one is, on both sides; stream data is not
 * copied by ngtcp2, so queued buffers live until acknowledged; and 0.12's
 * PMTUD never probes past 1452 bytes, so the datacenter profile takes the
 * packet size from the kernel's path MTU instead.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"

#include "base/banned.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define NS_PER_MS 1000000ull

/* The largest UDP payload over IPv4, and so the largest GSO batch. */
#define UDP_MAX_DGRAM 65507
/* The kernel takes at most this many GSO segments in one send. */
#define GSO_MAX_SEGS 64
/* Socket buffers asked for (SO_*BUFFORCE when root). */
#define SOCKBUF (16 << 20)
/* Bytes queued and not yet acknowledged before senders wait. */
#define SEND_BUDGET (64u << 20)
/* Handshakes in progress a server accepts at once. */
#define MAX_PENDING 16
/* Streams either side may have open. */
#define MAX_STREAMS 256
#define RXBUF (UDP_MAX_DGRAM + 1024)
/*
 * Our connection IDs all have this length: short-header packets do not say
 * how long their DCID is, so the receiver must know it.
 */
#define SCID_LEN 16

static const char priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

/* --- configuration ------------------------------------------------------- */

void
rcp_quic_config_init(struct rcp_quic_config *c)
{
	memset(c, 0, sizeof(*c));
	c->profile = RCP_QUIC_DATACENTER;
	c->name = "rcp";
}

/* --- structures ---------------------------------------------------------- */

/* A piece of queued stream data; freed once acknowledged. */
struct seg {
	struct seg	*next;
	uint8_t		*p;
	size_t		 len;
	void		*to_free;
	uint8_t		 hdr[RCP_WIRE_HDR];
};

struct qstream {
	struct qstream		*next;
	int64_t			 id;
	bool			 opened;	/* known to ngtcp2 */
	struct seg		*head;		/* unacknowledged, in order */
	struct seg		*tail;
	uint64_t		 base;		/* stream offset of head */
	uint64_t		 queued;	/* stream offset after tail */
	uint64_t		 sent;		/* handed to ngtcp2 */
	bool			 fin_queued;
	bool			 fin_sent;
	bool			 blocked;	/* flow control, this round */
	uint64_t		 credit;	/* consumed, not yet credited */
	struct rcp_wire_reader	 rd;		/* loop thread only */
};

enum { C_HANDSHAKE, C_OPEN, C_CLOSED };

struct rcp_quic_conn {
	struct rcp_quic_conn	*next;		/* in ep->conns; ep->lock */
	struct rcp_quic_ep	*ep;
	atomic_int		 refs;		/* loop + application */

	/* Loop thread only. */
	ngtcp2_conn		*qc;
	ngtcp2_crypto_conn_ref	 ref;
	gnutls_session_t	 tls;
	ngtcp2_connection_close_error last_error;
	ngtcp2_cid		 scids[8];
	size_t			 nscids;
	bool			 accepted;
	bool			 loop_done;	/* removed from the loop */

	struct sockaddr_storage	 remote;
	socklen_t		 remotelen;
	uint8_t			 pin[RCP_CERT_FP_LEN];	/* client side */
	uint8_t			 peer_fp[RCP_CERT_FP_LEN]; /* once verified */
	bool			 is_server;
	size_t			 max_pkt;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* state, inbox */
	/*
	 * Room in the send budget, or all acknowledged.  Apart from cond:
	 * every ACK changes it, and waking the receiving thread for each one
	 * cost thousands of context switches a second.
	 */
	pthread_cond_t		 sendcond;
	int			 send_waiters;	/* requires lock */
	int			 state;		/* requires lock */
	char			*error;		/* requires lock */
	struct qstream		*streams;	/* requires lock */
	int64_t			 next_stream;	/* requires lock */
	struct rcp_quic_msg	*inbox;		/* requires lock */
	struct rcp_quic_msg	*inbox_tail;
	uint64_t		 unacked;	/* queued - acked; requires lock */
	bool			 close_req;	/* requires lock */
	uint64_t		 close_code;
	bool			 app_freed;	/* requires lock */

	struct rcp_quic_stats	 st;		/* requires lock to read */
};

struct rcp_quic_ep {
	struct rcp_quic_config	 cfg;
	int			 fd;
	int			 wakefd;
	bool			 server;
	bool			 private;	/* belongs to one client conn */
	struct sockaddr_storage	 local;
	socklen_t		 locallen;
	gnutls_certificate_credentials_t cred;
	pthread_t		 thread;
	bool			 started;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* accept queue */
	struct rcp_quic_conn	*conns;		/* requires lock to change */
	uint8_t			(*allowed)[RCP_CERT_FP_LEN]; /* requires lock */
	size_t			 nallowed;
	struct rcp_quic_conn	*acceptq[MAX_PENDING]; /* requires lock */
	size_t			 nacc;
	atomic_bool		 stop;

	/* Loop thread only. */
	bool			 gso;
	int			 rcvbuf;
	int			 sndbuf;
	uint8_t			*txbuf;		/* a GSO batch */
	size_t			 txlen;
	size_t			 txseg;		/* segment size of the batch */
	struct rcp_quic_conn	*txconn;	/* whose batch it is */
	bool			 txpending;	/* batch not sent: EAGAIN */
	uint8_t			*rxbuf;
};

static void conn_release(struct rcp_quic_conn *c);

static void
wake(struct rcp_quic_ep *ep)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(ep->wakefd, &one, sizeof(one));
	(void)n;
}

static void
qlog(struct rcp_quic_ep *ep, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
qlog(struct rcp_quic_ep *ep, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rcp_vlog(ep->cfg.log, level, fmt, ap);
	va_end(ap);
}

/* Marks c closed with a reason (first one wins) and wakes its waiters. */
static void
conn_set_closed(struct rcp_quic_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conn_set_closed(struct rcp_quic_conn *c, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&c->lock);
	if (c->error == NULL) {
		va_start(ap, fmt);
		c->error = rcp_xvasprintf(fmt, ap);
		va_end(ap);
	}
	c->state = C_CLOSED;
	pthread_cond_broadcast(&c->cond);
	pthread_cond_broadcast(&c->sendcond);
	pthread_mutex_unlock(&c->lock);
}

/* --- streams ------------------------------------------------------------- */

/* requires c->lock */
static struct qstream *
stream_find(struct rcp_quic_conn *c, int64_t id)
{
	struct qstream *s;

	for (s = c->streams; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* requires c->lock */
static struct qstream *
stream_add(struct rcp_quic_conn *c, int64_t id, bool opened)
{
	struct qstream *s = rcp_xcalloc(1, sizeof(*s)), **pp;

	s->id = id;
	s->opened = opened;
	rcp_wire_reader_init(&s->rd, RCP_PROTO_MAX_FRAME);
	/* In creation order: ngtcp2 hands out stream ids in order too. */
	for (pp = &c->streams; *pp != NULL; pp = &(*pp)->next)
		;
	*pp = s;
	return s;
}

static void
stream_free(struct qstream *s)
{
	struct seg *g, *next;

	for (g = s->head; g != NULL; g = next) {
		next = g->next;
		free(g->to_free);
		free(g);
	}
	rcp_wire_reader_release(&s->rd);
	free(s);
}

/* requires c->lock; frees segments below offset acked. */
static void
stream_acked(struct rcp_quic_conn *c, struct qstream *s, uint64_t acked)
{
	struct seg *g;

	while ((g = s->head) != NULL && s->base + g->len <= acked) {
		s->base += g->len;
		c->unacked -= g->len;
		s->head = g->next;
		if (s->head == NULL)
			s->tail = NULL;
		free(g->to_free);
		free(g);
	}
}

/* --- ngtcp2 callbacks ---------------------------------------------------- */

static void
rand_cb(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
	(void)ctx;
	(void)gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

static int
new_cid_cb(ngtcp2_conn *qc, ngtcp2_cid *cid, uint8_t *token, size_t len,
    void *arg)
{
	struct rcp_quic_conn *c = arg;

	if (gnutls_rnd(GNUTLS_RND_RANDOM, cid->data, len) != 0 ||
	    gnutls_rnd(GNUTLS_RND_RANDOM, token,
	    NGTCP2_STATELESS_RESET_TOKENLEN) != 0)
		return NGTCP2_ERR_CALLBACK_FAILURE;
	cid->datalen = len;
	if (c->nscids < RCP_ARRAY_SIZE(c->scids))
		c->scids[c->nscids++] = *cid;
	return 0;
}

static int
remove_cid_cb(ngtcp2_conn *qc, const ngtcp2_cid *cid, void *arg)
{
	struct rcp_quic_conn *c = arg;
	size_t i;

	for (i = 0; i < c->nscids; i++) {
		if (ngtcp2_cid_eq(&c->scids[i], cid)) {
			c->scids[i] = c->scids[--c->nscids];
			break;
		}
	}
	return 0;
}

/*
 * The connection is usable: for a server when the handshake completes
 * (the client's certificate was checked), for a client when the server
 * confirms it -- in TLS 1.3 a client finishes before the server has looked
 * at the client's certificate, so completion alone would let a refused
 * client believe it got in.
 */
static int
conn_ready(ngtcp2_conn *qc, struct rcp_quic_conn *c)
{
	struct rcp_quic_ep *ep = c->ep;
	uint64_t ka = ep->cfg.keepalive_ms;

	if (ka == 0)
		ka = ep->cfg.profile == RCP_QUIC_INTERNET ? 10000 : 2000;
	ngtcp2_conn_set_keep_alive_timeout(qc, ka * NS_PER_MS);
	pthread_mutex_lock(&c->lock);
	c->state = C_OPEN;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (c->is_server) {
		pthread_mutex_lock(&ep->lock);
		if (ep->nacc < MAX_PENDING) {
			atomic_fetch_add(&c->refs, 1);	/* the application's */
			ep->acceptq[ep->nacc++] = c;
			c->accepted = true;
			pthread_cond_broadcast(&ep->cond);
		}
		pthread_mutex_unlock(&ep->lock);
	}
	return 0;
}

static int
handshake_completed_cb(ngtcp2_conn *qc, void *arg)
{
	struct rcp_quic_conn *c = arg;

	return c->is_server ? conn_ready(qc, c) : 0;
}

static int
handshake_confirmed_cb(ngtcp2_conn *qc, void *arg)
{
	struct rcp_quic_conn *c = arg;

	return c->is_server ? 0 : conn_ready(qc, c);
}

/* Delivers one complete frame to the application. requires c->lock */
static void
inbox_push(struct rcp_quic_conn *c, struct rcp_quic_msg *m)
{
	m->next = NULL;
	if (c->inbox_tail != NULL)
		c->inbox_tail->next = m;
	else
		c->inbox = m;
	c->inbox_tail = m;
	pthread_cond_broadcast(&c->cond);
}

static int
recv_stream_data_cb(ngtcp2_conn *qc, uint32_t flags, int64_t id,
    uint64_t offset, const uint8_t *data, size_t len, void *arg, void *sarg)
{
	struct rcp_quic_conn *c = arg;
	struct rcp_wire_frame f;
	struct rcp_quic_msg *m;
	struct qstream *s;
	size_t used = 0;
	long n;

	pthread_mutex_lock(&c->lock);
	if ((s = stream_find(c, id)) == NULL)
		s = stream_add(c, id, true);
	while (used < len) {
		n = rcp_wire_reader_feed(&s->rd, data + used, len - used, &f);
		if (n < 0) {
			pthread_mutex_unlock(&c->lock);
			qlog(c->ep, RCP_LOG_ERROR, "%s: peer sent a frame over "
			    "the %u-byte cap on stream %lld: closing",
			    c->ep->cfg.name, RCP_PROTO_MAX_FRAME, (long long)id);
			conn_set_closed(c, "peer sent an oversized frame");
			return NGTCP2_ERR_CALLBACK_FAILURE;
		}
		used += (size_t)n;
		if (f.body != NULL) {
			m = rcp_xcalloc(1, sizeof(*m));
			m->stream = id;
			m->f = f;
			m->credit = (uint32_t)(RCP_WIRE_HDR + f.len);
			inbox_push(c, m);
		}
	}
	if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) {
		m = rcp_xcalloc(1, sizeof(*m));
		m->stream = id;
		m->fin = true;
		if (rcp_wire_reader_partial(&s->rd))
			qlog(c->ep, RCP_LOG_WARN, "%s: stream %lld ended inside "
			    "a frame", c->ep->cfg.name, (long long)id);
		inbox_push(c, m);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int
acked_cb(ngtcp2_conn *qc, int64_t id, uint64_t offset, uint64_t len,
    void *arg, void *sarg)
{
	struct rcp_quic_conn *c = arg;
	struct qstream *s;

	pthread_mutex_lock(&c->lock);
	if ((s = stream_find(c, id)) != NULL) {
		stream_acked(c, s, offset + len);
		if (c->send_waiters > 0)
			pthread_cond_broadcast(&c->sendcond);
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static int
stream_close_cb(ngtcp2_conn *qc, uint32_t flags, int64_t id,
    uint64_t app_error, void *arg, void *sarg)
{
	struct rcp_quic_conn *c = arg;
	struct qstream *s, **pp;
	bool peer_opened = ((id & 1) != 0) != c->is_server;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->streams; (s = *pp) != NULL; pp = &s->next) {
		if (s->id == id) {
			*pp = s->next;
			c->unacked -= s->queued - s->base;
			stream_free(s);
			break;
		}
	}
	if (c->send_waiters > 0)
		pthread_cond_broadcast(&c->sendcond);
	pthread_mutex_unlock(&c->lock);
	/* ngtcp2 never raises the peer's stream limit on its own. */
	if (peer_opened)
		ngtcp2_conn_extend_max_streams_bidi(qc, 1);
	return 0;
}

static ngtcp2_conn *
get_conn_cb(ngtcp2_crypto_conn_ref *ref)
{
	struct rcp_quic_conn *c = ref->user_data;

	return c->qc;
}

static void
fill_callbacks(ngtcp2_callbacks *cb, bool server)
{
	memset(cb, 0, sizeof(*cb));
	if (server)
		cb->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
	else {
		cb->client_initial = ngtcp2_crypto_client_initial_cb;
		cb->recv_retry = ngtcp2_crypto_recv_retry_cb;
	}
	cb->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
	cb->encrypt = ngtcp2_crypto_encrypt_cb;
	cb->decrypt = ngtcp2_crypto_decrypt_cb;
	cb->hp_mask = ngtcp2_crypto_hp_mask_cb;
	cb->update_key = ngtcp2_crypto_update_key_cb;
	cb->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
	cb->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
	cb->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
	cb->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
	cb->rand = rand_cb;
	cb->get_new_connection_id = new_cid_cb;
	cb->remove_connection_id = remove_cid_cb;
	cb->handshake_completed = handshake_completed_cb;
	cb->handshake_confirmed = handshake_confirmed_cb;
	cb->recv_stream_data = recv_stream_data_cb;
	cb->acked_stream_data_offset = acked_cb;
	cb->stream_close = stream_close_cb;
}

/* --- TLS ----------------------------------------------------------------- */

/*
 * The pinning check, run by GnuTLS when the peer's certificate arrives:
 * its SHA-256 fingerprint must be one we were told over SSH.
 */
static int
verify_peer(gnutls_session_t tls)
{
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(tls);
	struct rcp_quic_conn *c = ref->user_data;
	struct rcp_quic_ep *ep = c->ep;
	const gnutls_datum_t *certs;
	uint8_t fp[RCP_CERT_FP_LEN];
	char got[RCP_CERT_FP_HEXLEN + 1], want[RCP_CERT_FP_HEXLEN + 1];
	char *peer = rcp_udp_addr_str((struct sockaddr *)&c->remote);
	unsigned n = 0;
	bool ok = false;
	size_t i;

	certs = gnutls_certificate_get_peers(tls, &n);
	if (certs == NULL || n == 0) {
		qlog(ep, RCP_LOG_ERROR, "%s: QUIC peer %s sent no certificate: "
		    "refused", ep->cfg.name, peer);
		conn_set_closed(c, "peer %s sent no certificate", peer);
		free(peer);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, certs[0].data, certs[0].size, fp);
	if (c->is_server) {
		pthread_mutex_lock(&ep->lock);
		for (i = 0; i < ep->nallowed && !ok; i++)
			ok = memcmp(ep->allowed[i], fp, sizeof(fp)) == 0;
		pthread_mutex_unlock(&ep->lock);
		want[0] = '\0';
	} else {
		ok = memcmp(c->pin, fp, sizeof(fp)) == 0;
		rcp_cert_fp_hex(c->pin, want);
	}
	if (ok)
		memcpy(c->peer_fp, fp, sizeof(fp));
	else {
		rcp_cert_fp_hex(fp, got);
		qlog(ep, RCP_LOG_ERROR, "%s: QUIC peer %s presented certificate "
		    "SHA256:%s%s%s, which is not the one announced over SSH: "
		    "refusing the connection (possible man-in-the-middle "
		    "attack)", ep->cfg.name, peer, got,
		    want[0] ? ", expected SHA256:" : "", want);
		conn_set_closed(c, "certificate of %s does not match its pinned "
		    "fingerprint (possible man-in-the-middle attack)", peer);
	}
	free(peer);
	return ok ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

static int
tls_setup(struct rcp_quic_conn *c, char **cause)
{
	struct rcp_quic_ep *ep = c->ep;
	gnutls_datum_t alpn = { (unsigned char *)RCP_PROTO_ALPN,
	    sizeof(RCP_PROTO_ALPN) - 1 };
	int r;

	if ((r = gnutls_init(&c->tls, (c->is_server ? GNUTLS_SERVER :
	    GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA)) != 0)
		goto fail;
	if (c->is_server) {
		if (ngtcp2_crypto_gnutls_configure_server_session(c->tls) != 0)
			goto fail_ngtcp2;
		gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_REQUIRE);
	} else if (ngtcp2_crypto_gnutls_configure_client_session(c->tls) != 0)
		goto fail_ngtcp2;
	if ((r = gnutls_priority_set_direct(c->tls, priority, NULL)) != 0 ||
	    (r = gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE,
	    ep->cred)) != 0)
		goto fail;
	gnutls_session_set_verify_function(c->tls, verify_peer);
	gnutls_alpn_set_protocols(c->tls, &alpn, 1, GNUTLS_ALPN_MANDATORY);
	if (!c->is_server)
		gnutls_server_name_set(c->tls, GNUTLS_NAME_DNS, "rcp", 3);
	c->ref.get_conn = get_conn_cb;
	c->ref.user_data = c;
	gnutls_session_set_ptr(c->tls, &c->ref);
	return 0;
fail:
	*cause = rcp_xasprintf("TLS set-up failed: %s", gnutls_strerror(r));
	return RCP_ERR_INTERNAL;
fail_ngtcp2:
	*cause = rcp_xstrdup("TLS set-up failed: ngtcp2 rejected the session");
	return RCP_ERR_INTERNAL;
}

/* --- sockets ------------------------------------------------------------- */

static void
socket_tune(struct rcp_quic_ep *ep)
{
	int v = SOCKBUF, one = 1;
	socklen_t len = sizeof(v);

	if (setsockopt(ep->fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(ep->fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	v = SOCKBUF;
	if (setsockopt(ep->fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v)) != 0)
		setsockopt(ep->fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	getsockopt(ep->fd, SOL_SOCKET, SO_RCVBUF, &ep->rcvbuf, &len);
	len = sizeof(v);
	getsockopt(ep->fd, SOL_SOCKET, SO_SNDBUF, &ep->sndbuf, &len);
	/* Linux reports double what it accounts: show what was asked for. */
	qlog(ep, ep->rcvbuf < SOCKBUF ? RCP_LOG_WARN : RCP_LOG_DEBUG,
	    "%s: UDP socket buffers granted: receive %d KiB, send %d KiB "
	    "(asked for %d KiB)", ep->cfg.name, ep->rcvbuf / 2048,
	    ep->sndbuf / 2048, SOCKBUF / 1024);
	ep->gso = true;
	if (setsockopt(ep->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) != 0)
		qlog(ep, RCP_LOG_DEBUG, "%s: no UDP GRO: %s", ep->cfg.name,
		    strerror(errno));
	v = IP_PMTUDISC_DO;
	if (ep->local.ss_family == AF_INET6)
		setsockopt(ep->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	else
		setsockopt(ep->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
}

/*
 * The UDP payload that fits the path to peer, by the kernel's route MTU
 * (loopback: 65536; Ethernet: 1500).  Asked with a connected throwaway
 * socket; nothing is sent.
 */
static size_t
path_payload(const struct sockaddr_storage *peer, socklen_t len, int profile)
{
	int fd, mtu = 0, v6 = peer->ss_family == AF_INET6;
	socklen_t ml = sizeof(mtu);
	size_t hdr = v6 ? 48 : 28, pl;

	if (profile == RCP_QUIC_INTERNET)
		return 1452;
	if ((fd = socket(peer->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return 1452;
	if (connect(fd, (const struct sockaddr *)peer, len) != 0 ||
	    getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU :
	    IP_MTU, &mtu, &ml) != 0 || mtu <= 0) {
		close(fd);
		return 1452;
	}
	close(fd);
	/* Bigger packets cost fewer trips through the stack. */
	pl = (size_t)mtu - hdr;
	if (pl > UDP_MAX_DGRAM - 7)
		pl = UDP_MAX_DGRAM - 7;
	return pl < 1200 ? 1200 : pl;
}

/*
 * One sendmsg of len bytes, as GSO segments of seg bytes if len > seg.
 * 0 sent (or dropped as if lost), 1 socket full, 2 GSO refused.
 */
static int
tx_send(struct rcp_quic_ep *ep, struct rcp_quic_conn *c, uint8_t *p,
    size_t len, size_t seg)
{
	char ctrl[CMSG_SPACE(sizeof(uint16_t))];
	struct iovec iov = { p, len };
	struct msghdr msg;
	struct cmsghdr *cm;
	uint16_t segsz = (uint16_t)seg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (ep->server) {
		msg.msg_name = &c->remote;
		msg.msg_namelen = c->remotelen;
	}
	if (len > seg) {
		memset(ctrl, 0, sizeof(ctrl));
		msg.msg_control = ctrl;
		msg.msg_controllen = sizeof(ctrl);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_UDP;
		cm->cmsg_type = UDP_SEGMENT;
		cm->cmsg_len = CMSG_LEN(sizeof(segsz));
		memcpy(CMSG_DATA(cm), &segsz, sizeof(segsz));
	}
	while (sendmsg(ep->fd, &msg, 0) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
			return 1;
		if (errno == EIO && len > seg)
			return 2;
		/* Anything else counts as loss; QUIC recovers. */
		qlog(ep, RCP_LOG_DEBUG, "%s: sendmsg of %zu bytes (segments of "
		    "%zu): %s", ep->cfg.name, len, seg, strerror(errno));
		if (getenv("RCP_QUIC_DEBUG") != NULL)
			fprintf(stderr, "%s: sendmsg of %zu bytes (segments of "
			    "%zu): %s\n", ep->cfg.name, len, seg,
			    strerror(errno));
		break;
	}
	pthread_mutex_lock(&c->lock);
	c->st.bytes_sent += len;
	c->st.pkts_sent += (len + seg - 1) / seg;
	c->st.sendmsg_calls++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Sends the pending batch.  0, or -1 if the socket is full (kept). */
static int
tx_flush(struct rcp_quic_ep *ep)
{
	struct rcp_quic_conn *c = ep->txconn;
	size_t off = 0, n;
	int r;

	if (ep->txlen == 0)
		return 0;
	if (ep->gso) {
		r = tx_send(ep, c, ep->txbuf, ep->txlen, ep->txseg);
		if (r == 0)
			off = ep->txlen;
		else if (r == 2) {
			qlog(ep, RCP_LOG_DEBUG, "%s: UDP GSO refused; sending "
			    "packets one by one", ep->cfg.name);
			ep->gso = false;
		}
	}
	while (off < ep->txlen && !ep->gso) {
		n = ep->txlen - off < ep->txseg ? ep->txlen - off : ep->txseg;
		if (tx_send(ep, c, ep->txbuf + off, n, n) != 0)
			break;
		off += n;
	}
	if (off < ep->txlen) {
		memmove(ep->txbuf, ep->txbuf + off, ep->txlen - off);
		ep->txlen -= off;
		ep->txpending = true;
		return -1;
	}
	ep->txlen = 0;
	ep->txpending = false;
	return 0;
}

/* --- connections --------------------------------------------------------- */

static void
transport_params(const struct rcp_quic_ep *ep, ngtcp2_transport_params *p)
{
	uint64_t idle = ep->cfg.idle_timeout_ms;
	bool dc = ep->cfg.profile == RCP_QUIC_DATACENTER;

	if (idle == 0)
		idle = dc ? 10000 : 60000;
	ngtcp2_transport_params_default(p);
	p->initial_max_streams_bidi = MAX_STREAMS;
	p->initial_max_streams_uni = 0;
	p->initial_max_stream_data_bidi_local = dc ? 16 << 20 : 4 << 20;
	p->initial_max_stream_data_bidi_remote = dc ? 16 << 20 : 4 << 20;
	p->initial_max_data = dc ? 32 << 20 : 8 << 20;
	p->max_idle_timeout = idle * NS_PER_MS;
	p->active_connection_id_limit = 4;
}

/* RCP_QUIC_DEBUG=1 in the environment shows ngtcp2's own log on stderr. */
static void
ngtcp2_log(void *arg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
settings_for(const struct rcp_quic_ep *ep, ngtcp2_settings *s, size_t max_pkt)
{
	uint64_t hs = ep->cfg.conn_timeout_ms;
	bool dc = ep->cfg.profile == RCP_QUIC_DATACENTER;

	if (hs == 0)
		hs = dc ? 15000 : 30000;
	ngtcp2_settings_default(s);
	s->initial_ts = rcp_now_ns();
	s->cc_algo = NGTCP2_CC_ALGO_CUBIC;
	s->max_window = dc ? 128 << 20 : 32 << 20;
	s->max_stream_window = dc ? 64 << 20 : 16 << 20;
	s->handshake_timeout = hs * NS_PER_MS;
	if (getenv("RCP_QUIC_DEBUG") != NULL)
		s->log_printf = ngtcp2_log;
	if (dc) {
		s->initial_rtt = 10 * NS_PER_MS;
		s->max_tx_udp_payload_size = max_pkt;
		s->no_tx_udp_payload_size_shaping = max_pkt > 1452;
		s->no_pmtud = 1;
	} else {
		s->max_tx_udp_payload_size = 1452;
	}
}

static struct rcp_quic_conn *
conn_alloc(struct rcp_quic_ep *ep, bool server)
{
	struct rcp_quic_conn *c = rcp_xcalloc(1, sizeof(*c));

	c->ep = ep;
	c->is_server = server;
	c->is_server = server;
	pthread_mutexattr_t ma;

	atomic_init(&c->refs, 1);	/* the loop's */
	/* Recursive: ngtcp2 calls back into us while the loop holds it. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	rcp_cond_init_mono(&c->cond);
	rcp_cond_init_mono(&c->sendcond);
	c->state = C_HANDSHAKE;
	c->next_stream = server ? 1 : 0;
	ngtcp2_connection_close_error_default(&c->last_error);
	return c;
}

static void
conn_destroy(struct rcp_quic_conn *c)
{
	struct qstream *s, *ns;
	struct rcp_quic_msg *m, *nm;

	for (s = c->streams; s != NULL; s = ns) {
		ns = s->next;
		stream_free(s);
	}
	for (m = c->inbox; m != NULL; m = nm) {
		nm = m->next;
		rcp_quic_msg_free(m);
	}
	if (c->qc != NULL)
		ngtcp2_conn_del(c->qc);
	if (c->tls != NULL)
		gnutls_deinit(c->tls);
	pthread_cond_destroy(&c->cond);
	pthread_cond_destroy(&c->sendcond);
	pthread_mutex_destroy(&c->lock);
	free(c->error);
	free(c);
}

static void
conn_release(struct rcp_quic_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		conn_destroy(c);
}

/* Makes the ngtcp2 side of a connection.  Loop thread (or before it runs). */
static int
conn_init_quic(struct rcp_quic_conn *c, const ngtcp2_cid *dcid,
    const ngtcp2_cid *scid, const ngtcp2_cid *odcid, uint32_t version,
    char **cause)
{
	struct rcp_quic_ep *ep = c->ep;
	ngtcp2_callbacks cb;
	ngtcp2_settings st;
	ngtcp2_transport_params tp;
	ngtcp2_path path;
	int r;

	c->max_pkt = path_payload(&c->remote, c->remotelen, ep->cfg.profile);
	fill_callbacks(&cb, c->is_server);
	settings_for(ep, &st, c->max_pkt);
	transport_params(ep, &tp);
	path.local.addr = (struct sockaddr *)&ep->local;
	path.local.addrlen = ep->locallen;
	path.remote.addr = (struct sockaddr *)&c->remote;
	path.remote.addrlen = c->remotelen;
	path.user_data = NULL;
	c->scids[0] = *scid;
	c->nscids = 1;
	if (c->is_server) {
		tp.original_dcid = *odcid;
		tp.stateless_reset_token_present = 1;
		gnutls_rnd(GNUTLS_RND_RANDOM, tp.stateless_reset_token,
		    sizeof(tp.stateless_reset_token));
		r = ngtcp2_conn_server_new(&c->qc, dcid, scid, &path, version,
		    &cb, &st, &tp, NULL, c);
	} else
		r = ngtcp2_conn_client_new(&c->qc, dcid, scid, &path, version,
		    &cb, &st, &tp, NULL, c);
	if (r != 0) {
		*cause = rcp_xasprintf("cannot start a QUIC connection: %s",
		    ngtcp2_strerror(r));
		return RCP_ERR_INTERNAL;
	}
	if ((r = tls_setup(c, cause)) != 0)
		return r;
	ngtcp2_conn_set_tls_native_handle(c->qc, c->tls);
	pthread_mutex_lock(&c->lock);
	c->st.max_pkt = c->max_pkt;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* Adds c to ep's loop.  The loop then owns the reference c was made with. */
static void
ep_add(struct rcp_quic_ep *ep, struct rcp_quic_conn *c)
{
	pthread_mutex_lock(&ep->lock);
	c->next = ep->conns;
	ep->conns = c;
	pthread_mutex_unlock(&ep->lock);
}

/* --- the write path ------------------------------------------------------ */

/* Fills vecs from s's unsent data.  requires c->lock */
static size_t
stream_vecs(struct qstream *s, ngtcp2_vec *v, size_t max)
{
	uint64_t off = s->base;
	struct seg *g;
	size_t n = 0, skip;

	for (g = s->head; g != NULL && n < max; g = g->next) {
		if (off + g->len <= s->sent) {
			off += g->len;
			continue;
		}
		skip = (size_t)(s->sent > off ? s->sent - off : 0);
		v[n].base = g->p + skip;
		v[n].len = g->len - skip;
		n++;
		off += g->len;
	}
	return n;
}

/* Opens streams the application asked for.  requires c->lock */
static void
open_streams(struct rcp_quic_conn *c)
{
	struct qstream *s;
	int64_t id;

	for (s = c->streams; s != NULL; s = s->next) {
		if (s->opened)
			continue;
		if (ngtcp2_conn_open_bidi_stream(c->qc, &id, NULL) != 0)
			return;		/* blocked: again when extended */
		if (id != s->id) {
			/* Ids are handed out in order; this cannot happen. */
			conn_set_closed(c, "internal error: stream id %lld, "
			    "expected %lld", (long long)id, (long long)s->id);
			return;
		}
		s->opened = true;
	}
}

/* Returns flow-control credit for what the application has taken. */
static void
give_credit(struct rcp_quic_conn *c)
{
	struct qstream *s;
	uint64_t total = 0;

	pthread_mutex_lock(&c->lock);
	for (s = c->streams; s != NULL; s = s->next) {
		if (s->credit == 0)
			continue;
		ngtcp2_conn_extend_max_stream_offset(c->qc, s->id, s->credit);
		total += s->credit;
		s->credit = 0;
	}
	pthread_mutex_unlock(&c->lock);
	if (total > 0)
		ngtcp2_conn_extend_max_offset(c->qc, total);
}

/* Picks a stream with data (or a FIN) to send.  requires c->lock */
static struct qstream *
next_sendable(struct rcp_quic_conn *c)
{
	struct qstream *s;

	for (s = c->streams; s != NULL; s = s->next) {
		if (!s->opened || s->blocked)
			continue;
		if (s->sent < s->queued || (s->fin_queued && !s->fin_sent))
			return s;
	}
	return NULL;
}

/*
 * Takes the packet of n bytes just written at txbuf + txlen into the batch.
 * A GSO batch is segments of one size, only the last may be shorter.
 * 0, or -1 if the socket is full.
 */
static int
tx_add(struct rcp_quic_ep *ep, struct rcp_quic_conn *c, size_t n)
{
	if (ep->txlen == 0) {
		ep->txconn = c;
		ep->txseg = n;
	} else if (n > ep->txseg) {
		/* Longer than the batch's segments: it starts a new batch. */
		size_t held = ep->txlen;

		if (tx_flush(ep) != 0)
			return -1;	/* socket full: this packet counts as lost */
		memmove(ep->txbuf, ep->txbuf + held, n);
		ep->txconn = c;
		ep->txseg = n;
		ep->txlen = n;
		return 0;
	}
	ep->txlen += n;
	if (n < ep->txseg || !ep->gso ||
	    ep->txlen + ep->txseg > UDP_MAX_DGRAM ||
	    ep->txlen / ep->txseg >= GSO_MAX_SEGS)
		return tx_flush(ep);
	return 0;
}

/* Makes room for one more packet of up to max bytes.  0 or -1. */
static int
tx_room(struct rcp_quic_ep *ep, size_t max)
{
	if (ep->txlen > 0 && (ep->txlen + max > UDP_MAX_DGRAM || !ep->gso))
		return tx_flush(ep);
	return 0;
}

/* Writes what c has to send.  0, or -1 if the connection failed. */
static int
conn_write(struct rcp_quic_ep *ep, struct rcp_quic_conn *c)
{
	ngtcp2_vec vec[16];
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n, datalen;
	struct qstream *s, *sp;
	uint64_t ts = rcp_now_ns();
	size_t nv, quantum, written = 0;
	uint32_t flags;
	int64_t sid;
	bool in_pkt = false;
	int r = 0;

	if (ep->txpending && tx_flush(ep) != 0)
		return 0;
	if (ep->txlen > 0 && ep->txconn != c && tx_flush(ep) != 0)
		return 0;
	ngtcp2_path_storage_zero(&ps);
	quantum = ngtcp2_conn_get_send_quantum(c->qc);
	pthread_mutex_lock(&c->lock);
	open_streams(c);
	for (s = c->streams; s != NULL; s = s->next)
		s->blocked = false;
	for (;;) {
		/* Never move the buffer under a packet being coalesced. */
		if (!in_pkt && tx_room(ep, c->max_pkt) != 0)
			break;
		sp = next_sendable(c);
		sid = -1;
		nv = 0;
		flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
		if (sp != NULL) {
			sid = sp->id;
			nv = stream_vecs(sp, vec, RCP_ARRAY_SIZE(vec));
			if (sp->fin_queued && nv == 0)
				flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
		}
		n = ngtcp2_conn_writev_stream(c->qc, &ps.path, &pi,
		    ep->txbuf + ep->txlen, c->max_pkt, &datalen, flags, sid,
		    vec, nv, ts);
		if (n == NGTCP2_ERR_WRITE_MORE) {
			in_pkt = true;
			sp->sent += (uint64_t)datalen;
			if (flags & NGTCP2_WRITE_STREAM_FLAG_FIN)
				sp->fin_sent = true;
			continue;
		}
		if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED ||
		    n == NGTCP2_ERR_STREAM_SHUT_WR ||
		    n == NGTCP2_ERR_STREAM_NOT_FOUND) {
			in_pkt = true;	/* the packet may still be open */
			sp->blocked = true;
			continue;
		}
		if (n < 0) {
			ngtcp2_connection_close_error_set_transport_error_liberr(
			    &c->last_error, (int)n, NULL, 0);
			conn_set_closed(c, "QUIC write failed: %s",
			    ngtcp2_strerror((int)n));
			r = -1;
			break;
		}
		in_pkt = false;
		if (datalen >= 0 && sp != NULL) {
			sp->sent += (uint64_t)datalen;
			if (flags & NGTCP2_WRITE_STREAM_FLAG_FIN)
				sp->fin_sent = true;
		}
		if (n == 0)
			break;
		written += (size_t)n;
		if (tx_add(ep, c, (size_t)n) != 0 || written >= quantum)
			break;
	}
	pthread_mutex_unlock(&c->lock);
	tx_flush(ep);
	ngtcp2_conn_update_pkt_tx_time(c->qc, ts);
	return r;
}

/* Sends CONNECTION_CLOSE (once) and marks the connection closed. */
static void
conn_send_close(struct rcp_quic_ep *ep, struct rcp_quic_conn *c)
{
	ngtcp2_path_storage ps;
	ngtcp2_pkt_info pi;
	ngtcp2_ssize n;

	if (c->qc == NULL || ngtcp2_conn_is_in_closing_period(c->qc) ||
	    ngtcp2_conn_is_in_draining_period(c->qc))
		return;
	ngtcp2_path_storage_zero(&ps);
	tx_flush(ep);
	ep->txlen = 0;		/* if the socket is full, this much is lost */
	n = ngtcp2_conn_write_connection_close(c->qc, &ps.path, &pi, ep->txbuf,
	    c->max_pkt, &c->last_error, rcp_now_ns());
	if (n > 0) {
		ep->txconn = c;
		ep->txseg = (size_t)n;
		ep->txlen = (size_t)n;
		tx_flush(ep);
		ep->txlen = 0;
		ep->txpending = false;
	}
}

/* --- the read path ------------------------------------------------------- */

/* Says why ngtcp2 gave up on a connection, in words. */
static void
conn_failed(struct rcp_quic_conn *c, int rv)
{
	char *peer = rcp_udp_addr_str((struct sockaddr *)&c->remote);
	uint32_t idle = c->ep->cfg.idle_timeout_ms;

	switch (rv) {
	case NGTCP2_ERR_DRAINING:
		conn_set_closed(c, "%s closed the connection", peer);
		break;
	case NGTCP2_ERR_IDLE_CLOSE:
		conn_set_closed(c, "nothing heard from %s for %u s (idle "
		    "timeout): it is gone or unreachable", peer, idle ? idle /
		    1000 : c->ep->cfg.profile == RCP_QUIC_DATACENTER ? 10 : 60);
		break;
	case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
		conn_set_closed(c, "QUIC handshake with %s timed out", peer);
		break;
	case NGTCP2_ERR_CRYPTO:
		conn_set_closed(c, "TLS handshake with %s failed (alert %u)",
		    peer, ngtcp2_conn_get_tls_alert(c->qc));
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
		    &c->last_error, ngtcp2_conn_get_tls_alert(c->qc), NULL, 0);
		break;
	default:
		conn_set_closed(c, "QUIC connection with %s failed: %s", peer,
		    ngtcp2_strerror(rv));
		ngtcp2_connection_close_error_set_transport_error_liberr(
		    &c->last_error, rv, NULL, 0);
		break;
	}
	free(peer);
}

static struct rcp_quic_conn *
find_conn(struct rcp_quic_ep *ep, const uint8_t *dcid, size_t dcidlen)
{
	struct rcp_quic_conn *c;
	size_t i;

	for (c = ep->conns; c != NULL; c = c->next) {
		if (!ep->server)
			return c;
		for (i = 0; i < c->nscids; i++)
			if (c->scids[i].datalen == dcidlen &&
			    memcmp(c->scids[i].data, dcid, dcidlen) == 0)
				return c;
	}
	return NULL;
}

/* A first packet from a new client: start a server connection for it. */
static struct rcp_quic_conn *
accept_new(struct rcp_quic_ep *ep, const uint8_t *pkt, size_t len,
    const struct sockaddr_storage *from, socklen_t fromlen)
{
	struct rcp_quic_conn *c, *x;
	ngtcp2_pkt_hd hd;
	ngtcp2_cid scid;
	char *cause = NULL;
	size_t pending = 0;

	if (ngtcp2_accept(&hd, pkt, len) != 0)
		return NULL;
	for (x = ep->conns; x != NULL; x = x->next)
		if (!x->accepted)
			pending++;
	if (pending >= MAX_PENDING)
		return NULL;
	c = conn_alloc(ep, true);
	memcpy(&c->remote, from, fromlen);
	c->remotelen = fromlen;
	scid.datalen = SCID_LEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
	if (conn_init_quic(c, &hd.scid, &scid, &hd.dcid, hd.version,
	    &cause) != 0) {
		qlog(ep, RCP_LOG_ERROR, "%s: %s", ep->cfg.name, cause);
		free(cause);
		conn_release(c);
		return NULL;
	}
	ep_add(ep, c);
	return c;
}

/* Feeds one datagram to its connection. */
static void
rx_packet(struct rcp_quic_ep *ep, uint8_t *pkt, size_t len,
    struct sockaddr_storage *from, socklen_t fromlen)
{
	ngtcp2_version_cid vc;
	struct rcp_quic_conn *c;
	ngtcp2_path path;
	ngtcp2_pkt_info pi;
	int rv;

	rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, SCID_LEN);
	if (rv != 0)
		return;		/* not QUIC, or a version we do not speak */
	c = find_conn(ep, vc.dcid, vc.dcidlen);
	if (c == NULL) {
		if (!ep->server ||
		    (c = accept_new(ep, pkt, len, from, fromlen)) == NULL)
			return;
	}
	if (c->state == C_CLOSED || c->qc == NULL)
		return;
	memset(&pi, 0, sizeof(pi));
	path.local.addr = (struct sockaddr *)&ep->local;
	path.local.addrlen = ep->locallen;
	path.remote.addr = (struct sockaddr *)from;
	path.remote.addrlen = fromlen;
	path.user_data = NULL;
	pthread_mutex_lock(&c->lock);
	c->st.bytes_recv += len;
	c->st.pkts_recv++;
	pthread_mutex_unlock(&c->lock);
	rv = ngtcp2_conn_read_pkt(c->qc, &path, &pi, pkt, len, rcp_now_ns());
	if (rv != 0) {
		conn_failed(c, rv);
		if (rv != NGTCP2_ERR_DRAINING)
			conn_send_close(ep, c);
	}
}

/* Reads what the socket has, splitting GRO batches into datagrams. */
static void
rx_all(struct rcp_quic_ep *ep)
{
	char ctrl[CMSG_SPACE(sizeof(int))];
	struct sockaddr_storage from;
	struct iovec iov;
	struct msghdr msg;
	struct cmsghdr *cm;
	size_t off, seg;
	ssize_t n;
	int gro, i;

	for (i = 0; i < 256; i++) {
		memset(&msg, 0, sizeof(msg));
		iov.iov_base = ep->rxbuf;
		iov.iov_len = RXBUF;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_name = &from;
		msg.msg_namelen = sizeof(from);
		msg.msg_control = ctrl;
		msg.msg_controllen = sizeof(ctrl);
		n = recvmsg(ep->fd, &msg, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * A client's socket is connected: the kernel reports
			 * an ICMP port unreachable.  The peer's process is
			 * gone; waiting for the idle timeout helps nobody.
			 */
			if (errno == ECONNREFUSED && !ep->server &&
			    ep->conns != NULL) {
				char *peer = rcp_udp_addr_str(
				    (struct sockaddr *)&ep->conns->remote);
				conn_set_closed(ep->conns, "%s is not listening "
				    "any more (its process is gone)", peer);
				free(peer);
			}
			break;
		}
		seg = (size_t)n;
		for (cm = CMSG_FIRSTHDR(&msg); cm != NULL;
		    cm = CMSG_NXTHDR(&msg, cm)) {
			if (cm->cmsg_level == SOL_UDP &&
			    cm->cmsg_type == UDP_GRO) {
				memcpy(&gro, CMSG_DATA(cm), sizeof(gro));
				if (gro > 0)
					seg = (size_t)gro;
			}
		}
		for (off = 0; off < (size_t)n; off += seg)
			rx_packet(ep, ep->rxbuf + off, (size_t)n - off < seg ?
			    (size_t)n - off : seg, &from, msg.msg_namelen);
	}
}

/* --- the loop ------------------------------------------------------------ */

/* Handles timers and application requests of one connection. */
static void
conn_service(struct rcp_quic_ep *ep, struct rcp_quic_conn *c)
{
	bool close_req;
	uint64_t code;
	int rv;

	if (c->state == C_CLOSED)
		return;
	pthread_mutex_lock(&c->lock);
	close_req = c->close_req;
	code = c->close_code;
	pthread_mutex_unlock(&c->lock);
	if (close_req) {
		ngtcp2_connection_close_error_set_application_error(
		    &c->last_error, code, NULL, 0);
		conn_send_close(ep, c);
		conn_set_closed(c, "connection closed by this side");
		return;
	}
	if (ngtcp2_conn_get_expiry(c->qc) <= rcp_now_ns()) {
		rv = ngtcp2_conn_handle_expiry(c->qc, rcp_now_ns());
		if (rv != 0) {
			conn_failed(c, rv);
			if (rv != NGTCP2_ERR_IDLE_CLOSE)
				conn_send_close(ep, c);
			return;
		}
	}
	give_credit(c);
	if (conn_write(ep, c) != 0)
		conn_send_close(ep, c);
}

/* Drops closed connections from the loop. */
static void
reap(struct rcp_quic_ep *ep)
{
	struct rcp_quic_conn **pp, *c;

	pthread_mutex_lock(&ep->lock);
	for (pp = &ep->conns; (c = *pp) != NULL;) {
		if (c->state == C_CLOSED) {
			*pp = c->next;
			c->loop_done = true;
			if (ep->txconn == c) {
				ep->txconn = NULL;
				ep->txlen = 0;
				ep->txpending = false;
			}
			pthread_mutex_unlock(&ep->lock);
			conn_release(c);
			pthread_mutex_lock(&ep->lock);
			pp = &ep->conns;
			continue;
		}
		pp = &c->next;
	}
	pthread_mutex_unlock(&ep->lock);
}

static int
poll_timeout(struct rcp_quic_ep *ep)
{
	struct rcp_quic_conn *c;
	uint64_t now = rcp_now_ns(), next = UINT64_MAX, e;

	for (c = ep->conns; c != NULL; c = c->next) {
		if (c->state == C_CLOSED || c->qc == NULL)
			continue;
		e = ngtcp2_conn_get_expiry(c->qc);
		if (e < next)
			next = e;
	}
	if (next == UINT64_MAX)
		return 1000;
	if (next <= now)
		return 0;
	/* Round up: waking early only spins. */
	return (int)((next - now + NS_PER_MS - 1) / NS_PER_MS);
}

static void *
loop_main(void *arg)
{
	struct rcp_quic_ep *ep = arg;
	struct pollfd pfd[2];
	struct rcp_quic_conn *c;
	uint64_t junk;
	ssize_t n;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	while (!atomic_load(&ep->stop)) {
		pfd[0].fd = ep->fd;
		pfd[0].events = POLLIN | (ep->txpending ? POLLOUT : 0);
		pfd[1].fd = ep->wakefd;
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, poll_timeout(ep)) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			n = read(ep->wakefd, &junk, sizeof(junk));
		(void)n;
		if (pfd[0].revents & POLLIN)
			rx_all(ep);
		for (c = ep->conns; c != NULL; c = c->next)
			conn_service(ep, c);
		reap(ep);
	}
	/* Say goodbye to whoever is still connected. */
	for (c = ep->conns; c != NULL; c = c->next) {
		if (c->state != C_CLOSED) {
			ngtcp2_connection_close_error_set_application_error(
			    &c->last_error, 0, NULL, 0);
			conn_send_close(ep, c);
			conn_set_closed(c, "endpoint shut down");
		}
	}
	reap(ep);
	return NULL;
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
	socket_tune(ep);
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
	if (pthread_create(&ep->thread, NULL, loop_main, ep) != 0) {
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
		wake(ep);
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
	c = conn_alloc(ep, false);
	memcpy(&c->remote, addr, len);
	c->remotelen = len;
	memcpy(c->pin, fp, RCP_CERT_FP_LEN);
	dcid.datalen = NGTCP2_MIN_INITIAL_DCIDLEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, dcid.data, dcid.datalen);
	scid.datalen = SCID_LEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
	if ((r = conn_init_quic(c, &dcid, &scid, NULL, NGTCP2_PROTO_VER_V1,
	    cause)) != 0)
		goto out;
	atomic_fetch_add(&c->refs, 1);		/* the application's */
	ep_add(ep, c);
	if ((r = ep_start(ep, cause)) != 0) {
		atomic_fetch_sub(&c->refs, 1);
		goto out;
	}
	wake(ep);
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
			conn_release(c);
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
	stream_add(c, *id, false);
	pthread_mutex_unlock(&c->lock);
	wake(c->ep);
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
	if (c->state != C_OPEN || (s = stream_find(c, stream)) == NULL ||
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
	wake(c->ep);
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
	if (c->state != C_OPEN || (s = stream_find(c, stream)) == NULL) {
		pthread_mutex_unlock(&c->lock);
		return RCP_ERR_IO;
	}
	s->fin_queued = true;
	pthread_mutex_unlock(&c->lock);
	wake(c->ep);
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
	if (m->credit > 0 && (s = stream_find(c, m->stream)) != NULL)
		s->credit += m->credit;
	pthread_mutex_unlock(&c->lock);
	if (m->credit > 0)
		wake(c->ep);
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
	wake(c->ep);
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
		conn_release(c);
	} else
		conn_release(c);
}

void
rcp_quic_conn_peer_fp(struct rcp_quic_conn *c, uint8_t *fp)
{
	memcpy(fp, c->peer_fp, RCP_CERT_FP_LEN);
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
