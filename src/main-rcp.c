/*
 * main-rcp.c: the rcp command.  Parses options, runs the copy engine
 * in-process, shows progress on stderr and logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cliopts.h"
#include "copy.h"
#include "error.h"
#include "log.h"
#include "progress.h"
#include "strbuf.h"
#include "util.h"

#include "banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

/* State shared by the main thread, the log sink and the progress thread. */
struct ui {
	pthread_mutex_t	 lock;		/* serializes output */
	pthread_cond_t	 cond;		/* wakes the progress thread */
	bool		 done;		/* requires lock */
	bool		 bar_shown;	/* requires lock */
	bool		 progress;
	int		 progress_type;
	uint64_t	 progress_delay_ns;
	uint64_t	 start_ns;
	struct rcp_copy	*copy;
};

static volatile sig_atomic_t got_signal;
static struct rcp_copy *volatile signal_copy;

static void
on_signal(int sig)
{
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

static int
term_cols(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

static void *
progress_main(void *arg)
{
	struct ui *ui = arg;
	struct rcp_copy_stats s;
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t now, last_ns = ui->start_ns, last_bytes = 0, deadline;
	struct timespec ts;
	double rate;

	pthread_mutex_lock(&ui->lock);
	while (!ui->done) {
		deadline = rcp_now_ns() + ui->progress_delay_ns;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(ui->progress_delay_ns / 1000000000u);
		ts.tv_nsec += (long)(ui->progress_delay_ns % 1000000000u);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!ui->done && rcp_now_ns() < deadline)
			pthread_cond_timedwait(&ui->cond, &ui->lock, &ts);
		if (ui->done)
			break;
		rcp_copy_stats(ui->copy, &s);
		now = rcp_now_ns();
		rate = now > last_ns ? (double)(s.bytes_copied - last_bytes) *
		    1e9 / (double)(now - last_ns) : 0;
		last_ns = now;
		last_bytes = s.bytes_copied;
		rcp_buf_reset(&b);
		if (ui->progress_type == RCP_CLIOPTS_PROG_BAR) {
			rcp_progress_bar(&b, &s, now - ui->start_ns, rate,
			    term_cols());
			fprintf(stderr, "\r\033[K%s", rcp_buf_str(&b));
			ui->bar_shown = true;
		} else {
			rcp_progress_text(&b, &s, now - ui->start_ns, rate);
			fprintf(stderr, "%s\n", rcp_buf_str(&b));
		}
		fflush(stderr);
	}
	clear_bar(ui);
	pthread_mutex_unlock(&ui->lock);
	rcp_buf_release(&b);
	return NULL;
}

static int bad_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("rcp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'rcp --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

/* Raises the soft open-file limit to the hard one; returns the new soft. */
static rlim_t
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

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
 * to go on, else an exit code.
 */
static int
parse_options(struct rcp_cliopts *cl, int argc, char **argv, int *first)
{
	char *cause = NULL;
	int code;

	if (rcp_cliopts_parse(cl, argc, argv, 0, NULL, first, &cause) != 0) {
		code = bad_usage("%s", cause);
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

int
main(int argc, char **argv)
{
	struct rcp_cliopts cl;
	struct ui ui;
	struct rcp_log log;
	struct sigaction sa;
	pthread_t progress;
	const char *home = getenv("HOME");
	char **srcs = NULL, *dst = NULL, *cause = NULL;
	struct rcp_copy_stats s;
	int r, i, nsrcs = 0, code, first;
	bool progress_started = false;

	memset(&ui, 0, sizeof(ui));
	rcp_cliopts_init(&cl);
	pthread_mutex_init(&ui.lock, NULL);
	pthread_cond_init(&ui.cond, NULL);
	if ((code = parse_options(&cl, argc, argv, &first)) >= 0)
		goto out;
	code = EXIT_FAIL;

	ui.start_ns = rcp_now_ns();
	if (cl.o.max_open_files == 0)
		cl.o.max_open_files = (int)(raise_nofile() * 8 / 10);
	else
		raise_nofile();

	nsrcs = argc - first - 1;
	srcs = rcp_xcalloc((size_t)nsrcs, sizeof(char *));
	for (i = 0; i < nsrcs; i++)
		srcs[i] = rcp_copy_expand_home(argv[first + i], home);
	dst = rcp_copy_expand_home(argv[argc - 1], home);

	log.fn = log_sink;
	log.arg = &ui;
	log.level = cl.quiet ? RCP_LOG_ERROR : RCP_LOG_WARN + cl.verbosity;
	ui.copy = rcp_copy_new(&cl.o, &log);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_copy = ui.copy;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

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
		if (pthread_create(&progress, NULL, progress_main, &ui) == 0)
			progress_started = true;
	}

	r = rcp_copy_run(ui.copy, (const char *const *)srcs, (size_t)nsrcs,
	    dst, &cause);

	if (progress_started) {
		pthread_mutex_lock(&ui.lock);
		ui.done = true;
		pthread_cond_broadcast(&ui.cond);
		pthread_mutex_unlock(&ui.lock);
		pthread_join(progress, NULL);
	}
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
	pthread_cond_destroy(&ui.cond);
	pthread_mutex_destroy(&ui.lock);
	return code;
}
