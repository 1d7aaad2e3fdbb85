/*
 * remote-int.h: what remote.c (start-up and requests) and remote-readers.c
 * (the threads that read each agent) share, for them only: the run, its
 * hosts and agents, and the calls on an agent's process.
 */
#ifndef RCP_REMOTE_INT_H
#define RCP_REMOTE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/strbuf.h"
#include "engine/copy.h"
#include "net/cert.h"
#include "net/child.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/ssh.h"
#include "opts/remoteopts.h"
#include "remote/remote.h"

/* Agents of one run at most: every source and destination host's. */
#define RCP_REMOTE_MAX_AGENTS (RCP_REMOTE_MAX_SOURCES + RCP_REMOTE_MAX_DESTS)

/* A host of the run: one SSH connection (none here), one endpoint. */
struct rhost {
	char			*spec;
	const char		*name;		/* for messages */
	bool			 here;		/* this machine: no SSH */
	bool			 srun;		/* a node of our Slurm
						 * allocation: no SSH, agents
						 * start as srun steps */
	struct rcp_ssh		*ssh;		/* NULL here */
	struct rcp_quic_ep	*ep;		/* where its agents dial back */
	char			*rcpd;		/* resolved command */
};

/* The master's side of one agent: its process, connection and threads. */
struct ragent {
	struct rcp_remote	*r;
	int			 role;
	bool			 helper;	/* a destination after the first
						 * (dstpool.h) */
	struct rhost		*h;
	struct rcp_ssh_proc	*proc;		/* on another host */
	struct rcp_child	*child;		/* here */
	uint8_t			 fp[RCP_CERT_FP_LEN];
	char			 version[64];	/* of its rcpd */
	long			 pid;		/* its process there; 0: unknown */
	char			 start[32];	/* and that process's start time */
	struct rcp_quic_conn	*conn;		/* set under lock */
	int64_t			 ctrl;		/* its request stream */
	pthread_t		 reader;
	pthread_t		 errreader;
	bool			 reader_started;
	bool			 errreader_started;

	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct rcp_quic_msg	*replies;	/* requires lock */
	char			*listen_addr;	/* requires lock */
	uint8_t			 listen_fp[RCP_CERT_FP_LEN];
	struct rcp_copy_stats	 progress;	/* requires lock */
	char			*dead;		/* why it is gone; requires lock */
	int			 exit_status;	/* requires lock; -1 unknown */
	bool			 exited;	/* requires lock */
	bool			 closed;	/* its connection ended; requires lock */
	atomic_bool		 bye;		/* SHUTDOWN sent: its exit is expected */
	bool			 spared;	/* a source or a helper lost while
						 * others go on; requires
						 * r->lost_lock */
	atomic_bool		 abandon;	/* teardown gave up on its exit */
	_Atomic uint64_t	 heard_ns;	/* when its last message came */
	_Atomic uint16_t	 heard_type;	/* and of what type */
};

/* A run: the two agents, on one host or two. */
struct rcp_remote {
	struct rcp_remote_opts	 o;
	struct rcp_cert	*cert;
	uint8_t			 token[RCP_TOKEN_LEN];
	pthread_mutex_t		 hosts_lock;
	pthread_mutex_t		 lost_lock;
	char			*lost;		/* the first agent lost and why;
						 * requires lost_lock */
	/*
	 * Where the destination's FILES go (rcp_remote_files): both require
	 * files_lock, which the reader holds while it calls files_fn.
	 */
	pthread_mutex_t		 files_lock;
	void			(*files_fn)(void *arg, const char *path);
	void			*files_arg;
	/* Where its CMP_DIFF bodies go (rcp_remote_diffs); the same lock. */
	void			(*diff_fn)(void *arg, const void *body,
				    size_t len);
	void			*diff_arg;
	struct rhost		*hosts[RCP_REMOTE_MAX_AGENTS];
						/* requires hosts_lock */
	size_t			 nhosts;
	/*
	 * [0] the source, [1] the destination, [2..nsources] more sources of
	 * hosts that share the first one's file system, each its own agent,
	 * then the destination's helpers on more hosts of its file system.
	 */
	struct ragent		 agents[RCP_REMOTE_MAX_AGENTS];
	size_t			 nagents;
	size_t			 nsources;
	size_t			 ndests;
	size_t			 sources_lost;	/* requires lost_lock */
	char			*here_bind;	/* a local source listens here */
	atomic_uint		 next_id;
	atomic_bool		 stop;
};

static inline const char *
role_name(int role)
{
	return role == RCP_ROLE_SOURCE ? "source" : "destination";
}

/*
 * The agent's process: an SSH channel on another host, a child here.  The
 * calls and their results are the same for both.
 */
static inline ssize_t
ap_read(struct ragent *a, bool err, void *buf, size_t n, int timeout_ms)
{
	if (a->child != NULL)
		return rcp_child_read(a->child, err, buf, n, timeout_ms);
	return rcp_ssh_proc_read(a->proc, err, buf, n, timeout_ms);
}

static inline int
ap_read_line(struct ragent *a, char **line, size_t max, int timeout_ms)
{
	if (a->child != NULL)
		return rcp_child_read_line(a->child, line, max, timeout_ms);
	return rcp_ssh_proc_read_line(a->proc, line, max, timeout_ms);
}

static inline int
ap_write(struct ragent *a, const void *buf, size_t n)
{
	if (a->child != NULL)
		return rcp_child_write(a->child, buf, n);
	return rcp_ssh_proc_write(a->proc, buf, n);
}

/* EOF on the agent's stdin: it stops.  No process yet is a no-op. */
static inline void
ap_close_stdin(struct ragent *a)
{
	if (a->child != NULL)
		rcp_child_close_stdin(a->child);
	else if (a->proc != NULL)
		rcp_ssh_proc_close_stdin(a->proc);
}

static inline int
ap_wait(struct ragent *a, int timeout_ms, int *status)
{
	if (a->child != NULL)
		return rcp_child_wait(a->child, timeout_ms, status);
	return rcp_ssh_proc_wait(a->proc, timeout_ms, status);
}

static inline void
ap_free(struct ragent *a)
{
	rcp_child_free(a->child);
	a->child = NULL;
	rcp_ssh_proc_free(a->proc);
	a->proc = NULL;
}

/*
 * Stops the run (rcp_remote_abort): the agents read EOF and stop; our
 * readers see the links go.  Any thread.
 */
void remote_abort_agents(struct rcp_remote *r);
/*
 * Why the run lost its first agent (caller frees), or NULL: an agent lost
 * aborts the run, and the other one then looks lost too (its link closed
 * by us), so a message names the first.
 */
char *remote_first_lost(struct rcp_remote *r);
/* Appends what was last heard from a and when to b, for messages. */
void remote_heard_last(struct ragent *a, struct rcp_buf *b);

/*
 * The thread that reads an agent's QUIC messages (arg: its struct ragent):
 * logs into ours, progress, where the source listens, and replies, which
 * it queues on a->replies for rcp_remote_request.  When the connection
 * ends unless the run is stopping, marks the agent dead and aborts the run:
 * an agent that is silent past the idle timeout (stopped, partitioned) is
 * lost, and one agent cannot go on without the other.
 */
void *rcp_remote_reader_main(void *arg);
/*
 * The thread that relays an agent's stderr into our log (arg: its struct
 * ragent) and, at its end, reaps the process: sets a->exited and
 * a->exit_status, and unless the run is stopping marks the agent dead and
 * aborts the run.  It also ends, without the exit, once a->abandon is set.
 */
void *rcp_remote_errreader_main(void *arg);

#endif
