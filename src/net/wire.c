/* wire.c: frame reassembly and the bounds-checked field codec. */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "net/wire.h"

#include "base/banned.h"

static void
be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
rcp_wire_header(uint8_t hdr[RCP_WIRE_HDR], uint16_t type, uint32_t id,
    uint32_t len)
{
	be32(hdr, len);
	be16(hdr + 4, type);
	be32(hdr + 6, id);
}

void
rcp_wire_reader_init(struct rcp_wire_reader *r, uint32_t max)
{
	memset(r, 0, sizeof(*r));
	r->max = max;
}

void
rcp_wire_reader_release(struct rcp_wire_reader *r)
{
	rcp_wire_frame_release(&r->cur);
	r->hdr_have = r->body_have = 0;
}

void
rcp_wire_frame_release(struct rcp_wire_frame *f)
{
	free(f->body);
	f->body = NULL;
	f->len = 0;
}

int
rcp_wire_reader_partial(const struct rcp_wire_reader *r)
{
	return r->hdr_have > 0;
}

long
rcp_wire_reader_feed(struct rcp_wire_reader *r, const uint8_t *data,
    size_t n, struct rcp_wire_frame *out)
{
	size_t used = 0, k;

	out->body = NULL;
	while (used < n) {
		if (r->hdr_have < RCP_WIRE_HDR) {
			k = RCP_WIRE_HDR - r->hdr_have;
			if (k > n - used)
				k = n - used;
			memcpy(r->hdr + r->hdr_have, data + used, k);
			r->hdr_have += k;
			used += k;
			if (r->hdr_have < RCP_WIRE_HDR)
				break;
			r->cur.len = rd32(r->hdr);
			r->cur.type = (uint16_t)(r->hdr[4] << 8 | r->hdr[5]);
			r->cur.id = rd32(r->hdr + 6);
			if (r->cur.len > r->max)
				return RCP_ERR_TOOBIG;
			/* +1: bodies are always NUL-terminated for safety. */
			r->cur.body = rcp_xmalloc((size_t)r->cur.len + 1);
			r->body_have = 0;
		}
		k = r->cur.len - r->body_have;
		if (k > n - used)
			k = n - used;
		memcpy(r->cur.body + r->body_have, data + used, k);
		r->body_have += k;
		used += k;
		if (r->body_have == r->cur.len) {
			r->cur.body[r->cur.len] = 0;
			*out = r->cur;
			memset(&r->cur, 0, sizeof(r->cur));
			r->hdr_have = r->body_have = 0;
			break;
		}
	}
	return (long)used;
}

void
rcp_wire_put_u8(struct rcp_buf *b, uint8_t v)
{
	rcp_buf_add(b, &v, 1);
}

void
rcp_wire_put_u16(struct rcp_buf *b, uint16_t v)
{
	uint8_t p[2];

	be16(p, v);
	rcp_buf_add(b, p, 2);
}

void
rcp_wire_put_u32(struct rcp_buf *b, uint32_t v)
{
	uint8_t p[4];

	be32(p, v);
	rcp_buf_add(b, p, 4);
}

void
rcp_wire_put_u64(struct rcp_buf *b, uint64_t v)
{
	rcp_wire_put_u32(b, (uint32_t)(v >> 32));
	rcp_wire_put_u32(b, (uint32_t)v);
}

void
rcp_wire_put_bytes(struct rcp_buf *b, const void *p, size_t n)
{
	rcp_wire_put_u32(b, (uint32_t)n);
	rcp_buf_add(b, p, n);
}

void
rcp_wire_put_str(struct rcp_buf *b, const char *s)
{
	rcp_wire_put_bytes(b, s, strlen(s));
}

void
rcp_wire_cursor_init(struct rcp_wire_cursor *c, const void *p, size_t n)
{
	c->p = p;
	c->left = n;
}

static int
take(struct rcp_wire_cursor *c, void *dst, size_t n)
{
	if (c->left < n)
		return RCP_ERR_PROTO;
	memcpy(dst, c->p, n);
	c->p += n;
	c->left -= n;
	return 0;
}

int
rcp_wire_get_u8(struct rcp_wire_cursor *c, uint8_t *v)
{
	return take(c, v, 1);
}

int
rcp_wire_get_u16(struct rcp_wire_cursor *c, uint16_t *v)
{
	uint8_t p[2];

	if (take(c, p, 2) != 0)
		return RCP_ERR_PROTO;
	*v = (uint16_t)(p[0] << 8 | p[1]);
	return 0;
}

int
rcp_wire_get_u32(struct rcp_wire_cursor *c, uint32_t *v)
{
	uint8_t p[4];

	if (take(c, p, 4) != 0)
		return RCP_ERR_PROTO;
	*v = rd32(p);
	return 0;
}

int
rcp_wire_get_u64(struct rcp_wire_cursor *c, uint64_t *v)
{
	uint32_t hi, lo;

	if (rcp_wire_get_u32(c, &hi) != 0 || rcp_wire_get_u32(c, &lo) != 0)
		return RCP_ERR_PROTO;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

int
rcp_wire_get_bytes(struct rcp_wire_cursor *c, const uint8_t **p, size_t *n,
    size_t max)
{
	uint32_t len;

	if (rcp_wire_get_u32(c, &len) != 0)
		return RCP_ERR_PROTO;
	if (len > max)
		return RCP_ERR_TOOBIG;
	if (len > c->left)
		return RCP_ERR_PROTO;
	*p = c->p;
	*n = len;
	c->p += len;
	c->left -= len;
	return 0;
}

int
rcp_wire_get_str(struct rcp_wire_cursor *c, char **s, size_t max)
{
	const uint8_t *p;
	size_t n;
	int r;

	if ((r = rcp_wire_get_bytes(c, &p, &n, max)) != 0)
		return r;
	if (memchr(p, '\0', n) != NULL)
		return RCP_ERR_PROTO;
	*s = rcp_xstrndup((const char *)p, n);
	return 0;
}

void
rcp_wire_put_strv(struct rcp_buf *b, const char *const *v, size_t n)
{
	size_t i;

	rcp_wire_put_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++)
		rcp_wire_put_str(b, v[i]);
}

int
rcp_wire_get_strv(struct rcp_wire_cursor *c, char ***v, size_t *n,
    size_t max_n, size_t max_len)
{
	char **out;
	uint32_t count, i;
	int r;

	if (rcp_wire_get_u32(c, &count) != 0)
		return RCP_ERR_PROTO;
	if (count > max_n)
		return RCP_ERR_TOOBIG;
	/* A count the body cannot hold must not size an allocation. */
	if (count > c->left / 4)
		return RCP_ERR_PROTO;
	out = rcp_xcalloc(count > 0 ? count : 1, sizeof(*out));
	for (i = 0; i < count; i++) {
		if ((r = rcp_wire_get_str(c, &out[i], max_len)) != 0) {
			rcp_strv_free(out, i);
			return r;
		}
	}
	*v = out;
	*n = count;
	return 0;
}

