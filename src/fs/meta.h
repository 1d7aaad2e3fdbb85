/*
 * meta.h: which metadata is compared (--overwrite-compare, rcmp's
 * --metadata-compare) and which is preserved (--preserve-settings), per entry
 * type, and applying preserved metadata to a destination entry.
 */
#ifndef RCP_META_H
#define RCP_META_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

struct rcp_buf;

/* Attribute bits for comparisons. */
enum {
	RCP_ATTR_UID = 1 << 0,
	RCP_ATTR_GID = 1 << 1,
	RCP_ATTR_MODE = 1 << 2,
	RCP_ATTR_SIZE = 1 << 3,
	RCP_ATTR_MTIME = 1 << 4,
	RCP_ATTR_CTIME = 1 << 5,
	/*
	 * Regular files only, and not in a stat: the copy engine compares
	 * equal-size files by hash (rcp_attrs_diff never sets it).
	 */
	RCP_ATTR_CONTENT = 1 << 6
};

/* Attributes to compare for files (and special files), dirs and symlinks. */
struct rcp_attrs {
	unsigned	f;
	unsigned	d;
	unsigned	l;
};

/*
 * Parses "size,mtime" (one list for every type) or "f:mtime,size d:mtime
 * l:mtime" (types not named compare nothing).  Returns 0, or RCP_ERR_INVAL
 * with *cause set (caller frees).
 */
int rcp_attrs_parse(struct rcp_attrs *out, const char *spec, char **cause);
/* Returns the mask that applies to an entry of type mode (S_IFMT bits). */
unsigned rcp_attrs_for(const struct rcp_attrs *a, mode_t mode);
/* Returns the bits of mask whose attribute differs between a and b
 * (never RCP_ATTR_CONTENT: a stat cannot tell). */
unsigned rcp_attrs_diff(unsigned mask, const struct stat *a, const struct stat *b);
/* Appends "size,mtime" for mask to b. */
void rcp_attrs_format(unsigned mask, struct rcp_buf *b);
/* Returns "uid", "gid", "mode", "size", "mtime", "ctime" or "content" for
 * one bit. */
const char *rcp_attr_name(unsigned bit);

/* What to preserve for one entry type. */
struct rcp_preserve_one {
	bool	uid;
	bool	gid;
	bool	time;		/* atime and mtime */
	mode_t	mode_mask;	/* source mode bits kept, e.g. 0777 */
};

struct rcp_preserve {
	struct rcp_preserve_one	f;	/* regular and special files */
	struct rcp_preserve_one	d;
	struct rcp_preserve_one	l;	/* mode_mask unused: Linux has none */
};

/* The default: mode & 0777 for files and directories, nothing else. */
void rcp_preserve_default(struct rcp_preserve *p);
/* Everything: owner, group, times and all mode bits (setuid, sticky). */
void rcp_preserve_all(struct rcp_preserve *p);
/*
 * Parses "all", "none" or "f:uid,gid,time,0777 d:... l:...".  Types not named
 * preserve nothing.  Returns 0, or RCP_ERR_INVAL with *cause set.
 */
int rcp_preserve_parse(struct rcp_preserve *p, const char *spec, char **cause);
/* Returns the settings for an entry of type mode. */
const struct rcp_preserve_one *rcp_preserve_for(const struct rcp_preserve *p,
    mode_t mode);

/*
 * Applies owner, mode and times from src to the open fd, in that order
 * (chown clears setuid bits, so chmod must follow it).  cur_mode is the mode
 * the entry has now, so an unneeded fchmod is skipped.  An EPERM from chown
 * is ignored when not running as root, as cp -p does.  Returns 0, or -errno
 * with *what naming the failed call.
 */
int rcp_meta_apply_fd(int fd, const struct rcp_preserve_one *p,
    const struct stat *src, mode_t cur_mode, const char **what);
/* The same for a symlink, by name relative to dirfd (owner and times only). */
int rcp_meta_apply_link(int dirfd, const char *name,
    const struct rcp_preserve_one *p, const struct stat *src, const char **what);

#endif
