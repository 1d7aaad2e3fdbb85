/*
 * reply.h: reading the members of the master's replies.  A member is
 * checked (rcpctl_check_*) before it is read; a master that leaves one out
 * or sends the wrong type gets an error naming it, never a crash.
 */
#ifndef RCPCTL_REPLY_H
#define RCPCTL_REPLY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "control/ctlproto.h"

/*
 * Checks member key of o (an object, or NULL) as rcp_ctl_member does: with
 * required it must be there, else it may also be absent or null.  where
 * names o for the error ("job", "jobs[2]"; NULL for the reply itself).  Returns 0, or
 * RCP_CTL_EXIT_UNREACHABLE after an error on stderr naming the member:
 * whatever the master meant, rcpctl cannot know it.
 */
int rcpctl_check(const json_t *o, const char *where, const char *key,
    enum rcp_ctl_kind kind, bool required);

/*
 * Checks that member key of reply res is a job with every member rcpctl
 * shows of the right type, id and state present.  Returns 0 with *job
 * (borrowed from res), or an exit code as rcpctl_check.
 */
int rcpctl_reply_job(const json_t *res, const char *key, const json_t **job);

/*
 * Checks that member key of reply res is an array of jobs, each one as
 * rcpctl_reply_job; with sub, each item is an object holding its job as
 * member sub (batch).  Returns 0 with *jobs (borrowed; jobs may be NULL),
 * or an exit code as rcpctl_check.
 */
int rcpctl_reply_jobs(const json_t *res, const char *key, const char *sub,
    const json_t **jobs);

/* Returns number member key of o, 0 if it is not one. */
double rcpctl_num(const json_t *o, const char *key);
/* Returns string member key of o (borrowed from o), "-" if not one. */
const char *rcpctl_str(const json_t *o, const char *key);
/* Returns item i of array a if it is a string (borrowed), else "-". */
const char *rcpctl_item(const json_t *a, size_t i);

#endif
