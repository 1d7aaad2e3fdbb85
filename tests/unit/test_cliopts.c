/*
 * test_cliopts.c: rcp's option parser as a library: the options a job
 * carries, errors naming the option, deferred filter files, and parsing
 * from several threads at once (getopt's globals are behind a lock).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/filter.h"
#include "opts/cliopts.h"
#include "opts/hostgroups.h"
#include "opts/remoteopts.h"
#include "opts/suiteopts.h"
#include "unit.h"

#include "base/banned.h"

/* Parses a NULL-terminated list of options (argv[0] is added). */
static int
parse(struct rcp_cliopts *c, int flags, const char *base, char **cause,
    const char *const *opts)
{
	char *argv[32];
	int argc = 0, first, r, i;

	argv[argc++] = rcp_xstrdup("rcp");
	while (*opts != NULL && argc < 31)
		argv[argc++] = rcp_xstrdup(*opts++);
	argv[argc] = NULL;
	rcp_cliopts_init(c);
	r = rcp_cliopts_parse(c, argc, argv, flags, base, &first, cause);
	for (i = 0; i < argc; i++)
		free(argv[i]);
	return r;
}

static void
test_options(void)
{
	static const char *const opts[] = { "-p", "--exclude", "*.o", "-o",
	    "--max-workers=3", "--chunk-size", "1M", "--dry-run", "brief",
	    NULL };
	struct rcp_cliopts c;
	char *cause = NULL;

	CU_ASSERT_EQUAL(parse(&c, RCP_CLIOPTS_ONLY_OPTIONS, NULL, &cause,
	    opts), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_TRUE(c.o.overwrite);
	CU_ASSERT_TRUE(c.o.preserve.f.uid);
	CU_ASSERT_EQUAL(c.o.max_workers, 3);
	CU_ASSERT_EQUAL(c.o.chunk_size, 1u << 20);
	CU_ASSERT_EQUAL(c.o.dry_run, RCP_DRY_BRIEF);
	CU_ASSERT_PTR_NOT_NULL(c.o.filter);
	CU_ASSERT_EQUAL(rcp_filter_count(c.filter), 1);
	rcp_cliopts_release(&c);
}

static void
expect_error(int flags, const char *want, const char *const *opts)
{
	struct rcp_cliopts c;
	char *cause = NULL;

	CU_ASSERT_EQUAL(parse(&c, flags, NULL, &cause, opts), RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, want) == NULL)
		fprintf(stderr, "\n  got '%s', expected '%s'\n", cause, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, want));
	free(cause);
	rcp_cliopts_release(&c);
}

static void
test_errors(void)
{
	static const char *const bogus[] = { "--bogus", NULL };
	static const char *const shortopt[] = { "-Z", NULL };
	static const char *const noval[] = { "--include", NULL };
	static const char *const operand[] = { "-p", "stray", NULL };
	static const char *const help[] = { "--help", NULL };
	static const char *const workers[] = { "--max-workers", "x", NULL };
	static const char *const combo[] = { "-o", "--ignore-existing", NULL };
	static const char *const dexcl[] = { "--delete-excluded", NULL };
	static const char *const cmp[] = { "--overwrite-compare", "size,x",
	    NULL };

	expect_error(0, "unknown option '--bogus'", bogus);
	expect_error(0, "unknown option '-Z'", shortopt);
	expect_error(0, "option '--include' needs a value", noval);
	expect_error(RCP_CLIOPTS_ONLY_OPTIONS, "unexpected argument 'stray'",
	    operand);
	expect_error(RCP_CLIOPTS_ONLY_OPTIONS, "'--help' is not a copy option",
	    help);
	expect_error(0, "--max-workers: 'x'", workers);
	expect_error(0, "cannot be combined", combo);
	expect_error(0, "--delete-excluded needs --delete", dexcl);
	expect_error(0, "--overwrite-compare:", cmp);
}

static void
test_filter_files(void)
{
	char *dir = unit_tmpdir("cliopts"), *path, *cause = NULL;
	static const char *const rel[] = { "--filter-file", "rules", NULL };
	static const char *const missing[] = { "--filter-file", "/nonexistent/x",
	    NULL };
	struct rcp_cliopts c;

	path = rcp_path_join(dir, "rules");
	unit_write_file(path, "- *.tmp\n+ keep/\n", 16);

	/* Deferred: only the path, made absolute against base. */
	CU_ASSERT_EQUAL(parse(&c, RCP_CLIOPTS_DEFER_FILES, dir, &cause, rel), 0);
	CU_ASSERT_EQUAL_FATAL(c.nfilter_files, 1);
	CU_ASSERT_STRING_EQUAL(c.filter_files[0], path);
	CU_ASSERT_PTR_NULL(c.o.filter);
	CU_ASSERT_EQUAL(rcp_cliopts_load_files(&c, &cause), 0);
	CU_ASSERT_EQUAL(rcp_filter_count(c.filter), 2);
	CU_ASSERT_PTR_EQUAL(c.o.filter, c.filter);
	rcp_cliopts_release(&c);

	/* Read at once: a missing file is a usage error naming it. */
	CU_ASSERT_EQUAL(parse(&c, 0, dir, &cause, missing), RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ?
	    strstr(cause, "--filter-file: cannot open filter file") : NULL);
	free(cause);
	rcp_cliopts_release(&c);
	cause = NULL;
	CU_ASSERT_EQUAL(parse(&c, RCP_CLIOPTS_DEFER_FILES, NULL, &cause,
	    missing), 0);
	CU_ASSERT_EQUAL(rcp_cliopts_load_files(&c, &cause), RCP_ERR_INVAL);
	free(cause);
	rcp_cliopts_release(&c);

	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_names(void)
{
	size_t n, i, j;
	const struct option *t = rcp_cliopts_longopts(&n);

	CU_ASSERT_TRUE(n >= 25);
	CU_ASSERT_PTR_NULL(t[n].name);
	/* An option with two names is named by the first. */
	for (i = 0; i < n; i++) {
		for (j = 0; t[j].val != t[i].val; j++)
			;
		CU_ASSERT_STRING_EQUAL(rcp_cliopts_name(t[i].val), t[j].name);
		if (strcmp(t[i].name, "stall-timeout-sec") == 0)
			CU_ASSERT_STRING_EQUAL(rcp_cliopts_name(t[i].val),
			    "stall-timeout");
	}
	CU_ASSERT_STRING_EQUAL(rcp_cliopts_name('o'), "overwrite");
	CU_ASSERT_PTR_NULL(rcp_cliopts_name(9999));
}

static void *
parse_many(void *arg)
{
	static const char *const good[] = { "-p", "--exclude", "*.o",
	    "--max-workers", "7", NULL };
	static const char *const bad[] = { "--chunk-size", "1", NULL };
	struct rcp_cliopts c;
	char *cause = NULL;
	long fails = 0;
	int i;

	for (i = 0; i < 500; i++) {
		if (parse(&c, RCP_CLIOPTS_ONLY_OPTIONS, NULL, &cause, good) != 0 ||
		    c.o.max_workers != 7)
			fails++;
		rcp_cliopts_release(&c);
		if (parse(&c, RCP_CLIOPTS_ONLY_OPTIONS, NULL, &cause, bad) !=
		    RCP_ERR_INVAL)
			fails++;
		free(cause);
		cause = NULL;
		rcp_cliopts_release(&c);
	}
	*(long *)arg = fails;
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[4];
	long fails[4];
	int i;

	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, parse_many,
		    &fails[i]), 0);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(fails[i], 0);
	}
}

static void
test_duration(void)
{
	uint64_t ns;

	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("500ms", &ns), 0);
	CU_ASSERT_EQUAL(ns, 500000000u);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("2m", &ns), 0);
	CU_ASSERT_EQUAL(ns, 120000000000u);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("1.5", &ns), 0);
	CU_ASSERT_EQUAL(ns, 1500000000u);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("-1", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("3h", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("nan", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("inf", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_duration("7d", true, 3650.0 * 86400, &ns), 0);
	CU_ASSERT_EQUAL(ns, 7ull * 86400 * 1000000000u);
	CU_ASSERT_EQUAL(rcp_parse_duration("nan", true, 1e9, &ns),
	    RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_cliopts_parse_duration("90000", &ns),
	    RCP_ERR_INVAL);
}

/* Parses argv (NULL-terminated) for tool; returns the result, *first and
 * s for the caller to check and release. */
static int
suite_parse(struct rcp_suiteopts *s, int tool, char **argv, int *first)
{
	char *cause = NULL;
	int argc = 0, r;

	while (argv[argc] != NULL)
		argc++;
	rcp_suiteopts_init(s, tool);
	r = rcp_suiteopts_parse(s, argc, argv, first, &cause);
	CU_ASSERT((r == 0) == (cause == NULL));
	free(cause);
	return r;
}

/* The suite tools take rcp's shared options as rcp means them, their own,
 * and no option of rcp's they have not. */
static void
test_suiteopts(void)
{
	char *rrm[] = { "rrm", "-e", "--max-workers", "3", "--exclude", "*.k",
	    "--modified-before", "2d", "--dry-run", "explain", "-vv", "p",
	    NULL };
	char *rrm_bad[] = { "rrm", "--overwrite", "p", NULL };
	char *rrm_mode[] = { "rrm", "--mode", "600", "p", NULL };
	char *chm_none[] = { "rchm", "p", NULL };
	char *chm[] = { "rchm", "--mode", "f:g+rw d:g+rwxs", "--owner", "0",
	    "--defer-dir-changes", "--no-setid", "p", "q", NULL };
	char *lnk[] = { "rlink", "-o", "--update", "new",
	    "--update-compare", "size", "--update-exclusive", "a", "b", NULL };
	char *lnk_excl[] = { "rlink", "--update-exclusive", "a", "b", NULL };
	char *lnk_age[] = { "rlink", "--created-before", "1d", "a", "b", NULL };
	struct rcp_suiteopts s;
	uint64_t ns;
	int first;

	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RRM, rrm, &first), 0);
	CU_ASSERT_EQUAL(first, 11);
	CU_ASSERT(s.cl.o.fail_early);
	CU_ASSERT_EQUAL(s.cl.o.max_workers, 3);
	CU_ASSERT_PTR_NOT_NULL(s.cl.o.filter);
	CU_ASSERT_EQUAL(s.cl.o.dry_run, RCP_DRY_EXPLAIN);
	CU_ASSERT_EQUAL(s.cl.verbosity, 2);
	CU_ASSERT_EQUAL(s.modified_before_ns, 2ull * 86400 * 1000000000);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RRM, rrm_bad, &first),
	    RCP_ERR_INVAL);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RRM, rrm_mode, &first),
	    RCP_ERR_INVAL);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RCHM, chm_none, &first),
	    RCP_ERR_INVAL);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RCHM, chm, &first), 0);
	CU_ASSERT_STRING_EQUAL(s.mode, "f:g+rw d:g+rwxs");
	CU_ASSERT_STRING_EQUAL(s.owner, "0");
	CU_ASSERT(s.defer_dir_changes && s.no_setid);
	CU_ASSERT_EQUAL(first, 7);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RLINK, lnk, &first), 0);
	CU_ASSERT(s.cl.o.overwrite && s.update_exclusive);
	CU_ASSERT_STRING_EQUAL(s.update, "new");
	CU_ASSERT_EQUAL(s.update_compare.f, RCP_ATTR_SIZE);
	/* rlink keeps everything by default. */
	CU_ASSERT(s.cl.o.preserve.f.uid && s.cl.o.preserve.d.time);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RLINK, lnk_excl, &first),
	    RCP_ERR_INVAL);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(suite_parse(&s, RCP_TOOL_RLINK, lnk_age, &first),
	    RCP_ERR_INVAL);
	rcp_suiteopts_release(&s);
	CU_ASSERT_EQUAL(rcp_suiteopts_parse_age("1.5h", &ns), 0);
	CU_ASSERT_EQUAL(ns, 5400ull * 1000000000);
	CU_ASSERT_EQUAL(rcp_suiteopts_parse_age("-1d", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_suiteopts_parse_age("3x", &ns), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_suiteopts_parse_age("200y", &ns), RCP_ERR_INVAL);
}

/* Which arguments are options whose value is the next argument (rcpctl
 * keeps that value for the tool, whatever it looks like). */
static void
test_suite_takes_value(void)
{
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "--exclude"), 1);
	/* A unique prefix, as getopt_long takes it. */
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "--exc"), 1);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM,
	    "--exclude=x"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM,
	    "--max-workers"), 1);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM,
	    "--fail-early"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "--json"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "--"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "-e"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "x"), 0);
	/* rchm's own; not rrm's. */
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RCHM, "--mode"), 1);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RRM, "--mode"), 0);
	/* Ambiguous: --mode, --modified-before. */
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RCHM, "--mod"), 0);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RLINK,
	    "--update"), 1);
	CU_ASSERT_EQUAL(rcp_suiteopts_takes_value(RCP_TOOL_RLINK,
	    "--update-exclusive"), 0);
}

/* Slurm host lists, as $SLURM_JOB_NODELIST has them. */
/* Named groups of hosts: found with their hosts, or not, or the bad line. */
static void
test_hostgroups(void)
{
	char *dir = unit_tmpdir("groups"), *f = rcp_path_join(dir, "hosts");
	char *bad = rcp_path_join(dir, "bad"), **h = NULL, *cause = NULL;
	static const char good[] = "# sites\n"
	    "  dtn-east = dtn1 dtn2,dtn3  # three\n"
	    "\n"
	    "one=a.example.org\n";
	static const char broken[] = "x = y\nempty =  # nothing\n";
	size_t n = 0;

	unit_write_file(f, good, sizeof(good) - 1);
	unit_write_file(bad, broken, sizeof(broken) - 1);
	CU_ASSERT_EQUAL(rcp_hostgroups_lookup(f, "dtn-east", &h, &n, &cause), 1);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(h[0], "dtn1");
	CU_ASSERT_STRING_EQUAL(h[1], "dtn2");
	CU_ASSERT_STRING_EQUAL(h[2], "dtn3");
	rcp_strv_free(h, n);
	CU_ASSERT_EQUAL(rcp_hostgroups_lookup(f, "one", &h, &n, &cause), 1);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(h[0], "a.example.org");
	rcp_strv_free(h, n);
	/* Not a group: a host of that name. */
	CU_ASSERT_EQUAL(rcp_hostgroups_lookup(f, "dtn", &h, &n, &cause), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(rcp_hostgroups_lookup(NULL, "one", &h, &n, &cause), 0);
	/* A group without hosts is named by its line, even when not asked. */
	CU_ASSERT_EQUAL(rcp_hostgroups_lookup(bad, "z", &h, &n, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "line 2: a group with no hosts"));
	free(cause);
	cause = NULL;
	CU_ASSERT_TRUE(rcp_hostgroups_lookup("/nonexistent/rcp-hosts", "a", &h,
	    &n, &cause) < 0);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	/* The file: the one given, else $RCP_HOST_GROUPS. */
	setenv("RCP_HOST_GROUPS", f, 1);
	CU_ASSERT_STRING_EQUAL(rcp_hostgroups_file(NULL), f);
	CU_ASSERT_STRING_EQUAL(rcp_hostgroups_file(bad), bad);
	unsetenv("RCP_HOST_GROUPS");
	/* Lists: a comma outside brackets. */
	CU_ASSERT_TRUE(rcp_host_is_list("a,b"));
	CU_ASSERT_FALSE(rcp_host_is_list("node[1,2]"));
	CU_ASSERT_FALSE(rcp_host_is_list("[::1]"));
	unit_rmtree(dir);
	free(dir);
	free(f);
	free(bad);
}

static void
test_hostlist(void)
{
	static const char *const yes[][2] = {
		{ "localhost", "localhost" },
		{ "a,b,c", "b" },
		{ "node[01-04,7]", "node03" },
		{ "node[01-04,7]", "node7" },
		{ "node[8-10]", "node10" },
		{ "node[8-10]", "node9" },
		{ "gpu1,node[1-2]", "node2" },
		{ "rack[1-2]-n[001-100]", "rack2-n042" },
		{ "n[1-3]x", "n2x" },
	};
	static const char *const no[][2] = {
		{ "localhost", "nosuchnode" },
		{ "node[01-04]", "node5" },
		{ "node[01-04]", "node3" },	/* not zero-padded as listed */
		{ "node[8-10]", "node08" },
		{ "node[1-3]", "node" },
		{ "node[1-3]", "node1x" },
		{ "node[1-3", "node1" },	/* malformed */
		{ "node[3-1]", "node2" },
		{ "node[a-b]", "nodea" },
		{ "", "x" },
		{ "a,,b", "" },
	};
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(yes); i++)
		CU_ASSERT_TRUE(rcp_hostlist_has(yes[i][0], yes[i][1]));
	for (i = 0; i < RCP_ARRAY_SIZE(no); i++)
		CU_ASSERT_FALSE(rcp_hostlist_has(no[i][0], no[i][1]));
}

void
test_cliopts_register(void)
{
	static const struct unit_test tests[] = {
		{ "options", test_options },
		{ "errors", test_errors },
		{ "filter_files", test_filter_files },
		{ "names", test_names },
		{ "threads", test_threads },
		{ "duration", test_duration },
		{ "suiteopts", test_suiteopts },
		{ "suite_takes_value", test_suite_takes_value },
		{ "hostlist", test_hostlist },
		{ "hostgroups", test_hostgroups },
		{ NULL, NULL }
	};

	unit_add_suite("cliopts", tests);
}
