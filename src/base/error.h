/*
 * error.h: the error codes shared by every rcp module.  Functions return 0 or
 * a negative error code; the user-facing detail travels through a
 * char **cause.
 *
 * An error code is one of two disjoint kinds, so that neither can be taken
 * for the other:
 *   - a negated errno, -1 .. -RCP_ERRNO_MAX (a system call failed; the
 *     code says which errno), or
 *   - one of rcp's own RCP_ERR_*, all below RCP_ERR_BASE (-5000), far below
 *     any errno the kernel has (Linux keeps them under 4096).
 * rcp_strerror describes both.  A code crosses a process boundary (the
 * agents' wire, a job's report to the master) only through
 * rcp_err_to_wire / rcp_err_from_wire, whose numbers never change.
 */
#ifndef RCP_ERROR_H
#define RCP_ERROR_H

#include <stdbool.h>
#include <stdint.h>

/* The largest errno a code may carry (Linux's MAX_ERRNO). */
#define RCP_ERRNO_MAX	4095

/*
 * rcp's own codes: RCP_ERR_BASE - n, where n is the code's number on the
 * wire (as -n, see rcp_err_to_wire).  Append only; never renumber.
 */
#define RCP_ERR_BASE	(-5000)

enum {
	RCP_OK = 0,
	RCP_ERR_INTERNAL = RCP_ERR_BASE - 1,	/* a bug of ours */
	RCP_ERR_NOMEM = RCP_ERR_BASE - 2,
	RCP_ERR_INVAL = RCP_ERR_BASE - 3,	/* bad option, argument or input */
	RCP_ERR_IO = RCP_ERR_BASE - 4,		/* a system call failed */
	RCP_ERR_EXISTS = RCP_ERR_BASE - 5,
	RCP_ERR_NOTFOUND = RCP_ERR_BASE - 6,
	RCP_ERR_CANCELED = RCP_ERR_BASE - 7,
	RCP_ERR_PROTO = RCP_ERR_BASE - 8,	/* malformed message from a peer */
	RCP_ERR_TOOBIG = RCP_ERR_BASE - 9,	/* a size over its cap */
	RCP_ERR_PARTIAL = RCP_ERR_BASE - 10,	/* finished, but some entries failed */
	RCP_ERR_TIMEOUT = RCP_ERR_BASE - 11,
	RCP_ERR_AUTH = RCP_ERR_BASE - 12,	/* authentication or pinning failed */
	RCP_ERR_VERSION = RCP_ERR_BASE - 13,	/* protocol versions differ */
	RCP_ERR_DIFFERENT = RCP_ERR_BASE - 14,	/* a comparison found differences */
	RCP_ERR_GONE = RCP_ERR_BASE - 15,	/* the peer's connection is lost */
	RCP_ERR_LAST = RCP_ERR_GONE		/* the lowest code; keep last */
};

/*
 * Returns a static, lowercase description of err (never NULL): rcp's own
 * text for an RCP_ERR_*, strerror's for a -errno, "unknown error" else.
 */
const char *rcp_strerror(int err);

/* True if err is a negated errno (-1 .. -RCP_ERRNO_MAX). */
bool rcp_err_is_errno(int err);
/* True if err is one of the RCP_ERR_* (RCP_OK is not). */
bool rcp_err_is_rcp(int err);
/*
 * Returns -e for an errno value e (1 .. RCP_ERRNO_MAX), RCP_ERR_INTERNAL
 * for anything else (0 included: a failed call that left no errno is a bug).
 */
int rcp_err_from_errno(int e);
/* Returns the errno of a -errno code, or 0 if err is not one. */
int rcp_err_errno(int err);

/*
 * The wire encoding of a code (an i32 on every rcp wire, see
 * doc/protocol.md): 0 for success, the positive errno for a -errno, -n for
 * RCP_ERR_BASE - n.  Anything else (a code that is neither) goes as the
 * wire number of RCP_ERR_INTERNAL.
 */
int32_t rcp_err_to_wire(int err);
/*
 * The code of a wire number from a peer: exact for every value
 * rcp_err_to_wire makes; RCP_ERR_PROTO for a value no code has (a newer
 * peer's code, or garbage).
 */
int rcp_err_from_wire(int32_t w);

#endif
