/*
 * deploy.c: where rcpd is on a host (for an agent there or here), and
 * --auto-deploy-rcpd, which copies this rcp's own rcpd to a host that has
 * none or one of another protocol.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "base/error.h"
#include "base/hex.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/ssh.h"
#include "remote/deploy.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

/* The directory of this program, where rcpd is most likely installed too. */
static char *
self_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return rcp_xstrdup(buf[0] ? buf : "/");
}

/* Reads a whole local file (the rcpd to deploy).  0 or -errno. */
static int
slurp(const char *path, uint8_t **data, size_t *len)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char buf[65536];
	ssize_t n;
	FILE *fp;

	if ((fp = fopen(path, "rb")) == NULL)
		return -errno;
	while ((n = (ssize_t)fread(buf, 1, sizeof(buf), fp)) > 0)
		rcp_buf_add(&b, buf, (size_t)n);
	if (ferror(fp)) {
		fclose(fp);
		rcp_buf_release(&b);
		return -EIO;
	}
	fclose(fp);
	*len = b.len;
	*data = (uint8_t *)rcp_buf_detach(&b);
	return 0;
}

/*
 * Written under a temporary name, its SHA-256 checked there, then renamed,
 * so a cut-off transfer never leaves a broken rcpd in place.
 */
int
rcp_deploy_rcpd(struct rcp_ssh *ssh, char **path, char **cause)
{
	struct rcp_ssh_run_io io;
	uint8_t *bin = NULL, sum[32];
	char hex[65], *dir = self_dir(), *local = NULL, *cmd = NULL, *err = NULL;
	size_t len = 0;
	int r;

	if (dir == NULL) {
		*cause = rcp_xstrdup("cannot find this program's directory "
		    "to deploy rcpd from");
		return RCP_ERR_NOTFOUND;
	}
	local = rcp_path_join(dir, "rcpd");
	if ((r = slurp(local, &bin, &len)) != 0) {
		*cause = rcp_xasprintf("cannot read '%s' to deploy it: %s",
		    local, strerror(-r));
		r = RCP_ERR_NOTFOUND;
		goto out;
	}
	gnutls_hash_fast(GNUTLS_DIG_SHA256, bin, len, sum);
	rcp_hex_encode(sum, sizeof(sum), hex);
	cmd = rcp_xasprintf("set -e; umask 077; d=\"$HOME/.cache/rcp/bin\"; "
	    "mkdir -p \"$d\"; t=\"$d/.rcpd-%s.$$\"; cat > \"$t\"; "
	    "s=$(sha256sum \"$t\" | cut -d' ' -f1); if [ \"$s\" != %s ]; "
	    "then rm -f \"$t\"; echo \"checksum mismatch: $s\" >&2; exit 3; "
	    "fi; chmod 755 \"$t\"; mv -f \"$t\" \"$d/rcpd-%s\"; "
	    "echo \"$d/rcpd-%s\"", PACKAGE_VERSION, hex, PACKAGE_VERSION,
	    PACKAGE_VERSION);
	memset(&io, 0, sizeof(io));
	io.in = bin;
	io.in_len = len;
	io.out_max = 4096;
	io.err_max = 4096;
	if ((r = rcp_ssh_run_io(ssh, cmd, &io, 120000, &err)) != 0) {
		*cause = rcp_xasprintf("cannot deploy rcpd to '%s': %s",
		    rcp_ssh_host(ssh), err);
		goto out;
	}
	if (io.status != 0) {
		*cause = rcp_xasprintf("cannot deploy rcpd to '%s': %s (exit "
		    "status %d)", rcp_ssh_host(ssh), io.err != NULL &&
		    io.err[0] ? io.err : "the install step failed", io.status);
		r = RCP_ERR_IO;
	} else {
		io.out[strcspn(io.out, "\n")] = '\0';
		*path = rcp_xstrdup(io.out);
	}
	free(io.out);
	free(io.err);
out:
	free(err);
	free(cmd);
	free(bin);
	free(local);
	free(dir);
	return r;
}

void
rcp_deploy_find_cmd(struct rcp_buf *b, const char *want)
{
	char *q, *dir;

	if (want != NULL) {
		q = rcp_ssh_shell_quote(want);
		rcp_buf_addf(b, "p=%s; ", q);
	} else {
		dir = self_dir();
		q = rcp_ssh_shell_quote(dir != NULL ? dir : "/nonexistent");
		rcp_buf_addf(b, "p=%s/rcpd; [ -x \"$p\" ] || "
		    "p=$(command -v rcpd) || p=rcpd; ", q);
		free(dir);
	}
	free(q);
	rcp_buf_addstr(b, "[ -x \"$p\" ] || { echo \"" RCP_DEPLOY_NOT_FOUND
	    " '$p'\" >&2; exit 127; }; exec \"$p\"");
}

char *
rcp_deploy_local(const char *rcpd_path)
{
	char *dir, *p;

	if (rcpd_path != NULL && access(rcpd_path, X_OK) == 0)
		return rcp_xstrdup(rcpd_path);
	if ((dir = self_dir()) != NULL) {
		p = rcp_path_join(dir, "rcpd");
		free(dir);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return rcp_xstrdup("rcpd");
}
