/*
 * copy.c: the multi-threaded local copy engine: the object and its options,
 * stats and cancel, messages, the worker threads and planning a run.  Files
 * are copied by copy-file.c, directories listed and entries run by
 * copy-dir.c; what they share is in copy-int.h.
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
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/strbuf.h"
#include "base/throttle.h"
#include "base/util.h"
#include "engine/copy.h"
#include "engine/copy-int.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"

#include "base/banned.h"

/* Each worker's I/O buffer. */
#define IO_BUFSZ (256u << 10)

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
	pthread_mutex_init(&c->xm_lock, NULL);
	pthread_cond_init(&c->hl_cond, NULL);
	pthread_mutex_init(&c->mf_lock, NULL);
	c->mf_fd = -1;
	c->euid = geteuid();
	c->egid = getegid();
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
	if (c->mf_fd >= 0)
		close(c->mf_fd);
	pthread_mutex_destroy(&c->mf_lock);
	pthread_cond_destroy(&c->hl_cond);
	pthread_mutex_destroy(&c->hl_lock);
	pthread_mutex_destroy(&c->xm_lock);
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
	LOAD(files_verified);
	LOAD(bytes_verified);
	LOAD(verify_mismatches);
#undef LOAD
}

char *
rcp_copy_expand_home(const char *path, const char *home)
{
	if (home == NULL || path[0] != '~' || (path[1] != '\0' && path[1] != '/'))
		return rcp_xstrdup(path);
	return rcp_xasprintf("%s%s", home, path + 1);
}

/* --- paths for messages ------------------------------------------------- */

/* Returns the raw path of name below d on the source (side 0) or
 * destination (side 1); caller frees. */
char *
copy_entry_path(const struct dnode *d, const char *name, int side)
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
char *
copy_entry_rel(const struct dnode *d, const char *name)
{
	if (d->anchor)
		return rcp_xstrdup("");
	if (d->rel[0] == '\0')
		return rcp_xstrdup(name);
	return rcp_xasprintf("%s/%s", d->rel, name);
}

/*
 * The path of name below d as messages show it: escaped, and on a remote
 * source with its host in front, so that a read error says whose disk it
 * was.  Caller frees.
 */
char *
copy_shown_path(const struct rcp_copy *c, const struct dnode *d,
    const char *name, int side)
{
	char *path = copy_entry_path(d, name, side), *shown = rcp_escape(path);

	free(path);
	if (side == 0 && c->o.src_host != NULL) {
		path = rcp_xasprintf("%s:%s", c->o.src_host, shown);
		free(shown);
		shown = path;
	}
	return shown;
}

/*
 * Logs "cannot WHAT 'PATH': description" and counts an error.  err is an
 * errno, or the negation of any error code (-r of a source operation, which
 * may be an RCP_ERR_* of a remote source).
 */
void
copy_fail_at(struct rcp_copy *c, struct dnode *d, const char *name, int side,
    const char *what, int err)
{
	char *shown = copy_shown_path(c, d, name, side);

	COUNT(c, errors);
	rcp_log(&c->log, RCP_LOG_ERROR, "cannot %s '%s': %s", what, shown,
	    rcp_strerror(-err));
	free(shown);
	if (c->o.fail_early)
		atomic_store(&c->stop, true);
}

/* Logs "BEFORE'PATH'AFTER" and counts an error. */
void
copy_fail_msg(struct rcp_copy *c, struct dnode *d, const char *name, int side,
    const char *before, const char *after)
{
	char *shown = copy_shown_path(c, d, name, side);

	COUNT(c, errors);
	rcp_log(&c->log, RCP_LOG_ERROR, "%s'%s'%s", before, shown, after);
	free(shown);
	if (c->o.fail_early)
		atomic_store(&c->stop, true);
}

/*
 * Said once a run: not running as root, this copy leaves out the xattrs
 * only root may set, as rsync does; the rest is copied.
 */
static void
xmeta_skipped_note(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *xname)
{
	char *shown = copy_shown_path(c, d, name, 0), *xshown;

	xshown = rcp_escape(xname);
	rcp_log(&c->log, RCP_LOG_WARN, "not running as root: extended "
	    "attributes outside user.* (trusted.*, security.*; here '%s' of "
	    "'%s') are not copied; the rest is", xshown, shown);
	free(xshown);
	free(shown);
}

const struct rcp_preserve_one *
copy_preserve_new(const struct rcp_copy *c, const struct rcp_preserve_one *p,
    const struct stat *st, bool ours, struct rcp_preserve_one *tmp)
{
	if (!ours || !(p->uid || p->gid) || st->st_uid != c->euid ||
	    st->st_gid != c->egid)
		return p;
	*tmp = *p;
	tmp->uid = tmp->gid = false;
	return tmp;
}

int
copy_xmeta_read(struct rcp_copy *c, struct dnode *d, const char *name, int h,
    const struct rcp_preserve_one *p, struct rcp_xmeta *xm)
{
	unsigned what = rcp_preserve_xmeta(p);
	int r;

	rcp_xmeta_init(xm);
	if (what == 0)
		return 0;
	if ((r = SRC(c, xmeta, d->srcfd, name, h, what, xm)) == 0) {
		/* What a root source sends that we cannot set. */
		rcp_xmeta_keep_settable(xm);
		if (xm->skipped != NULL && !atomic_exchange(&c->xm_skip_noted,
		    true))
			xmeta_skipped_note(c, d, name, xm->skipped);
		return 0;
	}
	rcp_xmeta_release(xm);
	copy_fail_at(c, d, name, 0, "read ACLs and xattrs of", -r);
	return -1;
}

void
copy_xmeta_unsupported(struct rcp_copy *c, struct dnode *d, const char *name,
    int dfd, int err)
{
	struct stat st;
	char *shown;
	size_t i;
	bool told = false;

	if (c->o.fail_early) {
		copy_fail_at(c, d, name, 1, "keep ACLs and xattrs of", -err);
		return;
	}
	if ((dfd >= 0 ? fstat(dfd, &st) : fstat(d->dstfd, &st)) != 0)
		st.st_dev = 0;
	pthread_mutex_lock(&c->xm_lock);
	for (i = 0; i < c->xm_nnoted && !told; i++)
		told = c->xm_noted[i] == st.st_dev;
	if (!told && c->xm_nnoted < RCP_ARRAY_SIZE(c->xm_noted))
		c->xm_noted[c->xm_nnoted++] = st.st_dev;
	else
		told = true;	/* a full list: quiet rather than a flood */
	pthread_mutex_unlock(&c->xm_lock);
	if (told)
		return;
	shown = copy_shown_path(c, d, name, 1);
	rcp_log(&c->log, RCP_LOG_WARN, "the file system of '%s' cannot keep "
	    "ACLs or extended attributes (%s): they are not copied to it; "
	    "modes keep no more access than the source's ACLs grant",
	    shown, rcp_strerror(err));
	free(shown);
}

/* Dry-run and verbose reporting of one action on an entry. */
void
copy_report(struct rcp_copy *c, struct dnode *d, const char *name,
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
	path = copy_entry_path(d, name, 1);
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

/* Removes whatever is at dname in d's destination. 0 or -errno. */
int
copy_remove_existing(struct rcp_copy *c, struct dnode *d, const char *dname)
{
	char *sub = NULL, *path, *shown;
	int r;

	if ((r = rcp_fs_rmtree_at(d->dstfd, dname, &sub)) != 0) {
		path = copy_entry_path(d, sub != NULL ? sub : dname, 1);
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

/* --- workers ------------------------------------------------------------- */

static void
run_task(struct rcp_copy *c, struct worker *w, struct task *t)
{
	bool drop = copy_stopping(c);

	switch (t->kind) {
	case T_DIR:
		if (drop)
			copy_dnode_release(c, t->dir);
		else
			copy_run_dir(c, w, t->dir);
		break;
	case T_ENTRY:
		if (drop)
			copy_dnode_release(c, t->dir);
		else
			copy_run_entry(c, w, t->dir, t->name, t->dname,
			    t->dtype);
		break;
	case T_CHUNK:
		copy_run_chunk(c, w, t->bf, t->off, t->len, false);
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
		copy_dnode_free(pl->anchor);
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
	if ((dfd = rcp_fs_open_parent(ddir)) < 0) {
		free(shown);
		shown = rcp_escape(ddir);
		*cause = rcp_xasprintf(dfd == -ENOENT ? "destination parent "
		    "directory '%s' does not exist" : "cannot open destination "
		    "directory '%s': %s", shown, strerror(-dfd));
		dfd = -1;
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
	root->mname = strrchr(dst, '/') != NULL ? strrchr(dst, '/') + 1 : dst;
	src = dst = NULL;
	pl->anchor = copy_dnode_new(NULL, root, "", NULL, NULL);
	pl->anchor->anchor = true;
	pl->anchor->dst_dacl = rcp_xmeta_has_default_acl(dfd);
	pl->anchor->dst_ours = rcp_meta_creates_as_us(dfd);
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

/* --- the manifest -------------------------------------------------------- */

static int
manifest_open(struct rcp_copy *c, char **cause)
{
	char *shown;

	if (c->o.manifest == NULL || c->o.dry_run)
		return 0;
	c->mf_fd = open(c->o.manifest, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0666);
	if (c->mf_fd >= 0)
		return 0;
	shown = rcp_escape(c->o.manifest);
	*cause = rcp_xasprintf("cannot create manifest '%s': %s", shown,
	    strerror(errno));
	free(shown);
	return RCP_ERR_IO;
}

static void
manifest_fail(struct rcp_copy *c, const char *what, int err)
{
	char *shown = rcp_escape(c->o.manifest);

	COUNT(c, errors);
	rcp_log(&c->log, RCP_LOG_ERROR, "cannot %s manifest '%s': %s", what,
	    shown, strerror(err));
	free(shown);
}

static void
manifest_close(struct rcp_copy *c)
{
	if (c->mf_fd < 0)
		return;
	/* The manifest vouches for the copy: it is on disk before we say so. */
	if (!c->mf_failed && fsync(c->mf_fd) != 0)
		manifest_fail(c, "write", errno);
	if (close(c->mf_fd) != 0 && !c->mf_failed)
		manifest_fail(c, "write", errno);
	c->mf_fd = -1;
}

/*
 * xxh128sum's line: a name holding a newline, a carriage return or a
 * backslash is written with those escaped (\n, \r, \\) and the line
 * starts with a backslash, as xxhsum 0.8.2 and coreutils' *sum do.  A name
 * with backslashes only is written as it is: 0.8.1 (Debian 12) escapes
 * nothing and cannot read an escaped line, and every version reads an
 * unescaped one.  Other bytes, UTF-8 or not, are written as they are.
 */
static void
manifest_line(struct rcp_buf *b, const uint8_t *hash, const char *path)
{
	bool esc = strpbrk(path, "\n\r") != NULL;
	const char *p;
	size_t i;

	if (esc)
		rcp_buf_addch(b, '\\');
	for (i = 0; i < RCP_HASH_LEN; i++)
		rcp_buf_addf(b, "%02x", hash[i]);
	rcp_buf_addstr(b, "  ");
	for (p = path; *p != '\0'; p++) {
		if (esc && *p == '\n')
			rcp_buf_addstr(b, "\\n");
		else if (esc && *p == '\r')
			rcp_buf_addstr(b, "\\r");
		else if (esc && *p == '\\')
			rcp_buf_addstr(b, "\\\\");
		else
			rcp_buf_addch(b, *p);
	}
	rcp_buf_addch(b, '\n');
}

void
copy_manifest_add(struct rcp_copy *c, struct dnode *d, const char *dname,
    const uint8_t *hash)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char *rel, *path;
	int r;

	if (c->mf_fd < 0)
		return;
	/* Relative to DST; DST/ holds each source under its name. */
	rel = copy_entry_rel(d, dname);
	if (rel[0] == '\0')
		path = rcp_xstrdup(dname);	/* a copy of one file */
	else if (c->into)
		path = rcp_path_join(d->root->mname, rel);
	else
		path = rcp_xstrdup(rel);
	manifest_line(&b, hash, path);
	pthread_mutex_lock(&c->mf_lock);
	if (!c->mf_failed) {
		r = rcp_write_full(c->mf_fd, b.data, b.len);
		if (r != 0) {
			c->mf_failed = true;
			manifest_fail(c, "write", -r);
		}
	}
	pthread_mutex_unlock(&c->mf_lock);
	rcp_buf_release(&b);
	free(path);
	free(rel);
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
	if ((c->o.link_files || c->o.link_dest != NULL) && !c->src->local) {
		*cause = rcp_xstrdup("hard links need a source on this host");
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
	c->into = into;
	if ((r = manifest_open(c, cause)) != 0)
		goto out;

	for (i = 0; i < nsrcs; i++) {
		copy_fds_take(c, 2);
		t = rcp_xcalloc(1, sizeof(*t));
		t->kind = T_ENTRY;
		t->dir = plans[i].anchor;
		t->name = plans[i].name;
		t->dname = plans[i].dname;
		plans[i].anchor = NULL;	/* freed when its copy is done */
		plans[i].name = plans[i].dname = NULL;
		copy_push(c, t);
	}
	w = rcp_xcalloc((size_t)c->o.max_workers, sizeof(*w));
	nw = start_workers(c, w, c->o.max_workers);
	if (nw == 0) {
		/* Nobody to run the queue: run it here. */
		struct worker self = { .c = c };
		self.buf = rcp_xmalloc(IO_BUFSZ);
		self.io = (struct rcp_io){ .buf = self.buf, .bufsz = IO_BUFSZ,
		    .no_cfr = &c->no_cfr, .cancel = &c->stop,
		    .bytes = &c->n.bytes_copied };
		worker_main(&self);
		free(self.buf);
	}
	for (i = 0; i < (size_t)nw; i++) {
		pthread_join(w[i].thread, NULL);
		free(w[i].buf);
	}
	manifest_close(c);
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
