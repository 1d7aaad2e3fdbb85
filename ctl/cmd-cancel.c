/*
 * cmd-cancel.c: rcpctl cancel: asks the master to stop a job, and with
 * --wait waits for it to end.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

static int
cmd_cancel(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(WAIT), 0 };
	json_int_t id = 0;
	const json_t *job;
	json_t *req, *res;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "cancel");
	json_object_set_new(req, "job", json_integer(id));
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if (x->wait) {
		json_decref(res);
		return rcpctl_wait_job(x, id, stdout);
	}
	if ((r = rcpctl_reply_job(res, "job", &job)) == 0 && x->json)
		rcpctl_print_json(job);
	else if (r == 0)
		printf("job %lld: cancel requested (%s)\n", (long long)id,
		    rcpctl_str(job, "state"));
	json_decref(res);
	return r;
}

const struct rcpctl_cmd rcpctl_cmd_cancel = { "cancel", cmd_cancel };
