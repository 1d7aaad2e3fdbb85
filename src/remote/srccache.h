/*
 * srccache.h: the source agent's read-ahead while the destination logs in.
 *
 * A remote copy's source agent is often up long before the destination
 * (its host answered SSH sooner, or it runs here while the other host runs
 * its login shell).  Told the source paths by the master, it walks them in
 * that time and builds the LIST replies the destination will ask for into
 * new directories (entries and small files inline), up to a byte cap.  A
 * LIST then takes a directory's replies from here if the directory has not
 * changed since (same inode, mtime and ctime), else reads it as usual.  The
 * walk stops when the destination's first LIST arrives; every entry is
 * served at most once, and the cache lives for one copy only.
 */
#ifndef RCP_SRCCACHE_H
#define RCP_SRCCACHE_H

#include <sys/stat.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/log.h"
#include "base/strbuf.h"

/* What the read-ahead of one copy may hold. */
#define RCP_SRCCACHE_CAP	(64u << 20)

struct rcp_srccache;
struct rcp_srccache_dir;

/*
 * Starts walking the trees at paths (copied) in a thread of its own, into at
 * most cap bytes.  Free with rcp_srccache_free.
 */
struct rcp_srccache *rcp_srccache_new(char *const *paths, size_t n,
    size_t cap, const struct rcp_log *log);
/* Waits until the walk has ended, done or stopped. */
void rcp_srccache_wait(struct rcp_srccache *pc);
/* Stops the walk (what is cached stays); NULL ok. */
void rcp_srccache_stop(struct rcp_srccache *pc);
/*
 * Takes the cached listing of the directory st describes, if there is one
 * and the directory has not changed since it was read; NULL if not.  The
 * caller serves it with rcp_srccache_dir_next and frees it.
 */
struct rcp_srccache_dir *rcp_srccache_take(struct rcp_srccache *pc,
    const struct stat *st);
/* Moves the next reply into *out (released first); *more as the LIST's. */
void rcp_srccache_dir_next(struct rcp_srccache_dir *d, struct rcp_buf *out,
    bool *more);
void rcp_srccache_dir_free(struct rcp_srccache_dir *d);
/* Stops the walk and frees everything; NULL ok. */
void rcp_srccache_free(struct rcp_srccache *pc);

#endif
