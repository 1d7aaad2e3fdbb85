/*
 * remoteopts.c: the options of remote copies that need no network library
 * (remoteopts.h).
 */
#include <stdio.h>
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

/*
 * Whether host matches the pattern p[0..n) of one host list entry: text,
 * and bracket groups of numbers and ranges.
 */
static bool
hl_match(const char *p, size_t n, const char *host)
{
	const char *close, *r, *end, *dash;
	unsigned long lo, hi, v;
	size_t w, k, digits;
	char num[32], *e;

	while (n > 0 && *p != '[') {
		if (*host != *p)
			return false;
		p++, host++, n--;
	}
	if (n == 0)
		return *host == '\0';
	if ((close = memchr(p, ']', n)) == NULL)
		return false;
	for (digits = 0; host[digits] >= '0' && host[digits] <= '9'; digits++)
		;
	for (r = p + 1; r < close; r = end + 1) {
		if ((end = memchr(r, ',', (size_t)(close - r))) == NULL)
			end = close;
		dash = memchr(r, '-', (size_t)(end - r));
		w = (size_t)((dash != NULL ? dash : end) - r);
		if (w == 0 || w >= sizeof(num))
			return false;
		lo = strtoul(r, &e, 10);
		if (e != (dash != NULL ? dash : end))
			return false;
		hi = lo;
		if (dash != NULL) {
			hi = strtoul(dash + 1, &e, 10);
			if (e != end || dash + 1 == end || hi < lo)
				return false;
		}
		/* Each run of the host's digits that would print as one. */
		for (k = 1; k <= digits && k < sizeof(num); k++) {
			memcpy(num, host, k);
			num[k] = '\0';
			v = strtoul(num, NULL, 10);
			if (v < lo || v > hi)
				continue;
			snprintf(num, sizeof(num), "%0*lu", (int)w, v);
			if (strlen(num) == k && memcmp(num, host, k) == 0 &&
			    hl_match(close + 1, n - (size_t)(close + 1 - p),
			    host + k))
				return true;
		}
	}
	return false;
}

bool
rcp_hostlist_has(const char *list, const char *host)
{
	const char *p = list, *q;
	int depth;

	while (*p != '\0') {
		/* An entry ends at a comma outside brackets. */
		for (q = p, depth = 0; *q != '\0' && (*q != ',' || depth > 0);
		    q++) {
			if (*q == '[')
				depth++;
			else if (*q == ']')
				depth--;
		}
		if (q > p && hl_match(p, (size_t)(q - p), host))
			return true;
		p = *q == ',' ? q + 1 : q;
	}
	return false;
}

bool
rcp_host_is_list(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '[')
			depth++;
		else if (*s == ']' && depth > 0)
			depth--;
		else if (*s == ',' && depth == 0)
			return true;
	}
	return false;
}
