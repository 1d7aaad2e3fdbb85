/*
 * job.h: one job of rcp-master -- a copy, or a remove, hard-linked copy or
 * chmod/chown of rrm, rlink and rchm -- what was asked (kind, sources,
 * destination, options, by whom), where it stands (state, timestamps, counters, the
 * errors of failed entries), and its JSON object, the one clients see and
 * the journal keeps.  A job is owned by the master, which guards its
 * mutable fields with its own lock ("requires the owner's lock" below).
 */
#ifndef RCP_JOB_H
#define RCP_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "engine/copy.h"
#include "engine/walk.h"
#include "opts/cliopts.h"
#include "opts/suiteopts.h"
#include "workers/ledger.h"
#include "workers/pool.h"

/* The longest stall_timeout a job may ask for: rcp's own cap. */
#define RCP_JOB_STALL_MAX	RCP_STALL_MAX_S
/* Bytes of one kept error message. */
#define RCP_JOB_MAX_ERROR_LEN	1024
/* Priorities a client may ask for. */
#define RCP_JOB_PRIO_MIN	(-1000)
#define RCP_JOB_PRIO_MAX	1000
/* The host pair of a local copy, for the per-pair cap. */
#define RCP_JOB_PAIR_LOCAL	"local\u2192local"

/*
 * What a job does: a copy (rcp), or the work of rrm, rlink or rchm on
 * local paths, each with its tool's options (suiteopts.h).  A journal
 * record without a kind is a copy's.
 */
enum {
	RCP_JOB_COPY = 0,
	RCP_JOB_RM,
	RCP_JOB_LINK,
	RCP_JOB_CHMOD,
	RCP_JOB_NKINDS
};

/* The kind's name ("copy", "rm", "link", "chmod"). */
const char *rcp_job_kind_name(int kind);
/* The kind named s, or -1. */
int rcp_job_kind_parse(const char *s);
/* Whether the kind walks its paths (rm, chmod): progress in walk stats. */
bool rcp_job_kind_walks(int kind);

/* Progress as a runner reports it. */
struct rcp_job_progress {
	struct rcp_copy_stats	 s;		/* copy, link */
	struct rcp_walk_stats	 w;		/* rm, chmod */
	uint64_t		 bytes_total;	/* valid if totals */
	uint64_t		 files_total;
	bool			 totals;	/* the source scan finished */
};

struct rcp_job {
	/* Fixed once the job is made. */
	uint64_t		 id;
	int			 kind;		/* RCP_JOB_* */
	uid_t			 uid;		/* the submitter: the job runs as */
	gid_t			 gid;
	char			**srcs;		/* absolute, or host:path */
	size_t			 nsrcs;
	char			*dst;		/* NULL for rm, chmod */
	char			**options;	/* argv-style, as submitted */
	size_t			 noptions;
	char			*cwd;		/* the submitter's, or NULL */
	char			*home;
	mode_t			 umask;
	int			 priority;
	int64_t			 stall_timeout;	/* s without progress before the
						 * job fails; 0: off; -1: the
						 * master's default */
	char			*label;		/* NULL: none */
	char			*key;		/* idempotency key; NULL: none */
	char			*pair;		/* host pair: RCP_JOB_PAIR_LOCAL
						 * or "src→dst" */
	bool			 remote;	/* a side is host:path */
	bool			 record_files;	/* the ledger lists copied files */
	double			 submitted;	/* Unix time, seconds */
	struct rcp_cliopts	 opts;		/* a copy's options parsed, files
						 * deferred; defaults for other
						 * kinds, whose job's process
						 * parses them as their tool */

	/* Where it stands; requires the owner's lock. */
	int			 state;		/* RCP_CTL_* */
	uint64_t		 rev;		/* state changes so far */
	double			 started;	/* 0: not yet */
	double			 finished;
	int			 attempts;	/* times it started running */
	bool			 restart;	/* ran before: skip what is done */
	bool			 cancel_requested;
	struct rcp_job_progress	 progress;
	double			 rate;		/* bytes a second, smoothed */
	uint64_t		 rate_ns;	/* monotonic time of last sample */
	uint64_t		 rate_bytes;
	uint64_t		 moved_ns;	/* monotonic time its counters last
						 * changed (or it started) */
	bool			 stalled;	/* the watchdog stopped it */
	char			*error;		/* why the job failed, or NULL */
	char			**errors;	/* first failed entries */
	size_t			 nerrors;
	uint64_t		 errors_total;
	char			**warnings;	/* the engine's first notices */
	size_t			 nwarnings;
	struct rcp_ledger_counts ledger;	/* what its ledger holds (all
						 * attempts), as of the last
						 * tick */
	char			*ledger_error;	/* why the ledger is short */

	/* The master's. */
	struct rcp_pool_item	 item;		/* while queued */
	void			*runner;	/* while running; owner's lock */
};

/* Who sends a submit: from SO_PEERCRED. */
struct rcp_job_who {
	uid_t	uid;
	gid_t	gid;
};

/* Frees j and all it owns; NULL is a no-op. */
void rcp_job_free(struct rcp_job *j);

/*
 * The entries a job has dealt with: files copied, unchanged or linked for
 * a copy; entries removed (rm) or changed (chmod); files linked or copied,
 * directories and symlinks made (link).
 */
uint64_t rcp_job_entries_done(const struct rcp_job *j);

/*
 * Makes a job from the members of a submit request (kind, sources, destination,
 * options, priority, label, key, cwd, home, umask) sent by who: relative
 * paths are resolved against cwd, "~" against home, options are parsed
 * as rcp parses them.  The job's id and submission time are left to the
 * caller.  Remote paths (host:path) are kept as given.  Returns 0 with
 * *out (caller frees); or an RCP_CTL_E_* code (> 0) with *cause set
 * (caller frees): "invalid_argument" naming the member or option.
 */
int rcp_job_from_request(const json_t *req, const struct rcp_job_who *who,
    struct rcp_job **out, char **cause);

/* The options of a job of rrm, rlink or rchm, and the strings s points to. */
struct rcp_job_suiteopts {
	struct rcp_suiteopts	 s;
	char			**argv;
	size_t			 argc;
};
/*
 * Parses the n options of a job of kind (rm, link or chmod) into o as its
 * tool would (o initialized here: release it with
 * rcp_job_suiteopts_release whatever this returns), refusing operands,
 * --help, --version and --filter-file (which would be read by whoever
 * parses).  Returns 0, or RCP_ERR_INVAL with *cause set (caller frees).
 * Any thread.
 */
int rcp_job_suite_options(int kind, const char *const *options, size_t n,
    struct rcp_job_suiteopts *o, char **cause);
void rcp_job_suiteopts_release(struct rcp_job_suiteopts *o);

/*
 * Returns the job's JSON object (a new reference): id, state, the counters
 * and the rest, as doc/ctl-protocol.md describes; the journal keeps the
 * same object.  Requires the owner's lock.
 */
json_t *rcp_job_to_json(const struct rcp_job *j);

/*
 * Makes a job back from its JSON object (as read from the journal).
 * Returns 0 with *out (caller frees), or RCP_ERR_PROTO with *cause set
 * if a member is missing or wrong.
 */
int rcp_job_from_json(const json_t *o, struct rcp_job **out, char **cause);

/*
 * Parses j->options into j->opts as rcp would (--filter-file files are not
 * read yet), after j was read back with rcp_job_from_json.  Returns 0 or
 * RCP_ERR_INVAL with *cause set.
 */
int rcp_job_parse_options(struct rcp_job *j, char **cause);

/*
 * Records a runner's progress at monotonic time now_ns and updates the
 * rate, and moved_ns if a counter changed.  Requires the owner's lock.
 */
void rcp_job_set_progress(struct rcp_job *j, const struct rcp_job_progress *p,
    uint64_t now_ns);

/* Records the error of a failed entry (bounded).  Requires the owner's lock. */
void rcp_job_add_error(struct rcp_job *j, const char *msg);
/*
 * Records one notice of the engine (a warning: what is not kept, such as
 * xattrs a user may not copy); the first RCP_CTL_MAX_WARNINGS are kept.
 * Requires the job table's lock.
 */
void rcp_job_add_warning(struct rcp_job *j, const char *msg);

/* Returns the current Unix time in seconds. */
double rcp_job_now(void);

#endif
