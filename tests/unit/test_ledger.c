/*
 * test_ledger.c: a job's ledger: the path an engine message names (bytes
 * back from its escaped form), entries written and read back in pages by
 * cursor, the cap that counts what it cannot keep (copied files leaving
 * room for errors), counts carried over from an earlier attempt (and
 * recounted from its file), a torn last line, and appends from several
 * threads.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "workers/ledger.h"
#include "unit.h"

#include "base/banned.h"

static void
msg_path_is(const char *msg, const char *want)
{
	char *got = rcp_ledger_msg_path(msg);

	if (want == NULL) {
		CU_ASSERT_PTR_NULL(got);
	} else {
		CU_ASSERT_PTR_NOT_NULL_FATAL(got);
		CU_ASSERT_STRING_EQUAL(got, want);
	}
	free(got);
}

static void
test_msg_path(void)
{
	msg_path_is("cannot open '/a/b': Permission denied", "/a/b");
	msg_path_is("cannot open '/a/\\xff\\\\x': Permission denied",
	    "/a/\xff\\x");
	msg_path_is("source '/s/f' changed while it was copied", "/s/f");
	msg_path_is("cannot verify '/d/f'", "/d/f");
	/* A quote in the name: the quote before "': " ends it. */
	msg_path_is("cannot open '/it's': No such file or directory", "/it's");
	msg_path_is("h1: cannot stat 'h1:/x': Input/output error", "h1:/x");
	msg_path_is("no path here", NULL);
	msg_path_is("a lone ' quote", NULL);
	msg_path_is("empty '': x", NULL);
	/* \x00 would cut the name short: kept as it was written. */
	msg_path_is("cannot open 'a\\x00b': x", "a\\x00b");
}

/* Reads every page of path; returns the entries, *pages the page count. */
static json_t *
read_all(const char *path, size_t limit, bool errors_only, int *pages)
{
	struct rcp_ledger_page q = { 0, limit, 1u << 20, errors_only };
	json_t *all = json_array(), *e;
	uint64_t next;
	char *cause = NULL;
	bool more = true;

	for (*pages = 0; more; (*pages)++) {
		CU_ASSERT_EQUAL_FATAL(rcp_ledger_read(path, &q, &e, &next,
		    &more, &cause), 0);
		CU_ASSERT(json_array_size(e) <= limit);
		CU_ASSERT(!more || next > q.cursor);
		json_array_extend(all, e);
		json_decref(e);
		q.cursor = next;
	}
	return all;
}

static void
test_write_read(void)
{
	char *dir = unit_tmpdir("ledger"), *path = rcp_path_join(dir, "1");
	struct rcp_ledger_counts n;
	struct rcp_ledger *l;
	struct rcp_ledger_page q = { 1u << 30, 10, 1u << 20, false };
	json_t *all, *e;
	char *cause = NULL, name[64], *back = NULL;
	uint64_t next;
	bool more;
	int i, pages;

	CU_ASSERT_EQUAL_FATAL(rcp_ledger_open(path, 1u << 20, 1, NULL, &l,
	    &cause), 0);
	rcp_ledger_error(l, "cannot open '/s/\\xfe': Permission denied");
	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "/d/f%d", i);
		rcp_ledger_file(l, name);
	}
	rcp_ledger_file(l, "/d/\xff");
	CU_ASSERT_EQUAL(rcp_ledger_close(l, &n, &cause), 0);
	CU_ASSERT_EQUAL(n.errors, 1);
	CU_ASSERT_EQUAL(n.files, 26);
	CU_ASSERT_EQUAL(n.errors_dropped + n.files_dropped, 0);

	all = read_all(path, 10, false, &pages);
	CU_ASSERT_EQUAL(json_array_size(all), 27);
	CU_ASSERT_EQUAL(pages, 3);
	e = json_array_get(all, 0);
	CU_ASSERT_STRING_EQUAL(rcp_ctl_str(e, "kind", ""), "error");
	CU_ASSERT_EQUAL(rcp_ctl_get_path(e, "path", RCP_CTL_MAX_PATH, &back,
	    &cause), 1);
	CU_ASSERT_STRING_EQUAL(back, "/s/\xfe");
	free(back);
	back = NULL;
	CU_ASSERT_EQUAL(rcp_ctl_int(e, "attempt"), 1);
	CU_ASSERT_EQUAL(rcp_ctl_get_path(json_array_get(all, 26), "path",
	    RCP_CTL_MAX_PATH, &back, &cause), 1);
	CU_ASSERT_STRING_EQUAL(back, "/d/\xff");
	free(back);
	json_decref(all);

	all = read_all(path, 1000, true, &pages);
	CU_ASSERT_EQUAL(json_array_size(all), 1);
	json_decref(all);

	/* A cursor past the end is refused; a missing file reads as empty. */
	CU_ASSERT_EQUAL(rcp_ledger_read(path, &q, &e, &next, &more, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);
	cause = NULL;
	q.cursor = 0;
	free(path);
	path = rcp_path_join(dir, "none");
	CU_ASSERT_EQUAL(rcp_ledger_read(path, &q, &e, &next, &more, &cause), 0);
	CU_ASSERT_EQUAL(json_array_size(e), 0);
	CU_ASSERT(!more);
	json_decref(e);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_cap(void)
{
	char *dir = unit_tmpdir("ledger"), *path = rcp_path_join(dir, "2");
	struct rcp_ledger_counts n, start = { 5, 6, 7, 8 };
	struct rcp_ledger *l;
	struct stat st;
	char *cause = NULL, name[64];
	json_t *all;
	int i, pages;

	CU_ASSERT_EQUAL_FATAL(rcp_ledger_open(path, 8192, 2, &start, &l,
	    &cause), 0);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "/dst/file-%04d", i);
		rcp_ledger_file(l, name);
	}
	/* The files stopped at three quarters: the errors still fit. */
	for (i = 0; i < 10; i++)
		rcp_ledger_error(l, "cannot open '/src/x': Permission denied");
	for (i = 0; i < 1000; i++)
		rcp_ledger_error(l, "cannot open '/src/y': Permission denied");
	CU_ASSERT_EQUAL(rcp_ledger_close(l, &n, &cause), 0);
	CU_ASSERT(n.files > 6 && n.files < 6 + 1000);
	CU_ASSERT_EQUAL(n.files + n.files_dropped, 6 + 8 + 1000);
	CU_ASSERT(n.errors >= 5 + 10);
	CU_ASSERT_EQUAL(n.errors + n.errors_dropped, 5 + 7 + 1010);
	CU_ASSERT_EQUAL_FATAL(stat(path, &st), 0);
	CU_ASSERT(st.st_size <= 8192);
	all = read_all(path, 1000, false, &pages);
	CU_ASSERT_EQUAL(json_array_size(all), (n.errors - 5) + (n.files - 6));
	CU_ASSERT_EQUAL(rcp_ctl_int(json_array_get(all, 0), "attempt"), 2);
	json_decref(all);

	/* An entry bigger than any is counted, not written. */
	free(path);
	path = rcp_path_join(dir, "3");
	CU_ASSERT_EQUAL_FATAL(rcp_ledger_open(path, 1u << 30, 1, NULL, &l,
	    &cause), 0);
	{
		char *big = rcp_xcalloc(1, RCP_LEDGER_MAX_ENTRY + 2);
		memset(big, 'a', RCP_LEDGER_MAX_ENTRY + 1);
		big[0] = '/';
		rcp_ledger_file(l, big);
		free(big);
	}
	CU_ASSERT_EQUAL(rcp_ledger_close(l, &n, &cause), 0);
	CU_ASSERT_EQUAL(n.files, 0);
	CU_ASSERT_EQUAL(n.files_dropped, 1);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_torn(void)
{
	char *dir = unit_tmpdir("ledger"), *path = rcp_path_join(dir, "4");
	struct rcp_ledger_counts n;
	struct rcp_ledger *l;
	char *cause = NULL;
	json_t *all;
	int fd, pages;

	/* A crash left half a line: the next attempt's entries stay whole. */
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "{\"kind\":\"error\",\"path\":\"/a\"}\n{\"ki",
	    33), 33);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(rcp_ledger_open(path, 1u << 20, 2, NULL, &l,
	    &cause), 0);
	rcp_ledger_file(l, "/d/x");
	CU_ASSERT_EQUAL(rcp_ledger_close(l, &n, &cause), 0);
	/* What the first attempt wrote is counted from the file. */
	CU_ASSERT_EQUAL(n.errors, 1);
	CU_ASSERT_EQUAL(n.files, 1);
	all = read_all(path, 1000, false, &pages);
	CU_ASSERT_EQUAL(json_array_size(all), 2);
	CU_ASSERT_STRING_EQUAL(rcp_ctl_str(json_array_get(all, 1), "path", ""),
	    "/d/x");
	json_decref(all);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void *
add_many(void *arg)
{
	struct rcp_ledger *l = arg;
	char *cause = NULL;
	int i;

	for (i = 0; i < 2000; i++) {
		rcp_ledger_file(l, "/d/some/file/name");
		if (i % 500 == 0 && rcp_ledger_tick(l, &cause) != 0)
			free(cause);
	}
	return NULL;
}

static void
test_threads(void)
{
	char *dir = unit_tmpdir("ledger"), *path = rcp_path_join(dir, "5");
	struct rcp_ledger_counts n;
	struct rcp_ledger *l;
	pthread_t th[4];
	char *cause = NULL;
	json_t *all;
	int i, pages;

	CU_ASSERT_EQUAL_FATAL(rcp_ledger_open(path, 1u << 30, 1, NULL, &l,
	    &cause), 0);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, add_many,
		    l), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(rcp_ledger_close(l, &n, &cause), 0);
	CU_ASSERT_EQUAL(n.files, 8000);
	all = read_all(path, 1000, false, &pages);
	CU_ASSERT_EQUAL(json_array_size(all), 8000);
	CU_ASSERT_EQUAL(pages, 8);
	json_decref(all);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

void
test_ledger_register(void)
{
	static const struct unit_test tests[] = {
		{ "msg_path", test_msg_path },
		{ "write_read", test_write_read },
		{ "cap", test_cap },
		{ "torn", test_torn },
		{ "threads", test_threads },
		{ NULL, NULL }
	};

	unit_add_suite("ledger", tests);
}
