/*
 * rcpctl.c: the client of rcp-master.  Submits copies (with rcp's own
 * options, checked here by the same parser before they are sent), shows
 * and follows jobs, and maps how a job ended to a fixed exit code for
 * scripts and job schedulers (see rcpctl(1)).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"
#include "opts/cliopts.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* Requests that should be answered at once get this long. */
#define CALL_TIMEOUT_MS	60000
/* Jobs of a batch sent in one request, and bytes of one request. */
#define BATCH_CHUNK	500
#define BATCH_BYTES	(RCP_CTL_MAX_LINE / 2)
/* Errors of failed entries shown when a job ends. */
#define SHOW_ERRORS	5
/* A batch file line longer than this is a mistake. */
#define BATCH_LINE_MAX	(64u << 10)

/* Options of rcpctl's own; their values stay clear of rcp's. */
enum {
	OPT_SOCKET = 1024,
	OPT_WAIT,
	OPT_JSON,
	OPT_PRIORITY,
	OPT_LABEL,
	OPT_KEY,
	OPT_STATE,
	OPT_TIMEOUT,
	OPT_REQUEUE,
	OPT_INTERVAL,
	OPT_LIMIT
};

/* What the command line asked for. */
struct ctl {
	const char		*socket;
	bool			 wait;
	bool			 json;
	bool			 progress;
	bool			 requeue;
	const char		*label;
	const char		*key;
	const char		*state;
	int64_t			 priority;
	bool			 priority_set;
	int64_t			 limit;
	int			 timeout_ms;	/* -1: none */
	int			 interval_ms;
	struct rcp_ctlclient	*c;
};

#define bad_usage(...) rcp_usage_error("rcpctl", RCP_CTL_EXIT_USAGE, __VA_ARGS__)

static void
usage(FILE *fp)
{
	fputs(
"usage: rcpctl [--socket PATH] COMMAND [ARGS]\n"
"\n"
"The client of rcp-master, the copy job service.\n"
"\n"
"Commands:\n"
"  submit [--wait] [--progress] [--json] [--priority N] [--label L] [--key K]\n"
"         [rcp options] SRC... DST    queue a copy (rcp's options, see rcp(1))\n"
"  status [ID] [--json]               one job in detail, or your live jobs\n"
"  list [--state S] [--label L] [--limit N] [--json]\n"
"                                     your jobs (root: everyone's)\n"
"  cancel ID [--wait] [--json]        stop a job\n"
"  watch ID [--json] [--interval D]   follow a job to its end\n"
"  wait ID [--timeout D] [--json]     wait for a job to end\n"
"  batch [--wait] [--json] [--priority N] [--label L] FILE\n"
"                                     submit one copy per line of FILE ('-': stdin)\n"
"  stats [--json]                     queue length, running jobs, throughput\n"
"  ping                               check that the master answers\n"
"  shutdown [--requeue]               stop the master (its user or root)\n"
"\n"
"  --socket PATH   the master's socket (default: $RCP_MASTER_SOCKET, else\n"
"                  $XDG_RUNTIME_DIR/rcp/master.sock or /tmp/rcp-$UID/master.sock,\n"
"                  else " RCP_CTL_SYSTEM_SOCKET ")\n"
"  -h, --help      show this help; -V, --version: the version\n"
"\n"
"Exit status: 0 succeeded (or done), 1 failed, 2 bad usage, 3 cannot reach the\n"
"master, 4 partial (some entries failed), 5 canceled, 6 timeout.\n", fp);
}

static void
submit_usage(FILE *fp)
{
	fputs(
"usage: rcpctl submit [OPTIONS] SRC... DST\n"
"\n"
"  --wait          wait for the job to end; exit with its result\n"
"  --progress      with --wait: show progress on stderr\n"
"  --json          print the job as JSON (see rcpctl(1))\n"
"  --priority N    -1000 to 1000 (default 0); higher runs first\n"
"  --label L       a label to find the job by\n"
"  --key K         idempotency key: a second submit with the same key\n"
"                  returns the first job instead of starting another copy\n"
"\n"
"And rcp's copy options:\n"
"\n", fp);
	rcp_cliopts_help(fp);
	fputs("\n", fp);
	rcp_cliopts_help_remote(fp);
}

/* --- the connection ----------------------------------------------------------- */

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* --socket, $RCP_MASTER_SOCKET, the user's own, the system-wide one. */
static char *
socket_path(const struct ctl *x, char **cause)
{
	const char *env = getenv("RCP_MASTER_SOCKET");
	char *path, *dir;

	if (x->socket != NULL)
		return rcp_xstrdup(x->socket);
	if (env != NULL && *env != '\0')
		return rcp_xstrdup(env);
	path = rcp_ctl_default_socket();
	if (!exists(path) && exists(RCP_CTL_SYSTEM_SOCKET)) {
		free(path);
		return rcp_xstrdup(RCP_CTL_SYSTEM_SOCKET);
	}
	/* Not a socket another user could have put in our way. */
	dir = rcp_ctl_dirname(path);
	if (exists(dir) && rcp_ctl_check_dir(dir, getuid(), false,
	    cause) != 0) {
		free(dir);
		free(path);
		return NULL;
	}
	free(dir);
	return path;
}

static int
connect_master(struct ctl *x)
{
	char *path, *cause = NULL;
	int r;

	if ((path = socket_path(x, &cause)) == NULL) {
		fprintf(stderr, "rcpctl: %s\n", cause);
		free(cause);
		return RCP_CTL_EXIT_UNREACHABLE;
	}
	r = rcp_ctlclient_connect(path, "rcpctl " PACKAGE_VERSION, &x->c,
	    &cause);
	if (r != 0) {
		fprintf(stderr, "rcpctl: %s\n", cause);
		if (r == RCP_ERR_IO)
			fprintf(stderr, "rcpctl: is rcp-master running? "
			    "(socket '%s')\n", path);
		free(cause);
		free(path);
		return RCP_CTL_EXIT_UNREACHABLE;
	}
	free(path);
	return RCP_CTL_EXIT_OK;
}

/* The exit code for an error reply or a lost connection. */
static int
call_failed(int r, int code, const char *cause)
{
	fprintf(stderr, "rcpctl: %s\n", cause);
	if (r != RCP_ERR_INVAL)
		return r == RCP_ERR_TIMEOUT ? RCP_CTL_EXIT_TIMEOUT :
		    RCP_CTL_EXIT_UNREACHABLE;
	switch (code) {
	case RCP_CTL_E_INVALID:
	case RCP_CTL_E_UNSUPPORTED:
		return RCP_CTL_EXIT_USAGE;
	case RCP_CTL_E_TIMEOUT:
		return RCP_CTL_EXIT_TIMEOUT;
	}
	return RCP_CTL_EXIT_FAILED;
}

/* Calls method; returns an exit code, with *result on success. */
static int
call(struct ctl *x, json_t *req, int timeout_ms, json_t **result)
{
	char *cause = NULL;
	int r, code;

	r = rcp_ctlclient_call(x->c, req, timeout_ms, result, &code, &cause);
	if (r == 0)
		return RCP_CTL_EXIT_OK;
	r = call_failed(r, code, cause);
	free(cause);
	return r;
}

/* --- showing jobs ----------------------------------------------------------------- */

static double
num(const json_t *o, const char *key)
{
	return json_number_value(json_object_get(o, key));
}

static void
print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

/* "1.20 GiB of 3.40 GiB (35%), 10 of 40 files, 45.0 MiB/s, ETA 50s" */
static void
progress_text(struct rcp_buf *b, const json_t *job)
{
	char x[32], y[32];
	const json_t *bt = json_object_get(job, "bytes_total");
	const json_t *ft = json_object_get(job, "files_total");
	const json_t *eta = json_object_get(job, "eta");
	double done = num(job, "bytes_done");

	rcp_buf_addstr(b, rcp_fmt_bytes(x, sizeof(x), done));
	if (json_is_integer(bt)) {
		rcp_buf_addf(b, " of %s", rcp_fmt_bytes(y, sizeof(y),
		    num(job, "bytes_total")));
		if (num(job, "bytes_total") > 0)
			rcp_buf_addf(b, " (%.0f%%)", 100 * done /
			    num(job, "bytes_total"));
	}
	rcp_buf_addf(b, ", %.0f", num(job, "files_done"));
	if (json_is_integer(ft))
		rcp_buf_addf(b, " of %.0f", num(job, "files_total"));
	rcp_buf_addf(b, " files, %s/s", rcp_fmt_bytes(x, sizeof(x),
	    num(job, "rate")));
	if (json_is_number(eta) && !strcmp(json_string_value(
	    json_object_get(job, "state")), "running"))
		rcp_buf_addf(b, ", ETA %s", rcp_fmt_duration(y, sizeof(y),
		    (uint64_t)(json_number_value(eta) * 1e9)));
}

static const char *
str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

static void
print_time(const char *name, const json_t *job)
{
	const json_t *v = json_object_get(job, name);
	char buf[64];
	struct tm tm;
	time_t t;

	if (!json_is_number(v))
		return;
	t = (time_t)json_number_value(v);
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s: %s\n", name, buf);
}

static void
print_job(const json_t *job)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const json_t *a;
	size_t i;

	printf("job: %.0f\nstate: %s\n", num(job, "id"), str(job, "state"));
	if (json_is_string(json_object_get(job, "label")))
		printf("label: %s\n", str(job, "label"));
	printf("priority: %.0f\nsources:", num(job, "priority"));
	a = json_object_get(job, "sources");
	for (i = 0; i < json_array_size(a); i++)
		printf(" %s", json_string_value(json_array_get(a, i)));
	printf("\ndestination: %s\n", str(job, "destination"));
	print_time("submitted", job);
	print_time("started", job);
	print_time("finished", job);
	progress_text(&b, job);
	printf("progress: %s\n", rcp_buf_str(&b));
	if (json_is_string(json_object_get(job, "error")))
		printf("error: %s\n", str(job, "error"));
	printf("errors: %.0f\n", num(job, "errors_total"));
	a = json_object_get(job, "errors");
	for (i = 0; i < json_array_size(a); i++)
		printf("  %s\n", json_string_value(json_array_get(a, i)));
	rcp_buf_release(&b);
}

static void
print_row(const json_t *job)
{
	struct rcp_buf b = RCP_BUF_INIT;

	progress_text(&b, job);
	printf("%-6.0f %-9s %5.0f %-12s %s -> %s  [%s]\n", num(job, "id"),
	    str(job, "state"), num(job, "priority"), json_is_string(
	    json_object_get(job, "label")) ? str(job, "label") : "-",
	    json_string_value(json_array_get(json_object_get(job, "sources"),
	    0)), str(job, "destination"), rcp_buf_str(&b));
	rcp_buf_release(&b);
}

/* One line about how a job ended, on fp; returns its exit code. */
static int
job_ended(const json_t *job, bool json, FILE *fp)
{
	int state = rcp_ctl_state_parse(str(job, "state"));
	const json_t *errors;
	char d[32];
	double secs;
	size_t i;

	if (json) {
		print_json(job);
	} else {
		secs = num(job, "finished") - num(job, "started");
		fprintf(fp, "job %.0f %s: %.0f files, %s in %s",
		    num(job, "id"), str(job, "state"), num(job, "files_done"),
		    rcp_fmt_bytes(d, sizeof(d), num(job, "bytes_done")),
		    rcp_fmt_duration(d + 16, sizeof(d) - 16, secs > 0 ?
		    (uint64_t)(secs * 1e9) : 0));
		if (num(job, "errors_total") > 0)
			fprintf(fp, ", %.0f errors", num(job, "errors_total"));
		if (json_is_string(json_object_get(job, "error")))
			fprintf(fp, ": %s", str(job, "error"));
		fputc('\n', fp);
		errors = json_object_get(job, "errors");
		for (i = 0; i < json_array_size(errors) && i < SHOW_ERRORS; i++)
			fprintf(fp, "  error: %s\n", json_string_value(
			    json_array_get(errors, i)));
		if (num(job, "errors_total") > (double)i && i > 0)
			fprintf(fp, "  (rcpctl status %.0f shows up to %d)\n",
			    num(job, "id"), RCP_CTL_MAX_ERRORS);
		fflush(fp);
	}
	return state < 0 ? RCP_CTL_EXIT_FAILED : rcp_ctl_state_exit(state);
}

/* --- following a job ------------------------------------------------------------------ */

static void
show_progress(const json_t *job, bool bar, FILE *fp)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int cols = rcp_term_cols(STDERR_FILENO);

	rcp_buf_addf(&b, "job %.0f %s: ", num(job, "id"), str(job, "state"));
	progress_text(&b, job);
	if (bar) {
		if (b.len >= (size_t)cols)
			b.data[cols - 1] = '\0';
		fprintf(stderr, "\r\033[K%s", b.data);
		fflush(stderr);
	} else {
		fprintf(fp, "%s\n", b.data);
		fflush(fp);
	}
	rcp_buf_release(&b);
}

/*
 * Follows job id with a watch until it ends: a bar on stderr if it is a
 * terminal, else a line each interval on fp (JSON lines with --json), and
 * a last line on fp.  Returns the exit code.
 */
static int
follow(struct ctl *x, json_int_t id, FILE *fp)
{
	json_t *req = rcp_ctl_request(0, "watch"), *msg, *job, *res;
	bool bar = isatty(STDERR_FILENO) && !x->json, shown = false;
	const char *ev;
	char *cause = NULL, *message = NULL;
	json_int_t rid;
	int r;

	if (x->interval_ms == 0)
		x->interval_ms = bar ? 200 : 1000;
	json_object_set_new(req, "job", json_integer(id));
	json_object_set_new(req, "interval_ms", json_integer(x->interval_ms));
	if (rcp_ctlclient_send(x->c, req, &rid, &cause) != 0)
		return call_failed(RCP_ERR_IO, 0, cause);
	for (;;) {
		if ((r = rcp_ctlclient_read(x->c, -1, &msg, &cause)) != 0) {
			if (shown)
				fputc('\n', stderr);
			r = call_failed(r, 0, cause);
			free(cause);
			return r;
		}
		if (json_integer_value(json_object_get(msg, "id")) != rid) {
			json_decref(msg);
			continue;
		}
		ev = json_string_value(json_object_get(msg, "event"));
		job = json_object_get(msg, "job");
		if (ev == NULL && (r = rcp_ctl_reply_parse(msg, &res,
		    &message)) != 0) {
			fprintf(stderr, "rcpctl: %s\n", message != NULL ?
			    message : "malformed reply");
			free(message);
			json_decref(msg);
			return RCP_CTL_EXIT_FAILED;
		}
		if (ev == NULL)
			job = json_object_get(res, "job");
		if (ev != NULL && strcmp(ev, "end") == 0) {
			if (shown && bar)
				fputc('\n', stderr);
			r = job_ended(job, x->json, fp);
			json_decref(msg);
			return r;
		}
		if (x->json)
			print_json(job);
		else {
			show_progress(job, bar, fp);
			shown = true;
		}
		json_decref(msg);
	}
}

/* Waits for job id to end; reports on fp.  Returns the exit code. */
static int
wait_job(struct ctl *x, json_int_t id, FILE *fp)
{
	json_t *req = rcp_ctl_request(0, "wait"), *res;
	int r;

	json_object_set_new(req, "job", json_integer(id));
	if (x->timeout_ms >= 0)
		json_object_set_new(req, "timeout_ms",
		    json_integer(x->timeout_ms));
	if ((r = call(x, req, -1, &res)) != 0)
		return r;
	r = job_ended(json_object_get(res, "job"), x->json, fp);
	json_decref(res);
	return r;
}

/* --- submit and batch --------------------------------------------------------------------- */

/* A JSON string, or NULL if s is not UTF-8 (JSON cannot carry it). */
static json_t *
utf8(const char *what, const char *s)
{
	json_t *v = json_string(s);

	if (v == NULL)
		fprintf(stderr, "rcpctl: %s '%s' is not valid UTF-8: the "
		    "service cannot take it yet\n", what, s);
	return v;
}

/*
 * Adds sources, destination and where to resolve them to req.  A path that
 * is not UTF-8 travels as its bytes in base64 (see doc/ctl-protocol.md).
 */
static int
add_paths(json_t *req, int n, char *const *args)
{
	char cwd[PATH_MAX];
	const char *home = getenv("HOME");
	struct rcp_copy_opts o;

	rcp_ctl_set_pathv(req, "sources", (const char *const *)args,
	    (size_t)(n - 1));
	rcp_ctl_set_path(req, "destination", args[n - 1]);
	if (getcwd(cwd, sizeof(cwd)) != NULL)
		rcp_ctl_set_path(req, "cwd", cwd);
	if (home != NULL && home[0] == '/')
		rcp_ctl_set_path(req, "home", home);
	rcp_copy_opts_init(&o);		/* reads our umask */
	json_object_set_new(req, "umask", json_integer(o.umask));
	return RCP_CTL_EXIT_OK;
}

/* rcpctl's own options of submit and batch. */
static const struct option own_submit_opts[] = {
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "priority", required_argument, NULL, OPT_PRIORITY },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "key", required_argument, NULL, OPT_KEY },
	{ NULL, 0, NULL, 0 }
};

/* rcp's options and ours in one getopt table (caller frees). */
static struct option *
submit_table(void)
{
	size_t n, i;
	const struct option *rcp = rcp_cliopts_longopts(&n);
	struct option *t = rcp_xcalloc(n + RCP_ARRAY_SIZE(own_submit_opts),
	    sizeof(*t));

	for (i = 0; i < n; i++)
		t[i] = rcp[i];
	for (i = 0; i < RCP_ARRAY_SIZE(own_submit_opts); i++)
		t[n + i] = own_submit_opts[i];
	return t;
}

static int
own_option(struct ctl *x, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case OPT_WAIT:
		x->wait = true;
		break;
	case OPT_JSON:
		x->json = true;
		break;
	case OPT_PRIORITY:
		if (rcp_parse_uint(arg[0] == '-' ? arg + 1 : arg, 1000,
		    &v) != 0)
			return bad_usage("--priority: '%s' is not a number "
			    "from -1000 to 1000", arg);
		x->priority = arg[0] == '-' ? -(int64_t)v : (int64_t)v;
		x->priority_set = true;
		break;
	case OPT_LABEL:
	case OPT_KEY:
		if (strlen(arg) > RCP_CTL_MAX_LABEL)
			return bad_usage("--%s: longer than %d bytes",
			    ch == OPT_LABEL ? "label" : "key",
			    RCP_CTL_MAX_LABEL);
		if (ch == OPT_LABEL)
			x->label = arg;
		else
			x->key = arg;
		break;
	}
	return -1;
}

/*
 * Parses "[options] SRC... DST" (argv[0] is a name) into a submit request
 * *req; the options in x are rcpctl's own.  rcp's options are checked here
 * with rcp's parser and sent as "--name value" strings.  Returns -1 to go
 * on, else an exit code.
 */
static int
parse_submit(struct ctl *x, int argc, char **argv, json_t **req)
{
	struct option *table = submit_table();
	struct rcp_cliopts co;
	json_t *opts = json_array(), *v;
	char *cause = NULL;
	const char *name;
	int ch, r = -1;

	rcp_cliopts_init(&co);
	optind = 0;
	opterr = 0;
	while (r < 0 && (ch = getopt_long(argc, argv, ":" RCP_CLIOPTS_SHORT,
	    table, NULL)) != -1) {
		if (ch == ':')
			r = bad_usage("option '%s' needs a value",
			    argv[optind - 1]);
		else if (ch == '?')
			r = optopt != 0 ? bad_usage("unknown option '-%c'",
			    optopt) : bad_usage("unknown option '%s'",
			    argv[optind - 1]);
		else if (ch == 'h') {
			submit_usage(stdout);
			r = RCP_CTL_EXIT_OK;
		} else if (ch == 'V')
			r = bad_usage("%s", "'--version' is not a copy option");
		else if (ch >= OPT_SOCKET)
			r = own_option(x, ch, optarg);
		else if (rcp_cliopts_apply(&co, ch, optarg, 0, NULL,
		    &cause) != 0) {
			r = bad_usage("%s", cause);
			free(cause);
		} else {
			name = rcp_cliopts_name(ch);
			json_array_append_new(opts, json_sprintf("--%s", name));
			if (optarg != NULL && (v = utf8("option value",
			    optarg)) == NULL)
				r = RCP_CTL_EXIT_USAGE;
			else if (optarg != NULL)
				json_array_append_new(opts, v);
			if (ch == 'v' || ch == 'q')
				json_array_remove(opts, json_array_size(opts) -
				    1);	/* rcp's output options: ours alone */
		}
	}
	if (r < 0 && rcp_cliopts_finish(&co, &cause) != 0) {
		r = bad_usage("%s", cause);
		free(cause);
	}
	if (r < 0 && argc - optind < 2)
		r = bad_usage("%s", argc - optind == 0 ? "missing source and "
		    "destination" : "missing destination");
	x->progress = co.progress;
	*req = rcp_ctl_request(0, "submit");
	if (r < 0 && (ch = add_paths(*req, argc - optind, argv + optind)) != 0)
		r = ch;
	json_object_set_new(*req, "options", opts);
	if (x->priority_set)
		json_object_set_new(*req, "priority",
		    json_integer(x->priority));
	if (x->label != NULL)
		json_object_set_new(*req, "label", json_string(x->label));
	if (x->key != NULL)
		json_object_set_new(*req, "key", json_string(x->key));
	rcp_cliopts_release(&co);
	free(table);
	return r;
}

static int
cmd_submit(struct ctl *x, int argc, char **argv)
{
	json_t *req = NULL, *res, *job;
	int r;

	if ((r = parse_submit(x, argc, argv, &req)) >= 0 ||
	    (r = connect_master(x)) != 0) {
		json_decref(req);
		return r;
	}
	if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	job = json_object_get(res, "job");
	if (x->json && !x->wait)
		print_json(job);
	else if (!x->json)
		printf("%s %.0f\n", json_is_true(json_object_get(res,
		    "duplicate")) ? "already submitted as job" : "job",
		    num(job, "id"));
	fflush(stdout);
	if (x->wait)
		r = x->progress ? follow(x, (json_int_t)num(job, "id"),
		    stderr) : wait_job(x, (json_int_t)num(job, "id"), stderr);
	json_decref(res);
	return r;
}

/*
 * Splits a batch file line into words: blanks separate, '...' is literal,
 * "..." allows \" and \\, a backslash escapes one character, and '#'
 * starting a word begins a comment.  Returns the number of words (in a
 * new array in *out, each word owned), or -1 for an unterminated quote.
 */
static int
split_words(const char *line, char ***out)
{
	struct rcp_buf w = RCP_BUF_INIT;
	char **v = NULL, q = 0;
	int n = 0;
	bool in = false;

	for (;; line++) {
		char ch = *line;
		if (q == 0 && (ch == '\0' || ch == ' ' || ch == '\t' ||
		    ch == '\n' || ch == '\r' || (ch == '#' && !in))) {
			if (in) {
				v = rcp_xrealloc(v, (size_t)(n + 2) *
				    sizeof(char *));
				v[n++] = rcp_buf_detach(&w);
				v[n] = NULL;
				in = false;
			}
			if (ch == '\0' || ch == '#')
				break;
			continue;
		}
		if (ch == '\0') {
			rcp_buf_release(&w);
			while (n > 0)
				free(v[--n]);
			free(v);
			return -1;
		}
		in = true;
		if (q == 0 && (ch == '\'' || ch == '"'))
			q = ch;
		else if (q != 0 && ch == q)
			q = 0;
		else if (ch == '\\' && q != '\'' && line[1] != '\0')
			rcp_buf_addch(&w, *++line);
		else
			rcp_buf_addch(&w, ch);
	}
	rcp_buf_release(&w);
	*out = v;
	return n;
}

/* Reads FILE into submit objects appended to jobs.  Returns -1 or a code. */
static int
read_batch(struct ctl *x, const char *path, json_t *jobs)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL, **words, *argv0 = rcp_xstrdup("batch");
	size_t cap = 0, lineno = 0;
	struct ctl lx;
	json_t *req;
	ssize_t len;
	int n, i, r = -1;

	if (fp == NULL) {
		free(argv0);
		return bad_usage("cannot open '%s': %s", path, strerror(errno));
	}
	while (r < 0 && (len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if ((size_t)len > BATCH_LINE_MAX) {
			r = bad_usage("%s:%zu: line too long", path, lineno);
			break;
		}
		if ((n = split_words(line, &words)) < 0) {
			r = bad_usage("%s:%zu: unterminated quote", path, lineno);
			break;
		}
		if (n == 0)
			continue;
		words = rcp_xrealloc(words, (size_t)(n + 2) * sizeof(char *));
		memmove(words + 1, words, (size_t)(n + 1) * sizeof(char *));
		words[0] = argv0;
		lx = *x;	/* the batch's --priority and --label are defaults */
		r = parse_submit(&lx, n + 1, words, &req);
		if (r >= 0) {
			fprintf(stderr, "rcpctl: in %s line %zu\n", path, lineno);
			json_decref(req);
		} else {
			json_array_append_new(jobs, req);
		}
		for (i = 1; i <= n; i++)
			free(words[i]);
		free(words);
	}
	free(line);
	free(argv0);
	if (fp != stdin)
		fclose(fp);
	return r;
}

static int
cmd_batch(struct ctl *x, int argc, char **argv)
{
	json_t *jobs = json_array(), *req, *chunk, *res, *all = json_array();
	size_t i, bytes;
	int r = -1, ch, worst = RCP_CTL_EXIT_OK;
	char *s;

	optind = 0;
	opterr = 0;
	while (r < 0 && (ch = getopt_long(argc, argv, ":h", own_submit_opts,
	    NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			r = RCP_CTL_EXIT_OK;
		} else if (ch == ':' || ch == '?' || ch == OPT_KEY)
			r = bad_usage("batch: bad option '%s'", argv[optind - 1]);
		else
			r = own_option(x, ch, optarg);
	}
	if (r < 0 && argc - optind != 1)
		r = bad_usage("%s", "batch: one FILE expected");
	if (r < 0)
		r = read_batch(x, argv[optind], jobs);
	if (r < 0 && json_array_size(jobs) == 0)
		r = bad_usage("%s", "batch: no job in the file");
	if (r < 0)
		r = connect_master(x);
	else if (r >= 0)
		goto out;
	for (i = 0; r == 0 && i < json_array_size(jobs);) {
		chunk = json_array();
		for (bytes = 0; i < json_array_size(jobs) &&
		    json_array_size(chunk) < BATCH_CHUNK && bytes < BATCH_BYTES;
		    i++) {
			json_object_del(json_array_get(jobs, i), "id");
			json_object_del(json_array_get(jobs, i), "method");
			s = json_dumps(json_array_get(jobs, i), JSON_COMPACT);
			bytes += s != NULL ? strlen(s) : 0;
			free(s);
			json_array_append(chunk, json_array_get(jobs, i));
		}
		req = rcp_ctl_request(0, "batch");
		json_object_set_new(req, "jobs", chunk);
		if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) == 0) {
			json_array_extend(all, json_object_get(res, "jobs"));
			json_decref(res);
		}
	}
	for (i = 0; r == 0 && i < json_array_size(all); i++) {
		json_t *job = json_object_get(json_array_get(all, i), "job");
		if (x->json && !x->wait)
			print_json(job);
		else if (!x->json)
			printf("job %.0f\n", num(job, "id"));
	}
	fflush(stdout);
	for (i = 0; r == 0 && x->wait && i < json_array_size(all); i++) {
		ch = wait_job(x, (json_int_t)num(json_object_get(
		    json_array_get(all, i), "job"), "id"), stderr);
		if (ch == RCP_CTL_EXIT_UNREACHABLE || ch == RCP_CTL_EXIT_TIMEOUT)
			r = ch;
		else if (worst == RCP_CTL_EXIT_OK)
			worst = ch;
	}
	if (r == 0)
		r = worst;
out:
	json_decref(jobs);
	json_decref(all);
	return r;
}

/* --- the other commands ---------------------------------------------------------------------- */

static const struct option query_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "wait", no_argument, NULL, OPT_WAIT },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "requeue", no_argument, NULL, OPT_REQUEUE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* Parses the options of the query commands; *id gets the job id if any. */
static int
parse_query(struct ctl *x, int argc, char **argv, const char *allowed,
    int nargs, json_int_t *id)
{
	uint64_t v;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", query_opts, NULL)) != -1) {
		if (ch == 'h') {
			usage(stdout);
			return RCP_CTL_EXIT_OK;
		}
		if (ch == ':' || ch == '?' || (ch >= OPT_SOCKET &&
		    strchr(allowed, ch - OPT_SOCKET + 'a') == NULL))
			return bad_usage("%s: option '%s' is not known here",
			    argv[0], argv[optind - 1]);
		switch (ch) {
		case OPT_JSON:
			x->json = true;
			break;
		case OPT_WAIT:
			x->wait = true;
			break;
		case OPT_REQUEUE:
			x->requeue = true;
			break;
		case OPT_STATE:
			if (rcp_ctl_state_parse(optarg) < 0)
				return bad_usage("--state: unknown state '%s'",
				    optarg);
			x->state = optarg;
			break;
		case OPT_LABEL:
			x->label = optarg;
			break;
		case OPT_LIMIT:
			if (rcp_parse_uint(optarg, INT32_MAX, &v) != 0)
				return bad_usage("--limit: '%s' is not a "
				    "number", optarg);
			x->limit = (int64_t)v;
			break;
		case OPT_TIMEOUT:
		case OPT_INTERVAL:
			if (rcp_cliopts_parse_duration(optarg, &v) != 0)
				return bad_usage("'%s' is not a duration (e.g. "
				    "500ms, 30s, 10m)", optarg);
			if (ch == OPT_TIMEOUT)
				x->timeout_ms = (int)(v / 1000000u);
			else
				x->interval_ms = v < 100000000u ? 100 :
				    (int)(v / 1000000u);
			break;
		}
	}
	if (argc - optind > nargs || (nargs > 0 && id == NULL &&
	    argc - optind != nargs))
		return bad_usage("%s: unexpected argument '%s'", argv[0],
		    argv[optind + nargs]);
	if (id != NULL && argc - optind == 1) {
		if (rcp_parse_uint(argv[optind], INT64_MAX, &v) != 0 || v == 0)
			return bad_usage("'%s' is not a job id", argv[optind]);
		*id = (json_int_t)v;
	} else if (id != NULL && nargs == 1 && strcmp(argv[0], "status") != 0) {
		return bad_usage("%s: a job id is needed", argv[0]);
	}
	return -1;
}

/* Letters for parse_query's allowed list: 'a' + OPT_x - OPT_SOCKET. */
#define A(o) ((char)('a' + (o) - OPT_SOCKET))

static int
cmd_status(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), 0 };
	json_int_t id = 0;
	json_t *req, *res, *jobs;
	size_t i;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	if (id == 0) {
		/* Without an id: your live jobs. */
		req = rcp_ctl_request(0, "list");
		json_object_set_new(req, "state", json_pack("[ss]", "queued",
		    "running"));
	} else {
		req = rcp_ctl_request(0, "status");
		json_object_set_new(req, "job", json_integer(id));
	}
	if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if (id != 0 && x->json)
		print_json(json_object_get(res, "job"));
	else if (id != 0)
		print_job(json_object_get(res, "job"));
	else {
		jobs = json_object_get(res, "jobs");
		for (i = 0; i < json_array_size(jobs); i++)
			x->json ? print_json(json_array_get(jobs, i)) :
			    print_row(json_array_get(jobs, i));
	}
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

static int
cmd_list(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), A(OPT_STATE), A(OPT_LABEL),
	    A(OPT_LIMIT), 0 };
	json_t *req, *res, *jobs;
	size_t i;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "list");
	if (x->state != NULL)
		json_object_set_new(req, "state", json_string(x->state));
	if (x->label != NULL)
		json_object_set_new(req, "label", json_string(x->label));
	if (x->limit > 0)
		json_object_set_new(req, "limit", json_integer(x->limit));
	if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	jobs = json_object_get(res, "jobs");
	if (!x->json && json_array_size(jobs) > 0)
		printf("%-6s %-9s %5s %-12s %s\n", "ID", "STATE", "PRIO",
		    "LABEL", "COPY");
	for (i = 0; i < json_array_size(jobs); i++)
		x->json ? print_json(json_array_get(jobs, i)) :
		    print_row(json_array_get(jobs, i));
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

static int
cmd_cancel(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), A(OPT_WAIT), 0 };
	json_int_t id = 0;
	json_t *req, *res;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "cancel");
	json_object_set_new(req, "job", json_integer(id));
	if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if (x->wait) {
		json_decref(res);
		return wait_job(x, id, stdout);
	}
	if (x->json)
		print_json(json_object_get(res, "job"));
	else
		printf("job %lld: cancel requested (%s)\n", (long long)id,
		    str(json_object_get(res, "job"), "state"));
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

static int
cmd_watch(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), A(OPT_INTERVAL), 0 };
	json_int_t id = 0;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	return follow(x, id, stdout);
}

static int
cmd_wait(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), A(OPT_TIMEOUT), 0 };
	json_int_t id = 0;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	return wait_job(x, id, stdout);
}

static int
cmd_stats(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_JSON), 0 };
	json_t *res, *by;
	char b[32];
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	if ((r = call(x, rcp_ctl_request(0, "stats"), CALL_TIMEOUT_MS,
	    &res)) != 0)
		return r;
	if (x->json) {
		print_json(res);
	} else {
		by = json_object_get(res, "jobs");
		printf("queued: %.0f\nrunning: %.0f\nworkers: %.0f\n"
		    "throughput: %s/s\n", num(res, "queued"),
		    num(res, "running"), num(res, "workers"),
		    rcp_fmt_bytes(b, sizeof(b), num(res, "throughput")));
		printf("succeeded: %.0f\npartial: %.0f\nfailed: %.0f\n"
		    "canceled: %.0f\nclients: %.0f\n", num(by, "succeeded"),
		    num(by, "partial"), num(by, "failed"), num(by, "canceled"),
		    num(res, "clients"));
	}
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

static int
cmd_ping(struct ctl *x, int argc, char **argv)
{
	const json_t *h;
	int r;

	if ((r = parse_query(x, argc, argv, "", 0, NULL)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	h = rcp_ctlclient_hello(x->c);
	printf("%s (protocol %.0f) answers\n", str(h, "server"),
	    num(h, "protocol"));
	return RCP_CTL_EXIT_OK;
}

static int
cmd_shutdown(struct ctl *x, int argc, char **argv)
{
	const char allowed[] = { A(OPT_REQUEUE), 0 };
	json_t *req, *res;
	int r;

	if ((r = parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = connect_master(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "shutdown");
	json_object_set_new(req, "requeue", json_boolean(x->requeue));
	if ((r = call(x, req, CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} commands[] = {
	{ "submit", cmd_submit },
	{ "status", cmd_status },
	{ "list", cmd_list },
	{ "cancel", cmd_cancel },
	{ "watch", cmd_watch },
	{ "wait", cmd_wait },
	{ "batch", cmd_batch },
	{ "stats", cmd_stats },
	{ "ping", cmd_ping },
	{ "shutdown", cmd_shutdown }
};

int
main(int argc, char **argv)
{
	static const struct option global[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl x;
	size_t i;
	int ch, r;

	memset(&x, 0, sizeof(x));
	x.timeout_ms = -1;
	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:hV", global, NULL)) != -1) {
		switch (ch) {
		case OPT_SOCKET:
			x.socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return RCP_CTL_EXIT_OK;
		case 'V':
			printf("rcpctl %s (protocol %d)\n", PACKAGE_VERSION,
			    RCP_CTL_VERSION);
			return RCP_CTL_EXIT_OK;
		default:
			return bad_usage("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return bad_usage("%s", "a command is needed");
	for (i = 0; i < RCP_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		r = commands[i].fn(&x, argc - optind, argv + optind);
		rcp_ctlclient_free(x.c);
		return r;
	}
	return bad_usage("unknown command '%s'", argv[optind]);
}
