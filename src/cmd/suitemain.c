/*
 * suitemain.c: the shared part of the mains of rrm, rchm and rlink
 * (suitemain.h): output as rcp's, signals that stop the run cleanly.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "cmd/suitemain.h"
#include "engine/copy.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static volatile sig_atomic_t got_signal;
static const struct suite_engine *volatile signal_engine;

/* The first signal stops the run cleanly; a second ends it at once. */
static void
on_signal(int sig)
{
	static const char msg[] = "second signal: exiting now; the run is "
	    "incomplete\n";

	if (got_signal != 0) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(SUITE_EXIT_FAIL);
	}
	got_signal = sig;
	if (signal_engine != NULL)
		signal_engine->cancel(signal_engine->eng);
}

int
suite_parse(struct rcp_suiteopts *s, const char *prog, int argc,
    char **argv, void (*usage)(FILE *), int *first)
{
	char *cause = NULL;
	int code;

	if (rcp_suiteopts_parse(s, argc, argv, first, &cause) != 0) {
		code = rcp_usage_error(prog, SUITE_EXIT_USAGE, "%s",
		    cause != NULL ? cause : "bad option");
		free(cause);
		return code;
	}
	if (s->cl.help) {
		usage(stdout);
		return SUITE_EXIT_OK;
	}
	if (s->cl.version) {
		printf("%s %s\n", prog, PACKAGE_VERSION);
		return SUITE_EXIT_OK;
	}
	return -1;
}

static void
clear_bar(struct suite_ui *ui)
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
	struct suite_ui *ui = arg;

	pthread_mutex_lock(&ui->lock);
	clear_bar(ui);
	if (level == RCP_LOG_OUTPUT)
		fprintf(stdout, "%s\n", msg);
	else
		fprintf(stdout, "%s: %s\n", rcp_log_level_name(level), msg);
	fflush(stdout);
	pthread_mutex_unlock(&ui->lock);
}

void
suite_ui_init(struct suite_ui *ui, const char *prog,
    const struct rcp_suiteopts *s)
{
	const struct rcp_cliopts *cl = &s->cl;

	memset(ui, 0, sizeof(*ui));
	ui->prog = prog;
	pthread_mutex_init(&ui->lock, NULL);
	ui->start_ns = rcp_now_ns();
	ui->log.fn = log_sink;
	ui->log.arg = ui;
	ui->log.level = cl->quiet ? RCP_LOG_ERROR : RCP_LOG_WARN +
	    cl->verbosity;
	if (!cl->progress)
		return;
	ui->progress = true;
	ui->progress_type = cl->progress_type;
	if (ui->progress_type == RCP_CLIOPTS_PROG_AUTO)
		ui->progress_type = isatty(STDERR_FILENO) ?
		    RCP_CLIOPTS_PROG_BAR : RCP_CLIOPTS_PROG_TEXT;
	ui->progress_delay_ns = cl->progress_delay_ns;
	if (ui->progress_delay_ns == 0)
		ui->progress_delay_ns = ui->progress_type ==
		    RCP_CLIOPTS_PROG_BAR ? 200000000u : 10000000000u;
}

static void
progress_tick(void *arg)
{
	struct suite_ui *ui = arg;
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t now = rcp_now_ns();
	int cols;

	ui->e.progress(ui->e.eng, &b, now - ui->start_ns);
	pthread_mutex_lock(&ui->lock);
	if (ui->progress_type == RCP_CLIOPTS_PROG_BAR) {
		cols = rcp_term_cols(STDERR_FILENO);
		if (cols > 1 && b.len > (size_t)cols - 1)
			b.data[cols - 1] = '\0';
		fprintf(stderr, "\r\033[K%s", rcp_buf_str(&b));
		ui->bar_shown = true;
	} else
		fprintf(stderr, "%s\n", rcp_buf_str(&b));
	fflush(stderr);
	pthread_mutex_unlock(&ui->lock);
	rcp_buf_release(&b);
}

void
suite_ui_start(struct suite_ui *ui, const struct suite_engine *e)
{
	struct sigaction sa;

	ui->e = *e;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_engine = &ui->e;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ui->progress)
		ui->ticker = rcp_ticker_start(ui->progress_delay_ns,
		    progress_tick, ui);
}

int
suite_ui_finish(struct suite_ui *ui, const struct rcp_suiteopts *s, int r,
    const char *cause)
{
	struct rcp_buf b = RCP_BUF_INIT;
	unsigned long long n;
	int code = SUITE_EXIT_FAIL;

	rcp_ticker_stop(ui->ticker);
	ui->ticker = NULL;
	signal_engine = NULL;
	pthread_mutex_lock(&ui->lock);
	clear_bar(ui);
	pthread_mutex_unlock(&ui->lock);
	n = (unsigned long long)ui->e.errors(ui->e.eng);
	if (r == 0)
		code = SUITE_EXIT_OK;
	else if (r == RCP_ERR_CANCELED)
		fprintf(stderr, "%s: interrupted by signal %d; the run is "
		    "incomplete\n", ui->prog, (int)got_signal);
	else if (r == RCP_ERR_PARTIAL)
		fprintf(stderr, "%s: %llu error%s; see the messages above\n",
		    ui->prog, n, n == 1 ? "" : "s");
	else
		fprintf(stderr, "%s: %s\n", ui->prog, cause != NULL ? cause :
		    rcp_strerror(r));
	if ((s->cl.summary || s->cl.o.dry_run != RCP_DRY_NONE) &&
	    (r == 0 || r == RCP_ERR_PARTIAL || r == RCP_ERR_CANCELED)) {
		ui->e.summary(ui->e.eng, &b, ui->start_ns);
		fputs(rcp_buf_str(&b), stdout);
		fflush(stdout);
		rcp_buf_release(&b);
	}
	return code;
}

void
suite_ui_release(struct suite_ui *ui)
{
	rcp_ticker_stop(ui->ticker);
	pthread_mutex_destroy(&ui->lock);
}
