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
struct rcp_xmeta;

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
	RCP_ATTR_CONTENT = 1 << 6,
	/* Not in a stat: compared by their callers through xmeta.h. */
	RCP_ATTR_ACL = 1 << 7,
	RCP_ATTR_XATTR = 1 << 8
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
/* Returns the bits of mask whose attribute differs between a and b (the
 * stat ones: never RCP_ATTR_CONTENT, RCP_ATTR_ACL or RCP_ATTR_XATTR). */
unsigned rcp_attrs_diff(unsigned mask, const struct stat *a, const struct stat *b);
/* Appends "size,mtime" for mask to b. */
void rcp_attrs_format(unsigned mask, struct rcp_buf *b);
/* Returns "uid", "gid", "mode", "size", "mtime", "ctime", "content", "acl"
 * or "xattr" for one bit. */
const char *rcp_attr_name(unsigned bit);

/* What to preserve for one entry type. */
struct rcp_preserve_one {
	bool	uid;
	bool	gid;
	bool	time;		/* atime and mtime */
	mode_t	mode_mask;	/* source mode bits kept, e.g. 0777 */
	bool	acl;		/* POSIX ACLs (-A; none on symlinks) */
	bool	xattr;		/* extended attributes (-X) */
};

struct rcp_preserve {
	struct rcp_preserve_one	f;	/* regular and special files */
	struct rcp_preserve_one	d;
	struct rcp_preserve_one	l;	/* mode_mask unused: Linux has none */
};

/* The default: mode & 0777 for files and directories, nothing else. */
void rcp_preserve_default(struct rcp_preserve *p);
/* Everything: owner, group, times, all mode bits (setuid, sticky), ACLs and
 * xattrs, as cp -a. */
void rcp_preserve_all(struct rcp_preserve *p);
/*
 * Parses "all", "none" or "f:uid,gid,time,acl,xattr,0777 d:... l:...".  Types not named
 * preserve nothing.  Returns 0, or RCP_ERR_INVAL with *cause set.
 */
int rcp_preserve_parse(struct rcp_preserve *p, const char *spec, char **cause);
/* Returns the settings for an entry of type mode. */
const struct rcp_preserve_one *rcp_preserve_for(const struct rcp_preserve *p,
    mode_t mode);

/*
 * Applies owner, mode, the ACLs and xattrs of xm (NULL: none) and times from
 * src to the open fd, in that order: chown clears setuid bits and
 * security.capability, so chmod and xattrs follow it; times come last so
 * that a copy interrupted before they are set is redone by --overwrite.
 * With an access ACL in xm the mode is first set to rcp_xmeta_safe_mode, so
 * that a copy whose ACL is refused is not more permissive than its source;
 * with p->acl and inherits (the entry was created in a directory with a
 * default ACL, or was there before), ACLs it may have inherited but xm
 * lacks are removed: without inherits that costs no call.
 * cur_mode is the mode the entry has now, so an unneeded fchmod is skipped
 * (with inherits it is set whatever cur_mode says: a default ACL, not the
 * umask the caller knows, gave what was created its mode).
 * An EPERM from chown is ignored when not running as root, as cp -p does.
 * Returns 0, or -errno with *what naming the failed call.  A file system
 * that cannot store xm is not a failure: the rest is applied and *xerr (if
 * not NULL) is set to the -errno, else to 0.
 */
int rcp_meta_apply_fd(int fd, const struct rcp_preserve_one *p,
    const struct stat *src, mode_t cur_mode, const struct rcp_xmeta *xm,
    bool inherits, int *xerr, const char **what);
/* The same for a symlink, by name relative to dirfd (owner, xattrs, times). */
int rcp_meta_apply_link(int dirfd, const char *name,
    const struct rcp_preserve_one *p, const struct stat *src,
    const struct rcp_xmeta *xm, int *xerr, const char **what);
/*
 * The same for a FIFO, socket or device node, by name relative to dirfd and
 * never opened (an O_PATH handle): owner, mode, ACLs and xattrs, times.
 * An entry that is no longer of src's type is -ESTALE.
 */
int rcp_meta_apply_special(int dirfd, const char *name,
    const struct rcp_preserve_one *p, const struct stat *src, mode_t cur_mode,
    const struct rcp_xmeta *xm, bool inherits, int *xerr, const char **what);
/*
 * True if what this process creates in the directory open as dirfd is
 * owned by its effective uid and gid for certain: the directory's group is
 * its egid (so neither a setgid directory nor a grpid mount gives another)
 * on a local file system that gives new entries their creator's ids
 * (tmpfs, ext2/3/4, XFS, Btrfs; not NFS, whose server may squash them).
 * A chown of such an entry to those ids can be skipped.
 */
bool rcp_meta_creates_as_us(int dirfd);
/* The RCP_XMETA_* flags that p asks to read for an entry. */
unsigned rcp_preserve_xmeta(const struct rcp_preserve_one *p);

#endif
