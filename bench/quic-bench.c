/*
 * quic-bench.c: moves N bytes between two processes on loopback, framed as
 * rcp frames them (wire.h), over one QUIC connection (quic.c) or over TCP
 * with GnuTLS TLS 1.3 (AES-128-GCM, the same certificates), and reports
 * throughput and CPU seconds per GiB on each side.
 *
 *   quic-bench quic|tls [SIZE [FRAME]]      e.g. quic-bench quic 2G 1M
 *
 * RCP_BENCH_PROFILE=internet selects the internet profile for QUIC.
 *
 * The parent receives, a forked child sends; fingerprints go over a pipe,
 * as they would over SSH.  Output: one line of key=value pairs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "base/error.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "opts/remoteopts.h"

#include "base/banned.h"

static double
cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void
die(const char *what, const char *cause)
{
	fprintf(stderr, "quic-bench: %s: %s\n", what, cause ? cause : "");
	exit(1);
}

static void
fill(uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 131 + 7);
}

/* --- QUIC ---------------------------------------------------------------- */

static void
quic_send(const struct sockaddr_in *addr, const uint8_t *sfp, int wfd,
    uint64_t size, size_t frame)
{
	struct rcp_cert *cert = NULL;
	struct rcp_quic_config cfg;
	struct rcp_quic_conn *c = NULL;
	char *cause = NULL;
	uint64_t sent = 0;
	int64_t sid;
	uint8_t *buf;
	size_t n;
	double cpu;

	if (rcp_cert_new(&cert, &cause) != 0)
		die("cert", cause);
	/* Our fingerprint first: the receiver must allow it. */
	if (write(wfd, rcp_cert_fp(cert), RCP_CERT_FP_LEN) !=
	    RCP_CERT_FP_LEN)
		die("pipe", strerror(errno));
	rcp_quic_config_init(&cfg);
	cfg.cert = cert;
	cfg.name = "sender";
	if (getenv("RCP_BENCH_PROFILE") != NULL)
		rcp_remoteopts_profile(getenv("RCP_BENCH_PROFILE"), &cfg.profile);
	if (rcp_quic_connect(&cfg, (const struct sockaddr *)addr, sizeof(*addr),
	    sfp, &c, &cause) != 0)
		die("connect", cause);
	if (rcp_quic_stream_open(c, &sid) != 0)
		die("stream", NULL);
	while (sent < size) {
		n = size - sent < frame ? (size_t)(size - sent) : frame;
		buf = rcp_xmalloc(n);
		fill(buf, n);
		if (rcp_quic_send_owned(c, sid, RCP_MSG_BULK, 0, buf, n,
		    60000) != 0)
			die("send", rcp_quic_conn_error(c));
		sent += n;
	}
	rcp_quic_stream_fin(c, sid);
	if (rcp_quic_flush(c, 60000) != 0)
		die("flush", rcp_quic_conn_error(c));
	cpu = cpu_seconds();
	if (write(wfd, &cpu, sizeof(cpu)) != sizeof(cpu))
		die("pipe", strerror(errno));
	rcp_quic_conn_free(c);
	rcp_cert_free(cert);
}

static void
quic_bench(uint64_t size, size_t frame)
{
	struct rcp_cert *cert = NULL;
	struct rcp_quic_config cfg;
	struct rcp_quic_ep *ep = NULL;
	struct rcp_quic_conn *c = NULL;
	struct rcp_quic_msg *m;
	struct rcp_quic_stats st;
	struct sockaddr_storage ss;
	struct sockaddr_in a;
	socklen_t len;
	uint8_t cfp[RCP_CERT_FP_LEN];
	char *cause = NULL;
	uint64_t got = 0, t0 = 0, t1;
	double scpu = 0, rcpu;
	int p[2], status;
	pid_t pid;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (rcp_cert_new(&cert, &cause) != 0)
		die("cert", cause);
	rcp_quic_config_init(&cfg);
	cfg.cert = cert;
	cfg.name = "receiver";
	if (getenv("RCP_BENCH_PROFILE") != NULL)
		rcp_remoteopts_profile(getenv("RCP_BENCH_PROFILE"), &cfg.profile);
	if (rcp_quic_listen(&cfg, (struct sockaddr *)&a, sizeof(a), &ep,
	    &cause) != 0)
		die("listen", cause);
	rcp_quic_ep_addr(ep, &ss, &len);
	memcpy(&a, &ss, sizeof(a));
	if (pipe(p) != 0)
		die("pipe", strerror(errno));
	if ((pid = fork()) == 0) {
		close(p[0]);
		quic_send(&a, rcp_cert_fp(cert), p[1], size, frame);
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], cfp, sizeof(cfp)) != sizeof(cfp))
		die("pipe", "no fingerprint from the sender");
	rcp_quic_ep_allow(ep, cfp);
	if (rcp_quic_accept(ep, 10000, &c, &cause) != 0)
		die("accept", cause);
	t0 = rcp_now_ns();
	while (rcp_quic_recv(c, &m, 60000) == 0) {
		if (m->fin) {
			rcp_quic_msg_free(m);
			break;
		}
		got += m->f.len;
		rcp_quic_msg_free(m);
	}
	t1 = rcp_now_ns();
	rcpu = cpu_seconds();
	if (read(p[0], &scpu, sizeof(scpu)) != sizeof(scpu))
		scpu = -1;
	rcp_quic_conn_stats(c, &st);
	waitpid(pid, &status, 0);
	if (got != size)
		die("transfer", "short");
	printf("transport=quic bytes=%llu secs=%.3f MBps=%.0f "
	    "recv_cpu_s_per_gib=%.2f send_cpu_s_per_gib=%.2f pkt=%zu gso=%d "
	    "rcvbuf_kib=%d\n", (unsigned long long)size, (t1 - t0) / 1e9,
	    size / ((t1 - t0) / 1e9) / 1e6, rcpu / (size / 1073741824.0),
	    scpu / (size / 1073741824.0), st.max_pkt, st.gso, st.rcvbuf / 2048);
	rcp_quic_conn_free(c);
	rcp_quic_ep_free(ep);
	rcp_cert_free(cert);
}

/* --- TCP + TLS ----------------------------------------------------------- */

static const char tls_priority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
    "-GROUP-ALL:+GROUP-X25519";

static gnutls_session_t
tls_session(int fd, bool server, gnutls_certificate_credentials_t cred)
{
	gnutls_session_t s;

	gnutls_init(&s, server ? GNUTLS_SERVER : GNUTLS_CLIENT);
	gnutls_priority_set_direct(s, tls_priority, NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, fd);
	if (gnutls_handshake(s) < 0)
		die("tls handshake", NULL);
	return s;
}

static void
tls_send(uint16_t port, int wfd, uint64_t size, size_t frame)
{
	gnutls_certificate_credentials_t cred;
	gnutls_session_t s;
	struct sockaddr_in a;
	uint8_t hdr[RCP_WIRE_HDR], *buf = rcp_xmalloc(frame);
	uint64_t sent = 0;
	size_t n, off;
	ssize_t w;
	double cpu;
	int fd, one = 1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
		die("connect", strerror(errno));
	gnutls_certificate_allocate_credentials(&cred);
	s = tls_session(fd, false, cred);
	while (sent < size) {
		n = size - sent < frame ? (size_t)(size - sent) : frame;
		fill(buf, n);	/* the same work as the QUIC sender */
		rcp_wire_header(hdr, RCP_MSG_BULK, 0, (uint32_t)n);
		if (gnutls_record_send(s, hdr, sizeof(hdr)) < 0)
			die("send", NULL);
		for (off = 0; off < n; off += (size_t)w)
			if ((w = gnutls_record_send(s, buf + off, n - off)) < 0)
				die("send", NULL);
		sent += n;
	}
	gnutls_bye(s, GNUTLS_SHUT_WR);
	cpu = cpu_seconds();
	if (write(wfd, &cpu, sizeof(cpu)) != sizeof(cpu))
		die("pipe", strerror(errno));
	close(fd);
	free(buf);
}

static void
tls_bench(uint64_t size, size_t frame)
{
	struct rcp_cert *cert = NULL;
	gnutls_certificate_credentials_t cred;
	gnutls_x509_privkey_t key;
	gnutls_x509_crt_t crt;
	gnutls_session_t s;
	struct rcp_wire_reader rd;
	struct rcp_wire_frame f;
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	uint8_t *buf = rcp_xmalloc(1 << 20);
	char *cause = NULL;
	uint64_t got = 0, t0, t1;
	double scpu = 0, rcpu;
	ssize_t n;
	long k;
	size_t off;
	int lfd, fd, p[2], status, one = 1;
	pid_t pid;

	(void)cert;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(lfd, 1) != 0)
		die("listen", strerror(errno));
	getsockname(lfd, (struct sockaddr *)&a, &len);
	/* The same kind of certificate as QUIC uses. */
	gnutls_x509_privkey_init(&key);
	gnutls_x509_privkey_generate2(key, GNUTLS_PK_ECDSA,
	    GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL, 0);
	gnutls_x509_crt_init(&crt);
	gnutls_x509_crt_set_version(crt, 3);
	gnutls_x509_crt_set_serial(crt, "\x01", 1);
	gnutls_x509_crt_set_activation_time(crt, time(NULL) - 60);
	gnutls_x509_crt_set_expiration_time(crt, time(NULL) + 3600);
	gnutls_x509_crt_set_dn(crt, "CN=rcp", NULL);
	gnutls_x509_crt_set_key(crt, key);
	gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
	gnutls_certificate_allocate_credentials(&cred);
	gnutls_certificate_set_x509_key(cred, &crt, 1, key);
	if (pipe(p) != 0)
		die("pipe", strerror(errno));
	if ((pid = fork()) == 0) {
		close(p[0]);
		tls_send(ntohs(a.sin_port), p[1], size, frame);
		_exit(0);
	}
	close(p[1]);
	if ((fd = accept(lfd, NULL, NULL)) < 0)
		die("accept", strerror(errno));
	s = tls_session(fd, true, cred);
	rcp_wire_reader_init(&rd, RCP_PROTO_MAX_FRAME);
	t0 = rcp_now_ns();
	while ((n = gnutls_record_recv(s, buf, 1 << 20)) > 0) {
		for (off = 0; off < (size_t)n; off += (size_t)k) {
			k = rcp_wire_reader_feed(&rd, buf + off, (size_t)n - off,
			    &f);
			if (k < 0)
				die("frame", "too big");
			if (f.body != NULL) {
				got += f.len;
				rcp_wire_frame_release(&f);
			}
		}
	}
	t1 = rcp_now_ns();
	rcpu = cpu_seconds();
	if (read(p[0], &scpu, sizeof(scpu)) != sizeof(scpu))
		scpu = -1;
	waitpid(pid, &status, 0);
	if (got != size)
		die("transfer", cause ? cause : "short");
	printf("transport=tls bytes=%llu secs=%.3f MBps=%.0f "
	    "recv_cpu_s_per_gib=%.2f send_cpu_s_per_gib=%.2f\n",
	    (unsigned long long)size, (t1 - t0) / 1e9,
	    size / ((t1 - t0) / 1e9) / 1e6, rcpu / (size / 1073741824.0),
	    scpu / (size / 1073741824.0));
	rcp_wire_reader_release(&rd);
	gnutls_deinit(s);
	close(fd);
	close(lfd);
	free(buf);
}

int
main(int argc, char **argv)
{
	uint64_t size = 2ull << 30, frame = 1 << 20;

	if (argc < 2 || (strcmp(argv[1], "quic") != 0 &&
	    strcmp(argv[1], "tls") != 0) ||
	    (argc > 2 && rcp_parse_size(argv[2], &size) != 0) ||
	    (argc > 3 && (rcp_parse_size(argv[3], &frame) != 0 ||
	    frame == 0 || frame > RCP_PROTO_MAX_FRAME))) {
		fprintf(stderr, "usage: quic-bench quic|tls [SIZE [FRAME]]\n");
		return 2;
	}
	if (strcmp(argv[1], "quic") == 0)
		quic_bench(size, (size_t)frame);
	else
		tls_bench(size, (size_t)frame);
	return 0;
}
