/*
 * srcclient.c: the destination's client of the source agent (see
 * srcclient.h): each source operation of the engine becomes a request,
 * and its worker waits for the reply with that request's id.  A lost
 * source agent is RCP_ERR_GONE, never an errno the disk could give.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/fsops.h"
#include "fs/meta.h"
#include "fs/xmeta.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/srcclient.h"
#include "remote/srcwire.h"

#include "base/banned.h"

/* Buckets of a directory's files that came inline with its listing. */
#define INLINE_BUCKETS 256
/* Streams the client spreads its requests over. */
#define NSTREAMS 8

/* A small file that came with its directory's listing. */
struct inline_ent {
	struct inline_ent	*next;
	char			*name;
	struct stat		 st;
	struct stat		 after;
	uint8_t			*data;		/* NULL: a directory's stat */
	size_t			 len;
};

/*
 * A request waiting for its reply.  Each has its own condition variable:
 * with one shared by every engine worker, each reply woke all sixteen,
 * and the context switches cost about a third of an agent's CPU.
 */
struct waiter {
	struct waiter		*next;
	uint32_t		 id;
	pthread_cond_t		 cond;
	struct rcp_quic_msg	*reply;		/* set by the reader */
};

/* What the engine holds: a server handle, or a file that came whole. */
struct rhandle {
	uint32_t	 server;	/* UINT32_MAX: none on the server */
	uint8_t		*data;		/* prefetched contents */
	size_t		 len;
	struct stat	 after;		/* fstat once read, with data */
	struct inline_ent **cache;	/* directories: files sent inline */
	/*
	 * Directories: listed with RCP_SRC_LIST_ALL (a new one: its
	 * subdirectories will be new too), and the first LIST reply if it
	 * came with the OPENDIR (its body from first_at).
	 */
	atomic_bool	 listed_all;
	struct rcp_quic_msg *first;
	size_t		 first_at;
	/*
	 * Directories: the ACLs and xattrs of their entries, fetched at once
	 * by the first XMETA asked of one (entries not in xm have none);
	 * state, names and xm require hlock.
	 */
	int		 xm_state;	/* XM_NONE, XM_LOADING, XM_HAVE, XM_OFF */
	struct xm_ent	*xm;		/* sorted by name */
	size_t		 xm_n;
};

/* One entry of a directory's XMETA_DIR batch. */
struct xm_ent {
	char		*name;
	struct rcp_xmeta xm;
};

enum { XM_NONE, XM_LOADING, XM_HAVE, XM_OFF };

static uint32_t
name_hash(const char *s)
{
	return rcp_hash_str(s) % INLINE_BUCKETS;
}

static void
inline_free(struct inline_ent *e)
{
	free(e->name);
	free(e->data);
	free(e);
}

static void
rhandle_free(struct rhandle *h)
{
	struct inline_ent *e, *next;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; h->cache != NULL && i < INLINE_BUCKETS; i++) {
		for (e = h->cache[i]; e != NULL; e = next) {
			next = e->next;
			inline_free(e);
		}
	}
	free(h->cache);
	rcp_quic_msg_free(h->first);
	for (i = 0; i < h->xm_n; i++) {
		free(h->xm[i].name);
		rcp_xmeta_release(&h->xm[i].xm);
	}
	free(h->xm);
	free(h->data);
	free(h);
}

struct rcp_srcclient {
	struct rcp_quic_conn	*conn;
	int64_t			 streams[NSTREAMS];
	int			 nstreams;
	atomic_uint		 next_id;
	pthread_t		 reader;
	bool			 reader_started;

	pthread_mutex_t		 lock;
	struct waiter		*waiters;	/* requires lock */
	bool			 dead;		/* requires lock */

	pthread_mutex_t		 hlock;
	struct rhandle		**h;		/* stable pointers; hlock */
	size_t			 nh;

	rcp_srcclient_answer_fn	*answer;	/* instead of conn; or NULL */
	void			*answer_arg;

	/* Who the source agent is, for the messages of a missing feature
	 * (set before the copy runs, read-only then). */
	char			*peer_host;	/* NULL: not known */
	char			*peer_version;
	struct rcp_log		 log;		/* log.fn NULL: none */
	atomic_bool		 told_hash;	/* its lack of SRC_HASH logged */
};

static void *
client_reader(void *arg)
{
	struct rcp_srcclient *r = arg;
	struct rcp_quic_msg *m;
	struct waiter *w;

	while (rcp_quic_recv(r->conn, &m, -1) == 0) {
		if (m->fin || m->f.id == 0) {
			rcp_quic_msg_free(m);
			continue;
		}
		pthread_mutex_lock(&r->lock);
		for (w = r->waiters; w != NULL && w->id != m->f.id; w = w->next)
			;
		if (w != NULL && w->reply == NULL) {
			w->reply = m;
			m = NULL;
			pthread_cond_signal(&w->cond);	/* just that one */
		}
		pthread_mutex_unlock(&r->lock);
		rcp_quic_msg_free(m);	/* a reply nobody waits for */
	}
	pthread_mutex_lock(&r->lock);
	r->dead = true;
	for (w = r->waiters; w != NULL; w = w->next)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

struct rcp_srcclient *
rcp_srcclient_new(struct rcp_quic_conn *c)
{
	struct rcp_srcclient *r = rcp_xcalloc(1, sizeof(*r));
	int i;

	r->conn = c;
	atomic_init(&r->next_id, 1000);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->hlock, NULL);
	for (i = 0; i < NSTREAMS; i++)
		if (rcp_quic_stream_open(c, &r->streams[r->nstreams]) == 0)
			r->nstreams++;
	if (pthread_create(&r->reader, NULL, client_reader, r) == 0)
		r->reader_started = true;
	return r;
}

struct rcp_srcclient *
rcp_srcclient_new_answered(rcp_srcclient_answer_fn *fn, void *arg)
{
	struct rcp_srcclient *r = rcp_xcalloc(1, sizeof(*r));

	atomic_init(&r->next_id, 1000);
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->hlock, NULL);
	r->answer = fn;
	r->answer_arg = arg;
	r->nstreams = 1;
	return r;
}

void
rcp_srcclient_free(struct rcp_srcclient *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* The reader ends when its connection does: the caller closes it. */
	if (r->conn != NULL)
		rcp_quic_close(r->conn, 0);
	if (r->reader_started)
		pthread_join(r->reader, NULL);
	for (i = 0; i < r->nh; i++)
		rhandle_free(r->h[i]);
	free(r->h);
	pthread_mutex_destroy(&r->hlock);
	pthread_mutex_destroy(&r->lock);
	free(r->peer_host);
	free(r->peer_version);
	free(r);
}

int
rcp_srcclient_err(int32_t wire)
{
	int e = rcp_err_from_wire(wire);

	/* Only our own connection can tell that the agent is gone. */
	return e == RCP_OK || e == RCP_ERR_GONE ? RCP_ERR_PROTO : e;
}

/*
 * Sends a request and waits for its reply.  0 with *out (an SRC_OK reply),
 * the source's error from an SRC_ERR (a -errno: EIO is its disk's), -EPROTO
 * for a reply that is neither, or RCP_ERR_GONE if the source agent is gone.
 */
static int
call(struct rcp_srcclient *r, uint16_t type, struct rcp_buf *b,
    struct rcp_quic_msg **out)
{
	uint32_t id = atomic_fetch_add(&r->next_id, 1), code;
	struct waiter w, **pp;
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;

	if (r->nstreams == 0)
		return RCP_ERR_GONE;
	if (r->answer != NULL) {
		m = r->answer(r->answer_arg, type, b->data, b->len);
		goto got;
	}
	/* Waiting before sending: the reply may be quicker than us. */
	memset(&w, 0, sizeof(w));
	w.id = id;
	pthread_cond_init(&w.cond, NULL);
	pthread_mutex_lock(&r->lock);
	w.next = r->waiters;
	r->waiters = &w;
	pthread_mutex_unlock(&r->lock);
	if (rcp_quic_send(r->conn, r->streams[id % (uint32_t)r->nstreams],
	    type, id, b->data, b->len, -1) != 0) {
		pthread_mutex_lock(&r->lock);
		r->dead = true;
	} else {
		pthread_mutex_lock(&r->lock);
		while (w.reply == NULL && !r->dead)
			pthread_cond_wait(&w.cond, &r->lock);
	}
	for (pp = &r->waiters; *pp != &w; pp = &(*pp)->next)
		;
	*pp = w.next;
	pthread_mutex_unlock(&r->lock);
	pthread_cond_destroy(&w.cond);
	m = w.reply;
got:
	if (m == NULL)
		return RCP_ERR_GONE;
	m->next = NULL;
	if (m->f.type == RCP_MSG_SRC_ERR) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &code) != 0 || code == 0)
			code = EPROTO;
		rcp_quic_msg_free(m);
		return rcp_srcclient_err((int32_t)code);
	}
	/* ERROR is what an agent says of a request it does not know. */
	if (m->f.type == RCP_MSG_ERROR) {
		rcp_quic_msg_free(m);
		return RCP_ERR_VERSION;
	}
	if (m->f.type != RCP_MSG_SRC_OK) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	*out = m;
	return 0;
}

int
rcp_srcclient_call(struct rcp_srcclient *r, uint16_t type, const void *body,
    size_t len, struct rcp_quic_msg **out)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int e;

	rcp_buf_add(&b, body, len);
	e = call(r, type, &b, out);
	rcp_buf_release(&b);
	return e;
}

void
rcp_srcclient_set_peer(struct rcp_srcclient *r, const char *host,
    const char *version, const struct rcp_log *log)
{
	free(r->peer_host);
	free(r->peer_version);
	r->peer_host = host != NULL && host[0] != '\0' ? rcp_xstrdup(host) :
	    NULL;
	r->peer_version = version != NULL && version[0] != '\0' ?
	    rcp_xstrdup(version) : NULL;
	if (log != NULL)
		r->log = *log;
}

/*
 * A source agent of a build before SRC_HASH answers it with ERROR: said
 * once, naming the agent, since every file that needs a hash will fail.
 */
static void
no_hash(struct rcp_srcclient *r)
{
	if (r->log.fn == NULL || atomic_exchange(&r->told_hash, true))
		return;
	rcp_log(&r->log, RCP_LOG_ERROR, "the source agent on '%s' (rcpd %s) "
	    "does not know SRC_HASH, which --verify, --resume and "
	    "--overwrite-compare content need: it is older than this rcpd "
	    "(%s); install rcpd %s there or use --auto-deploy-rcpd",
	    r->peer_host != NULL ? r->peer_host : "the source host",
	    r->peer_version != NULL ? r->peer_version : "of unknown version",
	    PACKAGE_VERSION, PACKAGE_VERSION);
}

/* Client handles: indexes into r->h, whose entries never move. */
static int
rh_add(struct rcp_srcclient *r, uint32_t server)
{
	size_t i;

	pthread_mutex_lock(&r->hlock);
	for (i = 0; i < r->nh && r->h[i] != NULL; i++)
		;
	if (i == r->nh) {
		r->h = rcp_xrealloc(r->h, (r->nh + 64) * sizeof(*r->h));
		memset(r->h + r->nh, 0, 64 * sizeof(*r->h));
		r->nh += 64;
	}
	r->h[i] = rcp_xcalloc(1, sizeof(**r->h));
	r->h[i]->server = server;
	pthread_mutex_unlock(&r->hlock);
	return (int)i;
}

/* Handle h; stable until the engine closes it. */
static struct rhandle *
rh_get(struct rcp_srcclient *r, int h)
{
	struct rhandle *p = NULL;

	pthread_mutex_lock(&r->hlock);
	if (h >= 0 && (size_t)h < r->nh)
		p = r->h[h];
	pthread_mutex_unlock(&r->hlock);
	return p;
}

static uint32_t
rh_server(struct rcp_srcclient *r, int h)
{
	struct rhandle *p = rh_get(r, h);

	return p != NULL ? p->server : UINT32_MAX;
}

static int
rem_root(void *ctx, const char *path, bool follow, int *dir, char **base,
    struct stat *st, char **cause)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	uint32_t h;
	char *shown;
	int e;

	rcp_wire_put_str(&b, path);
	rcp_wire_put_u8(&b, follow);
	e = call(r, RCP_MSG_SRC_ROOT, &b, &m);
	rcp_buf_release(&b);
	if (e == 0) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &h) != 0 ||
		    rcp_wire_get_str(&cur, base, RCP_PROTO_MAX_NAME) != 0 ||
		    rcp_srcwire_get_stat(&cur, st) != 0)
			e = -EPROTO;
		rcp_quic_msg_free(m);
	}
	if (e != 0) {
		shown = rcp_escape(path);
		*cause = rcp_xasprintf("cannot access source '%s': %s", shown,
		    e == RCP_ERR_GONE ? "the source agent is gone" :
		    rcp_strerror(e));
		free(shown);
		return e;
	}
	*dir = rh_add(r, h);
	/*
	 * The root's parent is not copied: no XMETA_DIR batch of its other
	 * entries, which would read all of theirs (a home's siblings, say)
	 * and have the source agent name xattrs of files left alone.
	 */
	pthread_mutex_lock(&r->hlock);
	r->h[*dir]->xm_state = XM_OFF;
	pthread_mutex_unlock(&r->hlock);
	return 0;
}

static void
put_at(struct rcp_srcclient *r, struct rcp_buf *b, int dir, const char *name,
    bool follow)
{
	rcp_wire_put_u32(b, rh_server(r, dir));
	rcp_wire_put_str(b, name);
	rcp_wire_put_u8(b, follow);
}

static int
rem_opendir(void *ctx, int dir, const char *name, bool follow, int *out)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct rhandle *parent = rh_get(r, dir), *nh;
	uint32_t h;
	int e;

	put_at(r, &b, dir, name, follow);
	/*
	 * Below a new directory this one is new too: its first LIST (all,
	 * with the subdirectories' stats) may come with the handle.
	 */
	if (parent != NULL && atomic_load(&parent->listed_all))
		rcp_wire_put_u8(&b, RCP_SRCWIRE_OPENDIR_LIST |
		    RCP_SRC_LIST_ALL | RCP_SRCWIRE_LIST_DIRSTAT);
	e = call(r, RCP_MSG_SRC_OPENDIR, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_u32(&cur, &h) != 0) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	*out = rh_add(r, h);
	if (cur.left > 0 && (nh = rh_get(r, *out)) != NULL) {
		nh->first = m;
		nh->first_at = m->f.len - cur.left;
		m = NULL;
	}
	rcp_quic_msg_free(m);
	return 0;
}

/* Files up to this size, with their stats, come in a listing. */
static int
get_inline(struct rcp_wire_cursor *cur, struct inline_ent *e)
{
	const uint8_t *p;

	if (rcp_srcwire_get_stat(cur, &e->st) != 0 ||
	    rcp_srcwire_get_stat(cur, &e->after) != 0 ||
	    rcp_wire_get_bytes(cur, &p, &e->len,
	    RCP_SRCWIRE_INLINE_MAX + 1) != 0 ||
	    !S_ISREG(e->st.st_mode))
		return RCP_ERR_PROTO;
	e->data = rcp_xmalloc(e->len ? e->len : 1);
	memcpy(e->data, p, e->len);
	return 0;
}

static void
cache_put(struct rcp_srcclient *r, int dir, struct inline_ent *e)
{
	struct rhandle *h = rh_get(r, dir);
	uint32_t b = name_hash(e->name);

	pthread_mutex_lock(&r->hlock);
	if (h->cache == NULL)
		h->cache = rcp_xcalloc(INLINE_BUCKETS, sizeof(*h->cache));
	e->next = h->cache[b];
	h->cache[b] = e;
	pthread_mutex_unlock(&r->hlock);
}

/*
 * Takes name's entry out of dir's cache, or returns NULL: a file's inline
 * copy, or if dirstat a directory's stat.
 */
static struct inline_ent *
cache_take_kind(struct rcp_srcclient *r, int dir, const char *name,
    bool dirstat)
{
	struct rhandle *h = rh_get(r, dir);
	struct inline_ent *e = NULL, **pp;

	pthread_mutex_lock(&r->hlock);
	if (h != NULL && h->cache != NULL) {
		for (pp = &h->cache[name_hash(name)]; (e = *pp) != NULL;
		    pp = &e->next) {
			if (strcmp(e->name, name) == 0 &&
			    (e->data == NULL) == dirstat) {
				*pp = e->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&r->hlock);
	return e;
}

static struct inline_ent *
cache_take(struct rcp_srcclient *r, int dir, const char *name)
{
	return cache_take_kind(r, dir, name, false);
}

bool
rcp_srcclient_has_inline(void *ctx, int dir, const char *name)
{
	struct rcp_srcclient *r = ctx;
	struct rhandle *h = rh_get(r, dir);
	struct inline_ent *e = NULL;

	pthread_mutex_lock(&r->hlock);
	if (h != NULL && h->cache != NULL)
		for (e = h->cache[name_hash(name)]; e != NULL; e = e->next)
			if (e->data != NULL && strcmp(e->name, name) == 0)
				break;
	pthread_mutex_unlock(&r->hlock);
	return e != NULL;
}

/* A subdirectory's stat, as its listing gave it. */
static int
get_dirstat(struct rcp_wire_cursor *cur, struct inline_ent *e)
{
	if (rcp_srcwire_get_stat(cur, &e->st) != 0 || !S_ISDIR(e->st.st_mode))
		return RCP_ERR_PROTO;
	return 0;
}

static int
rem_list(void *ctx, int dir, int flags, rcp_src_entry_fn *fn, void *arg)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct rhandle *h = rh_get(r, dir);
	uint8_t more = 1, dtype, has;
	uint32_t n, i;
	size_t at;
	char *name;
	int e = 0, stop = 0;

	if (h != NULL && (flags & RCP_SRC_LIST_ALL))
		atomic_store(&h->listed_all, true);
	while (more && !stop && e == 0) {
		at = 0;
		if (h != NULL && h->first != NULL) {
			/* The first reply came with the OPENDIR. */
			m = h->first;
			at = h->first_at;
			h->first = NULL;
		} else {
			rcp_buf_reset(&b);
			rcp_wire_put_u32(&b, rh_server(r, dir));
			rcp_wire_put_u8(&b, (uint8_t)((flags &
			    RCP_SRC_LIST_ALL) | RCP_SRCWIRE_LIST_DIRSTAT));
			if ((e = call(r, RCP_MSG_SRC_LIST, &b, &m)) != 0)
				break;
		}
		rcp_wire_cursor_init(&cur, m->f.body + at, m->f.len - at);
		if (rcp_wire_get_u8(&cur, &more) || rcp_wire_get_u32(&cur, &n))
			e = -EPROTO;
		/* Names (and inline files) first, then hand them out. */
		for (i = 0; e == 0 && i < n && !stop; i++) {
			name = NULL;
			if (rcp_wire_get_str(&cur, &name, RCP_PROTO_MAX_NAME) ||
			    rcp_wire_get_u8(&cur, &dtype) ||
			    rcp_wire_get_u8(&cur, &has)) {
				free(name);	/* the name came, its type did not */
				e = -EPROTO;
				break;
			}
			/* A peer must not walk us out of the tree. */
			if (strchr(name, '/') != NULL || name[0] == '\0' ||
			    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
				free(name);
				e = -EPROTO;
				break;
			}
			if (has > RCP_SRCWIRE_INLINE_DIRSTAT ||
			    (has == RCP_SRCWIRE_INLINE_DIRSTAT &&
			    dtype != DT_DIR)) {
				free(name);
				e = -EPROTO;
				break;
			}
			if (has != RCP_SRCWIRE_INLINE_NONE) {
				struct inline_ent *ie = rcp_xcalloc(1,
				    sizeof(*ie));
				ie->name = rcp_xstrdup(name);
				if ((has == RCP_SRCWIRE_INLINE_FILE ?
				    get_inline(&cur, ie) :
				    get_dirstat(&cur, ie)) != 0) {
					inline_free(ie);
					free(name);
					e = -EPROTO;
					break;
				}
				cache_put(r, dir, ie);
			}
			stop = fn(arg, name, dtype);
			free(name);
		}
		rcp_quic_msg_free(m);
	}
	rcp_buf_release(&b);
	return e;
}

static int
rem_stat(void *ctx, int dir, const char *name, bool follow, struct stat *st)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct inline_ent *ie;
	int e;

	/* A directory's stat came with its listing (a directory is its own
	 * lstat: follow does not matter). */
	if ((ie = cache_take_kind(r, dir, name, true)) != NULL) {
		*st = ie->st;
		inline_free(ie);
		return 0;
	}
	put_at(r, &b, dir, name, follow);
	e = call(r, RCP_MSG_SRC_STAT, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	e = rcp_srcwire_get_stat(&cur, st) != 0 ? -EPROTO : 0;
	rcp_quic_msg_free(m);
	return e;
}

static int
open_file(void *ctx, int dir, const char *name, bool follow, bool nodata,
    int *fh, struct stat *st)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct rhandle *rh;
	struct stat after;
	const uint8_t *data = NULL;
	struct inline_ent *ie;
	size_t n = 0;
	uint32_t h;
	int e, id;

	/* Sent with the listing: no round trip. */
	if (!follow && !nodata && (ie = cache_take(r, dir, name)) != NULL) {
		id = rh_add(r, UINT32_MAX);
		rh = rh_get(r, id);
		rh->data = ie->data;
		rh->len = ie->len;
		rh->after = ie->after;
		*st = ie->st;
		ie->data = NULL;
		inline_free(ie);
		*fh = id;
		return 0;
	}
	put_at(r, &b, dir, name, follow);
	if (nodata)
		rcp_wire_put_u8(&b, RCP_SRC_OPEN_NODATA);
	e = call(r, RCP_MSG_SRC_OPEN, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_u32(&cur, &h) != 0 ||
	    rcp_srcwire_get_stat(&cur, st) != 0 ||
	    (h == UINT32_MAX && (rcp_srcwire_get_stat(&cur, &after) != 0 ||
	    rcp_wire_get_bytes(&cur, &data, &n,
	    RCP_SRCWIRE_PREFETCH_MAX + 1) != 0))) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	id = rh_add(r, h);
	if (h == UINT32_MAX) {
		rh = rh_get(r, id);
		rh->data = rcp_xmalloc(n ? n : 1);
		memcpy(rh->data, data, n);
		rh->len = n;
		rh->after = after;
	}
	rcp_quic_msg_free(m);
	*fh = id;
	return 0;
}

static int
write_at(int dfd, const uint8_t *p, size_t n, off_t off, struct rcp_io *io,
    const char **what)
{
	ssize_t w;
	int e;

	/*
	 * Chunks of one file arrive in parallel, but a file takes one writer
	 * at a time (its inode lock), and the kernel spins for it: ~17% of
	 * a 2-core machine.  Waiting on our own mutex sleeps instead.
	 */
	if (io->wlock != NULL)
		pthread_mutex_lock(io->wlock);
	while (n > 0) {
		/* As late as can be: a helper's lease may end while it waits. */
		e = io->fence != NULL ? io->fence(io->fence_arg) : 0;
		if (e == 0 && io->cancel != NULL && atomic_load(io->cancel))
			e = -ECANCELED;
		if (e != 0) {
			if (io->wlock != NULL)
				pthread_mutex_unlock(io->wlock);
			*what = "write";
			return e;
		}
		if ((w = pwrite(dfd, p, n, off)) < 0) {
			if (errno == EINTR)
				continue;
			if (io->wlock != NULL)
				pthread_mutex_unlock(io->wlock);
			*what = "write";
			return -errno;
		}
		p += w;
		n -= (size_t)w;
		off += w;
		if (io->bytes != NULL)
			atomic_fetch_add(io->bytes, (uint64_t)w);
	}
	if (io->wlock != NULL)
		pthread_mutex_unlock(io->wlock);
	return 0;
}

/*
 * --verify of a piece as it lands: hs is the source's hash of the n bytes
 * it sent for off; this side re-reads what it wrote.  0 if they agree,
 * RCP_ERR_DIFFERENT if not, or -errno with *what.
 */
static int
check_piece(int dfd, off_t off, size_t n, const uint8_t *hs,
    struct rcp_io *io, const char **what)
{
	uint8_t hd[RCP_HASH_LEN];
	int64_t k;

	if ((k = rcp_fs_hash(dfd, off, (off_t)n, io, hd)) < 0) {
		*what = "read back";
		return (int)k;
	}
	return (size_t)k == n && memcmp(hs, hd, RCP_HASH_LEN) == 0 ? 0 :
	    RCP_ERR_DIFFERENT;
}

/*
 * The copy op, and with check (never sparse) copy_checked's: each READ
 * asks for the hash of what the source read, and each piece written is
 * checked against it; *checked turns false (and checking stops) if the
 * source sends none.
 */
static int64_t
copy_range(struct rcp_srcclient *r, int fh, int dfd, off_t off, off_t len,
    bool sparse, struct rcp_io *io, const char **what, bool check,
    bool *checked)
{
	struct rhandle *rh = rh_get(r, fh);
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *data, *hs;
	uint8_t h[RCP_HASH_LEN];
	uint64_t soff = 0, want, next = 0;
	uint32_t nseg, i;
	int64_t done = 0, copied = 0;
	size_t n, k, got = 0;
	int e = 0;
	bool eof = false;

	*checked = check;
	if (rh == NULL)
		return -EBADF;
	if (rh->server == UINT32_MAX) {
		/* It came whole with the open: check against what came. */
		if ((size_t)off >= rh->len)
			return 0;
		n = rh->len - (size_t)off < (size_t)len ? rh->len - (size_t)off :
		    (size_t)len;
		e = write_at(dfd, rh->data + off, n, off, io, what);
		if (e == 0 && check) {
			rcp_fs_hash_mem(rh->data + off, n, h);
			e = check_piece(dfd, off, n, h, io, what);
		}
		return e != 0 ? e : (int64_t)n;
	}
	/* A failed write ends it too: asking again would fail again. */
	while (e == 0 && done < len && !eof) {
		if (io->cancel != NULL && atomic_load(io->cancel))
			return -ECANCELED;
		want = (uint64_t)(len - done) < RCP_SRCWIRE_READ_MAX ?
		    (uint64_t)(len - done) : RCP_SRCWIRE_READ_MAX;
		rcp_buf_reset(&b);
		rcp_wire_put_u32(&b, rh->server);
		rcp_wire_put_u64(&b, (uint64_t)(off + done));
		rcp_wire_put_u64(&b, want);
		rcp_wire_put_u8(&b, sparse);
		if (*checked)
			rcp_wire_put_u8(&b, RCP_SRC_READ_HASH);
		if ((e = call(r, RCP_MSG_SRC_READ, &b, &m)) != 0) {
			*what = "read";
			break;
		}
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &nseg) != 0 || (*checked &&
		    nseg > 1))
			e = -EPROTO;
		for (i = 0, got = 0; e == 0 && i < nseg; i++) {
			if (rcp_wire_get_u64(&cur, &soff) ||
			    rcp_wire_get_bytes(&cur, &data, &n,
			    RCP_SRCWIRE_READ_MAX) ||
			    soff < (uint64_t)(off + done) ||
			    soff + n > (uint64_t)(off + len)) {
				e = -EPROTO;
				break;
			}
			e = write_at(dfd, data, n, (off_t)soff, io, what);
			copied += (int64_t)n;
			got = n;
		}
		if (e == 0 && rcp_wire_get_u64(&cur, &next) != 0)
			e = -EPROTO;
		/* An older source hashes nothing: the caller checks after. */
		if (e == 0 && *checked && (rcp_wire_get_bytes(&cur, &hs, &k,
		    RCP_HASH_LEN) != 0 || k != RCP_HASH_LEN))
			*checked = false;
		else if (e == 0 && *checked && got > 0)
			e = check_piece(dfd, (off_t)soff, got, hs, io, what);
		rcp_quic_msg_free(m);
		m = NULL;
		/* Where the source says data resumes (or nowhere: done). */
		if (e == 0 && (next == UINT64_MAX ||
		    next >= (uint64_t)(off + len)))
			eof = true;
		else if (e == 0 && next > (uint64_t)(off + done))
			done = (int64_t)(next - (uint64_t)off);
		else if (e == 0)
			e = -EPROTO;	/* it must move forward */
	}
	rcp_buf_release(&b);
	if (e != 0) {
		if (e == -EPROTO || e == RCP_ERR_PROTO || e == RCP_ERR_GONE)
			*what = "read from the source agent";
		return e;
	}
	/* The data bytes that came: fewer than asked if the file shrank. */
	return copied;
}

static int64_t
rem_copy(void *ctx, int fh, int dfd, off_t off, off_t len, bool sparse,
    struct rcp_io *io, const char **what)
{
	bool checked;

	return copy_range(ctx, fh, dfd, off, len, sparse, io, what, false,
	    &checked);
}

static int64_t
rem_copy_checked(void *ctx, int fh, int dfd, off_t off, off_t len,
    struct rcp_io *io, const char **what, bool *checked)
{
	return copy_range(ctx, fh, dfd, off, len, false, io, what, true,
	    checked);
}

static int
rem_changed(void *ctx, int fh, const struct stat *before)
{
	struct rcp_srcclient *r = ctx;
	struct rhandle *rh = rh_get(r, fh);
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct stat now;
	int e;

	if (rh == NULL)
		return 1;
	if (rh->server == UINT32_MAX) {
		now = rh->after;
		if (rh->len != (size_t)before->st_size)
			return 1;
	} else {
		rcp_wire_put_u32(&b, rh->server);
		e = call(r, RCP_MSG_SRC_FSTAT, &b, &m);
		rcp_buf_release(&b);
		if (e != 0)
			return 1;
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		e = rcp_srcwire_get_stat(&cur, &now);
		rcp_quic_msg_free(m);
		if (e != 0)
			return 1;
	}
	return rcp_attrs_diff(RCP_ATTR_SIZE | RCP_ATTR_MTIME, &now,
	    before) != 0;
}

static ssize_t
rem_readlink(void *ctx, int dir, const char *name, char *buf, size_t len)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *p;
	size_t n;
	int e;

	put_at(r, &b, dir, name, false);
	e = call(r, RCP_MSG_SRC_READLINK, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_bytes(&cur, &p, &n, 4096) != 0 ||
	    memchr(p, '\0', n) != NULL) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	rcp_quic_msg_free(m);
	return (ssize_t)n;
}

/* Copies what of src into dst (initialized here). */
static void
xmeta_copy(struct rcp_xmeta *dst, const struct rcp_xmeta *src, unsigned what)
{
	size_t i;

	rcp_xmeta_init(dst);
	if (src->acl_access != NULL && (what & RCP_XMETA_ACL))
		dst->acl_access = rcp_xstrdup(src->acl_access);
	if (src->acl_default != NULL && (what & RCP_XMETA_ACL))
		dst->acl_default = rcp_xstrdup(src->acl_default);
	for (i = 0; (what & RCP_XMETA_XATTR) && i < src->n; i++)
		(void)rcp_xmeta_add(dst, src->v[i].name, src->v[i].value,
		    src->v[i].len);
}

static int
xm_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct xm_ent *)a)->name,
	    ((const struct xm_ent *)b)->name);
}

/* Reads an XMETA_DIR reply into d; false if malformed or incomplete. */
static bool
xmeta_dir_parse(struct rhandle *d, struct rcp_wire_cursor *cur)
{
	uint8_t complete;
	uint32_t n, i;

	if (rcp_wire_get_u8(cur, &complete) != 0 || !complete ||
	    rcp_wire_get_u32(cur, &n) != 0 || n > cur->left / 16)
		return false;
	d->xm = rcp_xcalloc(n > 0 ? n : 1, sizeof(*d->xm));
	for (i = 0; i < n; i++) {
		if (rcp_wire_get_str(cur, &d->xm[i].name,
		    RCP_PROTO_MAX_NAME) != 0)
			return false;
		d->xm_n++;	/* freed from here on, whatever follows */
		if (rcp_srcwire_get_xmeta(cur, &d->xm[i].xm) != 0)
			return false;
	}
	qsort(d->xm, d->xm_n, sizeof(*d->xm), xm_ent_cmp);
	return true;
}

/*
 * Answers from dir's batch if it has one for what, fetching it on the first
 * ask.  Returns 0 (*xm set), or 1 if the batch cannot answer: ask alone.
 */
static int
xmeta_from_dir(struct rcp_srcclient *r, int dir, const char *name,
    unsigned what, struct rcp_xmeta *xm)
{
	struct rhandle *d = rh_get(r, dir);
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	struct xm_ent key, *found;
	int state, e;
	bool ok;

	if (d == NULL || d->server == UINT32_MAX)
		return 1;
	pthread_mutex_lock(&r->hlock);
	state = d->xm_state;
	if (state == XM_NONE)
		d->xm_state = XM_LOADING;
	if (state == XM_HAVE) {
		key.name = (char *)(uintptr_t)name;
		found = d->xm_n == 0 ? NULL : bsearch(&key, d->xm, d->xm_n,
		    sizeof(*d->xm), xm_ent_cmp);
		if (found != NULL)
			xmeta_copy(xm, &found->xm, what);
		pthread_mutex_unlock(&r->hlock);
		return 0;
	}
	pthread_mutex_unlock(&r->hlock);
	if (state != XM_NONE)
		return 1;	/* another worker is fetching, or it failed */
	rcp_wire_put_u32(&b, d->server);
	/* Both kinds, whatever this entry asks: others of dir may ask more. */
	rcp_wire_put_u8(&b, RCP_XMETA_ACL | RCP_XMETA_XATTR);
	e = call(r, RCP_MSG_SRC_XMETA_DIR, &b, &m);
	rcp_buf_release(&b);
	pthread_mutex_lock(&r->hlock);
	ok = false;
	if (e == 0) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		ok = xmeta_dir_parse(d, &cur);
	}
	d->xm_state = ok ? XM_HAVE : XM_OFF;
	pthread_mutex_unlock(&r->hlock);
	rcp_quic_msg_free(m);
	return ok ? xmeta_from_dir(r, dir, name, what, xm) : 1;
}

static int
rem_xmeta(void *ctx, int dir, const char *name, int h, unsigned what,
    struct rcp_xmeta *xm)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	int e;

	rcp_xmeta_init(xm);
	/*
	 * One request per directory, not per entry: a small file's own
	 * round trip would double the time of a remote -p.
	 */
	if (name != NULL && xmeta_from_dir(r, dir, name, what, xm) == 0)
		return 0;
	/* A file sent whole has no server handle: ask by name. */
	rcp_wire_put_u32(&b, h >= 0 ? rh_server(r, h) : UINT32_MAX);
	rcp_wire_put_u32(&b, rh_server(r, dir));
	rcp_wire_put_str(&b, name);
	rcp_wire_put_u8(&b, (uint8_t)what);
	e = call(r, RCP_MSG_SRC_XMETA, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	e = rcp_srcwire_get_xmeta(&cur, xm) != 0 ? -EPROTO : 0;
	rcp_quic_msg_free(m);
	return e;
}

static void
rem_close(void *ctx, int h)
{
	struct rcp_srcclient *r = ctx;
	struct rcp_buf b = RCP_BUF_INIT;
	uint32_t server = UINT32_MAX;

	pthread_mutex_lock(&r->hlock);
	if (h >= 0 && (size_t)h < r->nh && r->h[h] != NULL) {
		server = r->h[h]->server;
		rhandle_free(r->h[h]);
		r->h[h] = NULL;
	}
	pthread_mutex_unlock(&r->hlock);
	if (server == UINT32_MAX)
		return;
	/* One-way: nobody waits for a close. */
	rcp_wire_put_u32(&b, server);
	if (r->answer != NULL)
		rcp_quic_msg_free(r->answer(r->answer_arg, RCP_MSG_SRC_CLOSE,
		    b.data, b.len));
	else if (r->nstreams > 0)
		rcp_quic_send(r->conn, r->streams[0], RCP_MSG_SRC_CLOSE, 0,
		    b.data, b.len, -1);
	rcp_buf_release(&b);
}

static int
rem_open(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	return open_file(ctx, dir, name, follow, false, fh, st);
}

/* A handle to hash through: the data stays on the source. */
static int
rem_open_hash(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	return open_file(ctx, dir, name, follow, true, fh, st);
}

/* The hash of a range, computed by the source: 16 bytes cross, not data. */
static int64_t
rem_hash(void *ctx, int fh, off_t off, off_t len, struct rcp_io *io,
    uint8_t *out)
{
	struct rcp_srcclient *r = ctx;
	struct rhandle *rh = rh_get(r, fh);
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *p;
	uint64_t n;
	size_t k;
	int e;

	if (rh == NULL)
		return -EBADF;
	if (off < 0 || len < 0 || (uint64_t)len > RCP_SRC_HASH_MAX)
		return -EINVAL;
	if (rh->server == UINT32_MAX) {
		/* It came whole with the open: hash what came. */
		k = (size_t)off >= rh->len ? 0 : rh->len - (size_t)off;
		if (k > (uint64_t)len)
			k = (size_t)len;
		rcp_fs_hash_mem(k > 0 ? rh->data + off : NULL, k, out);
		return (int64_t)k;
	}
	rcp_wire_put_u32(&b, rh->server);
	rcp_wire_put_u64(&b, (uint64_t)off);
	rcp_wire_put_u64(&b, (uint64_t)len);
	e = call(r, RCP_MSG_SRC_HASH, &b, &m);
	rcp_buf_release(&b);
	if (e == RCP_ERR_VERSION)
		no_hash(r);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	if (rcp_wire_get_u64(&cur, &n) != 0 || n > (uint64_t)len ||
	    rcp_wire_get_bytes(&cur, &p, &k, RCP_HASH_LEN) != 0 ||
	    k != RCP_HASH_LEN) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	memcpy(out, p, RCP_HASH_LEN);
	rcp_quic_msg_free(m);
	return (int64_t)n;
}

const struct rcp_src_ops rcp_srcclient_ops = {
	rem_root,
	rem_opendir,
	rem_list,
	rem_stat,
	rem_open,
	rem_copy,
	rem_changed,
	rem_readlink,
	rem_close,
	rem_xmeta,
	rem_hash,
	rem_open_hash,
	false,
	rem_copy_checked
};
