/*
 * cond.h: condition variables that time out on the monotonic clock of
 * rcp_now_ns (base/util.h), so that stepping the wall clock neither cuts a
 * wait short nor stretches it.
 */
#ifndef RCP_COND_H
#define RCP_COND_H

#include <pthread.h>
#include <stdint.h>

/*
 * Initialises c to time its waits on CLOCK_MONOTONIC.  Every condvar waited
 * with rcp_cond_wait_until or rcp_cond_wait_ms must be initialised so (a
 * PTHREAD_COND_INITIALIZER one times out on CLOCK_REALTIME).  Aborts if the
 * clock cannot be set: a wait on the wrong clock would be a silent bug.
 */
void rcp_cond_init_mono(pthread_cond_t *c);
/*
 * Waits on c, with m held, until signalled or until deadline_ns on the
 * rcp_now_ns clock (0: no deadline, as from rcp_deadline_after(-1)).
 * Returns 0 when woken, possibly spuriously, or ETIMEDOUT once the deadline
 * has passed, as pthread_cond_timedwait does.  The deadline is absolute, so
 * a loop around a predicate computes it once.
 */
int rcp_cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
    uint64_t deadline_ns);
/*
 * The same for timeout_ms from now (a negative one waits without end): for a
 * single wait such as a periodic tick.  0 or ETIMEDOUT.
 */
int rcp_cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, int timeout_ms);

#endif
