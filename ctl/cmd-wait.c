/*
 * cmd-wait.c: rcpctl wait: waits for a job to end (or --timeout) and exits
 * with how it ended.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"

#include "base/banned.h"

static int
cmd_wait(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(TIMEOUT), 0 };
	json_int_t id = 0;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	return rcpctl_wait_job(x, id, stdout);
}

const struct rcpctl_cmd rcpctl_cmd_wait = { "wait", cmd_wait };
