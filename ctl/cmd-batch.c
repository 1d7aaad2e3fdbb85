/*
 * cmd-batch.c: rcpctl batch: one copy per line of a file (or, a line
 * starting with rm, link or chmod, a job of that kind), sent in chunks
 * of batch requests; with --wait, the exit code of the first job that did
 * not succeed.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "ctl/client.h"
#include "ctl/help.h"
#include "ctl/rcpctl.h"
#include "ctl/reply.h"
#include "ctl/show.h"
#include "ctl/sigcancel.h"
#include "ctl/submitopts.h"

#include "base/banned.h"

/* Jobs of a batch sent in one request, and bytes of one request. */
#define BATCH_CHUNK	500
#define BATCH_BYTES	(RCP_CTL_MAX_LINE / 2)
/* A batch file line longer than this is a mistake. */
#define BATCH_LINE_MAX	(64u << 10)

/*
 * Splits a batch file line into words: blanks separate, '...' is literal,
 * "..." allows \" and \\, a backslash escapes one character, and '#'
 * starting a word begins a comment.  Returns the number of words (in a
 * new array in *out, each word owned), or -1 for an unterminated quote.
 */
static int
split_words(const char *line, char ***out)
{
	struct rcp_buf w = RCP_BUF_INIT;
	char **v = NULL, q = 0;
	int n = 0;
	bool in = false;

	for (;; line++) {
		char ch = *line;
		if (q == 0 && (ch == '\0' || ch == ' ' || ch == '\t' ||
		    ch == '\n' || ch == '\r' || (ch == '#' && !in))) {
			if (in) {
				v = rcp_xrealloc(v, (size_t)(n + 2) *
				    sizeof(char *));
				v[n++] = rcp_buf_detach(&w);
				v[n] = NULL;
				in = false;
			}
			if (ch == '\0' || ch == '#')
				break;
			continue;
		}
		if (ch == '\0') {
			rcp_buf_release(&w);
			while (n > 0)
				free(v[--n]);
			free(v);
			return -1;
		}
		in = true;
		if (q == 0 && (ch == '\'' || ch == '"'))
			q = ch;
		else if (q != 0 && ch == q)
			q = 0;
		else if (ch == '\\' && q != '\'' && line[1] != '\0')
			rcp_buf_addch(&w, *++line);
		else
			rcp_buf_addch(&w, ch);
	}
	rcp_buf_release(&w);
	*out = v;
	return n;
}

/* The kind a line's first word names (submitopts.h), or -1: a copy. */
static int
line_kind(const char *w)
{
	if (strcmp(w, "rm") == 0)
		return RCPCTL_KIND_RM;
	if (strcmp(w, "link") == 0)
		return RCPCTL_KIND_LINK;
	if (strcmp(w, "chmod") == 0)
		return RCPCTL_KIND_CHMOD;
	return -1;
}

/* Appends a line's request to jobs if it parsed (r < 0), else says where. */
static void
batch_add(json_t *jobs, json_t *req, int r, const char *path, size_t lineno)
{
	if (r >= 0) {
		fprintf(stderr, "rcpctl: in %s line %zu\n", path, lineno);
		json_decref(req);
	} else {
		json_array_append_new(jobs, req);
	}
}

/* Reads FILE into submit objects appended to jobs.  Returns -1 or a code. */
static int
read_batch(struct rcpctl *x, const char *path, json_t *jobs)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "re");
	char *line = NULL, **words, *argv0 = rcp_xstrdup("batch");
	size_t cap = 0, lineno = 0, njob = 0;
	struct rcpctl lx;
	json_t *req;
	ssize_t len;
	int n, i, kind, r = -1;

	if (fp == NULL) {
		free(argv0);
		return rcpctl_bad_usage("cannot open '%s': %s", path,
		    strerror(errno));
	}
	while (r < 0 && (len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if ((size_t)len > BATCH_LINE_MAX) {
			r = rcpctl_bad_usage("%s:%zu: line too long", path,
			    lineno);
			break;
		}
		if ((n = split_words(line, &words)) < 0) {
			r = rcpctl_bad_usage("%s:%zu: unterminated quote",
			    path, lineno);
			break;
		}
		if (n == 0)
			continue;
		/* --shard K/N: the jobs K, K+N, K+2N... of the file. */
		if (x->shard_n != 0 && njob++ % x->shard_n != x->shard_k) {
			for (i = 0; i < n; i++)
				free(words[i]);
			free(words);
			continue;
		}
		/* "rm ...", "link ...", "chmod ...": a job of that kind. */
		if ((kind = line_kind(words[0])) >= 0) {
			lx = *x;
			r = rcpctl_parse_suite(&lx, kind, n, words, &req);
			batch_add(jobs, req, r, path, lineno);
			for (i = 0; i < n; i++)
				free(words[i]);
			free(words);
			continue;
		}
		words = rcp_xrealloc(words, (size_t)(n + 2) * sizeof(char *));
		memmove(words + 1, words, (size_t)(n + 1) * sizeof(char *));
		words[0] = argv0;
		/* The batch's --priority and --label are defaults. */
		lx = *x;
		r = rcpctl_parse_submit(&lx, n + 1, words, &req);
		batch_add(jobs, req, r, path, lineno);
		for (i = 1; i <= n; i++)
			free(words[i]);
		free(words);
	}
	free(line);
	free(argv0);
	if (fp != stdin)
		fclose(fp);
	return r;
}

/*
 * Sends the submit objects of jobs in batch requests of up to BATCH_CHUNK
 * jobs and about BATCH_BYTES; appends the items of the replies to all.
 * Returns the exit code.
 */
static int
send_jobs(struct rcpctl *x, json_t *jobs, json_t *all)
{
	json_t *req, *chunk, *res;
	size_t i, bytes;
	char *s;
	int r = 0;

	for (i = 0; r == 0 && i < json_array_size(jobs);) {
		chunk = json_array();
		for (bytes = 0; i < json_array_size(jobs) &&
		    json_array_size(chunk) < BATCH_CHUNK && bytes < BATCH_BYTES;
		    i++) {
			json_object_del(json_array_get(jobs, i), "id");
			json_object_del(json_array_get(jobs, i), "method");
			s = json_dumps(json_array_get(jobs, i), JSON_COMPACT);
			bytes += s != NULL ? strlen(s) : 0;
			free(s);
			json_array_append(chunk, json_array_get(jobs, i));
		}
		req = rcp_ctl_request(0, "batch");
		json_object_set_new(req, "jobs", chunk);
		if ((r = rcpctl_call(x, req, RCPCTL_CALL_TIMEOUT_MS,
		    &res)) != 0)
			break;
		if ((r = rcpctl_reply_jobs(res, "jobs", "job", NULL)) == 0)
			json_array_extend(all, json_object_get(res, "jobs"));
		json_decref(res);
	}
	return r;
}

static int
cmd_batch(struct rcpctl *x, int argc, char **argv)
{
	json_t *jobs = json_array(), *all = json_array();
	size_t i;
	int r = -1, ch, worst = RCP_CTL_EXIT_OK;

	optind = 0;
	opterr = 0;
	while (r < 0 && (ch = getopt_long(argc, argv, ":h",
	    rcpctl_submit_own_opts, NULL)) != -1) {
		if (ch == 'h') {
			rcpctl_usage(stdout);
			r = RCP_CTL_EXIT_OK;
		} else if (ch == ':' || ch == '?')
			r = rcp_usage_getopt("rcpctl", RCP_CTL_EXIT_USAGE, ch,
			    argv);
		else if (ch == RCPCTL_OPT_KEY)
			r = rcpctl_bad_usage("batch: bad option '%s'",
			    argv[optind - 1]);
		else
			r = rcpctl_submit_own_option(x, ch, optarg);
	}
	if (r < 0 && argc - optind != 1)
		r = rcpctl_bad_usage("%s", "batch: one FILE expected");
	if (r < 0)
		r = read_batch(x, argv[optind], jobs);
	if (r < 0 && json_array_size(jobs) == 0 && x->shard_n != 0)
		r = RCP_CTL_EXIT_OK;	/* more shards than lines: nothing here */
	else if (r < 0 && json_array_size(jobs) == 0)
		r = rcpctl_bad_usage("%s", "batch: no job in the file");
	if (r >= 0)
		goto out;
	if ((r = rcpctl_connect(x)) == 0 && x->wait)
		r = rcpctl_sigcancel_start(x);
	if (r == 0)
		r = send_jobs(x, jobs, all);
	for (i = 0; r == 0 && i < json_array_size(all); i++) {
		json_t *job = json_object_get(json_array_get(all, i), "job");
		if (x->json && !x->wait)
			rcpctl_print_json(job);
		else if (!x->json)
			printf("job %.0f\n", rcpctl_num(job, "id"));
		if (x->wait)
			rcpctl_sigcancel_add(json_integer_value(
			    json_object_get(job, "id")));
	}
	fflush(stdout);
	for (i = 0; r == 0 && x->wait && i < json_array_size(all); i++) {
		ch = rcpctl_wait_job(x, json_integer_value(json_object_get(
		    json_object_get(json_array_get(all, i), "job"), "id")),
		    stderr);
		if (ch == RCP_CTL_EXIT_UNREACHABLE ||
		    ch == RCP_CTL_EXIT_TIMEOUT)
			r = ch;
		else if (worst == RCP_CTL_EXIT_OK)
			worst = ch;
	}
	if (r == 0)
		r = worst;
out:
	json_decref(jobs);
	json_decref(all);
	return r;
}

const struct rcpctl_cmd rcpctl_cmd_batch = { "batch", cmd_batch };
