/*
 * runner.c: one job run with the copy engine, in this process or in a
 * child process that has become the job's submitter.  Either way the same
 * function runs the copy: a copy thread, a scan thread for the totals,
 * and the calling thread reporting progress every tick until the copy
 * ends.  A child reports through a pipe as JSON lines:
 *	{"t":"p", "s":[counters], "bt":bytes, "ft":files, "tk":bool}
 *	{"t":"e", "m":"cannot open 'x': Permission denied"}
 *	{"t":"end", "r":result, "c":cause or null}
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "fs/meta.h"
#include "remote/remotecopy.h"
#include "workers/runner.h"

#include "base/banned.h"

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
/* Open directories of the totals scan. */
#define SCAN_FDS 16
/* How long a finished copy waits for the scan to give its totals. */
#define SCAN_GRACE_MS 1000

struct rcp_runner {
	const struct rcp_runner_spec	*spec;
	struct rcp_runner_hooks		 hooks;
	pthread_mutex_t			 lock;
	bool				 canceled;	/* requires lock */
	struct rcp_copy			*copy;		/* requires lock */
	void				*rc;		/* requires lock */
};

const struct rcp_runner_remote_ops *rcp_runner_remote;

/* One run of the engine, in whichever process. */
struct local {
	struct rcp_runner	*r;
	struct rcp_copy		*copy;		/* a local copy, or */
	void			*rc;		/* a remote one */
	struct rcp_log		 log;		/* engine_log */
	struct rcp_copy_stats	 final;		/* rc's when it ended */
	atomic_bool		 have_final;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* the copy ended */
	bool			 done;		/* requires lock */
	int			 result;	/* requires lock */
	char			*cause;		/* requires lock */
	const struct rcp_filter	*filter;	/* the job's, with its files */
	atomic_bool		 scan_stop;
	atomic_bool		 scan_done;	/* totals below are set */
	atomic_bool		 scan_over;	/* the scan thread is ending */
	uint64_t		 files_total;	/* written before scan_done */
	uint64_t		 bytes_total;
};

/* Set by SIGTERM in a job's process. */
static volatile sig_atomic_t child_term;
/* Serializes the reports of a job's process (engine threads log too). */
static pthread_mutex_t child_out_lock = PTHREAD_MUTEX_INITIALIZER;

struct rcp_runner *
rcp_runner_new(const struct rcp_runner_spec *spec,
    const struct rcp_runner_hooks *hooks)
{
	struct rcp_runner *r = rcp_xcalloc(1, sizeof(*r));

	r->spec = spec;
	r->hooks = *hooks;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void
rcp_runner_free(struct rcp_runner *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

void
rcp_runner_cancel(struct rcp_runner *r)
{
	pthread_mutex_lock(&r->lock);
	r->canceled = true;
	if (r->copy != NULL)
		rcp_copy_cancel(r->copy);
	if (r->rc != NULL)
		rcp_runner_remote->abort(r->rc);
	pthread_mutex_unlock(&r->lock);
}

bool
rcp_runner_canceled(struct rcp_runner *r)
{
	bool c;

	pthread_mutex_lock(&r->lock);
	c = r->canceled;
	pthread_mutex_unlock(&r->lock);
	return c;
}

/* --- the totals scan ------------------------------------------------------ */

struct scan {
	const struct rcp_filter	*filter;
	atomic_bool		*stop;
	size_t			 rootlen;
	uint64_t		 files;
	uint64_t		 bytes;
};

/* nftw has no argument for its callback. */
static __thread struct scan *tls_scan;

static int
scan_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct scan *sc = tls_scan;
	const char *rel;
	int f;

	if (atomic_load_explicit(sc->stop, memory_order_relaxed))
		return FTW_STOP;
	if (ftw->level > 0 && sc->filter != NULL) {
		for (rel = path + sc->rootlen; *rel == '/'; rel++)
			;
		f = rcp_filter_check(sc->filter, rel, flag == FTW_D, false,
		    NULL);
		if (f == RCP_FILTER_EXCLUDED || f == RCP_FILTER_NOT_INCLUDED)
			return flag == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	}
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		sc->files++;
		sc->bytes += (uint64_t)st->st_size;
	}
	return FTW_CONTINUE;
}

static void *
scan_main(void *arg)
{
	struct local *l = arg;
	const struct rcp_runner_spec *spec = l->r->spec;
	struct scan sc = { .stop = &l->scan_stop };
	size_t i;
	int flags = FTW_ACTIONRETVAL | (spec->opts->o.dereference ? 0 : FTW_PHYS);

	sc.filter = l->filter;
	tls_scan = &sc;
	for (i = 0; i < spec->nsrcs; i++) {
		sc.rootlen = strlen(spec->srcs[i]);
		if (nftw(spec->srcs[i], scan_one, SCAN_FDS, flags) != 0)
			break;	/* stopped, or unreadable: no totals */
	}
	if (i == spec->nsrcs) {
		l->files_total = sc.files;
		l->bytes_total = sc.bytes;
		atomic_store(&l->scan_done, true);
	}
	atomic_store(&l->scan_over, true);
	return NULL;
}

/* --- the engine run ------------------------------------------------------- */

static void
engine_log(void *arg, int level, const char *msg)
{
	struct rcp_runner *r = arg;

	if (level == RCP_LOG_ERROR && r->hooks.error != NULL)
		r->hooks.error(r->hooks.arg, msg);
}

static void *
copy_main(void *arg)
{
	struct local *l = arg;
	const struct rcp_runner_spec *spec = l->r->spec;
	char *cause = NULL;
	int res;

	if (l->rc != NULL) {
		res = rcp_runner_remote->run(l->rc, l->r, &l->log, &l->final,
		    &cause);
		atomic_store(&l->have_final, true);
	} else
		res = rcp_copy_run(l->copy, spec->srcs, spec->nsrcs, spec->dst,
		    &cause);
	pthread_mutex_lock(&l->lock);
	l->result = res;
	l->cause = cause;
	l->done = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static void
report(struct local *l)
{
	struct rcp_job_progress p;

	memset(&p, 0, sizeof(p));
	if (l->rc != NULL && atomic_load(&l->have_final))
		p.s = l->final;
	else if (l->rc != NULL)
		rcp_runner_remote->progress(l->rc, &p.s);
	else
		rcp_copy_stats(l->copy, &p.s);
	if (atomic_load(&l->scan_done)) {
		p.totals = true;
		p.files_total = l->files_total;
		p.bytes_total = l->bytes_total;
	}
	if (l->r->hooks.progress != NULL)
		l->r->hooks.progress(l->r->hooks.arg, &p);
}

/*
 * The job's filter: the rules given as options, then those of its filter
 * files, read now with this process's permissions.
 */
static int
make_filter(const struct rcp_cliopts *opts, struct rcp_filter **out,
    char **cause)
{
	struct rcp_filter *f = rcp_filter_new();
	const char *pat;
	char *why = NULL;
	size_t i;
	int type;

	for (i = 0; i < rcp_filter_count(opts->filter); i++) {
		pat = rcp_filter_rule(opts->filter, i, &type);
		if (rcp_filter_add(f, type, pat, &why) != 0)
			goto fail;
	}
	for (i = 0; i < opts->nfilter_files; i++)
		if (rcp_filter_load(f, opts->filter_files[i], &why) != 0)
			goto fail;
	*out = f;
	return 0;
fail:
	*cause = rcp_xasprintf("--filter-file: %s", why);
	free(why);
	rcp_filter_free(f);
	return RCP_ERR_INVAL;
}

/* Waits for the copy to end, reporting every tick. */
static void
watch_copy(struct local *l)
{
	struct timespec ts;

	pthread_mutex_lock(&l->lock);
	while (!l->done) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += RCP_RUNNER_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&l->cond, &l->lock, &ts);
		if (l->done)
			break;
		pthread_mutex_unlock(&l->lock);
		if (child_term)
			rcp_runner_cancel(l->r);
		report(l);
		pthread_mutex_lock(&l->lock);
	}
	pthread_mutex_unlock(&l->lock);
}

/*
 * Whether one of the first n paths of the job (its sources, then its
 * destination) is remote (host:path).
 */
static bool
spec_remote(const struct rcp_runner_spec *spec, size_t n)
{
	char *host, *path;
	size_t i;

	for (i = 0; i < n; i++) {
		if (rcp_remoteopts_split(i < spec->nsrcs ? spec->srcs[i] :
		    spec->dst, spec->opts->remote.force_remote, &host, &path)) {
			free(host);
			free(path);
			return true;
		}
	}
	return false;
}

/* Runs the job in this process, whichever process that is. */
static int
local_run(struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct rcp_filter *filter = NULL;
	struct rcp_copy_opts o = spec->opts->o;
	pthread_condattr_t ca;
	pthread_t copy_thread, scan_thread;
	bool scanning = false, remote = spec_remote(spec, spec->nsrcs + 1);
	struct local l;
	int res, i;

	if ((res = make_filter(spec->opts, &filter, cause)) != 0)
		return res;
	o.filter = rcp_filter_empty(filter) ? NULL : filter;
	o.umask = spec->umask;
	if (spec->restart && !o.overwrite && !o.ignore_existing) {
		/*
		 * Everything at the destination is this job's own earlier
		 * work (it would have been refused otherwise), and the engine
		 * gives a file its full size only once all its data is there:
		 * same size (and mtime, if times are kept) means done.
		 */
		o.overwrite = true;
		o.overwrite_compare.f = RCP_ATTR_SIZE |
		    (o.preserve.f.time ? RCP_ATTR_MTIME : 0);
		o.overwrite_compare.l = RCP_ATTR_SIZE |
		    (o.preserve.l.time ? RCP_ATTR_MTIME : 0);
	}
	if (o.max_open_files == 0 && !remote)
		o.max_open_files = spec->max_open_files;

	memset(&l, 0, sizeof(l));
	l.r = r;
	l.filter = o.filter;
	l.log.fn = engine_log;
	l.log.arg = r;
	l.log.level = RCP_LOG_ERROR;
	if (remote && rcp_runner_remote == NULL) {
		*cause = rcp_xstrdup("this program cannot run remote copies");
		rcp_filter_free(filter);
		return RCP_ERR_INTERNAL;
	}
	if (remote) {
		if ((res = rcp_runner_remote->start(spec, &o, &l.log, &l.rc,
		    cause)) != 0) {
			rcp_filter_free(filter);
			return res;
		}
	} else
		l.copy = rcp_copy_new(&o, &l.log);
	pthread_mutex_init(&l.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l.cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_mutex_lock(&r->lock);
	r->copy = l.copy;
	r->rc = l.rc;
	if (r->canceled && l.copy != NULL)
		rcp_copy_cancel(l.copy);
	if (r->canceled && l.rc != NULL)
		rcp_runner_remote->abort(l.rc);
	pthread_mutex_unlock(&r->lock);

	/* The totals scan reads local sources only (of a remote job too). */
	if (!spec_remote(spec, spec->nsrcs))
		scanning = pthread_create(&scan_thread, NULL, scan_main,
		    &l) == 0;
	if (pthread_create(&copy_thread, NULL, copy_main, &l) != 0)
		copy_main(&l);
	else {
		watch_copy(&l);
		pthread_join(copy_thread, NULL);
	}
	/* A scan about to end may still give the totals of a quick copy. */
	for (i = 0; scanning && i < SCAN_GRACE_MS / 10 &&
	    !atomic_load(&l.scan_over); i++)
		usleep(10000);
	atomic_store(&l.scan_stop, true);
	if (scanning)
		pthread_join(scan_thread, NULL);
	report(&l);

	pthread_mutex_lock(&r->lock);
	r->copy = NULL;
	r->rc = NULL;
	pthread_mutex_unlock(&r->lock);
	rcp_copy_free(l.copy);
	if (l.rc != NULL)
		rcp_runner_remote->free(l.rc);
	rcp_filter_free(filter);
	pthread_cond_destroy(&l.cond);
	pthread_mutex_destroy(&l.lock);
	*cause = l.cause;
	return l.result;
}

/* --- identity ------------------------------------------------------------ */

gid_t *
rcp_runner_groups(uid_t uid, gid_t gid, int *n)
{
	struct passwd pw, *pwp = NULL;
	char buf[16384];
	gid_t *groups;
	int ng = 64, want;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL) {
		for (; ng <= 65536; ng *= 2) {
			want = ng;
			groups = rcp_xcalloc((size_t)ng, sizeof(gid_t));
			if (getgrouplist(pw.pw_name, gid, groups, &want) >= 0) {
				*n = want;
				return groups;
			}
			free(groups);
		}
	}
	groups = rcp_xmalloc(sizeof(gid_t));
	groups[0] = gid;
	*n = 1;
	return groups;
}

int
rcp_runner_exe_open(char **cause)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		*cause = rcp_xasprintf("cannot open '/proc/self/exe': %s",
		    strerror(errno));
	return fd < 0 ? RCP_ERR_IO : fd;
}

/*
 * Opens rcp-job at path if it is a regular file owned by root or by us and
 * writable by nobody else: it will run with other users' rights.
 */
static int
job_exe_try(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (st.st_mode & S_IXUSR) == 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
rcp_runner_job_exe_open(void)
{
	char self[4096], *p, *path;
	ssize_t n;
	int fd;

	/* Next to this program (a build tree), else where it is installed. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL) {
			*p = '\0';
			path = rcp_path_join(self, "rcp-job");
			fd = job_exe_try(path);
			free(path);
			if (fd >= 0)
				return fd;
		}
	}
	return job_exe_try(RCP_PKGLIBEXECDIR "/rcp-job");
}

/* --- a job's process: the parent's side ------------------------------------- */

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

/*
 * The child between fork and exec: only async-signal-safe calls, for the
 * parent has other threads whose locks (malloc's among them) may be held.
 * Failures are told by the exit status (CHILD_E_*).
 */
static void __attribute__((noreturn))
child_exec(const struct exec_args *a)
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
static json_t *
spec_json(const struct rcp_runner_spec *spec)
{
	json_t *o = json_object(), *a = json_array();
	size_t i;

	rcp_ctl_set_pathv(o, "sources", spec->srcs, spec->nsrcs);
	rcp_ctl_set_path(o, "destination", spec->dst);
	for (i = 0; i < spec->noptions; i++)
		json_array_append_new(a, json_string(spec->options[i]));
	json_object_set_new(o, "options", a);
	rcp_ctl_set_path(o, "cwd", spec->cwd);
	json_object_set_new(o, "umask", json_integer(spec->umask));
	json_object_set_new(o, "restart", json_boolean(spec->restart));
	json_object_set_new(o, "parent", json_integer(getpid()));
	return o;
}

/* The job as the child reads it: what rcp_runner_child_main needs. */
static int
spec_memfd(const struct rcp_runner_spec *spec, char **cause)
{
	json_t *o = spec_json(spec);
	char *s;
	size_t off = 0, len;
	ssize_t n;
	int fd;

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
	while (off < len && (n = write(fd, s + off, len - off)) > 0)
		off += (size_t)n;
	free(s);
	if (off < len || lseek(fd, 0, SEEK_SET) != 0) {
		*cause = rcp_xasprintf("cannot write the job for its process: "
		    "%s", strerror(errno));
		close(fd);
		return RCP_ERR_IO;
	}
	return fd;
}

/* A small environment for the job's process, not the daemon's. */
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

static void
free_env(char **env)
{
	size_t i;

	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* Fills a for a process of spec's user; *groups to free after the fork. */
static void
exec_args_init(struct exec_args *a, const struct rcp_runner_spec *spec,
    char *argv0, gid_t **groups)
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

/* What the parent learnt from its child. */
struct child_state {
	struct rcp_runner	*r;
	bool			 ended;
	int			 result;
	char			*cause;
};

static void
child_message(struct child_state *cs, const json_t *m)
{
	const char *t = json_string_value(json_object_get(m, "t"));
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
#undef GET
		p.totals = json_is_true(json_object_get(m, "tk"));
		p.bytes_total = (uint64_t)json_integer_value(
		    json_object_get(m, "bt"));
		p.files_total = (uint64_t)json_integer_value(
		    json_object_get(m, "ft"));
		if (cs->r->hooks.progress != NULL)
			cs->r->hooks.progress(cs->r->hooks.arg, &p);
	} else if (strcmp(t, "e") == 0) {
		const char *msg = json_string_value(json_object_get(m, "m"));
		if (msg != NULL && cs->r->hooks.error != NULL)
			cs->r->hooks.error(cs->r->hooks.arg, msg);
	} else if (strcmp(t, "end") == 0 && !cs->ended) {
		const char *c = json_string_value(json_object_get(m, "c"));
		cs->ended = true;
		cs->result = (int)json_integer_value(json_object_get(m, "r"));
		cs->cause = c != NULL ? rcp_xstrdup(c) : NULL;
	}
}

/*
 * Waits up to timeout_ms (-1: for ever) for reports on fd and hands each
 * JSON line to fn (lines that are not JSON are skipped).  Returns true to
 * go on, false once the writer has closed its end.
 */
static bool
read_reports(struct rcp_ctl_reader *in, int fd, int timeout_ms,
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
	child_message(arg, m);
}

/* Reads the child's reports until it closes its end; handles cancel. */
static void
child_follow(struct child_state *cs, int rfd, pid_t pid)
{
	struct rcp_ctl_reader in;
	uint64_t term_ns = 0;
	bool killed = false;

	rcp_ctl_reader_init(&in, RCP_CTL_MAX_LINE);
	while (read_reports(&in, rfd, 100, follow_message, cs)) {
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

static int
separate_run(struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct child_state cs = { .r = r };
	struct exec_args a;
	gid_t *groups = NULL;
	int p[2] = { -1, -1 }, spec_fd, status = 0, res;
	pid_t pid;

	if ((spec_fd = spec_memfd(spec, cause)) < 0)
		return spec_fd;
	exec_args_init(&a, spec, "rcp-master-job", &groups);
	a.spec_fd = spec_fd;
	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		*cause = rcp_xasprintf("cannot start the job's process: %s",
		    strerror(errno));
		res = RCP_ERR_IO;
		goto out;
	}
	if (pid == 0) {
		a.report_fd = p[1];
		child_exec(&a);
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
	free_env(a.envp);
	return res;
}

/* --- a user's host: the parent's side ---------------------------------------------- */

/* A job running in a user's host. */
struct hjob {
	json_int_t		 id;
	struct child_state	 cs;		/* what it reported */
	struct hjob		*next;
};

/* A user's host: one process of one user serving their remote jobs. */
struct uhost {
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	int			 cmd_fd;	/* its SPEC_FD: our commands */
	int			 rep_fd;	/* its CHILD_FD: its reports */
	pthread_t		 reader;
	struct rcp_uhosts	*hs;
	/* The rest requires hs->lock. */
	bool			 dead;
	char			*why;
	struct hjob		*jobs;
	int			 njobs;
	uint64_t		 idle_since;
	struct uhost		*next;
};

struct rcp_uhosts {
	uint64_t		 idle_ns;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* a job ended, a host died */
	struct uhost		*list;		/* requires lock */
	json_int_t		 next_id;	/* requires lock */
};

struct rcp_uhosts *
rcp_uhosts_new(uint64_t idle_ns)
{
	struct rcp_uhosts *hs = rcp_xcalloc(1, sizeof(*hs));
	pthread_condattr_t ca;

	hs->idle_ns = idle_ns;
	pthread_mutex_init(&hs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hs->cond, &ca);
	pthread_condattr_destroy(&ca);
	return hs;
}

/* Writes all of b to fd; false if the reader is gone. */
static bool
write_all(int fd, const struct rcp_buf *b)
{
	size_t off = 0;
	ssize_t n;

	while (off < b->len) {
		n = write(fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

static bool
send_msg(int fd, json_t *m)
{
	struct rcp_buf b = RCP_BUF_INIT;
	bool ok;

	rcp_ctl_encode(&b, m);
	json_decref(m);
	ok = write_all(fd, &b);
	rcp_buf_release(&b);
	return ok;
}

/* A host's report: to the job it names. */
static void
host_message(void *arg, const json_t *m)
{
	struct uhost *u = arg;
	struct rcp_uhosts *hs = u->hs;
	json_int_t id = json_integer_value(json_object_get(m, "j"));
	struct hjob *hj;

	pthread_mutex_lock(&hs->lock);
	for (hj = u->jobs; hj != NULL && hj->id != id; hj = hj->next)
		;
	if (hj != NULL) {
		child_message(&hj->cs, m);
		if (hj->cs.ended)
			pthread_cond_broadcast(&hs->cond);
	}
	pthread_mutex_unlock(&hs->lock);
}

/* Reads a host's reports and hands each to its job, until the host ends. */
static void *
uhost_reader(void *arg)
{
	struct uhost *u = arg;
	struct rcp_uhosts *hs = u->hs;
	struct rcp_ctl_reader in;
	int status = 0;

	rcp_ctl_reader_init(&in, RCP_CTL_MAX_LINE);
	while (read_reports(&in, u->rep_fd, -1, host_message, u))
		;
	rcp_ctl_reader_release(&in);
	while (waitpid(u->pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&hs->lock);
	u->dead = true;
	if (WIFSIGNALED(status))
		u->why = rcp_xasprintf("the job process of uid %u was killed "
		    "by signal %d", (unsigned)u->uid, WTERMSIG(status));
	else
		u->why = rcp_xasprintf("the job process of uid %u exited "
		    "(status %d)", (unsigned)u->uid, WEXITSTATUS(status));
	pthread_cond_broadcast(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

/* Starts a host for spec's user; requires hs->lock. */
static struct uhost *
uhost_spawn(struct rcp_uhosts *hs, const struct rcp_runner_spec *spec,
    char **cause)
{
	struct uhost *u = rcp_xcalloc(1, sizeof(*u));
	struct exec_args a;
	gid_t *groups = NULL;
	int cp[2] = { -1, -1 }, rp[2] = { -1, -1 };
	pid_t pid = -1;

	exec_args_init(&a, spec, "rcp-master-host", &groups);
	if (pipe2(cp, O_CLOEXEC) != 0 || pipe2(rp, O_CLOEXEC) != 0 ||
	    (pid = fork()) < 0) {
		*cause = rcp_xasprintf("cannot start the job process of uid "
		    "%u: %s", (unsigned)spec->uid, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		a.spec_fd = cp[0];
		a.report_fd = rp[1];
		child_exec(&a);
	}
	close(cp[0]);
	close(rp[1]);
	u->uid = spec->uid;
	u->gid = spec->gid;
	u->pid = pid;
	u->cmd_fd = cp[1];
	u->rep_fd = rp[0];
	u->hs = hs;
	free(groups);
	free_env(a.envp);
	if (!send_msg(u->cmd_fd, json_pack("{s:b,s:I,s:I}", "host", 1,
	    "parent", (json_int_t)getpid(), "idle_ns",
	    (json_int_t)hs->idle_ns)) ||
	    pthread_create(&u->reader, NULL, uhost_reader, u) != 0) {
		*cause = rcp_xasprintf("cannot start the job process of uid "
		    "%u", (unsigned)spec->uid);
		close(u->cmd_fd);
		close(u->rep_fd);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		free(u);
		return NULL;
	}
	u->next = hs->list;
	hs->list = u;
	return u;
fail:
	for (int i = 0; i < 2; i++) {
		if (cp[i] >= 0)
			close(cp[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	free(groups);
	free_env(a.envp);
	free(u);
	return NULL;
}

/* Runs a remote job of another user in that user's host. */
static int
uhost_run(struct rcp_uhosts *hs, struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct hjob *hj, **pp;
	struct uhost *u;
	struct timespec ts;
	uint64_t cancel_ns = 0;
	bool killed = false;
	json_t *m;
	int res;

	pthread_mutex_lock(&hs->lock);
	for (u = hs->list; u != NULL; u = u->next)
		if (!u->dead && u->uid == spec->uid && u->gid == spec->gid)
			break;
	if (u == NULL && (u = uhost_spawn(hs, spec, cause)) == NULL) {
		pthread_mutex_unlock(&hs->lock);
		return RCP_ERR_IO;
	}
	hj = rcp_xcalloc(1, sizeof(*hj));
	hj->id = ++hs->next_id;
	hj->cs.r = r;
	hj->next = u->jobs;
	u->jobs = hj;
	u->njobs++;
	m = spec_json(spec);
	json_object_set_new(m, "t", json_string("job"));
	json_object_set_new(m, "j", json_integer(hj->id));
	if (!send_msg(u->cmd_fd, m))
		kill(u->pid, SIGKILL);	/* the reader will say it died */
	while (!hj->cs.ended && !u->dead) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&hs->cond, &hs->lock, &ts);
		if (cancel_ns == 0 && rcp_runner_canceled(r)) {
			send_msg(u->cmd_fd, json_pack("{s:s,s:I}", "t",
			    "cancel", "j", (json_int_t)hj->id));
			cancel_ns = rcp_now_ns();
		}
		/* A job that does not stop takes its host down with it. */
		if (cancel_ns != 0 && !killed && rcp_now_ns() - cancel_ns >
		    RCP_RUNNER_GRACE_MS * 1000000ull) {
			kill(u->pid, SIGKILL);
			killed = true;
		}
	}
	if (hj->cs.ended) {
		res = hj->cs.result;
		*cause = hj->cs.cause;
	} else if (rcp_runner_canceled(r)) {
		res = RCP_ERR_CANCELED;
	} else {
		res = RCP_ERR_IO;
		*cause = rcp_xstrdup(u->why);
	}
	for (pp = &u->jobs; *pp != hj; pp = &(*pp)->next)
		;
	*pp = hj->next;
	if (--u->njobs == 0)
		u->idle_since = rcp_now_ns();
	pthread_mutex_unlock(&hs->lock);
	free(hj);
	return res;
}

/* Ends the hosts in gone (unlinked, their commands closed). */
static void
uhosts_reap(struct uhost *gone)
{
	struct uhost *u, *next;

	for (u = gone; u != NULL; u = next) {
		next = u->next;
		pthread_join(u->reader, NULL);
		close(u->rep_fd);
		free(u->why);
		free(u);
	}
}

void
rcp_uhosts_expire(struct rcp_uhosts *hs)
{
	struct uhost *u, **pp, *gone = NULL;
	uint64_t now = rcp_now_ns();

	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->lock);
	for (pp = &hs->list; (u = *pp) != NULL; ) {
		if (u->njobs == 0 && (u->dead ||
		    now - u->idle_since >= hs->idle_ns)) {
			*pp = u->next;
			close(u->cmd_fd);	/* it ends its agents and exits */
			u->next = gone;
			gone = u;
		} else
			pp = &u->next;
	}
	pthread_mutex_unlock(&hs->lock);
	uhosts_reap(gone);
}

void
rcp_uhosts_free(struct rcp_uhosts *hs)
{
	struct uhost *u, *gone;

	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->lock);
	gone = hs->list;
	hs->list = NULL;
	for (u = gone; u != NULL; u = u->next)
		close(u->cmd_fd);
	pthread_mutex_unlock(&hs->lock);
	uhosts_reap(gone);
	pthread_cond_destroy(&hs->cond);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
}

int
rcp_runner_run(struct rcp_runner *r, char **cause)
{
	*cause = NULL;
	if (r->spec->separate && r->spec->uhosts != NULL)
		return uhost_run(r->spec->uhosts, r, cause);
	if (r->spec->separate)
		return separate_run(r, cause);
	return local_run(r, cause);
}

/* --- a job's process: the child's side, after exec ------------------------------ */

struct host;

/* A job of a job's process; id tags its reports in a user's host. */
struct cjob {
	json_int_t		 id;		/* 0: the process's only job */
	struct rcp_runner	*r;		/* while it runs; host lock */
	json_t			*o;		/* the job */
	struct host		*h;
	struct cjob		*next;
};

static void
child_send(const struct cjob *cj, json_t *msg)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t off = 0;
	ssize_t n;

	if (cj != NULL && cj->id != 0)
		json_object_set_new(msg, "j", json_integer(cj->id));
	rcp_ctl_encode(&b, msg);
	json_decref(msg);
	pthread_mutex_lock(&child_out_lock);
	while (off < b.len) {
		n = write(CHILD_FD, b.data + off, b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the master is gone; PDEATHSIG follows */
		off += (size_t)n;
	}
	pthread_mutex_unlock(&child_out_lock);
	rcp_buf_release(&b);
}

static void
child_progress(void *arg, const struct rcp_job_progress *p)
{
	json_t *s = json_array();

#define ADD(f) json_array_append_new(s, json_integer((json_int_t)p->s.f));
	ADD(bytes_copied) ADD(files_copied) ADD(dirs_created)
	ADD(symlinks_created) ADD(specials_created) ADD(hard_links_created)
	ADD(files_unchanged) ADD(dirs_unchanged) ADD(symlinks_unchanged)
	ADD(removed) ADD(skipped) ADD(errors)
#undef ADD
	child_send(arg, json_pack("{s:s,s:o,s:I,s:I,s:b}", "t", "p", "s", s,
	    "bt", (json_int_t)p->bytes_total, "ft", (json_int_t)p->files_total,
	    "tk", (int)p->totals));
}

static void
child_error(void *arg, const char *msg)
{
	child_send(arg, json_pack("{s:s,s:o}", "t", "e", "m",
	    rcp_ctl_shown_string(msg)));
}

static void
on_term(int sig)
{
	child_term = 1;
}

static void
child_signals(void)
{
	struct sigaction sa;
	sigset_t set;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_SETMASK, &set, NULL);
}

/* What the parent sends on SPEC_FD: the job, or a user's host's commands. */
static struct rcp_ctl_reader spec_in;

/*
 * Reads the next JSON line of SPEC_FD, waiting up to timeout_ms (-1: for
 * ever).  Returns 1 with *out, 0 on a timeout, -1 at the end or on error.
 */
static int
spec_next(json_t **out, int timeout_ms)
{
	struct pollfd pfd = { .fd = SPEC_FD, .events = POLLIN };
	char *line, *why = NULL;
	size_t len;
	ssize_t n;

	for (;;) {
		while (rcp_ctl_reader_next(&spec_in, &line, &len) == 1) {
			if (rcp_ctl_decode(line, len, out, &why) == 0)
				return 1;
			free(why);
			why = NULL;
		}
		if (poll(&pfd, 1, timeout_ms) == 0)
			return 0;
		n = rcp_ctl_reader_fill(&spec_in, SPEC_FD);
		if (n == -EINTR || n == -EAGAIN)
			continue;
		if (n <= 0)
			return -1;
	}
}

static void host_publish(struct cjob *cj, struct rcp_runner *r);

/* Runs the job described by o; returns the result, *cause on error. */
static int
child_job(struct cjob *cj, struct rcp_sessions *sessions, char **cause)
{
	struct rcp_runner_hooks hooks = { child_progress, child_error, cj };
	const json_t *o = cj->o;
	struct rcp_runner_spec spec;
	struct rcp_cliopts co;
	struct rcp_runner *r;
	const char **opts = NULL;
	char **srcs = NULL, *dst = NULL, *cwd = NULL;
	char **argv, *why = NULL;
	size_t nsrcs = 0, nopts = 0, i;
	int first, res;

	rcp_cliopts_init(&co);
	if (rcp_ctl_get_path(o, "destination", RCP_CTL_MAX_PATH, &dst,
	    &why) <= 0 || rcp_ctl_get_path(o, "cwd", RCP_CTL_MAX_PATH, &cwd,
	    &why) < 0 || rcp_ctl_get_pathv(o, "sources", RCP_CTL_MAX_SOURCES,
	    RCP_CTL_MAX_PATH, &srcs, &nsrcs, &why) <= 0 ||
	    rcp_ctl_get_strv(o, "options", RCP_CTL_MAX_OPTIONS,
	    RCP_CTL_MAX_STRING, &opts, &nopts, &why) < 0) {
		free(why);
		*cause = rcp_xstrdup("the job's process got a bad job");
		res = RCP_ERR_INTERNAL;
		goto out;
	}
	argv = rcp_xcalloc(nopts + 2, sizeof(char *));
	argv[0] = rcp_xstrdup("rcp-master-job");
	for (i = 0; i < nopts; i++)
		argv[i + 1] = rcp_xstrdup(opts[i]);
	res = rcp_cliopts_parse(&co, (int)nopts + 1, argv,
	    RCP_CLIOPTS_ONLY_OPTIONS | RCP_CLIOPTS_DEFER_FILES, cwd, &first,
	    cause);
	for (i = 0; i <= nopts; i++)
		free(argv[i]);
	free(argv);
	if (res != 0)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.srcs = (const char *const *)srcs;
	spec.nsrcs = nsrcs;
	spec.dst = dst;
	spec.opts = &co;
	spec.cwd = cwd;
	spec.uid = geteuid();
	spec.gid = getegid();
	spec.umask = (mode_t)json_integer_value(json_object_get(o, "umask"));
	spec.restart = json_is_true(json_object_get(o, "restart"));
	spec.sessions = sessions;
	r = rcp_runner_new(&spec, &hooks);
	if (child_term)
		r->canceled = true;
	host_publish(cj, r);
	res = local_run(r, cause);
	host_publish(cj, NULL);
	rcp_runner_free(r);
out:
	rcp_cliopts_release(&co);
	for (i = 0; srcs != NULL && i < nsrcs; i++)
		free(srcs[i]);
	free(srcs);
	free(dst);
	free(cwd);
	free(opts);
	return res;
}

/*
 * A user's host: a job's process that stays, running every remote job of
 * its user as the master sends them, so that their SSH connections and
 * agents serve one job after another as they do in the master.  Commands
 * on SPEC_FD, one JSON line each: {"t":"job","j":ID,...} and
 * {"t":"cancel","j":ID}; reports as a single job's, tagged "j".  Its end:
 * the end of SPEC_FD (the master closed it, or died).
 */
struct host {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* a job ended */
	struct cjob		*jobs;		/* requires lock */
	int			 running;	/* requires lock */
	struct rcp_sessions	*sessions;
};

/* Makes the runner of cj findable by a cancel (NULL: no more). */
static void
host_publish(struct cjob *cj, struct rcp_runner *r)
{
	struct host *h = cj->h;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	cj->r = r;
	if (r != NULL && child_term)
		rcp_runner_cancel(r);
	pthread_mutex_unlock(&h->lock);
}

static void *
host_job(void *arg)
{
	struct cjob *cj = arg, **pp;
	struct host *h = cj->h;
	char *cause = NULL;
	int res;

	res = child_job(cj, h->sessions, &cause);
	child_send(cj, json_pack("{s:s,s:i,s:s?}", "t", "end", "r", res,
	    "c", cause));
	free(cause);
	pthread_mutex_lock(&h->lock);
	for (pp = &h->jobs; *pp != cj; pp = &(*pp)->next)
		;
	*pp = cj->next;
	h->running--;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
	json_decref(cj->o);
	free(cj);
	return NULL;
}

static void
host_cancel_all(struct host *h)
{
	struct cjob *cj;

	pthread_mutex_lock(&h->lock);
	for (cj = h->jobs; cj != NULL; cj = cj->next)
		if (cj->r != NULL)
			rcp_runner_cancel(cj->r);
	pthread_mutex_unlock(&h->lock);
}

static int
host_main(const json_t *hello)
{
	struct host h;
	struct cjob *cj;
	pthread_attr_t attr;
	pthread_t th;
	const char *t;
	json_int_t id;
	json_t *m;
	int got;

	memset(&h, 0, sizeof(h));
	pthread_mutex_init(&h.lock, NULL);
	pthread_cond_init(&h.cond, NULL);
	if (rcp_runner_remote != NULL)
		h.sessions = rcp_runner_remote->sessions_new(
		    (uint64_t)json_integer_value(json_object_get(hello,
		    "idle_ns")), 16);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!child_term && (got = spec_next(&m, 1000)) >= 0) {
		if (got == 0) {
			if (h.sessions != NULL)
				rcp_runner_remote->sessions_expire(h.sessions);
			continue;
		}
		t = json_string_value(json_object_get(m, "t"));
		id = json_integer_value(json_object_get(m, "j"));
		if (t != NULL && strcmp(t, "job") == 0 && id > 0) {
			cj = rcp_xcalloc(1, sizeof(*cj));
			cj->id = id;
			cj->o = m;
			cj->h = &h;
			pthread_mutex_lock(&h.lock);
			cj->next = h.jobs;
			h.jobs = cj;
			h.running++;
			pthread_mutex_unlock(&h.lock);
			if (pthread_create(&th, &attr, host_job, cj) != 0)
				host_job(cj);
			continue;
		}
		if (t != NULL && strcmp(t, "cancel") == 0) {
			pthread_mutex_lock(&h.lock);
			for (cj = h.jobs; cj != NULL && cj->id != id;
			    cj = cj->next)
				;
			if (cj != NULL && cj->r != NULL)
				rcp_runner_cancel(cj->r);
			pthread_mutex_unlock(&h.lock);
		}
		json_decref(m);
	}
	/* The master is done with us: stop what runs, end the agents. */
	host_cancel_all(&h);
	pthread_mutex_lock(&h.lock);
	while (h.running > 0)
		pthread_cond_wait(&h.cond, &h.lock);
	pthread_mutex_unlock(&h.lock);
	pthread_attr_destroy(&attr);
	if (h.sessions != NULL)
		rcp_runner_remote->sessions_free(h.sessions);
	return 0;
}

int
rcp_runner_child_main(void)
{
	struct cjob only;
	char *cause = NULL;
	json_t *o = NULL;
	int res;

	close(EXE_FD);
	child_signals();
	rcp_ctl_reader_init(&spec_in, RCP_CHILD_MAX_SPEC);
	if (spec_next(&o, 10000) != 1)
		return CHILD_E_SETUP;
	if (getppid() != (pid_t)json_integer_value(json_object_get(o,
	    "parent"))) {
		json_decref(o);
		return CHILD_E_PARENT;	/* the master died before we ran */
	}
	if (json_is_true(json_object_get(o, "host"))) {
		res = host_main(o);
		json_decref(o);
		return res;
	}
	memset(&only, 0, sizeof(only));
	only.o = o;
	res = child_job(&only, NULL, &cause);
	json_decref(o);
	child_send(NULL, json_pack("{s:s,s:i,s:s?}", "t", "end", "r", res,
	    "c", cause));
	free(cause);
	return 0;
}
