/*
 * fuzz-agentline.c: the lines of an agent's SSH channel
 * (remote/agentline.c): each line of the input is read as rcpd's first
 * line (as the master reads it), as the master's secrets (as rcpd reads
 * them) and as a line of rcpd's stderr.  A start-up line that parses must
 * write back to one that parses the same.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "net/udp.h"
#include "remote/agentline.h"
#include "fuzz.h"

static void
hello(const char *line)
{
	struct rcp_agentline_hello h, h2;
	char *again;
	int r, r2;

	r = rcp_agentline_get_hello(line, &h);
	if (r != 0 && r != RCP_ERR_VERSION)
		return;
	again = rcp_agentline_put_hello(&h);
	again[strcspn(again, "\n")] = '\0';	/* read without its newline */
	r2 = rcp_agentline_get_hello(again, &h2);
	if (r2 != r || h.proto != h2.proto ||
	    strcmp(h.version, h2.version) != 0 || h.pid != h2.pid ||
	    strcmp(h.start, h2.start) != 0 ||
	    (r == 0 && memcmp(h.fp, h2.fp, sizeof(h.fp)) != 0))
		abort();
	free(again);
}

static void
secrets(const char *line)
{
	struct rcp_agentline_secrets s, s2;
	char *addr, *again;

	if (rcp_agentline_get_secrets(line, &s) != 0)
		return;
	addr = rcp_udp_addr_str((const struct sockaddr *)&s.addr);
	again = rcp_agentline_put_secrets(addr, s.fp, s.token);
	again[strcspn(again, "\n")] = '\0';
	if (rcp_agentline_get_secrets(again, &s2) != 0 || s.alen != s2.alen ||
	    memcmp(&s.addr, &s2.addr, sizeof(s.addr)) != 0 ||
	    memcmp(s.fp, s2.fp, sizeof(s.fp)) != 0 ||
	    memcmp(s.token, s2.token, sizeof(s.token)) != 0)
		abort();
	free(again);
	free(addr);
}

static void
stderr_line(const char *line)
{
	const char *said = rcp_agentline_said(line);
	int level = rcp_agentline_level(line);

	if (said < line || said > line + strlen(line) ||
	    level < RCP_LOG_ERROR || level > RCP_LOG_TRACE)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *nl;
	char *line;

	/* Lines as the readers return them: without the newline. */
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		line = rcp_xstrndup((const char *)p,
		    (size_t)((nl != NULL ? nl : end) - p));
		hello(line);
		secrets(line);
		stderr_line(line);
		free(line);
		p = nl != NULL ? nl + 1 : end;
	}
	return 0;
}
