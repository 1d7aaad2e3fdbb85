/*
 * ssh.c: the SSH layer on libssh 0.10.  SSH is rcp's security perimeter, so
 * a host key that is not in known_hosts is refused (or, on request, added)
 * and a changed one always is.  Commands run on channels of one session;
 * libssh sessions must not be used by two threads at once, so a session's
 * calls go through its mutex and every step taken under it is non-blocking.
 * Whichever thread holds the lock processes every packet that has arrived:
 * libssh keeps the data for other channels in their buffers.  A thread with
 * nothing to do waits unlocked: one of them (the poller) in poll() on the
 * socket, the others on a condition variable; a step that consumed socket
 * input wakes them all (the poller through a pipe), so nobody sleeps on data
 * that another thread already moved into its buffer.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/ssh.h"

#include "base/banned.h"

/* Longest wait before a waiting thread looks again anyway. */
#define SSH_WAIT_MAX_MS		1000
/* Bytes moved per locked step, so that one stream cannot hog the lock. */
#define SSH_STEP_BYTES		(64 * 1024)
/* Stderr kept by rcp_ssh_run for its log record. */
#define SSH_RUN_ERR_MAX		(16 * 1024)

struct rcp_ssh {
	pthread_mutex_t		 lock;
	pthread_cond_t		 progress;	/* with lock: channels may have news */
	ssh_session		 ss;		/* requires lock */
	ssh_event		 ev;		/* requires lock */
	int			 fd;		/* the TCP socket; polled unlocked */
	int			 kick[2];	/* a pipe that wakes the poller */
	bool			 polling;	/* requires lock: a thread is in poll() */
	bool			 kicked;	/* requires lock: kick holds a byte */
	unsigned		 waiters;	/* requires lock: threads on progress */
	char			*host;		/* as the target gave it */
	char			*dest;		/* "user@host" for messages */
	struct rcp_log		 log;
	char			*dead;		/* requires lock: why the connection ended */
	struct rcp_ssh_proc	*procs;		/* requires lock: procs not yet freed */
	struct ssh_callbacks_struct cb;
};

struct rcp_ssh_proc {
	struct rcp_ssh		*s;
	ssh_channel		 ch;		/* requires s->lock */
	struct ssh_channel_callbacks_struct cb;
	char			*what;		/* "'command' on 'host'" for messages */
	char			*pend;		/* requires s->lock: stdout read ahead */
	size_t			 pend_len;
	int			 status;	/* requires s->lock: -1 until reported */
	bool			 exited;	/* requires s->lock */
	bool			 closed;	/* requires s->lock: the server closed it */
	bool			 eof_sent;	/* requires s->lock */
	struct rcp_ssh_proc	*prev, *next;	/* requires s->lock */
};

/* The libssh log records of a connect, kept to name the keys tried. */
struct ssh_capture {
	const struct rcp_log	*log;
	struct rcp_buf		 tried;
};

/* The calling thread's libssh log settings (thread-local in libssh 0.10). */
struct ssh_logscope {
	int			 level;
	void			*userdata;
	ssh_logging_callback	 cb;
};

static pthread_once_t ssh_once = PTHREAD_ONCE_INIT;

static void
ssh_global_init(void)
{
	ssh_init();
}

/* Target parsing and quoting. */

static bool
host_char_ok(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' ||
	    c == '%';
}

static int
check_host(const char *spec, const char *h, size_t n, char **cause)
{
	size_t i;

	if (n == 0) {
		*cause = rcp_xasprintf("no host name in '%s'", spec);
		return RCP_ERR_INVAL;
	}
	for (i = 0; i < n; i++)
		if (!host_char_ok((unsigned char)h[i]))
			break;
	if (i < n || h[0] == '-' || h[0] == '.') {
		*cause = rcp_xasprintf("invalid host name in '%s'", spec);
		return RCP_ERR_INVAL;
	}
	return 0;
}

static int
parse_port(const char *spec, const char *p, unsigned *port, char **cause)
{
	uint64_t v;

	if (rcp_parse_uint(p, 65535, &v) != 0 || v == 0) {
		*cause = rcp_xasprintf("invalid port in '%s': expected 1 to "
		    "65535", spec);
		return RCP_ERR_INVAL;
	}
	*port = (unsigned)v;
	return 0;
}

/* Splits "host", "host:port", "[addr]", "[addr]:port" or a bare IPv6 address. */
static int
parse_hostport(const char *spec, const char *hp, struct rcp_ssh_target *t,
    char **cause)
{
	struct in6_addr a6;
	const char *end, *colon;
	char *h;
	int r;

	if (hp[0] == '[') {
		if ((end = strchr(hp, ']')) == NULL) {
			*cause = rcp_xasprintf("missing ']' in '%s'", spec);
			return RCP_ERR_INVAL;
		}
		if ((r = check_host(spec, hp + 1, end - hp - 1, cause)) != 0)
			return r;
		if (end[1] == ':') {
			if ((r = parse_port(spec, end + 2, &t->port, cause)) != 0)
				return r;
		} else if (end[1] != '\0') {
			*cause = rcp_xasprintf("unexpected text after ']' in "
			    "'%s'", spec);
			return RCP_ERR_INVAL;
		}
		t->host = rcp_xstrndup(hp + 1, end - hp - 1);
		return 0;
	}
	colon = strchr(hp, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		/* Two colons or more: an IPv6 address without a port. */
		h = rcp_xstrdup(hp);
		if (strchr(h, '%') != NULL)
			*strchr(h, '%') = '\0';
		r = inet_pton(AF_INET6, h, &a6);
		free(h);
		if (r != 1) {
			*cause = rcp_xasprintf("invalid address in '%s' (write "
			    "an IPv6 address as [addr] or [addr]:port)", spec);
			return RCP_ERR_INVAL;
		}
		t->host = rcp_xstrdup(hp);
		return 0;
	}
	end = colon != NULL ? colon : hp + strlen(hp);
	if ((r = check_host(spec, hp, end - hp, cause)) != 0)
		return r;
	if (colon != NULL && (r = parse_port(spec, colon + 1, &t->port,
	    cause)) != 0)
		return r;
	t->host = rcp_xstrndup(hp, end - hp);
	return 0;
}

int
rcp_ssh_target_parse(const char *spec, struct rcp_ssh_target *t, char **cause)
{
	const char *at, *hp, *c;
	int r;

	memset(t, 0, sizeof(*t));
	if (spec == NULL || *spec == '\0') {
		*cause = rcp_xstrdup("empty host");
		return RCP_ERR_INVAL;
	}
	for (c = spec; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ') {
			*cause = rcp_xasprintf("invalid character in host "
			    "'%s'", spec);
			return RCP_ERR_INVAL;
		}
	hp = spec;
	if ((at = strrchr(spec, '@')) != NULL) {
		if (at == spec) {
			*cause = rcp_xasprintf("empty user name in '%s'", spec);
			return RCP_ERR_INVAL;
		}
		hp = at + 1;
	}
	if ((r = parse_hostport(spec, hp, t, cause)) != 0) {
		rcp_ssh_target_release(t);
		return r;
	}
	if (at != NULL)
		t->user = rcp_xstrndup(spec, at - spec);
	return 0;
}

void
rcp_ssh_target_release(struct rcp_ssh_target *t)
{
	if (t == NULL)
		return;
	free(t->user);
	free(t->host);
	memset(t, 0, sizeof(*t));
}

static bool
shell_safe(unsigned char c)
{
	return isalnum(c) || strchr("_./:,+@%-", c) != NULL;
}

char *
rcp_ssh_shell_quote(const char *s)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const char *c;
	bool safe = *s != '\0';

	for (c = s; *c != '\0' && safe; c++)
		safe = shell_safe((unsigned char)*c);
	if (safe)
		return rcp_xstrdup(s);
	rcp_buf_addch(&b, '\'');
	for (c = s; *c != '\0'; c++) {
		if (*c == '\'')
			rcp_buf_addstr(&b, "'\\''");
		else
			rcp_buf_addch(&b, *c);
	}
	rcp_buf_addch(&b, '\'');
	return rcp_buf_detach(&b);
}

/* Time and waiting. */

/*
 * requires s->lock.  Returns true if the socket has bytes that the next libssh
 * call may process; a step that had them calls session_notify after.
 */
static bool
session_fed(struct rcp_ssh *s)
{
	struct pollfd pfd = { .fd = s->fd, .events = POLLIN };

	return s->fd >= 0 && poll(&pfd, 1, 0) > 0;
}

/*
 * requires s->lock.  Wakes the threads waiting in session_wait: the step just
 * taken may have moved data, window space or an exit status to their
 * channels.
 */
static void
session_notify(struct rcp_ssh *s)
{
	if (s->waiters > 0)
		pthread_cond_broadcast(&s->progress);
	if (s->polling && !s->kicked && write(s->kick[1], "!", 1) == 1)
		s->kicked = true;
}

/*
 * requires s->lock, which it releases while it waits.  Waits until the socket
 * has input, another thread's step may have brought news (session_notify),
 * the deadline (0: none) or SSH_WAIT_MAX_MS passes.  Call it in the same
 * hold of the lock as the step that found nothing, so no news is missed.
 */
static void
session_wait(struct rcp_ssh *s, uint64_t deadline)
{
	struct pollfd pfd[2] = {
		{ .fd = s->fd, .events = POLLIN },
		{ .fd = s->kick[0], .events = POLLIN }
	};
	uint64_t now = rcp_now_ns(), until = now + SSH_WAIT_MAX_MS * 1000000ull;
	struct timespec ts;
	char drain[16];

	if (deadline != 0 && deadline < until)
		until = deadline;
	if (until <= now)
		return;
	if (!s->polling) {
		s->polling = true;
		pthread_mutex_unlock(&s->lock);
		poll(pfd, 2, (int)((until - now + 999999) / 1000000));
		pthread_mutex_lock(&s->lock);
		s->polling = false;
		if (s->kicked) {
			while (read(s->kick[0], drain, sizeof(drain)) > 0)
				;
			s->kicked = false;
		}
		/* Another waiter may take over the polling. */
		if (s->waiters > 0)
			pthread_cond_broadcast(&s->progress);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	until -= now;
	ts.tv_sec += (time_t)(until / 1000000000u);
	ts.tv_nsec += (long)(until % 1000000000u);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	s->waiters++;
	pthread_cond_timedwait(&s->progress, &s->lock, &ts);
	s->waiters--;
}

/* Lets other threads take the lock between two productive steps. */
static void
session_yield(struct rcp_ssh *s)
{
	pthread_mutex_unlock(&s->lock);
	sched_yield();
	pthread_mutex_lock(&s->lock);
}

/* Errors and libssh logging. */

/* requires s->lock.  Records that the connection is gone; returns RCP_ERR_IO. */
static int
session_died(struct rcp_ssh *s)
{
	if (s->dead == NULL) {
		s->dead = rcp_xasprintf("connection to '%s' lost: %s", s->host,
		    ssh_get_error(s->ss));
		rcp_log(&s->log, RCP_LOG_DEBUG, "%s", s->dead);
	}
	return RCP_ERR_IO;
}

/* requires s->lock.  Handles a failed libssh call: RCP_ERR_IO either way. */
static int
session_failed(struct rcp_ssh *s)
{
	if (!ssh_is_connected(s->ss))
		return session_died(s);
	return RCP_ERR_IO;
}

/*
 * requires s->lock.  Processes, without blocking, whatever the socket has:
 * packets for every channel, window changes, exit statuses.  Returns 0 or
 * RCP_ERR_IO if the connection is gone.
 */
static int
session_pump(struct rcp_ssh *s)
{
	bool fed = session_fed(s);
	int r = 0;

	if (s->dead != NULL)
		return RCP_ERR_IO;
	if (ssh_event_dopoll(s->ev, 0) == SSH_ERROR || !ssh_is_connected(s->ss))
		r = session_died(s);
	if (fed)
		session_notify(s);
	return r;
}

/* Appends 'name' to the ", "-separated list in b unless it is there. */
static void
tried_add(struct rcp_buf *b, const char *name)
{
	char *item = rcp_xasprintf("'%s'", name);
	const char *at = b->len > 0 ? strstr(b->data, item) : NULL;
	size_t n = strlen(item);

	for (; at != NULL; at = strstr(at + 1, item))
		if ((at == b->data || at[-1] == ' ') &&
		    (at[n] == '\0' || at[n] == ','))
			break;
	if (at == NULL) {
		if (b->len > 0)
			rcp_buf_addstr(b, ", ");
		rcp_buf_addstr(b, item);
	}
	free(item);
}

static void
capture_fn(int priority, const char *function, const char *buffer,
    void *userdata)
{
	static const char trying[] = "Trying to authenticate with ";
	struct ssh_capture *cap = userdata;
	const char *f;

	if (cap == NULL)
		return;
	if ((f = strstr(buffer, trying)) != NULL) {
		f += sizeof(trying) - 1;
		if (access(f, F_OK) == 0)
			tried_add(&cap->tried, f);
	}
	rcp_log(cap->log, priority <= SSH_LOG_WARN ? RCP_LOG_DEBUG :
	    RCP_LOG_TRACE, "libssh: %s", buffer);
}

/* Routes this thread's libssh log records to cap at level, until logscope_end. */
static void
logscope_begin(struct ssh_logscope *sc, struct ssh_capture *cap, int level)
{
	sc->level = ssh_get_log_level();
	sc->userdata = ssh_get_log_userdata();
	sc->cb = ssh_get_log_callback();
	ssh_set_log_callback(capture_fn);
	ssh_set_log_userdata(cap);
	ssh_set_log_level(level);
}

static void
logscope_end(const struct ssh_logscope *sc)
{
	/* libssh refuses a NULL callback: ours stays, dropping records. */
	if (sc->cb != NULL)
		ssh_set_log_callback(sc->cb);
	ssh_set_log_userdata(sc->userdata);
	ssh_set_log_level(sc->level);
}

/* Never prompts for a passphrase (OpenSSL would ask on the terminal). */
static int
no_passphrase(const char *prompt, char *buf, size_t len, int echo, int verify,
    void *userdata)
{
	return -1;
}

/* Connecting. */

static int
set_opt(struct rcp_ssh *s, enum ssh_options_e opt, const void *v,
    const char *what, char **cause)
{
	if (ssh_options_set(s->ss, opt, v) == 0)
		return 0;
	*cause = rcp_xasprintf("cannot set the %s for '%s': %s", what, s->host,
	    ssh_get_error(s->ss));
	return RCP_ERR_INVAL;
}

/* Applies the config file, then what the caller set explicitly over it. */
static int
session_configure(struct rcp_ssh *s, const struct rcp_ssh_target *t,
    const struct rcp_ssh_opts *o, char **cause)
{
	long sec = RCP_SSH_CONNECT_TIMEOUT_MS / 1000, usec = 0;
	char *host = NULL;
	int one = 1, port, r;

	host = strchr(t->host, ':') != NULL ?
	    rcp_xasprintf("[%s]", t->host) : rcp_xstrdup(t->host);
	if ((r = set_opt(s, SSH_OPTIONS_HOST, host, "host name", cause)) != 0 ||
	    (r = set_opt(s, SSH_OPTIONS_TIMEOUT, &sec, "timeout", cause)) != 0)
		goto out;
	if (o->config_file != NULL && access(o->config_file, R_OK) != 0) {
		*cause = rcp_xasprintf("cannot read ssh config '%s': %s",
		    o->config_file, strerror(errno));
		r = RCP_ERR_INVAL;
		goto out;
	}
	if (ssh_options_parse_config(s->ss, o->config_file) != 0) {
		*cause = rcp_xasprintf("cannot use ssh config '%s': %s",
		    o->config_file != NULL ? o->config_file : "~/.ssh/config",
		    ssh_get_error(s->ss));
		r = RCP_ERR_INVAL;
		goto out;
	}
	/*
	 * libssh answers "known" for any unknown key when the config says
	 * StrictHostKeyChecking no: our policy is accept_new, not the config's.
	 */
	if ((r = set_opt(s, SSH_OPTIONS_STRICTHOSTKEYCHECK, &one,
	    "host key checking", cause)) != 0)
		goto out;
	/*
	 * Our exchanges are small packets (key exchange, auth, exec, the
	 * agents' start-up lines): without TCP_NODELAY, Nagle's algorithm
	 * against delayed ACKs made connecting take ~110 ms instead of ~30.
	 */
	if ((r = set_opt(s, SSH_OPTIONS_NODELAY, &one, "TCP_NODELAY",
	    cause)) != 0)
		goto out;
	if (t->user != NULL && (r = set_opt(s, SSH_OPTIONS_USER, t->user,
	    "user", cause)) != 0)
		goto out;
	port = (int)t->port;
	if (t->port != 0 && (r = set_opt(s, SSH_OPTIONS_PORT, &port, "port",
	    cause)) != 0)
		goto out;
	if (o->known_hosts != NULL && (r = set_opt(s, SSH_OPTIONS_KNOWNHOSTS,
	    o->known_hosts, "known hosts file", cause)) != 0)
		goto out;
	if (o->connect_timeout_ms > 0) {
		sec = o->connect_timeout_ms / 1000;
		usec = (long)(o->connect_timeout_ms % 1000) * 1000;
		if ((r = set_opt(s, SSH_OPTIONS_TIMEOUT, &sec, "timeout",
		    cause)) != 0 || (r = set_opt(s, SSH_OPTIONS_TIMEOUT_USEC,
		    &usec, "timeout", cause)) != 0)
			goto out;
	}
	r = 0;
out:
	free(host);
	return r;
}

/* The name known_hosts uses: "host", or "[host]:port" off port 22. */
static char *
known_name(struct rcp_ssh *s)
{
	unsigned port = 22;
	char *host = NULL, *name;

	if (ssh_options_get(s->ss, SSH_OPTIONS_HOST, &host) != 0)
		host = NULL;
	ssh_options_get_port(s->ss, &port);
	if (port == 22)
		name = rcp_xstrdup(host != NULL ? host : s->host);
	else
		name = rcp_xasprintf("[%s]:%u", host != NULL ? host : s->host,
		    port);
	ssh_string_free_char(host);
	return name;
}

/* Returns "ssh-ed25519 SHA256:..." for the server's key, or NULL. */
static char *
server_key_desc(struct rcp_ssh *s)
{
	ssh_key key = NULL;
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL, *desc = NULL;

	if (ssh_get_server_publickey(s->ss, &key) != SSH_OK)
		return NULL;
	if (ssh_get_publickey_hash(key, SSH_PUBLICKEY_HASH_SHA256, &hash,
	    &hlen) == 0 && (fp = ssh_get_fingerprint_hash(
	    SSH_PUBLICKEY_HASH_SHA256, hash, hlen)) != NULL)
		desc = rcp_xasprintf("%s %s",
		    ssh_key_type_to_char(ssh_key_type(key)), fp);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
	ssh_key_free(key);
	return desc;
}

static int
verify_host(struct rcp_ssh *s, bool accept_new, const struct rcp_log *log,
    char **cause)
{
	enum ssh_known_hosts_e k;
	char *name = known_name(s), *desc = server_key_desc(s), *file = NULL;
	int r = RCP_ERR_AUTH;

	if (ssh_options_get(s->ss, SSH_OPTIONS_KNOWNHOSTS, &file) != 0)
		file = NULL;
	if (desc == NULL)
		desc = rcp_xstrdup("unreadable key");
	k = ssh_session_is_known_server(s->ss);
	switch (k) {
	case SSH_KNOWN_HOSTS_OK:
		r = 0;
		break;
	case SSH_KNOWN_HOSTS_CHANGED:
		*cause = rcp_xasprintf("host key of '%s' has CHANGED (now %s, "
		    "'%s' has another): possible man-in-the-middle attack; "
		    "refusing to connect (if the host was reinstalled, remove "
		    "its old key from '%s')", name, desc, file, file);
		break;
	case SSH_KNOWN_HOSTS_OTHER:
		*cause = rcp_xasprintf("host key of '%s' (%s) is not of the "
		    "type recorded in '%s': possible man-in-the-middle attack; "
		    "refusing to connect", name, desc, file);
		break;
	case SSH_KNOWN_HOSTS_NOT_FOUND:
	case SSH_KNOWN_HOSTS_UNKNOWN:
		/* libssh reads a file it may not open as an empty one. */
		if (file != NULL && access(file, R_OK) != 0 &&
		    errno != ENOENT) {
			*cause = rcp_xasprintf("cannot read known hosts file "
			    "'%s' to check the host key of '%s': %s", file,
			    name, strerror(errno));
			break;
		}
		if (!accept_new) {
			*cause = rcp_xasprintf("host key of '%s' (%s) is not "
			    "in '%s'; refusing to connect (verify it and add "
			    "it, or pass accept-new)", name, desc, file);
			break;
		}
		if (ssh_session_update_known_hosts(s->ss) != SSH_OK) {
			*cause = rcp_xasprintf("cannot add the host key of "
			    "'%s' to '%s': %s", name, file,
			    ssh_get_error(s->ss));
			r = RCP_ERR_IO;
			break;
		}
		rcp_log(log, RCP_LOG_INFO, "added the host key of '%s' (%s) "
		    "to '%s'", name, desc, file);
		r = 0;
		break;
	case SSH_KNOWN_HOSTS_ERROR:
	default:
		*cause = rcp_xasprintf("cannot check the host key of '%s' "
		    "against '%s': %s", name, file, ssh_get_error(s->ss));
		break;
	}
	ssh_string_free_char(file);
	free(name);
	free(desc);
	return r;
}

/* Tries an explicit private key.  Returns 1 if it was accepted, 0 if not. */
static int
auth_identity(struct rcp_ssh *s, const char *identity, char **cause)
{
	ssh_key key = NULL;
	int r;

	r = ssh_pki_import_privkey_file(identity, NULL, no_passphrase, NULL,
	    &key);
	if (r == SSH_EOF) {
		*cause = rcp_xasprintf("cannot read identity '%s': no such "
		    "file", identity);
		return RCP_ERR_AUTH;
	} else if (r != SSH_OK) {
		*cause = rcp_xasprintf("cannot read identity '%s': not a "
		    "private key, or it needs a passphrase (use ssh-agent)",
		    identity);
		return RCP_ERR_AUTH;
	}
	r = ssh_userauth_publickey(s->ss, NULL, key);
	ssh_key_free(key);
	if (r == SSH_AUTH_SUCCESS)
		return 1;
	if (r == SSH_AUTH_ERROR) {
		*cause = rcp_xasprintf("authentication to '%s' failed: %s",
		    s->dest, ssh_get_error(s->ss));
		return RCP_ERR_AUTH;
	}
	return 0;
}

static int
authenticate(struct rcp_ssh *s, const char *identity, struct ssh_capture *cap,
    char **cause)
{
	struct rcp_buf tried = RCP_BUF_INIT;
	const char *sock = getenv("SSH_AUTH_SOCK");
	int r, level;

	if (identity != NULL) {
		if ((r = auth_identity(s, identity, cause)) != 0)
			return r > 0 ? 0 : r;
		tried_add(&cap->tried, identity);
	}
	/* "Trying to authenticate with" is logged at debug level. */
	level = ssh_get_log_level();
	if (level < SSH_LOG_DEBUG)
		ssh_set_log_level(SSH_LOG_DEBUG);
	r = ssh_userauth_publickey_auto(s->ss, NULL, NULL);
	ssh_set_log_level(level);
	if (r == SSH_AUTH_SUCCESS)
		return 0;
	if (sock != NULL && *sock != '\0')
		rcp_buf_addstr(&tried, "ssh-agent");
	if (cap->tried.len > 0) {
		if (tried.len > 0)
			rcp_buf_addstr(&tried, ", ");
		rcp_buf_addstr(&tried, cap->tried.data);
	}
	if (r == SSH_AUTH_PARTIAL)
		*cause = rcp_xasprintf("authentication to '%s' failed: the "
		    "server wants more than a key (only public keys are "
		    "supported)", s->dest);
	else if (r == SSH_AUTH_DENIED)
		*cause = rcp_xasprintf("authentication to '%s' failed: no key "
		    "was accepted (tried: %s)", s->dest,
		    tried.len > 0 ? tried.data : "no key found");
	else
		*cause = rcp_xasprintf("authentication to '%s' failed: %s",
		    s->dest, ssh_get_error(s->ss));
	rcp_buf_release(&tried);
	return RCP_ERR_AUTH;
}

/* Connects, checks the host key and authenticates: 0 or an error. */
static int
session_open(struct rcp_ssh *s, const struct rcp_ssh_opts *o,
    struct ssh_capture *cap, char **cause)
{
	unsigned port = 22;
	char *host = NULL, *user = NULL;
	int r;

	if (ssh_connect(s->ss) != SSH_OK) {
		if (ssh_options_get(s->ss, SSH_OPTIONS_HOST, &host) != 0)
			host = NULL;
		ssh_options_get_port(s->ss, &port);
		*cause = rcp_xasprintf("cannot connect to '%s' port %u: %s",
		    host != NULL ? host : s->host, port, ssh_get_error(s->ss));
		ssh_string_free_char(host);
		return RCP_ERR_IO;
	}
	if ((r = verify_host(s, o->accept_new, cap->log, cause)) != 0)
		return r;
	if (ssh_options_get(s->ss, SSH_OPTIONS_USER, &user) != 0)
		user = NULL;
	s->dest = rcp_xasprintf("%s@%s", user != NULL ? user : "?", s->host);
	ssh_string_free_char(user);
	if ((r = authenticate(s, o->identity, cap, cause)) != 0)
		return r;
	s->fd = ssh_get_fd(s->ss);
	if ((s->ev = ssh_event_new()) == NULL ||
	    ssh_event_add_session(s->ev, s->ss) != SSH_OK) {
		*cause = rcp_xasprintf("cannot set up the connection to '%s'",
		    s->host);
		return RCP_ERR_INTERNAL;
	}
	return 0;
}

struct rcp_ssh *
rcp_ssh_connect(const struct rcp_ssh_target *t, const struct rcp_ssh_opts *o,
    char **cause)
{
	struct ssh_capture cap = { .log = o->log, .tried = RCP_BUF_INIT };
	struct ssh_logscope sc;
	pthread_condattr_t ca;
	struct rcp_ssh *s;
	int r;

	pthread_once(&ssh_once, ssh_global_init);
	s = rcp_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->progress, &ca);
	pthread_condattr_destroy(&ca);
	s->host = rcp_xstrdup(t->host);
	s->fd = s->kick[0] = s->kick[1] = -1;
	if (o->log != NULL)
		s->log = *o->log;
	if (pipe2(s->kick, O_NONBLOCK | O_CLOEXEC) != 0) {
		*cause = rcp_xasprintf("cannot create a pipe: %s",
		    strerror(errno));
		goto fail;
	}
	if ((s->ss = ssh_new()) == NULL) {
		*cause = rcp_xstrdup("cannot create an ssh session");
		goto fail;
	}
	ssh_callbacks_init(&s->cb);
	s->cb.userdata = s;
	s->cb.auth_function = no_passphrase;
	ssh_set_callbacks(s->ss, &s->cb);
	logscope_begin(&sc, &cap, rcp_log_enabled(o->log, RCP_LOG_TRACE) ?
	    SSH_LOG_INFO : SSH_LOG_WARN);
	r = session_configure(s, t, o, cause);
	if (r == 0)
		r = session_open(s, o, &cap, cause);
	logscope_end(&sc);
	rcp_buf_release(&cap.tried);
	if (r != 0)
		goto fail;
	rcp_log(&s->log, RCP_LOG_DEBUG, "connected to '%s'", s->dest);
	return s;

fail:
	rcp_ssh_free(s);
	return NULL;
}

static void proc_release(struct rcp_ssh_proc *p);

void
rcp_ssh_free(struct rcp_ssh *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->procs != NULL)
		proc_release(s->procs);
	pthread_mutex_unlock(&s->lock);
	if (s->ss != NULL && ssh_is_connected(s->ss))
		ssh_disconnect(s->ss);
	if (s->ev != NULL) {
		ssh_event_remove_session(s->ev, s->ss);
		ssh_event_free(s->ev);
	}
	if (s->ss != NULL)
		ssh_free(s->ss);
	if (s->kick[0] >= 0) {
		close(s->kick[0]);
		close(s->kick[1]);
	}
	pthread_cond_destroy(&s->progress);
	pthread_mutex_destroy(&s->lock);
	free(s->host);
	free(s->dest);
	free(s->dead);
	free(s);
}

const char *
rcp_ssh_host(const struct rcp_ssh *s)
{
	return s->host;
}

char *
rcp_ssh_error(struct rcp_ssh *s)
{
	char *e;

	pthread_mutex_lock(&s->lock);
	e = s->dead != NULL ? rcp_xstrdup(s->dead) : NULL;
	pthread_mutex_unlock(&s->lock);
	return e;
}

int
rcp_ssh_local_addr(struct rcp_ssh *s, struct sockaddr_storage *ss,
    socklen_t *len)
{
	*len = sizeof(*ss);
	if (getsockname(s->fd, (struct sockaddr *)ss, len) != 0)
		return RCP_ERR_IO;
	return 0;
}

/* Channels. */

static void
on_exit_status(ssh_session session, ssh_channel channel, int status,
    void *userdata)
{
	struct rcp_ssh_proc *p = userdata;

	p->status = status;
	p->exited = true;
}

static int
signal_number(const char *name)
{
	static const struct {
		const char	*name;
		int		 sig;
	} sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
		{ "ILL", SIGILL }, { "TRAP", SIGTRAP }, { "ABRT", SIGABRT },
		{ "BUS", SIGBUS }, { "FPE", SIGFPE }, { "KILL", SIGKILL },
		{ "USR1", SIGUSR1 }, { "SEGV", SIGSEGV }, { "USR2", SIGUSR2 },
		{ "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
		{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "SYS", SIGSYS },
	};
	size_t i;

	for (i = 0; name != NULL && i < RCP_ARRAY_SIZE(sigs); i++)
		if (strcmp(name, sigs[i].name) == 0)
			return sigs[i].sig;
	return 0;
}

static void
on_exit_signal(ssh_session session, ssh_channel channel, const char *signal,
    int core, const char *errmsg, const char *lang, void *userdata)
{
	struct rcp_ssh_proc *p = userdata;
	int sig = signal_number(signal);

	p->status = sig > 0 ? 128 + sig : -1;
	p->exited = true;
}

static void
on_close(ssh_session session, ssh_channel channel, void *userdata)
{
	struct rcp_ssh_proc *p = userdata;

	p->closed = true;
}

/*
 * requires s->lock.  Opens a channel and starts command: 0 or an error.  The
 * protocol exchanges block (at most the connect timeout) under the lock.
 */
static int
proc_start(struct rcp_ssh *s, const char *command, struct rcp_ssh_proc **pp,
    char **cause)
{
	struct rcp_ssh_proc *p;
	char *esc;

	if (s->dead != NULL) {
		*cause = rcp_xstrdup(s->dead);
		return RCP_ERR_IO;
	}
	p = rcp_xcalloc(1, sizeof(*p));
	p->s = s;
	p->status = -1;
	esc = rcp_escape(command);
	p->what = rcp_xasprintf("'%s' on '%s'", esc, s->host);
	free(esc);
	if ((p->ch = ssh_channel_new(s->ss)) == NULL)
		goto fail;
	ssh_callbacks_init(&p->cb);
	p->cb.userdata = p;
	p->cb.channel_exit_status_function = on_exit_status;
	p->cb.channel_exit_signal_function = on_exit_signal;
	p->cb.channel_close_function = on_close;
	if (ssh_set_channel_callbacks(p->ch, &p->cb) != SSH_OK ||
	    ssh_channel_open_session(p->ch) != SSH_OK)
		goto fail;
	if (ssh_channel_request_exec(p->ch, command) != SSH_OK) {
		*cause = rcp_xasprintf("cannot run %s: %s", p->what,
		    ssh_get_error(s->ss));
		goto fail_err;
	}
	session_notify(s);
	p->next = s->procs;
	if (s->procs != NULL)
		s->procs->prev = p;
	s->procs = p;
	*pp = p;
	return 0;

fail:
	*cause = rcp_xasprintf("cannot open a channel to '%s': %s", s->host,
	    ssh_get_error(s->ss));
fail_err:
	session_failed(s);
	session_notify(s);
	if (p->ch != NULL) {
		ssh_remove_channel_callbacks(p->ch, &p->cb);
		ssh_channel_free(p->ch);
	}
	free(p->what);
	free(p);
	return RCP_ERR_IO;
}

struct rcp_ssh_proc *
rcp_ssh_exec(struct rcp_ssh *s, const char *command, char **cause)
{
	struct rcp_ssh_proc *p = NULL;

	pthread_mutex_lock(&s->lock);
	proc_start(s, command, &p, cause);
	pthread_mutex_unlock(&s->lock);
	if (p != NULL)
		rcp_log(&s->log, RCP_LOG_DEBUG, "started %s", p->what);
	return p;
}

/*
 * requires s->lock.  One write step: returns the bytes sent (0 while the
 * window is full) or RCP_ERR_IO.  Only the flush of what fits in the window
 * may block, until the kernel takes it.
 */
static ssize_t
proc_write_step(struct rcp_ssh_proc *p, const void *buf, size_t n)
{
	struct rcp_ssh *s = p->s;
	uint32_t w;
	int r;

	if ((r = session_pump(s)) != 0)
		return r;
	if (p->eof_sent || p->closed || ssh_channel_is_closed(p->ch)) {
		rcp_log(&s->log, RCP_LOG_DEBUG, "cannot write to %s: its "
		    "input is closed", p->what);
		return RCP_ERR_IO;
	}
	if ((w = ssh_channel_window_size(p->ch)) == 0)
		return 0;
	if (n > w)
		n = w;
	if (n > SSH_STEP_BYTES)
		n = SSH_STEP_BYTES;
	r = ssh_channel_write(p->ch, buf, (uint32_t)n);
	/* The flush processes incoming packets too. */
	session_notify(s);
	if (r < 0) {
		rcp_log(&s->log, RCP_LOG_DEBUG, "cannot write to %s: %s",
		    p->what, ssh_get_error(s->ss));
		return session_failed(s);
	}
	return r;
}

int
rcp_ssh_proc_write_timeout(struct rcp_ssh_proc *p, const void *buf, size_t n,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	const char *c = buf;
	ssize_t k;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	while (n > 0) {
		if ((k = proc_write_step(p, c, n)) < 0) {
			r = (int)k;
			break;
		}
		c += k;
		n -= (size_t)k;
		if (k > 0)
			session_yield(s);
		else if (rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		} else
			session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
rcp_ssh_proc_write(struct rcp_ssh_proc *p, const void *buf, size_t n)
{
	return rcp_ssh_proc_write_timeout(p, buf, n, -1);
}

/* requires s->lock. */
static int
proc_send_eof(struct rcp_ssh_proc *p)
{
	int r = 0;

	if (p->eof_sent)
		return 0;
	if (p->s->dead != NULL)
		return RCP_ERR_IO;
	if (ssh_channel_send_eof(p->ch) != SSH_OK)
		r = session_failed(p->s);
	else
		p->eof_sent = true;
	session_notify(p->s);
	return r;
}

int
rcp_ssh_proc_close_stdin(struct rcp_ssh_proc *p)
{
	int r;

	pthread_mutex_lock(&p->s->lock);
	r = proc_send_eof(p);
	pthread_mutex_unlock(&p->s->lock);
	return r;
}

/*
 * requires s->lock.  One non-blocking read of the channel: returns the bytes
 * read, 0 with *eof false if nothing has come yet, 0 with *eof true at EOF,
 * or RCP_ERR_IO.
 */
static ssize_t
channel_read_step(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    bool *eof)
{
	bool fed = session_fed(p->s);
	ssize_t r;
	int avail;

	*eof = false;
	/* Polling an empty stream reads the socket without blocking. */
	avail = ssh_channel_poll(p->ch, err);
	if (avail == SSH_EOF) {
		*eof = true;
		r = 0;
	} else if (avail == SSH_ERROR)
		r = session_failed(p->s);
	else if (avail == 0)
		r = 0;
	else {
		if (n > (size_t)avail)
			n = (size_t)avail;
		if (n > SSH_STEP_BYTES)
			n = SSH_STEP_BYTES;
		r = ssh_channel_read_nonblocking(p->ch, buf, (uint32_t)n, err);
		if (r < 0)
			r = session_failed(p->s);
	}
	if (fed)
		session_notify(p->s);
	return r;
}

/* requires s->lock.  As channel_read_step, stdout read ahead first. */
static ssize_t
proc_read_step(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    bool *eof)
{
	if (err || p->pend_len == 0)
		return channel_read_step(p, err, buf, n, eof);
	*eof = false;
	if (n > p->pend_len)
		n = p->pend_len;
	memcpy(buf, p->pend, n);
	memmove(p->pend, p->pend + n, p->pend_len - n);
	p->pend_len -= n;
	return (ssize_t)n;
}

ssize_t
rcp_ssh_proc_read(struct rcp_ssh_proc *p, bool err, void *buf, size_t n,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	ssize_t k;
	bool eof;

	if (n == 0)
		return RCP_ERR_INVAL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		k = proc_read_step(p, err, buf, n, &eof);
		if (k != 0 || eof)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			k = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return k;
}

/*
 * requires s->lock.  Looks for a line in the read-ahead buffer, reading
 * more stdout into it: 1 with *line set, 0 to wait, or an error.
 */
static int
proc_line_step(struct rcp_ssh_proc *p, char **line, size_t max)
{
	char *nl;
	size_t room, k;
	ssize_t got;
	bool eof;

	for (;;) {
		nl = p->pend_len > 0 ? memchr(p->pend, '\n', p->pend_len) : NULL;
		if (nl != NULL) {
			k = (size_t)(nl - p->pend);
			*line = rcp_xstrndup(p->pend, k);
			memmove(p->pend, nl + 1, p->pend_len - k - 1);
			p->pend_len -= k + 1;
			return 1;
		}
		if (p->pend_len >= max)
			return RCP_ERR_TOOBIG;
		/* Room for max bytes and the newline, never more. */
		room = max + 1 - p->pend_len;
		if (room > SSH_STEP_BYTES)
			room = SSH_STEP_BYTES;
		p->pend = rcp_xrealloc(p->pend, p->pend_len + room);
		got = channel_read_step(p, false, p->pend + p->pend_len, room,
		    &eof);
		if (got < 0)
			return (int)got;
		if (eof)
			return RCP_ERR_PROTO;
		if (got == 0)
			return 0;
		p->pend_len += (size_t)got;
	}
}

int
rcp_ssh_proc_read_line(struct rcp_ssh_proc *p, char **line, size_t max,
    int timeout_ms)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	int r;

	*line = NULL;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		if ((r = proc_line_step(p, line, max)) != 0)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r > 0 ? 0 : r;
}

int
rcp_ssh_proc_wait(struct rcp_ssh_proc *p, int timeout_ms, int *status)
{
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh *s = p->s;
	int r;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		r = session_pump(s);
		*status = p->status;
		if (p->exited || p->closed) {
			r = 0;
			break;
		}
		if (r != 0)
			break;
		if (timeout_ms == 0 || rcp_deadline_passed(deadline)) {
			r = RCP_ERR_TIMEOUT;
			break;
		}
		session_wait(s, deadline);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
rcp_ssh_proc_signal(struct rcp_ssh_proc *p, const char *name)
{
	int r = 0;

	pthread_mutex_lock(&p->s->lock);
	if (p->s->dead != NULL)
		r = RCP_ERR_IO;
	else if (ssh_channel_request_send_signal(p->ch, name) != SSH_OK)
		r = session_failed(p->s);
	session_notify(p->s);
	pthread_mutex_unlock(&p->s->lock);
	return r;
}

/* requires s->lock.  Closes the channel, unlinks p and frees it. */
static void
proc_release(struct rcp_ssh_proc *p)
{
	struct rcp_ssh *s = p->s;

	/* A freed channel lives on in libssh until the server's close. */
	ssh_remove_channel_callbacks(p->ch, &p->cb);
	if (s->dead == NULL && ssh_is_connected(s->ss)) {
		if (!p->exited && !p->closed)
			ssh_channel_request_send_signal(p->ch, "TERM");
		if (ssh_channel_is_open(p->ch))
			ssh_channel_close(p->ch);
		session_notify(s);
	}
	ssh_channel_free(p->ch);
	if (p->prev != NULL)
		p->prev->next = p->next;
	else
		s->procs = p->next;
	if (p->next != NULL)
		p->next->prev = p->prev;
	free(p->what);
	free(p->pend);
	free(p);
}

void
rcp_ssh_proc_free(struct rcp_ssh_proc *p)
{
	struct rcp_ssh *s;

	if (p == NULL)
		return;
	s = p->s;
	pthread_mutex_lock(&s->lock);
	proc_release(p);
	pthread_mutex_unlock(&s->lock);
}

/* Running a command to completion. */

struct run_state {
	struct rcp_ssh_run_io	*io;
	struct rcp_buf		 out, err;
	size_t			 in_off, in_len;	/* in_len: 0 without input */
	bool			 out_eof, err_eof;
};

/* requires s->lock.  Reads one stream into its buffer: bytes read or an error. */
static ssize_t
run_read(struct rcp_ssh_proc *p, struct run_state *st, bool err,
    char **cause)
{
	struct rcp_buf *b = err ? &st->err : &st->out;
	char buf[16384];
	size_t keep;
	ssize_t k;
	bool eof;

	if ((k = proc_read_step(p, err, buf, sizeof(buf), &eof)) < 0)
		return k;
	if (err) {
		keep = st->io->err_max - b->len;
		rcp_buf_add(b, buf, keep < (size_t)k ? keep : (size_t)k);
		st->err_eof = eof;
	} else if (b->len + (size_t)k > st->io->out_max) {
		*cause = rcp_xasprintf("output of %s is over %zu bytes",
		    p->what, st->io->out_max);
		return RCP_ERR_TOOBIG;
	} else {
		rcp_buf_add(b, buf, (size_t)k);
		st->out_eof = eof;
	}
	return k > 0 || eof ? 1 : 0;
}

/* requires s->lock.  One step: 1 if progress was made, 0 if not, or an error. */
static int
run_step(struct rcp_ssh_proc *p, struct run_state *st, char **cause)
{
	ssize_t k;
	int progress = 0;

	if (st->in_off < st->in_len) {
		k = proc_write_step(p, (const char *)st->io->in + st->in_off,
		    st->in_len - st->in_off);
		if (k < 0)
			goto io_error;
		st->in_off += (size_t)k;
		progress |= k > 0;
	}
	if (st->in_off == st->in_len && !p->eof_sent && proc_send_eof(p) != 0)
		goto io_error;
	if (!st->out_eof) {
		if ((k = run_read(p, st, false, cause)) == RCP_ERR_TOOBIG)
			return RCP_ERR_TOOBIG;
		if (k < 0)
			goto io_error;
		progress |= k > 0;
	}
	if (!st->err_eof) {
		if ((k = run_read(p, st, true, cause)) < 0)
			goto io_error;
		progress |= k > 0;
	}
	if (session_pump(p->s) != 0)
		goto io_error;
	return progress;

io_error:
	*cause = rcp_xasprintf("cannot run %s: %s", p->what, p->s->dead != NULL ?
	    p->s->dead : ssh_get_error(p->s->ss));
	return RCP_ERR_IO;
}

int
rcp_ssh_run_io(struct rcp_ssh *s, const char *command,
    struct rcp_ssh_run_io *io, int timeout_ms, char **cause)
{
	struct run_state st = { .io = io, .out = RCP_BUF_INIT,
	    .err = RCP_BUF_INIT };
	uint64_t deadline = rcp_deadline_after(timeout_ms);
	struct rcp_ssh_proc *p = NULL;
	int r;

	io->out = io->err = NULL;
	io->out_len = io->err_len = 0;
	io->status = -1;
	st.in_len = io->in != NULL ? io->in_len : 0;
	pthread_mutex_lock(&s->lock);
	if ((r = proc_start(s, command, &p, cause)) != 0) {
		pthread_mutex_unlock(&s->lock);
		return r;
	}
	for (;;) {
		if ((r = run_step(p, &st, cause)) < 0)
			break;
		io->status = p->status;
		if (st.out_eof && st.err_eof && (p->exited || p->closed))
			break;
		if (r > 0)
			session_yield(s);
		else if (rcp_deadline_passed(deadline)) {
			*cause = rcp_xasprintf("%s did not finish within %d ms",
			    p->what, timeout_ms);
			r = RCP_ERR_TIMEOUT;
			break;
		} else
			session_wait(s, deadline);
	}
	proc_release(p);
	pthread_mutex_unlock(&s->lock);
	if (r >= 0) {
		io->out_len = st.out.len;
		io->out = rcp_buf_detach(&st.out);
		io->err_len = st.err.len;
		io->err = rcp_buf_detach(&st.err);
		r = 0;
	}
	rcp_buf_release(&st.out);
	rcp_buf_release(&st.err);
	return r;
}

int
rcp_ssh_run(struct rcp_ssh *s, const char *command, char **out, size_t max,
    int *status, int timeout_ms, char **cause)
{
	struct rcp_ssh_run_io io = { .out_max = max,
	    .err_max = SSH_RUN_ERR_MAX };
	char *esc, *err;
	int r;

	*out = NULL;
	if ((r = rcp_ssh_run_io(s, command, &io, timeout_ms, cause)) != 0)
		return r;
	if (io.err_len > 0 && rcp_log_enabled(&s->log, RCP_LOG_DEBUG)) {
		esc = rcp_escape(command);
		err = rcp_escape(io.err);
		rcp_log(&s->log, RCP_LOG_DEBUG, "stderr of '%s' on '%s': %s",
		    esc, s->host, err);
		free(esc);
		free(err);
	}
	free(io.err);
	*out = io.out;
	*status = io.status;
	return 0;
}
