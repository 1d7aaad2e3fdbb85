/*
 * fuzz-jobspec.c: what a job's process reads on its SPEC_FD
 * (workers/runner-child.c): JSON lines, each read as a user's host reads
 * its commands ("t", "j") and as a job (runner_spec_parse, then its
 * options through runner_job_opts, or for a job of rrm, rlink or rchm
 * through rcp_job_suite_options).  A job that parses must come back the
 * same through runner_spec_json, the master's side.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "opts/cliopts.h"
#include "workers/job.h"
#include "workers/runner.h"
#include "workers/runner-int.h"
#include "fuzz.h"

static bool
same_job(const struct runner_job *a, const struct runner_job *b)
{
	size_t i;

	if (a->kind != b->kind || a->nsrcs != b->nsrcs ||
	    (a->dst == NULL) != (b->dst == NULL) ||
	    (a->dst != NULL && strcmp(a->dst, b->dst) != 0) ||
	    (a->cwd == NULL) != (b->cwd == NULL) ||
	    (a->cwd != NULL && strcmp(a->cwd, b->cwd) != 0) ||
	    a->noptions != b->noptions || a->umask != b->umask ||
	    a->restart != b->restart)
		return false;
	for (i = 0; i < a->nsrcs; i++)
		if (strcmp(a->srcs[i], b->srcs[i]) != 0)
			return false;
	for (i = 0; i < a->noptions; i++)
		if (strcmp(a->options[i], b->options[i]) != 0)
			return false;
	return true;
}

/* The job as the master would send it, read back. */
static void
roundtrip(const struct runner_job *j)
{
	struct rcp_runner_spec spec;
	struct runner_job j2;
	struct rcp_buf b = RCP_BUF_INIT;
	json_t *o, *back;
	char *why = NULL, **opts;
	size_t i;

	/* The master's side holds writable copies (argv). */
	opts = rcp_xcalloc(j->noptions + 1, sizeof(*opts));
	for (i = 0; i < j->noptions; i++)
		opts[i] = rcp_xstrdup(j->options[i]);
	memset(&spec, 0, sizeof(spec));
	spec.kind = j->kind;
	spec.srcs = (const char *const *)j->srcs;
	spec.nsrcs = j->nsrcs;
	spec.dst = j->dst;
	spec.options = opts;
	spec.noptions = j->noptions;
	spec.cwd = j->cwd;
	spec.umask = j->umask;
	spec.restart = j->restart;
	o = runner_spec_json(&spec);
	rcp_ctl_encode(&b, o);
	json_decref(o);
	if (rcp_ctl_decode(b.data, b.len - 1, &back, &why) != 0 ||
	    runner_spec_parse(back, &j2, &why) != 0 || !same_job(j, &j2))
		abort();
	runner_job_release(&j2);
	json_decref(back);
	rcp_buf_release(&b);
	for (i = 0; i < j->noptions; i++)
		free(opts[i]);
	free(opts);
}

static void
one(const json_t *m)
{
	struct rcp_job_suiteopts so;
	struct runner_job j;
	struct rcp_cliopts co;
	char *why = NULL;

	/* A user's host's commands. */
	(void)rcp_ctl_str(m, "t", NULL);
	(void)rcp_ctl_int(m, "j");
	(void)rcp_ctl_int(m, "parent");
	if (runner_spec_parse(m, &j, &why) != 0) {
		if (why == NULL)
			abort();	/* an error always says why */
		free(why);
		runner_job_release(&j);
		return;
	}
	roundtrip(&j);
	if (j.kind != RCP_JOB_COPY) {
		if (rcp_job_suite_options(j.kind, j.options, j.noptions, &so,
		    &why) != 0) {
			if (why == NULL)
				abort();
			free(why);
		}
		rcp_job_suiteopts_release(&so);
		runner_job_release(&j);
		return;
	}
	rcp_cliopts_init(&co);
	if (runner_job_opts(&j, &co, &why) != 0)
		free(why);
	rcp_cliopts_release(&co);
	runner_job_release(&j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcp_ctl_reader in;
	char *line, *why = NULL;
	size_t len;
	json_t *m;
	int got;

	/* A small cap, so that oversized lines are dropped too. */
	rcp_ctl_reader_init(&in, 16384);
	rcp_ctl_reader_feed(&in, data, size);
	while ((got = rcp_ctl_reader_next(&in, &line, &len)) != 0) {
		if (got != 1)
			continue;
		if (rcp_ctl_decode(line, len, &m, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		one(m);
		json_decref(m);
	}
	rcp_ctl_reader_release(&in);
	return 0;
}
