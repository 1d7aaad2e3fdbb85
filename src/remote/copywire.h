/*
 * copywire.h: a copy's options and results on the wire, from the master
 * to the destination agent (which runs the engine) and back.
 */
#ifndef RCP_COPYWIRE_H
#define RCP_COPYWIRE_H

#include <stdbool.h>

#include "base/strbuf.h"
#include "engine/copy.h"
#include "net/wire.h"

struct rcp_filter;

/*
 * Appends opts and the rules of filter (may be NULL) to b; with a copied
 * hook in opts, the bit that asks the destination for FILES.
 */
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

/*
 * The counters, in the order of struct rcp_copy_stats.  Get: 0, or
 * RCP_ERR_PROTO if they end early; the counters read until then are set,
 * the others 0.
 */
void rcp_copywire_put_stats(struct rcp_buf *b, const struct rcp_copy_stats *s);
int rcp_copywire_get_stats(struct rcp_wire_cursor *c, struct rcp_copy_stats *s);

/* COPY, as the destination agent runs it. */
struct rcp_copywire_request {
	char			**srcs;		/* at least one */
	size_t			  nsrcs;
	char			 *dst;
	char			 *src_host;	/* as the user named it; NULL:
						 * not given (opts.src_host) */
	char			 *manifest;	/* opts.manifest; NULL: none */
	struct rcp_copy_opts	  opts;		/* opts.filter is filter */
	struct rcp_filter	 *filter;	/* NULL: no rules */
	bool			  record_files;	/* send FILES as it copies */
};

/*
 * Appends a COPY body: the sources, the destination, the options, then the
 * source's host for messages (NULL or "": none; a field at the end, which
 * an older agent ignores).
 */
void rcp_copywire_put_request(struct rcp_buf *b, const char *const *srcs,
    size_t nsrcs, const char *dst, const struct rcp_copy_opts *o,
    const struct rcp_filter *filter, const char *src_host);
/*
 * The cause for bits of a request (WHAT: "option", "preserve", ...) that
 * this agent does not know, naming its version and host so that the user
 * knows which rcpd to upgrade.
 */
char *rcp_copywire_unknown_bits(const char *what, uint32_t bits);

/*
 * Decodes a COPY body into *req (release it with
 * rcp_copywire_request_release, also after an error).  0, or RCP_ERR_PROTO
 * / RCP_ERR_INVAL (a filter rule this host refuses) with *cause set.
 */
int rcp_copywire_get_request(const void *body, size_t len,
    struct rcp_copywire_request *req, char **cause);
void rcp_copywire_request_release(struct rcp_copywire_request *req);

/*
 * COPY_DONE: what the engine returned (an error code), why (may be ""),
 * and the copy's counters.  Get: 0 with *why (caller frees), or
 * RCP_ERR_PROTO if malformed.
 */
void rcp_copywire_put_done(struct rcp_buf *b, int result, const char *why,
    const struct rcp_copy_stats *s);
int rcp_copywire_get_done(const void *body, size_t len, int *result,
    char **why, struct rcp_copy_stats *s);

#endif
