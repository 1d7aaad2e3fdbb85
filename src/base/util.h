/*
 * util.h: small helpers every module uses: allocation that aborts on
 * out-of-memory (internal bookkeeping only), number and size parsing, clocks
 * and human-readable formatting.
 */
#ifndef RCP_UTIL_H
#define RCP_UTIL_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation for internal bookkeeping: aborts with a message on OOM. */
void *rcp_xmalloc(size_t n);
void *rcp_xcalloc(size_t nmemb, size_t size);
void *rcp_xrealloc(void *p, size_t n);
char *rcp_xstrdup(const char *s);
/* Frees n strings and the array that holds them; NULL is a no-op. */
void rcp_strv_free(char **v, size_t n);

/* FNV-1a of a string: for hash tables of names (not a defence). */
uint32_t rcp_hash_str(const char *s);
char *rcp_xstrndup(const char *s, size_t n);
/* Returns a newly allocated formatted string; the caller frees it. */
char *rcp_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *rcp_xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Parses a byte size: a decimal number with an optional suffix K, M, G, T or
 * P (powers of 1024; "KiB" and "KB" spellings accepted).  Returns 0 and sets
 * *out, or RCP_ERR_INVAL.
 */
int rcp_parse_size(const char *s, uint64_t *out);
/* Parses a non-negative decimal integer no larger than max.  0 or RCP_ERR_INVAL. */
int rcp_parse_uint(const char *s, uint64_t max, uint64_t *out);
/*
 * Parses a duration into nanoseconds: a non-negative number with "ms", "s"
 * (or none), "m"/"min" and, with days, "h" and "d"; at most max_s seconds.
 * 0 or RCP_ERR_INVAL.
 */
int rcp_parse_duration(const char *s, bool days, double max_s, uint64_t *ns);
/* Parses a non-negative decimal number (e.g. "1.5").  0 or RCP_ERR_INVAL. */
int rcp_parse_double(const char *s, double *out);

/* Nanoseconds on the monotonic clock. */
uint64_t rcp_now_ns(void);
/*
 * Deadlines on that clock, in ns: timeout_ms from now, or 0 (none) for a
 * negative timeout; whether one has passed (never for 0); and the
 * milliseconds left, rounded up, for poll (-1 for none, 0 once passed).
 */
uint64_t rcp_deadline_after(int timeout_ms);
bool rcp_deadline_passed(uint64_t deadline);
int rcp_deadline_ms_left(uint64_t deadline);
/*
 * Sleeps until until_ns on that clock, in slices of at most 50 ms so that
 * cancel (if not NULL) turning true ends it early.  0, or RCP_ERR_CANCELED.
 */
int rcp_sleep_until(uint64_t until_ns, const atomic_bool *cancel);
/* Nanoseconds of CPU time (user + system) used by this process so far. */
uint64_t rcp_cpu_ns(void);
/* Peak resident set size of this process in bytes. */
uint64_t rcp_peak_rss(void);

/* Formats n bytes as "1.50 GiB" into buf.  Returns buf. */
char *rcp_fmt_bytes(char *buf, size_t len, double n);
/* Formats ns as "1h02m03s" / "2.50s" into buf.  Returns buf. */
char *rcp_fmt_duration(char *buf, size_t len, uint64_t ns);

/* Number of online CPUs, at least 1. */
int rcp_ncpus(void);

/*
 * Raises the soft open-file limit to the hard one.  Returns the soft limit
 * now in force (1024 if it cannot be read, at most INT_MAX).
 */
int rcp_raise_nofile(void);
/* Columns of the terminal on fd, 80 if fd is not a terminal. */
int rcp_term_cols(int fd);
/*
 * Prints "PROG: message" and a pointer to --help on stderr, the way every
 * program of the suite reports a bad command line.  Returns code.
 */
int rcp_usage_error(const char *prog, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Says what is wrong with the option getopt_long just refused with ch ('?'
 * or ':'; opterr 0 and an optstring that starts with ':'): "unknown option
 * '--bogus'", "unknown option '-x'" or "option '--seed' needs a value".
 * Returns a new string (caller frees).
 */
char *rcp_getopt_problem(int ch, char *const *argv);
/* Reports that problem as rcp_usage_error does.  Returns code. */
int rcp_usage_getopt(const char *prog, int code, int ch, char *const *argv);

#endif
