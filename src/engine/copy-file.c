/*
 * copy-file.c: the copy engine's files: regular files, copied whole or, when
 * large, in chunks by several workers with the last chunk setting the size;
 * hard links (-H), where the first copy of an inode is made and the others
 * link to it; symlinks and special files; and what to do with an entry the
 * destination already has.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/throttle.h"
#include "base/util.h"
#include "engine/copy-int.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"

#include "base/banned.h"

static void hl_end(struct rcp_copy *, struct dnode *, const char *,
    struct hlink *, bool);

/*
 * Reports a failure to move a file's data, naming the side that failed:
 * the destination for write errors and a full or read-only file system,
 * the source for read errors.  copy_file_range does not say which side an
 * EIO came from: then both are named.
 */
static void
data_fail(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const char *what, int err)
{
	bool dst = strcmp(what, "write") == 0 || strcmp(what, "read back") ==
	    0 || strcmp(what, "sync") == 0 || strcmp(what, "set size of") ==
	    0 || err == ENOSPC || err == EDQUOT || err == EFBIG || err == EROFS;
	char *shown, *after;

	if (dst || strcmp(what, "copy data of") != 0) {
		copy_fail_at(c, d, dst ? dname : name, dst ? 1 : 0,
		    dst && strcmp(what, "copy data of") == 0 ? "write" : what,
		    err);
		return;
	}
	shown = copy_shown_path(c, d, dname, 1);
	after = rcp_xasprintf(" to '%s': %s", shown, rcp_strerror(-err));
	copy_fail_msg(c, d, name, 0, "cannot copy data of ", after);
	free(after);
	free(shown);
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
 * The RCP_ATTR_ACL and RCP_ATTR_XATTR bits of mask whose values differ
 * between the source name and the destination dname in d; both, if either
 * side cannot be read (the entry is then copied again).
 */
static unsigned
xmeta_diff(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, unsigned mask)
{
	unsigned what = (mask & RCP_ATTR_ACL ? RCP_XMETA_ACL : 0) |
	    (mask & RCP_ATTR_XATTR ? RCP_XMETA_XATTR : 0), diff = 0;
	struct rcp_xmeta a, b;

	if (what == 0)
		return 0;
	rcp_xmeta_init(&a);
	rcp_xmeta_init(&b);
	if (SRC(c, xmeta, d->srcfd, name, -1, what, &a) != 0 ||
	    rcp_xmeta_read(-1, d->dstfd, dname, what, &b) != 0)
		diff = mask & (RCP_ATTR_ACL | RCP_ATTR_XATTR);
	else {
		if ((mask & RCP_ATTR_ACL) && !rcp_xmeta_equal(&a, &b, true,
		    false))
			diff |= RCP_ATTR_ACL;
		if ((mask & RCP_ATTR_XATTR) && !rcp_xmeta_equal(&a, &b, false,
		    true))
			diff |= RCP_ATTR_XATTR;
	}
	rcp_xmeta_release(&a);
	rcp_xmeta_release(&b);
	return diff;
}

/*
 * Compares the contents of the existing destination file dname with the
 * source's, each side hashing its own in ranges of RCP_SRC_HASH_MAX (a
 * remote source sends 16 bytes a range, never the data).  sfd is the open
 * source, or -1 to open it here.  Returns 0 if equal, 1 if not, -1 on an
 * error (reported).
 */
static int
content_differs(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, const struct stat *st, int sfd)
{
	uint8_t hs[RCP_HASH_LEN], hd[RCP_HASH_LEN];
	struct stat sst;
	off_t off;
	int64_t ns = 0, nd = 0;
	int dfd, fh = sfd, r = 0;

	if ((dfd = openat(d->dstfd, dname, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0) {
		copy_fail_at(c, d, dname, 1, "open", errno);
		return -1;
	}
	if (fh < 0 && (r = SRC(c, open_hash, d->srcfd, name,
	    c->o.dereference, &fh, &sst)) != 0) {
		copy_fail_at(c, d, name, 0, "open", -r);
		close(dfd);
		return -1;
	}
	for (off = 0; r == 0 && off < st->st_size; off += RCP_SRC_HASH_MAX) {
		ns = SRC(c, hash, fh, off, RCP_SRC_HASH_MAX, &w->io, hs);
		nd = ns < 0 ? 0 : rcp_fs_hash(dfd, off, RCP_SRC_HASH_MAX,
		    &w->io, hd);
		if (ns < 0 || nd < 0) {
			if (ns != -ECANCELED && nd != -ECANCELED)
				copy_fail_at(c, d, ns < 0 ? name : dname,
				    ns < 0 ? 0 : 1, "hash",
				    (int)-(ns < 0 ? ns : nd));
			r = -1;
		} else if (ns != nd || memcmp(hs, hd, RCP_HASH_LEN) != 0)
			r = 1;
	}
	if (fh != sfd)
		c->src->close(c->src_ctx, fh);
	close(dfd);
	return r;
}

/*
 * Decides what to do with an existing destination entry for a source of
 * type st named name (its ACLs and xattrs are compared by name); for a
 * regular file, w and sfd (or -1) are there to compare contents by (w NULL:
 * not compared).  Returns 1 to go on and create it (anything in the way is
 * gone), 0 if it is left alone (unchanged or skipped), -1 on error.
 */
static int
settle(struct rcp_copy *c, struct worker *w, struct dnode *d, const char *name,
    const char *dname, const struct stat *st, const char *link_target,
    int sfd)
{
	char tbuf[PATH_MAX];
	struct stat dst;
	unsigned diff, mask;
	struct rcp_buf why = RCP_BUF_INIT;
	ssize_t n;
	int r;

	if (d->dst_new)
		return 1;
	if (fstatat(d->dstfd, dname, &dst, AT_SYMLINK_NOFOLLOW) != 0) {
		if (errno == ENOENT)
			return 1;
		copy_fail_at(c, d, dname, 1, "stat", errno);
		return -1;
	}
	if (c->o.ignore_existing && !c->o.overwrite) {
		COUNT(c, skipped);
		copy_report(c, d, dname, "skip", "exists (--ignore-existing)");
		return 0;
	}
	if ((dst.st_mode & S_IFMT) == (st->st_mode & S_IFMT) &&
	    (S_ISREG(st->st_mode) || S_ISLNK(st->st_mode))) {
		mask = rcp_attrs_for(&c->o.overwrite_compare, st->st_mode);
		if (!S_ISREG(st->st_mode) || w == NULL)
			mask &= ~(unsigned)RCP_ATTR_CONTENT;
		diff = rcp_attrs_diff(mask, st, &dst);
		if (diff == 0)
			diff = xmeta_diff(c, d, name, dname, mask);
		if (diff == 0 && S_ISLNK(st->st_mode)) {
			n = readlinkat(d->dstfd, dname, tbuf, sizeof(tbuf) - 1);
			if (n < 0 || (size_t)n != strlen(link_target) ||
			    memcmp(tbuf, link_target, (size_t)n) != 0)
				diff = ~0u;
		}
		/* Hashes only where nothing cheaper told them apart. */
		if (diff == 0 && (mask & RCP_ATTR_CONTENT)) {
			if (dst.st_size != st->st_size)
				diff = RCP_ATTR_CONTENT;
			else if ((r = content_differs(c, w, d, name, dname, st,
			    sfd)) < 0)
				return -1;
			else if (r > 0)
				diff = RCP_ATTR_CONTENT;
		}
		if (diff == 0) {
			if (S_ISLNK(st->st_mode))
				COUNT(c, symlinks_unchanged);
			else
				COUNT(c, files_unchanged);
			rcp_attrs_format(mask, &why);
			rcp_buf_addstr(&why, " equal");
			copy_report(c, d, dname, "unchanged",
			    rcp_buf_str(&why));
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
	copy_report(c, d, dname, "replace", rcp_buf_str(&why));
	rcp_buf_release(&why);
	if (c->o.dry_run)
		return 1;
	return copy_remove_existing(c, d, dname) == 0 ? 1 : -1;
}

int
copy_settle_existing(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st, const char *link_target)
{
	return settle(c, NULL, d, name, dname, st, link_target, -1);
}

int
copy_settle_file(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, const struct stat *st, int sfd)
{
	return settle(c, w, d, name, dname, st, NULL, sfd);
}

/* --- verifying ----------------------------------------------------------- */

/* Copies of a range whose hashes differ, after the first. */
#define VERIFY_RETRIES 2

/*
 * Checks [off, off+len) of a copy: the source hashes its range where the
 * data lives (a remote source sends 16 bytes a hash), this side re-reads
 * what it wrote and hashes that, from the page cache or, with
 * RCP_VERIFY_REREAD, from storage (a sparse copy up to the source's
 * length: its holes at the end come with its size).  Returns 0 if every
 * hash agrees (*whole, if not NULL, then holds the hash of the range when
 * it is one hash), 1 if one differs, or -errno with *what naming the step.
 */
static int
verify_range(struct rcp_copy *c, struct worker *w, int sfd, int dfd,
    off_t off, off_t len, bool sparse, const char **what, uint8_t *whole)
{
	uint8_t hs[RCP_HASH_LEN], hd[RCP_HASH_LEN];
	off_t at, step;
	int64_t ns, nd;

	if (c->o.verify == RCP_VERIFY_REREAD) {
		if (fdatasync(dfd) != 0) {
			*what = "sync";
			return -errno;
		}
		(void)posix_fadvise(dfd, off, len, POSIX_FADV_DONTNEED);
	}
	for (at = off; at < off + len; at += step) {
		step = off + len - at < (off_t)RCP_SRC_HASH_MAX ?
		    off + len - at : (off_t)RCP_SRC_HASH_MAX;
		if ((ns = SRC(c, hash, sfd, at, step, &w->io, hs)) < 0) {
			*what = "hash";
			return (int)ns;
		}
		/* A sparse copy may end short of a hole until it is sized. */
		nd = sparse ? rcp_fs_hash_sparse(dfd, at, ns, &w->io, hd) :
		    rcp_fs_hash(dfd, at, step, &w->io, hd);
		if (nd < 0) {
			*what = "read back";
			return (int)nd;
		}
		if (ns != nd || memcmp(hs, hd, RCP_HASH_LEN) != 0)
			return 1;
	}
	if (whole != NULL && len > 0 && len <= (off_t)RCP_SRC_HASH_MAX)
		memcpy(whole, hd, RCP_HASH_LEN);
	COUNT_ADD(c, bytes_verified, (uint64_t)len);
	return 0;
}

/*
 * Copies [off, off+len) of sfd into dfd (the range that ends at st's size
 * sets it) and, with --verify, checks it, copying it again while its hashes
 * differ, VERIFY_RETRIES times at most.  Returns the bytes copied by the
 * last attempt; -errno with *what naming the step; or RCP_ERR_DIFFERENT if
 * the copy still differs.  *whole as for verify_range.
 */
static int64_t
copy_checked(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *dname, int sfd, int dfd, off_t off, off_t len,
    const struct stat *st, bool sparse, const char **what, uint8_t *whole)
{
	char *path, *shown;
	int64_t n;
	int tries, r;

	for (tries = 0;; tries++) {
		*what = "copy data of";
		n = SRC(c, copy, sfd, dfd, off, len, sparse, &w->io, what);
		if (n < 0 || c->o.verify == RCP_VERIFY_NONE)
			return n;
		/* Holes at the end are the size's: set it before hashing. */
		if (sparse && off + len >= st->st_size &&
		    ftruncate(dfd, st->st_size) != 0) {
			*what = "set size of";
			return -errno;
		}
		if ((r = verify_range(c, w, sfd, dfd, off, len, sparse, what,
		    whole)) <= 0)
			return r < 0 ? r : n;
		COUNT(c, verify_mismatches);
		path = copy_entry_path(d, dname, 1);
		shown = rcp_escape(path);
		rcp_log(&c->log, RCP_LOG_WARN, "'%s' differs from its source "
		    "in bytes %lld to %lld%s", shown, (long long)off,
		    (long long)(off + len), tries < VERIFY_RETRIES ?
		    "; copying them again" : "");
		free(shown);
		free(path);
		if (tries == VERIFY_RETRIES)
			return RCP_ERR_DIFFERENT;
	}
}

/*
 * A copy that still differs from its source is removed, never left with
 * the source's size to look complete (its times were never set).
 */
static void
verify_failed(struct rcp_copy *c, struct dnode *d, const char *dname)
{
	copy_fail_msg(c, d, dname, 1, "cannot verify ", ": the copy differs "
	    "from its source after 3 attempts; removed it");
	if (unlinkat(d->dstfd, dname, 0) != 0 && errno != ENOENT)
		copy_fail_at(c, d, dname, 1, "remove", errno);
}

/*
 * The manifest's hash of a whole file: the source's where one request can
 * have it (a file of one hash, or any local file), else the destination's,
 * whose ranges --verify checked.  whole: already known (verified), or NULL.
 */
static void
manifest_file(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *dname, int sfd, int dfd, const struct stat *st,
    const uint8_t *whole)
{
	uint8_t h[RCP_HASH_LEN];
	int64_t n;

	if (c->mf_fd < 0)
		return;
	if (whole != NULL)
		memcpy(h, whole, RCP_HASH_LEN);
	else {
		if (c->src->local)
			n = rcp_fs_hash(sfd, 0, st->st_size, &w->io, h);
		else if (st->st_size <= (off_t)RCP_SRC_HASH_MAX)
			n = SRC(c, hash, sfd, 0, st->st_size, &w->io, h);
		else
			n = rcp_fs_hash(dfd, 0, st->st_size, &w->io, h);
		if (n < 0) {
			if (n != -ECANCELED)
				copy_fail_at(c, d, dname, 1, "hash", (int)-n);
			return;
		}
	}
	copy_manifest_add(c, d, dname, h);
}

/* Tells the caller of a file whose copy stands (copy opts' copied). */
static void
tell_copied(struct rcp_copy *c, struct dnode *d, const char *dname)
{
	char *path;

	if (c->o.copied == NULL)
		return;
	path = copy_entry_path(d, dname, 1);
	c->o.copied(c->o.copied_arg, path);
	free(path);
}

/* A file whose copy stands: counted, and as verified if it was. */
static void
count_copied(struct rcp_copy *c, struct dnode *d, const char *dname)
{
	COUNT(c, files_copied);
	if (c->o.verify != RCP_VERIFY_NONE)
		COUNT(c, files_verified);
	tell_copied(c, d, dname);
}

/* Data is in: fix the size of a sparse copy, then chown, chmod, times. */
static int
finish_file(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, int sfd, int dfd,
    const struct stat *st, mode_t dst_mode, bool sparse, const uint8_t *whole)
{
	const char *what = NULL;
	struct rcp_preserve_one p;
	struct rcp_xmeta xm;
	int r, xerr;

	if (sparse && ftruncate(dfd, st->st_size) != 0) {
		copy_fail_at(c, d, dname, 1, "set size of", errno);
		return -1;
	}
	if (SRC(c, changed, sfd, st) != 0) {
		copy_fail_msg(c, d, name, 0, "source ", " changed while it was "
		    "copied; the copy is incomplete and will be redone by "
		    "--overwrite");
		return -1;
	}
	if (copy_xmeta_read(c, d, name, sfd, &c->o.preserve.f, &xm) != 0)
		return -1;
	r = rcp_meta_apply_fd(dfd, copy_preserve_new(c, &c->o.preserve.f, st,
	    d->dst_ours, &p), st, dst_mode, &xm, d->dst_dacl, &xerr, &what);
	rcp_xmeta_release(&xm);
	if (r != 0) {
		copy_fail_at(c, d, dname, 1, what, -r);
		return -1;
	}
	if (xerr != 0)
		copy_xmeta_unsupported(c, d, dname, dfd, xerr);
	/* Counted as copied (and verified) once it is closed. */
	manifest_file(c, w, d, dname, sfd, dfd, st, whole);
	return 0;
}

/*
 * Closes dfd, the destination dname of a copy that went well so far.
 * close is where a write-back error shows (EIO from a failing disk, NFS):
 * the data may be lost while the file has its full size and times, and a
 * re-run would take it for a good copy, so it is removed and the error
 * logged.  Returns 0 if the copy stands.
 */
static int
close_dst(struct rcp_copy *c, struct dnode *d, const char *dname, int dfd)
{
	char *after;
	int e, e2;

	/* Linux has closed the fd even then; EINTR loses no data. */
	if (close(dfd) == 0 || errno == EINTR)
		return 0;
	e = errno;
	if (unlinkat(d->dstfd, dname, 0) == 0 || errno == ENOENT)
		after = rcp_xasprintf(": %s; the copy is removed",
		    rcp_strerror(-e));
	else {
		e2 = errno;
		after = rcp_xasprintf(": %s; the copy could not be removed "
		    "(%s) and is not to be trusted", rcp_strerror(-e),
		    rcp_strerror(-e2));
	}
	copy_fail_msg(c, d, dname, 1, "cannot close ", after);
	free(after);
	return -1;
}

static void
bigfile_end(struct rcp_copy *c, struct worker *w, struct bigfile *bf)
{
	bool ok = !atomic_load(&bf->failed) && !copy_stopping(c);

	if (ok && finish_file(c, w, bf->dir, bf->name, bf->dname, bf->sfd,
	    bf->dfd, &bf->st, bf->dst_mode, bf->sparse, NULL) != 0)
		ok = false;
	if (ok)
		ok = close_dst(c, bf->dir, bf->dname, bf->dfd) == 0;
	else
		close(bf->dfd);
	if (ok)
		count_copied(c, bf->dir, bf->dname);
	hl_end(c, bf->dir, bf->dname, bf->hl, ok);
	c->src->close(c->src_ctx, bf->sfd);
	if (atomic_load(&bf->unverified))
		verify_failed(c, bf->dir, bf->dname);
	copy_fds_done(c, 2);
	copy_dnode_release(c, bf->dir);
	pthread_mutex_destroy(&bf->wlock);
	free(bf->name);
	free(bf->dname);
	free(bf);
}

/* Copies one chunk; the worker that finishes the last but one runs the last. */
void
copy_run_chunk(struct rcp_copy *c, struct worker *w, struct bigfile *bf,
    off_t off, off_t len, bool last)
{
	const char *what = "copy data of";
	int64_t n;

	if (!atomic_load(&bf->failed) && !copy_stopping(c)) {
		if (rcp_throttle_take(&c->iops, 1, &c->stop) != 0)
			atomic_store(&bf->failed, true);
		else {
			w->io.wlock = &bf->wlock;
			n = copy_checked(c, w, bf->dir, bf->dname, bf->sfd,
			    bf->dfd, off, len, &bf->st, bf->sparse, &what,
			    NULL);
			w->io.wlock = NULL;
			/* One message per file, whichever chunk fails. */
			if (n == RCP_ERR_DIFFERENT) {
				atomic_store(&bf->unverified, true);
				atomic_store(&bf->failed, true);
			} else if (n < 0 && n != -ECANCELED) {
				if (!atomic_exchange(&bf->failed, true))
					data_fail(c, bf->dir, bf->name,
					    bf->dname, what, (int)-n);
			} else if (n < 0)
				atomic_store(&bf->failed, true);
			else if (!bf->sparse && n < len) {
				if (!atomic_exchange(&bf->failed, true))
					copy_fail_msg(c, bf->dir, bf->name, 0,
					    "source ", " shrank while it was "
					    "copied");
			}
		}
	}
	if (last) {
		bigfile_end(c, w, bf);
		return;
	}
	if (atomic_fetch_sub(&bf->left, 1) == 1) {
		/* All other chunks are in: now the one that sets the size. */
		off = (off_t)((bf->st.st_size - 1) / bf->chunk) * bf->chunk;
		copy_run_chunk(c, w, bf, off, bf->st.st_size - off, true);
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
		copy_push(c, t);
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
	copy_report(c, d, dname, "hard link", NULL);
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
		copy_fail_create(c, d, dname, "create hard link", errno);
		return 1;
	}
	COUNT(c, hard_links_created);
	tell_copied(c, d, dname);
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
	path = copy_entry_path(d, dname, 1);
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
			copy_fds_take(c, 1);
	}
	hl_done(c, h, ok);
}

void
copy_file(struct rcp_copy *c, struct worker *w, struct dnode *d,
    const char *name, const char *dname, struct stat *st, int sfd,
    bool settled)
{
	struct hlink *h = NULL;
	const char *what = "copy data of";
	uint8_t whole[RCP_HASH_LEN];
	bool sparse, ok = false;
	mode_t mode, dst_mode;
	int dfd = -1, r;
	int64_t n;

	if (copy_ensure_dst(c, d) != 0)
		goto out;
	if (!settled && (r = copy_settle_file(c, w, d, name, dname, st,
	    sfd)) <= 0)
		goto out;
	if (hl_begin(c, d, dname, st, &h) == 0)
		goto out;
	copy_report(c, d, dname, "copy file", NULL);
	if (c->o.dry_run) {
		COUNT(c, files_copied);
		atomic_fetch_add(&c->n.bytes_copied, (uint64_t)st->st_size);
		ok = true;
		goto out;
	}
	mode = c->o.preserve.f.mode_mask != 0 ? (st->st_mode & 0777) : 0666;
	dst_mode = S_IFREG | (mode & ~c->o.umask);
	copy_fds_wait(c, 1);
	/* Read back by --verify, and hashed for a manifest. */
	dfd = openat(d->dstfd, dname, (c->o.verify != RCP_VERIFY_NONE ||
	    c->o.manifest != NULL ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, mode);
	if (dfd < 0) {
		copy_fds_done(c, 1);
		copy_fail_create(c, d, dname, "create", errno);
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
	n = copy_checked(c, w, d, dname, sfd, dfd, 0, st->st_size, st, sparse,
	    &what, whole);
	if (n == -ECANCELED)
		goto out;
	if (n == RCP_ERR_DIFFERENT) {
		close(dfd);
		dfd = -1;
		copy_fds_done(c, 1);
		verify_failed(c, d, dname);
		goto out;
	}
	if (n < 0) {
		data_fail(c, d, name, dname, what, (int)-n);
		goto out;
	}
	/* A file of one hash: --verify's is the whole file's. */
	if (finish_file(c, w, d, name, dname, sfd, dfd, st, dst_mode, sparse,
	    c->o.verify != RCP_VERIFY_NONE && st->st_size > 0 &&
	    st->st_size <= (off_t)RCP_SRC_HASH_MAX ? whole : NULL) != 0)
		goto out;
	ok = close_dst(c, d, dname, dfd) == 0;
	dfd = -1;
	copy_fds_done(c, 1);
	if (ok)
		count_copied(c, d, dname);
out:
	hl_end(c, d, dname, h, ok);
	if (dfd >= 0) {
		close(dfd);
		copy_fds_done(c, 1);
	}
	if (sfd >= 0) {
		c->src->close(c->src_ctx, sfd);
		copy_fds_done(c, 1);
	}
}

void
copy_link_file(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st, int fromfd)
{
	if (copy_ensure_dst(c, d) != 0 ||
	    copy_settle_existing(c, d, name, dname, st, NULL) <= 0)
		return;
	copy_report(c, d, dname, "hard link", NULL);
	if (!c->o.dry_run && linkat(fromfd, name, d->dstfd, dname, 0) != 0) {
		copy_fail_create(c, d, dname, "create hard link", errno);
		return;
	}
	COUNT(c, hard_links_created);
	if (!c->o.dry_run)
		tell_copied(c, d, dname);
}

/* --- symlinks and special files ------------------------------------------ */

void
copy_symlink(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st)
{
	char target[PATH_MAX];
	const char *what = NULL;
	struct hlink *h = NULL;
	struct rcp_xmeta xm;
	ssize_t n;
	int r, xerr;

	n = SRC(c, readlink, d->srcfd, name, target, sizeof(target) - 1);
	if (n < 0) {
		copy_fail_at(c, d, name, 0, "read symlink", (int)-n);
		return;
	}
	target[n] = '\0';
	if (copy_ensure_dst(c, d) != 0 ||
	    copy_settle_existing(c, d, name, dname, st, target) <= 0 ||
	    hl_begin(c, d, dname, st, &h) == 0)
		return;
	copy_report(c, d, dname, "create symlink", NULL);
	if (c->o.dry_run) {
		COUNT(c, symlinks_created);
		hl_end(c, d, dname, h, true);
		return;
	}
	if (symlinkat(target, d->dstfd, dname) != 0) {
		copy_fail_create(c, d, dname, "create symlink", errno);
		hl_end(c, d, dname, h, false);
		return;
	}
	COUNT(c, symlinks_created);
	if (copy_xmeta_read(c, d, name, -1, &c->o.preserve.l, &xm) == 0) {
		if ((r = rcp_meta_apply_link(d->dstfd, dname, &c->o.preserve.l,
		    st, &xm, &xerr, &what)) != 0)
			copy_fail_at(c, d, dname, 1, what, -r);
		else if (xerr != 0)
			copy_xmeta_unsupported(c, d, dname, -1, xerr);
		rcp_xmeta_release(&xm);
	}
	hl_end(c, d, dname, h, true);
}

void
copy_special(struct rcp_copy *c, struct dnode *d, const char *name,
    const char *dname, const struct stat *st)
{
	const struct rcp_preserve_one *p = &c->o.preserve.f;
	const char *what = NULL;
	struct hlink *h = NULL;
	struct rcp_xmeta xm;
	mode_t mode = st->st_mode & 0777;
	int r, xerr;

	if (c->o.skip_specials) {
		COUNT(c, skipped);
		copy_report(c, d, name, "skip",
		    "special file (--skip-specials)");
		return;
	}
	if (copy_ensure_dst(c, d) != 0 ||
	    copy_settle_existing(c, d, name, dname, st, NULL) <= 0 ||
	    hl_begin(c, d, dname, st, &h) == 0)
		return;
	copy_report(c, d, dname, "create special file", NULL);
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
		copy_fail_create(c, d, dname, "create special file", errno);
		hl_end(c, d, dname, h, false);
		return;
	}
	COUNT(c, specials_created);
	/* Linked copies share the metadata set below. */
	hl_end(c, d, dname, h, true);
	if (copy_xmeta_read(c, d, name, -1, p, &xm) != 0)
		return;
	r = rcp_meta_apply_special(d->dstfd, dname, p, st, mode & ~c->o.umask,
	    &xm, d->dst_dacl, &xerr, &what);
	rcp_xmeta_release(&xm);
	if (r != 0)
		copy_fail_at(c, d, dname, 1, what, -r);
	else if (xerr != 0)
		copy_xmeta_unsupported(c, d, dname, -1, xerr);
}
