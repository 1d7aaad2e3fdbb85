/*
 * ssh-int.h: what the files of the SSH layer share, for them only: the
 * session (struct rcp_ssh) with the lock that serialises its libssh calls.
 * ssh.c opens and authenticates a session, ssh-chan.c runs commands on its
 * channels and frees the procs that rcp_ssh_free finds still open.
 */
#ifndef RCP_SSH_INT_H
#define RCP_SSH_INT_H

#include <pthread.h>
#include <stdbool.h>

#include <libssh/libssh.h>
#include <libssh/callbacks.h>

#include "base/log.h"

/* Not net/ssh.h, whose module (ssh.c) includes this one. */
struct rcp_ssh_proc;

struct rcp_ssh {
	pthread_mutex_t		 lock;
	pthread_cond_t		 progress;	/* with lock: channels may have news */
	ssh_session		 ss;		/* requires lock */
	ssh_event		 ev;		/* requires lock */
	int			 fd;		/* the TCP socket; polled unlocked */
	int			 kick[2];	/* a pipe that wakes the poller */
	bool			 polling;	/* requires lock: a thread is in poll() */
	bool			 kicked;	/* requires lock: kick holds a byte */
	unsigned		 waiters;	/* requires lock: threads on progress */
	char			*host;		/* as the target gave it */
	char			*dest;		/* "user@host" for messages */
	struct rcp_log		 log;
	char			*dead;		/* requires lock: why the connection ended */
	struct rcp_ssh_proc	*procs;		/* requires lock: procs not yet freed */
	struct ssh_callbacks_struct cb;
};

/*
 * requires p->s->lock.  Closes the channel (sending SIGTERM first if the
 * command has not reported its exit), unlinks p from the session's procs and
 * frees it: rcp_ssh_proc_free for a caller that holds the lock.
 */
void rcp_ssh_proc_free_locked(struct rcp_ssh_proc *p);

#endif
