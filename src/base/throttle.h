/*
 * throttle.h: a rate limiter shared by the workers of one copy
 * (--ops-throttle, --iops-throttle).  Callers reserve tokens and sleep until
 * their turn; a cancel flag cuts the sleep short.
 */
#ifndef RCP_THROTTLE_H
#define RCP_THROTTLE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct rcp_throttle {
	pthread_mutex_t	lock;
	double		rate;		/* tokens per second; 0: unlimited */
	uint64_t	next_ns;	/* when the next token is free; requires lock */
};

/* rate: tokens a second, 0 for no limit. */
void rcp_throttle_init(struct rcp_throttle *t, double rate);
void rcp_throttle_release(struct rcp_throttle *t);
/*
 * Takes n tokens, sleeping until the rate allows.  Returns 0, or
 * RCP_ERR_CANCELED if *cancel became true while waiting.  Thread-safe.
 */
int rcp_throttle_take(struct rcp_throttle *t, double n,
    const atomic_bool *cancel);

#endif
