/*
 * link.h: the engine of rlink, a hard-linked copy of a tree, on the copy
 * engine (copy.h): directories and symlinks are recreated, regular files
 * hard-linked to the source's.  With an update tree (rsync --link-dest
 * turned around: `rlink --update NEW OLD DST`), a file of NEW equal to
 * OLD's by the compared attributes is linked from OLD, others are copied
 * from NEW, and OLD's entries NEW lacks are linked too unless exclusive.
 * A library, as the copy engine: the rlink program and, later, a job of
 * the service run it the same way.
 */
#ifndef RCP_LINK_H
#define RCP_LINK_H

#include <stdbool.h>

#include "base/log.h"
#include "engine/copy.h"

struct rcp_link_opts {
	struct rcp_copy_opts	 copy;		/* as rcp's; link_* set here */
	const char		*update;	/* the update tree, or NULL */
	struct rcp_attrs	 update_compare;
	bool			 update_exclusive;
	bool			 allow_lossy;	/* compare what is not kept */
};

struct rcp_link;

/*
 * Checks opts: with an update tree, every attribute compared of files (the
 * only entries compared) must be one the preserve settings keep (else a file linked and one copied could not
 * be told apart next time), unless allow_lossy.  Returns 0, or
 * RCP_ERR_INVAL with *cause set (caller frees).
 */
int rcp_link_check(const struct rcp_link_opts *opts, char **cause);
/* Returns a new link with a copy of opts (strings borrowed) and log. */
struct rcp_link *rcp_link_new(const struct rcp_link_opts *opts,
    const struct rcp_log *log);
void rcp_link_free(struct rcp_link *l);
/*
 * Makes dst a hard-linked copy of src (dst ending in '/': dst/NAME of
 * src), blocking.  Returns as rcp_copy_run: 0, RCP_ERR_PARTIAL,
 * RCP_ERR_CANCELED, or another error with *cause set.  Call once.
 */
int rcp_link_run(struct rcp_link *l, const char *src, const char *dst,
    char **cause);
/* Any thread; async-signal-safe. */
void rcp_link_cancel(struct rcp_link *l);
/* The counters of both passes so far.  Any thread. */
void rcp_link_stats(struct rcp_link *l, struct rcp_copy_stats *out);

#endif
