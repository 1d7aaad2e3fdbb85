/*
 * agentline.h: the lines on an agent's SSH channel (proto.h), where the
 * master and rcpd meet before QUIC: rcpd's first line on its stdout, which
 * says what it is; the master's answer on its stdin, the run's secrets;
 * and what rcpd writes on stderr before it reaches the master's log.  The
 * master writes and reads them in remote.c and remote-readers.c, rcpd in
 * agent.c.
 */
#ifndef RCP_AGENTLINE_H
#define RCP_AGENTLINE_H

#include <stdint.h>
#include <sys/socket.h>

#include "net/cert.h"
#include "net/proto.h"

/* rcpd's first line: "RCPD1 proto=N version=V fp=HEX pid=P start=T". */
struct rcp_agentline_hello {
	unsigned	proto;
	char		version[64];		/* of its rcpd */
	uint8_t		fp[RCP_CERT_FP_LEN];	/* its certificate's */
	long		pid;		/* 0: not said (before 0.2) */
	char		start[32];	/* its start time; "" when pid is 0 */
};

/* The line for h, newline included.  Caller frees. */
char *rcp_agentline_put_hello(const struct rcp_agentline_hello *h);
/*
 * Parses rcpd's first line into *h.  0; RCP_ERR_VERSION if it speaks
 * another protocol (h->proto and h->version say which); RCP_ERR_PROTO if
 * it is not such a line.
 */
int rcp_agentline_get_hello(const char *line, struct rcp_agentline_hello *h);

/* The master's secrets: "RCP1 master=ADDR fp=HEX token=HEX". */
struct rcp_agentline_secrets {
	struct sockaddr_storage	addr;	/* where the master listens */
	socklen_t		alen;
	uint8_t			fp[RCP_CERT_FP_LEN];	/* its certificate's */
	uint8_t			token[RCP_TOKEN_LEN];	/* the run's */
};

/*
 * The line, newline included, for the master at addr ("host:port").  It
 * holds the token: the caller wipes it (gnutls_memset) and frees it.
 */
char *rcp_agentline_put_secrets(const char *addr, const uint8_t *fp,
    const uint8_t *token);
/*
 * Parses the master's secrets into *s; words it does not know are a newer
 * master's and ignored.  0 or RCP_ERR_PROTO.
 */
int rcp_agentline_get_secrets(const char *line,
    struct rcp_agentline_secrets *s);

/*
 * The level (RCP_LOG_*) of a line rcpd wrote to stderr, "rcpd (source):
 * debug: ..." while the master was not reachable yet; anything else is a
 * warning.
 */
int rcp_agentline_level(const char *line);
/*
 * What rcpd said in a line "rcpd (source): what" (a pointer into line), or
 * line itself if it is not one of those.
 */
const char *rcp_agentline_said(const char *line);

#endif
