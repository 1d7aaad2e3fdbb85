/*
 * agentmsg.c: the messages every part of rcpd speaks on any of its
 * connections: hello, error replies, awaiting a reply, echo; and the
 * bodies of the master's requests and the agents' answers.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "net/proto.h"
#include "remote/agentmsg.h"

#include "base/banned.h"

int
rcp_agentmsg_reply_error(struct rcp_quic_conn *c, int64_t stream,
    uint32_t id, int code, const char *msg)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int r;

	rcp_agentmsg_put_error(&b, code, msg);
	r = rcp_quic_send(c, stream, RCP_MSG_ERROR, id, b.data, b.len, 5000);
	rcp_buf_release(&b);
	return r;
}

int
rcp_agentmsg_await(struct rcp_quic_conn *c, uint32_t id,
    struct rcp_quic_msg **out, int timeout_ms, char **cause)
{
	struct rcp_quic_msg *m;
	char *text = NULL;
	int code, r;

	for (;;) {
		if ((r = rcp_quic_recv(c, &m, timeout_ms)) != 0) {
			*cause = rcp_xasprintf("no reply: %s",
			    rcp_quic_conn_error(c) != NULL ?
			    rcp_quic_conn_error(c) : "timed out");
			return r;
		}
		if (!m->fin && m->f.id == id)
			break;
		rcp_quic_msg_free(m);
	}
	if (m->f.type == RCP_MSG_ERROR) {
		if (rcp_agentmsg_get_error(m->f.body, m->f.len, &code,
		    &text) != 0)
			text = rcp_xstrdup("malformed error reply");
		*cause = text;
		rcp_quic_msg_free(m);
		return RCP_ERR_PROTO;
	}
	*out = m;
	return 0;
}

void
rcp_agentmsg_put_hello(struct rcp_buf *b, int role, const uint8_t *token)
{
	rcp_wire_put_u32(b, RCP_PROTO_VERSION);
	rcp_wire_put_u8(b, (uint8_t)role);
	rcp_wire_put_bytes(b, token, RCP_TOKEN_LEN);
}

int
rcp_agentmsg_check_hello(const struct rcp_wire_frame *f, const uint8_t *token,
    int *role, char **cause)
{
	struct rcp_wire_cursor c;
	const uint8_t *tok;
	uint32_t version;
	uint8_t r;
	size_t n;

	rcp_wire_cursor_init(&c, f->body, f->len);
	if (f->type != RCP_MSG_HELLO || rcp_wire_get_u32(&c, &version) != 0 ||
	    rcp_wire_get_u8(&c, &r) != 0 ||
	    rcp_wire_get_bytes(&c, &tok, &n, RCP_TOKEN_LEN) != 0) {
		*cause = rcp_xstrdup("malformed hello");
		return RCP_ERR_PROTO;
	}
	if (version != RCP_PROTO_VERSION) {
		*cause = rcp_xasprintf("peer speaks protocol %u, we speak %u",
		    version, RCP_PROTO_VERSION);
		return RCP_ERR_VERSION;
	}
	/* Constant time: the token is a secret. */
	if (n != RCP_TOKEN_LEN || gnutls_memcmp(tok, token, n) != 0) {
		*cause = rcp_xstrdup("hello with a wrong token");
		return RCP_ERR_AUTH;
	}
	*role = r;
	return 0;
}

void
rcp_agentmsg_echo(struct rcp_quic_conn *c, const struct rcp_quic_msg *m)
{
	rcp_quic_send(c, m->stream, RCP_MSG_ECHO_OK, m->f.id, m->f.body,
	    m->f.len, 10000);
}

void
rcp_agentmsg_put_error(struct rcp_buf *b, int code, const char *text)
{
	rcp_wire_put_u32(b, (uint32_t)rcp_err_to_wire(code));
	rcp_wire_put_str(b, text);
}

int
rcp_agentmsg_get_error(const void *body, size_t len, int *code, char **text)
{
	struct rcp_wire_cursor c;
	uint32_t w;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, &w) != 0 ||
	    rcp_wire_get_str(&c, text, RCP_PROTO_MAX_TEXT) != 0)
		return RCP_ERR_PROTO;
	*code = rcp_err_from_wire((int32_t)w);
	return 0;
}

void
rcp_agentmsg_put_log(struct rcp_buf *b, int level, const char *text)
{
	/* Shifted by one: RCP_LOG_OUTPUT is -1. */
	rcp_wire_put_u8(b, (uint8_t)(level + 1));
	rcp_wire_put_str(b, text);
}

int
rcp_agentmsg_get_log(const void *body, size_t len, int *level, char **text)
{
	struct rcp_wire_cursor c;
	uint8_t lvl;

	/*
	 * Capped by the frame, not by RCP_PROTO_MAX_TEXT: an error names its
	 * path, which in a tree deeper than PATH_MAX may be longer than that.
	 */
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u8(&c, &lvl) != 0 ||
	    rcp_wire_get_str(&c, text, RCP_PROTO_MAX_FRAME) != 0)
		return RCP_ERR_PROTO;
	/* A level we do not know is a finer one of a newer agent. */
	*level = lvl > RCP_LOG_TRACE + 1 ? RCP_LOG_TRACE : (int)lvl - 1;
	return 0;
}

void
rcp_agentmsg_put_peer(struct rcp_buf *b, const char *addr, const uint8_t *fp)
{
	rcp_wire_put_str(b, addr);
	rcp_wire_put_bytes(b, fp, RCP_CERT_FP_LEN);
}

int
rcp_agentmsg_get_peer(const void *body, size_t len, char **addr,
    uint8_t fp[RCP_CERT_FP_LEN])
{
	struct rcp_wire_cursor c;
	const uint8_t *p;
	size_t n;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_str(&c, addr, RCP_PROTO_MAX_NAME) != 0)
		return RCP_ERR_PROTO;
	if (rcp_wire_get_bytes(&c, &p, &n, RCP_CERT_FP_LEN) != 0 ||
	    n != RCP_CERT_FP_LEN) {
		free(*addr);
		*addr = NULL;
		return RCP_ERR_PROTO;
	}
	memcpy(fp, p, RCP_CERT_FP_LEN);
	return 0;
}

void
rcp_agentmsg_put_peer_about(struct rcp_buf *b, const char *host,
    const char *version)
{
	rcp_wire_put_str(b, host);
	rcp_wire_put_str(b, version);
}

int
rcp_agentmsg_get_peer_about(const void *body, size_t len, char **host,
    char **version)
{
	struct rcp_wire_cursor c;
	const uint8_t *p;
	char *addr = NULL;
	size_t n;

	*host = *version = NULL;
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_str(&c, &addr, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_bytes(&c, &p, &n, RCP_CERT_FP_LEN) != 0) {
		free(addr);
		return RCP_ERR_PROTO;
	}
	free(addr);
	if (rcp_wire_get_str(&c, host, RCP_PROTO_MAX_NAME) != 0)
		return 0;	/* an older master */
	if (rcp_wire_get_str(&c, version, RCP_PROTO_MAX_NAME) != 0) {
		free(*host);
		*host = NULL;
		return RCP_ERR_PROTO;
	}
	return 0;
}

void
rcp_agentmsg_put_peer_more(struct rcp_buf *b)
{
	rcp_wire_put_u8(b, RCP_AGENTMSG_PEER_MORE);
}

void
rcp_agentmsg_put_peer_helper(struct rcp_buf *b)
{
	rcp_wire_put_u8(b, RCP_AGENTMSG_PEER_HELPER);
}

bool
rcp_agentmsg_peer_more(const void *body, size_t len)
{
	return rcp_agentmsg_peer_kind(body, len) == RCP_AGENTMSG_PEER_MORE;
}

int
rcp_agentmsg_peer_kind(const void *body, size_t len)
{
	struct rcp_wire_cursor c;
	const uint8_t *p;
	char *s = NULL;
	uint8_t more = 0;
	size_t n, i;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_bytes(&c, &p, &n, RCP_CERT_FP_LEN) != 0) {
		free(s);
		return false;
	}
	for (i = 0; i < 2; i++) {
		free(s);
		s = NULL;
		if (rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) != 0)
			return false;
	}
	free(s);
	return rcp_wire_get_u8(&c, &more) == 0 ? more : 0;
}

void
rcp_agentmsg_put_selftest(struct rcp_buf *b, uint32_t count, const void *name,
    size_t n)
{
	rcp_wire_put_u32(b, count);
	rcp_wire_put_bytes(b, name, n);
}

int
rcp_agentmsg_get_selftest(const void *body, size_t len, uint32_t *count,
    const uint8_t **name, size_t *n)
{
	struct rcp_wire_cursor c;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, count) != 0 ||
	    rcp_wire_get_bytes(&c, name, n, RCP_PROTO_MAX_NAME) != 0)
		return RCP_ERR_PROTO;
	return 0;
}

void
rcp_agentmsg_put_selftest_ok(struct rcp_buf *b, uint32_t count,
    uint64_t bytes)
{
	rcp_wire_put_u32(b, count);
	rcp_wire_put_u64(b, bytes);
}

int
rcp_agentmsg_get_selftest_ok(const void *body, size_t len, uint32_t *count,
    uint64_t *bytes)
{
	struct rcp_wire_cursor c;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, count) != 0 ||
	    rcp_wire_get_u64(&c, bytes) != 0)
		return RCP_ERR_PROTO;
	return 0;
}

void
rcp_agentmsg_put_prefetch(struct rcp_buf *b, const char *const *paths,
    size_t n)
{
	rcp_wire_put_strv(b, paths, n);
}

int
rcp_agentmsg_get_prefetch(const void *body, size_t len, char ***paths,
    size_t *n)
{
	struct rcp_wire_cursor c;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_strv(&c, paths, n, RCP_PROTO_MAX_PATHS,
	    RCP_PROTO_MAX_NAME) != 0)
		return RCP_ERR_PROTO;
	return 0;
}

void
rcp_agentmsg_put_files(struct rcp_buf *b, const char *const *paths, size_t n)
{
	rcp_wire_put_strv(b, paths, n);
}

int
rcp_agentmsg_get_files(const void *body, size_t len, char ***paths,
    size_t *n)
{
	struct rcp_wire_cursor c;
	size_t i;

	rcp_wire_cursor_init(&c, body, len);
	/* A path may be deeper than PATH_MAX: only the frame bounds it. */
	if (rcp_wire_get_strv(&c, paths, n, RCP_PROTO_MAX_PATHS,
	    RCP_PROTO_MAX_FRAME) != 0)
		return RCP_ERR_PROTO;
	for (i = 0; i < *n; i++)
		if ((*paths)[i][0] == '\0') {
			rcp_strv_free(*paths, *n);
			*paths = NULL;
			*n = 0;
			return RCP_ERR_PROTO;
		}
	return 0;
}

void
rcp_agentmsg_put_done(struct rcp_buf *b, int status,
    const struct rcp_runstats *rs)
{
	rcp_wire_put_u32(b, (uint32_t)rcp_err_to_wire(status));
	rcp_wire_put_u64(b, rs->wall_ns);
	rcp_wire_put_u64(b, rs->cpu_ns);
	rcp_wire_put_u64(b, rs->peak_rss);
}

int
rcp_agentmsg_get_done(const void *body, size_t len, int *status,
    struct rcp_runstats *rs)
{
	struct rcp_wire_cursor c;
	uint32_t w;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, &w) != 0 ||
	    rcp_wire_get_u64(&c, &rs->wall_ns) != 0 ||
	    rcp_wire_get_u64(&c, &rs->cpu_ns) != 0 ||
	    rcp_wire_get_u64(&c, &rs->peak_rss) != 0)
		return RCP_ERR_PROTO;
	*status = rcp_err_from_wire((int32_t)w);
	return 0;
}
