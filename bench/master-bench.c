/*
 * master-bench.c: load for rcp-master, for bench/bench-master.sh.
 *
 *   master-bench latency SOCKET SRC DSTDIR CLIENTS N
 *	CLIENTS connections at once, each submitting N copies of SRC into
 *	DSTDIR one after another; prints the submit-to-acknowledge latency
 *	(p50, p99, max) over all submits, then waits for the jobs to end.
 *   master-bench jobs SOCKET SRC DSTDIR N
 *	submits N copies of SRC (in batches) and waits for all of them;
 *	prints the time from the first submit to the last end.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"

#include "base/banned.h"

struct client {
	const char	*sock;
	const char	*src;
	const char	*dst;
	int		 index;
	int		 n;
	uint64_t	*lat;		/* n latencies, ns */
	json_int_t	*ids;
	int		 failed;
};

static struct rcp_ctlclient *
connect_or_die(const char *sock)
{
	struct rcp_ctlclient *c;
	char *cause = NULL;

	if (rcp_ctlclient_connect(sock, "master-bench", &c, &cause) != 0) {
		fprintf(stderr, "master-bench: %s\n", cause);
		exit(1);
	}
	return c;
}

static json_t *
submit_req(const struct client *cl, int k)
{
	json_t *req = rcp_ctl_request(0, "submit");
	char *dst = rcp_xasprintf("%s/c%d-%d", cl->dst, cl->index, k);

	json_object_set_new(req, "sources", json_pack("[s]", cl->src));
	json_object_set_new(req, "destination", json_string(dst));
	free(dst);
	return req;
}

static void *
client_main(void *arg)
{
	struct client *cl = arg;
	struct rcp_ctlclient *c = connect_or_die(cl->sock);
	json_t *res;
	char *cause = NULL;
	uint64_t t0;
	int k;

	for (k = 0; k < cl->n; k++) {
		t0 = rcp_now_ns();
		if (rcp_ctlclient_call(c, submit_req(cl, k), 60000, &res, NULL,
		    &cause) != 0) {
			fprintf(stderr, "master-bench: submit: %s\n", cause);
			free(cause);
			cause = NULL;
			cl->failed++;
			continue;
		}
		cl->lat[k] = rcp_now_ns() - t0;
		cl->ids[k] = json_integer_value(json_object_get(
		    json_object_get(res, "job"), "id"));
		json_decref(res);
	}
	rcp_ctlclient_free(c);
	return NULL;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Waits for each job; returns the number that did not succeed. */
static int
wait_all(const char *sock, const json_int_t *ids, size_t n)
{
	struct rcp_ctlclient *c = connect_or_die(sock);
	json_t *req, *res;
	char *cause = NULL;
	const char *state;
	size_t i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		req = rcp_ctl_request(0, "wait");
		json_object_set_new(req, "job", json_integer(ids[i]));
		if (rcp_ctlclient_call(c, req, -1, &res, NULL, &cause) != 0) {
			free(cause);
			cause = NULL;
			bad++;
			continue;
		}
		state = json_string_value(json_object_get(json_object_get(res,
		    "job"), "state"));
		if (state == NULL || strcmp(state, "succeeded") != 0)
			bad++;
		json_decref(res);
	}
	rcp_ctlclient_free(c);
	return bad;
}

static int
latency(char **argv)
{
	int nclients = atoi(argv[4]), n = atoi(argv[5]), i, k, failed = 0;
	struct client *cl = rcp_xcalloc((size_t)nclients, sizeof(*cl));
	pthread_t *t = rcp_xcalloc((size_t)nclients, sizeof(*t));
	uint64_t *all = rcp_xcalloc((size_t)(nclients * n), sizeof(*all));
	json_int_t *ids = rcp_xcalloc((size_t)(nclients * n), sizeof(*ids));
	size_t m = 0;

	for (i = 0; i < nclients; i++) {
		cl[i] = (struct client){ argv[1], argv[2], argv[3], i, n,
		    all + i * n, ids + i * n, 0 };
		pthread_create(&t[i], NULL, client_main, &cl[i]);
	}
	for (i = 0; i < nclients; i++) {
		pthread_join(t[i], NULL);
		failed += cl[i].failed;
	}
	for (i = 0; i < nclients; i++)
		for (k = 0; k < n; k++)
			if (cl[i].lat[k] > 0)
				all[m++] = cl[i].lat[k];
	qsort(all, m, sizeof(*all), cmp_u64);
	if (m > 0)
		printf("submits %zu clients %d p50_ms %.3f p99_ms %.3f "
		    "max_ms %.3f\n", m, nclients, (double)all[m / 2] / 1e6,
		    (double)all[m * 99 / 100] / 1e6, (double)all[m - 1] / 1e6);
	failed += wait_all(argv[1], ids, (size_t)(nclients * n));
	free(cl);
	free(t);
	free(all);
	free(ids);
	return failed == 0 && m > 0 ? 0 : 1;
}

static int
jobs(char **argv)
{
	int n = atoi(argv[4]), k, bad;
	struct rcp_ctlclient *c = connect_or_die(argv[1]);
	json_int_t *ids = rcp_xcalloc((size_t)n, sizeof(*ids));
	struct client cl = { argv[1], argv[2], argv[3], 0, n, NULL, NULL, 0 };
	json_t *req, *batch, *res, *one;
	char *cause = NULL;
	uint64_t t0 = rcp_now_ns();
	size_t i, got = 0;

	for (k = 0; k < n;) {
		batch = json_array();
		for (; k < n && json_array_size(batch) < 500; k++) {
			one = submit_req(&cl, k);
			json_object_del(one, "id");
			json_object_del(one, "method");
			json_array_append_new(batch, one);
		}
		req = rcp_ctl_request(0, "batch");
		json_object_set_new(req, "jobs", batch);
		if (rcp_ctlclient_call(c, req, 60000, &res, NULL, &cause) != 0) {
			fprintf(stderr, "master-bench: batch: %s\n", cause);
			return 1;
		}
		for (i = 0; i < json_array_size(json_object_get(res, "jobs"));
		    i++)
			ids[got++] = json_integer_value(json_object_get(
			    json_object_get(json_array_get(json_object_get(res,
			    "jobs"), i), "job"), "id"));
		json_decref(res);
	}
	rcp_ctlclient_free(c);
	bad = wait_all(argv[1], ids, got);
	printf("jobs %zu failed %d seconds %.3f\n", got, bad,
	    (double)(rcp_now_ns() - t0) / 1e9);
	free(ids);
	return bad == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
	if (argc == 7 && strcmp(argv[1], "latency") == 0)
		return latency(argv + 1);
	if (argc == 6 && strcmp(argv[1], "jobs") == 0)
		return jobs(argv + 1);
	fprintf(stderr, "usage: master-bench latency SOCKET SRC DSTDIR CLIENTS N\n"
	    "       master-bench jobs SOCKET SRC DSTDIR N\n");
	return 2;
}
