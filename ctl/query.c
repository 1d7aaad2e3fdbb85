/*
 * query.c: the options of the commands that ask about jobs or the master
 * (status, list, cancel, watch, wait, stats, ping, shutdown): one getopt
 * table, each command allowing its part of it.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "base/util.h"
#include "control/ctlproto.h"
#include "ctl/help.h"
#include "ctl/query.h"
#include "opts/cliopts.h"

#include "base/banned.h"

static const struct option query_opts[] = {
	{ "json", no_argument, NULL, RCPCTL_OPT_JSON },
	{ "wait", no_argument, NULL, RCPCTL_OPT_WAIT },
	{ "state", required_argument, NULL, RCPCTL_OPT_STATE },
	{ "label", required_argument, NULL, RCPCTL_OPT_LABEL },
	{ "limit", required_argument, NULL, RCPCTL_OPT_LIMIT },
	{ "timeout", required_argument, NULL, RCPCTL_OPT_TIMEOUT },
	{ "interval", required_argument, NULL, RCPCTL_OPT_INTERVAL },
	{ "requeue", no_argument, NULL, RCPCTL_OPT_REQUEUE },
	{ "errors", no_argument, NULL, RCPCTL_OPT_ERRORS },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

int
rcpctl_parse_query(struct rcpctl *x, int argc, char **argv,
    const char *allowed, int nargs, json_int_t *id)
{
	uint64_t v;
	int ch;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", query_opts, NULL)) != -1) {
		if (ch == 'h') {
			rcpctl_usage(stdout);
			return RCP_CTL_EXIT_OK;
		}
		if (ch == ':' || ch == '?')
			return rcp_usage_getopt("rcpctl", RCP_CTL_EXIT_USAGE,
			    ch, argv);
		if (ch >= RCPCTL_OPT_SOCKET &&
		    strchr(allowed, ch - RCPCTL_OPT_SOCKET + 'a') == NULL)
			return rcpctl_bad_usage("%s: option '%s' is not "
			    "known here", argv[0], argv[optind - 1]);
		switch (ch) {
		case RCPCTL_OPT_JSON:
			x->json = true;
			break;
		case RCPCTL_OPT_WAIT:
			x->wait = true;
			break;
		case RCPCTL_OPT_REQUEUE:
			x->requeue = true;
			break;
		case RCPCTL_OPT_ERRORS:
			x->errors_only = true;
			break;
		case RCPCTL_OPT_STATE:
			if (rcp_ctl_state_parse(optarg) < 0)
				return rcpctl_bad_usage("--state: unknown "
				    "state '%s'", optarg);
			x->state = optarg;
			break;
		case RCPCTL_OPT_LABEL:
			x->label = optarg;
			break;
		case RCPCTL_OPT_LIMIT:
			if (rcp_parse_uint(optarg, INT32_MAX, &v) != 0)
				return rcpctl_bad_usage("--limit: '%s' is "
				    "not a number", optarg);
			x->limit = (int64_t)v;
			break;
		case RCPCTL_OPT_TIMEOUT:
		case RCPCTL_OPT_INTERVAL:
			if (rcp_cliopts_parse_duration(optarg, &v) != 0)
				return rcpctl_bad_usage("'%s' is not a "
				    "duration (e.g. 500ms, 30s, 10m)", optarg);
			if (ch == RCPCTL_OPT_TIMEOUT)
				x->timeout_ms = (int)(v / 1000000u);
			else
				x->interval_ms = v < 100000000u ? 100 :
				    (int)(v / 1000000u);
			break;
		}
	}
	if (argc - optind > nargs || (nargs > 0 && id == NULL &&
	    argc - optind != nargs))
		return rcpctl_bad_usage("%s: unexpected argument '%s'", argv[0],
		    argv[optind + nargs]);
	if (id != NULL && argc - optind == 1) {
		if (rcp_parse_uint(argv[optind], INT64_MAX, &v) != 0 || v == 0)
			return rcpctl_bad_usage("'%s' is not a job id",
			    argv[optind]);
		*id = (json_int_t)v;
	} else if (id != NULL && nargs == 1 && strcmp(argv[0], "status") != 0) {
		return rcpctl_bad_usage("%s: a job id is needed", argv[0]);
	}
	return -1;
}
