/*
 * suiteopts.h: the options of rrm, rchm and rlink, parsed from an argv.
 * The options they share with rcp (output, limits, throttles, filters,
 * --dry-run, -e) are rcp's own, applied by cliopts.c, so that they mean
 * the same in every tool; each tool adds its own.  One parser for the
 * programs and, later, for the service, which checks a job's options the
 * way the program would.
 */
#ifndef RCP_SUITEOPTS_H
#define RCP_SUITEOPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/walk.h"
#include "fs/meta.h"
#include "opts/cliopts.h"

enum { RCP_TOOL_RRM, RCP_TOOL_RCHM, RCP_TOOL_RLINK };

struct rcp_suiteopts {
	int			 tool;		/* RCP_TOOL_* */
	struct rcp_cliopts	 cl;		/* the options shared with rcp */
	/* rrm and rchm: entries older than these only (0: no filter). */
	uint64_t		 modified_before_ns;
	uint64_t		 created_before_ns;
	/* rchm: specs as given, NULL if not given (rchm.c parses them). */
	const char		*mode;
	const char		*owner;
	const char		*group;
	bool			 defer_dir_changes;
	bool			 no_setid;
	/* rlink */
	const char		*update;	/* --update DIR, or NULL */
	struct rcp_attrs	 update_compare;
	bool			 update_exclusive;
	bool			 allow_lossy_update;
};

/* Fills s with the defaults of tool.  Release with rcp_suiteopts_release. */
void rcp_suiteopts_init(struct rcp_suiteopts *s, int tool);
void rcp_suiteopts_release(struct rcp_suiteopts *s);

/*
 * Parses argv (argv[0] the program name; argv permuted as getopt_long
 * does).  *first is the index of the first operand.  Returns 0 (also when
 * -h or -V stopped it early: see s->cl.help, s->cl.version), or
 * RCP_ERR_INVAL with *cause set (caller frees), e.g. "unknown option
 * '--overwrite'" for an option of rcp that this tool has not.  Checks the
 * combinations of the tool's options (rchm: one of mode, owner, group),
 * not the operands.  Any thread (it holds cliopts' getopt lock).
 */
int rcp_suiteopts_parse(struct rcp_suiteopts *s, int argc, char **argv,
    int *first, char **cause);

/*
 * Whether arg ("--name", no "=value") is a long option of tool, by its
 * name or an unambiguous prefix of it as getopt_long takes them, whose
 * value is the next argument.  Returns 1 or 0.  Any thread.
 */
int rcp_suiteopts_takes_value(int tool, const char *arg);

/* The walk options the shared ones give (rrm, rchm). */
void rcp_suiteopts_walk(const struct rcp_suiteopts *s,
    struct rcp_walk_opts *o);

/* Prints the help of the shared options. */
void rcp_suiteopts_help(FILE *fp, int tool);

/*
 * Parses an age for --modified-before / --created-before: "30d", "12h",
 * "90m", "10s", "1.5d".  Returns 0 with *ns set, or RCP_ERR_INVAL.
 */
int rcp_suiteopts_parse_age(const char *s, uint64_t *ns);

#endif
