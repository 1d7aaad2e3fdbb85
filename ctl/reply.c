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
	enum rcpctl_kind	 kind;
	bool			 required;
} job_members[] = {
	{ "id", RCPCTL_ID, true },
	{ "state", RCPCTL_STATE, true },
	{ "label", RCPCTL_STRING, false },
	{ "priority", RCPCTL_NUMBER, false },
	{ "sources", RCPCTL_STRINGS, false },
	{ "destination", RCPCTL_STRING, false },
	{ "submitted", RCPCTL_NUMBER, false },
	{ "started", RCPCTL_NUMBER, false },
	{ "finished", RCPCTL_NUMBER, false },
	{ "bytes_done", RCPCTL_NUMBER, false },
	{ "bytes_total", RCPCTL_NUMBER, false },
	{ "files_done", RCPCTL_NUMBER, false },
	{ "files_total", RCPCTL_NUMBER, false },
	{ "rate", RCPCTL_NUMBER, false },
	{ "eta", RCPCTL_NUMBER, false },
	{ "error", RCPCTL_STRING, false },
	{ "errors", RCPCTL_STRINGS, false },
	{ "errors_total", RCPCTL_NUMBER, false }
};

static int
malformed(const char *where, const char *key, const char *problem)
{
	fprintf(stderr, "rcpctl: malformed reply from the master: '%s%s%s' "
	    "%s\n", where != NULL ? where : "", where != NULL ? "." : "", key,
	    problem);
	return RCP_CTL_EXIT_UNREACHABLE;
}

static bool
all_strings(const json_t *a)
{
	size_t i;

	if (!json_is_array(a))
		return false;
	for (i = 0; i < json_array_size(a); i++)
		if (!json_is_string(json_array_get(a, i)))
			return false;
	return true;
}

/* Returns what is wrong with v as a kind, or NULL. */
static const char *
wrong(const json_t *v, enum rcpctl_kind kind)
{
	switch (kind) {
	case RCPCTL_NUMBER:
		return json_is_number(v) ? NULL : "is not a number";
	case RCPCTL_STRING:
		return json_is_string(v) ? NULL : "is not a string";
	case RCPCTL_STRINGS:
		return all_strings(v) ? NULL : "is not an array of strings";
	case RCPCTL_BOOL:
		return json_is_boolean(v) ? NULL : "is not a boolean";
	case RCPCTL_OBJECT:
		return json_is_object(v) ? NULL : "is not an object";
	case RCPCTL_ID:
		return json_is_integer(v) && json_integer_value(v) > 0 ? NULL :
		    "is not a job id";
	case RCPCTL_STATE:
		if (!json_is_string(v))
			return "is not a string";
		return rcp_ctl_state_parse(json_string_value(v)) >= 0 ? NULL :
		    "is not a job state";
	}
	return "is of no known kind";
}

int
rcpctl_check(const json_t *o, const char *where, const char *key,
    enum rcpctl_kind kind, bool required)
{
	const json_t *v = json_object_get(o, key);
	const char *problem;

	if (v == NULL || json_is_null(v))
		return required ? malformed(where, key, "is missing") : 0;
	if ((problem = wrong(v, kind)) != NULL)
		return malformed(where, key, problem);
	return 0;
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
	return json_number_value(json_object_get(o, key));
}

const char *
rcpctl_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "-";
}

const char *
rcpctl_item(const json_t *a, size_t i)
{
	const char *s = json_string_value(json_array_get(a, i));

	return s != NULL ? s : "-";
}
