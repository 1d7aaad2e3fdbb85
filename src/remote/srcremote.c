/*
 * srcremote.c: the source agent's file server and the destination's
 * client of it (see srcremote.h).  Replies carry the request's id; errors
 * are SRC_ERR with the errno, so the engine reports them as if local.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/fsops.h"
#include "fs/meta.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/srccache.h"
#include "remote/srcremote.h"
#include "remote/srcwire.h"

#include "base/banned.h"

#define INLINE_BUCKETS 256
/* Open handles a source agent allows the destination. */
#define MAX_HANDLES 16384
/* Streams the client spreads its requests over. */
#define NSTREAMS 8

/* ======================================================================= */
/* The server: the source agent.                                           */
/* ======================================================================= */

struct job {
	struct job		*next;
	struct rcp_quic_conn	*conn;
	struct rcp_quic_msg	*m;
};

struct rcp_srcserve {
	const struct rcp_log	*log;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct job		*head;		/* requires lock */
	struct job		*tail;
	bool			 stop;		/* requires lock */
	pthread_t		*threads;
	int			 nthreads;

	pthread_mutex_t		 hlock;
	int			*fds;		/* handle -> fd, -1 free; hlock */
	struct rcp_srccache_dir	**pf;		/* handle -> read-ahead; hlock */
	size_t			 nfds;
	size_t			 open;
	struct rcp_srccache	*cache;		/* not ours; NULL: none */
};

/* Allocates a handle for fd.  The handle, or -EMFILE. */
static int
h_add(struct rcp_srcserve *s, int fd)
{
	size_t i;
	int h = -EMFILE;

	pthread_mutex_lock(&s->hlock);
	if (s->open < MAX_HANDLES) {
		for (i = 0; i < s->nfds && s->fds[i] >= 0; i++)
			;
		if (i == s->nfds) {
			s->fds = rcp_xrealloc(s->fds, (s->nfds + 64) *
			    sizeof(int));
			memset(s->fds + s->nfds, 0xff, 64 * sizeof(int));
			s->pf = rcp_xrealloc(s->pf, (s->nfds + 64) *
			    sizeof(*s->pf));
			memset(s->pf + s->nfds, 0, 64 * sizeof(*s->pf));
			s->nfds += 64;
		}
		s->fds[i] = fd;
		s->open++;
		h = (int)i;
	}
	pthread_mutex_unlock(&s->hlock);
	return h;
}

/* The fd of handle h, or -1 for a handle we never gave out. */
static int
h_fd(struct rcp_srcserve *s, uint32_t h)
{
	int fd = -1;

	pthread_mutex_lock(&s->hlock);
	if (h < s->nfds)
		fd = s->fds[h];
	pthread_mutex_unlock(&s->hlock);
	return fd;
}

static void
h_close(struct rcp_srcserve *s, uint32_t h)
{
	struct rcp_srccache_dir *d = NULL;
	int fd = -1;

	pthread_mutex_lock(&s->hlock);
	if (h < s->nfds && s->fds[h] >= 0) {
		fd = s->fds[h];
		s->fds[h] = -1;
		d = s->pf[h];
		s->pf[h] = NULL;
		s->open--;
	}
	pthread_mutex_unlock(&s->hlock);
	if (fd >= 0)
		close(fd);
	rcp_srccache_dir_free(d);
}

/* Sends b as the reply, handing its memory to QUIC: no copy. */
static void
reply(struct rcp_quic_conn *c, const struct rcp_quic_msg *m,
    struct rcp_buf *b)
{
	size_t len = b->len;

	rcp_quic_send_owned(c, m->stream, RCP_MSG_SRC_OK, m->f.id,
	    rcp_buf_detach(b), len, 60000);
}

static void
reply_err(struct rcp_quic_conn *c, const struct rcp_quic_msg *m, int err)
{
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_wire_put_u32(&b, (uint32_t)err);
	rcp_quic_send(c, m->stream, RCP_MSG_SRC_ERR, m->f.id, b.data, b.len,
	    60000);
	rcp_buf_release(&b);
}

static int
srv_root(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	char *path = NULL, *p, *slash, *dir, *base;
	struct stat st;
	uint8_t follow;
	size_t n;
	int fd, h, e;

	if (rcp_wire_get_str(cur, &path, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_u8(cur, &follow) != 0) {
		free(path);
		return -EPROTO;
	}
	p = rcp_copy_expand_home(path, getenv("HOME"));
	free(path);
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if ((slash = strrchr(p, '/')) == NULL) {
		dir = rcp_xstrdup(".");
		base = rcp_xstrdup(p);
	} else if (slash == p) {
		dir = rcp_xstrdup("/");
		base = rcp_xstrdup(slash[1] ? slash + 1 : ".");
	} else {
		dir = rcp_xstrndup(p, (size_t)(slash - p));
		base = rcp_xstrdup(slash + 1);
	}
	free(p);
	e = 0;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fstatat(fd, base, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
		e = -errno;
	if (e == 0 && (h = h_add(s, fd)) < 0)
		e = h;
	if (e != 0) {
		if (fd >= 0)
			close(fd);
		free(dir);
		free(base);
		return e;
	}
	rcp_wire_put_u32(out, (uint32_t)h);
	rcp_wire_put_str(out, base);
	rcp_srcwire_put_stat(out, &st);
	free(dir);
	free(base);
	return 0;
}

/* Reads dir name and follow flag common to several requests. */
static int
get_at(struct rcp_srcserve *s, struct rcp_wire_cursor *cur, int *dirfd,
    char **name, uint8_t *follow)
{
	uint32_t h;

	*name = NULL;
	if (rcp_wire_get_u32(cur, &h) != 0 ||
	    rcp_wire_get_str(cur, name, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_u8(cur, follow) != 0)
		return -EPROTO;
	if ((*dirfd = h_fd(s, h)) < 0)
		return -EBADF;
	/* Names are single components: no walking out with "a/../..". */
	if (strchr(*name, '/') != NULL || (*name)[0] == '\0')
		return -EINVAL;
	return 0;
}

static int
srv_opendir(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	char *name;
	uint8_t follow;
	int dfd, fd, h, r;

	if ((r = get_at(s, cur, &dfd, &name, &follow)) != 0) {
		free(name);
		return r;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (follow ? 0 : O_NOFOLLOW));
	free(name);
	if (fd < 0)
		return -errno;
	if ((h = h_add(s, fd)) < 0) {
		close(fd);
		return h;
	}
	rcp_wire_put_u32(out, (uint32_t)h);
	return 0;
}

/*
 * Takes the read-ahead listing handle h is being served from (NULL if
 * none): while a LIST serves it, a CLOSE or another LIST of the same
 * handle (a peer's misuse) cannot free it.
 */
static struct rcp_srccache_dir *
h_take_cached(struct rcp_srcserve *s, uint32_t h)
{
	struct rcp_srccache_dir *d = NULL;

	pthread_mutex_lock(&s->hlock);
	if (h < s->nfds) {
		d = s->pf[h];
		s->pf[h] = NULL;
	}
	pthread_mutex_unlock(&s->hlock);
	return d;
}

/* Gives d back to handle h if h is still fd's; else frees it. */
static void
h_put_cached(struct rcp_srcserve *s, uint32_t h, int fd,
    struct rcp_srccache_dir *d)
{
	pthread_mutex_lock(&s->hlock);
	if (h < s->nfds && s->fds[h] == fd && s->pf[h] == NULL) {
		s->pf[h] = d;
		d = NULL;
	}
	pthread_mutex_unlock(&s->hlock);
	rcp_srccache_dir_free(d);
}

/*
 * LIST: a batch of entries of handle h.  Into a new directory (flag
 * RCP_SRC_LIST_ALL) the read-ahead's replies go first, if it has the
 * directory and it has not changed; the first LIST of all ends the
 * read-ahead, whose time was the destination's start-up.
 */
static int
srv_list(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct rcp_srccache_dir *d;
	struct stat st;
	uint32_t h;
	uint8_t flags = 0;
	bool more;
	int fd;

	if (rcp_wire_get_u32(cur, &h) != 0)
		return -EPROTO;
	(void)rcp_wire_get_u8(cur, &flags);	/* older masters send none */
	if ((fd = h_fd(s, h)) < 0)
		return -EBADF;
	rcp_srccache_stop(s->cache);
	if (!(flags & RCP_SRC_LIST_ALL))
		return rcp_srcwire_list(fd, false, out, &more, NULL, NULL);
	if ((d = h_take_cached(s, h)) == NULL && s->cache != NULL &&
	    lseek(fd, 0, SEEK_CUR) == 0 && fstat(fd, &st) == 0)
		d = rcp_srccache_take(s->cache, &st);
	if (d == NULL)
		return rcp_srcwire_list(fd, true, out, &more, NULL, NULL);
	rcp_srccache_dir_next(d, out, &more);
	if (more)
		h_put_cached(s, h, fd, d);
	else
		rcp_srccache_dir_free(d);
	return 0;
}

static int
srv_stat(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct stat st;
	char *name;
	uint8_t follow;
	int dfd, r;

	if ((r = get_at(s, cur, &dfd, &name, &follow)) != 0) {
		free(name);
		return r;
	}
	r = fstatat(dfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 ?
	    0 : -errno;
	free(name);
	if (r == 0)
		rcp_srcwire_put_stat(out, &st);
	return r;
}

/*
 * OPEN: a handle and the fstat; a small file that is not sparse comes back
 * whole, with a second fstat to tell whether it changed, and no handle.
 */
static int
srv_open(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct stat st, after;
	uint8_t follow, *data;
	char *name;
	ssize_t n;
	int dfd, fd, h, r;

	if ((r = get_at(s, cur, &dfd, &name, &follow)) != 0) {
		free(name);
		return r;
	}
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    (follow ? 0 : O_NOFOLLOW));
	free(name);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (S_ISREG(st.st_mode) &&
	    st.st_size <= (off_t)RCP_SRCWIRE_PREFETCH_MAX &&
	    !rcp_fs_is_sparse(&st)) {
		data = rcp_xmalloc((size_t)st.st_size + 1);
		n = rcp_srcwire_pread_full(fd, data, (size_t)st.st_size + 1, 0);
		r = n < 0 ? (int)n : fstat(fd, &after) != 0 ? -errno : 0;
		close(fd);
		if (r != 0) {
			free(data);
			return r;
		}
		rcp_wire_put_u32(out, UINT32_MAX);	/* no handle: done */
		rcp_srcwire_put_stat(out, &st);
		rcp_srcwire_put_stat(out, &after);
		/* One byte past the size shows a file that grew. */
		rcp_wire_put_bytes(out, data, (size_t)n);
		free(data);
		return 0;
	}
	if ((h = h_add(s, fd)) < 0) {
		close(fd);
		return h;
	}
	rcp_wire_put_u32(out, (uint32_t)h);
	rcp_srcwire_put_stat(out, &st);
	return 0;
}

/*
 * READ: data segments of [off, off+len), holes skipped if sparse, read
 * straight into the reply (which QUIC then takes as it is).
 */
static int
srv_read(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	uint64_t off, len, end, data, hole, next;
	uint32_t h, nseg = 0;
	uint8_t sparse, *p;
	size_t nseg_at, len_at;
	ssize_t n;
	int fd;

	if (rcp_wire_get_u32(cur, &h) || rcp_wire_get_u64(cur, &off) ||
	    rcp_wire_get_u64(cur, &len) || rcp_wire_get_u8(cur, &sparse))
		return -EPROTO;
	if ((fd = h_fd(s, h)) < 0)
		return -EBADF;
	if (len > RCP_SRCWIRE_READ_MAX)
		len = RCP_SRCWIRE_READ_MAX;
	end = off + len;
	next = end;
	nseg_at = out->len;
	rcp_wire_put_u32(out, 0);	/* the count, filled in below */
	while (off < end) {
		data = off;
		hole = end;
		if (sparse) {
			off_t d = lseek(fd, (off_t)off, SEEK_DATA), e;

			/* Tell the reader where data resumes: holes are free. */
			if (d < 0) {
				next = UINT64_MAX;	/* ENXIO: holes to the end */
				break;
			}
			if ((uint64_t)d >= end) {
				next = (uint64_t)d;
				break;
			}
			e = lseek(fd, d, SEEK_HOLE);
			data = (uint64_t)d;
			hole = e < 0 || (uint64_t)e > end ? end : (uint64_t)e;
		}
		rcp_wire_put_u64(out, data);
		len_at = out->len;
		rcp_wire_put_u32(out, 0);	/* the length, likewise */
		p = rcp_buf_reserve(out, (size_t)(hole - data));
		n = rcp_srcwire_pread_full(fd, p, (size_t)(hole - data),
		    (off_t)data);
		if (n < 0)
			return (int)n;
		rcp_buf_commit(out, (size_t)n);
		rcp_srcwire_put32_at(out, len_at, (uint32_t)n);
		nseg++;
		if ((uint64_t)n < hole - data) {
			next = UINT64_MAX;	/* the end of the file */
			break;
		}
		off = hole;
	}
	rcp_srcwire_put32_at(out, nseg_at, nseg);
	rcp_wire_put_u64(out, next);
	return 0;
}

static int
srv_fstat(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct stat st;
	uint32_t h;
	int fd;

	if (rcp_wire_get_u32(cur, &h) != 0)
		return -EPROTO;
	if ((fd = h_fd(s, h)) < 0)
		return -EBADF;
	if (fstat(fd, &st) != 0)
		return -errno;
	rcp_srcwire_put_stat(out, &st);
	return 0;
}

static int
srv_readlink(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	char target[4096], *name;
	uint8_t follow;
	ssize_t n;
	int dfd, r;

	if ((r = get_at(s, cur, &dfd, &name, &follow)) != 0) {
		free(name);
		return r;
	}
	n = readlinkat(dfd, name, target, sizeof(target));
	free(name);
	if (n < 0)
		return -errno;
	rcp_wire_put_bytes(out, target, (size_t)n);
	return 0;
}

static void
serve_one(struct rcp_srcserve *s, struct rcp_quic_conn *c,
    struct rcp_quic_msg *m)
{
	struct rcp_wire_cursor cur;
	struct rcp_buf out = RCP_BUF_INIT;
	uint32_t h;
	int r;

	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	switch (m->f.type) {
	case RCP_MSG_SRC_ROOT:
		r = srv_root(s, &cur, &out);
		break;
	case RCP_MSG_SRC_OPENDIR:
		r = srv_opendir(s, &cur, &out);
		break;
	case RCP_MSG_SRC_LIST:
		r = srv_list(s, &cur, &out);
		break;
	case RCP_MSG_SRC_STAT:
		r = srv_stat(s, &cur, &out);
		break;
	case RCP_MSG_SRC_OPEN:
		r = srv_open(s, &cur, &out);
		break;
	case RCP_MSG_SRC_READ:
		r = srv_read(s, &cur, &out);
		break;
	case RCP_MSG_SRC_FSTAT:
		r = srv_fstat(s, &cur, &out);
		break;
	case RCP_MSG_SRC_READLINK:
		r = srv_readlink(s, &cur, &out);
		break;
	case RCP_MSG_SRC_CLOSE:
		if (rcp_wire_get_u32(&cur, &h) == 0)
			h_close(s, h);
		rcp_buf_release(&out);
		return;		/* one-way */
	default:
		r = -ENOSYS;
		break;
	}
	if (r == 0)
		reply(c, m, &out);
	else
		reply_err(c, m, -r);
	rcp_buf_release(&out);
}

static void *
serve_main(void *arg)
{
	struct rcp_srcserve *s = arg;
	struct job *j;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->head == NULL && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if ((j = s->head) == NULL)
			break;
		s->head = j->next;
		if (s->head == NULL)
			s->tail = NULL;
		pthread_mutex_unlock(&s->lock);
		serve_one(s, j->conn, j->m);
		rcp_quic_msg_free(j->m);
		free(j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct rcp_srcserve *
rcp_srcserve_new(int nthreads, struct rcp_srccache *cache,
    const struct rcp_log *log)
{
	struct rcp_srcserve *s = rcp_xcalloc(1, sizeof(*s));
	int i;

	s->log = log;
	s->cache = cache;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	pthread_mutex_init(&s->hlock, NULL);
	s->threads = rcp_xcalloc((size_t)nthreads, sizeof(pthread_t));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&s->threads[i], NULL, serve_main, s) != 0)
			break;
		s->nthreads++;
	}
	return s;
}

bool
rcp_srcserve_take(struct rcp_srcserve *s, struct rcp_quic_conn *c,
    struct rcp_quic_msg *m)
{
	struct job *j;

	if (m->fin || m->f.type < RCP_MSG_SRC_ROOT ||
	    m->f.type > RCP_MSG_SRC_CLOSE)
		return false;
	j = rcp_xcalloc(1, sizeof(*j));
	j->conn = c;
	j->m = m;
	pthread_mutex_lock(&s->lock);
	if (s->tail != NULL)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return true;
}

void
rcp_srcserve_free(struct rcp_srcserve *s)
{
	struct job *j;
	size_t i;
	int k;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	/* Requests not started yet are dropped. */
	while ((j = s->head) != NULL) {
		s->head = j->next;
		rcp_quic_msg_free(j->m);
		free(j);
	}
	s->tail = NULL;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	for (k = 0; k < s->nthreads; k++)
		pthread_join(s->threads[k], NULL);
	for (i = 0; i < s->nfds; i++) {
		if (s->fds[i] >= 0)
			close(s->fds[i]);
		rcp_srccache_dir_free(s->pf[i]);
	}
	free(s->fds);
	free(s->pf);
	free(s->threads);
	pthread_mutex_destroy(&s->hlock);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ======================================================================= */
/* The client: the destination's engine reading the source.                */
/* ======================================================================= */

/* A small file that came with its directory's listing. */
struct inline_ent {
	struct inline_ent	*next;
	char			*name;
	struct stat		 st;
	struct stat		 after;
	uint8_t			*data;
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
};

static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h % INLINE_BUCKETS;
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
	free(h->data);
	free(h);
}

struct rcp_srcremote {
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
};

static void *
client_reader(void *arg)
{
	struct rcp_srcremote *r = arg;
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

struct rcp_srcremote *
rcp_srcremote_new(struct rcp_quic_conn *c)
{
	struct rcp_srcremote *r = rcp_xcalloc(1, sizeof(*r));
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

void
rcp_srcremote_free(struct rcp_srcremote *r)
{
	size_t i;

	if (r == NULL)
		return;
	/* The reader ends when its connection does: the caller closes it. */
	rcp_quic_close(r->conn, 0);
	if (r->reader_started)
		pthread_join(r->reader, NULL);
	for (i = 0; i < r->nh; i++)
		rhandle_free(r->h[i]);
	free(r->h);
	pthread_mutex_destroy(&r->hlock);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

/*
 * Sends a request and waits for its reply.  0 with *out (an SRC_OK reply),
 * -errno from an SRC_ERR, or -EIO if the source agent is gone.
 */
static int
call(struct rcp_srcremote *r, uint16_t type, struct rcp_buf *b,
    struct rcp_quic_msg **out)
{
	uint32_t id = atomic_fetch_add(&r->next_id, 1), code;
	struct waiter w, **pp;
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;

	if (r->nstreams == 0)
		return -EIO;
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
	if ((m = w.reply) == NULL)
		return -EIO;
	m->next = NULL;
	if (m->f.type == RCP_MSG_SRC_ERR) {
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &code) != 0 || code == 0 ||
		    code > 4095)
			code = EPROTO;
		rcp_quic_msg_free(m);
		return -(int)code;
	}
	if (m->f.type != RCP_MSG_SRC_OK) {
		rcp_quic_msg_free(m);
		return -EPROTO;
	}
	*out = m;
	return 0;
}

/* Client handles: indexes into r->h, whose entries never move. */
static int
rh_add(struct rcp_srcremote *r, uint32_t server)
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
rh_get(struct rcp_srcremote *r, int h)
{
	struct rhandle *p = NULL;

	pthread_mutex_lock(&r->hlock);
	if (h >= 0 && (size_t)h < r->nh)
		p = r->h[h];
	pthread_mutex_unlock(&r->hlock);
	return p;
}

static uint32_t
rh_server(struct rcp_srcremote *r, int h)
{
	struct rhandle *p = rh_get(r, h);

	return p != NULL ? p->server : UINT32_MAX;
}

static int
rem_root(void *ctx, const char *path, bool follow, int *dir, char **base,
    struct stat *st, char **cause)
{
	struct rcp_srcremote *r = ctx;
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
		    e == -EIO ? "the source agent is gone" : strerror(-e));
		free(shown);
		return e;
	}
	*dir = rh_add(r, h);
	return 0;
}

static void
put_at(struct rcp_srcremote *r, struct rcp_buf *b, int dir, const char *name,
    bool follow)
{
	rcp_wire_put_u32(b, rh_server(r, dir));
	rcp_wire_put_str(b, name);
	rcp_wire_put_u8(b, follow);
}

static int
rem_opendir(void *ctx, int dir, const char *name, bool follow, int *out)
{
	struct rcp_srcremote *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	uint32_t h;
	int e;

	put_at(r, &b, dir, name, follow);
	e = call(r, RCP_MSG_SRC_OPENDIR, &b, &m);
	rcp_buf_release(&b);
	if (e != 0)
		return e;
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	e = rcp_wire_get_u32(&cur, &h) != 0 ? -EPROTO : 0;
	rcp_quic_msg_free(m);
	if (e == 0)
		*out = rh_add(r, h);
	return e;
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
cache_put(struct rcp_srcremote *r, int dir, struct inline_ent *e)
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

/* Takes name's inline copy out of dir's cache, or returns NULL. */
static struct inline_ent *
cache_take(struct rcp_srcremote *r, int dir, const char *name)
{
	struct rhandle *h = rh_get(r, dir);
	struct inline_ent *e = NULL, **pp;

	pthread_mutex_lock(&r->hlock);
	if (h != NULL && h->cache != NULL) {
		for (pp = &h->cache[name_hash(name)]; (e = *pp) != NULL;
		    pp = &e->next) {
			if (strcmp(e->name, name) == 0) {
				*pp = e->next;
				break;
			}
		}
	}
	pthread_mutex_unlock(&r->hlock);
	return e;
}

static int
rem_list(void *ctx, int dir, int flags, rcp_src_entry_fn *fn, void *arg)
{
	struct rcp_srcremote *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	uint8_t more = 1, dtype, has;
	uint32_t n, i;
	char *name;
	int e = 0, stop = 0;

	while (more && !stop && e == 0) {
		rcp_buf_reset(&b);
		rcp_wire_put_u32(&b, rh_server(r, dir));
		rcp_wire_put_u8(&b, (uint8_t)flags);
		if ((e = call(r, RCP_MSG_SRC_LIST, &b, &m)) != 0)
			break;
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u8(&cur, &more) || rcp_wire_get_u32(&cur, &n))
			e = -EPROTO;
		/* Names (and inline files) first, then hand them out. */
		for (i = 0; e == 0 && i < n && !stop; i++) {
			if (rcp_wire_get_str(&cur, &name, RCP_PROTO_MAX_NAME) ||
			    rcp_wire_get_u8(&cur, &dtype) ||
			    rcp_wire_get_u8(&cur, &has)) {
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
			if (has) {
				struct inline_ent *ie = rcp_xcalloc(1,
				    sizeof(*ie));
				ie->name = rcp_xstrdup(name);
				if (get_inline(&cur, ie) != 0) {
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
	struct rcp_srcremote *r = ctx;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	int e;

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
rem_open(void *ctx, int dir, const char *name, bool follow, int *fh,
    struct stat *st)
{
	struct rcp_srcremote *r = ctx;
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
	if (!follow && (ie = cache_take(r, dir, name)) != NULL) {
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

	/*
	 * Chunks of one file arrive in parallel, but a file takes one writer
	 * at a time (its inode lock), and the kernel spins for it: ~17% of
	 * a 2-core machine.  Waiting on our own mutex sleeps instead.
	 */
	if (io->wlock != NULL)
		pthread_mutex_lock(io->wlock);
	while (n > 0) {
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

static int64_t
rem_copy(void *ctx, int fh, int dfd, off_t off, off_t len, bool sparse,
    struct rcp_io *io, const char **what)
{
	struct rcp_srcremote *r = ctx;
	struct rhandle *rh = rh_get(r, fh);
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *data;
	uint64_t soff, want, next = 0;
	uint32_t nseg, i;
	int64_t done = 0, copied = 0;
	size_t n;
	int e = 0;
	bool eof = false;

	if (rh == NULL)
		return -EBADF;
	if (rh->server == UINT32_MAX) {
		/* It came whole with the open. */
		if ((size_t)off >= rh->len)
			return 0;
		n = rh->len - (size_t)off < (size_t)len ? rh->len - (size_t)off :
		    (size_t)len;
		e = write_at(dfd, rh->data + off, n, off, io, what);
		return e != 0 ? e : (int64_t)n;
	}
	while (done < len && !eof) {
		if (io->cancel != NULL && atomic_load(io->cancel))
			return -ECANCELED;
		want = (uint64_t)(len - done) < RCP_SRCWIRE_READ_MAX ?
		    (uint64_t)(len - done) : RCP_SRCWIRE_READ_MAX;
		rcp_buf_reset(&b);
		rcp_wire_put_u32(&b, rh->server);
		rcp_wire_put_u64(&b, (uint64_t)(off + done));
		rcp_wire_put_u64(&b, want);
		rcp_wire_put_u8(&b, sparse);
		if ((e = call(r, RCP_MSG_SRC_READ, &b, &m)) != 0) {
			*what = "read";
			break;
		}
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		if (rcp_wire_get_u32(&cur, &nseg) != 0)
			e = -EPROTO;
		for (i = 0; e == 0 && i < nseg; i++) {
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
		}
		if (e == 0 && rcp_wire_get_u64(&cur, &next) != 0)
			e = -EPROTO;
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
		if (e == -EPROTO || e == -EIO)
			*what = "read from the source agent";
		return e;
	}
	/* The data bytes that came: fewer than asked if the file shrank. */
	return copied;
}

static int
rem_changed(void *ctx, int fh, const struct stat *before)
{
	struct rcp_srcremote *r = ctx;
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
	struct rcp_srcremote *r = ctx;
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

static void
rem_close(void *ctx, int h)
{
	struct rcp_srcremote *r = ctx;
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
	if (r->nstreams > 0)
		rcp_quic_send(r->conn, r->streams[0], RCP_MSG_SRC_CLOSE, 0,
		    b.data, b.len, -1);
	rcp_buf_release(&b);
}

const struct rcp_src_ops rcp_src_remote = {
	rem_root,
	rem_opendir,
	rem_list,
	rem_stat,
	rem_open,
	rem_copy,
	rem_changed,
	rem_readlink,
	rem_close,
	false
};
