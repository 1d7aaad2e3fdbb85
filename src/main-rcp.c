/*
 * main-rcp.c: the rcp command.  Parses options, runs the copy engine
 * in-process, shows progress on stderr and logs and the summary on stdout.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
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

#include "copy.h"
#include "error.h"
#include "filter.h"
#include "log.h"
#include "meta.h"
#include "progress.h"
#include "strbuf.h"
#include "util.h"

#include "banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

enum { PROG_AUTO, PROG_BAR, PROG_TEXT };

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
	fprintf(fp,
"usage: rcp [OPTIONS] SRC... DST\n"
"\n"
"Copies files and directory trees quickly, with many threads.  DST without a\n"
"trailing '/' is the final name of the one source; with one, each SRC is\n"
"copied into it.  An existing destination needs --overwrite.\n"
"\n"
"Updating an existing destination:\n"
"  -o, --overwrite             replace entries that differ; merge directories\n"
"      --overwrite-compare L   attributes that decide 'unchanged' (default\n"
"                              size,mtime; any of uid,gid,mode,size,mtime,ctime,\n"
"                              or per type: \"f:size,mtime d:mtime l:mtime\")\n"
"      --ignore-existing       leave entries that already exist alone\n"
"      --delete                remove destination entries the source lacks\n"
"      --delete-excluded       with --delete, remove excluded entries too\n"
"\n"
"What is copied and kept:\n"
"  -p, --preserve              keep owner, group, times and all mode bits\n"
"      --preserve-settings S   all, none or \"f:uid,gid,time,0777 d:... l:...\"\n"
"                              (default: mode & 0777 for files and dirs)\n"
"  -H, --hard-links            keep hard links within the source as links\n"
"  -L, --dereference           copy what symlinks point to\n"
"      --skip-specials         skip FIFOs, sockets and devices\n"
"      --include PATTERN       copy only entries matching (repeatable)\n"
"      --exclude PATTERN       do not copy entries matching (repeatable)\n"
"      --filter-file FILE      rules, one a line: '+ PATTERN' or '- PATTERN'\n"
"      --dry-run MODE          change nothing; report: brief, all or explain\n"
"\n"
"Errors:\n"
"  -e, --fail-early            stop at the first error (default: go on, exit 1)\n"
"\n"
"Speed and limits:\n"
"      --max-workers N         worker threads (default 0: one per CPU)\n"
"      --max-open-files N      cap on open files (default 80%% of the limit)\n"
"      --ops-throttle N        at most N entries a second\n"
"      --iops-throttle N       at most N I/Os of --chunk-size a second\n"
"      --chunk-size SIZE       unit of I/O; larger files are split into\n"
"                              chunks copied in parallel (default 16M)\n"
"\n"
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
"Exit status: 0 success, 1 some entry failed, 2 bad usage.\n");
}

enum {
	OPT_OVERWRITE_COMPARE = 256,
	OPT_IGNORE_EXISTING,
	OPT_DELETE,
	OPT_DELETE_EXCLUDED,
	OPT_PRESERVE_SETTINGS,
	OPT_SKIP_SPECIALS,
	OPT_INCLUDE,
	OPT_EXCLUDE,
	OPT_FILTER_FILE,
	OPT_DRY_RUN,
	OPT_MAX_WORKERS,
	OPT_MAX_OPEN_FILES,
	OPT_OPS_THROTTLE,
	OPT_IOPS_THROTTLE,
	OPT_CHUNK_SIZE,
	OPT_PROGRESS,
	OPT_PROGRESS_TYPE,
	OPT_PROGRESS_DELAY,
	OPT_SUMMARY
};

static const struct option longopts[] = {
	{ "overwrite", no_argument, NULL, 'o' },
	{ "overwrite-compare", required_argument, NULL, OPT_OVERWRITE_COMPARE },
	{ "ignore-existing", no_argument, NULL, OPT_IGNORE_EXISTING },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "delete-excluded", no_argument, NULL, OPT_DELETE_EXCLUDED },
	{ "preserve", no_argument, NULL, 'p' },
	{ "preserve-settings", required_argument, NULL, OPT_PRESERVE_SETTINGS },
	{ "hard-links", no_argument, NULL, 'H' },
	{ "dereference", no_argument, NULL, 'L' },
	{ "skip-specials", no_argument, NULL, OPT_SKIP_SPECIALS },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "filter-file", required_argument, NULL, OPT_FILTER_FILE },
	{ "dry-run", required_argument, NULL, OPT_DRY_RUN },
	{ "fail-early", no_argument, NULL, 'e' },
	{ "max-workers", required_argument, NULL, OPT_MAX_WORKERS },
	{ "max-open-files", required_argument, NULL, OPT_MAX_OPEN_FILES },
	{ "ops-throttle", required_argument, NULL, OPT_OPS_THROTTLE },
	{ "iops-throttle", required_argument, NULL, OPT_IOPS_THROTTLE },
	{ "chunk-size", required_argument, NULL, OPT_CHUNK_SIZE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "progress-type", required_argument, NULL, OPT_PROGRESS_TYPE },
	{ "progress-delay", required_argument, NULL, OPT_PROGRESS_DELAY },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

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
		if (ui->progress_type == PROG_BAR) {
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

/* Parses "500ms", "2s", "1.5" (seconds), "1m". */
static int
parse_duration(const char *s, uint64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || v < 0)
		return -1;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		v *= 60;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return -1;
	if (v > 86400)
		return -1;
	*ns = (uint64_t)(v * 1e9);
	return 0;
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

struct cli {
	struct rcp_copy_opts	 o;
	struct rcp_filter	*filter;
	int			 verbosity;
	bool			 quiet;
	bool			 summary;
	struct ui		 ui;
	bool			 delay_set;
};

/* Parses options into cli; returns -1 to go on, else an exit code. */
static int
parse_options(struct cli *cl, int argc, char **argv)
{
	char *cause = NULL;
	uint64_t v;
	double d;
	int ch, r;

	opterr = 0;	/* our own messages, naming the option */
	while ((ch = getopt_long(argc, argv, ":opHLevqhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			cl->o.overwrite = true;
			break;
		case OPT_OVERWRITE_COMPARE:
			if (rcp_attrs_parse(&cl->o.overwrite_compare, optarg,
			    &cause) != 0) {
				r = bad_usage("--overwrite-compare: %s", cause);
				free(cause);
				return r;
			}
			break;
		case OPT_IGNORE_EXISTING:
			cl->o.ignore_existing = true;
			break;
		case OPT_DELETE:
			cl->o.delete = true;
			break;
		case OPT_DELETE_EXCLUDED:
			cl->o.delete_excluded = true;
			break;
		case 'p':
			rcp_preserve_all(&cl->o.preserve);
			break;
		case OPT_PRESERVE_SETTINGS:
			if (rcp_preserve_parse(&cl->o.preserve, optarg,
			    &cause) != 0) {
				r = bad_usage("--preserve-settings: %s", cause);
				free(cause);
				return r;
			}
			break;
		case 'H':
			cl->o.hard_links = true;
			break;
		case 'L':
			cl->o.dereference = true;
			break;
		case OPT_SKIP_SPECIALS:
			cl->o.skip_specials = true;
			break;
		case OPT_INCLUDE:
		case OPT_EXCLUDE:
			if (rcp_filter_add(cl->filter, ch == OPT_INCLUDE ?
			    RCP_FILTER_INCLUDE : RCP_FILTER_EXCLUDE, optarg,
			    &cause) != 0) {
				r = bad_usage("%s", cause);
				free(cause);
				return r;
			}
			break;
		case OPT_FILTER_FILE:
			if (rcp_filter_load(cl->filter, optarg, &cause) != 0) {
				r = bad_usage("--filter-file: %s", cause);
				free(cause);
				return r;
			}
			break;
		case OPT_DRY_RUN:
			if (strcmp(optarg, "brief") == 0)
				cl->o.dry_run = RCP_DRY_BRIEF;
			else if (strcmp(optarg, "all") == 0)
				cl->o.dry_run = RCP_DRY_ALL;
			else if (strcmp(optarg, "explain") == 0)
				cl->o.dry_run = RCP_DRY_EXPLAIN;
			else
				return bad_usage("--dry-run: unknown mode '%s' "
				    "(expected brief, all or explain)", optarg);
			break;
		case 'e':
			cl->o.fail_early = true;
			break;
		case OPT_MAX_WORKERS:
			if (rcp_parse_uint(optarg, 4096, &v) != 0)
				return bad_usage("--max-workers: '%s' is not a "
				    "number from 0 to 4096", optarg);
			cl->o.max_workers = (int)v;
			break;
		case OPT_MAX_OPEN_FILES:
			if (rcp_parse_uint(optarg, 1u << 30, &v) != 0 || v < 16)
				return bad_usage("--max-open-files: '%s' is not "
				    "a number of at least 16", optarg);
			cl->o.max_open_files = (int)v;
			break;
		case OPT_OPS_THROTTLE:
		case OPT_IOPS_THROTTLE:
			if (rcp_parse_double(optarg, &d) != 0)
				return bad_usage("throttle: '%s' is not a "
				    "non-negative number", optarg);
			if (ch == OPT_OPS_THROTTLE)
				cl->o.ops_throttle = d;
			else
				cl->o.iops_throttle = d;
			break;
		case OPT_CHUNK_SIZE:
			if (rcp_parse_size(optarg, &v) != 0 || v < 4096 ||
			    v > (1ull << 40))
				return bad_usage("--chunk-size: '%s' is not a "
				    "size from 4K to 1T", optarg);
			cl->o.chunk_size = v;
			break;
		case 'v':
			cl->verbosity++;
			break;
		case 'q':
			cl->quiet = true;
			break;
		case OPT_PROGRESS:
			cl->ui.progress = true;
			break;
		case OPT_SUMMARY:
			cl->summary = true;
			break;
		case OPT_PROGRESS_TYPE:
			if (strcmp(optarg, "auto") == 0)
				cl->ui.progress_type = PROG_AUTO;
			else if (strcmp(optarg, "bar") == 0)
				cl->ui.progress_type = PROG_BAR;
			else if (strcmp(optarg, "text") == 0)
				cl->ui.progress_type = PROG_TEXT;
			else
				return bad_usage("--progress-type: unknown type "
				    "'%s' (expected auto, bar or text)", optarg);
			break;
		case OPT_PROGRESS_DELAY:
			if (parse_duration(optarg, &cl->ui.progress_delay_ns) != 0 ||
			    cl->ui.progress_delay_ns < 10000000u)
				return bad_usage("--progress-delay: '%s' is not a "
				    "duration from 10ms to 24h (e.g. 500ms, 10s)",
				    optarg);
			cl->delay_set = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("rcp %s\n", PACKAGE_VERSION);
			return EXIT_OK;
		case ':':
			return bad_usage("option '%s' needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				return bad_usage("unknown option '-%c'", optopt);
			return bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (cl->o.delete_excluded && !cl->o.delete)
		return bad_usage("%s", "--delete-excluded needs --delete");
	if (cl->o.overwrite && cl->o.ignore_existing)
		return bad_usage("%s", "--overwrite and --ignore-existing "
		    "cannot be combined");
	if (argc - optind < 2)
		return bad_usage("%s", argc - optind == 0 ? "missing source "
		    "and destination" : "missing destination");
	return -1;
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

int
main(int argc, char **argv)
{
	struct cli cl;
	struct rcp_log log;
	struct sigaction sa;
	pthread_t progress;
	const char *home = getenv("HOME");
	char **srcs = NULL, *dst = NULL, *cause = NULL;
	struct rcp_copy_stats s;
	int r, i, nsrcs, code;
	bool progress_started = false;

	memset(&cl, 0, sizeof(cl));
	rcp_copy_opts_init(&cl.o);
	cl.filter = rcp_filter_new();
	pthread_mutex_init(&cl.ui.lock, NULL);
	pthread_cond_init(&cl.ui.cond, NULL);
	if ((code = parse_options(&cl, argc, argv)) >= 0)
		goto out;
	code = EXIT_FAIL;

	cl.ui.start_ns = rcp_now_ns();
	if (cl.o.max_open_files == 0)
		cl.o.max_open_files = (int)(raise_nofile() * 8 / 10);
	else
		raise_nofile();
	if (!rcp_filter_empty(cl.filter))
		cl.o.filter = cl.filter;

	nsrcs = argc - optind - 1;
	srcs = rcp_xcalloc((size_t)nsrcs, sizeof(char *));
	for (i = 0; i < nsrcs; i++)
		srcs[i] = rcp_copy_expand_home(argv[optind + i], home);
	dst = rcp_copy_expand_home(argv[argc - 1], home);

	log.fn = log_sink;
	log.arg = &cl.ui;
	log.level = cl.quiet ? RCP_LOG_ERROR : RCP_LOG_WARN + cl.verbosity;
	cl.ui.copy = rcp_copy_new(&cl.o, &log);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	signal_copy = cl.ui.copy;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cl.ui.progress) {
		if (cl.ui.progress_type == PROG_AUTO)
			cl.ui.progress_type = isatty(STDERR_FILENO) ?
			    PROG_BAR : PROG_TEXT;
		if (!cl.delay_set)
			cl.ui.progress_delay_ns = cl.ui.progress_type ==
			    PROG_BAR ? 200000000u : 10000000000u;
		if (pthread_create(&progress, NULL, progress_main, &cl.ui) == 0)
			progress_started = true;
	}

	r = rcp_copy_run(cl.ui.copy, (const char *const *)srcs, (size_t)nsrcs,
	    dst, &cause);

	if (progress_started) {
		pthread_mutex_lock(&cl.ui.lock);
		cl.ui.done = true;
		pthread_cond_broadcast(&cl.ui.cond);
		pthread_mutex_unlock(&cl.ui.lock);
		pthread_join(progress, NULL);
	}
	signal_copy = NULL;

	rcp_copy_stats(cl.ui.copy, &s);
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
			print_summary(cl.ui.copy, cl.ui.start_ns);
out:
	rcp_copy_free(cl.ui.copy);
	rcp_filter_free(cl.filter);
	if (srcs != NULL)
		for (i = 0; i < argc - optind - 1; i++)
			free(srcs[i]);
	free(srcs);
	free(dst);
	free(cause);
	pthread_cond_destroy(&cl.ui.cond);
	pthread_mutex_destroy(&cl.ui.lock);
	return code;
}
