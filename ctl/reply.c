/*
 * reply.c: reading the members of the master's replies.  Every member
 * rcpctl reads is checked first, so a master that leaves one out or sends
 * the wrong type (another version, a bug, a program that is not rcp-master)
 * gets an error naming the member instead of a crash.  Exit 3, as for a
 * master that cannot be reached: how the job went is not known.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdio.h>

#include <jansson.h>

#include "base/util.h"
#include "control/ctlproto.h"
#include "ctl/reply.h"

#include "base/banned.h"

/* The members of a job that rcpctl shows; the others it only passes on. */
static const struct {
	const char		*key;
	enum rcp_ctl_kind	 kind;
	bool			 required;
} job_members[] = {
	{ "id", RCP_CTL_K_ID, true },
	{ "state", RCP_CTL_K_STATE, true },
	{ "label", RCP_CTL_K_STRING, false },
	{ "priority", RCP_CTL_K_NUMBER, false },
	{ "sources", RCP_CTL_K_STRINGS, false },
	{ "destination", RCP_CTL_K_STRING, false },
	{ "submitted", RCP_CTL_K_NUMBER, false },
	{ "started", RCP_CTL_K_NUMBER, false },
	{ "finished", RCP_CTL_K_NUMBER, false },
	{ "bytes_done", RCP_CTL_K_NUMBER, false },
	{ "bytes_total", RCP_CTL_K_NUMBER, false },
	{ "files_done", RCP_CTL_K_NUMBER, false },
	{ "files_total", RCP_CTL_K_NUMBER, false },
	{ "rate", RCP_CTL_K_NUMBER, false },
	{ "eta", RCP_CTL_K_NUMBER, false },
	{ "error", RCP_CTL_K_STRING, false },
	{ "errors", RCP_CTL_K_STRINGS, false },
	{ "errors_total", RCP_CTL_K_NUMBER, false },
	{ "warnings", RCP_CTL_K_STRINGS, false }
};

static int
malformed(const char *where, const char *key, const char *problem)
{
	fprintf(stderr, "rcpctl: malformed reply from the master: '%s%s%s' "
	    "%s\n", where != NULL ? where : "", where != NULL ? "." : "", key,
	    problem);
	return RCP_CTL_EXIT_UNREACHABLE;
}

int
rcpctl_check(const json_t *o, const char *where, const char *key,
    enum rcp_ctl_kind kind, bool required)
{
	const char *problem = NULL;

	switch (rcp_ctl_member(o, key, kind, NULL, &problem)) {
	case 0:
		return required ? malformed(where, key, "is missing") : 0;
	case 1:
		return 0;
	default:
		return malformed(where, key, problem);
	}
}

/* Checks job, named name in errors, as rcpctl_reply_job. */
static int
check_job(const json_t *job, const char *name)
{
	size_t i;
	int r;

	if (!json_is_object(job))
		return malformed(NULL, name, job == NULL || json_is_null(job) ?
		    "is missing" : "is not an object");
	for (i = 0; i < RCP_ARRAY_SIZE(job_members); i++)
		if ((r = rcpctl_check(job, name, job_members[i].key,
		    job_members[i].kind, job_members[i].required)) != 0)
			return r;
	return 0;
}

int
rcpctl_reply_job(const json_t *res, const char *key, const json_t **job)
{
	int r;

	if ((r = check_job(json_object_get(res, key), key)) != 0)
		return r;
	*job = json_object_get(res, key);
	return 0;
}

int
rcpctl_reply_jobs(const json_t *res, const char *key, const char *sub,
    const json_t **jobs)
{
	const json_t *a = json_object_get(res, key), *item;
	char name[96];
	size_t i;
	int r;

	if (!json_is_array(a))
		return malformed(NULL, key, a == NULL ? "is missing" :
		    "is not an array");
	for (i = 0; i < json_array_size(a); i++) {
		item = json_array_get(a, i);
		if (sub != NULL)
			item = json_object_get(item, sub);
		snprintf(name, sizeof(name), "%s[%zu]%s%s", key, i,
		    sub != NULL ? "." : "", sub != NULL ? sub : "");
		if ((r = check_job(item, name)) != 0)
			return r;
	}
	if (jobs != NULL)
		*jobs = a;
	return 0;
}

double
rcpctl_num(const json_t *o, const char *key)
{
	return rcp_ctl_num(o, key);
}

const char *
rcpctl_str(const json_t *o, const char *key)
{
	return rcp_ctl_str(o, key, "-");
}

const char *
rcpctl_item(const json_t *a, size_t i)
{
	const char *s = json_string_value(json_array_get(a, i));

	return s != NULL ? s : "-";
}
