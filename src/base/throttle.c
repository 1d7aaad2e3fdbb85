/*
 * throttle.c: rate limiting by virtual scheduling: each caller reserves the
 * next free slot of n/rate seconds and sleeps until it starts, so the long-run
 * rate holds exactly and no background thread is needed.
 */
#include <time.h>

#include "base/error.h"
#include "base/throttle.h"
#include "base/util.h"

#include "base/banned.h"

/* Sleep in slices so that a cancel is seen quickly. */
#define THROTTLE_SLICE_NS 50000000u

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
	uint64_t now, start, d;
	struct timespec ts;

	if (t->rate <= 0)
		return 0;
	now = rcp_now_ns();
	pthread_mutex_lock(&t->lock);
	start = t->next_ns > now ? t->next_ns : now;
	t->next_ns = start + (uint64_t)(n / t->rate * 1e9);
	pthread_mutex_unlock(&t->lock);

	while ((now = rcp_now_ns()) < start) {
		if (cancel != NULL && atomic_load(cancel))
			return RCP_ERR_CANCELED;
		d = start - now;
		if (d > THROTTLE_SLICE_NS)
			d = THROTTLE_SLICE_NS;
		ts.tv_sec = (time_t)(d / 1000000000u);
		ts.tv_nsec = (long)(d % 1000000000u);
		nanosleep(&ts, NULL);
	}
	return 0;
}
