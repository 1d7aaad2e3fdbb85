/*
 * ctlclient.h: a blocking client of rcp-master's control socket, for
 * rcpctl, the tests and the benchmark.  One connection, used by one thread
 * at a time; the hello is exchanged on connect.
 */
#ifndef RCP_CTLCLIENT_H
#define RCP_CTLCLIENT_H

#include <jansson.h>

struct rcp_ctlclient;

/*
 * Connects to the socket at path and exchanges the hello, naming the
 * client as name.  Returns 0 with *out (free with rcp_ctlclient_free);
 * RCP_ERR_IO if the master cannot be reached; RCP_ERR_TIMEOUT if it takes
 * the connection but says no hello within 10 s; RCP_ERR_VERSION or
 * RCP_ERR_PROTO if it answers wrongly; *cause set on error (caller frees).
 */
int rcp_ctlclient_connect(const char *path, const char *name,
    struct rcp_ctlclient **out, char **cause);
void rcp_ctlclient_free(struct rcp_ctlclient *c);

/* Returns the result of the hello reply; borrowed, valid while c lives. */
const json_t *rcp_ctlclient_hello(const struct rcp_ctlclient *c);
/* Returns the connection's fd (for poll). */
int rcp_ctlclient_fd(const struct rcp_ctlclient *c);

/*
 * Sets req's "id" to the next number and sends it; takes the caller's
 * reference to req.  Returns 0 with *id set (if id is not NULL), or
 * RCP_ERR_IO with *cause set.
 */
int rcp_ctlclient_send(struct rcp_ctlclient *c, json_t *req, json_int_t *id,
    char **cause);

/*
 * Reads the next message (a reply or an event), waiting up to timeout_ms
 * (< 0: without end).  Returns 0 with *msg (caller owns the reference);
 * RCP_ERR_TIMEOUT; RCP_ERR_IO when the connection ended; RCP_ERR_PROTO for
 * a malformed line; *cause set on error.
 */
int rcp_ctlclient_read(struct rcp_ctlclient *c, int timeout_ms, json_t **msg,
    char **cause);

/*
 * Sends req (taking its reference) and waits up to timeout_ms for its reply,
 * dropping events that arrive meanwhile.  Returns 0 with *result (caller
 * owns the reference); RCP_ERR_INVAL when the master answered with an
 * error: *code is its RCP_CTL_E_* code and *cause its message; or a
 * transport error as rcp_ctlclient_read.  code may be NULL.
 */
int rcp_ctlclient_call(struct rcp_ctlclient *c, json_t *req, int timeout_ms,
    json_t **result, int *code, char **cause);

#endif
