/*
 * fuzz-srcserve.c: the source agent's server as a destination drives it
 * (remote/srcserve.c): the input is a stream of request frames, each
 * answered by rcp_srcserve_answer, with the handles of one input shared
 * by its requests (so a LIST or READ can name what a ROOT or an OPEN
 * gave).  The server reads a small tree made in a scratch directory;
 * requests that would leave it (an absolute or "~" ROOT, a "..") are not
 * sent: a real peer may name any path, but a fuzzer must not read the
 * machine's devices.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/error.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/srcserve.h"
#include "fuzz.h"

static char top[64];

static void
put_file(const char *name, size_t size, off_t hole)
{
	char buf[4096];
	int fd;

	memset(buf, 'x', sizeof(buf));
	if ((fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		abort();
	if (hole > 0 && lseek(fd, hole, SEEK_SET) < 0)
		abort();
	while (size > 0) {
		size_t k = size < sizeof(buf) ? size : sizeof(buf);
		if (write(fd, buf, k) != (ssize_t)k)
			abort();
		size -= k;
	}
	close(fd);
}

static void
cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (top[0] != '\0' && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", top);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(top, sizeof(top), "/tmp/rcp-fuzz-srcserve.XXXXXX");
	if (mkdtemp(top) == NULL || chdir(top) != 0)
		abort();
	atexit(cleanup);
	setenv("HOME", top, 1);
	if (mkdir("a", 0755) != 0 || mkdir("a/b", 0755) != 0)
		abort();
	put_file("a/small", 100, 0);
	put_file("a/empty", 0, 0);
	put_file("a/big", 300000, 0);		/* over the prefetch size */
	put_file("a/sparse", 8192, 1 << 20);	/* a hole, then data */
	if (symlink("small", "a/link") != 0 || symlink("b", "a/dirlink") != 0)
		abort();
	/* For XMETA; a scratch file system without xattrs just has none. */
	(void)setxattr("a/small", "user.fuzz", "v", 1, 0);
	return 0;
}

/* Whether f stays in the scratch tree (see the comment at the top). */
static int
inside(const struct rcp_wire_frame *f)
{
	struct rcp_wire_cursor c;
	uint32_t h;
	char *s = NULL;
	int ok = 1;

	rcp_wire_cursor_init(&c, f->body, f->len);
	switch (f->type) {
	case RCP_MSG_SRC_ROOT:
		if (rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) == 0)
			ok = s[0] != '/' && s[0] != '~' &&
			    strstr(s, "..") == NULL;
		break;
	case RCP_MSG_SRC_OPENDIR:
	case RCP_MSG_SRC_STAT:
	case RCP_MSG_SRC_OPEN:
	case RCP_MSG_SRC_READLINK:
		if (rcp_wire_get_u32(&c, &h) == 0 &&
		    rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) == 0)
			ok = strcmp(s, "..") != 0;
		break;
	case RCP_MSG_SRC_XMETA:
		if (rcp_wire_get_u32(&c, &h) == 0 &&
		    rcp_wire_get_u32(&c, &h) == 0 &&
		    rcp_wire_get_str(&c, &s, RCP_PROTO_MAX_NAME) == 0)
			ok = strcmp(s, "..") != 0;
		break;
	}
	free(s);
	return ok;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcp_srcserve *s;
	struct rcp_wire_reader r;
	struct rcp_wire_frame f;
	struct rcp_buf out = RCP_BUF_INIT;
	size_t used = 0;
	int nreq = 0;
	long k;

	if (top[0] == '\0')
		LLVMFuzzerInitialize(NULL, NULL);
	s = rcp_srcserve_new(0, NULL, NULL);
	rcp_wire_reader_init(&r, RCP_PROTO_MAX_FRAME);
	while (used < size && nreq < 64) {
		if ((k = rcp_wire_reader_feed(&r, data + used, size - used,
		    &f)) < 0)
			break;
		used += (size_t)k;
		if (f.body == NULL)
			continue;
		nreq++;
		if (inside(&f)) {
			rcp_buf_reset(&out);
			(void)rcp_srcserve_answer(s, &f, &out);
		}
		rcp_wire_frame_release(&f);
	}
	rcp_wire_reader_release(&r);
	rcp_buf_release(&out);
	rcp_srcserve_free(s);
	return 0;
}
