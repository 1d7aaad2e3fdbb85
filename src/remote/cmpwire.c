/* cmpwire.c: a comparison's request, differences and answer on the wire. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/meta.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/cmpwire.h"
#include "remote/copywire.h"
#include "remote/srcwire.h"

#include "base/banned.h"

enum {
	F_CONTENT = 1 << 0,
	F_EXIT_EARLY = 1 << 1
};

/* The bits this build knows: another is a newer master's, refused. */
#define KNOWN_FLAGS	(((uint32_t)F_EXIT_EARLY << 1) - 1)
#define KNOWN_ATTRS	(((uint32_t)RCP_ATTR_XATTR << 1) - 1)
#define THREADS_MAX	256

/* CMP_DIFF's sides present. */
enum {
	S_SRC = 1 << 0,
	S_DST = 1 << 1,
	S_LINKS = 1 << 2
};

void
rcp_cmpwire_put_request(struct rcp_buf *b, const char *src, const char *dst,
    const char *src_label, const char *dst_label,
    const struct rcp_cmp_opts *o)
{
	rcp_wire_put_str(b, src);
	rcp_wire_put_str(b, dst);
	rcp_wire_put_str(b, src_label != NULL ? src_label : src);
	rcp_wire_put_str(b, dst_label != NULL ? dst_label : dst);
	rcp_wire_put_u32(b, (o->content ? F_CONTENT : 0) |
	    (o->exit_early ? F_EXIT_EARLY : 0));
	rcp_wire_put_u32(b, o->attrs.f);
	rcp_wire_put_u32(b, o->attrs.d);
	rcp_wire_put_u32(b, o->attrs.l);
	rcp_wire_put_u32(b, o->threads > 0 ? (uint32_t)o->threads : 0);
}

int
rcp_cmpwire_get_request(const void *body, size_t len,
    struct rcp_cmpwire_request *req, char **cause)
{
	struct rcp_wire_cursor c;
	uint32_t flags, f, d, l, threads, unknown;

	memset(req, 0, sizeof(*req));
	rcp_cmp_opts_init(&req->opts);
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_str(&c, &req->src, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_str(&c, &req->dst, RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_str(&c, &req->label[0], RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_str(&c, &req->label[1], RCP_PROTO_MAX_NAME) != 0 ||
	    rcp_wire_get_u32(&c, &flags) != 0 ||
	    rcp_wire_get_u32(&c, &f) != 0 || rcp_wire_get_u32(&c, &d) != 0 ||
	    rcp_wire_get_u32(&c, &l) != 0 ||
	    rcp_wire_get_u32(&c, &threads) != 0 || threads > THREADS_MAX ||
	    req->src[0] == '\0' || req->dst[0] == '\0') {
		*cause = rcp_xstrdup("malformed compare request");
		return RCP_ERR_PROTO;
	}
	if ((flags & ~KNOWN_FLAGS) != 0) {
		*cause = rcp_copywire_unknown_bits("option",
		    flags & ~KNOWN_FLAGS);
		return RCP_ERR_VERSION;
	}
	if ((unknown = (f | d | l) & ~KNOWN_ATTRS) != 0 ||
	    ((f | d | l) & RCP_ATTR_CONTENT) != 0) {
		*cause = rcp_copywire_unknown_bits("attribute",
		    unknown != 0 ? unknown : RCP_ATTR_CONTENT);
		return RCP_ERR_VERSION;
	}
	/* An empty label (a master that gave none) names a side by its path. */
	if (req->label[0][0] == '\0') {
		free(req->label[0]);
		req->label[0] = rcp_xstrdup(req->src);
	}
	if (req->label[1][0] == '\0') {
		free(req->label[1]);
		req->label[1] = rcp_xstrdup(req->dst);
	}
	req->opts.attrs.f = f;
	req->opts.attrs.d = d;
	req->opts.attrs.l = l;
	req->opts.content = flags & F_CONTENT;
	req->opts.exit_early = flags & F_EXIT_EARLY;
	req->opts.threads = (int)threads;
	return 0;
}

void
rcp_cmpwire_request_release(struct rcp_cmpwire_request *req)
{
	free(req->src);
	free(req->dst);
	free(req->label[0]);
	free(req->label[1]);
	memset(req, 0, sizeof(*req));
}

void
rcp_cmpwire_put_diff(struct rcp_buf *b, const struct rcp_cmp_diff *d)
{
	bool links = d->src_link != NULL && d->dst_link != NULL;

	rcp_wire_put_u8(b, (uint8_t)d->kind);
	rcp_wire_put_u32(b, d->attr);
	rcp_wire_put_str(b, d->path);
	rcp_wire_put_u8(b, (d->src != NULL ? S_SRC : 0) |
	    (d->dst != NULL ? S_DST : 0) | (links ? S_LINKS : 0));
	if (d->src != NULL)
		rcp_srcwire_put_stat(b, d->src);
	if (d->dst != NULL)
		rcp_srcwire_put_stat(b, d->dst);
	rcp_wire_put_u64(b, (uint64_t)d->offset);
	if (links) {
		rcp_wire_put_str(b, d->src_link);
		rcp_wire_put_str(b, d->dst_link);
	}
}

/*
 * Whether the kind, the attribute and the sides go together: a side bit
 * this build does not know, an attribute on a kind that has none, or
 * link targets on anything but a symlink's content are a newer or broken
 * agent's, refused rather than printed as something else.
 */
static bool
diff_sane(const struct rcp_cmp_diff *d, unsigned sides)
{
	unsigned both = S_SRC | S_DST;

	if ((sides & ~(both | S_LINKS)) != 0 || (d->kind != RCP_CMP_ATTR &&
	    d->attr != 0) || ((sides & S_LINKS) && d->kind != RCP_CMP_CONTENT))
		return false;
	switch (d->kind) {
	case RCP_CMP_MISSING:
		return (sides & both) == S_SRC || (sides & both) == S_DST;
	case RCP_CMP_TYPE:
		return (sides & both) == both;
	case RCP_CMP_ATTR:
		/* Exactly one attribute bit; content is a kind of its own. */
		return (sides & both) == both && d->attr != 0 &&
		    (d->attr & (d->attr - 1)) == 0 &&
		    (d->attr & ~KNOWN_ATTRS) == 0 &&
		    d->attr != RCP_ATTR_CONTENT;
	case RCP_CMP_CONTENT:
		/* Two targets, of two symlinks; a symlink's need them. */
		if ((sides & both) != both)
			return false;
		if (sides & S_LINKS)
			return S_ISLNK(d->src->st_mode) &&
			    S_ISLNK(d->dst->st_mode);
		return !S_ISLNK(d->src->st_mode) && !S_ISLNK(d->dst->st_mode);
	}
	return false;
}

int
rcp_cmpwire_get_diff(const void *body, size_t len,
    struct rcp_cmpwire_diff *w)
{
	struct rcp_wire_cursor c;
	struct rcp_cmp_diff *d = &w->d;
	uint64_t off;
	uint32_t attr;
	uint8_t kind, sides;

	memset(w, 0, sizeof(*w));
	rcp_wire_cursor_init(&c, body, len);
	/* A path may be longer than a name: trees deeper than PATH_MAX. */
	if (rcp_wire_get_u8(&c, &kind) != 0 ||
	    rcp_wire_get_u32(&c, &attr) != 0 ||
	    rcp_wire_get_str(&c, &w->path, RCP_PROTO_MAX_FRAME) != 0 ||
	    rcp_wire_get_u8(&c, &sides) != 0 ||
	    ((sides & S_SRC) && rcp_srcwire_get_stat(&c, &w->st[0]) != 0) ||
	    ((sides & S_DST) && rcp_srcwire_get_stat(&c, &w->st[1]) != 0) ||
	    rcp_wire_get_u64(&c, &off) != 0 ||
	    ((sides & S_LINKS) && (rcp_wire_get_str(&c, &w->link[0],
	    RCP_PROTO_MAX_TEXT) != 0 || rcp_wire_get_str(&c, &w->link[1],
	    RCP_PROTO_MAX_TEXT) != 0)) || w->path[0] == '\0' ||
	    (int64_t)off < -1)
		return RCP_ERR_PROTO;
	d->kind = kind;
	d->attr = attr;
	d->path = w->path;
	d->src = sides & S_SRC ? &w->st[0] : NULL;
	d->dst = sides & S_DST ? &w->st[1] : NULL;
	d->offset = (int64_t)off;
	d->src_link = w->link[0];
	d->dst_link = w->link[1];
	if (!diff_sane(d, sides))
		return RCP_ERR_PROTO;
	return 0;
}

void
rcp_cmpwire_diff_release(struct rcp_cmpwire_diff *w)
{
	free(w->path);
	free(w->link[0]);
	free(w->link[1]);
	memset(w, 0, sizeof(*w));
}

void
rcp_cmpwire_put_done(struct rcp_buf *b, int result, const char *cause,
    const struct rcp_cmp_stats *s)
{
	rcp_wire_put_u32(b, (uint32_t)rcp_err_to_wire(result));
	rcp_wire_put_str(b, cause);
	rcp_wire_put_u64(b, s->entries);
	rcp_wire_put_u64(b, s->files_read);
	rcp_wire_put_u64(b, s->bytes_read);
	rcp_wire_put_u64(b, s->differences);
	rcp_wire_put_u64(b, s->errors);
}

int
rcp_cmpwire_get_done(const void *body, size_t len, int *result,
    char **cause, struct rcp_cmp_stats *s)
{
	struct rcp_wire_cursor c;
	uint32_t code;

	*cause = NULL;
	memset(s, 0, sizeof(*s));
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, &code) != 0 ||
	    rcp_wire_get_str(&c, cause, RCP_PROTO_MAX_TEXT) != 0 ||
	    rcp_wire_get_u64(&c, &s->entries) != 0 ||
	    rcp_wire_get_u64(&c, &s->files_read) != 0 ||
	    rcp_wire_get_u64(&c, &s->bytes_read) != 0 ||
	    rcp_wire_get_u64(&c, &s->differences) != 0 ||
	    rcp_wire_get_u64(&c, &s->errors) != 0) {
		free(*cause);
		*cause = NULL;
		return RCP_ERR_PROTO;
	}
	*result = rcp_err_from_wire((int32_t)code);
	/* A failure always says why, if only by its code. */
	if (*result != 0 && (*cause)[0] == '\0') {
		free(*cause);
		*cause = rcp_xstrdup(rcp_strerror(*result));
	}
	return 0;
}
