/*
 * test_pool.c: the job worker pool: run order (priority, then arrival),
 * the per-group cap and the global one, taking items back, stopping with
 * items queued, and many producers at once (also run under TSan).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "workers/pool.h"
#include "unit.h"

#include "base/banned.h"

struct item {
	struct rcp_pool_item	 it;		/* first: the pool's view */
	int			 tag;
};

/* What the callback records; its own lock. */
struct log {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	int		 order[256];
	int		 n;
	bool		 hold;		/* the first call blocks until cleared */
	bool		 holding;
	atomic_int	 running;
	atomic_int	 max_running;
	atomic_int	 group_a;
	atomic_int	 max_group_a;
	int		 sleep_us;
};

static void
bump_max(atomic_int *max, int v)
{
	int m = atomic_load(max);

	while (v > m && !atomic_compare_exchange_weak(max, &m, v))
		;
}

static void
record(void *arg, struct rcp_pool_item *pi)
{
	struct log *lg = arg;
	struct item *it = (struct item *)(void *)pi;
	int now = atomic_fetch_add(&lg->running, 1) + 1, a = 0;

	bump_max(&lg->max_running, now);
	if (pi->group != NULL && strcmp(pi->group, "a") == 0) {
		a = atomic_fetch_add(&lg->group_a, 1) + 1;
		bump_max(&lg->max_group_a, a);
	}
	pthread_mutex_lock(&lg->lock);
	if (lg->hold) {
		lg->holding = true;
		pthread_cond_broadcast(&lg->cond);
		while (lg->hold)
			pthread_cond_wait(&lg->cond, &lg->lock);
	}
	if (lg->n < 256)
		lg->order[lg->n++] = it->tag;
	pthread_cond_broadcast(&lg->cond);
	pthread_mutex_unlock(&lg->lock);
	if (lg->sleep_us > 0)
		usleep((useconds_t)lg->sleep_us);
	if (pi->group != NULL && strcmp(pi->group, "a") == 0)
		atomic_fetch_sub(&lg->group_a, 1);
	atomic_fetch_sub(&lg->running, 1);
}

static void
log_init(struct log *lg)
{
	memset(lg, 0, sizeof(*lg));
	pthread_mutex_init(&lg->lock, NULL);
	pthread_cond_init(&lg->cond, NULL);
}

static void
log_release(struct log *lg)
{
	pthread_cond_destroy(&lg->cond);
	pthread_mutex_destroy(&lg->lock);
}

static void
wait_count(struct log *lg, int n)
{
	pthread_mutex_lock(&lg->lock);
	while (lg->n < n)
		pthread_cond_wait(&lg->cond, &lg->lock);
	pthread_mutex_unlock(&lg->lock);
}

static void
test_order(void)
{
	static const int prio[] = { 0, 5, 0, -3, 5, 0 };
	/* Tags in the order they must run: 5s first, FIFO among equals. */
	static const int want[] = { 100, 1, 4, 0, 2, 5, 3 };
	struct item items[7];
	struct rcp_pool *p;
	struct log lg;
	char *cause = NULL;
	size_t q, r;
	int i;

	log_init(&lg);
	lg.hold = true;
	p = rcp_pool_new(1, 0, record, &lg, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	/* The first item occupies the one thread while the rest queue. */
	memset(items, 0, sizeof(items));
	items[6].tag = 100;
	CU_ASSERT_EQUAL(rcp_pool_push(p, &items[6].it), 0);
	pthread_mutex_lock(&lg.lock);
	while (!lg.holding)
		pthread_cond_wait(&lg.cond, &lg.lock);
	pthread_mutex_unlock(&lg.lock);
	for (i = 0; i < 6; i++) {
		items[i].tag = i;
		items[i].it.priority = prio[i];
		CU_ASSERT_EQUAL(rcp_pool_push(p, &items[i].it), 0);
	}
	rcp_pool_counts(p, &q, &r);
	CU_ASSERT_EQUAL(q, 6);
	CU_ASSERT_EQUAL(r, 1);
	pthread_mutex_lock(&lg.lock);
	lg.hold = false;
	pthread_cond_broadcast(&lg.cond);
	pthread_mutex_unlock(&lg.lock);
	wait_count(&lg, 7);
	for (i = 0; i < 7; i++)
		CU_ASSERT_EQUAL(lg.order[i], want[i]);
	rcp_pool_free(p);
	log_release(&lg);
}

static void
test_caps(void)
{
	struct item items[40];
	struct rcp_pool *p;
	struct log lg;
	char *cause = NULL;
	int i;

	log_init(&lg);
	lg.sleep_us = 2000;
	p = rcp_pool_new(6, 2, record, &lg, &cause);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(rcp_pool_threads(p), 6);
	memset(items, 0, sizeof(items));
	for (i = 0; i < 40; i++) {
		items[i].tag = i;
		items[i].it.group = i % 4 == 0 ? "b" : "a";
		CU_ASSERT_EQUAL(rcp_pool_push(p, &items[i].it), 0);
	}
	wait_count(&lg, 40);
	/* Group "a" never past its cap; the pool never past its threads. */
	CU_ASSERT_TRUE(atomic_load(&lg.max_group_a) <= 2);
	CU_ASSERT_TRUE(atomic_load(&lg.max_group_a) >= 1);
	CU_ASSERT_TRUE(atomic_load(&lg.max_running) <= 6);
	/* Items of "b" were not held up behind the capped "a" ones. */
	CU_ASSERT_TRUE(atomic_load(&lg.max_running) >= 3);
	rcp_pool_free(p);
	log_release(&lg);
}

static void
test_remove_and_stop(void)
{
	struct item items[5];
	struct rcp_pool *p;
	struct log lg;
	char *cause = NULL;
	size_t q, r;
	int i;

	log_init(&lg);
	lg.hold = true;
	p = rcp_pool_new(1, 0, record, &lg, &cause);
	memset(items, 0, sizeof(items));
	for (i = 0; i < 5; i++) {
		items[i].tag = i;
		CU_ASSERT_EQUAL(rcp_pool_push(p, &items[i].it), 0);
	}
	pthread_mutex_lock(&lg.lock);
	while (!lg.holding)
		pthread_cond_wait(&lg.cond, &lg.lock);
	pthread_mutex_unlock(&lg.lock);
	/* Item 0 runs; 2 is taken back; 0 cannot be. */
	CU_ASSERT_TRUE(rcp_pool_remove(p, &items[2].it));
	CU_ASSERT_FALSE(rcp_pool_remove(p, &items[2].it));
	CU_ASSERT_FALSE(rcp_pool_remove(p, &items[0].it));
	rcp_pool_stop(p);
	CU_ASSERT_EQUAL(rcp_pool_push(p, &items[2].it), RCP_ERR_CANCELED);
	pthread_mutex_lock(&lg.lock);
	lg.hold = false;
	pthread_cond_broadcast(&lg.cond);
	pthread_mutex_unlock(&lg.lock);
	wait_count(&lg, 1);
	rcp_pool_counts(p, &q, &r);
	CU_ASSERT_EQUAL(q, 3);		/* 1, 3, 4 stay queued */
	rcp_pool_free(p);
	CU_ASSERT_EQUAL(lg.n, 1);	/* only item 0 ran */
	CU_ASSERT_FALSE(items[1].it.queued);
	log_release(&lg);
}

struct producer {
	struct rcp_pool	*p;
	struct item	 items[200];
};

static void *
produce(void *arg)
{
	struct producer *pr = arg;
	int i;

	for (i = 0; i < 200; i++) {
		pr->items[i].it.priority = i % 3;
		pr->items[i].it.group = i % 2 ? "a" : NULL;
		pr->items[i].tag = i;
		rcp_pool_push(pr->p, &pr->items[i].it);
		if (i % 7 == 0)
			rcp_pool_remove(pr->p, &pr->items[i].it);
	}
	return NULL;
}

static atomic_int ran;

static void
count(void *arg, struct rcp_pool_item *it)
{
	atomic_fetch_add(&ran, 1);
}

static void
test_producers(void)
{
	struct producer *pr = rcp_xcalloc(4, sizeof(*pr));
	pthread_t t[4];
	char *cause = NULL;
	struct rcp_pool *p = rcp_pool_new(4, 2, count, NULL, &cause);
	size_t q = 1, r = 1;
	int i, removed = 0;

	atomic_store(&ran, 0);
	for (i = 0; i < 4; i++) {
		pr[i].p = p;
		pthread_create(&t[i], NULL, produce, &pr[i]);
	}
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 2000 && (q > 0 || r > 0); i++) {
		rcp_pool_counts(p, &q, &r);
		usleep(1000);
	}
	CU_ASSERT_EQUAL(q, 0);
	CU_ASSERT_EQUAL(r, 0);
	rcp_pool_free(p);
	/* Every item ran once, except those taken back before they ran. */
	for (i = 0; i < 200; i++)
		if (i % 7 == 0)
			removed++;
	CU_ASSERT_TRUE(atomic_load(&ran) >= 4 * (200 - removed));
	CU_ASSERT_TRUE(atomic_load(&ran) <= 4 * 200);
	free(pr);
}

void
test_pool_register(void)
{
	static const struct unit_test tests[] = {
		{ "order", test_order },
		{ "caps", test_caps },
		{ "remove_and_stop", test_remove_and_stop },
		{ "producers", test_producers },
		{ NULL, NULL }
	};

	unit_add_suite("pool", tests);
}
