/*
 * fuzz-wire.c: frame reassembly and the field getters (net/wire.c).  The
 * input is a byte stream fed to the reader in pieces; each frame's body is
 * then read by a sequence of getters that the body's own bytes choose, and
 * every field read must read back the same after being written again.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "net/proto.h"
#include "net/wire.h"
#include "fuzz.h"

static void
check_same(const struct rcp_buf *b, const uint8_t *from, size_t n)
{
	if (b->len != n || memcmp(b->data, from, n) != 0)
		abort();
}

static void
read_fields(const struct rcp_wire_frame *f)
{
	struct rcp_wire_cursor c;
	struct rcp_buf b = RCP_BUF_INIT;
	const uint8_t *start, *p;
	uint8_t op, v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;
	size_t n;
	char *s;

	rcp_wire_cursor_init(&c, f->body, f->len);
	while (rcp_wire_get_u8(&c, &op) == 0) {
		start = c.p;
		rcp_buf_reset(&b);
		switch (op % 6) {
		case 0:
			if (rcp_wire_get_u8(&c, &v8) != 0)
				goto out;
			rcp_wire_put_u8(&b, v8);
			break;
		case 1:
			if (rcp_wire_get_u16(&c, &v16) != 0)
				goto out;
			rcp_wire_put_u16(&b, v16);
			break;
		case 2:
			if (rcp_wire_get_u32(&c, &v32) != 0)
				goto out;
			rcp_wire_put_u32(&b, v32);
			break;
		case 3:
			if (rcp_wire_get_u64(&c, &v64) != 0)
				goto out;
			rcp_wire_put_u64(&b, v64);
			break;
		case 4:
			if (rcp_wire_get_bytes(&c, &p, &n, op) != 0)
				goto out;
			rcp_wire_put_bytes(&b, p, n);
			break;
		default:
			if (rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) != 0)
				goto out;
			rcp_wire_put_str(&b, s);
			free(s);
			break;
		}
		check_same(&b, start, (size_t)(c.p - start));
	}
out:
	rcp_buf_release(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	uint8_t hdr[RCP_WIRE_HDR];
	size_t used = 0, step;
	long k;

	if (size < 1)
		return 0;
	/* The first byte: how the stream is cut (1..256 bytes a piece). */
	step = (size_t)data[0] + 1;
	data++, size--;
	rcp_wire_reader_init(&r, 1u << 16);
	while (used < size) {
		k = rcp_wire_reader_feed(&r, data + used,
		    size - used < step ? size - used : step, &f);
		if (k < 0)
			break;		/* over the cap: the stream is dead */
		used += (size_t)k;
		if (f.body == NULL)
			continue;
		rcp_wire_header(hdr, f.type, f.id, f.len);
		if (f.body[f.len] != 0)
			abort();
		read_fields(&f);
		rcp_wire_frame_release(&f);
	}
	(void)rcp_wire_reader_partial(&r);
	rcp_wire_reader_release(&r);
	return 0;
}
