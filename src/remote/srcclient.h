/*
 * srcclient.h: the destination's client of the source agent, reading a
 * source tree over QUIC.
 *
 * In a remote copy the destination agent runs the copy engine; its source
 * is rcp_srcclient_ops, which turns each source operation into a request to
 * the source agent, where rcp_srcserve (srcserve.h) answers it from the
 * file system with fd-relative calls on handles.  Small files come back
 * with their open (one round trip each); larger ones in 1 MiB reads,
 * sparse files as data segments only.  Several engine workers share the
 * connection, each request waiting for its own reply.
 */
#ifndef RCP_SRCCLIENT_H
#define RCP_SRCCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "fs/srcfs.h"
#include "net/quic.h"

struct rcp_srcclient;

/*
 * A client of the source agent on c, which it then reads alone (it starts
 * a reader thread).  Pass it as ctx with rcp_srcclient_ops to
 * rcp_copy_set_source.
 */
struct rcp_srcclient *rcp_srcclient_new(struct rcp_quic_conn *c);
/*
 * A client with no connection: each request (its type and body) goes to
 * fn, which returns the reply as a message the client then owns and frees
 * with rcp_quic_msg_free (type RCP_MSG_SRC_OK or RCP_MSG_SRC_ERR), or NULL
 * for a source agent that is gone; for a one-way request (CLOSE) the
 * client frees what fn returns unread.  Calls come from the engine's
 * threads, so fn locks what it shares.  For the fuzzer of the client's
 * reply decoding (tests/fuzz/fuzz-srcclient.c).  Free with
 * rcp_srcclient_free.
 */
typedef struct rcp_quic_msg *rcp_srcclient_answer_fn(void *arg,
    uint16_t type, const void *body, size_t len);
struct rcp_srcclient *rcp_srcclient_new_answered(rcp_srcclient_answer_fn *fn,
    void *arg);
/*
 * Closes the connection (the reader ends with it), then frees r and every
 * handle still open.  NULL is a no-op.
 */
void rcp_srcclient_free(struct rcp_srcclient *r);

/*
 * Names the source agent for r's messages: its host as the user gave it
 * and its rcpd version (NULL or "": unknown; copied), and the log (copied;
 * NULL: none) where r says once that an older agent lacks a request a copy
 * needs.  A request the agent does not know fails with RCP_ERR_VERSION.
 * Call before the copy runs.
 */
void rcp_srcclient_set_peer(struct rcp_srcclient *r, const char *host,
    const char *version, const struct rcp_log *log);

extern const struct rcp_src_ops rcp_srcclient_ops;

/*
 * Whether the file name of directory handle dir came whole with its
 * listing (opening it there costs no round trip).  ctx is the client.
 */
bool rcp_srcclient_has_inline(void *ctx, int dir, const char *name);

/*
 * Sends a request of another kind than the source operations on r's
 * connection and waits for its reply, which must be an SRC_OK (0, *out
 * the caller's to free with rcp_quic_msg_free) or an SRC_ERR (its error);
 * RCP_ERR_GONE if the agent is lost, RCP_ERR_VERSION if it does not know
 * the request.  For the destination helpers (dstpool.h), whose agents
 * answer as a source agent does.
 */
int rcp_srcclient_call(struct rcp_srcclient *r, uint16_t type,
    const void *body, size_t len, struct rcp_quic_msg **out);

/*
 * The error code of an SRC_ERR's code (wire encoding, error.h): the source
 * host's -errno (-EIO from its disk stays -EIO), or an RCP_ERR_*; never
 * RCP_ERR_GONE, which only the client's own connection reports, and never 0.
 */
int rcp_srcclient_err(int32_t wire);

#endif
