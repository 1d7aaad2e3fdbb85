/*
 * ledger.h: a job's per-file ledger, the record behind "rcpctl files": every
 * failed entry with its cause and, when the job asks (record_files), every
 * file it copied.  One file per job under the master's state directory,
 * "ledger/ID", of JSON lines (doc/ctl-protocol.md, "files"):
 *	{"kind":"error","attempt":1,"path":"/s/x","error":"cannot open ..."}
 *	{"kind":"file","attempt":1,"path":"/d/x"}
 * with "path_b64" beside "path" when the name is not UTF-8.
 *
 * The master writes it (in its own directory, mode 0600; a job's process
 * or agent never holds it), from the threads that run the job: entries
 * are buffered and written about once a second and at the end, then
 * fsync'ed once, so no entry costs a sync and the control loop never
 * writes it.  It is bounded: past the cap an entry is not written but
 * counted, so a reader always learns how much is missing.  Copied files
 * stop at three quarters of the cap, leaving the rest to errors.
 */
#ifndef RCP_LEDGER_H
#define RCP_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The default cap on one job's ledger, and the smallest one allowed. */
#define RCP_LEDGER_DEFAULT_MAX	(64ull << 20)
#define RCP_LEDGER_MIN_MAX	(4096u)
/* An entry longer than this (a path of tens of KiB) is counted, not kept. */
#define RCP_LEDGER_MAX_ENTRY	(64u << 10)
/* Bytes of an error message kept in an entry. */
#define RCP_LEDGER_MAX_MSG	4096
/* One "files" page reads at most this much of the file. */
#define RCP_LEDGER_MAX_SCAN	(4u << 20)

/* What a ledger holds and what it could not keep. */
struct rcp_ledger_counts {
	uint64_t	errors;		/* error entries written */
	uint64_t	files;		/* file entries written */
	uint64_t	errors_dropped;	/* not written: cap, size, write error */
	uint64_t	files_dropped;
};

struct rcp_ledger;

/* Returns DIR/ledger/ID (caller frees). */
char *rcp_ledger_path(const char *state_dir, uint64_t id);
/* Returns DIR/ledger (caller frees). */
char *rcp_ledger_dir(const char *state_dir);

/*
 * Opens the ledger at path for appending (creating it, mode 0600), its
 * entries of run attempt, with at most cap bytes in all; *start holds the
 * counts of what earlier attempts dropped (the job's, from its journal),
 * and what they wrote is counted from the file (a pool thread's read of
 * at most the cap, at the start of an attempt after the first).
 * Returns 0 with *out (close with rcp_ledger_close), or RCP_ERR_IO with
 * *cause set (caller frees).
 */
int rcp_ledger_open(const char *path, uint64_t cap, int attempt,
    const struct rcp_ledger_counts *start, struct rcp_ledger **out,
    char **cause);

/*
 * Records the failed entry an engine error message msg names (its first
 * quoted path, see rcp_ledger_msg_path) and msg as the cause.  Any thread.
 */
void rcp_ledger_error(struct rcp_ledger *l, const char *msg);
/* Records a copied file (its destination path, bytes).  Any thread. */
void rcp_ledger_file(struct rcp_ledger *l, const char *path);
/*
 * Writes what is buffered if the last write is a second old or more, so
 * that a running job's ledger can be read.  Returns 0, or RCP_ERR_IO with
 * *cause set the first time a write fails (the entries are counted as
 * dropped, and so are all later ones).  Any thread.
 */
int rcp_ledger_tick(struct rcp_ledger *l, char **cause);
/* Copies the counts so far into *out.  Any thread. */
void rcp_ledger_counts(struct rcp_ledger *l, struct rcp_ledger_counts *out);
/*
 * Writes the rest, fsyncs, closes and frees l, with the final counts in
 * *out.  Returns 0, or RCP_ERR_IO with *cause set if a write failed now or
 * earlier unreported.  NULL is a no-op.
 */
int rcp_ledger_close(struct rcp_ledger *l, struct rcp_ledger_counts *out,
    char **cause);

/*
 * The path an engine error message names: the bytes between its first
 * quote and the quote before the first "': " after it (else the last
 * quote), unescaped (rcp_escape's \\ and \xNN).  NULL if it names none.
 * Caller frees.
 */
char *rcp_ledger_msg_path(const char *msg);

/* {"errors":..,"files":..,"errors_dropped":..,"files_dropped":..} */
json_t *rcp_ledger_counts_json(const struct rcp_ledger_counts *c);
/* Reads that object back (missing members are 0). */
void rcp_ledger_counts_read(const json_t *o, struct rcp_ledger_counts *c);

/* One page of a ledger, as rcp_ledger_read returns it. */
struct rcp_ledger_page {
	uint64_t	 cursor;	/* byte offset to start at */
	size_t		 limit;		/* at most this many entries */
	size_t		 max_bytes;	/* and about this many bytes of them */
	bool		 errors_only;	/* skip copied files */
};

/*
 * Reads one page of the ledger at path from q->cursor: complete lines
 * only, at most RCP_LEDGER_MAX_SCAN bytes of the file.  Returns 0 with
 * *entries (a new array), *next (the cursor after them) and *more (the
 * file goes on past *next); a missing file reads as empty.  RCP_ERR_INVAL
 * with *cause if the cursor is past the end, RCP_ERR_IO if it cannot be
 * read.
 */
int rcp_ledger_read(const char *path, const struct rcp_ledger_page *q,
    json_t **entries, uint64_t *next, bool *more, char **cause);

#endif
