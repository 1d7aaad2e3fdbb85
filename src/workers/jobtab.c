/*
 * jobtab.c: the jobs of rcp-master.  The table is an array sorted by id
 * (ids only grow), guarded by one lock with everything else here.  A job
 * is journaled with a revision number at every change, so the newest
 * record of a job wins however the appends of two threads interleave.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "workers/job.h"
#include "workers/jobtab.h"
#include "workers/journal.h"
#include "workers/ledger.h"
#include "workers/pool.h"
#include "workers/runner.h"
#include "workers/sessions.h"

#include "base/banned.h"

/* How often the stall watchdog looks... */
#define WATCHDOG_NS	(1000000000ull)
/* ...and how often finished jobs are pruned and the journal checked. */
#define HOUSEKEEP_NS	(10ull * 1000000000u)
/* Compact the journal when it is this many times its compacted size... */
#define COMPACT_FACTOR	4
/* ...and at least this big. */
#define COMPACT_MIN	(4u << 20)

struct rcp_jobtab {
	struct rcp_log		 log;
	char			*state_dir;
	char			*journal_path;
	char			*ledger_dir;
	uint64_t		 ledger_max;
	int			 lock_fd;	/* flock on the state directory */
	int			 exe_fd;	/* this program, for job processes */
	int			 job_fd;	/* rcp-job, for local ones; or -1 */
	uid_t			 euid;
	mode_t			 umask;		/* the daemon's */
	int			 fd_share;	/* open files of an in-process job */
	int			 workers;
	int			 pair_cap;
	struct rcp_sessions	*sessions;	/* agents kept between jobs */
	struct rcp_uhosts	*uhosts;	/* other users' remote jobs */
	uint64_t		 keep_ns;
	uint64_t		 stall_ns;
	uint64_t		 start_ns;
	void			(*notify)(void *);
	void			*notify_arg;
	struct rcp_pool		*pool;
	struct rcp_journal	*journal;
	uint64_t		 compacted;	/* journal size after compaction */

	pthread_mutex_t		 lock;
	struct rcp_job		**jobs;		/* sorted by id; requires lock */
	size_t			 njobs;		/* requires lock */
	size_t			 cap;		/* requires lock */
	uint64_t		 next_id;	/* requires lock */
	size_t			 live;		/* queued + running; requires lock */
	size_t			 running;	/* requires lock */
	uint64_t		 bytes_done;	/* by jobs ended; requires lock */
	uint64_t		 files_done;	/* by jobs ended; requires lock */
	uint64_t		 errors_done;	/* by jobs ended; requires lock */
	/* rcp_job_entries_done of the jobs ended, by kind; requires lock. */
	uint64_t		 entries_done[RCP_JOB_NKINDS];
	/* Seconds from submit to first start, a histogram; requires lock. */
	uint64_t		 wait_counts[RCP_JOBTAB_WAIT_BUCKETS];
	uint64_t		 wait_count;
	double			 wait_sum;
	bool			 stopping;	/* requires lock */
	bool			 requeue;	/* requires lock */

	/* The housekeeping thread (the watchdog too). */
	pthread_t		 janitor;
	void			(*tick)(void *arg);
	void			*tick_arg;
	bool			 janitor_started;
	pthread_cond_t		 janitor_cond;	/* with lock: stop */
	bool			 janitor_stop;	/* requires lock */
};

/* What a running job's hooks need. */
struct run_ctx {
	struct rcp_jobtab	*t;
	struct rcp_job		*j;
	struct rcp_ledger	*ledger;	/* NULL: it could not be opened */
};

static struct rcp_job *
item_job(struct rcp_pool_item *it)
{
	return (struct rcp_job *)(void *)((char *)it -
	    offsetof(struct rcp_job, item));
}

/* Returns job id or NULL; requires t->lock. */
static struct rcp_job *
find(struct rcp_jobtab *t, uint64_t id)
{
	size_t lo = 0, hi = t->njobs, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->jobs[mid]->id == id)
			return t->jobs[mid];
		if (t->jobs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool
visible(const struct rcp_job *j, uid_t uid)
{
	return uid == 0 || j->uid == uid;
}

/* Appends j (its id above all others); requires t->lock. */
static void
add(struct rcp_jobtab *t, struct rcp_job *j)
{
	if (t->njobs == t->cap) {
		t->cap = t->cap == 0 ? 256 : t->cap * 2;
		t->jobs = rcp_xrealloc(t->jobs, t->cap * sizeof(*t->jobs));
	}
	t->jobs[t->njobs++] = j;
}

/* Returns a journal record of j's new state; requires t->lock. */
static json_t *
record(struct rcp_job *j)
{
	j->rev++;
	return json_pack("{s:o}", "job", rcp_job_to_json(j));
}

/* Journals recs (and drops them); a failure is logged, not fatal. */
static void
journal(struct rcp_jobtab *t, json_t **recs, size_t n)
{
	char *cause = NULL;
	size_t i;

	if (n > 0 && rcp_journal_append(t->journal, recs, n, &cause) != 0) {
		rcp_log(&t->log, RCP_LOG_ERROR, "%s", cause);
		free(cause);
	}
	for (i = 0; i < n; i++)
		json_decref(recs[i]);
}

static void
journal1(struct rcp_jobtab *t, json_t *rec)
{
	if (rec != NULL)
		journal(t, &rec, 1);
}

static void
notify(struct rcp_jobtab *t)
{
	if (t->notify != NULL)
		t->notify(t->notify_arg);
}

/* Ends j in a final state; returns its record; requires t->lock. */
static json_t *
end_job(struct rcp_jobtab *t, struct rcp_job *j, int state, const char *error)
{
	j->state = state;
	j->finished = rcp_job_now();
	if (error != NULL && j->error == NULL)
		j->error = rcp_xstrdup(error);
	if (state != RCP_CTL_SUCCEEDED && state != RCP_CTL_PARTIAL)
		j->rate = 0;
	else if (j->started > 0 && j->finished > j->started)
		j->rate = (double)j->progress.s.bytes_copied /
		    (j->finished - j->started);
	t->live--;
	t->bytes_done += j->progress.s.bytes_copied;
	t->files_done += j->progress.s.files_copied;
	t->errors_done += j->errors_total;
	t->entries_done[j->kind] += rcp_job_entries_done(j);
	return record(j);
}

/* --- running a job (pool threads) ----------------------------------------- */

/*
 * Progress, and the ledger's buffer written now and then (never under the
 * table's lock: that is disk I/O).
 */
static void
on_progress(void *arg, const struct rcp_job_progress *p)
{
	struct run_ctx *ctx = arg;
	struct rcp_ledger_counts n;
	char *cause = NULL;
	bool have = ctx->ledger != NULL;

	if (have && rcp_ledger_tick(ctx->ledger, &cause) != 0)
		rcp_log(&ctx->t->log, RCP_LOG_ERROR, "job %llu: %s",
		    (unsigned long long)ctx->j->id, cause);
	if (have)
		rcp_ledger_counts(ctx->ledger, &n);
	pthread_mutex_lock(&ctx->t->lock);
	rcp_job_set_progress(ctx->j, p, rcp_now_ns());
	if (have)
		ctx->j->ledger = n;
	if (cause != NULL) {
		/* Reported once: the job says why its ledger is short. */
		free(ctx->j->ledger_error);
		ctx->j->ledger_error = cause;
	}
	pthread_mutex_unlock(&ctx->t->lock);
}

static void
on_error(void *arg, const char *msg)
{
	struct run_ctx *ctx = arg;

	pthread_mutex_lock(&ctx->t->lock);
	rcp_job_add_error(ctx->j, msg);
	if (ctx->ledger == NULL)
		ctx->j->ledger.errors_dropped++;
	pthread_mutex_unlock(&ctx->t->lock);
	if (ctx->ledger != NULL)
		rcp_ledger_error(ctx->ledger, msg);
}

static void
on_file(void *arg, const char *path)
{
	struct run_ctx *ctx = arg;

	if (ctx->ledger != NULL) {
		rcp_ledger_file(ctx->ledger, path);
		return;
	}
	pthread_mutex_lock(&ctx->t->lock);
	ctx->j->ledger.files_dropped++;
	pthread_mutex_unlock(&ctx->t->lock);
}

static void
on_warning(void *arg, const char *msg)
{
	struct run_ctx *ctx = arg;

	pthread_mutex_lock(&ctx->t->lock);
	rcp_job_add_warning(ctx->j, msg);
	pthread_mutex_unlock(&ctx->t->lock);
}

const double rcp_jobtab_wait_le[RCP_JOBTAB_WAIT_BUCKETS] = {
	0.01, 0.1, 1, 10, 60, 600, 3600
};

/* Counts one submit-to-start wait; requires t->lock. */
static void
observe_wait(struct rcp_jobtab *t, double s)
{
	size_t i;

	if (s < 0)
		s = 0;
	for (i = 0; i < RCP_JOBTAB_WAIT_BUCKETS; i++)
		if (s <= rcp_jobtab_wait_le[i])
			t->wait_counts[i]++;
	t->wait_count++;
	t->wait_sum += s;
}

/* Marks j running and makes its runner; requires t->lock. */
static struct rcp_runner *
start_job(struct rcp_jobtab *t, struct rcp_job *j, struct rcp_runner_spec *spec,
    struct run_ctx *ctx)
{
	struct rcp_runner_hooks hooks = { on_progress, on_error, ctx,
	    on_warning, on_file };
	size_t i;

	j->state = RCP_CTL_RUNNING;
	j->started = rcp_job_now();
	if (j->attempts == 0 && j->submitted > 0)
		observe_wait(t, j->started - j->submitted);
	j->finished = 0;
	j->attempts++;
	memset(&j->progress, 0, sizeof(j->progress));
	j->rate = 0;
	j->rate_ns = 0;
	j->moved_ns = rcp_now_ns();
	j->stalled = false;
	for (i = 0; i < j->nerrors; i++)
		free(j->errors[i]);
	j->nerrors = 0;
	j->errors_total = 0;

	memset(spec, 0, sizeof(*spec));
	spec->kind = j->kind;
	spec->srcs = (const char *const *)j->srcs;
	spec->nsrcs = j->nsrcs;
	spec->dst = j->dst;
	spec->opts = &j->opts;
	spec->uid = j->uid;
	spec->gid = j->gid;
	spec->umask = j->umask;
	/*
	 * The engine takes the umask from the process: another needs one.
	 * (Remote agents create files with their own hosts' umask.)
	 */
	spec->separate = j->uid != t->euid ||
	    (!j->remote && j->umask != t->umask);
	spec->restart = j->restart;
	spec->record_files = j->record_files;
	spec->max_open_files = spec->separate ? 0 : t->fd_share;
	/* A local job needs no network library: the lighter rcp-job. */
	spec->exe_fd = !j->remote && t->job_fd >= 0 ? t->job_fd : t->exe_fd;
	/* Kept agents run as the master: only for its own user's jobs. */
	spec->sessions = spec->separate ? NULL : t->sessions;
	spec->uhosts = spec->separate && j->remote ? t->uhosts : NULL;
	spec->options = j->options;
	spec->noptions = j->noptions;
	spec->cwd = j->cwd;
	t->running++;
	return rcp_runner_new(spec, &hooks);
}

/* Whether a run with failed entries got nothing else done at all. */
static bool
nothing_done(const struct rcp_job *j)
{
	const struct rcp_copy_stats *s = &j->progress.s;
	const struct rcp_walk_stats *w = &j->progress.w;

	if (rcp_job_kind_walks(j->kind))
		return w->files + w->dirs + w->kept == 0;
	return s->files_copied + s->dirs_created + s->symlinks_created +
	    s->specials_created + s->hard_links_created + s->files_unchanged +
	    s->dirs_unchanged + s->symlinks_unchanged + s->removed == 0;
}

/* The state a run's result puts j in; requires t->lock. */
static json_t *
finish_job(struct rcp_jobtab *t, struct rcp_job *j, int res, const char *cause)
{
	t->running--;
	j->runner = NULL;
	if (j->stalled && res != 0)
		return end_job(t, j, RCP_CTL_FAILED, NULL);	/* error set */
	switch (res) {
	case 0:
		return end_job(t, j, RCP_CTL_SUCCEEDED, NULL);
	case RCP_ERR_PARTIAL:
		/*
		 * Every entry failed (a destination the user cannot write,
		 * a source that cannot be read): for a scheduler that is a
		 * failed job, not a partial one.
		 */
		if (nothing_done(j))
			return end_job(t, j, RCP_CTL_FAILED, j->nerrors > 0 ?
			    j->errors[0] : "every entry failed");
		return end_job(t, j, RCP_CTL_PARTIAL, NULL);
	case RCP_ERR_CANCELED:
		if (!j->cancel_requested && t->requeue) {
			/* Shut down: back in the queue for the next start. */
			j->state = RCP_CTL_QUEUED;
			j->restart = true;
			return record(j);
		}
		return end_job(t, j, RCP_CTL_CANCELED, NULL);
	}
	return end_job(t, j, RCP_CTL_FAILED, cause != NULL ? cause :
	    rcp_strerror(res));
}

/*
 * Opens j's ledger for its next attempt, from the pool's thread (the file
 * is created here, not on the control loop).  A ledger that cannot be
 * opened is logged and said in the job: its entries are then counted as
 * dropped.
 */
static struct rcp_ledger *
open_ledger(struct rcp_jobtab *t, struct rcp_job *j)
{
	struct rcp_ledger_counts start;
	struct rcp_ledger *l = NULL;
	char *path = rcp_ledger_path(t->state_dir, j->id), *cause = NULL;
	int attempt;

	pthread_mutex_lock(&t->lock);
	start = j->ledger;
	attempt = j->attempts + 1;
	pthread_mutex_unlock(&t->lock);
	if (rcp_ledger_open(path, t->ledger_max, attempt, &start, &l,
	    &cause) != 0) {
		rcp_log(&t->log, RCP_LOG_ERROR, "job %llu: %s",
		    (unsigned long long)j->id, cause);
		pthread_mutex_lock(&t->lock);
		free(j->ledger_error);
		j->ledger_error = cause;
		pthread_mutex_unlock(&t->lock);
		cause = NULL;
	}
	free(path);
	return l;
}

/* Closes a run's ledger (fsync'ed) and keeps its counts in j. */
static void
close_ledger(struct rcp_jobtab *t, struct run_ctx *ctx)
{
	struct rcp_ledger_counts n;
	char *cause = NULL;

	if (ctx->ledger == NULL)
		return;
	if (rcp_ledger_close(ctx->ledger, &n, &cause) != 0)
		rcp_log(&t->log, RCP_LOG_ERROR, "job %llu: %s",
		    (unsigned long long)ctx->j->id, cause);
	ctx->ledger = NULL;
	pthread_mutex_lock(&t->lock);
	ctx->j->ledger = n;
	if (cause != NULL) {
		free(ctx->j->ledger_error);
		ctx->j->ledger_error = cause;
	}
	pthread_mutex_unlock(&t->lock);
}

static void
run_job(void *arg, struct rcp_pool_item *item)
{
	struct rcp_jobtab *t = arg;
	struct rcp_job *j = item_job(item);
	struct rcp_runner_spec spec;
	struct run_ctx ctx = { t, j, NULL };
	struct rcp_runner *r;
	json_t *rec;
	char *cause = NULL;
	int res;

	ctx.ledger = open_ledger(t, j);

	pthread_mutex_lock(&t->lock);
	if (j->cancel_requested) {
		/* Canceled while this thread was taking it. */
		pthread_mutex_unlock(&t->lock);
		close_ledger(t, &ctx);
		pthread_mutex_lock(&t->lock);
		rec = end_job(t, j, RCP_CTL_CANCELED, NULL);
		pthread_mutex_unlock(&t->lock);
		journal1(t, rec);
		notify(t);
		return;
	}
	if (t->stopping) {
		pthread_mutex_unlock(&t->lock);
		close_ledger(t, &ctx);
		return;		/* stays queued, in the journal too */
	}
	r = start_job(t, j, &spec, &ctx);
	j->runner = r;
	rec = record(j);
	pthread_mutex_unlock(&t->lock);
	journal1(t, rec);
	notify(t);

	res = rcp_runner_run(r, &cause);
	close_ledger(t, &ctx);

	pthread_mutex_lock(&t->lock);
	rec = finish_job(t, j, res, cause);
	pthread_mutex_unlock(&t->lock);
	journal1(t, rec);
	rcp_runner_free(r);
	free(cause);
	notify(t);
}

/* --- requests --------------------------------------------------------------- */

/* Returns the job of uid with key, or NULL; requires t->lock. */
static struct rcp_job *
find_key(struct rcp_jobtab *t, uid_t uid, const char *key)
{
	size_t i;

	for (i = t->njobs; i > 0; i--)
		if (t->jobs[i - 1]->key != NULL && t->jobs[i - 1]->uid == uid &&
		    strcmp(t->jobs[i - 1]->key, key) == 0)
			return t->jobs[i - 1];
	return NULL;
}

static json_t *
submitted_json(const struct rcp_job *j, bool dup)
{
	return json_pack("{s:o,s:b}", "job", rcp_job_to_json(j), "duplicate",
	    (int)dup);
}

int
rcp_jobtab_submit(struct rcp_jobtab *t, struct rcp_job **jobs, size_t n,
    json_t **result, char **cause)
{
	json_t **recs = rcp_xcalloc(n, sizeof(json_t *)), *res;
	struct rcp_job **fresh = rcp_xcalloc(n, sizeof(*fresh)), *old;
	size_t i, nfresh = 0;
	int r = 0;

	pthread_mutex_lock(&t->lock);
	if (t->stopping || t->live + n > RCP_JOBTAB_MAX_LIVE) {
		r = t->stopping ? RCP_CTL_E_SHUTTING_DOWN : RCP_CTL_E_BUSY;
		*cause = rcp_xstrdup(t->stopping ? "the master is shutting "
		    "down" : "too many jobs queued");
		pthread_mutex_unlock(&t->lock);
		for (i = 0; i < n; i++)
			rcp_job_free(jobs[i]);
		goto out;
	}
	res = json_array();
	for (i = 0; i < n; i++) {
		old = jobs[i]->key != NULL ? find_key(t, jobs[i]->uid,
		    jobs[i]->key) : NULL;
		if (old != NULL) {
			json_array_append_new(res, submitted_json(old, true));
			rcp_job_free(jobs[i]);
			continue;
		}
		jobs[i]->id = t->next_id++;
		jobs[i]->submitted = rcp_job_now();
		jobs[i]->state = RCP_CTL_QUEUED;
		jobs[i]->item.priority = jobs[i]->priority;
		jobs[i]->item.group = jobs[i]->pair;
		add(t, jobs[i]);
		t->live++;
		recs[nfresh] = record(jobs[i]);
		fresh[nfresh++] = jobs[i];
		json_array_append_new(res, submitted_json(jobs[i], false));
	}
	pthread_mutex_unlock(&t->lock);

	/* On disk before it may run, and before the client hears of it. */
	journal(t, recs, nfresh);
	pthread_mutex_lock(&t->lock);
	for (i = 0; i < nfresh; i++)
		if (fresh[i]->state == RCP_CTL_QUEUED)
			rcp_pool_push(t->pool, &fresh[i]->item);
	pthread_mutex_unlock(&t->lock);
	*result = res;
out:
	free(recs);
	free(fresh);
	return r;
}

json_t *
rcp_jobtab_get(struct rcp_jobtab *t, uint64_t id, uid_t uid, int *state)
{
	struct rcp_job *j;
	json_t *o = NULL;

	pthread_mutex_lock(&t->lock);
	if ((j = find(t, id)) != NULL && visible(j, uid)) {
		o = rcp_job_to_json(j);
		if (state != NULL)
			*state = j->state;
	}
	pthread_mutex_unlock(&t->lock);
	return o;
}

int
rcp_jobtab_state(struct rcp_jobtab *t, uint64_t id, uid_t uid)
{
	struct rcp_job *j;
	int state = -1;

	pthread_mutex_lock(&t->lock);
	if ((j = find(t, id)) != NULL && visible(j, uid))
		state = j->state;
	pthread_mutex_unlock(&t->lock);
	return state;
}

/* Whether q picks j; requires t->lock. */
static bool
picked(const struct rcp_job *j, const struct rcp_jobtab_query *q)
{
	return visible(j, q->uid) && (q->states == NULL || q->states[j->state]) &&
	    (q->label == NULL || (j->label != NULL &&
	    strcmp(j->label, q->label) == 0));
}

/* The index of the first job of q's listing; requires t->lock. */
static size_t
list_start(struct rcp_jobtab *t, const struct rcp_jobtab_query *q)
{
	size_t lo = 0, hi = t->njobs, mid, i, n = 0;

	if (q->after > 0) {
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (t->jobs[mid]->id <= q->after)
				lo = mid + 1;
			else
				hi = mid;
		}
		return lo;
	}
	if (q->limit == 0)
		return 0;
	for (i = t->njobs; i > 0; i--)
		if (picked(t->jobs[i - 1], q) && ++n == q->limit)
			return i - 1;
	return 0;
}

json_t *
rcp_jobtab_list(struct rcp_jobtab *t, const struct rcp_jobtab_query *q,
    bool *more, uint64_t *next)
{
	json_t *a = json_array(), *o;
	size_t i, bytes = 0, n;

	*more = false;
	*next = q->after;
	pthread_mutex_lock(&t->lock);
	for (i = list_start(t, q); i < t->njobs; i++) {
		if (!picked(t->jobs[i], q))
			continue;
		if (json_array_size(a) >= q->page) {
			*more = true;
			break;
		}
		o = rcp_job_to_json(t->jobs[i]);
		n = json_dumpb(o, NULL, 0, JSON_COMPACT);
		if (json_array_size(a) > 0 && bytes + n > q->max_bytes) {
			json_decref(o);
			*more = true;
			break;
		}
		bytes += n;
		json_array_append_new(a, o);
		*next = t->jobs[i]->id;
	}
	pthread_mutex_unlock(&t->lock);
	return a;
}

int
rcp_jobtab_cancel(struct rcp_jobtab *t, uint64_t id, uid_t uid, json_t **job,
    char **cause)
{
	struct rcp_job *j;
	json_t *rec = NULL;
	bool ended = false;
	int r = 0;

	pthread_mutex_lock(&t->lock);
	if ((j = find(t, id)) == NULL || !visible(j, uid)) {
		*cause = rcp_xasprintf("no job %llu", (unsigned long long)id);
		r = RCP_CTL_E_NOT_FOUND;
	} else if (j->state == RCP_CTL_QUEUED) {
		if (rcp_pool_remove(t->pool, &j->item)) {
			rec = end_job(t, j, RCP_CTL_CANCELED, NULL);
			ended = true;
		} else {
			/* A worker is taking it: it will see the flag. */
			j->cancel_requested = true;
			rec = record(j);
		}
	} else if (j->state == RCP_CTL_RUNNING) {
		if (!j->cancel_requested) {
			j->cancel_requested = true;
			rcp_runner_cancel(j->runner);
			rec = record(j);
		}
	} else if (j->state != RCP_CTL_CANCELED) {
		*cause = rcp_xasprintf("job %llu has already finished (%s)",
		    (unsigned long long)id, rcp_ctl_state_name(j->state));
		r = RCP_CTL_E_FINISHED;
	}
	if (r == 0)
		*job = rcp_job_to_json(j);
	pthread_mutex_unlock(&t->lock);
	journal1(t, rec);
	if (ended)
		notify(t);
	return r;
}

json_t *
rcp_jobtab_stats(struct rcp_jobtab *t)
{
	size_t counts[RCP_CTL_NSTATES] = { 0 }, i;
	json_t *o = json_object(), *by = json_object(), *w = json_array();
	json_t *pairs = json_object();
	json_t *kinds = json_object(), *entries = json_object();
	size_t nkind[RCP_JOB_NKINDS] = { 0 };
	uint64_t bytes, files, errors, ent[RCP_JOB_NKINDS];
	const char *pair;
	double rate = 0;
	int k;

	pthread_mutex_lock(&t->lock);
	bytes = t->bytes_done;
	files = t->files_done;
	errors = t->errors_done;
	memcpy(ent, t->entries_done, sizeof(ent));
	for (i = 0; i < t->njobs; i++) {
		counts[t->jobs[i]->state]++;
		nkind[t->jobs[i]->kind]++;
		if (t->jobs[i]->state == RCP_CTL_RUNNING) {
			ent[t->jobs[i]->kind] += rcp_job_entries_done(t->jobs[i]);
			rate += t->jobs[i]->rate;
			bytes += t->jobs[i]->progress.s.bytes_copied;
			files += t->jobs[i]->progress.s.files_copied;
			errors += t->jobs[i]->errors_total;
			pair = t->jobs[i]->pair != NULL ? t->jobs[i]->pair :
			    RCP_JOB_PAIR_LOCAL;
			json_object_set_new(pairs, pair, json_integer(
			    json_integer_value(json_object_get(pairs, pair)) +
			    1));
		}
	}
	for (i = 0; i < RCP_JOBTAB_WAIT_BUCKETS; i++)
		json_array_append_new(w, json_integer(
		    (json_int_t)t->wait_counts[i]));
	json_object_set_new(o, "start_wait", json_pack("{s:o,s:I,s:f}",
	    "buckets", w, "count", (json_int_t)t->wait_count, "sum",
	    t->wait_sum));
	json_object_set_new(o, "stopping", json_boolean(t->stopping));
	pthread_mutex_unlock(&t->lock);
	json_object_set_new(o, "running_by_pair", pairs);
	for (k = 0; k < RCP_JOB_NKINDS; k++) {
		json_object_set_new(kinds, rcp_job_kind_name(k),
		    json_integer((json_int_t)nkind[k]));
		json_object_set_new(entries, rcp_job_kind_name(k),
		    json_integer((json_int_t)ent[k]));
	}
	json_object_set_new(o, "jobs_by_kind", kinds);
	json_object_set_new(o, "entries_by_kind", entries);
	json_object_set_new(o, "files_copied", json_integer((json_int_t)files));
	json_object_set_new(o, "errors", json_integer((json_int_t)errors));
	for (i = 0; i < RCP_CTL_NSTATES; i++)
		json_object_set_new(by, rcp_ctl_state_name((int)i),
		    json_integer((json_int_t)counts[i]));
	json_object_set_new(o, "queued",
	    json_integer((json_int_t)counts[RCP_CTL_QUEUED]));
	json_object_set_new(o, "running",
	    json_integer((json_int_t)counts[RCP_CTL_RUNNING]));
	json_object_set_new(o, "workers", json_integer(t->workers));
	json_object_set_new(o, "pair_cap", json_integer(t->pair_cap));
	json_object_set_new(o, "sessions_idle",
	    json_integer(rcp_sessions_idle(t->sessions)));
	json_object_set_new(o, "throughput", json_real(rate));
	json_object_set_new(o, "bytes_copied", json_integer((json_int_t)bytes));
	json_object_set_new(o, "jobs", by);
	json_object_set_new(o, "uptime", json_real((double)(rcp_now_ns() -
	    t->start_ns) / 1e9));
	return o;
}

int
rcp_jobtab_files(struct rcp_jobtab *t, uint64_t id, uid_t uid,
    const struct rcp_ledger_page *q, json_t **result, char **cause)
{
	struct rcp_job *j;
	json_t *res, *entries;
	uint64_t next;
	char *path;
	bool more;
	int r;

	pthread_mutex_lock(&t->lock);
	if ((j = find(t, id)) == NULL || !visible(j, uid)) {
		pthread_mutex_unlock(&t->lock);
		*cause = rcp_xasprintf("no job %llu", (unsigned long long)id);
		return RCP_CTL_E_NOT_FOUND;
	}
	res = json_pack("{s:s,s:b,s:o,s:o}", "state",
	    rcp_ctl_state_name(j->state), "record_files", (int)j->record_files,
	    "ledger", rcp_ledger_counts_json(&j->ledger), "ledger_error",
	    j->ledger_error != NULL ? json_string(j->ledger_error) :
	    json_null());
	pthread_mutex_unlock(&t->lock);

	/* One bounded page: a few preads of the master's own file. */
	path = rcp_ledger_path(t->state_dir, id);
	r = rcp_ledger_read(path, q, &entries, &next, &more, cause);
	free(path);
	if (r != 0) {
		json_decref(res);
		return r == RCP_ERR_INVAL ? RCP_CTL_E_INVALID :
		    RCP_CTL_E_INTERNAL;
	}
	json_object_set_new(res, "entries", entries);
	json_object_set_new(res, "more", json_boolean(more));
	json_object_set_new(res, "next", json_integer((json_int_t)next));
	*result = res;
	return 0;
}

void
rcp_jobtab_stop(struct rcp_jobtab *t, bool requeue)
{
	size_t i;

	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	if (requeue && !t->requeue) {
		t->requeue = true;
		for (i = 0; i < t->njobs; i++)
			if (t->jobs[i]->state == RCP_CTL_RUNNING &&
			    t->jobs[i]->runner != NULL)
				rcp_runner_cancel(t->jobs[i]->runner);
	}
	pthread_mutex_unlock(&t->lock);
	rcp_pool_stop(t->pool);
}

size_t
rcp_jobtab_running(struct rcp_jobtab *t)
{
	size_t n;

	pthread_mutex_lock(&t->lock);
	n = t->running;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* --- the journal at start and now and then ------------------------------------ */

/* Jobs encoded per chunk of a compaction, under the table's lock. */
#define COMPACT_CHUNK	256

/* Where a compaction has got to. */
struct compact_pos {
	struct rcp_jobtab	*t;
	size_t			 next;	/* index of the next job */
};

/*
 * The next chunk of records of the compacted journal, the next id last.
 * The lock is held for one chunk only; a job that changes meanwhile has
 * its newer record appended, which the rewrite carries over after the
 * chunks, and the newest rev wins.
 * (Jobs are pruned by the housekeeping thread, the one compacting.)
 */
static bool
compact_gen(void *arg, struct rcp_buf *b)
{
	struct compact_pos *p = arg;
	struct rcp_jobtab *t = p->t;
	json_t *rec;
	size_t end;
	bool more;

	pthread_mutex_lock(&t->lock);
	end = p->next + COMPACT_CHUNK < t->njobs ? p->next + COMPACT_CHUNK :
	    t->njobs;
	for (; p->next < end; p->next++) {
		rec = json_pack("{s:o}", "job", rcp_job_to_json(t->jobs[p->next]));
		rcp_ctl_encode(b, rec);
		json_decref(rec);
	}
	more = p->next < t->njobs;
	if (!more) {
		rec = json_pack("{s:I}", "next_id", (json_int_t)t->next_id);
		rcp_ctl_encode(b, rec);
		json_decref(rec);
	}
	pthread_mutex_unlock(&t->lock);
	return more;
}

static int
compact(struct rcp_jobtab *t, char **cause)
{
	struct compact_pos p = { t, 0 };
	int r;

	r = rcp_journal_rewrite_gen(t->journal, compact_gen, &p, cause);
	t->compacted = rcp_journal_size(t->journal);
	return r;
}

/* Returns true if finished job j has been kept long enough. */
static bool
expired(const struct rcp_jobtab *t, const struct rcp_job *j, double now)
{
	return rcp_ctl_state_final(j->state) && j->finished > 0 &&
	    now - j->finished > (double)t->keep_ns / 1e9;
}

/* Removes job id's ledger; a missing one is fine. */
static void
remove_ledger(struct rcp_jobtab *t, uint64_t id)
{
	char *path = rcp_ledger_path(t->state_dir, id);

	if (unlink(path) != 0 && errno != ENOENT)
		rcp_log(&t->log, RCP_LOG_WARN, "cannot remove ledger '%s': %s",
		    path, strerror(errno));
	free(path);
}

/* Forgets old finished jobs, ends idle agents, compacts the journal. */
static void
housekeep(struct rcp_jobtab *t)
{
	double now = rcp_job_now();
	uint64_t *gone = NULL;
	size_t i, k, ngone = 0;
	char *cause = NULL;

	pthread_mutex_lock(&t->lock);
	for (i = k = 0; i < t->njobs; i++) {
		if (expired(t, t->jobs[i], now)) {
			gone = rcp_xrealloc(gone, (ngone + 1) * sizeof(*gone));
			gone[ngone++] = t->jobs[i]->id;
			rcp_job_free(t->jobs[i]);
		} else
			t->jobs[k++] = t->jobs[i];
	}
	t->njobs = k;
	pthread_mutex_unlock(&t->lock);
	/* Unlinked after the lock: a reader of one gets an empty page. */
	for (i = 0; i < ngone; i++)
		remove_ledger(t, gone[i]);
	free(gone);
	rcp_sessions_expire(t->sessions);
	rcp_uhosts_expire(t->uhosts);
	if (rcp_journal_size(t->journal) > COMPACT_MIN &&
	    rcp_journal_size(t->journal) > COMPACT_FACTOR * t->compacted &&
	    compact(t, &cause) != 0) {
		rcp_log(&t->log, RCP_LOG_ERROR, "%s", cause);
		free(cause);
	}
}

/* The stall timeout of j in ns, 0 for none; requires t->lock. */
static uint64_t
stall_ns(const struct rcp_jobtab *t, const struct rcp_job *j)
{
	return j->stall_timeout >= 0 ? (uint64_t)j->stall_timeout * 1000000000u :
	    t->stall_ns;
}

/*
 * Fails the running jobs whose counters have not moved for their stall
 * timeout: their runners are told to stop (which tears their agents down
 * in bounded time) and each ends failed with the reason in its error.
 */
static void
watchdog(struct rcp_jobtab *t)
{
	uint64_t now = rcp_now_ns(), lim;
	json_t **recs = NULL;
	struct rcp_job *j;
	size_t i, n = 0, cap = 0;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->njobs; i++) {
		j = t->jobs[i];
		if (j->state != RCP_CTL_RUNNING || j->runner == NULL ||
		    j->stalled || (lim = stall_ns(t, j)) == 0 ||
		    now - j->moved_ns < lim)
			continue;
		j->stalled = true;
		free(j->error);
		j->error = rcp_xasprintf("no progress for %llu s",
		    (unsigned long long)(lim / 1000000000u));
		rcp_log(&t->log, RCP_LOG_WARN, "job %llu: %s: stopping it",
		    (unsigned long long)j->id, j->error);
		rcp_runner_cancel(j->runner);	/* only asks: never waits */
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			recs = rcp_xrealloc(recs, cap * sizeof(*recs));
		}
		recs[n++] = record(j);
	}
	pthread_mutex_unlock(&t->lock);
	journal(t, recs, n);
	free(recs);
	if (n > 0)
		notify(t);
}

static void *
janitor_main(void *arg)
{
	struct rcp_jobtab *t = arg;
	uint64_t next_hk = rcp_now_ns() + HOUSEKEEP_NS;

	pthread_mutex_lock(&t->lock);
	while (!t->janitor_stop) {
		(void)rcp_cond_wait_until(&t->janitor_cond, &t->lock,
		    rcp_now_ns() + WATCHDOG_NS);
		if (t->janitor_stop)
			break;
		pthread_mutex_unlock(&t->lock);
		watchdog(t);
		if (t->tick != NULL)
			t->tick(t->tick_arg);
		if (rcp_now_ns() >= next_hk) {
			housekeep(t);
			next_hk = rcp_now_ns() + HOUSEKEEP_NS;
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

/* Records read from the journal before they become the table. */
struct loaded {
	struct rcp_jobtab	*t;
	struct rcp_job		**jobs;
	size_t			 n;
	size_t			 cap;
	uint64_t		 next_id;
	size_t			 bad;
};

static void
load_one(void *arg, const json_t *rec)
{
	struct loaded *ld = arg;
	json_t *o = json_object_get(rec, "job");
	struct rcp_job *j;
	char *cause = NULL;

	if (rcp_ctl_member(rec, "next_id", RCP_CTL_K_INTEGER, NULL,
	    NULL) > 0) {
		uint64_t v = rcp_ctl_u64(rec, "next_id");
		if (v > ld->next_id)
			ld->next_id = v;
		return;
	}
	if (o == NULL || rcp_job_from_json(o, &j, &cause) != 0) {
		free(cause);
		ld->bad++;
		return;
	}
	if (ld->n == ld->cap) {
		ld->cap = ld->cap == 0 ? 256 : ld->cap * 2;
		ld->jobs = rcp_xrealloc(ld->jobs, ld->cap * sizeof(*ld->jobs));
	}
	ld->jobs[ld->n++] = j;
}

static int
cmp_id_rev(const void *a, const void *b)
{
	const struct rcp_job *x = *(struct rcp_job *const *)a;
	const struct rcp_job *y = *(struct rcp_job *const *)b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->rev != y->rev)
		return x->rev < y->rev ? -1 : 1;
	return 0;
}

/* Brings a job read back to life: what was running runs again. */
static void
revive(struct rcp_jobtab *t, struct rcp_job *j, double now)
{
	char *cause = NULL;

	j->item.priority = j->priority;
	if (rcp_job_parse_options(j, &cause) != 0 &&
	    !rcp_ctl_state_final(j->state)) {
		j->state = RCP_CTL_FAILED;
		j->finished = now;
		j->error = cause;
		cause = NULL;
	}
	free(cause);
	j->item.group = j->pair;
	if (j->state == RCP_CTL_RUNNING && j->ledger_error == NULL)
		/* Its ledger was written until about a second before. */
		j->ledger_error = rcp_xasprintf("rcp-master stopped during "
		    "attempt %d: the entries of its last second may be "
		    "missing", j->attempts);
	if (j->state == RCP_CTL_RUNNING) {
		if (j->cancel_requested) {
			j->state = RCP_CTL_CANCELED;
			j->finished = now;
		} else {
			j->state = RCP_CTL_QUEUED;
			j->restart = true;
			rcp_log(&t->log, RCP_LOG_INFO, "job %llu was running: "
			    "queued again", (unsigned long long)j->id);
		}
	}
	if (j->state == RCP_CTL_QUEUED && j->cancel_requested) {
		j->state = RCP_CTL_CANCELED;
		j->finished = now;
	}
}

/* Reads the journal into the table (newest record of each job wins). */
static int
load(struct rcp_jobtab *t, char **cause)
{
	struct loaded ld = { .t = t, .next_id = 1 };
	double now = rcp_job_now();
	size_t i;
	int r;

	if ((r = rcp_journal_load(t->journal_path, load_one, &ld, &ld.bad,
	    cause)) != 0)
		return r;
	if (ld.bad > 0)
		rcp_log(&t->log, RCP_LOG_WARN, "journal '%s': %zu unreadable "
		    "line%s skipped (a write cut short?)", t->journal_path,
		    ld.bad, ld.bad == 1 ? "" : "s");
	if (ld.n > 0)
		qsort(ld.jobs, ld.n, sizeof(*ld.jobs), cmp_id_rev);
	for (i = 0; i < ld.n; i++) {
		if (i + 1 < ld.n && ld.jobs[i + 1]->id == ld.jobs[i]->id) {
			rcp_job_free(ld.jobs[i]);	/* an older record */
			continue;
		}
		if (ld.jobs[i]->id >= ld.next_id)
			ld.next_id = ld.jobs[i]->id + 1;
		revive(t, ld.jobs[i], now);
		if (expired(t, ld.jobs[i], now)) {
			rcp_job_free(ld.jobs[i]);	/* its ledger: sweep */
			continue;
		}
		if (!rcp_ctl_state_final(ld.jobs[i]->state))
			t->live++;
		add(t, ld.jobs[i]);
	}
	free(ld.jobs);
	t->next_id = ld.next_id;
	return 0;
}

/*
 * Removes the ledgers of jobs not in the table (expired while the master
 * was down, or left by a crash between forgetting a job and removing its
 * ledger); called before the workers start.
 */
static void
sweep_ledgers(struct rcp_jobtab *t)
{
	DIR *d = opendir(t->ledger_dir);
	struct dirent *de;
	uint64_t id;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (rcp_parse_uint(de->d_name, UINT64_MAX, &id) == 0 &&
		    find(t, id) != NULL)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) != 0)
			rcp_log(&t->log, RCP_LOG_WARN, "cannot remove '%s/%s': "
			    "%s", t->ledger_dir, de->d_name, strerror(errno));
	}
	closedir(d);
}

static int
make_dirs(const char *path, char **cause)
{
	char *p = rcp_xstrdup(path), *s, c;
	int r = 0;

	for (s = p + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		c = *s;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			*cause = rcp_xasprintf("cannot create '%s': %s", p,
			    strerror(errno));
			r = RCP_ERR_IO;
			break;
		}
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	return r;
}

static int
lock_state(struct rcp_jobtab *t, char **cause)
{
	char *path = rcp_path_join(t->state_dir, "master.lock");
	int r = 0;

	t->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (t->lock_fd < 0) {
		*cause = rcp_xasprintf("cannot open '%s': %s", path,
		    strerror(errno));
		r = RCP_ERR_IO;
	} else if (flock(t->lock_fd, LOCK_EX | LOCK_NB) != 0) {
		*cause = rcp_xasprintf("another rcp-master uses the state "
		    "directory '%s'", t->state_dir);
		r = errno == EWOULDBLOCK ? RCP_ERR_EXISTS : RCP_ERR_IO;
	}
	free(path);
	return r;
}

/* The open files an in-process job may use: a share of the limit. */
static int
fd_share(int workers)
{
	struct rlimit rl;
	rlim_t n = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		n = rl.rlim_cur;
	n = n * 8 / 10 / (rlim_t)(workers > 0 ? workers : 1);
	return n < 64 ? 64 : (int)(n > (1u << 20) ? (1u << 20) : n);
}

static void
queue_loaded(struct rcp_jobtab *t)
{
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < t->njobs; i++)
		if (t->jobs[i]->state == RCP_CTL_QUEUED)
			rcp_pool_push(t->pool, &t->jobs[i]->item);
	pthread_mutex_unlock(&t->lock);
}

int
rcp_jobtab_new(const struct rcp_jobtab_opts *o, struct rcp_jobtab **out,
    char **cause)
{
	struct rcp_jobtab *t = rcp_xcalloc(1, sizeof(*t));
	struct rcp_copy_opts copts;
	int r;

	*cause = NULL;
	t->lock_fd = t->exe_fd = t->job_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	rcp_cond_init_mono(&t->janitor_cond);
	if (o->log != NULL)
		t->log = *o->log;
	t->state_dir = rcp_xstrdup(o->state_dir);
	t->journal_path = rcp_path_join(o->state_dir, "journal");
	t->ledger_dir = rcp_ledger_dir(o->state_dir);
	t->ledger_max = o->ledger_max > 0 ? o->ledger_max :
	    RCP_LEDGER_DEFAULT_MAX;
	t->euid = geteuid();
	rcp_copy_opts_init(&copts);	/* reads the umask without changing it */
	t->umask = copts.umask;
	t->workers = o->workers > 0 ? o->workers : 1;
	t->pair_cap = o->pair_cap > 0 ? o->pair_cap : t->workers;
	t->sessions = rcp_sessions_new(o->session_idle_ns, 4 * t->workers);
	if (o->session_idle_ns > 0)
		t->uhosts = rcp_uhosts_new(o->session_idle_ns);
	t->fd_share = fd_share(t->workers);
	t->keep_ns = o->keep_ns;
	t->stall_ns = o->stall_ns;
	t->notify = o->notify;
	t->notify_arg = o->notify_arg;
	t->tick = o->tick;
	t->tick_arg = o->tick_arg;
	t->start_ns = rcp_now_ns();

	t->job_fd = rcp_runner_job_exe_open();
	if ((t->exe_fd = rcp_runner_exe_open(cause)) < 0) {
		r = t->exe_fd;
		goto fail;
	}
	if ((r = make_dirs(t->state_dir, cause)) != 0 ||
	    (r = lock_state(t, cause)) != 0 ||
	    (r = make_dirs(t->ledger_dir, cause)) != 0 ||
	    (r = load(t, cause)) != 0 ||
	    (r = rcp_journal_open(t->journal_path, &t->journal, cause)) != 0 ||
	    (r = compact(t, cause)) != 0)
		goto fail;
	sweep_ledgers(t);	/* no lock: no other thread runs yet */
	t->pool = rcp_pool_new(t->workers, t->pair_cap, run_job, t, cause);
	if (t->pool == NULL) {
		r = RCP_ERR_INTERNAL;
		goto fail;
	}
	queue_loaded(t);
	if (pthread_create(&t->janitor, NULL, janitor_main, t) != 0) {
		*cause = rcp_xstrdup("cannot start the housekeeping thread");
		r = RCP_ERR_INTERNAL;
		goto fail;
	}
	t->janitor_started = true;
	*out = t;
	return 0;
fail:
	rcp_jobtab_free(t);
	return r;
}

void
rcp_jobtab_free(struct rcp_jobtab *t)
{
	size_t i;

	if (t == NULL)
		return;
	if (t->pool != NULL) {
		rcp_jobtab_stop(t, false);
		/* The watchdog still runs: a stuck job ends all the same. */
		rcp_pool_free(t->pool);	/* waits for the running jobs */
	}
	if (t->janitor_started) {
		pthread_mutex_lock(&t->lock);
		t->janitor_stop = true;
		pthread_cond_broadcast(&t->janitor_cond);
		pthread_mutex_unlock(&t->lock);
		pthread_join(t->janitor, NULL);
	}
	rcp_uhosts_free(t->uhosts);
	rcp_sessions_free(t->sessions);
	for (i = 0; i < t->njobs; i++)
		rcp_job_free(t->jobs[i]);
	free(t->jobs);
	rcp_journal_free(t->journal);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	if (t->exe_fd >= 0)
		close(t->exe_fd);
	if (t->job_fd >= 0)
		close(t->job_fd);
	pthread_cond_destroy(&t->janitor_cond);
	pthread_mutex_destroy(&t->lock);
	free(t->state_dir);
	free(t->journal_path);
	free(t->ledger_dir);
	free(t);
}
