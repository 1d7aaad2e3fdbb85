/* filter.c: include/exclude rules for the copy engine. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/glob.h"
#include "base/util.h"
#include "fs/filter.h"

#include "base/banned.h"

/* Filter files are read by people; a line longer than this is a mistake. */
#define FILTER_LINE_MAX 4096

struct rule {
	int	 type;
	char	*orig;		/* the pattern as given */
	char	*text;		/* "--exclude 'PAT'", for explanations */
	char	*pat;		/* without the anchor and trailing '/' */
	bool	 anchored;
	bool	 dir_only;
};

struct rcp_filter {
	struct rule	*rules;
	size_t		 n;
	size_t		 nincludes;
};

struct rcp_filter *
rcp_filter_new(void)
{
	return rcp_xcalloc(1, sizeof(struct rcp_filter));
}

void
rcp_filter_free(struct rcp_filter *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->n; i++) {
		free(f->rules[i].orig);
		free(f->rules[i].text);
		free(f->rules[i].pat);
	}
	free(f->rules);
	free(f);
}

int
rcp_filter_add(struct rcp_filter *f, int type, const char *pattern,
    char **cause)
{
	struct rule r;
	size_t len;

	if (type != RCP_FILTER_INCLUDE && type != RCP_FILTER_EXCLUDE) {
		/* A peer's message can carry any type: say which. */
		*cause = rcp_xasprintf("unknown rule type %d", type);
		return RCP_ERR_INVAL;
	}
	memset(&r, 0, sizeof(r));
	r.type = type;
	r.anchored = pattern[0] == '/';
	r.pat = rcp_xstrdup(pattern + r.anchored);
	len = strlen(r.pat);
	while (len > 0 && r.pat[len - 1] == '/') {
		r.dir_only = true;
		r.pat[--len] = '\0';
	}
	if (len == 0) {
		*cause = rcp_xasprintf("empty pattern '%s'", pattern);
		free(r.pat);
		return RCP_ERR_INVAL;
	}
	if (!rcp_glob_valid(r.pat, cause)) {
		free(r.pat);
		return RCP_ERR_INVAL;
	}
	r.orig = rcp_xstrdup(pattern);
	r.text = rcp_xasprintf("--%s '%s'",
	    type == RCP_FILTER_INCLUDE ? "include" : "exclude", pattern);
	f->rules = rcp_xrealloc(f->rules, (f->n + 1) * sizeof(*f->rules));
	f->rules[f->n++] = r;
	if (type == RCP_FILTER_INCLUDE)
		f->nincludes++;
	return 0;
}

/* Parses one filter-file line; returns 0 with *type = 0 for a blank line. */
static int
parse_line(char *line, int *type, const char **pat)
{
	size_t len = strlen(line);

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		line[--len] = '\0';
	*type = 0;
	while (*line == ' ' || *line == '\t')
		line++;
	if (*line == '\0' || *line == '#')
		return 0;
	if (strncmp(line, "+ ", 2) == 0) {
		*type = RCP_FILTER_INCLUDE;
		*pat = line + 2;
	} else if (strncmp(line, "- ", 2) == 0) {
		*type = RCP_FILTER_EXCLUDE;
		*pat = line + 2;
	} else if (strncmp(line, "include ", 8) == 0) {
		*type = RCP_FILTER_INCLUDE;
		*pat = line + 8;
	} else if (strncmp(line, "exclude ", 8) == 0) {
		*type = RCP_FILTER_EXCLUDE;
		*pat = line + 8;
	} else
		return RCP_ERR_INVAL;
	return 0;
}

int
rcp_filter_load(struct rcp_filter *f, const char *path, char **cause)
{
	char *line = NULL, *why = NULL;
	size_t cap = 0, lineno = 0;
	const char *pat;
	ssize_t n;
	FILE *fp;
	int r = 0, type;

	if ((fp = fopen(path, "r")) == NULL) {
		*cause = rcp_xasprintf("cannot open filter file '%s': %s",
		    path, strerror(errno));
		return RCP_ERR_IO;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (n > FILTER_LINE_MAX || memchr(line, '\0', (size_t)n)) {
			*cause = rcp_xasprintf("%s:%zu: line too long or "
			    "holds a NUL byte", path, lineno);
			r = RCP_ERR_INVAL;
			break;
		}
		if (parse_line(line, &type, &pat) != 0) {
			*cause = rcp_xasprintf("%s:%zu: expected '+ PATTERN' "
			    "or '- PATTERN'", path, lineno);
			r = RCP_ERR_INVAL;
			break;
		}
		if (type != 0 && (r = rcp_filter_add(f, type, pat, &why)) != 0) {
			*cause = rcp_xasprintf("%s:%zu: %s", path, lineno, why);
			free(why);
			break;
		}
	}
	if (r == 0 && ferror(fp)) {
		*cause = rcp_xasprintf("cannot read filter file '%s': %s",
		    path, strerror(errno));
		r = RCP_ERR_IO;
	}
	free(line);
	fclose(fp);
	return r;
}

size_t
rcp_filter_count(const struct rcp_filter *f)
{
	return f == NULL ? 0 : f->n;
}

const char *
rcp_filter_rule(const struct rcp_filter *f, size_t i, int *type)
{
	*type = f->rules[i].type;
	return f->rules[i].orig;
}

bool
rcp_filter_empty(const struct rcp_filter *f)
{
	return f == NULL || f->n == 0;
}

bool
rcp_filter_has_includes(const struct rcp_filter *f)
{
	return f != NULL && f->nincludes > 0;
}

static bool
rule_matches(const struct rule *r, const char *relpath, bool is_dir)
{
	const char *s;

	if (r->dir_only && !is_dir)
		return false;
	if (r->anchored)
		return rcp_glob_match(r->pat, relpath);
	for (s = relpath;;) {
		if (rcp_glob_match(r->pat, s))
			return true;
		if ((s = strchr(s, '/')) == NULL)
			return false;
		s++;
	}
}

int
rcp_filter_check(const struct rcp_filter *f, const char *relpath,
    bool is_dir, bool parent_included, const char **why)
{
	const struct rule *inc = NULL;
	size_t i;

	if (why != NULL)
		*why = NULL;
	if (f == NULL || f->n == 0)
		return RCP_FILTER_PASS;
	for (i = 0; i < f->n; i++) {
		if (!rule_matches(&f->rules[i], relpath, is_dir))
			continue;
		if (f->rules[i].type == RCP_FILTER_EXCLUDE) {
			if (why != NULL)
				*why = f->rules[i].text;
			return RCP_FILTER_EXCLUDED;
		}
		if (inc == NULL)
			inc = &f->rules[i];
	}
	if (f->nincludes == 0 || parent_included)
		return RCP_FILTER_PASS;
	if (inc != NULL) {
		if (why != NULL)
			*why = inc->text;
		return RCP_FILTER_PASS;
	}
	return is_dir ? RCP_FILTER_TRAVERSE : RCP_FILTER_NOT_INCLUDED;
}
