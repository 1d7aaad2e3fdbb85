/*
 * main-job.c: rcp-job, the process in which rcp-master runs a local job of
 * another user (see runner.h).  rcp-master starts it already switched to
 * the user, with the job on a file descriptor; it runs the copy engine and
 * reports back.  It links only what a local copy needs -- no SSH, QUIC or
 * TLS library -- so that it starts in a fraction of rcp-master's time:
 * with thousands of small jobs, that start is most of each job's cost.
 */
#include <stdio.h>
#include <string.h>

#include "workers/runner.h"

int
main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], RCP_RUNNER_CHILD_ARG) == 0)
		return rcp_runner_child_main();
	fprintf(stderr, "rcp-job: started by rcp-master only\n");
	return 2;
}
