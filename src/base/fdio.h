/*
 * fdio.h: the one loop that writes a whole buffer to a file descriptor, for
 * every module that needs all of its bytes out or an error.
 */
#ifndef RCP_FDIO_H
#define RCP_FDIO_H

#include <stddef.h>

/*
 * Writes all len bytes of buf to fd.  A write interrupted by a signal is
 * retried; on a non-blocking fd, EAGAIN waits in poll until fd is writable,
 * so the call behaves as on a blocking one.  Returns 0, or -errno of the
 * write that failed (-EIO if write made no progress); how much was written
 * before a failure is not reported.
 */
int rcp_write_full(int fd, const void *buf, size_t len);

#endif
