/*
 * walk.c: the parallel tree walk of rrm and rchm (walk.h).
 *
 * Work is a LIFO stack of entries run by a pool of worker threads; LIFO
 * walks the tree roughly depth first, which keeps open directories and
 * queued tasks few.  A lister hands directories to the stack and acts on
 * other entries itself, unless a worker is idle and the stack is short
 * (then it queues them too, so that one huge directory is shared).
 *
 * Every directory being walked is a struct wnode holding its open fd; a
 * node counts its own listing and its unfinished children, and when the
 * count drops to zero it runs dir_post (its parent's fd is still open: the
 * child holds a reference on it), closes its fd and tells its parent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/throttle.h"
#include "base/util.h"
#include "engine/copy.h"
#include "engine/walk.h"
#include "fs/dents.h"
#include "fs/filter.h"

#include "base/banned.h"

/* Above this many queued tasks a lister acts on entries itself. */
#define WALK_QUEUE_HIGH 4096

struct wnode {
	struct wnode	*parent;	/* holds a ref; NULL for an anchor */
	char		*name;		/* in parent; for an anchor the root
					 * path as given (for messages) */
	int		 fd;
	atomic_int	 refs;		/* own listing + unfinished children */
	atomic_bool	 kept;		/* an entry below stays */
	bool		 anchor;	/* the directory holding a root */
	bool		 acted;		/* dir_pre/dir_post apply (not only
					 * traversed for includes) */
	bool		 included;	/* a filter included the subtree */
	int		 pre_r;		/* what dir_pre did: the result when
					 * there is no dir_post */
	struct statx	 stx;
	bool		 have_stx;
};

struct wtask {
	struct wtask	*next;
	struct wnode	*dir;		/* parent; the task holds a ref */
	char		*name;
	unsigned char	 type;
};

struct rcp_walk {
	struct rcp_walk_opts	 o;
	struct rcp_log		 log;
	struct rcp_walk_ops	 ops;
	void			*ctx;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* work queued, or all done */
	struct wtask		*stack;		/* requires lock */
	size_t			 queued;	/* requires lock */
	size_t			 pending;	/* queued + running; requires lock */
	atomic_int		 idle;

	atomic_bool		 cancel;
	atomic_bool		 stop;		/* cancel or fail-early */
	struct rcp_throttle	 ops_th;

	struct {
		atomic_uint_least64_t files, dirs, kept, skipped, errors,
		    entries;
	} n;
	bool			 ran;
};

#define COUNT(w, f) atomic_fetch_add_explicit(&(w)->n.f, 1, \
	memory_order_relaxed)

void
rcp_walk_opts_init(struct rcp_walk_opts *o)
{
	memset(o, 0, sizeof(*o));
}

struct rcp_walk *
rcp_walk_new(const struct rcp_walk_opts *opts, const struct rcp_log *log,
    const struct rcp_walk_ops *ops, void *ctx)
{
	struct rcp_walk *w = rcp_xcalloc(1, sizeof(*w));

	w->o = *opts;
	if (log != NULL)
		w->log = *log;
	w->ops = *ops;
	w->ctx = ctx;
	if (w->o.max_workers <= 0)
		w->o.max_workers = rcp_ncpus();
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	rcp_throttle_init(&w->ops_th, w->o.ops_throttle);
	return w;
}

void
rcp_walk_free(struct rcp_walk *w)
{
	if (w == NULL)
		return;
	rcp_throttle_release(&w->ops_th);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void
rcp_walk_cancel(struct rcp_walk *w)
{
	/* Only atomics here: callable from a signal handler. */
	atomic_store(&w->cancel, true);
	atomic_store(&w->stop, true);
}

void
rcp_walk_stats(struct rcp_walk *w, struct rcp_walk_stats *s)
{
#define LOAD(f) s->f = atomic_load_explicit(&w->n.f, memory_order_relaxed)
	LOAD(files);
	LOAD(dirs);
	LOAD(kept);
	LOAD(skipped);
	LOAD(errors);
	LOAD(entries);
#undef LOAD
}

const struct rcp_walk_opts *
rcp_walk_options(const struct rcp_walk *w)
{
	return &w->o;
}

const struct rcp_log *
rcp_walk_log(const struct rcp_walk *w)
{
	return &w->log;
}

void
rcp_walk_count_skip(struct rcp_walk *w)
{
	COUNT(w, skipped);
}

static bool
stopping(struct rcp_walk *w)
{
	return atomic_load_explicit(&w->stop, memory_order_relaxed);
}

/* --- paths: built from the nodes, only when a message needs one ---------- */

/* Appends the path of d (below its anchor's root; with_root: from the root
 * as given) to b.  Iterative: trees may be thousands of levels deep. */
static void
node_path(struct rcp_buf *b, const struct wnode *d, bool with_root)
{
	const struct wnode *p;
	const char **names;
	size_t n = 0, i;

	for (p = d; p != NULL && !p->anchor; p = p->parent)
		n++;
	names = rcp_xcalloc(n + 1, sizeof(*names));
	i = n;
	for (p = d; p != NULL && !p->anchor; p = p->parent)
		names[--i] = p->name;
	/* names[0] is the root's own node: its path is the root as given. */
	if (with_root && p != NULL)
		rcp_buf_addstr(b, p->name);
	for (i = 1; i < n; i++) {
		if (with_root || i > 1)
			rcp_buf_addch(b, '/');
		rcp_buf_addstr(b, names[i]);
	}
	free(names);
}

/* The path of name in d as the user sees it; caller frees. */
static char *
entry_path(const struct wnode *d, const char *name)
{
	struct rcp_buf b = RCP_BUF_INIT;

	if (d->anchor)
		return rcp_xstrdup(d->name);
	node_path(&b, d, true);
	rcp_buf_addch(&b, '/');
	rcp_buf_addstr(&b, name);
	return rcp_buf_detach(&b);
}

/* The path of name in d relative to its root, for filters; caller frees. */
static char *
entry_rel(const struct wnode *d, const char *name)
{
	struct rcp_buf b = RCP_BUF_INIT;

	node_path(&b, d, false);
	if (b.len > 0)
		rcp_buf_addch(&b, '/');
	rcp_buf_addstr(&b, name);
	return rcp_buf_detach(&b);
}

char *
rcp_walk_path(const struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	char *raw = entry_path(e->node, e->name), *shown;

	(void)w;
	shown = rcp_escape(raw);
	free(raw);
	return shown;
}

static void
fail_in(struct rcp_walk *w, const struct wnode *d, const char *name,
    const char *what, int err)
{
	char *raw = entry_path(d, name), *shown = rcp_escape(raw);

	rcp_log(&w->log, RCP_LOG_ERROR, "cannot %s '%s': %s", what, shown,
	    strerror(err));
	free(shown);
	free(raw);
	COUNT(w, errors);
	if (w->o.fail_early)
		atomic_store(&w->stop, true);
}

int
rcp_walk_fail(struct rcp_walk *w, const struct rcp_walk_ent *e,
    const char *what, int err)
{
	fail_in(w, e->node, e->name, what, err);
	return RCP_WALK_FAIL;
}

/* Reports an action on name in d (why: NULL, or its reason for explain
 * and -vv); an entry left alone (action NULL: why says why) is not an
 * action, so --dry-run all leaves it out. */
static void
report_in(struct rcp_walk *w, const struct wnode *d, const char *name,
    const char *action, const char *why)
{
	int level = RCP_LOG_DEBUG;
	char *raw, *shown;

	if (w->o.dry_run == RCP_DRY_BRIEF || (action == NULL &&
	    w->o.dry_run == RCP_DRY_ALL))
		return;
	if (action == NULL)
		action = "keep";
	if (w->o.dry_run == RCP_DRY_ALL || w->o.dry_run == RCP_DRY_EXPLAIN)
		level = RCP_LOG_OUTPUT;
	if (!rcp_log_enabled(&w->log, level))
		return;
	raw = entry_path(d, name);
	shown = rcp_escape(raw);
	if (why != NULL && w->o.dry_run != RCP_DRY_ALL)
		rcp_log(&w->log, level, "%s%s '%s': %s", w->o.dry_run ?
		    "dry-run: " : "", action, shown, why);
	else
		rcp_log(&w->log, level, "%s%s '%s'", w->o.dry_run ?
		    "dry-run: " : "", action, shown);
	free(shown);
	free(raw);
}

bool
rcp_walk_reports(const struct rcp_walk *w)
{
	if (w->o.dry_run == RCP_DRY_ALL || w->o.dry_run == RCP_DRY_EXPLAIN)
		return true;
	return w->o.dry_run == RCP_DRY_NONE &&
	    rcp_log_enabled(&w->log, RCP_LOG_DEBUG);
}

void
rcp_walk_report(struct rcp_walk *w, const struct rcp_walk_ent *e,
    const char *action, const char *why)
{
	report_in(w, e->node, e->name, action, why);
}

/* --- the task stack ----------------------------------------------------- */

static void
push(struct rcp_walk *w, struct wnode *d, const char *name,
    unsigned char type)
{
	struct wtask *t = rcp_xcalloc(1, sizeof(*t));

	atomic_fetch_add(&d->refs, 1);
	t->dir = d;
	t->name = rcp_xstrdup(name);
	t->type = type;
	pthread_mutex_lock(&w->lock);
	t->next = w->stack;
	w->stack = t;
	w->queued++;
	w->pending++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Whether a lister should queue a non-directory for an idle worker. */
static bool
want_help(struct rcp_walk *w)
{
	size_t n;

	if (atomic_load_explicit(&w->idle, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&w->lock);
	n = w->queued;
	pthread_mutex_unlock(&w->lock);
	return n < WALK_QUEUE_HIGH;
}

/* --- nodes --------------------------------------------------------------- */

static struct wnode *
node_new(struct wnode *parent, const char *name, int fd)
{
	struct wnode *d = rcp_xcalloc(1, sizeof(*d));

	d->parent = parent;
	d->name = rcp_xstrdup(name);
	d->fd = fd;
	atomic_init(&d->refs, 1);
	if (parent != NULL)
		atomic_fetch_add(&parent->refs, 1);
	return d;
}

static void
mark_kept(struct wnode *d)
{
	atomic_store_explicit(&d->kept, true, memory_order_relaxed);
}

/* Runs d's dir_post and tells its parent how it went. */
static void
node_finish(struct rcp_walk *w, struct wnode *d)
{
	struct rcp_walk_ent e;
	int r = RCP_WALK_KEEP;

	if (d->acted && !stopping(w)) {
		memset(&e, 0, sizeof(e));
		e.dirfd = d->parent->fd;
		e.name = d->name;
		e.fd = d->fd;
		e.type = DT_DIR;
		e.stx = d->have_stx ? &d->stx : NULL;
		e.kept_child = atomic_load(&d->kept);
		e.node = d->parent;
		r = w->ops.dir_post != NULL ?
		    w->ops.dir_post(w->ctx, w, &e) : d->pre_r;
		if (r == RCP_WALK_DONE)
			COUNT(w, dirs);
		else if (r == RCP_WALK_KEEP)
			COUNT(w, kept);
	}
	if (r != RCP_WALK_DONE && d->parent != NULL)
		mark_kept(d->parent);
}

/* Drops one reference; finishes d and walks up while parents finish too. */
static void
node_release(struct rcp_walk *w, struct wnode *d)
{
	struct wnode *parent;

	while (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1) {
		parent = d->parent;
		if (!d->anchor)
			node_finish(w, d);
		if (d->fd >= 0)
			close(d->fd);
		free(d->name);
		free(d);
		d = parent;
	}
}

/* --- one entry ----------------------------------------------------------- */

static unsigned char
mode_dtype(mode_t m)
{
	if (S_ISDIR(m))
		return DT_DIR;
	if (S_ISREG(m))
		return DT_REG;
	if (S_ISLNK(m))
		return DT_LNK;
	if (S_ISFIFO(m))
		return DT_FIFO;
	if (S_ISSOCK(m))
		return DT_SOCK;
	if (S_ISCHR(m))
		return DT_CHR;
	if (S_ISBLK(m))
		return DT_BLK;
	return DT_UNKNOWN;
}

/* Stats name in d as the operations need.  Returns 0, 1 if it is gone
 * (changed under the walk: nothing to do), -1 on error (logged). */
static int
entry_stat(struct rcp_walk *w, struct wnode *d, const char *name,
    struct statx *stx, unsigned char *type)
{
	unsigned mask = w->o.statx_mask | STATX_TYPE;

	if (w->o.statx_mask == 0 && *type != DT_UNKNOWN)
		return 0;
	if (statx(d->fd, name, AT_SYMLINK_NOFOLLOW, mask, stx) != 0) {
		if (errno == ENOENT)
			return 1;
		fail_in(w, d, name, "stat", errno);
		mark_kept(d);
		return -1;
	}
	*type = mode_dtype(stx->stx_mode);
	return 0;
}

/* Applies the filter to name in d.  Returns a RCP_FILTER_* result. */
static int
entry_filter(struct rcp_walk *w, struct wnode *d, const char *name,
    bool is_dir)
{
	const char *why = NULL;
	char *rel;
	int r;

	if (w->o.filter == NULL || d->anchor)
		return RCP_FILTER_PASS;
	rel = entry_rel(d, name);
	r = rcp_filter_check(w->o.filter, rel, is_dir, d->included, &why);
	free(rel);
	if (r == RCP_FILTER_EXCLUDED || r == RCP_FILTER_NOT_INCLUDED) {
		report_in(w, d, name, NULL, r == RCP_FILTER_EXCLUDED ?
		    "excluded" : "not included");
		COUNT(w, skipped);
		mark_kept(d);
	}
	return r;
}

static void
run_file(struct rcp_walk *w, struct wnode *d, const char *name,
    unsigned char type, const struct statx *stx)
{
	struct rcp_walk_ent e;
	int r;

	memset(&e, 0, sizeof(e));
	e.dirfd = d->fd;
	e.name = name;
	e.fd = -1;
	e.type = type;
	e.stx = w->o.statx_mask ? stx : NULL;
	e.node = d;
	r = w->ops.file(w->ctx, w, &e);
	if (r == RCP_WALK_DONE)
		COUNT(w, files);
	else if (r == RCP_WALK_KEEP)
		COUNT(w, kept);
	if (r != RCP_WALK_DONE)
		mark_kept(d);
}

static void list_dir(struct rcp_walk *w, struct wnode *d);

/* A directory: open it (never through a symlink), dir_pre, list it. */
static void
run_dir(struct rcp_walk *w, struct wnode *d, const char *name, int filt,
    const struct statx *stx)
{
	struct rcp_walk_ent e;
	struct wnode *n;
	struct statx nstx;
	unsigned char type = DT_UNKNOWN;
	int fd, r = RCP_WALK_DONE;

	fd = openat(d->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
		/* Swapped for something else since it was listed: act on
		 * what is there now, never through it. */
		if (entry_stat(w, d, name, &nstx, &type) == 0 &&
		    type != DT_DIR && type != DT_UNKNOWN)
			run_file(w, d, name, type, &nstx);
		return;
	}
	if (fd < 0) {
		if (errno != ENOENT) {
			fail_in(w, d, name, "open directory", errno);
			mark_kept(d);
		}
		return;
	}
	n = node_new(d, name, fd);
	n->acted = filt == RCP_FILTER_PASS;
	/* A root passes without a rule matching it: not "included". */
	n->included = d->included || (filt == RCP_FILTER_PASS && !d->anchor &&
	    w->o.filter != NULL && rcp_filter_has_includes(w->o.filter));
	if (stx != NULL && w->o.statx_mask) {
		n->stx = *stx;
		n->have_stx = true;
	}
	if (n->acted && w->ops.dir_pre != NULL) {
		memset(&e, 0, sizeof(e));
		e.dirfd = d->fd;
		e.name = name;
		e.fd = fd;
		e.type = DT_DIR;
		e.stx = n->have_stx ? &n->stx : NULL;
		e.node = d;
		r = w->ops.dir_pre(w->ctx, w, &e);
	}
	n->pre_r = r;
	if (r != RCP_WALK_SKIP)
		list_dir(w, n);
	else {
		/* Not descended: the directory stays, and its parent. */
		n->acted = false;
		mark_kept(d);
	}
	node_release(w, n);
}

/* The work of one entry name (type a d_type hint) in d. */
static void
run_entry(struct rcp_walk *w, struct wnode *d, const char *name,
    unsigned char type)
{
	struct statx stx;
	int filt;

	if (stopping(w))
		return;
	COUNT(w, entries);
	if (rcp_throttle_take(&w->ops_th, 1, &w->stop) != 0)
		return;
	memset(&stx, 0, sizeof(stx));
	if (entry_stat(w, d, name, &stx, &type) != 0)
		return;
	if (type == DT_UNKNOWN) {
		/* Neither getdents nor statx said: ask once more. */
		struct stat st;

		if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				fail_in(w, d, name, "stat", errno);
			return;
		}
		type = mode_dtype(st.st_mode);
	}
	filt = entry_filter(w, d, name, type == DT_DIR);
	if (filt == RCP_FILTER_EXCLUDED || filt == RCP_FILTER_NOT_INCLUDED)
		return;
	if (type == DT_DIR)
		run_dir(w, d, name, filt, &stx);
	else if (filt == RCP_FILTER_PASS)
		run_file(w, d, name, type, &stx);
}

/* One pass over d's entries, from its start (d->fd is fresh).  Returns how
 * many it found, or -1. */
static long
list_once(struct rcp_walk *w, struct wnode *d)
{
	struct rcp_dents ds;
	struct rcp_dent de;
	long found = 0;
	int r;

	rcp_dents_init(&ds, d->fd);
	while (!stopping(w) && (r = rcp_dents_next(&ds, &de)) > 0) {
		found++;
		if (de.type == DT_DIR || (de.type != DT_UNKNOWN &&
		    want_help(w)))
			push(w, d, de.name, de.type);
		else
			run_entry(w, d, de.name, de.type);
	}
	rcp_dents_release(&ds);
	if (r < 0) {
		fail_in(w, d->parent, d->name, "read directory", -r);
		mark_kept(d);
		return -1;
	}
	return found;
}

/* Lists d.  Entries created under the walk may or may not be seen (as
 * with any getdents reader); dir_post finds out from its own result. */
static void
list_dir(struct rcp_walk *w, struct wnode *d)
{
	list_once(w, d);
}

/* --- workers and roots --------------------------------------------------- */

static void *
worker_main(void *arg)
{
	struct rcp_walk *w = arg;
	struct wtask *t;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (;;) {
		pthread_mutex_lock(&w->lock);
		atomic_fetch_add(&w->idle, 1);
		while (w->stack == NULL && w->pending > 0)
			pthread_cond_wait(&w->cond, &w->lock);
		atomic_fetch_sub(&w->idle, 1);
		if ((t = w->stack) == NULL) {
			pthread_mutex_unlock(&w->lock);
			break;
		}
		w->stack = t->next;
		w->queued--;
		pthread_mutex_unlock(&w->lock);

		run_entry(w, t->dir, t->name, t->type);
		node_release(w, t->dir);
		free(t->name);
		free(t);

		pthread_mutex_lock(&w->lock);
		if (--w->pending == 0)
			pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	return NULL;
}

/*
 * Splits root into the directory that holds it (opened, following what the
 * user typed) and its last component.  Returns 0, or -1 with the problem
 * logged.
 */
static int
root_open(struct rcp_walk *w, const char *root, struct wnode **anchorp,
    char **basep)
{
	char *path = rcp_xstrdup(root), *slash, *dir;
	const char *base;
	size_t len = strlen(path);
	int fd;

	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (len > 0 && w->o.dot_roots && (strcmp(path, "/") == 0 ||
	    strcmp(base, ".") == 0 || strcmp(base, "..") == 0)) {
		/* The directory itself, as "." of itself. */
		dir = rcp_xstrdup(path);
		base = ".";
	} else if (len == 0 || strcmp(path, "/") == 0 ||
	    strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		rcp_log(&w->log, RCP_LOG_ERROR, "refusing '%s': a root may "
		    "not be '/', '.' or '..'", root);
		COUNT(w, errors);
		free(path);
		return -1;
	} else if (slash == NULL)
		dir = rcp_xstrdup(".");
	else if (slash == path)
		dir = rcp_xstrdup("/");
	else
		dir = rcp_xstrndup(path, (size_t)(slash - path));
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		char *shown = rcp_escape(root);

		rcp_log(&w->log, RCP_LOG_ERROR, "cannot access '%s': %s",
		    shown, strerror(errno));
		free(shown);
		COUNT(w, errors);
		free(dir);
		free(path);
		return -1;
	}
	*anchorp = node_new(NULL, path, fd);
	(*anchorp)->anchor = true;
	*basep = rcp_xstrdup(base);
	free(dir);
	free(path);
	return 0;
}

/* Queues root as an entry of its anchor. */
static int
root_start(struct rcp_walk *w, const char *root)
{
	struct wnode *a;
	struct stat st;
	char *base, *shown;

	if (root_open(w, root, &a, &base) != 0)
		return -1;
	if (fstatat(a->fd, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		shown = rcp_escape(root);
		rcp_log(&w->log, RCP_LOG_ERROR, "cannot access '%s': %s",
		    shown, strerror(errno));
		free(shown);
		COUNT(w, errors);
		free(base);
		node_release(w, a);
		return -1;
	}
	push(w, a, base, mode_dtype(st.st_mode));
	free(base);
	node_release(w, a);
	return 0;
}

int
rcp_walk_run(struct rcp_walk *w, const char *const *roots, size_t n)
{
	pthread_t *th;
	size_t i;
	int nth = w->o.max_workers, started = 0;

	if (w->ran)
		return RCP_ERR_INTERNAL;
	w->ran = true;
	pthread_mutex_lock(&w->lock);
	w->pending++;		/* held while roots are queued */
	pthread_mutex_unlock(&w->lock);
	th = rcp_xcalloc((size_t)nth, sizeof(*th));
	for (i = 0; i < (size_t)nth; i++)
		if (pthread_create(&th[i], NULL, worker_main, w) == 0)
			started++;
	for (i = 0; i < n && !stopping(w); i++)
		root_start(w, roots[i]);
	pthread_mutex_lock(&w->lock);
	if (--w->pending == 0)
		pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	if (started == 0)
		worker_main(w);
	for (i = 0; i < (size_t)started; i++)
		pthread_join(th[i], NULL);
	free(th);
	if (atomic_load(&w->cancel))
		return RCP_ERR_CANCELED;
	return atomic_load(&w->n.errors) > 0 ? RCP_ERR_PARTIAL : 0;
}

/* --- age filters -------------------------------------------------------- */

static struct timespec
cutoff(uint64_t age_ns)
{
	struct timespec now;
	int64_t t;

	clock_gettime(CLOCK_REALTIME, &now);
	t = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec - (int64_t)age_ns;
	now.tv_sec = t / 1000000000;
	now.tv_nsec = t % 1000000000;
	if (now.tv_nsec < 0) {
		now.tv_sec--;
		now.tv_nsec += 1000000000;
	}
	return now;
}

void
rcp_walk_age_init(struct rcp_walk_age *a, uint64_t modified_before_ns,
    uint64_t created_before_ns)
{
	memset(a, 0, sizeof(*a));
	a->modified = modified_before_ns > 0;
	a->created = created_before_ns > 0;
	if (a->modified)
		a->mcut = cutoff(modified_before_ns);
	if (a->created)
		a->ccut = cutoff(created_before_ns);
}

bool
rcp_walk_age_any(const struct rcp_walk_age *a)
{
	return a->modified || a->created;
}

static bool
older(const struct statx_timestamp *t, const struct timespec *cut)
{
	return t->tv_sec < cut->tv_sec || (t->tv_sec == cut->tv_sec &&
	    (long)t->tv_nsec < cut->tv_nsec);
}

int
rcp_walk_age_check(struct rcp_walk *w, const struct rcp_walk_age *a,
    const struct rcp_walk_ent *e)
{
	char *shown;

	if (!rcp_walk_age_any(a))
		return RCP_WALK_DONE;
	if (e->stx == NULL)
		return RCP_WALK_KEEP;	/* a bug of the caller's: keep */
	if (a->created && !(e->stx->stx_mask & STATX_BTIME)) {
		shown = rcp_walk_path(w, e);
		rcp_log(&w->log, RCP_LOG_WARN, "skipping '%s': its file "
		    "system records no birth time", shown);
		free(shown);
		COUNT(w, skipped);
		return RCP_WALK_SKIP;
	}
	if (a->modified && !older(&e->stx->stx_mtime, &a->mcut)) {
		report_in(w, e->node, e->name, NULL, "modified too recently");
		return RCP_WALK_KEEP;
	}
	if (a->created && !older(&e->stx->stx_btime, &a->ccut)) {
		report_in(w, e->node, e->name, NULL, "created too recently");
		return RCP_WALK_KEEP;
	}
	return RCP_WALK_DONE;
}

/* --- progress and summary ------------------------------------------------ */

void
rcp_walk_progress_text(struct rcp_buf *b, const struct rcp_walk_stats *s,
    const char *verb, uint64_t elapsed_ns)
{
	char t[32];

	rcp_buf_addf(b, "%s %s %llu files, %llu dirs; kept %llu, skipped "
	    "%llu, errors %llu", rcp_fmt_duration(t, sizeof(t), elapsed_ns),
	    verb, (unsigned long long)s->files, (unsigned long long)s->dirs,
	    (unsigned long long)s->kept, (unsigned long long)s->skipped,
	    (unsigned long long)s->errors);
}

void
rcp_walk_summary(struct rcp_buf *b, const struct rcp_walk_stats *s,
    const char *verb, uint64_t wall_ns, uint64_t cpu_ns, uint64_t peak_rss)
{
	char t[32], cpu[32], rss[32];

	rcp_buf_addf(b,
	    "files %s: %llu\n"
	    "directories %s: %llu\n"
	    "entries seen: %llu\n"
	    "kept: %llu\n"
	    "skipped: %llu\n"
	    "errors: %llu\n"
	    "walltime: %s\n"
	    "cpu time: %s\n"
	    "peak rss: %s\n",
	    verb, (unsigned long long)s->files, verb,
	    (unsigned long long)s->dirs, (unsigned long long)s->entries,
	    (unsigned long long)s->kept, (unsigned long long)s->skipped,
	    (unsigned long long)s->errors,
	    rcp_fmt_duration(t, sizeof(t), wall_ns),
	    rcp_fmt_duration(cpu, sizeof(cpu), cpu_ns),
	    rcp_fmt_bytes(rss, sizeof(rss), (double)peak_rss));
}
