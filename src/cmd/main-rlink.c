/*
 * main-rlink.c: the rlink command, a hard-linked copy of a tree.  Parses
 * the options, runs its engine (engine/link.h) in-process, progress on
 * stderr, logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/suitemain.h"
#include "engine/link.h"
#include "engine/progress.h"

#include "base/banned.h"

static void
usage(FILE *fp)
{
	fputs(
"usage: rlink [OPTIONS] SRC DST\n"
"       rlink [OPTIONS] --update NEW SRC DST\n"
"\n"
"Makes DST a copy of the tree SRC whose regular files are hard links to\n"
"SRC's (as cp -al); directories, symlinks and special files are created.\n"
"DST without a trailing '/' is the final name; with one, SRC goes into it.\n"
"With --update NEW, DST is NEW's tree: a file of NEW equal to SRC's by\n"
"--update-compare is linked from SRC, any other is copied from NEW, and\n"
"SRC's entries that NEW lacks are linked too (rsync --link-dest).\n"
"\n"
"Update:\n"
"      --update NEW            the new state of the tree, laid over SRC\n"
"      --update-compare L      attributes that make a file of NEW equal to\n"
"                              SRC's (default size,mtime; as --overwrite-compare)\n"
"      --update-exclusive      only NEW's entries: SRC's others are not linked\n"
"      --allow-lossy-update    compare attributes --preserve-settings does not\n"
"                              keep (otherwise refused)\n"
"  -o, --overwrite             replace DST entries that differ; merge directories\n"
"      --overwrite-compare L   attributes that decide 'unchanged' in DST\n"
"      --delete                remove DST entries the source lacks\n"
"      --delete-excluded       with --delete, remove excluded entries too\n"
"      --skip-specials         skip FIFOs, sockets and devices\n"
"      --preserve-settings S   what directories, symlinks and copied files keep\n"
"                              (default all: owner, group, times, mode, ACLs,\n"
"                              xattrs)\n"
"\n", fp);
	rcp_suiteopts_help(fp, RCP_TOOL_RLINK);
}

static void
eng_progress(void *eng, struct rcp_buf *b, uint64_t elapsed_ns)
{
	struct rcp_copy_stats s;

	rcp_link_stats(eng, &s);
	rcp_progress_text(b, &s, elapsed_ns, 0);
}

static void
eng_summary(void *eng, struct rcp_buf *b, uint64_t start_ns)
{
	struct rcp_copy_stats s;
	struct rcp_runstats rs;

	rcp_link_stats(eng, &s);
	rcp_runstats_now(&rs, start_ns);
	rcp_progress_summary(b, &s, &rs);
}

static uint64_t
eng_errors(void *eng)
{
	struct rcp_copy_stats s;

	rcp_link_stats(eng, &s);
	return s.errors;
}

static void
eng_cancel(void *eng)
{
	rcp_link_cancel(eng);
}

int
main(int argc, char **argv)
{
	struct rcp_suiteopts s;
	struct rcp_link_opts lo;
	struct suite_engine e;
	struct suite_ui ui;
	struct rcp_link *l;
	char *cause = NULL;
	int code, first, r;

	rcp_suiteopts_init(&s, RCP_TOOL_RLINK);
	if ((code = suite_parse(&s, "rlink", argc, argv, usage, &first)) >= 0)
		goto out;
	if (argc - first != 2) {
		code = rcp_usage_error("rlink", SUITE_EXIT_USAGE, "%s",
		    argc - first < 2 ? "missing source or destination" :
		    "one source and one destination");
		goto out;
	}
	lo.copy = s.cl.o;
	lo.update = s.update;
	lo.update_compare = s.update_compare;
	lo.update_exclusive = s.update_exclusive;
	lo.allow_lossy = s.allow_lossy_update;
	if (rcp_link_check(&lo, &cause) != 0) {
		code = rcp_usage_error("rlink", SUITE_EXIT_USAGE, "%s", cause);
		free(cause);
		goto out;
	}
	if (lo.copy.max_open_files == 0)
		lo.copy.max_open_files = (int)((long long)rcp_raise_nofile() *
		    8 / 10);
	else
		rcp_raise_nofile();
	suite_ui_init(&ui, "rlink", &s);
	l = rcp_link_new(&lo, &ui.log);
	e.eng = l;
	e.progress = eng_progress;
	e.summary = eng_summary;
	e.errors = eng_errors;
	e.cancel = eng_cancel;
	suite_ui_start(&ui, &e);
	r = rcp_link_run(l, argv[first], argv[first + 1], &cause);
	code = suite_ui_finish(&ui, &s, r, cause);
	free(cause);
	rcp_link_free(l);
	suite_ui_release(&ui);
out:
	rcp_suiteopts_release(&s);
	return code;
}
