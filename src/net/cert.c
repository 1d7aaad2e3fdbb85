/* cert.c: ephemeral self-signed certificates and their fingerprints. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base/error.h"
#include "base/hex.h"
#include "base/util.h"
#include "net/cert.h"

#include "base/banned.h"

struct rcp_cert {
	gnutls_x509_crt_t	 crt;
	gnutls_x509_privkey_t	 key;
	uint8_t			 fp[RCP_CERT_FP_LEN];
};

int
rcp_cert_new(struct rcp_cert **out, char **cause)
{
	struct rcp_cert *c = rcp_xcalloc(1, sizeof(*c));
	uint8_t serial[16];
	size_t n = sizeof(c->fp);
	time_t now = time(NULL);
	int r;

	if ((r = gnutls_x509_privkey_init(&c->key)) < 0 ||
	    (r = gnutls_x509_privkey_generate2(c->key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0)) < 0 ||
	    (r = gnutls_x509_crt_init(&c->crt)) < 0 ||
	    (r = gnutls_x509_crt_set_version(c->crt, 3)) < 0 ||
	    (r = gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) < 0 ||
	    (serial[0] &= 0x7f, 0) ||
	    (r = gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial))) < 0 ||
	    (r = gnutls_x509_crt_set_activation_time(c->crt, now - 3600)) < 0 ||
	    (r = gnutls_x509_crt_set_expiration_time(c->crt,
	    now + 7 * 86400)) < 0 ||
	    (r = gnutls_x509_crt_set_dn(c->crt, "CN=rcp", NULL)) < 0 ||
	    (r = gnutls_x509_crt_set_key(c->crt, c->key)) < 0 ||
	    (r = gnutls_x509_crt_sign2(c->crt, c->crt, c->key,
	    GNUTLS_DIG_SHA256, 0)) < 0 ||
	    (r = gnutls_x509_crt_get_fingerprint(c->crt, GNUTLS_DIG_SHA256,
	    c->fp, &n)) < 0) {
		*cause = rcp_xasprintf("cannot make a certificate: %s",
		    gnutls_strerror(r));
		rcp_cert_free(c);
		return RCP_ERR_INTERNAL;
	}
	*out = c;
	return 0;
}

void
rcp_cert_free(struct rcp_cert *c)
{
	if (c == NULL)
		return;
	if (c->crt != NULL)
		gnutls_x509_crt_deinit(c->crt);
	if (c->key != NULL)
		gnutls_x509_privkey_deinit(c->key);
	free(c);
}

const uint8_t *
rcp_cert_fp(const struct rcp_cert *c)
{
	return c->fp;
}

void
rcp_cert_fp_hex(const uint8_t *fp, char out[RCP_CERT_FP_HEXLEN + 1])
{
	rcp_hex_encode(fp, RCP_CERT_FP_LEN, out);
}

int
rcp_cert_fp_parse(const char *hex, uint8_t fp[RCP_CERT_FP_LEN])
{
	return rcp_hex_decode(hex, fp, RCP_CERT_FP_LEN);
}

int
rcp_cert_set_credentials(const struct rcp_cert *c,
    gnutls_certificate_credentials_t cred, char **cause)
{
	gnutls_x509_crt_t crt = c->crt;
	int r;

	if ((r = gnutls_certificate_set_x509_key(cred, &crt, 1, c->key)) != 0) {
		*cause = rcp_xasprintf("TLS credentials: %s", gnutls_strerror(r));
		return RCP_ERR_INTERNAL;
	}
	return 0;
}
