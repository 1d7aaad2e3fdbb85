/*
 * suiteopts.c: the options of rrm, rchm and rlink.  The table of each tool
 * is the part of rcp's table it shares (by name, so an option means what
 * it means to rcp, cliopts.c applies it) and its own options.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/filter.h"
#include "opts/suiteopts.h"

#include "base/banned.h"

enum {
	OPT_MODIFIED_BEFORE = 1024,
	OPT_CREATED_BEFORE,
	OPT_MODE,
	OPT_OWNER,
	OPT_GROUP,
	OPT_DEFER_DIR,
	OPT_NO_SETID,
	OPT_UPDATE,
	OPT_UPDATE_COMPARE,
	OPT_UPDATE_EXCLUSIVE,
	OPT_ALLOW_LOSSY
};

/* rcp's options every tool of the suite has. */
static const char *const common[] = {
	"progress", "progress-type", "progress-delay", "summary", "verbose",
	"quiet", "max-workers", "max-open-files", "ops-throttle",
	"iops-throttle", "chunk-size", "fail-early", "include", "exclude",
	"filter-file", "dry-run", "help", "version", NULL
};
/* ... and those rlink adds, the copy engine's. */
static const char *const linkonly[] = {
	"overwrite", "overwrite-compare", "delete", "delete-excluded",
	"ignore-existing", "skip-specials", "preserve-settings", NULL
};

static const struct option ageopts[] = {
	{ "modified-before", required_argument, NULL, OPT_MODIFIED_BEFORE },
	{ "created-before", required_argument, NULL, OPT_CREATED_BEFORE },
	{ NULL, 0, NULL, 0 }
};
static const struct option chmopts[] = {
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "owner", required_argument, NULL, OPT_OWNER },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "defer-dir-changes", no_argument, NULL, OPT_DEFER_DIR },
	{ "no-setid", no_argument, NULL, OPT_NO_SETID },
	{ NULL, 0, NULL, 0 }
};
static const struct option linkopts[] = {
	{ "update", required_argument, NULL, OPT_UPDATE },
	{ "update-compare", required_argument, NULL, OPT_UPDATE_COMPARE },
	{ "update-exclusive", no_argument, NULL, OPT_UPDATE_EXCLUSIVE },
	{ "allow-lossy-update", no_argument, NULL, OPT_ALLOW_LOSSY },
	{ NULL, 0, NULL, 0 }
};

void
rcp_suiteopts_init(struct rcp_suiteopts *s, int tool)
{
	memset(s, 0, sizeof(*s));
	s->tool = tool;
	rcp_cliopts_init(&s->cl);
	s->update_compare.f = s->update_compare.d = s->update_compare.l =
	    RCP_ATTR_SIZE | RCP_ATTR_MTIME;
	if (tool == RCP_TOOL_RLINK)
		rcp_preserve_all(&s->cl.o.preserve);
}

void
rcp_suiteopts_release(struct rcp_suiteopts *s)
{
	rcp_cliopts_release(&s->cl);
	memset(s, 0, sizeof(*s));
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

int
rcp_suiteopts_parse_age(const char *s, uint64_t *ns)
{
	/* Up to 100 years: far past any file, far from overflowing. */
	return rcp_parse_duration(s, true, 100.0 * 365 * 86400, ns);
}

static bool
in_list(const char *const *l, const char *name)
{
	for (; *l != NULL; l++)
		if (strcmp(*l, name) == 0)
			return true;
	return false;
}

static void
add_opts(struct option *t, size_t *n, const struct option *o)
{
	for (; o->name != NULL; o++)
		t[(*n)++] = *o;
}

/* The tool's getopt_long table; caller frees. */
static struct option *
table(int tool)
{
	const struct option *rcp;
	struct option *t;
	size_t nrcp, i, n = 0;

	rcp = rcp_cliopts_longopts(&nrcp);
	t = rcp_xcalloc(nrcp + 16, sizeof(*t));
	for (i = 0; i < nrcp; i++)
		if (in_list(common, rcp[i].name) || (tool == RCP_TOOL_RLINK &&
		    in_list(linkonly, rcp[i].name)))
			t[n++] = rcp[i];
	if (tool != RCP_TOOL_RLINK)
		add_opts(t, &n, ageopts);
	if (tool == RCP_TOOL_RCHM)
		add_opts(t, &n, chmopts);
	if (tool == RCP_TOOL_RLINK)
		add_opts(t, &n, linkopts);
	return t;
}

int
rcp_suiteopts_takes_value(int tool, const char *arg)
{
	struct option *t;
	const struct option *o, *hit = NULL;
	size_t n;
	bool exact = false, ambiguous = false;

	if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0' ||
	    strchr(arg, '=') != NULL)
		return 0;
	arg += 2;
	n = strlen(arg);
	t = table(tool);
	/* As getopt_long: the exact name, else a prefix of one name only. */
	for (o = t; o->name != NULL && !exact; o++) {
		if (strncmp(o->name, arg, n) != 0)
			continue;
		if (o->name[n] == '\0') {
			hit = o;
			exact = true;
		} else if (hit == NULL) {
			hit = o;
		} else if (hit->has_arg != o->has_arg || hit->flag != o->flag ||
		    hit->val != o->val) {
			ambiguous = true;
		}
	}
	n = hit != NULL && (exact || !ambiguous) &&
	    hit->has_arg == required_argument;
	free(t);
	return (int)n;
}

/* An option of the tool's own. */
static int
apply_own(struct rcp_suiteopts *s, int ch, const char *arg, char **cause)
{
	char *why = NULL;
	int r;

	switch (ch) {
	case OPT_MODIFIED_BEFORE:
	case OPT_CREATED_BEFORE:
		if (rcp_suiteopts_parse_age(arg, ch == OPT_MODIFIED_BEFORE ?
		    &s->modified_before_ns : &s->created_before_ns) != 0)
			return inval(cause, "--%s: '%s' is not an age (e.g. "
			    "30d, 12h, 90m, 10s)", ch == OPT_MODIFIED_BEFORE ?
			    "modified-before" : "created-before", arg);
		break;
	case OPT_MODE:
		s->mode = arg;
		break;
	case OPT_OWNER:
		s->owner = arg;
		break;
	case OPT_GROUP:
		s->group = arg;
		break;
	case OPT_DEFER_DIR:
		s->defer_dir_changes = true;
		break;
	case OPT_NO_SETID:
		s->no_setid = true;
		break;
	case OPT_UPDATE:
		if (arg[0] == '\0')
			return inval(cause, "%s", "--update: empty path");
		s->update = arg;
		break;
	case OPT_UPDATE_COMPARE:
		r = rcp_attrs_parse(&s->update_compare, arg, &why);
		if (r != 0) {
			inval(cause, "--update-compare: %s", why);
			free(why);
			return RCP_ERR_INVAL;
		}
		break;
	case OPT_UPDATE_EXCLUSIVE:
		s->update_exclusive = true;
		break;
	case OPT_ALLOW_LOSSY:
		s->allow_lossy_update = true;
		break;
	default:
		return RCP_ERR_INTERNAL;
	}
	return 0;
}

static const char *
short_opts(int tool)
{
	return tool == RCP_TOOL_RLINK ? ":oevqhV" : ":evqhV";
}

/* The combinations a tool needs. */
static int
finish(struct rcp_suiteopts *s, char **cause)
{
	if (s->tool == RCP_TOOL_RCHM && s->mode == NULL && s->owner == NULL &&
	    s->group == NULL)
		return inval(cause, "%s", "nothing to change: give --mode, "
		    "--owner or --group");
	if (s->tool == RCP_TOOL_RLINK && s->update == NULL &&
	    (s->update_exclusive || s->allow_lossy_update))
		return inval(cause, "%s", s->update_exclusive ?
		    "--update-exclusive needs --update" :
		    "--allow-lossy-update needs --update");
	return rcp_cliopts_finish(&s->cl, cause);
}

int
rcp_suiteopts_parse(struct rcp_suiteopts *s, int argc, char **argv,
    int *first, char **cause)
{
	struct option *t = table(s->tool);
	int ch, r = 0;

	*cause = NULL;
	rcp_cliopts_getopt_lock();
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, short_opts(s->tool), t,
	    NULL)) != -1) {
		if (ch == ':' || ch == '?') {
			*cause = rcp_getopt_problem(ch, argv);
			r = RCP_ERR_INVAL;
			break;
		}
		if (ch >= OPT_MODIFIED_BEFORE)
			r = apply_own(s, ch, optarg, cause);
		else if ((r = rcp_cliopts_apply(&s->cl, ch, optarg, 0, NULL,
		    cause)) > 0)
			r = RCP_ERR_INTERNAL;
		if (r != 0 || s->cl.help || s->cl.version)
			break;
	}
	*first = optind;
	rcp_cliopts_getopt_unlock();
	free(t);
	if (r != 0 || s->cl.help || s->cl.version)
		return r;
	return finish(s, cause);
}

void
rcp_suiteopts_walk(const struct rcp_suiteopts *s, struct rcp_walk_opts *o)
{
	rcp_walk_opts_init(o);
	o->max_workers = s->cl.o.max_workers;
	o->max_open_files = s->cl.o.max_open_files;
	o->fail_early = s->cl.o.fail_early;
	o->dry_run = s->cl.o.dry_run;
	o->filter = s->cl.o.filter;
	o->ops_throttle = s->cl.o.ops_throttle;
	o->iops_throttle = s->cl.o.iops_throttle;
}

void
rcp_suiteopts_help(FILE *fp, int tool)
{
	if (tool != RCP_TOOL_RLINK)
		fputs(
"Age filters (an entry's own times; both together mean both):\n"
"      --modified-before AGE   only entries last modified more than AGE ago\n"
"                              (e.g. 30d, 12h, 90m, 10s)\n"
"      --created-before AGE    only entries born more than AGE ago (statx\n"
"                              birth time; entries without one are skipped\n"
"                              and logged)\n"
"\n", fp);
	fputs(
"What is walked:\n"
"      --include PATTERN       only entries matching (repeatable)\n"
"      --exclude PATTERN       not entries matching (repeatable)\n"
"      --filter-file FILE      rules, one a line: '+ PATTERN' or '- PATTERN'\n"
"      --dry-run MODE          change nothing; report: brief, all or explain\n"
"  -e, --fail-early            stop at the first error (default: go on, exit 1)\n"
"\n"
"Speed and limits:\n"
"      --max-workers N         worker threads (default 0: one per CPU)\n"
"      --max-open-files N      cap on open files (default 80% of the limit)\n"
"      --ops-throttle N        at most N entries a second\n"
"      --iops-throttle N       at most N I/Os of --chunk-size a second\n"
"      --chunk-size SIZE       unit of I/O (default 16M)\n"
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
"Exit status: 0 success, 1 some entry failed, 2 bad usage.\n", fp);
}
