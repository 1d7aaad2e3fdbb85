/* udp.c: binding to a port from ranges, and numeric socket addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "net/udp.h"

#include "base/banned.h"

static void
set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)ss)->sin_port = htons(port);
}

char *
rcp_udp_host_str(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];
	const void *a = NULL;

	if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
	else if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, host, sizeof(host)) ==
	    NULL)
		return rcp_xstrdup("?");
	return rcp_xstrdup(host);
}

char *
rcp_udp_addr_str(const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		return rcp_xasprintf("[%s]:%u", host, ntohs(s6->sin6_port));
	}
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		return rcp_xasprintf("%s:%u", host, ntohs(s4->sin_port));
	}
	return rcp_xstrdup("?");
}

int
rcp_udp_addr_parse(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	char *end;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return RCP_ERR_INVAL;
		n = (size_t)(colon - s - 1);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return RCP_ERR_INVAL;
		n = (size_t)(colon - s);
	}
	if (n == 0 || n >= sizeof(host))
		return RCP_ERR_INVAL;
	memcpy(host, s + (s[0] == '['), n);
	host[n] = '\0';
	port = strtoul(colon + 1, &end, 10);
	if (*end != '\0' || colon[1] == '\0' || port == 0 || port > 65535)
		return RCP_ERR_INVAL;
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
		ss->ss_family = AF_INET;
		*len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, host,
	    &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		*len = sizeof(struct sockaddr_in6);
	} else
		return RCP_ERR_INVAL;
	set_port(ss, (uint16_t)port);
	return 0;
}

int
rcp_udp_bind(const struct sockaddr *addr, socklen_t len,
    const struct rcp_udp_ports *ports, int *fdp, char **cause)
{
	struct sockaddr_storage ss;
	char *where;
	size_t i;
	unsigned p;
	int fd, e = 0;

	fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*cause = rcp_xasprintf("cannot make a UDP socket: %s",
		    strerror(errno));
		return RCP_ERR_IO;
	}
	memcpy(&ss, addr, len);
	if (ports == NULL || ports->n == 0) {
		set_port(&ss, 0);
		if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
			*fdp = fd;
			return 0;
		}
		e = errno;
	} else {
		for (i = 0; i < ports->n; i++) {
			for (p = ports->r[i].lo; p <= ports->r[i].hi; p++) {
				set_port(&ss, (uint16_t)p);
				if (bind(fd, (struct sockaddr *)&ss, len) == 0) {
					*fdp = fd;
					return 0;
				}
				if (errno != EADDRINUSE && errno != EACCES) {
					e = errno;
					goto fail;
				}
				e = errno;
			}
		}
		set_port(&ss, 0);
		where = rcp_udp_addr_str((struct sockaddr *)&ss);
		*cause = rcp_xasprintf("no free UDP port in the given ranges "
		    "on %s: %s", where, strerror(e));
		free(where);
		close(fd);
		return RCP_ERR_EXISTS;
	}
fail:
	set_port(&ss, 0);
	where = rcp_udp_addr_str((struct sockaddr *)&ss);
	*cause = rcp_xasprintf("cannot bind a UDP socket to %s: %s", where,
	    strerror(e));
	free(where);
	close(fd);
	return RCP_ERR_IO;
}

