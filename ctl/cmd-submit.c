/*
 * cmd-submit.c: rcpctl submit: queues one copy, and with --wait waits for
 * it (or follows it, with --progress) and exits with how it ended; and
 * rcpctl rm, link and chmod, which queue jobs of rrm, rlink and rchm the
 * same way.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include <jansson.h>

#include "ctl/client.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"
#include "ctl/sigcancel.h"
#include "ctl/submitopts.h"

#include "base/banned.h"

int
rcpctl_submit_send(struct rcpctl *x, json_t *req)
{
	json_t *res;
	const json_t *job;
	json_int_t id;
	int r;

	if ((r = rcpctl_connect(x)) != 0 ||
	    (x->wait && (r = rcpctl_sigcancel_start(x)) != 0)) {
		json_decref(req);
		return r;
	}
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if ((r = rcpctl_reply_job(res, "job", &job)) != 0 ||
	    (r = rcpctl_check(res, NULL, "duplicate", RCP_CTL_K_BOOL,
	    false)) != 0) {
		json_decref(res);
		return r;
	}
	id = json_integer_value(json_object_get(job, "id"));
	if (x->wait)
		rcpctl_sigcancel_add(id);
	if (x->json && !x->wait)
		rcpctl_print_json(job);
	else if (!x->json)
		printf("%s %lld\n", json_is_true(json_object_get(res,
		    "duplicate")) ? "already submitted as job" : "job",
		    (long long)id);
	fflush(stdout);
	if (x->wait)
		r = x->progress ? rcpctl_follow(x, id, stderr) :
		    rcpctl_wait_job(x, id, stderr);
	json_decref(res);
	return r;
}

static int
cmd_submit(struct rcpctl *x, int argc, char **argv)
{
	json_t *req = NULL;
	int r;

	if ((r = rcpctl_parse_submit(x, argc, argv, &req)) >= 0) {
		json_decref(req);
		return r;
	}
	return rcpctl_submit_send(x, req);
}

const struct rcpctl_cmd rcpctl_cmd_submit = { "submit", cmd_submit };

static int
cmd_suite(struct rcpctl *x, int argc, char **argv, int kind)
{
	json_t *req = NULL;
	int r;

	if ((r = rcpctl_parse_suite(x, kind, argc, argv, &req)) >= 0) {
		json_decref(req);
		return r;
	}
	return rcpctl_submit_send(x, req);
}

static int
cmd_rm(struct rcpctl *x, int argc, char **argv)
{
	return cmd_suite(x, argc, argv, RCPCTL_KIND_RM);
}

static int
cmd_link(struct rcpctl *x, int argc, char **argv)
{
	return cmd_suite(x, argc, argv, RCPCTL_KIND_LINK);
}

static int
cmd_chmod(struct rcpctl *x, int argc, char **argv)
{
	return cmd_suite(x, argc, argv, RCPCTL_KIND_CHMOD);
}

const struct rcpctl_cmd rcpctl_cmd_rm = { "rm", cmd_rm };
const struct rcpctl_cmd rcpctl_cmd_link = { "link", cmd_link };
const struct rcpctl_cmd rcpctl_cmd_chmod = { "chmod", cmd_chmod };
