/*
 * show.h: how rcpctl shows jobs: as JSON lines, in detail, as table rows,
 * as a progress line, and how a job ended.
 */
#ifndef RCPCTL_SHOW_H
#define RCPCTL_SHOW_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* Errors of failed entries shown when a job ends. */
#define RCPCTL_SHOW_ERRORS	5

/* Prints o as one line of compact JSON on stdout. */
void rcpctl_print_json(const json_t *o);
/* Prints job in detail, one "name: value" a line, on stdout. */
void rcpctl_print_job(const json_t *job);
/*
 * Prints job as a row of the table of list and status: ID, STATE, PRIO,
 * LABEL, KIND (copy, rm, link, chmod), then its first source (and how many
 * more), "-> destination" if it has one, and its progress.
 */
void rcpctl_print_row(const json_t *job);
/*
 * Prints job's progress as a bar on stderr (bar) or as a line on fp.
 */
void rcpctl_show_progress(const json_t *job, bool bar, FILE *fp);
/*
 * Prints one line about how job ended on fp (its JSON with json); returns
 * its exit code (RCP_CTL_EXIT_*).
 */
int rcpctl_job_ended(const json_t *job, bool json, FILE *fp);

#endif
