/*
 * fuzz-ctlproto.c: the control protocol as the master and rcpctl read it
 * (control/ctlproto.c): the line reader fed in pieces, each line decoded,
 * and every request getter, the reply parser and the path codec (with
 * _b64) run on what came out.  A path read back must survive a round
 * trip through rcp_ctl_set_path.
 */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "control/ctlproto.h"
#include "fuzz.h"

static void
path_roundtrip(const char *key, const char *path)
{
	json_t *o = json_object();
	char *back = NULL, *why = NULL;

	rcp_ctl_set_path(o, key, path);
	if (rcp_ctl_get_path(o, key, RCP_CTL_MAX_PATH, &back, &why) != 1 ||
	    strcmp(back, path) != 0)
		abort();
	free(back);
	json_decref(o);
}

static void
getters(const json_t *o)
{
	const char *s, **sv = NULL;
	char *why = NULL, *p = NULL, **pv = NULL, *msg = NULL;
	json_t *result;
	int64_t i;
	bool b;
	size_t n, k;

	(void)rcp_ctl_get_str(o, "method", RCP_CTL_MAX_LABEL, &s, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_int(o, "id", 0, INT64_MAX, &i, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_int(o, "version", 1, 1000, &i, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_bool(o, "wait", &b, &why);
	free(why), why = NULL;
	/* A "files" request's members, and a submit's record_files. */
	(void)rcp_ctl_get_int(o, "cursor", 0, INT64_MAX, &i, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_int(o, "limit", 1, INT64_MAX, &i, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_bool(o, "errors", &b, &why);
	free(why), why = NULL;
	(void)rcp_ctl_get_bool(o, "record_files", &b, &why);
	free(why), why = NULL;
	if (rcp_ctl_get_str(o, "state", RCP_CTL_MAX_LABEL, &s, &why) == 1)
		(void)rcp_ctl_state_parse(s);
	free(why), why = NULL;
	if (rcp_ctl_get_strv(o, "options", RCP_CTL_MAX_OPTIONS,
	    RCP_CTL_MAX_STRING, &sv, &n, &why) == 1)
		free(sv);
	free(why), why = NULL;
	if (rcp_ctl_get_path(o, "destination", RCP_CTL_MAX_PATH, &p,
	    &why) == 1) {
		path_roundtrip("destination", p);
		free(p);
	}
	free(why), why = NULL;
	if (rcp_ctl_get_pathv(o, "sources", RCP_CTL_MAX_SOURCES,
	    RCP_CTL_MAX_PATH, &pv, &n, &why) == 1) {
		for (k = 0; k < n; k++) {
			path_roundtrip("s", pv[k]);
			free(pv[k]);
		}
		free(pv);
	}
	free(why), why = NULL;
	if (rcp_ctl_reply_parse(o, &result, &msg) > 0) {
		(void)rcp_ctl_err_name(rcp_ctl_err_parse(msg));
		free(msg);
	}
}

static void
take_lines(struct rcp_ctl_reader *r)
{
	json_t *o, *jobs, *item;
	char *line, *why = NULL;
	size_t len, i;
	int got;

	while ((got = rcp_ctl_reader_next(r, &line, &len)) != 0) {
		if (got != 1)
			continue;	/* RCP_ERR_TOOBIG: the line was dropped */
		if (rcp_ctl_decode(line, len, &o, &why) != 0) {
			free(why);
			why = NULL;
			continue;
		}
		getters(o);
		/* A batch: each of its jobs is read as a request is. */
		jobs = json_object_get(o, "jobs");
		json_array_foreach(jobs, i, item)
			getters(item);
		json_decref(o);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rcp_ctl_reader r;
	size_t cut;

	/* A small cap, so that oversized lines are dropped and skipped. */
	rcp_ctl_reader_init(&r, 4096);
	cut = size > 0 ? data[0] % (size + 1) : 0;
	rcp_ctl_reader_feed(&r, data, cut);
	take_lines(&r);
	rcp_ctl_reader_feed(&r, data + cut, size - cut);
	take_lines(&r);
	(void)rcp_ctl_reader_pending(&r);
	rcp_ctl_reader_release(&r);
	return 0;
}
