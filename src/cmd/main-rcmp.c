/*
 * main-rcmp.c: rcmp, which compares two trees and writes each difference as
 * a JSON line (see doc/rcmp.1 for the schema).  Either tree may be on
 * another host ([user@]host:path): then rcpd agents compare where the
 * data lives (remotecmp.h) and the differences come back to be printed
 * here the same way.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "engine/cmp.h"
#include "fs/meta.h"
#include "opts/cliopts.h"
#include "opts/remoteopts.h"
#include "remote/remotecmp.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

enum {
	EXIT_SAME = 0,
	EXIT_DIFFERENT = 1,
	EXIT_TROUBLE = 2
};

/* Ours; rcp's options of remote copies keep their values (512-1023). */
enum {
	OPT_METADATA_COMPARE = 1024,
	OPT_CONTENT,
	OPT_EXIT_EARLY,
	OPT_LOG,
	OPT_THREADS,
	OPT_VERSION
};

static const struct option own_options[] = {
	{ "metadata-compare", required_argument, NULL, OPT_METADATA_COMPARE },
	{ "content", no_argument, NULL, OPT_CONTENT },
	{ "exit-early", no_argument, NULL, OPT_EXIT_EARLY },
	{ "log", required_argument, NULL, OPT_LOG },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* rcp's options for remote sides: its values from 512 up to 1023. */
#define REMOTE_OPT(v) ((v) >= 512 && (v) < 1024)

/* A signal of a remote comparison: the agents are stopped, not orphaned. */
static atomic_bool got_signal;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&got_signal, true);
}

/* Ours and rcp's remote options, in one getopt table (caller frees). */
static struct option *
all_options(void)
{
	const struct option *rcp = rcp_cliopts_longopts(&(size_t){ 0 });
	size_t n = 0, i, k;
	struct option *v;

	for (i = 0; rcp[i].name != NULL; i++)
		n += REMOTE_OPT(rcp[i].val);
	k = sizeof(own_options) / sizeof(own_options[0]);
	v = rcp_xcalloc(n + k, sizeof(*v));
	memcpy(v, own_options, (k - 1) * sizeof(*v));
	for (i = 0, n = k - 1; rcp[i].name != NULL; i++)
		if (REMOTE_OPT(rcp[i].val))
			v[n++] = rcp[i];
	return v;		/* the last entry stays zero */
}

/* Where the difference records go; the library serializes the calls. */
struct output {
	FILE		*f;		/* NULL with -q and no --log */
	const char	*name;		/* for messages */
	int		 err;		/* errno of the first failed write */
};

static void
usage(FILE *f)
{
	fputs(
"usage: rcmp [options] [--] SRC DST\n"
"Compares the tree SRC with the tree DST and writes each difference as a\n"
"JSON line.  Exit status: 0 same, 1 different, 2 trouble.  Either tree may\n"
"be [user@]host[:port]:path: rcpd agents then compare where the data lives\n"
"(with --content each side hashes its own files) and no file data crosses.\n"
"\n"
"  --metadata-compare SPEC  attributes to compare per type (default\n"
"                           \"" RCP_CMP_DEFAULT_SPEC "\"); SPEC is\n"
"                           \"f:LIST d:LIST l:LIST\" or one LIST for all\n"
"                           types, LIST from uid,gid,mode,size,mtime,\n"
"                           ctime,acl,xattr\n"
"  --content                also compare the bytes of files, symlink\n"
"                           targets and device numbers\n"
"  --exit-early             stop at the first difference or error\n"
"  --log FILE               write the JSON lines to FILE, not stdout\n"
"  --threads N              compare with N threads (default: from the CPUs)\n"
"  -q, --quiet              write no JSON lines to stdout and no warnings\n"
"  -v, --verbose            print a summary at the end; again for more\n"
"  -h, --help               show this help\n"
"      --version            show the version\n"
"\n", f);
	rcp_cliopts_help_remote(f);
}

/* Errors said on stderr, from any thread (local or remote). */
static atomic_uint errors_said;

static void
log_stderr(void *arg, int level, const char *msg)
{
	/* One fprintf per record: stdio's lock keeps threads' lines whole. */
	if (level == RCP_LOG_ERROR)
		atomic_fetch_add(&errors_said, 1);
	if (level == RCP_LOG_ERROR)
		fprintf(stderr, "rcmp: %s\n", msg);
	else
		fprintf(stderr, "rcmp: %s: %s\n", rcp_log_level_name(level),
		    msg);
}

/* RFC 3339 in UTC with nanoseconds: "2024-05-06T07:08:09.123456789Z". */
static json_t *
json_time(const struct timespec *ts)
{
	char buf[64];
	struct tm tm;
	size_t n;

	if (gmtime_r(&ts->tv_sec, &tm) == NULL ||
	    (n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) == 0)
		return json_sprintf("@%jd.%09ld", (intmax_t)ts->tv_sec,
		    ts->tv_nsec);
	snprintf(buf + n, sizeof(buf) - n, ".%09ldZ", ts->tv_nsec);
	return json_string(buf);
}

static json_t *
json_attr(unsigned attr, const struct stat *st)
{
	switch (attr) {
	case RCP_ATTR_UID:
		return json_integer((json_int_t)st->st_uid);
	case RCP_ATTR_GID:
		return json_integer((json_int_t)st->st_gid);
	case RCP_ATTR_MODE:
		return json_sprintf("%04o", (unsigned)(st->st_mode & 07777));
	case RCP_ATTR_SIZE:
		return json_integer((json_int_t)st->st_size);
	case RCP_ATTR_MTIME:
		return json_time(&st->st_mtim);
	case RCP_ATTR_CTIME:
		return json_time(&st->st_ctim);
	}
	return json_null();
}

static void
add_content(json_t *obj, const struct rcp_cmp_diff *d)
{
	mode_t mode = d->src->st_mode;

	if (S_ISREG(mode)) {
		json_object_set_new(obj, "src_size",
		    json_integer((json_int_t)d->src->st_size));
		json_object_set_new(obj, "dst_size",
		    json_integer((json_int_t)d->dst->st_size));
		if (d->offset >= 0)
			json_object_set_new(obj, "offset",
			    json_integer((json_int_t)d->offset));
	} else if (S_ISLNK(mode)) {
		rcp_ctl_set_path(obj, "src", d->src_link);
		rcp_ctl_set_path(obj, "dst", d->dst_link);
	} else {
		json_object_set_new(obj, "src", json_sprintf("%u:%u",
		    major(d->src->st_rdev), minor(d->src->st_rdev)));
		json_object_set_new(obj, "dst", json_sprintf("%u:%u",
		    major(d->dst->st_rdev), minor(d->dst->st_rdev)));
	}
}

/* Builds the JSON record of one difference; the caller decrefs it. */
static json_t *
diff_json(const struct rcp_cmp_diff *d)
{
	json_t *obj = json_object();

	rcp_ctl_set_path(obj, "path", d->path);
	switch (d->kind) {
	case RCP_CMP_MISSING:
		json_object_set_new(obj, "diff", json_string("missing"));
		json_object_set_new(obj, "side",
		    json_string(d->src == NULL ? "src" : "dst"));
		json_object_set_new(obj, "type", json_string(rcp_cmp_type_name(
		    (d->src != NULL ? d->src : d->dst)->st_mode)));
		break;
	case RCP_CMP_TYPE:
		json_object_set_new(obj, "diff", json_string("type"));
		json_object_set_new(obj, "src",
		    json_string(rcp_cmp_type_name(d->src->st_mode)));
		json_object_set_new(obj, "dst",
		    json_string(rcp_cmp_type_name(d->dst->st_mode)));
		break;
	case RCP_CMP_ATTR:
		json_object_set_new(obj, "diff",
		    json_string(rcp_attr_name(d->attr)));
		json_object_set_new(obj, "type",
		    json_string(rcp_cmp_type_name(d->src->st_mode)));
		json_object_set_new(obj, "src", json_attr(d->attr, d->src));
		json_object_set_new(obj, "dst", json_attr(d->attr, d->dst));
		break;
	case RCP_CMP_CONTENT:
		json_object_set_new(obj, "diff", json_string("content"));
		json_object_set_new(obj, "type",
		    json_string(rcp_cmp_type_name(d->src->st_mode)));
		add_content(obj, d);
		break;
	}
	return obj;
}

static int
print_diff(void *arg, const struct rcp_cmp_diff *d)
{
	struct output *out = arg;
	json_t *obj;
	char *line;

	if (out->f == NULL)
		return 0;
	obj = diff_json(d);
	line = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (line == NULL)
		return RCP_ERR_NOMEM;
	if (fputs(line, out->f) == EOF || putc('\n', out->f) == EOF) {
		out->err = errno;
		free(line);
		return RCP_ERR_IO;
	}
	free(line);
	return 0;
}

static void
print_summary(const struct rcp_cmp_stats *st, uint64_t ns)
{
	char bytes[32], took[32];

	fprintf(stderr, "rcmp: %ju entries compared, %ju files read (%s), "
	    "%ju differences, %ju errors in %s\n", (uintmax_t)st->entries,
	    (uintmax_t)st->files_read,
	    rcp_fmt_bytes(bytes, sizeof(bytes), (double)st->bytes_read),
	    (uintmax_t)st->differences, (uintmax_t)st->errors,
	    rcp_fmt_duration(took, sizeof(took), ns));
}

#define bad_usage(...) rcp_usage_error("rcmp", EXIT_TROUBLE, __VA_ARGS__)

/* Closes the output, reporting a failed write.  Returns 0 or -1. */
static int
close_output(struct output *out)
{
	int failed = out->err != 0;
	char *shown;

	if (out->f == NULL)
		return 0;
	if (fflush(out->f) != 0 || ferror(out->f)) {
		failed = 1;
		if (out->err == 0)
			out->err = errno;
	}
	if (out->f != stdout && fclose(out->f) != 0 && !failed) {
		failed = 1;
		out->err = errno;
	}
	/* rcmp | head: the reader has seen enough, which is no error. */
	if (failed && !(out->f == stdout && out->err == EPIPE)) {
		shown = rcp_escape(out->name);
		fprintf(stderr, "rcmp: cannot write '%s': %s\n", shown,
		    strerror(out->err ? out->err : EIO));
		free(shown);
	}
	out->f = NULL;
	return failed ? -1 : 0;
}

/* The command line, parsed. */
struct args {
	struct rcp_cmp_opts	 o;
	struct rcp_cliopts	 cl;		/* its remote options only */
	const char		*spec;
	const char		*log_path;
	int			 quiet;
	int			 verbose;
};

/* Returns -1 when rcmp should go on, else the status to exit with. */
static int
parse_args(int argc, char **argv, struct args *a)
{
	struct option *options = all_options();
	char *cause = NULL;
	uint64_t v;
	int c, r = -1;

	opterr = 0;	/* our own messages, named rcmp whatever argv[0] is */
	while (r < 0 && (c = getopt_long(argc, argv, ":qvh", options,
	    NULL)) != -1) {
		if (REMOTE_OPT(c)) {
			if (rcp_cliopts_apply(&a->cl, c, optarg, 0, NULL,
			    &cause) != 0) {
				r = bad_usage("%s", cause);
				free(cause);
			}
			continue;
		}
		switch (c) {
		case OPT_METADATA_COMPARE:
			a->spec = optarg;
			break;
		case OPT_CONTENT:
			a->o.content = true;
			break;
		case OPT_EXIT_EARLY:
			a->o.exit_early = true;
			break;
		case OPT_LOG:
			a->log_path = optarg;
			break;
		case OPT_THREADS:
			if (rcp_parse_uint(optarg, 256, &v) != 0 || v == 0)
				r = bad_usage("bad --threads '%s' (expected "
				    "1 to 256)", optarg);
			else
				a->o.threads = (int)v;
			break;
		case 'q':
			a->quiet = 1;
			break;
		case 'v':
			a->verbose++;
			break;
		case 'h':
			usage(stdout);
			r = 0;
			break;
		case OPT_VERSION:
			printf("rcmp (rcp) %s\n", PACKAGE_VERSION);
			r = 0;
			break;
		default:	/* '?' or ':' */
			r = rcp_usage_getopt("rcmp", EXIT_TROUBLE, c, argv);
			break;
		}
	}
	free(options);
	if (r < 0 && argc - optind != 2)
		r = bad_usage("%s", argc - optind < 2 ?
		    "missing SRC or DST" : "too many arguments");
	return r;
}

/* Whether SRC or DST names a remote host. */
static bool
is_remote(const struct args *a, char **paths)
{
	char *host, *path;
	int i;

	for (i = 0; i < 2; i++) {
		if (rcp_remoteopts_split(paths[i], a->cl.remote.force_remote,
		    &host, &path)) {
			free(host);
			free(path);
			return true;
		}
	}
	return false;
}

/*
 * Compares through agents, printing what they find as a local run would;
 * signals stop the agents.  Returns as rcp_cmp_run.
 */
static int
run_remote(struct args *a, const struct rcp_log *log, char **paths,
    struct rcp_cmp_stats *st, char **cause)
{
	struct rcp_remotecmp *rc = NULL;
	struct sigaction sa;
	char cwd[4096];
	int r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (getcwd(cwd, sizeof(cwd)) == NULL)
		cwd[0] = '\0';
	a->cl.remote.remote.log = log;
	a->cl.remote.remote.agent_verbosity = log->level;
	a->o.cancel = &got_signal;
	r = rcp_remotecmp_new(&a->cl.remote, &a->o, paths[0], paths[1],
	    cwd[0] ? cwd : NULL, &rc, cause);
	if (r == 0)
		r = rcp_remotecmp_run(rc, st, cause);
	rcp_remotecmp_free(rc);
	return r;
}

/* Opens where the records go.  Returns 0, or -1 with a message printed. */
static int
open_output(const struct args *a, struct output *out)
{
	char *shown;

	if (a->log_path != NULL) {
		if ((out->f = fopen(a->log_path, "we")) == NULL) {
			shown = rcp_escape(a->log_path);
			fprintf(stderr, "rcmp: cannot open '%s': %s\n", shown,
			    strerror(errno));
			free(shown);
			return -1;
		}
		out->name = a->log_path;
	} else if (!a->quiet)
		out->f = stdout;
	return 0;
}

/*
 * Turns the comparison's result into the exit status, printing its cause
 * when that is news: a failed write was already reported by close_output,
 * differences are in the records.
 */
static int
exit_status(int r, const char *cause, const struct output *out,
    int write_failed, const struct args *a, const struct rcp_cmp_stats *st)
{
	if (r != 0 && r != RCP_ERR_DIFFERENT && !(r == RCP_ERR_IO &&
	    out->err != 0))
		fprintf(stderr, "rcmp: %s\n", cause);
	/*
	 * The reader went away while a difference was being written.  Only
	 * errors it could have seen count: a remote destination, losing its
	 * source as the agents are stopped, may count entries it then could
	 * not read, which are no error of the trees.
	 */
	if (write_failed && out->err == EPIPE && a->log_path == NULL)
		return st->errors > 0 && atomic_load(&errors_said) > 0 ?
		    EXIT_TROUBLE : EXIT_DIFFERENT;
	if (write_failed || (r != 0 && r != RCP_ERR_DIFFERENT))
		return EXIT_TROUBLE;
	return r == 0 ? EXIT_SAME : EXIT_DIFFERENT;
}

int
main(int argc, char **argv)
{
	struct rcp_log log = { log_stderr, NULL, RCP_LOG_WARN };
	struct output out = { NULL, "standard output", 0 };
	struct rcp_cmp_stats st;
	struct args a;
	char *cause = NULL;
	uint64_t start;
	int r, write_failed;

	signal(SIGPIPE, SIG_IGN);
	memset(&a, 0, sizeof(a));
	rcp_cmp_opts_init(&a.o);
	rcp_cliopts_init(&a.cl);
	a.spec = RCP_CMP_DEFAULT_SPEC;
	if ((r = parse_args(argc, argv, &a)) >= 0)
		goto out;
	if (rcp_attrs_parse(&a.o.attrs, a.spec, &cause) != 0) {
		fprintf(stderr, "rcmp: bad --metadata-compare: %s\n", cause);
		r = EXIT_TROUBLE;
		goto out;
	}
	if ((a.o.attrs.f | a.o.attrs.d | a.o.attrs.l) & RCP_ATTR_CONTENT) {
		/* A stat cannot tell: that is rcp --overwrite-compare's. */
		fprintf(stderr, "rcmp: bad --metadata-compare: 'content' is "
		    "not metadata\n");
		r = EXIT_TROUBLE;
		goto out;
	}
	if (a.quiet)
		log.level = RCP_LOG_ERROR;
	else if (a.verbose > 0)
		log.level = a.verbose > 2 ? RCP_LOG_TRACE :
		    RCP_LOG_WARN + a.verbose;
	if (open_output(&a, &out) != 0) {
		r = EXIT_TROUBLE;
		goto out;
	}
	/* Trees deep or wide need descriptors: take what the hard limit allows. */
	rcp_raise_nofile();

	a.o.diff_fn = print_diff;
	a.o.diff_arg = &out;
	a.o.log = &log;
	start = rcp_now_ns();
	if (is_remote(&a, argv + optind))
		r = run_remote(&a, &log, argv + optind, &st, &cause);
	else
		r = rcp_cmp_run(argv[optind], argv[optind + 1], &a.o, &st,
		    &cause);
	write_failed = close_output(&out) != 0;
	r = exit_status(r, cause, &out, write_failed, &a, &st);
	if (a.verbose > 0 && !a.quiet)
		print_summary(&st, rcp_now_ns() - start);
out:
	free(cause);
	rcp_cliopts_release(&a.cl);
	return r;
}
