/*
 * cmpwire.h: a comparison of trees (rcmp) on the wire: COMPARE from the
 * master to the destination agent, which runs the cmp engine with the
 * source tree read through the source agent; each difference back as a
 * CMP_DIFF, and the answer, COMPARE_DONE.
 */
#ifndef RCP_CMPWIRE_H
#define RCP_CMPWIRE_H

#include <stddef.h>

#include "base/strbuf.h"
#include "engine/cmp.h"

/*
 * COMPARE: the two roots (paths on their hosts), the labels of the sides
 * for messages (NULL: the paths), and of o the attributes, content,
 * exit_early and threads (0: the agent's default).
 */
void rcp_cmpwire_put_request(struct rcp_buf *b, const char *src,
    const char *dst, const char *src_label, const char *dst_label,
    const struct rcp_cmp_opts *o);

/* COMPARE, as the destination agent runs it. */
struct rcp_cmpwire_request {
	char			*src;
	char			*dst;
	char			*label[2];	/* never NULL once decoded */
	struct rcp_cmp_opts	 opts;		/* attrs, content, exit_early,
						 * threads; the rest zero */
};

/*
 * Decodes a COMPARE body into *req (release it with
 * rcp_cmpwire_request_release, also after an error).  0; RCP_ERR_PROTO if
 * malformed; RCP_ERR_VERSION, with *cause naming this rcpd's version and
 * host, for option or attribute bits it does not know.
 */
int rcp_cmpwire_get_request(const void *body, size_t len,
    struct rcp_cmpwire_request *req, char **cause);
void rcp_cmpwire_request_release(struct rcp_cmpwire_request *req);

/* CMP_DIFF: one difference, all that struct rcp_cmp_diff holds. */
void rcp_cmpwire_put_diff(struct rcp_buf *b, const struct rcp_cmp_diff *d);

/* A difference decoded: d points into the rest, which the struct owns. */
struct rcp_cmpwire_diff {
	struct rcp_cmp_diff	d;
	struct stat		st[2];
	char			*path;
	char			*link[2];
};

/*
 * Decodes a CMP_DIFF body into *out (release it with
 * rcp_cmpwire_diff_release, also after an error): 0, or RCP_ERR_PROTO for
 * a malformed body or one whose kind and sides do not go together (a
 * missing entry has exactly one side; the others both; a side bit this
 * build does not know; an attribute on a kind other than RCP_CMP_ATTR;
 * link targets other than on two symlinks' content).
 */
int rcp_cmpwire_get_diff(const void *body, size_t len,
    struct rcp_cmpwire_diff *out);
void rcp_cmpwire_diff_release(struct rcp_cmpwire_diff *w);

/*
 * COMPARE_DONE: what rcp_cmp_run returned (an error code), its cause (may
 * be "") and its counters.  Get: 0 with *cause (caller frees; for a
 * non-zero result never "": the code's rcp_strerror if the agent gave
 * none), or RCP_ERR_PROTO.
 */
void rcp_cmpwire_put_done(struct rcp_buf *b, int result, const char *cause,
    const struct rcp_cmp_stats *s);
int rcp_cmpwire_get_done(const void *body, size_t len, int *result,
    char **cause, struct rcp_cmp_stats *s);

#endif
