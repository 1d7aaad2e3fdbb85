/*
 * test_master.c: rcp-master in-process, on a socket of its own, driven by
 * clients from several threads: jobs submitted at once all finish and the
 * data is right, idempotency keys, cancel of queued and running jobs, the
 * protocol's refusals on a raw socket, and jobs coming back from the
 * journal after a shutdown that requeued them.  Also run under TSan.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"
#include "service/master.h"
#include "unit.h"

#include "base/banned.h"

struct fixture {
	char			*dir;
	char			*sock;
	char			*state;
	struct rcp_master	*m;
	pthread_t		 thread;
};

static void *
master_main(void *arg)
{
	struct fixture *f = arg;

	rcp_master_run(f->m);
	return NULL;
}

static void
start(struct fixture *f, int workers)
{
	struct rcp_master_opts o;
	char *cause = NULL;

	rcp_master_opts_init(&o);
	o.socket_path = f->sock;
	o.state_dir = f->state;
	o.workers = workers;
	o.hello_timeout_ns = 500000000u;
	CU_ASSERT_EQUAL_FATAL(rcp_master_new(&o, &f->m, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&f->thread, NULL, master_main, f),
	    0);
}

static void
stop(struct fixture *f, bool requeue)
{
	rcp_master_shutdown(f->m, requeue);
	pthread_join(f->thread, NULL);
	rcp_master_free(f->m);
	f->m = NULL;
}

static void
setup(struct fixture *f, int workers)
{
	memset(f, 0, sizeof(*f));
	f->dir = unit_tmpdir("master");
	f->sock = rcp_path_join(f->dir, "sock");
	f->state = rcp_path_join(f->dir, "state");
	start(f, workers);
}

static void
teardown(struct fixture *f)
{
	if (f->m != NULL)
		stop(f, false);
	unit_rmtree(f->dir);
	free(f->dir);
	free(f->sock);
	free(f->state);
}

static struct rcp_ctlclient *
client(struct fixture *f)
{
	struct rcp_ctlclient *c = NULL;
	char *cause = NULL;

	if (rcp_ctlclient_connect(f->sock, "test", &c, &cause) != 0) {
		fprintf(stderr, "\n  connect: %s\n", cause);
		free(cause);
	}
	return c;
}

/* Makes dir/name holding n files of a few bytes. */
static char *
make_tree(const char *dir, const char *name, int n)
{
	char *root = rcp_path_join(dir, name), *p, data[64];
	int i;

	mkdir(root, 0755);
	for (i = 0; i < n; i++) {
		p = rcp_xasprintf("%s/f%d", root, i);
		snprintf(data, sizeof(data), "%s file %d\n", name, i);
		unit_write_file(p, data, strlen(data));
		free(p);
	}
	return root;
}

/* Submits src -> dst with options (NULL-terminated); returns the job id. */
static json_int_t
submit(struct rcp_ctlclient *c, const char *src, const char *dst,
    const char *key, const char *const *opts, int *code)
{
	json_t *req = rcp_ctl_request(0, "submit"), *res, *o = json_array();
	char *cause = NULL;
	json_int_t id = 0;

	json_object_set_new(req, "sources", json_pack("[s]", src));
	json_object_set_new(req, "destination", json_string(dst));
	while (opts != NULL && *opts != NULL)
		json_array_append_new(o, json_string(*opts++));
	json_object_set_new(req, "options", o);
	if (key != NULL)
		json_object_set_new(req, "key", json_string(key));
	if (rcp_ctlclient_call(c, req, 10000, &res, code, &cause) != 0) {
		free(cause);
		return 0;
	}
	id = json_integer_value(json_object_get(json_object_get(res, "job"),
	    "id"));
	json_decref(res);
	return id;
}

/* Waits for job id; returns its final state, or -1. */
static int
wait_state(struct rcp_ctlclient *c, json_int_t id, json_t **job)
{
	json_t *req = rcp_ctl_request(0, "wait"), *res;
	char *cause = NULL;
	int state;

	json_object_set_new(req, "job", json_integer(id));
	if (rcp_ctlclient_call(c, req, 60000, &res, NULL, &cause) != 0) {
		fprintf(stderr, "\n  wait %lld: %s\n", (long long)id, cause);
		free(cause);
		return -1;
	}
	state = rcp_ctl_state_parse(json_string_value(json_object_get(
	    json_object_get(res, "job"), "state")));
	if (job != NULL)
		*job = json_incref(json_object_get(res, "job"));
	json_decref(res);
	return state;
}

struct worker_arg {
	struct fixture	*f;
	int		 n;
	int		 index;
	int		 ok;
};

static void *
submitter(void *arg)
{
	struct worker_arg *w = arg;
	struct rcp_ctlclient *c = client(w->f);
	json_int_t ids[16];
	char *src, *dst, name[32], *p;
	int i, code;

	if (c == NULL)
		return NULL;
	snprintf(name, sizeof(name), "src%d", w->index);
	src = make_tree(w->f->dir, name, 5);
	for (i = 0; i < w->n; i++) {
		dst = rcp_xasprintf("%s/dst%d-%d", w->f->dir, w->index, i);
		ids[i] = submit(c, src, dst, NULL, NULL, &code);
		free(dst);
	}
	for (i = 0; i < w->n; i++) {
		if (ids[i] <= 0 || wait_state(c, ids[i], NULL) !=
		    RCP_CTL_SUCCEEDED)
			continue;
		p = rcp_xasprintf("%s/dst%d-%d/f4", w->f->dir, w->index, i);
		if (access(p, R_OK) == 0)
			w->ok++;
		free(p);
	}
	free(src);
	rcp_ctlclient_free(c);
	return NULL;
}

static void
test_many_clients(void)
{
	struct fixture f;
	struct worker_arg w[4];
	pthread_t t[4];
	int i;

	setup(&f, 3);
	for (i = 0; i < 4; i++) {
		w[i] = (struct worker_arg){ &f, 12, i, 0 };
		pthread_create(&t[i], NULL, submitter, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CU_ASSERT_EQUAL(w[i].ok, 12);
	}
	teardown(&f);
}

static void
test_keys_and_cancel(void)
{
	static const char *const slow[] = { "--ops-throttle", "20", NULL };
	struct fixture f;
	struct rcp_ctlclient *c;
	char *src, *dst, *cause = NULL;
	json_int_t a, b, running, queued;
	json_t *req, *res, *job = NULL;
	int code, i, state = -1;

	setup(&f, 1);
	c = client(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	src = make_tree(f.dir, "src", 100);
	dst = rcp_path_join(f.dir, "dst");

	/* The same key twice: one job. */
	a = submit(c, src, dst, "k1", slow, &code);
	b = submit(c, src, dst, "k1", slow, &code);
	CU_ASSERT_TRUE(a > 0);
	CU_ASSERT_EQUAL(a, b);
	running = a;
	/* One worker: the next one waits in the queue. */
	queued = submit(c, src, dst, "k2", slow, &code);
	CU_ASSERT_TRUE(queued > a);

	for (i = 0; i < 500; i++) {
		req = rcp_ctl_request(0, "status");
		json_object_set_new(req, "job", json_integer(running));
		if (rcp_ctlclient_call(c, req, 5000, &res, NULL, &cause) != 0)
			break;
		state = rcp_ctl_state_parse(json_string_value(json_object_get(
		    json_object_get(res, "job"), "state")));
		json_decref(res);
		if (state == RCP_CTL_RUNNING)
			break;
		usleep(10000);
	}
	CU_ASSERT_EQUAL(state, RCP_CTL_RUNNING);

	req = rcp_ctl_request(0, "cancel");
	json_object_set_new(req, "job", json_integer(queued));
	CU_ASSERT_EQUAL(rcp_ctlclient_call(c, req, 5000, &res, NULL, &cause),
	    0);
	json_decref(res);
	CU_ASSERT_EQUAL(wait_state(c, queued, NULL), RCP_CTL_CANCELED);

	req = rcp_ctl_request(0, "cancel");
	json_object_set_new(req, "job", json_integer(running));
	CU_ASSERT_EQUAL(rcp_ctlclient_call(c, req, 5000, &res, NULL, &cause),
	    0);
	json_decref(res);
	CU_ASSERT_EQUAL(wait_state(c, running, &job), RCP_CTL_CANCELED);
	/* Stopped early: 100 entries at 20 a second take 5 s. */
	CU_ASSERT_TRUE(json_integer_value(json_object_get(job, "files_done")) <
	    100);
	json_decref(job);

	/* A finished job cannot be canceled; an unknown one is not found. */
	req = rcp_ctl_request(0, "cancel");
	json_object_set_new(req, "job", json_integer(9999));
	CU_ASSERT_EQUAL(rcp_ctlclient_call(c, req, 5000, &res, &code, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(code, RCP_CTL_E_NOT_FOUND);
	free(cause);

	rcp_ctlclient_free(c);
	free(src);
	free(dst);
	teardown(&f);
}

/* Sends n raw bytes and returns the next line the master sends. */
static const char *
raw_n(int fd, const char *send_, size_t n, char *buf, size_t cap)
{
	ssize_t got;
	size_t len = 0;

	if (n > 0 && write(fd, send_, n) != (ssize_t)n)
		return "write failed";
	while (len + 1 < cap) {
		got = read(fd, buf + len, 1);
		if (got <= 0)
			return "eof";
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return buf;
}

static const char *
raw(int fd, const char *line, char *buf, size_t cap)
{
	return raw_n(fd, line, strlen(line), buf, cap);
}

static int
raw_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
test_raw_protocol(void)
{
	struct fixture f;
	char buf[4096], *big;
	int fd, quiet;

	setup(&f, 1);
	fd = raw_connect(f.sock);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	/* A client that never speaks does not hold the others up. */
	quiet = raw_connect(f.sock);
	CU_ASSERT_TRUE(quiet >= 0);

	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":1,\"method\":\"list\"}\n",
	    buf, sizeof(buf)), "hello_required"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":2,\"method\":\"hello\","
	    "\"version\":1}\n", buf, sizeof(buf)), "\"protocol\":1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{oops\n", buf, sizeof(buf)),
	    "parse_error"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "[1]\n", buf, sizeof(buf)),
	    "parse_error"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"method\":\"list\"}\n", buf,
	    sizeof(buf)), "bad_request"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":3,\"method\":\"frob\"}\n",
	    buf, sizeof(buf)), "unknown_method"));
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":\"s\",\"method\":\"status\","
	    "\"job\":\"x\"}\n", buf, sizeof(buf)), "\"id\":\"s\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "invalid_argument"));
	/* An oversized line is refused; the connection goes on. */
	big = rcp_xmalloc(RCP_CTL_MAX_LINE + 10);
	memset(big, 'x', RCP_CTL_MAX_LINE + 9);
	big[RCP_CTL_MAX_LINE + 9] = '\n';
	CU_ASSERT_PTR_NOT_NULL(strstr(raw_n(fd, big, RCP_CTL_MAX_LINE + 10, buf,
	    sizeof(buf)), "line_too_long"));
	free(big);
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":4,\"method\":\"version\","
	    "\"extra\":[1,2]}\n", buf, sizeof(buf)), "\"id\":4,\"result\""));
	close(fd);

	/* The silent client is dropped after the hello timeout. */
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(quiet, "", buf, sizeof(buf)),
	    "hello_required"));
	CU_ASSERT_STRING_EQUAL(raw(quiet, "", buf, sizeof(buf)), "eof");
	close(quiet);

	/* A wrong protocol version is refused and the connection closed. */
	fd = raw_connect(f.sock);
	CU_ASSERT_PTR_NOT_NULL(strstr(raw(fd, "{\"id\":1,\"method\":\"hello\","
	    "\"version\":99}\n", buf, sizeof(buf)), "version_mismatch"));
	CU_ASSERT_STRING_EQUAL(raw(fd, "", buf, sizeof(buf)), "eof");
	close(fd);
	teardown(&f);
}

static void
test_restart(void)
{
	static const char *const slow[] = { "--ops-throttle", "50", NULL };
	struct fixture f;
	struct rcp_ctlclient *c;
	char *src, *dst, *p, *cause = NULL;
	json_int_t id, id2;
	json_t *job = NULL, *req, *res;
	int code, i, state = -1;

	setup(&f, 1);
	c = client(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	src = make_tree(f.dir, "src", 60);
	dst = rcp_path_join(f.dir, "dst");
	id = submit(c, src, dst, NULL, slow, &code);
	id2 = submit(c, src, dst, NULL, NULL, &code);	/* stays queued */
	for (i = 0; i < 500 && state != RCP_CTL_RUNNING; i++) {
		usleep(20000);
		req = rcp_ctl_request(0, "status");
		json_object_set_new(req, "job", json_integer(id));
		if (rcp_ctlclient_call(c, req, 5000, &res, NULL, &cause) != 0)
			break;
		job = json_object_get(res, "job");
		if (json_integer_value(json_object_get(job, "files_done")) > 5)
			state = RCP_CTL_RUNNING;
		json_decref(res);
	}
	CU_ASSERT_EQUAL(state, RCP_CTL_RUNNING);
	rcp_ctlclient_free(c);
	stop(&f, true);		/* the running job goes back to the queue */

	start(&f, 1);
	c = client(&f);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(wait_state(c, id, &job), RCP_CTL_SUCCEEDED);
	CU_ASSERT_TRUE(json_is_true(json_object_get(job, "restart")));
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(job, "attempts")), 2);
	/* What the first run had copied was left alone. */
	CU_ASSERT_TRUE(json_integer_value(json_object_get(json_object_get(job,
	    "stats"), "files_unchanged")) > 0);
	json_decref(job);
	p = rcp_path_join(dst, "f59");
	CU_ASSERT_EQUAL(access(p, R_OK), 0);
	free(p);
	/* The second job was queued behind it, into the same destination. */
	CU_ASSERT_EQUAL(wait_state(c, id2, NULL), RCP_CTL_FAILED);
	/* New ids do not reuse old ones. */
	CU_ASSERT_TRUE(submit(c, src, dst, NULL, NULL, &code) > id2);
	rcp_ctlclient_free(c);
	free(src);
	free(dst);
	teardown(&f);
}

static void
test_second_master(void)
{
	struct fixture f;
	struct rcp_master_opts o;
	struct rcp_master *m = NULL;
	char *cause = NULL;

	setup(&f, 1);
	rcp_master_opts_init(&o);
	o.socket_path = f.sock;
	o.state_dir = f.state;
	CU_ASSERT_EQUAL(rcp_master_new(&o, &m, &cause), RCP_ERR_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "another") :
	    NULL);
	free(cause);
	teardown(&f);
}

void
test_master_register(void)
{
	static const struct unit_test tests[] = {
		{ "many_clients", test_many_clients },
		{ "keys_and_cancel", test_keys_and_cancel },
		{ "raw_protocol", test_raw_protocol },
		{ "restart", test_restart },
		{ "second_master", test_second_master },
		{ NULL, NULL }
	};

	unit_add_suite("master", tests);
}
