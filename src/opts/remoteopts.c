/*
 * remoteopts.c: the options of remote copies that need no network library
 * (remoteopts.h).
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "opts/remoteopts.h"

#include "base/banned.h"

bool
rcp_remoteopts_split(const char *arg, bool force_remote, char **host,
    char **path)
{
	const char *colon, *p, *end, *user_end;
	size_t hl;

	/* Absolute, relative and ~ paths are local, as with scp. */
	if (arg[0] == '/' || arg[0] == '.' || arg[0] == '~' || arg[0] == ':')
		return false;
	if (arg[0] == '[') {
		if ((end = strchr(arg, ']')) == NULL || end[1] != ':')
			return false;
		colon = end + 1;
	} else if ((user_end = strchr(arg, '@')) != NULL &&
	    user_end[1] == '[') {
		if ((end = strchr(user_end, ']')) == NULL || end[1] != ':')
			return false;
		colon = end + 1;
	} else {
		colon = strchr(arg, ':');
		if (colon == NULL || memchr(arg, '/', (size_t)(colon - arg)) != NULL)
			return false;
	}
	hl = (size_t)(colon - arg);
	/* "host:2222:/path": a port before the path. */
	for (p = colon + 1; *p >= '0' && *p <= '9'; p++)
		;
	if (p > colon + 1 && *p == ':') {
		hl = (size_t)(p - arg);
		colon = p;
	}
	*host = rcp_xstrndup(arg, hl);
	if (!force_remote && strcmp(*host, "localhost") == 0) {
		free(*host);
		*host = NULL;
		return false;
	}
	*path = rcp_xstrdup(colon + 1);
	return true;
}

char *
rcp_remoteopts_local(const char *arg)
{
	if (strncmp(arg, "localhost:", 10) == 0)
		return rcp_xstrdup(arg[10] != '\0' ? arg + 10 : ".");
	return rcp_xstrdup(arg);
}

void
rcp_remotecopy_opts_init(struct rcp_remotecopy_opts *o)
{
	memset(o, 0, sizeof(*o));
	rcp_remote_opts_init(&o->remote);
}

void
rcp_remote_opts_init(struct rcp_remote_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->profile = RCP_QUIC_DATACENTER;
	o->startup_timeout_ms = 30000;
	o->stall_timeout_ms = 600000;
	o->agent_verbosity = RCP_LOG_INFO;
}

int
rcp_remoteopts_profile(const char *s, int *profile)
{
	if (strcmp(s, "datacenter") == 0)
		*profile = RCP_QUIC_DATACENTER;
	else if (strcmp(s, "internet") == 0)
		*profile = RCP_QUIC_INTERNET;
	else
		return RCP_ERR_INVAL;
	return 0;
}

int
rcp_remoteopts_ports(const char *s, struct rcp_udp_ports *out,
    char **cause)
{
	struct rcp_udp_ports pr;
	unsigned long lo, hi;
	const char *p = s;
	char *end;

	memset(&pr, 0, sizeof(pr));
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			goto bad;
		lo = strtoul(p, &end, 10);
		hi = lo;
		if (*end == '-') {
			p = end + 1;
			if (*p < '0' || *p > '9')
				goto bad;
			hi = strtoul(p, &end, 10);
		}
		if (lo == 0 || hi > 65535 || lo > hi)
			goto bad;
		if (pr.n == RCP_UDP_PORTS_MAX) {
			*cause = rcp_xasprintf("port ranges '%s': more than %d "
			    "ranges", s, RCP_UDP_PORTS_MAX);
			return RCP_ERR_INVAL;
		}
		pr.r[pr.n].lo = (uint16_t)lo;
		pr.r[pr.n].hi = (uint16_t)hi;
		pr.n++;
		if (*end == ',' && end[1] != '\0')
			end++;
		else if (*end != '\0')
			goto bad;
		p = end;
	}
	if (pr.n == 0)
		goto bad;
	*out = pr;
	return 0;
bad:
	*cause = rcp_xasprintf("bad port ranges '%s' (expected e.g. "
	    "'8000-8999,10000', ports 1-65535)", s);
	return RCP_ERR_INVAL;
}
