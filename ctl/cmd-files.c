/*
 * cmd-files.c: rcpctl files: a job's ledger, every failed entry with its
 * cause and, for a job submitted with --record-files, every file it
 * copied.  The ledger comes page by page ("files" requests from a cursor)
 * and is printed as it comes, so rcpctl never holds more than a page of a
 * job of millions of files; what the ledger could not keep is said at
 * the end, and in the exit code.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "control/ctlproto.h"
#include "ctl/client.h"
#include "ctl/query.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

/* One entry as text: "error: MESSAGE" or "copied: PATH". */
static void
print_entry(const json_t *e)
{
	const char *kind = rcpctl_str(e, "kind");
	double attempt = rcpctl_num(e, "attempt");
	char at[48] = "";

	if (attempt > 1)
		snprintf(at, sizeof(at), " (attempt %.0f)", attempt);
	if (strcmp(kind, "error") == 0)
		printf("error%s: %s\n", at, rcpctl_str(e, "error"));
	else if (strcmp(kind, "file") == 0)
		printf("copied%s: %s\n", at, rcpctl_str(e, "path"));
}

/* One JSON line, without rcpctl_print_json's flush for each. */
static void
print_json(const json_t *o)
{
	char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

/* Checks a page's members; returns 0 or the exit code. */
static int
check_page(const json_t *res)
{
	int r;

	if ((r = rcpctl_check(res, NULL, "entries", RCP_CTL_K_ARRAY,
	    true)) != 0 || (r = rcpctl_check(res, NULL, "more", RCP_CTL_K_BOOL,
	    true)) != 0 || (r = rcpctl_check(res, NULL, "next",
	    RCP_CTL_K_INTEGER, true)) != 0 || (r = rcpctl_check(res, NULL,
	    "ledger", RCP_CTL_K_OBJECT, true)) != 0 || (r = rcpctl_check(res,
	    NULL, "state", RCP_CTL_K_STATE, true)) != 0)
		return r;
	return 0;
}

/*
 * The end of the listing: the summary line of --json, and on stderr what
 * the ledger lacks.  Returns the exit code: 4 if entries are missing.
 */
static int
summary(struct rcpctl *x, json_int_t id, const json_t *res)
{
	const json_t *n = json_object_get(res, "ledger");
	double ed = rcpctl_num(n, "errors_dropped");
	double fd = rcpctl_num(n, "files_dropped");
	const char *why = rcp_ctl_str(res, "ledger_error", "");
	json_t *o;

	if (x->json) {
		o = json_pack("{s:s,s:I,s:s,s:b,s:O,s:s?}", "kind", "summary",
		    "job", id, "state", rcpctl_str(res, "state"),
		    "record_files", (int)rcp_ctl_true(res, "record_files"),
		    "ledger", n, "ledger_error", why[0] != '\0' ? why : NULL);
		print_json(o);
		json_decref(o);
	}
	/* The entries first: stderr must not land inside one of them. */
	fflush(stdout);
	if (ed > 0 || fd > 0)
		fprintf(stderr, "rcpctl: job %lld's ledger is incomplete: %.0f "
		    "failed entr%s and %.0f copied file%s not recorded (%s)\n",
		    (long long)id, ed, ed == 1 ? "y" : "ies", fd,
		    fd == 1 ? "" : "s", why[0] != '\0' ? why :
		    "over rcp-master's --ledger-max");
	else if (why[0] != '\0')
		fprintf(stderr, "rcpctl: job %lld's ledger: %s\n",
		    (long long)id, why);
	if (!x->json && rcp_ctl_state_parse(rcpctl_str(res, "state")) <=
	    RCP_CTL_RUNNING)
		fprintf(stderr, "rcpctl: job %lld is %s: its ledger is not "
		    "complete yet\n", (long long)id, rcpctl_str(res, "state"));
	return ed > 0 || fd > 0 ? RCP_CTL_EXIT_PARTIAL : RCP_CTL_EXIT_OK;
}

static int
cmd_files(struct rcpctl *x, int argc, char **argv)
{
	const char allowed[] = { RCPCTL_ALLOW(JSON), RCPCTL_ALLOW(ERRORS), 0 };
	json_int_t id = 0, cursor = 0, next;
	const json_t *entries;
	json_t *req, *res;
	bool more;
	size_t i;
	int r;

	if ((r = rcpctl_parse_query(x, argc, argv, allowed, 1, &id)) >= 0 ||
	    (r = rcpctl_connect(x)) != 0)
		return r;
	for (;;) {
		req = rcp_ctl_request(0, "files");
		json_object_set_new(req, "job", json_integer(id));
		json_object_set_new(req, "cursor", json_integer(cursor));
		json_object_set_new(req, "limit",
		    json_integer(RCP_CTL_LIST_PAGE));
		if (x->errors_only)
			json_object_set_new(req, "errors", json_true());
		if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS,
		    &res)) != 0)
			return r;
		if ((r = check_page(res)) != 0) {
			json_decref(res);
			return r;
		}
		entries = json_object_get(res, "entries");
		for (i = 0; i < json_array_size(entries); i++)
			x->json ? print_json(json_array_get(entries, i)) :
			    print_entry(json_array_get(entries, i));
		more = json_is_true(json_object_get(res, "more"));
		next = json_integer_value(json_object_get(res, "next"));
		if (more && next <= cursor) {
			/* Asking again would loop for ever. */
			fprintf(stderr, "rcpctl: malformed reply from the "
			    "master: 'next' %lld does not move past the cursor "
			    "%lld\n", (long long)next, (long long)cursor);
			json_decref(res);
			r = RCP_CTL_EXIT_UNREACHABLE;
			break;
		}
		if (!more) {
			r = summary(x, id, res);
			json_decref(res);
			break;
		}
		json_decref(res);
		cursor = next;
	}
	fflush(stdout);
	return r;
}

const struct rcpctl_cmd rcpctl_cmd_files = { "files", cmd_files };
