/*
 * agentline.c: the start-up lines of an agent's SSH channel, and the
 * stderr lines of rcpd.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "base/error.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/util.h"
#include "net/udp.h"
#include "remote/agentline.h"

#include "base/banned.h"

char *
rcp_agentline_put_hello(const struct rcp_agentline_hello *h)
{
	char hex[RCP_CERT_FP_HEXLEN + 1];

	rcp_cert_fp_hex(h->fp, hex);
	return rcp_xasprintf("%s proto=%u version=%s fp=%s pid=%ld start=%s\n",
	    RCP_AGENT_HELLO_TAG, h->proto, h->version, hex, h->pid, h->start);
}

int
rcp_agentline_get_hello(const char *line, struct rcp_agentline_hello *h)
{
	/* One more than a fingerprint: a longer one does not parse. */
	char hex[RCP_CERT_FP_HEXLEN + 2];
	const char *p;

	memset(h, 0, sizeof(*h));
	if (sscanf(line, RCP_AGENT_HELLO_TAG " proto=%u version=%63s fp=%65s",
	    &h->proto, h->version, hex) != 3)
		return RCP_ERR_PROTO;
	/* Since 0.2: which process it is, to kill it if it stops answering. */
	if ((p = strstr(line, " pid=")) == NULL ||
	    sscanf(p, " pid=%ld start=%31[0-9]", &h->pid, h->start) != 2 ||
	    h->pid <= 1) {
		h->pid = 0;
		h->start[0] = '\0';
	}
	if (h->proto != RCP_PROTO_VERSION)
		return RCP_ERR_VERSION;
	return rcp_cert_fp_parse(hex, h->fp) == 0 ? 0 : RCP_ERR_PROTO;
}

char *
rcp_agentline_put_secrets(const char *addr, const uint8_t *fp,
    const uint8_t *token)
{
	char hex[RCP_CERT_FP_HEXLEN + 1], tok[2 * RCP_TOKEN_LEN + 1], *line;

	rcp_cert_fp_hex(fp, hex);
	rcp_hex_encode(token, RCP_TOKEN_LEN, tok);
	line = rcp_xasprintf("%s master=%s fp=%s token=%s\n",
	    RCP_AGENT_SECRETS_TAG, addr, hex, tok);
	gnutls_memset(tok, 0, sizeof(tok));
	return line;
}

/*
 * One word of the secrets line into *s, if it is one we know and it
 * parses: a bad word must not spoil what a good one of the same name gave
 * (the parsers write their output before they find it bad).  Returns the
 * bit of what it set, or 0.
 */
static int
secret_word(const char *w, struct rcp_agentline_secrets *s)
{
	struct sockaddr_storage ss;
	uint8_t buf[RCP_TOKEN_LEN > RCP_CERT_FP_LEN ? RCP_TOKEN_LEN :
	    RCP_CERT_FP_LEN];
	socklen_t len;
	int bit = 0;

	if (strncmp(w, "master=", 7) == 0 &&
	    rcp_udp_addr_parse(w + 7, &ss, &len) == 0) {
		s->addr = ss;
		s->alen = len;
		bit = 1;
	} else if (strncmp(w, "fp=", 3) == 0 &&
	    rcp_cert_fp_parse(w + 3, buf) == 0) {
		memcpy(s->fp, buf, RCP_CERT_FP_LEN);
		bit = 2;
	} else if (strncmp(w, "token=", 6) == 0 &&
	    rcp_hex_decode(w + 6, buf, RCP_TOKEN_LEN) == 0) {
		memcpy(s->token, buf, RCP_TOKEN_LEN);
		bit = 4;
	}
	/* Unknown words are for newer agents: ignored. */
	gnutls_memset(buf, 0, sizeof(buf));
	return bit;
}

int
rcp_agentline_get_secrets(const char *line, struct rcp_agentline_secrets *s)
{
	char *copy = rcp_xstrdup(line), *save = NULL, *w;
	int have = 0;

	memset(s, 0, sizeof(*s));
	w = strtok_r(copy, " ", &save);
	if (w != NULL && strcmp(w, RCP_AGENT_SECRETS_TAG) == 0)
		while ((w = strtok_r(NULL, " ", &save)) != NULL)
			have |= secret_word(w, s);
	/* It held the token. */
	gnutls_memset(copy, 0, strlen(line));
	free(copy);
	return have == 7 ? 0 : RCP_ERR_PROTO;
}

int
rcp_agentline_level(const char *line)
{
	static const struct {
		const char	*word;
		int		 level;
	} levels[] = {
		{ ": debug: ", RCP_LOG_DEBUG }, { ": trace: ", RCP_LOG_TRACE },
		{ ": info: ", RCP_LOG_INFO }, { ": error: ", RCP_LOG_ERROR },
	};
	const char *p;
	size_t i;

	if (strncmp(line, "rcpd (", 6) != 0 || (p = strchr(line, ')')) == NULL)
		return RCP_LOG_WARN;
	for (i = 0; i < RCP_ARRAY_SIZE(levels); i++)
		if (strncmp(p + 1, levels[i].word, strlen(levels[i].word)) == 0)
			return levels[i].level;
	return RCP_LOG_WARN;
}

const char *
rcp_agentline_said(const char *line)
{
	const char *p;

	if (strncmp(line, "rcpd (", 6) != 0 || (p = strstr(line, "): ")) == NULL)
		return line;
	return p + 3;
}
