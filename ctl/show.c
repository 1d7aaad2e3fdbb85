/*
 * show.c: how rcpctl shows jobs to a person (and, with --json, to a
 * script): the detail of status, the rows of list, progress lines and the
 * line about how a job ended.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

void
rcpctl_print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
	fflush(stdout);
}

/* What a job of rrm, rlink or rchm does to an entry; NULL for a copy. */
static const char *
kind_verb(const json_t *job)
{
	const char *k = rcpctl_str(job, "kind");

	if (strcmp(k, "rm") == 0)
		return "removed";
	if (strcmp(k, "chmod") == 0)
		return "changed";
	if (strcmp(k, "link") == 0)
		return "linked or made";
	return NULL;
}

/*
 * "120 entries removed (100 files, 20 dirs), 0 kept, 0 skipped" (rm,
 * chmod); "25 entries linked or made, 0 B copied" (link).
 */
static void
entries_text(struct rcp_buf *b, const json_t *job, const char *verb)
{
	const json_t *w = json_object_get(job, "walk");
	char x[32];

	rcp_buf_addf(b, "%.0f entries %s", rcpctl_num(job, "entries_done"),
	    verb);
	if (json_is_object(w))
		rcp_buf_addf(b, " (%.0f files, %.0f dirs), %.0f kept, %.0f "
		    "skipped", rcpctl_num(w, "files"), rcpctl_num(w, "dirs"),
		    rcpctl_num(w, "kept"), rcpctl_num(w, "skipped"));
	else
		rcp_buf_addf(b, ", %s copied", rcp_fmt_bytes(x, sizeof(x),
		    rcpctl_num(job, "bytes_done")));
}

/* "1.20 GiB of 3.40 GiB (35%), 10 of 40 files, 45.0 MiB/s, ETA 50s" */
static void
progress_text(struct rcp_buf *b, const json_t *job)
{
	char x[32], y[32];
	const json_t *bt = json_object_get(job, "bytes_total");
	const json_t *ft = json_object_get(job, "files_total");
	const json_t *eta = json_object_get(job, "eta");
	double done = rcpctl_num(job, "bytes_done");
	const char *verb = kind_verb(job);

	if (verb != NULL) {
		entries_text(b, job, verb);
		return;
	}
	rcp_buf_addstr(b, rcp_fmt_bytes(x, sizeof(x), done));
	if (json_is_integer(bt)) {
		rcp_buf_addf(b, " of %s", rcp_fmt_bytes(y, sizeof(y),
		    rcpctl_num(job, "bytes_total")));
		if (rcpctl_num(job, "bytes_total") > 0)
			rcp_buf_addf(b, " (%.0f%%)", 100 * done /
			    rcpctl_num(job, "bytes_total"));
	}
	rcp_buf_addf(b, ", %.0f", rcpctl_num(job, "files_done"));
	if (json_is_integer(ft))
		rcp_buf_addf(b, " of %.0f", rcpctl_num(job, "files_total"));
	rcp_buf_addf(b, " files, %s/s", rcp_fmt_bytes(x, sizeof(x),
	    rcpctl_num(job, "rate")));
	if (json_is_number(eta) && strcmp(rcpctl_str(job, "state"),
	    "running") == 0)
		rcp_buf_addf(b, ", ETA %s", rcp_fmt_duration(y, sizeof(y),
		    (uint64_t)(json_number_value(eta) * 1e9)));
}

static void
print_time(const char *name, const json_t *job)
{
	const json_t *v = json_object_get(job, name);
	char buf[64];
	struct tm tm;
	time_t t;

	if (!json_is_number(v))
		return;
	t = (time_t)json_number_value(v);
	localtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	printf("%s: %s\n", name, buf);
}

/* The counters of --verify, for a job that verified anything. */
static void
print_verified(const json_t *job)
{
	const json_t *st = json_object_get(job, "stats");
	double files = rcpctl_num(st, "files_verified");
	double bytes = rcpctl_num(st, "bytes_verified");
	double bad = rcpctl_num(st, "verify_mismatches");
	char b[32];

	if (files == 0 && bytes == 0 && bad == 0)
		return;
	printf("verified: %.0f files, %s, %.0f mismatches\n", files,
	    rcp_fmt_bytes(b, sizeof(b), bytes), bad);
}

/*
 * Where the failed entries not shown are, in b (reset): the ledger, and
 * how many of them it holds when its cap left some out.  Returns b's text.
 */
static const char *
more_errors(struct rcp_buf *b, const json_t *job)
{
	const json_t *n = json_object_get(job, "ledger");

	rcp_buf_reset(b);
	rcp_buf_addf(b, "rcpctl files %.0f --errors lists ", rcpctl_num(job,
	    "id"));
	if (rcpctl_num(n, "errors_dropped") > 0)
		rcp_buf_addf(b, "%.0f of them: its ledger is full",
		    rcpctl_num(n, "errors"));
	else
		rcp_buf_addstr(b, "them all");
	return rcp_buf_str(b);
}

void
rcpctl_print_job(const json_t *job)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const json_t *a;
	size_t i;

	printf("job: %.0f\nkind: %s\nstate: %s\n", rcpctl_num(job, "id"),
	    rcp_ctl_str(job, "kind", "copy"), rcpctl_str(job, "state"));
	if (json_is_string(json_object_get(job, "label")))
		printf("label: %s\n", rcpctl_str(job, "label"));
	printf("priority: %.0f\nsources:", rcpctl_num(job, "priority"));
	a = json_object_get(job, "sources");
	for (i = 0; i < json_array_size(a); i++)
		printf(" %s", rcpctl_item(a, i));
	putchar('\n');
	if (json_is_string(json_object_get(job, "destination")))
		printf("destination: %s\n", rcpctl_str(job, "destination"));
	print_time("submitted", job);
	print_time("started", job);
	print_time("finished", job);
	progress_text(&b, job);
	printf("progress: %s\n", rcp_buf_str(&b));
	if (json_is_string(json_object_get(job, "error")))
		printf("error: %s\n", rcpctl_str(job, "error"));
	print_verified(job);
	printf("errors: %.0f\n", rcpctl_num(job, "errors_total"));
	a = json_object_get(job, "errors");
	for (i = 0; i < json_array_size(a); i++)
		printf("  %s\n", rcpctl_item(a, i));
	if (rcpctl_num(job, "errors_total") > (double)i)
		printf("  (%s)\n", more_errors(&b, job));
	a = json_object_get(job, "warnings");
	for (i = 0; i < json_array_size(a); i++)
		printf("warning: %s\n", rcpctl_item(a, i));
	rcp_buf_release(&b);
}

void
rcpctl_print_row(const json_t *job)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t n = json_array_size(json_object_get(job, "sources"));
	char more[32] = "";

	progress_text(&b, job);
	if (n > 1)	/* the row stays one line: the first path, and a count */
		snprintf(more, sizeof(more), " (+%zu more)", n - 1);
	printf("%-6.0f %-9s %5.0f %-12s %-5s %s%s%s%s  [%s]\n",
	    rcpctl_num(job, "id"), rcpctl_str(job, "state"),
	    rcpctl_num(job, "priority"), rcpctl_str(job, "label"),
	    rcp_ctl_str(job, "kind", "copy"),
	    rcpctl_item(json_object_get(job, "sources"), 0), more,
	    json_is_string(json_object_get(job, "destination")) ? " -> " : "",
	    json_is_string(json_object_get(job, "destination")) ?
	    rcpctl_str(job, "destination") : "", rcp_buf_str(&b));
	rcp_buf_release(&b);
}

/* One line about how a job ended, on fp; returns its exit code. */
int
rcpctl_job_ended(const json_t *job, bool json, FILE *fp)
{
	int state = rcp_ctl_state_parse(rcpctl_str(job, "state"));
	const json_t *errors;
	char d[32];
	double secs;
	size_t i;

	if (json) {
		rcpctl_print_json(job);
	} else {
		secs = rcpctl_num(job, "finished") - rcpctl_num(job, "started");
		rcp_fmt_duration(d + 16, sizeof(d) - 16, secs > 0 ?
		    (uint64_t)(secs * 1e9) : 0);
		if (kind_verb(job) != NULL)
			fprintf(fp, "job %.0f %s: %.0f entries %s in %s",
			    rcpctl_num(job, "id"), rcpctl_str(job, "state"),
			    rcpctl_num(job, "entries_done"), kind_verb(job),
			    d + 16);
		else
			fprintf(fp, "job %.0f %s: %.0f files, %s in %s",
			    rcpctl_num(job, "id"), rcpctl_str(job, "state"),
			    rcpctl_num(job, "files_done"),
			    rcp_fmt_bytes(d, 16, rcpctl_num(job, "bytes_done")),
			    d + 16);
		if (rcpctl_num(job, "errors_total") > 0)
			fprintf(fp, ", %.0f errors",
			    rcpctl_num(job, "errors_total"));
		if (json_is_string(json_object_get(job, "error")))
			fprintf(fp, ": %s", rcpctl_str(job, "error"));
		fputc('\n', fp);
		errors = json_object_get(job, "errors");
		for (i = 0; i < json_array_size(errors) &&
		    i < RCPCTL_SHOW_ERRORS; i++)
			fprintf(fp, "  error: %s\n",
			    rcpctl_item(errors, i));
		if (rcpctl_num(job, "errors_total") > (double)i && i > 0) {
			struct rcp_buf b = RCP_BUF_INIT;
			fprintf(fp, "  (%s)\n", more_errors(&b, job));
			rcp_buf_release(&b);
		}
		errors = json_object_get(job, "warnings");
		for (i = 0; i < json_array_size(errors) &&
		    i < RCPCTL_SHOW_ERRORS; i++)
			fprintf(fp, "  warning: %s\n",
			    rcpctl_item(errors, i));
		fflush(fp);
	}
	return state < 0 ? RCP_CTL_EXIT_FAILED : rcp_ctl_state_exit(state);
}

void
rcpctl_show_progress(const json_t *job, bool bar, FILE *fp)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int cols = rcp_term_cols(STDERR_FILENO);

	rcp_buf_addf(&b, "job %.0f %s: ", rcpctl_num(job, "id"),
	    rcpctl_str(job, "state"));
	progress_text(&b, job);
	if (bar) {
		if (b.len >= (size_t)cols)
			b.data[cols - 1] = '\0';
		fprintf(stderr, "\r\033[K%s", b.data);
		fflush(stderr);
	} else {
		fprintf(fp, "%s\n", b.data);
		fflush(fp);
	}
	rcp_buf_release(&b);
}
