/* copywire.c: a copy's request, options, counters and answer on the wire. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/filter.h"
#include "net/proto.h"
#include "remote/copywire.h"

#include "base/banned.h"

enum {
	F_OVERWRITE = 1 << 0,
	F_IGNORE_EXISTING = 1 << 1,
	F_DEREFERENCE = 1 << 2,
	F_FAIL_EARLY = 1 << 3,
	F_SKIP_SPECIALS = 1 << 4,
	F_HARD_LINKS = 1 << 5,
	F_DELETE = 1 << 6,
	F_DELETE_EXCLUDED = 1 << 7,
	F_RESUME = 1 << 8
};

/*
 * Report each copied file to the master (FILES, for a job's ledger): set
 * from the copy options' copied hook, read into the request's
 * record_files.  Apart from the enum so that other new bits merge apart.
 */
#define F_RECORD_FILES	(1u << 9)

/* Filter rules a master may send. */
#define MAX_RULES 4096

/*
 * The bits this build knows: one it does not is a newer master's, asking
 * for something this agent would silently not do, so it is refused.
 */
#define KNOWN_FLAGS	((((uint32_t)F_RESUME << 1) - 1) | F_RECORD_FILES)
#define KNOWN_PRESERVE	0x1f	/* uid, gid, time, acl, xattr */
#define KNOWN_COMPARE	(((uint32_t)RCP_ATTR_XATTR << 1) - 1)

char *
rcp_copywire_unknown_bits(const char *what, uint32_t bits)
{
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "?");
	host[sizeof(host) - 1] = '\0';
	return rcp_xasprintf("rcpd %s on '%s' does not know the %s bits 0x%x "
	    "the master asks for: install the same version of rcp on both "
	    "hosts, or use --auto-deploy-rcpd", PACKAGE_VERSION, host, what,
	    (unsigned)bits);
}

static void
put_preserve(struct rcp_buf *b, const struct rcp_preserve_one *p)
{
	rcp_wire_put_u8(b, (uint8_t)(p->uid | p->gid << 1 | p->time << 2 |
	    p->acl << 3 | p->xattr << 4));
	rcp_wire_put_u32(b, p->mode_mask);
}

static int
get_preserve(struct rcp_wire_cursor *c, struct rcp_preserve_one *p,
    uint32_t *unknown)
{
	uint8_t f;
	uint32_t m;

	if (rcp_wire_get_u8(c, &f) || rcp_wire_get_u32(c, &m) || m > 07777)
		return RCP_ERR_PROTO;
	if (f & ~KNOWN_PRESERVE) {
		*unknown |= f & ~KNOWN_PRESERVE;
		return 0;
	}
	p->uid = f & 1;
	p->gid = (f >> 1) & 1;
	p->time = (f >> 2) & 1;
	p->acl = (f >> 3) & 1;
	p->xattr = (f >> 4) & 1;
	p->mode_mask = (mode_t)m;
	return 0;
}

static uint64_t
dbits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

void
rcp_copywire_put_opts(struct rcp_buf *b, const struct rcp_copy_opts *o,
    const struct rcp_filter *filter)
{
	uint32_t flags = o->copied != NULL ? F_RECORD_FILES : 0;
	size_t i, n = rcp_filter_count(filter);
	const char *pat;
	int type;

	flags |= o->overwrite ? F_OVERWRITE : 0;
	flags |= o->ignore_existing ? F_IGNORE_EXISTING : 0;
	flags |= o->dereference ? F_DEREFERENCE : 0;
	flags |= o->fail_early ? F_FAIL_EARLY : 0;
	flags |= o->skip_specials ? F_SKIP_SPECIALS : 0;
	flags |= o->hard_links ? F_HARD_LINKS : 0;
	flags |= o->delete ? F_DELETE : 0;
	flags |= o->delete_excluded ? F_DELETE_EXCLUDED : 0;
	flags |= o->resume ? F_RESUME : 0;
	rcp_wire_put_u32(b, flags);
	rcp_wire_put_u32(b, (uint32_t)o->max_workers);
	rcp_wire_put_u32(b, (uint32_t)o->max_open_files);
	rcp_wire_put_u32(b, o->overwrite_compare.f);
	rcp_wire_put_u32(b, o->overwrite_compare.d);
	rcp_wire_put_u32(b, o->overwrite_compare.l);
	put_preserve(b, &o->preserve.f);
	put_preserve(b, &o->preserve.d);
	put_preserve(b, &o->preserve.l);
	rcp_wire_put_u8(b, (uint8_t)o->dry_run);
	rcp_wire_put_u64(b, dbits(o->ops_throttle));
	rcp_wire_put_u64(b, dbits(o->iops_throttle));
	rcp_wire_put_u64(b, o->chunk_size);
	rcp_wire_put_u32(b, (uint32_t)n);
	for (i = 0; i < n; i++) {
		pat = rcp_filter_rule(filter, i, &type);
		rcp_wire_put_u8(b, (uint8_t)type);
		rcp_wire_put_str(b, pat);
	}
	/* Added at the end: an older destination ignores them. */
	rcp_wire_put_u8(b, (uint8_t)o->verify);
	rcp_wire_put_str(b, o->manifest != NULL ? o->manifest : "");
}

int
rcp_copywire_get_opts(struct rcp_wire_cursor *c, struct rcp_copy_opts *o,
    struct rcp_filter **filter, char **manifest, char **cause)
{
	uint32_t flags, workers, files, n, i, unknown = 0;
	uint64_t ops, iops, chunk;
	uint8_t dry, type, verify;
	char *pat = NULL, *why = NULL, *man = NULL;
	double d;

	*filter = NULL;
	*manifest = NULL;
	rcp_copy_opts_init(o);	/* keeps this host's umask */
	if (rcp_wire_get_u32(c, &flags) || rcp_wire_get_u32(c, &workers) ||
	    rcp_wire_get_u32(c, &files) ||
	    rcp_wire_get_u32(c, &o->overwrite_compare.f) ||
	    rcp_wire_get_u32(c, &o->overwrite_compare.d) ||
	    rcp_wire_get_u32(c, &o->overwrite_compare.l) ||
	    get_preserve(c, &o->preserve.f, &unknown) ||
	    get_preserve(c, &o->preserve.d, &unknown) ||
	    get_preserve(c, &o->preserve.l, &unknown) ||
	    rcp_wire_get_u8(c, &dry) ||
	    rcp_wire_get_u64(c, &ops) || rcp_wire_get_u64(c, &iops) ||
	    rcp_wire_get_u64(c, &chunk) || rcp_wire_get_u32(c, &n))
		goto bad;
	if (workers > 4096 || files > (1u << 30) || dry > RCP_DRY_EXPLAIN ||
	    n > MAX_RULES || (chunk != 0 && chunk < 4096))
		goto bad;
	if (unknown != 0 || (flags & ~KNOWN_FLAGS) != 0 ||
	    ((o->overwrite_compare.f | o->overwrite_compare.d |
	    o->overwrite_compare.l) & ~KNOWN_COMPARE) != 0) {
		*cause = unknown != 0 ? rcp_copywire_unknown_bits("preserve", unknown) :
		    (flags & ~KNOWN_FLAGS) != 0 ? rcp_copywire_unknown_bits("option",
		    flags & ~KNOWN_FLAGS) : rcp_copywire_unknown_bits("compare",
		    (o->overwrite_compare.f | o->overwrite_compare.d |
		    o->overwrite_compare.l) & ~KNOWN_COMPARE);
		return RCP_ERR_VERSION;
	}
	o->overwrite = flags & F_OVERWRITE;
	o->ignore_existing = flags & F_IGNORE_EXISTING;
	o->dereference = flags & F_DEREFERENCE;
	o->fail_early = flags & F_FAIL_EARLY;
	o->skip_specials = flags & F_SKIP_SPECIALS;
	o->hard_links = flags & F_HARD_LINKS;
	o->delete = flags & F_DELETE;
	o->delete_excluded = flags & F_DELETE_EXCLUDED;
	o->resume = flags & F_RESUME;
	o->max_workers = (int)workers;
	o->max_open_files = (int)files;
	o->dry_run = dry;
	memcpy(&d, &ops, sizeof(d));
	o->ops_throttle = d >= 0 && d < 1e12 ? d : 0;
	memcpy(&d, &iops, sizeof(d));
	o->iops_throttle = d >= 0 && d < 1e12 ? d : 0;
	o->chunk_size = chunk;
	if (n > 0)
		*filter = rcp_filter_new();
	for (i = 0; i < n; i++) {
		if (rcp_wire_get_u8(c, &type) ||
		    rcp_wire_get_str(c, &pat, RCP_PROTO_MAX_NAME))
			goto bad;
		if (rcp_filter_add(*filter, type, pat, &why) != 0) {
			*cause = rcp_xasprintf("bad filter rule from the "
			    "master: %s", why);
			free(why);
			free(pat);
			rcp_filter_free(*filter);
			*filter = NULL;
			return RCP_ERR_INVAL;
		}
		free(pat);
		pat = NULL;
	}
	/* Fields of later builds: an older master sends none. */
	if (rcp_wire_get_u8(c, &verify) == 0) {
		if (verify > RCP_VERIFY_REREAD ||
		    rcp_wire_get_str(c, &man, RCP_PROTO_MAX_NAME) != 0)
			goto bad;
		o->verify = verify;
		if (man[0] != '\0')
			o->manifest = *manifest = man;
		else
			free(man);
	}
	o->filter = *filter;
	return 0;
bad:
	free(pat);
	rcp_filter_free(*filter);
	*filter = NULL;
	*cause = rcp_xstrdup("malformed copy options from the master");
	return RCP_ERR_PROTO;
}

void
rcp_copywire_put_stats(struct rcp_buf *b, const struct rcp_copy_stats *s)
{
	const uint64_t *v = (const uint64_t *)s;
	size_t i;

	for (i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		rcp_wire_put_u64(b, v[i]);
}

int
rcp_copywire_get_stats(struct rcp_wire_cursor *c, struct rcp_copy_stats *s)
{
	uint64_t *v = (uint64_t *)s;
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		if (rcp_wire_get_u64(c, &v[i]) != 0)
			return RCP_ERR_PROTO;
	return 0;
}

void
rcp_copywire_put_request(struct rcp_buf *b, const char *const *srcs,
    size_t nsrcs, const char *dst, const struct rcp_copy_opts *o,
    const struct rcp_filter *filter, const char *src_host)
{
	rcp_wire_put_strv(b, srcs, nsrcs);
	rcp_wire_put_str(b, dst);
	rcp_copywire_put_opts(b, o, filter);
	rcp_wire_put_str(b, src_host != NULL ? src_host : "");
}

int
rcp_copywire_get_request(const void *body, size_t len,
    struct rcp_copywire_request *req, char **cause)
{
	struct rcp_wire_cursor c, opts;
	uint32_t flags;
	int r;

	memset(req, 0, sizeof(*req));
	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_strv(&c, &req->srcs, &req->nsrcs,
	    RCP_PROTO_MAX_PATHS, RCP_PROTO_MAX_NAME) != 0 || req->nsrcs == 0 ||
	    rcp_wire_get_str(&c, &req->dst, RCP_PROTO_MAX_NAME) != 0) {
		*cause = rcp_xstrdup("malformed copy request");
		return RCP_ERR_PROTO;
	}
	opts = c;
	if ((r = rcp_copywire_get_opts(&c, &req->opts, &req->filter,
	    &req->manifest, cause)) != 0)
		return r;
	/* The options' flags, which get_opts checked: a bit for us. */
	req->record_files = rcp_wire_get_u32(&opts, &flags) == 0 &&
	    (flags & F_RECORD_FILES) != 0;
	/* Optional: a master that does not send it names no host. */
	if (c.left > 0 && rcp_wire_get_str(&c, &req->src_host,
	    RCP_PROTO_MAX_NAME) != 0) {
		*cause = rcp_xstrdup("malformed copy request");
		return RCP_ERR_PROTO;
	}
	if (req->src_host != NULL && req->src_host[0] == '\0') {
		free(req->src_host);
		req->src_host = NULL;
	}
	req->opts.src_host = req->src_host;
	return 0;
}

void
rcp_copywire_request_release(struct rcp_copywire_request *req)
{
	rcp_strv_free(req->srcs, req->nsrcs);
	free(req->dst);
	free(req->src_host);
	free(req->manifest);
	rcp_filter_free(req->filter);
	memset(req, 0, sizeof(*req));
}

void
rcp_copywire_put_done(struct rcp_buf *b, int result, const char *why,
    const struct rcp_copy_stats *s)
{
	rcp_wire_put_u32(b, (uint32_t)rcp_err_to_wire(result));
	rcp_wire_put_str(b, why);
	rcp_copywire_put_stats(b, s);
}

int
rcp_copywire_get_done(const void *body, size_t len, int *result, char **why,
    struct rcp_copy_stats *s)
{
	struct rcp_wire_cursor c;
	uint32_t w;

	rcp_wire_cursor_init(&c, body, len);
	if (rcp_wire_get_u32(&c, &w) != 0 ||
	    rcp_wire_get_str(&c, why, RCP_PROTO_MAX_TEXT) != 0)
		return RCP_ERR_PROTO;
	if (rcp_copywire_get_stats(&c, s) != 0) {
		free(*why);
		*why = NULL;
		return RCP_ERR_PROTO;
	}
	*result = rcp_err_from_wire((int32_t)w);
	return 0;
}
