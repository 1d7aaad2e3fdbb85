/*
 * dstpool.c: the destination helpers of a copy (see dstpool.h): the
 * engine's side, which hands ranges to them, and the helper's side, which
 * copies one.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/fsops.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "remote/dstpool.h"
#include "remote/srcclient.h"
#include "remote/srcmux.h"
#include "remote/srcwire.h"

#include "base/banned.h"

/* --- DST_RANGE on the wire ----------------------------------------------- */

enum { RANGE_FOLLOW = 1, RANGE_SPARSE = 2, RANGE_CHECKED = 4 };

void
rcp_dstrange_put(struct rcp_buf *b, const struct rcp_dstrange *q)
{
	rcp_wire_put_str(b, q->src);
	rcp_srcwire_put_stat(b, &q->st);
	rcp_wire_put_str(b, q->dst);
	rcp_wire_put_u64(b, q->dst_ino);
	rcp_wire_put_u64(b, q->off);
	rcp_wire_put_u64(b, q->len);
	rcp_wire_put_u8(b, (q->follow ? RANGE_FOLLOW : 0) |
	    (q->sparse ? RANGE_SPARSE : 0) | (q->checked ? RANGE_CHECKED : 0));
}

int
rcp_dstrange_get(const void *body, size_t len, struct rcp_dstrange *q)
{
	struct rcp_wire_cursor c;
	uint8_t flags;

	memset(q, 0, sizeof(*q));
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_str(&c, &q->src, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_srcwire_get_stat(&c, &q->st) != 0 ||
	    rcp_wire_get_str(&c, &q->dst, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_u64(&c, &q->dst_ino) != 0 ||
	    rcp_wire_get_u64(&c, &q->off) != 0 ||
	    rcp_wire_get_u64(&c, &q->len) != 0 ||
	    rcp_wire_get_u8(&c, &flags) != 0)
		return RCP_ERR_PROTO;
	/* Absolute paths, and a range a file can have. */
	if (q->src[0] == '\0' || q->dst[0] != '/' || q->len == 0 ||
	    q->off > (uint64_t)INT64_MAX || q->len > (uint64_t)INT64_MAX -
	    q->off || (flags & ~(RANGE_FOLLOW | RANGE_SPARSE |
	    RANGE_CHECKED)) != 0 || ((flags & RANGE_SPARSE) &&
	    (flags & RANGE_CHECKED)))
		return RCP_ERR_PROTO;
	q->follow = (flags & RANGE_FOLLOW) != 0;
	q->sparse = (flags & RANGE_SPARSE) != 0;
	q->checked = (flags & RANGE_CHECKED) != 0;
	return 0;
}

void
rcp_dstrange_release(struct rcp_dstrange *q)
{
	free(q->src);
	free(q->dst);
	q->src = q->dst = NULL;
}

void
rcp_dstpool_put_done(struct rcp_buf *b, uint64_t n, bool checked)
{
	rcp_wire_put_u64(b, n);
	rcp_wire_put_u8(b, checked ? 1 : 0);
}

/* --- the engine's side ---------------------------------------------------- */

struct helper {
	struct rcp_srcclient	*sr;
	struct rcp_quic_conn	*conn;
	char			*host;
	atomic_int		 busy;		/* ranges in flight */
	atomic_bool		 lost;
	atomic_uint_least64_t	 ranges;
	atomic_uint_least64_t	 bytes;
	atomic_bool		 told;		/* a failure of its said (-v) */
	atomic_uint_least64_t	 pending;	/* bytes of the ranges in flight */
	atomic_uint_least64_t	 heard_ns;	/* its last answer, or when it
						 * was last handed one while
						 * idle */
};

struct rcp_dstpool {
	struct helper	 m[RCP_DSTPOOL_MAX];
	size_t		 n;
	struct rcp_log	 log;
};

struct rcp_dstpool *
rcp_dstpool_new(const struct rcp_dstpool_member *m, size_t n,
    const struct rcp_log *log)
{
	struct rcp_dstpool *p = rcp_xcalloc(1, sizeof(*p));
	size_t i;

	if (n > RCP_DSTPOOL_MAX)
		n = RCP_DSTPOOL_MAX;
	for (i = 0; i < n; i++) {
		p->m[i].sr = m[i].sr;
		p->m[i].conn = m[i].conn;
		p->m[i].host = rcp_xstrdup(m[i].host != NULL ? m[i].host :
		    "?");
		atomic_init(&p->m[i].busy, 0);
		atomic_init(&p->m[i].lost, false);
		atomic_init(&p->m[i].ranges, 0);
		atomic_init(&p->m[i].bytes, 0);
		atomic_init(&p->m[i].told, false);
		atomic_init(&p->m[i].heard_ns, rcp_now_ns());
		atomic_init(&p->m[i].pending, 0);
	}
	p->n = n;
	if (log != NULL)
		p->log = *log;
	return p;
}

void
rcp_dstpool_free(struct rcp_dstpool *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		free(p->m[i].host);
	free(p);
}

void
rcp_dstpool_lose(struct rcp_dstpool *p, size_t i, const char *why)
{
	if (i >= p->n || atomic_exchange(&p->m[i].lost, true))
		return;
	rcp_log(&p->log, RCP_LOG_WARN, "lost the destination helper on "
	    "'%s'%s%s; its work goes on here and on the other helpers",
	    p->m[i].host, why != NULL ? ": " : "", why != NULL ? why : "");
}

size_t
rcp_dstpool_size(struct rcp_dstpool *p)
{
	return p->n;
}

const char *
rcp_dstpool_host(struct rcp_dstpool *p, size_t i)
{
	return p->m[i].host;
}

int
rcp_dstpool_lost(struct rcp_dstpool *p, size_t i)
{
	return atomic_load(&p->m[i].lost);
}

void
rcp_dstpool_served(struct rcp_dstpool *p, size_t i, uint64_t *ranges,
    uint64_t *bytes)
{
	*ranges = atomic_load(&p->m[i].ranges);
	*bytes = atomic_load(&p->m[i].bytes);
}

int
rcp_dstpool_stuck(struct rcp_dstpool *p, uint64_t quiet_ns)
{
	uint64_t now = rcp_now_ns(), allow;
	size_t i;

	for (i = 0; i < p->n; i++) {
		if (atomic_load(&p->m[i].lost) ||
		    atomic_load(&p->m[i].busy) == 0)
			continue;
		/* And a second a MiB in flight: they share its link. */
		allow = quiet_ns + (atomic_load(&p->m[i].pending) >> 20) *
		    1000000000u;
		if (now - atomic_load(&p->m[i].heard_ns) > allow)
			return (int)i;
	}
	return -1;
}

/*
 * A helper given up on may still be writing what it had in flight, until
 * a lease after this host last heard it (it cannot be sure it is heard any
 * longer than that: agent-helper.c): its ranges are copied again only
 * then, or sooner if the copy is called off.
 */
static void
wait_lease(struct helper *h, struct rcp_io *io)
{
	struct rcp_quic_stats st;

	rcp_quic_conn_stats(h->conn, &st);
	(void)rcp_sleep_until(st.recv_ns + rcp_quic_conn_lease_ns(h->conn),
	    io->cancel);
}

/*
 * The helper to take a range, if one is no busier than this host; or -1.
 * Ties go to the helper, so that a copy with few ranges at once (an
 * --iops-throttle, a tree of few big files) still spreads them.
 */
static int
pick(struct rcp_dstpool *p, int local)
{
	int best = -1, i;

	for (i = 0; i < (int)p->n; i++) {
		if (atomic_load(&p->m[i].lost))
			continue;
		if (best < 0 || atomic_load(&p->m[i].busy) <
		    atomic_load(&p->m[best].busy))
			best = i;
	}
	if (best >= 0 && atomic_load(&p->m[best].busy) <= local)
		return best;
	return -1;
}

/*
 * The path of the file open as fd, as the helpers (which mount the file
 * system at the same place) reach it; NULL if it has none (removed, or
 * longer than a message takes).
 */
static char *
fd_path(int fd)
{
	char proc[64], *buf = rcp_xmalloc(PATH_MAX + 1);
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, buf, PATH_MAX);
	if (n <= 0 || n >= PATH_MAX || buf[0] != '/' ||
	    (size_t)n >= RCP_PROTO_MAX_NAME) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (n > 10 && strcmp(buf + n - 10, " (deleted)") == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int64_t
rcp_dstpool_offload(void *arg, int local, const char *path, bool follow,
    const struct stat *st, int dfd, off_t off, off_t len, bool sparse,
    bool checked, struct rcp_io *io, const char **what, bool *was_checked)
{
	struct rcp_dstpool *p = arg;
	struct rcp_dstrange q;
	struct rcp_quic_msg *m = NULL;
	struct rcp_wire_cursor c;
	struct rcp_buf b = RCP_BUF_INIT;
	struct helper *h;
	struct stat dst;
	const char *why;
	uint64_t n;
	uint8_t ck;
	int i, e;

	(void)what;
	if ((i = pick(p, local)) < 0 || fstat(dfd, &dst) != 0)
		return RCP_SRCMUX_DECLINED;
	memset(&q, 0, sizeof(q));
	if ((q.dst = fd_path(dfd)) == NULL)
		return RCP_SRCMUX_DECLINED;
	h = &p->m[i];
	q.src = rcp_xstrdup(path);
	q.follow = follow;
	q.st = *st;
	q.dst_ino = (uint64_t)dst.st_ino;
	q.off = (uint64_t)off;
	q.len = (uint64_t)len;
	q.sparse = sparse && !checked;
	q.checked = checked;
	rcp_dstrange_put(&b, &q);
	rcp_dstrange_release(&q);
	atomic_fetch_add(&h->pending, (uint64_t)len);
	if (atomic_fetch_add(&h->busy, 1) == 0)
		atomic_store(&h->heard_ns, rcp_now_ns());
	e = rcp_srcclient_call(h->sr, RCP_MSG_DST_RANGE, b.data, b.len, &m);
	atomic_store(&h->heard_ns, rcp_now_ns());
	atomic_fetch_sub(&h->busy, 1);
	atomic_fetch_sub(&h->pending, (uint64_t)len);
	rcp_buf_release(&b);
	if (e == 0) {
		rcp_wire_cursor_init(&c, m->f.body, m->f.len);
		if (rcp_wire_get_u64(&c, &n) != 0 ||
		    rcp_wire_get_u8(&c, &ck) != 0 || n > (uint64_t)len)
			e = RCP_ERR_PROTO;
		rcp_quic_msg_free(m);
	}
	if (e == 0) {
		if (was_checked != NULL)
			*was_checked = checked && ck != 0;
		if (io->bytes != NULL)
			atomic_fetch_add(io->bytes, n);
		atomic_fetch_add(&h->ranges, 1);
		atomic_fetch_add(&h->bytes, n);
		return (int64_t)n;
	}
	/* A copy that still differs was checked there: it is the file's. */
	if (e == RCP_ERR_DIFFERENT && was_checked != NULL)
		*was_checked = checked;
	if (e == RCP_ERR_DIFFERENT || e == -ECANCELED)
		return e;
	if (e == RCP_ERR_GONE) {
		/* Its link's end says why (an idle timeout, a close). */
		why = h->conn != NULL ? rcp_quic_conn_error(h->conn) : NULL;
		rcp_dstpool_lose(p, (size_t)i, why);
		/* Unanswered, its link cut: it may be writing yet. */
		if (why != NULL)
			wait_lease(h, io);
	} else if (!atomic_exchange(&h->told, true))
		rcp_log(&p->log, RCP_LOG_INFO, "the destination helper on "
		    "'%s' could not copy a range of '%s': %s; copying such "
		    "ranges here", h->host, path, rcp_strerror(e));
	/* Whatever went wrong there, this host copies it as it would. */
	return RCP_SRCMUX_DECLINED;
}

/* --- the helper's side ---------------------------------------------------- */

/* The least busy source not lost, or -1. */
static int
pick_source(size_t n, atomic_int *busy, atomic_bool *lost)
{
	int best = -1, i;

	for (i = 0; i < (int)n; i++)
		if (!atomic_load(&lost[i]) && (best < 0 ||
		    atomic_load(&busy[i]) < atomic_load(&busy[best])))
			best = i;
	return best;
}

/* Opens q's source on s as the engine first saw it: a handle, or error. */
static int
open_source(const struct rcp_dstpool_source *s, const struct rcp_dstrange *q,
    int *fh)
{
	char *base = NULL, *cause = NULL;
	struct stat st;
	int d, e;

	e = s->ops->root(s->ctx, q->src, false, &d, &base, &st, &cause);
	free(cause);
	if (e != 0) {
		free(base);
		return e;
	}
	e = s->ops->open(s->ctx, d, base, q->follow, fh, &st);
	s->ops->close(s->ctx, d);
	free(base);
	if (e == 0 && !rcp_src_same_file(&st, &q->st)) {
		s->ops->close(s->ctx, *fh);
		e = -ESTALE;
	}
	return e;
}

int64_t
rcp_dstpool_run(const struct rcp_dstpool_source *src, size_t n,
    atomic_int *busy, atomic_bool *lost, const struct rcp_dstrange *q,
    struct rcp_io *io, bool *was_checked)
{
	const struct rcp_dstpool_source *s;
	const char *what = "copy data of";
	struct stat dst;
	int64_t r = RCP_ERR_GONE;
	int dfd, fh, i;

	*was_checked = false;
	/* The file the engine created, not one put in its place since. */
	dfd = open(q->dst, (q->checked ? O_RDWR : O_WRONLY) | O_NOFOLLOW |
	    O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (fstat(dfd, &dst) != 0 || !S_ISREG(dst.st_mode) ||
	    (uint64_t)dst.st_ino != q->dst_ino) {
		close(dfd);
		return -ESTALE;
	}
	while ((i = pick_source(n, busy, lost)) >= 0) {
		s = &src[i];
		atomic_fetch_add(&busy[i], 1);
		if ((r = open_source(s, q, &fh)) == 0) {
			if (q->checked && s->ops->copy_checked != NULL)
				r = s->ops->copy_checked(s->ctx, fh, dfd,
				    (off_t)q->off, (off_t)q->len, io, &what,
				    was_checked);
			else
				r = s->ops->copy(s->ctx, fh, dfd,
				    (off_t)q->off, (off_t)q->len, q->sparse,
				    io, &what);
			s->ops->close(s->ctx, fh);
		}
		atomic_fetch_sub(&busy[i], 1);
		if (r != RCP_ERR_GONE)
			break;
		/* That source agent is lost: the range again on another. */
		atomic_store(&lost[i], true);
	}
	/* Written data reaches the file system when its file is closed. */
	if (close(dfd) != 0 && r >= 0)
		r = -errno;
	return r;
}
