/*
 * srcserve.h: the source agent's file server.
 *
 * In a remote copy the destination agent runs the copy engine and reads its
 * source through the source agent (srcclient.h, the client); rcp_srcserve
 * answers each request from the file system with fd-relative calls on
 * handles, in worker threads of its own.  Small files go back whole with
 * their open, larger ones in reads of their data segments; a new
 * directory's listing may come from the read-ahead (srccache.h).
 */
#ifndef RCP_SRCSERVE_H
#define RCP_SRCSERVE_H

#include <stdbool.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "net/quic.h"
#include "net/wire.h"

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
/*
 * Answers one source request f in the calling thread, as a worker does
 * (the decoding and the file system calls, without the connection): 0
 * with the SRC_OK reply's body appended to out, a negative errno for an
 * SRC_ERR reply, or 1 for a one-way request (CLOSE: no reply).  Handles
 * are s's.  rcp_srcserve_take runs it for each request; the fuzzer
 * (tests/fuzz/fuzz-srcserve.c) calls it directly on a server with no
 * threads.
 */
int rcp_srcserve_answer(struct rcp_srcserve *s,
    const struct rcp_wire_frame *f, struct rcp_buf *out);
/* Stops the workers and closes every handle.  NULL is a no-op. */
void rcp_srcserve_free(struct rcp_srcserve *s);

#endif
