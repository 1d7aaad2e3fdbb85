/*
 * log.h: how library code reports what happens.  The library never prints:
 * it hands each record to the caller's function, which may be called from
 * several threads at once and must therefore be thread-safe.
 */
#ifndef RCP_LOG_H
#define RCP_LOG_H

#include <stdarg.h>

enum rcp_log_level {
	RCP_LOG_OUTPUT = -1,	/* output the user asked for (dry-run lists): never filtered */
	RCP_LOG_ERROR = 0,
	RCP_LOG_WARN = 1,
	RCP_LOG_INFO = 2,
	RCP_LOG_DEBUG = 3,
	RCP_LOG_TRACE = 4
};

typedef void rcp_log_fn(void *arg, int level, const char *msg);

struct rcp_log {
	rcp_log_fn	*fn;	/* NULL: records are dropped */
	void		*arg;
	int		 level;	/* records above this level are dropped */
};

/* Formats a record and passes it to log->fn if its level is enabled. */
void rcp_log(const struct rcp_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rcp_vlog(const struct rcp_log *log, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* Returns 1 if records of level would be passed on. */
int rcp_log_enabled(const struct rcp_log *log, int level);
/* Returns "error", "warning", "info", "debug" or "trace". */
const char *rcp_log_level_name(int level);

#endif
