/* remotecopy.c: running one copy through a source and a destination agent. */
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/filter.h"
#include "net/proto.h"
#include "remote/agentmsg.h"
#include "remote/copywire.h"
#include "remote/remotecopy.h"

#include "base/banned.h"

struct rcp_remotecopy {
	struct rcp_remotecopy_opts	 o;
	struct rcp_buf			 request;	/* the COPY body */
	struct rcp_buf			 prefetch;	/* SRC_PREFETCH's; empty:
							 * none */
	char				*src_host;
	char				*dst_host;
	pthread_mutex_t			 lock;
	struct rcp_remote		*remote;	/* requires lock */
	void				(*copied)(void *arg, const char *path);
	void				*copied_arg;	/* the copy's hook */
	atomic_bool			 aborted;
};

/* A path for the agent: remote relative paths are relative to our cwd. */
static char *
agent_path(const char *path, const char *cwd)
{
	if (path[0] == '/' || path[0] == '~' || cwd == NULL)
		return rcp_xstrdup(path[0] ? path : ".");
	if (path[0] == '\0')
		return rcp_xstrdup(cwd);
	return rcp_path_join(cwd, path);
}

char *
rcp_remotecopy_side(const struct rcp_remotecopy_opts *o, const char *arg,
    const char *cwd, char **host)
{
	char *path = NULL, *p;

	*host = NULL;
	if (!rcp_remoteopts_split(arg, o->force_remote, host, &path)) {
		*host = rcp_xstrdup(o->local_host != NULL ? o->local_host :
		    RCP_REMOTE_HERE);
		path = rcp_remoteopts_local(arg);
	}
	p = agent_path(path, cwd);
	free(path);
	return p;
}

int
rcp_remotecopy_new(const struct rcp_remotecopy_opts *o,
    const struct rcp_copy_opts *copy, const struct rcp_filter *filter,
    const char *const *srcs, size_t nsrcs, const char *dst, const char *cwd,
    struct rcp_remotecopy **out, char **cause)
{
	struct rcp_remotecopy *rc = rcp_xcalloc(1, sizeof(*rc));
	char **paths = rcp_xcalloc(nsrcs > 0 ? nsrcs : 1, sizeof(*paths));
	char *host, *p;
	size_t i;
	int r = RCP_ERR_INVAL;

	rc->o = *o;
	rc->copied = copy->copied;
	rc->copied_arg = copy->copied_arg;
	pthread_mutex_init(&rc->lock, NULL);
	for (i = 0; i < nsrcs; i++) {
		p = rcp_remotecopy_side(o, srcs[i], cwd, &host);
		if (rc->src_host != NULL && strcmp(rc->src_host, host) != 0) {
			*cause = rcp_xasprintf("all sources of a copy must be on "
			    "one host ('%s' and '%s')", rc->src_host, host);
			free(host);
			free(p);
			goto out;
		}
		if (rc->src_host == NULL)
			rc->src_host = host;
		else
			free(host);
		paths[i] = p;
	}
	p = rcp_remotecopy_side(o, dst, cwd, &rc->dst_host);
	/* A source here is the master's: its errors need no host. */
	rcp_copywire_put_request(&rc->request, (const char *const *)paths,
	    nsrcs, p, copy, filter, strcmp(rc->src_host, RCP_REMOTE_HERE) != 0 ?
	    rc->src_host : NULL);
	free(p);
	/*
	 * The source may read ahead what a plain copy into new directories
	 * will ask for: not through symlinks, filters or a dry run; not past
	 * a throttle meant to spare the source; and not when the options say
	 * the destination is mostly there already (--overwrite,
	 * --ignore-existing, --delete), where little of it would be asked.
	 */
	if (!copy->dereference && !copy->dry_run && rcp_filter_empty(filter) &&
	    copy->ops_throttle <= 0 && copy->iops_throttle <= 0 &&
	    !copy->overwrite && !copy->ignore_existing && !copy->delete)
		rcp_agentmsg_put_prefetch(&rc->prefetch,
		    (const char *const *)paths, nsrcs);
	*out = rc;
	rc = NULL;
	r = 0;
out:
	for (i = 0; i < nsrcs; i++)
		free(paths[i]);
	free(paths);
	rcp_remotecopy_free(rc);
	return r;
}

static int
decode_done(struct rcp_quic_msg *m, struct rcp_remotecopy_result *res,
    bool *wellformed, char **cause)
{
	char *why = NULL;
	int result;

	if (m->f.type != RCP_MSG_COPY_DONE ||
	    rcp_copywire_get_done(m->f.body, m->f.len, &result, &why,
	    &res->stats) != 0) {
		*cause = rcp_xstrdup("malformed reply from the destination "
		    "agent");
		*wellformed = false;
		return RCP_ERR_PROTO;
	}
	*wellformed = true;
	if (result != 0 && why[0] != '\0')
		*cause = why;
	else
		free(why);
	return result;
}

/*
 * Sends the copy to the destination agent of r and waits for its answer.
 * *answered is true if the destination finished it (even with an error)
 * and both agents are still there, so r can serve another copy.
 */
/* A host of the run as messages name it. */
static const char *
host_name(const char *h)
{
	return h[0] != '\0' ? h : "localhost";
}

static int
copy_on(struct rcp_remotecopy *rc, struct rcp_remote *r,
    struct rcp_remotecopy_result *res, bool *answered, char **cause)
{
	static const char LOST[] = "lost the source agent: ";
	struct rcp_quic_msg *m = NULL;
	const char *why;
	char *c2 = NULL;
	int rv;

	*answered = false;
	pthread_mutex_lock(&rc->lock);
	rc->remote = r;
	pthread_mutex_unlock(&rc->lock);
	if (atomic_load(&rc->aborted)) {
		*cause = rcp_xstrdup("interrupted");
		return RCP_ERR_CANCELED;
	}
	/* The request asks for FILES if there is a hook (copywire.c). */
	rcp_remote_files(r, rc->copied, rc->copied_arg);
	rv = rcp_remote_copy(r, rc->request.data, rc->request.len, &m, cause);
	rcp_remote_files(r, NULL, NULL);
	if (rv != 0) {
		/* No answer, no final counters: the last ones it sent. */
		rcp_remote_progress(r, RCP_ROLE_DESTINATION, &res->stats);
		/* An agent is gone: name the one that died first. */
		if ((c2 = rcp_remote_dead(r, RCP_ROLE_SOURCE)) != NULL &&
		    strstr(c2, "was killed") != NULL) {
			free(*cause);
			*cause = c2;
			c2 = NULL;
		}
		free(c2);
		return rv;
	}
	rv = decode_done(m, res, answered, cause);
	rcp_quic_msg_free(m);
	if (rv == RCP_ERR_GONE) {
		/*
		 * The destination lost the source: it is not there to be
		 * asked for a summary, so the run ends without one (its agent
		 * is killed if it does not exit).
		 */
		*answered = false;
		c2 = *cause;
		why = c2 != NULL ? c2 : "";
		if (strncmp(why, LOST, strlen(LOST)) == 0)
			why += strlen(LOST);
		*cause = rcp_xasprintf("lost the source agent on '%s' (seen by "
		    "the destination on '%s')%s%s", host_name(rc->src_host),
		    host_name(rc->dst_host), *why != '\0' ? ": " : "", why);
		free(c2);
		return rv;
	}
	if (rv != 0 && (c2 = rcp_remote_dead(r, RCP_ROLE_SOURCE)) != NULL) {
		/* Name what died, not just what the destination saw. */
		free(*cause);
		*cause = c2;
		*answered = false;
	}
	return rv;
}

int
rcp_remotecopy_run(struct rcp_remotecopy *rc,
    struct rcp_remotecopy_result *res, char **cause)
{
	struct rcp_remote_opts ro = rc->o.remote;
	struct rcp_remote *r = NULL;
	char *c2 = NULL;
	bool answered;
	int rv, fr;

	memset(res, 0, sizeof(*res));
	/* These agents serve this copy alone: the source may read ahead. */
	if (rc->prefetch.len > 0) {
		ro.prefetch = rc->prefetch.data;
		ro.prefetch_len = rc->prefetch.len;
	}
	rv = rcp_remote_start(&ro, rc->src_host, rc->dst_host, &r, cause);
	if (rv != 0)
		return rv;
	rv = copy_on(rc, r, res, &answered, cause);
	if (answered) {
		/* The destination answered, even with an error: end both. */
		fr = rcp_remote_finish(r, res->hosts, &c2);
		res->have_hosts = fr == 0;
		if (fr != 0 && rv == 0) {
			*cause = c2;
			c2 = NULL;
			rv = fr;
		}
	}
	free(c2);
	pthread_mutex_lock(&rc->lock);
	rc->remote = NULL;
	pthread_mutex_unlock(&rc->lock);
	rcp_remote_free(r);
	return rv;
}

int
rcp_remotecopy_run_on(struct rcp_remotecopy *rc, struct rcp_remote *r,
    struct rcp_remotecopy_result *res, bool *reusable, char **cause)
{
	bool answered;
	int rv;

	memset(res, 0, sizeof(*res));
	rcp_remote_progress_reset(r);
	rv = copy_on(rc, r, res, &answered, cause);
	pthread_mutex_lock(&rc->lock);
	rc->remote = NULL;
	*reusable = answered && !atomic_load(&rc->aborted);
	pthread_mutex_unlock(&rc->lock);
	return rv;
}

const char *
rcp_remotecopy_host(const struct rcp_remotecopy *rc, int role)
{
	return role == RCP_ROLE_SOURCE ? rc->src_host : rc->dst_host;
}

void
rcp_remotecopy_progress(struct rcp_remotecopy *rc, struct rcp_copy_stats *s)
{
	pthread_mutex_lock(&rc->lock);
	if (rc->remote != NULL)
		rcp_remote_progress(rc->remote, RCP_ROLE_DESTINATION, s);
	else
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&rc->lock);
}

void
rcp_remotecopy_abort(struct rcp_remotecopy *rc)
{
	atomic_store(&rc->aborted, true);
	pthread_mutex_lock(&rc->lock);
	if (rc->remote != NULL)
		rcp_remote_abort(rc->remote);
	pthread_mutex_unlock(&rc->lock);
}

void
rcp_remotecopy_free(struct rcp_remotecopy *rc)
{
	if (rc == NULL)
		return;
	rcp_buf_release(&rc->request);
	rcp_buf_release(&rc->prefetch);
	free(rc->src_host);
	free(rc->dst_host);
	pthread_mutex_destroy(&rc->lock);
	free(rc);
}
