/*
 * quic-conn.c: the ngtcp2 and TLS side of a QUIC connection (quic.c): its
 * settings and transport parameters, the ngtcp2 callbacks that take stream
 * data and acknowledgements into the connection's queues, the GnuTLS
 * session with the certificate pinning check, and the connection's
 * set-up, teardown and reference counting.  Everything here runs on the
 * endpoint's loop thread, or before that thread knows the connection.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/quic-int.h"

#include "base/banned.h"

/* Streams either side may have open. */
#define MAX_STREAMS 256

static const char priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

/* --- state --------------------------------------------------------------- */

/* Marks c closed with a reason (first one wins) and wakes its waiters. */
void
quic_conn_set_closed(struct rcp_quic_conn *c, const char *fmt, ...)
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
struct qstream *
quic_stream_add(struct rcp_quic_conn *c, int64_t id, bool opened)
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
 * client believe it got in -- unless cfg.early_open: a caller whose first
 * exchange awaits the server's answer saves the round trip.
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

	return c->is_server || c->ep->cfg.early_open ? conn_ready(qc, c) : 0;
}

static int
handshake_confirmed_cb(ngtcp2_conn *qc, void *arg)
{
	struct rcp_quic_conn *c = arg;

	return c->is_server || c->ep->cfg.early_open ? 0 : conn_ready(qc, c);
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
	if ((s = quic_stream_find(c, id)) == NULL)
		s = quic_stream_add(c, id, true);
	while (used < len) {
		n = rcp_wire_reader_feed(&s->rd, data + used, len - used, &f);
		if (n < 0) {
			pthread_mutex_unlock(&c->lock);
			quic_log(c->ep, RCP_LOG_ERROR, "%s: peer sent a frame "
			    "over the %u-byte cap on stream %lld: closing",
			    c->ep->cfg.name, RCP_PROTO_MAX_FRAME, (long long)id);
			quic_conn_set_closed(c, "peer sent an oversized frame");
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
			quic_log(c->ep, RCP_LOG_WARN, "%s: stream %lld ended "
			    "inside a frame", c->ep->cfg.name, (long long)id);
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
	if ((s = quic_stream_find(c, id)) != NULL) {
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
		quic_log(ep, RCP_LOG_ERROR, "%s: QUIC peer %s sent no "
		    "certificate: refused", ep->cfg.name, peer);
		quic_conn_set_closed(c, "peer %s sent no certificate", peer);
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
		quic_log(ep, RCP_LOG_ERROR, "%s: QUIC peer %s presented "
		    "certificate SHA256:%s%s%s, which is not the one announced "
		    "over SSH: refusing the connection (possible "
		    "man-in-the-middle attack)", ep->cfg.name, peer, got,
		    want[0] ? ", expected SHA256:" : "", want);
		quic_conn_set_closed(c, "certificate of %s does not match its "
		    "pinned fingerprint (possible man-in-the-middle attack)",
		    peer);
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

/* --- connections --------------------------------------------------------- */

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

uint64_t
quic_idle_ms(const struct rcp_quic_ep *ep)
{
	if (ep->cfg.idle_timeout_ms != 0)
		return ep->cfg.idle_timeout_ms;
	return ep->cfg.profile == RCP_QUIC_DATACENTER ? 10000 : 60000;
}

static void
transport_params(const struct rcp_quic_ep *ep, ngtcp2_transport_params *p)
{
	uint64_t idle = quic_idle_ms(ep);
	bool dc = ep->cfg.profile == RCP_QUIC_DATACENTER;

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
	/*
	 * Over long fat paths BBR keeps the pipe full where CUBIC backs off
	 * on every queue overflow; in a data centre CUBIC is the neighbour
	 * the other flows expect.
	 */
	s->cc_algo = dc ? NGTCP2_CC_ALGO_CUBIC : NGTCP2_CC_ALGO_BBR;
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

struct rcp_quic_conn *
quic_conn_alloc(struct rcp_quic_ep *ep, bool server)
{
	struct rcp_quic_conn *c = rcp_xcalloc(1, sizeof(*c));
	pthread_mutexattr_t ma;

	c->ep = ep;
	c->is_server = server;
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

void
quic_conn_release(struct rcp_quic_conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		conn_destroy(c);
}

/* Makes the ngtcp2 side of a connection.  Loop thread (or before it runs). */
int
quic_conn_init(struct rcp_quic_conn *c, const ngtcp2_cid *dcid,
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
void
quic_ep_add(struct rcp_quic_ep *ep, struct rcp_quic_conn *c)
{
	pthread_mutex_lock(&ep->lock);
	c->next = ep->conns;
	ep->conns = c;
	pthread_mutex_unlock(&ep->lock);
}

/* A first packet from a new client: start a server connection for it. */
struct rcp_quic_conn *
quic_conn_accept(struct rcp_quic_ep *ep, const uint8_t *pkt, size_t len,
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
	c = quic_conn_alloc(ep, true);
	memcpy(&c->remote, from, fromlen);
	c->remotelen = fromlen;
	scid.datalen = SCID_LEN;
	gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
	if (quic_conn_init(c, &hd.scid, &scid, &hd.dcid, hd.version,
	    &cause) != 0) {
		quic_log(ep, RCP_LOG_ERROR, "%s: %s", ep->cfg.name, cause);
		free(cause);
		quic_conn_release(c);
		return NULL;
	}
	quic_ep_add(ep, c);
	return c;
}

/* Says why ngtcp2 gave up on a connection, in words. */
void
quic_conn_failed(struct rcp_quic_conn *c, int rv)
{
	char *peer = rcp_udp_addr_str((struct sockaddr *)&c->remote);
	uint64_t idle = quic_idle_ms(c->ep);

	switch (rv) {
	case NGTCP2_ERR_DRAINING:
		quic_conn_set_closed(c, "%s closed the connection", peer);
		break;
	case NGTCP2_ERR_IDLE_CLOSE:
		quic_conn_set_closed(c, "nothing heard from %s for %u s (idle "
		    "timeout): it is gone or unreachable", peer,
		    (unsigned)(idle / 1000));
		break;
	case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
		quic_conn_set_closed(c, "QUIC handshake with %s timed out",
		    peer);
		break;
	case NGTCP2_ERR_CRYPTO:
		quic_conn_set_closed(c, "TLS handshake with %s failed (alert "
		    "%u)", peer, ngtcp2_conn_get_tls_alert(c->qc));
		ngtcp2_connection_close_error_set_transport_error_tls_alert(
		    &c->last_error, ngtcp2_conn_get_tls_alert(c->qc), NULL, 0);
		break;
	default:
		quic_conn_set_closed(c, "QUIC connection with %s failed: %s",
		    peer, ngtcp2_strerror(rv));
		ngtcp2_connection_close_error_set_transport_error_liberr(
		    &c->last_error, rv, NULL, 0);
		break;
	}
	free(peer);
}
