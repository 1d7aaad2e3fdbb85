/*
 * quic-io.c: an endpoint's UDP socket and the loop thread that serves it
 * (quic.c): the write path, which packs the packets of ngtcp2 into GSO
 * batches, the read path, which splits GRO batches and feeds each datagram
 * to its connection, and the loop that polls the socket and the wake fd and
 * runs each connection's timers and requests.  Loop thread only.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ngtcp2/ngtcp2.h>

#include "base/error.h"
#include "base/util.h"
#include "net/quic.h"
#include "net/quic-int.h"

#include "base/banned.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* The kernel takes at most this many GSO segments in one send. */
#define GSO_MAX_SEGS 64
/* Socket buffers asked for (SO_*BUFFORCE when root). */
#define SOCKBUF (16 << 20)

/* --- sockets ------------------------------------------------------------- */

void
quic_socket_tune(struct rcp_quic_ep *ep)
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
	quic_log(ep, ep->rcvbuf < SOCKBUF ? RCP_LOG_WARN : RCP_LOG_DEBUG,
	    "%s: UDP socket buffers granted: receive %d KiB, send %d KiB "
	    "(asked for %d KiB)", ep->cfg.name, ep->rcvbuf / 2048,
	    ep->sndbuf / 2048, SOCKBUF / 1024);
	ep->gso = true;
	if (setsockopt(ep->fd, IPPROTO_UDP, UDP_GRO, &one, sizeof(one)) != 0)
		quic_log(ep, RCP_LOG_DEBUG, "%s: no UDP GRO: %s", ep->cfg.name,
		    strerror(errno));
	v = IP_PMTUDISC_DO;
	if (ep->local.ss_family == AF_INET6)
		setsockopt(ep->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
	else
		setsockopt(ep->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
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
		quic_log(ep, RCP_LOG_DEBUG, "%s: sendmsg of %zu bytes "
		    "(segments of %zu): %s", ep->cfg.name, len, seg,
		    strerror(errno));
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
			quic_log(ep, RCP_LOG_DEBUG, "%s: UDP GSO refused; "
			    "sending packets one by one", ep->cfg.name);
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
			quic_conn_set_closed(c, "internal error: stream id "
			    "%lld, expected %lld", (long long)id,
			    (long long)s->id);
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
			quic_conn_set_closed(c, "QUIC write failed: %s",
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

/*
 * After a packet of len bytes is read (ok: and taken by ngtcp2): counted;
 * when it came; and, if it gave ngtcp2 a new round-trip sample (an ACK of
 * the newest packet acknowledged so far), when that packet left, which the
 * peer has therefore heard.  A sample equal in all three figures to the
 * last is missed, which errs early.
 */
static void
heard(struct rcp_quic_conn *c, size_t len, bool ok, uint64_t now)
{
	ngtcp2_conn_stat cs;
	bool sample = false;

	if (ok) {
		ngtcp2_conn_get_conn_stat(c->qc, &cs);
		sample = cs.first_rtt_sample_ts != UINT64_MAX &&
		    (cs.latest_rtt != c->rtt_seen[0] ||
		    cs.smoothed_rtt != c->rtt_seen[1] ||
		    cs.rttvar != c->rtt_seen[2]) && cs.latest_rtt < now;
		c->rtt_seen[0] = cs.latest_rtt;
		c->rtt_seen[1] = cs.smoothed_rtt;
		c->rtt_seen[2] = cs.rttvar;
	}
	pthread_mutex_lock(&c->lock);
	c->st.bytes_recv += len;
	c->st.pkts_recv++;
	if (ok)
		c->st.recv_ns = now;
	if (sample)
		c->st.heard_ns = now - cs.latest_rtt;
	pthread_mutex_unlock(&c->lock);
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
	uint64_t now;
	int rv;

	rv = ngtcp2_pkt_decode_version_cid(&vc, pkt, len, SCID_LEN);
	if (rv != 0)
		return;		/* not QUIC, or a version we do not speak */
	c = find_conn(ep, vc.dcid, vc.dcidlen);
	if (c == NULL) {
		if (!ep->server ||
		    (c = quic_conn_accept(ep, pkt, len, from, fromlen)) == NULL)
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
	now = rcp_now_ns();
	rv = ngtcp2_conn_read_pkt(c->qc, &path, &pi, pkt, len, now);
	heard(c, len, rv == 0, now);
	if (rv != 0) {
		quic_conn_failed(c, rv);
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
				quic_conn_set_closed(ep->conns, "%s is not "
				    "listening any more (its process is gone)",
				    peer);
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
		quic_conn_set_closed(c, "connection closed by this side");
		return;
	}
	if (ngtcp2_conn_get_expiry(c->qc) <= rcp_now_ns()) {
		rv = ngtcp2_conn_handle_expiry(c->qc, rcp_now_ns());
		if (rv != 0) {
			quic_conn_failed(c, rv);
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
			quic_conn_release(c);
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

void *
quic_loop(void *arg)
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
			quic_conn_set_closed(c, "endpoint shut down");
		}
	}
	reap(ep);
	return NULL;
}
