/*
 * runner.h: runs one local copy job of rcp-master with the copy engine, as
 * the job's submitter, and reports its progress.
 *
 * Threads cannot safely carry different credentials, so a job of another
 * user (or with another umask) runs in a child process that drops to the
 * submitter's uid, gid and supplementary groups, checks that it did, and
 * execs this same program afresh (the daemon's other threads may hold
 * locks a forked copy would inherit) to run the job; it streams its
 * counters and the errors of failed entries back over a pipe, and the
 * calling thread owns it: cancel sends it SIGTERM, then SIGKILL after a
 * grace period.  A job of the daemon's own user runs in the calling
 * thread's process.
 *
 * Meanwhile a scan of the sources counts their files and bytes, so that
 * progress can show totals and an ETA once the scan is done.
 */
#ifndef RCP_RUNNER_H
#define RCP_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "opts/cliopts.h"
#include "workers/job.h"

struct rcp_sessions;
struct rcp_uhosts;

/* How often progress is reported while a job runs. */
#define RCP_RUNNER_TICK_MS	250
/* After SIGTERM, how long a job's process has before SIGKILL. */
#define RCP_RUNNER_GRACE_MS	3000

struct rcp_runner_spec {
	int			 kind;		/* RCP_JOB_* (job.h): a copy, or
						 * rrm's, rlink's or rchm's work
						 * on local paths (runner-suite.c) */
	const char *const	*srcs;		/* absolute paths or host:path */
	size_t			 nsrcs;
	const char		*dst;		/* NULL: rm, chmod */
	const struct rcp_cliopts *opts;		/* filter files not read yet */
	uid_t			 uid;		/* run as */
	gid_t			 gid;
	mode_t			 umask;
	bool			 separate;	/* in a child process */
	int			 exe_fd;	/* separate: rcp_runner_exe_open */
	char *const		*options;	/* separate: as submitted */
	size_t			 noptions;
	const char		*cwd;		/* separate: for --filter-file */
	bool			 restart;	/* ran before: overwrite, and take
						 * a file of the right size (and
						 * mtime, with -p) as done */
	bool			 record_files;	/* report each copied file
						 * (hooks' file) */
	int			 max_open_files; /* 0: engine default */
	struct rcp_sessions	*sessions;	/* remote: agents kept between
						 * jobs; NULL: its own */
	struct rcp_uhosts	*uhosts;	/* separate and remote: run in
						 * the user's host (below) */
};

struct rcp_runner_hooks {
	/* Progress, every tick and once at the end. */
	void	(*progress)(void *arg, const struct rcp_job_progress *p);
	/* Each error record of the engine (a failed entry). */
	void	(*error)(void *arg, const char *msg);
	void	*arg;
	/* Each notice (warning) of the engine; NULL: not wanted. */
	void	(*warning)(void *arg, const char *msg);
	/* With spec's record_files: each file copied (its destination path). */
	void	(*file)(void *arg, const char *path);
};

struct rcp_runner;

/*
 * Returns a new runner for spec (borrowed until rcp_runner_free, with
 * everything it points to) reporting through hooks (copied; called from
 * the thread of rcp_runner_run, its progress ticker and engine threads).
 */
struct rcp_runner *rcp_runner_new(const struct rcp_runner_spec *spec,
    const struct rcp_runner_hooks *hooks);
/* Frees r after its run returned; NULL is a no-op. */
void rcp_runner_free(struct rcp_runner *r);

/*
 * Runs the job in the calling thread until it ends.  Returns 0 if every
 * entry was copied, RCP_ERR_PARTIAL if some failed, RCP_ERR_CANCELED after
 * rcp_runner_cancel, or another error with *cause set (caller frees) if
 * the copy could not start or its process died.  Call once.
 */
int rcp_runner_run(struct rcp_runner *r, char **cause);

/*
 * Remote copies, for the runners of a program that can run them: the
 * light rcp-job (another user's local job) links without SSH and QUIC, so
 * remote copies come in through this table, which rcp-master fills with
 * rcp_runner_enable_remote() (runner-remote.c).  Without it a remote job
 * fails with an error.
 */
struct rcp_runner_remote_ops {
	/* Prepares the copy of spec with the copy options o, logging to log. */
	int	(*start)(const struct rcp_runner_spec *spec,
		    const struct rcp_copy_opts *o, const struct rcp_log *log,
		    void **out, char **cause);
	/* Runs it to its end; *final gets the last counters. */
	int	(*run)(void *rc, struct rcp_runner *r, const struct rcp_log *log,
		    struct rcp_copy_stats *final, char **cause);
	void	(*progress)(void *rc, struct rcp_copy_stats *s);
	void	(*abort)(void *rc);
	void	(*free)(void *rc);
	/* The agents kept between jobs (sessions.h), for a user's host. */
	struct rcp_sessions *(*sessions_new)(uint64_t idle_ns, int max_idle);
	void	(*sessions_expire)(struct rcp_sessions *s);
	void	(*sessions_free)(struct rcp_sessions *s);
};
extern const struct rcp_runner_remote_ops *rcp_runner_remote;
void rcp_runner_enable_remote(void);
/* Whether the run was asked to stop. */
bool rcp_runner_canceled(struct rcp_runner *r);

/*
 * Users' hosts: a remote job of another user runs in a process of that
 * user that stays after it (a "host"), serving the user's next remote jobs
 * with the same SSH connections and agents, as jobs of the daemon's own
 * user are served in the daemon.  A host with no job for idle_ns ends
 * (rcp_uhosts_expire, from housekeeping); all end with rcp_uhosts_free,
 * once no job runs.
 */
struct rcp_uhosts *rcp_uhosts_new(uint64_t idle_ns);
void rcp_uhosts_expire(struct rcp_uhosts *hs);
void rcp_uhosts_free(struct rcp_uhosts *hs);

/*
 * Opens rcp-job, the light program for local jobs of other users: next to
 * this program, else in RCP_PKGLIBEXECDIR; only a regular file of root or
 * of ours that nobody else may write.  Returns the fd, or -1 if there is
 * none (then such jobs run in this program, which starts slower).
 */
int rcp_runner_job_exe_open(void);

/* Asks the run to stop soon.  Any thread, any time before _free. */
void rcp_runner_cancel(struct rcp_runner *r);

/*
 * Returns the supplementary groups of user uid (whose primary group is
 * gid) in a new array (caller frees) and their number in *n; just gid if
 * the user has no passwd entry.
 */
gid_t *rcp_runner_groups(uid_t uid, gid_t gid, int *n);

/*
 * Returns an fd (close-on-exec) of this program, from which job processes
 * are started; or RCP_ERR_IO with *cause set.  Open it once, early.
 */
int rcp_runner_exe_open(char **cause);

/* The argument that makes a program's main() call rcp_runner_child_main. */
#define RCP_RUNNER_CHILD_ARG "--rcp-runner-child"

/*
 * The main of a job's process: every program that runs separate jobs
 * (rcp-master, the unit tests) calls it when argv[1] is
 * RCP_RUNNER_CHILD_ARG, and exits with what it returns.
 */
int rcp_runner_child_main(void);

#endif
