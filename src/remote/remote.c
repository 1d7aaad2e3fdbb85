/*
 * remote.c: starting and steering the two rcpd agents of a remote run.
 *
 * Threads: the caller's, which starts agents and makes requests; and per
 * agent a reader (its QUIC messages: logs, progress, replies) and an
 * stderr reader (what rcpd prints when it cannot reach us, and its exit),
 * both in remote-readers.c.  Replies are matched to requests by id under
 * agent->lock.  Where rcpd is, and deploying ours, is deploy.c.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/child.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agentline.h"
#include "remote/agentmsg.h"
#include "remote/deploy.h"
#include "opts/hostgroups.h"
#include "remote/remote-int.h"
#include "remote/remote.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static int request(struct rcp_remote *r, struct ragent *a, uint16_t type,
    const void *body, size_t len, struct rcp_quic_msg **reply, int timeout_ms,
    uint32_t stall_ms, char **cause);

static struct ragent *
agent_of(struct rcp_remote *r, int role)
{
	return &r->agents[role == RCP_ROLE_SOURCE ? 0 : 1];
}

/* --- start-up ------------------------------------------------------------ */

/*
 * This host's address by its name, for agents started by srun (whose
 * nodes reach each other by name): 0 with addr filled, or an error.
 */
static int
own_addr(char *addr, size_t n, char **cause)
{
	struct addrinfo hints, *ai = NULL;
	char name[256];
	int rv;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if (gethostname(name, sizeof(name) - 1) != 0) {
		*cause = rcp_xasprintf("cannot tell this host's name: %s; "
		    "give --master-addr", strerror(errno));
		return RCP_ERR_IO;
	}
	name[sizeof(name) - 1] = '\0';
	if ((rv = getaddrinfo(name, NULL, &hints, &ai)) != 0 ||
	    getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, (socklen_t)n, NULL,
	    0, NI_NUMERICHOST) != 0) {
		*cause = rcp_xasprintf("cannot tell the address of this host "
		    "('%s') for the agents srun starts: %s; give --master-addr",
		    name, rv != 0 ? gai_strerror(rv) : "no numeric form");
		if (ai != NULL)
			freeaddrinfo(ai);
		return RCP_ERR_IO;
	}
	freeaddrinfo(ai);
	return 0;
}

/*
 * The address the agents of h dial back: --master-addr, else where h
 * reached us over SSH, else (srun) this host's by name, else (an agent
 * here) the loopback address.
 */
static int
dial_back_addr(struct rcp_remote *r, struct rhost *h,
    struct sockaddr_storage *ss, socklen_t *len, char **cause)
{
	const char *addr = r->o.master_addr;
	char *spec, own[NI_MAXHOST];
	int rv;

	if (addr == NULL && h->ssh != NULL) {
		if ((rv = rcp_ssh_local_addr(h->ssh, ss, len)) != 0)
			*cause = rcp_xasprintf("cannot tell our address as "
			    "seen from '%s'", h->name);
		return rv;
	}
	if (addr == NULL && h->srun) {
		if ((rv = own_addr(own, sizeof(own), cause)) != 0)
			return rv;
		addr = own;
	}
	if (addr == NULL)
		addr = "127.0.0.1";
	spec = rcp_xasprintf(strchr(addr, ':') ? "[%s]:1" : "%s:1", addr);
	rv = rcp_udp_addr_parse(spec, ss, len);
	free(spec);
	if (rv != 0) {
		*cause = rcp_xasprintf("bad master address '%s'", addr);
		return RCP_ERR_INVAL;
	}
	return 0;
}

/* A host srun can start agents on: a node name, inside an allocation. */
static int
srun_check(const struct rcp_ssh_target *t, char **cause)
{
	const char *job = getenv("SLURM_JOB_ID"), *nodes;

	if (t->user != NULL || t->port != 0) {
		*cause = rcp_xasprintf("--launcher srun: '%s' is given with a "
		    "%s, but srun starts agents as you on a node of the "
		    "allocation: name the node alone", t->host,
		    t->user != NULL ? "user" : "port");
		return RCP_ERR_INVAL;
	}
	if (job == NULL || *job == '\0') {
		*cause = rcp_xstrdup("--launcher srun starts agents as steps of "
		    "a Slurm allocation, and SLURM_JOB_ID is not set: run rcp "
		    "in one (sbatch, salloc)");
		return RCP_ERR_INVAL;
	}
	/* srun would run a step on a node we did not ask for: refuse. */
	nodes = getenv("SLURM_JOB_NODELIST");
	if (nodes == NULL || !rcp_hostlist_has(nodes, t->host)) {
		*cause = rcp_xasprintf("--launcher srun: '%s' is not a node of "
		    "Slurm job %s (its nodes: %s)", t->host, job,
		    nodes != NULL ? nodes : "not set");
		return RCP_ERR_INVAL;
	}
	return 0;
}

static int
host_open(struct rcp_remote *r, const char *spec, struct rhost **out,
    char **cause)
{
	struct rcp_ssh_target t;
	struct sockaddr_storage ss;
	struct rcp_quic_config qc;
	struct rhost *h;
	socklen_t len = sizeof(ss);
	bool here = strcmp(spec, RCP_REMOTE_HERE) == 0;
	size_t i;
	int rv;

	pthread_mutex_lock(&r->hosts_lock);
	for (i = 0; i < r->nhosts; i++) {
		if (strcmp(r->hosts[i]->spec, spec) == 0) {
			*out = r->hosts[i];	/* one SSH connection per host */
			pthread_mutex_unlock(&r->hosts_lock);
			return 0;
		}
	}
	memset(&t, 0, sizeof(t));
	if (!here && (rv = rcp_ssh_target_parse(spec, &t, cause)) != 0) {
		pthread_mutex_unlock(&r->hosts_lock);
		return rv;
	}
	h = rcp_xcalloc(1, sizeof(*h));
	h->spec = rcp_xstrdup(spec);
	h->here = here;
	h->srun = !here && r->o.launcher == RCP_LAUNCH_SRUN;
	h->name = here ? "localhost" : h->spec;
	r->hosts[r->nhosts++] = h;
	pthread_mutex_unlock(&r->hosts_lock);
	if (h->srun) {
		rv = srun_check(&t, cause);
		rcp_ssh_target_release(&t);
		if (rv != 0)
			return rv;
	} else if (!here) {
		h->ssh = rcp_ssh_connect(&t, &r->o.ssh, cause);
		rcp_ssh_target_release(&t);
		if (h->ssh == NULL)
			return RCP_ERR_IO;
	}
	if ((rv = dial_back_addr(r, h, &ss, &len, cause)) != 0)
		return rv;
	rcp_quic_config_init(&qc);
	qc.cert = r->cert;
	qc.profile = r->o.profile;
	qc.conn_timeout_ms = r->o.conn_timeout_ms;
	qc.idle_timeout_ms = r->o.idle_timeout_ms;
	qc.keepalive_ms = r->o.keepalive_ms;
	qc.ports = r->o.ports.n > 0 ? &r->o.ports : NULL;
	qc.log = r->o.log;
	qc.name = "master";
	rv = rcp_quic_listen(&qc, (struct sockaddr *)&ss, len, &h->ep, cause);
	if (rv != 0)
		return rv;
	*out = h;
	return 0;
}

/* An agent's command line after the program; args_release frees it. */
struct agent_args {
	char	*v[48];
	size_t	 n;
};

static void
args_add(struct agent_args *x, char *arg)
{
	if (x->n + 1 >= RCP_ARRAY_SIZE(x->v))
		abort();	/* a bug of ours: more options than room */
	x->v[x->n++] = arg;
	x->v[x->n] = NULL;
}

static void
args_release(struct agent_args *x)
{
	size_t i;

	for (i = 0; i < x->n; i++)
		free(x->v[i]);
	x->n = 0;
}

static void
agent_args(struct rcp_remote *r, struct ragent *a, struct agent_args *x)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const char *bind = NULL;
	int i;

	args_add(x, rcp_xstrdup("--role"));
	args_add(x, rcp_xstrdup(role_name(a->role)));
	if (a->helper)
		args_add(x, rcp_xstrdup("--helper"));
	args_add(x, rcp_xstrdup("--quic-profile"));
	args_add(x, rcp_xstrdup(r->o.profile == RCP_QUIC_INTERNET ?
	    "internet" : "datacenter"));
	if (r->o.ports.n > 0) {
		for (i = 0; i < (int)r->o.ports.n; i++)
			rcp_buf_addf(&b, "%s%u-%u", i ? "," : "",
			    r->o.ports.r[i].lo, r->o.ports.r[i].hi);
		args_add(x, rcp_xstrdup("--quic-port-ranges"));
		args_add(x, rcp_buf_detach(&b));
	}
	if (a->role == RCP_ROLE_SOURCE)
		bind = r->o.source_addr != NULL ? r->o.source_addr :
		    a->h->here ? r->here_bind : NULL;
	if (bind != NULL) {
		args_add(x, rcp_xstrdup("--bind-addr"));
		args_add(x, rcp_xstrdup(bind));
	}
	if (r->o.conn_timeout_ms) {
		args_add(x, rcp_xstrdup("--remote-copy-conn-timeout-sec"));
		args_add(x, rcp_xasprintf("%u",
		    (r->o.conn_timeout_ms + 999) / 1000));
	}
	if (r->o.idle_timeout_ms) {
		args_add(x, rcp_xstrdup("--quic-idle-timeout-sec"));
		args_add(x, rcp_xasprintf("%u",
		    (r->o.idle_timeout_ms + 999) / 1000));
	}
	if (r->o.keepalive_ms) {
		args_add(x, rcp_xstrdup("--quic-keepalive-sec"));
		args_add(x, rcp_xasprintf("%u",
		    (r->o.keepalive_ms + 999) / 1000));
	}
	for (i = RCP_LOG_INFO; i < r->o.agent_verbosity && i < RCP_LOG_TRACE;
	    i++)
		args_add(x, rcp_xstrdup("-v"));
}

/* The shell command that starts the agent on another host. */
static char *
launch_command(struct rcp_remote *r, struct ragent *a)
{
	struct agent_args x = { .n = 0 };
	struct rcp_buf b = RCP_BUF_INIT;
	char *q;
	size_t i;

	rcp_deploy_find_cmd(&b, a->h->rcpd != NULL ? a->h->rcpd :
	    r->o.rcpd_path);
	agent_args(r, a, &x);
	for (i = 0; i < x.n; i++) {
		q = rcp_ssh_shell_quote(x.v[i]);
		rcp_buf_addf(&b, " %s", q);
		free(q);
	}
	args_release(&x);
	return rcp_buf_detach(&b);
}

/*
 * srun's part of the command line of an agent that is a step of our Slurm
 * allocation on its node: one task; --overlap, so that both agents (and
 * the batch script) can share a node's CPUs; a step that cannot start
 * fails at once, not queues.  srun is our child as a local agent is, its
 * stdin and stdout the agent's (Slurm forwards them).
 */
static void
srun_args(struct ragent *a, struct agent_args *x)
{
	args_add(x, rcp_xstrdup("srun"));
	args_add(x, rcp_xstrdup("--nodes=1"));
	args_add(x, rcp_xstrdup("--ntasks=1"));
	args_add(x, rcp_xasprintf("--nodelist=%s", a->h->spec));
	args_add(x, rcp_xstrdup("--overlap"));
	args_add(x, rcp_xstrdup("--immediate"));
	args_add(x, rcp_xstrdup("--kill-on-bad-exit=1"));
	args_add(x, rcp_xstrdup("--quiet"));
	args_add(x, rcp_xasprintf("--job-name=rcpd-%s", role_name(a->role)));
	args_add(x, rcp_xstrdup("--"));
}

/*
 * Starts the agent's process: a command over SSH on another host, else
 * our child: rcpd here, or srun of it on an srun host.
 */
static int
agent_spawn(struct rcp_remote *r, struct ragent *a, char **cause)
{
	struct agent_args x = { .n = 0 };
	char *cmd, *c2 = NULL, *prog;
	int rv;

	if (!a->h->here && !a->h->srun) {
		cmd = launch_command(r, a);
		rcp_log(r->o.log, RCP_LOG_DEBUG, "starting the %s agent on "
		    "'%s': %s", role_name(a->role), a->h->name, cmd);
		a->proc = rcp_ssh_exec(a->h->ssh, cmd, cause);
		free(cmd);
		return a->proc != NULL ? 0 : RCP_ERR_IO;
	}
	if (a->h->srun)
		srun_args(a, &x);
	prog = rcp_deploy_local(r->o.rcpd_path);
	args_add(&x, prog);
	agent_args(r, a, &x);
	if (a->h->srun)
		rcp_log(r->o.log, RCP_LOG_DEBUG, "starting the %s agent on "
		    "'%s' by srun: %s", role_name(a->role), a->h->name, prog);
	else
		rcp_log(r->o.log, RCP_LOG_DEBUG, "starting the %s agent here: "
		    "%s", role_name(a->role), prog);
	rv = rcp_child_spawn(x.v, &a->child, &c2);
	if (rv == RCP_ERR_NOTFOUND) {
		*cause = rcp_xasprintf("%s; %s", c2, a->h->srun ?
		    "--launcher srun needs Slurm's srun in PATH" :
		    "install rcpd next to rcp or in PATH");
		free(c2);
	} else if (rv != 0)
		*cause = c2;
	args_release(&x);
	return rv;
}

/* Reads what rcpd said on stderr before dying, for the error message. */
static char *
agent_stderr(struct ragent *a)
{
	char buf[2048];
	ssize_t n;

	n = ap_read(a, true, buf, sizeof(buf) - 1, 1000);
	if (n <= 0)
		return rcp_xstrdup("");
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return rcp_xasprintf(": %s", buf);
}

/*
 * Starts rcpd, checks what it is, then hands it its secrets.  Returns 0,
 * RCP_ERR_NOTFOUND (no rcpd there), RCP_ERR_VERSION (another protocol) or
 * another error, with *cause.
 */
static int
agent_launch(struct rcp_remote *r, struct ragent *a, char **cause)
{
	struct sockaddr_storage ss;
	struct rcp_agentline_hello hello;
	char *addr, *line = NULL, *err;
	socklen_t len;
	int rv;

	if ((rv = agent_spawn(r, a, cause)) != 0)
		return rv;
	/* Who answers?  Secrets go to nothing but an rcpd of our protocol. */
	rv = ap_read_line(a, &line, RCP_PROTO_MAX_LINE,
	    r->o.startup_timeout_ms);
	if (rv == 0) {
		rv = rcp_agentline_get_hello(line, &hello);
		/* Even one we refuse: it is the process to kill if it hangs. */
		a->pid = hello.pid;
		snprintf(a->start, sizeof(a->start), "%s", hello.start);
	}
	if (rv == 0) {
		memcpy(a->fp, hello.fp, RCP_CERT_FP_LEN);
		snprintf(a->version, sizeof(a->version), "%s", hello.version);
	}
	free(line);
	line = NULL;
	if (rv == RCP_ERR_VERSION && a->h->here) {
		*cause = rcp_xasprintf("the rcpd found here (version %s) "
		    "speaks protocol %u, but this rcp (version %s) speaks "
		    "protocol %d: install the rcpd of this rcp next to it",
		    hello.version, hello.proto, PACKAGE_VERSION,
		    RCP_PROTO_VERSION);
		return rv;
	}
	if (rv == RCP_ERR_VERSION) {
		*cause = rcp_xasprintf("rcpd on '%s' (version %s) speaks "
		    "protocol %u, but this rcp (version %s) speaks protocol %d: "
		    "install the same version on both hosts, or use "
		    "--auto-deploy-rcpd", a->h->name, hello.version,
		    hello.proto, PACKAGE_VERSION, RCP_PROTO_VERSION);
		return rv;
	}
	if (rv != 0) {
		err = agent_stderr(a);
		if (strstr(err, RCP_DEPLOY_NOT_FOUND) != NULL) {
			*cause = rcp_xasprintf("cannot find rcpd on '%s'%s; "
			    "install it there, point --rcpd-path at it, or use "
			    "--auto-deploy-rcpd", a->h->name, err);
			rv = RCP_ERR_NOTFOUND;
		} else {
			*cause = rcp_xasprintf("the %s agent on '%s' did not "
			    "start%s", role_name(a->role), a->h->name, err);
			rv = RCP_ERR_PROTO;
		}
		free(err);
		return rv;
	}
	rcp_quic_ep_allow(a->h->ep, a->fp);
	rcp_quic_ep_addr(a->h->ep, &ss, &len);
	addr = rcp_udp_addr_str((struct sockaddr *)&ss);
	line = rcp_agentline_put_secrets(addr, rcp_cert_fp(r->cert), r->token);
	free(addr);
	rv = ap_write(a, line, strlen(line));
	gnutls_memset(line, 0, strlen(line));
	free(line);
	if (rv != 0) {
		*cause = rcp_xasprintf("lost the %s agent on '%s' at start-up",
		    role_name(a->role), a->h->name);
		return rv;
	}
	return 0;
}

/* Launches, and with --auto-deploy-rcpd deploys and relaunches if needed. */
static int
agent_start(struct rcp_remote *r, struct ragent *a, char **cause)
{
	char *deployed = NULL;
	int rv;

	rv = agent_launch(r, a, cause);
	if (rv == 0 || !r->o.auto_deploy || a->h->here || a->h->srun ||
	    (rv != RCP_ERR_NOTFOUND && rv != RCP_ERR_VERSION))
		return rv;
	rcp_log(r->o.log, RCP_LOG_INFO, "%s; deploying this rcpd to '%s'",
	    *cause, a->h->name);
	free(*cause);
	*cause = NULL;
	ap_free(a);
	if ((rv = rcp_deploy_rcpd(a->h->ssh, &deployed, cause)) != 0)
		return rv;
	free(a->h->rcpd);
	a->h->rcpd = deployed;
	return agent_launch(r, a, cause);
}

/*
 * Why an agent that h's endpoint still waits for (only, or any) has
 * exited before connecting, or NULL if none has.  Caller frees.
 */
static char *
gone_before_connecting(struct rcp_remote *r, struct rhost *h,
    struct ragent *only)
{
	struct ragent *a;
	char *why = NULL, *err;
	int i, status;

	for (i = 0; i < (int)r->nagents && why == NULL; i++) {
		a = &r->agents[i];
		if ((only != NULL && only != a) || a->h != h || a->conn != NULL)
			continue;
		if (a->errreader_started) {
			/* Its stderr reader reaps it and says why: ask it. */
			pthread_mutex_lock(&a->lock);
			if (a->dead != NULL)
				why = rcp_xstrdup(a->dead);
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		if (ap_wait(a, 0, &status) != 0)
			continue;
		err = agent_stderr(a);		/* ": line" or "" */
		why = rcp_xasprintf("the %s agent on '%s' exited with status "
		    "%d before connecting%s%s", role_name(a->role), h->name,
		    status, err[0] ? ": " : "",
		    err[0] ? rcp_agentline_said(err + 2) : "");
		free(err);
	}
	return why;
}

/* "the destination agent on 'h' did not connect back within 30 s" */
static char *
waited_for(struct rcp_remote *r, struct rhost *h, struct ragent *only)
{
	const char *role = "agents";
	size_t i, n = 0;

	for (i = 0; i < r->nagents; i++) {
		if ((only == NULL || only == &r->agents[i]) &&
		    r->agents[i].h == h && r->agents[i].conn == NULL) {
			role = role_name(r->agents[i].role);
			n++;
		}
	}
	return rcp_xasprintf("the %s%s on '%s' did not connect back within %d s "
	    "(the start-up timeout): stopped, or cut off from us", n == 1 ?
	    role : "source and destination", n == 1 ? " agent" : " agents",
	    h->name, (r->o.startup_timeout_ms + 999) / 1000);
}

/*
 * Accepts a pinned connection on h's endpoint within the start-up timeout,
 * looking every 250 ms whether the agents it waits for are still there:
 * one that died says so at once instead of at the timeout.
 */
static int
accept_alive(struct rcp_remote *r, struct rhost *h, struct ragent *only,
    struct rcp_quic_conn **c, char **cause)
{
	uint64_t deadline = rcp_deadline_after(r->o.startup_timeout_ms);
	char *why;
	int rv, step;

	for (;;) {
		step = rcp_deadline_ms_left(deadline);
		if (step < 0 || step > 250)
			step = 250;
		rv = rcp_quic_accept(h->ep, step, c, cause);
		if (rv != RCP_ERR_TIMEOUT)
			return rv;
		if ((why = gone_before_connecting(r, h, only)) != NULL) {
			free(*cause);
			*cause = why;
			return RCP_ERR_IO;
		}
		if (rcp_deadline_passed(deadline)) {
			free(*cause);
			*cause = waited_for(r, h, only);
			return rv;
		}
		free(*cause);
		*cause = NULL;
	}
}

/* Accepts the agent's pinned connection and checks its hello. */
static int
agent_accept(struct rcp_remote *r, struct rhost *h, struct ragent *only,
    char **cause)
{
	struct rcp_quic_conn *c = NULL;
	struct rcp_quic_msg *m = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	struct ragent *a = NULL;
	uint8_t fp[RCP_CERT_FP_LEN];
	char *why = NULL;
	size_t i;
	int role = 0, rv;

	if ((rv = accept_alive(r, h, only, &c, cause)) != 0)
		return rv;
	rcp_quic_conn_peer_fp(c, fp);
	for (i = 0; i < r->nagents; i++)
		if ((only == NULL || only == &r->agents[i]) &&
		    r->agents[i].h == h && r->agents[i].conn == NULL &&
		    memcmp(r->agents[i].fp, fp, sizeof(fp)) == 0)
			a = &r->agents[i];
	if (a == NULL) {
		rcp_quic_conn_free(c);
		*cause = rcp_xstrdup("an unexpected agent connected");
		return RCP_ERR_AUTH;
	}
	if ((rv = rcp_quic_recv(c, &m, r->o.startup_timeout_ms)) != 0) {
		*cause = rcp_xasprintf("no hello from the %s agent on '%s': %s",
		    role_name(a->role), h->name, rcp_quic_conn_error(c) ?
		    rcp_quic_conn_error(c) : "timed out");
		rcp_quic_conn_free(c);
		return rv;
	}
	rv = m->fin ? RCP_ERR_PROTO :
	    rcp_agentmsg_check_hello(&m->f, r->token, &role, &why);
	if (rv == RCP_ERR_VERSION) {
		*cause = rcp_xasprintf("the %s agent on '%s': %s",
		    role_name(a->role), h->name, why);
	} else if (rv != 0 || role != a->role) {
		*cause = rcp_xasprintf("bad hello from the %s agent on '%s'",
		    role_name(a->role), h->name);
		rv = RCP_ERR_AUTH;
	}
	free(why);
	if (rv != 0) {
		rcp_quic_msg_free(m);
		rcp_quic_conn_free(c);
		return rv;
	}
	pthread_mutex_lock(&a->lock);	/* rcp_remote_abort may look */
	a->conn = c;
	pthread_mutex_unlock(&a->lock);
	a->ctrl = m->stream;
	rcp_wire_put_u32(&b, RCP_PROTO_VERSION);
	rv = rcp_quic_send(c, a->ctrl, RCP_MSG_HELLO_OK, m->f.id, b.data, b.len,
	    5000);
	rcp_buf_release(&b);
	rcp_quic_msg_free(m);
	if (rv != 0) {
		*cause = rcp_xasprintf("lost the %s agent", role_name(a->role));
		return rv;
	}
	if (pthread_create(&a->reader, NULL, rcp_remote_reader_main, a) == 0)
		a->reader_started = true;
	return 0;
}

static int
wait_listening(struct rcp_remote *r, struct ragent *src, char **cause)
{
	/* Whole seconds, one more than the start-up timeout's. */
	uint64_t dl = rcp_now_ns() +
	    (uint64_t)(r->o.startup_timeout_ms / 1000 + 1) * 1000000000u;
	int rv = 0;

	pthread_mutex_lock(&src->lock);
	while (src->listen_addr == NULL && src->dead == NULL && rv == 0)
		rv = rcp_cond_wait_until(&src->cond, &src->lock, dl);
	if (src->listen_addr == NULL) {
		*cause = rcp_xasprintf("the %s agent on '%s' did not say "
		    "where it listens%s%s", role_name(src->role), src->h->name, src->dead ? ": " : "",
		    src->dead ? src->dead : "");
		pthread_mutex_unlock(&src->lock);
		return RCP_ERR_TIMEOUT;
	}
	pthread_mutex_unlock(&src->lock);
	return 0;
}

/* Whether a is a destination agent: the first, or a helper. */
static bool
is_dest(struct rcp_remote *r, size_t i)
{
	return i == 1 || i > r->nsources;
}

/*
 * Introduces the destinations to each source: fingerprints both ways.  The
 * sources after the first are "more" to each destination: it reads
 * through them all.  Then the destination's helpers to it: each listens
 * for it as a source does, and it connects to each.
 */
static int
introduce(struct rcp_remote *r, char **cause)
{
	struct ragent *src, *dst = &r->agents[1], *d;
	struct rcp_quic_msg *rep = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	size_t i, k;
	int rv = 0;

	/* What several hosts a side take: the agents of this build. */
	for (i = 0; i < r->nagents; i++) {
		d = &r->agents[i];
		if ((is_dest(r, i) && r->nsources > 1) || r->ndests > 1) {
			if (strcmp(d->version, PACKAGE_VERSION) == 0)
				continue;
			*cause = rcp_xasprintf("the %s agent on '%s' (rcpd "
			    "%s) cannot take part in a copy through several "
			    "%s hosts: install rcpd %s there or use "
			    "--auto-deploy-rcpd", role_name(d->role),
			    d->h->name, d->version, r->ndests > 1 ?
			    "destination" : "source", PACKAGE_VERSION);
			return RCP_ERR_VERSION;
		}
	}
	for (i = 0; i < r->nagents && rv == 0; i++) {
		if (is_dest(r, i))
			continue;
		src = &r->agents[i];
		if ((rv = wait_listening(r, src, cause)) != 0)
			return rv;
		for (k = 0; k < r->nagents && rv == 0; k++) {
			if (!is_dest(r, k))
				continue;
			rcp_buf_reset(&b);
			rcp_agentmsg_put_peer(&b, "", r->agents[k].fp);
			rv = request(r, src, RCP_MSG_PEER, b.data, b.len, &rep,
			    r->o.startup_timeout_ms, 0, cause);
			rcp_quic_msg_free(rep);
			rep = NULL;
		}
		for (k = 0; k < r->nagents && rv == 0; k++) {
			if (!is_dest(r, k))
				continue;
			rcp_buf_reset(&b);
			pthread_mutex_lock(&src->lock);
			rcp_agentmsg_put_peer(&b, src->listen_addr,
			    src->listen_fp);
			rcp_agentmsg_put_peer_about(&b, src->h->name,
			    src->version);
			pthread_mutex_unlock(&src->lock);
			if (i > 0)
				rcp_agentmsg_put_peer_more(&b);
			rv = request(r, &r->agents[k], RCP_MSG_PEER, b.data,
			    b.len, &rep, r->o.startup_timeout_ms, 0, cause);
			rcp_quic_msg_free(rep);
			rep = NULL;
		}
	}
	for (i = r->nsources + 1; i < r->nagents && rv == 0; i++) {
		d = &r->agents[i];
		if ((rv = wait_listening(r, d, cause)) != 0)
			break;
		rcp_buf_reset(&b);
		rcp_agentmsg_put_peer(&b, "", dst->fp);
		rv = request(r, d, RCP_MSG_PEER, b.data, b.len, &rep,
		    r->o.startup_timeout_ms, 0, cause);
		rcp_quic_msg_free(rep);
		rep = NULL;
		if (rv != 0)
			break;
		rcp_buf_reset(&b);
		pthread_mutex_lock(&d->lock);
		rcp_agentmsg_put_peer(&b, d->listen_addr, d->listen_fp);
		rcp_agentmsg_put_peer_about(&b, d->h->name, d->version);
		pthread_mutex_unlock(&d->lock);
		rcp_agentmsg_put_peer_helper(&b);
		rv = request(r, dst, RCP_MSG_PEER, b.data, b.len, &rep,
		    r->o.startup_timeout_ms, 0, cause);
		rcp_quic_msg_free(rep);
		rep = NULL;
	}
	rcp_buf_release(&b);
	return rv;
}

/* One host's start-up: SSH, finding rcpd, launching the agent. */
struct start_job {
	struct rcp_remote	*r;
	const char		*spec;
	struct ragent		*a;
	bool			 early;		/* source_early too */
	int			 rv;
	char			*cause;
};

/*
 * The source, on a host of its own, is taken in as soon as it is up and
 * told what to read ahead while the destination is still logging in.
 */
static int
source_early(struct rcp_remote *r, struct ragent *a, char **cause)
{
	int rv;

	if ((rv = agent_accept(r, a->h, a, cause)) != 0)
		return rv;
	/*
	 * A hint, for agents of our own build only (an older one of the same
	 * protocol would not know it); if it does not get there, the copy
	 * only reads later.
	 */
	if (strcmp(a->version, PACKAGE_VERSION) == 0)
		rcp_quic_send(a->conn, a->ctrl, RCP_MSG_SRC_PREFETCH, 0,
		    r->o.prefetch, r->o.prefetch_len, 5000);
	return 0;
}

static void *
start_one(void *arg)
{
	struct start_job *j = arg;

	j->rv = host_open(j->r, j->spec, &j->a->h, &j->cause);
	if (j->rv == 0)
		j->rv = agent_start(j->r, j->a, &j->cause);
	if (j->rv == 0 && j->early)
		j->rv = source_early(j->r, j->a, &j->cause);
	return NULL;
}

/*
 * Where a source agent here listens: where the destination's host reaches
 * us, the local address of our SSH connection to it (so that connection is
 * made first; the logins then go on in parallel), unless --source-addr says.
 */
static int
here_bind(struct rcp_remote *r, const char *dst_host, char **cause)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct rhost *h;
	int rv;

	if (r->o.source_addr != NULL)
		return 0;
	if (strcmp(dst_host, RCP_REMOTE_HERE) == 0) {
		r->here_bind = rcp_xstrdup("127.0.0.1");
		return 0;
	}
	if ((rv = host_open(r, dst_host, &h, cause)) != 0)
		return rv;
	if (h->srun) {
		/* Its node reaches this host by name, as the agents do. */
		char own[NI_MAXHOST];

		if ((rv = own_addr(own, sizeof(own), cause)) != 0)
			return rv;
		r->here_bind = rcp_xstrdup(own);
		return 0;
	}
	if ((rv = rcp_ssh_local_addr(h->ssh, &ss, &len)) != 0) {
		*cause = rcp_xasprintf("cannot tell our address as seen from "
		    "'%s'", h->name);
		return rv;
	}
	r->here_bind = rcp_udp_host_str((struct sockaddr *)&ss);
	return 0;
}

/* The agents of one host, started in turn: they share its SSH connection. */
struct host_jobs {
	struct start_job	*j[RCP_REMOTE_MAX_AGENTS];
	size_t			 n;
};

static void *
start_host(void *arg)
{
	struct host_jobs *hj = arg;
	size_t i;

	for (i = 0; i < hj->n; i++) {
		start_one(hj->j[i]);
		if (hj->j[i]->rv != 0)
			break;
	}
	return NULL;
}

/*
 * Starts the agents: the sources (src[0..nsrc)) and the destinations
 * (dst[0..ndst)), on their hosts at once, since each start is mostly
 * waiting on SSH round trips.  The agents of one host start in turn, the
 * sources first, in one thread: they share one SSH connection, made by
 * the first.
 */
static int
start_agents(struct rcp_remote *r, char **src, size_t nsrc, char **dst,
    size_t ndst, char **cause)
{
	struct start_job j[RCP_REMOTE_MAX_AGENTS];
	struct host_jobs hj[RCP_REMOTE_MAX_AGENTS];
	pthread_t th[RCP_REMOTE_MAX_AGENTS];
	bool threaded[RCP_REMOTE_MAX_AGENTS];
	size_t i, k, nh = 0, order[RCP_REMOTE_MAX_AGENTS], no = 0;
	int rv = 0;

	if (strcmp(src[0], RCP_REMOTE_HERE) == 0 &&
	    (rv = here_bind(r, dst[0], cause)) != 0)
		return rv;
	memset(j, 0, sizeof(j));
	memset(hj, 0, sizeof(hj));
	memset(threaded, 0, sizeof(threaded));
	for (i = 0; i < r->nagents; i++) {
		/* [1] the destination, [2..nsrc] sources, then helpers. */
		j[i].r = r;
		j[i].spec = i == 0 ? src[0] : i == 1 ? dst[0] :
		    i <= nsrc ? src[i - 1] : dst[i - nsrc];
		j[i].a = &r->agents[i];
		j[i].early = i == 0 && r->o.prefetch != NULL;
	}
	/* The sources first, then the destinations, grouped by host. */
	for (i = 0; i < r->nagents; i++)
		if (!is_dest(r, i))
			order[no++] = i;
	for (i = 0; i < r->nagents; i++)
		if (is_dest(r, i))
			order[no++] = i;
	for (i = 0; i < no; i++) {
		for (k = 0; k < nh && strcmp(hj[k].j[0]->spec,
		    j[order[i]].spec) != 0; k++)
			;
		if (k == nh)
			nh++;
		hj[k].j[hj[k].n++] = &j[order[i]];
	}
	(void)ndst;
	for (k = 1; k < nh; k++)
		threaded[k] = pthread_create(&th[k], NULL, start_host,
		    &hj[k]) == 0;
	for (k = 0; k < nh; k++)
		if (!threaded[k])
			start_host(&hj[k]);
	for (i = 0; i < nh; i++)
		if (threaded[i])
			pthread_join(th[i], NULL);
	for (i = 0; i < r->nagents; i++) {
		if (j[i].rv != 0 && rv == 0) {
			rv = j[i].rv;
			*cause = j[i].cause;
			j[i].cause = NULL;
		}
		free(j[i].cause);
	}
	return rv;
}

/*
 * The hosts an entry of a host list names: a group's (hostgroups.h), each
 * with the entry's user@ if it has one, or the entry itself; appended to
 * out[*n...].  0, or an error with *cause.
 */
static int
expand_entry(const char *file, const char *entry, const char *list,
    const char *side, char **out, size_t *n, char **cause)
{
	const char *at = strchr(entry, '@'), *name = at != NULL ? at + 1 :
	    entry;
	char **hosts = NULL;
	size_t k, nh = 0;
	int r;

	if ((r = rcp_hostgroups_lookup(file, name, &hosts, &nh, cause)) < 0)
		return r;
	if (r == 0) {
		hosts = rcp_xcalloc(1, sizeof(*hosts));
		hosts[0] = rcp_xstrdup(name);
		nh = 1;
	}
	for (k = 0; k < nh; k++) {
		if (*n == RCP_REMOTE_MAX_SOURCES) {
			*cause = rcp_xasprintf("more than %d %s hosts in "
			    "'%s'", RCP_REMOTE_MAX_SOURCES, side, list);
			rcp_strv_free(hosts, nh);
			return RCP_ERR_INVAL;
		}
		out[(*n)++] = at != NULL ? rcp_xasprintf("%.*s@%s",
		    (int)(at - entry), entry, hosts[k]) : rcp_xstrdup(hosts[k]);
	}
	rcp_strv_free(hosts, nh);
	return 0;
}

/*
 * Splits a host list of one side ("source" or "destination": "h1,h2,[::1]",
 * or names of host groups) into its hosts (caller frees each), refusing an
 * empty or repeated entry and more than RCP_REMOTE_MAX_SOURCES (as many as
 * RCP_REMOTE_MAX_DESTS).  The number of hosts, or 0 with *cause.
 */
static size_t
split_hosts(const char *list, const char *file, const char *side, char **out,
    char **cause)
{
	const char *p = list, *q;
	size_t n = 0, i, j;
	char *entry;
	int depth, r;

	for (;;) {
		for (q = p, depth = 0; *q != '\0' && (*q != ',' || depth > 0);
		    q++) {
			if (*q == '[')
				depth++;
			else if (*q == ']' && depth > 0)
				depth--;
		}
		if (q == p && (*q == ',' || p != list)) {
			*cause = rcp_xasprintf("an empty host in the %s "
			    "host list '%s'", side, list);
			goto fail;
		}
		entry = rcp_xstrndup(p, (size_t)(q - p));
		/* This machine ("") is no group, and alone. */
		if (entry[0] == '\0') {
			out[n++] = entry;
			return n;
		}
		r = expand_entry(file, entry, list, side, out, &n, cause);
		free(entry);
		if (r != 0)
			goto fail;
		if (*q == '\0')
			break;
		p = q + 1;
	}
	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++) {
			if (strcmp(out[i], out[j]) == 0) {
				*cause = rcp_xasprintf("%s host '%s' is "
				    "in '%s' twice", side, out[i], list);
				goto fail;
			}
		}
	}
	return n;
fail:
	for (i = 0; i < n; i++)
		free(out[i]);
	return 0;
}

/* An agent whose connection has not been accepted yet, or NULL. */
static struct ragent *
unaccepted(struct rcp_remote *r)
{
	int i;

	for (i = 0; i < (int)r->nagents; i++)
		if (r->agents[i].conn == NULL)
			return &r->agents[i];
	return NULL;
}

int
rcp_remote_start(const struct rcp_remote_opts *o, const char *src_host,
    const char *dst_host, struct rcp_remote **out, char **cause)
{
	struct rcp_remote *r;
	struct ragent *a;
	char *src[RCP_REMOTE_MAX_SOURCES], *dst[RCP_REMOTE_MAX_DESTS];
	const char *groups;
	size_t i, nsrc, ndst;
	int rv;

	groups = rcp_hostgroups_file(o->host_groups);
	if ((nsrc = split_hosts(src_host, groups, "source", src, cause)) == 0)
		return RCP_ERR_INVAL;
	if ((ndst = split_hosts(dst_host, groups, "destination", dst,
	    cause)) == 0) {
		for (i = 0; i < nsrc; i++)
			free(src[i]);
		return RCP_ERR_INVAL;
	}
	r = rcp_xcalloc(1, sizeof(*r));
	r->o = *o;
	r->nsources = nsrc;
	r->ndests = ndst;
	r->nagents = nsrc + ndst;
	pthread_mutex_init(&r->hosts_lock, NULL);
	pthread_mutex_init(&r->lost_lock, NULL);
	pthread_mutex_init(&r->files_lock, NULL);
	atomic_init(&r->next_id, 1);
	for (i = 0; i < r->nagents; i++) {
		r->agents[i].r = r;
		r->agents[i].role = is_dest(r, i) ? RCP_ROLE_DESTINATION :
		    RCP_ROLE_SOURCE;
		r->agents[i].helper = i > nsrc;
		r->agents[i].exit_status = -1;
		pthread_mutex_init(&r->agents[i].lock, NULL);
		rcp_cond_init_mono(&r->agents[i].cond);
	}
	gnutls_rnd(GNUTLS_RND_KEY, r->token, sizeof(r->token));
	if ((rv = rcp_cert_new(&r->cert, cause)) != 0)
		goto fail;
	rv = start_agents(r, src, nsrc, dst, ndst, cause);
	for (i = 0; i < nsrc; i++)
		free(src[i]);
	for (i = 0; i < ndst; i++)
		free(dst[i]);
	if (rv != 0)
		goto fail;
	for (i = 0; i < r->nagents; i++) {
		if (pthread_create(&r->agents[i].errreader, NULL,
		    rcp_remote_errreader_main, &r->agents[i]) == 0)
			r->agents[i].errreader_started = true;
	}
	/*
	 * The agents not taken in yet (the source may have been, early).  Two
	 * on one host share its endpoint and may connect in either order:
	 * each connection is matched by its fingerprint, so accept until
	 * both are in, not once per agent in turn.
	 */
	while ((a = unaccepted(r)) != NULL)
		if ((rv = agent_accept(r, a->h, NULL, cause)) != 0)
			goto fail;
	if ((rv = introduce(r, cause)) != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	rcp_remote_free(r);
	return rv;
}

/* requires a->lock.  Whether a's counters moved since *seen (updated). */
static bool
progressed(struct ragent *a, struct rcp_copy_stats *seen)
{
	if (memcmp(&a->progress, seen, sizeof(*seen)) == 0)
		return false;
	*seen = a->progress;
	return true;
}

/*
 * rcp_remote_request, and with stall_ms > 0 the request also fails once
 * the agent's progress counters have not moved for stall_ms: a copy whose
 * agents are alive but stuck (a dead disk, a hung file system) ends.
 */
static int
request(struct rcp_remote *r, struct ragent *a, uint16_t type,
    const void *body, size_t len, struct rcp_quic_msg **reply, int timeout_ms,
    uint32_t stall_ms, char **cause)
{
	int role = a->role;
	struct rcp_quic_msg *m, **pp;
	struct rcp_buf last = RCP_BUF_INIT;
	struct rcp_copy_stats seen;
	uint64_t dl, moved = rcp_now_ns(), wake;
	uint32_t id = atomic_fetch_add(&r->next_id, 1);
	char *text = NULL;
	int code, rv = 0;

	if (a->conn == NULL) {
		*cause = rcp_xasprintf("the %s agent on '%s' is not connected",
		    role_name(role), a->h->name);
		return RCP_ERR_IO;
	}
	if ((rv = rcp_quic_send(a->conn, a->ctrl, type, id, body, len,
	    timeout_ms)) != 0) {
		pthread_mutex_lock(&a->lock);
		*cause = rcp_xasprintf("cannot reach the %s agent: %s",
		    role_name(role), a->dead ? a->dead : "connection closed");
		pthread_mutex_unlock(&a->lock);
		return rv;
	}
	dl = rcp_deadline_after(timeout_ms);
	pthread_mutex_lock(&a->lock);
	seen = a->progress;
	for (;;) {
		for (pp = &a->replies; (m = *pp) != NULL; pp = &m->next)
			if (m->f.id == id)
				break;
		if (m != NULL) {
			*pp = m->next;
			m->next = NULL;
			break;
		}
		if (a->dead != NULL) {
			/* The first agent lost, which may be the other one. */
			if ((*cause = remote_first_lost(r)) == NULL)
				*cause = rcp_xstrdup(a->dead);
			pthread_mutex_unlock(&a->lock);
			return RCP_ERR_IO;
		}
		if (a->closed) {
			/* Gone after its SHUTDOWN: an agent stopped at the end. */
			pthread_mutex_unlock(&a->lock);
			remote_heard_last(a, &last);
			*cause = rcp_xasprintf("lost the %s agent on '%s' as it "
			    "was finishing (%s): %s", role_name(role), a->h->name,
			    rcp_buf_str(&last), rcp_quic_conn_error(a->conn) !=
			    NULL ? rcp_quic_conn_error(a->conn) :
			    "connection closed");
			rcp_buf_release(&last);
			return RCP_ERR_IO;
		}
		if (rv != 0) {
			pthread_mutex_unlock(&a->lock);
			remote_heard_last(a, &last);
			*cause = rcp_xasprintf("the %s agent on '%s' has not "
			    "answered for %d s (%s)", role_name(role), a->h->name,
			    (timeout_ms + 999) / 1000, rcp_buf_str(&last));
			rcp_buf_release(&last);
			return RCP_ERR_TIMEOUT;
		}
		if (stall_ms > 0 && !progressed(a, &seen) &&
		    rcp_now_ns() - moved >= (uint64_t)stall_ms * 1000000u) {
			pthread_mutex_unlock(&a->lock);
			*cause = rcp_xasprintf("no progress from the %s on '%s' "
			    "for %u s (--stall-timeout-sec): it is alive but "
			    "stuck, on its disk or on its source's",
			    role_name(role), a->h->name, stall_ms / 1000);
			return RCP_ERR_TIMEOUT;
		}
		if (stall_ms > 0 && progressed(a, &seen))
			moved = rcp_now_ns();
		/* With a stall watch, look at the counters every second. */
		wake = dl;
		if (stall_ms > 0 && (wake == 0 || wake > rcp_now_ns() +
		    1000000000u))
			wake = rcp_now_ns() + 1000000000u;
		rv = rcp_cond_wait_until(&a->cond, &a->lock, wake);
		if (rv != 0 && wake != dl)
			rv = 0;		/* the slice, not the deadline */
	}
	pthread_mutex_unlock(&a->lock);
	if (m->f.type == RCP_MSG_ERROR) {
		if (rcp_agentmsg_get_error(m->f.body, m->f.len, &code,
		    &text) != 0)
			text = rcp_xstrdup("malformed error");
		*cause = rcp_xasprintf("the %s agent on '%s': %s",
		    role_name(role), a->h->name, text);
		free(text);
		rcp_quic_msg_free(m);
		return RCP_ERR_PROTO;
	}
	*reply = m;
	return 0;
}

int
rcp_remote_request(struct rcp_remote *r, int role, uint16_t type,
    const void *body, size_t len, struct rcp_quic_msg **reply, int timeout_ms,
    char **cause)
{
	return request(r, agent_of(r, role), type, body, len, reply,
	    timeout_ms, 0, cause);
}

int
rcp_remote_copy(struct rcp_remote *r, const void *body, size_t len,
    struct rcp_quic_msg **reply, char **cause)
{
	/* A copy takes as long as it takes, while it moves. */
	return request(r, &r->agents[1], RCP_MSG_COPY, body, len, reply,
	    INT_MAX, r->o.stall_timeout_ms, cause);
}

int
rcp_remote_compare(struct rcp_remote *r, const void *body, size_t len,
    struct rcp_quic_msg **reply, char **cause)
{
	return request(r, &r->agents[1], RCP_MSG_COMPARE, body, len,
	    reply, INT_MAX, r->o.stall_timeout_ms, cause);
}

void
rcp_remote_diffs(struct rcp_remote *r, void (*fn)(void *arg,
    const void *body, size_t len), void *arg)
{
	pthread_mutex_lock(&r->files_lock);
	r->diff_fn = fn;
	r->diff_arg = arg;
	pthread_mutex_unlock(&r->files_lock);
}

const char *
rcp_remote_version(struct rcp_remote *r, int role)
{
	const char *v = agent_of(r, role)->version;

	return v[0] != '\0' ? v : "unknown";
}

const char *
rcp_remote_host(struct rcp_remote *r, int role)
{
	const char *h = agent_of(r, role)->h->name;

	return h[0] != '\0' ? h : "localhost";
}

void
rcp_remote_progress(struct rcp_remote *r, int role, struct rcp_copy_stats *s)
{
	struct ragent *a = agent_of(r, role);

	pthread_mutex_lock(&a->lock);
	*s = a->progress;
	pthread_mutex_unlock(&a->lock);
}

void
rcp_remote_progress_reset(struct rcp_remote *r)
{
	size_t i;

	for (i = 0; i < r->nagents; i++) {
		pthread_mutex_lock(&r->agents[i].lock);
		memset(&r->agents[i].progress, 0,
		    sizeof(r->agents[i].progress));
		pthread_mutex_unlock(&r->agents[i].lock);
	}
}

void
rcp_remote_files(struct rcp_remote *r, void (*fn)(void *arg,
    const char *path), void *arg)
{
	pthread_mutex_lock(&r->files_lock);
	r->files_fn = fn;
	r->files_arg = arg;
	pthread_mutex_unlock(&r->files_lock);
}

static int
finish_one(struct rcp_remote *r, struct ragent *a,
    struct rcp_remote_summary *s, char **cause)
{
	struct rcp_quic_msg *m = NULL;
	struct rcp_runstats rs;
	uint64_t dl;
	int rv, w = 0;

	memset(s, 0, sizeof(*s));
	s->exit_status = -1;
	snprintf(s->host, sizeof(s->host), "%s", a->h->name);
	atomic_store(&a->bye, true);	/* from now on it may leave */
	pthread_mutex_lock(&r->lost_lock);
	w = a->spared;
	pthread_mutex_unlock(&r->lost_lock);
	if (w)
		return 0;	/* lost, and said so: the others did its work */
	rv = request(r, a, RCP_MSG_SHUTDOWN, NULL, 0, &m, 15000, 0, cause);
	/*
	 * A helper lost by now did none of what is left: the destination
	 * agent copied it and says how that went.
	 */
	if (rv != 0 && a->helper) {
		rcp_log(r->o.log, RCP_LOG_WARN, "%s; the copy was done without "
		    "it", *cause);
		free(*cause);
		*cause = NULL;
		return 0;
	}
	if (rv == 0) {
		if (rcp_agentmsg_get_done(m->f.body, m->f.len, &s->status,
		    &rs) == 0) {
			s->wall_ns = rs.wall_ns;
			s->cpu_ns = rs.cpu_ns;
			s->peak_rss = rs.peak_rss;
		} else
			s->status = RCP_ERR_PROTO;
		rcp_quic_msg_free(m);
	}
	/*
	 * The process should exit now; collect its status.  One that did not
	 * answer is left to the teardown, which kills it if it must.
	 */
	dl = rcp_deadline_after(5000);
	pthread_mutex_lock(&a->lock);
	while (rv == 0 && !a->exited && w == 0)
		w = rcp_cond_wait_until(&a->cond, &a->lock, dl);
	s->exit_status = a->exit_status;
	pthread_mutex_unlock(&a->lock);
	if (rv == 0 && s->status != 0) {
		*cause = rcp_xasprintf("the %s agent on '%s' failed",
		    role_name(a->role), a->h->name);
		rv = RCP_ERR_PARTIAL;
	}
	return rv;
}

int
rcp_remote_finish(struct rcp_remote *r, struct rcp_remote_summary sum[2],
    char **cause)
{
	char *c2 = NULL;
	int r0, r1;

	struct rcp_remote_summary more;
	size_t i;

	r0 = finish_one(r, &r->agents[0], &sum[0], cause);
	for (i = 2; i < r->nagents; i++) {
		r1 = finish_one(r, &r->agents[i], &more, r0 == 0 ? cause : &c2);
		if (r0 == 0)
			r0 = r1;
		free(c2);
		c2 = NULL;
	}
	atomic_store(&r->stop, true);
	r1 = finish_one(r, &r->agents[1], &sum[1], r0 == 0 ? cause : &c2);
	free(c2);
	return r0 != 0 ? r0 : r1;
}

char *
rcp_remote_dead(struct rcp_remote *r, int role)
{
	struct ragent *a = agent_of(r, role);
	char *why = NULL;

	pthread_mutex_lock(&a->lock);
	if (a->dead != NULL)
		why = rcp_xstrdup(a->dead);
	pthread_mutex_unlock(&a->lock);
	return why;
}

void
rcp_remote_abort(struct rcp_remote *r)
{
	remote_abort_agents(r);
}

/*
 * SIGKILL to an agent that did not exit on its EOF (stopped, or stuck on a
 * dead disk): a child here directly; on another host by a command over
 * the same SSH connection, for the pid and start time the agent gave in
 * its hello (sshd refuses signal requests on root's sessions).
 */
static void
kill_agent(struct rcp_remote *r, struct ragent *a)
{
	char *cmd, *out = NULL, *cause = NULL;
	int status;

	if (a->child != NULL) {
		(void)rcp_child_kill(a->child, SIGKILL);
		return;
	}
	if (a->proc == NULL || a->pid <= 1 || a->start[0] == '\0' ||
	    a->h->ssh == NULL)
		return;
	cmd = rcp_xasprintf("s=$(sed 's/.*) //' /proc/%ld/stat 2>/dev/null | "
	    "cut -d' ' -f20) && [ \"$s\" = %s ] && kill -KILL %ld",
	    a->pid, a->start, a->pid);
	if (rcp_ssh_run(a->h->ssh, cmd, &out, 256, &status,
	    RCP_REMOTE_KILL_GRACE_MS, &cause) != 0)
		rcp_log(r->o.log, RCP_LOG_DEBUG, "cannot kill the %s agent on "
		    "'%s': %s", role_name(a->role), a->h->name, cause);
	free(cause);
	free(out);
	free(cmd);
}

/* Whether a's exit was seen by deadline (its stderr reader reaps it). */
static bool
exited_by(struct ragent *a, uint64_t deadline)
{
	bool done;

	pthread_mutex_lock(&a->lock);
	while (!(done = a->exited || !a->errreader_started) &&
	    rcp_cond_wait_until(&a->cond, &a->lock, deadline) == 0)
		;
	pthread_mutex_unlock(&a->lock);
	return done;
}

/*
 * Ends the agents in bounded time, whatever state they are in: each has
 * RCP_REMOTE_EXIT_GRACE_MS to exit on the EOF it was given; one that has
 * not (stopped, or stuck on a dead disk) is killed; one whose end is not
 * seen RCP_REMOTE_KILL_GRACE_MS later (its host unreachable) is abandoned
 * with a warning, so that its reader threads end and the run can return.
 */
static void
reap_agents(struct rcp_remote *r)
{
	uint64_t deadline = rcp_deadline_after(RCP_REMOTE_EXIT_GRACE_MS);
	struct ragent *a;
	bool killed = false;
	size_t i;

	for (i = 0; i < r->nagents; i++) {
		a = &r->agents[i];
		if (exited_by(a, deadline))
			continue;
		rcp_log(r->o.log, RCP_LOG_DEBUG, "the %s agent on '%s' did "
		    "not exit within %d ms: killing it", role_name(a->role),
		    a->h != NULL ? a->h->name : "?", RCP_REMOTE_EXIT_GRACE_MS);
		kill_agent(r, a);
		killed = true;
	}
	if (!killed)
		return;
	deadline = rcp_deadline_after(RCP_REMOTE_KILL_GRACE_MS);
	for (i = 0; i < r->nagents; i++) {
		a = &r->agents[i];
		if (exited_by(a, deadline))
			continue;
		rcp_log(r->o.log, RCP_LOG_WARN, "the %s agent on '%s' did not "
		    "end when killed; leaving it", role_name(a->role),
		    a->h != NULL ? a->h->name : "?");
		atomic_store(&a->abandon, true);
	}
}

void
rcp_remote_free(struct rcp_remote *r)
{
	struct rcp_quic_msg *m, *next;
	struct ragent *a;
	size_t i;

	if (r == NULL)
		return;
	atomic_store(&r->stop, true);
	for (i = 0; i < r->nagents; i++) {
		a = &r->agents[i];
		/* Closing the channel gives rcpd EOF on stdin: it exits. */
		if (a->conn != NULL)
			rcp_quic_close(a->conn, 0);
		ap_close_stdin(a);
	}
	reap_agents(r);
	/*
	 * Every thread ends before any agent is torn down: a stderr reader
	 * that sees its agent die aborts the run (rcp_remote_abort), which
	 * closes the other agent's stdin and connection too, so the
	 * destination's may still be at the source's when its own are done.
	 */
	for (i = 0; i < r->nagents; i++) {
		a = &r->agents[i];
		if (a->reader_started)
			pthread_join(a->reader, NULL);
		if (a->errreader_started)
			pthread_join(a->errreader, NULL);
	}
	for (i = 0; i < r->nagents; i++) {
		a = &r->agents[i];
		rcp_quic_conn_free(a->conn);
		ap_free(a);
		for (m = a->replies; m != NULL; m = next) {
			next = m->next;
			rcp_quic_msg_free(m);
		}
		free(a->listen_addr);
		free(a->dead);
		pthread_cond_destroy(&a->cond);
		pthread_mutex_destroy(&a->lock);
	}
	for (i = 0; i < r->nhosts; i++) {
		rcp_quic_ep_free(r->hosts[i]->ep);
		rcp_ssh_free(r->hosts[i]->ssh);
		free(r->hosts[i]->rcpd);
		free(r->hosts[i]->spec);
		free(r->hosts[i]);
	}
	free(r->here_bind);
	rcp_cert_free(r->cert);
	gnutls_memset(r->token, 0, sizeof(r->token));
	pthread_mutex_destroy(&r->hosts_lock);
	pthread_mutex_destroy(&r->lost_lock);
	pthread_mutex_destroy(&r->files_lock);
	free(r->lost);
	free(r);
}
