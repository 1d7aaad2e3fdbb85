/*
 * test_wire.c: framing and the field codec: round trips, frames split at
 * every byte, names that are not UTF-8, and truncated, oversized and
 * garbage input refused without a crash.
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
static void
test_garbage(void)
{
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	struct rcp_wire_cursor c;
	uint8_t buf[4096];
	uint64_t x = 88172645463325252ull, v;
	const uint8_t *p;
	size_t i, n, off;
	char *s;
	long k;
	int round;

	for (round = 0; round < 200; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = (uint8_t)x;
		}
		/* Mostly small lengths, so that frames do complete. */
		buf[0] = buf[1] = 0;
		rcp_wire_reader_init(&r, 1024);
		for (off = 0; off < sizeof(buf);) {
			k = rcp_wire_reader_feed(&r, buf + off,
			    sizeof(buf) - off, &f);
			if (k < 0)
				break;
			off += (size_t)k;
			if (f.body == NULL)
				continue;
			rcp_wire_cursor_init(&c, f.body, f.len);
			while (rcp_wire_get_u64(&c, &v) == 0 &&
			    rcp_wire_get_bytes(&c, &p, &n, 64) == 0)
				;
			rcp_wire_cursor_init(&c, f.body, f.len);
			if (rcp_wire_get_str(&c, &s, 64) == 0)
				free(s);
			rcp_wire_frame_release(&f);
		}
		rcp_wire_reader_release(&r);
	}
	CU_PASS("no crash");
}

void
test_wire_register(void)
{
	static const struct unit_test tests[] = {
		{ "round_trip", test_round_trip },
		{ "split_everywhere", test_split_everywhere },
		{ "oversized_and_truncated", test_oversized_and_truncated },
		{ "garbage", test_garbage },
		{ NULL, NULL }
	};

	unit_add_suite("wire", tests);
}
