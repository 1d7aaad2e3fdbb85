/*
 * copywire.h: a copy's options and results on the wire, from the master
 * to the destination agent (which runs the engine) and back.
 */
#ifndef RCP_COPYWIRE_H
#define RCP_COPYWIRE_H

#include "base/strbuf.h"
#include "engine/copy.h"
#include "net/wire.h"

struct rcp_filter;

/* Appends opts and the rules of filter (may be NULL) to b. */
void rcp_copywire_put_opts(struct rcp_buf *b, const struct rcp_copy_opts *o,
    const struct rcp_filter *filter);
/*
 * Reads options; *filter is a new filter (caller frees) or NULL if there
 * are no rules, and o->filter points at it; likewise *manifest, a new
 * string or NULL, and o->manifest.  0, or RCP_ERR_PROTO / RCP_ERR_INVAL
 * with *cause set.
 */
int rcp_copywire_get_opts(struct rcp_wire_cursor *c, struct rcp_copy_opts *o,
    struct rcp_filter **filter, char **manifest, char **cause);

void rcp_copywire_put_stats(struct rcp_buf *b, const struct rcp_copy_stats *s);
int rcp_copywire_get_stats(struct rcp_wire_cursor *c, struct rcp_copy_stats *s);

#endif
