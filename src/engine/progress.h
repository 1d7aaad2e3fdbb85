/*
 * progress.h: text for progress displays and the end-of-run summary.  Only
 * formats into a buffer; the caller decides where it goes.
 */
#ifndef RCP_PROGRESS_H
#define RCP_PROGRESS_H

#include <stdint.h>

#include "engine/copy.h"

struct rcp_buf;

/* Run-time figures of one process, for summaries. */
struct rcp_runstats {
	uint64_t	wall_ns;
	uint64_t	cpu_ns;
	uint64_t	peak_rss;	/* bytes */
};

/*
 * A text progress line: "TIMESTAMP copied 1.20 GiB (450.0 MiB/s), files 10,
 * dirs 2, ...".  rate is bytes a second over the last interval.
 */
void rcp_progress_text(struct rcp_buf *b, const struct rcp_copy_stats *s,
    uint64_t elapsed_ns, double rate);
/* A one-line status bar that fits in cols columns (no newline). */
void rcp_progress_bar(struct rcp_buf *b, const struct rcp_copy_stats *s,
    uint64_t elapsed_ns, double rate, int cols);
/* The summary block, one "name: value" line each. */
void rcp_progress_summary(struct rcp_buf *b, const struct rcp_copy_stats *s,
    const struct rcp_runstats *rs);
/* Fills rs for this process since start_ns (a rcp_now_ns() reading). */
void rcp_runstats_now(struct rcp_runstats *rs, uint64_t start_ns);

#endif
