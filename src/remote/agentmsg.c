/*
 * agentmsg.c: the messages every part of rcpd speaks on any of its
 * connections: hello, error replies, awaiting a reply, echo.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include <gnutls/gnutls.h>

#include "base/error.h"
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

	rcp_wire_put_u32(&b, (uint32_t)rcp_err_to_wire(code));
	rcp_wire_put_str(&b, msg);
	r = rcp_quic_send(c, stream, RCP_MSG_ERROR, id, b.data, b.len, 5000);
	rcp_buf_release(&b);
	return r;
}

int
rcp_agentmsg_await(struct rcp_quic_conn *c, uint32_t id,
    struct rcp_quic_msg **out, int timeout_ms, char **cause)
{
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;
	uint32_t code;
	char *text = NULL;
	int r;

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
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &code) != 0 ||
		    rcp_wire_get_str(&cur, &text, RCP_PROTO_MAX_TEXT) != 0)
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
