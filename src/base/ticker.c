/*
 * ticker.c: a periodic call on its own thread (ticker.h).  The wait is on
 * a condition variable bound to the monotonic clock, so a change of the
 * wall clock neither stalls nor hurries it, and stop wakes it at once.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/cond.h"
#include "base/ticker.h"
#include "base/util.h"

#include "base/banned.h"

struct rcp_ticker {
	pthread_t	 thread;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* on CLOCK_MONOTONIC */
	bool		 stop;		/* requires lock */
	uint64_t	 period_ns;
	void		(*fn)(void *);
	void		*arg;
};

static void *
ticker_main(void *arg)
{
	struct rcp_ticker *t = arg;
	uint64_t deadline;

	pthread_mutex_lock(&t->lock);
	while (!t->stop) {
		deadline = rcp_now_ns() + t->period_ns;
		/* Until the deadline, whatever wakes the wait early. */
		while (!t->stop &&
		    rcp_cond_wait_until(&t->cond, &t->lock, deadline) == 0)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		t->fn(t->arg);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

rcp_ticker *
rcp_ticker_start(uint64_t period_ns, void (*fn)(void *), void *arg)
{
	struct rcp_ticker *t = rcp_xcalloc(1, sizeof(*t));

	t->period_ns = period_ns;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	rcp_cond_init_mono(&t->cond);
	if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void
rcp_ticker_stop(rcp_ticker *t)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
