/*
 * master-req.c: the requests of rcp-master's control protocol
 * (doc/ctl-protocol.md): a line becomes a request, hello comes first, each
 * method answers with a reply that echoes the request's id, and waits and
 * watches stay on their client until their job ends or their timer fires.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "service/master.h"
#include "service/master-int.h"
#include "workers/job.h"
#include "workers/jobtab.h"
#include "workers/ledger.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

typedef json_t *method_fn(struct rcp_master *, struct conn *, const json_t *,
    const json_t *);

/* --- methods ----------------------------------------------------------------- */

static json_t *
invalid(const json_t *id, char *cause)
{
	json_t *e = rcp_ctl_error(id, RCP_CTL_E_INVALID, "%s", cause);

	free(cause);
	return e;
}

/* Reads the "job" member: a job id. */
static int
job_id(const json_t *req, uint64_t *id, char **cause)
{
	int64_t v = 0;

	if (rcp_ctl_get_int(req, "job", 1, INT64_MAX, &v, cause) <= 0) {
		if (*cause == NULL)
			*cause = rcp_xstrdup("'job' (a job id) is missing");
		return RCP_ERR_INVAL;
	}
	*id = (uint64_t)v;
	return 0;
}

static json_t *
m_hello(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	/* Anything but that integer (absent, a string, 1.0) reads as 0. */
	if (rcp_ctl_int(req, "version") != RCP_CTL_VERSION) {
		c->closing = true;
		return rcp_ctl_error(id, RCP_CTL_E_VERSION, "this master speaks "
		    "protocol version %d; the client must say "
		    "{\"method\":\"hello\",\"version\":%d}", RCP_CTL_VERSION,
		    RCP_CTL_VERSION);
	}
	c->hello = true;
	return rcp_ctl_reply(id, json_pack("{s:i,s:s,s:i,s:i}", "protocol",
	    RCP_CTL_VERSION, "server", "rcp-master " PACKAGE_VERSION, "uid",
	    (int)c->uid, "pid", (int)getpid()));
}

static json_t *
m_version(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	return rcp_ctl_reply(id, json_pack("{s:s,s:i}", "version",
	    PACKAGE_VERSION, "protocol", RCP_CTL_VERSION));
}

static json_t *
m_ping(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	return rcp_ctl_reply(id, json_pack("{s:b,s:f}", "pong", 1, "uptime",
	    (double)(rcp_now_ns() - m->start_ns) / 1e9));
}

/* A user other than the daemon's own can be served only by root. */
static json_t *
may_submit(const struct conn *c, const json_t *id)
{
	uid_t me = geteuid();

	if (me == 0 || c->uid == me)
		return NULL;
	return rcp_ctl_error(id, RCP_CTL_E_DENIED, "this master runs as uid "
	    "%u and can run jobs only as that user; use a system-wide master "
	    "(run as root) to serve several users", (unsigned)me);
}

static json_t *
m_submit(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	struct rcp_job_who who = { c->uid, c->gid };
	struct rcp_job *j;
	json_t *res, *one;
	char *cause = NULL;
	int r;

	if ((res = may_submit(c, id)) != NULL)
		return res;
	if ((r = rcp_job_from_request(req, &who, &j, &cause)) != 0) {
		res = rcp_ctl_error(id, r, "%s", cause);
		free(cause);
		return res;
	}
	if ((r = rcp_jobtab_submit(m->jobs, &j, 1, &res, &cause)) != 0) {
		one = rcp_ctl_error(id, r, "%s", cause);
		free(cause);
		return one;
	}
	one = json_incref(json_array_get(res, 0));
	json_decref(res);
	return rcp_ctl_reply(id, one);
}

static json_t *
m_batch(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	struct rcp_job_who who = { c->uid, c->gid };
	const json_t *a = json_object_get(req, "jobs");
	struct rcp_job **jobs;
	json_t *res = NULL;
	char *cause = NULL;
	size_t i, n;
	int r = 0;

	if ((res = may_submit(c, id)) != NULL)
		return res;
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > RCP_CTL_MAX_BATCH)
		return rcp_ctl_error(id, RCP_CTL_E_INVALID, "'jobs' must be an "
		    "array of 1 to %d submit objects", RCP_CTL_MAX_BATCH);
	n = json_array_size(a);
	jobs = rcp_xcalloc(n, sizeof(*jobs));
	for (i = 0; i < n; i++) {
		if (!json_is_object(json_array_get(a, i))) {
			r = RCP_CTL_E_INVALID;
			cause = rcp_xstrdup("not an object");
		} else {
			r = rcp_job_from_request(json_array_get(a, i), &who,
			    &jobs[i], &cause);
		}
		if (r != 0) {
			res = rcp_ctl_error(id, r, "jobs[%zu]: %s", i, cause);
			free(cause);
			while (i-- > 0)
				rcp_job_free(jobs[i]);
			free(jobs);
			return res;
		}
	}
	r = rcp_jobtab_submit(m->jobs, jobs, n, &res, &cause);
	free(jobs);
	if (r != 0) {
		res = rcp_ctl_error(id, r, "%s", cause);
		free(cause);
		return res;
	}
	return rcp_ctl_reply(id, json_pack("{s:o}", "jobs", res));
}

static json_t *
not_found(const json_t *id, uint64_t job)
{
	return rcp_ctl_error(id, RCP_CTL_E_NOT_FOUND, "no job %llu",
	    (unsigned long long)job);
}

static json_t *
m_status(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	char *cause = NULL;
	uint64_t job;
	json_t *o;

	if (job_id(req, &job, &cause) != 0)
		return invalid(id, cause);
	if ((o = rcp_jobtab_get(m->jobs, job, c->uid, NULL)) == NULL)
		return not_found(id, job);
	return rcp_ctl_reply(id, json_pack("{s:o}", "job", o));
}

/* Reads "state": a state name or an array of them. */
static int
list_states(const json_t *req, bool *states, bool *any, char **cause)
{
	const json_t *v = json_object_get(req, "state"), *e;
	size_t i;
	int s;

	*any = false;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		if ((s = rcp_ctl_state_parse(json_string_value(v))) < 0)
			goto bad;
		states[s] = *any = true;
		return 0;
	}
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    (s = rcp_ctl_state_parse(json_string_value(e))) < 0)
			goto bad;
		states[s] = *any = true;
	}
	return 0;
bad:
	*cause = rcp_xstrdup("'state' must be a state (queued, running, "
	    "succeeded, partial, failed, canceled) or an array of them");
	return RCP_ERR_INVAL;
}

/*
 * Lists come in pages (doc/ctl-protocol.md): a client that asks for one
 * ("page") gets "more" and "next" to go on from.  One that does not (an
 * older client) gets the whole list if it fits in one page, else an error
 * that says so: a silently cut list would be misread.
 */
static json_t *
m_list(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	bool states[RCP_CTL_NSTATES] = { false }, any, more;
	struct rcp_jobtab_query q;
	const char *label = NULL;
	char *cause = NULL;
	int64_t limit = 0, after = 0, page = 0;
	uint64_t next;
	json_t *jobs, *res;

	if (list_states(req, states, &any, &cause) != 0 ||
	    rcp_ctl_get_str(req, "label", RCP_CTL_MAX_LABEL, &label,
	    &cause) < 0 || rcp_ctl_get_int(req, "limit", 0, INT64_MAX, &limit,
	    &cause) < 0 || rcp_ctl_get_int(req, "after", 0, INT64_MAX, &after,
	    &cause) < 0 || rcp_ctl_get_int(req, "page", 1, INT64_MAX, &page,
	    &cause) < 0)
		return invalid(id, cause);
	memset(&q, 0, sizeof(q));
	q.uid = c->uid;
	q.states = any ? states : NULL;
	q.label = label;
	q.after = (uint64_t)after;
	q.limit = (size_t)limit;
	q.page = page > 0 && page < RCP_CTL_LIST_PAGE ? (size_t)page :
	    RCP_CTL_LIST_PAGE;
	q.max_bytes = RCP_CTL_LIST_BYTES;
	jobs = rcp_jobtab_list(m->jobs, &q, &more, &next);
	if (more && page == 0) {
		json_decref(jobs);
		return rcp_ctl_error(id, RCP_CTL_E_INVALID, "more jobs match "
		    "than one reply holds: ask for pages ('page' and 'after', "
		    "as rcpctl does)");
	}
	res = json_pack("{s:o,s:b}", "jobs", jobs, "more", (int)more);
	if (more)
		json_object_set_new(res, "next", json_integer((json_int_t)next));
	return rcp_ctl_reply(id, res);
}

/*
 * A page of a job's ledger (doc/ctl-protocol.md): from "cursor" (a byte
 * offset the previous page gave as "next"), at most "limit" entries
 * (capped at RCP_CTL_LIST_PAGE) and RCP_CTL_LIST_BYTES of them.
 */
static json_t *
m_files(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	struct rcp_ledger_page q;
	char *cause = NULL;
	int64_t cursor = 0, limit = RCP_CTL_LIST_PAGE;
	bool errors = false;
	uint64_t job;
	json_t *res;
	int r;

	if (job_id(req, &job, &cause) != 0 ||
	    rcp_ctl_get_int(req, "cursor", 0, INT64_MAX, &cursor, &cause) < 0 ||
	    rcp_ctl_get_int(req, "limit", 1, INT64_MAX, &limit, &cause) < 0 ||
	    rcp_ctl_get_bool(req, "errors", &errors, &cause) < 0)
		return invalid(id, cause);
	memset(&q, 0, sizeof(q));
	q.cursor = (uint64_t)cursor;
	q.limit = limit < RCP_CTL_LIST_PAGE ? (size_t)limit : RCP_CTL_LIST_PAGE;
	q.max_bytes = RCP_CTL_LIST_BYTES;
	q.errors_only = errors;
	if ((r = rcp_jobtab_files(m->jobs, job, c->uid, &q, &res,
	    &cause)) != 0) {
		res = rcp_ctl_error(id, r, "%s", cause);
		free(cause);
		return res;
	}
	json_object_set_new(res, "job", json_integer((json_int_t)job));
	return rcp_ctl_reply(id, res);
}

static json_t *
m_cancel(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	char *cause = NULL;
	uint64_t job;
	json_t *o;
	int r;

	if (job_id(req, &job, &cause) != 0)
		return invalid(id, cause);
	if ((r = rcp_jobtab_cancel(m->jobs, job, c->uid, &o, &cause)) != 0) {
		o = rcp_ctl_error(id, r, "%s", cause);
		free(cause);
		return o;
	}
	return rcp_ctl_reply(id, json_pack("{s:o}", "job", o));
}

static void
add_sub(struct conn *c, struct sub *s, const json_t *id)
{
	s->rid = json_deep_copy(id);
	s->next = c->subs;
	c->subs = s;
}

static json_t *
m_wait(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	char *cause = NULL;
	int64_t timeout = 0;
	struct sub *s;
	uint64_t job;
	int state;

	if (job_id(req, &job, &cause) != 0 || rcp_ctl_get_int(req,
	    "timeout_ms", 0, INT32_MAX, &timeout, &cause) < 0)
		return invalid(id, cause);
	if ((state = rcp_jobtab_state(m->jobs, job, c->uid)) < 0)
		return not_found(id, job);
	s = rcp_xcalloc(1, sizeof(*s));
	s->job = job;
	if (timeout > 0)
		s->deadline_ns = rcp_now_ns() + (uint64_t)timeout * 1000000u;
	add_sub(c, s, id);
	return NULL;	/* answered by check_subs, at once if it has ended */
}

static json_t *
m_watch(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	char *cause = NULL;
	int64_t interval = 1000;
	struct sub *s;
	uint64_t job;
	json_t *o;

	if (job_id(req, &job, &cause) != 0 || rcp_ctl_get_int(req,
	    "interval_ms", 100, 3600000, &interval, &cause) < 0)
		return invalid(id, cause);
	if ((o = rcp_jobtab_get(m->jobs, job, c->uid, NULL)) == NULL)
		return not_found(id, job);
	s = rcp_xcalloc(1, sizeof(*s));
	s->job = job;
	s->watch = true;
	s->interval_ns = (uint64_t)interval * 1000000u;
	s->next_ns = rcp_now_ns() + s->interval_ns;
	add_sub(c, s, id);
	return rcp_ctl_reply(id, json_pack("{s:o}", "job", o));
}

static json_t *
m_stats(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	json_t *o = rcp_jobtab_stats(m->jobs);

	json_object_set_new(o, "clients", json_integer((json_int_t)m->nconns));
	return rcp_ctl_reply(id, o);
}

/* Appends one Prometheus sample family: HELP, TYPE, then value. */
static void
metric(struct rcp_buf *b, const char *name, const char *type,
    const char *help, double v)
{
	rcp_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help,
	    name, type, name, v);
}

/* A label value, escaped as the text format wants (\\, \", \n). */
static void
label_value(struct rcp_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			rcp_buf_addch(b, '\\');
		if (*s == '\n')
			rcp_buf_addstr(b, "\\n");
		else
			rcp_buf_addch(b, *s);
	}
}

/* The submit-to-start histogram of rcp_jobtab_stats' "start_wait". */
static void
start_wait(struct rcp_buf *b, const json_t *w)
{
	const json_t *buckets = json_object_get(w, "buckets");
	size_t i;

	rcp_buf_addstr(b, "# HELP rcp_job_start_wait_seconds Seconds from a "
	    "job's submit to its start.\n"
	    "# TYPE rcp_job_start_wait_seconds histogram\n");
	for (i = 0; i < RCP_JOBTAB_WAIT_BUCKETS; i++)
		rcp_buf_addf(b, "rcp_job_start_wait_seconds_bucket{le=\"%g\"} "
		    "%lld\n", rcp_jobtab_wait_le[i], (long long)
		    json_integer_value(json_array_get(buckets, i)));
	rcp_buf_addf(b, "rcp_job_start_wait_seconds_bucket{le=\"+Inf\"} %lld\n"
	    "rcp_job_start_wait_seconds_sum %.17g\n"
	    "rcp_job_start_wait_seconds_count %lld\n",
	    (long long)json_integer_value(json_object_get(w, "count")),
	    json_number_value(json_object_get(w, "sum")),
	    (long long)json_integer_value(json_object_get(w, "count")));
}

/* A family with one sample per job kind, from an object of rcp_jobtab_stats. */
static void
by_kind(struct rcp_buf *b, const char *name, const char *type,
    const char *help, json_t *kinds)
{
	const char *kind;
	json_t *v;

	rcp_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
	json_object_foreach(kinds, kind, v)
		rcp_buf_addf(b, "%s{kind=\"%s\"} %lld\n", name, kind,
		    (long long)json_integer_value(v));
}

/*
 * The Prometheus text exposition format (version 0.0.4) of the job table's
 * counters, as rcp_jobtab_stats has them: no job is waited on.
 */
static char *
metrics_text(struct rcp_master *m, bool clients)
{
	json_t *o = rcp_jobtab_stats(m->jobs), *by;
	struct rcp_buf b = RCP_BUF_INIT;
	const char *state;
	json_t *v;

	metric(&b, "rcp_bytes_transferred_total", "counter",
	    "Bytes copied by the master's jobs since it started.",
	    json_number_value(json_object_get(o, "bytes_copied")));
	metric(&b, "rcp_files_transferred_total", "counter",
	    "Files copied by the master's jobs since it started.",
	    json_number_value(json_object_get(o, "files_copied")));
	metric(&b, "rcp_errors_total", "counter",
	    "Entries the master's jobs failed on since it started.",
	    json_number_value(json_object_get(o, "errors")));
	metric(&b, "rcp_transfer_rate_bytes", "gauge",
	    "Bytes per second of the running jobs.",
	    json_number_value(json_object_get(o, "throughput")));
	metric(&b, "rcp_jobs_queued", "gauge", "Jobs waiting for a worker.",
	    json_number_value(json_object_get(o, "queued")));
	metric(&b, "rcp_jobs_running", "gauge", "Jobs running.",
	    json_number_value(json_object_get(o, "running")));
	metric(&b, "rcp_workers", "gauge", "Jobs the master runs at once "
	    "(--workers).", json_number_value(json_object_get(o, "workers")));
	metric(&b, "rcp_workers_busy", "gauge", "Workers running a job.",
	    json_number_value(json_object_get(o, "running")));
	start_wait(&b, json_object_get(o, "start_wait"));
	rcp_buf_addstr(&b, "# HELP rcp_jobs_running_pair Jobs running per host "
	    "pair (source and destination hosts).\n"
	    "# TYPE rcp_jobs_running_pair gauge\n");
	json_object_foreach(json_object_get(o, "running_by_pair"), state, v) {
		rcp_buf_addstr(&b, "rcp_jobs_running_pair{pair=\"");
		label_value(&b, state);
		rcp_buf_addf(&b, "\"} %lld\n", (long long)json_integer_value(v));
	}
	metric(&b, "rcp_sessions_idle", "gauge", "Remote agent pairs kept for "
	    "the next job.", json_number_value(json_object_get(o,
	    "sessions_idle")));
	if (clients)	/* the loop thread's */
		metric(&b, "rcp_control_clients", "gauge", "Clients connected "
		    "to the control socket.", (double)m->nconns);
	metric(&b, "rcp_uptime_seconds", "gauge", "Seconds since the master "
	    "started.", json_number_value(json_object_get(o, "uptime")));
	rcp_buf_addstr(&b, "# HELP rcp_jobs Jobs in the job table by state.\n"
	    "# TYPE rcp_jobs gauge\n");
	by = json_object_get(o, "jobs");
	json_object_foreach(by, state, v)
		rcp_buf_addf(&b, "rcp_jobs{state=\"%s\"} %lld\n", state,
		    (long long)json_integer_value(v));
	by_kind(&b, "rcp_jobs_kind", "gauge", "Jobs in the job table by kind "
	    "(copy, rm, link, chmod).", json_object_get(o, "jobs_by_kind"));
	by_kind(&b, "rcp_entries_total", "counter", "Entries the master's "
	    "jobs dealt with since it started, by job kind: files copied, "
	    "unchanged or linked (copy); entries removed (rm); files linked "
	    "or copied and directories and symlinks made (link); entries "
	    "changed (chmod).", json_object_get(o, "entries_by_kind"));
	json_decref(o);
	return rcp_buf_detach(&b);
}

/* Writes PATH.tmp, then renames it: a reader never sees half a file. */
static int
write_textfile(const char *path, const char *text, char **cause)
{
	char *tmp = rcp_xasprintf("%s.tmp", path);
	size_t len = strlen(text);
	FILE *fp = fopen(tmp, "we");
	int r = -1, saved;

	if (fp != NULL && fwrite(text, 1, len, fp) == len && fflush(fp) == 0 &&
	    fclose(fp) == 0) {
		fp = NULL;
		if (rename(tmp, path) == 0)
			r = 0;
	}
	saved = errno;
	if (fp != NULL)
		fclose(fp);
	if (r != 0) {
		*cause = rcp_xasprintf("cannot write '%s': %s", tmp,
		    strerror(saved));
		unlink(tmp);
	}
	free(tmp);
	return r;
}

void
master_metrics_tick(void *arg)
{
	struct rcp_master *m = arg;
	uint64_t now = rcp_now_ns();
	char *text, *cause = NULL;

	if (now < m->metrics_next_ns)
		return;
	m->metrics_next_ns = now + MASTER_METRICS_NS;
	text = metrics_text(m, false);
	if (write_textfile(m->metrics_path, text, &cause) != 0) {
		/* Said once, and again once it has worked in between. */
		if (!m->metrics_failed)
			rcp_log(&m->log, RCP_LOG_ERROR, "--metrics-textfile: %s",
			    cause);
		m->metrics_failed = true;
		free(cause);
	} else
		m->metrics_failed = false;
	free(text);
}

static json_t *
m_metrics(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	char *text = metrics_text(m, true);
	json_t *o = json_pack("{s:s}", "text", text);

	free(text);
	return rcp_ctl_reply(id, o);
}

static json_t *
m_shutdown(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id)
{
	bool requeue = false;
	char *cause = NULL;

	if (c->uid != 0 && c->uid != geteuid())
		return rcp_ctl_error(id, RCP_CTL_E_DENIED, "only root or uid "
		    "%u may shut this master down", (unsigned)geteuid());
	if (rcp_ctl_get_bool(req, "requeue", &requeue, &cause) < 0)
		return invalid(id, cause);
	rcp_log(&m->log, RCP_LOG_INFO, "shutdown asked by uid %u (%s)",
	    (unsigned)c->uid, requeue ? "running jobs requeued" :
	    "running jobs finish");
	rcp_master_shutdown(m, requeue);
	return rcp_ctl_reply(id, json_pack("{s:b,s:b}", "stopping", 1,
	    "requeue", (int)requeue));
}

static const struct {
	const char	*name;
	method_fn	*fn;
} methods[] = {
	{ "hello", m_hello },
	{ "version", m_version },
	{ "ping", m_ping },
	{ "submit", m_submit },
	{ "batch", m_batch },
	{ "status", m_status },
	{ "list", m_list },
	{ "cancel", m_cancel },
	{ "files", m_files },
	{ "wait", m_wait },
	{ "watch", m_watch },
	{ "stats", m_stats },
	{ "metrics", m_metrics },
	{ "shutdown", m_shutdown }
};

static json_t *
dispatch(struct rcp_master *m, struct conn *c, const json_t *req,
    const json_t *id, const char *method)
{
	size_t i;

	if (!c->hello && strcmp(method, "hello") != 0)
		return rcp_ctl_error(id, RCP_CTL_E_HELLO, "say hello first: "
		    "{\"id\":1,\"method\":\"hello\",\"version\":%d}",
		    RCP_CTL_VERSION);
	for (i = 0; i < RCP_ARRAY_SIZE(methods); i++)
		if (strcmp(methods[i].name, method) == 0)
			return methods[i].fn(m, c, req, id);
	return rcp_ctl_error(id, RCP_CTL_E_UNKNOWN_METHOD, "unknown method "
	    "'%s'", method);
}

void
master_handle_line(struct rcp_master *m, struct conn *c, const char *line,
    size_t len)
{
	const char *method;
	char *cause = NULL;
	json_t *req, *id;

	if (len == 0)
		return;		/* blank lines are harmless */
	if (++c->nreq > RCP_CTL_MAX_REQUESTS) {
		master_conn_send(c, rcp_ctl_error(NULL, RCP_CTL_E_TOO_MANY,
		    "more than %d requests on one connection: reconnect",
		    RCP_CTL_MAX_REQUESTS));
		c->closing = true;
		return;
	}
	if (rcp_ctl_decode(line, len, &req, &cause) != 0) {
		master_conn_send(c, rcp_ctl_error(NULL, RCP_CTL_E_PARSE, "%s",
		    cause));
		free(cause);
		return;
	}
	id = json_object_get(req, "id");
	method = rcp_ctl_str(req, "method", NULL);
	if (id == NULL || !(json_is_integer(id) || json_is_string(id))) {
		master_conn_send(c, rcp_ctl_error(NULL, RCP_CTL_E_BAD_REQUEST,
		    "a request needs an 'id': a number or a string"));
	} else if (method == NULL) {
		master_conn_send(c, rcp_ctl_error(id, RCP_CTL_E_BAD_REQUEST,
		    "a request needs a 'method'"));
	} else {
		master_conn_send(c, dispatch(m, c, req, id, method));
	}
	json_decref(req);
}

/* --- waits and watches ---------------------------------------------------------- */

void
master_sub_free(struct sub *s)
{
	json_decref(s->rid);
	free(s);
}

static json_t *
event(const json_t *rid, const char *name, json_t *job)
{
	return json_pack("{s:O,s:s,s:o}", "id", rid, "event", name, "job", job);
}

/* Answers s if its time has come; returns true when s is over. */
static bool
check_sub(struct rcp_master *m, struct conn *c, struct sub *s, uint64_t now)
{
	int state = rcp_jobtab_state(m->jobs, s->job, c->uid);
	json_t *o;

	if (state < 0) {
		master_conn_send(c, not_found(s->rid, s->job));	/* pruned */
		return true;
	}
	if (rcp_ctl_state_final(state)) {
		o = rcp_jobtab_get(m->jobs, s->job, c->uid, NULL);
		if (o == NULL)
			return false;
		if (s->watch)
			master_conn_send(c, event(s->rid, "end", o));
		else
			master_conn_send(c, rcp_ctl_reply(s->rid,
			    json_pack("{s:o}", "job", o)));
		return true;
	}
	if (s->watch && now >= s->next_ns) {
		o = rcp_jobtab_get(m->jobs, s->job, c->uid, NULL);
		if (o != NULL)
			master_conn_send(c, event(s->rid, "progress", o));
		s->next_ns = now + s->interval_ns;
	}
	if (!s->watch && s->deadline_ns != 0 && now >= s->deadline_ns) {
		master_conn_send(c, rcp_ctl_error(s->rid, RCP_CTL_E_TIMEOUT,
		    "job %llu has not ended yet", (unsigned long long)s->job));
		return true;
	}
	return false;
}

void
master_check_subs(struct rcp_master *m, uint64_t now)
{
	struct conn *c;
	struct sub **sp, *s;

	for (c = m->conns; c != NULL; c = c->next) {
		for (sp = &c->subs; (s = *sp) != NULL;) {
			if (!c->dead && check_sub(m, c, s, now)) {
				*sp = s->next;
				master_sub_free(s);
			} else {
				sp = &s->next;
			}
		}
	}
}

