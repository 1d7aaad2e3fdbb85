/*
 * main-rchm.c: the rchm command, a parallel chmod and chown.  Parses the
 * options, runs its engine (engine/chm.h) in-process, progress on stderr,
 * logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/suitemain.h"
#include "engine/chm.h"

#include "base/banned.h"

static void
usage(FILE *fp)
{
	fputs(
"usage: rchm [OPTIONS] --mode M|--owner U|--group G PATH...\n"
"\n"
"Changes the mode, owner or group of each PATH and everything below it,\n"
"with many threads.  Symlinks are never followed.\n"
"\n"
"What to change (items separated by blanks, each optionally for one type:\n"
"f: files, d: directories, l: symlinks; e.g. 'f:g+rw d:g+rwxs'):\n"
"      --mode M                octal (640) or symbolic (u=rwx,g+rX,o-w), as\n"
"                              chmod; without a type, files and directories\n"
"      --owner U               a user name or uid; without a type, files,\n"
"                              directories and symlinks (lchown), as chown -R\n"
"      --group G               a group name or gid, likewise\n"
"      --defer-dir-changes     change a directory after its contents (default:\n"
"                              before, as chmod -R)\n"
"      --no-setid              files never keep or gain setuid or setgid\n"
"\n", fp);
	rcp_suiteopts_help(fp, RCP_TOOL_RCHM);
}

static void
eng_progress(void *eng, struct rcp_buf *b, uint64_t elapsed_ns)
{
	struct rcp_walk_stats s;

	rcp_chm_stats(eng, &s);
	rcp_walk_progress_text(b, &s, "changed", elapsed_ns);
}

static void
eng_summary(void *eng, struct rcp_buf *b, uint64_t start_ns)
{
	struct rcp_walk_stats s;

	rcp_chm_stats(eng, &s);
	rcp_walk_summary(b, &s, "changed", rcp_now_ns() - start_ns,
	    rcp_cpu_ns(), rcp_peak_rss());
}

static uint64_t
eng_errors(void *eng)
{
	struct rcp_walk_stats s;

	rcp_chm_stats(eng, &s);
	return s.errors;
}

static void
eng_cancel(void *eng)
{
	rcp_chm_cancel(eng);
}

int
main(int argc, char **argv)
{
	struct rcp_suiteopts s;
	struct rcp_chm_opts co;
	struct suite_engine e;
	struct suite_ui ui;
	struct rcp_chm *chm = NULL;
	char *cause = NULL;
	int code, first, r;

	rcp_suiteopts_init(&s, RCP_TOOL_RCHM);
	if ((code = suite_parse(&s, "rchm", argc, argv, usage, &first)) >= 0)
		goto out;
	if (first >= argc) {
		code = rcp_usage_error("rchm", SUITE_EXIT_USAGE, "missing path");
		goto out;
	}
	rcp_suiteopts_walk(&s, &co.walk);
	co.mode = s.mode;
	co.owner = s.owner;
	co.group = s.group;
	co.defer_dir_changes = s.defer_dir_changes;
	co.no_setid = s.no_setid;
	co.umask = s.cl.o.umask;
	co.modified_before_ns = s.modified_before_ns;
	co.created_before_ns = s.created_before_ns;
	rcp_raise_nofile();
	suite_ui_init(&ui, "rchm", &s);
	if (rcp_chm_new(&co, &ui.log, &chm, &cause) != 0) {
		code = rcp_usage_error("rchm", SUITE_EXIT_USAGE, "%s", cause);
		free(cause);
		suite_ui_release(&ui);
		goto out;
	}
	e.eng = chm;
	e.progress = eng_progress;
	e.summary = eng_summary;
	e.errors = eng_errors;
	e.cancel = eng_cancel;
	suite_ui_start(&ui, &e);
	r = rcp_chm_run(chm, (const char *const *)argv + first,
	    (size_t)(argc - first));
	code = suite_ui_finish(&ui, &s, r, NULL);
	rcp_chm_free(chm);
	suite_ui_release(&ui);
out:
	rcp_suiteopts_release(&s);
	return code;
}
