/*
 * runner-local.c: a job run with the copy engine in this process, whichever
 * process that is (the master's, or a job's own after exec): a copy thread,
 * a scan thread for the totals (runner-scan.c), and a ticker (base/ticker.h)
 * reporting progress every tick until the copy ends.  A remote job runs
 * here too, through the rcp_runner_remote table; cancel reaches either.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/ticker.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "fs/meta.h"
#include "opts/remoteopts.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/* How long a finished copy waits for the scan to give its totals. */
#define SCAN_GRACE_MS 1000

const struct rcp_runner_remote_ops *rcp_runner_remote;

/* One run of the engine, in whichever process. */
struct local {
	struct rcp_runner	*r;
	struct rcp_copy		*copy;		/* a local copy, or */
	void			*rc;		/* a remote one */
	struct rcp_log		 log;		/* engine_log */
	struct rcp_copy_stats	 final;		/* rc's when it ended */
	atomic_bool		 have_final;
	atomic_bool		 copy_over;	/* copy_main has returned */
	bool			 stopped;	/* the cancel was acted on; the
						 * ticker's (or the caller's) */
	int			 result;	/* read after the join */
	char			*cause;		/* read after the join */
	const struct rcp_filter	*filter;	/* the job's, with its files */
	atomic_bool		 scan_stop;
	atomic_bool		 scan_done;	/* totals below are set */
	atomic_bool		 scan_over;	/* the scan thread is ending */
	uint64_t		 files_total;	/* written before scan_done */
	uint64_t		 bytes_total;
};

/* Set by SIGTERM in a job's process. */
volatile sig_atomic_t runner_term;

void
rcp_runner_cancel(struct rcp_runner *r)
{
	atomic_store(&r->canceled, true);	/* the run's ticker acts on it */
}

bool
rcp_runner_canceled(struct rcp_runner *r)
{
	return atomic_load(&r->canceled);
}

/* --- the totals scan ------------------------------------------------------ */

static void *
scan_main(void *arg)
{
	struct local *l = arg;

	if (runner_scan(l->r->spec, l->filter, &l->scan_stop, &l->files_total,
	    &l->bytes_total))
		atomic_store(&l->scan_done, true);
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
	else if (level == RCP_LOG_WARN && r->hooks.warning != NULL)
		r->hooks.warning(r->hooks.arg, msg);
}

static void
engine_copied(void *arg, const char *path)
{
	struct rcp_runner *r = arg;

	r->hooks.file(r->hooks.arg, path);
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
	l->result = res;
	l->cause = cause;
	atomic_store(&l->copy_over, true);
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

/*
 * Acts on a cancel once: the engine's is a flag; a remote abort may take
 * as long as the agents' teardown, which is why it happens here, on the
 * run's own thread, and never in rcp_runner_cancel's caller.
 */
static void
apply_cancel(struct local *l)
{
	if (l->stopped || !atomic_load(&l->r->canceled))
		return;
	l->stopped = true;
	if (l->copy != NULL)
		rcp_copy_cancel(l->copy);
	if (l->rc != NULL)
		rcp_runner_remote->abort(l->rc);
}

/* A tick while the copy runs: a termination signal cancels it; report. */
static void
watch_tick(void *arg)
{
	struct local *l = arg;

	if (runner_term)
		rcp_runner_cancel(l->r);
	apply_cancel(l);
	report(l);
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
int
runner_local_run(struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct rcp_filter *filter = NULL;
	struct rcp_copy_opts o = spec->opts->o;
	pthread_t copy_thread, scan_thread;
	rcp_ticker *watch;
	bool scanning = false, remote;
	struct local l;
	int res, i;

	if (spec->kind != RCP_JOB_COPY)
		return runner_suite_run(r, cause);
	remote = spec_remote(spec, spec->nsrcs + 1);
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
	/*
	 * A large file cut short by the restart is finished where it
	 * stopped: its chunks that arrived are hashed, not sent again.  Even
	 * a resume itself cut short leaves the file shorter than its source.
	 */
	if (spec->restart && !o.ignore_existing)
		o.resume = true;
	if (o.max_open_files == 0 && !remote)
		o.max_open_files = spec->max_open_files;
	if (spec->record_files && r->hooks.file != NULL) {
		o.copied = engine_copied;
		o.copied_arg = r;
	}

	memset(&l, 0, sizeof(l));
	l.r = r;
	l.filter = o.filter;
	l.log.fn = engine_log;
	l.log.arg = r;
	l.log.level = RCP_LOG_WARN;
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

	apply_cancel(&l);	/* canceled before it started */

	/* The totals scan reads local sources only (of a remote job too). */
	if (!spec_remote(spec, spec->nsrcs))
		scanning = pthread_create(&scan_thread, NULL, scan_main,
		    &l) == 0;
	if (pthread_create(&copy_thread, NULL, copy_main, &l) != 0)
		copy_main(&l);
	else {
		watch = rcp_ticker_start(RCP_RUNNER_TICK_MS * 1000000ull,
		    watch_tick, &l);
		/* No ticker thread: this one ticks, or a cancel would not act. */
		while (watch == NULL && !atomic_load(&l.copy_over)) {
			usleep(RCP_RUNNER_TICK_MS * 1000);
			watch_tick(&l);
		}
		pthread_join(copy_thread, NULL);
		rcp_ticker_stop(watch);
	}
	/* A scan about to end may still give the totals of a quick copy. */
	for (i = 0; scanning && i < SCAN_GRACE_MS / 10 &&
	    !atomic_load(&l.scan_over); i++)
		usleep(10000);
	atomic_store(&l.scan_stop, true);
	if (scanning)
		pthread_join(scan_thread, NULL);
	report(&l);

	rcp_copy_free(l.copy);
	if (l.rc != NULL)
		rcp_runner_remote->free(l.rc);
	rcp_filter_free(filter);
	*cause = l.cause;
	return l.result;
}
