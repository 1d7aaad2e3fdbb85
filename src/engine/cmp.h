/*
 * cmp.h: the tree comparison behind rcmp.  Two trees are walked side by side
 * with fd-relative calls (no depth limit, names are bytes, symlinks are never
 * followed) by a pool of threads; each difference is handed to the caller's
 * function, errors go to the log.
 */
#ifndef RCP_CMP_H
#define RCP_CMP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "fs/meta.h"

struct rcp_log;
struct rcp_src_ops;

/* What rcmp compares when not told otherwise (rcp_attrs_parse syntax). */
#define RCP_CMP_DEFAULT_SPEC "f:mtime,size d:mtime l:mtime"

/*
 * The range one hash covers when a side is not local: a difference is
 * placed to within this much, and a file costs one request per range.
 */
#define RCP_CMP_HASH_CHUNK (8u << 20)

/* Kinds of difference. */
enum {
	RCP_CMP_MISSING = 1,	/* on one side only: src or dst is NULL */
	RCP_CMP_TYPE,		/* the entry types differ */
	RCP_CMP_ATTR,		/* one compared attribute differs: attr */
	RCP_CMP_CONTENT		/* file bytes, symlink targets or device
				 * numbers differ (rcp_cmp_opts.content) */
};

/*
 * One difference.  Everything it points to is valid during the call only.
 * path is relative to the two roots, raw bytes (use rcp_escape to show it),
 * "." for the roots themselves.  A missing directory is reported once, not
 * its contents; neither are the contents of entries whose types differ.
 */
struct rcp_cmp_diff {
	int			 kind;		/* RCP_CMP_* */
	const char		*path;
	unsigned		 attr;		/* RCP_CMP_ATTR: one RCP_ATTR_* bit */
	const struct stat	*src;		/* NULL if missing in src */
	const struct stat	*dst;		/* NULL if missing in dst */
	/* RCP_CMP_CONTENT of regular files: the first byte that differs, or
	 * -1 when the sizes differ and no byte was read. */
	int64_t			 offset;
	/* RCP_CMP_CONTENT of symlinks: the two targets; NULL otherwise. */
	const char		*src_link;
	const char		*dst_link;
};

/*
 * Receives the differences.  Calls are serialized (never two at once) but
 * may come from any of the comparison's threads, in no particular order
 * unless rcp_cmp_opts.threads is 1.  Returns 0 to go on, or a negative
 * RCP_ERR_* to stop the comparison, which then returns that code.
 */
typedef int rcp_cmp_diff_fn(void *arg, const struct rcp_cmp_diff *d);

struct rcp_cmp_opts {
	struct rcp_attrs	 attrs;		/* compared per entry type */
	bool			 content;	/* also compare the bytes */
	bool			 exit_early;	/* stop at the first difference
						 * or error */
	int			 threads;	/* 0: a default from the CPUs */
	rcp_cmp_diff_fn		*diff_fn;	/* NULL: only count */
	void			*diff_arg;
	const struct rcp_log	*log;		/* errors; NULL: dropped */
	const atomic_bool	*cancel;	/* NULL, or set to stop early */
	/*
	 * Where each side (0 src, 1 dst) is read: NULL is the local file
	 * system (rcp_src_local).  A side whose ops are not local (a remote
	 * tree through srcclient.h) has its files compared by XXH3-128 of
	 * RCP_CMP_HASH_CHUNK ranges, each side hashing its own, so no file
	 * data crosses; two local sides compare bytes.
	 */
	const struct rcp_src_ops *ops[2];
	void			*ctx[2];
	/*
	 * NULL, or added to as the comparison goes: entries looked at and
	 * bytes read or hashed, for a watch that tells a slow comparison
	 * from a stuck one.
	 */
	atomic_uint_fast64_t	*progress;
	/* The sides' names in messages (NULL: the root paths as given). */
	const char		*label[2];
};

struct rcp_cmp_stats {
	uint64_t	entries;	/* paths looked at, the roots included */
	uint64_t	files_read;	/* file pairs whose bytes were read */
	uint64_t	bytes_read;	/* bytes read, both sides together */
	uint64_t	differences;	/* calls made to diff_fn */
	uint64_t	errors;		/* entries that could not be compared */
};

/* Sets the defaults: RCP_CMP_DEFAULT_SPEC, no content, no callback. */
void rcp_cmp_opts_init(struct rcp_cmp_opts *o);

/*
 * Compares the tree (or single entry) src with dst, each a path on its
 * side (o->ops).  Neither root is followed if it is a symlink, unless
 * named with a trailing '/'.
 *
 * Returns:
 *   0                   no differences and no errors;
 *   RCP_ERR_DIFFERENT   differences, no errors;
 *   RCP_ERR_PARTIAL     some entries could not be compared (each one logged
 *                       at RCP_LOG_ERROR): this wins over differences, which
 *                       were still reported, as diff(1)'s trouble does;
 *   RCP_ERR_CANCELED    *o->cancel was set;
 *   the callback's code when diff_fn stopped the comparison;
 *   RCP_ERR_NOTFOUND (a root does not exist) or RCP_ERR_IO (it cannot be
 *                       examined or opened): nothing is compared then.
 * With exit_early the walk stops at the first difference or error and the
 * result is that of the one that came first.  On every non-zero return
 * *cause is set to a message the caller frees.  stats, if not NULL, is
 * filled in every case.  Needs about two file descriptors per directory
 * level per thread.
 */
int rcp_cmp_run(const char *src, const char *dst, const struct rcp_cmp_opts *o,
    struct rcp_cmp_stats *stats, char **cause);

/*
 * Returns a static name for the type in mode: "file", "dir", "symlink",
 * "fifo", "socket", "chardev", "blockdev" or "unknown".
 */
const char *rcp_cmp_type_name(mode_t mode);

#endif
