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

#include <stdint.h>

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
 * Closes the connection (the reader ends with it), then frees r and every
 * handle still open.  NULL is a no-op.
 */
void rcp_srcclient_free(struct rcp_srcclient *r);

extern const struct rcp_src_ops rcp_srcclient_ops;

/*
 * The error code of an SRC_ERR's code (wire encoding, error.h): the source
 * host's -errno (-EIO from its disk stays -EIO), or an RCP_ERR_*; never
 * RCP_ERR_GONE, which only the client's own connection reports, and never 0.
 */
int rcp_srcclient_err(int32_t wire);

#endif
