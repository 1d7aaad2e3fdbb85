/*
 * main-rrm.c: the rrm command, a parallel recursive remove.  Parses the
 * options, runs the remove engine (engine/rm.h) in-process, progress on
 * stderr, logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/suitemain.h"
#include "engine/rm.h"

#include "base/banned.h"

static void
usage(FILE *fp)
{
	fputs(
"usage: rrm [OPTIONS] PATH...\n"
"\n"
"Removes each PATH and everything below it, with many threads.  Symlinks\n"
"are removed, never followed; nothing outside PATH is ever removed, even if\n"
"the tree changes under rrm.  A directory is removed once it is empty and\n"
"only if nothing below it was kept (filtered out, too new, or failed).\n"
"\n", fp);
	rcp_suiteopts_help(fp, RCP_TOOL_RRM);
}

static void
eng_progress(void *eng, struct rcp_buf *b, uint64_t elapsed_ns)
{
	struct rcp_walk_stats s;

	rcp_rm_stats(eng, &s);
	rcp_walk_progress_text(b, &s, "removed", elapsed_ns);
}

static void
eng_summary(void *eng, struct rcp_buf *b, uint64_t start_ns)
{
	struct rcp_walk_stats s;

	rcp_rm_stats(eng, &s);
	rcp_walk_summary(b, &s, "removed", rcp_now_ns() - start_ns,
	    rcp_cpu_ns(), rcp_peak_rss());
}

static uint64_t
eng_errors(void *eng)
{
	struct rcp_walk_stats s;

	rcp_rm_stats(eng, &s);
	return s.errors;
}

static void
eng_cancel(void *eng)
{
	rcp_rm_cancel(eng);
}

int
main(int argc, char **argv)
{
	struct rcp_suiteopts s;
	struct rcp_rm_opts ro;
	struct suite_engine e;
	struct suite_ui ui;
	struct rcp_rm *rm;
	int code, first, r;

	rcp_suiteopts_init(&s, RCP_TOOL_RRM);
	if ((code = suite_parse(&s, "rrm", argc, argv, usage, &first)) >= 0)
		goto out;
	if (first >= argc) {
		code = rcp_usage_error("rrm", SUITE_EXIT_USAGE, "missing path");
		goto out;
	}
	rcp_raise_nofile();
	suite_ui_init(&ui, "rrm", &s);
	rcp_suiteopts_walk(&s, &ro.walk);
	ro.modified_before_ns = s.modified_before_ns;
	ro.created_before_ns = s.created_before_ns;
	rm = rcp_rm_new(&ro, &ui.log);
	e.eng = rm;
	e.progress = eng_progress;
	e.summary = eng_summary;
	e.errors = eng_errors;
	e.cancel = eng_cancel;
	suite_ui_start(&ui, &e);
	r = rcp_rm_run(rm, (const char *const *)argv + first,
	    (size_t)(argc - first));
	code = suite_ui_finish(&ui, &s, r, NULL);
	rcp_rm_free(rm);
	suite_ui_release(&ui);
out:
	rcp_suiteopts_release(&s);
	return code;
}
