/*
 * job.c: rcp-master's job: checking a submit request into a job, the
 * job's JSON object (for clients and the journal alike) and back, and the
 * bookkeeping of its progress and failed entries.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "engine/chm.h"
#include "engine/link.h"
#include "opts/suiteopts.h"
#include "remote/remotecopy.h"
#include "workers/job.h"

#include "base/banned.h"

/* The counters of struct rcp_copy_stats, by their JSON names. */
#define STATS_FIELDS(X) \
	X(bytes_copied) X(files_copied) X(dirs_created) X(symlinks_created) \
	X(specials_created) X(hard_links_created) X(files_unchanged) \
	X(dirs_unchanged) X(symlinks_unchanged) X(removed) X(skipped) X(errors) \
	X(files_verified) X(bytes_verified) X(verify_mismatches)

/* The counters of struct rcp_walk_stats (rm, chmod), by their JSON names. */
#define WALK_FIELDS(X) X(files) X(dirs) X(kept) X(skipped) X(errors) X(entries)

static const char *const kind_names[] = {
	[RCP_JOB_COPY] = "copy", [RCP_JOB_RM] = "rm", [RCP_JOB_LINK] = "link",
	[RCP_JOB_CHMOD] = "chmod"
};

const char *
rcp_job_kind_name(int kind)
{
	if (kind < 0 || (size_t)kind >= RCP_ARRAY_SIZE(kind_names))
		return "copy";
	return kind_names[kind];
}

int
rcp_job_kind_parse(const char *s)
{
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(kind_names); i++)
		if (strcmp(s, kind_names[i]) == 0)
			return (int)i;
	return -1;
}

bool
rcp_job_kind_walks(int kind)
{
	return kind == RCP_JOB_RM || kind == RCP_JOB_CHMOD;
}

uint64_t
rcp_job_entries_done(const struct rcp_job *j)
{
	const struct rcp_job_progress *p = &j->progress;

	if (rcp_job_kind_walks(j->kind))
		return p->w.files + p->w.dirs;
	if (j->kind == RCP_JOB_LINK)
		return p->s.files_copied + p->s.hard_links_created +
		    p->s.files_unchanged + p->s.dirs_created +
		    p->s.symlinks_created + p->s.specials_created;
	return p->s.files_copied + p->s.files_unchanged +
	    p->s.hard_links_created;
}

double
rcp_job_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
rcp_job_free(struct rcp_job *j)
{
	if (j == NULL)
		return;
	rcp_strv_free(j->srcs, j->nsrcs);
	free(j->dst);
	rcp_strv_free(j->options, j->noptions);
	free(j->cwd);
	free(j->home);
	free(j->pair);
	free(j->label);
	free(j->key);
	rcp_cliopts_release(&j->opts);
	free(j->error);
	rcp_strv_free(j->errors, j->nerrors);
	rcp_strv_free(j->warnings, j->nwarnings);
	free(j->ledger_error);
	free(j);
}

/*
 * Makes a local path absolute ("~" against home, relative against cwd);
 * a remote one (host:path, see rcp_remoteopts_split) is kept as given, for
 * its agent to resolve at run time.
 */
static int
resolve_path(const struct rcp_job *j, const char *what, const char *arg,
    char **out, char **cause)
{
	char *host = NULL, *path = NULL;

	if (rcp_remoteopts_split(arg, j->opts.remote.force_remote, &host,
	    &path)) {
		free(host);
		free(path);
		if (j->kind != RCP_JOB_COPY) {
			path = rcp_escape(arg);
			*cause = rcp_xasprintf("%s jobs take local paths only: "
			    "%s '%s' is host:path (write ./%s for a local "
			    "name with a colon)", rcp_job_kind_name(j->kind),
			    what, path, path);
			free(path);
			return RCP_CTL_E_INVALID;
		}
		*out = rcp_xstrdup(arg);
		return 0;
	}
	path = rcp_remoteopts_local(arg);
	if (path[0] == '~' && (path[1] == '\0' || path[1] == '/')) {
		if (j->home == NULL) {
			*cause = rcp_xasprintf("%s '%s' needs 'home'", what,
			    arg);
			free(path);
			return RCP_CTL_E_INVALID;
		}
		*out = rcp_copy_expand_home(path, j->home);
	} else if (path[0] == '/') {
		*out = rcp_xstrdup(path);
	} else if (j->cwd == NULL) {
		*cause = rcp_xasprintf("%s '%s' is relative: send 'cwd' or an "
		    "absolute path", what, arg);
		free(path);
		return RCP_CTL_E_INVALID;
	} else {
		*out = rcp_path_join(j->cwd, path);
	}
	free(path);
	if (strlen(*out) > RCP_CTL_MAX_PATH) {
		free(*out);
		*out = NULL;
		*cause = rcp_xasprintf("%s '%s' is too long", what, arg);
		return RCP_CTL_E_INVALID;
	}
	return 0;
}

/* The host of a job's path: "local" for a local one (caller frees). */
static char *
path_host(const struct rcp_job *j, const char *p)
{
	char *host = NULL, *path = NULL;

	if (!rcp_remoteopts_split(p, j->opts.remote.force_remote, &host,
	    &path))
		return rcp_xstrdup("local");
	free(path);
	return host;
}

/*
 * Sets j->pair and j->remote from its paths: all sources must be on one
 * host.  Returns 0, or RCP_CTL_E_INVALID with *cause set.
 */
static int
set_pair(struct rcp_job *j, char **cause)
{
	char *src = path_host(j, j->srcs[0]), *dst, *h;
	size_t i;

	for (i = 1; i < j->nsrcs; i++) {
		h = path_host(j, j->srcs[i]);
		if (strcmp(h, src) != 0) {
			*cause = rcp_xasprintf("all sources of a job must be "
			    "on one host ('%s' and '%s')", src, h);
			free(h);
			free(src);
			return RCP_CTL_E_INVALID;
		}
		free(h);
	}
	dst = j->dst != NULL ? path_host(j, j->dst) : rcp_xstrdup("local");
	free(j->pair);
	j->remote = strcmp(src, "local") != 0 || strcmp(dst, "local") != 0;
	j->pair = j->remote ? rcp_xasprintf("%s\u2192%s", src, dst) :
	    rcp_xstrdup(RCP_JOB_PAIR_LOCAL);
	free(src);
	free(dst);
	return 0;
}

static const int kind_tools[] = {
	[RCP_JOB_RM] = RCP_TOOL_RRM, [RCP_JOB_LINK] = RCP_TOOL_RLINK,
	[RCP_JOB_CHMOD] = RCP_TOOL_RCHM
};

/* Whether opt may be getopt's abbreviation of --filter-file. */
static bool
names_filter_file(const char *opt)
{
	static const char full[] = "--filter-file";
	size_t n = strcspn(opt, "=");

	return n >= 5 && n <= sizeof(full) - 1 && strncmp(opt, full, n) == 0;
}

void
rcp_job_suiteopts_release(struct rcp_job_suiteopts *o)
{
	rcp_suiteopts_release(&o->s);
	rcp_strv_free(o->argv, o->argc);
	o->argv = NULL;
	o->argc = 0;
}

int
rcp_job_suite_options(int kind, const char *const *options, size_t n,
    struct rcp_job_suiteopts *o, char **cause)
{
	struct rcp_suiteopts *s = &o->s;
	char **argv;
	size_t i;
	int first, r;

	*cause = NULL;
	rcp_suiteopts_init(s, kind_tools[kind]);
	o->argv = NULL;
	o->argc = 0;
	for (i = 0; i < n; i++)
		if (names_filter_file(options[i])) {
			*cause = rcp_xasprintf("--filter-file is not taken by "
			    "%s jobs: give --include and --exclude",
			    rcp_job_kind_name(kind));
			return RCP_ERR_INVAL;
		}
	/* getopt's argv: a program name first, and writable strings. */
	argv = rcp_xcalloc(n + 2, sizeof(char *));
	argv[0] = rcp_xstrdup("rcp-master");
	for (i = 0; i < n; i++)
		argv[i + 1] = rcp_xstrdup(options[i]);
	r = rcp_suiteopts_parse(s, (int)n + 1, argv, &first, cause);
	if (r == 0 && (s->cl.help || s->cl.version)) {
		*cause = rcp_xstrdup("--help and --version are not options of "
		    "a job");
		r = RCP_ERR_INVAL;
	} else if (r == 0 && first <= (int)n) {
		*cause = rcp_xasprintf("'%s' is not an option", argv[first]);
		r = RCP_ERR_INVAL;
	}
	/* s points into its arguments (--mode, --update): o keeps them. */
	o->argv = argv;
	o->argc = n + 1;
	return r;
}

/* What a job of rlink or rchm would refuse before it starts. */
static int
check_suite(const struct rcp_job *j, const struct rcp_suiteopts *s,
    char **cause)
{
	struct rcp_link_opts lo;
	struct rcp_chm_opts co;
	struct rcp_chm *chm = NULL;
	struct rcp_log quiet = { 0 };

	if (j->kind == RCP_JOB_LINK) {
		if (s->update != NULL && s->update[0] != '/') {
			*cause = rcp_xasprintf("--update '%s' must be an "
			    "absolute path in a job", s->update);
			return RCP_ERR_INVAL;
		}
		memset(&lo, 0, sizeof(lo));
		lo.copy = s->cl.o;
		lo.update = s->update;
		lo.update_compare = s->update_compare;
		lo.allow_lossy = s->allow_lossy_update;
		return rcp_link_check(&lo, cause);
	}
	if (j->kind != RCP_JOB_CHMOD)
		return 0;
	memset(&co, 0, sizeof(co));
	rcp_suiteopts_walk(s, &co.walk);
	co.mode = s->mode;
	co.owner = s->owner;
	co.group = s->group;
	co.umask = j->umask;
	if (rcp_chm_new(&co, &quiet, &chm, cause) != 0)
		return RCP_ERR_INVAL;
	rcp_chm_free(chm);
	return 0;
}

/* Checks the options of a job of rrm, rlink or rchm as its tool would. */
static int
parse_suite_options(struct rcp_job *j, char **cause)
{
	struct rcp_job_suiteopts so;
	char *why = NULL;
	int r;

	rcp_cliopts_release(&j->opts);
	rcp_cliopts_init(&j->opts);
	if ((r = rcp_job_suite_options(j->kind, (const char *const *)
	    j->options, j->noptions, &so, &why)) == 0)
		r = check_suite(j, &so.s, &why);
	rcp_job_suiteopts_release(&so);
	if (r != 0) {
		*cause = rcp_xasprintf("options: %s", why != NULL ? why :
		    rcp_strerror(r));
		free(why);
		return RCP_CTL_E_INVALID;
	}
	return 0;
}

/* Parses j->options as rcp would, reading no file yet. */
static int
parse_options(struct rcp_job *j, char **cause)
{
	static char prog[] = "rcp-master";
	char **argv = rcp_xcalloc(j->noptions + 2, sizeof(char *));
	char *why = NULL;
	size_t i;
	int first, r;

	if (j->kind != RCP_JOB_COPY) {
		free(argv);
		return parse_suite_options(j, cause);
	}
	argv[0] = prog;
	for (i = 0; i < j->noptions; i++)
		argv[i + 1] = j->options[i];
	rcp_cliopts_release(&j->opts);
	rcp_cliopts_init(&j->opts);
	r = rcp_cliopts_parse(&j->opts, (int)j->noptions + 1, argv,
	    RCP_CLIOPTS_ONLY_OPTIONS | RCP_CLIOPTS_DEFER_FILES, j->cwd, &first,
	    &why);
	free(argv);
	if (r != 0) {
		*cause = rcp_xasprintf("options: %s", why != NULL ? why :
		    rcp_strerror(r));
		free(why);
		return RCP_CTL_E_INVALID;
	}
	return 0;
}

static char **
dup_strv(const char **v, size_t n)
{
	char **out = rcp_xcalloc(n + 1, sizeof(char *));
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = rcp_xstrdup(v[i]);
	return out;
}

/* Reads the plain members of a submit request into j. */
static int
read_members(struct rcp_job *j, const json_t *req, char **dst,
    char **cause)
{
	const char *s = NULL;
	char *p = NULL;
	int64_t v;

	if (rcp_ctl_get_path(req, "destination", RCP_CTL_MAX_PATH, dst,
	    cause) < 0)
		return RCP_CTL_E_INVALID;
	if (*dst == NULL && (j->kind == RCP_JOB_COPY ||
	    j->kind == RCP_JOB_LINK)) {
		*cause = rcp_xstrdup("'destination' is missing");
		return RCP_CTL_E_INVALID;
	}
	if (*dst != NULL && rcp_job_kind_walks(j->kind)) {
		*cause = rcp_xasprintf("%s jobs take no 'destination'",
		    rcp_job_kind_name(j->kind));
		return RCP_CTL_E_INVALID;
	}
	if (rcp_ctl_get_path(req, "cwd", RCP_CTL_MAX_PATH, &j->cwd,
	    cause) < 0)
		return RCP_CTL_E_INVALID;
	if (j->cwd != NULL && j->cwd[0] != '/') {
		p = rcp_escape(j->cwd);
		*cause = rcp_xasprintf("'cwd' must be absolute (got '%s')", p);
		free(p);
		return RCP_CTL_E_INVALID;
	}
	if (rcp_ctl_get_path(req, "home", RCP_CTL_MAX_PATH, &p, cause) < 0)
		return RCP_CTL_E_INVALID;
	if (p != NULL && p[0] != '/') {
		free(p);
		p = NULL;
	}
	j->home = p;
	if (rcp_ctl_get_str(req, "label", RCP_CTL_MAX_LABEL, &s, cause) < 0)
		return RCP_CTL_E_INVALID;
	j->label = s != NULL ? rcp_xstrdup(s) : NULL;
	s = NULL;
	if (rcp_ctl_get_str(req, "key", RCP_CTL_MAX_LABEL, &s, cause) < 0)
		return RCP_CTL_E_INVALID;
	j->key = s != NULL && *s != '\0' ? rcp_xstrdup(s) : NULL;
	v = 0;
	if (rcp_ctl_get_int(req, "priority", RCP_JOB_PRIO_MIN,
	    RCP_JOB_PRIO_MAX, &v, cause) < 0)
		return RCP_CTL_E_INVALID;
	j->priority = (int)v;
	v = -1;
	if (rcp_ctl_get_int(req, "stall_timeout", 0, RCP_JOB_STALL_MAX, &v,
	    cause) < 0)
		return RCP_CTL_E_INVALID;
	j->stall_timeout = v;
	v = 022;
	if (rcp_ctl_get_int(req, "umask", 0, 0777, &v, cause) < 0)
		return RCP_CTL_E_INVALID;
	j->umask = (mode_t)v;
	if (rcp_ctl_get_bool(req, "record_files", &j->record_files,
	    cause) < 0)
		return RCP_CTL_E_INVALID;
	return 0;
}

/* The request's "kind", "copy" if absent. */
static int
read_kind(struct rcp_job *j, const json_t *req, char **cause)
{
	const char *k = NULL;

	if (rcp_ctl_get_str(req, "kind", 16, &k, cause) < 0)
		return RCP_CTL_E_INVALID;
	if (k != NULL && (j->kind = rcp_job_kind_parse(k)) < 0) {
		*cause = rcp_xasprintf("unknown job kind '%s' (expected copy, "
		    "rm, link or chmod)", k);
		return RCP_CTL_E_INVALID;
	}
	return 0;
}

int
rcp_job_from_request(const json_t *req, const struct rcp_job_who *who,
    struct rcp_job **out, char **cause)
{
	struct rcp_job *j = rcp_xcalloc(1, sizeof(*j));
	const char **opts = NULL;
	char **srcs = NULL, *dst = NULL;
	size_t nsrcs = 0, nopts = 0, i, len;
	int r = RCP_CTL_E_INVALID;

	*cause = NULL;
	rcp_cliopts_init(&j->opts);
	j->uid = who->uid;
	j->gid = who->gid;
	j->state = RCP_CTL_QUEUED;
	if ((r = read_kind(j, req, cause)) != 0)
		goto out;
	r = RCP_CTL_E_INVALID;
	if (rcp_ctl_get_pathv(req, "sources", RCP_CTL_MAX_SOURCES,
	    RCP_CTL_MAX_PATH, &srcs, &nsrcs, cause) < 0)
		goto out;
	if (nsrcs == 0) {
		*cause = rcp_xstrdup("'sources' must name at least one source");
		goto out;
	}
	if (rcp_ctl_get_strv(req, "options", RCP_CTL_MAX_OPTIONS,
	    RCP_CTL_MAX_STRING, &opts, &nopts, cause) < 0)
		goto out;
	if (j->kind == RCP_JOB_LINK && nsrcs != 1) {
		*cause = rcp_xstrdup("a link job takes one source");
		goto out;
	}
	if ((r = read_members(j, req, &dst, cause)) != 0)
		goto out;

	j->options = dup_strv(opts, nopts);
	j->noptions = nopts;
	if ((r = parse_options(j, cause)) != 0)
		goto out;
	j->srcs = rcp_xcalloc(nsrcs + 1, sizeof(char *));
	for (i = 0; i < nsrcs; i++, j->nsrcs++)
		if ((r = resolve_path(j, "source", srcs[i], &j->srcs[i],
		    cause)) != 0)
			goto out;
	if (dst != NULL && (r = resolve_path(j, "destination", dst, &j->dst,
	    cause)) != 0)
		goto out;
	if ((r = set_pair(j, cause)) != 0)
		goto out;
	if (rcp_job_kind_walks(j->kind) && j->record_files) {
		*cause = rcp_xasprintf("'record_files' is for copy and link "
		    "jobs: a %s job's ledger keeps its failed entries",
		    rcp_job_kind_name(j->kind));
		r = RCP_CTL_E_INVALID;
		goto out;
	}
	len = dst != NULL ? strlen(dst) : 0;
	if (j->kind == RCP_JOB_COPY && nsrcs > 1 && dst[len - 1] != '/') {
		*cause = rcp_xasprintf("several sources need a destination "
		    "directory ending in '/' (got '%s')", j->dst);
		r = RCP_CTL_E_INVALID;
		goto out;
	}
	*out = j;
	j = NULL;
	r = 0;
out:
	rcp_strv_free(srcs, nsrcs);
	free(dst);
	free(opts);
	rcp_job_free(j);
	return r;
}

/* --- JSON ----------------------------------------------------------------- */

static json_t *
strv_json(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_array_append_new(a, rcp_ctl_shown_string(v[i]));
	return a;
}

static json_t *
opt_str(const char *s)
{
	return s != NULL ? rcp_ctl_shown_string(s) : json_null();
}

static json_t *
opt_time(double t)
{
	return t > 0 ? json_real(t) : json_null();
}

static json_t *
stats_json(const struct rcp_copy_stats *s)
{
	json_t *o = json_object();

#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)s->f));
	STATS_FIELDS(X)
#undef X
	return o;
}

static json_t *
walk_json(const struct rcp_walk_stats *w)
{
	json_t *o = json_object();

#define X(f) json_object_set_new(o, #f, json_integer((json_int_t)w->f));
	WALK_FIELDS(X)
#undef X
	return o;
}

/* Adds the counters clients read most: done, total when known, rate, ETA. */
static void
add_counters(json_t *o, const struct rcp_job *j)
{
	const struct rcp_job_progress *p = &j->progress;
	uint64_t files_done = p->s.files_copied + p->s.files_unchanged +
	    p->s.hard_links_created;
	json_t *eta = json_null();

	json_object_set_new(o, "bytes_done",
	    json_integer((json_int_t)p->s.bytes_copied));
	json_object_set_new(o, "bytes_total", p->totals ?
	    json_integer((json_int_t)p->bytes_total) : json_null());
	json_object_set_new(o, "files_done", json_integer((json_int_t)files_done));
	json_object_set_new(o, "files_total", p->totals ?
	    json_integer((json_int_t)p->files_total) : json_null());
	json_object_set_new(o, "rate", json_real(j->rate));
	if (j->state == RCP_CTL_RUNNING && p->totals && j->rate > 0) {
		double left = p->bytes_total > p->s.bytes_copied ?
		    (double)(p->bytes_total - p->s.bytes_copied) : 0;
		eta = json_real(left / j->rate);
	} else if (rcp_ctl_state_final(j->state)) {
		eta = json_real(0);
	}
	json_object_set_new(o, "eta", eta);
	json_object_set_new(o, "stats", stats_json(&p->s));
	json_object_set_new(o, "entries_done",
	    json_integer((json_int_t)rcp_job_entries_done(j)));
	if (rcp_job_kind_walks(j->kind))
		json_object_set_new(o, "walk", walk_json(&p->w));
}

json_t *
rcp_job_to_json(const struct rcp_job *j)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer((json_int_t)j->id));
	json_object_set_new(o, "kind", json_string(rcp_job_kind_name(j->kind)));
	json_object_set_new(o, "state",
	    json_string(rcp_ctl_state_name(j->state)));
	json_object_set_new(o, "uid", json_integer(j->uid));
	json_object_set_new(o, "gid", json_integer(j->gid));
	json_object_set_new(o, "label", opt_str(j->label));
	json_object_set_new(o, "key", opt_str(j->key));
	json_object_set_new(o, "priority", json_integer(j->priority));
	json_object_set_new(o, "stall_timeout", j->stall_timeout >= 0 ?
	    json_integer((json_int_t)j->stall_timeout) : json_null());
	json_object_set_new(o, "pair", opt_str(j->pair));
	rcp_ctl_set_pathv(o, "sources", (const char *const *)j->srcs,
	    j->nsrcs);
	rcp_ctl_set_path(o, "destination", j->dst);
	json_object_set_new(o, "options", strv_json(j->options, j->noptions));
	rcp_ctl_set_path(o, "cwd", j->cwd);
	rcp_ctl_set_path(o, "home", j->home);
	json_object_set_new(o, "umask", json_integer(j->umask));
	json_object_set_new(o, "submitted", opt_time(j->submitted));
	json_object_set_new(o, "started", opt_time(j->started));
	json_object_set_new(o, "finished", opt_time(j->finished));
	json_object_set_new(o, "attempts", json_integer(j->attempts));
	json_object_set_new(o, "restart", json_boolean(j->restart));
	json_object_set_new(o, "cancel_requested",
	    json_boolean(j->cancel_requested));
	json_object_set_new(o, "rev", json_integer((json_int_t)j->rev));
	add_counters(o, j);
	json_object_set_new(o, "error", opt_str(j->error));
	json_object_set_new(o, "errors", strv_json(j->errors, j->nerrors));
	json_object_set_new(o, "errors_total",
	    json_integer((json_int_t)j->errors_total));
	json_object_set_new(o, "warnings", strv_json(j->warnings,
	    j->nwarnings));
	json_object_set_new(o, "record_files", json_boolean(j->record_files));
	json_object_set_new(o, "ledger", rcp_ledger_counts_json(&j->ledger));
	json_object_set_new(o, "ledger_error", opt_str(j->ledger_error));
	return o;
}

static int
bad(char **cause, const char *member)
{
	*cause = rcp_xasprintf("job member '%s' is missing or wrong", member);
	return RCP_ERR_PROTO;
}

static int
read_strv(const json_t *o, const char *key, size_t max, char ***out,
    size_t *n, char **cause)
{
	const char **v = NULL;
	char *why = NULL;

	if (rcp_ctl_get_strv(o, key, max, RCP_CTL_MAX_PATH, &v, n, &why) <= 0) {
		free(why);
		return bad(cause, key);
	}
	*out = dup_strv(v, *n);
	free(v);
	return 0;
}

static char *
read_opt_str(const json_t *o, const char *key)
{
	const char *s = rcp_ctl_str(o, key, NULL);

	return s != NULL ? rcp_xstrdup(s) : NULL;
}

/* Up to max strings of the array a into *v, *n. */
static void
read_msgs(const json_t *a, size_t max, char ***v, size_t *n)
{
	const char *m;
	size_t i;

	for (i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		m = json_string_value(json_array_get(a, i));
		if (m == NULL || *n >= max)
			continue;
		*v = rcp_xrealloc(*v, (*n + 1) * sizeof(char *));
		(*v)[(*n)++] = rcp_xstrdup(m);
	}
}

/* The progress, error and warning members; missing ones read as zero. */
static void
read_progress(struct rcp_job *j, const json_t *o)
{
	const json_t *s = json_object_get(o, "stats");

#define X(f) j->progress.s.f = rcp_ctl_u64(s, #f);
	STATS_FIELDS(X)
#undef X
	s = json_object_get(o, "walk");
#define X(f) j->progress.w.f = rcp_ctl_u64(s, #f);
	WALK_FIELDS(X)
#undef X
	j->progress.totals = rcp_ctl_member(o, "bytes_total",
	    RCP_CTL_K_INTEGER, NULL, NULL) > 0;
	j->progress.bytes_total = rcp_ctl_u64(o, "bytes_total");
	j->progress.files_total = rcp_ctl_u64(o, "files_total");
	j->rate = rcp_ctl_num(o, "rate");
	j->error = read_opt_str(o, "error");
	j->errors_total = rcp_ctl_u64(o, "errors_total");
	read_msgs(json_object_get(o, "errors"), RCP_CTL_MAX_ERRORS, &j->errors,
	    &j->nerrors);
	read_msgs(json_object_get(o, "warnings"), RCP_CTL_MAX_WARNINGS,
	    &j->warnings, &j->nwarnings);
}

int
rcp_job_from_json(const json_t *o, struct rcp_job **out, char **cause)
{
	struct rcp_job *j = rcp_xcalloc(1, sizeof(*j));
	const char *state = rcp_ctl_str(o, "state", NULL), *kind;
	char *why = NULL;
	int r = RCP_ERR_PROTO;

	rcp_cliopts_init(&j->opts);
	if (rcp_ctl_member(o, "id", RCP_CTL_K_ID, NULL, NULL) <= 0) {
		r = bad(cause, "id");
		goto out;
	}
	j->id = rcp_ctl_u64(o, "id");
	/* A record of a journal older than kinds is a copy's. */
	kind = rcp_ctl_str(o, "kind", "copy");
	if ((j->kind = rcp_job_kind_parse(kind)) < 0) {
		r = bad(cause, "kind");
		goto out;
	}
	if (state == NULL || (j->state = rcp_ctl_state_parse(state)) < 0) {
		r = bad(cause, "state");
		goto out;
	}
	if (rcp_ctl_get_path(o, "destination", RCP_CTL_MAX_PATH, &j->dst,
	    &why) < (rcp_job_kind_walks(j->kind) ? 0 : 1) ||
	    rcp_ctl_get_pathv(o, "sources", RCP_CTL_MAX_SOURCES,
	    RCP_CTL_MAX_PATH, &j->srcs, &j->nsrcs, &why) <= 0 ||
	    rcp_ctl_get_path(o, "cwd", RCP_CTL_MAX_PATH, &j->cwd, &why) < 0 ||
	    rcp_ctl_get_path(o, "home", RCP_CTL_MAX_PATH, &j->home, &why) < 0) {
		free(why);
		r = bad(cause, "paths");
		goto out;
	}
	if (rcp_ctl_member(o, "uid", RCP_CTL_K_INTEGER, NULL, NULL) <= 0 ||
	    rcp_ctl_member(o, "gid", RCP_CTL_K_INTEGER, NULL, NULL) <= 0) {
		r = bad(cause, "uid");
		goto out;
	}
	j->uid = (uid_t)rcp_ctl_u64(o, "uid");
	j->gid = (gid_t)rcp_ctl_u64(o, "gid");
	if ((r = read_strv(o, "options", RCP_CTL_MAX_OPTIONS, &j->options,
	    &j->noptions, cause)) != 0)
		goto out;
	j->label = read_opt_str(o, "label");
	j->key = read_opt_str(o, "key");
	j->umask = (mode_t)(rcp_ctl_u64(o, "umask") & 0777);
	j->priority = (int)rcp_ctl_int(o, "priority");
	/* Absent (an older journal) or null: the master's default. */
	j->stall_timeout = rcp_ctl_member(o, "stall_timeout", RCP_CTL_K_INTEGER,
	    NULL, NULL) > 0 ? rcp_ctl_int(o, "stall_timeout") : -1;
	if (j->stall_timeout > RCP_JOB_STALL_MAX)
		j->stall_timeout = RCP_JOB_STALL_MAX;
	j->submitted = rcp_ctl_num(o, "submitted");
	j->started = rcp_ctl_num(o, "started");
	j->finished = rcp_ctl_num(o, "finished");
	j->attempts = (int)rcp_ctl_u64(o, "attempts");
	j->restart = rcp_ctl_true(o, "restart");
	j->cancel_requested = rcp_ctl_true(o, "cancel_requested");
	j->rev = rcp_ctl_u64(o, "rev");
	j->record_files = rcp_ctl_true(o, "record_files");
	rcp_ledger_counts_read(json_object_get(o, "ledger"), &j->ledger);
	j->ledger_error = read_opt_str(o, "ledger_error");
	read_progress(j, o);
	*out = j;
	j = NULL;
	r = 0;
out:
	rcp_job_free(j);
	return r;
}

int
rcp_job_parse_options(struct rcp_job *j, char **cause)
{
	if (parse_options(j, cause) != 0 || set_pair(j, cause) != 0)
		return RCP_ERR_INVAL;
	return 0;
}

/* --- progress --------------------------------------------------------------- */

void
rcp_job_set_progress(struct rcp_job *j, const struct rcp_job_progress *p,
    uint64_t now_ns)
{
	double dt, inst;

	if (memcmp(&j->progress.s, &p->s, sizeof(p->s)) != 0 ||
	    memcmp(&j->progress.w, &p->w, sizeof(p->w)) != 0)
		j->moved_ns = now_ns;
	j->progress = *p;
	if (j->rate_ns == 0 || now_ns <= j->rate_ns) {
		j->rate_ns = now_ns;
		j->rate_bytes = p->s.bytes_copied;
		return;
	}
	dt = (double)(now_ns - j->rate_ns) / 1e9;
	if (dt < 0.2)
		return;		/* too short a window to mean anything */
	inst = p->s.bytes_copied >= j->rate_bytes ?
	    (double)(p->s.bytes_copied - j->rate_bytes) / dt : 0;
	/* Smooth over a few seconds: a glance at a bar should not jitter. */
	j->rate = j->rate == 0 ? inst : 0.7 * j->rate + 0.3 * inst;
	j->rate_ns = now_ns;
	j->rate_bytes = p->s.bytes_copied;
}

void
rcp_job_add_warning(struct rcp_job *j, const char *msg)
{
	if (j->nwarnings >= RCP_CTL_MAX_WARNINGS)
		return;
	j->warnings = rcp_xrealloc(j->warnings, (j->nwarnings + 1) *
	    sizeof(char *));
	j->warnings[j->nwarnings++] = strlen(msg) > RCP_JOB_MAX_ERROR_LEN ?
	    rcp_xstrndup(msg, RCP_JOB_MAX_ERROR_LEN) : rcp_xstrdup(msg);
}

void
rcp_job_add_error(struct rcp_job *j, const char *msg)
{
	j->errors_total++;
	if (j->nerrors >= RCP_CTL_MAX_ERRORS)
		return;
	j->errors = rcp_xrealloc(j->errors, (j->nerrors + 1) * sizeof(char *));
	j->errors[j->nerrors++] = strlen(msg) > RCP_JOB_MAX_ERROR_LEN ?
	    rcp_xstrndup(msg, RCP_JOB_MAX_ERROR_LEN) : rcp_xstrdup(msg);
}
