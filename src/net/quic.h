/*
 * quic.h: the QUIC transport between rcp and its agents (ngtcp2 + GnuTLS).
 *
 * Every endpoint has an ephemeral self-signed certificate made at start-up;
 * both ends of every connection pin the other's SHA-256 certificate
 * fingerprint, learnt over the trusted SSH channel.  A wrong fingerprint
 * fails the handshake and is logged as a possible man in the middle.
 *
 * An endpoint is one UDP socket served by one thread, which alone touches
 * its ngtcp2 connections: it polls the socket and a wake fd with the timeout
 * of the earliest connection expiry.  Other threads talk to a connection
 * through queues: they send framed messages (wire.h) on bidirectional
 * streams and receive them, whole, with rcp_quic_recv.  Flow control
 * credit is returned only as the application takes messages, so a slow
 * reader slows the sender instead of growing memory.
 */
#ifndef RCP_QUIC_H
#define RCP_QUIC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/log.h"
#include "net/cert.h"
#include "net/transport.h"
#include "net/udp.h"
#include "net/wire.h"

/* --- configuration ------------------------------------------------------- */

struct rcp_quic_config {
	struct rcp_cert		*cert;		/* borrowed */
	int				 profile;
	uint32_t			 conn_timeout_ms; /* handshake; 0: default */
	uint32_t			 idle_timeout_ms; /* 0: default */
	uint32_t			 keepalive_ms;	/* 0: default */
	const struct rcp_udp_ports	*ports;		/* NULL: any port */
	const struct rcp_log		*log;
	const char			*name;		/* for messages */
	/*
	 * A client's connection is usable once its handshake completes
	 * (1 RTT; the server's pin checked), not when the server confirms
	 * it (2 RTT).  Only for a caller whose first exchange awaits the
	 * server's answer: that is where a server that refused our
	 * certificate shows, as the connection closing.
	 */
	bool				 early_open;
};

/* Fills c with the defaults of the datacenter profile. */
void rcp_quic_config_init(struct rcp_quic_config *c);

/* --- endpoints and connections ------------------------------------------- */

struct rcp_quic_ep;
struct rcp_quic_conn;

/*
 * Starts a server endpoint on addr (its port comes from cfg->ports).  Only
 * clients whose fingerprint was passed to rcp_quic_ep_allow get through the
 * handshake.  0 or error with *cause.
 */
int rcp_quic_listen(const struct rcp_quic_config *cfg,
    const struct sockaddr *addr, socklen_t len, struct rcp_quic_ep **out,
    char **cause);
/* Allows clients presenting fp.  Any thread. */
void rcp_quic_ep_allow(struct rcp_quic_ep *ep, const uint8_t *fp);
/* The address the endpoint is bound to. */
void rcp_quic_ep_addr(struct rcp_quic_ep *ep, struct sockaddr_storage *ss,
    socklen_t *len);
/*
 * Waits for the next connection whose handshake (and pinning) succeeded.
 * 0 and *out (free with rcp_quic_conn_free), RCP_ERR_TIMEOUT, or an error.
 */
int rcp_quic_accept(struct rcp_quic_ep *ep, int timeout_ms,
    struct rcp_quic_conn **out, char **cause);
/* Stops the endpoint's thread and closes its socket.  NULL is a no-op. */
void rcp_quic_ep_free(struct rcp_quic_ep *ep);

/*
 * Connects to addr, expecting the server certificate fp.  Blocks until the
 * handshake is done.  0 and *out, or an error with *cause (timeout,
 * fingerprint mismatch, refused).
 */
int rcp_quic_connect(const struct rcp_quic_config *cfg,
    const struct sockaddr *addr, socklen_t len, const uint8_t *fp,
    struct rcp_quic_conn **out, char **cause);

/* Opens a new bidirectional stream.  Any thread.  0 or error. */
int rcp_quic_stream_open(struct rcp_quic_conn *c, int64_t *stream);
/*
 * Queues one framed message on a stream.  The body is copied.  Blocks while
 * more than the connection's send budget is queued and unacknowledged, up
 * to timeout_ms (-1: forever).  0, RCP_ERR_TIMEOUT, or an error if the
 * connection or stream is gone.  Any thread.
 */
int rcp_quic_send(struct rcp_quic_conn *c, int64_t stream, uint16_t type,
    uint32_t id, const void *body, size_t len, int timeout_ms);
/* As rcp_quic_send, but takes ownership of body (malloc'ed; freed later). */
int rcp_quic_send_owned(struct rcp_quic_conn *c, int64_t stream,
    uint16_t type, uint32_t id, void *body, size_t len, int timeout_ms);
/* Ends our side of a stream after what is queued.  0 or error. */
int rcp_quic_stream_fin(struct rcp_quic_conn *c, int64_t stream);
/* Waits until everything sent was acknowledged.  0 or error. */
int rcp_quic_flush(struct rcp_quic_conn *c, int timeout_ms);

struct rcp_quic_msg {
	struct rcp_quic_msg	*next;
	int64_t			 stream;
	bool			 fin;	/* the peer ended the stream; no frame */
	struct rcp_wire_frame	 f;
	uint32_t		 credit;	/* private */
};

/*
 * Takes the next message from any stream.  0 and *out (free with
 * rcp_quic_msg_free), RCP_ERR_TIMEOUT, or an error once the connection is
 * closed and nothing is left to read (rcp_quic_conn_error says why).
 */
int rcp_quic_recv(struct rcp_quic_conn *c, struct rcp_quic_msg **out,
    int timeout_ms);
void rcp_quic_msg_free(struct rcp_quic_msg *m);

/* Returns why the connection closed (static to the conn), or NULL if open. */
const char *rcp_quic_conn_error(struct rcp_quic_conn *c);
/* The peer's address. */
void rcp_quic_conn_peer(struct rcp_quic_conn *c, struct sockaddr_storage *ss,
    socklen_t *len);
/* The verified certificate fingerprint of the peer (RCP_CERT_FP_LEN). */
void rcp_quic_conn_peer_fp(struct rcp_quic_conn *c, uint8_t *fp);
/* Closes the connection (CONNECTION_CLOSE with an application code). */
void rcp_quic_close(struct rcp_quic_conn *c, uint64_t app_error);
/* Closes if needed and frees; a client's private endpoint goes too. */
void rcp_quic_conn_free(struct rcp_quic_conn *c);

/*
 * Half the idle timeout, the lease of a writer that works for its peer: it
 * writes only while its peer has heard it (heard_ns) within the lease, and
 * the peer, having given up on it, takes its work over only a lease after
 * it last heard it (recv_ns), so their writes never overlap.  Both ends
 * must have the same idle timeout (the master gives every agent its own).
 */
uint64_t rcp_quic_conn_lease_ns(struct rcp_quic_conn *c);

/* Transfer statistics of a connection. */
struct rcp_quic_stats {
	uint64_t	bytes_sent;	/* UDP payload bytes */
	uint64_t	bytes_recv;
	uint64_t	pkts_sent;
	uint64_t	pkts_recv;
	uint64_t	sendmsg_calls;
	uint64_t	recv_ns;	/* when a packet last came (monotonic) */
	/*
	 * The peer has heard this side as of this time: when the newest
	 * packet it acknowledged was sent (0: none yet).  Unlike recv_ns it
	 * holds still when only the way to the peer is cut.
	 */
	uint64_t	heard_ns;
	size_t		max_pkt;	/* packet size in use */
	bool		gso;
	int		rcvbuf;		/* socket buffers granted */
	int		sndbuf;
};
void rcp_quic_conn_stats(struct rcp_quic_conn *c, struct rcp_quic_stats *s);

#endif
