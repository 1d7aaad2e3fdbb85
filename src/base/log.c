/* log.c: hands formatted log records to the caller's sink. */
#include <stdlib.h>

#include "base/log.h"
#include "base/util.h"

#include "base/banned.h"

int
rcp_log_enabled(const struct rcp_log *log, int level)
{
	return log != NULL && log->fn != NULL && level <= log->level;
}

void
rcp_vlog(const struct rcp_log *log, int level, const char *fmt, va_list ap)
{
	char *msg;

	if (!rcp_log_enabled(log, level))
		return;
	msg = rcp_xvasprintf(fmt, ap);
	log->fn(log->arg, level, msg);
	free(msg);
}

void
rcp_log(const struct rcp_log *log, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rcp_vlog(log, level, fmt, ap);
	va_end(ap);
}

const char *
rcp_log_level_name(int level)
{
	switch (level) {
	case RCP_LOG_OUTPUT:
		return "output";
	case RCP_LOG_ERROR:
		return "error";
	case RCP_LOG_WARN:
		return "warning";
	case RCP_LOG_INFO:
		return "info";
	case RCP_LOG_DEBUG:
		return "debug";
	}
	return "trace";
}
