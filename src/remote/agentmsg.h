/*
 * agentmsg.h: the messages rcpd speaks the same way on each of its
 * connections (to the master, source to destination): HELLO with the run's
 * token, ERROR replies, waiting for the reply to a request, ECHO.  Used by
 * every part of rcpd (agent.c, agent-source.c, agent-dest.c); below them
 * all, so that none of them depends on another in a circle.
 */
#ifndef RCP_AGENTMSG_H
#define RCP_AGENTMSG_H

#include <stdint.h>

#include "base/strbuf.h"
#include "net/quic.h"
#include "net/wire.h"

/*
 * Sends an ERROR reply (code, an error code of error.h sent in its wire
 * encoding, and msg) to request id on stream.  Returns what rcp_quic_send
 * returns.
 */
int rcp_agentmsg_reply_error(struct rcp_quic_conn *c, int64_t stream,
    uint32_t id, int code, const char *msg);

/*
 * Waits up to timeout_ms for the reply to request id on c, dropping any
 * other message.  0 and *out (free with rcp_quic_msg_free); an ERROR reply
 * gives RCP_ERR_PROTO with its text in *cause; no reply gives an error with
 * *cause.  The caller frees *cause.
 */
int rcp_agentmsg_await(struct rcp_quic_conn *c, uint32_t id,
    struct rcp_quic_msg **out, int timeout_ms, char **cause);

/* Appends a HELLO body: our protocol version, role and the run's token. */
void rcp_agentmsg_put_hello(struct rcp_buf *b, int role, const uint8_t *token);

/*
 * Checks a HELLO: its version and, in constant time, its token.  0 and
 * *role, or RCP_ERR_PROTO, RCP_ERR_VERSION or RCP_ERR_AUTH with *cause
 * (the caller frees it).
 */
int rcp_agentmsg_check_hello(const struct rcp_wire_frame *f,
    const uint8_t *token, int *role, char **cause);

/* Answers ECHO m on c with its own body. */
void rcp_agentmsg_echo(struct rcp_quic_conn *c, const struct rcp_quic_msg *m);

#endif
