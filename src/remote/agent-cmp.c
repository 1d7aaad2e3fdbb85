/*
 * agent-cmp.c: rcpd as the destination of a comparison (COMPARE, for
 * rcmp on remote trees).  It runs the cmp engine here with the source
 * tree read through the source agent (srcclient.h) and its own tree from
 * the file system; with --content each side hashes its own files, so no
 * file data crosses.  Each difference goes to the master as a CMP_DIFF on
 * the request's stream, ahead of the COMPARE_DONE that ends it, and so do
 * the engine's own log records (its errors: "cannot open 'x': ..."), as
 * LOG, which the master prints as a local rcmp would, untagged.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/ticker.h"
#include "base/util.h"
#include "engine/cmp.h"
#include "engine/copy.h"
#include "fs/srcfs.h"
#include "net/proto.h"
#include "remote/agent-int.h"
#include "remote/agent.h"
#include "remote/agentmsg.h"
#include "remote/cmpwire.h"
#include "remote/copywire.h"
#include "remote/srcclient.h"

#include "base/banned.h"

/* Threads of a remote comparison by default: most of them wait on RTTs. */
#define CMP_REMOTE_THREADS 16
/* How long a difference may wait for room on the master's stream. */
#define CMP_DIFF_SEND_MS 60000

struct cmp_run {
	struct rcp_agent	*a;
	struct rcp_quic_conn	*master;
	struct rcp_quic_conn	*peer;		/* the source agent */
	int64_t			 stream;	/* the COMPARE's */
	atomic_bool		 cancel;
	atomic_uint_fast64_t	 progress;
	struct rcp_log		 log;		/* the engine's: cmp_log */
	char			*lost;		/* why the source is gone; the
						 * ticker's until it stops */
};

/* The engine's diff_fn: its calls are serialized. */
static int
send_diff(void *arg, const struct rcp_cmp_diff *d)
{
	struct cmp_run *run = arg;
	struct rcp_buf b = RCP_BUF_INIT;
	int r;

	rcp_cmpwire_put_diff(&b, d);
	r = b.len > RCP_PROTO_MAX_FRAME ? RCP_ERR_TOOBIG :
	    run->master == NULL ? RCP_ERR_GONE :
	    rcp_quic_send(run->master, run->stream, RCP_MSG_CMP_DIFF, 0,
	    b.data, b.len, CMP_DIFF_SEND_MS);
	rcp_buf_release(&b);
	return r;
}

/*
 * The engine's log: a LOG on the COMPARE's stream, so it comes before the
 * COMPARE_DONE and the master prints it as the comparison's own output;
 * the agent's log if that stream is gone.  Once the source agent or the
 * master is lost, the run stops at once and says nothing more: every entry
 * left would fail with "the connection to the peer is lost", thousands of
 * lines for one loss, which COMPARE_DONE says once (or nobody hears).
 */
static void
cmp_log(void *arg, int level, const char *msg)
{
	struct cmp_run *run = arg;
	struct rcp_buf b = RCP_BUF_INIT;

	if (atomic_load(&run->cancel) || atomic_load(&run->a->stop) ||
	    rcp_quic_conn_error(run->peer) != NULL) {
		atomic_store(&run->cancel, true);
		return;
	}
	rcp_agentmsg_put_log(&b, level, msg);
	if (run->master == NULL || rcp_quic_send(run->master, run->stream,
	    RCP_MSG_LOG, 0, b.data, b.len, CMP_DIFF_SEND_MS) != 0)
		run->a->log.fn(run->a->log.arg, level, msg);
	rcp_buf_release(&b);
}

/*
 * The counters for the master's stall watch, as a PROGRESS: what the
 * comparison looked at and read goes in bytes_copied.
 */
static void
send_progress(struct cmp_run *run)
{
	struct rcp_copy_stats st;

	memset(&st, 0, sizeof(st));
	st.bytes_copied = atomic_load(&run->progress);
	rcp_agent_send_progress(run->a, &st);
}

/* A tick, twice a second: stops on a lost source or master; progress. */
static void
cmp_tick(void *arg)
{
	struct cmp_run *run = arg;

	if (run->lost == NULL && rcp_quic_conn_error(run->peer) != NULL) {
		run->lost = rcp_xasprintf("lost the source agent: %s",
		    rcp_quic_conn_error(run->peer));
		rcp_log(&run->a->log, RCP_LOG_ERROR, "%s; stopping the "
		    "comparison", run->lost);
		atomic_store(&run->cancel, true);
	}
	if (atomic_load(&run->a->stop))
		atomic_store(&run->cancel, true);
	send_progress(run);
}

int
rcp_agent_dest_compare(struct rcp_agent *a, const struct rcp_quic_msg *m,
    struct rcp_buf *reply, char **cause)
{
	struct rcp_cmpwire_request req;
	struct rcp_cmp_stats st;
	struct cmp_run run;
	rcp_ticker *ticking;
	char *dst, *why = NULL;
	int r;

	memset(&run, 0, sizeof(run));
	if ((run.peer = rcp_agent_peer(a)) == NULL) {
		*cause = rcp_xstrdup("not connected to the source agent");
		return RCP_ERR_PROTO;
	}
	if ((r = rcp_cmpwire_get_request(m->f.body, m->f.len, &req,
	    cause)) != 0)
		goto out;
	dst = rcp_copy_expand_home(req.dst, getenv("HOME"));
	free(req.dst);
	req.dst = dst;
	if (a->sr == NULL)
		a->sr = rcp_srcclient_new(run.peer);
	rcp_srcclient_set_peer(a->sr, a->src_host, a->src_version, &a->log);
	run.a = a;
	run.master = rcp_agent_master(a);
	run.stream = m->stream;
	atomic_init(&run.cancel, false);
	atomic_init(&run.progress, 0);
	if (req.opts.threads == 0)
		req.opts.threads = CMP_REMOTE_THREADS;
	req.opts.ops[0] = &rcp_srcclient_ops;
	req.opts.ctx[0] = a->sr;
	req.opts.label[0] = req.label[0];
	req.opts.label[1] = req.label[1];
	req.opts.diff_fn = send_diff;
	req.opts.diff_arg = &run;
	run.log.fn = cmp_log;
	run.log.arg = &run;
	run.log.level = a->log.level;
	req.opts.log = &run.log;
	req.opts.cancel = &run.cancel;
	req.opts.progress = &run.progress;
	ticking = rcp_ticker_start(500000000u, cmp_tick, &run);
	r = rcp_cmp_run(req.src, req.dst, &req.opts, &st, &why);
	rcp_ticker_stop(ticking);
	send_progress(&run);
	/* Lost before the tick looked: the errors it caused are not ours. */
	if (run.lost == NULL && rcp_quic_conn_error(run.peer) != NULL)
		run.lost = rcp_xasprintf("lost the source agent: %s",
		    rcp_quic_conn_error(run.peer));
	if (run.lost != NULL) {
		free(why);
		why = run.lost;
		run.lost = NULL;
		r = RCP_ERR_GONE;
	}
	rcp_cmpwire_put_done(reply, r, why != NULL ? why : "", &st);
	r = 0;
out:
	rcp_cmpwire_request_release(&req);
	free(why);
	return r;
}
