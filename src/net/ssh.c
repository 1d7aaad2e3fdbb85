/*
 * ssh.c: the SSH session on libssh 0.10: connecting, host key checking and
 * public key authentication.  SSH is rcp's security perimeter, so a host key
 * that is not in known_hosts is refused (or, on request, added) and a
 * changed one always is.  Targets are parsed in ssh-target.c; commands run
 * on the session's channels in ssh-chan.c, which also has the locking rules.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/ssh-int.h"
#include "net/ssh.h"

#include "base/banned.h"

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

/* libssh logging. */

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
	struct rcp_ssh *s;
	int r;

	pthread_once(&ssh_once, ssh_global_init);
	s = rcp_xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	rcp_cond_init_mono(&s->progress);
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


void
rcp_ssh_free(struct rcp_ssh *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	while (s->procs != NULL)
		rcp_ssh_proc_free_locked(s->procs);
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
