/*
 * remotecmp.h: rcmp where either tree is [user@]host[:port]:path.  The
 * master starts the two agents (remote.h) as a remote copy does, a local
 * side served by an agent here; the destination agent compares (COMPARE,
 * agent-cmp.c), reading the source tree through the source agent, and
 * sends back each difference, which reaches the caller's diff_fn as a
 * local comparison's would.  With content, each side hashes its own
 * files: only hashes cross the network.
 */
#ifndef RCP_REMOTECMP_H
#define RCP_REMOTECMP_H

#include "engine/cmp.h"
#include "opts/remoteopts.h"

struct rcp_remotecmp;

/*
 * Prepares a comparison of the command-line paths src and dst, at least
 * one of them remote; relative paths are taken relative to cwd (if not
 * NULL), as a remote copy takes them.  co (borrowed until freed) gives
 * the attributes, content, exit_early, threads, diff_fn and its arg, and
 * cancel, which stops the run within about 100 ms once set.  Returns 0
 * and *out; never fails otherwise for now (room for RCP_ERR_INVAL).
 */
int rcp_remotecmp_new(const struct rcp_remotecopy_opts *o,
    const struct rcp_cmp_opts *co, const char *src, const char *dst,
    const char *cwd, struct rcp_remotecmp **out, char **cause);

/*
 * Runs it: starts the agents, compares, finishes them.  Returns as
 * rcp_cmp_run does (0, RCP_ERR_DIFFERENT, RCP_ERR_PARTIAL, ...,
 * RCP_ERR_CANCELED, or diff_fn's code) with *cause set on every non-zero
 * return; an error of the run itself (SSH, an agent lost, an older rcpd
 * without COMPARE: RCP_ERR_VERSION naming its host and version) likewise.
 * stats is filled as far as the destination reported them.
 */
int rcp_remotecmp_run(struct rcp_remotecmp *rc, struct rcp_cmp_stats *stats,
    char **cause);

/* NULL is a no-op. */
void rcp_remotecmp_free(struct rcp_remotecmp *rc);

#endif
