/*
 * remotecmp.c: running one comparison through a source and a destination
 * agent.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/ticker.h"
#include "base/util.h"
#include "net/proto.h"
#include "remote/cmpwire.h"
#include "remote/remote.h"
#include "remote/remotecmp.h"
#include "remote/remotecopy.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

struct rcp_remotecmp {
	struct rcp_remotecopy_opts	 o;
	const struct rcp_cmp_opts	*co;
	char				*host[2];	/* source, destination */
	struct rcp_buf			 request;	/* the COMPARE body */
	pthread_mutex_t			 lock;
	struct rcp_remote		*remote;	/* requires lock */
	int				 cb_error;	/* diff_fn's first, or
							 * RCP_ERR_PROTO for a
							 * bad CMP_DIFF; the
							 * reader's */
	char				*cb_cause;	/* why, for RCP_ERR_PROTO */
	atomic_bool			 stopping;	/* abort asked for */
};

int
rcp_remotecmp_new(const struct rcp_remotecopy_opts *o,
    const struct rcp_cmp_opts *co, const char *src, const char *dst,
    const char *cwd, struct rcp_remotecmp **out, char **cause)
{
	struct rcp_remotecmp *rc = rcp_xcalloc(1, sizeof(*rc));
	char *p[2];

	rc->o = *o;
	rc->co = co;
	pthread_mutex_init(&rc->lock, NULL);
	atomic_init(&rc->stopping, false);
	p[0] = rcp_remotecopy_side(o, src, cwd, &rc->host[0]);
	p[1] = rcp_remotecopy_side(o, dst, cwd, &rc->host[1]);
	if (rcp_host_is_list(rc->host[0]) || rcp_host_is_list(rc->host[1])) {
		*cause = rcp_xasprintf("a list of hosts ('%s'): rcmp compares "
		    "through one host a side", rcp_host_is_list(rc->host[0]) ?
		    rc->host[0] : rc->host[1]);
		free(p[0]);
		free(p[1]);
		rcp_remotecmp_free(rc);
		return RCP_ERR_INVAL;
	}
	/* Messages name each side as the user did. */
	rcp_cmpwire_put_request(&rc->request, p[0], p[1], src, dst, co);
	free(p[0]);
	free(p[1]);
	*out = rc;
	return 0;
}

/* The reader's hook: a difference to the caller, as a local one. */
static void
on_diff(void *arg, const void *body, size_t len)
{
	struct rcp_remotecmp *rc = arg;
	struct rcp_cmpwire_diff w;
	int r;

	if (rc->cb_error != 0)
		return;
	if (rcp_cmpwire_get_diff(body, len, &w) != 0) {
		rc->cb_cause = rcp_xasprintf("malformed difference from the "
		    "destination agent on '%s'", rc->host[1] != NULL ?
		    rc->host[1] : "localhost");
		rc->cb_error = RCP_ERR_PROTO;
	} else if (rc->co->diff_fn != NULL &&
	    (r = rc->co->diff_fn(rc->co->diff_arg, &w.d)) != 0)
		rc->cb_error = r < 0 ? r : RCP_ERR_INTERNAL;
	rcp_cmpwire_diff_release(&w);
	if (rc->cb_error != 0)
		atomic_store(&rc->stopping, true);
}

/* Every 100 ms: a cancel or a failed diff_fn stops the agents. */
static void
watch_tick(void *arg)
{
	struct rcp_remotecmp *rc = arg;

	if (rc->co->cancel != NULL && atomic_load(rc->co->cancel))
		atomic_store(&rc->stopping, true);
	if (!atomic_load(&rc->stopping))
		return;
	pthread_mutex_lock(&rc->lock);
	if (rc->remote != NULL)
		rcp_remote_abort(rc->remote);
	pthread_mutex_unlock(&rc->lock);
}

/* Makes the answer of an agent that lacks COMPARE say so, by name. */
static int
older_agent(struct rcp_remote *r, char **cause)
{
	char *c2;

	if (*cause == NULL || strstr(*cause, "unknown message type") == NULL)
		return 0;
	c2 = rcp_xasprintf("rcpd %s on '%s' cannot compare trees (it does not "
	    "know COMPARE, which rcmp of remote trees needs): install rcp %s "
	    "there too, or use --auto-deploy-rcpd",
	    rcp_remote_version(r, RCP_ROLE_DESTINATION),
	    rcp_remote_host(r, RCP_ROLE_DESTINATION), PACKAGE_VERSION);
	free(*cause);
	*cause = c2;
	return RCP_ERR_VERSION;
}

/* Sends the COMPARE and reads its COMPARE_DONE.  *answered: r is whole. */
static int
compare_on(struct rcp_remotecmp *rc, struct rcp_remote *r,
    struct rcp_cmp_stats *stats, bool *answered, char **cause)
{
	struct rcp_quic_msg *m = NULL;
	char *why = NULL;
	int rv, result;

	*answered = false;
	rcp_remote_diffs(r, on_diff, rc);
	rv = rcp_remote_compare(r, rc->request.data, rc->request.len, &m,
	    cause);
	rcp_remote_diffs(r, NULL, NULL);
	if (rv != 0) {
		if (rv == RCP_ERR_PROTO && older_agent(r, cause) != 0) {
			*answered = true;
			return RCP_ERR_VERSION;
		}
		return rv;
	}
	if (m->f.type != RCP_MSG_COMPARE_DONE || rcp_cmpwire_get_done(
	    m->f.body, m->f.len, &result, &why, stats) != 0) {
		rcp_quic_msg_free(m);
		*cause = rcp_xasprintf("malformed answer to COMPARE from the "
		    "destination agent on '%s'", rcp_remote_host(r,
		    RCP_ROLE_DESTINATION));
		return RCP_ERR_PROTO;
	}
	rcp_quic_msg_free(m);
	*answered = true;
	if (result != 0)
		*cause = why;	/* never "" (rcp_cmpwire_get_done) */
	else
		free(why);
	return result;
}

int
rcp_remotecmp_run(struct rcp_remotecmp *rc, struct rcp_cmp_stats *stats,
    char **cause)
{
	struct rcp_remote_summary sum[2];
	struct rcp_remote *r = NULL;
	rcp_ticker *watch;
	char *c2 = NULL;
	bool answered = false;
	int rv;

	memset(stats, 0, sizeof(*stats));
	watch = rcp_ticker_start(100000000u, watch_tick, rc);
	rv = rcp_remote_start(&rc->o.remote, rc->host[0], rc->host[1], &r,
	    cause);
	if (rv == 0) {
		pthread_mutex_lock(&rc->lock);
		rc->remote = r;
		pthread_mutex_unlock(&rc->lock);
		if (atomic_load(&rc->stopping))
			rcp_remote_abort(r);
		rv = compare_on(rc, r, stats, &answered, cause);
	}
	rcp_ticker_stop(watch);
	if (answered && !atomic_load(&rc->stopping) &&
	    rcp_remote_finish(r, sum, &c2) != 0 && rv == 0) {
		*cause = c2;
		c2 = NULL;
		rv = RCP_ERR_IO;
	}
	free(c2);
	/* What stopped the run says why, not the agents it took down. */
	if (rc->cb_error != 0 || (rc->co->cancel != NULL &&
	    atomic_load(rc->co->cancel))) {
		free(*cause);
		rv = rc->cb_error != 0 ? rc->cb_error : RCP_ERR_CANCELED;
		*cause = rc->cb_cause != NULL ? rcp_xasprintf("comparison "
		    "stopped: %s", rc->cb_cause) : rc->cb_error != 0 ?
		    rcp_xasprintf("comparison stopped: %s", rcp_strerror(rv)) :
		    rcp_xstrdup("comparison canceled");
	}
	pthread_mutex_lock(&rc->lock);
	rc->remote = NULL;
	pthread_mutex_unlock(&rc->lock);
	rcp_remote_free(r);
	return rv;
}

void
rcp_remotecmp_free(struct rcp_remotecmp *rc)
{
	if (rc == NULL)
		return;
	free(rc->host[0]);
	free(rc->host[1]);
	rcp_buf_release(&rc->request);
	free(rc->cb_cause);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}
