/*
 * runner-proc.c: the parent's side of a job's process.  Threads cannot
 * carry different credentials, so a job of another user (or with another
 * umask) runs in a child that drops to the submitter's uid, gid and groups,
 * checks that it did, and execs a program afresh (the parent's other
 * threads may hold locks a forked copy would inherit).  The job goes to it
 * in a memfd; its reports come back through a pipe, read here into the
 * runner's hooks; cancel sends it SIGTERM, then SIGKILL after a grace.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "opts/cliopts.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/*
 * The child between fork and exec: only async-signal-safe calls, for the
 * parent has other threads whose locks (malloc's among them) may be held.
 * Failures are told by the exit status (CHILD_E_*).
 */
void
runner_child_exec(const struct exec_args *a)
{
	int report, spec, exe, null;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	sigset_t none;

	/* Out of the way of 3, 4 and 5 first, then into them. */
	if ((report = fcntl(a->report_fd, F_DUPFD, 64)) < 0 ||
	    (spec = fcntl(a->spec_fd, F_DUPFD, 64)) < 0 ||
	    (exe = fcntl(a->exe_fd, F_DUPFD, 64)) < 0 ||
	    dup2(report, CHILD_FD) < 0 || dup2(spec, SPEC_FD) < 0 ||
	    dup2(exe, EXE_FD) < 0)
		_exit(CHILD_E_SETUP);
	if ((null = open("/dev/null", O_RDWR)) < 0 ||
	    dup2(null, STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
		_exit(CHILD_E_SETUP);
	/* stderr stays: where the master logs, for a crash report. */
	if (close_range(EXE_FD + 1, ~0u, 0) != 0)
		_exit(CHILD_E_SETUP);
	if (a->become) {
		if (setgroups((size_t)a->ngroups, a->groups) != 0)
			_exit(CHILD_E_GROUPS);
		if (setresgid(a->gid, a->gid, a->gid) != 0)
			_exit(CHILD_E_GID);
		if (setresuid(a->uid, a->uid, a->uid) != 0)
			_exit(CHILD_E_UID);
		if (getresuid(&ru, &eu, &su) != 0 ||
		    getresgid(&rg, &eg, &sg) != 0 || ru != a->uid ||
		    eu != a->uid || su != a->uid || rg != a->gid ||
		    eg != a->gid || sg != a->gid ||
		    (a->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)))
			_exit(CHILD_E_CHECK);
	}
	/* After the switch: a change of credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != a->parent)
		_exit(CHILD_E_PARENT);
	umask(a->umask);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	fexecve(EXE_FD, a->argv, a->envp);
	_exit(CHILD_E_EXEC);
}

/* The job as a job's process reads it. */
json_t *
runner_spec_json(const struct rcp_runner_spec *spec)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	json_object_set_new(o, "kind", json_string(rcp_job_kind_name(
	    spec->kind)));
	rcp_ctl_set_pathv(o, "sources", spec->srcs, spec->nsrcs);
	rcp_ctl_set_path(o, "destination", spec->dst);
	for (i = 0; i < spec->noptions; i++)
		json_array_append_new(a, json_string(spec->options[i]));
	json_object_set_new(o, "options", a);
	rcp_ctl_set_path(o, "cwd", spec->cwd);
	json_object_set_new(o, "umask", json_integer(spec->umask));
	json_object_set_new(o, "restart", json_boolean(spec->restart));
	json_object_set_new(o, "record_files",
	    json_boolean(spec->record_files));
	json_object_set_new(o, "parent", json_integer(getpid()));
	return o;
}

int
runner_spec_parse(const json_t *o, struct runner_job *j, char **cause)
{
	char *why = NULL;

	memset(j, 0, sizeof(*j));
	if ((j->kind = rcp_job_kind_parse(rcp_ctl_str(o, "kind",
	    "copy"))) < 0) {
		*cause = rcp_xstrdup("the job's process got a job of an "
		    "unknown kind");
		return RCP_ERR_INVAL;
	}
	if (rcp_ctl_get_path(o, "destination", RCP_CTL_MAX_PATH, &j->dst,
	    &why) < (rcp_job_kind_walks(j->kind) ? 0 : 1) || rcp_ctl_get_path(o, "cwd", RCP_CTL_MAX_PATH, &j->cwd,
	    &why) < 0 || rcp_ctl_get_pathv(o, "sources", RCP_CTL_MAX_SOURCES,
	    RCP_CTL_MAX_PATH, &j->srcs, &j->nsrcs, &why) <= 0 ||
	    rcp_ctl_get_strv(o, "options", RCP_CTL_MAX_OPTIONS,
	    RCP_CTL_MAX_STRING, &j->options, &j->noptions, &why) < 0) {
		*cause = rcp_xasprintf("the job's process got a bad job%s%s",
		    why != NULL ? ": " : "", why != NULL ? why : "");
		free(why);
		return RCP_ERR_INVAL;
	}
	j->umask = (mode_t)rcp_ctl_int(o, "umask");
	j->restart = rcp_ctl_true(o, "restart");
	j->record_files = rcp_ctl_true(o, "record_files");
	return 0;
}

int
runner_job_opts(const struct runner_job *j, struct rcp_cliopts *co,
    char **cause)
{
	char **argv = rcp_xcalloc(j->noptions + 2, sizeof(char *));
	size_t i;
	int first, r;

	/* getopt's argv: a program name first, and writable strings. */
	argv[0] = rcp_xstrdup("rcp-master-job");
	for (i = 0; i < j->noptions; i++)
		argv[i + 1] = rcp_xstrdup(j->options[i]);
	r = rcp_cliopts_parse(co, (int)j->noptions + 1, argv,
	    RCP_CLIOPTS_ONLY_OPTIONS | RCP_CLIOPTS_DEFER_FILES, j->cwd, &first,
	    cause);
	for (i = 0; i <= j->noptions; i++)
		free(argv[i]);
	free(argv);
	return r;
}

void
runner_job_release(struct runner_job *j)
{
	size_t i;

	for (i = 0; j->srcs != NULL && i < j->nsrcs; i++)
		free(j->srcs[i]);
	free(j->srcs);
	free(j->dst);
	free(j->cwd);
	free(j->options);
	memset(j, 0, sizeof(*j));
}

/* The job as the child reads it: what rcp_runner_child_main needs. */
static int
spec_memfd(const struct rcp_runner_spec *spec, char **cause)
{
	json_t *o = runner_spec_json(spec);
	char *s;
	size_t len;
	int fd, r;

	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL) {
		*cause = rcp_xstrdup("cannot encode the job for its process");
		return RCP_ERR_INTERNAL;
	}
	len = strlen(s);
	s = rcp_xrealloc(s, len + 2);
	s[len++] = '\n';
	s[len] = '\0';
	if ((fd = memfd_create("rcp-job", MFD_CLOEXEC)) < 0) {
		*cause = rcp_xasprintf("memfd_create: %s", strerror(errno));
		free(s);
		return RCP_ERR_IO;
	}
	if ((r = rcp_write_full(fd, s, len)) != 0)
		errno = -r;
	free(s);
	if (r != 0 || lseek(fd, 0, SEEK_SET) != 0) {
		*cause = rcp_xasprintf("cannot write the job for its process: "
		    "%s", strerror(errno));
		close(fd);
		return RCP_ERR_IO;
	}
	return fd;
}

/*
 * The environment of a job's process: a few of ours, and the submitter's
 * HOME, USER and LOGNAME, where SSH finds their keys and known hosts.
 */
static char **
child_env(uid_t uid)
{
	static const char *const keep[] = { "PATH", "LANG", "LC_ALL", "TZ",
	    "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS" };
	char **env = rcp_xcalloc(RCP_ARRAY_SIZE(keep) + 4, sizeof(char *));
	struct passwd pw, *pwp = NULL;
	char buf[16384];
	const char *v;
	size_t i, n = 0;

	for (i = 0; i < RCP_ARRAY_SIZE(keep); i++)
		if ((v = getenv(keep[i])) != NULL)
			env[n++] = rcp_xasprintf("%s=%s", keep[i], v);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL) {
		env[n++] = rcp_xasprintf("HOME=%s", pw.pw_dir);
		env[n++] = rcp_xasprintf("USER=%s", pw.pw_name);
		env[n++] = rcp_xasprintf("LOGNAME=%s", pw.pw_name);
	}
	return env;
}

void
runner_free_env(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Fills a for a process of spec's user; *groups to free after the fork. */
void
runner_exec_args_init(struct exec_args *a,
    const struct rcp_runner_spec *spec, char *argv0, gid_t **groups)
{
	memset(a, 0, sizeof(*a));
	*groups = NULL;
	a->become = spec->uid != geteuid();
	if (a->become)
		*groups = rcp_runner_groups(spec->uid, spec->gid, &a->ngroups);
	a->uid = spec->uid;
	a->gid = spec->gid;
	a->groups = *groups;
	a->umask = spec->umask;
	a->parent = getpid();
	a->exe_fd = spec->exe_fd;
	a->argv[0] = argv0;
	a->argv[1] = (char *)RCP_RUNNER_CHILD_ARG;
	a->envp = child_env(spec->uid);
}

void
runner_child_message(struct child_state *cs, const json_t *m)
{
	const char *t = rcp_ctl_str(m, "t", NULL);
	struct rcp_job_progress p;
	json_t *s;

	if (t == NULL)
		return;
	if (strcmp(t, "p") == 0) {
		memset(&p, 0, sizeof(p));
		s = json_object_get(m, "s");
#define GET(i, f) p.s.f = (uint64_t)json_integer_value(json_array_get(s, i));
		GET(0, bytes_copied) GET(1, files_copied) GET(2, dirs_created)
		GET(3, symlinks_created) GET(4, specials_created)
		GET(5, hard_links_created) GET(6, files_unchanged)
		GET(7, dirs_unchanged) GET(8, symlinks_unchanged)
		GET(9, removed) GET(10, skipped) GET(11, errors)
		GET(12, files_verified) GET(13, bytes_verified)
		GET(14, verify_mismatches)
#undef GET
		s = json_object_get(m, "w");
#define GET(i, f) p.w.f = (uint64_t)json_integer_value(json_array_get(s, i));
		GET(0, files) GET(1, dirs) GET(2, kept) GET(3, skipped)
		GET(4, errors) GET(5, entries)
#undef GET
		p.totals = rcp_ctl_true(m, "tk");
		p.bytes_total = (uint64_t)rcp_ctl_int(m, "bt");
		p.files_total = (uint64_t)rcp_ctl_int(m, "ft");
		if (cs->r->hooks.progress != NULL)
			cs->r->hooks.progress(cs->r->hooks.arg, &p);
	} else if (strcmp(t, "e") == 0) {
		const char *msg = rcp_ctl_str(m, "m", NULL);
		if (msg != NULL && cs->r->hooks.error != NULL)
			cs->r->hooks.error(cs->r->hooks.arg, msg);
	} else if (strcmp(t, "w") == 0) {
		const char *msg = rcp_ctl_str(m, "m", NULL);
		if (msg != NULL && cs->r->hooks.warning != NULL)
			cs->r->hooks.warning(cs->r->hooks.arg, msg);
	} else if (strcmp(t, "f") == 0 && cs->r->hooks.file != NULL) {
		char *path = NULL, *why = NULL;
		const char *shown = rcp_ctl_str(m, "p", NULL);
		/* Bytes that do not decode are told as shown: still counted. */
		if (rcp_ctl_get_path(m, "p", RCP_CTL_MAX_PATH * 2, &path,
		    &why) > 0)
			cs->r->hooks.file(cs->r->hooks.arg, path);
		else if (shown != NULL)
			cs->r->hooks.file(cs->r->hooks.arg, shown);
		free(path);
		free(why);
	} else if (strcmp(t, "end") == 0 && !cs->ended) {
		const char *c = rcp_ctl_str(m, "c", NULL);
		cs->ended = true;
		cs->result = rcp_err_from_wire((int32_t)rcp_ctl_int(m, "r"));
		cs->cause = c != NULL ? rcp_xstrdup(c) : NULL;
	}
}

/*
 * Waits up to timeout_ms (-1: for ever) for reports on fd and hands each
 * JSON line to fn (lines that are not JSON are skipped).  Returns true to
 * go on, false once the writer has closed its end.
 */
bool
runner_read_reports(struct rcp_ctl_reader *in, int fd, int timeout_ms,
    void (*fn)(void *arg, const json_t *m), void *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *line, *why = NULL;
	json_t *m;
	size_t len;
	ssize_t n;
	int p;

	if ((p = poll(&pfd, 1, timeout_ms)) == 0 || (p < 0 && errno == EINTR))
		return true;
	if (p < 0)
		return false;
	n = rcp_ctl_reader_fill(in, fd);
	if (n == 0 || (n < 0 && n != -EINTR && n != -EAGAIN))
		return false;
	while (rcp_ctl_reader_next(in, &line, &len) == 1) {
		if (rcp_ctl_decode(line, len, &m, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		fn(arg, m);
		json_decref(m);
	}
	return true;
}

static void
follow_message(void *arg, const json_t *m)
{
	runner_child_message(arg, m);
}

/* Reads the child's reports until it closes its end; handles cancel. */
static void
child_follow(struct child_state *cs, int rfd, pid_t pid)
{
	struct rcp_ctl_reader in;
	uint64_t term_ns = 0;
	bool killed = false;

	rcp_ctl_reader_init(&in, RCP_CTL_MAX_LINE);
	while (runner_read_reports(&in, rfd, 100, follow_message, cs)) {
		if (term_ns == 0 && rcp_runner_canceled(cs->r)) {
			kill(pid, SIGTERM);
			term_ns = rcp_now_ns();
		}
		if (term_ns != 0 && !killed && rcp_now_ns() - term_ns >
		    RCP_RUNNER_GRACE_MS * 1000000ull) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
	rcp_ctl_reader_release(&in);
}

/* Why a child that reported no result ended. */
static int
child_failed(struct rcp_runner *r, int status, char **cause)
{
	static const char *const steps[] = {
		[CHILD_E_SETUP - CHILD_E_SETUP] = "setting up its files",
		[CHILD_E_GROUPS - CHILD_E_SETUP] = "setgroups",
		[CHILD_E_GID - CHILD_E_SETUP] = "setresgid",
		[CHILD_E_UID - CHILD_E_SETUP] = "setresuid",
		[CHILD_E_CHECK - CHILD_E_SETUP] = "checking the switch",
		[CHILD_E_PARENT - CHILD_E_SETUP] = "finding its parent",
		[CHILD_E_EXEC - CHILD_E_SETUP] = "exec"
	};
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;

	if (WIFSIGNALED(status) && rcp_runner_canceled(r))
		return RCP_ERR_CANCELED;
	if (WIFSIGNALED(status))
		*cause = rcp_xasprintf("the job's process was killed by "
		    "signal %d", WTERMSIG(status));
	else if (code >= CHILD_E_SETUP && code <= CHILD_E_EXEC)
		*cause = rcp_xasprintf("cannot start the job's process as uid "
		    "%u gid %u: %s failed", (unsigned)r->spec->uid,
		    (unsigned)r->spec->gid, steps[code - CHILD_E_SETUP]);
	else
		*cause = rcp_xasprintf("the job's process exited with status "
		    "%d before it reported a result", code);
	return code >= CHILD_E_GROUPS && code <= CHILD_E_CHECK ?
	    RCP_ERR_AUTH : RCP_ERR_INTERNAL;
}

int
runner_separate_run(struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct child_state cs = { .r = r };
	struct exec_args a;
	gid_t *groups = NULL;
	int p[2] = { -1, -1 }, spec_fd, status = 0, res;
	pid_t pid;

	if ((spec_fd = spec_memfd(spec, cause)) < 0)
		return spec_fd;
	runner_exec_args_init(&a, spec, "rcp-master-job", &groups);
	a.spec_fd = spec_fd;
	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		*cause = rcp_xasprintf("cannot start the job's process: %s",
		    strerror(errno));
		res = RCP_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		a.report_fd = p[1];
		runner_child_exec(&a);
	}
	close(p[1]);
	p[1] = -1;
	child_follow(&cs, p[0], pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (cs.ended) {
		*cause = cs.cause;
		res = cs.result;
	} else {
		res = child_failed(r, status, cause);
	}
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	close(spec_fd);
	free(groups);
	runner_free_env(a.envp);
	return res;
}
