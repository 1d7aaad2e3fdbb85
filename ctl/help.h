/*
 * help.h: rcpctl's help texts, for --help of rcpctl and of its commands.
 */
#ifndef RCPCTL_HELP_H
#define RCPCTL_HELP_H

#include <stdio.h>

/* Prints rcpctl's usage: its commands, options and exit codes, on fp. */
void rcpctl_usage(FILE *fp);
/* Prints the usage of submit, with rcp's copy options, on fp. */
void rcpctl_submit_usage(FILE *fp);

/* Prints the usage of rm, link or chmod (cmd), the jobs of tool. */
void rcpctl_suite_usage(FILE *fp, const char *cmd, const char *tool,
    int tool_id);

#endif
