/*
 * runner.c: the runner object, and which of three ways its job runs: in
 * this process (runner-local.c), in a process of its own that has become
 * the submitter (runner-proc.c, with runner-child.c on the other side), or,
 * a remote job of another user, in that user's host (runner-uhost.c).
 */
#include <pthread.h>
#include <stdlib.h>

#include "base/util.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

struct rcp_runner *
rcp_runner_new(const struct rcp_runner_spec *spec,
    const struct rcp_runner_hooks *hooks)
{
	struct rcp_runner *r = rcp_xcalloc(1, sizeof(*r));

	r->spec = spec;
	r->hooks = *hooks;
	atomic_init(&r->canceled, false);
	return r;
}

void
rcp_runner_free(struct rcp_runner *r)
{
	if (r == NULL)
		return;
	free(r);
}

int
rcp_runner_run(struct rcp_runner *r, char **cause)
{
	*cause = NULL;
	if (r->spec->separate && r->spec->uhosts != NULL)
		return runner_uhost_run(r->spec->uhosts, r, cause);
	if (r->spec->separate)
		return runner_separate_run(r, cause);
	return runner_local_run(r, cause);
}
