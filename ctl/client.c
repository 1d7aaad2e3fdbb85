/*
 * client.c: rcpctl's side of a conversation with the master: finding its
 * socket, connecting, calls and the exit codes of failed ones, and
 * waiting for or following a job to its end.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"
#include "ctl/client.h"
#include "ctl/reply.h"
#include "ctl/show.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static bool
exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* --socket, $RCP_MASTER_SOCKET, the user's own, the system-wide one. */
static char *
socket_path(const struct rcpctl *x, char **cause)
{
	const char *env = getenv("RCP_MASTER_SOCKET");
	char *path, *dir;

	if (x->socket != NULL)
		return rcp_xstrdup(x->socket);
	if (env != NULL && *env != '\0')
		return rcp_xstrdup(env);
	path = rcp_ctl_default_socket();
	if (!exists(path) && exists(RCP_CTL_SYSTEM_SOCKET)) {
		free(path);
		return rcp_xstrdup(RCP_CTL_SYSTEM_SOCKET);
	}
	/* Not a socket another user could have put in our way. */
	dir = rcp_ctl_dirname(path);
	if (exists(dir) && rcp_ctl_check_dir(dir, getuid(), false,
	    cause) != 0) {
		free(dir);
		free(path);
		return NULL;
	}
	free(dir);
	return path;
}

int
rcpctl_connect(struct rcpctl *x)
{
	char *path, *cause = NULL;
	int r;

	if ((path = socket_path(x, &cause)) == NULL) {
		fprintf(stderr, "rcpctl: %s\n", cause);
		free(cause);
		return RCP_CTL_EXIT_UNREACHABLE;
	}
	r = rcp_ctlclient_connect(path, "rcpctl " PACKAGE_VERSION, &x->c,
	    &cause);
	if (r != 0) {
		fprintf(stderr, "rcpctl: %s\n", cause);
		if (r == RCP_ERR_IO)
			fprintf(stderr, "rcpctl: is rcp-master running? "
			    "(socket '%s')\n", path);
		else if (r == RCP_ERR_TIMEOUT)
			fprintf(stderr, "rcpctl: rcp-master does not answer: "
			    "is it stopped or stuck? (socket '%s')\n", path);
		free(cause);
		free(path);
		return RCP_CTL_EXIT_UNREACHABLE;
	}
	free(path);
	return RCP_CTL_EXIT_OK;
}

int
rcpctl_call_failed(int r, int code, const char *cause)
{
	fprintf(stderr, "rcpctl: %s\n", cause);
	if (r != RCP_ERR_INVAL)
		return r == RCP_ERR_TIMEOUT ? RCP_CTL_EXIT_TIMEOUT :
		    RCP_CTL_EXIT_UNREACHABLE;
	switch (code) {
	case RCP_CTL_E_INVALID:
	case RCP_CTL_E_UNSUPPORTED:
		return RCP_CTL_EXIT_USAGE;
	case RCP_CTL_E_TIMEOUT:
		return RCP_CTL_EXIT_TIMEOUT;
	}
	return RCP_CTL_EXIT_FAILED;
}

int
rcpctl_call(struct rcpctl *x, json_t *req, int timeout_ms, json_t **result)
{
	char *cause = NULL;
	int r, code;

	r = rcp_ctlclient_call(x->c, req, timeout_ms, result, &code, &cause);
	if (r == 0)
		return RCP_CTL_EXIT_OK;
	r = rcpctl_call_failed(r, code, cause);
	free(cause);
	return r;
}

/* What watch_message found, besides exit codes. */
#define WATCH_PROGRESS	(-1)
#define WATCH_END	(-2)

/*
 * Reads one message of a watch: an event, or the reply to the request.
 * Returns WATCH_PROGRESS or WATCH_END with *job (borrowed from msg), else
 * an exit code, the reason on stderr.
 */
static int
watch_message(const json_t *msg, const json_t **job)
{
	const char *ev = json_string_value(json_object_get(msg, "event"));
	char *message = NULL;
	json_t *res;
	int r;

	if (ev == NULL) {
		if ((r = rcp_ctl_reply_parse(msg, &res, &message)) != 0) {
			/* The exit code rcpctl_call would give the same reply. */
			r = r > 0 ? rcpctl_call_failed(RCP_ERR_INVAL, r,
			    message) : rcpctl_call_failed(r, 0,
			    "malformed reply from the master");
			free(message);
			return r;
		}
		msg = res;
	}
	if ((r = rcpctl_reply_job(msg, "job", job)) != 0)
		return r;
	return ev != NULL && strcmp(ev, "end") == 0 ? WATCH_END :
	    WATCH_PROGRESS;
}

int
rcpctl_follow(struct rcpctl *x, json_int_t id, FILE *fp)
{
	json_t *req = rcp_ctl_request(0, "watch"), *msg;
	bool bar = isatty(STDERR_FILENO) && !x->json, shown = false;
	const json_t *job;
	char *cause = NULL;
	json_int_t rid;
	int r;

	if (x->interval_ms == 0)
		x->interval_ms = bar ? 200 : 1000;
	json_object_set_new(req, "job", json_integer(id));
	json_object_set_new(req, "interval_ms", json_integer(x->interval_ms));
	if (rcp_ctlclient_send(x->c, req, &rid, &cause) != 0)
		return rcpctl_call_failed(RCP_ERR_IO, 0, cause);
	for (;;) {
		if ((r = rcp_ctlclient_read(x->c, -1, &msg, &cause)) != 0) {
			if (shown)
				fputc('\n', stderr);
			r = rcpctl_call_failed(r, 0, cause);
			free(cause);
			return r;
		}
		if (json_integer_value(json_object_get(msg, "id")) != rid) {
			json_decref(msg);
			continue;
		}
		r = watch_message(msg, &job);
		if (r == WATCH_END && shown && bar)
			fputc('\n', stderr);
		if (r == WATCH_END)
			r = rcpctl_job_ended(job, x->json, fp);
		else if (r == WATCH_PROGRESS && x->json)
			rcpctl_print_json(job);
		else if (r == WATCH_PROGRESS) {
			rcpctl_show_progress(job, bar, fp);
			shown = true;
		}
		json_decref(msg);
		if (r >= 0)
			return r;
	}
}

int
rcpctl_wait_job(struct rcpctl *x, json_int_t id, FILE *fp)
{
	const json_t *job;
	json_t *req = rcp_ctl_request(0, "wait"), *res;
	int r;

	json_object_set_new(req, "job", json_integer(id));
	if (x->timeout_ms >= 0)
		json_object_set_new(req, "timeout_ms",
		    json_integer(x->timeout_ms));
	if ((r = rcpctl_call(x, req, -1, &res)) != 0) {
		/* The job lives on in the journal: say how to find its end. */
		if (r == RCP_CTL_EXIT_UNREACHABLE)
			fprintf(stderr, "rcpctl: job %lld did not end while "
			    "waited for; a job the master was running runs "
			    "again when it restarts: 'rcpctl wait %lld'\n",
			    (long long)id, (long long)id);
		return r;
	}
	if ((r = rcpctl_reply_job(res, "job", &job)) == 0)
		r = rcpctl_job_ended(job, x->json, fp);
	json_decref(res);
	return r;
}
