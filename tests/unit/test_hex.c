/* test_hex.c: hex encoding and strict decoding. */
#include <string.h>

#include "base/error.h"
#include "base/hex.h"
#include "unit.h"

#include "base/banned.h"

static void
test_encode(void)
{
	static const unsigned char b[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[2 * sizeof(b) + 1];

	memset(out, 'x', sizeof(out));
	rcp_hex_encode(b, sizeof(b), out);
	CU_ASSERT_STRING_EQUAL(out, "00017f80abff");
	rcp_hex_encode(b, 0, out);
	CU_ASSERT_STRING_EQUAL(out, "");
}

static void
test_decode(void)
{
	unsigned char b[4], back[4];
	char hex[9];

	CU_ASSERT_EQUAL(rcp_hex_decode("00a1FFc3", b, 4), 0);
	CU_ASSERT_EQUAL(b[0], 0x00);
	CU_ASSERT_EQUAL(b[1], 0xa1);
	CU_ASSERT_EQUAL(b[2], 0xff);
	CU_ASSERT_EQUAL(b[3], 0xc3);
	rcp_hex_encode(b, 4, hex);
	CU_ASSERT_EQUAL(rcp_hex_decode(hex, back, 4), 0);
	CU_ASSERT(memcmp(b, back, 4) == 0);
	CU_ASSERT_EQUAL(rcp_hex_decode("", b, 0), 0);
}

static void
test_decode_strict(void)
{
	unsigned char b[2];

	/* The length is exact. */
	CU_ASSERT_EQUAL(rcp_hex_decode("abc", b, 2), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_hex_decode("abcdef", b, 2), RCP_ERR_INVAL);
	/* Only digits: what sscanf("%2x") let through is refused. */
	CU_ASSERT_EQUAL(rcp_hex_decode("ab-1", b, 2), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_hex_decode("ab+1", b, 2), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_hex_decode("ab 1", b, 2), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_hex_decode("0x12", b, 2), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_hex_decode("abgh", b, 2), RCP_ERR_INVAL);
}

void
test_hex_register(void)
{
	static const struct unit_test tests[] = {
		{ "encode", test_encode },
		{ "decode", test_decode },
		{ "decode_strict", test_decode_strict },
		{ NULL, NULL }
	};

	unit_add_suite("hex", tests);
}
