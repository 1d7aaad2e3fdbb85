/*
 * suitemain.h: what the mains of rrm, rchm and rlink share: option
 * parsing with their usage, the log sink, progress on stderr, signals and
 * the end-of-run report, the way rcp does them (main-rcp.c).
 */
#ifndef RCP_SUITEMAIN_H
#define RCP_SUITEMAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/log.h"
#include "base/ticker.h"
#include "opts/suiteopts.h"

enum { SUITE_EXIT_OK = 0, SUITE_EXIT_FAIL = 1, SUITE_EXIT_USAGE = 2 };

struct rcp_buf;

/* The engine a main runs, as the ui sees it. */
struct suite_engine {
	void	 *eng;
	/* A progress line for elapsed_ns into b. */
	void	(*progress)(void *eng, struct rcp_buf *b, uint64_t elapsed_ns);
	/* The summary block into b. */
	void	(*summary)(void *eng, struct rcp_buf *b, uint64_t start_ns);
	/* Errors so far. */
	uint64_t (*errors)(void *eng);
	/* Async-signal-safe. */
	void	(*cancel)(void *eng);
};

struct suite_ui {
	const char		*prog;
	pthread_mutex_t		 lock;		/* serializes output */
	bool			 bar_shown;	/* requires lock */
	bool			 progress;
	int			 progress_type;
	uint64_t		 progress_delay_ns;
	uint64_t		 start_ns;
	struct rcp_log		 log;
	struct suite_engine	 e;
	rcp_ticker		*ticker;
};

/*
 * Parses argv for s->tool; prints usage (usage(stdout)) for -h, the version
 * for -V.  Returns -1 to go on with *first set, else the exit code.
 */
int suite_parse(struct rcp_suiteopts *s, const char *prog, int argc,
    char **argv, void (*usage)(FILE *), int *first);
/* Sets up ui for prog from s: the log, progress settings, the clock. */
void suite_ui_init(struct suite_ui *ui, const char *prog,
    const struct rcp_suiteopts *s);
/* Installs the signal handlers for e and starts progress.  */
void suite_ui_start(struct suite_ui *ui, const struct suite_engine *e);
/*
 * Stops progress and signals, reports how the run r (an engine's result,
 * with its cause if it could not start, or NULL) ended on stderr and, if
 * asked (or a dry run), the summary on stdout.  Returns the exit code.
 */
int suite_ui_finish(struct suite_ui *ui, const struct rcp_suiteopts *s,
    int r, const char *cause);
void suite_ui_release(struct suite_ui *ui);

#endif
