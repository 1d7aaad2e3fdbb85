/*
 * fuzz-remotemsg.c: the bodies of the messages between the master and its
 * agents: a stat on the wire (remote/srcwire.c); a copy's options,
 * counters, request (COPY) and answer (COPY_DONE) (remote/copywire.c);
 * HELLO, PEER and LISTENING, SELFTEST and its answer, SRC_PREFETCH and
 * FILES, DONE, ERROR and LOG (remote/agentmsg.c); rcmp's COMPARE, CMP_DIFF
 * and COMPARE_DONE (remote/cmpwire.c).  The first byte of the
 * input picks the decoder, the rest is the body.  What decodes must encode
 * back to what decodes the same.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agentmsg.h"
#include "remote/cmpwire.h"
#include "remote/copywire.h"
#include "remote/srcwire.h"
#include "fuzz.h"

static void
do_stat(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_buf b = RCP_BUF_INIT;
	struct stat st, again;

	rcp_wire_cursor_init(&c, p, n);
	while (rcp_srcwire_get_stat(&c, &st) == 0) {
		rcp_buf_reset(&b);
		rcp_srcwire_put_stat(&b, &st);
		struct rcp_wire_cursor c2;
		rcp_wire_cursor_init(&c2, b.data, b.len);
		if (rcp_srcwire_get_stat(&c2, &again) != 0 || c2.left != 0 ||
		    again.st_mode != st.st_mode ||
		    again.st_size != st.st_size ||
		    again.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
			abort();
	}
	rcp_buf_release(&b);
}

static bool
same_preserve(const struct rcp_preserve_one *a,
    const struct rcp_preserve_one *b)
{
	return a->uid == b->uid && a->gid == b->gid && a->time == b->time &&
	    a->acl == b->acl && a->xattr == b->xattr &&
	    a->mode_mask == b->mode_mask;
}

/*
 * The options that ride in spare bits (-A, -X, --resume) or after the
 * filter rules (--verify, --manifest): a later field must not eat an
 * earlier one.
 */
static bool
same_opts(const struct rcp_copy_opts *a, const struct rcp_copy_opts *b)
{
	return same_preserve(&a->preserve.f, &b->preserve.f) &&
	    same_preserve(&a->preserve.d, &b->preserve.d) &&
	    same_preserve(&a->preserve.l, &b->preserve.l) &&
	    a->overwrite_compare.f == b->overwrite_compare.f &&
	    a->overwrite_compare.d == b->overwrite_compare.d &&
	    a->overwrite_compare.l == b->overwrite_compare.l &&
	    a->verify == b->verify && a->resume == b->resume &&
	    (a->manifest == NULL) == (b->manifest == NULL) &&
	    (a->manifest == NULL || strcmp(a->manifest, b->manifest) == 0);
}

static void
do_opts(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_copy_opts o, o2;
	struct rcp_filter *f = NULL, *f2 = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL, *m = NULL, *m2 = NULL;

	rcp_wire_cursor_init(&c, p, n);
	if (rcp_copywire_get_opts(&c, &o, &f, &m, &cause) != 0) {
		free(cause);
		return;
	}
	rcp_copywire_put_opts(&b, &o, f);
	rcp_wire_cursor_init(&c, b.data, b.len);
	if (rcp_copywire_get_opts(&c, &o2, &f2, &m2, &cause) != 0 ||
	    o2.max_workers != o.max_workers || o2.dry_run != o.dry_run ||
	    o2.chunk_size != o.chunk_size || (f == NULL) != (f2 == NULL) ||
	    !same_opts(&o, &o2))
		abort();
	free(m);
	free(m2);
	rcp_filter_free(f);
	rcp_filter_free(f2);
	rcp_buf_release(&b);
}

static void
do_stats(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_copy_stats s;

	rcp_wire_cursor_init(&c, p, n);
	(void)rcp_copywire_get_stats(&c, &s);
}

/* What a put wrote must decode: a get that refuses it is a bug. */
#define MUST(call) do {							\
	if ((call) != 0)						\
		abort();						\
} while (0)

static void
do_peer(const uint8_t *p, size_t n)
{
	uint8_t fp[RCP_CERT_FP_LEN], fp2[RCP_CERT_FP_LEN];
	struct rcp_buf b = RCP_BUF_INIT;
	char *addr, *addr2, *host = NULL, *ver = NULL, *host2, *ver2;
	bool more;

	if (rcp_agentmsg_get_peer(p, n, &addr, fp) != 0)
		return;
	(void)rcp_agentmsg_get_peer_about(p, n, &host, &ver);
	more = rcp_agentmsg_peer_more(p, n);
	if (more && host == NULL)
		abort();
	rcp_agentmsg_put_peer(&b, addr, fp);
	if (host != NULL)
		rcp_agentmsg_put_peer_about(&b, host, ver);
	if (host != NULL && more)
		rcp_agentmsg_put_peer_more(&b);
	MUST(rcp_agentmsg_get_peer(b.data, b.len, &addr2, fp2));
	MUST(rcp_agentmsg_get_peer_about(b.data, b.len, &host2, &ver2));
	if (rcp_agentmsg_peer_more(b.data, b.len) != (host != NULL && more))
		abort();
	if (strcmp(addr, addr2) != 0 || memcmp(fp, fp2, sizeof(fp)) != 0 ||
	    (host == NULL) != (host2 == NULL) || (host != NULL &&
	    (strcmp(host, host2) != 0 || strcmp(ver, ver2) != 0)))
		abort();
	free(addr);
	free(addr2);
	free(host);
	free(ver);
	free(host2);
	free(ver2);
	rcp_buf_release(&b);
}

static void
do_selftest(const uint8_t *p, size_t n)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *name, *name2;
	uint32_t count, count2;
	uint64_t bytes, bytes2;
	size_t len, len2;

	if (rcp_agentmsg_get_selftest(p, n, &count, &name, &len) == 0) {
		rcp_agentmsg_put_selftest(&b, count, name, len);
		MUST(rcp_agentmsg_get_selftest(b.data, b.len, &count2,
		    &name2, &len2));
		if (count != count2 || len != len2 ||
		    (len > 0 && memcmp(name, name2, len) != 0))
			abort();
	}
	/* The same bytes as its answer. */
	rcp_buf_reset(&b);
	if (rcp_agentmsg_get_selftest_ok(p, n, &count, &bytes) == 0) {
		rcp_agentmsg_put_selftest_ok(&b, count, bytes);
		MUST(rcp_agentmsg_get_selftest_ok(b.data, b.len, &count2,
		    &bytes2));
		if (count != count2 || bytes != bytes2)
			abort();
	}
	rcp_buf_release(&b);
}

static bool
same_strv(char **a, size_t na, char **b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return true;
}

static bool
same_filter(const struct rcp_filter *a, const struct rcp_filter *b)
{
	size_t i, n = rcp_filter_count(a);
	int ta, tb;

	if (n != rcp_filter_count(b))
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(rcp_filter_rule(a, i, &ta),
		    rcp_filter_rule(b, i, &tb)) != 0 || ta != tb)
			return false;
	return true;
}

/* A copied hook, for the request's record-files bit to be put again. */
static void
fuzz_copied(void *arg, const char *path)
{
	(void)arg;
	(void)path;
}

static void
do_copy(const uint8_t *p, size_t n)
{
	struct rcp_copywire_request req, req2;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;

	if (rcp_copywire_get_request(p, n, &req, &cause) != 0) {
		if (cause == NULL)
			abort();	/* an error always says why */
		free(cause);
		rcp_copywire_request_release(&req);
		return;
	}
	if (req.record_files)
		req.opts.copied = fuzz_copied;
	rcp_copywire_put_request(&b, (const char *const *)req.srcs,
	    req.nsrcs, req.dst, &req.opts, req.filter, req.src_host);
	MUST(rcp_copywire_get_request(b.data, b.len, &req2, &cause));
	if (!same_strv(req.srcs, req.nsrcs, req2.srcs, req2.nsrcs) ||
	    strcmp(req.dst, req2.dst) != 0 ||
	    (req.src_host == NULL) != (req2.src_host == NULL) ||
	    (req.src_host != NULL && strcmp(req.src_host, req2.src_host) != 0) ||
	    req.opts.max_workers != req2.opts.max_workers ||
	    req.opts.delete != req2.opts.delete ||
	    req.record_files != req2.record_files ||
	    !same_opts(&req.opts, &req2.opts) ||
	    !same_filter(req.filter, req2.filter) ||
	    req.opts.filter != req.filter || req2.opts.filter != req2.filter)
		abort();
	rcp_copywire_request_release(&req);
	rcp_copywire_request_release(&req2);
	rcp_buf_release(&b);
}

static void
do_copy_done(const uint8_t *p, size_t n)
{
	struct rcp_copy_stats s, s2;
	struct rcp_buf b = RCP_BUF_INIT;
	char *why, *why2;
	int result, result2;

	if (rcp_copywire_get_done(p, n, &result, &why, &s) != 0)
		return;
	rcp_copywire_put_done(&b, result, why, &s);
	MUST(rcp_copywire_get_done(b.data, b.len, &result2, &why2, &s2));
	if (result != result2 || strcmp(why, why2) != 0 ||
	    memcmp(&s, &s2, sizeof(s)) != 0)
		abort();
	free(why);
	free(why2);
	rcp_buf_release(&b);
}

static void
do_prefetch(const uint8_t *p, size_t n)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char **v, **v2;
	size_t nv, nv2;

	if (rcp_agentmsg_get_prefetch(p, n, &v, &nv) != 0)
		return;
	rcp_agentmsg_put_prefetch(&b, (const char *const *)v, nv);
	MUST(rcp_agentmsg_get_prefetch(b.data, b.len, &v2, &nv2));
	if (!same_strv(v, nv, v2, nv2))
		abort();
	rcp_strv_free(v, nv);
	rcp_strv_free(v2, nv2);
	rcp_buf_release(&b);
}

/* FILES: laid out as SRC_PREFETCH, with other caps; no empty path. */
static void
do_files(const uint8_t *p, size_t n)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char **v, **v2;
	size_t i, nv, nv2;

	if (rcp_agentmsg_get_files(p, n, &v, &nv) != 0)
		return;
	for (i = 0; i < nv; i++)
		if (v[i][0] == '\0')
			abort();
	rcp_agentmsg_put_files(&b, (const char *const *)v, nv);
	MUST(rcp_agentmsg_get_files(b.data, b.len, &v2, &nv2));
	if (!same_strv(v, nv, v2, nv2))
		abort();
	rcp_strv_free(v, nv);
	rcp_strv_free(v2, nv2);
	rcp_buf_release(&b);
}

static void
do_done(const uint8_t *p, size_t n)
{
	struct rcp_runstats rs, rs2;
	struct rcp_buf b = RCP_BUF_INIT;
	int status, status2;

	if (rcp_agentmsg_get_done(p, n, &status, &rs) != 0)
		return;
	rcp_agentmsg_put_done(&b, status, &rs);
	MUST(rcp_agentmsg_get_done(b.data, b.len, &status2, &rs2));
	if (status != status2 || memcmp(&rs, &rs2, sizeof(rs)) != 0)
		abort();
	rcp_buf_release(&b);
}

static void
do_error_log(const uint8_t *p, size_t n)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char *text, *text2;
	int v, v2;

	if (rcp_agentmsg_get_error(p, n, &v, &text) == 0) {
		rcp_agentmsg_put_error(&b, v, text);
		MUST(rcp_agentmsg_get_error(b.data, b.len, &v2, &text2));
		if (v != v2 || strcmp(text, text2) != 0)
			abort();
		free(text);
		free(text2);
	}
	/* The same bytes as a log record. */
	rcp_buf_reset(&b);
	if (rcp_agentmsg_get_log(p, n, &v, &text) == 0) {
		if (v < RCP_LOG_OUTPUT || v > RCP_LOG_TRACE)
			abort();
		rcp_agentmsg_put_log(&b, v, text);
		MUST(rcp_agentmsg_get_log(b.data, b.len, &v2, &text2));
		if (v != v2 || strcmp(text, text2) != 0)
			abort();
		free(text);
		free(text2);
	}
	rcp_buf_release(&b);
}

static void
do_hello(uint8_t *p, size_t n)
{
	static const uint8_t token[RCP_TOKEN_LEN] = "0123456789abcdef0123456789abcde";
	struct rcp_wire_frame f = { RCP_MSG_HELLO, 1, (uint32_t)n, p };
	char *cause = NULL;
	int role;

	if (rcp_agentmsg_check_hello(&f, token, &role, &cause) != 0)
		free(cause);
}

/* COMPARE, CMP_DIFF and COMPARE_DONE: each decodes, re-encodes the same. */
static void
do_compare(const uint8_t *p, size_t n)
{
	struct rcp_cmpwire_request req, again;
	struct rcp_cmpwire_diff w, w2;
	struct rcp_cmp_stats s, s2;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL, *cause2 = NULL;
	int result, result2;

	if (rcp_cmpwire_get_request(p, n, &req, &cause) == 0) {
		rcp_cmpwire_put_request(&b, req.src, req.dst, req.label[0],
		    req.label[1], &req.opts);
		if (rcp_cmpwire_get_request(b.data, b.len, &again,
		    &cause2) != 0 || strcmp(again.src, req.src) != 0 ||
		    strcmp(again.dst, req.dst) != 0 ||
		    again.opts.content != req.opts.content ||
		    again.opts.attrs.f != req.opts.attrs.f)
			abort();
		rcp_cmpwire_request_release(&again);
	}
	rcp_cmpwire_request_release(&req);
	free(cause);
	free(cause2);
	cause = cause2 = NULL;
	rcp_buf_reset(&b);
	if (rcp_cmpwire_get_diff(p, n, &w) == 0) {
		rcp_cmpwire_put_diff(&b, &w.d);
		if (rcp_cmpwire_get_diff(b.data, b.len, &w2) != 0 ||
		    w2.d.kind != w.d.kind || strcmp(w2.d.path, w.d.path) != 0 ||
		    w2.d.offset != w.d.offset || (w2.d.src == NULL) !=
		    (w.d.src == NULL))
			abort();
		rcp_cmpwire_diff_release(&w2);
	}
	rcp_cmpwire_diff_release(&w);
	rcp_buf_reset(&b);
	if (rcp_cmpwire_get_done(p, n, &result, &cause, &s) == 0) {
		rcp_cmpwire_put_done(&b, result, cause, &s);
		if (rcp_cmpwire_get_done(b.data, b.len, &result2, &cause2,
		    &s2) != 0 || result2 != result ||
		    strcmp(cause2, cause) != 0 || s2.differences !=
		    s.differences)
			abort();
	}
	free(cause);
	free(cause2);
	rcp_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *body;

	if (size < 1)
		return 0;
	/* A copy: the decoders get exactly the body, no byte more. */
	body = malloc(size - 1 > 0 ? size - 1 : 1);
	memcpy(body, data + 1, size - 1);
	switch (data[0] % 11) {
	case 0:
		do_stat(body, size - 1);
		break;
	case 1:
		do_opts(body, size - 1);
		break;
	case 2:
		do_stats(body, size - 1);
		break;
	case 3:
		do_hello(body, size - 1);
		break;
	case 4:
		do_peer(body, size - 1);
		break;
	case 5:
		do_selftest(body, size - 1);
		break;
	case 6:
		do_copy(body, size - 1);
		break;
	case 7:
		do_copy_done(body, size - 1);
		break;
	case 8:
		/* The same bytes as FILES, which shares the layout. */
		do_prefetch(body, size - 1);
		do_files(body, size - 1);
		break;
	case 10:
		do_compare(body, size - 1);
		break;
	default:
		do_done(body, size - 1);
		do_error_log(body, size - 1);
		break;
	}
	free(body);
	return 0;
}
