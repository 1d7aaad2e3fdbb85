/*
 * runner-suite.c: a job of rrm, rlink or rchm in this process, whichever
 * process that is (the master's for its own user, else a job's process
 * that has become the submitter: then the kernel decides, as for the tool
 * run by that user, what may be removed or changed).  The job's options
 * are parsed as its tool parses them, its engine runs on the job's local
 * paths on a thread of its own, and this thread ticks: it reports the
 * counters and acts on a cancel (or SIGTERM in a job's process) by
 * stopping the engine, as a signal stops the tool.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/chm.h"
#include "engine/link.h"
#include "engine/rm.h"
#include "workers/job.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/* How often the ticking thread looks whether the engine is done. */
#define NAP_MS 10

struct suite {
	struct rcp_runner	*r;
	int			 kind;
	struct rcp_rm		*rm;		/* the one engine of kind */
	struct rcp_chm		*chm;
	struct rcp_link		*link;
	bool			 stopped;	/* the ticking thread's */
	int			 result;	/* the engine thread's, read
						 * after over */
	char			*cause;
	atomic_bool		 over;
};

static void
suite_log(void *arg, int level, const char *msg)
{
	struct rcp_runner *r = arg;

	if (level == RCP_LOG_ERROR && r->hooks.error != NULL)
		r->hooks.error(r->hooks.arg, msg);
	else if (level == RCP_LOG_WARN && r->hooks.warning != NULL)
		r->hooks.warning(r->hooks.arg, msg);
}

/* The engine's counters, also in the copy counters that fit them. */
static void
report(struct suite *su)
{
	struct rcp_job_progress p;

	memset(&p, 0, sizeof(p));
	if (su->rm != NULL) {
		rcp_rm_stats(su->rm, &p.w);
		p.s.removed = p.w.files + p.w.dirs;
	} else if (su->chm != NULL) {
		rcp_chm_stats(su->chm, &p.w);
	} else if (su->link != NULL) {
		rcp_link_stats(su->link, &p.s);
	}
	if (su->link == NULL) {
		p.s.skipped = p.w.skipped;
		p.s.errors = p.w.errors;
	}
	if (su->r->hooks.progress != NULL)
		su->r->hooks.progress(su->r->hooks.arg, &p);
}

/* A tick: a termination signal cancels the run; a cancel stops it; report. */
static void
tick(struct suite *su)
{
	if (runner_term)
		rcp_runner_cancel(su->r);
	if (!su->stopped && rcp_runner_canceled(su->r)) {
		su->stopped = true;
		if (su->rm != NULL)
			rcp_rm_cancel(su->rm);
		if (su->chm != NULL)
			rcp_chm_cancel(su->chm);
		if (su->link != NULL)
			rcp_link_cancel(su->link);
	}
	report(su);
}

static void
suite_copied(void *arg, const char *path)
{
	struct rcp_runner *r = arg;

	r->hooks.file(r->hooks.arg, path);
}

static void *
engine_main(void *arg)
{
	struct suite *su = arg;
	const struct rcp_runner_spec *spec = su->r->spec;

	if (su->rm != NULL)
		su->result = rcp_rm_run(su->rm, spec->srcs, spec->nsrcs);
	else if (su->chm != NULL)
		su->result = rcp_chm_run(su->chm, spec->srcs, spec->nsrcs);
	else
		su->result = rcp_link_run(su->link, spec->srcs[0], spec->dst,
		    &su->cause);
	atomic_store(&su->over, true);
	return NULL;
}

/* Makes the engine of spec's kind from the tool's options s. */
static int
make_engine(struct suite *su, const struct rcp_suiteopts *s,
    const struct rcp_log *log, char **cause)
{
	const struct rcp_runner_spec *spec = su->r->spec;
	struct rcp_link_opts lo;
	struct rcp_chm_opts co;
	struct rcp_rm_opts ro;

	switch (spec->kind) {
	case RCP_JOB_RM:
		memset(&ro, 0, sizeof(ro));
		rcp_suiteopts_walk(s, &ro.walk);
		ro.modified_before_ns = s->modified_before_ns;
		ro.created_before_ns = s->created_before_ns;
		su->rm = rcp_rm_new(&ro, log);
		return 0;
	case RCP_JOB_CHMOD:
		memset(&co, 0, sizeof(co));
		rcp_suiteopts_walk(s, &co.walk);
		co.mode = s->mode;
		co.owner = s->owner;
		co.group = s->group;
		co.defer_dir_changes = s->defer_dir_changes;
		co.no_setid = s->no_setid;
		co.umask = spec->umask;
		co.modified_before_ns = s->modified_before_ns;
		co.created_before_ns = s->created_before_ns;
		return rcp_chm_new(&co, log, &su->chm, cause);
	case RCP_JOB_LINK:
		if (spec->nsrcs != 1 || spec->dst == NULL) {
			*cause = rcp_xstrdup("a link job takes one source and "
			    "a destination");
			return RCP_ERR_INVAL;
		}
		memset(&lo, 0, sizeof(lo));
		lo.copy = s->cl.o;
		lo.copy.umask = spec->umask;
		if (spec->restart && !lo.copy.overwrite &&
		    !lo.copy.ignore_existing) {
			/*
			 * What is there is this job's own earlier work, as for
			 * a copy (runner-local.c): a link made is the same
			 * file, a copy complete once of its size and mtime.
			 */
			lo.copy.overwrite = true;
			lo.copy.overwrite_compare.f = RCP_ATTR_SIZE |
			    (lo.copy.preserve.f.time ? RCP_ATTR_MTIME : 0);
			lo.copy.overwrite_compare.l = RCP_ATTR_SIZE |
			    (lo.copy.preserve.l.time ? RCP_ATTR_MTIME : 0);
		}
		lo.update = s->update;
		lo.update_compare = s->update_compare;
		lo.update_exclusive = s->update_exclusive;
		lo.allow_lossy = s->allow_lossy_update;
		if (rcp_link_check(&lo, cause) != 0)
			return RCP_ERR_INVAL;
		if (spec->record_files && su->r->hooks.file != NULL) {
			lo.copy.copied = suite_copied;
			lo.copy.copied_arg = su->r;
		}
		if (lo.copy.max_open_files == 0)
			lo.copy.max_open_files = spec->max_open_files > 0 ?
			    spec->max_open_files :
			    (int)((long long)rcp_raise_nofile() * 8 / 10);
		su->link = rcp_link_new(&lo, log);
		return 0;
	}
	*cause = rcp_xasprintf("no engine for a job of kind %d", spec->kind);
	return RCP_ERR_INTERNAL;
}

int
runner_suite_run(struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct rcp_log log = { suite_log, r, RCP_LOG_WARN };
	struct rcp_job_suiteopts so;
	struct suite su;
	pthread_t th;
	char *why = NULL;
	unsigned n;
	int res;

	memset(&su, 0, sizeof(su));
	su.r = r;
	atomic_init(&su.over, false);
	if ((res = rcp_job_suite_options(spec->kind, (const char *const *)
	    spec->options, spec->noptions, &so, &why)) == 0)
		res = make_engine(&su, &so.s, &log, &why);
	if (res != 0) {
		*cause = rcp_xasprintf("options: %s", why != NULL ? why :
		    rcp_strerror(res));
		free(why);
		goto out;
	}
	tick(&su);		/* canceled before it started */
	if (pthread_create(&th, NULL, engine_main, &su) != 0) {
		*cause = rcp_xstrdup("cannot start the job's engine thread");
		res = RCP_ERR_INTERNAL;
		goto out;
	}
	/* Short naps: a small job ends when its engine does, not a tick on. */
	for (n = 1; !atomic_load(&su.over); n++) {
		usleep(NAP_MS * 1000);
		if (n % (RCP_RUNNER_TICK_MS / NAP_MS) == 0)
			tick(&su);
	}
	pthread_join(th, NULL);
	report(&su);
	res = su.result;
	*cause = su.cause;
	su.cause = NULL;
out:
	rcp_rm_free(su.rm);
	rcp_chm_free(su.chm);
	rcp_link_free(su.link);
	free(su.cause);
	rcp_job_suiteopts_release(&so);
	return res;
}
