/* test_filter.c: include/exclude rules and filter files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/filter.h"
#include "unit.h"

#include "base/banned.h"

static struct rcp_filter *
make(const char *const *inc, const char *const *exc)
{
	struct rcp_filter *f = rcp_filter_new();
	char *cause = NULL;

	for (; inc != NULL && *inc != NULL; inc++)
		CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_INCLUDE, *inc,
		    &cause), 0);
	for (; exc != NULL && *exc != NULL; exc++)
		CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_EXCLUDE, *exc,
		    &cause), 0);
	return f;
}

static void
test_exclude_any_depth(void)
{
	static const char *const exc[] = { "*.o", NULL };
	struct rcp_filter *f = make(NULL, exc);
	const char *why;

	CU_ASSERT_EQUAL(rcp_filter_check(f, "a.o", false, false, &why),
	    RCP_FILTER_EXCLUDED);
	CU_ASSERT_STRING_EQUAL(why, "--exclude '*.o'");
	CU_ASSERT_EQUAL(rcp_filter_check(f, "x/y/a.o", false, false, NULL),
	    RCP_FILTER_EXCLUDED);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "x/y/a.c", false, false, NULL),
	    RCP_FILTER_PASS);
	rcp_filter_free(f);
}

static void
test_anchor_and_dir_only(void)
{
	static const char *const exc[] = { "/build", "cache/", NULL };
	struct rcp_filter *f = make(NULL, exc);

	CU_ASSERT_EQUAL(rcp_filter_check(f, "build", true, false, NULL),
	    RCP_FILTER_EXCLUDED);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "src/build", true, false, NULL),
	    RCP_FILTER_PASS);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "a/cache", true, false, NULL),
	    RCP_FILTER_EXCLUDED);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "a/cache", false, false, NULL),
	    RCP_FILTER_PASS);
	rcp_filter_free(f);
}

static void
test_includes(void)
{
	static const char *const inc[] = { "*.c", "/docs/", NULL };
	static const char *const exc[] = { "skip*.c", NULL };
	struct rcp_filter *f = make(inc, exc);

	CU_ASSERT_TRUE(rcp_filter_has_includes(f));
	CU_ASSERT_EQUAL(rcp_filter_check(f, "src/a.c", false, false, NULL),
	    RCP_FILTER_PASS);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "src/a.h", false, false, NULL),
	    RCP_FILTER_NOT_INCLUDED);
	/* Excludes win over includes. */
	CU_ASSERT_EQUAL(rcp_filter_check(f, "src/skip1.c", false, false, NULL),
	    RCP_FILTER_EXCLUDED);
	/* Directories not included are looked into. */
	CU_ASSERT_EQUAL(rcp_filter_check(f, "src", true, false, NULL),
	    RCP_FILTER_TRAVERSE);
	/* An included directory brings its whole subtree. */
	CU_ASSERT_EQUAL(rcp_filter_check(f, "docs", true, false, NULL),
	    RCP_FILTER_PASS);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "docs/x.txt", false, true, NULL),
	    RCP_FILTER_PASS);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "docs/skip2.c", false, true, NULL),
	    RCP_FILTER_EXCLUDED);
	rcp_filter_free(f);
}

static void
test_bad_patterns(void)
{
	struct rcp_filter *f = rcp_filter_new();
	char *cause = NULL;

	CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_EXCLUDE, "a[b", &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "unclosed"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_EXCLUDE, "/", &cause),
	    RCP_ERR_INVAL);
	free(cause);
	cause = NULL;
	/* A type off the wire that is neither: refused, and said so. */
	CU_ASSERT_EQUAL(rcp_filter_add(f, 7, "x", &cause), RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "unknown rule type 7"));
	free(cause);
	CU_ASSERT_TRUE(rcp_filter_empty(f));
	CU_ASSERT_EQUAL(rcp_filter_check(NULL, "x", false, false, NULL),
	    RCP_FILTER_PASS);
	rcp_filter_free(f);
	rcp_filter_free(NULL);
}

static void
test_load(void)
{
	char *dir = unit_tmpdir("filter"), *path, *cause = NULL;
	static const char good[] = "# comment\n\n+ *.c\n- tmp/\nexclude *.o\n"
	    "include /keep\n";
	static const char bad[] = "+ *.c\n? what\n";
	struct rcp_filter *f = rcp_filter_new();

	path = rcp_path_join(dir, "rules");
	unit_write_file(path, good, strlen(good));
	CU_ASSERT_EQUAL(rcp_filter_load(f, path, &cause), 0);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "x/tmp", true, false, NULL),
	    RCP_FILTER_EXCLUDED);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "a.c", false, false, NULL),
	    RCP_FILTER_PASS);
	CU_ASSERT_EQUAL(rcp_filter_check(f, "keep", false, false, NULL),
	    RCP_FILTER_PASS);
	unit_write_file(path, bad, strlen(bad));
	CU_ASSERT_EQUAL(rcp_filter_load(f, path, &cause), RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, ":2:"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_filter_load(f, "/nonexistent/rules", &cause),
	    RCP_ERR_IO);
	free(cause);
	rcp_filter_free(f);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

void
test_filter_register(void)
{
	static const struct unit_test tests[] = {
		{ "exclude_any_depth", test_exclude_any_depth },
		{ "anchor_and_dir_only", test_anchor_and_dir_only },
		{ "includes", test_includes },
		{ "bad_patterns", test_bad_patterns },
		{ "load", test_load },
		{ NULL, NULL }
	};

	unit_add_suite("filter", tests);
}
