/*
 * agent-source.c: rcpd as the source.  It listens for the destination
 * agent, checks its hello and serves its listings and reads from the real
 * tree (srcserve.h), with the read-ahead the master asked for
 * (srccache.h).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/udp.h"
#include "net/wire.h"
#include "remote/agent-int.h"
#include "remote/agent.h"
#include "remote/agentmsg.h"
#include "remote/srccache.h"
#include "remote/srcserve.h"

#include "base/banned.h"

/* Threads serving the destination's reads on the source. */
#define RCP_AGENT_SERVE_THREADS 8

/* One destination agent's connection, served until it ends. */
struct dconn {
	struct rcp_agent	*a;
	struct rcp_quic_conn	*c;
};

static void *
conn_serve(void *arg)
{
	struct dconn *d = arg;
	struct rcp_agent *a = d->a;
	struct rcp_quic_conn *c = d->c;
	struct rcp_quic_msg *m;
	struct rcp_srcserve *srv;

	srv = rcp_srcserve_new(RCP_AGENT_SERVE_THREADS, atomic_load(&a->cache),
	    &a->log);
	while (!atomic_load(&a->stop) && rcp_quic_recv(c, &m, -1) == 0) {
		if (m->fin) {
			rcp_quic_msg_free(m);
			continue;
		}
		if (rcp_srcserve_take(srv, c, m))
			continue;	/* answered by a server thread */
		switch (m->f.type) {
		case RCP_MSG_ECHO:
			rcp_agentmsg_echo(c, m);
			break;
		default:
			if (m->f.id != 0)
				rcp_agentmsg_reply_error(c, m->stream, m->f.id,
				    RCP_ERR_PROTO, "unknown message type");
			break;
		}
		rcp_quic_msg_free(m);
	}
	rcp_srcserve_free(srv);
	free(d);
	return NULL;
}

int
rcp_agent_take_destination(struct rcp_agent *a, struct rcp_quic_conn *c)
{
	struct rcp_quic_msg *m;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;
	int role, r;

	if (rcp_quic_recv(c, &m, a->o->startup_timeout_ms) != 0) {
		rcp_log(&a->log, RCP_LOG_ERROR, "destination agent: %s",
		    rcp_quic_conn_error(c) ? rcp_quic_conn_error(c) : "no hello");
		rcp_quic_conn_free(c);
		return RCP_ERR_PROTO;
	}
	if ((r = rcp_agentmsg_check_hello(&m->f, a->token, &role,
	    &cause)) != 0 || role != RCP_ROLE_DESTINATION) {
		rcp_log(&a->log, RCP_LOG_ERROR, "destination agent refused: %s",
		    cause != NULL ? cause : "wrong role");
		rcp_agentmsg_reply_error(c, m->stream, m->f.id,
		    r ? r : RCP_ERR_PROTO, cause != NULL ? cause : "wrong role");
		free(cause);
		rcp_quic_msg_free(m);
		rcp_quic_conn_free(c);
		return r ? r : RCP_ERR_PROTO;
	}
	rcp_wire_put_u32(&b, RCP_PROTO_VERSION);
	rcp_quic_send(c, m->stream, RCP_MSG_HELLO_OK, m->f.id, b.data, b.len,
	    5000);
	rcp_buf_release(&b);
	rcp_quic_msg_free(m);
	return 0;
}

/*
 * Takes in the destination agents the master allowed (one, or the several
 * destination hosts of one copy), each served by a thread of its own,
 * until every one is in or the start-up timeout passes since the last was
 * allowed.
 */
static void *
peer_serve(void *arg)
{
	struct rcp_agent *a = arg;
	struct rcp_quic_conn *c = NULL;
	struct dconn *d;
	char *cause = NULL;
	uint64_t end;
	size_t want, i;
	int r;

	for (;;) {
		pthread_mutex_lock(&a->lock);
		want = a->dallowed;
		end = a->dallowed_ns + (uint64_t)a->o->startup_timeout_ms *
		    1000000u;
		pthread_mutex_unlock(&a->lock);
		if (atomic_load(&a->stop))
			break;
		/* In slices, so that a shutdown does not wait for the timeout. */
		r = rcp_quic_accept(a->ep, 200, &c, &cause);
		if (r == RCP_ERR_TIMEOUT) {
			free(cause);
			cause = NULL;
			if (a->ndconns < want && rcp_now_ns() >= end) {
				rcp_log(&a->log, RCP_LOG_ERROR, "the "
				    "destination agent did not connect: "
				    "timed out");
				break;
			}
			continue;
		}
		if (r != 0) {
			if (!atomic_load(&a->stop))
				rcp_log(&a->log, RCP_LOG_ERROR, "the destination "
				    "agent did not connect: %s", cause);
			free(cause);
			break;
		}
		if (rcp_agent_take_destination(a, c) != 0)
			continue;
		if (a->ndconns == RCP_AGENT_DCONN_MAX) {
			rcp_quic_close(c, 0);
			rcp_quic_conn_free(c);
			continue;
		}
		d = rcp_xcalloc(1, sizeof(*d));
		d->a = a;
		d->c = c;
		pthread_mutex_lock(&a->lock);
		if (a->peer == NULL)
			a->peer = c;
		i = a->ndconns++;
		a->dconns[i] = c;
		pthread_mutex_unlock(&a->lock);
		if (pthread_create(&a->dthreads[i], NULL, conn_serve, d) != 0) {
			free(d);
			rcp_quic_close(c, 0);
		} else
			a->dstarted[i] = true;
		rcp_log(&a->log, RCP_LOG_INFO, "destination agent connected");
	}
	return NULL;
}

/*
 * This host's address on the route to the master: a UDP socket connected
 * there (nothing is sent) says where the kernel would send from.
 */
static void
route_addr(const struct sockaddr_storage *to, socklen_t tolen, char *ip,
    size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char *s;
	int fd;

	if ((fd = socket(to->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return;
	if (connect(fd, (const struct sockaddr *)to, tolen) == 0 &&
	    getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		s = rcp_udp_host_str((struct sockaddr *)&ss);
		snprintf(ip, n, "%s", s);
		free(s);
	}
	close(fd);
}

int
rcp_agent_source_listen(struct rcp_agent *a,
    const struct sockaddr_storage *master, socklen_t mlen, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t len;
	const char *conn_env;
	char ip[INET6_ADDRSTRLEN + 2], *spec;
	int r;

	/*
	 * Listen where the master reached this host over SSH (the server
	 * side of $SSH_CONNECTION), unless told otherwise; started another
	 * way (srun), on this host's address on the route to the master.
	 */
	ip[0] = '\0';
	if (a->o->bind_addr != NULL)
		snprintf(ip, sizeof(ip), "%s", a->o->bind_addr);
	else if ((conn_env = getenv("SSH_CONNECTION")) != NULL)
		sscanf(conn_env, "%*s %*s %45s", ip);
	else
		route_addr(master, mlen, ip, sizeof(ip));
	if (ip[0] == '\0')
		snprintf(ip, sizeof(ip), "0.0.0.0");
	spec = rcp_xasprintf(strchr(ip, ':') != NULL ? "[%s]:1" : "%s:1", ip);
	r = rcp_udp_addr_parse(spec, &ss, &len);
	free(spec);
	if (r != 0) {
		*cause = rcp_xasprintf("bad address to listen on: '%s'", ip);
		return RCP_ERR_INVAL;
	}
	return rcp_quic_listen(&a->o->quic, (struct sockaddr *)&ss, len,
	    &a->ep, cause);
}

int
rcp_agent_source_announce(struct rcp_agent *a)
{
	struct sockaddr_storage ss;
	struct rcp_buf b = RCP_BUF_INIT;
	socklen_t len;
	char *addr;
	int r;

	rcp_quic_ep_addr(a->ep, &ss, &len);
	addr = rcp_udp_addr_str((struct sockaddr *)&ss);
	rcp_agentmsg_put_peer(&b, addr, rcp_cert_fp(a->cert));
	r = rcp_quic_send(rcp_agent_master(a), a->ctrl, RCP_MSG_LISTENING, 0,
	    b.data, b.len, 5000);
	rcp_log(&a->log, RCP_LOG_DEBUG, "listening for the destination on %s",
	    addr);
	free(addr);
	rcp_buf_release(&b);
	return r;
}

int
rcp_agent_source_peer(struct rcp_agent *a, const uint8_t *fp, char **cause)
{
	rcp_quic_ep_allow(a->ep, fp);
	pthread_mutex_lock(&a->lock);
	a->dallowed++;
	a->dallowed_ns = rcp_now_ns();
	pthread_mutex_unlock(&a->lock);
	if (a->peer_started)
		return 0;	/* another destination host of the copy */
	if (pthread_create(&a->peer_thread, NULL, peer_serve, a) != 0) {
		*cause = rcp_xstrdup("cannot start a thread");
		return RCP_ERR_INTERNAL;
	}
	a->peer_started = true;
	return 0;
}

/*
 * SRC_PREFETCH (one-way, once a run): read the trees ahead while the
 * destination is not there yet (srccache.h).
 */
int
rcp_agent_source_prefetch(struct rcp_agent *a, const struct rcp_quic_msg *m,
    char **cause)
{
	char **paths;
	size_t n;

	if (atomic_load(&a->cache) != NULL)
		return 0;		/* only a hint: nothing to say */
	if (rcp_agentmsg_get_prefetch(m->f.body, m->f.len, &paths, &n) != 0) {
		*cause = rcp_xstrdup("malformed read-ahead request");
		return RCP_ERR_PROTO;
	}
	atomic_store(&a->cache, rcp_srccache_new(paths, n, RCP_SRCCACHE_CAP,
	    &a->log));
	rcp_strv_free(paths, n);
	return 0;
}
