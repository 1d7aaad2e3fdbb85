/*
 * test_error.c: the error codes: rcp's own and -errno values never overlap,
 * rcp_strerror describes both, and every code survives the wire encoding
 * (with the numbers version 1 used for ours); the source client's reading
 * of an SRC_ERR, and the control layer's names for our codes.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "control/ctlproto.h"
#include "remote/srcclient.h"
#include "unit.h"

#include "base/banned.h"

static void
test_ranges(void)
{
	int c, e;

	for (c = RCP_ERR_INTERNAL; c >= RCP_ERR_LAST; c--) {
		CU_ASSERT_TRUE(rcp_err_is_rcp(c));
		CU_ASSERT_FALSE(rcp_err_is_errno(c));
		CU_ASSERT_EQUAL(rcp_err_errno(c), 0);
		CU_ASSERT_TRUE(c < -RCP_ERRNO_MAX);
	}
	for (e = 1; e <= RCP_ERRNO_MAX; e++) {
		CU_ASSERT_TRUE(rcp_err_is_errno(-e));
		CU_ASSERT_FALSE(rcp_err_is_rcp(-e));
		CU_ASSERT_EQUAL(rcp_err_from_errno(e), -e);
		CU_ASSERT_EQUAL(rcp_err_errno(-e), e);
	}
	/* The collisions this range ends. */
	CU_ASSERT_NOT_EQUAL(RCP_ERR_NOMEM, -ENOENT);
	CU_ASSERT_NOT_EQUAL(RCP_ERR_IO, -EINTR);
	CU_ASSERT_NOT_EQUAL(RCP_ERR_IO, -EIO);
	CU_ASSERT_NOT_EQUAL(RCP_ERR_PROTO, -ENOEXEC);
	CU_ASSERT_FALSE(rcp_err_is_rcp(RCP_OK));
	CU_ASSERT_FALSE(rcp_err_is_errno(RCP_OK));
	CU_ASSERT_FALSE(rcp_err_is_errno(5));
	CU_ASSERT_FALSE(rcp_err_is_rcp(RCP_ERR_BASE));
	CU_ASSERT_FALSE(rcp_err_is_rcp(RCP_ERR_LAST - 1));
	/* No errno, or a bogus one, is a bug of ours, not success. */
	CU_ASSERT_EQUAL(rcp_err_from_errno(0), RCP_ERR_INTERNAL);
	CU_ASSERT_EQUAL(rcp_err_from_errno(-5), RCP_ERR_INTERNAL);
	CU_ASSERT_EQUAL(rcp_err_from_errno(RCP_ERRNO_MAX + 1),
	    RCP_ERR_INTERNAL);
}

static void
test_strerror(void)
{
	int c, d;

	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_OK), "success");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_NOMEM), "out of memory");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_IO), "input/output error");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_GONE),
	    "the connection to the peer is lost");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(-ENOENT), strerror(ENOENT));
	CU_ASSERT_STRING_EQUAL(rcp_strerror(-EIO), strerror(EIO));
	CU_ASSERT_STRING_EQUAL(rcp_strerror(-EACCES), "Permission denied");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_BASE), "unknown error");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(RCP_ERR_LAST - 1), "unknown error");
	CU_ASSERT_STRING_EQUAL(rcp_strerror(7), "unknown error");
	/* Each of ours has its own words, none an errno's. */
	for (c = RCP_ERR_INTERNAL; c >= RCP_ERR_LAST; c--) {
		CU_ASSERT_STRING_NOT_EQUAL(rcp_strerror(c), "unknown error");
		for (d = c - 1; d >= RCP_ERR_LAST; d--)
			CU_ASSERT_STRING_NOT_EQUAL(rcp_strerror(c),
			    rcp_strerror(d));
	}
	CU_ASSERT_STRING_NOT_EQUAL(rcp_strerror(RCP_ERR_GONE),
	    rcp_strerror(-EIO));
}

static void
test_wire(void)
{
	int c, e;

	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_OK), 0);
	CU_ASSERT_EQUAL(rcp_err_from_wire(0), RCP_OK);
	/* The numbers of version 1: ours negative, as they were. */
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_INTERNAL), -1);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_NOMEM), -2);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_PROTO), -8);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_PARTIAL), -10);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_DIFFERENT), -14);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_GONE), -15);
	CU_ASSERT_EQUAL(rcp_err_from_wire(-10), RCP_ERR_PARTIAL);
	/* An errno is its positive value, as SRC_ERR always carried it. */
	CU_ASSERT_EQUAL(rcp_err_to_wire(-EIO), EIO);
	CU_ASSERT_EQUAL(rcp_err_from_wire(EIO), -EIO);
	CU_ASSERT_EQUAL(rcp_err_from_wire(ENOENT), -ENOENT);
	for (c = RCP_ERR_INTERNAL; c >= RCP_ERR_LAST; c--) {
		CU_ASSERT_TRUE(rcp_err_to_wire(c) < 0);
		CU_ASSERT_EQUAL(rcp_err_from_wire(rcp_err_to_wire(c)), c);
	}
	for (e = 1; e <= RCP_ERRNO_MAX; e++) {
		CU_ASSERT_EQUAL(rcp_err_to_wire(-e), e);
		CU_ASSERT_EQUAL(rcp_err_from_wire(rcp_err_to_wire(-e)), -e);
	}
	/* What no code has is a protocol error, never an errno or success. */
	CU_ASSERT_EQUAL(rcp_err_from_wire(-16), RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_err_from_wire(RCP_ERRNO_MAX + 1), RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_err_from_wire(INT32_MIN), RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_err_from_wire(INT32_MAX), RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_err_from_wire((int32_t)UINT32_C(0xfffffff0)),
	    RCP_ERR_PROTO);
	/* A code that is neither goes as internal, not as garbage. */
	CU_ASSERT_EQUAL(rcp_err_to_wire(5), -1);
	CU_ASSERT_EQUAL(rcp_err_to_wire(RCP_ERR_BASE), -1);
	CU_ASSERT_EQUAL(rcp_err_to_wire(-4500), -1);
}

/* The destination's reading of an SRC_ERR code from the source agent. */
static void
test_srcclient_err(void)
{
	CU_ASSERT_EQUAL(rcp_srcclient_err(EIO), -EIO);
	CU_ASSERT_EQUAL(rcp_srcclient_err(ENOENT), -ENOENT);
	CU_ASSERT_EQUAL(rcp_srcclient_err(EACCES), -EACCES);
	CU_ASSERT_EQUAL(rcp_srcclient_err(rcp_err_to_wire(RCP_ERR_TOOBIG)),
	    RCP_ERR_TOOBIG);
	/* Only the client's own connection may say the agent is gone. */
	CU_ASSERT_EQUAL(rcp_srcclient_err(rcp_err_to_wire(RCP_ERR_GONE)),
	    RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_srcclient_err(0), RCP_ERR_PROTO);
	CU_ASSERT_EQUAL(rcp_srcclient_err(70000), RCP_ERR_PROTO);
}

static void
test_ctl_names(void)
{
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(RCP_CTL_E_NOT_FOUND),
	    "not_found");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(RCP_ERR_INVAL),
	    "invalid_argument");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(RCP_ERR_TIMEOUT), "timeout");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(-EACCES), "permission_denied");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(RCP_ERR_NOMEM), "internal");
	CU_ASSERT_STRING_EQUAL(rcp_ctl_err_name(0), "internal");
	CU_ASSERT_EQUAL(rcp_ctl_err_from(RCP_ERR_NOTFOUND),
	    RCP_CTL_E_NOT_FOUND);
}

void
test_error_register(void)
{
	static const struct unit_test tests[] = {
		{ "ranges", test_ranges },
		{ "strerror", test_strerror },
		{ "wire", test_wire },
		{ "srcclient_err", test_srcclient_err },
		{ "ctl_names", test_ctl_names },
		{ NULL, NULL }
	};

	unit_add_suite("error", tests);
}
