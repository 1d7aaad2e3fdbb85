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

/* The jobs of rrm, rlink and rchm (the master's kinds "rm", "link", "chmod"). */
enum { RCPCTL_KIND_RM, RCPCTL_KIND_LINK, RCPCTL_KIND_CHMOD };

/*
 * Parses "[options] PATH..." (rm, chmod) or "[options] SRC DST" (link),
 * argv[0] the command's name, into a new submit request *req of that
 * kind (always set; caller frees): rcpctl's own options (--wait, --json,
 * --priority, --label, --key, --no-cancel-on-signal) into x, the tool's
 * checked with its own parser (suiteopts.h) and sent as given, but
 * --update's path made absolute.  Returns -1 to go on, else an exit code.
 */
int rcpctl_parse_suite(struct rcpctl *x, int kind, int argc, char **argv,
    json_t **req);

/*
 * Sends the submit request req (taken) and prints the job; with --wait
 * waits for it or follows it.  Returns the exit code.
 */
int rcpctl_submit_send(struct rcpctl *x, json_t *req);

#endif
