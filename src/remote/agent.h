/*
 * agent.h: rcpd, the agent that rcp (the master) starts over SSH on the
 * source and destination hosts.
 *
 * Start-up, over the SSH channel (the trusted out-of-band path):
 *   master -> rcpd stdin:  "RCP1 master=ADDR fp=HEX token=HEX"
 *   rcpd -> master stdout: "RCPD1 fp=HEX"
 * Nothing secret is ever in argv.  rcpd then connects to the master over
 * QUIC, each side pinning the other's certificate, and says HELLO with the
 * token.  A source rcpd also listens for the destination rcpd, whose
 * certificate the master tells it; the master tells the destination where
 * the source listens and what certificate it has.  File data then flows
 * source to destination directly.  doc/protocol.md has the diagrams.
 *
 * rcpd exits within a second or two of the master going away: EOF on stdin
 * (sshd closes the channel), with the QUIC idle timeout as the fallback.
 */
#ifndef RCP_AGENT_H
#define RCP_AGENT_H

#include <stdbool.h>

#include "net/quic.h"

struct rcp_agent_opts {
	int			 role;		/* RCP_ROLE_* */
	struct rcp_quic_config	 quic;		/* cert filled in by the agent */
	struct rcp_udp_ports	 ports;
	const char		*bind_addr;	/* source: where to listen; NULL: auto */
	bool			 helper;	/* destination: a helper of another
						 * destination agent (dstpool.h) */
	int			 in_fd;		/* the master's channel: stdin */
	int			 out_fd;	/* stdout */
	int			 startup_timeout_ms;
	int			 verbosity;	/* RCP_LOG_* forwarded to the master */
};

void rcp_agent_opts_init(struct rcp_agent_opts *o);

/*
 * Runs the agent until the master says SHUTDOWN or goes away.  Returns the
 * process exit status; errors are reported to the master if it can still
 * be reached, and to stderr (which SSH carries to the master) if not.
 */
int rcp_agent_run(const struct rcp_agent_opts *o);

#endif
