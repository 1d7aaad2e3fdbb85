/*
 * rm.h: the engine of rrm, a parallel recursive remove on the tree walk
 * (walk.h).  A library: the rrm program and, later, a job of the service
 * run it the same way (rcp_rm_new, rcp_rm_run, rcp_rm_stats from any
 * thread, rcp_rm_cancel from any thread or a signal handler).
 *
 * Safety: every removal is unlinkat() relative to the open parent
 * directory, directories are entered with O_NOFOLLOW, so nothing outside
 * the roots is ever removed, whatever changes under the run: a symlink is
 * removed itself, never what it points to.  A directory is removed once
 * its entries are gone, and only if none was kept (filtered, too new, or
 * failed) and it is old enough itself.
 */
#ifndef RCP_RM_H
#define RCP_RM_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "engine/walk.h"

struct rcp_rm_opts {
	struct rcp_walk_opts	 walk;		/* statx_mask is set by rm.c */
	uint64_t		 modified_before_ns; /* 0: no age filter */
	uint64_t		 created_before_ns;
};

struct rcp_rm;

/* Returns a new remove with a copy of opts and log.  Free with
 * rcp_rm_free. */
struct rcp_rm *rcp_rm_new(const struct rcp_rm_opts *opts,
    const struct rcp_log *log);
void rcp_rm_free(struct rcp_rm *rm);
/*
 * Removes each path (its last component never followed), blocking.
 * Returns 0, RCP_ERR_PARTIAL (some entry failed or a path was missing,
 * each logged) or RCP_ERR_CANCELED.  Call once.
 */
int rcp_rm_run(struct rcp_rm *rm, const char *const *paths, size_t n);
/* Any thread; async-signal-safe. */
void rcp_rm_cancel(struct rcp_rm *rm);
/* Any thread, any time: files = non-directories removed, dirs = removed. */
void rcp_rm_stats(struct rcp_rm *rm, struct rcp_walk_stats *out);

#endif
