/*
 * throttle.c: rate limiting by virtual scheduling: each caller reserves the
 * next free slot of n/rate seconds and sleeps until it starts, so the long-run
 * rate holds exactly and no background thread is needed.
 */
#include "base/error.h"
#include "base/throttle.h"
#include "base/util.h"

#include "base/banned.h"

void
rcp_throttle_init(struct rcp_throttle *t, double rate)
{
	pthread_mutex_init(&t->lock, NULL);
	t->rate = rate > 0 ? rate : 0;
	t->next_ns = 0;
}

void
rcp_throttle_release(struct rcp_throttle *t)
{
	pthread_mutex_destroy(&t->lock);
}

int
rcp_throttle_take(struct rcp_throttle *t, double n,
    const atomic_bool *cancel)
{
	uint64_t now, start;

	if (t->rate <= 0)
		return 0;
	now = rcp_now_ns();
	pthread_mutex_lock(&t->lock);
	start = t->next_ns > now ? t->next_ns : now;
	t->next_ns = start + (uint64_t)(n / t->rate * 1e9);
	pthread_mutex_unlock(&t->lock);

	return rcp_sleep_until(start, cancel);
}
