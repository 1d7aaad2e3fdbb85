/*
 * cmd-status.c: rcpctl status and list: one job in detail, or a table of
 * jobs (your live ones, or those a filter picks).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

/*
 * Shows the jobs of reply res, under a header with header.  Returns the
 * exit code.
 */
static int
show_jobs(const struct rcpctl *x, const json_t *res, bool header)
{
	const json_t *jobs;
	size_t i;
	int r;

	if ((r = rcpctl_reply_jobs(res, "jobs", NULL, &jobs)) != 0)
		return r;
	if (header && !x->json && json_array_size(jobs) > 0)
		printf("%-6s %-9s %5s %-12s %s\n", "ID", "STATE", "PRIO",
		    "LABEL", "COPY");
	for (i = 0; i < json_array_size(jobs); i++)
		x->json ? rcpctl_print_json(json_array_get(jobs, i)) :
		    rcpctl_print_row(json_array_get(jobs, i));
	return RCP_CTL_EXIT_OK;
}

static int
cmd_status(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), 0 };
	json_int_t id = 0;
	const json_t *job;
	json_t *req, *res;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
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
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if (id == 0)
		r = show_jobs(x, res, false);
	else if ((r = rcpctl_reply_job(res, "job", &job)) == 0)
		x->json ? rcpctl_print_json(job) : rcpctl_print_job(job);
	json_decref(res);
	return r;
}

static int
cmd_list(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(STATE),
	    RCPCTL_ALLOW(LABEL), RCPCTL_ALLOW(LIMIT), 0 };
	json_t *req, *res;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "list");
	if (x->state != NULL)
		json_object_set_new(req, "state", json_string(x->state));
	if (x->label != NULL)
		json_object_set_new(req, "label", json_string(x->label));
	if (x->limit > 0)
		json_object_set_new(req, "limit", json_integer(x->limit));
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	r = show_jobs(x, res, true);
	json_decref(res);
	return r;
}

const struct rcpctl_cmd rcpctl_cmd_status = { "status", cmd_status };

const struct rcpctl_cmd rcpctl_cmd_list = { "list", cmd_list };
