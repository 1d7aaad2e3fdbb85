/*
 * rm.c: rrm's engine: the walk's operations that remove entries (rm.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/util.h"
#include "engine/copy.h"
#include "engine/rm.h"

#include "base/banned.h"

struct rcp_rm {
	struct rcp_rm_opts	 o;
	struct rcp_walk_age	 age;
	struct rcp_walk		*w;
};

static int
rm_file(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	struct rcp_rm *rm = ctx;
	int r;

	if ((r = rcp_walk_age_check(w, &rm->age, e)) != RCP_WALK_DONE)
		return r;
	rcp_walk_report(w, e, "remove", NULL);
	if (rm->o.walk.dry_run != RCP_DRY_NONE)
		return RCP_WALK_DONE;
	if (unlinkat(e->dirfd, e->name, 0) != 0 && errno != ENOENT)
		return rcp_walk_fail(w, e, "remove", errno);
	return RCP_WALK_DONE;
}

static int
rm_dir_post(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	struct rcp_rm *rm = ctx;
	int r;

	/* Something below stays, so this directory stays: no message. */
	if (e->kept_child)
		return RCP_WALK_KEEP;
	if ((r = rcp_walk_age_check(w, &rm->age, e)) != RCP_WALK_DONE)
		return r;
	rcp_walk_report(w, e, "remove directory", NULL);
	if (rm->o.walk.dry_run != RCP_DRY_NONE)
		return RCP_WALK_DONE;
	if (unlinkat(e->dirfd, e->name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return rcp_walk_fail(w, e, "remove directory", errno);
	return RCP_WALK_DONE;
}

static const struct rcp_walk_ops rm_ops = {
	.file = rm_file,
	.dir_pre = NULL,
	.dir_post = rm_dir_post
};

struct rcp_rm *
rcp_rm_new(const struct rcp_rm_opts *opts, const struct rcp_log *log)
{
	struct rcp_rm *rm = rcp_xcalloc(1, sizeof(*rm));

	rm->o = *opts;
	rcp_walk_age_init(&rm->age, rm->o.modified_before_ns,
	    rm->o.created_before_ns);
	rm->o.walk.statx_mask = rcp_walk_age_any(&rm->age) ?
	    RCP_WALK_AGE_MASK : 0;
	rm->w = rcp_walk_new(&rm->o.walk, log, &rm_ops, rm);
	return rm;
}

void
rcp_rm_free(struct rcp_rm *rm)
{
	if (rm == NULL)
		return;
	rcp_walk_free(rm->w);
	free(rm);
}

int
rcp_rm_run(struct rcp_rm *rm, const char *const *paths, size_t n)
{
	return rcp_walk_run(rm->w, paths, n);
}

void
rcp_rm_cancel(struct rcp_rm *rm)
{
	rcp_walk_cancel(rm->w);
}

void
rcp_rm_stats(struct rcp_rm *rm, struct rcp_walk_stats *out)
{
	rcp_walk_stats(rm->w, out);
}
