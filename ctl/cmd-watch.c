/*
 * cmd-watch.c: rcpctl watch: follows a job, its progress as it goes, to
 * its end.
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
cmd_watch(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(INTERVAL),
	    0 };
	json_int_t id = 0;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	return rcpctl_follow(x, id, stdout);
}

const struct rcpctl_cmd rcpctl_cmd_watch = { "watch", cmd_watch };
