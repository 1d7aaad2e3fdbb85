/*
 * submitopts.h: the command line of a copy, for submit and for each line
 * of a batch file.
 */
#ifndef RCPCTL_SUBMITOPTS_H
#define RCPCTL_SUBMITOPTS_H

#include <getopt.h>

#include <jansson.h>

#include "ctl/rcpctl.h"

/* rcpctl's own options of submit and batch (--wait, --json, --priority...). */
extern const struct option rcpctl_submit_own_opts[];

/*
 * Applies one of rcpctl_submit_own_opts, ch with its value arg, to x.
 * Returns -1 to go on, else an exit code (bad usage).
 */
int rcpctl_submit_own_option(struct rcpctl *x, int ch, const char *arg);

/*
 * Parses "[options] SRC... DST" (argv[0] is a name) into a new submit
 * request *req (always set; caller frees); the options in x are rcpctl's
 * own.  rcp's options are checked here with rcp's parser and sent as
 * "--name value" strings.  Returns -1 to go on, else an exit code.
 */
int rcpctl_parse_submit(struct rcpctl *x, int argc, char **argv,
    json_t **req);

#endif
