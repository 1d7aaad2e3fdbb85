/* test_glob.c: glob matching used by filters. */
#include <stdlib.h>

#include "base/glob.h"
#include "unit.h"

#include "base/banned.h"

static void
test_star(void)
{
	CU_ASSERT_TRUE(rcp_glob_match("*.o", "main.o"));
	CU_ASSERT_TRUE(rcp_glob_match("*", ""));
	CU_ASSERT_FALSE(rcp_glob_match("*.o", "src/main.o"));
	CU_ASSERT_FALSE(rcp_glob_match("*.o", "main.c"));
	CU_ASSERT_TRUE(rcp_glob_match("a*b*c", "aXXbYYc"));
	CU_ASSERT_FALSE(rcp_glob_match("a*b*c", "aXXbYY"));
}

static void
test_doublestar(void)
{
	CU_ASSERT_TRUE(rcp_glob_match("**", "a/b/c"));
	CU_ASSERT_TRUE(rcp_glob_match("**/*.o", "a/b/c.o"));
	CU_ASSERT_TRUE(rcp_glob_match("**/*.o", "c.o"));	/* zero dirs */
	CU_ASSERT_TRUE(rcp_glob_match("a/**/z", "a/z"));
	CU_ASSERT_TRUE(rcp_glob_match("a/**/z", "a/b/c/z"));
	CU_ASSERT_FALSE(rcp_glob_match("a/**/z", "b/c/z"));
	CU_ASSERT_TRUE(rcp_glob_match("a/**", "a/b/c"));
}

static void
test_question_and_class(void)
{
	CU_ASSERT_TRUE(rcp_glob_match("f?.txt", "f1.txt"));
	CU_ASSERT_FALSE(rcp_glob_match("f?.txt", "f12.txt"));
	CU_ASSERT_FALSE(rcp_glob_match("a?b", "a/b"));
	CU_ASSERT_TRUE(rcp_glob_match("[abc]x", "bx"));
	CU_ASSERT_FALSE(rcp_glob_match("[abc]x", "dx"));
	CU_ASSERT_TRUE(rcp_glob_match("[a-c]x", "cx"));
	CU_ASSERT_TRUE(rcp_glob_match("[!a-c]x", "dx"));
	CU_ASSERT_TRUE(rcp_glob_match("[^a-c]x", "dx"));
	CU_ASSERT_FALSE(rcp_glob_match("[!a-c]x", "ax"));
	CU_ASSERT_TRUE(rcp_glob_match("[]]", "]"));
	CU_ASSERT_TRUE(rcp_glob_match("\\*", "*"));
	CU_ASSERT_FALSE(rcp_glob_match("\\*", "a"));
	/* Bytes that are not UTF-8 match like any other. */
	CU_ASSERT_TRUE(rcp_glob_match("\xff*", "\xff\xfe"));
	CU_ASSERT_TRUE(rcp_glob_match("[\x80-\xff]", "\xc3"));
}

static void
test_valid(void)
{
	char *cause = NULL;

	CU_ASSERT_TRUE(rcp_glob_valid("a[bc]d", &cause));
	CU_ASSERT_FALSE(rcp_glob_valid("a[bc", &cause));
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	/* An unclosed class never matches, rather than reading past the end. */
	CU_ASSERT_FALSE(rcp_glob_match("[ab", "a"));
}

void
test_glob_register(void)
{
	static const struct unit_test tests[] = {
		{ "star", test_star },
		{ "doublestar", test_doublestar },
		{ "question_and_class", test_question_and_class },
		{ "valid", test_valid },
		{ NULL, NULL }
	};

	unit_add_suite("glob", tests);
}
