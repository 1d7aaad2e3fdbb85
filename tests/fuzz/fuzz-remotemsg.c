/*
 * fuzz-remotemsg.c: the bodies of the agents' messages that have a decoder
 * of their own: a stat on the wire (remote/srcwire.c), a copy's options
 * and its counters (remote/copywire.c), an agent's HELLO
 * (remote/agentmsg.c).  The first byte of the input picks the decoder,
 * the rest is the body.  What decodes must encode back to what decodes
 * the same.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agentmsg.h"
#include "remote/copywire.h"
#include "remote/srcwire.h"
#include "fuzz.h"

static void
do_stat(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_buf b = RCP_BUF_INIT;
	struct stat st, again;

	rcp_wire_cursor_init(&c, p, n);
	while (rcp_srcwire_get_stat(&c, &st) == 0) {
		rcp_buf_reset(&b);
		rcp_srcwire_put_stat(&b, &st);
		struct rcp_wire_cursor c2;
		rcp_wire_cursor_init(&c2, b.data, b.len);
		if (rcp_srcwire_get_stat(&c2, &again) != 0 || c2.left != 0 ||
		    again.st_mode != st.st_mode ||
		    again.st_size != st.st_size ||
		    again.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
			abort();
	}
	rcp_buf_release(&b);
}

static void
do_opts(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_copy_opts o, o2;
	struct rcp_filter *f = NULL, *f2 = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL, *m = NULL, *m2 = NULL;

	rcp_wire_cursor_init(&c, p, n);
	if (rcp_copywire_get_opts(&c, &o, &f, &m, &cause) != 0) {
		free(cause);
		return;
	}
	rcp_copywire_put_opts(&b, &o, f);
	rcp_wire_cursor_init(&c, b.data, b.len);
	if (rcp_copywire_get_opts(&c, &o2, &f2, &m2, &cause) != 0 ||
	    o2.max_workers != o.max_workers || o2.dry_run != o.dry_run ||
	    o2.chunk_size != o.chunk_size || (f == NULL) != (f2 == NULL) ||
	    o2.verify != o.verify || (o.manifest == NULL) !=
	    (o2.manifest == NULL) || (o.manifest != NULL &&
	    strcmp(o.manifest, o2.manifest) != 0))
		abort();
	free(m);
	free(m2);
	rcp_filter_free(f);
	rcp_filter_free(f2);
	rcp_buf_release(&b);
}

static void
do_stats(const uint8_t *p, size_t n)
{
	struct rcp_wire_cursor c;
	struct rcp_copy_stats s;

	rcp_wire_cursor_init(&c, p, n);
	(void)rcp_copywire_get_stats(&c, &s);
}

static void
do_hello(uint8_t *p, size_t n)
{
	static const uint8_t token[RCP_TOKEN_LEN] = "0123456789abcdef0123456789abcde";
	struct rcp_wire_frame f = { RCP_MSG_HELLO, 1, (uint32_t)n, p };
	char *cause = NULL;
	int role;

	if (rcp_agentmsg_check_hello(&f, token, &role, &cause) != 0)
		free(cause);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *body;

	if (size < 1)
		return 0;
	/* A copy: the decoders get exactly the body, no byte more. */
	body = malloc(size - 1 > 0 ? size - 1 : 1);
	memcpy(body, data + 1, size - 1);
	switch (data[0] % 4) {
	case 0:
		do_stat(body, size - 1);
		break;
	case 1:
		do_opts(body, size - 1);
		break;
	case 2:
		do_stats(body, size - 1);
		break;
	default:
		do_hello(body, size - 1);
		break;
	}
	free(body);
	return 0;
}
