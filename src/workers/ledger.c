/*
 * ledger.c: a job's per-file ledger: buffered JSON lines appended by the
 * job's threads under the ledger's own lock, bounded by a cap whose
 * overflow is counted, and read back a page at a time by byte offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/fdio.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "workers/ledger.h"

#include "base/banned.h"

/* Buffered bytes that are written at once, whatever the clock says. */
#define FLUSH_BYTES	(64u << 10)
/* A running job's entries reach the file within about this long. */
#define FLUSH_NS	(1000000000ull)
/* Bytes read from the file at a time. */
#define READ_CHUNK	(64u << 10)

struct rcp_ledger {
	pthread_mutex_t		 lock;
	char			*path;
	int			 fd;
	int			 attempt;
	uint64_t		 cap;
	uint64_t		 size;		/* on disk and buffered; lock */
	struct rcp_buf		 buf;		/* lock */
	uint64_t		 buf_errors;	/* entries in buf; lock */
	uint64_t		 buf_files;
	uint64_t		 flushed_ns;	/* lock */
	struct rcp_ledger_counts n;		/* lock */
	char			*failed;	/* the write error; lock */
	bool			 reported;	/* failed was returned; lock */
};

char *
rcp_ledger_dir(const char *state_dir)
{
	return rcp_path_join(state_dir, "ledger");
}

char *
rcp_ledger_path(const char *state_dir, uint64_t id)
{
	return rcp_xasprintf("%s%sledger/%llu", state_dir,
	    state_dir[0] != '\0' && state_dir[strlen(state_dir) - 1] == '/' ?
	    "" : "/", (unsigned long long)id);
}

/*
 * Counts the entries of an earlier attempt in the file (the journal's
 * counts of a job stopped by a crash predate that attempt's last ones).
 * Lines are ours: each starts with its kind.
 */
static void
count_entries(int fd, uint64_t size, struct rcp_ledger_counts *n)
{
	static const char err[] = "{\"kind\":\"error\"";
	static const char file[] = "{\"kind\":\"file\"";
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t pos = 0;
	size_t start, i;
	ssize_t got;

	n->errors = n->files = 0;
	while (pos + b.len < size) {
		got = pread(fd, rcp_buf_reserve(&b, READ_CHUNK), READ_CHUNK,
		    (off_t)(pos + b.len));
		if (got <= 0)
			break;
		rcp_buf_commit(&b, (size_t)got);
		for (start = i = 0; i < b.len; i++) {
			if (b.data[i] != '\n')
				continue;
			if (i - start >= sizeof(err) - 1 &&
			    memcmp(b.data + start, err, sizeof(err) - 1) == 0)
				n->errors++;
			else if (i - start >= sizeof(file) - 1 &&
			    memcmp(b.data + start, file, sizeof(file) - 1) == 0)
				n->files++;
			start = i + 1;
		}
		pos += start;
		memmove(b.data, b.data + start, b.len - start);
		b.len -= start;
		if (b.len > RCP_LEDGER_MAX_ENTRY + READ_CHUNK) {
			pos += b.len;
			b.len = 0;
		}
	}
	rcp_buf_release(&b);
}

int
rcp_ledger_open(const char *path, uint64_t cap, int attempt,
    const struct rcp_ledger_counts *start, struct rcp_ledger **out,
    char **cause)
{
	struct rcp_ledger *l;
	struct stat st;
	char last;
	int fd, err;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		err = errno;
		if (fd >= 0)
			close(fd);
		*cause = rcp_xasprintf("cannot open ledger '%s': %s", path,
		    strerror(err));
		return RCP_ERR_IO;
	}
	/* A line torn by a crash ends here, so the next entry stays whole. */
	if (st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 &&
	    last != '\n' && write(fd, "\n", 1) == 1)
		st.st_size++;
	l = rcp_xcalloc(1, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->path = rcp_xstrdup(path);
	l->fd = fd;
	l->attempt = attempt;
	l->cap = cap < RCP_LEDGER_MIN_MAX ? RCP_LEDGER_MIN_MAX : cap;
	l->size = (uint64_t)st.st_size;
	if (start != NULL)
		l->n = *start;
	if (st.st_size > 0)
		count_entries(fd, (uint64_t)st.st_size, &l->n);
	l->flushed_ns = rcp_now_ns();
	*out = l;
	return 0;
}

/* Writes the buffer; requires l->lock. */
static void
flush_locked(struct rcp_ledger *l)
{
	int r;

	if (l->buf.len == 0)
		return;
	if (l->failed == NULL &&
	    (r = rcp_write_full(l->fd, l->buf.data, l->buf.len)) != 0)
		l->failed = rcp_xasprintf("cannot write ledger '%s': %s",
		    l->path, rcp_strerror(r));
	if (l->failed != NULL) {
		/* What a failed write held is missing: say so in the counts. */
		l->n.errors -= l->buf_errors;
		l->n.files -= l->buf_files;
		l->n.errors_dropped += l->buf_errors;
		l->n.files_dropped += l->buf_files;
	}
	rcp_buf_reset(&l->buf);
	l->buf_errors = l->buf_files = 0;
	l->flushed_ns = rcp_now_ns();
}

/* Appends one entry (the object e, taken) if it fits. */
static void
add(struct rcp_ledger *l, json_t *e, bool error)
{
	struct rcp_buf line = RCP_BUF_INIT;
	uint64_t room;
	bool keep;

	json_object_set_new(e, "attempt", json_integer(l->attempt));
	rcp_ctl_encode(&line, e);
	json_decref(e);
	pthread_mutex_lock(&l->lock);
	/* Errors may fill the cap; copied files leave them a quarter. */
	room = error ? l->cap : l->cap / 4 * 3;
	keep = l->failed == NULL && line.len <= RCP_LEDGER_MAX_ENTRY &&
	    l->size + line.len <= room;
	if (!keep) {
		if (error)
			l->n.errors_dropped++;
		else
			l->n.files_dropped++;
	} else {
		rcp_buf_add(&l->buf, line.data, line.len);
		l->size += line.len;
		if (error) {
			l->n.errors++;
			l->buf_errors++;
		} else {
			l->n.files++;
			l->buf_files++;
		}
		if (l->buf.len >= FLUSH_BYTES)
			flush_locked(l);
	}
	pthread_mutex_unlock(&l->lock);
	rcp_buf_release(&line);
}

/* Returns the value of hex digit c, or -1. */
static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The bytes of the n display-form bytes at s (rcp_escape undone). */
static char *
unescape(const char *s, size_t n)
{
	struct rcp_buf b = RCP_BUF_INIT;
	size_t i;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n && s[i + 1] == '\\') {
			rcp_buf_addch(&b, '\\');
			i++;
		} else if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
		    (hi = hexval(s[i + 2])) >= 0 && (lo = hexval(s[i + 3])) >= 0 &&
		    (hi | lo) != 0) {
			rcp_buf_addch(&b, (char)(hi << 4 | lo));
			i += 3;
		} else
			rcp_buf_addch(&b, s[i]);
	}
	return rcp_buf_detach(&b);
}

char *
rcp_ledger_msg_path(const char *msg)
{
	const char *open = strchr(msg, '\''), *close;

	if (open == NULL)
		return NULL;
	open++;
	if ((close = strstr(open, "': ")) == NULL &&
	    ((close = strrchr(open, '\'')) == NULL || close < open))
		return NULL;
	if (close == open)
		return NULL;
	return unescape(open, (size_t)(close - open));
}

void
rcp_ledger_error(struct rcp_ledger *l, const char *msg)
{
	json_t *e = json_pack("{s:s}", "kind", "error");
	char *path = rcp_ledger_msg_path(msg), *m;

	rcp_ctl_set_path(e, "path", path);
	m = strlen(msg) > RCP_LEDGER_MAX_MSG ?
	    rcp_xstrndup(msg, RCP_LEDGER_MAX_MSG) : rcp_xstrdup(msg);
	json_object_set_new(e, "error", rcp_ctl_shown_string(m));
	free(m);
	free(path);
	add(l, e, true);
}

void
rcp_ledger_file(struct rcp_ledger *l, const char *path)
{
	json_t *e = json_pack("{s:s}", "kind", "file");

	rcp_ctl_set_path(e, "path", path);
	add(l, e, false);
}

int
rcp_ledger_tick(struct rcp_ledger *l, char **cause)
{
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (l->buf.len > 0 && rcp_now_ns() - l->flushed_ns >= FLUSH_NS)
		flush_locked(l);
	if (l->failed != NULL && !l->reported) {
		l->reported = true;
		*cause = rcp_xstrdup(l->failed);
		r = RCP_ERR_IO;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

void
rcp_ledger_counts(struct rcp_ledger *l, struct rcp_ledger_counts *out)
{
	pthread_mutex_lock(&l->lock);
	*out = l->n;
	pthread_mutex_unlock(&l->lock);
}

int
rcp_ledger_close(struct rcp_ledger *l, struct rcp_ledger_counts *out,
    char **cause)
{
	int r = 0;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->lock);
	flush_locked(l);
	if (l->failed == NULL && fsync(l->fd) != 0)
		l->failed = rcp_xasprintf("cannot sync ledger '%s': %s",
		    l->path, strerror(errno));
	if (l->failed != NULL && !l->reported) {
		*cause = l->failed;
		l->failed = NULL;
		r = RCP_ERR_IO;
	}
	*out = l->n;
	pthread_mutex_unlock(&l->lock);
	close(l->fd);
	rcp_buf_release(&l->buf);
	pthread_mutex_destroy(&l->lock);
	free(l->failed);
	free(l->path);
	free(l);
	return r;
}

json_t *
rcp_ledger_counts_json(const struct rcp_ledger_counts *c)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "errors", (json_int_t)c->errors,
	    "files", (json_int_t)c->files, "errors_dropped",
	    (json_int_t)c->errors_dropped, "files_dropped",
	    (json_int_t)c->files_dropped);
}

void
rcp_ledger_counts_read(const json_t *o, struct rcp_ledger_counts *c)
{
	c->errors = rcp_ctl_u64(o, "errors");
	c->files = rcp_ctl_u64(o, "files");
	c->errors_dropped = rcp_ctl_u64(o, "errors_dropped");
	c->files_dropped = rcp_ctl_u64(o, "files_dropped");
}

/* --- reading ---------------------------------------------------------------- */

/* Where a page read has got to. */
struct page_state {
	const struct rcp_ledger_page	*q;
	json_t				*entries;
	size_t				 bytes;
	bool				 full;
};

/* Takes one line (without its newline); sets ps->full once it is full. */
static void
take_line(struct page_state *ps, const char *s, size_t n)
{
	static const char file[] = "{\"kind\":\"file\"";
	json_t *e;
	const char *kind;

	/* Most lines of a --record-files job: skipped unparsed. */
	if (ps->q->errors_only && n >= sizeof(file) - 1 &&
	    memcmp(s, file, sizeof(file) - 1) == 0)
		return;
	e = json_loadb(s, n, 0, NULL);
	kind = json_is_object(e) ?
	    json_string_value(json_object_get(e, "kind")) : NULL;

	/* A torn line of a crash, or a kind this master does not know. */
	if (kind == NULL || (ps->q->errors_only && strcmp(kind, "error") != 0)) {
		json_decref(e);
		return;
	}
	json_array_append_new(ps->entries, e);
	ps->bytes += n;
	if (json_array_size(ps->entries) >= ps->q->limit ||
	    ps->bytes >= ps->q->max_bytes)
		ps->full = true;
}

int
rcp_ledger_read(const char *path, const struct rcp_ledger_page *q,
    json_t **entries, uint64_t *next, bool *more, char **cause)
{
	struct page_state ps = { q, json_array(), 0, false };
	struct rcp_buf b = RCP_BUF_INIT;
	uint64_t pos = q->cursor, end;
	struct stat st;
	size_t start, i;
	ssize_t n;
	int fd, r = RCP_ERR_IO;

	*more = false;
	*next = q->cursor;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
	    errno != ENOENT) {
		*cause = rcp_xasprintf("cannot open ledger '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	if (fd >= 0 && fstat(fd, &st) != 0) {
		*cause = rcp_xasprintf("cannot stat ledger '%s': %s", path,
		    strerror(errno));
		goto out;
	}
	end = fd >= 0 ? (uint64_t)st.st_size : 0;
	if (q->cursor > end) {
		*cause = rcp_xasprintf("'cursor' %llu is past the end of the "
		    "ledger (%llu bytes)", (unsigned long long)q->cursor,
		    (unsigned long long)end);
		r = RCP_ERR_INVAL;
		goto out;
	}
	/* pos: the file offset of b's first byte, where the next line starts. */
	while (!ps.full && pos + b.len < end &&
	    pos + b.len - q->cursor < RCP_LEDGER_MAX_SCAN) {
		n = pread(fd, rcp_buf_reserve(&b, READ_CHUNK), READ_CHUNK,
		    (off_t)(pos + b.len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*cause = rcp_xasprintf("cannot read ledger '%s': %s",
			    path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		rcp_buf_commit(&b, (size_t)n);
		for (start = i = 0; i < b.len && !ps.full; i++) {
			if (b.data[i] != '\n')
				continue;
			take_line(&ps, b.data + start, i - start);
			start = i + 1;
		}
		pos += start;
		memmove(b.data, b.data + start, b.len - start);
		b.len -= start;
		b.data[b.len] = '\0';
		/* A line longer than any entry: not ours, skip what we have. */
		if (b.len > RCP_LEDGER_MAX_ENTRY + READ_CHUNK) {
			pos += b.len;
			rcp_buf_reset(&b);
		}
	}
	*next = pos;
	/* A line still being written at the end is for the next call. */
	*more = pos < end && pos > q->cursor;
	*entries = ps.entries;
	ps.entries = NULL;
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	rcp_buf_release(&b);
	json_decref(ps.entries);
	return r;
}
