/*
 * xmeta.h: the extended metadata of one entry, kept by -A and -X: its POSIX
 * ACLs (access and default, through libacl) and its extended attributes
 * (through <sys/xattr.h>).  ACLs are themselves stored by Linux as the
 * xattrs system.posix_acl_access and system.posix_acl_default; those are
 * never carried as xattrs here, only as ACLs, so that nothing is applied
 * twice and -X without -A does not copy ACLs (as rsync -X).  Other system.*
 * names are file system internals and are skipped.  Running as root, user.*,
 * trusted.* and security.* are kept (security.capability included); as
 * another user only user.*, since the others cannot be set (rsync's rule).
 */
#ifndef RCP_XMETA_H
#define RCP_XMETA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Caps checked before anything is allocated, whoever supplies the data. */
#define RCP_XMETA_VALUE_MAX	65536	/* one value: the kernel's XATTR_SIZE_MAX */
#define RCP_XMETA_NAME_MAX	255	/* one name: XATTR_NAME_MAX */
#define RCP_XMETA_COUNT_MAX	1024	/* xattrs of one entry */
#define RCP_XMETA_ACL_MAX	65536	/* one ACL in text form */
/* All values of one entry: keeps a reply well inside one frame. */
#define RCP_XMETA_TOTAL_MAX	(1u << 20)

/* What to read (flags of rcp_xmeta_read). */
enum {
	RCP_XMETA_ACL = 1 << 0,
	RCP_XMETA_XATTR = 1 << 1
};

struct rcp_xattr {
	char	*name;
	uint8_t	*value;
	size_t	 len;
};

struct rcp_xmeta {
	char		 *acl_access;	/* numeric-id text; NULL: the mode says all */
	char		 *acl_default;	/* directories; NULL: none */
	struct rcp_xattr *v;		/* sorted by name */
	size_t		  n;
	size_t		  total;	/* bytes of all values */
	/*
	 * The first name this process saw but cannot copy (trusted.* and
	 * security.* when not root; see rcp_xmeta_keep_settable); NULL: none.
	 */
	char		 *skipped;
};

void rcp_xmeta_init(struct rcp_xmeta *xm);
void rcp_xmeta_release(struct rcp_xmeta *xm);
/* True if xm holds nothing to apply. */
bool rcp_xmeta_empty(const struct rcp_xmeta *xm);
/*
 * Adds one xattr (copied).  Returns 0, or RCP_ERR_INVAL if the name or value
 * exceeds its cap or xm is full (count or RCP_XMETA_TOTAL_MAX) (checked before allocating).
 */
int rcp_xmeta_add(struct rcp_xmeta *xm, const char *name, const void *value,
    size_t len);

/*
 * True if this process can copy the xattr name: user.*, and trusted.* and
 * security.* when running as root (see the top of this file).
 */
bool rcp_xmeta_settable(const char *name);
/*
 * Removes from xm the xattrs this process cannot set (a source read by
 * root, applied by another user), recording the first in xm->skipped.
 */
void rcp_xmeta_keep_settable(struct rcp_xmeta *xm);

/*
 * Reads what of the entry open as fd, or if fd < 0 of name below dirfd
 * (AT_FDCWD: name is a path) without following a symlink (symlinks have no
 * ACLs).  A value too large
 * for the caps is -E2BIG.  A file system
 * without xattrs gives an empty xm.  Names this process cannot copy are
 * left out, the first of them recorded in xm->skipped.  One listxattr; an
 * ACL is read only when the list names it.  Returns 0, or -errno (xm then
 * empty).
 */
int rcp_xmeta_read(int fd, int dirfd, const char *name, unsigned what,
    struct rcp_xmeta *xm);

/*
 * The mode to set before the access ACL of xm is applied, so that a copy
 * whose ACL cannot be stored is never more permissive than its source: in
 * an ACL with a mask the group bits of the mode are the mask, which may
 * grant the owning group more than its own entry; they become the owning
 * group's entry limited by the mask.  Returns mode unchanged if xm has no
 * access ACL.
 */
mode_t rcp_xmeta_safe_mode(const struct rcp_xmeta *xm, mode_t mode);

/*
 * Applies xm to the entry open as fd, or (fd < 0) to name below dirfd, not
 * following it: a symlink gets only xattrs, anything else (a FIFO, socket
 * or device node, which cannot be opened for this without side effects)
 * ACLs and xattrs through an O_PATH handle.  ACLs first, then xattrs.
 * Everything is tried; returns 0 or the first -errno with *what naming the
 * failed step.  -EOPNOTSUPP means the
 * file system cannot store it (rcp_xmeta_unsupported).
 */
int rcp_xmeta_apply(int fd, int dirfd, const char *name,
    const struct rcp_xmeta *xm, const char **what);
/*
 * Removes from the entry open as fd the ACLs it inherited from a default ACL
 * of its destination directory (one that existed before the copy) but xm
 * does not have: the access ACL, and for a directory (dir) the default one.
 * The mode stays.  Returns 0 or -errno (none on a file system without ACLs).
 */
int rcp_xmeta_drop_inherited(int fd, bool dir, const struct rcp_xmeta *xm);
/* The same for the entry (not a directory) that path names, following it. */
int rcp_xmeta_drop_inherited_path(const char *path,
    const struct rcp_xmeta *xm);
/*
 * Removes from the entry open as fd the xattrs that this process could copy
 * (rcp_xmeta_settable) but xm lacks, so that a directory merged into an
 * existing one ends with the source's set, as rsync -X leaves it.  ACLs are
 * not touched here.  Returns 0 or -errno (none on a file system without
 * xattrs).
 */
int rcp_xmeta_drop_extra(int fd, const struct rcp_xmeta *xm);
/*
 * True if the directory open as fd has a default ACL, which entries created
 * in it inherit (also if that cannot be told: the caller then checks each).
 */
bool rcp_xmeta_has_default_acl(int fd);
/* True for the errors of a file system that cannot store xattrs or ACLs. */
bool rcp_xmeta_unsupported(int err);

/*
 * True if a and b hold the same ACLs (compare_acl) and xattrs (compare_xattr),
 * both sorted by name as rcp_xmeta_read and the wire give them.
 */
bool rcp_xmeta_equal(const struct rcp_xmeta *a, const struct rcp_xmeta *b,
    bool compare_acl, bool compare_xattr);

#endif
