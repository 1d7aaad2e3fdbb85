/*
 * ticker.h: a thread that calls a function every period while something
 * else runs (a copy's progress line, a job's progress report, an agent's
 * counters), and that stops at once when told, on the monotonic clock.
 */
#ifndef RCP_TICKER_H
#define RCP_TICKER_H

#include <stdint.h>

typedef struct rcp_ticker rcp_ticker;

/*
 * Starts a thread that calls fn(arg) every period_ns (the first time one
 * period from now; each period counted from the end of the call before).
 * fn runs on that thread with no lock of the ticker held.  Returns the
 * ticker, to be given to rcp_ticker_stop; NULL if no thread could start.
 */
rcp_ticker *rcp_ticker_start(uint64_t period_ns, void (*fn)(void *),
    void *arg);
/*
 * Wakes the ticker at once, waits for a call of fn under way to return,
 * joins the thread and frees t: fn is not called again.  Not from fn
 * itself.  NULL is a no-op.
 */
void rcp_ticker_stop(rcp_ticker *t);

#endif
