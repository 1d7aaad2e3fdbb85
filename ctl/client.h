/*
 * client.h: rcpctl's side of a conversation with the master.
 */
#ifndef RCPCTL_CLIENT_H
#define RCPCTL_CLIENT_H

#include <stdio.h>

#include <jansson.h>

#include "ctl/rcpctl.h"

/*
 * Connects x->c to the master's socket (--socket, $RCP_MASTER_SOCKET, the
 * user's own, the system-wide one).  Returns an exit code: 0, or
 * RCP_CTL_EXIT_UNREACHABLE after saying why on stderr.
 */
int rcpctl_connect(struct rcpctl *x);

/*
 * Prints cause; returns the exit code for a call that ended with r (an
 * RCP_ERR_*) and, for an error reply (RCP_ERR_INVAL), its RCP_CTL_E_* code.
 */
int rcpctl_call_failed(int r, int code, const char *cause);

/*
 * Sends req (taking its reference) and waits up to timeout_ms (-1: no
 * limit) for the reply.  Returns an exit code: 0 with *result (caller
 * owns it), else the reason printed on stderr.
 */
int rcpctl_call(struct rcpctl *x, json_t *req, int timeout_ms,
    json_t **result);

/*
 * Waits for job id to end (x->timeout_ms) and reports how on fp.
 * Returns the exit code: how the job ended, or why the wait did not.
 */
int rcpctl_wait_job(struct rcpctl *x, json_int_t id, FILE *fp);

/*
 * Follows job id with a watch until it ends: a bar on stderr if it is a
 * terminal, else a line each x->interval_ms on fp (JSON lines with
 * --json), and a last line on fp.  Returns the exit code as
 * rcpctl_wait_job.
 */
int rcpctl_follow(struct rcpctl *x, json_int_t id, FILE *fp);

#endif
