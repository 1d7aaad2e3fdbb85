/*
 * sigcancel.c: rcpctl --wait under a job scheduler.  scancel and the end of
 * a time limit send SIGTERM to the batch job's processes, which would end
 * rcpctl and leave the copy running in the master with nobody waiting:
 * instead a thread takes the signal with sigwait and cancels, on a
 * connection of its own, the jobs this rcpctl submitted; the main thread's
 * wait then ends with them (exit 5, canceled).  SIGUSR1 (the warning a
 * script forwards, e.g. sbatch --signal=B:USR1@60) stops waiting at once
 * and leaves the jobs running (exit 6, as wait --timeout).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <jansson.h>

#include "base/util.h"
#include "ctl/client.h"
#include "ctl/sigcancel.h"

#include "base/banned.h"

/* A wait of a batch file has at most this many jobs to cancel. */
#define SIGCANCEL_MAX	(1u << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static json_int_t *ids;		/* requires lock */
static size_t nids, capids;	/* requires lock */
static bool signaled;		/* requires lock */
static struct rcpctl sigx;	/* the options; sigx.c is the thread's own */

void
rcpctl_sigcancel_add(json_int_t id)
{
	bool again;

	pthread_mutex_lock(&lock);
	if (nids == capids && capids < SIGCANCEL_MAX) {
		capids = capids == 0 ? 16 : capids * 2;
		ids = rcp_xrealloc(ids, capids * sizeof(*ids));
	}
	if (nids < capids)
		ids[nids++] = id;
	again = signaled;
	pthread_mutex_unlock(&lock);
	/* Told to stop before the job existed: the thread cancels it now. */
	if (again)
		kill(getpid(), SIGTERM);
}

static void
cancel_all(int sig)
{
	json_t *req, *res;
	size_t i;

	pthread_mutex_lock(&lock);
	signaled = true;
	pthread_mutex_unlock(&lock);
	if (sigx.c == NULL && rcpctl_connect(&sigx) != 0)
		return;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nids; i++) {
		fprintf(stderr, "rcpctl: signal %d: canceling job %lld\n", sig,
		    (long long)ids[i]);
		req = rcp_ctl_request(0, "cancel");
		json_object_set_new(req, "job", json_integer(ids[i]));
		if (rcpctl_call(&sigx, req, RCPCTL_CALL_TIMEOUT_MS, &res) == 0)
			json_decref(res);
	}
	pthread_mutex_unlock(&lock);
}

static void *
sig_thread(void *arg)
{
	sigset_t *set = arg;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig == SIGUSR1 || sigx.no_cancel) {
			fprintf(stderr, "rcpctl: signal %d: not waiting any "
			    "more; the job goes on in rcp-master\n", sig);
			fflush(stdout);
			_exit(RCP_CTL_EXIT_TIMEOUT);
		}
		cancel_all(sig);
	}
	return NULL;
}

int
rcpctl_sigcancel_start(struct rcpctl *x)
{
	static sigset_t set;
	pthread_t t;

	sigx = *x;
	sigx.c = NULL;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
	    pthread_create(&t, NULL, sig_thread, &set) != 0) {
		fprintf(stderr, "rcpctl: cannot start the signal thread\n");
		return RCP_CTL_EXIT_FAILED;
	}
	pthread_detach(t);
	return 0;
}
