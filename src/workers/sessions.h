/*
 * sessions.h: the agent pairs of rcp-master kept between remote jobs.
 *
 * Starting a remote copy costs an SSH login, two rcpd processes and three
 * QUIC handshakes: far more than copying a few small files.  A job that
 * ends cleanly hands its pair of agents back here, keyed by the hosts and
 * every option that shaped their start; the next job with the same key
 * takes it instead of starting its own.  A session serves one job at a
 * time.  Idle sessions end after the idle time, and at most max_idle of
 * them are kept (the oldest go first).  Only jobs that run in the master's
 * own process use this: the agents run as the master's user.
 *
 * A session's log goes to whichever job holds it (rcp_session_log).
 */
#ifndef RCP_SESSIONS_H
#define RCP_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "remote/remote.h"

struct rcp_sessions;
struct rcp_session;

/* idle_ns 0: no session outlives its job. */
struct rcp_sessions *rcp_sessions_new(uint64_t idle_ns, int max_idle);
/* Ends every idle session and frees s; none may be taken.  NULL ok. */
void rcp_sessions_free(struct rcp_sessions *s);

/*
 * Sets *out to a session for a copy from src_host to dst_host with options
 * o (o->log is replaced by the session's own): a live idle one with the
 * same key, else one just started; *reused says which.  Returns 0, or the
 * error of rcp_remote_start with *cause set.
 */
int rcp_sessions_take(struct rcp_sessions *s, const struct rcp_remote_opts *o,
    const char *src_host, const char *dst_host, struct rcp_session **out,
    bool *reused, char **cause);

/* The session's agents. */
struct rcp_remote *rcp_session_remote(struct rcp_session *x);

/* Sends the session's log to log (copied; NULL: nowhere) until changed. */
void rcp_session_log(struct rcp_session *x, const struct rcp_log *log);

/*
 * Gives x back: kept idle if reusable and s keeps sessions, else ended.
 */
void rcp_sessions_give(struct rcp_sessions *s, struct rcp_session *x,
    bool reusable);

/* Ends idle sessions older than the idle time or whose agents died. */
void rcp_sessions_expire(struct rcp_sessions *s);

/* Idle sessions now (for stats and tests). */
int rcp_sessions_idle(struct rcp_sessions *s);

#endif
