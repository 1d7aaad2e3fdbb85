/*
 * cmp.c: the tree comparison behind rcmp.
 *
 * A directory pair is one unit of work: its lister reads both listings,
 * sorts and merges them, stats every name on both sides and reports what
 * differs; subdirectory pairs (and, with content, file pairs) go onto a
 * shared LIFO stack that a pool of threads drains, so the walk runs depth
 * first and memory stays near one listing per level per thread.  Entries
 * are reached with *at() calls from their parent's open directories, never
 * by path, so depth is unlimited; a node keeps its directories open only
 * while children still have to be opened from them.  Each side is read
 * through a struct rcp_src_ops (srcfs.h): the local file system, or a
 * tree on another host, whose files are then compared by hashes.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/cmp.h"
#include "fs/fsops.h"
#include "fs/meta.h"
#include "fs/srcfs.h"
#include "fs/xmeta.h"

#include "base/banned.h"

#define CMP_BUF_SIZE	(1024 * 1024)	/* read size per side and worker */
#define CMP_LINK_MAX	(64 * 1024)	/* longest symlink target we read */
#define CMP_FILES_QUEUED 1024		/* past this, listers compare inline */
#define CMP_BATCH	256		/* items a lister hands over at once */
#define CMP_THREADS_MAX	256

/* A directory pair; lives while anything below it is still pending. */
struct node {
	struct node	*parent;	/* NULL for the roots */
	char		*name;
	int		 dir[2];	/* handles of the sides' ops, closed
					 * when fdusers drops to 0 */
	atomic_uint	 refs;		/* child nodes, items, its lister */
	atomic_uint	 fdusers;	/* items not yet opened, its lister */
};

enum { ITEM_DIR, ITEM_FILE };

struct item {
	struct item	*next;
	int		 type;
	struct node	*parent;	/* holds a ref (and, see fduser, an
					 * fduser) on it; NULL for the roots */
	struct node	*node;		/* the roots' ITEM_DIR: already open */
	bool		 fduser;
	char		*name;
	struct stat	*st;		/* ITEM_FILE: both sides' */
};

struct cmp {
	const struct rcp_cmp_opts *o;
	const char	*root[2];	/* the paths, for messages */
	const struct rcp_src_ops *ops[2];
	void		*ctx[2];
	bool		 hash;		/* compare files by hashes */
	int		 rootdir[2];	/* the roots' parents (-1: none) */
	char		*rootbase[2];	/* and the roots' names in them */
	int		 threads;

	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	struct item	*stack;		/* requires lock */
	size_t		 outstanding;	/* queued or running; requires lock */
	atomic_size_t	 files_queued;

	pthread_mutex_t	 report_lock;
	int		 cb_error;	/* requires report_lock */

	atomic_bool	 stop;
	atomic_uint_fast64_t entries, files_read, bytes_read, differences;
	atomic_uint_fast64_t errors;
};

/* A thread's scratch state. */
struct worker {
	struct cmp		 *c;
	pthread_t		  thread;
	char			 *buf[2];	/* CMP_BUF_SIZE each, lazily */
	struct rcp_buf		  path;
	const struct node	**chain;
	size_t			  chain_cap;
};

/* The entry being compared: a name in a node, or the roots (dir NULL). */
struct ent {
	struct node	*dir;
	const char	*name;
};

/* Results of compare_pair: what is left to do for the pair. */
enum { PAIR_DONE, PAIR_DIR, PAIR_FILE };

/* A directory's names, sorted bytewise. */
struct listing {
	struct rcp_buf	  arena;	/* the names, each NUL-terminated */
	char		**v;
	size_t		  n;
};

const char *
rcp_cmp_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "symlink";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "chardev";
	case S_IFBLK:
		return "blockdev";
	}
	return "unknown";
}

void
rcp_cmp_opts_init(struct rcp_cmp_opts *o)
{
	char *cause = NULL;

	memset(o, 0, sizeof(*o));
	if (rcp_attrs_parse(&o->attrs, RCP_CMP_DEFAULT_SPEC, &cause) != 0)
		abort();	/* our own constant */
}

static bool
stopped(struct cmp *c)
{
	return atomic_load(&c->stop) ||
	    (c->o->cancel != NULL && atomic_load(c->o->cancel));
}

static int
ent_fd(struct cmp *c, const struct ent *e, int side)
{
	return e->dir != NULL ? e->dir->dir[side] : c->rootdir[side];
}

static const char *
ent_name(struct cmp *c, const struct ent *e, int side)
{
	return e->dir != NULL ? e->name : c->rootbase[side];
}

/* Returns e's path relative to the roots in w->path, "." for the roots. */
static const char *
rel_path(struct worker *w, const struct ent *e)
{
	const struct node *n;
	size_t depth = 0, i;

	rcp_buf_reset(&w->path);
	if (e->dir == NULL) {
		rcp_buf_addch(&w->path, '.');
		return rcp_buf_str(&w->path);
	}
	for (n = e->dir; n->parent != NULL; n = n->parent) {
		if (depth == w->chain_cap) {
			w->chain_cap = w->chain_cap ? w->chain_cap * 2 : 64;
			w->chain = rcp_xrealloc(w->chain,
			    w->chain_cap * sizeof(*w->chain));
		}
		w->chain[depth++] = n;
	}
	for (i = depth; i > 0; i--) {
		rcp_buf_addstr(&w->path, w->chain[i - 1]->name);
		rcp_buf_addch(&w->path, '/');
	}
	rcp_buf_addstr(&w->path, e->name);
	return rcp_buf_str(&w->path);
}

/* Logs "cannot VERB 'root/path': why" and counts an error. */
static void
walk_error(struct worker *w, const struct ent *e, int side, const char *verb,
    const char *why)
{
	struct cmp *c = w->c;
	const char *rel = rel_path(w, e);
	char *full, *shown;

	full = e->dir == NULL ? rcp_xstrdup(c->root[side]) :
	    rcp_path_join(c->root[side], rel);
	shown = rcp_escape(full);
	rcp_log(c->o->log, RCP_LOG_ERROR, "cannot %s '%s': %s", verb, shown,
	    why);
	free(shown);
	free(full);
	atomic_fetch_add(&c->errors, 1);
	if (c->o->exit_early)
		atomic_store(&c->stop, true);
}

/* As walk_error for err, a -errno or RCP_ERR_* of the side's ops. */
static void
walk_err(struct worker *w, const struct ent *e, int side, const char *verb,
    int err)
{
	walk_error(w, e, side, verb, rcp_strerror(err));
}

/* Hands one difference to the caller, unless the comparison has stopped. */
static void
report(struct worker *w, const struct ent *e, struct rcp_cmp_diff *d)
{
	struct cmp *c = w->c;
	int r = 0;

	d->path = rel_path(w, e);
	pthread_mutex_lock(&c->report_lock);
	if (!stopped(c)) {
		atomic_fetch_add(&c->differences, 1);
		if (c->o->diff_fn != NULL)
			r = c->o->diff_fn(c->o->diff_arg, d);
		if (r != 0) {
			c->cb_error = r < 0 ? r : RCP_ERR_INTERNAL;
			atomic_store(&c->stop, true);
		} else if (c->o->exit_early)
			atomic_store(&c->stop, true);
	}
	pthread_mutex_unlock(&c->report_lock);
}

static void
report_simple(struct worker *w, const struct ent *e, int kind, unsigned attr,
    const struct stat *src, const struct stat *dst)
{
	struct rcp_cmp_diff d;

	memset(&d, 0, sizeof(d));
	d.kind = kind;
	d.attr = attr;
	d.src = src;
	d.dst = dst;
	d.offset = -1;
	report(w, e, &d);
}

static void
report_content(struct worker *w, const struct ent *e, const struct stat st[2],
    int64_t offset, const char *l0, const char *l1)
{
	struct rcp_cmp_diff d;

	memset(&d, 0, sizeof(d));
	d.kind = RCP_CMP_CONTENT;
	d.src = &st[0];
	d.dst = &st[1];
	d.offset = offset;
	d.src_link = l0;
	d.dst_link = l1;
	report(w, e, &d);
}

static struct node *
node_new(struct node *parent, char *name, int d0, int d1)
{
	struct node *n = rcp_xcalloc(1, sizeof(*n));

	n->parent = parent;
	if (parent != NULL)
		atomic_fetch_add(&parent->refs, 1);
	n->name = name;
	n->dir[0] = d0;
	n->dir[1] = d1;
	atomic_init(&n->refs, 1);
	atomic_init(&n->fdusers, 1);
	return n;
}

/* Drops a use of n's directories; the last one closes them. */
static void
node_put_fd(struct cmp *c, struct node *n)
{
	int side;

	if (atomic_fetch_sub(&n->fdusers, 1) == 1) {
		for (side = 0; side < 2; side++) {
			c->ops[side]->close(c->ctx[side], n->dir[side]);
			n->dir[side] = -1;
		}
	}
}

/* Drops a reference to n; the last one frees it and unrefs its parent. */
static void
node_put(struct node *n)
{
	struct node *parent;

	while (n != NULL && atomic_fetch_sub(&n->refs, 1) == 1) {
		parent = n->parent;
		free(n->name);
		free(n);
		n = parent;
	}
}

static struct item *
item_new(int type, struct node *parent, const char *name)
{
	struct item *it = rcp_xcalloc(1, sizeof(*it));

	it->type = type;
	it->parent = parent;
	it->name = rcp_xstrdup(name);
	if (parent != NULL) {
		atomic_fetch_add(&parent->refs, 1);
		atomic_fetch_add(&parent->fdusers, 1);
		it->fduser = true;
	}
	return it;
}

static void
item_drop_fd(struct cmp *c, struct item *it)
{
	if (it->fduser) {
		node_put_fd(c, it->parent);
		it->fduser = false;
	}
}

static void
item_free(struct cmp *c, struct item *it)
{
	item_drop_fd(c, it);
	if (it->node != NULL) {
		node_put_fd(c, it->node);
		node_put(it->node);
	}
	node_put(it->parent);
	free(it->name);
	free(it->st);
	free(it);
}

/*
 * Pushes a list built by prepending (so its head is the last entry) onto
 * the stack, leaving the first entry on top: one thread walks in order.
 */
static void
push_items(struct cmp *c, struct item **list)
{
	struct item *it;
	size_t n = 0;

	if (*list == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	while ((it = *list) != NULL) {
		*list = it->next;
		it->next = c->stack;
		c->stack = it;
		c->outstanding++;
		n++;
	}
	if (n > 1)
		pthread_cond_broadcast(&c->cond);
	else
		pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Reads up to n bytes, fewer only at the end of the file. */
static ssize_t
read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Returns the index of the first differing byte of a and b (n if none). */
static size_t
first_diff(const char *a, const char *b, size_t n)
{
	size_t i = 0, step;

	/* memcmp is much faster than a byte loop: narrow down with it. */
	while (n - i > 64) {
		step = (n - i) / 2;
		if (memcmp(a + i, b + i, step) == 0)
			i += step;
		else if (step <= 64)
			break;
		else
			n = i + step;
	}
	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/* Opens a side of e, a regular file; returns its handle or -1, logged. */
static int
open_file(struct worker *w, const struct ent *e, int side)
{
	struct cmp *c = w->c;
	struct stat st;
	int fh, r;

	/* The local open is O_NONBLOCK: a FIFO swapped in does not hang. */
	r = c->ops[side]->open_hash(c->ctx[side], ent_fd(c, e, side),
	    ent_name(c, e, side), false, &fh, &st);
	if (r < 0) {
		walk_err(w, e, side, "open", r);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		c->ops[side]->close(c->ctx[side], fh);
		walk_error(w, e, side, "compare",
		    "replaced during the comparison");
		return -1;
	}
	if (c->ops[side]->local)
		posix_fadvise(fh, 0, 0, POSIX_FADV_SEQUENTIAL);
	return fh;
}

/*
 * Reads (local) or hashes (hash mode) the next piece of side's file fh at
 * off into w->buf[side] or h.  Returns its length (0 at the end), or -1
 * with the error logged.
 */
static int64_t
next_piece(struct worker *w, const struct ent *e, int side, int fh,
    int64_t off, uint8_t h[RCP_HASH_LEN])
{
	struct cmp *c = w->c;
	struct rcp_io io;
	int64_t got;

	if (!c->hash) {
		if ((got = read_full(fh, w->buf[side], CMP_BUF_SIZE)) < 0)
			walk_err(w, e, side, "read", -errno);
		return got;
	}
	memset(&io, 0, sizeof(io));
	io.buf = w->buf[side];
	io.bufsz = CMP_BUF_SIZE;
	io.cancel = c->o->cancel;
	got = c->ops[side]->hash(c->ctx[side], fh, (off_t)off,
	    RCP_CMP_HASH_CHUNK, &io, h);
	if (got < 0) {
		walk_err(w, e, side, "read", (int)got);
		return -1;
	}
	return got;
}

/*
 * Compares the bytes of two regular files of the same size: piece by
 * piece, read here when both sides are local, else by the hashes that
 * each side takes of its own.
 */
static void
compare_file(struct worker *w, const struct ent *e, const struct stat st[2])
{
	struct cmp *c = w->c;
	uint8_t h[2][RCP_HASH_LEN];
	int fd[2] = { -1, -1 }, side;
	int64_t off = 0, got[2], n;
	size_t i;

	for (side = 0; side < 2; side++)
		if ((fd[side] = open_file(w, e, side)) < 0)
			goto out;
	if (w->buf[0] == NULL) {
		w->buf[0] = rcp_xmalloc(CMP_BUF_SIZE);
		w->buf[1] = rcp_xmalloc(CMP_BUF_SIZE);
	}
	atomic_fetch_add(&c->files_read, 1);
	while (!stopped(c)) {
		for (side = 0; side < 2; side++) {
			got[side] = next_piece(w, e, side, fd[side], off,
			    h[side]);
			if (got[side] < 0)
				goto out;
			atomic_fetch_add(&c->bytes_read, (uint64_t)got[side]);
			if (c->o->progress != NULL)
				atomic_fetch_add(c->o->progress,
				    (uint64_t)got[side]);
		}
		n = got[0] < got[1] ? got[0] : got[1];
		if (c->hash)
			i = got[0] == got[1] && memcmp(h[0], h[1],
			    RCP_HASH_LEN) == 0 ? (size_t)n : 0;
		else
			i = first_diff(w->buf[0], w->buf[1], (size_t)n);
		if (i < (size_t)got[0] || i < (size_t)got[1]) {
			/* A file that grew or shrank under us ends here too. */
			report_content(w, e, st, off + (int64_t)i, NULL, NULL);
			goto out;
		}
		if (got[0] == 0 || (c->hash && got[0] < RCP_CMP_HASH_CHUNK))
			break;
		off += got[0];
	}
out:
	for (side = 0; side < 2; side++)
		if (fd[side] >= 0)
			c->ops[side]->close(c->ctx[side], fd[side]);
}

/* Reads a symlink's target; returns it (caller frees) or NULL, logged. */
static char *
read_link(struct worker *w, const struct ent *e, int side, off_t size)
{
	size_t cap = size > 0 && size < CMP_LINK_MAX ? (size_t)size + 1 : 256;
	char *buf = NULL;
	ssize_t n;

	for (;;) {
		buf = rcp_xrealloc(buf, cap);
		n = w->c->ops[side]->readlink(w->c->ctx[side],
		    ent_fd(w->c, e, side), ent_name(w->c, e, side), buf, cap);
		if (n < 0) {
			walk_err(w, e, side, "read link", (int)n);
			free(buf);
			return NULL;
		}
		if ((size_t)n < cap)
			break;
		if (cap >= CMP_LINK_MAX) {
			walk_error(w, e, side, "read link", "target too long");
			free(buf);
			return NULL;
		}
		cap *= 2;
	}
	buf[n] = '\0';
	return buf;
}

static void
compare_link(struct worker *w, const struct ent *e, const struct stat st[2])
{
	char *t0, *t1 = NULL;

	if ((t0 = read_link(w, e, 0, st[0].st_size)) == NULL ||
	    (t1 = read_link(w, e, 1, st[1].st_size)) == NULL)
		goto out;
	if (strcmp(t0, t1) != 0)
		report_content(w, e, st, -1, t0, t1);
out:
	free(t0);
	free(t1);
}

/*
 * Compares type, attributes and the cheap kinds of content of an entry
 * present on both sides.  Returns PAIR_DIR when the directories' contents
 * are still to be compared, PAIR_FILE when the files' bytes are.
 */
/*
 * The RCP_ATTR_ACL and RCP_ATTR_XATTR bits of mask whose values differ
 * between the two sides of e, the roots included (both if a side cannot
 * be read).
 */
static unsigned
xmeta_diff(struct cmp *c, const struct ent *e, unsigned mask)
{
	unsigned what = (mask & RCP_ATTR_ACL ? RCP_XMETA_ACL : 0) |
	    (mask & RCP_ATTR_XATTR ? RCP_XMETA_XATTR : 0), diff = 0;
	struct rcp_xmeta x[2];

	if (what == 0)
		return 0;
	rcp_xmeta_init(&x[0]);
	rcp_xmeta_init(&x[1]);
	if (c->ops[0]->xmeta(c->ctx[0], ent_fd(c, e, 0), ent_name(c, e, 0), -1,
	    what, &x[0]) != 0 || c->ops[1]->xmeta(c->ctx[1], ent_fd(c, e, 1),
	    ent_name(c, e, 1), -1, what, &x[1]) != 0)
		diff = mask & (RCP_ATTR_ACL | RCP_ATTR_XATTR);
	else {
		if ((mask & RCP_ATTR_ACL) && !rcp_xmeta_equal(&x[0], &x[1],
		    true, false))
			diff |= RCP_ATTR_ACL;
		if ((mask & RCP_ATTR_XATTR) && !rcp_xmeta_equal(&x[0], &x[1],
		    false, true))
			diff |= RCP_ATTR_XATTR;
	}
	rcp_xmeta_release(&x[0]);
	rcp_xmeta_release(&x[1]);
	return diff;
}

static int
compare_pair(struct worker *w, const struct ent *e, const struct stat st[2])
{
	const struct rcp_cmp_opts *o = w->c->o;
	mode_t mode = st[0].st_mode;
	unsigned diff, bit, mask;

	if ((mode & S_IFMT) != (st[1].st_mode & S_IFMT)) {
		report_simple(w, e, RCP_CMP_TYPE, 0, &st[0], &st[1]);
		return PAIR_DONE;
	}
	mask = rcp_attrs_for(&o->attrs, mode);
	diff = rcp_attrs_diff(mask, &st[0], &st[1]) |
	    xmeta_diff(w->c, e, mask);
	for (bit = 1; diff != 0; bit <<= 1) {
		if (diff & bit)
			report_simple(w, e, RCP_CMP_ATTR, bit, &st[0], &st[1]);
		diff &= ~bit;
	}
	if (S_ISDIR(mode))
		return PAIR_DIR;
	if (!o->content)
		return PAIR_DONE;
	if (S_ISREG(mode)) {
		if (st[0].st_size != st[1].st_size)
			report_content(w, e, st, -1, NULL, NULL);
		else if (st[0].st_size > 0 && (w->c->hash ||
		    st[0].st_dev != st[1].st_dev ||
		    st[0].st_ino != st[1].st_ino))
			return PAIR_FILE;	/* not one file twice */
	} else if (S_ISLNK(mode))
		compare_link(w, e, st);
	else if ((S_ISCHR(mode) || S_ISBLK(mode)) &&
	    st[0].st_rdev != st[1].st_rdev)
		report_content(w, e, st, -1, NULL, NULL);
	return PAIR_DONE;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A listing being read: the names so far and where each starts. */
struct listing_fill {
	struct listing	*l;
	size_t		*off;
	size_t		 cap;
};

static int
listing_add(void *arg, const char *name, unsigned char dtype)
{
	struct listing_fill *f = arg;
	struct listing *l = f->l;

	if (l->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->off = rcp_xrealloc(f->off, f->cap * sizeof(*f->off));
	}
	f->off[l->n++] = l->arena.len;
	rcp_buf_add(&l->arena, name, strlen(name) + 1);
	return 0;
}

/*
 * Reads and sorts the names of directory dir of side.  Returns 0 or an
 * error of the side's ops.
 */
static int
read_listing(struct cmp *c, int side, int dir, struct listing *l)
{
	struct listing_fill f = { l, NULL, 0 };
	size_t i;
	int err;

	err = c->ops[side]->list(c->ctx[side], dir, 0, listing_add, &f);
	if (err == 0) {
		l->v = rcp_xmalloc((l->n > 0 ? l->n : 1) * sizeof(*l->v));
		for (i = 0; i < l->n; i++)
			l->v[i] = l->arena.data + f.off[i];
		qsort(l->v, l->n, sizeof(*l->v), cmp_names);
	}
	free(f.off);
	return err;
}

static void
listing_release(struct listing *l)
{
	rcp_buf_release(&l->arena);
	free(l->v);
}

/*
 * Compares one name of directory pair n; has[] says on which sides the
 * listing showed it.  Work still to do is prepended to *batch.
 */
static void
compare_name(struct worker *w, struct node *n, const char *name,
    const bool has_in[2], struct item **batch)
{
	struct cmp *c = w->c;
	struct ent e = { n, name };
	struct stat st[2];
	struct item *it;
	bool has[2] = { has_in[0], has_in[1] };
	int side, what, err;

	atomic_fetch_add(&c->entries, 1);
	if (c->o->progress != NULL)
		atomic_fetch_add(c->o->progress, 1);
	for (side = 0; side < 2; side++) {
		if (!has[side])
			continue;
		err = c->ops[side]->stat(c->ctx[side], n->dir[side], name,
		    false, &st[side]);
		if (err == 0)
			continue;
		if (err != -ENOENT) {
			walk_err(w, &e, side, "stat", err);
			return;
		}
		has[side] = false;	/* removed since the listing */
	}
	if (!has[0] && !has[1])
		return;
	if (!has[0] || !has[1]) {
		report_simple(w, &e, RCP_CMP_MISSING, 0, has[0] ? &st[0] : NULL,
		    has[1] ? &st[1] : NULL);
		return;
	}
	what = compare_pair(w, &e, st);
	if (what == PAIR_FILE && (c->threads == 1 ||
	    atomic_load(&c->files_queued) >= CMP_FILES_QUEUED)) {
		compare_file(w, &e, st);
		return;
	}
	if (what == PAIR_DONE)
		return;
	it = item_new(what == PAIR_DIR ? ITEM_DIR : ITEM_FILE, n, name);
	if (what == PAIR_FILE) {
		it->st = rcp_xmalloc(2 * sizeof(*it->st));
		it->st[0] = st[0];
		it->st[1] = st[1];
		atomic_fetch_add(&c->files_queued, 1);
	}
	it->next = *batch;
	*batch = it;
}

/* Compares the contents of directory pair n, which this thread owns. */
static void
list_dir(struct worker *w, struct node *n)
{
	struct cmp *c = w->c;
	struct ent self = { n->parent, n->name };
	struct listing l[2];
	struct item *batch = NULL, *before;
	size_t i = 0, j = 0, queued = 0;
	bool has[2];
	const char *name;
	int side, r, err;

	memset(l, 0, sizeof(l));
	if (rcp_log_enabled(c->o->log, RCP_LOG_DEBUG)) {
		char *shown = rcp_escape(rel_path(w, &self));

		rcp_log(c->o->log, RCP_LOG_DEBUG, "comparing '%s'", shown);
		free(shown);
	}
	for (side = 0; side < 2; side++) {
		if ((err = read_listing(c, side, n->dir[side],
		    &l[side])) != 0) {
			walk_err(w, &self, side, "read directory", err);
			goto out;
		}
	}
	while ((i < l[0].n || j < l[1].n) && !stopped(c)) {
		if (i == l[0].n)
			r = 1;
		else if (j == l[1].n)
			r = -1;
		else
			r = strcmp(l[0].v[i], l[1].v[j]);
		has[0] = r <= 0;
		has[1] = r >= 0;
		name = r <= 0 ? l[0].v[i] : l[1].v[j];
		i += has[0];
		j += has[1];
		before = batch;
		compare_name(w, n, name, has, &batch);
		/* Share early with idle threads; one thread keeps its order. */
		if (batch != before && c->threads > 1 && ++queued >= CMP_BATCH) {
			push_items(c, &batch);
			queued = 0;
		}
	}
	push_items(w->c, &batch);
out:
	listing_release(&l[0]);
	listing_release(&l[1]);
}

/* Opens a side of directory e; returns its handle or -1, logged. */
static int
open_dir(struct worker *w, const struct ent *e, int side)
{
	struct cmp *c = w->c;
	int d, r;

	r = c->ops[side]->opendir(c->ctx[side], ent_fd(c, e, side),
	    ent_name(c, e, side), false, &d);
	if (r < 0) {
		walk_err(w, e, side, "open", r);
		return -1;
	}
	return d;
}

static void
process_item(struct worker *w, struct item *it)
{
	struct ent e = { it->parent, it->name };
	struct node *n;
	int d[2] = { -1, -1 };

	if (it->type == ITEM_FILE) {
		atomic_fetch_sub(&w->c->files_queued, 1);
		if (!stopped(w->c))
			compare_file(w, &e, it->st);
		return;
	}
	if ((n = it->node) == NULL) {
		if (stopped(w->c) || (d[0] = open_dir(w, &e, 0)) < 0 ||
		    (d[1] = open_dir(w, &e, 1)) < 0) {
			if (d[0] >= 0)
				w->c->ops[0]->close(w->c->ctx[0], d[0]);
			return;
		}
		item_drop_fd(w->c, it);
		n = node_new(it->parent, it->name, d[0], d[1]);
		it->name = NULL;
	} else
		it->node = NULL;
	if (!stopped(w->c))
		list_dir(w, n);
	node_put_fd(w->c, n);
	node_put(n);
}

static void
worker_release(struct worker *w)
{
	free(w->buf[0]);
	free(w->buf[1]);
	rcp_buf_release(&w->path);
	free(w->chain);
}

/* Takes items off the stack until there are none and none can come. */
static void
worker_loop(struct worker *w)
{
	struct cmp *c = w->c;
	struct item *it;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (c->stack == NULL && c->outstanding > 0)
			pthread_cond_wait(&c->cond, &c->lock);
		if ((it = c->stack) == NULL) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		c->stack = it->next;
		pthread_mutex_unlock(&c->lock);

		process_item(w, it);
		item_free(c, it);

		pthread_mutex_lock(&c->lock);
		if (--c->outstanding == 0)
			pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
}

static void *
worker_main(void *arg)
{
	sigset_t all;

	/* Signals belong to the caller's thread; a closed pipe is EPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	worker_loop(arg);
	return NULL;
}

/* Runs the pool until every item queued (and all they queue) is done. */
static void
run_workers(struct cmp *c)
{
	struct worker *w = rcp_xcalloc((size_t)c->threads, sizeof(*w));
	int i, started = 0;

	for (i = 0; i < c->threads; i++) {
		w[i].c = c;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
			break;
		started++;
	}
	if (started == 0) {
		w[0].c = c;
		worker_loop(&w[0]);	/* no threads to be had: do it here */
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	for (i = 0; i < c->threads; i++)
		worker_release(&w[i]);
	free(w);
}

static int
default_threads(void)
{
	int n = rcp_ncpus() * 2;

	/* The work is mostly waiting for the disks: more than the CPUs. */
	return n < 4 ? 4 : n > 32 ? 32 : n;
}

static void
cmp_init(struct cmp *c, const struct rcp_cmp_opts *o, const char *src,
    const char *dst)
{
	int side;

	memset(c, 0, sizeof(*c));
	c->o = o;
	c->root[0] = o->label[0] != NULL ? o->label[0] : src;
	c->root[1] = o->label[1] != NULL ? o->label[1] : dst;
	for (side = 0; side < 2; side++) {
		c->ops[side] = o->ops[side] != NULL ? o->ops[side] :
		    &rcp_src_local;
		c->ctx[side] = o->ops[side] != NULL ? o->ctx[side] : NULL;
		c->rootdir[side] = -1;
		if (!c->ops[side]->local)
			c->hash = true;
	}
	c->threads = o->threads > 0 ? o->threads : default_threads();
	if (c->threads > CMP_THREADS_MAX)
		c->threads = CMP_THREADS_MAX;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->report_lock, NULL);
	atomic_init(&c->files_queued, 0);
	atomic_init(&c->stop, false);
	atomic_init(&c->entries, 0);
	atomic_init(&c->files_read, 0);
	atomic_init(&c->bytes_read, 0);
	atomic_init(&c->differences, 0);
	atomic_init(&c->errors, 0);
}

static void
cmp_release(struct cmp *c)
{
	int side;

	for (side = 0; side < 2; side++) {
		if (c->rootdir[side] >= 0)
			c->ops[side]->close(c->ctx[side], c->rootdir[side]);
		free(c->rootbase[side]);
	}
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->report_lock);
}

/*
 * Looks at both roots (paths[] on their sides) without following them
 * unless named with a trailing '/'; opens them when both are directories.
 * Returns 0 or an error with *cause set.
 */
static int
open_roots(struct cmp *c, const char *const paths[2], struct stat st[2],
    int d[2], char **cause)
{
	bool follow[2];
	char *path, *why = NULL, *shown;
	size_t len;
	int side, r = 0;

	for (side = 0; side < 2; side++) {
		path = rcp_xstrdup(paths[side]);
		len = strlen(path);
		follow[side] = len > 1 && path[len - 1] == '/';
		while (len > 1 && path[len - 1] == '/')
			path[--len] = '\0';
		r = c->ops[side]->root(c->ctx[side], path, follow[side],
		    &c->rootdir[side], &c->rootbase[side], &st[side], &why);
		free(path);
		free(why);
		why = NULL;
		if (r < 0)
			goto fail;
	}
	if (!S_ISDIR(st[0].st_mode) || !S_ISDIR(st[1].st_mode))
		return 0;
	for (side = 0; side < 2; side++) {
		r = c->ops[side]->opendir(c->ctx[side], c->rootdir[side],
		    c->rootbase[side], follow[side], &d[side]);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	if (side == 1 && d[0] >= 0) {
		c->ops[0]->close(c->ctx[0], d[0]);
		d[0] = -1;
	}
	shown = rcp_escape(c->root[side]);
	*cause = rcp_xasprintf("cannot open '%s': %s", shown, rcp_strerror(r));
	free(shown);
	return r == -ENOENT || r == -ENOTDIR ? RCP_ERR_NOTFOUND : RCP_ERR_IO;
}

/* Compares the roots themselves, then everything below them. */
static void
compare_roots(struct cmp *c, struct stat st[2], int d[2])
{
	struct worker w0;
	struct ent e = { NULL, NULL };
	struct item *it;
	int what, side;

	memset(&w0, 0, sizeof(w0));
	w0.c = c;
	atomic_fetch_add(&c->entries, 1);
	what = compare_pair(&w0, &e, st);
	if (what == PAIR_FILE && !stopped(c))
		compare_file(&w0, &e, st);
	if (what == PAIR_DIR) {
		/* Nothing below the roots needs their parents: spare fds. */
		for (side = 0; side < 2; side++) {
			c->ops[side]->close(c->ctx[side], c->rootdir[side]);
			c->rootdir[side] = -1;
		}
		it = item_new(ITEM_DIR, NULL, ".");
		it->node = node_new(NULL, rcp_xstrdup("."), d[0], d[1]);
		d[0] = d[1] = -1;
		push_items(c, &it);
		run_workers(c);
	}
	worker_release(&w0);
}

static int
result(struct cmp *c, char **cause)
{
	uint64_t errors = atomic_load(&c->errors);
	uint64_t diffs = atomic_load(&c->differences);
	char *s0, *s1;
	int r;

	if (c->cb_error != 0) {
		*cause = rcp_xasprintf("comparison stopped: %s",
		    rcp_strerror(c->cb_error));
		return c->cb_error;
	}
	if (c->o->cancel != NULL && atomic_load(c->o->cancel)) {
		*cause = rcp_xstrdup("comparison canceled");
		return RCP_ERR_CANCELED;
	}
	if (errors > 0) {
		*cause = rcp_xasprintf("%ju %s could not be compared",
		    (uintmax_t)errors, errors == 1 ? "entry" : "entries");
		return RCP_ERR_PARTIAL;
	}
	if (diffs == 0)
		return 0;
	s0 = rcp_escape(c->root[0]);
	s1 = rcp_escape(c->root[1]);
	*cause = rcp_xasprintf("'%s' and '%s' differ", s0, s1);
	r = RCP_ERR_DIFFERENT;
	free(s0);
	free(s1);
	return r;
}

int
rcp_cmp_run(const char *src, const char *dst, const struct rcp_cmp_opts *o,
    struct rcp_cmp_stats *stats, char **cause)
{
	const char *paths[2] = { src, dst };
	struct cmp c;
	struct stat st[2];
	int d[2] = { -1, -1 };
	int r;

	cmp_init(&c, o, src, dst);
	if ((r = open_roots(&c, paths, st, d, cause)) != 0)
		goto out;
	compare_roots(&c, st, d);
	r = result(&c, cause);
out:
	if (stats != NULL) {
		stats->entries = atomic_load(&c.entries);
		stats->files_read = atomic_load(&c.files_read);
		stats->bytes_read = atomic_load(&c.bytes_read);
		stats->differences = atomic_load(&c.differences);
		stats->errors = atomic_load(&c.errors);
	}
	cmp_release(&c);
	return r;
}
