/*
 * runner-remote.c: the remote copies of rcp-master's runners.  A job's copy
 * runs on agents of its own, or, when the master keeps agents between jobs
 * (spec->sessions), on a session taken from the master and given back.  A
 * kept session whose agents died while it was idle fails before copying
 * anything: then the job runs once more on a new one.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "net/proto.h"
#include "remote/remotecopy.h"
#include "workers/runner.h"
#include "workers/sessions.h"

#include "base/banned.h"

struct rrun {
	struct rcp_remotecopy_opts	 ro;
	struct rcp_remotecopy		*rc;
	const struct rcp_runner_spec	*spec;
};

static int
rr_start(const struct rcp_runner_spec *spec, const struct rcp_copy_opts *o,
    const struct rcp_log *log, void **out, char **cause)
{
	struct rrun *rr = rcp_xcalloc(1, sizeof(*rr));
	int r;

	rr->spec = spec;
	rr->ro = spec->opts->remote;
	rr->ro.remote.log = log;
	rr->ro.remote.agent_verbosity = RCP_LOG_ERROR;
	if ((r = rcp_remotecopy_new(&rr->ro, o, o->filter, spec->srcs,
	    spec->nsrcs, spec->dst, spec->cwd, &rr->rc, cause)) != 0) {
		free(rr);
		return r;
	}
	*out = rr;
	return 0;
}

static int
rr_run(void *h, struct rcp_runner *r, const struct rcp_log *log,
    struct rcp_copy_stats *final, char **cause)
{
	struct rrun *rr = h;
	struct rcp_sessions *pool = rr->spec->sessions;
	struct rcp_remotecopy_result res;
	struct rcp_copy_stats st;
	struct rcp_session *x;
	bool reused, reusable;
	int rv, attempt;

	memset(&res, 0, sizeof(res));
	if (pool == NULL) {
		rv = rcp_remotecopy_run(rr->rc, &res, cause);
		goto out;
	}
	for (attempt = 0; ; attempt++) {
		if ((rv = rcp_sessions_take(pool, &rr->ro.remote,
		    rcp_remotecopy_host(rr->rc, RCP_ROLE_SOURCE),
		    rcp_remotecopy_host(rr->rc, RCP_ROLE_DESTINATION), &x,
		    &reused, cause)) != 0)
			goto out;
		rcp_session_log(x, log);
		rv = rcp_remotecopy_run_on(rr->rc, rcp_session_remote(x), &res,
		    &reusable, cause);
		rcp_remote_progress(rcp_session_remote(x),
		    RCP_ROLE_DESTINATION, &st);
		rcp_sessions_give(pool, x, reusable);
		if (rv == 0 || reusable || !reused || attempt > 0 ||
		    rcp_runner_canceled(r) || st.files_copied != 0 ||
		    st.bytes_copied != 0 || st.errors != 0)
			break;
		free(*cause);
		*cause = NULL;
	}
out:
	*final = res.stats;
	if (rv != 0 && rcp_runner_canceled(r))
		rv = RCP_ERR_CANCELED;
	return rv;
}

static void
rr_progress(void *h, struct rcp_copy_stats *s)
{
	struct rrun *rr = h;

	rcp_remotecopy_progress(rr->rc, s);
}

static void
rr_abort(void *h)
{
	struct rrun *rr = h;

	rcp_remotecopy_abort(rr->rc);
}

static void
rr_free(void *h)
{
	struct rrun *rr = h;

	rcp_remotecopy_free(rr->rc);
	free(rr);
}

static const struct rcp_runner_remote_ops rr_ops = {
	rr_start, rr_run, rr_progress, rr_abort, rr_free,
	rcp_sessions_new, rcp_sessions_expire, rcp_sessions_free
};

void
rcp_runner_enable_remote(void)
{
	rcp_runner_remote = &rr_ops;
}
