/*
 * rcpctl.h: what rcpctl's commands share: the state of one run (what the
 * command line asked for, the connection to the master), the ids of
 * rcpctl's own options, and the table entry each ctl/cmd-*.c defines.
 * The exit codes are RCP_CTL_EXIT_* of control/ctlproto.h (rcpctl(1)).
 */
#ifndef RCPCTL_H
#define RCPCTL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"
#include "control/ctlclient.h"
#include "control/ctlproto.h"

/* Requests that should be answered at once get this long. */
#define RCPCTL_CALL_TIMEOUT_MS	60000

/* Options of rcpctl's own; their values stay clear of rcp's. */
enum {
	RCPCTL_OPT_SOCKET = 1024,
	RCPCTL_OPT_WAIT,
	RCPCTL_OPT_JSON,
	RCPCTL_OPT_PRIORITY,
	RCPCTL_OPT_LABEL,
	RCPCTL_OPT_KEY,
	RCPCTL_OPT_STATE,
	RCPCTL_OPT_TIMEOUT,
	RCPCTL_OPT_REQUEUE,
	RCPCTL_OPT_INTERVAL,
	RCPCTL_OPT_LIMIT,
	RCPCTL_OPT_NO_CANCEL,
	RCPCTL_OPT_SHARD,
	RCPCTL_OPT_RECORD_FILES,
	RCPCTL_OPT_ERRORS
};

/* What the command line asked for, and the connection once made. */
struct rcpctl {
	const char		*socket;
	bool			 wait;
	bool			 json;
	bool			 progress;
	bool			 requeue;
	bool			 no_cancel;	/* --no-cancel-on-signal */
	bool			 record_files;	/* submit --record-files */
	bool			 errors_only;	/* files --errors */
	uint64_t		 shard_k;	/* batch --shard K/N; */
	uint64_t		 shard_n;	/* 0: no sharding */
	const char		*label;
	const char		*key;
	const char		*state;
	int64_t			 priority;
	bool			 priority_set;
	int64_t			 stall_s;	/* rcp's --stall-timeout; -1: unset */
	int64_t			 limit;
	int			 timeout_ms;	/* -1: none */
	int			 interval_ms;
	struct rcp_ctlclient	*c;
};

/* Prints a usage error; returns RCP_CTL_EXIT_USAGE. */
#define rcpctl_bad_usage(...) \
	rcp_usage_error("rcpctl", RCP_CTL_EXIT_USAGE, __VA_ARGS__)

/*
 * A command: exec gets argv from the command's name on and returns the
 * exit code.  It may connect (x->c); main frees the connection.
 */
struct rcpctl_cmd {
	const char	*name;
	int		(*exec)(struct rcpctl *x, int argc, char **argv);
};

extern const struct rcpctl_cmd rcpctl_cmd_submit;	/* cmd-submit.c */
extern const struct rcpctl_cmd rcpctl_cmd_rm;		/* cmd-submit.c */
extern const struct rcpctl_cmd rcpctl_cmd_link;		/* cmd-submit.c */
extern const struct rcpctl_cmd rcpctl_cmd_chmod;	/* cmd-submit.c */
extern const struct rcpctl_cmd rcpctl_cmd_status;	/* cmd-status.c */
extern const struct rcpctl_cmd rcpctl_cmd_list;		/* cmd-status.c */
extern const struct rcpctl_cmd rcpctl_cmd_cancel;	/* cmd-cancel.c */
extern const struct rcpctl_cmd rcpctl_cmd_files;	/* cmd-files.c */
extern const struct rcpctl_cmd rcpctl_cmd_watch;	/* cmd-watch.c */
extern const struct rcpctl_cmd rcpctl_cmd_wait;		/* cmd-wait.c */
extern const struct rcpctl_cmd rcpctl_cmd_batch;	/* cmd-batch.c */
extern const struct rcpctl_cmd rcpctl_cmd_stats;	/* cmd-master.c */
extern const struct rcpctl_cmd rcpctl_cmd_metrics;	/* cmd-master.c */
extern const struct rcpctl_cmd rcpctl_cmd_ping;		/* cmd-master.c */
extern const struct rcpctl_cmd rcpctl_cmd_shutdown;	/* cmd-master.c */

#endif
