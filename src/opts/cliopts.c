/*
 * cliopts.c: rcp's copy options, parsed from an argv.  The option table,
 * the meaning of each option and the help text live here, so that rcp,
 * rcp-master and rcpctl cannot disagree about them.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/filter.h"
#include "fs/meta.h"
#include "opts/cliopts.h"

#include "base/banned.h"

/* getopt's globals (optind, optarg, optopt) belong to whoever holds this. */
static pthread_mutex_t getopt_lock = PTHREAD_MUTEX_INITIALIZER;

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
	OPT_SUMMARY,
	OPT_VERIFY,
	OPT_MANIFEST,
	OPT_RESUME,
	/* Remote copies (host:path). */
	OPT_RCPD_PATH = 512,
	OPT_SSH_CONFIG,
	OPT_SSH_KNOWN_HOSTS,
	OPT_SSH_IDENTITY,
	OPT_SSH_ACCEPT_NEW,
	OPT_QUIC_PORTS,
	OPT_QUIC_PROFILE,
	OPT_CONN_TIMEOUT,
	OPT_IDLE_TIMEOUT,
	OPT_KEEPALIVE,
	OPT_STALL_TIMEOUT,
	OPT_MASTER_ADDR,
	OPT_LAUNCHER,
	OPT_HOST_GROUPS,
	OPT_SOURCE_ADDR,
	OPT_LOCAL_HOST,
	OPT_FORCE_REMOTE,
	OPT_AUTO_DEPLOY
};

static const struct option longopts[] = {
	{ "overwrite", no_argument, NULL, 'o' },
	{ "overwrite-compare", required_argument, NULL, OPT_OVERWRITE_COMPARE },
	{ "ignore-existing", no_argument, NULL, OPT_IGNORE_EXISTING },
	{ "resume", no_argument, NULL, OPT_RESUME },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "delete-excluded", no_argument, NULL, OPT_DELETE_EXCLUDED },
	{ "preserve", no_argument, NULL, 'p' },
	{ "preserve-settings", required_argument, NULL, OPT_PRESERVE_SETTINGS },
	{ "acls", no_argument, NULL, 'A' },
	{ "xattrs", no_argument, NULL, 'X' },
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
	{ "verify", optional_argument, NULL, OPT_VERIFY },
	{ "manifest", required_argument, NULL, OPT_MANIFEST },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "progress-type", required_argument, NULL, OPT_PROGRESS_TYPE },
	{ "progress-delay", required_argument, NULL, OPT_PROGRESS_DELAY },
	{ "summary", no_argument, NULL, OPT_SUMMARY },
	{ "rcpd-path", required_argument, NULL, OPT_RCPD_PATH },
	{ "ssh-config", required_argument, NULL, OPT_SSH_CONFIG },
	{ "ssh-known-hosts", required_argument, NULL, OPT_SSH_KNOWN_HOSTS },
	{ "ssh-identity", required_argument, NULL, OPT_SSH_IDENTITY },
	{ "ssh-accept-new", no_argument, NULL, OPT_SSH_ACCEPT_NEW },
	{ "quic-port-ranges", required_argument, NULL, OPT_QUIC_PORTS },
	{ "quic-profile", required_argument, NULL, OPT_QUIC_PROFILE },
	{ "remote-copy-conn-timeout-sec", required_argument, NULL,
	    OPT_CONN_TIMEOUT },
	{ "quic-idle-timeout-sec", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "quic-keepalive-sec", required_argument, NULL, OPT_KEEPALIVE },
	/* One meaning under both names; a forwarded option uses the first. */
	{ "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
	{ "stall-timeout-sec", required_argument, NULL, OPT_STALL_TIMEOUT },
	{ "master-addr", required_argument, NULL, OPT_MASTER_ADDR },
	{ "launcher", required_argument, NULL, OPT_LAUNCHER },
	{ "host-groups", required_argument, NULL, OPT_HOST_GROUPS },
	{ "source-addr", required_argument, NULL, OPT_SOURCE_ADDR },
	{ "local-host", required_argument, NULL, OPT_LOCAL_HOST },
	{ "force-remote", no_argument, NULL, OPT_FORCE_REMOTE },
	{ "auto-deploy-rcpd", no_argument, NULL, OPT_AUTO_DEPLOY },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

void
rcp_cliopts_init(struct rcp_cliopts *c)
{
	memset(c, 0, sizeof(*c));
	rcp_copy_opts_init(&c->o);
	c->filter = rcp_filter_new();
	rcp_remotecopy_opts_init(&c->remote);
}

void
rcp_cliopts_release(struct rcp_cliopts *c)
{
	size_t i;

	rcp_filter_free(c->filter);
	for (i = 0; i < c->nfilter_files; i++)
		free(c->filter_files[i]);
	free(c->filter_files);
	for (i = 0; i < c->nstrings; i++)
		free(c->strings[i]);
	free(c->strings);
	memset(c, 0, sizeof(*c));
}

const struct option *
rcp_cliopts_longopts(size_t *n)
{
	*n = RCP_ARRAY_SIZE(longopts) - 1;
	return longopts;
}

const char *
rcp_cliopts_name(int ch)
{
	size_t i;

	for (i = 0; longopts[i].name != NULL; i++)
		if (longopts[i].val == ch)
			return longopts[i].name;
	return NULL;
}

int
rcp_cliopts_parse_duration(const char *s, uint64_t *ns)
{
	return rcp_parse_duration(s, false, 86400, ns);
}

static int inval(char **cause, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
inval(char **cause, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	*cause = rcp_xvasprintf(fmt, ap);
	va_end(ap);
	return RCP_ERR_INVAL;
}

/* Options taking a value in a format of another module. */
static int
apply_spec(struct rcp_cliopts *c, int ch, const char *arg, char **cause)
{
	char *why = NULL;
	int r;

	switch (ch) {
	case OPT_OVERWRITE_COMPARE:
		r = rcp_attrs_parse(&c->o.overwrite_compare, arg, &why);
		if (r != 0)
			*cause = rcp_xasprintf("--overwrite-compare: %s", why);
		break;
	case OPT_PRESERVE_SETTINGS:
		r = rcp_preserve_parse(&c->o.preserve, arg, &why);
		if (r != 0)
			*cause = rcp_xasprintf("--preserve-settings: %s", why);
		break;
	default:
		r = rcp_filter_add(c->filter, ch == OPT_INCLUDE ?
		    RCP_FILTER_INCLUDE : RCP_FILTER_EXCLUDE, arg, &why);
		if (r != 0)
			*cause = rcp_xstrdup(why);
		break;
	}
	free(why);
	return r == 0 ? 0 : RCP_ERR_INVAL;
}

static int
apply_filter_file(struct rcp_cliopts *c, const char *arg, int flags,
    const char *base, char **cause)
{
	char *path, *why = NULL;
	int r = 0;

	if (base != NULL && arg[0] != '/')
		path = rcp_path_join(base, arg);
	else
		path = rcp_xstrdup(arg);
	if (flags & RCP_CLIOPTS_DEFER_FILES) {
		c->filter_files = rcp_xrealloc(c->filter_files,
		    (c->nfilter_files + 1) * sizeof(char *));
		c->filter_files[c->nfilter_files++] = path;
		return 0;
	}
	if (rcp_filter_load(c->filter, path, &why) != 0) {
		*cause = rcp_xasprintf("--filter-file: %s", why);
		r = RCP_ERR_INVAL;
	}
	free(why);
	free(path);
	return r;
}

static int
apply_dry_run(struct rcp_cliopts *c, const char *arg, char **cause)
{
	if (strcmp(arg, "brief") == 0)
		c->o.dry_run = RCP_DRY_BRIEF;
	else if (strcmp(arg, "all") == 0)
		c->o.dry_run = RCP_DRY_ALL;
	else if (strcmp(arg, "explain") == 0)
		c->o.dry_run = RCP_DRY_EXPLAIN;
	else
		return inval(cause, "--dry-run: unknown mode '%s' "
		    "(expected brief, all or explain)", arg);
	return 0;
}

/* Options with a number or a size for a value. */
static int
apply_number(struct rcp_cliopts *c, int ch, const char *arg, char **cause)
{
	uint64_t v;
	double d;

	switch (ch) {
	case OPT_MAX_WORKERS:
		if (rcp_parse_uint(arg, 4096, &v) != 0)
			return inval(cause, "--max-workers: '%s' is not a "
			    "number from 0 to 4096", arg);
		c->o.max_workers = (int)v;
		break;
	case OPT_MAX_OPEN_FILES:
		if (rcp_parse_uint(arg, 1u << 30, &v) != 0 || v < 16)
			return inval(cause, "--max-open-files: '%s' is not "
			    "a number of at least 16", arg);
		c->o.max_open_files = (int)v;
		break;
	case OPT_OPS_THROTTLE:
	case OPT_IOPS_THROTTLE:
		if (rcp_parse_double(arg, &d) != 0)
			return inval(cause, "throttle: '%s' is not a "
			    "non-negative number", arg);
		if (ch == OPT_OPS_THROTTLE)
			c->o.ops_throttle = d;
		else
			c->o.iops_throttle = d;
		break;
	case OPT_CHUNK_SIZE:
		if (rcp_parse_size(arg, &v) != 0 || v < 4096 ||
		    v > (1ull << 40))
			return inval(cause, "--chunk-size: '%s' is not a "
			    "size from 4K to 1T", arg);
		c->o.chunk_size = v;
		break;
	case OPT_PROGRESS_DELAY:
		if (rcp_cliopts_parse_duration(arg, &v) != 0 || v < 10000000u)
			return inval(cause, "--progress-delay: '%s' is not a "
			    "duration from 10ms to 24h (e.g. 500ms, 10s)", arg);
		c->progress_delay_ns = v;
		break;
	}
	return 0;
}

static int
apply_output(struct rcp_cliopts *c, int ch, const char *arg, char **cause)
{
	switch (ch) {
	case 'v':
		c->verbosity++;
		break;
	case 'q':
		c->quiet = true;
		break;
	case OPT_PROGRESS:
		c->progress = true;
		break;
	case OPT_SUMMARY:
		c->summary = true;
		break;
	case OPT_PROGRESS_TYPE:
		if (strcmp(arg, "auto") == 0)
			c->progress_type = RCP_CLIOPTS_PROG_AUTO;
		else if (strcmp(arg, "bar") == 0)
			c->progress_type = RCP_CLIOPTS_PROG_BAR;
		else if (strcmp(arg, "text") == 0)
			c->progress_type = RCP_CLIOPTS_PROG_TEXT;
		else
			return inval(cause, "--progress-type: unknown type "
			    "'%s' (expected auto, bar or text)", arg);
		break;
	case 'h':
		c->help = true;
		break;
	case 'V':
		c->version = true;
		break;
	}
	return 0;
}

/* A copy of arg that lives as long as c. */
static const char *
keep(struct rcp_cliopts *c, const char *arg)
{
	c->strings = rcp_xrealloc(c->strings, (c->nstrings + 1) *
	    sizeof(char *));
	return c->strings[c->nstrings++] = rcp_xstrdup(arg);
}

static int
seconds_ms(const char *opt, const char *arg, uint32_t *ms, char **cause)
{
	uint64_t v;

	if (rcp_parse_uint(arg, 86400, &v) != 0 || v == 0)
		return inval(cause, "--%s: '%s' is not a number of seconds "
		    "from 1 to 86400", opt, arg);
	*ms = (uint32_t)(v * 1000);
	return 0;
}

/* The options of remote copies. */
static int
apply_remote(struct rcp_cliopts *c, int ch, const char *arg, char **cause)
{
	struct rcp_remote_opts *o = &c->remote.remote;
	char *why = NULL;
	uint64_t v;

	switch (ch) {
	case OPT_RCPD_PATH:
		o->rcpd_path = keep(c, arg);
		break;
	case OPT_SSH_CONFIG:
		o->ssh.config_file = keep(c, arg);
		break;
	case OPT_SSH_KNOWN_HOSTS:
		o->ssh.known_hosts = keep(c, arg);
		break;
	case OPT_SSH_IDENTITY:
		o->ssh.identity = keep(c, arg);
		break;
	case OPT_SSH_ACCEPT_NEW:
		o->ssh.accept_new = true;
		break;
	case OPT_QUIC_PORTS:
		if (rcp_remoteopts_ports(arg, &o->ports, &why) != 0) {
			inval(cause, "--quic-port-ranges: %s", why);
			free(why);
			return RCP_ERR_INVAL;
		}
		break;
	case OPT_QUIC_PROFILE:
		if (rcp_remoteopts_profile(arg, &o->profile) != 0)
			return inval(cause, "--quic-profile: unknown profile "
			    "'%s' (expected datacenter or internet)", arg);
		break;
	case OPT_CONN_TIMEOUT:
		return seconds_ms("remote-copy-conn-timeout-sec", arg,
		    &o->conn_timeout_ms, cause);
	case OPT_IDLE_TIMEOUT:
		return seconds_ms("quic-idle-timeout-sec", arg,
		    &o->idle_timeout_ms, cause);
	case OPT_STALL_TIMEOUT:
		/* As rcpctl and rcp-master take it: a duration, 0: never. */
		if (rcp_parse_duration(arg, true, RCP_STALL_MAX_S, &v) != 0 ||
		    (v > 0 && v < 1000000000u))
			return inval(cause, "--stall-timeout: '%s' is not 0 or "
			    "a duration from 1s to 30d (e.g. 90s, 10m)", arg);
		o->stall_timeout_ms = (uint32_t)(v / 1000000u);
		c->stall_given = true;
		break;
	case OPT_KEEPALIVE:
		return seconds_ms("quic-keepalive-sec", arg, &o->keepalive_ms,
		    cause);
	case OPT_MASTER_ADDR:
		o->master_addr = keep(c, arg);
		break;
	case OPT_LAUNCHER:
		if (strcmp(arg, "ssh") == 0)
			o->launcher = RCP_LAUNCH_SSH;
		else if (strcmp(arg, "srun") == 0)
			o->launcher = RCP_LAUNCH_SRUN;
		else
			return inval(cause, "--launcher: '%s' is not ssh or "
			    "srun", arg);
		break;
	case OPT_SOURCE_ADDR:
		o->source_addr = keep(c, arg);
		break;
	case OPT_HOST_GROUPS:
		o->host_groups = keep(c, arg);
		break;
	case OPT_LOCAL_HOST:
		c->remote.local_host = keep(c, arg);
		break;
	case OPT_FORCE_REMOTE:
		c->remote.force_remote = true;
		break;
	case OPT_AUTO_DEPLOY:
		o->auto_deploy = true;
		break;
	}
	return 0;
}

/* --verify[=cache|reread] and --manifest FILE. */
static int
apply_trust(struct rcp_cliopts *c, int ch, const char *arg, const char *base,
    char **cause)
{
	char *path;

	if (ch == OPT_MANIFEST) {
		if (arg[0] == '\0')
			return inval(cause, "%s", "--manifest: empty file name");
		path = base != NULL && arg[0] != '/' ?
		    rcp_path_join(base, arg) : rcp_xstrdup(arg);
		c->o.manifest = keep(c, path);
		free(path);
	} else if (arg == NULL || strcmp(arg, "cache") == 0)
		c->o.verify = RCP_VERIFY_CACHE;
	else if (strcmp(arg, "reread") == 0)
		c->o.verify = RCP_VERIFY_REREAD;
	else
		return inval(cause, "--verify: unknown mode '%s' (expected "
		    "cache or reread)", arg);
	return 0;
}

int
rcp_cliopts_apply(struct rcp_cliopts *c, int ch, const char *arg, int flags,
    const char *base, char **cause)
{
	switch (ch) {
	case OPT_VERIFY:
	case OPT_MANIFEST:
		return apply_trust(c, ch, arg, base, cause);
	case 'o':
		c->o.overwrite = true;
		return 0;
	case OPT_IGNORE_EXISTING:
		c->o.ignore_existing = true;
		return 0;
	case OPT_RESUME:
		c->o.resume = true;
		return 0;
	case OPT_DELETE:
		c->o.delete = true;
		return 0;
	case OPT_DELETE_EXCLUDED:
		c->o.delete_excluded = true;
		return 0;
	case 'p':
		rcp_preserve_all(&c->o.preserve);
		return 0;
	case 'A':
		c->o.preserve.f.acl = c->o.preserve.d.acl = true;
		return 0;
	case 'X':
		c->o.preserve.f.xattr = c->o.preserve.d.xattr = true;
		c->o.preserve.l.xattr = true;
		return 0;
	case 'H':
		c->o.hard_links = true;
		return 0;
	case 'L':
		c->o.dereference = true;
		return 0;
	case OPT_SKIP_SPECIALS:
		c->o.skip_specials = true;
		return 0;
	case 'e':
		c->o.fail_early = true;
		return 0;
	case OPT_OVERWRITE_COMPARE:
	case OPT_PRESERVE_SETTINGS:
	case OPT_INCLUDE:
	case OPT_EXCLUDE:
		return apply_spec(c, ch, arg, cause);
	case OPT_FILTER_FILE:
		return apply_filter_file(c, arg, flags, base, cause);
	case OPT_DRY_RUN:
		return apply_dry_run(c, arg, cause);
	case OPT_MAX_WORKERS:
	case OPT_MAX_OPEN_FILES:
	case OPT_OPS_THROTTLE:
	case OPT_IOPS_THROTTLE:
	case OPT_CHUNK_SIZE:
	case OPT_PROGRESS_DELAY:
		return apply_number(c, ch, arg, cause);
	case 'v':
	case 'q':
	case OPT_PROGRESS:
	case OPT_SUMMARY:
	case OPT_PROGRESS_TYPE:
	case 'h':
	case 'V':
		return apply_output(c, ch, arg, cause);
	}
	if (ch >= OPT_RCPD_PATH && ch <= OPT_AUTO_DEPLOY)
		return apply_remote(c, ch, arg, cause);
	return 1;
}

int
rcp_cliopts_finish(struct rcp_cliopts *c, char **cause)
{
	if (c->o.delete_excluded && !c->o.delete)
		return inval(cause, "%s", "--delete-excluded needs --delete");
	if (c->o.resume && c->o.ignore_existing)
		return inval(cause, "%s", "--resume and --ignore-existing "
		    "cannot be combined");
	if (c->o.overwrite && c->o.ignore_existing)
		return inval(cause, "%s", "--overwrite and --ignore-existing "
		    "cannot be combined");
	/* Resuming is a way of overwriting what differs. */
	if (c->o.resume)
		c->o.overwrite = true;
	c->o.filter = rcp_filter_empty(c->filter) ? NULL : c->filter;
	return 0;
}

/* The getopt loop; requires getopt_lock. */
static int
parse_locked(struct rcp_cliopts *c, int argc, char **argv, int flags,
    const char *base, int *first, char **cause)
{
	int ch, r;

	optind = 0;	/* GNU: start over, whatever ran before */
	opterr = 0;	/* our own messages, naming the option */
	while ((ch = getopt_long(argc, argv, ":" RCP_CLIOPTS_SHORT, longopts,
	    NULL)) != -1) {
		if (ch == ':' || ch == '?') {
			*cause = rcp_getopt_problem(ch, argv);
			return RCP_ERR_INVAL;
		}
		if ((flags & RCP_CLIOPTS_ONLY_OPTIONS) &&
		    (ch == 'h' || ch == 'V'))
			return inval(cause, "'--%s' is not a copy option",
			    rcp_cliopts_name(ch));
		if ((r = rcp_cliopts_apply(c, ch, optarg, flags, base,
		    cause)) != 0)
			return r < 0 ? r : RCP_ERR_INTERNAL;
		if (c->help || c->version) {
			*first = optind;
			return 0;
		}
	}
	*first = optind;
	if ((flags & RCP_CLIOPTS_ONLY_OPTIONS) && optind < argc)
		return inval(cause, "unexpected argument '%s' among the "
		    "options", argv[optind]);
	return rcp_cliopts_finish(c, cause);
}

int
rcp_cliopts_parse(struct rcp_cliopts *c, int argc, char **argv, int flags,
    const char *base, int *first, char **cause)
{
	int r;

	*cause = NULL;
	pthread_mutex_lock(&getopt_lock);
	r = parse_locked(c, argc, argv, flags, base, first, cause);
	pthread_mutex_unlock(&getopt_lock);
	return r;
}

void
rcp_cliopts_getopt_lock(void)
{
	pthread_mutex_lock(&getopt_lock);
}

void
rcp_cliopts_getopt_unlock(void)
{
	pthread_mutex_unlock(&getopt_lock);
}

int
rcp_cliopts_load_files(struct rcp_cliopts *c, char **cause)
{
	char *why = NULL;
	size_t i;

	for (i = 0; i < c->nfilter_files; i++) {
		if (rcp_filter_load(c->filter, c->filter_files[i], &why) != 0) {
			*cause = rcp_xasprintf("--filter-file: %s", why);
			free(why);
			return RCP_ERR_INVAL;
		}
	}
	c->o.filter = rcp_filter_empty(c->filter) ? NULL : c->filter;
	return 0;
}

void
rcp_cliopts_help(FILE *fp)
{
	fputs(
"Updating an existing destination:\n"
"  -o, --overwrite             replace entries that differ; merge directories\n"
"      --overwrite-compare L   attributes that decide 'unchanged' (default\n"
"                              size,mtime; any of uid,gid,mode,size,mtime,ctime,\n"
"                              acl,xattr,content (files of equal size: each\n"
"                              side hashes its own), or per type:\n"
"                              \"f:size,mtime d:mtime l:mtime\")\n"
"      --ignore-existing       leave entries that already exist alone\n"
"      --resume                as -o, but a file larger than --chunk-size is\n"
"                              updated in place: chunks are compared by hash\n"
"                              on each side and only those that differ are\n"
"                              written (an interrupted copy, a changed image)\n"
"      --delete                remove destination entries the source lacks\n"
"      --delete-excluded       with --delete, remove excluded entries too\n"
"\n"
"What is copied and kept:\n"
"  -p, --preserve              keep owner, group, times, all mode bits, ACLs\n"
"                              and xattrs (as cp -a)\n"
"  -A, --acls                  keep POSIX ACLs (access and default)\n"
"  -X, --xattrs                keep extended attributes (user.*; as root also\n"
"                              trusted.* and security.*)\n"
"      --preserve-settings S   all, none or\n"
"                              \"f:uid,gid,time,acl,xattr,0777 d:... l:...\"\n"
"                              (default: mode & 0777 for files and dirs)\n"
"  -H, --hard-links            keep hard links within the source as links\n"
"  -L, --dereference           copy what symlinks point to\n"
"      --skip-specials         skip FIFOs, sockets and devices\n"
"      --include PATTERN       copy only entries matching (repeatable)\n"
"      --exclude PATTERN       do not copy entries matching (repeatable)\n"
"      --filter-file FILE      rules, one a line: '+ PATTERN' or '- PATTERN'\n"
"      --dry-run MODE          change nothing; report: brief, all or explain\n"
"\n"
"Trust:\n"
"      --verify, --verify=MODE hash each file on both sides after writing it;\n"
"                              copy again what differs (twice), then fail it.\n"
"                              cache (default): re-read what was written;\n"
"                              reread: from storage (fdatasync each chunk and\n"
"                              drop it from the cache first: slow)\n"
"      --manifest FILE         write 'XXH128  PATH' for each file copied, for\n"
"                              'cd DST && xxh128sum -c FILE' (a remote copy's\n"
"                              FILE is on the destination host)\n"
"\n"
"Errors:\n"
"  -e, --fail-early            stop at the first error (default: go on, exit 1)\n"
"\n"
"Speed and limits:\n"
"      --max-workers N         worker threads (default 0: one per CPU)\n"
"      --max-open-files N      cap on open files (default 80% of the limit)\n"
"      --ops-throttle N        at most N entries a second\n"
"      --iops-throttle N       at most N I/Os of --chunk-size a second\n"
"      --chunk-size SIZE       unit of I/O; larger files are split into\n"
"                              chunks copied in parallel (default 16M)\n",
	    fp);
}

void
rcp_cliopts_help_remote(FILE *fp)
{
	fputs(
"Remote copies (SRC or DST as [user@]host[:port]:path):\n"
"      --rcpd-path PATH        rcpd on the hosts (default: next to rcp, else\n"
"                              PATH)\n"
"      --ssh-config FILE       ssh client config (default ~/.ssh/config)\n"
"      --ssh-known-hosts FILE  known_hosts to check host keys against\n"
"      --ssh-identity FILE     private key to log in with\n"
"      --ssh-accept-new        add unknown host keys (changed ones are always\n"
"                              refused)\n"
"      --quic-port-ranges R    UDP ports for QUIC, e.g. 8000-8999,10000\n"
"      --quic-profile P        datacenter (default) or internet\n"
"      --remote-copy-conn-timeout-sec N  QUIC handshake timeout\n"
"      --quic-idle-timeout-sec N  drop a silent peer after N seconds\n"
"      --quic-keepalive-sec N  keep-alive interval\n"
"      --stall-timeout D       end a copy whose destination reports no progress\n"
"                              for D (e.g. 90s, 10m; default 10m; 0: never;\n"
"                              --stall-timeout-sec is the same)\n"
"      --launcher L            start agents on other hosts by ssh (default) or\n"
"                              srun (as steps of this Slurm allocation)\n"
"      --master-addr ADDR      address the agents dial back (default: ours as\n"
"                              seen over SSH; with srun, this host's name's)\n"
"      --source-addr ADDR      address the source agent listens on\n"
"      --host-groups FILE      named groups of hosts (NAME = HOST...), so that\n"
"                              NAME:/path is HOST,HOST...:/path (default:\n"
"                              $RCP_HOST_GROUPS, else /etc/rcp/hosts)\n"
"      --local-host HOST       serve a local side through an SSH login to\n"
"                              HOST (default: an agent started here)\n"
"      --force-remote          treat localhost:path as remote\n"
"      --auto-deploy-rcpd      copy this rcpd to a host that lacks it (or has\n"
"                              another version) as ~/.cache/rcp/bin/rcpd-V\n",
	    fp);
}
