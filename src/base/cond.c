/* cond.c: monotonic condvar deadlines (see cond.h). */
#include <stdlib.h>
#include <time.h>

#include "base/cond.h"
#include "base/util.h"

#include "base/banned.h"

void
rcp_cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(c, &ca) != 0)
		abort();
	pthread_condattr_destroy(&ca);
}

int
rcp_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
    uint64_t deadline_ns)
{
	struct timespec ts;

	if (deadline_ns == 0)
		return pthread_cond_wait(c, m);
	ts.tv_sec = (time_t)(deadline_ns / 1000000000u);
	ts.tv_nsec = (long)(deadline_ns % 1000000000u);
	return pthread_cond_timedwait(c, m, &ts);
}

int
rcp_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int timeout_ms)
{
	return rcp_cond_wait_until(c, m, rcp_deadline_after(timeout_ms));
}
