/*
 * pool.h: a pool of worker threads running queued items, highest priority
 * first and first in, first out within a priority.  Items may belong to a
 * group (rcp-master's groups are host pairs) that caps how many of its
 * items run at once; the number of threads caps them all.
 *
 * Mutex + condvar FIFO: the pool owns an item's links once it is queued;
 * the caller's function runs unlocked in a worker thread; shutdown sets a
 * flag, broadcasts and joins.
 */
#ifndef RCP_POOL_H
#define RCP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Embedded in the caller's object; set priority and group before queueing. */
struct rcp_pool_item {
	int			 priority;	/* higher runs first */
	const char		*group;		/* NULL: none; borrowed while queued */

	/* The pool's; requires pool->lock. */
	struct rcp_pool_item	*prev;
	struct rcp_pool_item	*next;
	bool			 queued;
};

struct rcp_pool;

/*
 * Called in a worker thread, without the pool's lock, for each item taken
 * off the queue.  The item is the caller's again as soon as it is called.
 */
typedef void rcp_pool_fn(void *arg, struct rcp_pool_item *item);

/*
 * Returns a new pool of nthreads (at least 1) threads calling fn(arg, item);
 * group_cap > 0 caps the running items of each group.  NULL with *cause set
 * if no thread could be started.  Free with rcp_pool_free.
 */
struct rcp_pool *rcp_pool_new(int nthreads, int group_cap, rcp_pool_fn *fn,
    void *arg, char **cause);

/*
 * Stops the pool (see rcp_pool_stop), waits for the running calls to
 * return, joins the threads and frees the pool; items still queued are not
 * run and are the caller's again.  Call from a thread that is not one of
 * the pool's.  NULL is a no-op.
 */
void rcp_pool_free(struct rcp_pool *p);

/*
 * Queues item.  Returns 0; or RCP_ERR_CANCELED, leaving item the caller's,
 * once the pool is stopping.  Any thread.
 */
int rcp_pool_push(struct rcp_pool *p, struct rcp_pool_item *item);

/*
 * Takes item off the queue.  Returns true if it was queued (it will not
 * run), false if it already left the queue.  Any thread.
 */
bool rcp_pool_remove(struct rcp_pool *p, struct rcp_pool_item *item);

/* Counts queued and running items.  Any thread. */
void rcp_pool_counts(struct rcp_pool *p, size_t *queued, size_t *running);

/* Returns the number of worker threads. */
int rcp_pool_threads(const struct rcp_pool *p);

/*
 * Stops taking items off the queue and refuses new ones; running calls go
 * on.  Queued items stay queued.  Does not wait.  Any thread; idempotent.
 */
void rcp_pool_stop(struct rcp_pool *p);

#endif
