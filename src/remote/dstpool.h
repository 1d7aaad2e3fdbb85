/*
 * dstpool.h: a copy written through several destination hosts that share
 * the destination's file system.  The first destination agent runs the
 * engine (the walk, directories and their metadata after their children,
 * hard links, --delete, every file's size and times); the others, its
 * helpers, copy the data of the files and chunks it hands them: each reads
 * from the source agents itself and writes into the file the engine
 * created, by its path, checked by inode.  So the data of one copy enters
 * the destination's file system through every host, never through one.
 *
 * The engine's side is an offload function of its source mux (srcmux.h): a
 * copy of a range goes to the least busy helper when that one is no busier
 * than this host, and comes back here if the helper fails or is lost.  The
 * helper's side is rcp_dstpool_serve, answering DST_RANGE.
 */
#ifndef RCP_DSTPOOL_H
#define RCP_DSTPOOL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "fs/srcfs.h"

struct rcp_io;
struct rcp_quic_conn;
struct rcp_srcclient;

/* Most helpers of one copy (destination hosts after the first). */
#define RCP_DSTPOOL_MAX 15

/* DST_RANGE: copy [off, off+len) of the source file src into dst. */
struct rcp_dstrange {
	char		*src;		/* the source path, as the engine's
					 * mux opens it */
	bool		 follow;
	struct stat	 st;		/* the source as first opened: inode,
					 * type, size, mtime must match */
	char		*dst;		/* the destination file's path */
	uint64_t	 dst_ino;	/* and its inode */
	uint64_t	 off;
	uint64_t	 len;
	bool		 sparse;
	bool		 checked;	/* copy_checked (--verify as read) */
};

void rcp_dstrange_put(struct rcp_buf *b, const struct rcp_dstrange *q);
/* 0, or RCP_ERR_PROTO; release *q either way. */
int rcp_dstrange_get(const void *body, size_t len, struct rcp_dstrange *q);
void rcp_dstrange_release(struct rcp_dstrange *q);

/* The engine's side: the helpers, each read through its client. */
struct rcp_dstpool_member {
	struct rcp_srcclient	*sr;	/* on the helper's connection */
	struct rcp_quic_conn	*conn;	/* that connection, for its lease */
	const char		*host;	/* for messages (copied) */
};

struct rcp_dstpool;

/* n helpers (1..RCP_DSTPOOL_MAX), which stay the caller's; log is copied. */
struct rcp_dstpool *rcp_dstpool_new(const struct rcp_dstpool_member *m,
    size_t n, const struct rcp_log *log);
void rcp_dstpool_free(struct rcp_dstpool *p);

/* The srcmux offload function (rcp_srcmux_offload_fn); arg is the pool. */
int64_t rcp_dstpool_offload(void *arg, int local, const char *path,
    bool follow, const struct stat *st, int dfd, off_t off, off_t len,
    bool sparse, bool checked, struct rcp_io *io, const char **what,
    bool *was_checked);

/*
 * Drops helper i (known lost): said once, naming its host.  Its ranges in
 * flight come back here a lease (rcp_quic_conn_lease_ns) after its link
 * last carried anything from it, when it has stopped writing by itself.
 */
void rcp_dstpool_lose(struct rcp_dstpool *p, size_t i, const char *why);
size_t rcp_dstpool_size(struct rcp_dstpool *p);
const char *rcp_dstpool_host(struct rcp_dstpool *p, size_t i);
int rcp_dstpool_lost(struct rcp_dstpool *p, size_t i);
/*
 * A helper with ranges in flight that has answered none for quiet_ns, and a
 * second more for each MiB in flight there (alive, but stuck on its disk or
 * its sources), or -1.  Its caller drops it and
 * cuts its link, so those ranges come back here.
 */
int rcp_dstpool_stuck(struct rcp_dstpool *p, uint64_t quiet_ns);
/* What helper i did: ranges copied and their bytes. */
void rcp_dstpool_served(struct rcp_dstpool *p, size_t i, uint64_t *ranges,
    uint64_t *bytes);

/* The helper's side: the source agents it reads through. */
struct rcp_dstpool_source {
	const struct rcp_src_ops *ops;
	void		*ctx;
};

/*
 * Runs DST_RANGE q here, reading through the least busy of the n sources
 * (busy: their counts of calls in flight, shared by the callers; lost: set
 * for one that is gone), into q->dst opened by path and checked to be the
 * inode the engine created.  Bytes copied, with *was_checked; or an error
 * (-errno, RCP_ERR_DIFFERENT, RCP_ERR_GONE if no source is left).
 */
int64_t rcp_dstpool_run(const struct rcp_dstpool_source *src, size_t n,
    atomic_int *busy, atomic_bool *lost, const struct rcp_dstrange *q,
    struct rcp_io *io, bool *was_checked);

/* The SRC_OK body of a DST_RANGE done. */
void rcp_dstpool_put_done(struct rcp_buf *b, uint64_t n, bool checked);

#endif
