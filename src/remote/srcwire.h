/*
 * srcwire.h: what both ends of the source protocol (the RCP_MSG_SRC_*
 * messages of proto.h) share: a stat on the wire, a LIST reply read from a
 * directory, and the sizes both ends agree on.  The source agent's server
 * (srcserve.h) and its read-ahead (srccache.h) build replies with it, the
 * destination's client (srcclient.h) reads them.
 */
#ifndef RCP_SRCWIRE_H
#define RCP_SRCWIRE_H

#include <sys/stat.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "net/wire.h"

/* One READ moves at most this much. */
#define RCP_SRCWIRE_READ_MAX (1u << 20)
/* READ's flags (after sparse; an older source ignores them): hash the
 * bytes read, the XXH3-128 after the reply's fields (never sparse). */
#define RCP_SRC_READ_HASH 1
/* Files up to this size come back with their OPEN. */
#define RCP_SRCWIRE_PREFETCH_MAX (256u << 10)
/* Files up to this size travel inline with a LIST of a new directory. */
#define RCP_SRCWIRE_INLINE_MAX (64u << 10)

struct rcp_xmeta;

/* Appends the body of an XMETA reply for xm to b. */
void rcp_srcwire_put_xmeta(struct rcp_buf *b, const struct rcp_xmeta *xm);
/*
 * Reads an XMETA reply into *xm (initialized here; the caller releases it
 * either way), each size checked against its RCP_XMETA_* cap before it is
 * allocated.  0, or RCP_ERR_PROTO.
 */
int rcp_srcwire_get_xmeta(struct rcp_wire_cursor *c, struct rcp_xmeta *xm);

/* An XMETA_DIR reply stops (complete 0) past this size. */
#define RCP_SRCWIRE_XMETA_DIR_MAX (2u << 20)

/* Appends st to b. */
void rcp_srcwire_put_stat(struct rcp_buf *b, const struct stat *st);
/* Reads a stat into *st (zeroed first).  0, or RCP_ERR_PROTO. */
int rcp_srcwire_get_stat(struct rcp_wire_cursor *c, struct stat *st);
/* Overwrites the u32 at offset at of b (a count known only later). */
void rcp_srcwire_put32_at(struct rcp_buf *b, size_t at, uint32_t v);
/*
 * Reads up to n bytes at off, retrying short reads until end of file.
 * The count read, or -errno.
 */
ssize_t rcp_srcwire_pread_full(int fd, uint8_t *p, size_t n, off_t off);

/*
 * LIST's flags byte: bit 0 is the engine's RCP_SRC_LIST_ALL (srcfs.h: a
 * new directory, small files inline); DIRSTAT asks for each subdirectory's
 * lstat with its name (inline tag 2), saving the destination a STAT round
 * trip per directory.  An older source ignores the bit and sends none.
 */
#define RCP_SRCWIRE_LIST_FILES		0x01
#define RCP_SRCWIRE_LIST_DIRSTAT	0x80
/*
 * OPENDIR's optional last byte: with this bit, the rest are LIST's flags
 * and the reply's handle is followed by the first LIST reply (one round
 * trip a directory, not two).  An older source ignores the byte.
 */
#define RCP_SRCWIRE_OPENDIR_LIST	0x40
/* An entry's inline tag: nothing, a small file's data, a directory's stat. */
#define RCP_SRCWIRE_INLINE_NONE		0
#define RCP_SRCWIRE_INLINE_FILE		1
#define RCP_SRCWIRE_INLINE_DIRSTAT	2

/*
 * Replaces *out (its old contents released) with one LIST reply for fd,
 * from fd's offset on (rewinding it to the first entry not sent): entries
 * and, as flags (RCP_SRCWIRE_LIST_*) say, the small files inline and the
 * stats of subdirectories.  Calls dirfn (if not NULL) for each entry that
 * is a directory.  Returns 0 with *more set (the batch filled up: the next
 * LIST goes on), or -errno; on error *out is left as it was.
 */
typedef void rcp_srcwire_dir_fn(void *arg, const char *name);
int rcp_srcwire_list(int fd, unsigned flags, struct rcp_buf *out, bool *more,
    rcp_srcwire_dir_fn *dirfn, void *arg);

#endif
