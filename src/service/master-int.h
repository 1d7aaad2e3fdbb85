/*
 * master-int.h: what the files of rcp-master's control loop share, for them
 * only: the master, its clients and their waits and watches, all the loop
 * thread's unless a lock is named, and the functions that cross between
 * master.c (the socket, accepting clients, their buffers, the poll loop and
 * its timeouts) and master-req.c (a request line, the methods that answer
 * it, and the waits and watches that answer later).
 */
#ifndef RCP_MASTER_INT_H
#define RCP_MASTER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "control/ctlproto.h"
#include "service/master.h"

/* A wait or a watch of one client. */
struct sub {
	struct sub	*next;
	json_t		*rid;		/* the request's id */
	uint64_t	 job;
	bool		 watch;
	uint64_t	 interval_ns;	/* watch */
	uint64_t	 next_ns;	/* watch: next progress event */
	uint64_t	 deadline_ns;	/* wait: 0 for none */
};

/* One client; the loop thread's alone. */
struct conn {
	struct conn		*next;
	int			 fd;
	uid_t			 uid;		/* SO_PEERCRED */
	gid_t			 gid;
	pid_t			 pid;
	struct rcp_ctl_reader	 in;
	struct rcp_buf		 out;
	size_t			 out_off;	/* sent so far of out */
	uint64_t		 out_ns;	/* out last moved, or began to wait */
	bool			 hello;
	bool			 closing;	/* close once out is sent */
	bool			 dead;
	bool			 eof;		/* sent all it will send */
	bool			 more;		/* lines may be buffered */
	uint64_t		 nreq;
	uint64_t		 since_ns;
	struct sub		*subs;
};

struct rcp_master {
	struct rcp_log		 log;
	char			*sock_path;
	char			*lock_path;
	int			 listen_fd;
	int			 sock_lock_fd;
	bool			 own_socket;	/* made by us: unlink at the end */
	int			 wake_fd;
	int			 max_clients;
	uint64_t		 hello_timeout_ns;
	uint64_t		 client_timeout_ns;
	uint64_t		 start_ns;
	struct rcp_jobtab	*jobs;
	char			*metrics_path;	/* --metrics-textfile, or NULL */
	uint64_t		 metrics_next_ns; /* the housekeeping thread's */
	bool			 metrics_failed;  /* the housekeeping thread's */

	pthread_mutex_t		 lock;
	bool			 shutdown;	/* requires lock */
	bool			 requeue;	/* requires lock */

	/* The loop thread's. */
	struct conn		*conns;
	size_t			 nconns;
	bool			 stopping;
	bool			 requeued;
};

/* --- master.c ----------------------------------------------------------- */

/* Queues msg (taking its reference; NULL is no reply) for c and tries to
 * send it now; drops c if too much waits unread. */
void	 master_conn_send(struct conn *, json_t *);

/* --- master-req.c ------------------------------------------------------- */

/* Answers one request line of c (len bytes, not NUL-terminated). */
/* How often --metrics-textfile is rewritten. */
#define MASTER_METRICS_NS	(5ull * 1000000000u)
/* The jobtab's tick: rewrites --metrics-textfile when due (janitor thread). */
void	 master_metrics_tick(void *);
void	 master_handle_line(struct rcp_master *, struct conn *, const char *,
	    size_t);
/* Answers the waits and watches whose job ended or whose timer is due. */
void	 master_check_subs(struct rcp_master *, uint64_t);
void	 master_sub_free(struct sub *);

#endif
