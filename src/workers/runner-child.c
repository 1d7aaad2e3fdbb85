/*
 * runner-child.c: a job's process after exec, the child's side of
 * runner-proc.c: it reads its job from SPEC_FD, runs it in this process
 * (runner-local.c) and reports on CHILD_FD; or, told it is a user's host,
 * runs each remote job the master sends it until the master closes
 * SPEC_FD, keeping its agents between jobs.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "opts/cliopts.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/* Serializes the reports of a job's process (engine threads log too). */
static pthread_mutex_t child_out_lock = PTHREAD_MUTEX_INITIALIZER;

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

	if (cj != NULL && cj->id != 0)
		json_object_set_new(msg, "j", json_integer(cj->id));
	rcp_ctl_encode(&b, msg);
	json_decref(msg);
	pthread_mutex_lock(&child_out_lock);
	/* A failure means the master is gone; PDEATHSIG follows. */
	(void)rcp_write_full(CHILD_FD, b.data, b.len);
	pthread_mutex_unlock(&child_out_lock);
	rcp_buf_release(&b);
}

static void
child_progress(void *arg, const struct rcp_job_progress *p)
{
	json_t *s = json_array(), *w = json_array();

#define ADD(f) json_array_append_new(s, json_integer((json_int_t)p->s.f));
	ADD(bytes_copied) ADD(files_copied) ADD(dirs_created)
	ADD(symlinks_created) ADD(specials_created) ADD(hard_links_created)
	ADD(files_unchanged) ADD(dirs_unchanged) ADD(symlinks_unchanged)
	ADD(removed) ADD(skipped) ADD(errors)
	ADD(files_verified) ADD(bytes_verified) ADD(verify_mismatches)
#undef ADD
#define ADD(f) json_array_append_new(w, json_integer((json_int_t)p->w.f));
	ADD(files) ADD(dirs) ADD(kept) ADD(skipped) ADD(errors) ADD(entries)
#undef ADD
	child_send(arg, json_pack("{s:s,s:o,s:I,s:I,s:b,s:o}", "t", "p", "s",
	    s, "bt", (json_int_t)p->bytes_total, "ft",
	    (json_int_t)p->files_total, "tk", (int)p->totals, "w", w));
}

static void
child_error(void *arg, const char *msg)
{
	child_send(arg, json_pack("{s:s,s:o}", "t", "e", "m",
	    rcp_ctl_shown_string(msg)));
}

static void
child_warning(void *arg, const char *msg)
{
	child_send(arg, json_pack("{s:s,s:o}", "t", "w", "m",
	    rcp_ctl_shown_string(msg)));
}

static void
child_file(void *arg, const char *path)
{
	json_t *m = json_pack("{s:s}", "t", "f");

	rcp_ctl_set_path(m, "p", path);
	child_send(arg, m);
}

static void
on_term(int sig)
{
	runner_term = 1;
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

/* Runs the job described by cj->o; returns the result, *cause on error. */
static int
child_job(struct cjob *cj, struct rcp_sessions *sessions, char **cause)
{
	struct rcp_runner_hooks hooks = { child_progress, child_error, cj,
	    child_warning, child_file };
	struct rcp_runner_spec spec;
	struct rcp_cliopts co;
	struct runner_job j;
	struct rcp_runner *r;
	char **ov = NULL;
	size_t i;
	int res;

	rcp_cliopts_init(&co);
	if ((res = runner_spec_parse(cj->o, &j, cause)) != 0) {
		res = RCP_ERR_INTERNAL;
		goto out;
	}
	/* Other kinds' options are their tools': runner-suite.c parses them. */
	if (j.kind == RCP_JOB_COPY && (res = runner_job_opts(&j, &co,
	    cause)) != 0)
		goto out;
	memset(&spec, 0, sizeof(spec));
	spec.kind = j.kind;
	ov = rcp_xcalloc(j.noptions + 1, sizeof(char *));
	for (i = 0; i < j.noptions; i++)
		ov[i] = rcp_xstrdup(j.options[i]);
	spec.options = ov;
	spec.noptions = j.noptions;
	spec.srcs = (const char *const *)j.srcs;
	spec.nsrcs = j.nsrcs;
	spec.dst = j.dst;
	spec.opts = &co;
	spec.cwd = j.cwd;
	spec.uid = geteuid();
	spec.gid = getegid();
	spec.umask = j.umask;
	spec.restart = j.restart;
	spec.record_files = j.record_files;
	spec.sessions = sessions;
	r = rcp_runner_new(&spec, &hooks);
	if (runner_term)
		atomic_store(&r->canceled, true);
	host_publish(cj, r);
	res = runner_local_run(r, cause);
	host_publish(cj, NULL);
	rcp_runner_free(r);
out:
	rcp_strv_free(ov, j.noptions);
	rcp_cliopts_release(&co);
	runner_job_release(&j);
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
	if (r != NULL && runner_term)
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
	child_send(cj, json_pack("{s:s,s:i,s:s?}", "t", "end", "r",
	    (int)rcp_err_to_wire(res), "c", cause));
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
		    (uint64_t)rcp_ctl_int(hello, "idle_ns"), 16);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!runner_term && (got = spec_next(&m, 1000)) >= 0) {
		if (got == 0) {
			if (h.sessions != NULL)
				rcp_runner_remote->sessions_expire(h.sessions);
			continue;
		}
		t = rcp_ctl_str(m, "t", NULL);
		id = rcp_ctl_int(m, "j");
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
	if (getppid() != (pid_t)rcp_ctl_int(o, "parent")) {
		json_decref(o);
		return CHILD_E_PARENT;	/* the master died before we ran */
	}
	if (rcp_ctl_true(o, "host")) {
		res = host_main(o);
		json_decref(o);
		return res;
	}
	memset(&only, 0, sizeof(only));
	only.o = o;
	res = child_job(&only, NULL, &cause);
	json_decref(o);
	child_send(NULL, json_pack("{s:s,s:i,s:s?}", "t", "end", "r",
	    (int)rcp_err_to_wire(res), "c", cause));
	free(cause);
	return 0;
}
