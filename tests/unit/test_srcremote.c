/*
 * test_srcremote.c: the destination's client of the source agent
 * (srcclient.c), against a fake source over real QUIC on loopback.  An
 * errno from the source's disk (EIO, ENOENT, EACCES) comes out as that
 * errno, naming the file; only the loss of the connection says the source
 * agent is gone.  A write that fails at the destination (ENOSPC) ends the
 * read of that range at once.  A hash is computed by the source's server
 * and only its 16 bytes come back; a range over the cap is refused; an
 * older agent that does not know the request is named in a clear error.
 * A copy asking for option bits the agent does not know is refused,
 * naming the agent's version and host.  rcmp's CMP_DIFF: a record whose
 * side bits, attribute or link targets do not fit its kind is refused,
 * not printed as something else; COMPARE's empty labels are its paths.
 * A destination helper's range (dstpool.h) round-trips on the wire, a bad
 * one is refused, and it is written only into the file the engine made,
 * from the source file the engine opened: another inode at either path,
 * or a symlink put in the destination's place, is refused untouched.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "fs/fsops.h"
#include "net/cert.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "remote/agentmsg.h"
#include "remote/cmpwire.h"
#include "remote/copywire.h"
#include "remote/dstpool.h"
#include "remote/srcclient.h"
#include "remote/srcmux.h"
#include "remote/srcserve.h"
#include "remote/srcwire.h"
#include "unit.h"

#include "base/banned.h"

/*
 * The fake source: answers each SRC_ROOT whose path is a number with an
 * SRC_ERR of that wire code, and closes the connection at "close".
 */
static void *
fake_source(void *arg)
{
	struct rcp_quic_conn *sc = arg;
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;
	struct rcp_buf b = RCP_BUF_INIT;
	char *path;
	uint8_t follow;

	while (rcp_quic_recv(sc, &m, 10000) == 0) {
		if (m->fin || m->f.type != RCP_MSG_SRC_ROOT) {
			rcp_quic_msg_free(m);
			continue;
		}
		rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
		path = NULL;
		if (rcp_wire_get_str(&cur, &path, RCP_PROTO_MAX_NAME) != 0 ||
		    rcp_wire_get_u8(&cur, &follow) != 0 ||
		    strcmp(path, "close") == 0) {
			free(path);
			rcp_quic_msg_free(m);
			break;
		}
		rcp_buf_reset(&b);
		rcp_wire_put_u32(&b, (uint32_t)(int32_t)strtol(path, NULL, 10));
		rcp_quic_send(sc, m->stream, RCP_MSG_SRC_ERR, m->f.id, b.data,
		    b.len, 5000);
		free(path);
		rcp_quic_msg_free(m);
	}
	rcp_buf_release(&b);
	rcp_quic_close(sc, 0);
	return NULL;
}

/* Asks for the root path; returns the error, *cause its message. */
static int
root(struct rcp_srcclient *r, const char *path, char **cause)
{
	struct stat st;
	char *base = NULL;
	int dir = -1, e;

	*cause = NULL;
	e = rcp_srcclient_ops.root(r, path, false, &dir, &base, &st, cause);
	free(base);
	return e;
}

/* A pinned QUIC connection on loopback: cc, this side's; sc, the peer's. */
struct link {
	struct rcp_cert		*scert, *ccert;
	struct rcp_quic_ep	*ep;
	struct rcp_quic_conn	*cc, *sc;
};

/* Opens k, the peer named peer; idle_ms 0: the default idle timeout. */
static void
link_open(struct link *k, const char *peer, uint32_t idle_ms)
{
	struct rcp_quic_config scfg, ccfg;
	struct sockaddr_in a;
	struct sockaddr_storage addr;
	socklen_t alen;
	char *cause = NULL;

	memset(k, 0, sizeof(*k));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&k->scert, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&k->ccert, &cause), 0);
	rcp_quic_config_init(&scfg);
	scfg.cert = k->scert;
	scfg.name = peer;
	scfg.conn_timeout_ms = 3000;
	scfg.idle_timeout_ms = idle_ms;
	rcp_quic_config_init(&ccfg);
	ccfg.cert = k->ccert;
	ccfg.name = "test-destination";
	ccfg.conn_timeout_ms = 3000;
	ccfg.idle_timeout_ms = idle_ms;
	CU_ASSERT_EQUAL_FATAL(rcp_quic_listen(&scfg, (struct sockaddr *)&a,
	    sizeof(a), &k->ep, &cause), 0);
	rcp_quic_ep_allow(k->ep, rcp_cert_fp(k->ccert));
	rcp_quic_ep_addr(k->ep, &addr, &alen);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_connect(&ccfg, (struct sockaddr *)&addr,
	    alen, rcp_cert_fp(k->scert), &k->cc, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_accept(k->ep, 5000, &k->sc, &cause),
	    0);
}

static void
link_close(struct link *k)
{
	rcp_quic_conn_free(k->cc);
	rcp_quic_conn_free(k->sc);
	rcp_quic_ep_free(k->ep);
	rcp_cert_free(k->scert);
	rcp_cert_free(k->ccert);
}

static void
test_errno_vs_gone(void)
{
	struct link k;
	struct rcp_srcclient *r;
	pthread_t th;
	char *cause = NULL, num[16];

	link_open(&k, "fake-source", 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, fake_source, k.sc), 0);
	r = rcp_srcclient_new(k.cc);

	/* The source's disk failed: that is EIO, not a lost agent. */
	snprintf(num, sizeof(num), "%d", EIO);
	CU_ASSERT_EQUAL(root(r, num, &cause), -EIO);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "'5'"));
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, strerror(EIO)));
	CU_ASSERT_PTR_NULL(strstr(cause, "gone"));
	free(cause);
	snprintf(num, sizeof(num), "%d", ENOENT);
	CU_ASSERT_EQUAL(root(r, num, &cause), -ENOENT);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, strerror(ENOENT)));
	free(cause);
	snprintf(num, sizeof(num), "%d", EACCES);
	CU_ASSERT_EQUAL(root(r, num, &cause), -EACCES);
	free(cause);
	/* A code of ours crosses as itself; "gone" never does. */
	snprintf(num, sizeof(num), "%d", rcp_err_to_wire(RCP_ERR_TOOBIG));
	CU_ASSERT_EQUAL(root(r, num, &cause), RCP_ERR_TOOBIG);
	free(cause);
	snprintf(num, sizeof(num), "%d", rcp_err_to_wire(RCP_ERR_GONE));
	CU_ASSERT_EQUAL(root(r, num, &cause), RCP_ERR_PROTO);
	free(cause);

	/* Now the agent goes: that, and only that, says so. */
	CU_ASSERT_EQUAL(root(r, "close", &cause), RCP_ERR_GONE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "the source agent is gone"));
	free(cause);
	CU_ASSERT_EQUAL(root(r, "x", &cause), RCP_ERR_GONE);
	free(cause);

	pthread_join(th, NULL);
	rcp_srcclient_free(r);
	link_close(&k);
}

/* A helper that takes every DST_RANGE and answers none. */
static void *
silent_helper(void *arg)
{
	struct rcp_quic_conn *sc = arg;
	struct rcp_quic_msg *m;

	while (rcp_quic_recv(sc, &m, 10000) == 0)
		rcp_quic_msg_free(m);
	return NULL;
}

struct lose_later {
	struct rcp_dstpool	*pool;
	struct rcp_quic_conn	*conn;
};

/* As the destination's progress tick does with a stuck helper. */
static void *
lose_later(void *arg)
{
	struct lose_later *l = arg;

	usleep(200000);
	rcp_dstpool_lose(l->pool, 0, "a test");
	rcp_quic_close(l->conn, 0);
	return NULL;
}

/*
 * A helper given up on while its link still carried its packets: its
 * range comes back (RCP_SRCMUX_DECLINED) only a lease after this side
 * last heard it, when it has stopped writing by itself.
 */
static void
test_dst_range_lease(void)
{
	struct link k;
	struct rcp_dstpool_member mm;
	struct rcp_quic_stats qs;
	struct lose_later l;
	struct stat st;
	struct rcp_io io;
	pthread_t th, tl;
	char *dir = unit_tmpdir("lease"), *dst;
	const char *what = NULL;
	atomic_bool cancel;
	bool checked;
	int64_t n;
	int fd;

	link_open(&k, "silent-helper", 2000);	/* a lease of 1 s */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, silent_helper, k.sc),
	    0);
	mm.sr = rcp_srcclient_new(k.cc);
	mm.conn = k.cc;
	mm.host = "h2";
	l.pool = rcp_dstpool_new(&mm, 1, NULL);
	l.conn = k.cc;

	dst = rcp_path_join(dir, "dst");
	fd = open(dst, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CU_ASSERT_FATAL(fd >= 0);
	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_size = 1 << 20;
	memset(&io, 0, sizeof(io));
	atomic_init(&cancel, false);
	io.cancel = &cancel;
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tl, NULL, lose_later, &l), 0);
	n = rcp_dstpool_offload(l.pool, 0, "/src/f", false, &st, fd, 0,
	    1 << 20, false, false, &io, &what, &checked);
	CU_ASSERT_EQUAL(n, RCP_SRCMUX_DECLINED);
	rcp_quic_conn_stats(k.cc, &qs);
	CU_ASSERT_TRUE(qs.recv_ns != 0);
	CU_ASSERT_TRUE(rcp_now_ns() >= qs.recv_ns +
	    rcp_quic_conn_lease_ns(k.cc));
	CU_ASSERT_TRUE(rcp_dstpool_lost(l.pool, 0));
	pthread_join(tl, NULL);
	pthread_join(th, NULL);

	close(fd);
	rcp_dstpool_free(l.pool);
	rcp_srcclient_free(mm.sr);
	link_close(&k);
	unit_rmtree(dir);
	free(dst);
	free(dir);
}

/* Answers SRC_OPEN with handle 7 and SRC_READ with the bytes asked for. */
static struct rcp_quic_msg *
answer_reads(void *arg, uint16_t type, const void *body, size_t len)
{
	unsigned *reads = arg;
	struct rcp_wire_cursor cur;
	struct rcp_quic_msg *m;
	struct rcp_buf b = RCP_BUF_INIT;
	struct stat st;
	uint64_t off, want;
	uint32_t fh;
	uint8_t *zero;

	memset(&st, 0, sizeof(st));
	st.st_mode = S_IFREG | 0644;
	st.st_size = 4 << 20;
	if (type == RCP_MSG_SRC_OPEN) {
		rcp_wire_put_u32(&b, 7);
		rcp_srcwire_put_stat(&b, &st);
	} else if (type == RCP_MSG_SRC_READ) {
		rcp_wire_cursor_init(&cur, body, len);
		if (rcp_wire_get_u32(&cur, &fh) != 0 ||
		    rcp_wire_get_u64(&cur, &off) != 0 ||
		    rcp_wire_get_u64(&cur, &want) != 0 || ++*reads > 100)
			return NULL;	/* gone: ends a loop that would spin */
		zero = rcp_xcalloc(1, want);
		rcp_wire_put_u32(&b, 1);
		rcp_wire_put_u64(&b, off);
		rcp_wire_put_bytes(&b, zero, want);
		rcp_wire_put_u64(&b, off + want);
		free(zero);
	} else {
		return NULL;
	}
	m = rcp_xcalloc(1, sizeof(*m));
	m->f.type = RCP_MSG_SRC_OK;
	m->f.id = 1;
	m->f.len = (uint32_t)b.len;
	m->f.body = (uint8_t *)b.data;	/* the frame owns it now */
	return m;
}

static void
test_write_error_stops(void)
{
	struct rcp_srcclient *r;
	struct rcp_io io;
	struct stat st;
	const char *what = NULL;
	unsigned reads = 0;
	int fh = -1, full;

	full = open("/dev/full", O_WRONLY);
	CU_ASSERT_FATAL(full >= 0);
	r = rcp_srcclient_new_answered(answer_reads, &reads);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.open(r, 0, "f", false, &fh,
	    &st), 0);
	memset(&io, 0, sizeof(io));
	/* Once retried the same range for ever (the run hung at ENOSPC). */
	CU_ASSERT_EQUAL(rcp_srcclient_ops.copy(r, fh, full, 0, 4 << 20,
	    false, &io, &what), -ENOSPC);
	CU_ASSERT_EQUAL(reads, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(what);
	CU_ASSERT_STRING_EQUAL(what, "write");
	rcp_srcclient_free(r);
	close(full);
}

/* The server answers one request of type with body b, returns its result. */
static int
serve(struct rcp_srcserve *s, uint16_t type, struct rcp_buf *b,
    struct rcp_buf *out)
{
	struct rcp_wire_frame f;

	memset(&f, 0, sizeof(f));
	f.type = type;
	f.id = 1;
	f.len = (uint32_t)b->len;
	f.body = (uint8_t *)b->data;
	rcp_buf_reset(out);
	return rcp_srcserve_answer(s, &f, out);
}

/* A name asked for is one component of the tree: never ".", ".." or "a/b". */
static void
test_names_stay_inside(void)
{
	struct rcp_srcserve *s = rcp_srcserve_new(0, NULL, NULL);
	struct rcp_buf b = RCP_BUF_INIT, out = RCP_BUF_INIT;
	struct rcp_wire_cursor c;
	static const char *const bad[] = { "..", ".", "a/..", "../x", "" };
	uint32_t h;
	size_t i;

	rcp_wire_put_str(&b, "/usr");
	rcp_wire_put_u8(&b, 0);
	CU_ASSERT_EQUAL_FATAL(serve(s, RCP_MSG_SRC_ROOT, &b, &out), 0);
	rcp_wire_cursor_init(&c, (const uint8_t *)out.data, out.len);
	CU_ASSERT_EQUAL_FATAL(rcp_wire_get_u32(&c, &h), 0);
	for (i = 0; i < RCP_ARRAY_SIZE(bad); i++) {
		rcp_buf_reset(&b);
		rcp_wire_put_u32(&b, h);
		rcp_wire_put_str(&b, bad[i]);
		rcp_wire_put_u8(&b, 0);
		CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_OPENDIR, &b, &out), -EINVAL);
	}
	/* A real entry still opens. */
	rcp_buf_reset(&b);
	rcp_wire_put_u32(&b, h);
	rcp_wire_put_str(&b, "bin");
	rcp_wire_put_u8(&b, 1);
	CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_OPENDIR, &b, &out), 0);
	rcp_buf_release(&b);
	rcp_buf_release(&out);
	rcp_srcserve_free(s);
}

/* Hands each request of the client to a real server in this thread. */
static struct rcp_quic_msg *
answer_served(void *arg, uint16_t type, const void *body, size_t len)
{
	struct rcp_srcserve *s = arg;
	struct rcp_buf b = RCP_BUF_INIT, out = RCP_BUF_INIT;
	struct rcp_quic_msg *m;
	int r;

	rcp_buf_add(&b, body, len);
	r = serve(s, type, &b, &out);
	rcp_buf_release(&b);
	if (r == 1) {
		rcp_buf_release(&out);
		return NULL;
	}
	if (r < 0) {
		rcp_buf_reset(&out);
		rcp_wire_put_u32(&out, (uint32_t)rcp_err_to_wire(r));
	}
	m = rcp_xcalloc(1, sizeof(*m));
	m->f.type = r == 0 ? RCP_MSG_SRC_OK : RCP_MSG_SRC_ERR;
	m->f.id = 1;
	m->f.len = (uint32_t)out.len;
	m->f.body = (uint8_t *)rcp_buf_detach(&out);
	return m;
}

static void
test_hash_served(void)
{
	struct rcp_srcserve *s = rcp_srcserve_new(0, NULL, NULL);
	struct rcp_srcclient *r = rcp_srcclient_new_answered(answer_served, s);
	char *dir = unit_tmpdir("srchash"), *path, *data, buf[65536], *base;
	uint8_t h[RCP_HASH_LEN], g[RCP_HASH_LEN];
	const size_t n = 3 << 20;
	struct rcp_io io;
	struct stat st;
	char *cause = NULL;
	int d = -1, fh = -1;
	size_t i;

	data = rcp_xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 13 + (i >> 10));
	path = rcp_path_join(dir, "big");	/* over the size sent whole */
	unit_write_file(path, data, n);
	memset(&io, 0, sizeof(io));
	io.buf = buf;
	io.bufsz = sizeof(buf);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.root(r, path, false, &d,
	    &base, &st, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.open(r, d, base, false, &fh,
	    &st), 0);
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, 1000, 2 << 20, &io, h),
	    2 << 20);
	rcp_fs_hash_mem(data + 1000, 2 << 20, g);
	CU_ASSERT_EQUAL(memcmp(h, g, RCP_HASH_LEN), 0);
	/* At the end: the bytes there were, and their hash. */
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, (off_t)n - 10, 100,
	    &io, h), 10);
	rcp_fs_hash_mem(data + n - 10, 10, g);
	CU_ASSERT_EQUAL(memcmp(h, g, RCP_HASH_LEN), 0);
	/* Bounded: one request hashes at most RCP_SRC_HASH_MAX. */
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, 0,
	    (off_t)RCP_SRC_HASH_MAX + 1, &io, h), -EINVAL);
	rcp_srcclient_ops.close(r, fh);
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, 0, 10, &io, h), -EBADF);
	rcp_srcclient_ops.close(r, d);
	rcp_srcclient_free(r);
	rcp_srcserve_free(s);
	free(base);
	free(path);
	free(data);
	unit_rmtree(dir);
	free(dir);
}

/* Counts the requests of each type answered by a real server. */
struct counted {
	struct rcp_srcserve	*s;
	unsigned		 n[64];
	bool			 old;	/* strip OPENDIR's list byte */
};

static struct rcp_quic_msg *
answer_counted(void *arg, uint16_t type, const void *body, size_t len)
{
	struct counted *c = arg;

	if (type < RCP_ARRAY_SIZE(c->n))
		c->n[type]++;
	/* An older source reads u32 dir, str name, u8 follow and no more. */
	if (c->old && type == RCP_MSG_SRC_OPENDIR) {
		const uint8_t *p = body;
		uint32_t nl = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7];

		if (len > 4 + 4 + nl + 1)
			len = 4 + 4 + nl + 1;
	}
	return answer_served(c->s, type, body, len);
}

static int
count_entry(void *arg, const char *name, unsigned char dtype)
{
	(void)name;
	(void)dtype;
	(*(unsigned *)arg)++;
	return 0;
}

/*
 * Below a directory listed as new, a subdirectory's first listing comes
 * with its OPENDIR and its stat with its parent's listing: one round trip
 * a directory.  Against an older source (no list byte read), the same
 * entries arrive, by an OPENDIR and a LIST.
 */
static void
one_trip_dirs(bool old)
{
	struct counted c = { .s = rcp_srcserve_new(0, NULL, NULL), .old = old };
	struct rcp_srcclient *r = rcp_srcclient_new_answered(answer_counted,
	    &c);
	char *dir = unit_tmpdir("srcdirs"), *p, *base = NULL, *cause = NULL;
	struct stat st;
	int d = -1, top = -1, sub = -1, i;
	unsigned n = 0, lists, stats;

	p = rcp_path_join(dir, "top");
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
	free(p);
	p = rcp_path_join(dir, "top/sub");
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
	free(p);
	for (i = 0; i < 3; i++) {
		p = rcp_xasprintf("%s/top/sub/f%d", dir, i);
		unit_write_file(p, "abc", 3);
		free(p);
	}
	p = rcp_path_join(dir, "top");
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.root(r, p, false, &d, &base,
	    &st, &cause), 0);
	free(p);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.opendir(r, d, base, false,
	    &top), 0);
	CU_ASSERT_EQUAL(rcp_srcclient_ops.list(r, top, RCP_SRC_LIST_ALL,
	    count_entry, &n), 0);
	CU_ASSERT_EQUAL(n, 1);
	lists = c.n[RCP_MSG_SRC_LIST];
	stats = c.n[RCP_MSG_SRC_STAT];
	memset(&st, 0, sizeof(st));
	CU_ASSERT_EQUAL(rcp_srcclient_ops.stat(r, top, "sub", false, &st), 0);
	CU_ASSERT_TRUE(S_ISDIR(st.st_mode));
	CU_ASSERT_EQUAL(c.n[RCP_MSG_SRC_STAT], stats);	/* from the listing */
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.opendir(r, top, "sub", false,
	    &sub), 0);
	n = 0;
	CU_ASSERT_EQUAL(rcp_srcclient_ops.list(r, sub, RCP_SRC_LIST_ALL,
	    count_entry, &n), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(c.n[RCP_MSG_SRC_LIST], lists + (old ? 1 : 0));
	rcp_srcclient_ops.close(r, sub);
	rcp_srcclient_ops.close(r, top);
	rcp_srcclient_ops.close(r, d);
	rcp_srcclient_free(r);
	rcp_srcserve_free(c.s);
	free(base);
	unit_rmtree(dir);
	free(dir);
}

/*
 * A source agent for the mux tests: a real server behind a lock (the
 * engine's workers call at once), slowed by delay_us a request, and gone
 * (no answer, as a lost connection) once it has answered die_after.
 */
struct member_srv {
	struct rcp_srcserve	*s;
	pthread_mutex_t		 lock;
	unsigned		 answered;
	unsigned		 die_after;	/* 0: never */
	unsigned		 delay_us;
	/*
	 * A member stuck on its disk: no SRC_READ answered until stuck_on
	 * has answered stuck_reads of them (10 s at most, a hang guard).
	 */
	struct member_srv	*stuck_on;
	unsigned		 stuck_reads;
	atomic_uint		 reads;
};

static struct rcp_quic_msg *
answer_member(void *arg, uint16_t type, const void *body, size_t len)
{
	struct member_srv *m = arg;
	struct rcp_quic_msg *r;
	int i;

	if (type == RCP_MSG_SRC_READ && m->stuck_on != NULL)
		for (i = 0; i < 10000 && atomic_load(&m->stuck_on->reads) <
		    m->stuck_reads; i++)
			usleep(1000);
	if (type == RCP_MSG_SRC_READ)
		atomic_fetch_add(&m->reads, 1);
	if (m->delay_us > 0)
		usleep(m->delay_us);
	pthread_mutex_lock(&m->lock);
	if (m->die_after > 0 && m->answered >= m->die_after)
		r = NULL;
	else {
		m->answered++;
		r = answer_served(m->s, type, body, len);
	}
	pthread_mutex_unlock(&m->lock);
	return r;
}

struct logged {
	pthread_mutex_t	 lock;
	struct rcp_buf	 text;
};

static void
log_keep(void *arg, int level, const char *msg)
{
	struct logged *l = arg;

	(void)level;
	pthread_mutex_lock(&l->lock);
	rcp_buf_addf(&l->text, "%s\n", msg);
	pthread_mutex_unlock(&l->lock);
}

/* A tree of 4 directories of 30 files, and a 24 MiB file. */
static char *
mux_tree(void)
{
	char *dir = unit_tmpdir("srcmux"), *p, *data;
	const size_t big = 24 << 20;
	size_t k;
	int i, j;

	p = rcp_path_join(dir, "src");
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
	free(p);
	data = rcp_xmalloc(big);
	for (k = 0; k < big; k++)
		data[k] = (char)(k * 7 + (k >> 12));
	for (i = 0; i < 4; i++) {
		p = rcp_xasprintf("%s/src/d%d", dir, i);
		CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
		free(p);
		for (j = 0; j < 30; j++) {
			p = rcp_xasprintf("%s/src/d%d/f%d", dir, i, j);
			unit_write_file(p, data + i * 1000 + j,
			    (size_t)(j * 3001) % 200000);
			free(p);
		}
	}
	p = rcp_path_join(dir, "src/big");
	unit_write_file(p, data, big);
	free(p);
	free(data);
	return dir;
}

/*
 * Copies dir/src to dir/dst through a mux of n members; returns the
 * copy's result, with the comparison's in *same (diff -r: 0 if equal).
 */
static int
mux_copy(const char *dir, struct member_srv *ms, size_t n,
    struct rcp_srcmux **xp, struct logged *lg, int *same)
{
	struct rcp_srcmux_member mm[RCP_SRCMUX_MAX];
	struct rcp_srcclient *cl[RCP_SRCMUX_MAX];
	struct rcp_log log = { log_keep, lg, RCP_LOG_INFO };
	struct rcp_copy_opts o;
	struct rcp_copy *c;
	char *src = rcp_path_join(dir, "src"), *dst = rcp_path_join(dir, "dst");
	const char *srcs[1] = { src };
	static const char *const host[] = { "h0", "h1", "h2", "h3" };
	char *cause = NULL, *cmd;
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		ms[i].s = rcp_srcserve_new(0, NULL, NULL);
		pthread_mutex_init(&ms[i].lock, NULL);
		cl[i] = rcp_srcclient_new_answered(answer_member, &ms[i]);
		mm[i].ops = &rcp_srcclient_ops;
		mm[i].ctx = cl[i];
		mm[i].host = host[i % RCP_ARRAY_SIZE(host)];
		mm[i].cached = rcp_srcclient_has_inline;
		if (i + 1 == n)
			*xp = rcp_srcmux_new(mm, n, &log);
	}
	rcp_copy_opts_init(&o);
	o.max_workers = 8;
	o.chunk_size = 1 << 20;
	c = rcp_copy_new(&o, &log);
	rcp_copy_set_source(c, &rcp_srcmux_ops, *xp);
	r = rcp_copy_run(c, srcs, 1, dst, &cause);
	if (r != 0 && cause != NULL)
		log_keep(lg, RCP_LOG_ERROR, cause);
	rcp_copy_free(c);
	free(cause);
	cmd = rcp_xasprintf("diff -r '%s' '%s' >/dev/null 2>&1", src, dst);
	*same = system(cmd);
	free(cmd);
	for (i = 0; i < n; i++) {
		rcp_srcclient_free(cl[i]);
		rcp_srcserve_free(ms[i].s);
		pthread_mutex_destroy(&ms[i].lock);
	}
	free(src);
	free(dst);
	return r;
}

/*
 * Two source agents of one file system: both serve the copy, and one
 * stuck on its disk (its reads wait until the other has served 16) serves
 * less: work goes to the member that is free, not to the one it was on.
 */
static void
test_mux_spreads(void)
{
	struct member_srv ms[2];
	struct logged lg = { PTHREAD_MUTEX_INITIALIZER, RCP_BUF_INIT };
	struct rcp_srcmux *x = NULL;
	uint64_t calls[2], bytes[2];
	char *dir = mux_tree();
	int same = -1;

	memset(ms, 0, sizeof(ms));
	ms[0].stuck_on = &ms[1];
	ms[0].stuck_reads = 16;
	CU_ASSERT_EQUAL(mux_copy(dir, ms, 2, &x, &lg, &same), 0);
	CU_ASSERT_EQUAL(same, 0);
	rcp_srcmux_served(x, 0, &calls[0], &bytes[0]);
	rcp_srcmux_served(x, 1, &calls[1], &bytes[1]);
	CU_ASSERT_TRUE(calls[0] > 0 && calls[1] > 0);
	CU_ASSERT_TRUE(bytes[1] > 0);
	/*
	 * By count, not by time: a member two calls busier than another gets
	 * no new work, so while the stuck one holds a few reads the other
	 * serves 16 of the big file's 24; the stuck one's bytes are those few
	 * and at most the small files (5 MB).
	 */
	CU_ASSERT_TRUE(bytes[1] > bytes[0]);
	CU_ASSERT_TRUE(atomic_load(&ms[1].reads) > atomic_load(&ms[0].reads));
	CU_ASSERT_EQUAL(rcp_srcmux_alive(x), 2);
	rcp_srcmux_free(x);
	rcp_buf_release(&lg.text);
	unit_rmtree(dir);
	free(dir);
}

/*
 * A member lost mid-copy: the copy completes on the other, equal, and the
 * loss is logged naming its host.  With every member lost it fails.
 */
static void
test_mux_lost(void)
{
	struct member_srv ms[2];
	struct logged lg = { PTHREAD_MUTEX_INITIALIZER, RCP_BUF_INIT };
	struct rcp_srcmux *x = NULL;
	char *dir = mux_tree(), *p;
	int same = -1, k;

	for (k = 0; k < 2; k++) {
		memset(ms, 0, sizeof(ms));
		ms[k].die_after = 10;
		ms[1 - k].delay_us = 2000;
		CU_ASSERT_EQUAL(mux_copy(dir, ms, 2, &x, &lg, &same), 0);
		CU_ASSERT_EQUAL(same, 0);
		CU_ASSERT_TRUE(rcp_srcmux_lost(x, (size_t)k));
		CU_ASSERT_EQUAL(rcp_srcmux_alive(x), 1);
		CU_ASSERT_PTR_NOT_NULL(strstr(rcp_buf_str(&lg.text),
		    k == 0 ? "lost the source agent on 'h0'" :
		    "lost the source agent on 'h1'"));
		CU_ASSERT_PTR_NOT_NULL(strstr(rcp_buf_str(&lg.text),
		    "its work goes to the 1 other"));
		rcp_srcmux_free(x);
		rcp_buf_reset(&lg.text);
		p = rcp_path_join(dir, "dst");
		unit_rmtree(p);
		free(p);
	}
	/* Both gone: no silent partial copy. */
	memset(ms, 0, sizeof(ms));
	ms[0].die_after = 30;
	ms[1].die_after = 30;
	CU_ASSERT_NOT_EQUAL(mux_copy(dir, ms, 2, &x, &lg, &same), 0);
	CU_ASSERT_NOT_EQUAL(same, 0);
	CU_ASSERT_EQUAL(rcp_srcmux_alive(x), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(rcp_buf_str(&lg.text),
	    "and no other is left"));
	rcp_srcmux_free(x);
	rcp_buf_release(&lg.text);
	unit_rmtree(dir);
	free(dir);
}

/*
 * Opening by path on another member only reaches the directory the engine
 * walked: one swapped for another since (a rename, a symlink) is refused
 * with ESTALE, never read in its place.
 */
static void
mux_swap(bool swap)
{
	struct member_srv ms[2];
	struct rcp_srcclient *cl[2];
	struct rcp_srcmux_member mm[2];
	struct rcp_srcmux *x;
	char *dir = unit_tmpdir("srcswap"), *p, *q, *base = NULL, *cause = NULL;
	struct stat st;
	int d = -1, t = -1, fh = -1, i;

	memset(ms, 0, sizeof(ms));
	for (i = 0; i < 2; i++) {
		ms[i].s = rcp_srcserve_new(0, NULL, NULL);
		pthread_mutex_init(&ms[i].lock, NULL);
		cl[i] = rcp_srcclient_new_answered(answer_member, &ms[i]);
		mm[i].ops = &rcp_srcclient_ops;
		mm[i].ctx = cl[i];
		mm[i].host = i == 0 ? "h0" : "h1";
		mm[i].cached = NULL;
	}
	x = rcp_srcmux_new(mm, 2, NULL);
	p = rcp_path_join(dir, "top");
	CU_ASSERT_EQUAL_FATAL(mkdir(p, 0755), 0);
	q = rcp_path_join(dir, "top/f");
	unit_write_file(q, "walked", 6);
	free(q);
	CU_ASSERT_EQUAL_FATAL(rcp_srcmux_ops.root(x, p, false, &d, &base, &st,
	    &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_srcmux_ops.stat(x, d, base, false, &st), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_srcmux_ops.opendir(x, d, base, false, &t), 0);
	if (swap) {
		q = rcp_path_join(dir, "top.walked");
		CU_ASSERT_EQUAL(rename(p, q), 0);
		CU_ASSERT_EQUAL(mkdir(p, 0755), 0);
		free(q);
		q = rcp_path_join(dir, "top/f");
		unit_write_file(q, "other!", 6);
		free(q);
	}
	/* Whoever opened it is gone: the other must reopen it by path. */
	rcp_srcmux_lose(x, 0, "test");
	ms[0].die_after = 1;
	ms[0].answered = 1;
	i = rcp_srcmux_ops.open(x, t, "f", false, &fh, &st);
	if (swap) {
		CU_ASSERT_EQUAL(i, -ESTALE);
	} else {
		CU_ASSERT_EQUAL(i, 0);
		CU_ASSERT_EQUAL(st.st_size, 6);
		rcp_srcmux_ops.close(x, fh);
	}
	rcp_srcmux_ops.close(x, t);
	rcp_srcmux_ops.close(x, d);
	rcp_srcmux_free(x);
	for (i = 0; i < 2; i++) {
		rcp_srcclient_free(cl[i]);
		rcp_srcserve_free(ms[i].s);
		pthread_mutex_destroy(&ms[i].lock);
	}
	free(base);
	free(p);
	unit_rmtree(dir);
	free(dir);
}

static void
test_mux_swap(void)
{
	mux_swap(false);
	mux_swap(true);
}

static void
test_one_trip_dirs(void)
{
	one_trip_dirs(false);
	one_trip_dirs(true);
}

/* The server refuses a hash over the cap itself, not only its client. */
static void
test_hash_bounded(void)
{
	struct rcp_srcserve *s = rcp_srcserve_new(0, NULL, NULL);
	struct rcp_buf b = RCP_BUF_INIT, out = RCP_BUF_INIT;

	rcp_wire_put_u32(&b, 0);
	rcp_wire_put_u64(&b, 0);
	rcp_wire_put_u64(&b, (uint64_t)RCP_SRC_HASH_MAX + 1);
	CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_HASH, &b, &out), -EINVAL);
	rcp_buf_reset(&b);
	rcp_wire_put_u32(&b, 0);
	rcp_wire_put_u64(&b, UINT64_MAX - 5);
	rcp_wire_put_u64(&b, 10);
	CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_HASH, &b, &out), -EINVAL);
	rcp_buf_reset(&b);
	rcp_wire_put_u32(&b, 99);
	rcp_wire_put_u64(&b, 0);
	rcp_wire_put_u64(&b, 10);
	CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_HASH, &b, &out), -EBADF);
	rcp_buf_reset(&b);
	rcp_wire_put_u32(&b, 0);
	CU_ASSERT_EQUAL(serve(s, RCP_MSG_SRC_HASH, &b, &out), -EPROTO);
	rcp_buf_release(&b);
	rcp_buf_release(&out);
	rcp_srcserve_free(s);
}

/* An agent of a build before SRC_HASH: ERROR for it, as for any unknown. */
static struct rcp_quic_msg *
answer_old(void *arg, uint16_t type, const void *body, size_t len)
{
	struct rcp_buf out = RCP_BUF_INIT;
	struct rcp_quic_msg *m;

	if (type != RCP_MSG_SRC_HASH)
		return answer_served(arg, type, body, len);
	rcp_wire_put_u32(&out, (uint32_t)rcp_err_to_wire(RCP_ERR_PROTO));
	rcp_wire_put_str(&out, "unknown message type");
	m = rcp_xcalloc(1, sizeof(*m));
	m->f.type = RCP_MSG_ERROR;
	m->f.id = 1;
	m->f.len = (uint32_t)out.len;
	m->f.body = (uint8_t *)rcp_buf_detach(&out);
	return m;
}

static void
keep_log(void *arg, int level, const char *msg)
{
	struct rcp_buf *b = arg;

	(void)level;
	rcp_buf_addstr(b, msg);
	rcp_buf_addstr(b, "\n");
}

/*
 * An older source agent: the hash fails with a version error, not a hang
 * or a protocol error, and the log says once which agent, where, and what
 * to do.
 */
static void
test_hash_old_agent(void)
{
	struct rcp_srcserve *s = rcp_srcserve_new(0, NULL, NULL);
	struct rcp_srcclient *r = rcp_srcclient_new_answered(answer_old, s);
	struct rcp_buf logged = RCP_BUF_INIT;
	struct rcp_log log = { keep_log, &logged, RCP_LOG_DEBUG };
	char *dir = unit_tmpdir("srcold"), *path, buf[4096], *base = NULL;
	uint8_t h[RCP_HASH_LEN];
	const char *text, *again;
	struct rcp_io io;
	struct stat st;
	char *cause = NULL;
	int d = -1, fh = -1;

	path = rcp_path_join(dir, "big");
	memset(buf, 'x', sizeof(buf));
	unit_write_file(path, buf, sizeof(buf));
	memset(&io, 0, sizeof(io));
	io.buf = buf;
	io.bufsz = sizeof(buf);
	rcp_srcclient_set_peer(r, "alice@h1", "0.9.1", &log);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.root(r, path, false, &d,
	    &base, &st, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.open_hash(r, d, base, false,
	    &fh, &st), 0);
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, 0, 4096, &io, h),
	    RCP_ERR_VERSION);
	CU_ASSERT_EQUAL(rcp_srcclient_ops.hash(r, fh, 0, 4096, &io, h),
	    RCP_ERR_VERSION);
	text = rcp_buf_str(&logged);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "the source agent on 'alice@h1' "
	    "(rcpd 0.9.1) does not know SRC_HASH"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "--auto-deploy-rcpd"));
	again = strstr(text, "SRC_HASH");
	CU_ASSERT(again != NULL && strstr(again + 1, "does not know") == NULL);
	rcp_srcclient_ops.close(r, fh);
	rcp_srcclient_ops.close(r, d);
	rcp_srcclient_free(r);
	rcp_srcserve_free(s);
	rcp_buf_release(&logged);
	free(base);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/*
 * How the source answers READs for test_read_hashed: 0 as it is; 1 as an
 * older agent (the flag asking for the hash unread); 2 with the hash of
 * other bytes (what a flip between the read and the write would give).
 */
static int read_mode;

static struct rcp_quic_msg *
answer_read(void *arg, uint16_t type, const void *body, size_t len)
{
	struct rcp_quic_msg *m;

	if (type == RCP_MSG_SRC_READ && read_mode == 1 && len == 22)
		len = 21;
	m = answer_served(arg, type, body, len);
	if (m != NULL && type == RCP_MSG_SRC_READ && read_mode == 2 &&
	    m->f.type == RCP_MSG_SRC_OK && m->f.len > RCP_HASH_LEN)
		m->f.body[m->f.len - 1] ^= 1;
	return m;
}

/*
 * --verify remotely: each READ comes with the hash of what the source read
 * and the piece written is checked against it; an older source sends none
 * (nothing is checked, and the caller verifies as before); a hash that
 * disagrees is RCP_ERR_DIFFERENT.
 */
static void
test_read_hashed(void)
{
	struct rcp_srcserve *s = rcp_srcserve_new(0, NULL, NULL);
	struct rcp_srcclient *r = rcp_srcclient_new_answered(answer_read, s);
	char *dir = unit_tmpdir("srcread"), *path, *out, *data, *back, *base;
	const size_t n = (2 << 20) + 4321;
	char buf[65536];
	const char *what = NULL;
	struct rcp_io io;
	struct stat st;
	char *cause = NULL;
	bool checked;
	int d = -1, fh = -1, dfd;
	size_t i;

	data = rcp_xmalloc(n);
	back = rcp_xmalloc(n);
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 7 + (i >> 12));
	path = rcp_path_join(dir, "big");
	out = rcp_path_join(dir, "copy");
	unit_write_file(path, data, n);
	memset(&io, 0, sizeof(io));
	io.buf = buf;
	io.bufsz = sizeof(buf);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.root(r, path, false, &d,
	    &base, &st, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_srcclient_ops.open(r, d, base, false, &fh,
	    &st), 0);
	dfd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CU_ASSERT_FATAL(dfd >= 0);
	read_mode = 0;
	CU_ASSERT_EQUAL(rcp_srcclient_ops.copy_checked(r, fh, dfd, 0,
	    (off_t)n, &io, &what, &checked), (int64_t)n);
	CU_ASSERT(checked);
	CU_ASSERT_EQUAL(pread(dfd, back, n, 0), (ssize_t)n);
	CU_ASSERT_EQUAL(memcmp(back, data, n), 0);
	read_mode = 1;
	CU_ASSERT_EQUAL(rcp_srcclient_ops.copy_checked(r, fh, dfd, 0,
	    (off_t)n, &io, &what, &checked), (int64_t)n);
	CU_ASSERT(!checked);
	read_mode = 2;
	CU_ASSERT_EQUAL(rcp_srcclient_ops.copy_checked(r, fh, dfd, 0,
	    (off_t)n, &io, &what, &checked), RCP_ERR_DIFFERENT);
	read_mode = 0;
	close(dfd);
	rcp_srcclient_ops.close(r, fh);
	rcp_srcclient_ops.close(r, d);
	rcp_srcclient_free(r);
	rcp_srcserve_free(s);
	free(base);
	free(path);
	free(out);
	free(data);
	free(back);
	unit_rmtree(dir);
	free(dir);
}

/* Forges one byte of encoded options; returns get_opts' result. */
static int
forged_opts(size_t at, uint8_t or, char **cause)
{
	struct rcp_copy_opts o, back;
	struct rcp_wire_cursor c;
	struct rcp_filter *filter = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	char *manifest = NULL;
	int r;

	rcp_copy_opts_init(&o);
	rcp_preserve_all(&o.preserve);
	rcp_copywire_put_opts(&b, &o, NULL);
	b.data[at] |= or;
	rcp_wire_cursor_init(&c, b.data, b.len);
	*cause = NULL;
	r = rcp_copywire_get_opts(&c, &back, &filter, &manifest, cause);
	if (r == 0)
		CU_ASSERT_TRUE(back.preserve.f.acl && back.preserve.d.xattr);
	rcp_filter_free(filter);
	free(manifest);
	rcp_buf_release(&b);
	return r;
}

/* A newer master's bits are refused, never ignored. */
static void
test_unknown_bits(void)
{
	char host[256] = "", *cause = NULL, *want;

	gethostname(host, sizeof(host) - 1);
	CU_ASSERT_EQUAL(forged_opts(24, 0, &cause), 0);	/* as sent */
	/* flags (u32 at 0), compare f (u32 at 12), preserve f (u8 at 24) */
	CU_ASSERT_EQUAL(forged_opts(24, 0x20, &cause), RCP_ERR_VERSION);
	want = rcp_xasprintf("rcpd %s on '%s' does not know the preserve bits "
	    "0x20", PACKAGE_VERSION, host);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, want));
	free(want);
	free(cause);
	CU_ASSERT_EQUAL(forged_opts(1, 0x10, &cause), RCP_ERR_VERSION);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "option bits "
	    "0x100000") : NULL);
	free(cause);
	CU_ASSERT_EQUAL(forged_opts(14, 0x04, &cause), RCP_ERR_VERSION);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "compare bits "
	    "0x400") : NULL);
	free(cause);
}

static void
unit_copied(void *arg, const char *path)
{
	(void)arg;
	(void)path;
}

/* COPY's record-files bit, and FILES: names as bytes, deeper than PATH_MAX. */
static void
test_files_wire(void)
{
	static const char *const srcs[] = { "/s" };
	struct rcp_copywire_request req;
	struct rcp_copy_opts o;
	struct rcp_buf b = RCP_BUF_INIT, deep = RCP_BUF_INIT;
	const char *paths[3];
	char **v = NULL, *cause = NULL;
	size_t n = 0;
	int with;

	for (with = 0; with < 2; with++) {
		rcp_copy_opts_init(&o);
		o.copied = with ? unit_copied : NULL;
		rcp_buf_reset(&b);
		rcp_copywire_put_request(&b, srcs, 1, "/d", &o, NULL, "h1");
		CU_ASSERT_EQUAL(rcp_copywire_get_request(b.data, b.len, &req,
		    &cause), 0);
		CU_ASSERT_EQUAL(req.record_files, with == 1);
		CU_ASSERT_PTR_NULL(req.opts.copied);
		rcp_copywire_request_release(&req);
	}
	rcp_buf_addstr(&deep, "/d");
	while (deep.len < 3 * 4096)
		rcp_buf_addstr(&deep, "/dir");
	paths[0] = "/d/ok\xe9";
	paths[1] = rcp_buf_str(&deep);
	paths[2] = "/d/a";
	rcp_buf_reset(&b);
	rcp_agentmsg_put_files(&b, paths, 3);
	CU_ASSERT_EQUAL_FATAL(rcp_agentmsg_get_files(b.data, b.len, &v, &n), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(v[0], paths[0]);
	CU_ASSERT_STRING_EQUAL(v[1], paths[1]);
	rcp_strv_free(v, n);
	/* An empty path, or one cut short, is refused whole. */
	paths[1] = "";
	rcp_buf_reset(&b);
	rcp_agentmsg_put_files(&b, paths, 3);
	CU_ASSERT_EQUAL(rcp_agentmsg_get_files(b.data, b.len, &v, &n),
	    RCP_ERR_PROTO);
	paths[1] = "/d/b";
	rcp_buf_reset(&b);
	rcp_agentmsg_put_files(&b, paths, 3);
	CU_ASSERT_EQUAL(rcp_agentmsg_get_files(b.data, b.len - 1, &v, &n),
	    RCP_ERR_PROTO);
	rcp_buf_release(&deep);
	rcp_buf_release(&b);
}

/* --resume rides in COPY's flags (bit 8), which this build knows. */
static void
test_resume_bit(void)
{
	struct rcp_copy_opts o, back;
	struct rcp_wire_cursor c;
	struct rcp_filter *filter = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	char *manifest = NULL, *cause = NULL;

	rcp_copy_opts_init(&o);
	o.resume = o.overwrite = true;
	rcp_copywire_put_opts(&b, &o, NULL);
	CU_ASSERT_EQUAL(b.data[2] & 1, 1);	/* bit 8 of the u32 at 0 */
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_copywire_get_opts(&c, &back, &filter, &manifest,
	    &cause), 0);
	CU_ASSERT(back.resume && back.overwrite);
	free(cause);
	rcp_filter_free(filter);
	free(manifest);
	rcp_buf_release(&b);
}

/*
 * A CMP_DIFF as cmpwire.c lays it out, by hand (for what put_diff never
 * writes): kind, attr, path, sides, the stats, offset, [targets].
 */
static void
put_raw_diff(struct rcp_buf *b, uint8_t kind, uint32_t attr, uint8_t sides,
    mode_t m0, mode_t m1, bool targets)
{
	struct stat st[2];

	memset(st, 0, sizeof(st));
	st[0].st_mode = m0;
	st[1].st_mode = m1;
	rcp_buf_reset(b);
	rcp_wire_put_u8(b, kind);
	rcp_wire_put_u32(b, attr);
	rcp_wire_put_str(b, "p");
	rcp_wire_put_u8(b, sides);
	if (sides & 1)
		rcp_srcwire_put_stat(b, &st[0]);
	if (sides & 2)
		rcp_srcwire_put_stat(b, &st[1]);
	rcp_wire_put_u64(b, UINT64_MAX);
	if (targets) {
		rcp_wire_put_str(b, "t0");
		rcp_wire_put_str(b, "t1");
	}
}

static int
get_raw_diff(struct rcp_buf *b)
{
	struct rcp_cmpwire_diff w;
	int r = rcp_cmpwire_get_diff(b->data, b->len, &w);

	rcp_cmpwire_diff_release(&w);
	return r;
}

static void
test_cmp_diff_refused(void)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const mode_t F = S_IFREG | 0644, L = S_IFLNK | 0777;

	/* What the engine sends decodes. */
	put_raw_diff(&b, RCP_CMP_MISSING, 0, 1, F, 0, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), 0);
	put_raw_diff(&b, RCP_CMP_ATTR, RCP_ATTR_SIZE, 3, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), 0);
	put_raw_diff(&b, RCP_CMP_CONTENT, 0, 7, L, L, true);
	CU_ASSERT_EQUAL(get_raw_diff(&b), 0);
	put_raw_diff(&b, RCP_CMP_CONTENT, 0, 3, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), 0);
	/* A side bit this build does not know. */
	put_raw_diff(&b, RCP_CMP_MISSING, 0, 1 | 8, F, 0, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_ATTR, RCP_ATTR_SIZE, 3 | 0x80, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	/* An attribute on a kind that has none; content as an attribute. */
	put_raw_diff(&b, RCP_CMP_MISSING, RCP_ATTR_SIZE, 2, 0, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_TYPE, RCP_ATTR_MODE, 3, F, L, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_CONTENT, RCP_ATTR_SIZE, 3, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_ATTR, RCP_ATTR_CONTENT, 3, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	/* Link targets on what is not two symlinks' content, and back. */
	put_raw_diff(&b, RCP_CMP_MISSING, 0, 1 | 4, L, 0, true);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_TYPE, 0, 7, L, F, true);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_CONTENT, 0, 7, F, F, true);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_CONTENT, 0, 7, L, F, true);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	put_raw_diff(&b, RCP_CMP_CONTENT, 0, 3, L, L, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	/* A kind this build does not know. */
	put_raw_diff(&b, 9, 0, 3, F, F, false);
	CU_ASSERT_EQUAL(get_raw_diff(&b), RCP_ERR_PROTO);
	rcp_buf_release(&b);
}

/* COMPARE: labels, caps and option bits. */
static void
test_cmp_request(void)
{
	struct rcp_cmpwire_request req;
	struct rcp_cmp_opts o;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;

	rcp_cmp_opts_init(&o);
	o.content = true;
	o.threads = 8;
	rcp_cmpwire_put_request(&b, "/s", "/d", "h:/s", "", &o);
	CU_ASSERT_EQUAL_FATAL(rcp_cmpwire_get_request(b.data, b.len, &req,
	    &cause), 0);
	CU_ASSERT_STRING_EQUAL(req.label[0], "h:/s");
	CU_ASSERT_STRING_EQUAL(req.label[1], "/d");
	CU_ASSERT(req.opts.content && !req.opts.exit_early);
	CU_ASSERT_EQUAL(req.opts.threads, 8);
	rcp_cmpwire_request_release(&req);
	/* Cut short anywhere: malformed, never a crash or a leak. */
	CU_ASSERT_EQUAL(rcp_cmpwire_get_request(b.data, b.len - 1, &req,
	    &cause), RCP_ERR_PROTO);
	CU_ASSERT_PTR_NOT_NULL(cause);
	rcp_cmpwire_request_release(&req);
	free(cause);
	cause = NULL;
	/* More threads than the cap. */
	o.threads = 257;
	rcp_buf_reset(&b);
	rcp_cmpwire_put_request(&b, "/s", "/d", NULL, NULL, &o);
	CU_ASSERT_EQUAL(rcp_cmpwire_get_request(b.data, b.len, &req,
	    &cause), RCP_ERR_PROTO);
	rcp_cmpwire_request_release(&req);
	free(cause);
	cause = NULL;
	/* An option bit of a newer master: refused, naming the bit. */
	o.threads = 0;
	rcp_buf_reset(&b);
	rcp_cmpwire_put_request(&b, "/s", "/d", NULL, NULL, &o);
	b.data[b.len - 5 * 4] |= 0x80;	/* bit 31 of the flags */
	CU_ASSERT_EQUAL(rcp_cmpwire_get_request(b.data, b.len, &req,
	    &cause), RCP_ERR_VERSION);
	CU_ASSERT_PTR_NOT_NULL(cause);
	rcp_cmpwire_request_release(&req);
	free(cause);
	rcp_buf_release(&b);
}

/* COMPARE_DONE: a failure always comes with a cause, the counters whole. */
static void
test_cmp_done(void)
{
	struct rcp_cmp_stats st, back;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;
	int result = 0;

	memset(&st, 0, sizeof(st));
	st.entries = 7;
	st.errors = 1;
	rcp_cmpwire_put_done(&b, RCP_ERR_PARTIAL, "", &st);
	CU_ASSERT_EQUAL_FATAL(rcp_cmpwire_get_done(b.data, b.len, &result,
	    &cause, &back), 0);
	CU_ASSERT_EQUAL(result, RCP_ERR_PARTIAL);
	CU_ASSERT_STRING_EQUAL(cause, rcp_strerror(RCP_ERR_PARTIAL));
	CU_ASSERT_EQUAL(back.entries, 7);
	CU_ASSERT_EQUAL(back.errors, 1);
	free(cause);
	rcp_buf_reset(&b);
	rcp_cmpwire_put_done(&b, 0, "", &st);
	CU_ASSERT_EQUAL_FATAL(rcp_cmpwire_get_done(b.data, b.len, &result,
	    &cause, &back), 0);
	CU_ASSERT_EQUAL(result, 0);
	CU_ASSERT_STRING_EQUAL(cause, "");
	free(cause);
	/* Cut short: nothing to free, nothing leaked. */
	CU_ASSERT_EQUAL(rcp_cmpwire_get_done(b.data, b.len - 1, &result,
	    &cause, &back), RCP_ERR_PROTO);
	CU_ASSERT_PTR_NULL(cause);
	rcp_buf_release(&b);
}

static void
test_dst_range_wire(void)
{
	struct rcp_dstrange q, g;
	struct rcp_buf b = RCP_BUF_INIT;
	size_t n;

	memset(&q, 0, sizeof(q));
	q.src = rcp_xstrdup("/src/a\377b");
	q.dst = rcp_xstrdup("/dst/a\377b");
	q.st.st_mode = S_IFREG | 0644;
	q.st.st_ino = 77;
	q.st.st_size = 1 << 20;
	q.dst_ino = 99;
	q.off = 4096;
	q.len = 8192;
	q.follow = true;
	q.checked = true;
	rcp_dstrange_put(&b, &q);
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), 0);
	CU_ASSERT_STRING_EQUAL(g.src, q.src);
	CU_ASSERT_STRING_EQUAL(g.dst, q.dst);
	CU_ASSERT_EQUAL(g.st.st_ino, 77);
	CU_ASSERT_EQUAL(g.st.st_size, 1 << 20);
	CU_ASSERT_EQUAL(g.dst_ino, 99);
	CU_ASSERT_EQUAL(g.off, 4096);
	CU_ASSERT_EQUAL(g.len, 8192);
	CU_ASSERT(g.follow && g.checked && !g.sparse);
	rcp_dstrange_release(&g);
	/* Cut anywhere: refused. */
	for (n = 0; n < b.len; n++) {
		CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, n, &g), RCP_ERR_PROTO);
		rcp_dstrange_release(&g);
	}
	/* Unknown flag bits, and sparse with checked. */
	b.data[b.len - 1] = 0x08;
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), RCP_ERR_PROTO);
	rcp_dstrange_release(&g);
	b.data[b.len - 1] = 0x06;
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), RCP_ERR_PROTO);
	rcp_dstrange_release(&g);
	/* A relative destination, an empty range, one past the end. */
	free(q.dst);
	q.dst = rcp_xstrdup("dst/x");
	rcp_buf_reset(&b);
	rcp_dstrange_put(&b, &q);
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), RCP_ERR_PROTO);
	rcp_dstrange_release(&g);
	free(q.dst);
	q.dst = rcp_xstrdup("/dst/x");
	q.len = 0;
	rcp_buf_reset(&b);
	rcp_dstrange_put(&b, &q);
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), RCP_ERR_PROTO);
	rcp_dstrange_release(&g);
	q.len = 2;
	q.off = (uint64_t)INT64_MAX;
	rcp_buf_reset(&b);
	rcp_dstrange_put(&b, &q);
	CU_ASSERT_EQUAL(rcp_dstrange_get(b.data, b.len, &g), RCP_ERR_PROTO);
	rcp_dstrange_release(&g);
	rcp_dstrange_release(&q);
	rcp_buf_release(&b);
}

/* Whether file path holds n bytes equal to data. */
static bool
file_is(const char *path, const char *data, size_t n)
{
	char *buf = rcp_xmalloc(n + 1);
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok;

	got = fd >= 0 ? read(fd, buf, n + 1) : -1;
	ok = got == (ssize_t)n && memcmp(buf, data, n) == 0;
	if (fd >= 0)
		close(fd);
	free(buf);
	return ok;
}

static void
test_dst_range_run(void)
{
	char *dir = unit_tmpdir("dstrange"), *src, *dst, *other, *data, *zeros;
	struct rcp_dstpool_source ds = { &rcp_src_local, NULL };
	struct rcp_dstrange q;
	struct stat st, dt;
	struct rcp_io io;
	atomic_int busy;
	atomic_bool lost, no_cfr;
	char *buf = rcp_xmalloc(1 << 16);
	size_t n = 1 << 20, i;
	bool checked;
	int fd;

	data = rcp_xmalloc(n);
	zeros = rcp_xcalloc(1, n);
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 7 + i / 4099);
	src = rcp_path_join(dir, "src");
	dst = rcp_path_join(dir, "dst");
	other = rcp_path_join(dir, "other");
	fd = open(src, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CU_ASSERT_EQUAL(write(fd, data, n), (ssize_t)n);
	close(fd);
	/* The engine's new file, of the source's size, not yet written. */
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)n), 0);
	close(fd);
	CU_ASSERT_EQUAL(stat(src, &st), 0);
	CU_ASSERT_EQUAL(stat(dst, &dt), 0);
	memset(&io, 0, sizeof(io));
	atomic_init(&no_cfr, false);
	io.buf = buf;
	io.bufsz = 1 << 16;
	io.no_cfr = &no_cfr;
	atomic_init(&busy, 0);
	atomic_init(&lost, false);
	memset(&q, 0, sizeof(q));
	q.src = src;
	q.dst = dst;
	q.st = st;
	q.dst_ino = (uint64_t)dt.st_ino;
	q.off = 0;
	q.len = n / 2;
	CU_ASSERT_EQUAL(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked), (int64_t)(n / 2));
	q.off = n / 2;
	q.checked = true;
	CU_ASSERT_EQUAL(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked), (int64_t)(n / 2));
	CU_ASSERT(file_is(dst, data, n));
	CU_ASSERT_EQUAL(atomic_load(&busy), 0);
	/* Another inode at the destination's path: refused, untouched. */
	fd = open(other, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	CU_ASSERT_EQUAL(ftruncate(fd, (off_t)n), 0);
	close(fd);
	q.dst = other;
	q.off = 0;
	q.checked = false;
	CU_ASSERT_EQUAL(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked), -ESTALE);
	CU_ASSERT(file_is(other, zeros, n));
	/* A symlink in its place is not followed. */
	CU_ASSERT_EQUAL(unlink(dst), 0);
	CU_ASSERT_EQUAL(symlink(other, dst), 0);
	q.dst = dst;
	CU_ASSERT(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked) < 0);
	CU_ASSERT(file_is(other, zeros, n));
	/* The source changed since the engine opened it: refused. */
	CU_ASSERT_EQUAL(unlink(dst), 0);
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	close(fd);
	CU_ASSERT_EQUAL(stat(dst, &dt), 0);
	q.dst_ino = (uint64_t)dt.st_ino;
	q.st.st_mtim.tv_sec -= 10;
	CU_ASSERT_EQUAL(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked), -ESTALE);
	CU_ASSERT_EQUAL(stat(dst, &dt), 0);
	CU_ASSERT_EQUAL(dt.st_size, 0);
	/* No source left: gone, not a disk's error. */
	q.st = st;
	atomic_store(&lost, true);
	CU_ASSERT_EQUAL(rcp_dstpool_run(&ds, 1, &busy, &lost, &q, &io,
	    &checked), RCP_ERR_GONE);
	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
	free(other);
	free(data);
	free(zeros);
	free(buf);
}

void
test_srcremote_register(void)
{
	static const struct unit_test tests[] = {
		{ "errno_vs_gone", test_errno_vs_gone },
		{ "write_error_stops", test_write_error_stops },
		{ "names_stay_inside", test_names_stay_inside },
		{ "hash_served", test_hash_served },
		{ "hash_bounded", test_hash_bounded },
		{ "hash_old_agent", test_hash_old_agent },
		{ "read_hashed", test_read_hashed },
		{ "unknown_bits", test_unknown_bits },
		{ "files_wire", test_files_wire },
		{ "resume_bit", test_resume_bit },
		{ "one_trip_dirs", test_one_trip_dirs },
		{ "mux_spreads", test_mux_spreads },
		{ "mux_lost", test_mux_lost },
		{ "mux_swap", test_mux_swap },
		{ "dst_range_wire", test_dst_range_wire },
		{ "dst_range_run", test_dst_range_run },
		{ "dst_range_lease", test_dst_range_lease },
		{ "cmp_diff_refused", test_cmp_diff_refused },
		{ "cmp_request", test_cmp_request },
		{ "cmp_done", test_cmp_done },
		{ NULL, NULL }
	};

	unit_add_suite("srcremote", tests);
}
