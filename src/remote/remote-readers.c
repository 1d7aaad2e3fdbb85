/*
 * remote-readers.c: the master's two threads per agent of a remote run
 * (remote.c).  One reads the agent's QUIC connection: its log records go
 * into our log tagged with its role, its progress and listening address
 * into its struct ragent, replies to the queue rcp_remote_request waits on.
 * The other relays rcpd's stderr (what it prints before it reaches us) and
 * reaps the process, so that an agent that dies ends the run at once.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agentline.h"
#include "remote/agentmsg.h"
#include "remote/copywire.h"
#include "remote/remote-int.h"

#include "base/banned.h"

void
remote_abort_agents(struct rcp_remote *r)
{
	size_t i;

	for (i = 0; i < r->nagents; i++) {
		ap_close_stdin(&r->agents[i]);
		pthread_mutex_lock(&r->agents[i].lock);
		if (r->agents[i].conn != NULL)
			rcp_quic_close(r->agents[i].conn, 2);
		pthread_mutex_unlock(&r->agents[i].lock);
	}
}

/*
 * Marks an agent gone (first reason wins) and wakes whoever waits.  True
 * if the run goes on without it: a source agent of several while one is
 * left (the destination reads through the others); it is said as a
 * warning then, and the run is not the lost one's.
 */
static bool
agent_dead(struct ragent *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Tells the destination that source agent or helper a is lost, so that it
 * stops using it now rather than when its own link to it times out (a
 * host that went dark sends nothing that would say so).
 */
static void
tell_gone(struct ragent *a)
{
	struct rcp_remote *r = a->r;
	struct ragent *dst;
	struct rcp_quic_conn *c;
	struct rcp_buf b = RCP_BUF_INIT;
	size_t i;

	rcp_wire_put_str(&b, a->h->name);
	rcp_wire_put_u8(&b, (uint8_t)a->role);
	/*
	 * Every destination agent: the first, and its helpers, which read
	 * from the sources too.  Sent without dst->lock, which its reader
	 * needs to queue replies: a send may wait for room.  The connection
	 * lives until every reader (this one too) is joined.
	 */
	for (i = 1; i < r->nagents; i++) {
		dst = &r->agents[i];
		if (dst == a || (i != 1 && i <= r->nsources))
			continue;
		pthread_mutex_lock(&dst->lock);
		c = dst->dead == NULL ? dst->conn : NULL;
		pthread_mutex_unlock(&dst->lock);
		if (c != NULL)
			(void)rcp_quic_send(c, dst->ctrl, RCP_MSG_PEER_GONE, 0,
			    b.data, b.len, 1000);
	}
	rcp_buf_release(&b);
}

static bool
agent_dead(struct ragent *a, const char *fmt, ...)
{
	struct rcp_remote *r = a->r;
	bool spared, first = false;
	va_list ap;

	pthread_mutex_lock(&a->lock);
	pthread_mutex_lock(&r->lost_lock);
	if (a->dead == NULL) {
		va_start(ap, fmt);
		a->dead = rcp_xvasprintf(fmt, ap);
		va_end(ap);
		if (a->role == RCP_ROLE_SOURCE && r->nsources > 1 &&
		    r->lost == NULL && ++r->sources_lost < r->nsources) {
			a->spared = first = true;
			rcp_log(r->o.log, RCP_LOG_WARN, "%s; the other source "
			    "agents go on with its work", a->dead);
		}
		/* A helper's work goes back to the destination agent. */
		if (a->helper && r->lost == NULL) {
			a->spared = first = true;
			rcp_log(r->o.log, RCP_LOG_WARN, "%s; the other "
			    "destination agents go on with its work", a->dead);
		}
		if (!a->spared && r->lost == NULL)
			r->lost = rcp_xstrdup(a->dead);
	}
	spared = a->spared;
	pthread_mutex_unlock(&r->lost_lock);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (first)
		tell_gone(a);
	return spared;
}

char *
remote_first_lost(struct rcp_remote *r)
{
	char *why = NULL;

	pthread_mutex_lock(&r->lost_lock);
	if (r->lost != NULL)
		why = rcp_xstrdup(r->lost);
	pthread_mutex_unlock(&r->lost_lock);
	return why;
}

/*
 * What an agent's records are tagged with: its role, and its host too
 * where the run has several hosts on that side.
 */
static const char *
agent_tag(struct ragent *a, char *buf, size_t n)
{
	struct rcp_remote *r = a->r;

	if ((a->role == RCP_ROLE_SOURCE ? r->nsources : r->ndests) < 2 ||
	    a->h == NULL)
		return role_name(a->role);
	snprintf(buf, n, "%s %s", role_name(a->role), a->h->name);
	return buf;
}

/*
 * A LOG on the agent's log stream is the agent's, tagged with its role; one
 * on the request stream (the engine's records of a COMPARE) is the
 * command's own output, printed as the local command prints it.
 */
static void
on_log(struct ragent *a, const struct rcp_quic_msg *m)
{
	char *text, tag[RCP_PROTO_MAX_NAME + 32];
	int level;

	if (rcp_agentmsg_get_log(m->f.body, m->f.len, &level, &text) != 0) {
		rcp_log(a->r->o.log, RCP_LOG_WARN, "[%s] malformed log record",
		    agent_tag(a, tag, sizeof(tag)));
		return;
	}
	if (m->stream == a->ctrl)
		rcp_log(a->r->o.log, level, "%s", text);
	else
		rcp_log(a->r->o.log, level, "[%s] %s",
		    agent_tag(a, tag, sizeof(tag)), text);
	free(text);
}

static void
on_progress(struct ragent *a, const struct rcp_wire_frame *f)
{
	struct rcp_wire_cursor c;
	struct rcp_copy_stats s;

	/* Fewer counters (an older agent's): those it sent, the rest 0. */
	rcp_wire_cursor_init(&c, f->body, f->len);
	(void)rcp_copywire_get_stats(&c, &s);
	pthread_mutex_lock(&a->lock);
	a->progress = s;
	pthread_mutex_unlock(&a->lock);
}

/* FILES: to the hook of the copy that runs, if it wants them. */
static void
on_files(struct ragent *a, const struct rcp_wire_frame *f)
{
	struct rcp_remote *r = a->r;
	char **paths;
	size_t i, n;

	if (a->role != RCP_ROLE_DESTINATION ||
	    rcp_agentmsg_get_files(f->body, f->len, &paths, &n) != 0) {
		rcp_log(r->o.log, RCP_LOG_ERROR, "[%s] malformed list of "
		    "copied files: not recorded", role_name(a->role));
		return;
	}
	pthread_mutex_lock(&r->files_lock);
	for (i = 0; i < n && r->files_fn != NULL; i++)
		r->files_fn(r->files_arg, paths[i]);
	pthread_mutex_unlock(&r->files_lock);
	rcp_strv_free(paths, n);
}

/* CMP_DIFF: to the hook of the comparison that runs. */
static void
on_diff(struct ragent *a, const struct rcp_wire_frame *f)
{
	struct rcp_remote *r = a->r;

	if (a->role != RCP_ROLE_DESTINATION) {
		rcp_log(r->o.log, RCP_LOG_ERROR, "[%s] a difference from the "
		    "source agent: ignored", role_name(a->role));
		return;
	}
	pthread_mutex_lock(&r->files_lock);
	if (r->diff_fn != NULL)
		r->diff_fn(r->diff_arg, f->body, f->len);
	pthread_mutex_unlock(&r->files_lock);
}

static void
on_listening(struct ragent *a, const struct rcp_wire_frame *f)
{
	uint8_t fp[RCP_CERT_FP_LEN];
	char *addr;

	if (rcp_agentmsg_get_peer(f->body, f->len, &addr, fp) != 0) {
		agent_dead(a, "the %s agent sent a malformed address",
		    role_name(a->role));
		return;
	}
	pthread_mutex_lock(&a->lock);
	free(a->listen_addr);
	a->listen_addr = addr;
	memcpy(a->listen_fp, fp, RCP_CERT_FP_LEN);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void
remote_heard_last(struct ragent *a, struct rcp_buf *b)
{
	uint64_t at = atomic_load(&a->heard_ns), now = rcp_now_ns();
	const char *what;

	if (at == 0) {
		rcp_buf_addstr(b, "no message came from it");
		return;
	}
	switch (atomic_load(&a->heard_type)) {
	case RCP_MSG_LOG:
		what = "a log record";
		break;
	case RCP_MSG_PROGRESS:
		what = "progress";
		break;
	case RCP_MSG_FILES:
		what = "a list of copied files";
		break;
	case RCP_MSG_CMP_DIFF:
		what = "a difference";
		break;
	default:
		what = "a reply";
		break;
	}
	rcp_buf_addf(b, "its last message, %s, came %.1f s ago", what,
	    now > at ? (double)(now - at) / 1e9 : 0.0);
}

void *
rcp_remote_reader_main(void *arg)
{
	struct ragent *a = arg;
	struct rcp_buf last = RCP_BUF_INIT;
	struct rcp_quic_msg *m;
	bool spared;

	while (rcp_quic_recv(a->conn, &m, -1) == 0) {
		atomic_store(&a->heard_ns, rcp_now_ns());
		atomic_store(&a->heard_type, m->f.type);
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		switch (m->f.type) {
		case RCP_MSG_LOG:
			on_log(a, m);
			break;
		case RCP_MSG_PROGRESS:
			on_progress(a, &m->f);
			break;
		case RCP_MSG_LISTENING:
			on_listening(a, &m->f);
			break;
		case RCP_MSG_FILES:
			on_files(a, &m->f);
			break;
		case RCP_MSG_CMP_DIFF:
			on_diff(a, &m->f);
			break;
		default:
			if (m->f.id != 0) {
				pthread_mutex_lock(&a->lock);
				m->next = a->replies;
				a->replies = m;
				pthread_cond_broadcast(&a->cond);
				pthread_mutex_unlock(&a->lock);
				continue;
			}
			rcp_log(a->r->o.log, RCP_LOG_DEBUG, "[%s] ignored "
			    "message type %u", role_name(a->role), m->f.type);
			break;
		}
		rcp_quic_msg_free(m);
	}
	if (!atomic_load(&a->r->stop) && !atomic_load(&a->bye)) {
		remote_heard_last(a, &last);
		spared = agent_dead(a, "lost the %s agent on '%s' (%s): %s",
		    role_name(a->role), a->h->name, rcp_buf_str(&last),
		    rcp_quic_conn_error(a->conn) != NULL ?
		    rcp_quic_conn_error(a->conn) : "connection closed");
		rcp_buf_release(&last);
		if (!spared)
			remote_abort_agents(a->r);
	}
	/*
	 * A request waiting for an answer that cannot come stops waiting
	 * (after the death above is on record, which it reports first).
	 */
	pthread_mutex_lock(&a->lock);
	a->closed = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/*
 * Keeps rcpd's own last line ("rcpd (source): why"), without its prefix,
 * to say why the agent exited.
 */
static void
keep_last(struct rcp_buf *last, const struct rcp_buf *line)
{
	const char *s = rcp_buf_str(line), *p = rcp_agentline_said(s);

	if (p == s)
		return;
	rcp_buf_reset(last);
	rcp_buf_addstr(last, p);
}

/* Its stderr's end means rcpd exited. */
void *
rcp_remote_errreader_main(void *arg)
{
	struct ragent *a = arg;
	struct rcp_buf line = RCP_BUF_INIT, last = RCP_BUF_INIT;
	struct rcp_buf heard = RCP_BUF_INIT;
	char buf[1024], tag[RCP_PROTO_MAX_NAME + 32];
	ssize_t n, i;
	int status = -1;
	bool spared = false;

	for (;;) {
		n = ap_read(a, true, buf, sizeof(buf), 200);
		if (n == RCP_ERR_TIMEOUT && !atomic_load(&a->abandon))
			continue;
		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (line.len < RCP_PROTO_MAX_TEXT)
					rcp_buf_addch(&line, buf[i]);
				continue;
			}
			rcp_log(a->r->o.log, rcp_agentline_level(rcp_buf_str(&line)),
			    "[%s] %s", agent_tag(a, tag, sizeof(tag)),
			    rcp_buf_str(&line));
			keep_last(&last, &line);
			rcp_buf_reset(&line);
		}
	}
	if (line.len > 0) {
		rcp_log(a->r->o.log, RCP_LOG_WARN, "[%s] %s",
		    agent_tag(a, tag, sizeof(tag)), rcp_buf_str(&line));
		keep_last(&last, &line);
	}
	rcp_buf_release(&line);
	if (ap_wait(a, atomic_load(&a->abandon) ? 0 : 2000, &status) != 0)
		status = -1;
	pthread_mutex_lock(&a->lock);
	a->exited = true;
	a->exit_status = status;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (!atomic_load(&a->r->stop) && !atomic_load(&a->bye)) {
		if (status > 128) {
			spared = agent_dead(a, "the %s agent on '%s' was killed "
			    "by signal %d", role_name(a->role), a->h->name,
			    status - 128);
		} else {
			/*
			 * An agent cut off from us exits on its own idle
			 * timeout, as our reader would see it lost: say
			 * what came last either way.
			 */
			remote_heard_last(a, &heard);
			spared = agent_dead(a, "the %s agent on '%s' exited "
			    "with status %d (%s)%s%s", role_name(a->role),
			    a->h->name, status, rcp_buf_str(&heard),
			    last.len > 0 ? ": " : "", rcp_buf_str(&last));
			rcp_buf_release(&heard);
		}
		/*
		 * One agent cannot go on without the other: end the run now
		 * rather than when the survivor's QUIC link times out.
		 */
		if (!spared)
			remote_abort_agents(a->r);
	}
	rcp_buf_release(&last);
	return NULL;
}
