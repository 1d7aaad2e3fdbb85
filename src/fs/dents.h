/*
 * dents.h: reads a directory with getdents64, one entry at a time, from one
 * buffer per listing: no allocation per entry, for listers that see millions.
 */
#ifndef RCP_DENTS_H
#define RCP_DENTS_H

#include <stdint.h>

/* A listing in progress; the caller embeds it. */
struct rcp_dents {
	int	 fd;		/* the directory, owned by the caller */
	char	*buf;
	long	 len;		/* bytes the last getdents64 returned */
	long	 pos;		/* the next entry in buf */
};

/* One entry; name points into the listing's buffer (see rcp_dents_next). */
struct rcp_dent {
	const char	*name;
	uint64_t	 ino;
	int64_t		 off;	/* d_off: lseek here to go on after this one */
	unsigned char	 type;	/* DT_*, DT_UNKNOWN if the fs does not say */
};

/*
 * Starts listing the open directory fd from its current offset; fd stays the
 * caller's, to close after rcp_dents_release.  Allocates the buffer (aborts
 * on OOM).
 */
void rcp_dents_init(struct rcp_dents *d, int fd);
/*
 * The next entry, "." and ".." skipped, into *e: e->name stays valid until
 * the next call or rcp_dents_release.  Returns 1 for an entry, 0 at the end,
 * or -errno of the getdents64 that failed.  A caller that lseeks fd must not
 * call it again (the buffer still holds entries from before the seek).
 */
int rcp_dents_next(struct rcp_dents *d, struct rcp_dent *e);
/* Frees the buffer; fd is not closed. */
void rcp_dents_release(struct rcp_dents *d);

#endif
