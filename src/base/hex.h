/* hex.h: bytes to lowercase hex digits and back (fingerprints, tokens). */
#ifndef RCP_HEX_H
#define RCP_HEX_H

#include <stddef.h>

/* Writes the 2 * n lowercase hex digits of p and a NUL into out (2 * n + 1). */
void rcp_hex_encode(const void *p, size_t n, char *out);
/*
 * Parses hex, which must be exactly 2 * n digits (either case, nothing else),
 * into the n bytes at out.  Returns 0, or RCP_ERR_INVAL with out undefined.
 */
int rcp_hex_decode(const char *hex, void *out, size_t n);

#endif
