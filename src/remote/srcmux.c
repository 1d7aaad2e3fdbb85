/*
 * srcmux.c: several source agents of one shared file system as one source
 * (see srcmux.h).  The engine's handles are ours: each maps to a handle on
 * every member where the entry is open.  A directory stays with the member
 * that opened it for its listing and its files' opens (a remote source
 * sends small files with the listing, to the member that listed); a new
 * directory and the chunks of a big file go to the least busy member, which
 * opens them by path first if it must.  Paths are only ever those the
 * engine walked, joined from the root the user gave, so a member reaches the
 * same entry the others did.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/srcfs.h"
#include "net/proto.h"
#include "remote/srcmux.h"

#include "base/banned.h"

/*
 * A member this many calls less busy than the ones where an entry is open
 * takes it over: for a directory, enough that a balanced run does not open
 * it twice; for a file or a chunk, which cost more than the open, less.
 */
#define STEAL_SLACK_DIR 4
#define STEAL_SLACK_FILE 1
/* Files at least this big may have their chunks read by several members. */
#define STEAL_FILE_MIN ((off_t)8 << 20)
/* Whether the chunks of file h may go to several members. */
#define BIG(h) ((h)->st.st_size >= STEAL_FILE_MIN)
/* Names of a listing kept to go on without repeats after a member's loss. */
#define SEEN_BUCKETS 1024

struct member {
	const struct rcp_src_ops *ops;
	void			*ctx;
	bool			(*cached)(void *ctx, int dir, const char *name);
	char			*host;
	atomic_int		 busy;		/* calls in flight */
	atomic_bool		 lost;
	atomic_uint_least64_t	 calls;
	atomic_uint_least64_t	 bytes;
};

/*
 * A directory's subdirectories as the engine stat'ed them: their inodes,
 * so that one opened by path on another member is known to be the same.
 */
#define KID_BUCKETS 1024

struct kid {
	struct kid	*next;
	char		*name;
	ino_t		 ino;
};

/* One handle of the engine's. */
struct mh {
	int		 h[RCP_SRCMUX_MAX];	/* -1: not open there;
						 * x->lock */
	int		 home;			/* where it was opened first */
	bool		 dir;
	bool		 follow;		/* files: as the engine
						 * opened them */
	bool		 hash_only;		/* files: by open_hash */
	char		*path;			/* NULL: cannot open it
						 * elsewhere */
	struct stat	 st;			/* files: as first opened */
	ino_t		 ino;			/* dirs: as stat'ed (0: not
						 * known: not opened by path) */
	struct kid	**kids;			/* dirs; x->lock */
};

struct rcp_srcmux {
	struct member	 m[RCP_SRCMUX_MAX];
	size_t		 n;
	struct rcp_log	 log;
	pthread_mutex_t	 lock;
	struct mh	**h;			/* stable pointers; lock */
	size_t		 nh;
	rcp_srcmux_offload_fn *offload;		/* set before the copy */
	void		*offload_arg;
	atomic_int	 local;			/* copies running here */
};

/* Ranges smaller than this are copied here: the hop would cost more. */
#define OFFLOAD_MIN ((off_t)256 << 10)

struct rcp_srcmux *
rcp_srcmux_new(const struct rcp_srcmux_member *m, size_t n,
    const struct rcp_log *log)
{
	struct rcp_srcmux *x = rcp_xcalloc(1, sizeof(*x));
	size_t i;

	if (n > RCP_SRCMUX_MAX)
		n = RCP_SRCMUX_MAX;
	for (i = 0; i < n; i++) {
		x->m[i].ops = m[i].ops;
		x->m[i].ctx = m[i].ctx;
		x->m[i].cached = m[i].cached;
		x->m[i].host = rcp_xstrdup(m[i].host != NULL ? m[i].host :
		    "?");
		atomic_init(&x->m[i].busy, 0);
		atomic_init(&x->m[i].lost, false);
		atomic_init(&x->m[i].calls, 0);
		atomic_init(&x->m[i].bytes, 0);
	}
	x->n = n;
	atomic_init(&x->local, 0);
	if (log != NULL)
		x->log = *log;
	pthread_mutex_init(&x->lock, NULL);
	return x;
}

static void
mh_free(struct mh *h)
{
	struct kid *k, *next;
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; h->kids != NULL && i < KID_BUCKETS; i++) {
		for (k = h->kids[i]; k != NULL; k = next) {
			next = k->next;
			free(k->name);
			free(k);
		}
	}
	free(h->kids);
	free(h->path);
	free(h);
}

static uint32_t
kid_hash(const char *s)
{
	return rcp_hash_str(s) % KID_BUCKETS;
}

/* Notes that directory d's entry name is a directory of inode ino. */
static void
kid_put(struct rcp_srcmux *x, struct mh *d, const char *name, ino_t ino)
{
	struct kid *k;
	uint32_t b = kid_hash(name);

	pthread_mutex_lock(&x->lock);
	if (d->kids == NULL)
		d->kids = rcp_xcalloc(KID_BUCKETS, sizeof(*d->kids));
	for (k = d->kids[b]; k != NULL && strcmp(k->name, name) != 0;
	    k = k->next)
		;
	if (k == NULL) {
		k = rcp_xmalloc(sizeof(*k));
		k->name = rcp_xstrdup(name);
		k->next = d->kids[b];
		d->kids[b] = k;
	}
	k->ino = ino;
	pthread_mutex_unlock(&x->lock);
}

/* The inode kid_put noted for name (forgotten now), or 0. */
static ino_t
kid_take(struct rcp_srcmux *x, struct mh *d, const char *name)
{
	struct kid *k, **pp;
	ino_t ino = 0;

	pthread_mutex_lock(&x->lock);
	for (pp = d->kids != NULL ? &d->kids[kid_hash(name)] : NULL;
	    pp != NULL && (k = *pp) != NULL; pp = &k->next) {
		if (strcmp(k->name, name) == 0) {
			ino = k->ino;
			*pp = k->next;
			free(k->name);
			free(k);
			break;
		}
	}
	pthread_mutex_unlock(&x->lock);
	return ino;
}

void
rcp_srcmux_free(struct rcp_srcmux *x)
{
	size_t i;

	if (x == NULL)
		return;
	for (i = 0; i < x->nh; i++)
		mh_free(x->h[i]);
	free(x->h);
	for (i = 0; i < x->n; i++)
		free(x->m[i].host);
	pthread_mutex_destroy(&x->lock);
	free(x);
}

size_t
rcp_srcmux_size(struct rcp_srcmux *x)
{
	return x->n;
}

size_t
rcp_srcmux_alive(struct rcp_srcmux *x)
{
	size_t i, n = 0;

	for (i = 0; i < x->n; i++)
		n += !atomic_load(&x->m[i].lost);
	return n;
}

const char *
rcp_srcmux_host(struct rcp_srcmux *x, size_t i)
{
	return i < x->n ? x->m[i].host : "?";
}

int
rcp_srcmux_lost(struct rcp_srcmux *x, size_t i)
{
	return i < x->n && atomic_load(&x->m[i].lost);
}

void
rcp_srcmux_served(struct rcp_srcmux *x, size_t i, uint64_t *calls,
    uint64_t *bytes)
{
	*calls = i < x->n ? atomic_load(&x->m[i].calls) : 0;
	*bytes = i < x->n ? atomic_load(&x->m[i].bytes) : 0;
}

void
rcp_srcmux_lose(struct rcp_srcmux *x, size_t i, const char *why)
{
	size_t left;

	if (i >= x->n || atomic_exchange(&x->m[i].lost, true))
		return;
	if (x->log.fn == NULL)
		return;
	left = rcp_srcmux_alive(x);
	if (left == 0)
		rcp_log(&x->log, RCP_LOG_ERROR, "lost the source agent on "
		    "'%s'%s%s, and no other is left", x->m[i].host,
		    why != NULL ? ": " : "", why != NULL ? why : "");
	else
		rcp_log(&x->log, RCP_LOG_WARN, "lost the source agent on "
		    "'%s'%s%s; its work goes to the %zu other%s", x->m[i].host,
		    why != NULL ? ": " : "", why != NULL ? why : "", left,
		    left == 1 ? "" : "s");
}

static struct mh *
mh_new(bool dir, char *path)
{
	struct mh *h = rcp_xcalloc(1, sizeof(*h));
	size_t i;

	for (i = 0; i < RCP_SRCMUX_MAX; i++)
		h->h[i] = -1;
	h->dir = dir;
	h->path = path;
	return h;
}

static int
mh_add(struct rcp_srcmux *x, struct mh *h)
{
	size_t i;

	pthread_mutex_lock(&x->lock);
	for (i = 0; i < x->nh && x->h[i] != NULL; i++)
		;
	if (i == x->nh) {
		x->h = rcp_xrealloc(x->h, (x->nh + 64) * sizeof(*x->h));
		memset(x->h + x->nh, 0, 64 * sizeof(*x->h));
		x->nh += 64;
	}
	x->h[i] = h;
	pthread_mutex_unlock(&x->lock);
	return (int)i;
}

/* Handle i; stable until the engine closes it. */
static struct mh *
mh_get(struct rcp_srcmux *x, int i)
{
	struct mh *h = NULL;

	pthread_mutex_lock(&x->lock);
	if (i >= 0 && (size_t)i < x->nh)
		h = x->h[i];
	pthread_mutex_unlock(&x->lock);
	return h;
}

/* dir/name, or NULL where no member could be given it (too long). */
static char *
join(const char *dir, const char *name)
{
	if (dir == NULL || strlen(dir) + strlen(name) + 3 >
	    RCP_PROTO_MAX_NAME)
		return NULL;
	return rcp_path_join(dir, name);
}

/* The directory part of a root path, as a source agent splits it. */
static char *
parent_of(const char *path)
{
	char *p = rcp_xstrdup(path), *s;
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if ((s = strrchr(p, '/')) == NULL) {
		free(p);
		return rcp_xstrdup(".");
	}
	if (s == p)
		s[1] = '\0';
	else
		*s = '\0';
	return p;
}

static int
busy(struct rcp_srcmux *x, int i)
{
	return atomic_load_explicit(&x->m[i].busy, memory_order_relaxed);
}

static void
enter(struct rcp_srcmux *x, int i)
{
	atomic_fetch_add_explicit(&x->m[i].busy, 1, memory_order_relaxed);
}

static void
leave(struct rcp_srcmux *x, int i, int64_t bytes)
{
	atomic_fetch_sub_explicit(&x->m[i].busy, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&x->m[i].calls, 1, memory_order_relaxed);
	if (bytes > 0)
		atomic_fetch_add_explicit(&x->m[i].bytes, (uint64_t)bytes,
		    memory_order_relaxed);
}

/*
 * Opens h on member i by its path.  A file must be the one first opened
 * (inode, size, mtime): -ESTALE if it is not.  0 or an error.
 */
static int
ensure(struct rcp_srcmux *x, struct mh *h, int i)
{
	struct member *mb = &x->m[i];
	char *p, *base = NULL, *cause = NULL;
	struct stat st;
	int d = -1, fh = -1, e;

	/*
	 * A directory reached by its path must be the one the engine
	 * stat'ed: a component swapped for a symlink since would lead
	 * elsewhere, and the path is followed.
	 */
	if (h->dir && h->ino == 0)
		return -ESTALE;
	enter(x, i);
	if (h->dir) {
		p = rcp_xasprintf("%s/.", h->path);
		e = mb->ops->root(mb->ctx, p, true, &d, &base, &st, &cause);
		free(p);
		fh = d;
		if (e == 0 && (st.st_ino != h->ino || !S_ISDIR(st.st_mode))) {
			mb->ops->close(mb->ctx, d);
			e = -ESTALE;
		}
	} else {
		e = mb->ops->root(mb->ctx, h->path, false, &d, &base, &st,
		    &cause);
		if (e == 0) {
			e = (h->hash_only ? mb->ops->open_hash :
			    mb->ops->open)(mb->ctx, d, base, h->follow, &fh,
			    &st);
			mb->ops->close(mb->ctx, d);
			if (e == 0 && !rcp_src_same_file(&st, &h->st)) {
				mb->ops->close(mb->ctx, fh);
				e = -ESTALE;
			}
		}
	}
	leave(x, i, 0);
	free(base);
	free(cause);
	if (e != 0)
		return e;
	pthread_mutex_lock(&x->lock);
	if (h->h[i] < 0) {
		h->h[i] = fh;
		fh = -1;
	}
	pthread_mutex_unlock(&x->lock);
	if (fh >= 0)
		mb->ops->close(mb->ctx, fh);
	return 0;
}

/*
 * The member to run an operation on h by, with h's handle there in *mhd:
 * home first (where it was opened) if it still has it and not spread, else
 * the least busy member where h is open; with spread, the least busy of all
 * if it is slack calls less busy and h can be opened there by path.
 * Never avoid (-1: any), unless it is the only one.  A member index, or
 * RCP_ERR_GONE when none is left that has or can open h, or the error of
 * opening it where it was not.
 */
static int
pick_slack(struct rcp_srcmux *x, struct mh *h, bool spread, int slack,
    int avoid, int *mhd)
{
	int best, any, i, e = RCP_ERR_GONE, tries;

	for (tries = 0; tries < 3 * (int)x->n + 3; tries++) {
		best = any = -1;
		pthread_mutex_lock(&x->lock);
		for (i = 0; i < (int)x->n; i++) {
			if (atomic_load(&x->m[i].lost) || i == avoid)
				continue;
			if (h->h[i] >= 0 && (best < 0 ||
			    busy(x, i) < busy(x, best)))
				best = i;
			if (any < 0 || busy(x, i) < busy(x, any))
				any = i;
		}
		if (!spread && h->home != avoid && h->h[h->home] >= 0 &&
		    !atomic_load(&x->m[h->home].lost))
			best = h->home;
		if (best >= 0 && (!spread || h->path == NULL || any == best ||
		    busy(x, any) + slack >= busy(x, best))) {
			*mhd = h->h[best];
			pthread_mutex_unlock(&x->lock);
			return best;
		}
		if (best >= 0 && h->path == NULL) {
			*mhd = h->h[best];
			pthread_mutex_unlock(&x->lock);
			return best;
		}
		pthread_mutex_unlock(&x->lock);
		if (any < 0 || h->path == NULL)
			return RCP_ERR_GONE;
		if ((e = ensure(x, h, any)) == 0)
			continue;
		if (e == RCP_ERR_GONE) {
			rcp_srcmux_lose(x, (size_t)any, NULL);
			continue;
		}
		/* Not there by its path: where it is open, if anywhere. */
		if (best >= 0) {
			pthread_mutex_lock(&x->lock);
			*mhd = h->h[best];
			pthread_mutex_unlock(&x->lock);
			return best;
		}
		return e;
	}
	return e;
}

/* pick, with the slack of h's kind. */
static int
pick(struct rcp_srcmux *x, struct mh *h, bool spread, int avoid, int *mhd)
{
	return pick_slack(x, h, spread, h->dir ? STEAL_SLACK_DIR :
	    STEAL_SLACK_FILE, avoid, mhd);
}

/* After a call by member i failed with e: whether to try another. */
static bool
again(struct rcp_srcmux *x, int i, int64_t e)
{
	if (e != RCP_ERR_GONE)
		return false;
	rcp_srcmux_lose(x, (size_t)i, NULL);
	return rcp_srcmux_alive(x) > 0;
}

/* --- the operations -------------------------------------------------- */

/*
 * The root on every member: they must all see the same entry there (the
 * same file system), or the ones that do not take no part.
 */
static int
mx_root(void *ctx, const char *path, bool follow, int *dir, char **base,
    struct stat *st, char **cause)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h = mh_new(true, parent_of(path));
	struct member *mb;
	struct stat sti;
	char *b, *c, *shown;
	int i, d, e, first = -1, err = RCP_ERR_GONE;

	if (strlen(h->path) + 3 > RCP_PROTO_MAX_NAME) {
		free(h->path);
		h->path = NULL;
	}
	*cause = NULL;
	for (i = 0; i < (int)x->n; i++) {
		mb = &x->m[i];
		if (atomic_load(&mb->lost))
			continue;
		b = c = NULL;
		d = -1;
		enter(x, i);
		e = mb->ops->root(mb->ctx, path, follow, &d, &b, &sti, &c);
		leave(x, i, 0);
		if (e == RCP_ERR_GONE) {
			rcp_srcmux_lose(x, (size_t)i, NULL);
			free(b);
			free(c);
			continue;
		}
		if (first < 0 && e != 0) {
			/* The first answer is the file system's. */
			err = e;
			free(*cause);
			*cause = c;
			free(b);
			break;
		}
		if (first < 0) {
			first = i;
			h->home = i;
			h->h[i] = d;
			*base = b;
			*st = sti;
			free(c);
			continue;
		}
		if (e != 0 || !rcp_src_same_file(&sti, st)) {
			shown = rcp_escape(path);
			rcp_log(&x->log, RCP_LOG_WARN, "the source host '%s' "
			    "does not see '%s' as '%s' does (%s): it takes no "
			    "part in this copy", mb->host, shown,
			    x->m[first].host, e != 0 ? rcp_strerror(e) :
			    "another file there");
			free(shown);
			if (e == 0)
				mb->ops->close(mb->ctx, d);
			atomic_store(&mb->lost, true);
			free(b);
			free(c);
			continue;
		}
		h->h[i] = d;
		free(b);
		free(c);
	}
	if (first < 0) {
		if (*cause == NULL) {
			shown = rcp_escape(path);
			*cause = rcp_xasprintf("cannot access source '%s': %s",
			    shown, err == RCP_ERR_GONE ? "no source agent is "
			    "left" : rcp_strerror(err));
			free(shown);
		}
		for (i = 0; i < (int)x->n; i++)
			if (h->h[i] >= 0)
				x->m[i].ops->close(x->m[i].ctx, h->h[i]);
		mh_free(h);
		return err;
	}
	if (S_ISDIR(st->st_mode))
		kid_put(x, h, *base, st->st_ino);
	*dir = mh_add(x, h);
	return 0;
}

static int
mx_opendir(void *ctx, int dir, const char *name, bool follow, int *out)
{
	struct rcp_srcmux *x = ctx;
	struct mh *d = mh_get(x, dir), *h;
	int i, dh, nh, e;

	if (d == NULL)
		return -EBADF;
	do {
		/* A new directory: to whoever is least busy. */
		if ((i = pick(x, d, true, -1, &dh)) < 0)
			return i;
		enter(x, i);
		e = x->m[i].ops->opendir(x->m[i].ctx, dh, name, follow, &nh);
		leave(x, i, 0);
	} while (e != 0 && again(x, i, e));
	if (e != 0)
		return e;
	h = mh_new(true, join(d->path, name));
	h->home = i;
	h->h[i] = nh;
	h->ino = kid_take(x, d, name);
	*out = mh_add(x, h);
	return 0;
}

/* A listing's names so far, so that one taken up again repeats none. */
struct seen {
	rcp_src_entry_fn *fn;
	void		*arg;
	bool		 keep;		/* another member could take over */
	bool		 again;		/* taken over: skip what was seen */
	struct seen_ent	**b;
};

struct seen_ent {
	struct seen_ent	*next;
	char		*name;
};

static uint32_t
seen_hash(const char *s)
{
	return rcp_hash_str(s) % SEEN_BUCKETS;
}

static int
seen_entry(void *arg, const char *name, unsigned char dtype)
{
	struct seen *s = arg;
	struct seen_ent *e;
	uint32_t k;

	if (!s->keep)
		return s->fn(s->arg, name, dtype);
	k = seen_hash(name);
	if (s->again)
		for (e = s->b[k]; e != NULL; e = e->next)
			if (strcmp(e->name, name) == 0)
				return 0;
	e = rcp_xmalloc(sizeof(*e));
	e->name = rcp_xstrdup(name);
	e->next = s->b[k];
	s->b[k] = e;
	return s->fn(s->arg, name, dtype);
}

static int
mx_list(void *ctx, int dir, int flags, rcp_src_entry_fn *fn, void *arg)
{
	struct rcp_srcmux *x = ctx;
	struct mh *d = mh_get(x, dir);
	struct seen s;
	struct seen_ent *e, *next;
	int i, dh, r;
	size_t k;

	if (d == NULL)
		return -EBADF;
	memset(&s, 0, sizeof(s));
	s.fn = fn;
	s.arg = arg;
	s.keep = rcp_srcmux_alive(x) > 1 && d->path != NULL;
	if (s.keep)
		s.b = rcp_xcalloc(SEEN_BUCKETS, sizeof(*s.b));
	for (;;) {
		if ((i = pick(x, d, false, -1, &dh)) < 0) {
			r = i;
			break;
		}
		enter(x, i);
		r = x->m[i].ops->list(x->m[i].ctx, dh, flags, seen_entry, &s);
		leave(x, i, 0);
		if (r == 0 || !s.keep || !again(x, i, r))
			break;
		s.again = true;
	}
	for (k = 0; s.b != NULL && k < SEEN_BUCKETS; k++) {
		for (e = s.b[k]; e != NULL; e = next) {
			next = e->next;
			free(e->name);
			free(e);
		}
	}
	free(s.b);
	return r;
}

static int
mx_stat(void *ctx, int dir, const char *name, bool follow, struct stat *st)
{
	struct rcp_srcmux *x = ctx;
	struct mh *d = mh_get(x, dir);
	int i, dh, e;

	if (d == NULL)
		return -EBADF;
	do {
		if ((i = pick(x, d, false, -1, &dh)) < 0)
			return i;
		enter(x, i);
		e = x->m[i].ops->stat(x->m[i].ctx, dh, name, follow, st);
		leave(x, i, 0);
	} while (e != 0 && again(x, i, e));
	if (e == 0 && S_ISDIR(st->st_mode))
		kid_put(x, d, name, st->st_ino);
	return e;
}

static int
open_any(struct rcp_srcmux *x, int dir, const char *name, bool follow,
    int *fh, struct stat *st, bool hash_only)
{
	struct mh *d = mh_get(x, dir), *h;
	struct member *mb;
	bool spread;
	int i, dh, nh, e;

	if (d == NULL)
		return -EBADF;
	do {
		/*
		 * Where it was listed if it came with the listing; else to
		 * whoever is least busy, the directory opened there first.
		 */
		mb = &x->m[d->home];
		pthread_mutex_lock(&x->lock);
		dh = d->h[d->home];
		pthread_mutex_unlock(&x->lock);
		spread = !(mb->cached != NULL && dh >= 0 &&
		    !atomic_load(&mb->lost) && mb->cached(mb->ctx, dh, name));
		i = pick_slack(x, d, spread, STEAL_SLACK_FILE, -1, &dh);
		if (i < 0)
			return i;
		mb = &x->m[i];
		enter(x, i);
		e = (hash_only ? mb->ops->open_hash : mb->ops->open)(mb->ctx,
		    dh, name, follow, &nh, st);
		leave(x, i, 0);
	} while (e != 0 && again(x, i, e));
	if (e != 0)
		return e;
	h = mh_new(false, join(d->path, name));
	h->home = i;
	h->h[i] = nh;
	h->follow = follow;
	h->hash_only = hash_only;
	h->st = *st;
	*fh = mh_add(x, h);
	return 0;
}

static int
mx_open(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	return open_any(ctx, dir, name, follow, fh, st, false);
}

static int
mx_open_hash(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	return open_any(ctx, dir, name, follow, fh, st, true);
}

void
rcp_srcmux_set_offload(struct rcp_srcmux *x, rcp_srcmux_offload_fn *fn,
    void *arg)
{
	x->offload = fn;
	x->offload_arg = arg;
}

/*
 * Offers the copy of [off, off+len) of h to another host: what it did, or
 * RCP_SRCMUX_DECLINED.  A file opened for hashing only, or reached by no
 * path, stays here.
 */
static int64_t
offload(struct rcp_srcmux *x, struct mh *h, int dfd, off_t off, off_t len,
    bool sparse, bool checked, struct rcp_io *io, const char **what,
    bool *was_checked)
{
	if (x->offload == NULL || h->path == NULL || h->hash_only ||
	    len < OFFLOAD_MIN)
		return RCP_SRCMUX_DECLINED;
	return x->offload(x->offload_arg, atomic_load(&x->local), h->path,
	    h->follow, &h->st, dfd, off, len, sparse, checked, io, what,
	    was_checked);
}

static int64_t
mx_copy(void *ctx, int fh, int dfd, off_t off, off_t len, bool sparse,
    struct rcp_io *io, const char **what)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h = mh_get(x, fh);
	int64_t n;
	int i, sh;

	bool checked;

	if (h == NULL)
		return -EBADF;
	if ((n = offload(x, h, dfd, off, len, sparse, false, io, what,
	    &checked)) != RCP_SRCMUX_DECLINED)
		return n;
	atomic_fetch_add(&x->local, 1);
	do {
		if ((i = pick(x, h, BIG(h), -1, &sh)) < 0)
			break;
		enter(x, i);
		n = x->m[i].ops->copy(x->m[i].ctx, sh, dfd, off, len, sparse,
		    io, what);
		leave(x, i, n);
	} while (n < 0 && again(x, i, n));
	atomic_fetch_sub(&x->local, 1);
	return i < 0 ? i : n;
}

static int64_t
mx_copy_checked(void *ctx, int fh, int dfd, off_t off, off_t len,
    struct rcp_io *io, const char **what, bool *checked)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h = mh_get(x, fh);
	struct member *mb;
	int64_t n;
	int i, sh;

	if (h == NULL)
		return -EBADF;
	if ((n = offload(x, h, dfd, off, len, false, true, io, what,
	    checked)) != RCP_SRCMUX_DECLINED)
		return n;
	atomic_fetch_add(&x->local, 1);
	do {
		if ((i = pick(x, h, BIG(h), -1, &sh)) < 0)
			break;
		mb = &x->m[i];
		enter(x, i);
		*checked = mb->ops->copy_checked != NULL;
		n = *checked ? mb->ops->copy_checked(mb->ctx, sh, dfd, off, len,
		    io, what, checked) : mb->ops->copy(mb->ctx, sh, dfd, off,
		    len, false, io, what);
		leave(x, i, n);
	} while (n < 0 && again(x, i, n));
	atomic_fetch_sub(&x->local, 1);
	return i < 0 ? i : n;
}

/*
 * A member's "changed" is also what it says when its agent is lost: with
 * another member left, that one has the last word.
 */
static int
mx_changed(void *ctx, int fh, const struct stat *before)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h = mh_get(x, fh);
	int i, j, sh, r;

	if (h == NULL)
		return 1;
	if ((i = pick(x, h, false, -1, &sh)) < 0)
		return 1;	/* cannot tell: as changed */
	enter(x, i);
	r = x->m[i].ops->changed(x->m[i].ctx, sh, before);
	leave(x, i, 0);
	/* (i may be lost by now, and then surely not the last word) */
	if (r == 0 || (j = pick(x, h, false, i, &sh)) < 0 || j == i)
		return r;
	enter(x, j);
	r = x->m[j].ops->changed(x->m[j].ctx, sh, before);
	leave(x, j, 0);
	return r;
}

static ssize_t
mx_readlink(void *ctx, int dir, const char *name, char *buf, size_t len)
{
	struct rcp_srcmux *x = ctx;
	struct mh *d = mh_get(x, dir);
	ssize_t n;
	int i, dh;

	if (d == NULL)
		return -EBADF;
	do {
		if ((i = pick(x, d, false, -1, &dh)) < 0)
			return i;
		enter(x, i);
		n = x->m[i].ops->readlink(x->m[i].ctx, dh, name, buf, len);
		leave(x, i, 0);
	} while (n < 0 && again(x, i, n));
	return n;
}

static void
mx_close(void *ctx, int hi)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h;
	size_t i;

	pthread_mutex_lock(&x->lock);
	h = hi >= 0 && (size_t)hi < x->nh ? x->h[hi] : NULL;
	if (h != NULL)
		x->h[hi] = NULL;
	pthread_mutex_unlock(&x->lock);
	if (h == NULL)
		return;
	for (i = 0; i < x->n; i++)
		if (h->h[i] >= 0)
			x->m[i].ops->close(x->m[i].ctx, h->h[i]);
	mh_free(h);
}

static int
mx_xmeta(void *ctx, int dir, const char *name, int hi, unsigned what,
    struct rcp_xmeta *xm)
{
	struct rcp_srcmux *x = ctx;
	struct mh *d = mh_get(x, dir), *h = hi >= 0 ? mh_get(x, hi) : NULL;
	struct mh *by = name != NULL || h == NULL ? d : h;
	int i, dh, sh, e;

	if (by == NULL)
		return -EBADF;
	do {
		if ((i = pick(x, by, false, -1, by == d ? &dh : &sh)) < 0)
			return i;
		pthread_mutex_lock(&x->lock);
		if (by == d)
			sh = h != NULL ? h->h[i] : -1;
		else
			dh = d != NULL ? d->h[i] : -1;
		pthread_mutex_unlock(&x->lock);
		enter(x, i);
		e = x->m[i].ops->xmeta(x->m[i].ctx, dh, name, sh, what, xm);
		leave(x, i, 0);
	} while (e != 0 && again(x, i, e));
	return e;
}

static int64_t
mx_hash(void *ctx, int fh, off_t off, off_t len, struct rcp_io *io,
    uint8_t *out)
{
	struct rcp_srcmux *x = ctx;
	struct mh *h = mh_get(x, fh);
	int64_t n;
	int i, sh;

	if (h == NULL)
		return -EBADF;
	do {
		if ((i = pick(x, h, BIG(h), -1, &sh)) < 0)
			return i;
		enter(x, i);
		n = x->m[i].ops->hash(x->m[i].ctx, sh, off, len, io, out);
		leave(x, i, 0);
	} while (n < 0 && again(x, i, n));
	return n;
}

const struct rcp_src_ops rcp_srcmux_ops = {
	mx_root,
	mx_opendir,
	mx_list,
	mx_stat,
	mx_open,
	mx_copy,
	mx_changed,
	mx_readlink,
	mx_close,
	mx_xmeta,
	mx_hash,
	mx_open_hash,
	false,
	mx_copy_checked
};
