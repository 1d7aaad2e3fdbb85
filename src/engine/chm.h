/*
 * chm.h: the engine of rchm, a parallel chmod/chown on the tree walk
 * (walk.h).  A library, as rm.h: the rchm program and, later, a job of the
 * service run it the same way.
 *
 * Specs are lists separated by blanks, each item optionally prefixed by
 * the type it applies to: "f:" files (regular and special), "d:"
 * directories, "l:" symlinks (owner and group only, by lchown; Linux
 * symlinks have no mode).  An item without a prefix applies to every
 * type it can: a mode to files and directories, an owner or group to
 * files, directories and symlinks (as chown -R does).  Symlinks are never
 * followed.  A directory is changed before its entries (through its open
 * fd, so it is still listed if the new mode denies reading), or after
 * them with defer_dir_changes.
 */
#ifndef RCP_CHM_H
#define RCP_CHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/log.h"
#include "engine/walk.h"

struct rcp_chm_opts {
	struct rcp_walk_opts	 walk;		/* statx_mask is set by chm.c */
	const char		*mode;		/* spec, or NULL */
	const char		*owner;		/* spec: names or ids, or NULL */
	const char		*group;
	bool			 defer_dir_changes;
	bool			 no_setid;	/* files never keep or gain
						 * setuid/setgid */
	mode_t			 umask;		/* for modes without [ugoa] */
	uint64_t		 modified_before_ns;
	uint64_t		 created_before_ns;
};

struct rcp_chm;

/*
 * Returns 0 with *out a new engine (free with rcp_chm_free), or
 * RCP_ERR_INVAL with *cause set (caller frees) for a bad spec, an unknown
 * user or group, or no change asked for.
 */
int rcp_chm_new(const struct rcp_chm_opts *opts, const struct rcp_log *log,
    struct rcp_chm **out, char **cause);
void rcp_chm_free(struct rcp_chm *c);
/* Changes each path and everything below it, blocking.  Returns 0,
 * RCP_ERR_PARTIAL or RCP_ERR_CANCELED, as rcp_rm_run. */
int rcp_chm_run(struct rcp_chm *c, const char *const *paths, size_t n);
/* Any thread; async-signal-safe. */
void rcp_chm_cancel(struct rcp_chm *c);
/* files/dirs: entries changed; kept: already as asked, or too new. */
void rcp_chm_stats(struct rcp_chm *c, struct rcp_walk_stats *out);

#endif
