/* hostgroups.c: named groups of hosts, from a file (see hostgroups.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "opts/hostgroups.h"

#include "base/banned.h"

/* Longest line of a groups file. */
#define LINE_MAX_LEN 65536

const char *
rcp_hostgroups_file(const char *path)
{
	const char *env;

	if (path != NULL && path[0] != '\0')
		return path;
	if ((env = getenv("RCP_HOST_GROUPS")) != NULL && env[0] != '\0')
		return env;
	return access(RCP_HOST_GROUPS_FILE, F_OK) == 0 ?
	    RCP_HOST_GROUPS_FILE : NULL;
}

static bool
name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_' || c == '.';
}

/*
 * One line: 0 if it is blank or another group, 1 with *hosts if it is
 * name's, or RCP_ERR_INVAL with *why.
 */
static int
parse_line(char *line, const char *name, char ***hosts, size_t *n,
    const char **why)
{
	char *p = line, *key, *h;
	size_t len;

	if ((h = strchr(p, '#')) != NULL)
		*h = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return 0;
	for (key = p; name_char((unsigned char)*p); p++)
		;
	len = (size_t)(p - key);
	while (isspace((unsigned char)*p))
		p++;
	if (len == 0 || *p != '=') {
		*why = "expected NAME = HOST...";
		return RCP_ERR_INVAL;
	}
	p++;
	if (strlen(name) != len || strncmp(key, name, len) != 0) {
		/* Another group: still checked to have hosts. */
		p += strspn(p, " \t\r\n,");
		if (*p == '\0') {
			*why = "a group with no hosts";
			return RCP_ERR_INVAL;
		}
		return 0;
	}
	*hosts = NULL;
	*n = 0;
	while ((h = strsep(&p, " \t\r\n,")) != NULL) {
		if (*h == '\0')
			continue;
		*hosts = rcp_xrealloc(*hosts, (*n + 1) * sizeof(**hosts));
		(*hosts)[(*n)++] = rcp_xstrdup(h);
	}
	if (*n == 0) {
		*why = "a group with no hosts";
		return RCP_ERR_INVAL;
	}
	return 1;
}

int
rcp_hostgroups_lookup(const char *file, const char *name, char ***hosts,
    size_t *n, char **cause)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	const char *why = NULL;
	ssize_t got;
	FILE *f;
	int r = 0, e;

	*hosts = NULL;
	*n = 0;
	if (file == NULL || name[0] == '\0')
		return 0;
	if ((f = fopen(file, "re")) == NULL) {
		e = errno;
		*cause = rcp_xasprintf("host groups '%s': %s", file,
		    strerror(e));
		return -e;
	}
	while (r == 0 && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got > LINE_MAX_LEN) {
			why = "a line too long";
			r = RCP_ERR_INVAL;
			break;
		}
		r = parse_line(line, name, hosts, n, &why);
	}
	free(line);
	fclose(f);
	if (r < 0) {
		rcp_strv_free(*hosts, *n);
		*hosts = NULL;
		*n = 0;
		*cause = rcp_xasprintf("host groups '%s', line %zu: %s", file,
		    lineno, why);
	}
	return r;
}
