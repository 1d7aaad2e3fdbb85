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
