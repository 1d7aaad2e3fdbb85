/*
 * query.h: the options of the commands that ask about jobs or the master
 * (all but submit and batch).
 */
#ifndef RCPCTL_QUERY_H
#define RCPCTL_QUERY_H

#include <jansson.h>

#include "ctl/rcpctl.h"

/* A letter for rcpctl_parse_query's allowed list: RCPCTL_OPT_x. */
#define RCPCTL_ALLOW(o) ((char)('a' + RCPCTL_OPT_##o - RCPCTL_OPT_SOCKET))

/*
 * Parses argv (argv[0] is the command) into x: the options whose
 * RCPCTL_ALLOW letters are in allowed, and up to nargs arguments; with id,
 * the argument is a job id, put in *id (needed unless the command is
 * status).  Returns -1 to go on, else the exit code (help, bad usage).
 */
int rcpctl_parse_query(struct rcpctl *x, int argc, char **argv,
    const char *allowed, int nargs, json_int_t *id);

#endif
