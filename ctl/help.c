/*
 * help.c: rcpctl's help texts.  They live apart from main because the
 * commands print them too (--help after a command's name).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include "control/ctlproto.h"
#include "ctl/help.h"
#include "opts/cliopts.h"
#include "opts/suiteopts.h"

#include "base/banned.h"

void
rcpctl_usage(FILE *fp)
{
	fputs(
"usage: rcpctl [--socket PATH] COMMAND [ARGS]\n"
"\n"
"The client of rcp-master, the copy job service.\n"
"\n"
"Commands:\n"
"  submit [--wait] [--progress] [--json] [--priority N] [--label L] [--key K]\n"
"         [--no-cancel-on-signal] [--record-files] [--stall-timeout D]\n"
"         [rcp options] SRC... DST\n"
"                                     queue a copy (rcp's options, see rcp(1))\n"
"  rm [submit's own options] [rrm options] PATH...\n"
"                                     queue a remove, as rrm(1) does it\n"
"  link [submit's own options] [rlink options] SRC DST\n"
"                                     queue a hard-linked copy, as rlink(1)\n"
"  chmod [submit's own options] [rchm options] PATH...\n"
"                                     queue a chmod/chown, as rchm(1)\n"
"  status [ID] [--json]               one job in detail, or your live jobs\n"
"  list [--state S] [--label L] [--limit N] [--json]\n"
"                                     your jobs (root: everyone's)\n"
"  cancel ID [--wait] [--json]        stop a job\n"
"  files ID [--errors] [--json]       a job's ledger: each failed entry and\n"
"                                     its cause; copied files (--record-files)\n"
"  watch ID [--json] [--interval D]   follow a job to its end\n"
"  wait ID [--timeout D] [--json]     wait for a job to end\n"
"  batch [--wait] [--json] [--priority N] [--label L] [--record-files]\n"
"        [--shard K/N] FILE\n"
"                                     submit one copy per line of FILE ('-': stdin)\n"
"  stats [--json]                     queue length, running jobs, throughput\n"
"  metrics                            the master's counters for Prometheus\n"
"  ping                               check that the master answers\n"
"  shutdown [--requeue]               stop the master (its user or root)\n"
"\n"
"  --socket PATH   the master's socket (default: $RCP_MASTER_SOCKET, else\n"
"                  $XDG_RUNTIME_DIR/rcp/master.sock or /tmp/rcp-$UID/master.sock,\n"
"                  else " RCP_CTL_SYSTEM_SOCKET ")\n"
"  -h, --help      show this help; -V, --version: the version\n"
"\n"
"Exit status: 0 succeeded (or done), 1 failed, 2 bad usage, 3 cannot reach the\n"
"master, 4 partial (some entries failed), 5 canceled, 6 timeout.\n", fp);
}

void
rcpctl_submit_usage(FILE *fp)
{
	fputs(
"usage: rcpctl submit [OPTIONS] SRC... DST\n"
"\n"
"  --wait          wait for the job to end; exit with its result\n"
"  --progress      with --wait: show progress on stderr\n"
"  --no-cancel-on-signal  with --wait: SIGTERM, SIGINT or SIGHUP stop the\n"
"                  wait (exit 6) and leave the job running; by default they\n"
"                  cancel it (scancel of a batch job cancels its copy).\n"
"                  SIGUSR1 always stops the wait and leaves the job running\n"
"  --json          print the job as JSON (see rcpctl(1))\n"
"  --priority N    -1000 to 1000 (default 0); higher runs first\n"
"  --label L       a label to find the job by\n"
"  --stall-timeout D  (rcp's option) fail the job if it makes no progress\n"
"                  for D (0: never; default: the master's --stall-timeout)\n"
"  --key K         idempotency key: a second submit with the same key\n"
"                  returns the first job instead of starting another copy\n"
"  --record-files  keep every copied file in the job's ledger (rcpctl files),\n"
"                  beside the failed entries it always keeps\n"
"\n"
"And rcp's copy options:\n"
"\n", fp);
	rcp_cliopts_help(fp);
	fputs("\n", fp);
	rcp_cliopts_help_remote(fp);
}

void
rcpctl_suite_usage(FILE *fp, const char *cmd, const char *tool, int tool_id)
{
	fprintf(fp, "usage: rcpctl %s [OPTIONS] %s\n"
"\n"
"Queues a job of rcp-master that does what %s(1) does, as you, on local\n"
"paths only.  It is in the same queue as copies, and shown, followed,\n"
"canceled and journaled the same way.\n"
"\n"
"  --wait, --json, --priority N, --label L, --key K, --no-cancel-on-signal,\n"
"  --record-files (link only), --stall-timeout D\n"
"                  as for submit (rcpctl submit --help)\n"
"  --progress      with --wait: show progress on stderr\n"
"\n"
"And %s's options (but --filter-file, which the service does not take);\n"
"see %s(1) for those of its own:\n"
"\n", cmd, tool_id == RCP_TOOL_RLINK ? "SRC DST" : "PATH...", tool, tool,
	    tool);
	rcp_suiteopts_help(fp, tool_id);
}
