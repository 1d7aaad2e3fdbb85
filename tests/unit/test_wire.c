/*
 * test_wire.c: framing and the field codec: round trips, frames split at
 * every byte, names that are not UTF-8, and truncated, oversized and
 * garbage input refused cleanly: structured garbage bodies are checked
 * getter by getter against a model, on exactly-sized copies for ASan.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/wire.h"
#include "unit.h"

#include "base/banned.h"

static const char odd_name[] = "dir/\xff\xfe-caf\xc3\xa9\nline";

/* Builds a frame (header + body) of one message holding every field type. */
static void
build(struct rcp_buf *out, uint32_t id)
{
	struct rcp_buf body = RCP_BUF_INIT;
	uint8_t hdr[RCP_WIRE_HDR];

	rcp_wire_put_u8(&body, 0xab);
	rcp_wire_put_u16(&body, 0xbeef);
	rcp_wire_put_u32(&body, 0xdeadbeef);
	rcp_wire_put_u64(&body, 0x0123456789abcdefull);
	rcp_wire_put_str(&body, odd_name);
	rcp_wire_put_bytes(&body, "\0\1\2", 3);
	rcp_wire_header(hdr, RCP_MSG_ECHO, id, (uint32_t)body.len);
	rcp_buf_add(out, hdr, sizeof(hdr));
	rcp_buf_add(out, body.data, body.len);
	rcp_buf_release(&body);
}

static void
check_body(const struct rcp_wire_frame *f)
{
	struct rcp_wire_cursor c;
	const uint8_t *p;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	size_t n;
	char *s = NULL;

	CU_ASSERT_EQUAL(f->type, RCP_MSG_ECHO);
	rcp_wire_cursor_init(&c, f->body, f->len);
	CU_ASSERT_EQUAL(rcp_wire_get_u8(&c, &u8), 0);
	CU_ASSERT_EQUAL(u8, 0xab);
	CU_ASSERT_EQUAL(rcp_wire_get_u16(&c, &u16), 0);
	CU_ASSERT_EQUAL(u16, 0xbeef);
	CU_ASSERT_EQUAL(rcp_wire_get_u32(&c, &u32), 0);
	CU_ASSERT_EQUAL(u32, 0xdeadbeef);
	CU_ASSERT_EQUAL(rcp_wire_get_u64(&c, &u64), 0);
	CU_ASSERT_EQUAL(u64, 0x0123456789abcdefull);
	CU_ASSERT_EQUAL(rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME), 0);
	CU_ASSERT_STRING_EQUAL(s, odd_name);	/* bytes intact */
	free(s);
	CU_ASSERT_EQUAL(rcp_wire_get_bytes(&c, &p, &n, 16), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_EQUAL(memcmp(p, "\0\1\2", 3), 0);
	CU_ASSERT_EQUAL(c.left, 0);
	/* Reading past the end fails cleanly. */
	CU_ASSERT_EQUAL(rcp_wire_get_u8(&c, &u8), RCP_ERR_PROTO);
}

static void
test_round_trip(void)
{
	struct rcp_buf b = RCP_BUF_INIT;
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	long n;

	build(&b, 42);
	rcp_wire_reader_init(&r, RCP_PROTO_MAX_FRAME);
	n = rcp_wire_reader_feed(&r, (uint8_t *)b.data, b.len, &f);
	CU_ASSERT_EQUAL(n, (long)b.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f.body);
	CU_ASSERT_EQUAL(f.id, 42);
	check_body(&f);
	rcp_wire_frame_release(&f);
	CU_ASSERT_FALSE(rcp_wire_reader_partial(&r));
	rcp_wire_reader_release(&r);
	rcp_buf_release(&b);
}

/* Three frames fed one byte at a time come out whole, in order. */
static void
test_split_everywhere(void)
{
	struct rcp_buf b = RCP_BUF_INIT;
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	size_t i;
	uint32_t want = 1;
	long n;

	build(&b, 1);
	build(&b, 2);
	build(&b, 3);
	rcp_wire_reader_init(&r, RCP_PROTO_MAX_FRAME);
	for (i = 0; i < b.len; i++) {
		n = rcp_wire_reader_feed(&r, (uint8_t *)b.data + i, 1, &f);
		CU_ASSERT_EQUAL_FATAL(n, 1);
		if (f.body != NULL) {
			CU_ASSERT_EQUAL(f.id, want);
			check_body(&f);
			want++;
			rcp_wire_frame_release(&f);
		}
	}
	CU_ASSERT_EQUAL(want, 4);
	rcp_wire_reader_release(&r);
	rcp_buf_release(&b);
}

static void
test_oversized_and_truncated(void)
{
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	struct rcp_wire_cursor c;
	uint8_t hdr[RCP_WIRE_HDR], body[8] = { 0, 0, 0, 200, 'a', 'b' };
	const uint8_t *p;
	size_t n;
	char *s = NULL;

	/* A header announcing a body over the cap is refused at once. */
	rcp_wire_header(hdr, RCP_MSG_LOG, 0, RCP_PROTO_MAX_FRAME + 1);
	rcp_wire_reader_init(&r, RCP_PROTO_MAX_FRAME);
	CU_ASSERT_EQUAL(rcp_wire_reader_feed(&r, hdr, sizeof(hdr), &f),
	    RCP_ERR_TOOBIG);
	CU_ASSERT_PTR_NULL(f.body);
	rcp_wire_reader_release(&r);

	/* A string claiming 200 bytes in an 8-byte body. */
	rcp_wire_cursor_init(&c, body, sizeof(body));
	CU_ASSERT_EQUAL(rcp_wire_get_bytes(&c, &p, &n, 1000), RCP_ERR_PROTO);
	/* Over its own cap, whatever the body holds. */
	rcp_wire_cursor_init(&c, body, sizeof(body));
	CU_ASSERT_EQUAL(rcp_wire_get_bytes(&c, &p, &n, 100), RCP_ERR_TOOBIG);
	/* Names cannot hold NUL bytes. */
	body[3] = 3;
	body[5] = '\0';
	rcp_wire_cursor_init(&c, body, sizeof(body));
	CU_ASSERT_EQUAL(rcp_wire_get_str(&c, &s, 100), RCP_ERR_PROTO);
	CU_ASSERT_PTR_NULL(s);

	/* A frame cut short is seen as partial. */
	rcp_wire_header(hdr, RCP_MSG_LOG, 0, 100);
	rcp_wire_reader_init(&r, RCP_PROTO_MAX_FRAME);
	CU_ASSERT_EQUAL(rcp_wire_reader_feed(&r, hdr, sizeof(hdr), &f),
	    (long)sizeof(hdr));
	CU_ASSERT_TRUE(rcp_wire_reader_partial(&r));
	rcp_wire_reader_release(&r);
}

/* Random bytes never crash the reader or the cursor. */
/* xorshift64: reproducible garbage. */
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * A body of structured garbage: length-prefixed strings that fit, that are
 * longer than what is left (truncated), over the getters' cap or huge, some
 * holding a NUL, and odd runs of raw bytes in between, so that the getters
 * meet every case both on and off a field boundary.
 */
static size_t
garbage_body(uint64_t *x, uint8_t *b, size_t cap)
{
	size_t n = 0, want = rnd(x) % cap, k, i;
	uint32_t len;

	while (n < want) {
		switch (rnd(x) % 7) {
		case 0:		/* a string that fits, maybe with a NUL */
		case 1:
			len = (uint32_t)(rnd(x) % 40);
			if (n + 4 + len > want)
				len = 0;
			if (n + 4 + len > cap)
				return n;
			b[n] = 0, b[n + 1] = 0, b[n + 2] = 0, b[n + 3] = (uint8_t)len;
			for (i = 0; i < len; i++)
				b[n + 4 + i] = (uint8_t)('a' + rnd(x) % 26);
			if (len > 0 && rnd(x) % 4 == 0)
				b[n + 4 + rnd(x) % len] = '\0';
			n += 4 + len;
			break;
		case 2:		/* a length past the end, or over the cap */
			if (n + 4 > cap)
				return n;
			len = (uint32_t)(cap + rnd(x) % 300);
			if (rnd(x) % 3 == 0)
				len = 0xffffffffu - (uint32_t)(rnd(x) % 4);
			b[n] = (uint8_t)(len >> 24), b[n + 1] = (uint8_t)(len >> 16);
			b[n + 2] = (uint8_t)(len >> 8), b[n + 3] = (uint8_t)len;
			n += 4;
			break;
		case 3:		/* a string cut short by the body's end */
			len = (uint32_t)(2 + rnd(x) % 60);
			if (n + 4 + len > cap)
				return n;
			b[n] = 0, b[n + 1] = 0, b[n + 2] = 0, b[n + 3] = (uint8_t)len;
			k = rnd(x) % len;
			for (i = 0; i < k; i++)
				b[n + 4 + i] = (uint8_t)('A' + rnd(x) % 26);
			return n + 4 + k;
		default:	/* raw bytes: fixed-size fields, misalignment */
			k = 1 + rnd(x) % 9;
			for (i = 0; i < k && n < cap; i++)
				b[n++] = (uint8_t)rnd(x);
			break;
		}
	}
	return n;
}

/* What the garbage test saw, so that it can show it reached every case. */
struct garbage_seen {
	unsigned long	ok_fixed, short_fixed, ok_bytes, ok_str, trunc, toobig,
			nul;
};

/*
 * Runs random getters over an exactly-sized copy of a body (ASan catches a
 * read past its end) and checks each against a model of the body: what it
 * returns, what it reads, and that the cursor stays inside the body: after
 * a failure it has moved by at most a length prefix, never past the end.
 */
static void
garbage_getters(uint64_t *x, const uint8_t *body, size_t len,
    struct garbage_seen *seen)
{
	static const size_t fixed[] = { 1, 2, 4, 8 };
	struct rcp_wire_cursor c;
	const uint8_t *p, *end = body + len;
	size_t off, before, n, w, max, i;
	uint64_t v, want;
	uint32_t v32, plen;
	uint16_t v16;
	uint8_t v8;
	char *s;
	int r, step, op, expect;

	rcp_wire_cursor_init(&c, body, len);
	for (step = 0; step < 64; step++) {
		off = (size_t)(c.p - body);
		before = c.left;
		CU_ASSERT_TRUE_FATAL(off <= len && c.p + c.left == end);
		op = (int)(rnd(x) % 7);
		if (op < 4) {
			w = fixed[op];
			switch (op) {
			case 0: r = rcp_wire_get_u8(&c, &v8); v = v8; break;
			case 1: r = rcp_wire_get_u16(&c, &v16); v = v16; break;
			case 2: r = rcp_wire_get_u32(&c, &v32); v = v32; break;
			default: r = rcp_wire_get_u64(&c, &v); break;
			}
			if (before >= w) {
				for (want = 0, i = 0; i < w; i++)
					want = want << 8 | body[off + i];
				CU_ASSERT_EQUAL(r, 0);
				CU_ASSERT_TRUE(v == want);
				CU_ASSERT_EQUAL(c.left, before - w);
				seen->ok_fixed++;
			} else {
				CU_ASSERT_EQUAL(r, RCP_ERR_PROTO);
				/* u64 is two u32s: the first may have gone. */
				CU_ASSERT_TRUE(before - c.left <= (w == 8 ? 4 : 0));
				seen->short_fixed++;
			}
		} else {
			max = op == 6 ? 1 + rnd(x) % 64 : 64;
			plen = before >= 4 ? be32(body + off) : 0;
			if (before < 4)
				expect = RCP_ERR_PROTO;
			else if (plen > max)
				expect = RCP_ERR_TOOBIG;
			else if (plen > before - 4)
				expect = RCP_ERR_PROTO;
			else
				expect = 0;
			if (op == 4 || op == 6) {
				p = NULL;
				n = 0;
				r = rcp_wire_get_bytes(&c, &p, &n, max);
				CU_ASSERT_EQUAL(r, expect);
				if (r == 0) {
					CU_ASSERT_TRUE(p == body + off + 4);
					CU_ASSERT_EQUAL(n, plen);
					seen->ok_bytes++;
				}
			} else {
				s = NULL;
				if (expect == 0 && memchr(body + off + 4, '\0',
				    plen) != NULL)
					expect = RCP_ERR_PROTO, seen->nul++;
				r = rcp_wire_get_str(&c, &s, max);
				CU_ASSERT_EQUAL(r, expect);
				if (r == 0) {
					CU_ASSERT_PTR_NOT_NULL_FATAL(s);
					CU_ASSERT_EQUAL(strlen(s), plen);
					CU_ASSERT_EQUAL(memcmp(s, body + off + 4,
					    plen), 0);
					free(s);
					seen->ok_str++;
				} else {
					CU_ASSERT_PTR_NULL(s);
				}
			}
			if (r == 0) {
				CU_ASSERT_EQUAL(c.left, before - 4 - plen);
			} else {
				/*
				 * Moved by the length prefix at most, or (a
				 * string refused for its NUL) past that string:
				 * never past the end (checked below).
				 */
				CU_ASSERT_TRUE(before - c.left <= 4 ||
				    (op == 5 && before - c.left == 4 + plen));
				if (r == RCP_ERR_TOOBIG)
					seen->toobig++;
				else if (before >= 4 && plen > before - 4)
					seen->trunc++;
			}
		}
		CU_ASSERT_TRUE_FATAL(c.left <= before && c.p + c.left == end);
		if (c.left == 0 && rnd(x) % 2 == 0)
			break;
	}
}

/*
 * Garbage that reaches the cursor: streams of valid frame headers with
 * structured garbage bodies, fed in random pieces, must come out as the
 * same frames, and the getters must fail cleanly on every body; then
 * headers over the cap and truncated streams.
 */
static void
test_garbage(void)
{
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	struct rcp_buf stream = RCP_BUF_INIT;
	struct garbage_seen seen = { 0 };
	uint8_t body[8][300], hdr[RCP_WIRE_HDR], *copy;
	size_t blen[8], off, piece, nframes, got, i;
	uint64_t x = 88172645463325252ull;
	uint32_t lens[] = { 1025, 1u << 20, 0x7fffffffu, 0xffffffffu };
	long k;
	int round;

	for (round = 0; round < 2000; round++) {
		rcp_buf_reset(&stream);
		nframes = 1 + rnd(&x) % 8;
		for (i = 0; i < nframes; i++) {
			blen[i] = garbage_body(&x, body[i], sizeof(body[i]));
			rcp_wire_header(hdr, (uint16_t)(i + 1),
			    (uint32_t)round, (uint32_t)blen[i]);
			rcp_buf_add(&stream, hdr, sizeof(hdr));
			rcp_buf_add(&stream, body[i], blen[i]);
		}
		rcp_wire_reader_init(&r, 1024);
		for (off = 0, got = 0; off < stream.len;) {
			piece = 1 + rnd(&x) % 64;
			if (piece > stream.len - off)
				piece = stream.len - off;
			k = rcp_wire_reader_feed(&r,
			    (const uint8_t *)stream.data + off, piece, &f);
			CU_ASSERT_TRUE_FATAL(k > 0 && (size_t)k <= piece);
			off += (size_t)k;
			if (f.body == NULL)
				continue;
			CU_ASSERT_TRUE_FATAL(got < nframes);
			CU_ASSERT_EQUAL(f.type, got + 1);
			CU_ASSERT_EQUAL(f.id, (uint32_t)round);
			CU_ASSERT_EQUAL_FATAL(f.len, blen[got]);
			CU_ASSERT_EQUAL(memcmp(f.body, body[got], f.len), 0);
			/* Exactly sized: the reader's body has a spare NUL. */
			copy = malloc(f.len);
			CU_ASSERT_TRUE_FATAL(copy != NULL || f.len == 0);
			if (f.len > 0)
				memcpy(copy, f.body, f.len);
			rcp_wire_frame_release(&f);
			garbage_getters(&x, copy, blen[got], &seen);
			free(copy);
			got++;
		}
		CU_ASSERT_EQUAL(got, nframes);
		CU_ASSERT_FALSE(rcp_wire_reader_partial(&r));
		rcp_wire_reader_release(&r);

		/* Cut short anywhere: a partial frame, never a whole one. */
		if (stream.len > RCP_WIRE_HDR + blen[0]) {
			piece = rnd(&x) % (RCP_WIRE_HDR + blen[0]);
			if (piece > 0) {
				rcp_wire_reader_init(&r, 1024);
				k = rcp_wire_reader_feed(&r,
				    (const uint8_t *)stream.data, piece, &f);
				CU_ASSERT_EQUAL(k, (long)piece);
				CU_ASSERT_PTR_NULL(f.body);
				CU_ASSERT_TRUE(rcp_wire_reader_partial(&r));
				rcp_wire_reader_release(&r);
			}
		}
	}
	rcp_buf_release(&stream);

	/* Every case was met, often. */
	CU_ASSERT_TRUE(seen.ok_fixed > 1000);
	CU_ASSERT_TRUE(seen.short_fixed > 1000);
	CU_ASSERT_TRUE(seen.ok_bytes > 100);
	CU_ASSERT_TRUE(seen.ok_str > 100);
	CU_ASSERT_TRUE(seen.trunc > 100);
	CU_ASSERT_TRUE(seen.toobig > 100);
	CU_ASSERT_TRUE(seen.nul > 10);

	/* Headers over the cap are refused before any body is buffered. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		rcp_wire_header(hdr, 1, 1, lens[i]);
		rcp_wire_reader_init(&r, 1024);
		k = rcp_wire_reader_feed(&r, hdr, sizeof(hdr), &f);
		CU_ASSERT_EQUAL(k, RCP_ERR_TOOBIG);
		CU_ASSERT_PTR_NULL(f.body);
		rcp_wire_reader_release(&r);
	}
}

/* Lists of strings: their counts are checked before they size anything. */
static void
test_strv(void)
{
	const char *const v[] = { "/a", "", "b/c" };
	struct rcp_wire_cursor c;
	struct rcp_buf b = RCP_BUF_INIT;
	char **got;
	size_t n;

	rcp_wire_put_strv(&b, v, 3);
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 3, 16), 0);
	CU_ASSERT_EQUAL(n, 3);
	CU_ASSERT_STRING_EQUAL(got[0], "/a");
	CU_ASSERT_STRING_EQUAL(got[1], "");
	CU_ASSERT_STRING_EQUAL(got[2], "b/c");
	CU_ASSERT_EQUAL(c.left, 0);
	rcp_strv_free(got, n);

	/* Over the count's cap, over a string's, cut short. */
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 2, 16), RCP_ERR_TOOBIG);
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 3, 2), RCP_ERR_TOOBIG);
	rcp_wire_cursor_init(&c, b.data, b.len - 1);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 3, 16), RCP_ERR_PROTO);

	/* A count the body cannot hold, under the cap. */
	rcp_buf_reset(&b);
	rcp_wire_put_u32(&b, 1000);
	rcp_wire_put_str(&b, "x");
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 65536, 16),
	    RCP_ERR_PROTO);

	/* None is a list too. */
	rcp_buf_reset(&b);
	rcp_wire_put_strv(&b, NULL, 0);
	rcp_wire_cursor_init(&c, b.data, b.len);
	CU_ASSERT_EQUAL(rcp_wire_get_strv(&c, &got, &n, 3, 16), 0);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_PTR_NOT_NULL(got);
	rcp_strv_free(got, n);
	rcp_buf_release(&b);
}

void
test_wire_register(void)
{
	static const struct unit_test tests[] = {
		{ "round_trip", test_round_trip },
		{ "split_everywhere", test_split_everywhere },
		{ "oversized_and_truncated", test_oversized_and_truncated },
		{ "garbage", test_garbage },
		{ "strv", test_strv },
		{ NULL, NULL }
	};

	unit_add_suite("wire", tests);
}
