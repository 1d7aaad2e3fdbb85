/*
 * ssh-probe.c: drives the SSH layer (src/ssh.c) against a real sshd for
 * tests/e2e/ssh.sh.  Each subcommand connects, does one thing and exits 0
 * when it went as expected; connection failures print the cause and exit 255.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "net/ssh.h"

#include "base/banned.h"

#define PROBE_TIMEOUT_MS	20000

static const char usage[] =
    "usage: ssh-probe [-a] [-F config] [-i identity] [-k known_hosts]\n"
    "                 [-t connect_ms] [-v] COMMAND TARGET [ARG]\n"
    "commands:\n"
    "  run TARGET CMD       run CMD (stdin: -s), print its stdout and stderr,\n"
    "                       exit with its status\n"
    "  cat TARGET BYTES     send BYTES of binary data through a remote cat\n"
    "  parallel TARGET N DIR  N commands on N channels of one session, N\n"
    "                       threads; each waits at a barrier in DIR until all\n"
    "                       N run at once\n"
    "  pingpong TARGET N    2 threads, N line round trips each through cat\n"
    "  timeout TARGET       wait and read time out on a sleeping command\n"
    "  lines TARGET         read_line: lines, TOOBIG, EOF without newline\n"
    "  localaddr TARGET     print the local address of the connection\n";

static struct rcp_ssh_opts opts;
static bool send_stdin;

static void
log_stderr(void *arg, int level, const char *msg)
{
	fprintf(stderr, "ssh-probe: %s: %s\n", rcp_log_level_name(level), msg);
}

static struct rcp_ssh *
connect_or_die(const char *spec)
{
	struct rcp_ssh_target t;
	struct rcp_ssh *s;
	char *cause = NULL;

	if (rcp_ssh_target_parse(spec, &t, &cause) != 0) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		exit(255);
	}
	s = rcp_ssh_connect(&t, &opts, &cause);
	rcp_ssh_target_release(&t);
	if (s == NULL) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		exit(255);
	}
	return s;
}

static char *
slurp_stdin(size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = rcp_xmalloc(cap);
	ssize_t k;

	while ((k = read(0, buf + n, cap - n)) > 0) {
		n += (size_t)k;
		if (n == cap)
			buf = rcp_xrealloc(buf, cap *= 2);
	}
	*len = n;
	return buf;
}

static int
cmd_run(struct rcp_ssh *s, const char *command)
{
	struct rcp_ssh_run_io io = { .out_max = 64 << 20, .err_max = 1 << 20 };
	char *cause = NULL;
	char *in = NULL;
	int r;

	if (send_stdin) {
		in = slurp_stdin(&io.in_len);
		io.in = in;
	}
	r = rcp_ssh_run_io(s, command, &io, PROBE_TIMEOUT_MS, &cause);
	free(in);
	if (r != 0) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		free(cause);
		return 254;
	}
	fwrite(io.out, 1, io.out_len, stdout);
	fwrite(io.err, 1, io.err_len, stderr);
	free(io.out);
	free(io.err);
	return io.status < 0 ? 253 : io.status;
}

struct feeder {
	struct rcp_ssh_proc	*p;
	const unsigned char	*data;
	size_t			 len;
	int			 r;
};

static void *
feed(void *arg)
{
	struct feeder *f = arg;
	size_t off, k;

	/* Odd-sized writes, to cross packet and window boundaries. */
	for (off = 0; off < f->len && f->r == 0; off += k) {
		k = f->len - off < 7777 ? f->len - off : 7777;
		f->r = rcp_ssh_proc_write(f->p, f->data + off, k);
	}
	if (f->r == 0)
		f->r = rcp_ssh_proc_close_stdin(f->p);
	return NULL;
}

/* Sends len bytes through a remote cat from one thread, reads them back in this one. */
static int
cmd_cat(struct rcp_ssh *s, const char *arg)
{
	struct feeder f = { 0 };
	unsigned char *data, *back;
	char *cause = NULL;
	size_t i, got = 0;
	pthread_t th;
	uint64_t len;
	ssize_t k;
	int status = -2, r;

	if (rcp_parse_size(arg, &len) != 0 || len > (256u << 20)) {
		fprintf(stderr, "ssh-probe: bad size '%s'\n", arg);
		return 2;
	}
	f.data = data = rcp_xmalloc(len);
	back = rcp_xmalloc(len + 1);
	srandom(42);
	for (i = 0; i < len; i++)
		data[i] = (unsigned char)random();
	if ((f.p = rcp_ssh_exec(s, "cat", &cause)) == NULL) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		return 1;
	}
	f.len = len;
	pthread_create(&th, NULL, feed, &f);
	while ((k = rcp_ssh_proc_read(f.p, false, back + got, len + 1 - got,
	    PROBE_TIMEOUT_MS)) > 0)
		got += (size_t)k;
	pthread_join(th, NULL);
	r = k == 0 ? rcp_ssh_proc_wait(f.p, PROBE_TIMEOUT_MS, &status) : (int)k;
	rcp_ssh_proc_free(f.p);
	printf("sent %zu, received %zu, status %d, read/write %s/%s\n",
	    (size_t)len, got, status, rcp_strerror(r), rcp_strerror(f.r));
	r = r == 0 && f.r == 0 && status == 0 && got == len &&
	    memcmp(f.data, back, len) == 0 ? 0 : 1;
	free(data);
	free(back);
	return r;
}

/*
 * A barrier command waits this long for the others to arrive (in 0.1 s
 * steps) before it gives up: a hang guard, not a speed claim; a reply is
 * waited for a little longer.
 */
#define BARRIER_STEPS		600
#define BARRIER_TIMEOUT_MS	90000

struct worker {
	struct rcp_ssh	*s;
	const char	*dir;
	int		 id, n;
	bool		 ok;
	char		 msg[256];
};

static void *
work(void *arg)
{
	struct worker *w = arg;
	struct rcp_ssh_proc *p;
	char *cmd, *cause = NULL, *line = NULL, want[64], want_err[64], err[64];
	ssize_t k;
	int status = -2, r;

	/*
	 * Proof of concurrency without a clock: the command marks its arrival
	 * in dir and waits there until all n have arrived, which they can only
	 * if all n channels are open and running at once.  Only then does it
	 * print its token; one that gives up says so instead.
	 */
	cmd = rcp_xasprintf("touch '%s/arrived-%d' || exit 99; i=0; "
	    "while [ \"$(ls '%s' | grep -c '^arrived-')\" -lt %d ]; do "
	    "i=$((i + 1)); if [ $i -gt %d ]; then echo barrier-timeout; "
	    "exit 99; fi; sleep 0.1; done; "
	    "echo token-%d; echo err-%d >&2; exit %d", w->dir, w->id, w->dir,
	    w->n, BARRIER_STEPS, w->id, w->id, w->id % 7);
	p = rcp_ssh_exec(w->s, cmd, &cause);
	free(cmd);
	if (p == NULL) {
		snprintf(w->msg, sizeof(w->msg), "exec: %s", cause);
		free(cause);
		return NULL;
	}
	snprintf(want, sizeof(want), "token-%d", w->id);
	snprintf(want_err, sizeof(want_err), "err-%d\n", w->id);
	r = rcp_ssh_proc_read_line(p, &line, 100, BARRIER_TIMEOUT_MS);
	k = rcp_ssh_proc_read(p, true, err, sizeof(err) - 1, PROBE_TIMEOUT_MS);
	err[k > 0 ? k : 0] = '\0';
	if (r == 0)
		r = rcp_ssh_proc_wait(p, PROBE_TIMEOUT_MS, &status);
	snprintf(w->msg, sizeof(w->msg), "line '%s' (%s), stderr '%.20s', "
	    "status %d", line != NULL ? line : "", rcp_strerror(r), err,
	    status);
	w->ok = r == 0 && line != NULL && strcmp(line, want) == 0 &&
	    status == w->id % 7 && strcmp(err, want_err) == 0;
	free(line);
	rcp_ssh_proc_free(p);
	return NULL;
}

static int
cmd_parallel(struct rcp_ssh *s, const char *arg, const char *dir)
{
	struct worker *w;
	pthread_t *th;
	uint64_t n, i, ok = 0, t0 = rcp_now_ns();

	if (rcp_parse_uint(arg, 64, &n) != 0 || n == 0) {
		fprintf(stderr, "ssh-probe: bad count '%s'\n", arg);
		return 2;
	}
	w = rcp_xcalloc(n, sizeof(*w));
	th = rcp_xcalloc(n, sizeof(*th));
	for (i = 0; i < n; i++) {
		w[i].s = s;
		w[i].dir = dir;
		w[i].id = (int)i + 1;
		w[i].n = (int)n;
		pthread_create(&th[i], NULL, work, &w[i]);
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		printf("channel %d: %s: %s\n", w[i].id, w[i].ok ? "ok" : "FAIL",
		    w[i].msg);
		ok += w[i].ok;
	}
	printf("%u of %u channels ok in %.2f s\n", (unsigned)ok, (unsigned)n,
	    (double)(rcp_now_ns() - t0) / 1e9);
	free(w);
	free(th);
	return ok == n ? 0 : 1;
}

struct pinger {
	struct rcp_ssh	*s;
	int		 id, rounds, done;
	uint64_t	 ns;
	char		 msg[128];
};

/* Request/reply round trips through a remote cat, one line at a time. */
static void *
ping(void *arg)
{
	struct pinger *g = arg;
	struct rcp_ssh_proc *p;
	char *cause = NULL, *line = NULL, req[64];
	uint64_t t0 = rcp_now_ns();
	int r = 0, n;

	if ((p = rcp_ssh_exec(g->s, "cat", &cause)) == NULL) {
		snprintf(g->msg, sizeof(g->msg), "exec: %s", cause);
		free(cause);
		return NULL;
	}
	for (; g->done < g->rounds; g->done++) {
		n = snprintf(req, sizeof(req), "ping %d %d\n", g->id, g->done);
		if ((r = rcp_ssh_proc_write(p, req, (size_t)n)) != 0 ||
		    (r = rcp_ssh_proc_read_line(p, &line, 64,
		    PROBE_TIMEOUT_MS)) != 0)
			break;
		req[n - 1] = '\0';
		r = strcmp(line, req) == 0 ? 0 : RCP_ERR_PROTO;
		free(line);
		if (r != 0)
			break;
	}
	g->ns = rcp_now_ns() - t0;
	snprintf(g->msg, sizeof(g->msg), "%s", rcp_strerror(r));
	rcp_ssh_proc_free(p);
	return NULL;
}

static int
cmd_pingpong(struct rcp_ssh *s, const char *arg)
{
	struct pinger g[2];
	pthread_t th[2];
	uint64_t n;
	int i, ok = 1;

	if (rcp_parse_uint(arg, 100000, &n) != 0 || n == 0) {
		fprintf(stderr, "ssh-probe: bad count '%s'\n", arg);
		return 2;
	}
	for (i = 0; i < 2; i++) {
		g[i] = (struct pinger){ .s = s, .id = i, .rounds = (int)n };
		pthread_create(&th[i], NULL, ping, &g[i]);
	}
	for (i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		printf("thread %d: %d of %d round trips, %.3f ms each: %s\n",
		    i, g[i].done, g[i].rounds, (double)g[i].ns / 1e6 /
		    (g[i].done > 0 ? g[i].done : 1), g[i].msg);
		ok &= g[i].done == g[i].rounds;
	}
	return ok ? 0 : 1;
}

/*
 * A command that sleeps: wait and read time out on time.  Prints the remote
 * pid: sshd refuses the TERM that freeing the proc sends when the user is
 * root, so the test ends the sleep itself.
 */
static int
cmd_timeout(struct rcp_ssh *s)
{
	struct rcp_ssh_proc *p;
	char *cause = NULL, *pid = NULL, buf[16];
	uint64_t t0, wait_ms, read_ms;
	int status = -2, r1, r2, r0, rp;

	if ((p = rcp_ssh_exec(s, "echo $$; exec sleep 7.25", &cause)) == NULL) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		return 1;
	}
	rp = rcp_ssh_proc_read_line(p, &pid, 32, PROBE_TIMEOUT_MS);
	t0 = rcp_now_ns();
	r1 = rcp_ssh_proc_wait(p, 300, &status);
	wait_ms = (rcp_now_ns() - t0) / 1000000;
	t0 = rcp_now_ns();
	r2 = (int)rcp_ssh_proc_read(p, false, buf, sizeof(buf), 200);
	read_ms = (rcp_now_ns() - t0) / 1000000;
	r0 = (int)rcp_ssh_proc_read(p, true, buf, sizeof(buf), 0);
	rcp_ssh_proc_free(p);
	printf("remote pid %s\n", pid != NULL ? pid : "?");
	printf("wait: %s after %u ms; read: %s after %u ms; poll: %s\n",
	    rcp_strerror(r1), (unsigned)wait_ms, rcp_strerror(r2),
	    (unsigned)read_ms, rcp_strerror(r0));
	free(pid);
	/*
	 * Not early, and not "never": a wait or read that missed its deadline
	 * would run into the end of the 7.25 s sleep and report its status or
	 * EOF instead of RCP_ERR_TIMEOUT.  No upper bound on the time: that
	 * would be a speed claim, which a loaded machine breaks.
	 */
	return rp == 0 && r1 == RCP_ERR_TIMEOUT && r2 == RCP_ERR_TIMEOUT &&
	    r0 == RCP_ERR_TIMEOUT && wait_ms >= 290 && read_ms >= 190 ? 0 : 1;
}

static int
cmd_lines(struct rcp_ssh *s)
{
	struct rcp_ssh_proc *p;
	char *cause = NULL, *l1 = NULL, *l2 = NULL, *l3 = NULL, *l4 = NULL;
	int r1, r2, r3, r4, status = -2, ok;

	/* "", "one", then 20 x's and a newline, then "tail" without one. */
	p = rcp_ssh_exec(s, "printf '\\none\\nxxxxxxxxxxxxxxxxxxxx\\ntail'",
	    &cause);
	if (p == NULL) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		return 1;
	}
	r1 = rcp_ssh_proc_read_line(p, &l1, 10, PROBE_TIMEOUT_MS);
	r2 = rcp_ssh_proc_read_line(p, &l2, 10, PROBE_TIMEOUT_MS);
	r3 = rcp_ssh_proc_read_line(p, &l3, 10, PROBE_TIMEOUT_MS);
	rcp_ssh_proc_free(p);
	p = rcp_ssh_exec(s, "printf 'tail'", &cause);
	if (p == NULL) {
		fprintf(stderr, "ssh-probe: %s\n", cause);
		return 1;
	}
	r4 = rcp_ssh_proc_read_line(p, &l4, 10, PROBE_TIMEOUT_MS);
	rcp_ssh_proc_wait(p, PROBE_TIMEOUT_MS, &status);
	rcp_ssh_proc_free(p);
	printf("1: %s '%s'; 2: %s '%s'; 3: %s; 4: %s; status %d\n",
	    rcp_strerror(r1), l1 ? l1 : "", rcp_strerror(r2), l2 ? l2 : "",
	    rcp_strerror(r3), rcp_strerror(r4), status);
	ok = r1 == 0 && strcmp(l1, "") == 0 && r2 == 0 &&
	    strcmp(l2, "one") == 0 && r3 == RCP_ERR_TOOBIG && l3 == NULL &&
	    r4 == RCP_ERR_PROTO && l4 == NULL && status == 0;
	free(l1);
	free(l2);
	return ok ? 0 : 1;
}

static int
cmd_localaddr(struct rcp_ssh *s)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char host[NI_MAXHOST];

	if (rcp_ssh_local_addr(s, &ss, &len) != 0 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) != 0) {
		fprintf(stderr, "ssh-probe: no local address\n");
		return 1;
	}
	printf("%s\n", host);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct rcp_log log = { log_stderr, NULL, RCP_LOG_WARN };
	struct rcp_ssh *s;
	uint64_t v;
	int c, r;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt(argc, argv, "aF:i:k:st:v")) != -1) {
		switch (c) {
		case 'a':
			opts.accept_new = true;
			break;
		case 'F':
			opts.config_file = optarg;
			break;
		case 'i':
			opts.identity = optarg;
			break;
		case 'k':
			opts.known_hosts = optarg;
			break;
		case 's':
			send_stdin = true;
			break;
		case 't':
			if (rcp_parse_uint(optarg, 3600000, &v) != 0)
				goto bad;
			opts.connect_timeout_ms = (int)v;
			break;
		case 'v':
			log.level++;
			break;
		default:
			goto bad;
		}
	}
	opts.log = &log;
	argc -= optind;
	argv += optind;
	if (argc < 2)
		goto bad;
	if (strcmp(argv[0], "run") == 0 && argc == 3) {
		s = connect_or_die(argv[1]);
		r = cmd_run(s, argv[2]);
	} else if (strcmp(argv[0], "cat") == 0 && argc == 3) {
		s = connect_or_die(argv[1]);
		r = cmd_cat(s, argv[2]);
	} else if (strcmp(argv[0], "parallel") == 0 && argc == 4) {
		s = connect_or_die(argv[1]);
		r = cmd_parallel(s, argv[2], argv[3]);
	} else if (strcmp(argv[0], "pingpong") == 0 && argc == 3) {
		s = connect_or_die(argv[1]);
		r = cmd_pingpong(s, argv[2]);
	} else if (strcmp(argv[0], "timeout") == 0 && argc == 2) {
		s = connect_or_die(argv[1]);
		r = cmd_timeout(s);
	} else if (strcmp(argv[0], "lines") == 0 && argc == 2) {
		s = connect_or_die(argv[1]);
		r = cmd_lines(s);
	} else if (strcmp(argv[0], "localaddr") == 0 && argc == 2) {
		s = connect_or_die(argv[1]);
		r = cmd_localaddr(s);
	} else
		goto bad;
	rcp_ssh_free(s);
	return r;

bad:
	fputs(usage, stderr);
	return 2;
}
