/*
 * remote-probe.c: drives the remote layer for tests/e2e/remote.sh: starts a
 * source and a destination rcpd through a real sshd, checks messages both
 * ways (names that are not UTF-8 included) and the agents' link to each
 * other, prints the merged logs and each agent's summary.  With --hold it
 * waits, connected, to be killed, so a test can watch the agents go.
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "net/proto.h"
#include "net/wire.h"
#include "remote/agentmsg.h"
#include "remote/copywire.h"
#include "remote/remote.h"

#include "base/banned.h"

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void
log_sink(void *arg, int level, const char *msg)
{
	pthread_mutex_lock(&out_lock);
	printf("%s: %s\n", rcp_log_level_name(level), msg);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static int
hexbytes(const char *hex, struct rcp_buf *out)
{
	unsigned v;

	for (; hex[0] && hex[1]; hex += 2) {
		if (sscanf(hex, "%2x", &v) != 1)
			return -1;
		rcp_buf_addch(out, (char)v);
	}
	return *hex ? -1 : 0;
}

static int
echo(struct rcp_remote *r, int role, const struct rcp_buf *name)
{
	struct rcp_quic_msg *m = NULL;
	char *cause = NULL;
	int ok;

	if (rcp_remote_request(r, role, RCP_MSG_ECHO, name->data, name->len,
	    &m, 10000, &cause) != 0) {
		printf("echo failed: %s\n", cause);
		free(cause);
		return -1;
	}
	ok = m->f.type == RCP_MSG_ECHO_OK && m->f.len == name->len &&
	    memcmp(m->f.body, name->data, name->len) == 0;
	rcp_quic_msg_free(m);
	printf("echo %s: %s\n", role == RCP_ROLE_SOURCE ? "source" :
	    "destination", ok ? "intact" : "CHANGED");
	return ok ? 0 : -1;
}

/* Asks the destination agent to copy src (on the source host) to dst. */
static int
remote_copy(struct rcp_remote *r, const char *src, const char *dst,
    const struct rcp_copy_opts *o)
{
	struct rcp_quic_msg *m = NULL;
	struct rcp_copy_stats st;
	struct rcp_buf b = RCP_BUF_INIT;
	const char *const srcs[] = { src };
	char *cause = NULL;
	int result, rv;

	rcp_copywire_put_request(&b, srcs, 1, dst, o, NULL, NULL);
	rv = rcp_remote_request(r, RCP_ROLE_DESTINATION, RCP_MSG_COPY, b.data,
	    b.len, &m, 600000, &cause);
	rcp_buf_release(&b);
	if (rv != 0) {
		printf("copy failed: %s\n", cause);
		free(cause);
		return -1;
	}
	if (rcp_copywire_get_done(m->f.body, m->f.len, &result, &cause,
	    &st) != 0) {
		rcp_quic_msg_free(m);
		printf("copy: malformed reply\n");
		return -1;
	}
	rcp_quic_msg_free(m);
	printf("copy result=%d (%s)%s%s files=%llu dirs=%llu symlinks=%llu "
	    "bytes=%llu unchanged=%llu errors=%llu\n", result,
	    rcp_strerror(result), cause[0] ? " cause=" : "", cause,
	    (unsigned long long)st.files_copied,
	    (unsigned long long)st.dirs_created,
	    (unsigned long long)st.symlinks_created,
	    (unsigned long long)st.bytes_copied,
	    (unsigned long long)st.files_unchanged,
	    (unsigned long long)st.errors);
	free(cause);
	return result == 0 ? 0 : -1;
}

static int
selftest(struct rcp_remote *r, uint32_t count, const struct rcp_buf *name)
{
	struct rcp_quic_msg *m = NULL;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;
	uint32_t n = 0;
	uint64_t bytes = 0;
	int rv;

	rcp_agentmsg_put_selftest(&b, count, name->data, name->len);
	rv = rcp_remote_request(r, RCP_ROLE_DESTINATION, RCP_MSG_SELFTEST,
	    b.data, b.len, &m, 60000, &cause);
	rcp_buf_release(&b);
	if (rv != 0) {
		printf("selftest failed: %s\n", cause);
		free(cause);
		return -1;
	}
	if (rcp_agentmsg_get_selftest_ok(m->f.body, m->f.len, &n,
	    &bytes) != 0)
		n = 0;
	rcp_quic_msg_free(m);
	printf("selftest: %u echoes destination->source, %llu bytes\n", n,
	    (unsigned long long)bytes);
	return n == count ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ssh-config", required_argument, NULL, 'F' },
		{ "known-hosts", required_argument, NULL, 'K' },
		{ "identity", required_argument, NULL, 'i' },
		{ "accept-new", no_argument, NULL, 'A' },
		{ "rcpd-path", required_argument, NULL, 'R' },
		{ "quic-port-ranges", required_argument, NULL, 'P' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "echo", required_argument, NULL, 'e' },
		{ "name-hex", required_argument, NULL, 'n' },
		{ "hold", no_argument, NULL, 'H' },
		{ "copy", required_argument, NULL, 'C' },
		{ "preserve", no_argument, NULL, 'p' },
		{ "overwrite", no_argument, NULL, 'o' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct rcp_remote_opts o;
	struct rcp_remote_summary sum[2];
	struct rcp_remote *r = NULL;
	struct rcp_log log = { log_sink, NULL, RCP_LOG_INFO };
	struct rcp_buf name = RCP_BUF_INIT;
	char *cause = NULL;
	uint32_t count = 0;
	bool hold = false;
	const char *copy_src = NULL;
	struct rcp_copy_opts co;
	int ch, i, rv = 1;

	signal(SIGPIPE, SIG_IGN);
	rcp_remote_opts_init(&o);
	o.log = &log;
	o.startup_timeout_ms = 15000;
	rcp_buf_addstr(&name, "plain");
	rcp_copy_opts_init(&co);
	while ((ch = getopt_long(argc, argv, "vpo", longopts, NULL)) != -1) {
		switch (ch) {
		case 'F':
			o.ssh.config_file = optarg;
			break;
		case 'K':
			o.ssh.known_hosts = optarg;
			break;
		case 'i':
			o.ssh.identity = optarg;
			break;
		case 'A':
			o.ssh.accept_new = true;
			break;
		case 'R':
			o.rcpd_path = optarg;
			break;
		case 'P':
			if (rcp_remoteopts_ports(optarg, &o.ports, &cause) != 0) {
				fprintf(stderr, "%s\n", cause);
				return 2;
			}
			break;
		case 'I':
			o.idle_timeout_ms = (uint32_t)atoi(optarg) * 1000;
			break;
		case 'e':
			count = (uint32_t)atoi(optarg);
			break;
		case 'n':
			rcp_buf_reset(&name);
			if (hexbytes(optarg, &name) != 0) {
				fprintf(stderr, "bad --name-hex\n");
				return 2;
			}
			break;
		case 'H':
			hold = true;
			break;
		case 'C':
			copy_src = optarg;
			break;
		case 'p':
			rcp_preserve_all(&co.preserve);
			break;
		case 'o':
			co.overwrite = true;
			break;
		case 'v':
			log.level++;
			o.agent_verbosity++;
			break;
		default:
			return 2;
		}
	}
	if (argc - optind != 2 + (copy_src != NULL)) {
		fprintf(stderr, "usage: remote-probe [options] SRC_HOST DST_HOST "
		    "[DST_PATH with --copy SRC_PATH]\n");
		return 2;
	}
	if (rcp_remote_start(&o, argv[optind], argv[optind + 1], &r,
	    &cause) != 0) {
		printf("start failed: %s\n", cause);
		free(cause);
		rcp_buf_release(&name);
		return 1;
	}
	printf("started\n");
	fflush(stdout);
	if (echo(r, RCP_ROLE_SOURCE, &name) != 0 ||
	    echo(r, RCP_ROLE_DESTINATION, &name) != 0)
		goto out;
	if (count > 0 && selftest(r, count, &name) != 0)
		goto out;
	if (copy_src != NULL && remote_copy(r, copy_src, argv[optind + 2],
	    &co) != 0)
		goto out;
	if (hold) {
		printf("holding pid=%d\n", (int)getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (rcp_remote_finish(r, sum, &cause) != 0) {
		printf("finish failed: %s\n", cause);
		free(cause);
		goto out;
	}
	for (i = 0; i < 2; i++)
		printf("summary %s host=%s status=%d exit=%d walltime=%.3fs "
		    "cpu=%.3fs peak_rss=%lluKiB\n", i == 0 ? "source" :
		    "destination", sum[i].host, sum[i].status,
		    sum[i].exit_status, (double)sum[i].wall_ns / 1e9,
		    (double)sum[i].cpu_ns / 1e9,
		    (unsigned long long)(sum[i].peak_rss / 1024));
	rv = 0;
out:
	fflush(stdout);
	rcp_remote_free(r);
	rcp_buf_release(&name);
	return rv;
}
