/*
 * fuzz-srcclient.c: the destination's reading of the source agent's
 * replies (remote/srcclient.c, with the stat and listing codec of
 * remote/srcwire.c).  The input is the stream of reply frames; a fixed
 * walk through rcp_srcclient_ops (root, list with inline files, stat,
 * open, copy into a memfd, changed, hash, xmeta, copy_checked, readlink,
 * opendir, close)
 * takes one reply per request, in order, until they run out.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/fsops.h"
#include "fs/srcfs.h"
#include "fs/xmeta.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "remote/srcclient.h"
#include "fuzz.h"

#define MAX_NAMES 8

struct feed {
	struct rcp_wire_reader	 r;
	const uint8_t		*data;
	size_t			 size, used;
	char			*names[MAX_NAMES];
	int			 nnames;
};

static struct rcp_quic_msg *
answer(void *arg, uint16_t type, const void *body, size_t len)
{
	struct feed *fd = arg;
	struct rcp_quic_msg *m;
	struct rcp_wire_frame f;
	long k;

	if (type == RCP_MSG_SRC_CLOSE)
		return NULL;	/* one-way: takes no reply */
	while (fd->used < fd->size) {
		if ((k = rcp_wire_reader_feed(&fd->r, fd->data + fd->used,
		    fd->size - fd->used, &f)) < 0)
			break;
		fd->used += (size_t)k;
		if (f.body != NULL) {
			m = rcp_xcalloc(1, sizeof(*m));
			m->f = f;
			return m;
		}
	}
	fd->used = fd->size;
	return NULL;		/* the source agent is gone */
}

static int
on_entry(void *arg, const char *name, unsigned char dtype)
{
	struct feed *fd = arg;

	if (fd->nnames < MAX_NAMES)
		fd->names[fd->nnames++] = rcp_xstrdup(name);
	return 0;
}

static void
one_file(struct rcp_srcclient *c, int dir, const char *name, int sparse,
    int out)
{
	const struct rcp_src_ops *ops = &rcp_srcclient_ops;
	struct rcp_io io;
	struct stat st;
	const char *what;
	struct rcp_xmeta xm;
	char link[4096], buf[65536];
	uint8_t h[RCP_HASH_LEN];
	off_t len;
	bool checked;
	int fh;

	(void)ops->stat(c, dir, name, sparse, &st);
	if (ops->open(c, dir, name, false, &fh, &st) == 0) {
		memset(&io, 0, sizeof(io));
		io.buf = buf;	/* copy_checked re-reads what it wrote */
		io.bufsz = sizeof(buf);
		len = st.st_size < (4 << 20) ? st.st_size : (4 << 20);
		if (len < 0)
			len = 0;
		(void)ops->copy(c, fh, out, 0, len, sparse, &io, &what);
		(void)ops->changed(c, fh, &st);
		(void)ops->hash(c, fh, 0, len, &io, h);
		(void)ops->xmeta(c, dir, name, fh, RCP_XMETA_ACL |
		    RCP_XMETA_XATTR, &xm);
		rcp_xmeta_release(&xm);
		/* Last: the replies of the walk before keep their order. */
		if (!sparse)
			(void)ops->copy_checked(c, fh, out, 0, len, &io, &what,
			    &checked);
		ops->close(c, fh);
	}
	(void)ops->readlink(c, dir, name, link, sizeof(link));
	(void)ops->xmeta(c, dir, name, -1, RCP_XMETA_XATTR, &xm);
	rcp_xmeta_release(&xm);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct rcp_src_ops *ops = &rcp_srcclient_ops;
	struct rcp_srcclient *c;
	struct feed fd;
	struct stat st;
	char *base = NULL, *cause = NULL;
	int dir, sub, out, i;

	memset(&fd, 0, sizeof(fd));
	fd.data = data;
	fd.size = size;
	rcp_wire_reader_init(&fd.r, RCP_PROTO_MAX_FRAME);
	if ((out = memfd_create("rcp-fuzz-dst", MFD_CLOEXEC)) < 0)
		abort();
	c = rcp_srcclient_new_answered(answer, &fd);
	if (ops->root(c, "/src", false, &dir, &base, &st, &cause) != 0) {
		free(cause);
		goto out;
	}
	(void)ops->list(c, dir, RCP_SRC_LIST_ALL, on_entry, &fd);
	for (i = 0; i < fd.nnames && fd.used < fd.size; i++)
		one_file(c, dir, fd.names[i], i & 1, out);
	if (ops->opendir(c, dir, base, true, &sub) == 0) {
		(void)ops->list(c, sub, 0, on_entry, &fd);
		ops->close(c, sub);
	}
	ops->close(c, dir);
out:
	for (i = 0; i < fd.nnames; i++)
		free(fd.names[i]);
	free(base);
	rcp_srcclient_free(c);
	rcp_wire_reader_release(&fd.r);
	close(out);
	return 0;
}
