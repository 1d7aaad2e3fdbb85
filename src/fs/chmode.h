/*
 * chmode.h: chmod's mode language, for rchm: octal ("640", "2775") or
 * symbolic clauses ("u=rwx,g+rX,o-w", "a+t", "g=u"), applied to an
 * entry's mode as GNU chmod applies them: without [ugoa] the umask's bits
 * are left alone; X is x for directories and for files already
 * executable by someone; a directory keeps its setuid and setgid bits
 * under an octal mode of fewer than five digits unless the mode sets
 * them.
 */
#ifndef RCP_CHMODE_H
#define RCP_CHMODE_H

#include <stdbool.h>
#include <sys/types.h>

struct rcp_chmode;

/*
 * Parses spec.  Returns 0 with *out set (free with rcp_chmode_free), or
 * RCP_ERR_INVAL with *cause set (caller frees) naming what is wrong.
 */
int rcp_chmode_parse(const char *spec, struct rcp_chmode **out,
    char **cause);
void rcp_chmode_free(struct rcp_chmode *m);
/* Whether m is octal: then it needs nothing of a file's mode, only of a
 * directory's (its setid bits). */
bool rcp_chmode_is_octal(const struct rcp_chmode *m);
/* Returns the new mode (permission and special bits only) of an entry of
 * mode old (a directory if dir) under umask. */
mode_t rcp_chmode_apply(const struct rcp_chmode *m, mode_t old, bool dir,
    mode_t umask);

#endif
