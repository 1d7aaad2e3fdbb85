/*
 * error.h: the error codes shared by every rcp module.  Functions return 0 or
 * a negative RCP_ERR_*; the user-facing detail travels through a char **cause.
 */
#ifndef RCP_ERROR_H
#define RCP_ERROR_H

enum {
	RCP_OK = 0,
	RCP_ERR_INTERNAL = -1,	/* a bug of ours */
	RCP_ERR_NOMEM = -2,
	RCP_ERR_INVAL = -3,	/* bad option, argument or input */
	RCP_ERR_IO = -4,	/* a system call failed */
	RCP_ERR_EXISTS = -5,
	RCP_ERR_NOTFOUND = -6,
	RCP_ERR_CANCELED = -7,
	RCP_ERR_PROTO = -8,	/* malformed message from a peer */
	RCP_ERR_TOOBIG = -9,	/* a size over its cap */
	RCP_ERR_PARTIAL = -10,	/* finished, but some entries failed */
	RCP_ERR_TIMEOUT = -11,
	RCP_ERR_AUTH = -12,	/* authentication or pinning failed */
	RCP_ERR_VERSION = -13,	/* protocol versions differ */
	RCP_ERR_DIFFERENT = -14	/* a comparison found differences */
};

/* Returns a static, lowercase description of err (never NULL). */
const char *rcp_strerror(int err);

#endif
