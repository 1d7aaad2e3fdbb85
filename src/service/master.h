/*
 * master.h: rcp-master, the copy job service, as a library: the control
 * socket (a Unix-domain socket, one JSON object per line both ways, see
 * doc/ctl-protocol.md), one thread polling every client, and the jobs of
 * src/workers/jobtab.h behind it.  The peer's uid comes from SO_PEERCRED:
 * clients see and cancel only their own jobs (root sees all), and a job
 * runs as its submitter.
 *
 * Start-up order: socket (locked, stale one replaced), jobs (journal read,
 * workers started), loop; shutdown in reverse.
 */
#ifndef RCP_MASTER_H
#define RCP_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/log.h"

struct rcp_master_opts {
	const char		*socket_path;	/* NULL: the user's default */
	int			 listen_fd;	/* >= 0: inherited (LISTEN_FDS) */
	mode_t			 socket_mode;	/* 0600; 0666 to serve all users */
	const char		*state_dir;	/* NULL: the user's default */
	int			 workers;	/* jobs running at once */
	int			 pair_cap;	/* per host pair; 0: workers */
	uint64_t		 keep_ns;	/* finished jobs kept this long */
	uint64_t		 ledger_max;	/* bytes of one job's ledger */
	uint64_t		 session_idle_ns; /* agents kept for the next
						 * remote job; 0: not kept */
	int			 max_clients;	/* connections at once */
	uint64_t		 hello_timeout_ns; /* to say hello after connecting */
	uint64_t		 client_timeout_ns; /* a client that takes none of
						 * its pending replies this long
						 * is dropped; 0: never */
	uint64_t		 stall_ns;	/* a running job with no progress
						 * this long fails; 0: never */
	const char		*metrics_textfile; /* kept up to date for
						 * node_exporter; NULL: none */
	const struct rcp_log	*log;		/* copied; fn thread-safe */
};

struct rcp_master;

/* Fills o with the defaults: 4 workers, 7 days kept, 1,024 clients... */
void rcp_master_opts_init(struct rcp_master_opts *o);

/*
 * Returns the default state directory (caller frees):
 * $XDG_STATE_HOME/rcp, else ~/.local/state/rcp.
 */
char *rcp_master_default_state_dir(void);

/*
 * Makes the socket and loads the jobs.  Returns 0 with *out (free with
 * rcp_master_free); RCP_ERR_EXISTS if another master holds the socket or
 * the state directory; another error otherwise; *cause set (caller frees).
 */
int rcp_master_new(const struct rcp_master_opts *o, struct rcp_master **out,
    char **cause);

/*
 * Serves clients in the calling thread until a shutdown has completed.
 * Returns 0, or RCP_ERR_IO if the loop could not go on.
 */
int rcp_master_run(struct rcp_master *m);

/*
 * Starts a graceful shutdown (see rcp_jobtab_stop for requeue) and wakes
 * the loop.  Any thread; not from a signal handler.
 */
void rcp_master_shutdown(struct rcp_master *m, bool requeue);

/* Removes the socket, stops the jobs and frees m.  NULL is a no-op. */
void rcp_master_free(struct rcp_master *m);

/* Returns the socket's path (NULL if inherited without one). */
const char *rcp_master_socket(const struct rcp_master *m);

#endif
