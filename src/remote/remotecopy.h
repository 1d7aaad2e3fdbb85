/*
 * remotecopy.h: a copy where either side is [user@]host[:port]:path.  The
 * master (rcp, or a job of rcp-master) starts the two agents (remote.h),
 * asks the destination agent to copy, shows the progress it reports, and
 * collects both agents' summaries.  A local side of a remote copy is served
 * by an agent too, reached over SSH to the local host.
 */
#ifndef RCP_REMOTECOPY_H
#define RCP_REMOTECOPY_H

#include <stdbool.h>

#include "engine/copy.h"
#include "opts/remoteopts.h"
#include "remote/remote.h"

struct rcp_filter;

/* Runtime figures of one host, for the summary. */
struct rcp_remotecopy_result {
	struct rcp_copy_stats		stats;	/* the destination's counters (its
					 * last progress if it never answered) */
	struct rcp_remote_summary	hosts[2]; /* source, destination */
	bool				have_hosts;
};

struct rcp_remotecopy;

/*
 * Splits a command-line path into its host (*host: RCP_REMOTE_HERE or
 * o->local_host for a local one) and returns the path to give that host's
 * agent, a relative one taken relative to cwd.
 */
char *rcp_remotecopy_side(const struct rcp_remotecopy_opts *o,
    const char *arg, const char *cwd, char **host);

/*
 * Prepares a copy of srcs to dst (command-line paths, any of them remote).
 * Relative remote paths are taken relative to cwd.  With copy's copied
 * hook, the destination reports each file it copied, and the hook is
 * called with its path there (from a thread of the run, before the run
 * returns).  0 or RCP_ERR_INVAL with *cause (sources on several hosts,
 * for one).
 */
int rcp_remotecopy_new(const struct rcp_remotecopy_opts *o,
    const struct rcp_copy_opts *copy, const struct rcp_filter *filter,
    const char *const *srcs, size_t nsrcs, const char *dst, const char *cwd,
    struct rcp_remotecopy **out, char **cause);

/*
 * Runs it: starts the agents, copies, finishes.  Returns what the engine
 * on the destination returned (0, RCP_ERR_PARTIAL, ...) or an error of its
 * own with *cause naming what failed (an agent that died, SSH).  res is
 * filled as far as the run got.
 */
int rcp_remotecopy_run(struct rcp_remotecopy *rc,
    struct rcp_remotecopy_result *res, char **cause);

/*
 * Runs it on agents already started (rcp_remote_start with o->remote and
 * the hosts rcp_remotecopy_host names) and leaves them running: a service
 * keeps them for its next copy between the same hosts.  *reusable says
 * whether r may serve another copy (both agents there, the destination
 * answered, no abort); if not, the caller frees it.  Returns as
 * rcp_remotecopy_run; res has no host summaries.
 */
int rcp_remotecopy_run_on(struct rcp_remotecopy *rc, struct rcp_remote *r,
    struct rcp_remotecopy_result *res, bool *reusable, char **cause);

/* The host of the source or the destination (RCP_ROLE_*) agent. */
const char *rcp_remotecopy_host(const struct rcp_remotecopy *rc, int role);

/* The destination's latest counters.  Any thread. */
void rcp_remotecopy_progress(struct rcp_remotecopy *rc,
    struct rcp_copy_stats *s);

/* Stops a run from another thread: the agents see their channels close. */
void rcp_remotecopy_abort(struct rcp_remotecopy *rc);

void rcp_remotecopy_free(struct rcp_remotecopy *rc);

#endif
