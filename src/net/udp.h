/*
 * udp.h: binding a UDP socket to a port from the ranges of
 * --quic-port-ranges (net/transport.h), and numeric socket addresses as text ("1.2.3.4:5", "[::1]:5").
 */
#ifndef RCP_UDP_H
#define RCP_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#include "net/transport.h"


/*
 * Binds a UDP socket to the address of addr and a port from ports (any port
 * if ports is NULL or empty).  Returns 0 and the fd, or an error with
 * *cause ("no free UDP port in 8000-8001 on '127.0.0.1'").
 */
int rcp_udp_bind(const struct sockaddr *addr, socklen_t len,
    const struct rcp_udp_ports *ports, int *fd, char **cause);
/* Formats the address alone, "1.2.3.4" or "::1", into a new string. */
char *rcp_udp_host_str(const struct sockaddr *sa);
/* Formats "1.2.3.4:56" or "[::1]:56" into a new string. */
char *rcp_udp_addr_str(const struct sockaddr *sa);
/* Parses "1.2.3.4:56" or "[::1]:56" (numeric only).  0 or RCP_ERR_INVAL. */
int rcp_udp_addr_parse(const char *s, struct sockaddr_storage *ss,
    socklen_t *len);

#endif
