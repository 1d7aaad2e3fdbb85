/*
 * hostgroups.h: named groups of hosts ("dtn-east = dtn1 dtn2 dtn3"), so
 * that a copy names a site's transfer nodes by one name: dtn-east:/lustre/p
 * is dtn1,dtn2,dtn3:/lustre/p.  One group a line, NAME = HOST..., hosts
 * separated by blanks or commas; '#' starts a comment.  The file is
 * --host-groups FILE (rcp, rcp-master), else $RCP_HOST_GROUPS, else
 * RCP_HOST_GROUPS_FILE if it exists.
 */
#ifndef RCP_HOSTGROUPS_H
#define RCP_HOSTGROUPS_H

#include <stddef.h>

#define RCP_HOST_GROUPS_FILE "/etc/rcp/hosts"

/* The file to read: path if not NULL, else as above; NULL: none. */
const char *rcp_hostgroups_file(const char *path);

/*
 * Looks name up in the groups of file (NULL: none).  1 with its hosts in
 * *hosts (n of them; rcp_strv_free), 0 if name is no group, or an error
 * with *cause naming the file and line of what is wrong in it.
 */
int rcp_hostgroups_lookup(const char *file, const char *name, char ***hosts,
    size_t *n, char **cause);

#endif
