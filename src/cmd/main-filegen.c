/* main-filegen.c: the filegen command, which builds synthetic file trees. */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/gen.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_USAGE 2

static const char usage_text[] =
"Usage: filegen [OPTION]... ROOT DIRWIDTH NUMFILES FILESIZE\n"
"Build a tree of directories and pseudo-random files under ROOT.\n"
"\n"
"  DIRWIDTH   directories per level, e.g. 3,2 for 3 directories each with\n"
"             2 subdirectories; \"\" or 0 puts the files directly in ROOT\n"
"  NUMFILES   files in every leaf directory\n"
"  FILESIZE   size of every file (4K, 1M, 2G), or MIN-MAX (1K-16M) for\n"
"             sizes drawn log-uniformly between MIN and MAX\n"
"\n"
"Options:\n"
"  -s, --seed N         seed for sizes and contents (default 0); the same\n"
"                       seed gives a byte-identical tree\n"
"  -b, --bufsize SIZE   write buffer per thread (default 1M)\n"
"  -t, --threads N      writing threads (default: one per CPU)\n"
"  -f, --force          write into ROOT even if it is not empty\n"
"  -q, --quiet          print no summary\n"
"  -v, --verbose        log progress to stderr\n"
"  -h, --help           print this help and exit\n"
"  -V, --version        print the version and exit\n"
"\n"
"Exit status: 0 on success, 1 on a runtime error, 2 on bad usage.\n";

static const struct option long_options[] = {
	{ "seed", required_argument, NULL, 's' },
	{ "bufsize", required_argument, NULL, 'b' },
	{ "threads", required_argument, NULL, 't' },
	{ "force", no_argument, NULL, 'f' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

#define usage_error(...) \
	exit(rcp_usage_error("filegen", EXIT_USAGE, __VA_ARGS__))

static void
log_stderr(void *arg, int level, const char *msg)
{
	fprintf(stderr, "filegen: %s: %s\n", rcp_log_level_name(level), msg);
}

static void
print_summary(const struct rcp_gen_stats *st, uint64_t ns)
{
	char size[32], rate[32], took[32];
	double secs = (double)ns / 1e9;

	rcp_fmt_bytes(size, sizeof size, (double)st->bytes);
	rcp_fmt_bytes(rate, sizeof rate, secs > 0 ? st->bytes / secs : 0);
	rcp_fmt_duration(took, sizeof took, ns);
	printf("%" PRIu64 " files, %" PRIu64 " directories, %s in %s "
	    "(%s/s)\n", st->files, st->dirs, size, took, rate);
}

int
main(int argc, char **argv)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	struct rcp_log log = { log_stderr, NULL, RCP_LOG_WARN };
	uint64_t v, start;
	char *cause = NULL;
	int c, quiet = 0, r;

	rcp_gen_spec_init(&spec);
	opterr = 0;	/* our own messages, as every program of the suite */
	while ((c = getopt_long(argc, argv, ":s:b:t:fqvhV", long_options,
	    NULL)) != -1) {
		switch (c) {
		case 's':
			if (rcp_parse_uint(optarg, UINT64_MAX, &spec.seed) != 0)
				usage_error("bad seed '%s'", optarg);
			break;
		case 'b':
			if (rcp_parse_size(optarg, &v) != 0 ||
			    v < RCP_GEN_MIN_BUFSIZE || v > RCP_GEN_MAX_BUFSIZE)
				usage_error("bad buffer size '%s' (expected 4K "
				    "to 1G)", optarg);
			spec.bufsize = (size_t)v;
			break;
		case 't':
			if (rcp_parse_uint(optarg, RCP_GEN_MAX_THREADS, &v) != 0
			    || v == 0)
				usage_error("bad thread count '%s' (expected 1 "
				    "to %d)", optarg, RCP_GEN_MAX_THREADS);
			spec.threads = (int)v;
			break;
		case 'f':
			spec.force = true;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'v':
			if (log.level < RCP_LOG_TRACE)
				log.level++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf("filegen (rcp) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			return rcp_usage_getopt("filegen", EXIT_USAGE, c, argv);
		}
	}
	if (argc - optind != 4)
		usage_error("expected ROOT DIRWIDTH NUMFILES FILESIZE, got %d "
		    "argument%s", argc - optind, argc - optind == 1 ? "" : "s");
	if (rcp_gen_spec_parse(&spec, argv[optind + 1], argv[optind + 2],
	    argv[optind + 3], &cause) != 0) {
		rcp_usage_error("filegen", EXIT_USAGE, "%s", cause);
		free(cause);
		return EXIT_USAGE;
	}

	start = rcp_now_ns();
	if ((r = rcp_gen_run(argv[optind], &spec, &log, &st, &cause)) != 0) {
		fprintf(stderr, "filegen: %s%s\n", cause, r == RCP_ERR_EXISTS ?
		    " (use --force to write into it)" : "");
		free(cause);
		return 1;
	}
	if (!quiet)
		print_summary(&st, rcp_now_ns() - start);
	return 0;
}
