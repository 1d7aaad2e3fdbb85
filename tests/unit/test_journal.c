/*
 * test_journal.c: the master's journal: records read back in order, a torn
 * last line (kill -9 in the middle of a write) skipped and later appends
 * kept, compaction by rename, appends from several threads, and jobs made
 * back from their records.
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
#include "workers/job.h"
#include "workers/journal.h"
#include "unit.h"

#include "base/banned.h"

struct seen {
	int	n;
	int	last;
	int	sum;
};

static void
collect(void *arg, const json_t *rec)
{
	struct seen *s = arg;

	s->n++;
	s->last = (int)json_integer_value(json_object_get(rec, "n"));
	s->sum += s->last;
}

static void
append_n(struct rcp_journal *jl, int from, int to)
{
	json_t *rec;
	char *cause = NULL;
	int i;

	for (i = from; i <= to; i++) {
		rec = json_pack("{s:i}", "n", i);
		CU_ASSERT_EQUAL(rcp_journal_append(jl, &rec, 1, &cause), 0);
		json_decref(rec);
	}
}

static void
test_append_load(void)
{
	char *dir = unit_tmpdir("journal"), *path, *cause = NULL;
	struct rcp_journal *jl;
	struct seen s = { 0 };
	size_t bad;
	int fd;

	path = rcp_path_join(dir, "journal");
	/* A missing journal reads as empty. */
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL_FATAL(rcp_journal_open(path, &jl, &cause), 0);
	append_n(jl, 1, 5);
	CU_ASSERT_TRUE(rcp_journal_size(jl) > 0);
	rcp_journal_free(jl);

	/* kill -9 in the middle of a record: a torn last line. */
	fd = open(path, O_WRONLY | O_APPEND);
	CU_ASSERT_EQUAL(write(fd, "{\"n\":6,\"jo", 10), 10);
	close(fd);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 5);
	CU_ASSERT_EQUAL(s.last, 5);
	CU_ASSERT_EQUAL(bad, 1);

	/* Appending after it: the torn line does not swallow the next. */
	CU_ASSERT_EQUAL_FATAL(rcp_journal_open(path, &jl, &cause), 0);
	append_n(jl, 7, 7);
	rcp_journal_free(jl);
	memset(&s, 0, sizeof(s));
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 6);
	CU_ASSERT_EQUAL(s.last, 7);
	CU_ASSERT_EQUAL(bad, 1);

	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_rewrite(void)
{
	char *dir = unit_tmpdir("journal"), *path, *cause = NULL;
	struct rcp_journal *jl;
	struct seen s = { 0 };
	json_t *recs[2];
	size_t bad;
	uint64_t before;

	path = rcp_path_join(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(rcp_journal_open(path, &jl, &cause), 0);
	append_n(jl, 1, 100);
	before = rcp_journal_size(jl);
	recs[0] = json_pack("{s:i}", "n", 1000);
	recs[1] = json_pack("{s:i}", "n", 2000);
	CU_ASSERT_EQUAL(rcp_journal_rewrite(jl, recs, 2, &cause), 0);
	json_decref(recs[0]);
	json_decref(recs[1]);
	CU_ASSERT_TRUE(rcp_journal_size(jl) < before);
	/* Appends go on to the new file. */
	append_n(jl, 1, 1);
	rcp_journal_free(jl);
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 3);
	CU_ASSERT_EQUAL(s.sum, 3001);
	CU_ASSERT_EQUAL(bad, 0);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/* Records 1000 and 2000, appending record 500 to the journal in between. */
struct busy_gen {
	struct rcp_journal	*jl;
	int			 calls;
};

static bool
busy_gen(void *arg, struct rcp_buf *b)
{
	struct busy_gen *g = arg;

	if (g->calls++ == 0) {
		rcp_buf_addstr(b, "{\"n\":1000}\n");
		append_n(g->jl, 500, 500);	/* would deadlock under the lock */
		return true;
	}
	rcp_buf_addstr(b, "{\"n\":2000}\n");
	return false;
}

/* What is appended while a rewrite runs is in the new journal. */
static void
test_rewrite_busy(void)
{
	char *dir = unit_tmpdir("journal"), *path, *cause = NULL;
	struct rcp_journal *jl;
	struct busy_gen g = { NULL, 0 };
	struct seen s = { 0 };
	size_t bad;

	path = rcp_path_join(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(rcp_journal_open(path, &jl, &cause), 0);
	append_n(jl, 1, 100);
	g.jl = jl;
	CU_ASSERT_EQUAL(rcp_journal_rewrite_gen(jl, busy_gen, &g, &cause), 0);
	append_n(jl, 1, 1);
	rcp_journal_free(jl);
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 4);
	CU_ASSERT_EQUAL(s.sum, 3501);
	CU_ASSERT_EQUAL(bad, 0);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void *
appender(void *arg)
{
	append_n(arg, 1, 100);
	return NULL;
}

static void
test_threads(void)
{
	char *dir = unit_tmpdir("journal"), *path, *cause = NULL;
	struct rcp_journal *jl;
	struct seen s = { 0 };
	pthread_t t[4];
	size_t bad;
	int i;

	path = rcp_path_join(dir, "journal");
	CU_ASSERT_EQUAL_FATAL(rcp_journal_open(path, &jl, &cause), 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, appender, jl);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	rcp_journal_free(jl);
	CU_ASSERT_EQUAL(rcp_journal_load(path, collect, &s, &bad, &cause), 0);
	CU_ASSERT_EQUAL(s.n, 400);
	CU_ASSERT_EQUAL(s.sum, 4 * 5050);
	CU_ASSERT_EQUAL(bad, 0);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

static void
test_job_records(void)
{
	json_t *req, *o, *o2;
	struct rcp_job_who who = { 1234, 99 };
	struct rcp_job *j, *k;
	char *cause = NULL, *a, *b;

	req = json_pack("{s:[ss],s:s,s:[sss],s:i,s:s,s:s,s:s,s:s,s:i}",
	    "sources", "a", "~/b", "destination", "out/", "options", "-p",
	    "--exclude", "*.o", "priority", -5, "label", "nightly", "key",
	    "k1", "cwd", "/work", "home", "/home/u", "umask", 027);
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &j, &cause), 0);
	CU_ASSERT_STRING_EQUAL(j->srcs[0], "/work/a");
	CU_ASSERT_STRING_EQUAL(j->srcs[1], "/home/u/b");
	CU_ASSERT_STRING_EQUAL(j->dst, "/work/out/");
	CU_ASSERT_EQUAL(j->uid, 1234);
	CU_ASSERT_EQUAL(j->priority, -5);
	CU_ASSERT_EQUAL(j->umask, 027);
	CU_ASSERT_TRUE(j->opts.o.preserve.f.uid);
	CU_ASSERT_STRING_EQUAL(j->pair, RCP_JOB_PAIR_LOCAL);
	json_decref(req);

	/* Paths that are not UTF-8 travel in base64, both ways. */
	req = json_pack("{s:[s],s:s}", "sources_b64", "L3RtcC9h/w==",
	    "destination_b64", "L291dP4=");
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &k, &cause), 0);
	CU_ASSERT_STRING_EQUAL(k->srcs[0], "/tmp/a\xff");
	CU_ASSERT_STRING_EQUAL(k->dst, "/out\xfe");
	json_decref(req);
	k->id = 5;
	o = rcp_job_to_json(k);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
	    json_object_get(o, "sources_b64"), 0)), "L3RtcC9h/w==");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(
	    json_object_get(o, "sources"), 0)), "/tmp/a\\xff");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o,
	    "destination_b64")), "L291dP4=");
	rcp_job_free(k);
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_json(o, &k, &cause), 0);
	CU_ASSERT_STRING_EQUAL(k->srcs[0], "/tmp/a\xff");
	CU_ASSERT_STRING_EQUAL(k->dst, "/out\xfe");
	rcp_job_free(k);
	json_decref(o);

	/* Remote paths stay as given; "localhost:" is local. */
	req = json_pack("{s:[s],s:s,s:[ss],s:s}", "sources", "u@h1:rel/a",
	    "destination", "localhost:out", "options", "--ssh-config",
	    "/etc/cfg", "cwd", "/work");
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &k, &cause), 0);
	CU_ASSERT_STRING_EQUAL(k->srcs[0], "u@h1:rel/a");
	CU_ASSERT_STRING_EQUAL(k->dst, "/work/out");
	CU_ASSERT_TRUE(k->remote);
	CU_ASSERT_STRING_EQUAL(k->pair, "u@h1\u2192local");
	CU_ASSERT_STRING_EQUAL(k->opts.remote.remote.ssh.config_file,
	    "/etc/cfg");
	rcp_job_free(k);
	json_decref(req);

	j->id = 17;
	j->rev = 3;
	j->state = RCP_CTL_PARTIAL;
	j->progress.s.bytes_copied = 1000;
	j->progress.s.errors = 2;
	j->progress.totals = true;
	j->progress.bytes_total = 2000;
	rcp_job_add_error(j, "cannot open 'x': Permission denied");
	for (int i = 0; i < RCP_CTL_MAX_WARNINGS + 3; i++)
		rcp_job_add_warning(j, "not running as root");
	CU_ASSERT_EQUAL(j->nwarnings, RCP_CTL_MAX_WARNINGS);
	o = rcp_job_to_json(j);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(o, "warnings")),
	    RCP_CTL_MAX_WARNINGS);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "state")),
	    "partial");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "bytes_total")),
	    2000);

	/* Back from the journal: the same object again. */
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_json(o, &k, &cause), 0);
	CU_ASSERT_EQUAL(rcp_job_parse_options(k, &cause), 0);
	o2 = rcp_job_to_json(k);
	a = json_dumps(o, JSON_SORT_KEYS);
	b = json_dumps(o2, JSON_SORT_KEYS);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_TRUE(k->opts.o.preserve.f.uid);
	free(a);
	free(b);
	json_decref(o2);
	rcp_job_free(k);

	/* A record missing what matters is refused, not trusted. */
	json_object_del(o, "destination");
	CU_ASSERT_EQUAL(rcp_job_from_json(o, &k, &cause), RCP_ERR_PROTO);
	free(cause);
	json_decref(o);
	rcp_job_free(j);
	rcp_job_free(NULL);
}

/* Jobs of rrm, rlink and rchm: their kind and tool's options, both ways. */
static void
test_job_kinds(void)
{
	struct rcp_job_who who = { 1000, 1000 };
	struct rcp_job *j, *k;
	json_t *req, *o;
	char *cause = NULL, *a, *b;

	req = json_pack("{s:s,s:[ss],s:[sss],s:s,s:i}", "kind", "rm",
	    "sources", "a", "/b/c", "options", "--modified-before", "3d",
	    "-e", "cwd", "/work", "umask", 022);
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &j, &cause), 0);
	CU_ASSERT_EQUAL(j->kind, RCP_JOB_RM);
	CU_ASSERT_STRING_EQUAL(j->srcs[0], "/work/a");
	CU_ASSERT_PTR_NULL(j->dst);
	CU_ASSERT_STRING_EQUAL(j->pair, RCP_JOB_PAIR_LOCAL);
	json_decref(req);
	j->id = 3;
	j->progress.w.files = 7;
	j->progress.w.dirs = 2;
	o = rcp_job_to_json(j);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "kind")),
	    "rm");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "entries_done")),
	    9);
	CU_ASSERT_TRUE(json_is_null(json_object_get(o, "destination")));
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_json(o, &k, &cause), 0);
	CU_ASSERT_EQUAL(rcp_job_parse_options(k, &cause), 0);
	CU_ASSERT_EQUAL(k->kind, RCP_JOB_RM);
	CU_ASSERT_EQUAL(k->progress.w.files, 7);
	json_decref(o);
	o = rcp_job_to_json(k);
	a = json_dumps(o, JSON_SORT_KEYS);
	json_decref(o);
	o = rcp_job_to_json(j);
	b = json_dumps(o, JSON_SORT_KEYS);
	CU_ASSERT_STRING_EQUAL(a, b);
	free(a);
	free(b);
	rcp_job_free(k);
	rcp_job_free(j);

	/* A record of a journal older than kinds is a copy's. */
	json_object_del(o, "kind");
	json_object_set_new(o, "destination", json_string("/d"));
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_json(o, &k, &cause), 0);
	CU_ASSERT_EQUAL(k->kind, RCP_JOB_COPY);
	rcp_job_free(k);
	/* A copy's record without a destination is refused. */
	json_object_del(o, "destination");
	CU_ASSERT_EQUAL(rcp_job_from_json(o, &k, &cause), RCP_ERR_PROTO);
	free(cause);
	cause = NULL;
	json_object_set_new(o, "kind", json_string("sweep"));
	CU_ASSERT_EQUAL(rcp_job_from_json(o, &k, &cause), RCP_ERR_PROTO);
	free(cause);
	json_decref(o);

	req = json_pack("{s:s,s:[s],s:s,s:[ss]}", "kind", "link", "sources",
	    "/s", "destination", "/d/", "options", "--update", "/n");
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &j, &cause), 0);
	CU_ASSERT_EQUAL(j->kind, RCP_JOB_LINK);
	CU_ASSERT_STRING_EQUAL(j->dst, "/d/");
	rcp_job_free(j);
	json_decref(req);
	req = json_pack("{s:s,s:[s],s:[ss]}", "kind", "chmod", "sources",
	    "/s", "options", "--mode", "f:g+rw d:g+rwxs");
	CU_ASSERT_EQUAL_FATAL(rcp_job_from_request(req, &who, &j, &cause), 0);
	CU_ASSERT_EQUAL(j->kind, RCP_JOB_CHMOD);
	rcp_job_free(j);
	json_decref(req);
}

/* Submits that must be refused, with the code and a word of the message. */
static void
refused(const char *json, int code, const char *word)
{
	struct rcp_job_who who = { 1000, 1000 };
	json_t *req = json_loads(json, 0, NULL);
	struct rcp_job *j = NULL;
	char *cause = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(req);
	CU_ASSERT_EQUAL(rcp_job_from_request(req, &who, &j, &cause), code);
	CU_ASSERT_PTR_NULL(j);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	if (strstr(cause, word) == NULL)
		fprintf(stderr, "\n  '%s' lacks '%s'\n", cause, word);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, word));
	free(cause);
	json_decref(req);
}

static void
test_job_refused(void)
{
	refused("{\"destination\":\"/x\"}", RCP_CTL_E_INVALID, "sources");
	refused("{\"kind\":\"sweep\",\"sources\":[\"/a\"]}",
	    RCP_CTL_E_INVALID, "unknown job kind 'sweep'");
	refused("{\"kind\":\"rm\",\"sources\":[\"/a\"],\"destination\":"
	    "\"/x\"}", RCP_CTL_E_INVALID, "no 'destination'");
	refused("{\"kind\":\"rm\",\"sources\":[\"h:/a\"]}",
	    RCP_CTL_E_INVALID, "local paths only");
	refused("{\"kind\":\"link\",\"sources\":[\"/a\"]}",
	    RCP_CTL_E_INVALID, "destination");
	refused("{\"kind\":\"link\",\"sources\":[\"/a\",\"/b\"],"
	    "\"destination\":\"/x/\"}", RCP_CTL_E_INVALID, "one source");
	refused("{\"kind\":\"link\",\"sources\":[\"/a\"],\"destination\":"
	    "\"/x\",\"options\":[\"--update\",\"rel\"]}", RCP_CTL_E_INVALID,
	    "absolute");
	refused("{\"kind\":\"chmod\",\"sources\":[\"/a\"]}",
	    RCP_CTL_E_INVALID, "nothing to change");
	refused("{\"kind\":\"chmod\",\"sources\":[\"/a\"],\"options\":"
	    "[\"--mode\",\"zz\"]}", RCP_CTL_E_INVALID, "--mode");
	refused("{\"kind\":\"chmod\",\"sources\":[\"/a\"],\"options\":"
	    "[\"--mode\",\"g+w\",\"/b\"]}", RCP_CTL_E_INVALID,
	    "'/b' is not an option");
	refused("{\"kind\":\"rm\",\"sources\":[\"/a\"],\"options\":"
	    "[\"--filter-f=/etc/shadow\"]}", RCP_CTL_E_INVALID, "filter-file");
	refused("{\"kind\":\"rm\",\"sources\":[\"/a\"],\"options\":"
	    "[\"--overwrite\"]}", RCP_CTL_E_INVALID, "overwrite");
	refused("{\"kind\":\"rm\",\"sources\":[\"/a\"],\"options\":"
	    "[\"-h\"]}", RCP_CTL_E_INVALID, "--help");
	refused("{\"kind\":\"rm\",\"sources\":[\"/a\"],\"record_files\":"
	    "true}", RCP_CTL_E_INVALID, "record_files");
	refused("{\"sources\":[],\"destination\":\"/x\"}", RCP_CTL_E_INVALID,
	    "sources");
	refused("{\"sources\":[\"/a\"]}", RCP_CTL_E_INVALID, "destination");
	refused("{\"sources\":[\"a\"],\"destination\":\"/x\"}",
	    RCP_CTL_E_INVALID, "relative");
	refused("{\"sources\":[\"/a\"],\"destination\":\"~/x\"}",
	    RCP_CTL_E_INVALID, "home");
	refused("{\"sources\":[\"/a\"],\"destination\":\"h:x\","
	    "\"options\":[\"--quic-profile\",\"lan\"]}", RCP_CTL_E_INVALID,
	    "unknown profile 'lan'");
	refused("{\"sources_b64\":[\"!!\"],\"destination\":\"/x\"}",
	    RCP_CTL_E_INVALID, "'sources_b64' item 0");
	refused("{\"sources_b64\":[\"AA==\"],\"destination\":\"/x\"}",
	    RCP_CTL_E_INVALID, "base64");
	refused("{\"sources\":[\"/a\"],\"destination_b64\":\"\"}",
	    RCP_CTL_E_INVALID, "destination_b64");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"options\":[\"--bogus\"]}", RCP_CTL_E_INVALID,
	    "unknown option '--bogus'");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"options\":[\"--chunk-size\",\"1\"]}", RCP_CTL_E_INVALID,
	    "--chunk-size");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"options\":[\"-p\",\"/stray\"]}", RCP_CTL_E_INVALID,
	    "unexpected argument '/stray'");
	refused("{\"sources\":[\"/a\",\"/b\"],\"destination\":\"/x\"}",
	    RCP_CTL_E_INVALID, "ending in '/'");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"priority\":5000}", RCP_CTL_E_INVALID, "priority");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"options\":\"-p\"}", RCP_CTL_E_INVALID, "options");
	refused("{\"sources\":[\"/a\"],\"destination\":\"/x\","
	    "\"cwd\":\"rel\"}", RCP_CTL_E_INVALID, "cwd");
	refused("{\"sources\":[\"a:/x\",\"b:/y\"],\"destination\":\"/d/\"}",
	    RCP_CTL_E_INVALID, "on one host");
}

void
test_journal_register(void)
{
	static const struct unit_test tests[] = {
		{ "append_load", test_append_load },
		{ "rewrite", test_rewrite },
		{ "rewrite while appends go on", test_rewrite_busy },
		{ "threads", test_threads },
		{ "job_records", test_job_records },
		{ "job_refused", test_job_refused },
		{ "job_kinds", test_job_kinds },
		{ NULL, NULL }
	};

	unit_add_suite("journal", tests);
}
