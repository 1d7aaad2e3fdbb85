/*
 * fuzz-runner.c: the reports a job's process sends its parent (the JSON
 * lines of workers/runner-int.h), read as the master reads them:
 * runner_read_reports on a file holding the input, each report through
 * runner_child_message, whose hooks feed a job's counters and errors as
 * the master's do (rcp_job_set_progress, rcp_job_add_error), and the
 * errors and copied files into a ledger, as the master's do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "workers/job.h"
#include "workers/ledger.h"
#include "workers/runner.h"
#include "workers/runner-int.h"
#include "fuzz.h"

static void
on_progress(void *arg, const struct rcp_job_progress *p)
{
	static uint64_t now;

	rcp_job_set_progress(arg, p, now += 1000000);
}

/* The ledger of an input: a file removed at once, capped small. */
static struct rcp_ledger *ledger;

static void
on_error(void *arg, const char *msg)
{
	rcp_job_add_error(arg, msg);
	rcp_ledger_error(ledger, msg);
}

static void
on_file(void *arg, const char *path)
{
	if (path[0] == '\0')
		abort();	/* the getter refuses an empty path */
	rcp_ledger_file(ledger, path);
}

static void
on_report(void *arg, const json_t *m)
{
	runner_child_message(arg, m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcp_runner r;
	struct child_state cs;
	struct rcp_ctl_reader in;
	struct rcp_job *j = rcp_xcalloc(1, sizeof(*j));
	struct rcp_ledger_counts n;
	char path[64], *cause = NULL;
	int fd;

	snprintf(path, sizeof(path), "/tmp/rcp-fuzz-ledger.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	if (rcp_ledger_open(path, 1u << 16, 1, NULL, &ledger, &cause) != 0)
		abort();
	unlink(path);

	if ((fd = memfd_create("rcp-fuzz-reports", MFD_CLOEXEC)) < 0)
		abort();
	if (write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0)
		abort();
	memset(&r, 0, sizeof(r));
	r.hooks.progress = on_progress;
	r.hooks.error = on_error;
	r.hooks.file = on_file;
	r.hooks.arg = j;
	memset(&cs, 0, sizeof(cs));
	cs.r = &r;
	rcp_ctl_reader_init(&in, RCP_CTL_MAX_LINE);
	while (runner_read_reports(&in, fd, 0, on_report, &cs))
		;
	rcp_ctl_reader_release(&in);
	close(fd);
	free(cs.cause);
	rcp_job_free(j);
	if (rcp_ledger_close(ledger, &n, &cause) != 0)
		free(cause);
	return 0;
}
