/*
 * jobtab.h: rcp-master's jobs: the table of every job kept, the worker
 * pool that runs them (a global cap: the number of workers; a cap per
 * host pair; priorities, FIFO within one), and the journal that makes
 * them survive the daemon.  All of it behind one lock; the control loop
 * (src/master.c) calls in from its thread, the pool's workers from theirs.
 * No call here waits on a job, on the network or on an agent: the lock
 * is never held across I/O, a cancel only asks (the job's own threads
 * act on it), and whatever may block -- ending kept agents, compacting
 * the journal, the stall watchdog's cancels -- runs on the table's own
 * housekeeping thread.  A submit or cancel writes (and fsyncs) the
 * journal in the caller's thread, as the protocol promises.
 *
 * Who may see a job: its submitter, and root.
 */
#ifndef RCP_JOBTAB_H
#define RCP_JOBTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/log.h"
#include "control/ctlproto.h"
#include "workers/job.h"

/* Jobs queued or running at once; a submit past it gets "busy". */
#define RCP_JOBTAB_MAX_LIVE	1000000

struct rcp_jobtab_opts {
	const char		*state_dir;	/* journal and lock file */
	int			 workers;	/* jobs running at once */
	int			 pair_cap;	/* per host pair; 0: workers */
	uint64_t		 keep_ns;	/* finished jobs kept this long */
	uint64_t		 ledger_max;	/* bytes of one job's ledger; 0:
						 * RCP_LEDGER_DEFAULT_MAX */
	uint64_t		 session_idle_ns; /* agents kept between remote
						 * jobs this long; 0: not */
	uint64_t		 stall_ns;	/* a running job whose counters
						 * stay still this long fails;
						 * 0: never (a job's own
						 * stall_timeout wins) */
	const struct rcp_log	*log;		/* copied; its fn thread-safe */
	/* Called, without the lock, whenever a job changes state. */
	void			(*notify)(void *arg);
	void			*notify_arg;
	/* Called every second from the housekeeping thread, without the lock. */
	void			(*tick)(void *arg);
	void			*tick_arg;
};

struct rcp_jobtab;

/*
 * The upper bounds (seconds) of the submit-to-start histogram of
 * rcp_jobtab_stats' "start_wait" (its "buckets" count the waits <= each;
 * +Inf is its "count").
 */
#define RCP_JOBTAB_WAIT_BUCKETS	7
extern const double rcp_jobtab_wait_le[RCP_JOBTAB_WAIT_BUCKETS];

/*
 * Locks the state directory (creating it, mode 0700), reads and compacts
 * the journal (jobs that were running are queued again, to run with
 * --overwrite so that what is already copied is skipped), starts the
 * workers and queues the queued jobs, and the housekeeping thread: every
 * second it fails the running jobs that have stalled (see stall_ns), and
 * every 10 s forgets finished jobs older than keep_ns, ends idle kept
 * agents and compacts the journal when it has grown well past what it
 * holds.  A forgotten job's ledger goes with it; ledgers of no job kept
 * are removed at the start.  Returns 0 with *out (free with
 * rcp_jobtab_free), or an error with *cause set (caller frees).
 */
int rcp_jobtab_new(const struct rcp_jobtab_opts *o, struct rcp_jobtab **out,
    char **cause);

/*
 * Stops (see rcp_jobtab_stop, without requeue, if not stopped yet), waits
 * for the running jobs to end and frees everything.  NULL is a no-op.
 */
void rcp_jobtab_free(struct rcp_jobtab *t);

/*
 * Takes n jobs made by rcp_job_from_request: each gets an id and is
 * journaled (one fsync for all) and queued, unless a job of the same user
 * with the same key exists: that one stands for it.  Takes ownership of
 * the jobs in every case.  Returns 0 with *result a new array of
 * {"job": ..., "duplicate": bool} objects; or an RCP_CTL_E_* code (> 0)
 * with *cause set ("shutting_down", "busy", "internal").
 */
int rcp_jobtab_submit(struct rcp_jobtab *t, struct rcp_job **jobs, size_t n,
    json_t **result, char **cause);

/*
 * Returns a new reference to the JSON object of job id if uid may see it,
 * else NULL.  *state, if not NULL, gets its state.
 */
json_t *rcp_jobtab_get(struct rcp_jobtab *t, uint64_t id, uid_t uid,
    int *state);

/* Returns the state of job id if uid may see it, else -1. */
int rcp_jobtab_state(struct rcp_jobtab *t, uint64_t id, uid_t uid);

/* Which jobs rcp_jobtab_list returns. */
struct rcp_jobtab_query {
	uid_t		 uid;		/* those this user may see */
	const bool	*states;	/* states[state]; NULL: all */
	const char	*label;		/* NULL: any */
	uint64_t	 after;		/* ids above this only; 0: from the
					 * start, or the last limit */
	size_t		 limit;		/* if > 0 and after is 0: start at the
					 * limit-th last one */
	size_t		 page;		/* at most this many (1 to
					 * RCP_CTL_LIST_PAGE) */
	size_t		 max_bytes;	/* and about this many bytes of JSON
					 * (one job at least) */
};

/*
 * Returns a new array of the jobs q picks, in id order: one page.  *more
 * is true if others follow, *next the id to pass as q->after for them.
 * Holds the lock while it makes the page, never longer.
 */
json_t *rcp_jobtab_list(struct rcp_jobtab *t, const struct rcp_jobtab_query *q,
    bool *more, uint64_t *next);

/*
 * Cancels job id for uid: a queued job ends canceled at once; a running
 * one is told to stop (and ends canceled within a second or two).  Returns
 * 0 with *job (new reference); or an RCP_CTL_E_* code with *cause set:
 * "not_found" (no job uid may see) or "already_finished".
 */
int rcp_jobtab_cancel(struct rcp_jobtab *t, uint64_t id, uid_t uid,
    json_t **job, char **cause);

/*
 * Reads one page of job id's ledger for uid (ledger.h): holds the lock only
 * to find the job, and reads the file after.  Returns 0 with *result, a new
 * {"entries": [...], "more": bool, "next": cursor, "state", "record_files",
 * "ledger": counts, "ledger_error"}; or an RCP_CTL_E_* code with *cause
 * set: "not_found" (no job uid may see), "invalid_argument" (a cursor past
 * the end), "internal" (the file cannot be read).
 */
int rcp_jobtab_files(struct rcp_jobtab *t, uint64_t id, uid_t uid,
    const struct rcp_ledger_page *q, json_t **result, char **cause);

/* Returns a new object: queue length, running, workers, throughput... */
json_t *rcp_jobtab_stats(struct rcp_jobtab *t);

/*
 * Stops starting jobs and refuses submits.  With requeue, running jobs are
 * stopped and journaled as queued, to run again (skipping what is done) at
 * the next start; without, they run to their end.  Queued jobs stay queued
 * in the journal either way.  Does not wait.  Any thread.
 */
void rcp_jobtab_stop(struct rcp_jobtab *t, bool requeue);

/* Returns the number of jobs running now.  Any thread. */
size_t rcp_jobtab_running(struct rcp_jobtab *t);

#endif
