/*
 * srcremote.h: the destination's client of the source agent, reading a
 * source tree over QUIC.
 *
 * In a remote copy the destination agent runs the copy engine; its source
 * is rcp_src_remote, which turns each source operation into a request to
 * the source agent, where rcp_srcserve (srcserve.h) answers it from the
 * file system with fd-relative calls on handles.  Small files come back
 * with their open (one round trip each); larger ones in 1 MiB reads,
 * sparse files as data segments only.  Several engine workers share the
 * connection, each request waiting for its own reply.
 */
#ifndef RCP_SRCREMOTE_H
#define RCP_SRCREMOTE_H

#include "fs/srcfs.h"
#include "net/quic.h"

struct rcp_srcremote;

/*
 * A client of the source agent on c, which it then reads alone (it starts
 * a reader thread).  Pass it as ctx with rcp_src_remote to
 * rcp_copy_set_source.
 */
struct rcp_srcremote *rcp_srcremote_new(struct rcp_quic_conn *c);
void rcp_srcremote_free(struct rcp_srcremote *r);

extern const struct rcp_src_ops rcp_src_remote;

#endif
