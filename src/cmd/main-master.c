/*
 * main-master.c: the rcp-master command.  Reads options (and a config file
 * of the same options), takes the socket systemd passes (LISTEN_FDS) if
 * any, runs the service until SIGTERM/SIGINT or a shutdown request, and
 * logs to stderr.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "service/master.h"
#include "workers/ledger.h"
#include "workers/runner.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* Config file lines are options; a longer line is a mistake. */
#define CONFIG_LINE_MAX 4096

/* The first fd systemd passes (sd_listen_fds(3)). */
#define LISTEN_FDS_START 3

enum {
	OPT_SOCKET = 256,
	OPT_SOCKET_MODE,
	OPT_STATE_DIR,
	OPT_WORKERS,
	OPT_PAIR_CAP,
	OPT_KEEP,
	OPT_SESSION_IDLE,
	OPT_MAX_CLIENTS,
	OPT_HELLO_TIMEOUT,
	OPT_CLIENT_TIMEOUT,
	OPT_STALL_TIMEOUT,
	OPT_CONFIG,
	OPT_METRICS_TEXTFILE,
	OPT_LEDGER_MAX,
	OPT_HOST_GROUPS
};

static const struct option longopts[] = {
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "socket-mode", required_argument, NULL, OPT_SOCKET_MODE },
	{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "pair-cap", required_argument, NULL, OPT_PAIR_CAP },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "session-idle", required_argument, NULL, OPT_SESSION_IDLE },
	{ "max-clients", required_argument, NULL, OPT_MAX_CLIENTS },
	{ "hello-timeout", required_argument, NULL, OPT_HELLO_TIMEOUT },
	{ "client-timeout", required_argument, NULL, OPT_CLIENT_TIMEOUT },
	{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "metrics-textfile", required_argument, NULL, OPT_METRICS_TEXTFILE },
	{ "ledger-max", required_argument, NULL, OPT_LEDGER_MAX },
	{ "host-groups", required_argument, NULL, OPT_HOST_GROUPS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct cli {
	struct rcp_master_opts	 o;
	char			*socket;
	char			*state_dir;
	char			*metrics;	/* --metrics-textfile */
	int			 level;
	const char		*config;	/* read before the command line */
	bool			 in_config;
};

static void
usage(FILE *fp)
{
	fputs(
"usage: rcp-master [OPTIONS]\n"
"\n"
"The rcp job service: accepts copy jobs on a Unix-domain socket (rcpctl is\n"
"its client), queues them, runs them with a pool of workers as the user who\n"
"submitted them, and keeps them in a journal that survives restarts.\n"
"\n"
"  --socket PATH        control socket (default $XDG_RUNTIME_DIR/rcp/master.sock,\n"
"                       else /tmp/rcp-$UID/master.sock)\n"
"  --socket-mode MODE   mode of the socket file (default 0600; 0666 lets every\n"
"                       user submit to a master run by root)\n"
"  --state-dir DIR      journal and lock (default $XDG_STATE_HOME/rcp, else\n"
"                       ~/.local/state/rcp)\n"
"  --workers N          jobs running at once (default 4)\n"
"  --pair-cap N         jobs running at once per host pair (default: --workers)\n"
"  --keep DURATION      how long finished jobs are kept (default 7d; s, m, h, d),\n"
"                       and their ledgers (rcpctl files) with them\n"
"  --ledger-max SIZE    bytes of one job's ledger of failed entries and copied\n"
"                       files (default 64M; past it entries are only counted)\n"
"  --session-idle DUR   keep a remote job's SSH connection and agents this long\n"
"                       for the next job between the same hosts (default 60s;\n"
"                       0 ends them with each job)\n"
"  --host-groups FILE   named groups of hosts for remote jobs (NAME = HOST...;\n"
"                       default: $RCP_HOST_GROUPS, else /etc/rcp/hosts)\n"
"  --max-clients N      connections at once (default 1024)\n"
"  --hello-timeout D    time a new client has to say hello (default 30s)\n"
"  --client-timeout D   drop a client that has taken none of its pending\n"
"                       replies for this long (default 30s)\n"
"  --stall-timeout D    fail a running job whose counters have not moved for\n"
"                       this long (default 10m; 0: never; a job's own\n"
"                       --stall-timeout wins)\n"
"  --metrics-textfile PATH  keep PATH up to date (every 5s) with the metrics\n"
"                       of 'rcpctl metrics', for node_exporter's textfile\n"
"                       collector (written to PATH.tmp, then renamed)\n"
"  --config FILE        read options from FILE: one 'option value' a line\n"
"  -v, --verbose        log more (-vv: each client)\n"
"  -q, --quiet          log only errors\n"
"  -h, --help           show this help\n"
"  -V, --version        show the version\n"
"\n"
"SIGTERM and SIGINT stop it gracefully: running jobs are stopped and queued\n"
"again for the next start, which skips what they had copied.\n", fp);
}

#define bad_usage(...) rcp_usage_error("rcp-master", EXIT_USAGE, __VA_ARGS__)

static int parse_args(struct cli *cl, int argc, char **argv);

/* Reads "option value" lines as if they were "--option value". */
static int
read_config(struct cli *cl, const char *path)
{
	char line[CONFIG_LINE_MAX], *p, *key, *val, *end, *argv[4];
	static char prog[] = "rcp-master";
	int lineno = 0, r = -1;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL)
		return bad_usage("--config: cannot open '%s': %s", path,
		    strerror(errno));
	cl->in_config = true;
	while (r < 0 && fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (*p == '#' || *p == '\n' || *p == '\0')
			continue;
		p[strcspn(p, "\n")] = '\0';
		key = p;
		p += strcspn(p, " \t=");
		val = NULL;
		if (*p != '\0') {
			*p++ = '\0';
			p += strspn(p, " \t=");
			for (end = p + strlen(p); end > p && (end[-1] == ' ' ||
			    end[-1] == '\t'); end--)
				;
			*end = '\0';
			val = *p != '\0' ? p : NULL;
		}
		argv[0] = prog;
		argv[1] = rcp_xasprintf("--%s", key);
		argv[2] = val;
		argv[3] = NULL;
		r = parse_args(cl, val != NULL ? 3 : 2, argv);
		if (r >= 0)
			fprintf(stderr, "rcp-master: in '%s' line %d\n", path,
			    lineno);
		free(argv[1]);
	}
	fclose(fp);
	cl->in_config = false;
	return r;
}

/* Applies one option; returns -1 to go on, else an exit code. */
static int
apply(struct cli *cl, int ch, const char *arg)
{
	uint64_t v;

	switch (ch) {
	case OPT_SOCKET:
		free(cl->socket);
		cl->socket = rcp_xstrdup(arg);
		break;
	case OPT_SOCKET_MODE:
		errno = 0;
		v = strtoull(arg, NULL, 8);
		if (errno != 0 || v > 0777 || arg[strspn(arg, "01234567")])
			return bad_usage("--socket-mode: '%s' is not an octal "
			    "mode", arg);
		cl->o.socket_mode = (mode_t)v;
		break;
	case OPT_STATE_DIR:
		free(cl->state_dir);
		cl->state_dir = rcp_xstrdup(arg);
		break;
	case OPT_LEDGER_MAX:
		if (rcp_parse_size(arg, &v) != 0 || v < RCP_LEDGER_MIN_MAX)
			return bad_usage("--ledger-max: '%s' is not a size of "
			    "at least %u bytes (e.g. 64M, 1G)", arg,
			    RCP_LEDGER_MIN_MAX);
		cl->o.ledger_max = v;
		break;
	case OPT_METRICS_TEXTFILE:
		free(cl->metrics);
		cl->metrics = rcp_xstrdup(arg);
		break;
	case OPT_WORKERS:
	case OPT_PAIR_CAP:
	case OPT_MAX_CLIENTS:
		if (rcp_parse_uint(arg, 65536, &v) != 0 || (v == 0 &&
		    ch != OPT_PAIR_CAP))
			return bad_usage("'%s' is not a number from 1 to "
			    "65536", arg);
		if (ch == OPT_WORKERS)
			cl->o.workers = (int)v;
		else if (ch == OPT_PAIR_CAP)
			cl->o.pair_cap = (int)v;
		else
			cl->o.max_clients = (int)v;
		break;
	case OPT_KEEP:
	case OPT_SESSION_IDLE:
	case OPT_HELLO_TIMEOUT:
	case OPT_CLIENT_TIMEOUT:
	case OPT_STALL_TIMEOUT:
		/* "90", "30s", "10m", "12h", "7d": up to ten years. */
		if (rcp_parse_duration(arg, true, 3650.0 * 86400, &v) != 0)
			return bad_usage("'%s' is not a duration (e.g. 30s, "
			    "12h, 7d)", arg);
		if (ch == OPT_KEEP)
			cl->o.keep_ns = v;
		else if (ch == OPT_SESSION_IDLE)
			cl->o.session_idle_ns = v;
		else if (ch == OPT_CLIENT_TIMEOUT)
			cl->o.client_timeout_ns = v;
		else if (ch == OPT_STALL_TIMEOUT)
			cl->o.stall_ns = v;
		else
			cl->o.hello_timeout_ns = v;
		break;
	case OPT_HOST_GROUPS:
		/* Read by each remote job as it starts (hostgroups.h): set
		 * before any thread, for every job to see. */
		if (arg[0] == '\0')
			return bad_usage("%s", "--host-groups: an empty name");
		if (setenv("RCP_HOST_GROUPS", arg, 1) != 0)
			return bad_usage("--host-groups: %s", strerror(errno));
		break;
	case OPT_CONFIG:
		if (cl->in_config)
			return bad_usage("--config: config files do not nest");
		if (cl->config == NULL || strcmp(cl->config, arg) != 0)
			return bad_usage("%s", "--config FILE: spell it in full");
		break;
	case 'v':
		cl->level++;
		break;
	case 'q':
		cl->level = RCP_LOG_ERROR;
		break;
	case 'h':
		usage(stdout);
		return EXIT_OK;
	case 'V':
		printf("rcp-master %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	return -1;
}

static int
parse_args(struct cli *cl, int argc, char **argv)
{
	int ch, r;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vqhV", longopts, NULL)) != -1) {
		if (ch == ':' || ch == '?')
			r = rcp_usage_getopt("rcp-master", EXIT_USAGE, ch,
			    argv);
		else
			r = apply(cl, ch, optarg);
		if (r >= 0)
			return r;
	}
	if (optind < argc)
		return bad_usage("unexpected argument '%s'", argv[optind]);
	return -1;
}

/* Reads the --config file first, so that the command line overrides it. */
static int
parse_all(struct cli *cl, int argc, char **argv)
{
	int i, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			cl->config = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			cl->config = argv[i] + 9;
	}
	if (cl->config != NULL && (r = read_config(cl, cl->config)) >= 0)
		return r;
	return parse_args(cl, argc, argv);
}

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void
log_sink(void *arg, int level, const char *msg)
{
	char when[32];
	struct tm tm;
	time_t now = time(NULL);

	localtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s rcp-master: %s: %s\n", when,
	    rcp_log_level_name(level), msg);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

/*
 * The listening socket systemd passed: its fd, -1 if none was passed, or
 * RCP_ERR_INVAL with *cause set if what was passed is not one.
 */
static int
inherited_socket(char **cause)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	socklen_t len = sizeof(int);
	uint64_t p, n;
	int listening = 0;

	if (pid == NULL || fds == NULL || rcp_parse_uint(pid, INT32_MAX,
	    &p) != 0 || (pid_t)p != getpid() || rcp_parse_uint(fds, 64,
	    &n) != 0 || n < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &listening,
	    &len) != 0 || !listening) {
		*cause = rcp_xasprintf("LISTEN_FDS is set, but fd %d is not a "
		    "listening socket", LISTEN_FDS_START);
		return RCP_ERR_INVAL;
	}
	return LISTEN_FDS_START;
}

struct sigs {
	struct rcp_master	*m;
	sigset_t		 set;
};

/*
 * Turns SIGTERM and SIGINT into a graceful shutdown; main sends it SIGTERM
 * once the loop is over, so it never outlives the master.
 */
static void *
signal_main(void *arg)
{
	struct sigs *s = arg;
	int sig;

	for (;;) {
		if (sigwait(&s->set, &sig) != 0)
			continue;
		if (sig == SIGTERM || sig == SIGINT) {
			rcp_master_shutdown(s->m, true);
			return NULL;
		}
		/* SIGHUP, SIGPIPE: nothing to do. */
	}
}

int
main(int argc, char **argv)
{
	struct cli cl;
	struct rcp_log log;
	struct rcp_master *m = NULL;
	struct sigs sigs;
	pthread_t sig_thread;
	char *cause = NULL;
	bool sig_started;
	int code;

	/* Remote jobs run here, and in the processes of other users' ones. */
	rcp_runner_enable_remote();
	/* A remote job of another user: this program again, as that user. */
	if (argc == 2 && strcmp(argv[1], RCP_RUNNER_CHILD_ARG) == 0)
		return rcp_runner_child_main();

	memset(&cl, 0, sizeof(cl));
	rcp_master_opts_init(&cl.o);
	cl.level = RCP_LOG_INFO;
	if ((code = parse_all(&cl, argc, argv)) >= 0)
		goto out;
	code = EXIT_FAIL;

	/* Before any thread: every thread inherits this mask. */
	sigemptyset(&sigs.set);
	sigaddset(&sigs.set, SIGTERM);
	sigaddset(&sigs.set, SIGINT);
	sigaddset(&sigs.set, SIGHUP);
	sigaddset(&sigs.set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs.set, NULL);
	rcp_raise_nofile();

	log.fn = log_sink;
	log.arg = NULL;
	log.level = cl.level;
	cl.o.log = &log;
	cl.o.socket_path = cl.socket;
	cl.o.metrics_textfile = cl.metrics;
	cl.o.state_dir = cl.state_dir;
	if ((cl.o.listen_fd = inherited_socket(&cause)) < -1 ||
	    rcp_master_new(&cl.o, &m, &cause) != 0) {
		fprintf(stderr, "rcp-master: %s\n", cause);
		goto out;
	}
	rcp_log(&log, RCP_LOG_INFO, "listening on '%s', %d worker%s",
	    rcp_master_socket(m) != NULL ? rcp_master_socket(m) :
	    "(inherited socket)", cl.o.workers, cl.o.workers == 1 ? "" : "s");
	sigs.m = m;
	sig_started = pthread_create(&sig_thread, NULL, signal_main,
	    &sigs) == 0;
	code = rcp_master_run(m) == 0 ? EXIT_OK : EXIT_FAIL;
	if (sig_started) {
		pthread_kill(sig_thread, SIGTERM);
		pthread_join(sig_thread, NULL);
	}
	rcp_log(&log, RCP_LOG_INFO, "stopped");
out:
	rcp_master_free(m);
	free(cause);
	free(cl.socket);
	free(cl.metrics);
	free(cl.state_dir);
	return code;
}
