/*
 * remoteopts.h: the options of remote copies and the parsers that need no
 * network library -- telling a remote path from a local one, the options'
 * defaults, port ranges and QUIC profiles -- apart from remote/ and net/
 * so that a program that only runs local copies (rcp-job, the process of
 * another user's local job) parses rcp's options without linking SSH and
 * QUIC.
 */
#ifndef RCP_REMOTEOPTS_H
#define RCP_REMOTEOPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/transport.h"

/* The longest --stall-timeout, of rcp and of a job: 30 days, in seconds. */
#define RCP_STALL_MAX_S		(30 * 86400)

struct rcp_log;

/*
 * How an agent on another host is started: a command over an SSH login,
 * or a step of the Slurm allocation rcp runs in (srun on that node).
 */
enum { RCP_LAUNCH_SSH, RCP_LAUNCH_SRUN };

struct rcp_remote_opts {
	struct rcp_ssh_opts	 ssh;
	const char		*rcpd_path;	/* NULL: next to us, else PATH */
	bool			 auto_deploy;	/* missing or another version:
						 * copy ours to the host */
	struct rcp_udp_ports	 ports;		/* n == 0: any */
	int			 profile;	/* RCP_QUIC_* */
	uint32_t		 conn_timeout_ms;
	uint32_t		 idle_timeout_ms;
	uint32_t		 keepalive_ms;
	uint32_t		 stall_timeout_ms; /* no progress this long: the
						 * copy is stuck (0: never) */
	const char		*master_addr;	/* agents dial this; NULL: the
						 * local address of the SSH
						 * connection to their host */
	const char		*source_addr;	/* the source listens here */
	const char		*host_groups;	/* a hostgroups.h file; NULL:
						 * the default */
	int			 launcher;	/* RCP_LAUNCH_*: how agents on
						 * other hosts start */
	int			 startup_timeout_ms;
	int			 agent_verbosity; /* RCP_LOG_* for the agents */
	/*
	 * A SRC_PREFETCH body for a source on a host of its own, sent as soon
	 * as it is up (it reads ahead while the destination logs in); NULL:
	 * none.  Only for agents that serve one copy: the read-ahead is of
	 * the moment it was made.
	 */
	const void		*prefetch;
	size_t			 prefetch_len;
	const struct rcp_log	*log;
};

void rcp_remote_opts_init(struct rcp_remote_opts *o);

struct rcp_remotecopy_opts {
	struct rcp_remote_opts	 remote;
	const char		*local_host;	/* serves a local side over
						 * SSH; NULL: an agent here */
	bool			 force_remote;
};

void rcp_remotecopy_opts_init(struct rcp_remotecopy_opts *o);

/*
 * Splits a command-line path.  Returns true and sets *host ("user@h",
 * "h:2222", "[::1]") and *path (caller frees both) if arg names a remote
 * path: "host:path" with no '/' before the first ':' (as scp).  "localhost:"
 * paths are local unless force_remote ("user@localhost:" names a user, so it
 * is remote).
 */
bool rcp_remoteopts_split(const char *arg, bool force_remote, char **host,
    char **path);

/*
 * The local path of an argument that rcp_remoteopts_split found local:
 * "localhost:/x" is "/x", anything else itself (caller frees).
 */
char *rcp_remoteopts_local(const char *arg);

/* Parses "8000-8999,10000".  0, or RCP_ERR_INVAL with *cause. */
int rcp_remoteopts_ports(const char *s, struct rcp_udp_ports *out,
    char **cause);
/* Parses "datacenter" or "internet" (RCP_QUIC_*).  0 or RCP_ERR_INVAL. */
int rcp_remoteopts_profile(const char *s, int *profile);
/*
 * Whether host is one of a Slurm host list ("node[01-04,7],gpu1",
 * $SLURM_JOB_NODELIST's form: ranges in brackets, zero-padded as their
 * low end is; several bracket groups in a name).  A malformed list has
 * no host.
 */
bool rcp_hostlist_has(const char *list, const char *host);
/*
 * Whether the host of a path is a list of hosts sharing one file system
 * ("h1,h2:/p"): a comma outside brackets.
 */
bool rcp_host_is_list(const char *host);

#endif
