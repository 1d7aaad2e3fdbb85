/*
 * copy-dir.c: the copy engine's directories and entries: directory nodes
 * and their references (a node finishes, applying its metadata, when its
 * last child is done), creating or merging a destination directory, lazily
 * where a filter may leave it empty, listing a source directory into tasks,
 * --delete of what the source does not have, and the work of one entry.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/throttle.h"
#include "base/util.h"
#include "engine/copy-int.h"
#include "fs/dents.h"
#include "fs/filter.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"

#include "base/banned.h"

/* --- directory nodes ----------------------------------------------------- */

struct dnode *
copy_dnode_new(struct dnode *parent, struct root *root, const char *name,
    const char *dname, const struct stat *st)
{
	struct dnode *d = rcp_xcalloc(1, sizeof(*d));

	d->parent = parent;
	d->root = root;
	d->name = rcp_xstrdup(name);
	d->dname = rcp_xstrdup(dname != NULL ? dname : name);
	d->rel = parent == NULL ? rcp_xstrdup("") :
	    copy_entry_rel(parent, name);
	atomic_init(&d->refs, 1);
	d->srcfd = d->dstfd = d->linkfd = -1;
	d->dst_dacl = true;
	if (st != NULL)
		d->st = *st;
	pthread_mutex_init(&d->lock, NULL);
	if (parent != NULL)
		atomic_fetch_add(&parent->refs, 1);
	return d;
}

void
copy_dnode_free(struct dnode *d)
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
	struct rcp_preserve_one p;
	struct rcp_xmeta xm;
	int r, xerr;

	if (!d->anchor && d->dstfd >= 0 && !c->o.dry_run && !copy_stopping(c) &&
	    copy_xmeta_read(c, d->parent, d->name, d->srcfd, &c->o.preserve.d,
	    &xm) == 0) {
		/* A merged directory ends with the source's xattrs only. */
		r = d->dst_existed && c->o.preserve.d.xattr ?
		    rcp_xmeta_drop_extra(d->dstfd, &xm) : 0;
		if (r != 0)
			what = "remove extended attributes of";
		else
			r = rcp_meta_apply_fd(d->dstfd, copy_preserve_new(c,
			    &c->o.preserve.d, &d->st, !d->dst_existed &&
			    d->parent->dst_ours, &p), &d->st, d->dst_mode, &xm,
			    d->dst_existed || d->parent->dst_dacl, &xerr,
			    &what);
		rcp_xmeta_release(&xm);
		if (r != 0)
			copy_fail_at(c, d->parent, d->name, 1, what, -r);
		else if (xerr != 0)
			copy_xmeta_unsupported(c, d->parent, d->name, d->dstfd,
			    xerr);
	}
	if (d->srcfd >= 0) {
		c->src->close(c->src_ctx, d->srcfd);
		copy_fds_put(c, 1);
	}
	if (d->dstfd >= 0) {
		close(d->dstfd);
		copy_fds_put(c, 1);
	}
	if (d->linkfd >= 0) {
		close(d->linkfd);
		copy_fds_put(c, 1);
	}
}

/* rlink --update: opens link_dest's directory that lies where d does
 * (link_dest itself for a root); missing or not a directory: none. */
static void
open_linkdir(struct rcp_copy *c, struct dnode *d)
{
	int fl = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

	if (c->o.link_dest == NULL)
		return;
	if (d->parent->anchor)
		d->linkfd = open(c->o.link_dest, O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC);
	else if (d->parent->linkfd >= 0)
		d->linkfd = openat(d->parent->linkfd, d->name, fl);
	if (d->linkfd >= 0)
		copy_fds_take(c, 1);
}

/*
 * rlink --update: whether name in d has an equal regular file (by
 * link_compare) in link_dest; its stat into *lst.
 */
static bool
link_equal(struct rcp_copy *c, struct dnode *d, const char *name,
    const struct stat *st, struct stat *lst)
{
	unsigned mask;

	if (d->linkfd < 0 || fstatat(d->linkfd, name, lst,
	    AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(lst->st_mode))
		return false;
	mask = rcp_attrs_for(&c->o.link_compare, st->st_mode) &
	    ~(unsigned)(RCP_ATTR_CONTENT | RCP_ATTR_ACL | RCP_ATTR_XATTR);
	return rcp_attrs_diff(mask, st, lst) == 0;
}

/* Drops one reference; finishes d and walks up while parents finish too. */
void
copy_dnode_release(struct rcp_copy *c, struct dnode *d)
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
		copy_dnode_free(d);
		d = parent;
	}
}

/*
 * Reports that creating name in d failed with err, unless d's destination
 * directory has been removed under the copy (rm -rf by someone else): that
 * is said once, with the directory's name, and d is marked failed so that
 * its other entries are skipped without a message each.
 */
void
copy_fail_create(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *what, int err)
{
	struct stat st;
	bool first;

	/* A removed directory keeps its inode, with no link left. */
	if (err != ENOENT || d->anchor || d->dstfd < 0 ||
	    fstat(d->dstfd, &st) != 0 || st.st_nlink != 0) {
		copy_fail_at(c, d, name, 1, what, err);
		return;
	}
	pthread_mutex_lock(&d->lock);
	first = !d->dst_failed;
	d->dst_failed = true;
	atomic_store(&d->dst_gone, true);
	pthread_mutex_unlock(&d->lock);
	if (first)
		copy_fail_msg(c, d->parent, d->dname, 1, "destination directory ",
		    " was removed during the copy; what was to go in it is not "
		    "copied");
}

/*
 * Makes sure d's destination directory exists and is open (creating it, or
 * merging into an existing one).  Returns 0, or -1 if d cannot be used.
 */
int
copy_ensure_dst(struct rcp_copy *c, struct dnode *d)
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
	if (copy_ensure_dst(c, p) != 0) {
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
			copy_report(c, p, d->dname, "merge directory",
			    "exists");
		} else if (c->o.overwrite) {
			copy_report(c, p, d->dname, "replace",
			    "not a directory");
			if (!c->o.dry_run &&
			    copy_remove_existing(c, p, d->dname) != 0) {
				r = -1;
				d->dst_failed = true;
				goto out;
			}
		} else {
			/* ignore_existing: a non-directory stays. */
			COUNT(c, skipped);
			copy_report(c, p, d->dname, "skip", "exists");
			r = -1;
			d->dst_failed = true;
			goto out;
		}
	}
	if (!d->dst_existed) {
		mode = (c->o.preserve.d.mode_mask != 0 ?
		    (d->st.st_mode & 0777) : 0777) | S_IRWXU;
		copy_report(c, p, d->dname, "create directory", NULL);
		if (c->o.dry_run) {
			COUNT(c, dirs_created);
			d->dst_new = true;
			goto out;
		}
		if (mkdirat(p->dstfd, d->dname, mode) != 0) {
			copy_fail_create(c, p, d->dname, "create directory",
			    errno);
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
		copy_fail_at(c, p, d->dname, 1, "open directory", errno);
		r = -1;
		d->dst_failed = true;
		goto out;
	}
	copy_fds_take(c, 1);
	d->dstfd = fd;
	/* A directory we made has its parent's default ACL, if any. */
	d->dst_dacl = d->dst_existed ? rcp_xmeta_has_default_acl(fd) :
	    p->dst_dacl;
	d->dst_ours = d->dst_existed ? rcp_meta_creates_as_us(fd) :
	    p->dst_ours;
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
		copy_fail_msg(c, parent, name, 0, "cannot copy ", ": it is a "
		    "directory loop (a symlink leads back to one of its "
		    "parents)");
		return;
	}
	d = copy_dnode_new(parent, parent->root, name, dname, st);
	d->included = included;
	d->lazy = lazy;
	t = rcp_xcalloc(1, sizeof(*t));
	t->kind = T_DIR;
	t->dir = d;
	copy_push(c, t);
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
		copy_fail_at(c, d->parent, d->dname, 1, "open directory",
		    errno);
		return;
	}
	rcp_dents_init(&it, fd);
	while ((n = rcp_dents_next(&it, &de)) > 0) {
		if (nameset_has(keep, de.name))
			continue;
		rel = copy_entry_rel(d, de.name);
		f = rcp_filter_check(c->o.filter, rel, de.type == DT_DIR,
		    d->included, &why);
		free(rel);
		if (f != RCP_FILTER_PASS && f != RCP_FILTER_TRAVERSE &&
		    !c->o.delete_excluded) {
			copy_report(c, d, de.name, "keep",
			    "excluded, so protected from --delete");
			continue;
		}
		copy_report(c, d, de.name, "remove", "not in the source "
		    "(--delete)");
		COUNT(c, removed);
		if (!c->o.dry_run && copy_remove_existing(c, d, de.name) != 0)
			break;
	}
	if (n < 0)
		copy_fail_at(c, d->parent, d->dname, 1, "read directory", -n);
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
		rel = copy_entry_rel(d, name);
		f = rcp_filter_check(c->o.filter, rel, is_dir, d->included,
		    &why);
		free(rel);
		if (f == RCP_FILTER_EXCLUDED || f == RCP_FILTER_NOT_INCLUDED) {
			COUNT(c, skipped);
			copy_report(c, d, name, "exclude", why != NULL ? why :
			    "matches no --include");
			return;
		}
	}
	if (keep != NULL)
		nameset_add(keep, name);
	atomic_fetch_add(&d->refs, 1);
	if (dtype != DT_DIR && !copy_want_help(c)) {
		copy_run_entry(c, w, d, name, NULL, dtype);
		return;
	}
	t = rcp_xcalloc(1, sizeof(*t));
	t->kind = T_ENTRY;
	t->dir = d;
	t->name = rcp_xstrdup(name);
	t->dtype = dtype;
	copy_push(c, t);
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

	if (copy_stopping(l->c))
		return 1;
	list_one(l->c, l->w, l->d, name, dtype, l->keep);
	return 0;
}

/* Lists a source directory: the work of a T_DIR task. */
void
copy_run_dir(struct rcp_copy *c, struct worker *w, struct dnode *d)
{
	struct nameset keep = { NULL, 0, 0 };
	struct listing l = { c, w, d, NULL };
	int r, fd = -1;

	r = SRC(c, opendir, d->parent->srcfd, d->name, c->o.dereference, &fd);
	if (r != 0) {
		copy_fail_at(c, d->parent, d->name, 0, "open directory", -r);
		goto out;
	}
	copy_fds_take(c, 1);
	d->srcfd = fd;
	open_linkdir(c, d);
	if (!d->lazy && copy_ensure_dst(c, d) != 0)
		goto out;
	if (c->o.delete && d->dst_existed)
		l.keep = &keep;
	/* Into a new directory everything is copied: say so to the source. */
	r = SRC(c, list, fd, d->dst_new && !c->o.dry_run &&
	    rcp_filter_empty(c->o.filter) ? RCP_SRC_LIST_ALL : 0, list_cb, &l);
	if (r != 0)
		copy_fail_at(c, d->parent, d->name, 0, "read directory", -r);
	/* Never prune what a failed listing may simply not have seen. */
	if (l.keep != NULL && r == 0 && !copy_stopping(c) && d->dstfd >= 0)
		delete_extraneous(c, d, l.keep);
out:
	nameset_release(&keep);
	copy_dnode_release(c, d);
}

/* --- entries ------------------------------------------------------------- */

/* Copies one directory entry: the work of a T_ENTRY task.  Drops d's ref. */
void
copy_run_entry(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, unsigned char dtype)
{
	bool follow = c->o.dereference;
	const char *why = NULL;
	struct stat st, lst;
	char *rel;
	int sfd = -1, f, r, settled = 0;
	bool included = d->included, lazy = false;

	if (dname == NULL)
		dname = name;
	if (copy_stopping(c))
		goto out;
	/* Said once already; neither the source nor the throttle is asked. */
	if (atomic_load_explicit(&d->dst_gone, memory_order_relaxed))
		goto out;
	if (rcp_throttle_take(&c->ops, 1, &c->stop) != 0)
		goto out;
	/*
	 * Into a new directory every file is copied: open + fstat, the stat
	 * comes with the open.  Where the destination may have it already,
	 * compare first: an unchanged file is never opened (nor, remotely,
	 * sent).
	 */
	if (dtype == DT_REG && !follow && d->dst_new && !c->o.link_files &&
	    d->linkfd < 0) {
		copy_fds_wait(c, 1);
		r = SRC(c, open, d->srcfd, name, false, &sfd, &st);
		if (r != 0) {
			sfd = -1;
			copy_fds_done(c, 1);
			if (r != -ELOOP) {
				copy_fail_at(c, d, name, 0, "open", -r);
				goto out;
			}
			/* replaced by a symlink since the listing */
		}
	}
	if (sfd < 0 && (r = SRC(c, stat, d->srcfd, name, follow, &st)) != 0) {
		copy_fail_at(c, d, name, 0, "stat", -r);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!d->anchor && rcp_filter_has_includes(c->o.filter) &&
		    !included) {
			rel = copy_entry_rel(d, name);
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
	if (S_ISREG(st.st_mode) && c->o.link_files) {
		copy_link_file(c, d, name, dname, &st, d->srcfd);
	} else if (S_ISREG(st.st_mode) && link_equal(c, d, name, &st, &lst)) {
		copy_link_file(c, d, name, dname, &lst, d->linkfd);
	} else if (S_ISREG(st.st_mode)) {
		if (sfd < 0) {
			if (copy_ensure_dst(c, d) != 0 ||
			    (settled = copy_settle_file(c, w, d, name, dname,
			    &st, -1)) <= 0)
				goto out;
			copy_fds_wait(c, 1);
			r = SRC(c, open, d->srcfd, name, follow, &sfd, &st);
			if (r != 0) {
				sfd = -1;
				copy_fds_done(c, 1);
				copy_fail_at(c, d, name, 0, "open", -r);
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
		copy_fds_done(c, 1);
	}
	copy_dnode_release(c, d);
}

