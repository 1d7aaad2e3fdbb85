/* hex.c: hex encoding (see hex.h). */
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "base/hex.h"

#include "base/banned.h"

void
rcp_hex_encode(const void *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
rcp_hex_decode(const char *hex, void *out, size_t n)
{
	uint8_t *b = out;
	size_t i;
	int hi, lo;

	if (strlen(hex) != 2 * n)
		return RCP_ERR_INVAL;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(hex[2 * i])) < 0 ||
		    (lo = hexval(hex[2 * i + 1])) < 0)
			return RCP_ERR_INVAL;
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}
