/*
 * main-rcp.c: the rcp command.  Parses options, runs the copy engine
 * in-process, shows progress on stderr and logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/ticker.h"
#include "base/util.h"
#include "engine/copy.h"
#include "engine/progress.h"
#include "net/child.h"
#include "opts/cliopts.h"
#include "remote/remotecopy.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* State shared by the main thread, the log sink and the progress thread. */
struct ui {
	pthread_mutex_t	 lock;		/* serializes output */
	bool		 bar_shown;	/* requires lock */
	bool		 progress;
	int		 progress_type;
	uint64_t	 progress_delay_ns;
	uint64_t	 start_ns;
	struct rcp_copy	*copy;		/* a local copy, or */
	struct rcp_remotecopy *remote;	/* a remote one */
	uint64_t	 last_ns;	/* of the last tick; the ticker's own */
	uint64_t	 last_bytes;	/* copied by then; the ticker's own */
};

/* The counters to show, wherever the copy runs. */
static void
ui_stats(struct ui *ui, struct rcp_copy_stats *s)
{
	if (ui->remote != NULL)
		rcp_remotecopy_progress(ui->remote, s);
	else
		rcp_copy_stats(ui->copy, s);
}

static volatile sig_atomic_t got_signal;
static struct rcp_copy *volatile signal_copy;

/*
 * The first signal stops the copy cleanly (the agents of a remote copy are
 * ended, within RCP_REMOTE_*_GRACE_MS each); a second one ends rcp at once
 * (its local agents are killed, remote ones die with their SSH sessions,
 * main-rcpd.c).
 */
static void
on_signal(int sig)
{
	static const char msg[] = "rcp: second signal: exiting now; the copy "
	    "is incomplete\n";

	if (got_signal != 0) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		rcp_child_kill_all(SIGKILL);
		_exit(EXIT_FAIL);
	}
	got_signal = sig;
	if (signal_copy != NULL)
		rcp_copy_cancel(signal_copy);
}

static void
usage(FILE *fp)
{
	fputs(
"usage: rcp [OPTIONS] SRC... DST\n"
"\n"
"Copies files and directory trees quickly, with many threads.  DST without a\n"
"trailing '/' is the final name of the one source; with one, each SRC is\n"
"copied into it.  An existing destination needs --overwrite.\n"
"\n",
	    fp);
	rcp_cliopts_help(fp);
	fputs("\n", fp);
	rcp_cliopts_help_remote(fp);
	fputs("\n"
"Output:\n"
"  -v, --verbose               more log lines on stdout (-v, -vv, -vvv)\n"
"  -q, --quiet                 only errors\n"
"      --progress              show progress on stderr\n"
"      --progress-type T       auto (default), bar or text\n"
"      --progress-delay D      time between updates (e.g. 500ms, 10s)\n"
"      --summary               print a summary on stdout at the end\n"
"  -h, --help                  show this help\n"
"  -V, --version               show the version\n"
"\n"
"Exit status: 0 success, 1 some entry failed, 2 bad usage.\n", fp);
}

static void
clear_bar(struct ui *ui)
{
	/* requires ui->lock */
	if (ui->bar_shown) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		ui->bar_shown = false;
	}
}

static void
log_sink(void *arg, int level, const char *msg)
{
	struct ui *ui = arg;

	pthread_mutex_lock(&ui->lock);
	clear_bar(ui);
	if (level == RCP_LOG_OUTPUT)
		fprintf(stdout, "%s\n", msg);
	else
		fprintf(stdout, "%s: %s\n", rcp_log_level_name(level), msg);
	fflush(stdout);
	pthread_mutex_unlock(&ui->lock);
}

/* A tick of the progress thread: turns a signal into an abort, then shows. */
static void
progress_tick(void *arg)
{
	struct ui *ui = arg;
	struct rcp_copy_stats s;
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t now;
	double rate;

	/* A remote copy is stopped from here, not a handler. */
	if (got_signal && ui->remote != NULL)
		rcp_remotecopy_abort(ui->remote);
	if (!ui->progress)
		return;
	ui_stats(ui, &s);
	now = rcp_now_ns();
	rate = now > ui->last_ns ? (double)(s.bytes_copied - ui->last_bytes) *
	    1e9 / (double)(now - ui->last_ns) : 0;
	ui->last_ns = now;
	ui->last_bytes = s.bytes_copied;
	pthread_mutex_lock(&ui->lock);
	if (ui->progress_type == RCP_CLIOPTS_PROG_BAR) {
		rcp_progress_bar(&b, &s, now - ui->start_ns, rate,
		    rcp_term_cols(STDERR_FILENO));
		fprintf(stderr, "\r\033[K%s", rcp_buf_str(&b));
		ui->bar_shown = true;
	} else {
		rcp_progress_text(&b, &s, now - ui->start_ns, rate);
		fprintf(stderr, "%s\n", rcp_buf_str(&b));
	}
	fflush(stderr);
	pthread_mutex_unlock(&ui->lock);
	rcp_buf_release(&b);
}

static rcp_ticker *
progress_start(struct ui *ui)
{
	ui->last_ns = ui->start_ns;
	ui->last_bytes = 0;
	return rcp_ticker_start(ui->progress_delay_ns, progress_tick, ui);
}

/* Stops the progress thread (NULL: none) and takes its bar off. */
static void
progress_stop(struct ui *ui, rcp_ticker *t)
{
	rcp_ticker_stop(t);
	pthread_mutex_lock(&ui->lock);
	clear_bar(ui);
	pthread_mutex_unlock(&ui->lock);
}

#define bad_usage(...) rcp_usage_error("rcp", EXIT_USAGE, __VA_ARGS__)

static void
print_summary(struct rcp_copy *copy, uint64_t start_ns)
{
	struct rcp_copy_stats s;
	struct rcp_runstats rs;
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_copy_stats(copy, &s);
	rcp_runstats_now(&rs, start_ns);
	rcp_progress_summary(&b, &s, &rs);
	fputs(rcp_buf_str(&b), stdout);
	fflush(stdout);
	rcp_buf_release(&b);
}

/*
 * Parses options into cl and sets *first to the first operand; returns -1
 * to go on, else an exit code.  The options are cliopts' (shared with
 * rcp-master and rcpctl, remote ones included).
 */
static int
parse_options(struct rcp_cliopts *cl, int argc, char **argv, int *first)
{
	char *cause = NULL;
	int code;

	if (rcp_cliopts_parse(cl, argc, argv, 0, NULL, first, &cause) != 0) {
		code = bad_usage("%s", cause != NULL ? cause : "bad option");
		free(cause);
		return code;
	}
	if (cl->help) {
		usage(stdout);
		return EXIT_OK;
	}
	if (cl->version) {
		printf("rcp %s\n", PACKAGE_VERSION);
		return EXIT_OK;
	}
	if (argc - *first < 2)
		return bad_usage("%s", argc - *first == 0 ? "missing source "
		    "and destination" : "missing destination");
	return -1;
}

/* Whether any operand names a remote host. */
static bool
is_remote(char **paths, int n, bool force)
{
	char *host, *path;
	int i;

	for (i = 0; i < n; i++) {
		if (rcp_remoteopts_split(paths[i], force, &host, &path)) {
			free(host);
			free(path);
			return true;
		}
	}
	return false;
}

static void
print_host(const char *role, const struct rcp_remote_summary *h)
{
	char t[32], cpu[32], rss[32];

	printf("%s host %s: walltime %s, cpu time %s, peak rss %s\n", role,
	    h->host, rcp_fmt_duration(t, sizeof(t), h->wall_ns),
	    rcp_fmt_duration(cpu, sizeof(cpu), h->cpu_ns),
	    rcp_fmt_bytes(rss, sizeof(rss), (double)h->peak_rss));
}

/* Runs a remote copy; returns the exit code. */
static int
run_remote(struct rcp_cliopts *cl, struct ui *ui, const struct rcp_log *log, char **ops, int nsrcs)
{
	struct rcp_remotecopy_result res;
	struct rcp_runstats rs;
	struct rcp_buf b = RCP_BUF_INIT;
	rcp_ticker *watch;
	char cwd[4096], *cause = NULL;
	int r, code = EXIT_FAIL;

	if (getcwd(cwd, sizeof(cwd)) == NULL)
		cwd[0] = '\0';
	cl->remote.remote.log = log;
	cl->remote.remote.agent_verbosity = log->level;
	r = rcp_remotecopy_new(&cl->remote, &cl->o, cl->o.filter,
	    (const char *const *)ops, (size_t)nsrcs, ops[nsrcs],
	    cwd[0] ? cwd : NULL, &ui->remote, &cause);
	if (r != 0) {
		fprintf(stderr, "rcp: %s\n", cause);
		free(cause);
		return r == RCP_ERR_INVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	/* The same thread shows progress and turns signals into an abort. */
	watch = progress_start(ui);
	r = rcp_remotecopy_run(ui->remote, &res, &cause);
	progress_stop(ui, watch);
	if (r == 0)
		code = EXIT_OK;
	else if (got_signal)
		fprintf(stderr, "rcp: interrupted by signal %d; the copy is "
		    "incomplete\n", (int)got_signal);
	else if (r == RCP_ERR_PARTIAL)
		fprintf(stderr, "rcp: %llu error%s; see the messages above\n",
		    (unsigned long long)res.stats.errors,
		    res.stats.errors == 1 ? "" : "s");
	else
		fprintf(stderr, "rcp: %s\n", cause != NULL ? cause :
		    rcp_strerror(r));
	if ((cl->summary || cl->o.dry_run != RCP_DRY_NONE) &&
	    (r == 0 || r == RCP_ERR_PARTIAL)) {
		rcp_runstats_now(&rs, ui->start_ns);
		rcp_progress_summary(&b, &res.stats, &rs);
		fputs(rcp_buf_str(&b), stdout);
		rcp_buf_release(&b);
		if (res.have_hosts) {
			print_host("source", &res.hosts[0]);
			print_host("destination", &res.hosts[1]);
		}
		fflush(stdout);
	}
	free(cause);
	rcp_remotecopy_free(ui->remote);
	ui->remote = NULL;
	return code;
}

int
main(int argc, char **argv)
{
	struct rcp_cliopts cl;
	struct ui ui;
	struct rcp_log log;
	struct sigaction sa;
	rcp_ticker *progress = NULL;
	const char *home = getenv("HOME");
	char **srcs = NULL, *dst = NULL, *cause = NULL, *p;
	struct rcp_copy_stats s;
	int r, i, nsrcs = 0, code, first;

	memset(&ui, 0, sizeof(ui));
	rcp_cliopts_init(&cl);
	pthread_mutex_init(&ui.lock, NULL);
	if ((code = parse_options(&cl, argc, argv, &first)) >= 0)
		goto out;
	code = EXIT_FAIL;

	ui.start_ns = rcp_now_ns();
	if (cl.o.max_open_files == 0)
		cl.o.max_open_files = (int)((long long)rcp_raise_nofile() * 8 / 10);
	else
		rcp_raise_nofile();

	nsrcs = argc - first - 1;
	srcs = rcp_xcalloc((size_t)nsrcs, sizeof(char *));
	for (i = 0; i < nsrcs; i++) {
		p = rcp_remoteopts_local(argv[first + i]);
		srcs[i] = rcp_copy_expand_home(p, home);
		free(p);
	}
	p = rcp_remoteopts_local(argv[argc - 1]);
	dst = rcp_copy_expand_home(p, home);
	free(p);

	log.fn = log_sink;
	log.arg = &ui;
	log.level = cl.quiet ? RCP_LOG_ERROR : RCP_LOG_WARN + cl.verbosity;
	if (cl.progress) {
		ui.progress = true;
		ui.progress_type = cl.progress_type;
		if (ui.progress_type == RCP_CLIOPTS_PROG_AUTO)
			ui.progress_type = isatty(STDERR_FILENO) ?
			    RCP_CLIOPTS_PROG_BAR : RCP_CLIOPTS_PROG_TEXT;
		ui.progress_delay_ns = cl.progress_delay_ns;
		if (ui.progress_delay_ns == 0)
			ui.progress_delay_ns = ui.progress_type ==
			    RCP_CLIOPTS_PROG_BAR ? 200000000u : 10000000000u;
	}
	if (is_remote(argv + first, argc - first, cl.remote.force_remote)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
		if (!ui.progress)
			ui.progress_delay_ns = 100000000u;	/* signals only */
		code = run_remote(&cl, &ui, &log, argv + first, nsrcs);
		goto out;
	}
	ui.copy = rcp_copy_new(&cl.o, &log);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_copy = ui.copy;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (ui.progress)
		progress = progress_start(&ui);

	r = rcp_copy_run(ui.copy, (const char *const *)srcs, (size_t)nsrcs,
	    dst, &cause);

	progress_stop(&ui, progress);
	signal_copy = NULL;

	rcp_copy_stats(ui.copy, &s);
	if (r == 0)
		code = EXIT_OK;
	else if (r == RCP_ERR_PARTIAL)
		fprintf(stderr, "rcp: %llu error%s; see the messages above\n",
		    (unsigned long long)s.errors, s.errors == 1 ? "" : "s");
	else if (r == RCP_ERR_CANCELED)
		fprintf(stderr, "rcp: interrupted by signal %d; the copy is "
		    "incomplete\n", (int)got_signal);
	else
		fprintf(stderr, "rcp: %s\n", cause != NULL ? cause :
		    rcp_strerror(r));
	if (cl.o.dry_run != RCP_DRY_NONE || cl.summary)
		if (r == 0 || r == RCP_ERR_PARTIAL || r == RCP_ERR_CANCELED)
			print_summary(ui.copy, ui.start_ns);
out:
	rcp_copy_free(ui.copy);
	rcp_cliopts_release(&cl);
	if (srcs != NULL)
		for (i = 0; i < nsrcs; i++)
			free(srcs[i]);
	free(srcs);
	free(dst);
	free(cause);
	pthread_mutex_destroy(&ui.lock);
	return code;
}
