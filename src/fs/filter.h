/*
 * filter.h: --include, --exclude and --filter-file.  Patterns are globs (see
 * glob.h) matched against an entry's path relative to the source root.  A
 * leading '/' anchors a pattern at the root; otherwise it matches at any
 * depth (against every trailing run of path components).  A trailing '/'
 * matches directories only.  Excludes win over includes; with no include
 * rule everything not excluded is copied; an included directory brings its
 * whole subtree (less what is excluded).
 */
#ifndef RCP_FILTER_H
#define RCP_FILTER_H

#include <stdbool.h>
#include <stddef.h>

enum {
	RCP_FILTER_INCLUDE = 1,
	RCP_FILTER_EXCLUDE = 2
};

/* Results of rcp_filter_check. */
enum {
	RCP_FILTER_PASS = 0,		/* copy it */
	RCP_FILTER_EXCLUDED,		/* an exclude rule matched */
	RCP_FILTER_NOT_INCLUDED,	/* includes exist; none matched */
	RCP_FILTER_TRAVERSE		/* a directory not included itself:
					 * look inside for included entries */
};

struct rcp_filter;

/* Returns a new empty filter; free with rcp_filter_free. */
struct rcp_filter *rcp_filter_new(void);
void rcp_filter_free(struct rcp_filter *f);
/* Adds a rule.  Returns 0, or RCP_ERR_INVAL with *cause set. */
int rcp_filter_add(struct rcp_filter *f, int type, const char *pattern,
    char **cause);
/*
 * Adds the rules in a file: one a line, "+ PATTERN" or "include PATTERN",
 * "- PATTERN" or "exclude PATTERN"; blank lines and lines starting with '#'
 * are ignored.  Returns 0, or an error with *cause naming file and line.
 */
int rcp_filter_load(struct rcp_filter *f, const char *path, char **cause);
bool rcp_filter_empty(const struct rcp_filter *f);
/* The number of rules, and rule i (its pattern as given; *type set). */
size_t rcp_filter_count(const struct rcp_filter *f);
const char *rcp_filter_rule(const struct rcp_filter *f, size_t i, int *type);
bool rcp_filter_has_includes(const struct rcp_filter *f);
/*
 * Classifies relpath ("a/b/c").  parent_included: an ancestor directory was
 * itself included.  *why, if not NULL, is set to the deciding rule text
 * (valid while f lives) or NULL.  f may be NULL (everything passes).
 */
int rcp_filter_check(const struct rcp_filter *f, const char *relpath,
    bool is_dir, bool parent_included, const char **why);

#endif
