/*
 * srcmux.h: one source for the copy engine made of several source agents
 * that see the same file system (hosts of one Lustre, GPFS or NFS).  Each
 * operation goes to a member where its handle is open; a new directory, and
 * the chunks of a big file, go to whichever member is least busy, opened
 * there by path when they are not yet (work stealing between agents, at
 * directory and chunk grain).  A member whose agent is lost is dropped and
 * what it held is opened again by path on the others, so the copy goes on
 * while one member is left.
 */
#ifndef RCP_SRCMUX_H
#define RCP_SRCMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "fs/srcfs.h"

struct rcp_io;

/* Most members of one mux (source hosts of one copy). */
#define RCP_SRCMUX_MAX 16

struct rcp_srcmux_member {
	const struct rcp_src_ops *ops;
	void		*ctx;
	const char	*host;		/* for messages (copied) */
	/* Optional: whether opening name below dir there is free (it came
	 * with the listing), so the open should stay there. */
	bool		(*cached)(void *ctx, int dir, const char *name);
};

struct rcp_srcmux;

/* n members (1..RCP_SRCMUX_MAX), which stay the caller's; log is copied. */
struct rcp_srcmux *rcp_srcmux_new(const struct rcp_srcmux_member *m, size_t n,
    const struct rcp_log *log);
void rcp_srcmux_free(struct rcp_srcmux *x);

/* Pass a mux as ctx with these. */
extern const struct rcp_src_ops rcp_srcmux_ops;

/*
 * Drops member i (its agent is known lost): logged once, naming its host.
 * Calls that fail with RCP_ERR_GONE drop their member the same way.
 */
void rcp_srcmux_lose(struct rcp_srcmux *x, size_t i, const char *why);

/*
 * Where the data of a file may be copied by another host instead: the
 * destination helpers of a copy written through several hosts of one file
 * system (dstpool.h).  fn copies [off, off+len) of the source file at path
 * (opened following a symlink if follow; first seen as st) into the file
 * open as dfd, as the copy operation would, or copy_checked's if checked
 * (then *was_checked as it says); local is how many copies run here now.
 * It returns what they would, or RCP_SRCMUX_DECLINED to copy here.
 */
#define RCP_SRCMUX_DECLINED INT64_MIN
typedef int64_t rcp_srcmux_offload_fn(void *arg, int local, const char *path,
    bool follow, const struct stat *st, int dfd, off_t off, off_t len,
    bool sparse, bool checked, struct rcp_io *io, const char **what,
    bool *was_checked);
/* Sets it before the copy runs (NULL: none). */
void rcp_srcmux_set_offload(struct rcp_srcmux *x, rcp_srcmux_offload_fn *fn,
    void *arg);

/* Members, and those not dropped. */
size_t rcp_srcmux_size(struct rcp_srcmux *x);
size_t rcp_srcmux_alive(struct rcp_srcmux *x);

/* What member i served: operations answered and bytes copied or hashed. */
void rcp_srcmux_served(struct rcp_srcmux *x, size_t i, uint64_t *calls,
    uint64_t *bytes);

/* Member i's host, as given. */
const char *rcp_srcmux_host(struct rcp_srcmux *x, size_t i);

/* Whether member i was dropped. */
int rcp_srcmux_lost(struct rcp_srcmux *x, size_t i);

#endif
