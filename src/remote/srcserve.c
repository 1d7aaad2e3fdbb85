/*
 * srcserve.c: the source agent's file server (see srcserve.h).  Replies
 * carry the request's id; errors are SRC_ERR with the errno, so the engine
 * reports them as if local (an RCP_ERR_* goes in the wire encoding).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/dents.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"
#include "fs/xmeta.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/srccache.h"
#include "remote/srcserve.h"
#include "remote/srcwire.h"

#include "base/banned.h"

/* Open handles a source agent allows the destination. */
#define MAX_HANDLES 16384

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
	atomic_bool		 quit;		/* stop, for long requests */
	pthread_t		*threads;
	int			 nthreads;

	pthread_mutex_t		 hlock;
	int			*fds;		/* handle -> fd, -1 free; hlock */
	struct rcp_srccache_dir	**pf;		/* handle -> read-ahead; hlock */
	size_t			 nfds;
	size_t			 open;
	struct rcp_srccache	*cache;		/* not ours; NULL: none */
	atomic_bool		 skip_noted;	/* said which xattrs we cannot
						 * read (not root) */
};

/*
 * Said once: this agent, not root, leaves out the xattrs only root may
 * copy (trusted.* it cannot even see); the destination gets the rest.
 */
static void
note_skipped(struct rcp_srcserve *s, const struct rcp_xmeta *xm)
{
	char *shown;

	if (xm->skipped == NULL || atomic_exchange(&s->skip_noted, true))
		return;
	shown = rcp_escape(xm->skipped);
	rcp_log(s->log, RCP_LOG_WARN, "not running as root: extended "
	    "attributes outside user.* (trusted.*, security.*; such as '%s') "
	    "are not read from the source; the rest is copied", shown);
	free(shown);
}

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

/* Replies with err (a -errno, or an RCP_ERR_*) in the wire encoding. */
static void
reply_err(struct rcp_quic_conn *c, const struct rcp_quic_msg *m, int err)
{
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_wire_put_u32(&b, (uint32_t)rcp_err_to_wire(err));
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
	if ((fd = rcp_fs_open_parent(dir)) < 0)
		e = fd;
	else if (fstatat(fd, base, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
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
	/*
	 * Names are single components of the tree, as a listing gives them:
	 * no walking out with "a/../.." or "..".
	 */
	if (strchr(*name, '/') != NULL || (*name)[0] == '\0' ||
	    strcmp(*name, ".") == 0 || strcmp(*name, "..") == 0)
		return -EINVAL;
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
/*
 * One LIST reply for handle h (fd) into *out (replaced), as LIST's flags
 * say.  0 or -errno.
 */
static int
list_reply(struct rcp_srcserve *s, uint32_t h, int fd, uint8_t flags,
    struct rcp_buf *out)
{
	struct rcp_srccache_dir *d;
	struct stat st;
	unsigned wire;
	bool more;

	rcp_srccache_stop(s->cache);
	/* The read-ahead's replies have subdirectories' stats: only for a
	 * destination that asked for them. */
	wire = flags & RCP_SRCWIRE_LIST_DIRSTAT;
	if (flags & RCP_SRC_LIST_ALL)
		wire |= RCP_SRCWIRE_LIST_FILES;
	if (!(flags & RCP_SRC_LIST_ALL) || !(flags & RCP_SRCWIRE_LIST_DIRSTAT))
		return rcp_srcwire_list(fd, wire, out, &more, NULL, NULL);
	if ((d = h_take_cached(s, h)) == NULL && s->cache != NULL &&
	    lseek(fd, 0, SEEK_CUR) == 0 && fstat(fd, &st) == 0)
		d = rcp_srccache_take(s->cache, &st);
	if (d == NULL)
		return rcp_srcwire_list(fd, wire, out, &more, NULL, NULL);
	rcp_srccache_dir_next(d, out, &more);
	if (more)
		h_put_cached(s, h, fd, d);
	else
		rcp_srccache_dir_free(d);
	return 0;
}

static int
srv_list(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	uint32_t h;
	uint8_t flags = 0;
	int fd;

	if (rcp_wire_get_u32(cur, &h) != 0)
		return -EPROTO;
	(void)rcp_wire_get_u8(cur, &flags);	/* older masters send none */
	if ((fd = h_fd(s, h)) < 0)
		return -EBADF;
	return list_reply(s, h, fd, flags, out);
}

static int
srv_opendir(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct rcp_buf first = RCP_BUF_INIT;
	char *name;
	uint8_t follow, lf;
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
	/*
	 * With the LIST flag the first LIST reply follows the handle, saving
	 * the destination a round trip; if listing fails here the LIST it
	 * then sends reports it.  Older destinations send no such byte.
	 */
	if (rcp_wire_get_u8(cur, &lf) == 0 && (lf & RCP_SRCWIRE_OPENDIR_LIST) &&
	    list_reply(s, (uint32_t)h, fd, lf & ~RCP_SRCWIRE_OPENDIR_LIST,
	    &first) == 0)
		rcp_buf_add(out, first.data, first.len);
	rcp_buf_release(&first);
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
 * whole, with a second fstat to tell whether it changed, and no handle,
 * unless the flags ask for a handle only (the destination will hash it).
 */
static int
srv_open(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct stat st, after;
	uint8_t follow, flags = 0, *data;
	char *name;
	ssize_t n;
	int dfd, fd, h, r;

	if ((r = get_at(s, cur, &dfd, &name, &follow)) != 0) {
		free(name);
		return r;
	}
	(void)rcp_wire_get_u8(cur, &flags);	/* absent from older peers */
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
	if (S_ISREG(st.st_mode) && !(flags & RCP_SRC_OPEN_NODATA) &&
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
	uint8_t sparse, flags = 0, *p, hash[RCP_HASH_LEN];
	size_t nseg_at, len_at, data_at = 0, ndata = 0;
	ssize_t n;
	int fd;

	if (rcp_wire_get_u32(cur, &h) || rcp_wire_get_u64(cur, &off) ||
	    rcp_wire_get_u64(cur, &len) || rcp_wire_get_u8(cur, &sparse))
		return -EPROTO;
	/* A later field: an older destination sends none. */
	(void)rcp_wire_get_u8(cur, &flags);
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
		data_at = len_at + 4;
		ndata = (size_t)n;
		nseg++;
		if ((uint64_t)n < hole - data) {
			next = UINT64_MAX;	/* the end of the file */
			break;
		}
		off = hole;
	}
	rcp_srcwire_put32_at(out, nseg_at, nseg);
	rcp_wire_put_u64(out, next);
	/* Hashed as read, for --verify: one segment, since never sparse. */
	if ((flags & RCP_SRC_READ_HASH) && !sparse) {
		rcp_fs_hash_mem(nseg > 0 ? out->data + data_at : NULL,
		    nseg > 0 ? ndata : 0, hash);
		rcp_wire_put_bytes(out, hash, RCP_HASH_LEN);
	}
	return 0;
}

/*
 * HASH: XXH3-128 of [off, off+len), computed here so that only 16 bytes
 * cross.  len is refused past RCP_SRC_HASH_MAX (a request holds one thread
 * for its time); freeing the server ends a hash in progress.
 */
static int
srv_hash(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	uint8_t digest[RCP_HASH_LEN];
	struct rcp_io io;
	uint64_t off, len;
	int64_t n;
	uint32_t h;
	int fd;

	if (rcp_wire_get_u32(cur, &h) || rcp_wire_get_u64(cur, &off) ||
	    rcp_wire_get_u64(cur, &len))
		return -EPROTO;
	if (len > RCP_SRC_HASH_MAX || off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	if ((fd = h_fd(s, h)) < 0)
		return -EBADF;
	memset(&io, 0, sizeof(io));
	io.bufsz = RCP_SRCWIRE_READ_MAX;
	io.buf = rcp_xmalloc(io.bufsz);
	io.cancel = &s->quit;
	n = rcp_fs_hash(fd, (off_t)off, (off_t)len, &io, digest);
	free(io.buf);
	if (n < 0)
		return (int)n;
	rcp_wire_put_u64(out, (uint64_t)n);
	rcp_wire_put_bytes(out, digest, sizeof(digest));
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

/*
 * XMETA: the ACLs and xattrs of handle h, or if h is ~0 of dir and name
 * (a symlink, or a file sent whole that has no handle).
 */
static int
srv_xmeta(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct rcp_xmeta xm;
	char *name = NULL;
	uint8_t what;
	uint32_t h;
	int fd = -1, dfd = -1, r;

	if (rcp_wire_get_u32(cur, &h) != 0)
		return -EPROTO;
	if ((r = get_at(s, cur, &dfd, &name, &what)) != 0 && h == UINT32_MAX) {
		free(name);
		return r;
	}
	if (h != UINT32_MAX && (fd = h_fd(s, h)) < 0) {
		free(name);
		return -EBADF;
	}
	r = rcp_xmeta_read(fd, dfd, name, what, &xm);
	free(name);
	note_skipped(s, &xm);
	if (r == 0)
		rcp_srcwire_put_xmeta(out, &xm);
	rcp_xmeta_release(&xm);
	return r;
}

/*
 * XMETA_DIR: the ACLs and xattrs of every entry of handle h that has any,
 * read through a new fd so that the handle's listing offset stays put.  An
 * entry that cannot be read, or a reply grown past its cap, ends it with
 * complete 0: the destination then asks entry by entry.
 */
static int
srv_xmeta_dir(struct rcp_srcserve *s, struct rcp_wire_cursor *cur,
    struct rcp_buf *out)
{
	struct rcp_dents it;
	struct rcp_dent de;
	struct rcp_xmeta xm;
	size_t n_at, done_at;
	uint32_t h, n = 0;
	uint8_t what, complete = 1;
	int fd, dfd;

	if (rcp_wire_get_u32(cur, &h) != 0 || rcp_wire_get_u8(cur, &what) != 0)
		return -EPROTO;
	if ((dfd = h_fd(s, h)) < 0)
		return -EBADF;
	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	done_at = out->len;
	rcp_wire_put_u8(out, 0);
	n_at = out->len;
	rcp_wire_put_u32(out, 0);
	rcp_dents_init(&it, fd);
	while (complete && rcp_dents_next(&it, &de) > 0) {
		if (rcp_xmeta_read(-1, fd, de.name, what, &xm) != 0 ||
		    out->len > RCP_SRCWIRE_XMETA_DIR_MAX)
			complete = 0;
		else if (!rcp_xmeta_empty(&xm)) {
			rcp_wire_put_str(out, de.name);
			rcp_srcwire_put_xmeta(out, &xm);
			n++;
		}
		note_skipped(s, &xm);
		rcp_xmeta_release(&xm);
	}
	rcp_dents_release(&it);
	close(fd);
	out->data[done_at] = complete;
	rcp_srcwire_put32_at(out, n_at, n);
	return 0;
}

int
rcp_srcserve_answer(struct rcp_srcserve *s, const struct rcp_wire_frame *f,
    struct rcp_buf *out)
{
	struct rcp_wire_cursor cur;
	uint32_t h;

	rcp_wire_cursor_init(&cur, f->body, f->len);
	switch (f->type) {
	case RCP_MSG_SRC_ROOT:
		return srv_root(s, &cur, out);
	case RCP_MSG_SRC_OPENDIR:
		return srv_opendir(s, &cur, out);
	case RCP_MSG_SRC_LIST:
		return srv_list(s, &cur, out);
	case RCP_MSG_SRC_STAT:
		return srv_stat(s, &cur, out);
	case RCP_MSG_SRC_OPEN:
		return srv_open(s, &cur, out);
	case RCP_MSG_SRC_READ:
		return srv_read(s, &cur, out);
	case RCP_MSG_SRC_FSTAT:
		return srv_fstat(s, &cur, out);
	case RCP_MSG_SRC_READLINK:
		return srv_readlink(s, &cur, out);
	case RCP_MSG_SRC_XMETA:
		return srv_xmeta(s, &cur, out);
	case RCP_MSG_SRC_XMETA_DIR:
		return srv_xmeta_dir(s, &cur, out);
	case RCP_MSG_SRC_HASH:
		return srv_hash(s, &cur, out);
	case RCP_MSG_SRC_CLOSE:
		if (rcp_wire_get_u32(&cur, &h) == 0)
			h_close(s, h);
		return 1;	/* one-way */
	default:
		return -ENOSYS;
	}
}

static void
serve_one(struct rcp_srcserve *s, struct rcp_quic_conn *c,
    struct rcp_quic_msg *m)
{
	struct rcp_buf out = RCP_BUF_INIT;
	int r;

	r = rcp_srcserve_answer(s, &m->f, &out);
	if (r == 0)
		reply(c, m, &out);
	else if (r < 0)
		reply_err(c, m, r);
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
	atomic_init(&s->quit, false);
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

	if (m->fin || ((m->f.type < RCP_MSG_SRC_ROOT ||
	    m->f.type > RCP_MSG_SRC_CLOSE) && m->f.type != RCP_MSG_SRC_XMETA &&
	    m->f.type != RCP_MSG_SRC_XMETA_DIR && m->f.type != RCP_MSG_SRC_HASH))
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
	atomic_store(&s->quit, true);
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
