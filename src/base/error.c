/*
 * error.c: descriptions of the error codes, and their encoding on the
 * wire: errno values and rcp's own codes kept apart (see error.h).
 */
#include <string.h>

#include "base/error.h"

#include "base/banned.h"

/* rcp's own descriptions, by wire number (RCP_ERR_BASE - code). */
static const char *const descs[] = {
	[RCP_ERR_BASE - RCP_ERR_INTERNAL] = "internal error",
	[RCP_ERR_BASE - RCP_ERR_NOMEM] = "out of memory",
	[RCP_ERR_BASE - RCP_ERR_INVAL] = "invalid argument",
	[RCP_ERR_BASE - RCP_ERR_IO] = "input/output error",
	[RCP_ERR_BASE - RCP_ERR_EXISTS] = "already exists",
	[RCP_ERR_BASE - RCP_ERR_NOTFOUND] = "not found",
	[RCP_ERR_BASE - RCP_ERR_CANCELED] = "canceled",
	[RCP_ERR_BASE - RCP_ERR_PROTO] = "protocol error",
	[RCP_ERR_BASE - RCP_ERR_TOOBIG] = "too big",
	[RCP_ERR_BASE - RCP_ERR_PARTIAL] = "some entries failed",
	[RCP_ERR_BASE - RCP_ERR_TIMEOUT] = "timed out",
	[RCP_ERR_BASE - RCP_ERR_AUTH] = "authentication failed",
	[RCP_ERR_BASE - RCP_ERR_VERSION] = "protocol version mismatch",
	[RCP_ERR_BASE - RCP_ERR_DIFFERENT] = "differences found",
	[RCP_ERR_BASE - RCP_ERR_GONE] = "the connection to the peer is lost",
};

_Static_assert(RCP_ERR_BASE + RCP_ERRNO_MAX < 0,
    "rcp's codes must lie below every -errno");
_Static_assert(sizeof(descs) / sizeof(descs[0]) ==
    (unsigned)(RCP_ERR_BASE - RCP_ERR_LAST + 1),
    "every RCP_ERR_* needs a description");

bool
rcp_err_is_errno(int err)
{
	return err < 0 && err >= -RCP_ERRNO_MAX;
}

bool
rcp_err_is_rcp(int err)
{
	return err < RCP_ERR_BASE && err >= RCP_ERR_LAST;
}

int
rcp_err_from_errno(int e)
{
	return e > 0 && e <= RCP_ERRNO_MAX ? -e : RCP_ERR_INTERNAL;
}

int
rcp_err_errno(int err)
{
	return rcp_err_is_errno(err) ? -err : 0;
}

const char *
rcp_strerror(int err)
{
	if (err == RCP_OK)
		return "success";
	if (rcp_err_is_rcp(err))
		return descs[RCP_ERR_BASE - err];
	if (rcp_err_is_errno(err))
		return strerror(-err);
	return "unknown error";
}

int32_t
rcp_err_to_wire(int err)
{
	if (err == RCP_OK)
		return 0;
	if (rcp_err_is_errno(err))
		return -err;
	if (rcp_err_is_rcp(err))
		return err - RCP_ERR_BASE;
	return RCP_ERR_INTERNAL - RCP_ERR_BASE;
}

int
rcp_err_from_wire(int32_t w)
{
	if (w == 0)
		return RCP_OK;
	if (w > 0 && w <= RCP_ERRNO_MAX)
		return -(int)w;
	if (w < 0 && w >= RCP_ERR_LAST - RCP_ERR_BASE)
		return RCP_ERR_BASE + (int)w;
	return RCP_ERR_PROTO;
}
