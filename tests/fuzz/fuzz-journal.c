/*
 * fuzz-journal.c: what rcp-master reads back at start-up, and a submit
 * request's job: rcp_journal_load on a file holding the input, each
 * record through rcp_job_from_json (and the options it keeps through
 * rcp_job_parse_options, as a restart does), and each record as a submit
 * request through rcp_job_from_request.  A job read back must write out
 * as a record that reads back.  The same file read as a job's ledger
 * (workers/ledger.c), page by page as "files" requests walk it: every
 * page moves the cursor on or ends; and each line as an engine error
 * message, whose path is taken out of it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"
#include "workers/job.h"
#include "workers/journal.h"
#include "workers/ledger.h"
#include "fuzz.h"

static char path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/rcp-fuzz-journal.XXXXXX");
	if ((fd = mkstemp(path)) < 0)
		abort();
	close(fd);
	return 0;
}

static void
on_record(void *arg, const json_t *rec)
{
	struct rcp_job_who who = { 1000, 1000 };
	struct rcp_job *j = NULL, *j2 = NULL;
	char *cause = NULL;
	json_t *back;

	if (rcp_job_from_json(rec, &j, &cause) == 0) {
		back = rcp_job_to_json(j);
		if (rcp_job_from_json(back, &j2, &cause) != 0)
			abort();
		json_decref(back);
		rcp_job_free(j2);
		if (rcp_job_parse_options(j, &cause) != 0)
			free(cause);
		rcp_job_free(j);
	} else {
		free(cause);
	}
	cause = NULL;
	j = NULL;
	if (rcp_job_from_request(rec, &who, &j, &cause) == 0)
		rcp_job_free(j);
	else
		free(cause);
}

/* Walks the file as a ledger, in small pages, as rcpctl files does. */
static void
ledger_pages(bool errors_only)
{
	struct rcp_ledger_page q = { 0, 7, 2048, errors_only };
	json_t *entries;
	uint64_t next;
	char *cause = NULL;
	bool more = true;
	int pages;

	for (pages = 0; more && pages < 100000; pages++) {
		if (rcp_ledger_read(path, &q, &entries, &next, &more,
		    &cause) != 0) {
			free(cause);
			return;
		}
		if (json_array_size(entries) > q.limit ||
		    (more && next <= q.cursor))
			abort();
		json_decref(entries);
		q.cursor = next;
	}
}

/* Each line as an engine error message. */
static void
msg_paths(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *line, *save = NULL;

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		free(rcp_ledger_msg_path(line));
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *cause = NULL;
	size_t nbad = 0;
	FILE *f;

	if (path[0] == '\0')
		LLVMFuzzerInitialize(NULL, NULL);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	if (rcp_journal_load(path, on_record, NULL, &nbad, &cause) != 0)
		free(cause);
	ledger_pages(false);
	ledger_pages(data[0 % (size + 1)] & 1);
	msg_paths(data, size);
	return 0;
}
