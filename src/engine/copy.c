/*
 * copy.c: the multi-threaded local copy engine.
 *
 * Work is a LIFO stack of tasks run by a pool of worker threads: listing a
 * directory, copying one entry, copying one chunk of a large file.  LIFO
 * order walks the tree roughly depth first, which keeps the number of open
 * directories and queued tasks small; a lister that finds the stack deep
 * copies entries itself instead of queueing them, which bounds memory.
 *
 * Every directory being copied is a struct dnode holding its source and
 * destination directory fds, so that all access below it is fd-relative
 * (trees deeper than PATH_MAX work, and names are plain bytes).  A dnode
 * counts its unfinished children; when the count drops to zero its metadata
 * is applied, its fds are closed and its parent is told.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/throttle.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/dents.h"
#include "fs/filter.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"

#include "base/banned.h"

/* Above this many queued tasks a lister copies entries itself. */
#define QUEUE_HIGH 4096
/* Each worker's I/O buffer. */
#define IO_BUFSZ (256u << 10)

enum { T_DIR, T_ENTRY, T_CHUNK };

struct root;

/* A directory being copied. */
struct dnode {
	struct dnode	*parent;	/* holds a ref; NULL for an anchor */
	struct root	*root;
	char		*name;		/* source name, bytes */
	char		*dname;		/* destination name */
	char		*rel;		/* path below the copy root ("" at it) */
	atomic_int	 refs;		/* own listing + unfinished children */
	int		 srcfd;
	int		 dstfd;		/* -1 until created or opened */
	struct stat	 st;
	mode_t		 dst_mode;	/* mode the destination has now */
	bool		 anchor;	/* parent of a copy root: no metadata */
	atomic_bool	 dst_new;	/* created by us: no existing children;
					 * set under lock, read by any worker */
	bool		 dst_existed;	/* merged into an existing directory */
	bool		 dst_failed;	/* could not be created: skip children */
	bool		 lazy;		/* create only when a child needs it */
	bool		 included;	/* a filter included the whole subtree */
	pthread_mutex_t	 lock;		/* serializes lazy creation */
};

/* One source/destination pair of a run. */
struct root {
	char		*src;		/* as given, for messages */
	char		*dst;		/* the final destination path */
};

/* A file large enough to be copied in chunks by several workers. */
struct bigfile {
	struct dnode	*dir;		/* holds a ref */
	char		*name;
	char		*dname;
	int		 sfd;
	int		 dfd;
	struct stat	 st;
	mode_t		 dst_mode;
	bool		 sparse;
	off_t		 chunk;
	atomic_int	 left;		/* chunks other than the last not done */
	atomic_bool	 failed;
	struct hlink	*hl;		/* hard link record to mark, or NULL */
	pthread_mutex_t	 wlock;		/* one writer at a time (see rcp_io) */
};

struct task {
	struct task	*next;
	int		 kind;
	struct dnode	*dir;		/* T_DIR: the directory; T_ENTRY: parent */
	char		*name;		/* T_ENTRY */
	char		*dname;		/* T_ENTRY: destination name if different */
	unsigned char	 dtype;		/* T_ENTRY: d_type hint */
	struct bigfile	*bf;		/* T_CHUNK */
	off_t		 off;
	off_t		 len;
};

/* A hard-linked source inode and where its first copy went. */
struct hlink {
	struct hlink	*next;
	dev_t		 dev;
	ino_t		 ino;
	char		*path;		/* destination path of the first copy */
	int		 fd;		/* O_PATH fd of it when path is too long */
	int		 state;		/* 0 being copied, 1 done, -1 failed */
};

#define HLINK_BUCKETS 4096

struct worker {
	struct rcp_copy	*c;
	pthread_t	 thread;
	char		*buf;
	struct rcp_io	 io;
};

struct rcp_copy {
	struct rcp_copy_opts	 o;
	struct rcp_log		 log;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* work queued, or all done */
	struct task		*stack;		/* requires lock */
	size_t			 queued;	/* requires lock */
	size_t			 pending;	/* queued + running; requires lock */
	atomic_int		 idle;		/* workers waiting for work */

	atomic_bool		 cancel;
	atomic_bool		 stop;		/* cancel or fail-early */
	atomic_bool		 no_cfr;
	atomic_int		 fds;		/* open fds counted against the cap */
	atomic_int		 file_fds;	/* of which held by file copies */
	int			 max_fds;

	struct rcp_throttle	 ops;
	struct rcp_throttle	 iops;

	const struct rcp_src_ops *src;		/* where we read from */
	void			*src_ctx;

	pthread_mutex_t		 hl_lock;
	pthread_cond_t		 hl_cond;
	struct hlink		*hl[HLINK_BUCKETS]; /* requires hl_lock */

	struct {
		atomic_uint_least64_t	bytes_copied;
		atomic_uint_least64_t	files_copied;
		atomic_uint_least64_t	dirs_created;
		atomic_uint_least64_t	symlinks_created;
		atomic_uint_least64_t	specials_created;
		atomic_uint_least64_t	hard_links_created;
		atomic_uint_least64_t	files_unchanged;
		atomic_uint_least64_t	dirs_unchanged;
		atomic_uint_least64_t	symlinks_unchanged;
		atomic_uint_least64_t	removed;
		atomic_uint_least64_t	skipped;
		atomic_uint_least64_t	errors;
	} n;
	bool			 ran;
};

#define COUNT(c, field) \
	atomic_fetch_add_explicit(&(c)->n.field, 1, memory_order_relaxed)

static void run_entry(struct rcp_copy *, struct worker *, struct dnode *,
    const char *, const char *, unsigned char);
static void hl_end(struct rcp_copy *, struct dnode *, const char *,
    struct hlink *, bool);

/* Umask without changing it: /proc tells it (Linux 4.7 and later). */
static mode_t
read_umask(void)
{
	char line[128];
	unsigned m;
	FILE *fp;
	mode_t r = 022;

	if ((fp = fopen("/proc/self/status", "r")) == NULL)
		return r;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "Umask: %o", &m) == 1) {
			r = (mode_t)m;
			break;
		}
	}
	fclose(fp);
	return r;
}

void
rcp_copy_opts_init(struct rcp_copy_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->overwrite_compare.f = RCP_ATTR_SIZE | RCP_ATTR_MTIME;
	o->overwrite_compare.d = RCP_ATTR_SIZE | RCP_ATTR_MTIME;
	o->overwrite_compare.l = RCP_ATTR_SIZE | RCP_ATTR_MTIME;
	rcp_preserve_default(&o->preserve);
	o->chunk_size = RCP_COPY_CHUNK_DEFAULT;
	o->umask = read_umask();
}

struct rcp_copy *
rcp_copy_new(const struct rcp_copy_opts *opts, const struct rcp_log *log)
{
	struct rcp_copy *c = rcp_xcalloc(1, sizeof(*c));
	struct rlimit rl;

	c->o = *opts;
	if (log != NULL)
		c->log = *log;
	if (c->o.max_workers <= 0)
		c->o.max_workers = rcp_ncpus();
	if (c->o.chunk_size == 0)
		c->o.chunk_size = RCP_COPY_CHUNK_DEFAULT;
	c->max_fds = c->o.max_open_files;
	if (c->max_fds <= 0) {
		c->max_fds = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY)
			c->max_fds = (int)(rl.rlim_cur * 8 / 10);
	}
	if (c->max_fds < 16)
		c->max_fds = 16;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	pthread_mutex_init(&c->hl_lock, NULL);
	pthread_cond_init(&c->hl_cond, NULL);
	rcp_throttle_init(&c->ops, c->o.ops_throttle);
	rcp_throttle_init(&c->iops, c->o.iops_throttle);
	c->src = &rcp_src_local;
	return c;
}

void
rcp_copy_set_source(struct rcp_copy *c, const struct rcp_src_ops *ops,
    void *ctx)
{
	c->src = ops;
	c->src_ctx = ctx;
}

#define SRC(c, op, ...) ((c)->src->op((c)->src_ctx, __VA_ARGS__))

void
rcp_copy_free(struct rcp_copy *c)
{
	struct hlink *h, *next;
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < HLINK_BUCKETS; i++) {
		for (h = c->hl[i]; h != NULL; h = next) {
			next = h->next;
			if (h->fd >= 0)
				close(h->fd);
			free(h->path);
			free(h);
		}
	}
	rcp_throttle_release(&c->ops);
	rcp_throttle_release(&c->iops);
	pthread_cond_destroy(&c->hl_cond);
	pthread_mutex_destroy(&c->hl_lock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void
rcp_copy_cancel(struct rcp_copy *c)
{
	/* Only atomics here: callable from a signal handler. */
	atomic_store(&c->cancel, true);
	atomic_store(&c->stop, true);
}

void
rcp_copy_stats(struct rcp_copy *c, struct rcp_copy_stats *s)
{
#define LOAD(f) s->f = atomic_load_explicit(&c->n.f, memory_order_relaxed)
	LOAD(bytes_copied);
	LOAD(files_copied);
	LOAD(dirs_created);
	LOAD(symlinks_created);
	LOAD(specials_created);
	LOAD(hard_links_created);
	LOAD(files_unchanged);
	LOAD(dirs_unchanged);
	LOAD(symlinks_unchanged);
	LOAD(removed);
	LOAD(skipped);
	LOAD(errors);
#undef LOAD
}

char *
rcp_copy_expand_home(const char *path, const char *home)
{
	if (home == NULL || path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
		return rcp_xstrdup(path);
	return rcp_xasprintf("%s%s", home, path + 1);
}

static bool
stopping(struct rcp_copy *c)
{
	return atomic_load_explicit(&c->stop, memory_order_relaxed);
}

/* --- paths for messages ------------------------------------------------- */

/* Returns the raw path of name below d on the source (side 0) or
 * destination (side 1); caller frees. */
static char *
entry_path(const struct dnode *d, const char *name, int side)
{
	const char *top = side == 0 ? d->root->src : d->root->dst;
	struct rcp_buf b = RCP_BUF_INIT;

	if (d->anchor)
		return rcp_xstrdup(top);
	rcp_buf_addstr(&b, top);
	if (d->rel[0] != '\0') {
		rcp_buf_addch(&b, '/');
		rcp_buf_addstr(&b, d->rel);
	}
	if (name != NULL) {
		rcp_buf_addch(&b, '/');
		rcp_buf_addstr(&b, name);
	}
	return rcp_buf_detach(&b);
}

/* Returns the relative path of name below d ("" for a copy root). */
static char *
entry_rel(const struct dnode *d, const char *name)
{
	if (d->anchor)
		return rcp_xstrdup("");
	if (d->rel[0] == '\0')
		return rcp_xstrdup(name);
	return rcp_xasprintf("%s/%s", d->rel, name);
}

/*
 * Logs "cannot WHAT 'PATH': description" and counts an error.  err is an
 * errno, or the negation of any error code (-r of a source operation, which
 * may be an RCP_ERR_* of a remote source).
 */
static void
fail_at(struct rcp_copy *c, struct dnode *d, const char *name, int side,
    const char *what, int err)
{
	char *path = entry_path(d, name, side), *shown = rcp_escape(path);

	COUNT(c, errors);
	rcp_log(&c->log, RCP_LOG_ERROR, "cannot %s '%s': %s", what, shown,
	    rcp_strerror(-err));
	free(shown);
	free(path);
	if (c->o.fail_early)
		atomic_store(&c->stop, true);
}

/* Logs "BEFORE'PATH'AFTER" and counts an error. */
static void
fail_msg(struct rcp_copy *c, struct dnode *d, const char *name, int side,
    const char *before, const char *after)
{
	char *path = entry_path(d, name, side), *shown = rcp_escape(path);

	COUNT(c, errors);
	rcp_log(&c->log, RCP_LOG_ERROR, "%s'%s'%s", before, shown, after);
	free(shown);
	free(path);
	if (c->o.fail_early)
		atomic_store(&c->stop, true);
}

/*
 * Reports a failure to move a file's data, naming the side that failed:
 * the destination for write errors and a full or read-only file system,
 * else the source.
 */
static void
data_fail(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const char *what, int err)
{
	bool dst = strcmp(what, "write") == 0 || err == ENOSPC ||
	    err == EDQUOT || err == EFBIG || err == EROFS;

	fail_at(c, d, dst ? dname : name, dst ? 1 : 0,
	    dst && strcmp(what, "copy data of") == 0 ? "write" : what, err);
}

/* Dry-run and verbose reporting of one action on an entry. */
static void
report(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *action, const char *why)
{
	char *path, *shown;
	int level;

	if (c->o.dry_run == RCP_DRY_ALL || c->o.dry_run == RCP_DRY_EXPLAIN)
		level = RCP_LOG_OUTPUT;
	else if (c->o.dry_run == RCP_DRY_BRIEF)
		return;
	else
		level = RCP_LOG_DEBUG;
	if (!rcp_log_enabled(&c->log, level))
		return;
	path = entry_path(d, name, 1);
	shown = rcp_escape(path);
	if (why != NULL && (c->o.dry_run == RCP_DRY_EXPLAIN ||
	    c->o.dry_run == RCP_DRY_NONE))
		rcp_log(&c->log, level, "%s%s '%s': %s",
		    c->o.dry_run ? "dry-run: " : "", action, shown, why);
	else
		rcp_log(&c->log, level, "%s%s '%s'",
		    c->o.dry_run ? "dry-run: " : "", action, shown);
	free(shown);
	free(path);
}

/* --- the task stack ------------------------------------------------------ */

static void
push(struct rcp_copy *c, struct task *t)
{
	pthread_mutex_lock(&c->lock);
	t->next = c->stack;
	c->stack = t;
	c->queued++;
	c->pending++;
	pthread_cond_signal(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/*
 * Returns true if an entry found by a lister should be queued for another
 * worker rather than copied by the lister itself.  Workers that create
 * files in one directory contend for its lock in the kernel, so each lister
 * keeps its own directory's files unless a worker is idle; and never queues
 * past QUEUE_HIGH, which bounds memory.
 */
static bool
want_help(struct rcp_copy *c)
{
	size_t n;

	if (atomic_load_explicit(&c->idle, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&c->lock);
	n = c->queued;
	pthread_mutex_unlock(&c->lock);
	return n < QUEUE_HIGH;
}

/* --- fd accounting ------------------------------------------------------- */

/* Directory fds: counted, never waited for (a parent waits on children). */
static void
fds_take(struct rcp_copy *c, int n)
{
	atomic_fetch_add(&c->fds, n);
}

static void
fds_put(struct rcp_copy *c, int n)
{
	atomic_fetch_sub(&c->fds, n);
}

/*
 * File fds: waits until n more fit under the cap.  Only other file copies
 * are waited for, since they finish on their own; directories held open by
 * a deep walk may push the count over the cap rather than deadlock.
 */
static void
fds_wait(struct rcp_copy *c, int n)
{
	struct timespec ts = { 0, 200000 };

	while (atomic_load(&c->fds) + n > c->max_fds &&
	    atomic_load(&c->file_fds) > 0 && !stopping(c))
		nanosleep(&ts, NULL);
	atomic_fetch_add(&c->fds, n);
	atomic_fetch_add(&c->file_fds, n);
}

static void
fds_done(struct rcp_copy *c, int n)
{
	atomic_fetch_sub(&c->fds, n);
	atomic_fetch_sub(&c->file_fds, n);
}

/* --- directory nodes ----------------------------------------------------- */

static struct dnode *
dnode_new(struct dnode *parent, struct root *root, const char *name,
    const char *dname, const struct stat *st)
{
	struct dnode *d = rcp_xcalloc(1, sizeof(*d));

	d->parent = parent;
	d->root = root;
	d->name = rcp_xstrdup(name);
	d->dname = rcp_xstrdup(dname != NULL ? dname : name);
	d->rel = parent == NULL ? rcp_xstrdup("") : entry_rel(parent, name);
	atomic_init(&d->refs, 1);
	d->srcfd = d->dstfd = -1;
	if (st != NULL)
		d->st = *st;
	pthread_mutex_init(&d->lock, NULL);
	if (parent != NULL)
		atomic_fetch_add(&parent->refs, 1);
	return d;
}

static void
dnode_free(struct dnode *d)
{
	pthread_mutex_destroy(&d->lock);
	free(d->name);
	free(d->dname);
	free(d->rel);
	free(d);
}

/* Applies a finished directory's metadata and closes it. */
static void
dnode_finish(struct rcp_copy *c, struct dnode *d)
{
	const char *what = NULL;
	int r;

	if (!d->anchor && d->dstfd >= 0 && !c->o.dry_run && !stopping(c)) {
		r = rcp_meta_apply_fd(d->dstfd, &c->o.preserve.d, &d->st,
		    d->dst_mode, &what);
		if (r != 0)
			fail_at(c, d->parent, d->name, 1, what, -r);
	}
	if (d->srcfd >= 0) {
		c->src->close(c->src_ctx, d->srcfd);
		fds_put(c, 1);
	}
	if (d->dstfd >= 0) {
		close(d->dstfd);
		fds_put(c, 1);
	}
}

/* Drops one reference; finishes d and walks up while parents finish too. */
static void
dnode_release(struct rcp_copy *c, struct dnode *d)
{
	struct dnode *parent;

	while (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1) {
		dnode_finish(c, d);
		parent = d->parent;
		if (d->anchor) {
			free(d->root->src);
			free(d->root->dst);
			free(d->root);
		}
		dnode_free(d);
		d = parent;
	}
}

/* Removes whatever is at dname in d's destination. 0 or -errno. */
static int
remove_existing(struct rcp_copy *c, struct dnode *d, const char *dname)
{
	char *sub = NULL, *path, *shown;
	int r;

	if ((r = rcp_fs_rmtree_at(d->dstfd, dname, &sub)) != 0) {
		path = entry_path(d, sub != NULL ? sub : dname, 1);
		shown = rcp_escape(path);
		COUNT(c, errors);
		rcp_log(&c->log, RCP_LOG_ERROR, "cannot remove '%s': %s",
		    shown, rcp_strerror(r));
		free(shown);
		free(path);
		if (c->o.fail_early)
			atomic_store(&c->stop, true);
	}
	free(sub);
	return r;
}

/*
 * Makes sure d's destination directory exists and is open (creating it, or
 * merging into an existing one).  Returns 0, or -1 if d cannot be used.
 */
static int
ensure_dst(struct rcp_copy *c, struct dnode *d)
{
	struct dnode *p = d->parent;
	struct stat dst;
	mode_t mode;
	int r = 0, fd;

	if (d->anchor)
		return d->dstfd >= 0 || c->o.dry_run ? 0 : -1;
	pthread_mutex_lock(&d->lock);
	if (d->dst_failed) {
		r = -1;
		goto out;
	}
	if (d->dstfd >= 0 || (c->o.dry_run && (d->dst_new || d->dst_existed)))
		goto out;
	if (ensure_dst(c, p) != 0) {
		r = -1;
		d->dst_failed = true;
		goto out;
	}
	if (!p->dst_new &&
	    fstatat(p->dstfd, d->dname, &dst, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(dst.st_mode)) {
			d->dst_existed = true;
			d->dst_mode = dst.st_mode;
			COUNT(c, dirs_unchanged);
			report(c, p, d->dname, "merge directory", "exists");
		} else if (c->o.overwrite) {
			report(c, p, d->dname, "replace", "not a directory");
			if (!c->o.dry_run && remove_existing(c, p, d->dname) != 0) {
				r = -1;
				d->dst_failed = true;
				goto out;
			}
		} else {
			/* ignore_existing: a non-directory stays. */
			COUNT(c, skipped);
			report(c, p, d->dname, "skip", "exists");
			r = -1;
			d->dst_failed = true;
			goto out;
		}
	}
	if (!d->dst_existed) {
		mode = (c->o.preserve.d.mode_mask != 0 ?
		    (d->st.st_mode & 0777) : 0777) | S_IRWXU;
		report(c, p, d->dname, "create directory", NULL);
		if (c->o.dry_run) {
			COUNT(c, dirs_created);
			d->dst_new = true;
			goto out;
		}
		if (mkdirat(p->dstfd, d->dname, mode) != 0) {
			fail_at(c, p, d->dname, 1, "create directory", errno);
			r = -1;
			d->dst_failed = true;
			goto out;
		}
		COUNT(c, dirs_created);
		d->dst_new = true;
		d->dst_mode = S_IFDIR | (mode & ~c->o.umask);
	}
	if (c->o.dry_run && d->dst_existed) {
		/* Opened read-only to compare what is below. */
	} else if (c->o.dry_run)
		goto out;
	fd = openat(p->dstfd, d->dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0) {
		fail_at(c, p, d->dname, 1, "open directory", errno);
		r = -1;
		d->dst_failed = true;
		goto out;
	}
	fds_take(c, 1);
	d->dstfd = fd;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* --- a set of names, for --delete ---------------------------------------- */

struct nameset {
	char	**slot;
	size_t	  cap;		/* a power of two */
	size_t	  n;
};

static uint64_t
hash_bytes(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static void
nameset_add(struct nameset *ns, const char *name)
{
	size_t i, old = ns->cap;
	char **slots = ns->slot;

	if ((ns->n + 1) * 2 > ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 64;
		ns->slot = rcp_xcalloc(ns->cap, sizeof(char *));
		ns->n = 0;
		for (i = 0; i < old; i++)
			if (slots[i] != NULL) {
				nameset_add(ns, slots[i]);
				free(slots[i]);
			}
		free(slots);
	}
	for (i = hash_bytes(name) & (ns->cap - 1); ns->slot[i] != NULL;
	    i = (i + 1) & (ns->cap - 1))
		if (strcmp(ns->slot[i], name) == 0)
			return;
	ns->slot[i] = rcp_xstrdup(name);
	ns->n++;
}

static bool
nameset_has(const struct nameset *ns, const char *name)
{
	size_t i;

	if (ns->cap == 0)
		return false;
	for (i = hash_bytes(name) & (ns->cap - 1); ns->slot[i] != NULL;
	    i = (i + 1) & (ns->cap - 1))
		if (strcmp(ns->slot[i], name) == 0)
			return true;
	return false;
}

static void
nameset_release(struct nameset *ns)
{
	size_t i;

	for (i = 0; i < ns->cap; i++)
		free(ns->slot[i]);
	free(ns->slot);
	memset(ns, 0, sizeof(*ns));
}

/* --- hard links ---------------------------------------------------------- */

/*
 * Looks up the inode of st.  Returns NULL and records it (the caller copies
 * the file, then calls hl_done) the first time; later, waits for the first
 * copy and returns its destination path (owned by the table).
 */
static struct hlink *
hl_claim(struct rcp_copy *c, const struct stat *st, const char *path,
    bool *first)
{
	size_t b = (size_t)((st->st_ino * 31 + st->st_dev) % HLINK_BUCKETS);
	struct hlink *h;

	pthread_mutex_lock(&c->hl_lock);
	for (h = c->hl[b]; h != NULL; h = h->next)
		if (h->ino == st->st_ino && h->dev == st->st_dev)
			break;
	if (h == NULL) {
		h = rcp_xcalloc(1, sizeof(*h));
		h->dev = st->st_dev;
		h->ino = st->st_ino;
		h->path = rcp_xstrdup(path);
		h->fd = -1;
		h->next = c->hl[b];
		c->hl[b] = h;
		*first = true;
	} else {
		*first = false;
		while (h->state == 0)
			pthread_cond_wait(&c->hl_cond, &c->hl_lock);
	}
	pthread_mutex_unlock(&c->hl_lock);
	return h;
}

static void
hl_done(struct rcp_copy *c, struct hlink *h, bool ok)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&c->hl_lock);
	h->state = ok ? 1 : -1;
	pthread_cond_broadcast(&c->hl_cond);
	pthread_mutex_unlock(&c->hl_lock);
}

/* --- regular files ------------------------------------------------------- */

/*
 * Decides what to do with an existing destination entry for a source of
 * type st.  Returns 1 to go on and create it (anything in the way is gone),
 * 0 if it is left alone (unchanged or skipped), -1 on error.
 */
static int
settle_existing(struct rcp_copy *c, struct dnode *d, const char *dname,
    const struct stat *st, const char *link_target)
{
	char tbuf[PATH_MAX];
	struct stat dst;
	unsigned diff, mask;
	struct rcp_buf why = RCP_BUF_INIT;
	ssize_t n;

	if (d->dst_new)
		return 1;
	if (fstatat(d->dstfd, dname, &dst, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 1;
		fail_at(c, d, dname, 1, "stat", errno);
		return -1;
	}
	if (c->o.ignore_existing && !c->o.overwrite) {
		COUNT(c, skipped);
		report(c, d, dname, "skip", "exists (--ignore-existing)");
		return 0;
	}
	if ((dst.st_mode & S_IFMT) == (st->st_mode & S_IFMT) &&
	    (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))) {
		mask = rcp_attrs_for(&c->o.overwrite_compare, st->st_mode);
		diff = rcp_attrs_diff(mask, st, &dst);
		if (diff == 0 && S_ISLNK(st->st_mode)) {
			n = readlinkat(d->dstfd, dname, tbuf, sizeof(tbuf) - 1);
			if (n < 0 || (size_t)n != strlen(link_target) ||
			    memcmp(tbuf, link_target, (size_t)n) != 0)
				diff = ~0u;
		}
		if (diff == 0) {
			if (S_ISLNK(st->st_mode))
				COUNT(c, symlinks_unchanged);
			else
				COUNT(c, files_unchanged);
			rcp_attrs_format(mask, &why);
			rcp_buf_addstr(&why, " equal");
			report(c, d, dname, "unchanged", rcp_buf_str(&why));
			rcp_buf_release(&why);
			return 0;
		}
		if (diff == ~0u)
			rcp_buf_addstr(&why, "link target differs");
		else {
			rcp_attrs_format(diff, &why);
			rcp_buf_addstr(&why, " differ");
		}
	} else
		rcp_buf_addstr(&why, "type differs");
	report(c, d, dname, "replace", rcp_buf_str(&why));
	rcp_buf_release(&why);
	if (c->o.dry_run)
		return 1;
	return remove_existing(c, d, dname) == 0 ? 1 : -1;
}

/* Data is in: fix the size of a sparse copy, then chown, chmod, times. */
static int
finish_file(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, int sfd, int dfd, const struct stat *st,
    mode_t dst_mode, bool sparse)
{
	const char *what = NULL;
	int r;

	if (sparse && ftruncate(dfd, st->st_size) != 0) {
		fail_at(c, d, dname, 1, "set size of", errno);
		return -1;
	}
	if (SRC(c, changed, sfd, st) != 0) {
		fail_msg(c, d, name, 0, "source ", " changed while it was "
		    "copied; the copy is incomplete and will be redone by "
		    "--overwrite");
		return -1;
	}
	r = rcp_meta_apply_fd(dfd, &c->o.preserve.f, st, dst_mode, &what);
	if (r != 0) {
		fail_at(c, d, dname, 1, what, -r);
		return -1;
	}
	COUNT(c, files_copied);
	return 0;
}

static void
bigfile_end(struct rcp_copy *c, struct bigfile *bf)
{
	bool ok = !atomic_load(&bf->failed) && !stopping(c);

	if (ok && finish_file(c, bf->dir, bf->name, bf->dname, bf->sfd,
	    bf->dfd, &bf->st, bf->dst_mode, bf->sparse) != 0)
		ok = false;
	hl_end(c, bf->dir, bf->dname, bf->hl, ok);
	c->src->close(c->src_ctx, bf->sfd);
	close(bf->dfd);
	fds_done(c, 2);
	dnode_release(c, bf->dir);
	pthread_mutex_destroy(&bf->wlock);
	free(bf->name);
	free(bf->dname);
	free(bf);
}

/* Copies one chunk; the worker that finishes the last but one runs the last. */
static void
run_chunk(struct rcp_copy *c, struct worker *w, struct bigfile *bf, off_t off,
    off_t len, bool last)
{
	const char *what = "copy data of";
	int64_t n;

	if (!atomic_load(&bf->failed) && !stopping(c)) {
		if (rcp_throttle_take(&c->iops, 1, &c->stop) != 0)
			atomic_store(&bf->failed, true);
		else {
			w->io.wlock = &bf->wlock;
			n = SRC(c, copy, bf->sfd, bf->dfd, off, len,
			    bf->sparse, &w->io, &what);
			w->io.wlock = NULL;
			/* One message per file, whichever chunk fails. */
			if (n < 0 && n != -ECANCELED) {
				if (!atomic_exchange(&bf->failed, true))
					data_fail(c, bf->dir, bf->name,
					    bf->dname, what, (int)-n);
			} else if (n < 0)
				atomic_store(&bf->failed, true);
			else if (!bf->sparse && n < len) {
				if (!atomic_exchange(&bf->failed, true))
					fail_msg(c, bf->dir, bf->name, 0,
					    "source ", " shrank while it was "
					    "copied");
			}
		}
	}
	if (last) {
		bigfile_end(c, bf);
		return;
	}
	if (atomic_fetch_sub(&bf->left, 1) == 1) {
		/* All other chunks are in: now the one that sets the size. */
		off = (off_t)((bf->st.st_size - 1) / bf->chunk) * bf->chunk;
		run_chunk(c, w, bf, off, bf->st.st_size - off, true);
	}
}

/* Splits a large file into chunk tasks; the file is finished by the last. */
static void
start_bigfile(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, int sfd, int dfd, const struct stat *st,
    mode_t dst_mode, struct hlink *hl)
{
	struct bigfile *bf = rcp_xcalloc(1, sizeof(*bf));
	off_t chunk = (off_t)c->o.chunk_size, off;
	int nchunks = (int)((st->st_size + chunk - 1) / chunk);
	struct task *t;

	bf->dir = d;
	atomic_fetch_add(&d->refs, 1);
	bf->name = rcp_xstrdup(name);
	bf->dname = rcp_xstrdup(dname);
	bf->sfd = sfd;
	bf->dfd = dfd;
	bf->st = *st;
	bf->dst_mode = dst_mode;
	bf->sparse = rcp_fs_is_sparse(st);
	bf->chunk = chunk;
	bf->hl = hl;
	pthread_mutex_init(&bf->wlock, NULL);
	atomic_init(&bf->left, nchunks - 1);
	for (off = 0; off + chunk < st->st_size; off += chunk) {
		t = rcp_xcalloc(1, sizeof(*t));
		t->kind = T_CHUNK;
		t->bf = bf;
		t->off = off;
		t->len = chunk;
		push(c, t);
	}
}

/* Makes dname a hard link to the first copy of the same source inode. */
static int
link_to_first(struct rcp_copy *c, struct dnode *d, const char *dname,
    struct hlink *h)
{
	char proc[64];
	int r;

	if (h->state != 1)
		return -1;	/* the first copy failed: copy this one anew */
	report(c, d, dname, "hard link", NULL);
	if (c->o.dry_run) {
		COUNT(c, hard_links_created);
		return 0;
	}
	if (h->fd >= 0) {
		/* Deeper than PATH_MAX: link through the fd we kept. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h->fd);
		r = linkat(AT_FDCWD, proc, d->dstfd, dname, AT_SYMLINK_FOLLOW);
	} else
		r = linkat(AT_FDCWD, h->path, d->dstfd, dname, 0);
	if (r != 0) {
		if (errno == ENAMETOOLONG || errno == EXDEV || errno == EMLINK)
			return -1;
		fail_at(c, d, dname, 1, "create hard link", errno);
		return 1;
	}
	COUNT(c, hard_links_created);
	return 0;
}

/*
 * With -H, an entry whose inode was seen before becomes a hard link to the
 * first copy.  Returns 0 if that is done (or failed and was reported), 1 if
 * the entry must be created; *hp is then set if this is the first copy and
 * must be passed to hl_end once it exists.
 */
static int
hl_begin(struct rcp_copy *c, struct dnode *d, const char *dname,
    const struct stat *st, struct hlink **hp)
{
	struct hlink *h;
	bool first;
	char *path;

	*hp = NULL;
	if (!c->o.hard_links || st->st_nlink < 2 || S_ISDIR(st->st_mode))
		return 1;
	path = entry_path(d, dname, 1);
	h = hl_claim(c, st, path, &first);
	free(path);
	if (first) {
		*hp = h;
		return 1;
	}
	return link_to_first(c, d, dname, h) >= 0 ? 0 : 1;
}

/* The first copy of a linked inode is made (ok) or failed. */
static void
hl_end(struct rcp_copy *c, struct dnode *d, const char *dname,
    struct hlink *h, bool ok)
{
	if (h == NULL)
		return;
	if (ok && !c->o.dry_run && strlen(h->path) >= PATH_MAX) {
		/* Too deep to name later: keep a handle on it instead. */
		h->fd = openat(d->dstfd, dname, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (h->fd >= 0)
			fds_take(c, 1);
	}
	hl_done(c, h, ok);
}

static void
copy_file(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, struct stat *st, int sfd,
    bool settled)
{
	struct hlink *h = NULL;
	const char *what = "copy data of";
	bool sparse, ok = false;
	mode_t mode, dst_mode;
	int dfd = -1, r;
	int64_t n;

	if (ensure_dst(c, d) != 0)
		goto out;
	if (!settled && (r = settle_existing(c, d, dname, st, NULL)) <= 0)
		goto out;
	if (hl_begin(c, d, dname, st, &h) == 0)
		goto out;
	report(c, d, dname, "copy file", NULL);
	if (c->o.dry_run) {
		COUNT(c, files_copied);
		atomic_fetch_add(&c->n.bytes_copied, (uint64_t)st->st_size);
		ok = true;
		goto out;
	}
	mode = c->o.preserve.f.mode_mask != 0 ? (st->st_mode & 0777) : 0666;
	dst_mode = S_IFREG | (mode & ~c->o.umask);
	fds_wait(c, 1);
	dfd = openat(d->dstfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (dfd < 0) {
		fds_done(c, 1);
		fail_at(c, d, dname, 1, "create", errno);
		goto out;
	}
	if ((uint64_t)st->st_size > c->o.chunk_size) {
		start_bigfile(c, d, name, dname, sfd, dfd, st, dst_mode, h);
		sfd = dfd = -1;	/* owned by the chunks now */
		h = NULL;
		goto out;
	}
	/* A file of one chunk is one I/O; larger ones pay per chunk. */
	if (rcp_throttle_take(&c->iops, 1, &c->stop) != 0)
		goto out;
	sparse = rcp_fs_is_sparse(st);
	n = SRC(c, copy, sfd, dfd, 0, st->st_size, sparse, &w->io, &what);
	if (n == -ECANCELED)
		goto out;
	if (n < 0) {
		data_fail(c, d, name, dname, what, (int)-n);
		goto out;
	}
	if (finish_file(c, d, name, dname, sfd, dfd, st, dst_mode, sparse) == 0)
		ok = true;
out:
	hl_end(c, d, dname, h, ok);
	if (dfd >= 0) {
		close(dfd);
		fds_done(c, 1);
	}
	if (sfd >= 0) {
		c->src->close(c->src_ctx, sfd);
		fds_done(c, 1);
	}
}

/* --- symlinks and special files ------------------------------------------ */

static void
copy_symlink(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st)
{
	char target[PATH_MAX];
	const char *what = NULL;
	struct hlink *h = NULL;
	ssize_t n;
	int r;

	n = SRC(c, readlink, d->srcfd, name, target, sizeof(target) - 1);
	if (n < 0) {
		fail_at(c, d, name, 0, "read symlink", (int)-n);
		return;
	}
	target[n] = '\0';
	if (ensure_dst(c, d) != 0 ||
	    settle_existing(c, d, dname, st, target) <= 0 ||
	    hl_begin(c, d, dname, st, &h) == 0)
		return;
	report(c, d, dname, "create symlink", NULL);
	if (c->o.dry_run) {
		COUNT(c, symlinks_created);
		hl_end(c, d, dname, h, true);
		return;
	}
	if (symlinkat(target, d->dstfd, dname) != 0) {
		fail_at(c, d, dname, 1, "create symlink", errno);
		hl_end(c, d, dname, h, false);
		return;
	}
	COUNT(c, symlinks_created);
	if ((r = rcp_meta_apply_link(d->dstfd, dname, &c->o.preserve.l, st,
	    &what)) != 0)
		fail_at(c, d, dname, 1, what, -r);
	hl_end(c, d, dname, h, true);
}

static void
copy_special(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st)
{
	const struct rcp_preserve_one *p = &c->o.preserve.f;
	struct hlink *h = NULL;
	struct timespec ts[2];
	mode_t mode = st->st_mode & 0777;
	int r;

	if (c->o.skip_specials) {
		COUNT(c, skipped);
		report(c, d, name, "skip", "special file (--skip-specials)");
		return;
	}
	if (ensure_dst(c, d) != 0 ||
	    settle_existing(c, d, dname, st, NULL) <= 0 ||
	    hl_begin(c, d, dname, st, &h) == 0)
		return;
	report(c, d, dname, "create special file", NULL);
	if (c->o.dry_run) {
		COUNT(c, specials_created);
		hl_end(c, d, dname, h, true);
		return;
	}
	if (S_ISFIFO(st->st_mode))
		r = mkfifoat(d->dstfd, dname, mode);
	else
		r = mknodat(d->dstfd, dname, (st->st_mode & S_IFMT) | mode,
		    st->st_rdev);
	if (r != 0) {
		fail_at(c, d, dname, 1, "create special file", errno);
		hl_end(c, d, dname, h, false);
		return;
	}
	COUNT(c, specials_created);
	/* Linked copies share the metadata set below. */
	hl_end(c, d, dname, h, true);
	/* A FIFO cannot be opened without blocking: work by name. */
	if ((p->uid || p->gid) && fchownat(d->dstfd, dname,
	    p->uid ? st->st_uid : (uid_t)-1, p->gid ? st->st_gid : (gid_t)-1,
	    AT_SYMLINK_NOFOLLOW) != 0 && !(errno == EPERM && geteuid() != 0)) {
		fail_at(c, d, dname, 1, "chown", errno);
		return;
	}
	if (p->mode_mask != 0 && (st->st_mode & p->mode_mask) !=
	    (mode & ~c->o.umask) && fchmodat(d->dstfd, dname,
	    st->st_mode & p->mode_mask, 0) != 0) {
		fail_at(c, d, dname, 1, "chmod", errno);
		return;
	}
	if (p->time) {
		ts[0] = st->st_atim;
		ts[1] = st->st_mtim;
		if (utimensat(d->dstfd, dname, ts, AT_SYMLINK_NOFOLLOW) != 0)
			fail_at(c, d, dname, 1, "set times of", errno);
	}
}

/* --- directories --------------------------------------------------------- */

/* With -L a directory can be reached again through a symlink: refuse loops. */
static bool
is_loop(const struct dnode *d, const struct stat *st)
{
	for (; d != NULL && !d->anchor; d = d->parent)
		if (d->st.st_ino == st->st_ino && d->st.st_dev == st->st_dev)
			return true;
	return false;
}

static void
queue_dir(struct rcp_copy *c, struct dnode *parent, const char *name,
    const char *dname, const struct stat *st, bool included, bool lazy)
{
	struct dnode *d;
	struct task *t;

	if (c->o.dereference && is_loop(parent, st)) {
		fail_msg(c, parent, name, 0, "cannot copy ", ": it is a "
		    "directory loop (a symlink leads back to one of its "
		    "parents)");
		return;
	}
	d = dnode_new(parent, parent->root, name, dname, st);
	d->included = included;
	d->lazy = lazy;
	t = rcp_xcalloc(1, sizeof(*t));
	t->kind = T_DIR;
	t->dir = d;
	push(c, t);
}

/* Removes destination entries the source directory does not have. */
static void
delete_extraneous(struct rcp_copy *c, struct dnode *d, struct nameset *keep)
{
	struct rcp_dents it;
	struct rcp_dent de;
	const char *why;
	char *rel;
	int fd, f, n;

	if ((fd = openat(d->dstfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fail_at(c, d->parent, d->dname, 1, "open directory", errno);
		return;
	}
	rcp_dents_init(&it, fd);
	while ((n = rcp_dents_next(&it, &de)) > 0) {
		if (nameset_has(keep, de.name))
			continue;
		rel = entry_rel(d, de.name);
		f = rcp_filter_check(c->o.filter, rel, de.type == DT_DIR,
		    d->included, &why);
		free(rel);
		if (f != RCP_FILTER_PASS && f != RCP_FILTER_TRAVERSE &&
		    !c->o.delete_excluded) {
			report(c, d, de.name, "keep",
			    "excluded, so protected from --delete");
			continue;
		}
		report(c, d, de.name, "remove", "not in the source "
		    "(--delete)");
		COUNT(c, removed);
		if (!c->o.dry_run && remove_existing(c, d, de.name) != 0)
			break;
	}
	if (n < 0)
		fail_at(c, d->parent, d->dname, 1, "read directory", -n);
	rcp_dents_release(&it);
	close(fd);
}

/* Handles one entry found by a lister: filter it, then run or queue it. */
static void
list_one(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, unsigned char dtype, struct nameset *keep)
{
	const char *why = NULL;
	struct stat st;
	struct task *t;
	bool is_dir = dtype == DT_DIR;
	char *rel;
	int f;

	if (!rcp_filter_empty(c->o.filter)) {
		/* With -L a symlink to a directory is filtered as one. */
		if ((dtype == DT_UNKNOWN || (dtype == DT_LNK &&
		    c->o.dereference)) && SRC(c, stat, d->srcfd, name,
		    c->o.dereference, &st) == 0)
			is_dir = S_ISDIR(st.st_mode);
		rel = entry_rel(d, name);
		f = rcp_filter_check(c->o.filter, rel, is_dir, d->included,
		    &why);
		free(rel);
		if (f == RCP_FILTER_EXCLUDED || f == RCP_FILTER_NOT_INCLUDED) {
			COUNT(c, skipped);
			report(c, d, name, "exclude", why != NULL ? why :
			    "matches no --include");
			return;
		}
	}
	if (keep != NULL)
		nameset_add(keep, name);
	atomic_fetch_add(&d->refs, 1);
	if (dtype != DT_DIR && !want_help(c)) {
		run_entry(c, w, d, name, NULL, dtype);
		return;
	}
	t = rcp_xcalloc(1, sizeof(*t));
	t->kind = T_ENTRY;
	t->dir = d;
	t->name = rcp_xstrdup(name);
	t->dtype = dtype;
	push(c, t);
}

struct listing {
	struct rcp_copy	*c;
	struct worker	*w;
	struct dnode	*d;
	struct nameset	*keep;
};

static int
list_cb(void *arg, const char *name, unsigned char dtype)
{
	struct listing *l = arg;

	if (stopping(l->c))
		return 1;
	list_one(l->c, l->w, l->d, name, dtype, l->keep);
	return 0;
}

/* Lists a source directory: the work of a T_DIR task. */
static void
run_dir(struct rcp_copy *c, struct worker *w, struct dnode *d)
{
	struct nameset keep = { NULL, 0, 0 };
	struct listing l = { c, w, d, NULL };
	int r, fd = -1;

	r = SRC(c, opendir, d->parent->srcfd, d->name, c->o.dereference, &fd);
	if (r != 0) {
		fail_at(c, d->parent, d->name, 0, "open directory", -r);
		goto out;
	}
	fds_take(c, 1);
	d->srcfd = fd;
	if (!d->lazy && ensure_dst(c, d) != 0)
		goto out;
	if (c->o.delete && d->dst_existed)
		l.keep = &keep;
	/* Into a new directory everything is copied: say so to the source. */
	r = SRC(c, list, fd, d->dst_new && !c->o.dry_run &&
	    rcp_filter_empty(c->o.filter) ? RCP_SRC_LIST_ALL : 0, list_cb, &l);
	if (r != 0)
		fail_at(c, d->parent, d->name, 0, "read directory", -r);
	/* Never prune what a failed listing may simply not have seen. */
	if (l.keep != NULL && r == 0 && !stopping(c) && d->dstfd >= 0)
		delete_extraneous(c, d, l.keep);
out:
	nameset_release(&keep);
	dnode_release(c, d);
}

/* --- entries ------------------------------------------------------------- */

/* Copies one directory entry: the work of a T_ENTRY task.  Drops d's ref. */
static void
run_entry(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, unsigned char dtype)
{
	bool follow = c->o.dereference;
	const char *why = NULL;
	struct stat st;
	char *rel;
	int sfd = -1, f, r;
	bool included = d->included, lazy = false, settled = false;

	if (dname == NULL)
		dname = name;
	if (stopping(c))
		goto out;
	if (rcp_throttle_take(&c->ops, 1, &c->stop) != 0)
		goto out;
	/*
	 * Into a new directory every file is copied: open + fstat, the stat
	 * comes with the open.  Where the destination may have it already,
	 * compare first: an unchanged file is never opened (nor, remotely,
	 * sent).
	 */
	if (dtype == DT_REG && !follow && d->dst_new) {
		fds_wait(c, 1);
		r = SRC(c, open, d->srcfd, name, false, &sfd, &st);
		if (r != 0) {
			sfd = -1;
			fds_done(c, 1);
			if (r != -ELOOP) {
				fail_at(c, d, name, 0, "open", -r);
				goto out;
			}
			/* replaced by a symlink since the listing */
		}
	}
	if (sfd < 0 && (r = SRC(c, stat, d->srcfd, name, follow, &st)) != 0) {
		fail_at(c, d, name, 0, "stat", -r);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!d->anchor && rcp_filter_has_includes(c->o.filter) &&
		    !included) {
			rel = entry_rel(d, name);
			f = rcp_filter_check(c->o.filter, rel, true, false, &why);
			free(rel);
			included = f == RCP_FILTER_PASS;
			lazy = f == RCP_FILTER_TRAVERSE && !c->o.delete;
		}
		if (d->anchor)
			included = !rcp_filter_has_includes(c->o.filter);
		queue_dir(c, d, name, dname, &st, included, lazy);
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		if (sfd < 0) {
			if (ensure_dst(c, d) != 0 ||
			    settle_existing(c, d, dname, &st, NULL) <= 0)
				goto out;
			settled = true;
			fds_wait(c, 1);
			r = SRC(c, open, d->srcfd, name, follow, &sfd, &st);
			if (r != 0) {
				sfd = -1;
				fds_done(c, 1);
				fail_at(c, d, name, 0, "open", -r);
				goto out;
			}
		}
		copy_file(c, w, d, name, dname, &st, sfd, settled);
		sfd = -1;
	} else if (S_ISLNK(st.st_mode))
		copy_symlink(c, d, name, dname, &st);
	else
		copy_special(c, d, name, dname, &st);
out:
	if (sfd >= 0) {
		c->src->close(c->src_ctx, sfd);
		fds_done(c, 1);
	}
	dnode_release(c, d);
}

/* --- workers ------------------------------------------------------------- */

static void
run_task(struct rcp_copy *c, struct worker *w, struct task *t)
{
	bool drop = stopping(c);

	switch (t->kind) {
	case T_DIR:
		if (drop)
			dnode_release(c, t->dir);
		else
			run_dir(c, w, t->dir);
		break;
	case T_ENTRY:
		if (drop)
			dnode_release(c, t->dir);
		else
			run_entry(c, w, t->dir, t->name, t->dname, t->dtype);
		break;
	case T_CHUNK:
		run_chunk(c, w, t->bf, t->off, t->len, false);
		break;
	}
	free(t->name);
	free(t->dname);
	free(t);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct rcp_copy *c = w->c;
	struct task *t;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (c->stack == NULL && c->pending > 0) {
			atomic_fetch_add(&c->idle, 1);
			pthread_cond_wait(&c->cond, &c->lock);
			atomic_fetch_sub(&c->idle, 1);
		}
		if (c->stack == NULL)
			break;
		t = c->stack;
		c->stack = t->next;
		c->queued--;
		pthread_mutex_unlock(&c->lock);

		run_task(c, w, t);

		pthread_mutex_lock(&c->lock);
		if (--c->pending == 0)
			pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* --- starting a run ------------------------------------------------------ */

/* Strips trailing slashes (keeping a lone "/"); returns a new string. */
static char *
strip_slashes(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return rcp_xstrndup(p, n);
}

/* Splits a path (without trailing slashes) into a new dirname and basename. */
static void
split_path(const char *p, char **dir, char **base)
{
	const char *s = strrchr(p, '/');

	if (s == NULL) {
		*dir = rcp_xstrdup(".");
		*base = rcp_xstrdup(p);
	} else if (s == p) {
		*dir = rcp_xstrdup("/");
		*base = rcp_xstrdup(s[1] != '\0' ? s + 1 : ".");
	} else {
		*dir = rcp_xstrndup(p, (size_t)(s - p));
		*base = rcp_xstrdup(s + 1);
	}
}

struct plan {
	struct dnode	*anchor;
	char		*name;		/* source name below anchor */
	char		*dname;		/* destination name below anchor */
};

static void
plan_free(struct rcp_copy *c, struct plan *pl)
{
	if (pl->anchor != NULL) {
		if (pl->anchor->srcfd >= 0)
			c->src->close(c->src_ctx, pl->anchor->srcfd);
		if (pl->anchor->dstfd >= 0)
			close(pl->anchor->dstfd);
		free(pl->anchor->root->src);
		free(pl->anchor->root->dst);
		free(pl->anchor->root);
		dnode_free(pl->anchor);
	}
	free(pl->name);
	free(pl->dname);
	memset(pl, 0, sizeof(*pl));
}

/* Returns true if dir (a destination parent) lies inside src, a directory. */
static bool
inside(const char *src, const char *dir)
{
	char *a = realpath(src, NULL), *b = realpath(dir, NULL);
	size_t n;
	bool r = false;

	if (a != NULL && b != NULL) {
		n = strlen(a);
		r = strncmp(a, b, n) == 0 && (b[n] == '/' || b[n] == '\0' ||
		    (n == 1 && a[0] == '/'));
	}
	free(a);
	free(b);
	return r;
}

/*
 * Checks one source/destination pair and opens its parents.  Returns 0, or
 * an error with *cause set.
 */
static int
plan_one(struct rcp_copy *c, const char *src_arg, const char *dst_arg,
    bool into, struct plan *pl, char **cause)
{
	char *src = strip_slashes(src_arg), *sbase = NULL;
	char *dst = NULL, *ddir = NULL, *dbase = NULL, *shown = NULL;
	struct stat st, dst_st;
	struct root *root;
	int r = RCP_ERR_INVAL, sfd = -1, dfd = -1;

	memset(pl, 0, sizeof(*pl));
	shown = rcp_escape(src_arg);
	/* The source's parent and the source itself, wherever they are. */
	if ((r = SRC(c, root, src, c->o.dereference, &sfd, &sbase, &st,
	    cause)) != 0) {
		sfd = -1;
		r = RCP_ERR_NOTFOUND;
		goto out;
	}
	r = RCP_ERR_INVAL;
	if (into) {
		if (strcmp(sbase, ".") == 0 || strcmp(sbase, "..") == 0 ||
		    strcmp(src, "/") == 0) {
			*cause = rcp_xasprintf("cannot tell the name to give "
			    "'%s' inside the destination; name the destination "
			    "without a trailing '/'", shown);
			goto out;
		}
		dst = rcp_path_join(dst_arg, sbase);
	} else
		dst = strip_slashes(dst_arg);
	free(shown);
	shown = rcp_escape(dst);
	split_path(dst, &ddir, &dbase);
	if (strcmp(dbase, ".") == 0 || strcmp(dbase, "..") == 0) {
		*cause = rcp_xasprintf("destination '%s' must name an entry; "
		    "end it with '/' to copy into it", shown);
		goto out;
	}
	if ((dfd = open(ddir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		free(shown);
		shown = rcp_escape(ddir);
		*cause = rcp_xasprintf(errno == ENOENT ? "destination parent "
		    "directory '%s' does not exist" : "cannot open destination "
		    "directory '%s': %s", shown, strerror(errno));
		r = RCP_ERR_NOTFOUND;
		goto out;
	}
	if (fstatat(dfd, dbase, &dst_st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    !c->o.overwrite && !c->o.ignore_existing) {
		*cause = rcp_xasprintf("destination '%s' already exists; use "
		    "--overwrite to update it or --ignore-existing to keep "
		    "what is there", shown);
		r = RCP_ERR_EXISTS;
		goto out;
	}
	if (c->src->local && S_ISDIR(st.st_mode) && inside(src, ddir)) {
		char *s = rcp_escape(src);
		*cause = rcp_xasprintf("cannot copy directory '%s' into "
		    "itself ('%s')", s, shown);
		free(s);
		goto out;
	}
	root = rcp_xcalloc(1, sizeof(*root));
	root->src = src;
	root->dst = dst;
	src = dst = NULL;
	pl->anchor = dnode_new(NULL, root, "", NULL, NULL);
	pl->anchor->anchor = true;
	pl->anchor->srcfd = sfd;
	pl->anchor->dstfd = dfd;
	pl->name = sbase;
	pl->dname = dbase;
	sfd = dfd = -1;
	sbase = dbase = NULL;
	r = 0;
out:
	if (sfd >= 0)
		c->src->close(c->src_ctx, sfd);
	if (dfd >= 0)
		close(dfd);
	free(src);
	free(sbase);
	free(dst);
	free(ddir);
	free(dbase);
	free(shown);
	return r;
}

static int
start_workers(struct rcp_copy *c, struct worker *w, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		w[i].c = c;
		w[i].buf = rcp_xmalloc(IO_BUFSZ);
		w[i].io.buf = w[i].buf;
		w[i].io.bufsz = IO_BUFSZ;
		w[i].io.no_cfr = &c->no_cfr;
		w[i].io.cancel = &c->stop;
		w[i].io.bytes = &c->n.bytes_copied;
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			free(w[i].buf);
			return i;
		}
	}
	return n;
}

int
rcp_copy_run(struct rcp_copy *c, const char *const *srcs, size_t nsrcs,
    const char *dst, char **cause)
{
	struct plan *plans = NULL;
	struct worker *w = NULL;
	struct task *t;
	size_t i, len = strlen(dst);
	bool into = len > 0 && dst[len - 1] == '/';
	int r = RCP_ERR_INVAL, nw = 0;

	*cause = NULL;
	if (c->ran) {
		*cause = rcp_xstrdup("a copy can only be run once");
		return RCP_ERR_INTERNAL;
	}
	c->ran = true;
	if (nsrcs == 0) {
		*cause = rcp_xstrdup("no source given");
		return RCP_ERR_INVAL;
	}
	if (nsrcs > 1 && !into) {
		*cause = rcp_xasprintf("several sources need a destination "
		    "directory ending in '/' (got '%s')", dst);
		return RCP_ERR_INVAL;
	}
	if (into) {
		struct stat st;
		if (stat(dst, &st) != 0 || !S_ISDIR(st.st_mode)) {
			char *shown = rcp_escape(dst);
			*cause = rcp_xasprintf("destination directory '%s' "
			    "does not exist", shown);
			free(shown);
			return RCP_ERR_NOTFOUND;
		}
	}

	/* Check every pair before copying anything. */
	plans = rcp_xcalloc(nsrcs, sizeof(*plans));
	for (i = 0; i < nsrcs; i++)
		if ((r = plan_one(c, srcs[i], dst, into, &plans[i], cause)) != 0)
			goto out;

	for (i = 0; i < nsrcs; i++) {
		fds_take(c, 2);
		t = rcp_xcalloc(1, sizeof(*t));
		t->kind = T_ENTRY;
		t->dir = plans[i].anchor;
		t->name = plans[i].name;
		t->dname = plans[i].dname;
		plans[i].anchor = NULL;	/* freed when its copy is done */
		plans[i].name = plans[i].dname = NULL;
		push(c, t);
	}
	w = rcp_xcalloc((size_t)c->o.max_workers, sizeof(*w));
	nw = start_workers(c, w, c->o.max_workers);
	if (nw == 0) {
		/* Nobody to run the queue: run it here. */
		struct worker self = { .c = c };
		self.buf = rcp_xmalloc(IO_BUFSZ);
		self.io = (struct rcp_io){ self.buf, IO_BUFSZ, &c->no_cfr,
		    &c->stop, &c->n.bytes_copied, NULL };
		worker_main(&self);
		free(self.buf);
	}
	for (i = 0; i < (size_t)nw; i++) {
		pthread_join(w[i].thread, NULL);
		free(w[i].buf);
	}
	if (atomic_load(&c->cancel))
		r = RCP_ERR_CANCELED;
	else if (atomic_load(&c->n.errors) > 0)
		r = RCP_ERR_PARTIAL;
	else
		r = 0;
out:
	for (i = 0; i < nsrcs; i++)
		plan_free(c, &plans[i]);
	free(plans);
	free(w);
	return r;
}
