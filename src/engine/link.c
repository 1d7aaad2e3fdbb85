/*
 * link.c: rlink's engine (link.h): one run of the copy engine that links
 * the source's files, or, with an update tree, one over the update tree
 * that links what equals the source's and a second over the source that
 * links what the first did not create (--ignore-existing).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/link.h"
#include "fs/meta.h"

#include "base/banned.h"

struct rcp_link {
	struct rcp_link_opts	 o;
	struct rcp_log		 log;
	pthread_mutex_t		 lock;
	struct rcp_copy		*cur;		/* requires lock */
	struct rcp_copy_stats	 done;		/* of finished passes; lock */
	atomic_bool		 canceled;
	/* The pass running, for a signal handler (no lock there). */
	struct rcp_copy *_Atomic sig_cur;
};

/* The attribute of one kind a preserve setting keeps, by compare bit. */
static bool
kept(const struct rcp_preserve_one *p, unsigned bit)
{
	switch (bit) {
	case RCP_ATTR_UID:
		return p->uid;
	case RCP_ATTR_GID:
		return p->gid;
	case RCP_ATTR_MODE:
		return (p->mode_mask & 07777) == 07777;
	case RCP_ATTR_MTIME:
		return p->time;
	case RCP_ATTR_ACL:
		return p->acl;
	case RCP_ATTR_XATTR:
		return p->xattr;
	case RCP_ATTR_SIZE:
	case RCP_ATTR_CONTENT:
		return true;
	default:	/* ctime: never kept by anyone */
		return false;
	}
}

/* Only regular files are compared (and linked or copied): directories
 * and symlinks are always made anew, so only the files' settings count. */
int
rcp_link_check(const struct rcp_link_opts *o, char **cause)
{
	unsigned bit;

	*cause = NULL;
	if (o->update == NULL)
		return 0;
	if (o->update_compare.f & (RCP_ATTR_CONTENT | RCP_ATTR_ACL |
	    RCP_ATTR_XATTR)) {
		*cause = rcp_xstrdup("--update-compare: rlink compares uid, "
		    "gid, mode, size, mtime and ctime only (not content, acl "
		    "or xattr)");
		return RCP_ERR_INVAL;
	}
	if (o->allow_lossy)
		return 0;
	for (bit = 1; bit <= RCP_ATTR_XATTR; bit <<= 1) {
		if (!(o->update_compare.f & bit) ||
		    kept(&o->copy.preserve.f, bit))
			continue;
		*cause = rcp_xasprintf("--update-compare compares the %s of "
		    "files, which --preserve-settings does not keep: what is "
		    "copied would never compare equal again "
		    "(--allow-lossy-update to go on)", rcp_attr_name(bit));
		return RCP_ERR_INVAL;
	}
	return 0;
}

struct rcp_link *
rcp_link_new(const struct rcp_link_opts *opts, const struct rcp_log *log)
{
	struct rcp_link *l = rcp_xcalloc(1, sizeof(*l));

	l->o = *opts;
	if (log != NULL)
		l->log = *log;
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void
rcp_link_free(struct rcp_link *l)
{
	if (l == NULL)
		return;
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void
rcp_link_cancel(struct rcp_link *l)
{
	struct rcp_copy *c;

	/* Only atomics: callable from a signal handler. */
	atomic_store(&l->canceled, true);
	if ((c = atomic_load(&l->sig_cur)) != NULL)
		rcp_copy_cancel(c);
}

static void
add_stats(struct rcp_copy_stats *a, const struct rcp_copy_stats *b)
{
	uint64_t *x = (uint64_t *)a;
	const uint64_t *y = (const uint64_t *)b;
	size_t i;

	for (i = 0; i < sizeof(*a) / sizeof(uint64_t); i++)
		x[i] += y[i];
}

void
rcp_link_stats(struct rcp_link *l, struct rcp_copy_stats *out)
{
	struct rcp_copy_stats s;

	pthread_mutex_lock(&l->lock);
	*out = l->done;
	if (l->cur != NULL) {
		rcp_copy_stats(l->cur, &s);
		add_stats(out, &s);
	}
	pthread_mutex_unlock(&l->lock);
}

/* One pass of the copy engine from src to dst with o. */
static int
pass(struct rcp_link *l, const struct rcp_copy_opts *o, const char *src,
    const char *dst, char **cause)
{
	struct rcp_copy *c = rcp_copy_new(o, &l->log);
	struct rcp_copy_stats s;
	const char *srcs[1] = { src };
	int r;

	pthread_mutex_lock(&l->lock);
	l->cur = c;
	pthread_mutex_unlock(&l->lock);
	atomic_store(&l->sig_cur, c);
	if (atomic_load(&l->canceled))
		rcp_copy_cancel(c);
	r = rcp_copy_run(c, srcs, 1, dst, cause);
	atomic_store(&l->sig_cur, NULL);
	rcp_copy_stats(c, &s);
	pthread_mutex_lock(&l->lock);
	add_stats(&l->done, &s);
	l->cur = NULL;
	pthread_mutex_unlock(&l->lock);
	rcp_copy_free(c);
	return r;
}

/* dst as the final name: "D/" becomes "D/NAME" of src, since the first
 * pass of an update copies from another tree than src. */
static char *
final_dst(const char *src, const char *dst)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t n = strlen(src);
	const char *base;

	if (n == 0 || dst[0] == '\0' || dst[strlen(dst) - 1] != '/')
		return rcp_xstrdup(dst);
	while (n > 1 && src[n - 1] == '/')
		n--;
	base = src + n;
	while (base > src && base[-1] != '/')
		base--;
	rcp_buf_addstr(&b, dst);
	rcp_buf_add(&b, base, (size_t)(src + n - base));
	return rcp_buf_detach(&b);
}

int
rcp_link_run(struct rcp_link *l, const char *src, const char *dst,
    char **cause)
{
	struct rcp_copy_opts o = l->o.copy;
	char *fdst;
	int r, r2;

	*cause = NULL;
	if (l->o.update == NULL) {
		o.link_files = true;
		return pass(l, &o, src, dst, cause);
	}
	fdst = final_dst(src, dst);
	o.link_dest = src;
	o.link_compare = l->o.update_compare;
	r = pass(l, &o, l->o.update, fdst, cause);
	if ((r != 0 && r != RCP_ERR_PARTIAL) || l->o.update_exclusive ||
	    atomic_load(&l->canceled) || (r != 0 && o.fail_early))
		goto out;
	/* What the update tree lacks: linked from src, around the rest. */
	o = l->o.copy;
	o.link_files = true;
	o.overwrite = false;
	o.ignore_existing = true;
	o.delete = o.delete_excluded = false;
	r2 = pass(l, &o, src, fdst, cause);
	if (r2 != 0)
		r = r2;
out:
	free(fdst);
	return r;
}
