/*
 * journal.h: rcp-master's journal, so that jobs survive the daemon.  One
 * JSON object a line, appended and fsync'ed at every state change of a
 * job; when read back the last record of each job wins.  A torn line (the
 * daemon killed in the middle of a write) is skipped, not fatal.  The file
 * is compacted by writing the live records to a new file, fsync'ing it and
 * renaming it over the old one.
 */
#ifndef RCP_JOURNAL_H
#define RCP_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/strbuf.h"

/* A line longer than this is not a record of ours. */
#define RCP_JOURNAL_MAX_LINE (8u << 20)

struct rcp_journal;

/* Called for each record read; rec is borrowed for the call. */
typedef void rcp_journal_fn(void *arg, const json_t *rec);

/*
 * Reads the journal at path (a missing file reads as empty) and calls
 * fn(arg, rec) for each record in order.  Lines that are not JSON objects
 * are skipped and counted in *nbad.  Returns 0, or RCP_ERR_IO with *cause
 * set (caller frees) if the file cannot be read.
 */
int rcp_journal_load(const char *path, rcp_journal_fn *fn, void *arg,
    size_t *nbad, char **cause);

/*
 * Opens path for appending, creating it (mode 0600).  Returns 0 with *out
 * (free with rcp_journal_free), or RCP_ERR_IO with *cause set.
 */
int rcp_journal_open(const char *path, struct rcp_journal **out,
    char **cause);
/* Closes the journal; NULL is a no-op. */
void rcp_journal_free(struct rcp_journal *jl);

/*
 * Appends n records and fsyncs once.  Returns 0 once they are on disk, or
 * RCP_ERR_IO with *cause set.  Any thread (the journal has its own lock).
 */
int rcp_journal_append(struct rcp_journal *jl, json_t *const *recs, size_t n,
    char **cause);

/*
 * Replaces the journal's contents with n records: written to a new file,
 * fsync'ed and renamed over the old one, the directory fsync'ed; records
 * appended while it is written follow them in the new file, and later
 * appends go to the new file.  Returns 0 or RCP_ERR_IO with *cause set (the
 * old file is then still in use).  Any thread.
 */
int rcp_journal_rewrite(struct rcp_journal *jl, json_t *const *recs, size_t n,
    char **cause);

/*
 * The same, the records coming from gen: each call appends the next few
 * encoded lines ("{...}\n") to b and returns false once it gave the last.
 * gen is called without the journal's lock: it may append to the journal
 * itself, and appends of other threads go on while it runs.
 */
typedef bool rcp_journal_gen_fn(void *arg, struct rcp_buf *b);
int rcp_journal_rewrite_gen(struct rcp_journal *jl, rcp_journal_gen_fn *gen,
    void *arg, char **cause);

/* Returns the journal's size in bytes.  Any thread. */
uint64_t rcp_journal_size(struct rcp_journal *jl);

#endif
