/*
 * runner-int.h: what the files of the runner share and nothing outside
 * them may use: the runner object, the fds and exit codes of a job's
 * process, and the helpers that both the parent side of a job's process
 * (runner-proc.c) and users' hosts (runner-uhost.c) start and read it with.
 *
 * Include it after "workers/runner.h", whose types it uses: it does not
 * include that header itself, for runner.c (the module of runner.h)
 * includes this one, and the layer check allows no include cycle.
 *
 * A job's process reports through a pipe as JSON lines:
 *	{"t":"p", "s":[counters], "bt":bytes, "ft":files, "tk":bool,
 *	 "w":[files, dirs, kept, skipped, errors, entries]}	("w": rm, chmod)
 *	{"t":"e", "m":"cannot open 'x': Permission denied"}
 *	{"t":"f", "p":"/dst/x", "p_b64":...}	(a file copied: record_files)
 *	{"t":"end", "r":result, "c":cause or null}
 * tagged "j":ID when they come from a user's host, where result is the
 * run's error code in the wire encoding of error.h (0, a positive errno,
 * or -n for an RCP_ERR_*), as on the agents' wire.
 */
#ifndef RCP_RUNNER_INT_H
#define RCP_RUNNER_INT_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "control/ctlproto.h"

struct rcp_cliopts;
struct rcp_copy;
struct rcp_filter;

/* The fds of a job's process: reports out, the job in, this program. */
#define CHILD_FD 3
#define SPEC_FD 4
#define EXE_FD 5
/* A job's description bigger than this is not one of ours. */
#define RCP_CHILD_MAX_SPEC (64u << 20)
/* How a job's process that could not start says why (its exit status). */
enum {
	CHILD_E_SETUP = 120,
	CHILD_E_GROUPS,
	CHILD_E_GID,
	CHILD_E_UID,
	CHILD_E_CHECK,
	CHILD_E_PARENT,
	CHILD_E_EXEC
};

/*
 * A cancel only sets canceled: it is asked for by threads that must never
 * wait (the master's job table, under its lock, for its control loop).  The
 * run's own threads act on it: the ticker of a run in this process
 * (runner-local.c), which may block in a remote abort without holding
 * anything of the caller's; the loop that reads a job's process.
 */
struct rcp_runner {
	const struct rcp_runner_spec	*spec;
	struct rcp_runner_hooks		 hooks;
	atomic_bool			 canceled;
};

/* --- runner-local.c --------------------------------------------------------- */

/* Set by SIGTERM in a job's process: its run cancels itself. */
extern volatile sig_atomic_t runner_term;

/*
 * Runs r's job in this process, whichever process that is.  Returns as
 * rcp_runner_run.
 */
int runner_local_run(struct rcp_runner *r, char **cause);

/* --- runner-suite.c -------------------------------------------------------- */

/*
 * Runs r's job of rrm, rlink or rchm (spec->kind) in this process, its
 * options parsed here as the tool parses them.  Returns as rcp_runner_run.
 */
int runner_suite_run(struct rcp_runner *r, char **cause);

/* --- runner-scan.c ---------------------------------------------------------- */

/*
 * Counts the regular files, and their bytes, of the local sources of spec
 * that filter lets through (NULL: all), through fds, so trees deeper than
 * PATH_MAX count too.  Stops early once *stop turns true.  Returns true
 * with *files and *bytes set if every source was counted; false if the scan
 * stopped or a source (or a directory below it) could not be read.
 */
bool runner_scan(const struct rcp_runner_spec *spec,
    const struct rcp_filter *filter, atomic_bool *stop, uint64_t *files,
    uint64_t *bytes);

/* --- runner-proc.c ---------------------------------------------------------- */

/* Everything the child needs between fork and exec, made before fork. */
struct exec_args {
	int		 report_fd;	/* write end of the report pipe */
	int		 spec_fd;	/* memfd holding the job as JSON */
	int		 exe_fd;	/* this program */
	bool		 become;	/* switch to uid/gid/groups */
	uid_t		 uid;
	gid_t		 gid;
	const gid_t	*groups;
	int		 ngroups;
	mode_t		 umask;
	pid_t		 parent;
	char		*argv[3];
	char		**envp;
};

/* What the parent learnt from its child. */
struct child_state {
	struct rcp_runner	*r;
	bool			 ended;
	int			 result;
	char			*cause;
};

/*
 * Fills a for a process of spec's user, named argv0; *groups (and a->envp,
 * with runner_free_env) to free after the fork.
 */
void runner_exec_args_init(struct exec_args *a,
    const struct rcp_runner_spec *spec, char *argv0, gid_t **groups);
void runner_free_env(char **env);
/*
 * The child between fork and exec: becomes a's user with a's fds in place
 * and execs this program; async-signal-safe calls only.  Never returns.
 */
void runner_child_exec(const struct exec_args *a) __attribute__((noreturn));
/* Returns the job as a job's process reads it (a new reference). */
json_t *runner_spec_json(const struct rcp_runner_spec *spec);

/* A job as a job's process reads it back (runner_spec_parse). */
struct runner_job {
	int		  kind;		/* RCP_JOB_* */
	char		**srcs;
	size_t		  nsrcs;
	char		 *dst;		/* NULL: rm, chmod */
	char		 *cwd;		/* NULL: none given */
	const char	**options;	/* as submitted; borrowed from the JSON */
	size_t		  noptions;
	mode_t		  umask;
	bool		  restart;
	bool		  record_files;
};

/*
 * Reads what runner_spec_json wrote into *j, every size checked against
 * the caps of ctlproto.h.  j->options point into o, which must outlive *j.
 * 0, or RCP_ERR_INVAL with *cause (caller frees); release *j either way.
 */
int runner_spec_parse(const json_t *o, struct runner_job *j, char **cause);
/*
 * Parses j's options into co (initialized by the caller) as rcp would,
 * with --filter-file names kept, not read.  0 or RCP_ERR_INVAL with *cause.
 */
int runner_job_opts(const struct runner_job *j, struct rcp_cliopts *co,
    char **cause);
void runner_job_release(struct runner_job *j);
/* Hands one report of a job's process to cs and its runner's hooks. */
void runner_child_message(struct child_state *cs, const json_t *m);
/*
 * Waits up to timeout_ms (-1: for ever) for reports on fd and hands each
 * JSON line to fn (lines that are not JSON are skipped).  Returns true to
 * go on, false once the writer has closed its end.
 */
bool runner_read_reports(struct rcp_ctl_reader *in, int fd, int timeout_ms,
    void (*fn)(void *arg, const json_t *m), void *arg);
/* Runs r's job in a process of its own.  Returns as rcp_runner_run. */
int runner_separate_run(struct rcp_runner *r, char **cause);

/* --- runner-uhost.c --------------------------------------------------------- */

/* Runs a remote job of another user in that user's host in hs. */
int runner_uhost_run(struct rcp_uhosts *hs, struct rcp_runner *r,
    char **cause);

#endif
