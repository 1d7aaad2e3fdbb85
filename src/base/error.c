/* error.c: descriptions of the RCP_ERR_* codes. */
#include "base/error.h"

#include "base/banned.h"

const char *
rcp_strerror(int err)
{
	switch (err) {
	case RCP_OK:
		return "success";
	case RCP_ERR_INTERNAL:
		return "internal error";
	case RCP_ERR_NOMEM:
		return "out of memory";
	case RCP_ERR_INVAL:
		return "invalid argument";
	case RCP_ERR_IO:
		return "input/output error";
	case RCP_ERR_EXISTS:
		return "already exists";
	case RCP_ERR_NOTFOUND:
		return "not found";
	case RCP_ERR_CANCELED:
		return "canceled";
	case RCP_ERR_PROTO:
		return "protocol error";
	case RCP_ERR_TOOBIG:
		return "too big";
	case RCP_ERR_PARTIAL:
		return "some entries failed";
	case RCP_ERR_TIMEOUT:
		return "timed out";
	case RCP_ERR_AUTH:
		return "authentication failed";
	case RCP_ERR_VERSION:
		return "protocol version mismatch";
	case RCP_ERR_DIFFERENT:
		return "differences found";
	}
	return "unknown error";
}
