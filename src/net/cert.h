/*
 * cert.h: the ephemeral identities of rcp's QUIC endpoints: an ECDSA P-256
 * key and a self-signed certificate made at start-up, known to peers only
 * by the SHA-256 fingerprint of the certificate, which travels over SSH.
 */
#ifndef RCP_CERT_H
#define RCP_CERT_H

#include <stdint.h>

#include <gnutls/gnutls.h>

#define RCP_CERT_FP_LEN 32
#define RCP_CERT_FP_HEXLEN (2 * RCP_CERT_FP_LEN)

struct rcp_cert;

/* Makes a new ECDSA P-256 key and self-signed certificate.  0 or error. */
int rcp_cert_new(struct rcp_cert **out, char **cause);
void rcp_cert_free(struct rcp_cert *c);
/* The SHA-256 fingerprint of the certificate (RCP_CERT_FP_LEN bytes). */
const uint8_t *rcp_cert_fp(const struct rcp_cert *c);
/* Writes fp as lowercase hex and a NUL into out. */
void rcp_cert_fp_hex(const uint8_t *fp, char out[RCP_CERT_FP_HEXLEN + 1]);
/* Parses 64 hex digits.  0 or RCP_ERR_INVAL. */
int rcp_cert_fp_parse(const char *hex, uint8_t fp[RCP_CERT_FP_LEN]);

/* Installs the certificate and key into TLS credentials.  0 or error. */
int rcp_cert_set_credentials(const struct rcp_cert *c,
    gnutls_certificate_credentials_t cred, char **cause);

#endif
