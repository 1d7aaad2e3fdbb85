/*
 * deploy.h: finding rcpd for an agent (--rcpd-path, else the one installed
 * next to this program, else PATH's) and, for --auto-deploy-rcpd, copying
 * this rcp's own rcpd to a host.
 */
#ifndef RCP_DEPLOY_H
#define RCP_DEPLOY_H

#include "base/strbuf.h"
#include "net/ssh.h"

/*
 * The start of what the command of rcp_deploy_find_cmd prints on stderr
 * when the host has no rcpd: "rcpd: no executable at 'PATH'".
 */
#define RCP_DEPLOY_NOT_FOUND	"rcpd: no executable at"

/*
 * Appends to b a shell command that finds rcpd on another host and execs
 * it, for the caller to append rcpd's arguments (quoted) to: want if not
 * NULL (--rcpd-path, or a deployed rcpd), else the rcpd next to this
 * program's path there, else PATH's.  With none, it prints
 * RCP_DEPLOY_NOT_FOUND on stderr and exits 127.  One command does it all
 * since each exec costs sshd a session set-up.
 */
void rcp_deploy_find_cmd(struct rcp_buf *b, const char *want);

/*
 * The rcpd for an agent here, found as on another host: rcpd_path (if it is
 * there: it may name the other host's), else the one installed next to this
 * program, else "rcpd" (for PATH).  Caller frees.
 */
char *rcp_deploy_local(const char *rcpd_path);

/*
 * Copies our own rcpd to ~/.cache/rcp/bin/rcpd-VERSION on ssh's host and
 * sets *path (caller frees) to the deployed command.  Returns 0, or
 * RCP_ERR_NOTFOUND (no rcpd next to this program to copy) or another error,
 * with *cause set.
 */
int rcp_deploy_rcpd(struct rcp_ssh *ssh, char **path, char **cause);

#endif
