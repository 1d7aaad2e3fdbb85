/* test_chmode.c: chmod's mode language, checked against what GNU chmod
 * 9.1 does to the same modes (umask 022). */
#include <stdlib.h>
#include <sys/stat.h>

#include "base/error.h"
#include "fs/chmode.h"
#include "unit.h"

#include "base/banned.h"

struct mcase {
	const char	*spec;
	mode_t		 old;
	bool		 dir;
	mode_t		 want;
};

static void
test_apply(void)
{
	static const struct mcase cases[] = {
		{ "g=rx", 02775, true, 02755 },
		{ "=rx", 02775, true, 02555 },
		{ "755", 02775, true, 02755 },
		{ "00755", 02775, true, 0755 },
		{ "=r,u+w", 0777, false, 0644 },
		{ "+w", 0444, false, 0644 },
		{ "a=rwx", 02775, true, 02777 },
		{ "u=rwx", 04755, true, 04755 },
		{ "g+s", 0755, false, 02755 },
		{ "a+X", 0644, false, 0644 },
		{ "a+X", 0744, false, 0755 },
		{ "a+X", 0644, true, 0755 },
		{ "o=u", 0640, false, 0646 },
		{ "-x", 0755, false, 0644 },
		{ "g+rw,o-rwx", 0604, false, 0660 },
		{ "u=rwx,g=rX,o=", 0644, true, 0750 },
		{ "o+t", 0755, true, 01755 },
		{ "u-s,g-s", 06755, false, 0755 },
		{ "g-s", 02775, true, 0775 },
		{ "640", 04755, false, 0640 },
		{ "2775", 0755, true, 02775 },
		{ "g=u", 0640, false, 0660 },
		{ NULL, 0, false, 0 }
	};
	struct rcp_chmode *m;
	char *cause;
	mode_t got;
	int i;

	for (i = 0; cases[i].spec != NULL; i++) {
		CU_ASSERT_EQUAL_FATAL(rcp_chmode_parse(cases[i].spec, &m,
		    &cause), 0);
		got = rcp_chmode_apply(m, cases[i].old, cases[i].dir, 022);
		if (got != cases[i].want)
			CU_FAIL(cases[i].spec);
		CU_ASSERT_EQUAL(got, cases[i].want);
		rcp_chmode_free(m);
	}
}

static void
test_parse_errors(void)
{
	static const char *const bad[] = { "", "g+z", "u", "ugo", "8", "0778",
	    "123456789", "g+rw,", ",g+rw", "x+r", "17777", NULL };
	struct rcp_chmode *m = NULL;
	char *cause;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		cause = NULL;
		CU_ASSERT_EQUAL(rcp_chmode_parse(bad[i], &m, &cause),
		    RCP_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
	}
	CU_ASSERT_EQUAL(rcp_chmode_parse("0644", &m, &cause), 0);
	CU_ASSERT(rcp_chmode_is_octal(m));
	rcp_chmode_free(m);
	CU_ASSERT_EQUAL(rcp_chmode_parse("a+r", &m, &cause), 0);
	CU_ASSERT(!rcp_chmode_is_octal(m));
	rcp_chmode_free(m);
	rcp_chmode_free(NULL);
}

void
test_chmode_register(void)
{
	static const struct unit_test tests[] = {
		{ "apply", test_apply },
		{ "parse_errors", test_parse_errors },
		{ NULL, NULL }
	};

	unit_add_suite("chmode", tests);
}
