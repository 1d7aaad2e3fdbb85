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

#include "control/ctlproto.h"
#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

/*
 * Asks for the jobs req picks (taking req), page by page, and shows each
 * page as it comes, under a header if header: rcpctl never holds more
 * than a page either.  Returns the exit code.
 */
static int
show_jobs(struct rcpctl *x, json_t *req, bool header)
{
	const json_t *jobs;
	json_t *res, *more;
	json_int_t next = 0;
	size_t i, shown = 0;
	int r;

	json_object_set_new(req, "page", json_integer(RCP_CTL_LIST_PAGE));
	for (;;) {
		if ((r = rcpctl_call(x, json_incref(req),
		    RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
			break;
		if ((r = rcpctl_reply_jobs(res, "jobs", NULL, &jobs)) != 0) {
			json_decref(res);
			break;
		}
		if (header && !x->json && shown == 0 &&
		    json_array_size(jobs) > 0)
			printf("%-6s %-9s %5s %-12s %-5s %s\n", "ID",
			    "STATE", "PRIO", "LABEL", "KIND", "PATHS");
		for (i = 0; i < json_array_size(jobs); i++)
			x->json ? rcpctl_print_json(json_array_get(jobs, i)) :
			    rcpctl_print_row(json_array_get(jobs, i));
		shown += json_array_size(jobs);
		more = json_object_get(res, "more");
		next = json_integer_value(json_object_get(res, "next"));
		json_decref(res);
		if (!json_is_true(more) || next <= 0)
			break;
		/* The next page starts after this one; the limit is spent. */
		json_object_set_new(req, "after", json_integer(next));
		json_object_del(req, "limit");
	}
	json_decref(req);
	return r;
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
	if (id == 0)
		return show_jobs(x, req, false);
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if ((r = rcpctl_reply_job(res, "job", &job)) == 0)
		x->json ? rcpctl_print_json(job) : rcpctl_print_job(job);
	json_decref(res);
	return r;
}

static int
cmd_list(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(STATE),
	    RCPCTL_ALLOW(LABEL), RCPCTL_ALLOW(LIMIT), 0 };
	json_t *req;
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
	return show_jobs(x, req, true);
}

const struct rcpctl_cmd rcpctl_cmd_status = { "status", cmd_status };

const struct rcpctl_cmd rcpctl_cmd_list = { "list", cmd_list };
