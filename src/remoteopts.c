/*
 * remoteopts.c: the parts of remote copies that need no network library --
 * telling a remote path from a local one, the options' defaults and parsers.
 * They live apart from remotecopy.c, remote.c and quic.c so that a program
 * that only runs local copies (rcp-job, the process of another user's
 * local job) parses rcp's options without linking SSH and QUIC.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "quic.h"
#include "remote.h"
#include "remotecopy.h"
#include "util.h"

#include "banned.h"

bool
rcp_remotecopy_split(const char *arg, bool force_remote, char **host,
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
rcp_remotecopy_local(const char *arg)
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
	o->agent_verbosity = RCP_LOG_INFO;
}

int
rcp_quic_profile_parse(const char *s, int *profile)
{
	if (strcmp(s, "datacenter") == 0)
		*profile = RCP_QUIC_DATACENTER;
	else if (strcmp(s, "internet") == 0)
		*profile = RCP_QUIC_INTERNET;
	else
		return RCP_ERR_INVAL;
	return 0;
}
