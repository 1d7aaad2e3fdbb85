/*
 * submitopts.c: the command line of a copy, for submit and for each line
 * of a batch file: rcpctl's own options and rcp's, checked by rcp's own
 * parser, made into a submit request with the paths and where to resolve
 * them.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"
#include "control/ctlproto.h"
#include "ctl/help.h"
#include "ctl/submitopts.h"
#include "opts/cliopts.h"
#include "opts/suiteopts.h"

#include "base/banned.h"

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

/* Adds where to resolve the paths of req: cwd, home, umask. */
static void
add_where(json_t *req)
{
	char cwd[PATH_MAX];
	const char *home = getenv("HOME");
	struct rcp_copy_opts o;

	if (getcwd(cwd, sizeof(cwd)) != NULL)
		rcp_ctl_set_path(req, "cwd", cwd);
	if (home != NULL && home[0] == '/')
		rcp_ctl_set_path(req, "home", home);
	rcp_copy_opts_init(&o);		/* reads our umask */
	json_object_set_new(req, "umask", json_integer(o.umask));
}

/*
 * Adds sources, destination and where to resolve them to req.  A path that
 * is not UTF-8 travels as its bytes in base64 (see doc/ctl-protocol.md).
 */
static int
add_paths(json_t *req, int n, char *const *args)
{
	rcp_ctl_set_pathv(req, "sources", (const char *const *)args,
	    (size_t)(n - 1));
	rcp_ctl_set_path(req, "destination", args[n - 1]);
	add_where(req);
	return RCP_CTL_EXIT_OK;
}

/* Adds the n paths of an rm or chmod job and where to resolve them. */
static int
add_sources(json_t *req, int n, char *const *args)
{
	rcp_ctl_set_pathv(req, "sources", (const char *const *)args,
	    (size_t)n);
	add_where(req);
	return RCP_CTL_EXIT_OK;
}

const struct option rcpctl_submit_own_opts[] = {
	{ "wait", no_argument, NULL, RCPCTL_OPT_WAIT },
	{ "json", no_argument, NULL, RCPCTL_OPT_JSON },
	{ "priority", required_argument, NULL, RCPCTL_OPT_PRIORITY },
	{ "label", required_argument, NULL, RCPCTL_OPT_LABEL },
	{ "key", required_argument, NULL, RCPCTL_OPT_KEY },
	{ "no-cancel-on-signal", no_argument, NULL, RCPCTL_OPT_NO_CANCEL },
	{ "record-files", no_argument, NULL, RCPCTL_OPT_RECORD_FILES },
	{ "shard", required_argument, NULL, RCPCTL_OPT_SHARD },
	{ NULL, 0, NULL, 0 }
};

/* rcp's options and ours in one getopt table (caller frees). */
static struct option *
submit_table(void)
{
	size_t n, i;
	const struct option *rcp = rcp_cliopts_longopts(&n);
	size_t own = RCP_ARRAY_SIZE(rcpctl_submit_own_opts);
	struct option *t = rcp_xcalloc(n + own, sizeof(*t));

	for (i = 0; i < n; i++)
		t[i] = rcp[i];
	for (i = 0; i < own; i++)
		t[n + i] = rcpctl_submit_own_opts[i];
	return t;
}

/* --shard K/N: 0 <= K < N, as Slurm's array task id and count with --array=0-(N-1). */
static int
parse_shard(struct rcpctl *x, const char *arg)
{
	const char *slash = strchr(arg, '/');
	char k[32];

	if (slash == NULL || (size_t)(slash - arg) >= sizeof(k))
		goto bad;
	memcpy(k, arg, (size_t)(slash - arg));
	k[slash - arg] = '\0';
	if (rcp_parse_uint(k, UINT32_MAX, &x->shard_k) != 0 ||
	    rcp_parse_uint(slash + 1, UINT32_MAX, &x->shard_n) != 0 ||
	    x->shard_n == 0 || x->shard_k >= x->shard_n)
		goto bad;
	return -1;
bad:
	return rcpctl_bad_usage("--shard: '%s' is not K/N with 0 <= K < N",
	    arg);
}

int
rcpctl_submit_own_option(struct rcpctl *x, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case RCPCTL_OPT_WAIT:
		x->wait = true;
		break;
	case RCPCTL_OPT_JSON:
		x->json = true;
		break;
	case RCPCTL_OPT_NO_CANCEL:
		x->no_cancel = true;
		break;
	case RCPCTL_OPT_RECORD_FILES:
		x->record_files = true;
		break;
	case RCPCTL_OPT_SHARD:
		return parse_shard(x, arg);
	case RCPCTL_OPT_PRIORITY:
		if (rcp_parse_uint(arg[0] == '-' ? arg + 1 : arg, 1000,
		    &v) != 0)
			return rcpctl_bad_usage("--priority: '%s' is not a "
			    "number from -1000 to 1000", arg);
		x->priority = arg[0] == '-' ? -(int64_t)v : (int64_t)v;
		x->priority_set = true;
		break;
	case RCPCTL_OPT_LABEL:
	case RCPCTL_OPT_KEY:
		if (strlen(arg) > RCP_CTL_MAX_LABEL)
			return rcpctl_bad_usage("--%s: longer than %d bytes",
			    ch == RCPCTL_OPT_LABEL ? "label" : "key",
			    RCP_CTL_MAX_LABEL);
		if (ch == RCPCTL_OPT_LABEL)
			x->label = arg;
		else
			x->key = arg;
		break;
	}
	return -1;
}

int
rcpctl_parse_submit(struct rcpctl *x, int argc, char **argv,
    json_t **req)
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
		if (ch == ':' || ch == '?')
			r = rcp_usage_getopt("rcpctl", RCP_CTL_EXIT_USAGE, ch,
			    argv);
		else if (ch == 'h') {
			rcpctl_submit_usage(stdout);
			r = RCP_CTL_EXIT_OK;
		} else if (ch == 'V')
			r = rcpctl_bad_usage("%s", "'--version' is not a "
			    "copy option");
		else if (ch == RCPCTL_OPT_SHARD)
			r = rcpctl_bad_usage("%s", "--shard is an option of "
			    "batch, not of one copy");
		else if (ch >= RCPCTL_OPT_SOCKET)
			r = rcpctl_submit_own_option(x, ch, optarg);
		else if (rcp_cliopts_apply(&co, ch, optarg, 0, NULL,
		    &cause) != 0) {
			r = rcpctl_bad_usage("%s", cause);
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
		r = rcpctl_bad_usage("%s", cause);
		free(cause);
	}
	if (r < 0 && argc - optind < 2)
		r = rcpctl_bad_usage("%s", argc - optind == 0 ?
		    "missing source and destination" :
		    "missing destination");
	x->progress = co.progress;
	/*
	 * rcp's --stall-timeout is the job's too: the master's watchdog takes
	 * it in whole seconds, and the copy, which is given the option, names
	 * the stuck host within it.
	 */
	if (co.stall_given)
		x->stall_s = (co.remote.remote.stall_timeout_ms + 999) / 1000;
	*req = rcp_ctl_request(0, "submit");
	if (r < 0 && (ch = add_paths(*req, argc - optind, argv + optind)) != 0)
		r = ch;
	json_object_set_new(*req, "options", opts);
	if (x->priority_set)
		json_object_set_new(*req, "priority",
		    json_integer(x->priority));
	if (x->label != NULL)
		json_object_set_new(*req, "label", json_string(x->label));
	if (x->stall_s >= 0)
		json_object_set_new(*req, "stall_timeout",
		    json_integer(x->stall_s));
	if (x->key != NULL)
		json_object_set_new(*req, "key", json_string(x->key));
	if (x->record_files)
		json_object_set_new(*req, "record_files", json_true());
	rcp_cliopts_release(&co);
	free(table);
	return r;
}

/* --- rm, link, chmod ---------------------------------------------------------- */

static const struct {
	const char	*kind;		/* the master's name of it */
	const char	*tool;
	int		 tool_id;	/* RCP_TOOL_* */
} suite_kinds[] = {
	[RCPCTL_KIND_RM] = { "rm", "rrm", RCP_TOOL_RRM },
	[RCPCTL_KIND_LINK] = { "link", "rlink", RCP_TOOL_RLINK },
	[RCPCTL_KIND_CHMOD] = { "chmod", "rchm", RCP_TOOL_RCHM }
};

/*
 * If argv[*i] is one of rcpctl's own options of submit, applies it (with
 * its value, "--name=V" or the next argument) and moves *i past it.
 * Returns 1 if it was one, 0 if not, else an exit code + 2 (bad usage).
 */
static int
own_option(struct rcpctl *x, int argc, char **argv, int *i)
{
	const struct option *o;
	const char *a = argv[*i], *eq, *val = NULL;
	size_t n;
	int r;

	if (strncmp(a, "--", 2) != 0)
		return 0;
	eq = strchr(a, '=');
	n = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
	for (o = rcpctl_submit_own_opts; o->name != NULL; o++)
		if (strlen(o->name) == n && strncmp(a + 2, o->name, n) == 0)
			break;
	if (o->name == NULL || o->val == RCPCTL_OPT_SHARD)
		return 0;
	if (o->has_arg == required_argument) {
		if (eq != NULL)
			val = eq + 1;
		else if (*i + 1 < argc)
			val = argv[++*i];
		else
			return rcpctl_bad_usage("option '--%s' needs a value",
			    o->name) + 2;
	} else if (eq != NULL) {
		return rcpctl_bad_usage("option '--%s' takes no value",
		    o->name) + 2;
	}
	(*i)++;
	r = rcpctl_submit_own_option(x, o->val, val);
	return r >= 0 ? r + 2 : 1;
}

/*
 * --stall-timeout D of an rm, link or chmod job: the master's watchdog
 * only (the tools have no remote side to pass it to), in whole seconds.
 * Returns 1 if argv[*i] was it, 0 if not, else an exit code + 2.
 */
static int
stall_option(struct rcpctl *x, int argc, char **argv, int *i)
{
	static const char name[] = "--stall-timeout";
	const char *a = argv[*i], *val;
	uint64_t ns;

	if (strncmp(a, name, sizeof(name) - 1) != 0 ||
	    (a[sizeof(name) - 1] != '\0' && a[sizeof(name) - 1] != '='))
		return 0;
	if (a[sizeof(name) - 1] == '=')
		val = a + sizeof(name);
	else if (*i + 1 < argc)
		val = argv[++*i];
	else
		return rcpctl_bad_usage("%s", "option '--stall-timeout' needs "
		    "a value") + 2;
	(*i)++;
	if (rcp_parse_duration(val, true, RCP_STALL_MAX_S, &ns) != 0)
		return rcpctl_bad_usage("--stall-timeout: '%s' is not 0 or a "
		    "duration up to 30d", val) + 2;
	x->stall_s = (int64_t)((ns + 999999999u) / 1000000000u);
	return 1;
}

/*
 * Splits argv into rcpctl's own options (applied to x) and the tool's
 * arguments (*targv: a name, then the rest in order).  An option of the
 * tool that takes the next argument as its value keeps it, whatever it
 * looks like ("--exclude --json": a pattern, not rcpctl's --json).
 * Returns -1 to go on, else an exit code.
 */
static int
split_own(struct rcpctl *x, int argc, char **argv, int kind,
    char ***targv, int *targc)
{
	const char *tool = suite_kinds[kind].tool;
	char **t = rcp_xcalloc((size_t)argc + 1, sizeof(char *));
	int i = 1, n = 0, r;

	t[n++] = rcp_xstrdup(tool);
	while (i < argc) {
		if (strcmp(argv[i], "--") == 0) {
			while (i < argc)
				t[n++] = rcp_xstrdup(argv[i++]);
			break;
		}
		if ((r = own_option(x, argc, argv, &i)) == 0)
			r = stall_option(x, argc, argv, &i);
		if (r == 0 && i + 1 < argc && rcp_suiteopts_takes_value(
		    suite_kinds[kind].tool_id, argv[i]))
			t[n++] = rcp_xstrdup(argv[i++]);	/* and its value */
		if (r > 1) {
			rcp_strv_free(t, (size_t)n);
			return r - 2;
		}
		if (r == 0)
			t[n++] = rcp_xstrdup(argv[i++]);
	}
	*targv = t;
	*targc = n;
	return -1;
}

/* The option argument arg, or a copy of it naming --update's DIR absolute. */
static char *
suite_option_arg(const struct rcp_suiteopts *s, const char *arg)
{
	char cwd[PATH_MAX], *abs, *out;

	if (s->update == NULL || s->update[0] == '/' || s->update < arg ||
	    s->update > arg + strlen(arg) || getcwd(cwd, sizeof(cwd)) == NULL)
		return rcp_xstrdup(arg);
	abs = rcp_path_join(cwd, s->update);
	if (s->update == arg)
		return abs;
	out = rcp_xasprintf("%.*s%s", (int)(s->update - arg), arg, abs);
	free(abs);
	return out;
}

/* The tool's options, targv[1..first), as the request's "options". */
static int
suite_options(const struct rcp_suiteopts *s, char **targv, int first,
    json_t *opts)
{
	json_t *v;
	char *a;
	int i;

	for (i = 1; i < first; i++) {
		if (i == first - 1 && strcmp(targv[i], "--") == 0)
			break;
		a = suite_option_arg(s, targv[i]);
		v = utf8("option value", a);
		free(a);
		if (v == NULL)
			return RCP_CTL_EXIT_USAGE;
		json_array_append_new(opts, v);
	}
	return -1;
}

int
rcpctl_parse_suite(struct rcpctl *x, int kind, int argc, char **argv,
    json_t **req)
{
	const char *tool = suite_kinds[kind].tool;
	struct rcp_suiteopts s;
	json_t *opts = json_array();
	char **targv = NULL, *cause = NULL;
	int targc = 0, first = 0, nops, r;

	rcp_suiteopts_init(&s, suite_kinds[kind].tool_id);
	*req = rcp_ctl_request(0, "submit");
	json_object_set_new(*req, "kind", json_string(suite_kinds[kind].kind));
	if ((r = split_own(x, argc, argv, kind, &targv, &targc)) >= 0)
		goto out;
	if (rcp_suiteopts_parse(&s, targc, targv, &first, &cause) != 0) {
		r = rcpctl_bad_usage("%s", cause);
		free(cause);
		goto out;
	}
	if (s.cl.help) {
		rcpctl_suite_usage(stdout, argv[0], tool,
		    suite_kinds[kind].tool_id);
		r = RCP_CTL_EXIT_OK;
		goto out;
	}
	if (s.cl.version) {
		r = rcpctl_bad_usage("'--version' is not an option of %s",
		    argv[0]);
		goto out;
	}
	nops = targc - first;
	if (kind == RCPCTL_KIND_LINK && nops != 2) {
		r = rcpctl_bad_usage("%s", nops < 2 ? "missing source or "
		    "destination" : "link takes one source and one "
		    "destination");
		goto out;
	}
	if (nops == 0) {
		r = rcpctl_bad_usage("%s", "missing path");
		goto out;
	}
	x->progress = s.cl.progress;
	if ((r = suite_options(&s, targv, first, opts)) >= 0)
		goto out;
	if (kind == RCPCTL_KIND_LINK)
		r = add_paths(*req, 2, targv + first);
	else
		r = add_sources(*req, nops, targv + first);
	if (r == RCP_CTL_EXIT_OK)
		r = -1;
	if (x->priority_set)
		json_object_set_new(*req, "priority",
		    json_integer(x->priority));
	if (x->label != NULL)
		json_object_set_new(*req, "label", json_string(x->label));
	if (x->key != NULL)
		json_object_set_new(*req, "key", json_string(x->key));
	if (x->record_files)
		json_object_set_new(*req, "record_files", json_true());
	if (x->stall_s >= 0)
		json_object_set_new(*req, "stall_timeout",
		    json_integer(x->stall_s));
out:
	json_object_set_new(*req, "options", opts);
	rcp_suiteopts_release(&s);
	rcp_strv_free(targv, (size_t)targc);
	return r;
}
