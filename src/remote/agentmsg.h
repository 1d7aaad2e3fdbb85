/*
 * agentmsg.h: the messages rcpd speaks the same way on each of its
 * connections (to the master, source to destination): HELLO with the run's
 * token, ERROR replies, waiting for the reply to a request, ECHO.  Used by
 * every part of rcpd (agent.c, agent-source.c, agent-dest.c); below them
 * all, so that none of them depends on another in a circle.  Also the
 * bodies of the master's requests to rcpd and of what rcpd sends back, put
 * by one side and got by the other (the copy's own: copywire.h).
 */
#ifndef RCP_AGENTMSG_H
#define RCP_AGENTMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "engine/progress.h"
#include "net/cert.h"
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

/*
 * The bodies, one put and one get each.  A get decodes a whole body of len
 * bytes (what follows the fields it knows is for newer peers: ignored) and
 * returns 0, or RCP_ERR_PROTO if the body is malformed; then nothing is
 * left for the caller to free.  Error codes travel in the wire encoding of
 * error.h; a get returns them decoded.
 */

/* ERROR: an error code and its text (*text: caller frees). */
void rcp_agentmsg_put_error(struct rcp_buf *b, int code, const char *text);
int rcp_agentmsg_get_error(const void *body, size_t len, int *code,
    char **text);

/*
 * LOG: a record of level (RCP_LOG_*, RCP_LOG_OUTPUT included) and text
 * (*text: caller frees).  A level past RCP_LOG_TRACE reads as trace.
 */
void rcp_agentmsg_put_log(struct rcp_buf *b, int level, const char *text);
int rcp_agentmsg_get_log(const void *body, size_t len, int *level,
    char **text);

/*
 * PEER and LISTENING: a QUIC address ("" where the master has none to
 * give) and the fingerprint of a certificate (*addr: caller frees).
 */
void rcp_agentmsg_put_peer(struct rcp_buf *b, const char *addr,
    const uint8_t *fp);
int rcp_agentmsg_get_peer(const void *body, size_t len, char **addr,
    uint8_t fp[RCP_CERT_FP_LEN]);
/*
 * What follows a PEER's fields to the destination: the source's host as
 * the user named it and its rcpd version, for messages about it.
 * get_peer_about reads them from a whole PEER body: *host and *version
 * (caller frees) are NULL when an older master sent none.  0 or
 * RCP_ERR_PROTO.
 */
void rcp_agentmsg_put_peer_about(struct rcp_buf *b, const char *host,
    const char *version);
int rcp_agentmsg_get_peer_about(const void *body, size_t len, char **host,
    char **version);
/*
 * After the about fields: this source is one more of the copy's, beside
 * those the destination has (a host sharing their file system), not one
 * in place of them.  An older destination ignores it, so the master sends
 * it only to its own version.  peer_more reads it from a whole PEER body.
 */
void rcp_agentmsg_put_peer_more(struct rcp_buf *b);
bool rcp_agentmsg_peer_more(const void *body, size_t len);
/*
 * Or, to a destination, after the about fields: this peer is a helper, a
 * destination agent on another host of its file system that copies the
 * data it hands it (dstpool.h), not a source.  peer_kind reads the byte:
 * 0 (none), RCP_AGENTMSG_PEER_MORE or RCP_AGENTMSG_PEER_HELPER.
 */
#define RCP_AGENTMSG_PEER_MORE		1
#define RCP_AGENTMSG_PEER_HELPER	2
void rcp_agentmsg_put_peer_helper(struct rcp_buf *b);
int rcp_agentmsg_peer_kind(const void *body, size_t len);

/* SELFTEST: count echoes of a name (*name points into body). */
void rcp_agentmsg_put_selftest(struct rcp_buf *b, uint32_t count,
    const void *name, size_t n);
int rcp_agentmsg_get_selftest(const void *body, size_t len, uint32_t *count,
    const uint8_t **name, size_t *n);

/* SELFTEST_OK: the echoes that came back and their bytes. */
void rcp_agentmsg_put_selftest_ok(struct rcp_buf *b, uint32_t count,
    uint64_t bytes);
int rcp_agentmsg_get_selftest_ok(const void *body, size_t len,
    uint32_t *count, uint64_t *bytes);

/* SRC_PREFETCH: the trees to read ahead (*paths: rcp_strv_free). */
void rcp_agentmsg_put_prefetch(struct rcp_buf *b, const char *const *paths,
    size_t n);
int rcp_agentmsg_get_prefetch(const void *body, size_t len, char ***paths,
    size_t *n);

/*
 * FILES: destination paths of copied files, at most RCP_PROTO_FILES_BATCH
 * a message from us; a get takes up to RCP_PROTO_MAX_PATHS, none empty
 * (*paths: rcp_strv_free).
 */
void rcp_agentmsg_put_files(struct rcp_buf *b, const char *const *paths,
    size_t n);
int rcp_agentmsg_get_files(const void *body, size_t len, char ***paths,
    size_t *n);

/* DONE, the answer to SHUTDOWN: the agent's status and its figures. */
void rcp_agentmsg_put_done(struct rcp_buf *b, int status,
    const struct rcp_runstats *rs);
int rcp_agentmsg_get_done(const void *body, size_t len, int *status,
    struct rcp_runstats *rs);

#endif
