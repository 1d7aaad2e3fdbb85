/*
 * glob.h: shell-style pattern matching on byte strings, used by filters.
 * `*` matches any run of bytes except '/', `**` any run including '/', `?`
 * one byte except '/', `[...]` a class (ranges, leading '!' or '^' negates),
 * `\` quotes the next byte.  A "**\/" may also match no directory at all.
 */
#ifndef RCP_GLOB_H
#define RCP_GLOB_H

#include <stdbool.h>

/* Returns true if the whole of s matches pat. */
bool rcp_glob_match(const char *pat, const char *s);
/* Returns true if pat is well formed (every '[' closed); else sets *cause. */
bool rcp_glob_valid(const char *pat, char **cause);

#endif
