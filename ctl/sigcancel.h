/*
 * sigcancel.h: what rcpctl --wait does when it is told to stop: SIGTERM,
 * SIGINT or SIGHUP (scancel, a job scheduler's time limit, ^C) cancel the
 * jobs it submitted, unless --no-cancel-on-signal; SIGUSR1 stops the wait
 * and leaves them running.
 */
#ifndef RCPCTL_SIGCANCEL_H
#define RCPCTL_SIGCANCEL_H

#include <jansson.h>

#include "ctl/rcpctl.h"

/*
 * Blocks the signals above in the calling thread (call it before any other
 * thread starts) and starts the thread that takes them.  It reads x (the
 * socket, x->no_cancel) but not x->c: a cancel goes on a connection of its
 * own.  Returns 0, or an exit code with the reason on stderr.
 */
int rcpctl_sigcancel_start(struct rcpctl *x);

/* Adds job id to what a signal cancels.  Locks the module's own mutex. */
void rcpctl_sigcancel_add(json_int_t id);

#endif
