/*
 * rcpctl.c: the client of rcp-master.  Submits copies (with rcp's own
 * options, checked here by the same parser before they are sent), shows
 * and follows jobs, and maps how a job ended to a fixed exit code for
 * scripts and job schedulers (see rcpctl(1)).  This file holds main: the
 * global options and the table of commands, each in its ctl/cmd-*.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl/help.h"
#include "ctl/rcpctl.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static const struct rcpctl_cmd *const commands[] = {
	&rcpctl_cmd_submit,
	&rcpctl_cmd_rm,
	&rcpctl_cmd_link,
	&rcpctl_cmd_chmod,
	&rcpctl_cmd_status,
	&rcpctl_cmd_list,
	&rcpctl_cmd_cancel,
	&rcpctl_cmd_files,
	&rcpctl_cmd_watch,
	&rcpctl_cmd_wait,
	&rcpctl_cmd_batch,
	&rcpctl_cmd_stats,
	&rcpctl_cmd_metrics,
	&rcpctl_cmd_ping,
	&rcpctl_cmd_shutdown
};

int
main(int argc, char **argv)
{
	static const struct option global[] = {
		{ "socket", required_argument, NULL, RCPCTL_OPT_SOCKET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct rcpctl x;
	size_t i;
	int ch, r;

	memset(&x, 0, sizeof(x));
	x.timeout_ms = -1;
	x.stall_s = -1;
	opterr = 0;
	/* '+': stop at the command; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+:hV", global, NULL)) != -1) {
		switch (ch) {
		case RCPCTL_OPT_SOCKET:
			x.socket = optarg;
			break;
		case 'h':
			rcpctl_usage(stdout);
			return RCP_CTL_EXIT_OK;
		case 'V':
			printf("rcpctl %s (protocol %d)\n", PACKAGE_VERSION,
			    RCP_CTL_VERSION);
			return RCP_CTL_EXIT_OK;
		default:	/* '?' or ':' */
			return rcp_usage_getopt("rcpctl", RCP_CTL_EXIT_USAGE,
			    ch, argv);
		}
	}
	if (optind >= argc)
		return rcpctl_bad_usage("%s", "a command is needed");
	for (i = 0; i < RCP_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[optind], commands[i]->name) != 0)
			continue;
		r = commands[i]->exec(&x, argc - optind, argv + optind);
		rcp_ctlclient_free(x.c);
		return r;
	}
	return rcpctl_bad_usage("unknown command '%s'", argv[optind]);
}
