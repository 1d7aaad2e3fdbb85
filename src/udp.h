/*
 * udp.h: UDP port ranges (--quic-port-ranges), binding a socket to a port
 * from them, and numeric socket addresses as text ("1.2.3.4:5", "[::1]:5").
 */
#ifndef RCP_UDP_H
#define RCP_UDP_H

#include <stdint.h>
#include <sys/socket.h>

#define RCP_UDP_PORTS_MAX 32

struct rcp_udp_ports {
	size_t	n;		/* 0: any port */
	struct {
		uint16_t	lo;
		uint16_t	hi;
	} r[RCP_UDP_PORTS_MAX];
};

/* Parses "8000-8999,10000".  0, or RCP_ERR_INVAL with *cause. */
int rcp_udp_ports_parse(const char *s, struct rcp_udp_ports *out,
    char **cause);
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
