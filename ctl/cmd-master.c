/*
 * cmd-master.c: the commands about the master itself rather than a job:
 * stats, ping and shutdown.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include <jansson.h>

#include "base/util.h"
#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

/* Checks the members of a stats reply it shows; returns an exit code. */
static int
check_stats(const json_t *res)
{
	static const char *const top[] = { "queued", "running", "workers",
	    "throughput", "clients" };
	static const char *const by[] = { "succeeded", "partial", "failed",
	    "canceled" };
	size_t i;
	int r;

	for (i = 0; i < RCP_ARRAY_SIZE(top); i++)
		if ((r = rcpctl_check(res, NULL, top[i], RCP_CTL_K_NUMBER,
		    true)) != 0)
			return r;
	if ((r = rcpctl_check(res, NULL, "jobs", RCP_CTL_K_OBJECT, true)) != 0)
		return r;
	for (i = 0; i < RCP_ARRAY_SIZE(by); i++)
		if ((r = rcpctl_check(json_object_get(res, "jobs"), "jobs",
		    by[i], RCP_CTL_K_NUMBER, true)) != 0)
			return r;
	return 0;
}

/* "entries: copy N, rm N, ...": what each kind of job dealt with. */
static void
print_entries(json_t *by)
{
	const char *kind, *sep = "entries: ";
	json_t *v;

	if (!json_is_object(by) || json_object_size(by) == 0)
		return;		/* a master from before job kinds */
	json_object_foreach(by, kind, v) {
		printf("%s%s %.0f", sep, kind, json_number_value(v));
		sep = ", ";
	}
	putchar('\n');
}

static int
cmd_stats(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), 0 };
	json_t *res, *by;
	char b[32];
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	if ((r = rcpctl_call(x, rcp_ctl_request(0, "stats"),
	    RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if (x->json) {
		rcpctl_print_json(res);
	} else if ((r = check_stats(res)) == 0) {
		by = json_object_get(res, "jobs");
		printf("queued: %.0f\nrunning: %.0f\nworkers: %.0f\n"
		    "throughput: %s/s\n", rcpctl_num(res, "queued"),
		    rcpctl_num(res, "running"), rcpctl_num(res, "workers"),
		    rcp_fmt_bytes(b, sizeof(b), rcpctl_num(res, "throughput")));
		printf("succeeded: %.0f\npartial: %.0f\nfailed: %.0f\n"
		    "canceled: %.0f\nclients: %.0f\n",
		    rcpctl_num(by, "succeeded"), rcpctl_num(by, "partial"),
		    rcpctl_num(by, "failed"), rcpctl_num(by, "canceled"),
		    rcpctl_num(res, "clients"));
		print_entries(json_object_get(res, "entries_by_kind"));
	}
	json_decref(res);
	return r;
}

/* rcpctl metrics: the master's counters, Prometheus text format. */
static int
cmd_metrics(struct rcpctl *x, int argc, char **argv)
{
	json_t *res;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, "", 0, NULL)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	if ((r = rcpctl_call(x, rcp_ctl_request(0, "metrics"),
	    RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	if ((r = rcpctl_check(res, NULL, "text", RCP_CTL_K_STRING,
	    true)) == 0)
		fputs(rcpctl_str(res, "text"), stdout);
	json_decref(res);
	return r;
}

static int
cmd_ping(struct rcpctl *x, int argc, char **argv)
{
	const json_t *h;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, "", 0, NULL)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	h = rcp_ctlclient_hello(x->c);
	if ((r = rcpctl_check(h, "hello", "server", RCP_CTL_K_STRING,
	    true)) != 0 || (r = rcpctl_check(h, "hello", "protocol",
	    RCP_CTL_K_NUMBER, true)) != 0)
		return r;
	printf("%s (protocol %.0f) answers\n", rcpctl_str(h, "server"),
	    rcpctl_num(h, "protocol"));
	return RCP_CTL_EXIT_OK;
}

static int
cmd_shutdown(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(REQUEUE), 0 };
	json_t *req, *res;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 0, NULL)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	req = rcp_ctl_request(0, "shutdown");
	json_object_set_new(req, "requeue", json_boolean(x->requeue));
	if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS, &res)) != 0)
		return r;
	json_decref(res);
	return RCP_CTL_EXIT_OK;
}

const struct rcpctl_cmd rcpctl_cmd_stats = { "stats", cmd_stats };

const struct rcpctl_cmd rcpctl_cmd_metrics = { "metrics", cmd_metrics };

const struct rcpctl_cmd rcpctl_cmd_ping = { "ping", cmd_ping };

const struct rcpctl_cmd rcpctl_cmd_shutdown = { "shutdown", cmd_shutdown };
