/*
 * test_quic.c: QUIC over real UDP sockets on loopback: certificate pinning
 * both ways (the right certificate is accepted, a wrong one refused),
 * messages in both directions with names that are not UTF-8, a bulk
 * transfer that must arrive intact, port ranges and their exhaustion.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"
#include "net/wire.h"
#include "opts/remoteopts.h"
#include "unit.h"

#include "base/banned.h"

static struct sockaddr_in
loopback(const char *ip)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static void
test_certs(void)
{
	struct rcp_cert *a = NULL, *b = NULL;
	char hex[RCP_CERT_FP_HEXLEN + 1], *cause = NULL;
	uint8_t fp[RCP_CERT_FP_LEN];

	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&a, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&b, &cause), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(rcp_cert_fp(a), rcp_cert_fp(b),
	    RCP_CERT_FP_LEN), 0);
	rcp_cert_fp_hex(rcp_cert_fp(a), hex);
	CU_ASSERT_EQUAL(strlen(hex), 64);
	CU_ASSERT_EQUAL(rcp_cert_fp_parse(hex, fp), 0);
	CU_ASSERT_EQUAL(memcmp(fp, rcp_cert_fp(a), RCP_CERT_FP_LEN), 0);
	CU_ASSERT_EQUAL(rcp_cert_fp_parse("abc", fp), RCP_ERR_INVAL);
	hex[5] = 'g';
	CU_ASSERT_EQUAL(rcp_cert_fp_parse(hex, fp), RCP_ERR_INVAL);
	rcp_cert_free(a);
	rcp_cert_free(b);
}

static void
test_port_ranges(void)
{
	struct rcp_udp_ports pr;
	struct sockaddr_in a = loopback("127.0.0.1");
	static const char *bad[] = { "", "0", "70000", "9-8", "1-", "-5",
	    "a", "1,,2", "1,", "1-2-3", NULL };
	char *cause = NULL, *spec;
	int fds[3], i, r, base;

	CU_ASSERT_EQUAL(rcp_remoteopts_ports("8000-8999,10000", &pr, &cause), 0);
	CU_ASSERT_EQUAL(pr.n, 2);
	CU_ASSERT_EQUAL(pr.r[0].lo, 8000);
	CU_ASSERT_EQUAL(pr.r[0].hi, 8999);
	CU_ASSERT_EQUAL(pr.r[1].lo, 10000);
	CU_ASSERT_EQUAL(pr.r[1].hi, 10000);
	for (i = 0; bad[i] != NULL; i++) {
		cause = NULL;
		CU_ASSERT_EQUAL(rcp_remoteopts_ports(bad[i], &pr, &cause),
		    RCP_ERR_INVAL);
		CU_ASSERT_PTR_NOT_NULL(cause);
		free(cause);
	}
	/* A two-port range: two binds fit, the third is a clear error. */
	base = 20000 + (int)(getpid() % 20000);
	spec = rcp_xasprintf("%d-%d", base, base + 1);
	CU_ASSERT_EQUAL(rcp_remoteopts_ports(spec, &pr, &cause), 0);
	free(spec);
	for (i = 0; i < 3; i++) {
		cause = NULL;
		fds[i] = -1;
		r = rcp_udp_bind((struct sockaddr *)&a, sizeof(a), &pr, &fds[i],
		    &cause);
		if (i < 2) {
			CU_ASSERT_EQUAL(r, 0);
		} else {
			CU_ASSERT_EQUAL(r, RCP_ERR_EXISTS);
			CU_ASSERT_PTR_NOT_NULL(cause);
			if (cause != NULL) {
				CU_ASSERT_PTR_NOT_NULL(strstr(cause,
				    "no free UDP port"));
			}
		}
		free(cause);
	}
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

struct pair {
	struct rcp_cert	*scert;
	struct rcp_cert	*ccert;
	struct rcp_quic_ep	*ep;
	struct sockaddr_storage	 addr;
	socklen_t		 alen;
	struct rcp_quic_config	 scfg;
	struct rcp_quic_config	 ccfg;
};

static void
pair_init(struct pair *p, bool allow_client)
{
	struct sockaddr_in a = loopback("127.0.0.1");
	char *cause = NULL;

	memset(p, 0, sizeof(*p));
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&p->scert, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&p->ccert, &cause), 0);
	rcp_quic_config_init(&p->scfg);
	p->scfg.cert = p->scert;
	p->scfg.name = "test-server";
	p->scfg.conn_timeout_ms = 3000;
	rcp_quic_config_init(&p->ccfg);
	p->ccfg.cert = p->ccert;
	p->ccfg.name = "test-client";
	p->ccfg.conn_timeout_ms = 3000;
	CU_ASSERT_EQUAL_FATAL(rcp_quic_listen(&p->scfg, (struct sockaddr *)&a,
	    sizeof(a), &p->ep, &cause), 0);
	if (allow_client)
		rcp_quic_ep_allow(p->ep, rcp_cert_fp(p->ccert));
	rcp_quic_ep_addr(p->ep, &p->addr, &p->alen);
}

static void
pair_release(struct pair *p)
{
	rcp_quic_ep_free(p->ep);
	rcp_cert_free(p->scert);
	rcp_cert_free(p->ccert);
}

/* Receives one frame (skipping nothing) within 5 s. */
static struct rcp_quic_msg *
recv1(struct rcp_quic_conn *c)
{
	struct rcp_quic_msg *m = NULL;

	CU_ASSERT_EQUAL(rcp_quic_recv(c, &m, 5000), 0);
	return m;
}

static void
test_pinned_exchange(void)
{
	static const char name[] = "a/\xff\xfe/\xc3\xa9\n";
	struct rcp_quic_conn *cc = NULL, *sc = NULL;
	struct rcp_quic_msg *m;
	struct rcp_wire_cursor cur;
	struct pair p;
	char *cause = NULL, *got = NULL;
	int64_t sid, sid2;

	pair_init(&p, true);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr,
	    p.alen, rcp_cert_fp(p.scert), &cc, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_accept(p.ep, 5000, &sc, &cause), 0);

	/* Client to server, on a client-opened stream. */
	struct rcp_buf body = RCP_BUF_INIT;
	rcp_wire_put_str(&body, name);
	CU_ASSERT_EQUAL(rcp_quic_stream_open(cc, &sid), 0);
	CU_ASSERT_EQUAL(rcp_quic_send(cc, sid, RCP_MSG_ECHO, 7, body.data,
	    body.len, 1000), 0);
	m = recv1(sc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->stream, sid);
	CU_ASSERT_EQUAL(m->f.type, RCP_MSG_ECHO);
	CU_ASSERT_EQUAL(m->f.id, 7);
	rcp_wire_cursor_init(&cur, m->f.body, m->f.len);
	CU_ASSERT_EQUAL(rcp_wire_get_str(&cur, &got, RCP_PROTO_MAX_NAME), 0);
	CU_ASSERT_STRING_EQUAL(got, name);	/* the bytes crossed intact */
	free(got);
	/* The reply goes back on the same stream. */
	CU_ASSERT_EQUAL(rcp_quic_send(sc, m->stream, RCP_MSG_ECHO_OK, 7,
	    m->f.body, m->f.len, 1000), 0);
	rcp_quic_msg_free(m);
	m = recv1(cc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->f.type, RCP_MSG_ECHO_OK);
	CU_ASSERT_EQUAL(m->f.len, body.len);
	rcp_quic_msg_free(m);

	/* A server-opened stream works too, and a FIN is seen. */
	CU_ASSERT_EQUAL(rcp_quic_stream_open(sc, &sid2), 0);
	CU_ASSERT_EQUAL(sid2 & 1, 1);
	CU_ASSERT_EQUAL(rcp_quic_send(sc, sid2, RCP_MSG_LOG, 0, "x", 1, 1000), 0);
	CU_ASSERT_EQUAL(rcp_quic_stream_fin(sc, sid2), 0);
	m = recv1(cc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->stream, sid2);
	CU_ASSERT_EQUAL(m->f.type, RCP_MSG_LOG);
	rcp_quic_msg_free(m);
	m = recv1(cc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_TRUE(m->fin);
	rcp_quic_msg_free(m);

	/* Frames over the cap are refused before they leave. */
	CU_ASSERT_EQUAL(rcp_quic_send(cc, sid, RCP_MSG_BULK, 0, body.data,
	    RCP_PROTO_MAX_FRAME + 1, 1000), RCP_ERR_TOOBIG);
	rcp_buf_release(&body);

	/* When one side closes, the other learns it. */
	rcp_quic_close(sc, 0);
	CU_ASSERT_EQUAL(rcp_quic_recv(cc, &m, 5000), RCP_ERR_IO);
	CU_ASSERT_PTR_NOT_NULL(rcp_quic_conn_error(cc));
	rcp_quic_conn_free(cc);
	rcp_quic_conn_free(sc);
	pair_release(&p);
}

/*
 * The lease's clocks: heard_ns is when the newest packet the peer has
 * acknowledged left, so a message sent after t0 moves it past t0 once its
 * ACK is in (which may follow the answer, by the peer's ACK delay: waited
 * for, 5 s at most); the lease is half the idle timeout.
 */
static void
test_lease(void)
{
	struct rcp_quic_conn *cc = NULL, *sc = NULL;
	struct rcp_quic_stats st;
	struct rcp_quic_msg *m;
	struct pair p;
	char *cause = NULL;
	uint64_t t0, end;
	int64_t sid;

	pair_init(&p, true);
	p.ccfg.idle_timeout_ms = 4000;
	CU_ASSERT_EQUAL_FATAL(rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr,
	    p.alen, rcp_cert_fp(p.scert), &cc, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_accept(p.ep, 5000, &sc, &cause), 0);
	CU_ASSERT_EQUAL(rcp_quic_conn_lease_ns(cc), 2000000000u);
	CU_ASSERT_EQUAL(rcp_quic_conn_lease_ns(sc), 5000000000u);
	t0 = rcp_now_ns();
	CU_ASSERT_EQUAL(rcp_quic_stream_open(sc, &sid), 0);
	CU_ASSERT_EQUAL(rcp_quic_send(sc, sid, RCP_MSG_ECHO, 9, "x", 1, 1000),
	    0);
	m = recv1(cc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(rcp_quic_send(cc, m->stream, RCP_MSG_ECHO_OK, 9, "x",
	    1, 1000), 0);
	rcp_quic_msg_free(m);
	m = recv1(sc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	rcp_quic_msg_free(m);
	end = rcp_deadline_after(5000);
	rcp_quic_conn_stats(sc, &st);
	while (st.heard_ns < t0 && !rcp_deadline_passed(end)) {
		usleep(5000);
		rcp_quic_conn_stats(sc, &st);
	}
	CU_ASSERT_TRUE(st.heard_ns >= t0);
	CU_ASSERT_TRUE(st.recv_ns >= st.heard_ns);
	CU_ASSERT_TRUE(rcp_now_ns() >= st.recv_ns);
	rcp_quic_conn_free(cc);
	rcp_quic_conn_free(sc);
	pair_release(&p);
}

static void
test_wrong_server_cert(void)
{
	struct rcp_cert *other = NULL;
	struct rcp_quic_conn *cc = NULL;
	struct pair p;
	char *cause = NULL;

	pair_init(&p, true);
	CU_ASSERT_EQUAL_FATAL(rcp_cert_new(&other, &cause), 0);
	/* The client expects another certificate than the server has. */
	CU_ASSERT_EQUAL(rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr,
	    p.alen, rcp_cert_fp(other), &cc, &cause), RCP_ERR_IO);
	CU_ASSERT_PTR_NULL(cc);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL) {
		CU_ASSERT_PTR_NOT_NULL(strstr(cause, "man-in-the-middle"));
	}
	free(cause);
	rcp_cert_free(other);
	pair_release(&p);
}

static void
test_client_not_allowed(void)
{
	struct rcp_quic_conn *cc = NULL, *sc = NULL;
	struct pair p;
	char *cause = NULL;

	pair_init(&p, false);	/* the server knows no client */
	CU_ASSERT_NOT_EQUAL(rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr,
	    p.alen, rcp_cert_fp(p.scert), &cc, &cause), 0);
	CU_ASSERT_PTR_NULL(cc);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_quic_accept(p.ep, 200, &sc, &cause),
	    RCP_ERR_TIMEOUT);
	free(cause);
	pair_release(&p);
}

/*
 * early_open: the client's connection is usable at handshake completion.
 * A client the server refuses gets that far (the server checks the
 * client's certificate after the client finished); its first await (or
 * connect itself, if the close came first) must then fail on the close
 * (not time out, not see a server), and an allowed one exchanges as before.
 */
static void
test_early_open(void)
{
	struct rcp_quic_conn *cc = NULL, *sc = NULL;
	struct rcp_quic_msg *m = NULL;
	struct pair p;
	char *cause = NULL;
	int64_t sid;
	int r;

	pair_init(&p, false);	/* the server knows no client */
	p.ccfg.early_open = true;
	/*
	 * The server's close can also come before connect's caller wakes
	 * to the completed handshake (loopback, a loaded machine): then it
	 * is connect that fails on it.
	 */
	r = rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr, p.alen,
	    rcp_cert_fp(p.scert), &cc, &cause);
	CU_ASSERT(r == 0 || (r == RCP_ERR_IO && cause != NULL));
	if (r == 0) {
		CU_ASSERT_EQUAL(rcp_quic_stream_open(cc, &sid), 0);
		(void)rcp_quic_send(cc, sid, RCP_MSG_ECHO, 1, "x", 1, 1000);
		CU_ASSERT_EQUAL(rcp_quic_recv(cc, &m, 5000), RCP_ERR_IO);
		CU_ASSERT_PTR_NULL(m);
		rcp_quic_conn_free(cc);
	}
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_quic_accept(p.ep, 200, &sc, &cause),
	    RCP_ERR_TIMEOUT);
	free(cause);
	cause = NULL;
	pair_release(&p);

	pair_init(&p, true);
	p.ccfg.early_open = true;
	CU_ASSERT_EQUAL_FATAL(rcp_quic_connect(&p.ccfg,
	    (struct sockaddr *)&p.addr, p.alen, rcp_cert_fp(p.scert), &cc,
	    &cause), 0);
	CU_ASSERT_EQUAL(rcp_quic_stream_open(cc, &sid), 0);
	CU_ASSERT_EQUAL(rcp_quic_send(cc, sid, RCP_MSG_ECHO, 2, "y", 1, 1000),
	    0);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_accept(p.ep, 5000, &sc, &cause), 0);
	m = recv1(sc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	CU_ASSERT_EQUAL(m->f.id, 2);
	CU_ASSERT_EQUAL(rcp_quic_send(sc, m->stream, RCP_MSG_ECHO_OK, 2, "y", 1,
	    1000), 0);
	rcp_quic_msg_free(m);
	m = recv1(cc);
	CU_ASSERT_PTR_NOT_NULL(m);
	rcp_quic_msg_free(m);
	rcp_quic_conn_free(cc);
	rcp_quic_conn_free(sc);
	pair_release(&p);
}

struct bulk {
	struct rcp_quic_conn	*c;
	size_t			 frames;
	size_t			 size;
};

static void *
bulk_sender(void *arg)
{
	struct bulk *b = arg;
	int64_t sid;
	size_t i, j;
	uint8_t *buf;

	if (rcp_quic_stream_open(b->c, &sid) != 0)
		return NULL;
	for (i = 0; i < b->frames; i++) {
		buf = rcp_xmalloc(b->size);
		for (j = 0; j < b->size; j++)
			buf[j] = (uint8_t)(i * 31 + j);
		if (rcp_quic_send_owned(b->c, sid, RCP_MSG_BULK, (uint32_t)i,
		    buf, b->size, 10000) != 0)
			break;
	}
	rcp_quic_stream_fin(b->c, sid);
	rcp_quic_flush(b->c, 10000);
	return NULL;
}

/* 64 MiB in 1 MiB frames, every byte checked, with flow control working. */
static void
test_bulk(void)
{
	struct rcp_quic_conn *cc = NULL, *sc = NULL;
	struct rcp_quic_msg *m;
	struct bulk b;
	struct pair p;
	pthread_t th;
	char *cause = NULL;
	size_t got = 0, j, bad = 0;
	bool fin = false;

	pair_init(&p, true);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_connect(&p.ccfg, (struct sockaddr *)&p.addr,
	    p.alen, rcp_cert_fp(p.scert), &cc, &cause), 0);
	CU_ASSERT_EQUAL_FATAL(rcp_quic_accept(p.ep, 5000, &sc, &cause), 0);
	b.c = cc;
	b.frames = 64;
	b.size = 1 << 20;
	pthread_create(&th, NULL, bulk_sender, &b);
	while (!fin && rcp_quic_recv(sc, &m, 20000) == 0) {
		if (m->fin)
			fin = true;
		else {
			CU_ASSERT_EQUAL(m->f.id, got);
			CU_ASSERT_EQUAL(m->f.len, b.size);
			for (j = 0; j < m->f.len; j++)
				if (m->f.body[j] != (uint8_t)(got * 31 + j))
					bad++;
			got++;
		}
		rcp_quic_msg_free(m);
	}
	pthread_join(th, NULL);
	CU_ASSERT_TRUE(fin);
	CU_ASSERT_EQUAL(got, b.frames);
	CU_ASSERT_EQUAL(bad, 0);
	rcp_quic_conn_free(cc);
	rcp_quic_conn_free(sc);
	pair_release(&p);
}

static void
test_sockaddr(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char *s;

	CU_ASSERT_EQUAL(rcp_udp_addr_parse("127.0.0.2:8000", &ss, &len), 0);
	s = rcp_udp_addr_str((struct sockaddr *)&ss);
	CU_ASSERT_STRING_EQUAL(s, "127.0.0.2:8000");
	free(s);
	CU_ASSERT_EQUAL(rcp_udp_addr_parse("[::1]:9", &ss, &len), 0);
	s = rcp_udp_addr_str((struct sockaddr *)&ss);
	CU_ASSERT_STRING_EQUAL(s, "[::1]:9");
	free(s);
	CU_ASSERT_EQUAL(rcp_udp_addr_parse("host:1", &ss, &len), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_udp_addr_parse("1.2.3.4", &ss, &len), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_udp_addr_parse("1.2.3.4:0", &ss, &len),
	    RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_udp_addr_parse("[::1:5", &ss, &len), RCP_ERR_INVAL);
}

void
test_quic_register(void)
{
	static const struct unit_test tests[] = {
		{ "certs", test_certs },
		{ "port_ranges", test_port_ranges },
		{ "sockaddr", test_sockaddr },
		{ "pinned_exchange", test_pinned_exchange },
		{ "lease", test_lease },
		{ "wrong_server_cert", test_wrong_server_cert },
		{ "client_not_allowed", test_client_not_allowed },
		{ "early_open", test_early_open },
		{ "bulk", test_bulk },
		{ NULL, NULL }
	};

	unit_add_suite("quic", tests);
}
