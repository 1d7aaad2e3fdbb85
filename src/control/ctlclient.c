/*
 * ctlclient.c: a blocking client of rcp-master: connect, hello, requests
 * with ids, replies and events read line by line under a deadline.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"

#include "base/banned.h"

/* How long the hello may take. */
#define HELLO_TIMEOUT_MS 10000

struct rcp_ctlclient {
	int			 fd;
	json_int_t		 next_id;
	struct rcp_ctl_reader	 in;
	json_t			*hello;		/* result of the hello reply */
};

static int
open_socket(const char *path, int *fdp, char **cause)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		*cause = rcp_xasprintf("socket path '%s' is too long", path);
		return RCP_ERR_INVAL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		*cause = rcp_xasprintf("socket: %s", strerror(errno));
		return RCP_ERR_IO;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		*cause = rcp_xasprintf("cannot connect to '%s': %s", path,
		    strerror(errno));
		close(fd);
		return RCP_ERR_IO;
	}
	*fdp = fd;
	return 0;
}

void
rcp_ctlclient_free(struct rcp_ctlclient *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	rcp_ctl_reader_release(&c->in);
	json_decref(c->hello);
	free(c);
}

int
rcp_ctlclient_connect(const char *path, const char *name,
    struct rcp_ctlclient **out, char **cause)
{
	struct rcp_ctlclient *c = rcp_xcalloc(1, sizeof(*c));
	json_t *req, *res = NULL;
	int r, code = 0;

	*cause = NULL;
	c->fd = -1;
	c->next_id = 1;
	rcp_ctl_reader_init(&c->in, RCP_CTL_MAX_LINE);
	if ((r = open_socket(path, &c->fd, cause)) != 0)
		goto out;
	req = rcp_ctl_request(0, "hello");
	json_object_set_new(req, "version", json_integer(RCP_CTL_VERSION));
	json_object_set_new(req, "client", json_string(name));
	r = rcp_ctlclient_call(c, req, HELLO_TIMEOUT_MS, &res, &code, cause);
	if (r == RCP_ERR_INVAL && code == RCP_CTL_E_VERSION)
		r = RCP_ERR_VERSION;
	else if (r == RCP_ERR_INVAL)
		r = RCP_ERR_PROTO;
	if (r != 0)
		goto out;
	c->hello = res;
	*out = c;
	c = NULL;
out:
	rcp_ctlclient_free(c);
	return r;
}

const json_t *
rcp_ctlclient_hello(const struct rcp_ctlclient *c)
{
	return c->hello;
}

int
rcp_ctlclient_fd(const struct rcp_ctlclient *c)
{
	return c->fd;
}

int
rcp_ctlclient_send(struct rcp_ctlclient *c, json_t *req, json_int_t *id,
    char **cause)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t off = 0;
	ssize_t n;
	int r = 0;

	if (id != NULL)
		*id = c->next_id;
	json_object_set_new(req, "id", json_integer(c->next_id++));
	rcp_ctl_encode(&b, req);
	json_decref(req);
	while (off < b.len) {
		n = send(c->fd, b.data + off, b.len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = rcp_xasprintf("cannot send to the master: %s",
			    strerror(errno));
			r = RCP_ERR_IO;
			break;
		}
		off += (size_t)n;
	}
	rcp_buf_release(&b);
	return r;
}

int
rcp_ctlclient_read(struct rcp_ctlclient *c, int timeout_ms, json_t **msg,
    char **cause)
{
	uint64_t deadline = timeout_ms < 0 ? 0 : rcp_now_ns() +
	    (uint64_t)timeout_ms * 1000000u;
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	char *line;
	size_t len;
	ssize_t n;
	int r, wait;

	for (;;) {
		r = rcp_ctl_reader_next(&c->in, &line, &len);
		if (r == 1)
			return rcp_ctl_decode(line, len, msg, cause);
		if (r < 0) {
			*cause = rcp_xstrdup("a message from the master is "
			    "too long");
			return RCP_ERR_PROTO;
		}
		wait = -1;
		if (timeout_ms >= 0) {
			uint64_t now = rcp_now_ns();
			wait = now >= deadline ? 0 :
			    (int)((deadline - now + 999999) / 1000000);
		}
		r = poll(&pfd, 1, wait);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			*cause = timeout_ms % 1000 == 0 ?
			    rcp_xasprintf("no answer from the master in %d s",
			    timeout_ms / 1000) :
			    rcp_xasprintf("no answer from the master in %d ms",
			    timeout_ms);
			return RCP_ERR_TIMEOUT;
		}
		n = rcp_ctl_reader_fill(&c->in, c->fd);
		if (n == -EAGAIN || n == -EINTR)
			continue;
		if (n <= 0) {
			*cause = n == 0 ? rcp_xstrdup("the master closed the "
			    "connection") : rcp_xasprintf("cannot read from "
			    "the master: %s", strerror((int)-n));
			return RCP_ERR_IO;
		}
	}
}

int
rcp_ctlclient_call(struct rcp_ctlclient *c, json_t *req, int timeout_ms,
    json_t **result, int *code, char **cause)
{
	json_int_t id;
	json_t *msg, *res;
	char *message = NULL;
	int r;

	if (code != NULL)
		*code = 0;
	if ((r = rcp_ctlclient_send(c, req, &id, cause)) != 0)
		return r;
	for (;;) {
		if ((r = rcp_ctlclient_read(c, timeout_ms, &msg, cause)) != 0)
			return r;
		if (json_object_get(msg, "event") == NULL &&
		    json_integer_value(json_object_get(msg, "id")) == id)
			break;
		if (json_object_get(msg, "event") == NULL &&
		    json_is_null(json_object_get(msg, "id")))
			break;	/* an error about the line itself */
		json_decref(msg);
	}
	r = rcp_ctl_reply_parse(msg, &res, &message);
	if (r == 0) {
		*result = json_incref(res);
	} else if (r > 0) {
		if (code != NULL)
			*code = r;
		*cause = message;
		r = RCP_ERR_INVAL;
	} else {
		*cause = rcp_xstrdup("malformed reply from the master");
		r = RCP_ERR_PROTO;
	}
	json_decref(msg);
	return r;
}
