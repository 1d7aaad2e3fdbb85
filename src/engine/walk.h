/*
 * walk.h: the parallel tree walk that rrm and rchm share.  A library, like
 * the copy engine: no global state, no exit(), no printing; records go to a
 * struct rcp_log, progress is read with rcp_walk_stats() and a run stopped
 * with rcp_walk_cancel(), from any thread.
 *
 * A pool of worker threads lists directories with getdents64 and hands
 * every entry to the caller's operations, fd-relative: each call gets the
 * open parent directory and the entry's name (bytes), so trees deeper than
 * PATH_MAX work and no path is ever resolved again.  Directories are
 * opened with O_NOFOLLOW|O_DIRECTORY: a directory swapped for a symlink
 * under the walk is not descended but handed to the file operation as the
 * symlink it now is.  Symlinks are never followed, roots included.
 *
 * Filters (--include/--exclude) are applied by the walk: an excluded entry
 * is never given to the operations and its directory counts as kept; a
 * directory that is only traversed to reach included entries is descended
 * but not itself given to dir_pre/dir_post.
 */
#ifndef RCP_WALK_H
#define RCP_WALK_H

#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"

struct rcp_filter;
struct rcp_walk;

struct rcp_walk_opts {
	int			 max_workers;	/* 0: one per CPU */
	int			 max_open_files; /* accepted, as rcp's: a walk
						 * holds one fd per directory
						 * being walked (about the
						 * depth, plus one a worker) */
	bool			 fail_early;
	int			 dry_run;	/* RCP_DRY_* (copy.h) */
	const struct rcp_filter	*filter;	/* borrowed; NULL: none */
	double			 ops_throttle;	/* entries a second; 0: none */
	double			 iops_throttle;	/* accepted, as rcp's; walks do
						 * no data I/O */
	unsigned		 statx_mask;	/* STATX_* the operations need;
						 * 0: no stat per entry */
	bool			 dot_roots;	/* roots may be '/', '.', '..':
						 * walked as the directory they
						 * name, handed to dir_pre/post
						 * as "." of it (rchm; never
						 * rrm, which refuses them) */
};

/* One entry, as the operations see it; valid during the call only. */
struct rcp_walk_ent {
	int			 dirfd;		/* the open parent directory */
	const char		*name;		/* in dirfd, bytes */
	int			 fd;		/* a directory: itself, open;
						 * else -1 */
	unsigned char		 type;		/* DT_DIR, DT_REG, DT_LNK, ... */
	const struct statx	*stx;		/* NULL unless statx_mask */
	bool			 kept_child;	/* dir_post: something below was
						 * kept (filtered, failed, left) */
	const void		*node;		/* the walk's own, for
						 * rcp_walk_path */
};

/* What an operation did with an entry. */
enum {
	RCP_WALK_DONE = 0,	/* acted on (or would have, in a dry run) */
	RCP_WALK_KEEP = 1,	/* left in place: its parent counts it kept */
	RCP_WALK_SKIP = 2,	/* left alone, counted skipped by whoever
				 * said so; from dir_pre: not descended */
	RCP_WALK_FAIL = -1	/* failed: logged with rcp_walk_fail */
};

struct rcp_walk_ops {
	/* A non-directory entry (or a directory that is no longer one). */
	int (*file)(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e);
	/* A directory, open, before its entries; NULL: descend.  It is
	 * descended unless this returns RCP_WALK_SKIP; without dir_post,
	 * what this returns is the directory's result. */
	int (*dir_pre)(void *ctx, struct rcp_walk *w,
	    const struct rcp_walk_ent *e);
	/* A directory after all its entries; e->fd still open; NULL: none. */
	int (*dir_post)(void *ctx, struct rcp_walk *w,
	    const struct rcp_walk_ent *e);
};

struct rcp_walk_stats {
	uint64_t	files;		/* non-directories acted on */
	uint64_t	dirs;		/* directories acted on */
	uint64_t	kept;		/* left alone: too new, unchanged */
	uint64_t	skipped;	/* filtered out, no birth time */
	uint64_t	errors;
	uint64_t	entries;	/* seen, all kinds */
};

/* Fills o with the defaults. */
void rcp_walk_opts_init(struct rcp_walk_opts *o);

/*
 * Returns a new walk with a copy of opts (filter borrowed) and log
 * (log->fn thread-safe) calling ops with ctx from its worker threads (any
 * number at once, so ops must be thread-safe).  Free with rcp_walk_free.
 */
struct rcp_walk *rcp_walk_new(const struct rcp_walk_opts *opts,
    const struct rcp_log *log, const struct rcp_walk_ops *ops, void *ctx);
void rcp_walk_free(struct rcp_walk *w);

/*
 * Walks each root (a path whose last component is never followed; "." and
 * ".." and "/" are refused unless dot_roots), blocking until done.  Returns 0 if every
 * entry was handled; RCP_ERR_PARTIAL if some failed or a root was missing
 * (each logged with its cause); RCP_ERR_CANCELED if rcp_walk_cancel
 * stopped it.  Call once per walk.
 */
int rcp_walk_run(struct rcp_walk *w, const char *const *roots, size_t n);

/* Asks a running walk to stop soon.  Any thread; async-signal-safe. */
void rcp_walk_cancel(struct rcp_walk *w);
/* Copies a snapshot of the counters to out.  Any thread, any time. */
void rcp_walk_stats(struct rcp_walk *w, struct rcp_walk_stats *out);
/* The options the walk runs with (dry_run, for the operations). */
const struct rcp_walk_opts *rcp_walk_options(const struct rcp_walk *w);
/* The log the walk reports to, for the operations' own records. */
const struct rcp_log *rcp_walk_log(const struct rcp_walk *w);

/* Returns the path of e as the user gave its root, escaped for display;
 * caller frees. */
char *rcp_walk_path(const struct rcp_walk *w, const struct rcp_walk_ent *e);
/*
 * Logs "cannot WHAT 'PATH': strerror(err)" (err an errno) and counts an
 * error; stops the walk with fail_early.  Returns RCP_WALK_FAIL.
 */
int rcp_walk_fail(struct rcp_walk *w, const struct rcp_walk_ent *e,
    const char *what, int err);
/*
 * Reports an action on e: in a dry run "dry-run: ACTION 'PATH'" (with
 * ": WHY" under explain) as output, else at debug level (-vv).
 */
void rcp_walk_report(struct rcp_walk *w, const struct rcp_walk_ent *e,
    const char *action, const char *why);
/* Whether rcp_walk_report prints anything: callers may skip formatting
 * its why when not. */
bool rcp_walk_reports(const struct rcp_walk *w);
/* Counts an entry skipped (logged by the caller, if at all). */
void rcp_walk_count_skip(struct rcp_walk *w);

/*
 * Age filters (--modified-before, --created-before): cutoffs on the real
 * clock, taken once by rcp_walk_age_init.  The walk's statx_mask must hold
 * STATX_MTIME and STATX_BTIME (RCP_WALK_AGE_MASK).
 */
struct rcp_walk_age {
	bool		 modified;	/* filter on mtime */
	bool		 created;	/* filter on birth time */
	struct timespec	 mcut;		/* older than this passes */
	struct timespec	 ccut;
};
#define RCP_WALK_AGE_MASK (STATX_MTIME | STATX_BTIME)

/* Sets the cutoffs: now minus each age, 0 for no filter on it. */
void rcp_walk_age_init(struct rcp_walk_age *a, uint64_t modified_before_ns,
    uint64_t created_before_ns);
/* Whether a filter is set. */
bool rcp_walk_age_any(const struct rcp_walk_age *a);
/*
 * Returns RCP_WALK_DONE if e is old enough by every filter set,
 * RCP_WALK_KEEP if not (reported under --dry-run explain), or
 * RCP_WALK_SKIP if it has no birth time and one is needed (logged as a
 * warning, counted skipped).
 */
int rcp_walk_age_check(struct rcp_walk *w, const struct rcp_walk_age *a,
    const struct rcp_walk_ent *e);

/* A progress line: "ELAPSED VERB N files, N dirs, kept N, errors N". */
struct rcp_buf;
void rcp_walk_progress_text(struct rcp_buf *b, const struct rcp_walk_stats *s,
    const char *verb, uint64_t elapsed_ns);
/* The summary block; verb names the action ("removed"). */
void rcp_walk_summary(struct rcp_buf *b, const struct rcp_walk_stats *s,
    const char *verb, uint64_t wall_ns, uint64_t cpu_ns, uint64_t peak_rss);

#endif
