/*
 * ctlproto.c: the control protocol's codec: line framing with a cap,
 * JSON objects in and out, error codes and states by name, typed request
 * members, and the control socket's directory rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"

#include "base/banned.h"

/* Bytes asked of read(2) at a time. */
#define READ_CHUNK 65536

static const char *const err_names[] = {
	[RCP_CTL_E_PARSE] = "parse_error",
	[RCP_CTL_E_TOO_LONG] = "line_too_long",
	[RCP_CTL_E_BAD_REQUEST] = "bad_request",
	[RCP_CTL_E_UNKNOWN_METHOD] = "unknown_method",
	[RCP_CTL_E_INVALID] = "invalid_argument",
	[RCP_CTL_E_HELLO] = "hello_required",
	[RCP_CTL_E_VERSION] = "version_mismatch",
	[RCP_CTL_E_NOT_FOUND] = "not_found",
	[RCP_CTL_E_DENIED] = "permission_denied",
	[RCP_CTL_E_UNSUPPORTED] = "unsupported",
	[RCP_CTL_E_SHUTTING_DOWN] = "shutting_down",
	[RCP_CTL_E_TOO_MANY] = "too_many_requests",
	[RCP_CTL_E_BUSY] = "busy",
	[RCP_CTL_E_TIMEOUT] = "timeout",
	[RCP_CTL_E_FINISHED] = "already_finished",
	[RCP_CTL_E_INTERNAL] = "internal"
};

static const char *const state_names[RCP_CTL_NSTATES] = {
	[RCP_CTL_QUEUED] = "queued",
	[RCP_CTL_RUNNING] = "running",
	[RCP_CTL_SUCCEEDED] = "succeeded",
	[RCP_CTL_PARTIAL] = "partial",
	[RCP_CTL_FAILED] = "failed",
	[RCP_CTL_CANCELED] = "canceled"
};

int
rcp_ctl_err_from(int err)
{
	switch (err) {
	case RCP_ERR_INVAL:
	case RCP_ERR_TOOBIG:
		return RCP_CTL_E_INVALID;
	case RCP_ERR_NOTFOUND:
	case -ENOENT:
		return RCP_CTL_E_NOT_FOUND;
	case RCP_ERR_AUTH:
	case -EACCES:
	case -EPERM:
		return RCP_CTL_E_DENIED;
	case RCP_ERR_VERSION:
		return RCP_CTL_E_VERSION;
	case RCP_ERR_TIMEOUT:
		return RCP_CTL_E_TIMEOUT;
	case RCP_ERR_PROTO:
		return RCP_CTL_E_BAD_REQUEST;
	}
	return RCP_CTL_E_INTERNAL;
}

const char *
rcp_ctl_err_name(int code)
{
	if (code < 0)
		code = rcp_ctl_err_from(code);
	if (code <= 0 || (size_t)code >= RCP_ARRAY_SIZE(err_names) ||
	    err_names[code] == NULL)
		return "internal";
	return err_names[code];
}

int
rcp_ctl_err_parse(const char *name)
{
	size_t i;

	for (i = 1; i < RCP_ARRAY_SIZE(err_names); i++)
		if (err_names[i] != NULL && strcmp(err_names[i], name) == 0)
			return (int)i;
	return 0;
}

const char *
rcp_ctl_state_name(int state)
{
	if (state < 0 || state >= RCP_CTL_NSTATES)
		return "unknown";
	return state_names[state];
}

int
rcp_ctl_state_parse(const char *name)
{
	int i;

	for (i = 0; i < RCP_CTL_NSTATES; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

bool
rcp_ctl_state_final(int state)
{
	return state >= RCP_CTL_SUCCEEDED && state < RCP_CTL_NSTATES;
}

int
rcp_ctl_state_exit(int state)
{
	switch (state) {
	case RCP_CTL_SUCCEEDED:
		return RCP_CTL_EXIT_OK;
	case RCP_CTL_PARTIAL:
		return RCP_CTL_EXIT_PARTIAL;
	case RCP_CTL_CANCELED:
		return RCP_CTL_EXIT_CANCELED;
	}
	return RCP_CTL_EXIT_FAILED;
}

/* --- framing ------------------------------------------------------------ */

void
rcp_ctl_reader_init(struct rcp_ctl_reader *r, size_t max)
{
	memset(r, 0, sizeof(*r));
	rcp_buf_init(&r->buf);
	r->max = max;
}

void
rcp_ctl_reader_release(struct rcp_ctl_reader *r)
{
	rcp_buf_release(&r->buf);
	memset(r, 0, sizeof(*r));
}

/* Drops the bytes before r->off so the buffer does not grow without end. */
static void
compact(struct rcp_ctl_reader *r)
{
	size_t left = r->buf.len - r->off;

	if (r->off == 0)
		return;
	if (left == 0) {
		rcp_buf_reset(&r->buf);
	} else {
		memmove(r->buf.data, r->buf.data + r->off, left);
		r->buf.len = left;
		r->buf.data[left] = '\0';
	}
	r->off = 0;
}

void
rcp_ctl_reader_feed(struct rcp_ctl_reader *r, const void *p, size_t n)
{
	const char *nl;

	if (r->skipping) {
		/* Inside an oversized line: only its end matters. */
		if ((nl = memchr(p, '\n', n)) == NULL)
			return;
		r->skipping = false;
		n -= (size_t)(nl + 1 - (const char *)p);
		p = nl + 1;
	}
	compact(r);
	rcp_buf_add(&r->buf, p, n);
}

ssize_t
rcp_ctl_reader_fill(struct rcp_ctl_reader *r, int fd)
{
	char buf[READ_CHUNK];
	ssize_t n;

	do {
		n = read(fd, buf, sizeof(buf));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	rcp_ctl_reader_feed(r, buf, (size_t)n);
	return n;
}

int
rcp_ctl_reader_next(struct rcp_ctl_reader *r, char **line, size_t *len)
{
	char *start = r->buf.data + r->off, *nl;
	size_t avail = r->buf.len - r->off, n;

	nl = avail > r->scanned ? memchr(start + r->scanned, '\n',
	    avail - r->scanned) : NULL;
	if (nl == NULL) {
		r->scanned = avail;
		if (avail >= r->max) {
			/* No newline within the cap: drop what we have. */
			r->off = r->buf.len;
			r->scanned = 0;
			r->skipping = true;
			compact(r);
			return RCP_ERR_TOOBIG;
		}
		return 0;
	}
	n = (size_t)(nl - start);
	r->off += n + 1;
	r->scanned = 0;
	if (n + 1 > r->max)
		return RCP_ERR_TOOBIG;
	*nl = '\0';
	if (n > 0 && start[n - 1] == '\r')
		start[--n] = '\0';
	*line = start;
	*len = n;
	return 1;
}

size_t
rcp_ctl_reader_pending(const struct rcp_ctl_reader *r)
{
	return r->buf.len - r->off;
}

/* --- messages ------------------------------------------------------------ */

int
rcp_ctl_decode(const char *line, size_t len, json_t **out, char **cause)
{
	json_error_t e;
	json_t *j;

	j = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e);
	if (j == NULL) {
		*cause = rcp_xasprintf("malformed JSON at column %d: %s",
		    e.column, e.text);
		return RCP_ERR_PROTO;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*cause = rcp_xstrdup("a message must be a JSON object");
		return RCP_ERR_PROTO;
	}
	*out = j;
	return 0;
}

void
rcp_ctl_encode(struct rcp_buf *b, const json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);

	if (s == NULL) {
		/* Only on OOM or a value jansson cannot print: our bug. */
		rcp_buf_addstr(b, "{\"error\":{\"code\":\"internal\","
		    "\"message\":\"cannot encode a message\"}}\n");
		return;
	}
	rcp_buf_addstr(b, s);
	rcp_buf_addch(b, '\n');
	free(s);
}

json_t *
rcp_ctl_request(json_int_t id, const char *method)
{
	return json_pack("{s:I,s:s}", "id", id, "method", method);
}

json_t *
rcp_ctl_reply(const json_t *id, json_t *result)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", id != NULL ? json_deep_copy(id) :
	    json_null());
	json_object_set_new(r, "result", result != NULL ? result :
	    json_object());
	return r;
}

json_t *
rcp_ctl_error(const json_t *id, int code, const char *fmt, ...)
{
	json_t *r = json_object(), *e = json_object();
	va_list ap;
	char *msg, *shown;

	va_start(ap, fmt);
	msg = rcp_xvasprintf(fmt, ap);
	va_end(ap);
	json_object_set_new(e, "code", json_string(rcp_ctl_err_name(code)));
	/* Messages may quote file names that are not UTF-8. */
	shown = rcp_utf8_valid(msg, strlen(msg)) ? NULL : rcp_escape(msg);
	json_object_set_new(e, "message", json_string(shown != NULL ? shown :
	    msg));
	free(shown);
	free(msg);
	json_object_set_new(r, "id", id != NULL ? json_deep_copy(id) :
	    json_null());
	json_object_set_new(r, "error", e);
	return r;
}

int
rcp_ctl_reply_parse(const json_t *msg, json_t **result, char **message)
{
	json_t *e = json_object_get(msg, "error"), *res;
	const char *m, *code;
	int c;

	if ((res = json_object_get(msg, "result")) != NULL) {
		*result = res;
		return 0;
	}
	if (!json_is_object(e))
		return RCP_ERR_PROTO;
	code = json_string_value(json_object_get(e, "code"));
	m = json_string_value(json_object_get(e, "message"));
	c = code != NULL ? rcp_ctl_err_parse(code) : 0;
	*message = rcp_xstrdup(m != NULL ? m : (code != NULL ? code :
	    "error"));
	return c > 0 ? c : RCP_CTL_E_INTERNAL;
}

/* --- typed members ---------------------------------------------------------- */

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

const char *
rcp_ctl_wrong(const json_t *v, enum rcp_ctl_kind kind)
{
	switch (kind) {
	case RCP_CTL_K_NUMBER:
		return json_is_number(v) ? NULL : "is not a number";
	case RCP_CTL_K_INTEGER:
		return json_is_integer(v) ? NULL : "is not an integer";
	case RCP_CTL_K_STRING:
		return json_is_string(v) ? NULL : "is not a string";
	case RCP_CTL_K_STRINGS:
		return all_strings(v) ? NULL : "is not an array of strings";
	case RCP_CTL_K_BOOL:
		return json_is_boolean(v) ? NULL : "is not a boolean";
	case RCP_CTL_K_OBJECT:
		return json_is_object(v) ? NULL : "is not an object";
	case RCP_CTL_K_ARRAY:
		return json_is_array(v) ? NULL : "is not an array";
	case RCP_CTL_K_ID:
		return json_is_integer(v) && json_integer_value(v) > 0 ? NULL :
		    "is not a job id";
	case RCP_CTL_K_STATE:
		if (!json_is_string(v))
			return "is not a string";
		return rcp_ctl_state_parse(json_string_value(v)) >= 0 ? NULL :
		    "is not a job state";
	}
	return "is of no known kind";
}

int
rcp_ctl_member(const json_t *obj, const char *key, enum rcp_ctl_kind kind,
    const json_t **out, const char **problem)
{
	const json_t *v = json_object_get(obj, key);
	const char *why;

	if (v == NULL || json_is_null(v))
		return 0;
	if ((why = rcp_ctl_wrong(v, kind)) != NULL) {
		if (problem != NULL)
			*problem = why;
		return -1;
	}
	if (out != NULL)
		*out = v;
	return 1;
}

double
rcp_ctl_num(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

int64_t
rcp_ctl_int(const json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

uint64_t
rcp_ctl_u64(const json_t *obj, const char *key)
{
	int64_t v = rcp_ctl_int(obj, key);

	return v >= 0 ? (uint64_t)v : 0;
}

bool
rcp_ctl_true(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

const char *
rcp_ctl_str(const json_t *obj, const char *key, const char *def)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : def;
}

int
rcp_ctl_get_str(const json_t *obj, const char *key, size_t max,
    const char **out, char **cause)
{
	const json_t *v = NULL;
	int r;

	if ((r = rcp_ctl_member(obj, key, RCP_CTL_K_STRING, &v, NULL)) <= 0) {
		if (r < 0)
			*cause = rcp_xasprintf("'%s' must be a string", key);
		return r < 0 ? RCP_ERR_INVAL : 0;
	}
	if (json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		*cause = rcp_xasprintf("'%s' is longer than %zu bytes or "
		    "holds a NUL", key, max);
		return RCP_ERR_INVAL;
	}
	*out = json_string_value(v);
	return 1;
}

int
rcp_ctl_get_int(const json_t *obj, const char *key, int64_t min, int64_t max,
    int64_t *out, char **cause)
{
	const json_t *v = NULL;
	json_int_t i = 0;
	int r;

	if ((r = rcp_ctl_member(obj, key, RCP_CTL_K_INTEGER, &v, NULL)) == 0)
		return 0;
	if (r < 0 || (i = json_integer_value(v)) < min || i > max) {
		*cause = rcp_xasprintf("'%s' must be an integer from %lld to "
		    "%lld", key, (long long)min, (long long)max);
		return RCP_ERR_INVAL;
	}
	*out = i;
	return 1;
}

int
rcp_ctl_get_bool(const json_t *obj, const char *key, bool *out, char **cause)
{
	const json_t *v = NULL;
	int r;

	if ((r = rcp_ctl_member(obj, key, RCP_CTL_K_BOOL, &v, NULL)) <= 0) {
		if (r < 0)
			*cause = rcp_xasprintf("'%s' must be true or false",
			    key);
		return r < 0 ? RCP_ERR_INVAL : 0;
	}
	*out = json_is_true(v);
	return 1;
}

int
rcp_ctl_get_strv(const json_t *obj, const char *key, size_t max,
    size_t maxlen, const char ***out, size_t *n, char **cause)
{
	json_t *v = json_object_get(obj, key), *e;
	const char **a;
	size_t i, len;

	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_array(v) || json_array_size(v) > max) {
		*cause = rcp_xasprintf("'%s' must be an array of at most %zu "
		    "strings", key, max);
		return RCP_ERR_INVAL;
	}
	a = rcp_xcalloc(json_array_size(v) + 1, sizeof(*a));
	json_array_foreach(v, i, e) {
		len = json_is_string(e) ? json_string_length(e) : 0;
		if (!json_is_string(e) || len == 0 || len > maxlen ||
		    strlen(json_string_value(e)) != len) {
			*cause = rcp_xasprintf("'%s' item %zu must be a "
			    "non-empty string of at most %zu bytes", key, i,
			    maxlen);
			free(a);
			return RCP_ERR_INVAL;
		}
		a[i] = json_string_value(e);
	}
	*out = a;
	*n = json_array_size(v);
	return 1;
}

/* --- paths: bytes, in UTF-8 or base64 -------------------------------------- */

static char *
b64_key(const char *key)
{
	return rcp_xasprintf("%s_b64", key);
}

/* One path from v (a string: UTF-8, or base64 if b64). */
static int
path_of(const json_t *v, bool b64, size_t max, char **out)
{
	const char *s;

	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return -1;
	if (b64) {
		if (rcp_base64_decode(s, out) != 0)
			return -1;
	} else
		*out = rcp_xstrdup(s);
	if (**out == '\0' || strlen(*out) > max) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
rcp_ctl_get_path(const json_t *obj, const char *key, size_t max, char **out,
    char **cause)
{
	char *bk = b64_key(key);
	json_t *v = json_object_get(obj, bk);
	bool b64 = v != NULL && !json_is_null(v);

	if (!b64)
		v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		free(bk);
		return 0;
	}
	if (path_of(v, b64, max, out) != 0) {
		*cause = rcp_xasprintf("'%s' must be a non-empty path of at "
		    "most %zu bytes%s", b64 ? bk : key, max, b64 ? " in base64" :
		    "");
		free(bk);
		return RCP_ERR_INVAL;
	}
	free(bk);
	return 1;
}

int
rcp_ctl_get_pathv(const json_t *obj, const char *key, size_t max,
    size_t maxlen, char ***out, size_t *n, char **cause)
{
	char *bk = b64_key(key), **a;
	json_t *v = json_object_get(obj, bk), *e;
	bool b64 = v != NULL && !json_is_null(v);
	const char *name = b64 ? bk : key;
	size_t i, k;

	if (!b64)
		v = json_object_get(obj, key);
	if (v == NULL || json_is_null(v)) {
		free(bk);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) > max) {
		*cause = rcp_xasprintf("'%s' must be an array of at most %zu "
		    "paths", name, max);
		free(bk);
		return RCP_ERR_INVAL;
	}
	a = rcp_xcalloc(json_array_size(v) + 1, sizeof(*a));
	json_array_foreach(v, i, e) {
		if (path_of(e, b64, maxlen, &a[i]) != 0) {
			*cause = rcp_xasprintf("'%s' item %zu must be a "
			    "non-empty path of at most %zu bytes%s", name, i,
			    maxlen, b64 ? " in base64" : "");
			for (k = 0; k < i; k++)
				free(a[k]);
			free(a);
			free(bk);
			return RCP_ERR_INVAL;
		}
	}
	*out = a;
	*n = json_array_size(v);
	free(bk);
	return 1;
}

static json_t *
b64_string(const char *s)
{
	struct rcp_buf b = RCP_BUF_INIT;
	json_t *v;

	rcp_buf_add_base64(&b, s, strlen(s));
	v = json_string(rcp_buf_str(&b));
	rcp_buf_release(&b);
	return v;
}

json_t *
rcp_ctl_shown_string(const char *s)
{
	char *shown;
	json_t *v;

	if ((v = json_string(s)) != NULL)
		return v;
	shown = rcp_escape(s);
	v = json_string(shown);
	free(shown);
	return v != NULL ? v : json_string("?");
}

bool
rcp_ctl_path_needs_b64(const char *path)
{
	char *shown = rcp_escape(path);
	bool b64 = strcmp(shown, path) != 0;

	free(shown);
	return b64;
}

/* The display form of path as a JSON string; always valid UTF-8. */
static json_t *
shown_path(const char *path)
{
	char *shown = rcp_escape(path);
	json_t *v = json_string(shown);

	free(shown);
	return v;
}

void
rcp_ctl_set_path(json_t *obj, const char *key, const char *path)
{
	char *bk = b64_key(key);

	json_object_set_new(obj, key, path != NULL ? shown_path(path) :
	    json_null());
	if (path != NULL && rcp_ctl_path_needs_b64(path))
		json_object_set_new(obj, bk, b64_string(path));
	else
		json_object_del(obj, bk);
	free(bk);
}

void
rcp_ctl_set_pathv(json_t *obj, const char *key, const char *const *paths,
    size_t n)
{
	json_t *shown = json_array(), *b64 = NULL;
	char *bk = b64_key(key);
	size_t i;

	for (i = 0; i < n; i++) {
		json_array_append_new(shown, shown_path(paths[i]));
		if (b64 == NULL && rcp_ctl_path_needs_b64(paths[i]))
			b64 = json_array();
	}
	for (i = 0; b64 != NULL && i < n; i++)
		json_array_append_new(b64, b64_string(paths[i]));
	json_object_set_new(obj, key, shown);
	if (b64 != NULL)
		json_object_set_new(obj, bk, b64);
	else
		json_object_del(obj, bk);
	free(bk);
}

/* --- the socket's place --------------------------------------------------------- */

char *
rcp_ctl_default_socket(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (xdg != NULL && xdg[0] == '/')
		return rcp_xasprintf("%s/rcp/%s", xdg, RCP_CTL_SOCKET_NAME);
	return rcp_xasprintf("/tmp/rcp-%u/%s", (unsigned)getuid(),
	    RCP_CTL_SOCKET_NAME);
}

char *
rcp_ctl_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return rcp_xstrdup(".");
	if (slash == path)
		return rcp_xstrdup("/");
	return rcp_xstrndup(path, (size_t)(slash - path));
}

int
rcp_ctl_check_dir(const char *dir, uid_t uid, bool create, char **cause)
{
	struct stat st;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT || !create) {
			*cause = rcp_xasprintf("cannot use '%s': %s", dir,
			    strerror(errno));
			return RCP_ERR_IO;
		}
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			*cause = rcp_xasprintf("cannot create '%s': %s", dir,
			    strerror(errno));
			return RCP_ERR_IO;
		}
		if (lstat(dir, &st) != 0) {
			*cause = rcp_xasprintf("cannot use '%s': %s", dir,
			    strerror(errno));
			return RCP_ERR_IO;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		*cause = rcp_xasprintf("'%s' is not a directory", dir);
		return RCP_ERR_AUTH;
	}
	if (st.st_uid != uid) {
		*cause = rcp_xasprintf("'%s' belongs to uid %u, not %u: "
		    "refusing to use it", dir, (unsigned)st.st_uid,
		    (unsigned)uid);
		return RCP_ERR_AUTH;
	}
	if ((st.st_mode & 077) != 0) {
		*cause = rcp_xasprintf("'%s' has mode %04o: group and others "
		    "must have no access (chmod 700)", dir,
		    (unsigned)(st.st_mode & 07777));
		return RCP_ERR_AUTH;
	}
	return 0;
}
