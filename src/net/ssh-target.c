/*
 * ssh-target.c: the SSH layer's text handling, without libssh: parsing
 * "[user@]host[:port]" targets and quoting words for the remote shell.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/ssh.h"

#include "base/banned.h"

static bool
host_char_ok(unsigned char c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' ||
	    c == '%';
}

static int
check_host(const char *spec, const char *h, size_t n, char **cause)
{
	size_t i;

	if (n == 0) {
		*cause = rcp_xasprintf("no host name in '%s'", spec);
		return RCP_ERR_INVAL;
	}
	for (i = 0; i < n; i++)
		if (!host_char_ok((unsigned char)h[i]))
			break;
	if (i < n || h[0] == '-' || h[0] == '.') {
		*cause = rcp_xasprintf("invalid host name in '%s'", spec);
		return RCP_ERR_INVAL;
	}
	return 0;
}

static int
parse_port(const char *spec, const char *p, unsigned *port, char **cause)
{
	uint64_t v;

	if (rcp_parse_uint(p, 65535, &v) != 0 || v == 0) {
		*cause = rcp_xasprintf("invalid port in '%s': expected 1 to "
		    "65535", spec);
		return RCP_ERR_INVAL;
	}
	*port = (unsigned)v;
	return 0;
}

/* Splits "host", "host:port", "[addr]", "[addr]:port" or a bare IPv6 address. */
static int
parse_hostport(const char *spec, const char *hp, struct rcp_ssh_target *t,
    char **cause)
{
	struct in6_addr a6;
	const char *end, *colon;
	char *h;
	int r;

	if (hp[0] == '[') {
		if ((end = strchr(hp, ']')) == NULL) {
			*cause = rcp_xasprintf("missing ']' in '%s'", spec);
			return RCP_ERR_INVAL;
		}
		if ((r = check_host(spec, hp + 1, end - hp - 1, cause)) != 0)
			return r;
		if (end[1] == ':') {
			if ((r = parse_port(spec, end + 2, &t->port, cause)) != 0)
				return r;
		} else if (end[1] != '\0') {
			*cause = rcp_xasprintf("unexpected text after ']' in "
			    "'%s'", spec);
			return RCP_ERR_INVAL;
		}
		t->host = rcp_xstrndup(hp + 1, end - hp - 1);
		return 0;
	}
	colon = strchr(hp, ':');
	if (colon != NULL && strchr(colon + 1, ':') != NULL) {
		/* Two colons or more: an IPv6 address without a port. */
		h = rcp_xstrdup(hp);
		if (strchr(h, '%') != NULL)
			*strchr(h, '%') = '\0';
		r = inet_pton(AF_INET6, h, &a6);
		free(h);
		if (r != 1) {
			*cause = rcp_xasprintf("invalid address in '%s' (write "
			    "an IPv6 address as [addr] or [addr]:port)", spec);
			return RCP_ERR_INVAL;
		}
		t->host = rcp_xstrdup(hp);
		return 0;
	}
	end = colon != NULL ? colon : hp + strlen(hp);
	if ((r = check_host(spec, hp, end - hp, cause)) != 0)
		return r;
	if (colon != NULL && (r = parse_port(spec, colon + 1, &t->port,
	    cause)) != 0)
		return r;
	t->host = rcp_xstrndup(hp, end - hp);
	return 0;
}

int
rcp_ssh_target_parse(const char *spec, struct rcp_ssh_target *t, char **cause)
{
	const char *at, *hp, *c;
	int r;

	memset(t, 0, sizeof(*t));
	if (spec == NULL || *spec == '\0') {
		*cause = rcp_xstrdup("empty host");
		return RCP_ERR_INVAL;
	}
	for (c = spec; *c != '\0'; c++)
		if (iscntrl((unsigned char)*c) || *c == ' ') {
			*cause = rcp_xasprintf("invalid character in host "
			    "'%s'", spec);
			return RCP_ERR_INVAL;
		}
	hp = spec;
	if ((at = strrchr(spec, '@')) != NULL) {
		if (at == spec) {
			*cause = rcp_xasprintf("empty user name in '%s'", spec);
			return RCP_ERR_INVAL;
		}
		hp = at + 1;
	}
	if ((r = parse_hostport(spec, hp, t, cause)) != 0) {
		rcp_ssh_target_release(t);
		return r;
	}
	if (at != NULL)
		t->user = rcp_xstrndup(spec, at - spec);
	return 0;
}

void
rcp_ssh_target_release(struct rcp_ssh_target *t)
{
	if (t == NULL)
		return;
	free(t->user);
	free(t->host);
	memset(t, 0, sizeof(*t));
}

static bool
shell_safe(unsigned char c)
{
	return isalnum(c) || strchr("_./:,+@%-", c) != NULL;
}

char *
rcp_ssh_shell_quote(const char *s)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const char *c;
	bool safe = *s != '\0';

	for (c = s; *c != '\0' && safe; c++)
		safe = shell_safe((unsigned char)*c);
	if (safe)
		return rcp_xstrdup(s);
	rcp_buf_addch(&b, '\'');
	for (c = s; *c != '\0'; c++) {
		if (*c == '\'')
			rcp_buf_addstr(&b, "'\\''");
		else
			rcp_buf_addch(&b, *c);
	}
	rcp_buf_addch(&b, '\'');
	return rcp_buf_detach(&b);
}
