/*
 * test_ctlproto.c: the control protocol's codec: line framing under any
 * split of the bytes, oversized and malformed lines, replies and errors,
 * typed members with their caps, names of codes and states, and the
 * socket directory's checks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "unit.h"

#include "base/banned.h"

static void
test_lines(void)
{
	static const char in[] = "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\"";
	struct rcp_ctl_reader r;
	char *line;
	size_t len, i;
	int n = 0;

	/* Fed one byte at a time, the same lines come out. */
	rcp_ctl_reader_init(&r, 64);
	for (i = 0; i < sizeof(in) - 1; i++) {
		rcp_ctl_reader_feed(&r, in + i, 1);
		while (rcp_ctl_reader_next(&r, &line, &len) == 1) {
			if (n == 0)
				CU_ASSERT_STRING_EQUAL(line, "{\"a\":1}");
			if (n == 1)
				CU_ASSERT_EQUAL(len, 0);
			if (n == 2)
				CU_ASSERT_STRING_EQUAL(line, "{\"b\":2}");
			n++;
		}
	}
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(rcp_ctl_reader_pending(&r), 4);
	rcp_ctl_reader_feed(&r, ":3}\n", 4);
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 1);
	CU_ASSERT_STRING_EQUAL(line, "{\"c\":3}");
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 0);
	rcp_ctl_reader_release(&r);
}

static void
test_oversized(void)
{
	struct rcp_ctl_reader r;
	char big[300], *line;
	size_t len;

	memset(big, 'x', sizeof(big));
	rcp_ctl_reader_init(&r, 100);

	/* Without its newline yet: reported once, then skipped to its end. */
	rcp_ctl_reader_feed(&r, big, sizeof(big));
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), RCP_ERR_TOOBIG);
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 0);
	rcp_ctl_reader_feed(&r, big, sizeof(big));
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 0);
	rcp_ctl_reader_feed(&r, "xx\n{}\n", 6);
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 1);
	CU_ASSERT_STRING_EQUAL(line, "{}");
	CU_ASSERT_TRUE(rcp_ctl_reader_pending(&r) < 100);

	/* Whole, newline included, in one piece: also refused. */
	big[150] = '\n';
	rcp_ctl_reader_feed(&r, big, 151);
	rcp_ctl_reader_feed(&r, "{}\n", 3);
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), RCP_ERR_TOOBIG);
	CU_ASSERT_EQUAL(rcp_ctl_reader_next(&r, &line, &len), 1);
	CU_ASSERT_STRING_EQUAL(line, "{}");
	rcp_ctl_reader_release(&r);
}

static void
test_decode(void)
{
	static const char *const bad[] = { "{", "[1,2]", "\"x\"", "nul",
	    "{\"a\":1}garbage", "{\"a\":1,\"a\":2}", "\xff\xfe", NULL };
	json_t *j;
	char *cause = NULL;
	size_t i;

	CU_ASSERT_EQUAL(rcp_ctl_decode("{\"id\":1}", 8, &j, &cause), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(j, "id")), 1);
	json_decref(j);
	for (i = 0; bad[i] != NULL; i++) {
		CU_ASSERT_EQUAL(rcp_ctl_decode(bad[i], strlen(bad[i]), &j,
		    &cause), RCP_ERR_PROTO);
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
		cause = NULL;
	}
}

static void
test_replies(void)
{
	json_t *id = json_integer(7), *msg, *res;
	struct rcp_buf b = RCP_BUF_INIT;
	char *message = NULL;

	msg = rcp_ctl_reply(id, json_pack("{s:i}", "x", 1));
	CU_ASSERT_EQUAL(rcp_ctl_reply_parse(msg, &res, &message), 0);
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(res, "x")), 1);
	rcp_ctl_encode(&b, msg);
	CU_ASSERT_STRING_EQUAL(b.data, "{\"id\":7,\"result\":{\"x\":1}}\n");
	json_decref(msg);

	msg = rcp_ctl_error(id, RCP_CTL_E_NOT_FOUND, "no job %d", 3);
	CU_ASSERT_EQUAL(rcp_ctl_reply_parse(msg, &res, &message),
	    RCP_CTL_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(message, "no job 3");
	free(message);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
	    json_object_get(msg, "error"), "code")), "not_found");
	json_decref(msg);

	/* A message quoting a name that is not UTF-8 still encodes. */
	msg = rcp_ctl_error(NULL, RCP_CTL_E_INVALID, "bad '%s'", "a\xffz");
	rcp_buf_reset(&b);
	rcp_ctl_encode(&b, msg);
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "a\\\\xffz"));
	CU_ASSERT_PTR_NOT_NULL(strstr(b.data, "\"id\":null"));
	json_decref(msg);

	msg = json_pack("{s:i}", "id", 1);
	CU_ASSERT_EQUAL(rcp_ctl_reply_parse(msg, &res, &message),
	    RCP_ERR_PROTO);
	json_decref(msg);
	json_decref(id);
	rcp_buf_release(&b);
}

static void
test_names(void)
{
	int i;

	for (i = RCP_CTL_E_PARSE; i <= RCP_CTL_E_INTERNAL; i++)
		CU_ASSERT_EQUAL(rcp_ctl_err_parse(rcp_ctl_err_name(i)), i);
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(RCP_CTL_E_UNSUPPORTED),
	    "unsupported");
	CU_ASSERT_EQUAL(rcp_ctl_err_parse("nonsense"), 0);
	for (i = 0; i < RCP_CTL_NSTATES; i++)
		CU_ASSERT_EQUAL(rcp_ctl_state_parse(rcp_ctl_state_name(i)), i);
	CU_ASSERT_EQUAL(rcp_ctl_state_parse("done"), -1);
	CU_ASSERT_FALSE(rcp_ctl_state_final(RCP_CTL_RUNNING));
	CU_ASSERT_TRUE(rcp_ctl_state_final(RCP_CTL_CANCELED));
	CU_ASSERT_EQUAL(rcp_ctl_state_exit(RCP_CTL_SUCCEEDED), 0);
	CU_ASSERT_EQUAL(rcp_ctl_state_exit(RCP_CTL_FAILED), 1);
	CU_ASSERT_EQUAL(rcp_ctl_state_exit(RCP_CTL_PARTIAL), 4);
	CU_ASSERT_EQUAL(rcp_ctl_state_exit(RCP_CTL_CANCELED), 5);
}

static void
test_members(void)
{
	json_t *o = json_pack("{s:s,s:i,s:b,s:[ss],s:[s,i],s:s#,s:n}",
	    "s", "hello", "i", 42, "b", 1, "v", "a", "b", "w", "a", 1,
	    "nul", "a\0b", 3, "null");
	const char *s = NULL, **v = NULL;
	char *cause = NULL;
	int64_t i = 0;
	size_t n;
	bool b = false;

	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "s", 10, &s, &cause), 1);
	CU_ASSERT_STRING_EQUAL(s, "hello");
	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "s", 3, &s, &cause), RCP_ERR_INVAL);
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "nul", 10, &s, &cause),
	    RCP_ERR_INVAL);
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "missing", 10, &s, &cause), 0);
	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "null", 10, &s, &cause), 0);
	CU_ASSERT_EQUAL(rcp_ctl_get_str(o, "i", 10, &s, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "'i'"));
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_int(o, "i", 0, 100, &i, &cause), 1);
	CU_ASSERT_EQUAL(i, 42);
	CU_ASSERT_EQUAL(rcp_ctl_get_int(o, "i", 0, 10, &i, &cause),
	    RCP_ERR_INVAL);
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_bool(o, "b", &b, &cause), 1);
	CU_ASSERT_TRUE(b);
	CU_ASSERT_EQUAL(rcp_ctl_get_bool(o, "s", &b, &cause), RCP_ERR_INVAL);
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_strv(o, "v", 5, 10, &v, &n, &cause), 1);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(v[1], "b");
	CU_ASSERT_PTR_NULL(v[2]);
	free(v);
	CU_ASSERT_EQUAL(rcp_ctl_get_strv(o, "v", 1, 10, &v, &n, &cause),
	    RCP_ERR_INVAL);
	free(cause);
	CU_ASSERT_EQUAL(rcp_ctl_get_strv(o, "w", 5, 10, &v, &n, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "item 1"));
	free(cause);
	json_decref(o);
}

/* One lookup for all: absent, null, wrong type and right type stay apart. */
static void
test_kinds(void)
{
	json_t *o = json_pack("{s:i,s:i,s:f,s:s,s:s,s:b,s:n,s:[s,s],s:[s,i]}",
	    "id", 7, "neg", -3, "real", 1.5, "s", "x", "state", "running",
	    "t", 1, "nil", "sv", "a", "b", "mixed", "a", 1);
	const json_t *v = NULL;
	const char *problem = NULL;

	CU_ASSERT_EQUAL(rcp_ctl_member(o, "id", RCP_CTL_K_ID, &v, NULL), 1);
	CU_ASSERT_PTR_EQUAL(v, json_object_get(o, "id"));
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "neg", RCP_CTL_K_ID, NULL,
	    &problem), -1);
	CU_ASSERT_STRING_EQUAL(problem, "is not a job id");
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "nope", RCP_CTL_K_ID, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "nil", RCP_CTL_K_STRING, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(rcp_ctl_member(NULL, "id", RCP_CTL_K_ID, NULL,
	    NULL), 0);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "real", RCP_CTL_K_NUMBER, NULL,
	    NULL), 1);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "real", RCP_CTL_K_INTEGER, NULL,
	    NULL), -1);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "state", RCP_CTL_K_STATE, NULL,
	    NULL), 1);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "s", RCP_CTL_K_STATE, NULL,
	    &problem), -1);
	CU_ASSERT_STRING_EQUAL(problem, "is not a job state");
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "sv", RCP_CTL_K_STRINGS, NULL,
	    NULL), 1);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "mixed", RCP_CTL_K_STRINGS, NULL,
	    NULL), -1);
	CU_ASSERT_EQUAL(rcp_ctl_member(o, "t", RCP_CTL_K_BOOL, NULL, NULL), 1);

	/* The lenient readers: wrong or absent reads as the default. */
	CU_ASSERT_EQUAL(rcp_ctl_int(o, "neg"), -3);
	CU_ASSERT_EQUAL(rcp_ctl_u64(o, "neg"), 0);
	CU_ASSERT_EQUAL(rcp_ctl_u64(o, "id"), 7);
	CU_ASSERT_EQUAL(rcp_ctl_int(o, "real"), 0);
	CU_ASSERT_DOUBLE_EQUAL(rcp_ctl_num(o, "real"), 1.5, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(rcp_ctl_num(o, "id"), 7, 1e-9);
	CU_ASSERT_DOUBLE_EQUAL(rcp_ctl_num(o, "s"), 0, 1e-9);
	CU_ASSERT_TRUE(rcp_ctl_true(o, "t"));
	CU_ASSERT_FALSE(rcp_ctl_true(o, "id"));
	CU_ASSERT_STRING_EQUAL(rcp_ctl_str(o, "s", "-"), "x");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_str(o, "id", "-"), "-");
	CU_ASSERT_PTR_NULL(rcp_ctl_str(o, "nope", NULL));
	json_decref(o);
}

/*
 * The _b64 rule, one for the protocol (rcp_ctl_set_path, _pathv) and for
 * rcmp's records (which call rcp_ctl_set_path): key holds the display form,
 * key_b64 the bytes whenever the display form is not them; read back, every
 * name gives its bytes.
 */
static void
test_b64_rule(void)
{
	static const struct {
		const char	*name;
		const char	*shown;
		const char	*b64;	/* NULL: no key_b64 */
	} cases[] = {
		{ "plain.txt", "plain.txt", NULL },
		{ "caf\xc3\xa9 \xe2\x82\xac", "caf\xc3\xa9 \xe2\x82\xac",
		    NULL },
		{ "bad\xff", "bad\\xff", "YmFk/w==" },
		{ "a\nb", "a\\x0ab", "YQpi" },
		{ "tab\there", "tab\\x09here", "dGFiCWhlcmU=" },
		{ "back\\slash", "back\\\\slash", "YmFja1xzbGFzaA==" },
		{ "lat\xe9n", "lat\\xe9n", "bGF06W4=" },
	};
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(cases); i++) {
		const char *one[1] = { cases[i].name };
		json_t *o = json_object(), *v = json_object();
		char *back = NULL, **backv = NULL, *cause = NULL;
		size_t n = 0;

		rcp_ctl_set_path(o, "path", cases[i].name);
		rcp_ctl_set_pathv(v, "paths", one, 1);
		CU_ASSERT_EQUAL(rcp_ctl_path_needs_b64(cases[i].name),
		    cases[i].b64 != NULL);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o,
		    "path")), cases[i].shown);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
		    json_object_get(v, "paths"), 0)), cases[i].shown);
		if (cases[i].b64 != NULL) {
			CU_ASSERT_STRING_EQUAL(json_string_value(
			    json_object_get(o, "path_b64")), cases[i].b64);
			CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
			    json_object_get(v, "paths_b64"), 0)),
			    cases[i].b64);
		} else {
			CU_ASSERT_PTR_NULL(json_object_get(o, "path_b64"));
			CU_ASSERT_PTR_NULL(json_object_get(v, "paths_b64"));
		}
		CU_ASSERT_EQUAL(rcp_ctl_get_path(o, "path", 100, &back,
		    &cause), 1);
		CU_ASSERT_STRING_EQUAL(back, cases[i].name);
		CU_ASSERT_EQUAL(rcp_ctl_get_pathv(v, "paths", 1, 100, &backv,
		    &n, &cause), 1);
		CU_ASSERT_EQUAL(n, 1);
		CU_ASSERT_STRING_EQUAL(backv[0], cases[i].name);
		free(back);
		free(backv[0]);
		free(backv);
		json_decref(o);
		json_decref(v);
	}
}

static void
test_socket_dir(void)
{
	char *base = unit_tmpdir("ctldir"), *dir, *cause = NULL, *p;

	dir = rcp_path_join(base, "rcp");
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(dir, geteuid(), false, &cause),
	    RCP_ERR_IO);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(dir, geteuid(), true, &cause), 0);
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(dir, geteuid(), false, &cause), 0);
	chmod(dir, 0750);
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(dir, geteuid(), true, &cause),
	    RCP_ERR_AUTH);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "0750") : NULL);
	free(cause);
	chmod(dir, 0700);
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(dir, geteuid() + 1, false, &cause),
	    RCP_ERR_AUTH);
	free(cause);
	/* A symlink is refused, even to a good directory. */
	p = rcp_path_join(base, "link");
	CU_ASSERT_EQUAL(symlink(dir, p), 0);
	CU_ASSERT_EQUAL(rcp_ctl_check_dir(p, geteuid(), true, &cause),
	    RCP_ERR_AUTH);
	free(cause);
	free(p);

	p = rcp_ctl_dirname("/a/b/master.sock");
	CU_ASSERT_STRING_EQUAL(p, "/a/b");
	free(p);
	p = rcp_ctl_default_socket();
	CU_ASSERT_PTR_NOT_NULL(strstr(p, "/master.sock"));
	free(p);
	unit_rmtree(base);
	free(base);
	free(dir);
}

void
test_ctlproto_register(void)
{
	static const struct unit_test tests[] = {
		{ "lines", test_lines },
		{ "oversized", test_oversized },
		{ "decode", test_decode },
		{ "replies", test_replies },
		{ "names", test_names },
		{ "members", test_members },
		{ "kinds", test_kinds },
		{ "b64_rule", test_b64_rule },
		{ "socket_dir", test_socket_dir },
		{ NULL, NULL }
	};

	unit_add_suite("ctlproto", tests);
}
