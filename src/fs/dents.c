/* dents.c: a getdents64 iterator (see dents.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>

#include "base/util.h"
#include "fs/dents.h"

#include "base/banned.h"

/* One getdents64 call's worth: some hundreds of entries. */
#define DENTS_BUFSZ (64u << 10)

void
rcp_dents_init(struct rcp_dents *d, int fd)
{
	d->fd = fd;
	d->buf = rcp_xmalloc(DENTS_BUFSZ);
	d->len = d->pos = 0;
}

static inline int
is_dot(const char *n)
{
	return n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'));
}

int
rcp_dents_next(struct rcp_dents *d, struct rcp_dent *e)
{
	const struct dirent64 *de;
	ssize_t n;

	for (;;) {
		if (d->pos >= d->len) {
			if ((n = getdents64(d->fd, d->buf, DENTS_BUFSZ)) < 0)
				return -errno;
			if (n == 0)
				return 0;
			d->len = (long)n;
			d->pos = 0;
		}
		de = (const struct dirent64 *)(d->buf + d->pos);
		d->pos += de->d_reclen;
		if (is_dot(de->d_name))
			continue;
		e->name = de->d_name;
		e->ino = de->d_ino;
		e->off = de->d_off;
		e->type = de->d_type;
		return 1;
	}
}

void
rcp_dents_release(struct rcp_dents *d)
{
	free(d->buf);
	d->buf = NULL;
	d->len = d->pos = 0;
}
