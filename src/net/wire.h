/*
 * wire.h: framing and field codec for protocol messages (see proto.h).
 *
 * A frame is a 10-byte header -- u32 body length, u16 type, u32 request id,
 * all big-endian -- followed by the body.  The length is checked against a
 * cap before any of the body is buffered, so a peer cannot make us allocate
 * what it likes.  Fields are appended with rcp_wire_put_* and read with
 * rcp_wire_get_*, which fail with RCP_ERR_PROTO instead of reading past the
 * end.  Byte strings (file names) are length-prefixed and carry any bytes.
 */
#ifndef RCP_WIRE_H
#define RCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"

#define RCP_WIRE_HDR 10

struct rcp_wire_frame {
	uint16_t	 type;
	uint32_t	 id;
	uint32_t	 len;
	uint8_t		*body;	/* owned by the frame */
};

/* Writes a frame header for a body of len bytes into hdr. */
void rcp_wire_header(uint8_t hdr[RCP_WIRE_HDR], uint16_t type, uint32_t id,
    uint32_t len);

/* Reassembles frames from a byte stream. */
struct rcp_wire_reader {
	uint8_t		 hdr[RCP_WIRE_HDR];
	size_t		 hdr_have;
	struct rcp_wire_frame cur;
	size_t		 body_have;
	uint32_t	 max;		/* cap on a body's length */
};

void rcp_wire_reader_init(struct rcp_wire_reader *r, uint32_t max);
void rcp_wire_reader_release(struct rcp_wire_reader *r);
/*
 * Consumes up to n bytes of data.  Returns the number consumed (stop early
 * when a frame is complete: then *out is filled and owned by the caller), or
 * RCP_ERR_TOOBIG if a header announces a body over the cap.  *out->body is
 * NULL when no frame was completed.
 */
long rcp_wire_reader_feed(struct rcp_wire_reader *r, const uint8_t *data,
    size_t n, struct rcp_wire_frame *out);
/* Returns nonzero if a frame is partly read (EOF now would truncate it). */
int rcp_wire_reader_partial(const struct rcp_wire_reader *r);

void rcp_wire_frame_release(struct rcp_wire_frame *f);

/* Field writers: append to b. */
void rcp_wire_put_u8(struct rcp_buf *b, uint8_t v);
void rcp_wire_put_u16(struct rcp_buf *b, uint16_t v);
void rcp_wire_put_u32(struct rcp_buf *b, uint32_t v);
void rcp_wire_put_u64(struct rcp_buf *b, uint64_t v);
/* A u32 length and the bytes. */
void rcp_wire_put_bytes(struct rcp_buf *b, const void *p, size_t n);
void rcp_wire_put_str(struct rcp_buf *b, const char *s);

/* A cursor over a received body. */
struct rcp_wire_cursor {
	const uint8_t	*p;
	size_t		 left;
};

void rcp_wire_cursor_init(struct rcp_wire_cursor *c, const void *p, size_t n);
/* Each returns 0, or RCP_ERR_PROTO if the body ends first. */
int rcp_wire_get_u8(struct rcp_wire_cursor *c, uint8_t *v);
int rcp_wire_get_u16(struct rcp_wire_cursor *c, uint16_t *v);
int rcp_wire_get_u32(struct rcp_wire_cursor *c, uint32_t *v);
int rcp_wire_get_u64(struct rcp_wire_cursor *c, uint64_t *v);
/*
 * Points *p at a length-prefixed byte string inside the body (not copied)
 * and sets *n.  RCP_ERR_PROTO if truncated, RCP_ERR_TOOBIG if over max.
 */
int rcp_wire_get_bytes(struct rcp_wire_cursor *c, const uint8_t **p, size_t *n,
    size_t max);
/*
 * Returns a new NUL-terminated copy of a byte string (caller frees).  A
 * string holding a NUL byte is refused (RCP_ERR_PROTO): names cannot.
 */
int rcp_wire_get_str(struct rcp_wire_cursor *c, char **s, size_t max);

/* A u32 count and that many strings (the paths of a request). */
void rcp_wire_put_strv(struct rcp_buf *b, const char *const *v, size_t n);
/*
 * Reads what rcp_wire_put_strv wrote: *v is a new array of *n new strings
 * (free with rcp_strv_free), never NULL.  The count is checked against
 * max_n, and against the bytes left (each string takes at least its
 * length), before the array is allocated; each string against max_len.
 * 0, RCP_ERR_TOOBIG over a cap, or RCP_ERR_PROTO if malformed.
 */
int rcp_wire_get_strv(struct rcp_wire_cursor *c, char ***v, size_t *n,
    size_t max_n, size_t max_len);

#endif
