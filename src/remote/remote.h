/*
 * remote.h: the master's side of a remote run.  Starts rcpd on the source
 * and destination hosts over SSH (two agents on one host share one SSH
 * connection), hands each its secrets on stdin, accepts their pinned QUIC
 * connections, introduces the destination to the source, and then relays
 * requests while merging the agents' logs (tagged "source" and
 * "destination") and progress into the caller's.
 */
#ifndef RCP_REMOTE_H
#define RCP_REMOTE_H

#include <stdint.h>

#include "base/log.h"
#include "engine/copy.h"
#include "net/quic.h"
#include "net/ssh.h"
#include "opts/remoteopts.h"

/*
 * The host of a side on this machine: its agent runs here as our child
 * process, not behind an SSH login (messages call it "localhost").
 */
#define RCP_REMOTE_HERE	""

/*
 * Source hosts of one copy: "h1,h2,h3:/path" names hosts that share one
 * file system, each running a source agent the destination reads through.
 */
#define RCP_REMOTE_MAX_SOURCES 16
/* And destination hosts (dstpool.h). */
#define RCP_REMOTE_MAX_DESTS 16

/*
 * Ending a run: an agent has this long to exit on its EOF before it is
 * killed, and its end must be seen this long after the kill, or it is
 * abandoned (its host unreachable): a teardown ends in bounded time.
 */
#define RCP_REMOTE_EXIT_GRACE_MS	3000
#define RCP_REMOTE_KILL_GRACE_MS	3000

/* What an agent reports when it finishes. */
struct rcp_remote_summary {
	int		status;		/* the agent's own (0 ok) */
	int		exit_status;	/* of the rcpd process; -1 unknown */
	uint64_t	wall_ns;
	uint64_t	cpu_ns;
	uint64_t	peak_rss;
	char		host[256];
};

struct rcp_remote;

/*
 * Starts both agents and connects them to each other (either host or both
 * may be RCP_REMOTE_HERE).  0 and *out, or an
 * error with *cause naming the host and what failed (SSH refused, unknown
 * host key, rcpd missing or of another protocol version, QUIC handshake).
 */
int rcp_remote_start(const struct rcp_remote_opts *o, const char *src_host,
    const char *dst_host, struct rcp_remote **out, char **cause);

/*
 * Sends a request to one agent (RCP_ROLE_*) and waits for its reply, which
 * the caller frees.  An ERROR reply becomes RCP_ERR_PROTO with its text in
 * *cause; a dead agent an RCP_ERR_IO naming it.
 */
int rcp_remote_request(struct rcp_remote *r, int role, uint16_t type,
    const void *body, size_t len, struct rcp_quic_msg **reply, int timeout_ms,
    char **cause);

/*
 * Sends COPY (body) to the destination agent and waits for its answer for
 * as long as the copy runs: until the reply, an agent lost, or no change in
 * the destination's counters for o->stall_timeout_ms (RCP_ERR_TIMEOUT
 * naming the stall).  As rcp_remote_request otherwise.
 */
int rcp_remote_copy(struct rcp_remote *r, const void *body, size_t len,
    struct rcp_quic_msg **reply, char **cause);

/*
 * Sends COMPARE (body, cmpwire.h) to the destination agent and waits for
 * its answer as rcp_remote_copy does for a COPY.
 */
int rcp_remote_compare(struct rcp_remote *r, const void *body, size_t len,
    struct rcp_quic_msg **reply, char **cause);

/*
 * Sends the bodies of the destination's CMP_DIFF messages to fn(arg,
 * body, len), from the thread that reads the destination, as
 * rcp_remote_files does for FILES (the same lock, the same rules).
 */
void rcp_remote_diffs(struct rcp_remote *r, void (*fn)(void *arg,
    const void *body, size_t len), void *arg);

/*
 * The rcpd version an agent (RCP_ROLE_*) said it is, and its host as
 * messages name it ("localhost" for one here).  Static strings of r.
 */
const char *rcp_remote_version(struct rcp_remote *r, int role);
const char *rcp_remote_host(struct rcp_remote *r, int role);

/* The last progress counters an agent reported. */
void rcp_remote_progress(struct rcp_remote *r, int role,
    struct rcp_copy_stats *s);

/* Forgets the counters of an earlier copy, before another on the same run. */
void rcp_remote_progress_reset(struct rcp_remote *r);

/*
 * Sends the paths of the destination's FILES messages (the files a COPY
 * with a copied hook copied) to fn(arg, path), from the thread that reads
 * the destination; NULL fn drops them.  Takes the lock fn is called under,
 * so once it returns an earlier fn is no longer called.  The FILES of a
 * copy come before its COPY_DONE: set it before rcp_remote_copy and clear
 * it after, and every file reaches it.
 */
void rcp_remote_files(struct rcp_remote *r, void (*fn)(void *arg,
    const char *path), void *arg);

/*
 * Tells both agents to finish, collects their summaries and exit statuses.
 * 0, or an error if an agent failed or died (*cause names it).
 */
int rcp_remote_finish(struct rcp_remote *r, struct rcp_remote_summary sum[2],
    char **cause);

/* Why an agent is gone (caller frees), or NULL if it is not. */
char *rcp_remote_dead(struct rcp_remote *r, int role);

/*
 * Stops a run from another thread: closes the agents' channels (they read
 * EOF and stop) and connections; a pending request fails.
 */
void rcp_remote_abort(struct rcp_remote *r);

/* Stops everything still running; NULL is a no-op. */
void rcp_remote_free(struct rcp_remote *r);

#endif
