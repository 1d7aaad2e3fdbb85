/*
 * reply.h: reading the members of the master's replies.
 */
#ifndef RCPCTL_REPLY_H
#define RCPCTL_REPLY_H

#include <jansson.h>

/* Returns number member key of o, 0 if it is not there. */
double rcpctl_num(const json_t *o, const char *key);
/* Returns string member key of o (borrowed from o), "-" if not there. */
const char *rcpctl_str(const json_t *o, const char *key);

#endif
