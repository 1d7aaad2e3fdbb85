/* test_progress.c: progress lines, bars, summaries and the log sink. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "engine/progress.h"
#include "unit.h"

#include "base/banned.h"

static void
test_text_and_bar(void)
{
	struct rcp_copy_stats s;
	struct rcp_buf b = RCP_BUF_INIT;

	memset(&s, 0, sizeof(s));
	s.bytes_copied = 3u << 20;
	s.files_copied = 42;
	s.errors = 1;
	rcp_progress_text(&b, &s, 2500000000ull, 1048576);
	/* 2026-11-24T19:00:00.123Z elapsed ... */
	CU_ASSERT_EQUAL(b.data[4], '-');
	CU_ASSERT_EQUAL(b.data[23], 'Z');
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "copied 3.00 MiB (1.00 MiB/s)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "files 42"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "errors 1"));
	rcp_buf_reset(&b);
	rcp_progress_bar(&b, &s, 3723000000000ull, 0, 200);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "01:02:03"));
	rcp_buf_reset(&b);
	rcp_progress_bar(&b, &s, 0, 0, 20);	/* never wider than the terminal */
	CU_ASSERT_EQUAL(b.len, 19);
	rcp_buf_release(&b);
}

static void
test_summary(void)
{
	static const char *fields[] = { "bytes copied:", "files copied:",
	    "directories created:", "symlinks created:", "hard links created:",
	    "special files created:", "files unchanged:",
	    "directories unchanged:", "symlinks unchanged:", "removed:",
	    "skipped:", "errors:", "walltime:", "cpu time:", "peak rss:", NULL };
	struct rcp_copy_stats s;
	struct rcp_runstats rs = { 2000000000ull, 1000000000ull, 5u << 20 };
	struct rcp_buf b = RCP_BUF_INIT;
	const char **f;

	memset(&s, 0, sizeof(s));
	s.bytes_copied = 4096;
	rcp_progress_summary(&b, &s, &rs);
	for (f = fields; *f != NULL; f++)
		CU_ASSERT_PTR_NOT_NULL(strstr(b.data, *f));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "peak rss: 5.00 MiB"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "(4096 bytes, 2.00 KiB/s)"));
	rcp_buf_release(&b);
}

struct sink {
	int	n;
	int	last_level;
	char	last[64];
};

static void
sink_fn(void *arg, int level, const char *msg)
{
	struct sink *s = arg;

	s->n++;
	s->last_level = level;
	snprintf(s->last, sizeof(s->last), "%s", msg);
}

static void
test_log_levels(void)
{
	struct sink s = { 0, 0, "" };
	struct rcp_log log = { sink_fn, &s, RCP_LOG_WARN };

	rcp_log(&log, RCP_LOG_INFO, "hidden %d", 1);
	CU_ASSERT_EQUAL(s.n, 0);
	rcp_log(&log, RCP_LOG_ERROR, "shown %d", 2);
	CU_ASSERT_EQUAL(s.n, 1);
	CU_ASSERT_STRING_EQUAL(s.last, "shown 2");
	log.level = RCP_LOG_ERROR;	/* -q */
	rcp_log(&log, RCP_LOG_OUTPUT, "asked for");
	CU_ASSERT_EQUAL(s.n, 2);
	CU_ASSERT_EQUAL(s.last_level, RCP_LOG_OUTPUT);
	rcp_log(NULL, RCP_LOG_ERROR, "nowhere");	/* no sink: dropped */
	CU_ASSERT_STRING_EQUAL(rcp_log_level_name(RCP_LOG_WARN), "warning");
}

void
test_progress_register(void)
{
	static const struct unit_test tests[] = {
		{ "text_and_bar", test_text_and_bar },
		{ "summary", test_summary },
		{ "log_levels", test_log_levels },
		{ NULL, NULL }
	};

	unit_add_suite("progress", tests);
}
