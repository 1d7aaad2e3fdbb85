/*
 * sessions.c: agent pairs kept between remote jobs of rcp-master.  A list
 * of idle sessions under one lock; a taken session belongs to its job
 * alone until it is given back.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "net/proto.h"
#include "workers/sessions.h"

#include "base/banned.h"

struct rcp_session {
	char			*key;
	struct rcp_remote	*remote;
	uint64_t		 idle_since;	/* monotonic ns */
	struct rcp_log		 relay;		/* what the agents log to */
	pthread_mutex_t		 lock;
	struct rcp_log		 target;	/* requires lock */
	struct rcp_session	*next;		/* idle list; owner's lock */
};

struct rcp_sessions {
	uint64_t		 idle_ns;
	int			 max_idle;
	pthread_mutex_t		 lock;
	struct rcp_session	*idle;		/* newest first; requires lock */
	int			 nidle;		/* requires lock */
};

/* The key: the hosts and each option that shapes how agents start. */
static char *
make_key(const struct rcp_remote_opts *o, const char *src, const char *dst)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char *key;
	size_t i;

#define S(s) ((s) != NULL ? (s) : "")
	rcp_buf_addf(&b, "%s\n%s\n%s\n%s\n%s\n%s\n%d%d\n%s\n%s\n%d,%d,%u,%u,"
	    "%u,%d,%d,%d\n", src, dst, S(o->ssh.config_file),
	    S(o->ssh.known_hosts), S(o->ssh.identity), S(o->rcpd_path),
	    o->ssh.accept_new, o->auto_deploy, S(o->master_addr),
	    S(o->source_addr), o->profile, o->ssh.connect_timeout_ms,
	    o->conn_timeout_ms, o->idle_timeout_ms, o->keepalive_ms,
	    o->startup_timeout_ms, o->agent_verbosity, o->launcher);
#undef S
	for (i = 0; i < o->ports.n; i++)
		rcp_buf_addf(&b, "%u-%u,", o->ports.r[i].lo, o->ports.r[i].hi);
	key = rcp_xstrdup(rcp_buf_str(&b));
	rcp_buf_release(&b);
	return key;
}

static void
relay_log(void *arg, int level, const char *msg)
{
	struct rcp_session *x = arg;

	pthread_mutex_lock(&x->lock);
	if (x->target.fn != NULL && level <= x->target.level)
		x->target.fn(x->target.arg, level, msg);
	pthread_mutex_unlock(&x->lock);
}

static bool
session_alive(struct rcp_session *x)
{
	char *why;
	int role;

	for (role = RCP_ROLE_SOURCE; role <= RCP_ROLE_DESTINATION; role++) {
		if ((why = rcp_remote_dead(x->remote, role)) != NULL) {
			free(why);
			return false;
		}
	}
	return true;
}

/*
 * Ends x: gracefully (each agent asked to shut down, as after a good run)
 * if it was idle and alive; else at once: a session given back unusable
 * (a failed, canceled or stalled run) may have an agent that is stopped or
 * stuck, which a polite shutdown would wait on for its full timeout.
 * Either way rcp_remote_free ends the agents in bounded time.
 */
static void
session_end(struct rcp_session *x, bool graceful)
{
	struct rcp_remote_summary sum[2];
	char *cause = NULL;

	if (x == NULL)
		return;
	if (x->remote != NULL) {
		rcp_session_log(x, NULL);
		if (graceful && session_alive(x))
			rcp_remote_finish(x->remote, sum, &cause);
		else
			rcp_remote_abort(x->remote);
		free(cause);
		rcp_remote_free(x->remote);
	}
	pthread_mutex_destroy(&x->lock);
	free(x->key);
	free(x);
}

struct rcp_sessions *
rcp_sessions_new(uint64_t idle_ns, int max_idle)
{
	struct rcp_sessions *s = rcp_xcalloc(1, sizeof(*s));

	s->idle_ns = idle_ns;
	s->max_idle = max_idle > 0 ? max_idle : 1;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void
rcp_sessions_free(struct rcp_sessions *s)
{
	struct rcp_session *x, *next;

	if (s == NULL)
		return;
	for (x = s->idle; x != NULL; x = next) {
		next = x->next;
		session_end(x, true);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

int
rcp_sessions_take(struct rcp_sessions *s, const struct rcp_remote_opts *o,
    const char *src_host, const char *dst_host, struct rcp_session **out,
    bool *reused, char **cause)
{
	struct rcp_remote_opts ro = *o;
	struct rcp_session *x, **xp, *dead = NULL;
	char *key = make_key(o, src_host, dst_host);
	int r;

	*reused = false;
	pthread_mutex_lock(&s->lock);
	for (xp = &s->idle; (x = *xp) != NULL; ) {
		if (strcmp(x->key, key) != 0) {
			xp = &x->next;
			continue;
		}
		*xp = x->next;
		s->nidle--;
		if (session_alive(x))
			break;
		x->next = dead;		/* ended outside the lock */
		dead = x;
	}
	pthread_mutex_unlock(&s->lock);
	while (dead != NULL) {
		struct rcp_session *next = dead->next;
		session_end(dead, false);
		dead = next;
	}
	if (x != NULL) {
		free(key);
		x->next = NULL;
		*reused = true;
		*out = x;
		return 0;
	}

	x = rcp_xcalloc(1, sizeof(*x));
	x->key = key;
	pthread_mutex_init(&x->lock, NULL);
	x->relay.fn = relay_log;
	x->relay.arg = x;
	x->relay.level = RCP_LOG_TRACE;
	ro.log = &x->relay;
	ro.ssh.log = &x->relay;
	if ((r = rcp_remote_start(&ro, src_host, dst_host, &x->remote,
	    cause)) != 0) {
		x->remote = NULL;
		session_end(x, false);
		return r;
	}
	*out = x;
	return 0;
}

struct rcp_remote *
rcp_session_remote(struct rcp_session *x)
{
	return x->remote;
}

void
rcp_session_log(struct rcp_session *x, const struct rcp_log *log)
{
	pthread_mutex_lock(&x->lock);
	if (log != NULL)
		x->target = *log;
	else
		memset(&x->target, 0, sizeof(x->target));
	pthread_mutex_unlock(&x->lock);
}

void
rcp_sessions_give(struct rcp_sessions *s, struct rcp_session *x,
    bool reusable)
{
	struct rcp_session *old = NULL, **xp;

	if (x == NULL)
		return;
	rcp_session_log(x, NULL);
	if (!reusable || !session_alive(x)) {
		session_end(x, false);
		return;
	}
	if (s->idle_ns == 0) {
		session_end(x, true);
		return;
	}
	x->idle_since = rcp_now_ns();
	pthread_mutex_lock(&s->lock);
	x->next = s->idle;
	s->idle = x;
	if (++s->nidle > s->max_idle) {
		/* The oldest is last. */
		for (xp = &s->idle; (*xp)->next != NULL; xp = &(*xp)->next)
			;
		old = *xp;
		*xp = NULL;
		s->nidle--;
	}
	pthread_mutex_unlock(&s->lock);
	session_end(old, true);
}

void
rcp_sessions_expire(struct rcp_sessions *s)
{
	struct rcp_session *x, **xp, *gone = NULL, *next;
	uint64_t now = rcp_now_ns();

	pthread_mutex_lock(&s->lock);
	for (xp = &s->idle; (x = *xp) != NULL; ) {
		if (now - x->idle_since >= s->idle_ns || !session_alive(x)) {
			*xp = x->next;
			s->nidle--;
			x->next = gone;
			gone = x;
		} else
			xp = &x->next;
	}
	pthread_mutex_unlock(&s->lock);
	for (x = gone; x != NULL; x = next) {
		next = x->next;
		session_end(x, true);
	}
}

int
rcp_sessions_idle(struct rcp_sessions *s)
{
	int n;

	pthread_mutex_lock(&s->lock);
	n = s->nidle;
	pthread_mutex_unlock(&s->lock);
	return n;
}
