/*
 * cliopts.h: rcp's copy options, parsed from an argv.  One parser for rcp,
 * for rcp-master (which checks the options of every submitted job and runs
 * them) and for rcpctl (whose submit takes the same options), so that a
 * job means exactly what the same rcp command line means.
 *
 * getopt keeps global state, so rcp_cliopts_parse serializes its callers
 * with a lock of its own: any thread may call it.
 */
#ifndef RCP_CLIOPTS_H
#define RCP_CLIOPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/copy.h"
#include "opts/remoteopts.h"

enum {
	RCP_CLIOPTS_PROG_AUTO = 0,
	RCP_CLIOPTS_PROG_BAR,
	RCP_CLIOPTS_PROG_TEXT
};

/* Flags of rcp_cliopts_parse. */
enum {
	/* Record --filter-file paths instead of reading them now. */
	RCP_CLIOPTS_DEFER_FILES = 1 << 0,
	/* Options only: an operand, -h or -V is an error. */
	RCP_CLIOPTS_ONLY_OPTIONS = 1 << 1
};

/* Short options of rcp, for getopt_long. */
#define RCP_CLIOPTS_SHORT "opAXHLevqhV"

struct rcp_cliopts {
	struct rcp_copy_opts	 o;		/* o.filter is set by _finish */
	struct rcp_filter	*filter;	/* owned */
	char			**filter_files;	/* deferred --filter-file paths */
	size_t			 nfilter_files;
	int			 verbosity;	/* -v count */
	bool			 quiet;
	bool			 summary;
	bool			 progress;
	int			 progress_type;	/* RCP_CLIOPTS_PROG_* */
	uint64_t		 progress_delay_ns; /* 0: not given */
	bool			 help;		/* -h was given */
	bool			 version;	/* -V was given */
	struct rcp_remotecopy_opts remote;	/* for host:path copies */
	bool			 stall_given;	/* --stall-timeout was given */
	char			**strings;	/* owned values of remote */
	size_t			 nstrings;
};

/* Fills c with rcp's defaults.  Release with rcp_cliopts_release. */
void rcp_cliopts_init(struct rcp_cliopts *c);
/* Frees what c owns; c may be initialized again. */
void rcp_cliopts_release(struct rcp_cliopts *c);

/*
 * Returns rcp's getopt_long table (static, NULL-terminated) and its number
 * of entries without the terminator in *n, for callers that mix rcp's
 * options with their own (values of their own must be >= 1024).
 */
const struct option *rcp_cliopts_longopts(size_t *n);

/*
 * Returns the long name ("overwrite") of the option getopt returned as ch,
 * or NULL if ch is not one of rcp's.  Static string.
 */
const char *rcp_cliopts_name(int ch);

/*
 * Applies one option as returned by getopt_long (ch, its argument or NULL).
 * A relative --filter-file path is taken relative to base when base is not
 * NULL.  Returns 0 if applied, 1 if ch is not one of rcp's options, or
 * RCP_ERR_INVAL with *cause set (caller frees) naming the option.
 */
int rcp_cliopts_apply(struct rcp_cliopts *c, int ch, const char *arg,
    int flags, const char *base, char **cause);

/*
 * Checks combinations once every option is applied and points o.filter at
 * the filter if it has rules.  Returns 0 or RCP_ERR_INVAL with *cause set.
 */
int rcp_cliopts_finish(struct rcp_cliopts *c, char **cause);

/*
 * Parses argv (argv[0] is the program name; argv is permuted as getopt_long
 * does) and finishes c.  *first is set to the index of the first operand.
 * Returns 0; or RCP_ERR_INVAL with *cause set (caller frees), a message
 * without the program name such as "unknown option '--bogus'".  Stops early
 * with 0 when -h or -V is given (unless RCP_CLIOPTS_ONLY_OPTIONS).  Any
 * thread.
 */
int rcp_cliopts_parse(struct rcp_cliopts *c, int argc, char **argv, int flags,
    const char *base, int *first, char **cause);

/*
 * getopt's globals belong to whoever holds this lock: parsers of their own
 * (suiteopts.c) that any thread may call take it around their loop.
 */
void rcp_cliopts_getopt_lock(void);
void rcp_cliopts_getopt_unlock(void);

/*
 * Reads the deferred --filter-file files into c->filter, with the calling
 * process's permissions.  Returns 0 or an error with *cause set.
 */
int rcp_cliopts_load_files(struct rcp_cliopts *c, char **cause);

/* Prints the help of the copy options (the sections up to "Output:"). */
void rcp_cliopts_help(FILE *fp);
/* Prints the help of the options of remote copies. */
void rcp_cliopts_help_remote(FILE *fp);

/*
 * Parses a duration: "500ms", "2s", "1.5" (seconds), "1m".  Returns 0 with
 * *ns set, or RCP_ERR_INVAL (negative, malformed or over 24h).
 */
int rcp_cliopts_parse_duration(const char *s, uint64_t *ns);

#endif
