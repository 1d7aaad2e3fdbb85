/* test_util.c: sizes, numbers, escaping, buffers, errors. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/ticker.h"
#include "base/util.h"
#include "unit.h"

#include "base/banned.h"

static void
test_parse_size(void)
{
	uint64_t v;

	CU_ASSERT_EQUAL(rcp_parse_size("0", &v), 0);
	CU_ASSERT_EQUAL(v, 0);
	CU_ASSERT_EQUAL(rcp_parse_size("4096", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(rcp_parse_size("4K", &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(rcp_parse_size("16m", &v), 0);
	CU_ASSERT_EQUAL(v, 16u << 20);
	CU_ASSERT_EQUAL(rcp_parse_size("2GiB", &v), 0);
	CU_ASSERT_EQUAL(v, 2ull << 30);
	CU_ASSERT_EQUAL(rcp_parse_size("1TB", &v), 0);
	CU_ASSERT_EQUAL(v, 1ull << 40);
	CU_ASSERT_EQUAL(rcp_parse_size("", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("K", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("-1", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("4X", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("4Kx", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("1 ", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("1@", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("99999999999P", &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_size("99999999999999999999999", &v),
	    RCP_ERR_INVAL);
}

static void
test_parse_uint(void)
{
	uint64_t v;
	double d;

	CU_ASSERT_EQUAL(rcp_parse_uint("17", 100, &v), 0);
	CU_ASSERT_EQUAL(v, 17);
	CU_ASSERT_EQUAL(rcp_parse_uint("101", 100, &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_uint("-1", 100, &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_uint("1a", 100, &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_uint("", 100, &v), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_double("1.5", &d), 0);
	CU_ASSERT_DOUBLE_EQUAL(d, 1.5, 1e-9);
	CU_ASSERT_EQUAL(rcp_parse_double("nan", &d), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_double("-2", &d), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_parse_double("1e999", &d), RCP_ERR_INVAL);
}

static void
test_escape(void)
{
	char *s;

	s = rcp_escape("plain/name");
	CU_ASSERT_STRING_EQUAL(s, "plain/name");
	free(s);
	s = rcp_escape("caf\xc3\xa9");		/* valid UTF-8 stays */
	CU_ASSERT_STRING_EQUAL(s, "caf\xc3\xa9");
	free(s);
	s = rcp_escape("a\xff\xfe" "b");
	CU_ASSERT_STRING_EQUAL(s, "a\\xff\\xfeb");
	free(s);
	s = rcp_escape("line\nbreak\\");
	CU_ASSERT_STRING_EQUAL(s, "line\\x0abreak\\\\");
	free(s);
	s = rcp_escape("\xc0\xaf");		/* overlong '/' is not UTF-8 */
	CU_ASSERT_STRING_EQUAL(s, "\\xc0\\xaf");
	free(s);
	s = rcp_escape("\xed\xa0\x80");		/* a surrogate */
	CU_ASSERT_STRING_EQUAL(s, "\\xed\\xa0\\x80");
	free(s);
	CU_ASSERT_TRUE(rcp_utf8_valid("\xf0\x9f\x98\x80", 4));
	CU_ASSERT_FALSE(rcp_utf8_valid("\xf0\x9f\x98", 3));
}

static void
test_buf(void)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char *s;
	int i;

	CU_ASSERT_STRING_EQUAL(rcp_buf_str(&b), "");
	for (i = 0; i < 1000; i++)
		rcp_buf_addf(&b, "%d,", i);
	CU_ASSERT_EQUAL(strncmp(rcp_buf_str(&b), "0,1,2,", 6), 0);
	CU_ASSERT_EQUAL(b.len, strlen(b.data));
	rcp_buf_reset(&b);
	rcp_buf_add(&b, "a\0b", 3);
	CU_ASSERT_EQUAL(b.len, 3);
	s = rcp_buf_detach(&b);
	CU_ASSERT_EQUAL(memcmp(s, "a\0b", 4), 0);
	CU_ASSERT_PTR_NULL(b.data);
	free(s);
	s = rcp_path_join("a/", "b");
	CU_ASSERT_STRING_EQUAL(s, "a/b");
	free(s);
	s = rcp_path_join("", "b");
	CU_ASSERT_STRING_EQUAL(s, "b");
	free(s);
}

static void
test_strerror(void)
{
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_PARTIAL),
	    "some entries failed");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(12345), "unknown error");
}

static void
test_format(void)
{
	char buf[32];

	CU_ASSERT_STRING_EQUAL(rcp_fmt_bytes(buf, sizeof(buf), 512), "512 B");
	CU_ASSERT_STRING_EQUAL(rcp_fmt_bytes(buf, sizeof(buf), 1536),
	    "1.50 KiB");
	CU_ASSERT_STRING_EQUAL(rcp_fmt_duration(buf, sizeof(buf),
	    3723000000000ull), "1h02m03s");
	CU_ASSERT_STRING_EQUAL(rcp_fmt_duration(buf, sizeof(buf), 2500000000ull),
	    "2.500s");
}

static void
test_deadline(void)
{
	uint64_t d;
	int left;

	CU_ASSERT_EQUAL(rcp_deadline_after(-1), 0);
	CU_ASSERT_FALSE(rcp_deadline_passed(0));
	CU_ASSERT_EQUAL(rcp_deadline_ms_left(0), -1);
	d = rcp_deadline_after(0);
	CU_ASSERT(rcp_deadline_passed(d));
	CU_ASSERT_EQUAL(rcp_deadline_ms_left(d), 0);
	d = rcp_deadline_after(60000);
	CU_ASSERT_FALSE(rcp_deadline_passed(d));
	left = rcp_deadline_ms_left(d);
	CU_ASSERT(left > 0 && left <= 60000);
}

static void
count_tick(void *arg)
{
	atomic_int *n = arg;

	atomic_fetch_add(n, 1);
}

/* Ticks come every period; stop wakes a long wait at once and ends them. */
static void
test_ticker(void)
{
	atomic_int n = 0;
	rcp_ticker *t;
	uint64_t t0;
	int seen;

	t = rcp_ticker_start(10000000u, count_tick, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	usleep(200000);
	rcp_ticker_stop(t);
	seen = atomic_load(&n);
	CU_ASSERT(seen >= 3 && seen <= 21);
	usleep(30000);
	CU_ASSERT_EQUAL(atomic_load(&n), seen);

	atomic_store(&n, 0);
	t = rcp_ticker_start(60000000000u, count_tick, &n);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	t0 = rcp_now_ns();
	rcp_ticker_stop(t);
	CU_ASSERT(rcp_now_ns() - t0 < 1000000000u);
	CU_ASSERT_EQUAL(atomic_load(&n), 0);
	rcp_ticker_stop(NULL);
}

void
test_util_register(void)
{
	static const struct unit_test tests[] = {
		{ "parse_size", test_parse_size },
		{ "parse_uint", test_parse_uint },
		{ "escape", test_escape },
		{ "buf", test_buf },
		{ "strerror", test_strerror },
		{ "format", test_format },
		{ "deadline", test_deadline },
		{ "ticker", test_ticker },
		{ NULL, NULL }
	};

	unit_add_suite("util", tests);
}
