/*
 * agent-int.h: what the parts of rcpd share, for them alone: the agent's
 * state (struct rcp_agent) and the requests of each role.  agent.c runs
 * the agent (start-up, the master's requests, the stdin watcher);
 * agent-source.c serves the destination, agent-dest.c runs the copy
 * against the remote source.
 */
#ifndef RCP_AGENT_INT_H
#define RCP_AGENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "net/cert.h"
#include "net/proto.h"
#include "net/quic.h"

/* Source agents a destination reads through, after the first. */
#define RCP_AGENT_MORE_MAX 15
/* Destination agents a source serves (the hosts of one copy's). */
#define RCP_AGENT_DCONN_MAX 16

struct rcp_agent_opts;
struct rcp_copy;
struct rcp_copy_stats;
struct rcp_srccache;
struct rcp_srcclient;

/*
 * One per rcpd, on rcp_agent_run's stack: every thread that sees it (the
 * source's server, the destination's progress pump, the stdin watcher)
 * is joined before rcp_agent_run returns.
 */
struct rcp_agent {
	const struct rcp_agent_opts *o;
	struct rcp_cert	*cert;
	struct rcp_quic_conn	*master;	/* control connection; requires
						 * lock (rcp_agent_master) */
	int64_t			 ctrl;		/* request stream */
	int64_t			 logs;		/* our log/progress stream */
	uint8_t			 token[RCP_TOKEN_LEN];
	struct rcp_quic_ep	*ep;		/* source: for the destination */
	struct rcp_quic_conn	*peer;		/* the other agent; requires
						 * lock (rcp_agent_peer) */
	struct rcp_srcclient	*sr;		/* destination: reads the source
						 * for every copy of the run */
	char			*src_host;	/* destination: the source's host
						 * and rcpd version, from PEER */
	char			*src_version;	/* (NULL: an older master) */
	/*
	 * Destination: the source agents after the first, of hosts that
	 * share its file system (a PEER each); a copy then reads through
	 * all of them (srcmux.h).  more[] requires lock, as peer does.
	 */
	struct rcp_agent_more {
		struct rcp_quic_conn	*conn;
		struct rcp_srcclient	*sr;
		char			*host;
		char			*version;
	}			 more[RCP_AGENT_MORE_MAX];
	size_t			 nmore;
	/*
	 * Destination: the helpers, destination agents on more hosts of its
	 * file system that copy data it hands them (dstpool.h); a PEER
	 * each, as more[].
	 */
	struct rcp_agent_more	 helpers[RCP_AGENT_MORE_MAX];
	size_t			 nhelpers;
	/* A helper: the connection of the destination agent it helps;
	 * requires lock. */
	struct rcp_quic_conn	*lead;
	/*
	 * Source: the destination agents' connections, each served by its
	 * thread; the number the master allowed (requires lock) and when
	 * it last allowed one.  Written by the accepting thread only, under
	 * lock for dconns[] and ndconns; the threads' fields are read by
	 * others once it is joined.
	 */
	struct rcp_quic_conn	*dconns[RCP_AGENT_DCONN_MAX];
	pthread_t		 dthreads[RCP_AGENT_DCONN_MAX];
	bool			 dstarted[RCP_AGENT_DCONN_MAX];
	size_t			 ndconns;
	size_t			 dallowed;
	uint64_t		 dallowed_ns;
	struct rcp_srccache *_Atomic cache;	/* source: the read-ahead */
	pthread_t		 peer_thread;	/* source: takes in the
						 * destinations; helper: serves
						 * the one it helps */
	bool			 peer_started;
	atomic_bool		 stop;
	struct rcp_copy		*copy;		/* destination: the running
						 * copy; requires lock */
	uint64_t		 start_ns;
	struct rcp_log		 log;		/* forwards to the master */
	/*
	 * Guards master, peer and copy, which the stdin watcher closes and
	 * cancels from its thread, and orders the sends on the logs stream.
	 */
	pthread_mutex_t		 lock;
	pthread_t		 watcher;
	bool			 watching;	/* watcher runs; wake is open */
	int			 wake[2];	/* closing wake[1] stops it */
};

/*
 * The connection to the master, or NULL; takes a->lock.  Only
 * rcp_agent_run frees it, at its end, once the threads that might still
 * use it are joined: a thread of the agent may use what it got after the
 * lock is dropped.
 */
static inline struct rcp_quic_conn *
rcp_agent_master(struct rcp_agent *a)
{
	struct rcp_quic_conn *c;

	pthread_mutex_lock(&a->lock);
	c = a->master;
	pthread_mutex_unlock(&a->lock);
	return c;
}

/* The connection to the other agent, or NULL; as rcp_agent_master. */
static inline struct rcp_quic_conn *
rcp_agent_peer(struct rcp_agent *a)
{
	struct rcp_quic_conn *c;

	pthread_mutex_lock(&a->lock);
	c = a->peer;
	pthread_mutex_unlock(&a->lock);
	return c;
}

/*
 * Sets a->peer or a->master (what) to c and returns what it was; takes
 * a->lock.
 */
static inline struct rcp_quic_conn *
rcp_agent_swap_conn(struct rcp_agent *a, struct rcp_quic_conn **what,
    struct rcp_quic_conn *c)
{
	struct rcp_quic_conn *old;

	pthread_mutex_lock(&a->lock);
	old = *what;
	*what = c;
	pthread_mutex_unlock(&a->lock);
	return old;
}

/* --- the source (agent-source.c) ----------------------------------------- */

/*
 * Listens for the destination agent (a->ep), where the master reached this
 * host over SSH unless a->o->bind_addr says otherwise.  0 or an error with
 * *cause.
 */
int rcp_agent_source_listen(struct rcp_agent *a,
    const struct sockaddr_storage *master, socklen_t mlen, char **cause);
/*
 * Checks a new connection's HELLO, answering HELLO_OK: a destination agent
 * of this run (to a source, or to a helper).  0, or an error (logged; the
 * connection is freed).
 */
int rcp_agent_take_destination(struct rcp_agent *a, struct rcp_quic_conn *c);
/* Tells the master where we listen and our certificate.  0 or an error. */
int rcp_agent_source_announce(struct rcp_agent *a);
/*
 * PEER: allows the destination's certificate fp and starts the thread that
 * serves it (a->peer_thread).  0 or an error with *cause.
 */
int rcp_agent_source_peer(struct rcp_agent *a, const uint8_t *fp,
    char **cause);
/* SRC_PREFETCH: starts the read-ahead of m's paths, once a run. */
int rcp_agent_source_prefetch(struct rcp_agent *a,
    const struct rcp_quic_msg *m, char **cause);

/* --- a destination helper (agent-helper.c) ------------------------------- */

/*
 * PEER with no address, to a helper: allows the certificate fp of the
 * destination agent it helps and starts the thread that serves its
 * DST_RANGE requests (a->peer_thread).  0 or an error with *cause.
 */
int rcp_agent_helper_peer(struct rcp_agent *a, const uint8_t *fp,
    char **cause);

/* --- the destination (agent-dest.c) -------------------------------------- */

/*
 * PEER of a helper, to the destination: connects to it at addr, pinning
 * fp, says HELLO, and keeps it in a->helpers (host and version taken).
 * 0 or an error with *cause.
 */
int rcp_agent_dest_helper(struct rcp_agent *a, const char *addr,
    const uint8_t *fp, char *host, char *version, char **cause);

/*
 * PEER: connects to the source agent at addr, pinning fp, and says HELLO.
 * 0 or an error with *cause.
 */
int rcp_agent_dest_peer(struct rcp_agent *a, bool more, const char *addr,
    const uint8_t *fp, char **cause);
/* SELFTEST: echoes through the source; the counts go to reply. */
int rcp_agent_dest_selftest(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause);
/*
 * COPY: runs the engine here, reading the source through its agent, with
 * progress to the master.  0 with the outcome in reply, or an error with
 * *cause if the request was bad.
 */
/* Sends the master a PROGRESS with st (agent-dest.c). */
void rcp_agent_send_progress(struct rcp_agent *a,
    const struct rcp_copy_stats *st);
int rcp_agent_dest_copy(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause);
/*
 * COMPARE (agent-cmp.c): runs the comparison, sending each difference to
 * the master as it is found; the COMPARE_DONE body goes in reply.  0, or
 * an error with *cause for a request it cannot run (then no reply).
 */
int rcp_agent_dest_compare(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause);

#endif
