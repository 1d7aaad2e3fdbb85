/*
 * ctlproto.h: the control protocol of rcp-master, shared by the daemon and
 * its clients (doc/ctl-protocol.md).  One JSON object per line, both ways:
 * the caps, the stable error codes and job states, the line framing, the
 * message helpers, typed access to request members, and where the control
 * socket lives.  Public names are rcp_ctl_*.
 *
 * Version rule: a change that an old peer would misread bumps
 * RCP_CTL_VERSION; new members and new methods do not (unknown members are
 * ignored, unknown methods get an "unknown_method" error).
 */
#ifndef RCP_CTLPROTO_H
#define RCP_CTLPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "base/strbuf.h"

#define RCP_CTL_VERSION		1

/* Caps on what a peer may send; each is checked before use. */
#define RCP_CTL_MAX_LINE	(1u << 20)	/* one message, newline included */
#define RCP_CTL_MAX_REQUESTS	100000		/* requests on one connection */
#define RCP_CTL_MAX_BATCH	1000		/* jobs in one "batch" request */
#define RCP_CTL_MAX_SOURCES	10000		/* sources of one job */
#define RCP_CTL_MAX_OPTIONS	1000		/* option strings of one job */
#define RCP_CTL_MAX_PATH	65536		/* bytes of one path */
#define RCP_CTL_MAX_STRING	4096		/* bytes of one option string */
#define RCP_CTL_MAX_LABEL	256		/* bytes of a label or a key */
/*
 * A list reply holds at most this many jobs, and stops adding them once it
 * holds this many bytes of them (at least one job): the rest come in the
 * next pages, so that no reply nears RCP_CTL_MAX_LINE and the master never
 * holds a whole table as JSON.
 */
#define RCP_CTL_LIST_PAGE	1000
#define RCP_CTL_LIST_BYTES	(512u << 10)
#define RCP_CTL_MAX_ERRORS	20		/* errors of failed entries kept per job;
					 * later ones are only counted */
#define RCP_CTL_MAX_WARNINGS	20		/* the engine's notices kept
					 * per job (what was copied less
					 * than fully) */

/* Where a per-user master listens when no socket is given, and the system one. */
#define RCP_CTL_SOCKET_NAME	"master.sock"
#define RCP_CTL_SYSTEM_SOCKET	"/run/rcp/master.sock"

/*
 * Error codes of error replies; their names are stable, and only the names
 * go on the wire.  They are positive, so they never pass for an error code
 * of error.h (0 or negative): a function that answers a request with an
 * error reply returns one of these (and says so); every other function of
 * the control layer returns 0 or a negative error code.
 */
enum rcp_ctl_err {
	RCP_CTL_E_PARSE = 1,		/* "parse_error": not JSON */
	RCP_CTL_E_TOO_LONG,		/* "line_too_long" */
	RCP_CTL_E_BAD_REQUEST,		/* "bad_request": no id/method, not an object */
	RCP_CTL_E_UNKNOWN_METHOD,	/* "unknown_method" */
	RCP_CTL_E_INVALID,		/* "invalid_argument": a bad member or option */
	RCP_CTL_E_HELLO,		/* "hello_required" */
	RCP_CTL_E_VERSION,		/* "version_mismatch" */
	RCP_CTL_E_NOT_FOUND,		/* "not_found": no such job (of yours) */
	RCP_CTL_E_DENIED,		/* "permission_denied" */
	RCP_CTL_E_UNSUPPORTED,		/* "unsupported": e.g. remote paths */
	RCP_CTL_E_SHUTTING_DOWN,	/* "shutting_down" */
	RCP_CTL_E_TOO_MANY,		/* "too_many_requests" on this connection */
	RCP_CTL_E_BUSY,			/* "busy": queue or connection cap reached */
	RCP_CTL_E_TIMEOUT,		/* "timeout" */
	RCP_CTL_E_FINISHED,		/* "already_finished": cannot cancel */
	RCP_CTL_E_INTERNAL		/* "internal" */
};

/* Job states.  The first two are live, the rest final. */
enum rcp_ctl_state {
	RCP_CTL_QUEUED = 0,
	RCP_CTL_RUNNING,
	RCP_CTL_SUCCEEDED,
	RCP_CTL_PARTIAL,	/* finished; some entries failed */
	RCP_CTL_FAILED,
	RCP_CTL_CANCELED,
	RCP_CTL_NSTATES
};

/* rcpctl's exit codes (documented in rcpctl(1); never renumbered). */
enum {
	RCP_CTL_EXIT_OK = 0,		/* succeeded, or the request was done */
	RCP_CTL_EXIT_FAILED = 1,
	RCP_CTL_EXIT_USAGE = 2,
	RCP_CTL_EXIT_UNREACHABLE = 3,	/* cannot reach the master */
	RCP_CTL_EXIT_PARTIAL = 4,
	RCP_CTL_EXIT_CANCELED = 5,
	RCP_CTL_EXIT_TIMEOUT = 6
};

/*
 * Returns the stable name of code ("not_found"): an RCP_CTL_E_*, or an
 * error code of error.h (< 0) by rcp_ctl_err_from; "internal" if unknown.
 */
const char *rcp_ctl_err_name(int code);
/*
 * Returns the RCP_CTL_E_* that answers a request that failed with err (an
 * error code of error.h: RCP_ERR_INVAL is invalid_argument...);
 * RCP_CTL_E_INTERNAL for one no reply code fits.
 */
int rcp_ctl_err_from(int err);
/* Returns the code named name, or 0 if none is. */
int rcp_ctl_err_parse(const char *name);

/* Returns "queued", "running", ...; static. */
const char *rcp_ctl_state_name(int state);
/* Returns the state named name, or -1. */
int rcp_ctl_state_parse(const char *name);
/* Returns true for succeeded, partial, failed and canceled. */
bool rcp_ctl_state_final(int state);
/* Returns rcpctl's exit code for a job that ended in state. */
int rcp_ctl_state_exit(int state);

/*
 * Line framing of one connection.  Bytes go in as they arrive; complete
 * lines come out.  A line longer than the cap is dropped (up to its
 * newline) and reported once, so the connection can go on.
 */
struct rcp_ctl_reader {
	struct rcp_buf	 buf;
	size_t		 off;		/* start of the unread bytes */
	size_t		 scanned;	/* unread bytes known to hold no newline */
	size_t		 max;		/* line cap, newline included */
	bool		 skipping;	/* inside an oversized line */
};

void rcp_ctl_reader_init(struct rcp_ctl_reader *r, size_t max);
void rcp_ctl_reader_release(struct rcp_ctl_reader *r);
/* Appends n bytes received from the peer. */
void rcp_ctl_reader_feed(struct rcp_ctl_reader *r, const void *p, size_t n);
/*
 * Reads once from fd into r.  Returns the number of bytes read, 0 at end
 * of file, or -errno (-EAGAIN when a non-blocking fd has nothing).
 */
ssize_t rcp_ctl_reader_fill(struct rcp_ctl_reader *r, int fd);
/*
 * Takes the next complete line.  Returns 1 with *line pointing at it
 * (NUL-terminated, without its newline, valid until the next call on r)
 * and *len set; 0 if no complete line is buffered; RCP_ERR_TOOBIG once for
 * each line over the cap.
 */
int rcp_ctl_reader_next(struct rcp_ctl_reader *r, char **line, size_t *len);
/* Returns the number of buffered bytes not yet returned. */
size_t rcp_ctl_reader_pending(const struct rcp_ctl_reader *r);

/*
 * Parses one line into a JSON object.  Returns 0 with *out (a new reference
 * the caller owns); RCP_ERR_PROTO with *cause set (caller frees) if it is
 * not JSON or not an object.
 */
int rcp_ctl_decode(const char *line, size_t len, json_t **out, char **cause);
/* Appends msg to b as one line: compact JSON and a newline. */
void rcp_ctl_encode(struct rcp_buf *b, const json_t *msg);

/* Returns a new request {"id": id, "method": method}; the caller owns it. */
json_t *rcp_ctl_request(json_int_t id, const char *method);
/*
 * Returns a new reply {"id": id, "result": result}; takes the caller's
 * reference to result.  id may be NULL (sent as null).
 */
json_t *rcp_ctl_reply(const json_t *id, json_t *result);
/*
 * Returns a new error reply {"id": id, "error": {"code", "message"}}; code
 * is an RCP_CTL_E_* or an error code of error.h (see rcp_ctl_err_name).
 */
json_t *rcp_ctl_error(const json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Reads a reply.  Returns 0 with *result borrowed from msg; or the error's
 * RCP_CTL_E_* code (> 0) with *message set (caller frees); or RCP_ERR_PROTO
 * if msg is neither a reply nor an error reply.
 */
int rcp_ctl_reply_parse(const json_t *msg, json_t **result, char **message);

/* What a member must be (rcp_ctl_member). */
enum rcp_ctl_kind {
	RCP_CTL_K_NUMBER,	/* an integer or a real */
	RCP_CTL_K_INTEGER,
	RCP_CTL_K_STRING,
	RCP_CTL_K_STRINGS,	/* an array of strings */
	RCP_CTL_K_BOOL,
	RCP_CTL_K_OBJECT,
	RCP_CTL_K_ARRAY,
	RCP_CTL_K_ID,		/* a job id: an integer above 0 */
	RCP_CTL_K_STATE		/* a job state's name */
};

/*
 * Returns NULL if v is of kind, else what is wrong with it ("is not a
 * number"; static), for an error that names the member.
 */
const char *rcp_ctl_wrong(const json_t *v, enum rcp_ctl_kind kind);
/*
 * Looks up member key of obj (an object, or NULL; then nothing is there).
 * Returns 1 with *out (borrowed from obj; out may be NULL) if it is there
 * and of kind; 0 if it is absent or null; -1 if it is of another kind, with
 * *problem (problem may be NULL) as rcp_ctl_wrong says.
 */
int rcp_ctl_member(const json_t *obj, const char *key, enum rcp_ctl_kind kind,
    const json_t **out, const char **problem);

/*
 * The values of members of messages and records rcp wrote itself (a job
 * journal, a child's reports), where a member that is absent, null or of
 * the wrong type reads as the default: 0, false, or def.  A request from a
 * client goes through the checked getters below instead.
 */
double rcp_ctl_num(const json_t *obj, const char *key);	/* a number */
int64_t rcp_ctl_int(const json_t *obj, const char *key);	/* an integer */
uint64_t rcp_ctl_u64(const json_t *obj, const char *key);	/* one >= 0 */
bool rcp_ctl_true(const json_t *obj, const char *key);	/* true */
/* A string member; borrowed from obj. */
const char *rcp_ctl_str(const json_t *obj, const char *key, const char *def);

/*
 * Typed access to a member of a request.  Each returns 0 if the member is
 * absent or null (the output untouched), 1 if it was read, or
 * RCP_ERR_INVAL with *cause naming the member when it has the wrong type
 * or breaks its cap.  Strings are borrowed from obj.
 */
int rcp_ctl_get_str(const json_t *obj, const char *key, size_t max,
    const char **out, char **cause);
int rcp_ctl_get_int(const json_t *obj, const char *key, int64_t min,
    int64_t max, int64_t *out, char **cause);
int rcp_ctl_get_bool(const json_t *obj, const char *key, bool *out,
    char **cause);
/*
 * An array of at most max strings of at most maxlen bytes each, none
 * empty.  *out is a new NULL-terminated array of borrowed strings (caller
 * frees the array only), *n its length.
 */
int rcp_ctl_get_strv(const json_t *obj, const char *key, size_t max,
    size_t maxlen, const char ***out, size_t *n, char **cause);

/*
 * File names are bytes; JSON strings are UTF-8.  The rule, for the control
 * protocol and for rcmp's output alike: a path or name member "key" holds
 * the display form of the bytes (rcp_escape: valid UTF-8 kept, a backslash
 * as \\, other bytes and control characters as \xNN); when that is not the
 * bytes themselves, "key_b64" holds the bytes in base64 (RFC 4648).  For
 * an array ("sources"), "sources_b64" holds every item in base64 when one
 * item needs it.  A reader takes key_b64 if present, else key.
 *
 * rcp_ctl_get_path reads key_b64 if present, else key; *out is a new
 * string (caller frees).  Returns as rcp_ctl_get_str; an empty path, one
 * over max bytes, one with a NUL or bad base64 is RCP_ERR_INVAL.
 */
int rcp_ctl_get_path(const json_t *obj, const char *key, size_t max,
    char **out, char **cause);
/* The same for an array of at most max paths; *out NULL-terminated. */
int rcp_ctl_get_pathv(const json_t *obj, const char *key, size_t max,
    size_t maxlen, char ***out, size_t *n, char **cause);
/* A JSON string of s, or of its display form if s is not UTF-8. */
json_t *rcp_ctl_shown_string(const char *s);
/* Returns whether path needs key_b64 under the rule above. */
bool rcp_ctl_path_needs_b64(const char *path);
/*
 * Sets key to the display form of path and, when the rule says so, key_b64
 * to its bytes (else removes key_b64); key to null if path is NULL.
 */
void rcp_ctl_set_path(json_t *obj, const char *key, const char *path);
void rcp_ctl_set_pathv(json_t *obj, const char *key, const char *const *paths,
    size_t n);

/*
 * Returns this user's default socket path (caller frees):
 * $XDG_RUNTIME_DIR/rcp/master.sock, else /tmp/rcp-$UID/master.sock.
 */
char *rcp_ctl_default_socket(void);
/* Returns the directory part of path (caller frees). */
char *rcp_ctl_dirname(const char *path);
/*
 * Checks that dir is a directory (not a symlink) owned by uid with no
 * group or other permission bits; with create, makes it (mode 0700) if it
 * is missing.  Returns 0 or an error with *cause set.
 */
int rcp_ctl_check_dir(const char *dir, uid_t uid, bool create, char **cause);

#endif
