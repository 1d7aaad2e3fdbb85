/*
 * copy.h: the copy engine.  A library, not a program: no global state, no
 * exit(), no printing.  The caller passes options, receives log records
 * through a struct rcp_log (called from worker threads), reads progress with
 * rcp_copy_stats() from any thread, and may stop a run with
 * rcp_copy_cancel() from any thread.  Several copies may run at once in one
 * process, each with its own struct rcp_copy.
 *
 * Semantics (those of cp -r and the upstream rcp tools):
 *  - DST without a trailing '/' is the final name of the single source;
 *    with one, each source is copied into DST keeping its name.
 *  - An existing destination fails up front unless overwrite or
 *    ignore_existing is set; existing directories are then merged.
 *  - Per entry: data, then chown, chmod, times; a directory's metadata is
 *    applied only after everything below it is done.
 *  - A file's size and mtime match the source's only once all its data is
 *    there: chunks of a large file land before its last chunk, and times
 *    are set last.
 *  - With verify, each range is hashed on both sides after it is written
 *    (the source's side where the data lives) and copied again while the
 *    hashes differ, twice at most; a file that still differs is removed
 *    and counted as an error, so it never looks complete.
 */
#ifndef RCP_COPY_H
#define RCP_COPY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/log.h"
#include "fs/meta.h"

struct rcp_filter;

/* What --verify re-reads the destination from. */
enum {
	RCP_VERIFY_NONE = 0,
	RCP_VERIFY_CACHE,	/* the page cache: checks what was written */
	RCP_VERIFY_REREAD	/* storage: fdatasync, drop the cache, read */
};

enum {
	RCP_DRY_NONE = 0,
	RCP_DRY_BRIEF,		/* only the summary of what would happen */
	RCP_DRY_ALL,		/* one line per action */
	RCP_DRY_EXPLAIN		/* one line per entry, with the reason */
};

struct rcp_copy_opts {
	int			 max_workers;	/* 0: one per CPU */
	int			 max_open_files; /* 0: 80% of RLIMIT_NOFILE */
	bool			 overwrite;
	bool			 ignore_existing;
	struct rcp_attrs	 overwrite_compare; /* equal: left alone */
	struct rcp_preserve	 preserve;
	bool			 dereference;	/* -L: follow symlinks */
	bool			 fail_early;	/* stop at the first error */
	bool			 skip_specials;	/* FIFOs, sockets, devices */
	bool			 hard_links;	/* -H: keep hard links */
	bool			 delete;	/* remove what the source lacks */
	bool			 delete_excluded;
	int			 dry_run;	/* RCP_DRY_* */
	const struct rcp_filter	*filter;	/* borrowed; NULL: no filter */
	double			 ops_throttle;	/* entries a second; 0: none */
	double			 iops_throttle;	/* chunk-size I/Os a second */
	uint64_t		 chunk_size;	/* split unit for large files */
	mode_t			 umask;		/* the process umask */
	const char		*src_host;	/* borrowed: errors about the source
						 * name it ("h:path"); NULL: here */
	int			 verify;	/* RCP_VERIFY_* */
	const char		*manifest;	/* borrowed: xxh128sum lines of
						 * the files copied; NULL none */
	/* rlink (local sources only): regular files become hard links to
	 * the source's instead of copies. */
	bool			 link_files;
	/* rlink --update: borrowed path of a tree laid over the source
	 * root: a regular file there equal to the source's by link_compare
	 * is hard-linked from it, others are copied.  NULL: none. */
	const char		*link_dest;
	struct rcp_attrs	 link_compare;
	/*
	 * Called from the engine's threads with the destination path of
	 * each file copied (hard links too), not in a dry run; NULL: none.
	 */
	void			(*copied)(void *arg, const char *path);
	void			*copied_arg;
};

struct rcp_copy_stats {
	uint64_t	bytes_copied;
	uint64_t	files_copied;
	uint64_t	dirs_created;
	uint64_t	symlinks_created;
	uint64_t	specials_created;
	uint64_t	hard_links_created;
	uint64_t	files_unchanged;
	uint64_t	dirs_unchanged;
	uint64_t	symlinks_unchanged;
	uint64_t	removed;
	uint64_t	skipped;
	uint64_t	errors;
	/* Fields are added here, at the end: the wire carries them in order. */
	uint64_t	files_verified;	/* every range's hashes agreed */
	uint64_t	bytes_verified;
	uint64_t	verify_mismatches; /* ranges whose hashes differed */
};
/* rlink's hard links to the source's files count as hard_links_created. */

/* Default chunk size: large files are split into pieces of this size. */
#define RCP_COPY_CHUNK_DEFAULT (16u << 20)

/* Fills o with the defaults (compare size,mtime; preserve mode only). */
void rcp_copy_opts_init(struct rcp_copy_opts *o);

/*
 * Returns a new copy with a private copy of opts (filter still borrowed) and
 * log (log->fn must be thread-safe).  Free with rcp_copy_free.
 */
struct rcp_copy *rcp_copy_new(const struct rcp_copy_opts *opts,
    const struct rcp_log *log);
void rcp_copy_free(struct rcp_copy *c);

/*
 * Copies srcs to dst, blocking until done.  Returns 0 if every entry was
 * copied; RCP_ERR_PARTIAL if some failed (each was logged with its cause);
 * RCP_ERR_CANCELED if rcp_copy_cancel stopped it; another error, with *cause
 * set (caller frees), if the copy could not start (bad destination, missing
 * sources, existing destination without overwrite).  Call once per copy.
 */
int rcp_copy_run(struct rcp_copy *c, const char *const *srcs, size_t nsrcs,
    const char *dst, char **cause);

struct rcp_src_ops;
/*
 * Reads the source through ops (srcfs.h) instead of the local file system;
 * call before rcp_copy_run.  ctx is passed to every op.
 */
void rcp_copy_set_source(struct rcp_copy *c, const struct rcp_src_ops *ops,
    void *ctx);

/* Asks a running copy to stop soon.  Any thread; async-signal-safe. */
void rcp_copy_cancel(struct rcp_copy *c);

/* Copies a snapshot of the counters to out.  Any thread, any time. */
void rcp_copy_stats(struct rcp_copy *c, struct rcp_copy_stats *out);

/*
 * Expands a leading "~" or "~/" in path to home.  Returns a new string the
 * caller frees; "~user" forms are returned unchanged.
 */
char *rcp_copy_expand_home(const char *path, const char *home);

#endif
