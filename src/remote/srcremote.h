/*
 * srcremote.h: reading a source tree over QUIC.
 *
 * In a remote copy the destination agent runs the copy engine; its source
 * is rcp_src_remote, which turns each source operation into a request to
 * the source agent, where rcp_srcserve answers it from the file system with
 * fd-relative calls on handles.  Small files come back with their open
 * (one round trip each); larger ones in 1 MiB reads, sparse files as data
 * segments only.  Several engine workers share the connection, each request
 * waiting for its own reply.
 */
#ifndef RCP_SRCREMOTE_H
#define RCP_SRCREMOTE_H

#include <stdbool.h>

#include "base/log.h"
#include "fs/srcfs.h"
#include "net/quic.h"

/* --- the source agent's side ------------------------------------------- */

struct rcp_srcserve;
struct rcp_srccache;

/*
 * A server with nthreads workers, serving listings from cache (srccache.h,
 * not taken over; NULL: none) where it can.  Free with rcp_srcserve_free.
 */
struct rcp_srcserve *rcp_srcserve_new(int nthreads, struct rcp_srccache *cache,
    const struct rcp_log *log);
/*
 * Takes m if it is a source request (and answers it on c, on m's stream,
 * from a worker thread); returns false, leaving m to the caller, if not.
 */
bool rcp_srcserve_take(struct rcp_srcserve *s, struct rcp_quic_conn *c,
    struct rcp_quic_msg *m);
/* Stops the workers and closes every handle.  NULL is a no-op. */
void rcp_srcserve_free(struct rcp_srcserve *s);

/* --- the destination's side ---------------------------------------------- */

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
