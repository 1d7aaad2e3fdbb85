/*
 * quic-int.h: what the files of the QUIC module share, for them only: the
 * endpoint and connection structures with their locking rules, the limits
 * more than one file needs, and the functions that cross between quic.c
 * (endpoints, the application side), quic-conn.c (a connection's ngtcp2
 * and TLS side, set-up and teardown) and quic-io.c (the socket and the
 * loop thread).  Helpers on the per-packet path are static inline here, so
 * that splitting the module adds no call to it.
 */
#ifndef RCP_QUIC_INT_H
#define RCP_QUIC_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include "net/quic.h"

#define NS_PER_MS 1000000ull

/* The largest UDP payload over IPv4, and so the largest GSO batch. */
#define UDP_MAX_DGRAM 65507
/* Handshakes in progress a server accepts at once. */
#define MAX_PENDING 16
#define RXBUF (UDP_MAX_DGRAM + 1024)
/*
 * Our connection IDs all have this length: short-header packets do not say
 * how long their DCID is, so the receiver must know it.
 */
#define SCID_LEN 16

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
	ngtcp2_duration		 rtt_seen[3];	/* latest, smoothed, var */

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

/* Wakes ep's loop thread.  Any thread. */
static inline void
quic_wake(struct rcp_quic_ep *ep)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(ep->wakefd, &one, sizeof(one));
	(void)n;
}

/* The stream of c with this id, or NULL.  requires c->lock */
static inline struct qstream *
quic_stream_find(struct rcp_quic_conn *c, int64_t id)
{
	struct qstream *s;

	for (s = c->streams; s != NULL; s = s->next)
		if (s->id == id)
			return s;
	return NULL;
}

/* quic.c */

/* Logs through ep's configured log. */
void quic_log(struct rcp_quic_ep *ep, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* quic-conn.c */

/*
 * Marks c closed with a reason (first one wins) and wakes its waiters.
 * Takes c->lock.
 */
void quic_conn_set_closed(struct rcp_quic_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends stream id to c's streams; c owns it.  requires c->lock */
struct qstream *quic_stream_add(struct rcp_quic_conn *c, int64_t id,
    bool opened);
/* A connection of ep with one reference, the loop's; no ngtcp2 side yet. */
struct rcp_quic_conn *quic_conn_alloc(struct rcp_quic_ep *ep, bool server);
/* Drops a reference to c; the last one frees it. */
void quic_conn_release(struct rcp_quic_conn *c);
/*
 * Makes the ngtcp2 and TLS side of c (odcid: servers only).  Loop thread,
 * or before the loop knows c.  0 or error with *cause.
 */
int quic_conn_init(struct rcp_quic_conn *c, const ngtcp2_cid *dcid,
    const ngtcp2_cid *scid, const ngtcp2_cid *odcid, uint32_t version,
    char **cause);
/* Adds c to ep's loop.  The loop then owns the reference c was made with. */
void quic_ep_add(struct rcp_quic_ep *ep, struct rcp_quic_conn *c);
/*
 * A first packet from a new client: starts a server connection for it and
 * adds it to ep's loop, which owns it.  The connection, or NULL if refused.
 * Loop thread.
 */
struct rcp_quic_conn *quic_conn_accept(struct rcp_quic_ep *ep,
    const uint8_t *pkt, size_t len, const struct sockaddr_storage *from,
    socklen_t fromlen);
/* Closes c saying, in words, why ngtcp2 gave up on it (rv).  Loop thread. */
void quic_conn_failed(struct rcp_quic_conn *c, int rv);
/* The idle timeout this endpoint offers (its configuration or default). */
uint64_t quic_idle_ms(const struct rcp_quic_ep *ep);

/* quic-io.c */

/* Sizes ep's socket buffers, turns on GRO and path MTU discovery. */
void quic_socket_tune(struct rcp_quic_ep *ep);
/* The loop thread of an endpoint (arg); returns once ep->stop is set. */
void *quic_loop(void *arg);

#endif
