/*
 * copy-int.h: what the files of the copy engine share, for them only: the
 * run, its tasks, directory nodes, large files and hard link records with
 * their locking rules, and the functions that cross between copy.c (the
 * object, messages, the task stack, workers and planning a run),
 * copy-file.c (regular files, large files in chunks, hard links, symlinks
 * and special files) and copy-dir.c (directory nodes, creating and
 * merging destination directories, listing, --delete and the work of one
 * entry).  Helpers called per entry or per chunk are static inline here,
 * so that splitting the engine adds no call to its hot paths.
 */
#ifndef RCP_COPY_INT_H
#define RCP_COPY_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "base/throttle.h"
#include "engine/copy.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"
#include "fs/xmeta.h"

/* Above this many queued tasks a lister copies entries itself. */
#define QUEUE_HIGH 4096

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
	int		 linkfd;	/* link_dest's directory here, or -1 */
	struct stat	 st;
	mode_t		 dst_mode;	/* mode the destination has now */
	bool		 anchor;	/* parent of a copy root: no metadata */
	atomic_bool	 dst_new;	/* created by us: no existing children;
					 * set under lock, read by any worker */
	bool		 dst_existed;	/* merged into an existing directory */
	bool		 dst_dacl;	/* what is created in dstfd may inherit
					 * a default ACL (true until known) */
	bool		 dst_ours;	/* what is created in dstfd is owned by
					 * our euid and egid for certain
					 * (rcp_meta_creates_as_us) */
	bool		 dst_failed;	/* could not be created: skip children */
	atomic_bool	 dst_gone;	/* removed under the copy: skip children
					 * before any work (read by any worker) */
	bool		 lazy;		/* create only when a child needs it */
	bool		 included;	/* a filter included the whole subtree */
	pthread_mutex_t	 lock;		/* serializes lazy creation */
};

/* One source/destination pair of a run. */
struct root {
	char		*src;		/* as given, for messages */
	char		*dst;		/* the final destination path */
	const char	*mname;		/* its name in the manifest: the last
					 * component of dst */
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
	atomic_bool	 unverified;	/* a range still differed: remove it */
	struct hlink	*hl;		/* hard link record to mark, or NULL */
	bool		 resume;	/* updating an existing file in place */
	off_t		 keep;		/* resume: the existing bytes below
					 * this are compared before writing */
	bool		 tail_only;	/* resume: the last chunk was equal;
					 * only its final byte is written */
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

	/* Destination file systems told that they cannot keep ACLs or
	 * xattrs: each is told once. */
	pthread_mutex_t		 xm_lock;
	dev_t			 xm_noted[16];	/* requires xm_lock */
	size_t			 xm_nnoted;	/* requires xm_lock */
	uid_t			 euid;		/* ours, for copy_preserve_new */
	gid_t			 egid;
	atomic_bool		 xm_skip_noted;	/* said which xattrs we cannot
						 * copy (not root) */

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
		atomic_uint_least64_t	files_verified;
		atomic_uint_least64_t	bytes_verified;
		atomic_uint_least64_t	verify_mismatches;
	} n;
	bool			 into;		/* DST ended in '/' */
	pthread_mutex_t		 mf_lock;
	int			 mf_fd;		/* the manifest, or -1 */
	bool			 mf_failed;	/* requires mf_lock */
	bool			 ran;
};

#define COUNT(c, field) \
	atomic_fetch_add_explicit(&(c)->n.field, 1, memory_order_relaxed)
#define COUNT_ADD(c, field, v) \
	atomic_fetch_add_explicit(&(c)->n.field, (v), memory_order_relaxed)

#define SRC(c, op, ...) ((c)->src->op((c)->src_ctx, __VA_ARGS__))

/* --- copy.c: messages ---------------------------------------------------- */

/* Returns the raw path of name below d on the source (side 0) or
 * destination (side 1); caller frees. */
char	*copy_entry_path(const struct dnode *, const char *, int);
char	*copy_shown_path(const struct rcp_copy *, const struct dnode *,
	    const char *, int);
/* Returns the relative path of name below d ("" for a copy root); caller
 * frees. */
char	*copy_entry_rel(const struct dnode *, const char *);
/*
 * Logs "cannot WHAT 'PATH': description" and counts an error.  err is an
 * errno, or the negation of any error code (-r of a source operation, which
 * may be an RCP_ERR_* of a remote source).
 */
void	 copy_fail_at(struct rcp_copy *, struct dnode *, const char *, int,
	    const char *, int);
/* Logs "BEFORE'PATH'AFTER" and counts an error. */
void	 copy_fail_msg(struct rcp_copy *, struct dnode *, const char *, int,
	    const char *, const char *);
/*
 * Logs a failure to create PATH in d (as copy_fail_at), or, if d's
 * destination directory was removed under the copy, says so once and marks
 * d failed: its other entries are then skipped silently.  Takes d->lock.
 */
void	 copy_fail_create(struct rcp_copy *, struct dnode *, const char *,
	    const char *, int);
/*
 * The settings p for an entry of source st that this run created where
 * new entries are ours (dnode dst_ours): in *tmp without the chown when
 * the source's owner is ours too (it would change nothing), else p.
 */
const struct rcp_preserve_one *copy_preserve_new(const struct rcp_copy *,
	    const struct rcp_preserve_one *p, const struct stat *st, bool ours,
	    struct rcp_preserve_one *tmp);
/*
 * Reads the ACLs and xattrs that p asks for of the source name in d (open as
 * handle h, or h < 0 for a symlink or special file) into *xm, which is left
 * empty if p asks for none; xattrs this process cannot set are left out,
 * said once a run.  Returns 0, or -1 with the error logged.
 */
int	 copy_xmeta_read(struct rcp_copy *, struct dnode *, const char *, int,
	    const struct rcp_preserve_one *, struct rcp_xmeta *);
/*
 * Reports that the destination of name in d (open as dfd, or -1) cannot
 * keep ACLs or xattrs (err, a -errno): once per file system as a notice, or
 * as an error with --fail-early.
 */
void	 copy_xmeta_unsupported(struct rcp_copy *, struct dnode *,
	    const char *, int, int);
/* Dry-run and verbose reporting of one action on an entry; why may be
 * NULL. */
void	 copy_report(struct rcp_copy *, struct dnode *, const char *,
	    const char *, const char *);
/* Removes whatever is at dname in d's destination, reporting a failure.
 * Returns 0 or -errno. */
int	 copy_remove_existing(struct rcp_copy *, struct dnode *, const char *);

/* --- copy-dir.c: directory nodes and entries ----------------------------- */

/* Returns a new node holding one reference, and one on parent if any. */
struct dnode *copy_dnode_new(struct dnode *, struct root *, const char *,
	    const char *, const struct stat *);
/* Frees a node without finishing it: for an anchor never run. */
void	 copy_dnode_free(struct dnode *);
/* Drops one reference; finishes d and walks up while parents finish too. */
void	 copy_dnode_release(struct rcp_copy *, struct dnode *);
/*
 * Makes sure d's destination directory exists and is open (creating it, or
 * merging into an existing one).  Returns 0, or -1 if d cannot be used.
 * Takes d->lock (and its parents').
 */
int	 copy_ensure_dst(struct rcp_copy *, struct dnode *);
/* Lists a source directory: the work of a T_DIR task.  Drops d's ref. */
void	 copy_run_dir(struct rcp_copy *, struct worker *, struct dnode *);
/* Copies one directory entry: the work of a T_ENTRY task; dname NULL for
 * the source's name.  Drops d's ref. */
void	 copy_run_entry(struct rcp_copy *, struct worker *, struct dnode *,
	    const char *, const char *, unsigned char);

/* --- copy.c: the manifest ------------------------------------------------ */

/*
 * Appends the line "HASH  PATH" for name below d to the manifest, PATH
 * relative to the destination operand (or to its parent for a copy of
 * one file) and escaped as xxh128sum escapes.  Takes mf_lock.
 */
void	 copy_manifest_add(struct rcp_copy *, struct dnode *, const char *,
	    const uint8_t *);

/* --- copy-file.c: files -------------------------------------------------- */

/* copy_settle_file's answer for a file to update in place (--resume). */
#define COPY_SETTLE_RESUME 2

/*
 * Decides what to do with an existing destination entry dname for the
 * source name in d of type st (link_target: a symlink's target, else
 * NULL).  Returns 1 to go on and create it (anything in the way is gone),
 * 0 if it is left alone (unchanged or skipped), -1 on error.
 */
int	 copy_settle_existing(struct rcp_copy *, struct dnode *, const char *,
	    const char *, const struct stat *, const char *);
/*
 * The same for a regular file: name is its source name and sfd its open
 * source or -1, to compare contents by (RCP_ATTR_CONTENT) with w's buffer.
 * With resume, a differing destination file that can be updated in place
 * is left there and COPY_SETTLE_RESUME returned.
 */
int	 copy_settle_file(struct rcp_copy *, struct worker *, struct dnode *,
	    const char *, const char *, const struct stat *, int);
/* Copies a regular file whose source is open as sfd (owned from here on,
 * and counted by copy_fds_wait); settled is what copy_settle_file returned,
 * or 0 if it has not run. */
void	 copy_file(struct rcp_copy *, struct worker *, struct dnode *,
	    const char *, const char *, struct stat *, int, int);
void	 copy_symlink(struct rcp_copy *, struct dnode *, const char *,
	    const char *, const struct stat *);
void	 copy_special(struct rcp_copy *, struct dnode *, const char *,
	    const char *, const struct stat *);
/*
 * rlink: makes dname in d's destination a hard link to name in the
 * directory fromfd (the source's, or link_dest's), whose stat is st.
 */
void	 copy_link_file(struct rcp_copy *, struct dnode *, const char *,
	    const char *, const struct stat *, int);
/* Copies one chunk of a large file: the work of a T_CHUNK task. */
void	 copy_run_chunk(struct rcp_copy *, struct worker *, struct bigfile *,
	    off_t, off_t, bool);

/* --- inline: the hot paths ----------------------------------------------- */

static inline bool
copy_stopping(struct rcp_copy *c)
{
	return atomic_load_explicit(&c->stop, memory_order_relaxed);
}

static inline void
copy_push(struct rcp_copy *c, struct task *t)
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
static inline bool
copy_want_help(struct rcp_copy *c)
{
	size_t n;

	if (atomic_load_explicit(&c->idle, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&c->lock);
	n = c->queued;
	pthread_mutex_unlock(&c->lock);
	return n < QUEUE_HIGH;
}

/* Directory fds: counted, never waited for (a parent waits on children). */
static inline void
copy_fds_take(struct rcp_copy *c, int n)
{
	atomic_fetch_add(&c->fds, n);
}

static inline void
copy_fds_put(struct rcp_copy *c, int n)
{
	atomic_fetch_sub(&c->fds, n);
}

/*
 * File fds: waits until n more fit under the cap.  Only other file copies
 * are waited for, since they finish on their own; directories held open by
 * a deep walk may push the count over the cap rather than deadlock.
 */
static inline void
copy_fds_wait(struct rcp_copy *c, int n)
{
	struct timespec ts = { 0, 200000 };

	while (atomic_load(&c->fds) + n > c->max_fds &&
	    atomic_load(&c->file_fds) > 0 && !copy_stopping(c))
		nanosleep(&ts, NULL);
	atomic_fetch_add(&c->fds, n);
	atomic_fetch_add(&c->file_fds, n);
}

static inline void
copy_fds_done(struct rcp_copy *c, int n)
{
	atomic_fetch_sub(&c->fds, n);
	atomic_fetch_sub(&c->file_fds, n);
}

#endif
