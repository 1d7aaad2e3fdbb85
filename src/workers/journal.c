/*
 * journal.c: append-only JSON lines with fsync, read back tolerantly, and
 * compacted by rename.
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
#include "workers/journal.h"

#include "base/banned.h"

struct rcp_journal {
	pthread_mutex_t	 lock;
	pthread_mutex_t	 rewrite_lock;	/* one rewrite at a time */
	char		*path;
	int		 fd;		/* requires lock */
	uint64_t	 size;		/* requires lock */
};

int
rcp_journal_load(const char *path, rcp_journal_fn *fn, void *arg,
    size_t *nbad, char **cause)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_t *rec;
	FILE *fp;

	*nbad = 0;
	if ((fp = fopen(path, "re")) == NULL) {
		if (errno == ENOENT)
			return 0;
		*cause = rcp_xasprintf("cannot open journal '%s': %s", path,
		    strerror(errno));
		return RCP_ERR_IO;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		if ((size_t)n > RCP_JOURNAL_MAX_LINE) {
			(*nbad)++;
			continue;
		}
		rec = json_loadb(line, (size_t)n, 0, NULL);
		if (!json_is_object(rec)) {
			/* A torn write, most likely the last line. */
			(*nbad)++;
			json_decref(rec);
			continue;
		}
		fn(arg, rec);
		json_decref(rec);
	}
	free(line);
	if (ferror(fp)) {
		*cause = rcp_xasprintf("cannot read journal '%s': %s", path,
		    strerror(errno));
		fclose(fp);
		return RCP_ERR_IO;
	}
	fclose(fp);
	return 0;
}

/* Opens path for appending; ends a torn last line so records stay lines. */
static int
open_append(const char *path, int *fdp, uint64_t *sizep, char **cause)
{
	struct stat st;
	char last;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || fstat(fd, &st) != 0) {
		*cause = rcp_xasprintf("cannot open journal '%s': %s", path,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return RCP_ERR_IO;
	}
	*sizep = (uint64_t)st.st_size;
	if (st.st_size > 0) {
		int rfd = open(path, O_RDONLY | O_CLOEXEC);
		if (rfd >= 0 && pread(rfd, &last, 1, st.st_size - 1) == 1 &&
		    last != '\n' && rcp_write_full(fd, "\n", 1) == 0)
			(*sizep)++;
		if (rfd >= 0)
			close(rfd);
	}
	*fdp = fd;
	return 0;
}

int
rcp_journal_open(const char *path, struct rcp_journal **out, char **cause)
{
	struct rcp_journal *jl = rcp_xcalloc(1, sizeof(*jl));
	int r;

	jl->path = rcp_xstrdup(path);
	if ((r = open_append(path, &jl->fd, &jl->size, cause)) != 0) {
		free(jl->path);
		free(jl);
		return r;
	}
	pthread_mutex_init(&jl->lock, NULL);
	pthread_mutex_init(&jl->rewrite_lock, NULL);
	*out = jl;
	return 0;
}

void
rcp_journal_free(struct rcp_journal *jl)
{
	if (jl == NULL)
		return;
	if (jl->fd >= 0)
		close(jl->fd);
	pthread_mutex_destroy(&jl->lock);
	pthread_mutex_destroy(&jl->rewrite_lock);
	free(jl->path);
	free(jl);
}

static void
encode(struct rcp_buf *b, json_t *const *recs, size_t n)
{
	size_t i;
	char *s;

	for (i = 0; i < n; i++) {
		if ((s = json_dumps(recs[i], JSON_COMPACT)) == NULL)
			continue;	/* cannot happen for our records */
		rcp_buf_addstr(b, s);
		rcp_buf_addch(b, '\n');
		free(s);
	}
}

int
rcp_journal_append(struct rcp_journal *jl, json_t *const *recs, size_t n,
    char **cause)
{
	struct rcp_buf b = RCP_BUF_INIT;
	int e, r = 0;

	encode(&b, recs, n);
	pthread_mutex_lock(&jl->lock);
	if ((e = rcp_write_full(jl->fd, b.data, b.len)) != 0 ||
	    (fdatasync(jl->fd) != 0 && (e = -errno) != 0)) {
		*cause = rcp_xasprintf("cannot write journal '%s': %s",
		    jl->path, strerror(-e));
		r = RCP_ERR_IO;
	} else {
		jl->size += b.len;
	}
	pthread_mutex_unlock(&jl->lock);
	rcp_buf_release(&b);
	return r;
}

static int
fsync_dir(const char *path)
{
	char *dir = rcp_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, r = 0;

	if (slash == dir)
		slash[1] = '\0';
	else if (slash != NULL)
		*slash = '\0';
	else {
		free(dir);
		dir = rcp_xstrdup(".");
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fsync(fd) != 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return r;
}

/*
 * Appends to fd what was appended to jl's file at or past byte from, the
 * records that came while a rewrite wrote its file; requires jl->lock.
 * 0 or -errno.
 */
static int
copy_tail(struct rcp_journal *jl, uint64_t from, int fd)
{
	char buf[65536];
	uint64_t off = from;
	ssize_t n;
	int rfd, e = 0;

	if (jl->size <= from)
		return 0;
	if ((rfd = open(jl->path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	while (e == 0 && off < jl->size) {
		n = pread(rfd, buf, jl->size - off < sizeof(buf) ?
		    (size_t)(jl->size - off) : sizeof(buf), (off_t)off);
		if (n <= 0)
			e = n < 0 ? -errno : -EIO;	/* cut short under us */
		else if ((e = rcp_write_full(fd, buf, (size_t)n)) == 0)
			off += (uint64_t)n;
	}
	close(rfd);
	return e;
}

int
rcp_journal_rewrite_gen(struct rcp_journal *jl, rcp_journal_gen_fn *gen,
    void *arg, char **cause)
{
	struct rcp_buf b = RCP_BUF_INIT;
	char *tmp = rcp_xasprintf("%s.new", jl->path);
	uint64_t size = 0, from;
	int fd, e = 0, r = RCP_ERR_IO;
	bool more = true, locked = false;

	/*
	 * The new file is written and synced without the lock, so that an
	 * append (a submit, a job's end) never waits for a whole rewrite;
	 * what is appended meanwhile is copied over at the end, under the
	 * lock, and the newest record of a job wins when it is read.
	 */
	pthread_mutex_lock(&jl->rewrite_lock);
	pthread_mutex_lock(&jl->lock);
	from = jl->size;
	pthread_mutex_unlock(&jl->lock);
	/* O_APPEND: after the rename this fd is the journal's. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
	    0600);
	if (fd < 0)
		e = -errno;
	/* A chunk at a time: the journal is never all in memory at once. */
	while (e == 0 && more) {
		rcp_buf_reset(&b);
		more = gen(arg, &b);
		e = rcp_write_full(fd, b.data, b.len);
		size += b.len;
	}
	if (e == 0 && fdatasync(fd) != 0)
		e = -errno;
	pthread_mutex_lock(&jl->lock);
	locked = true;
	if (e == 0) {
		e = copy_tail(jl, from, fd);
		size += jl->size > from ? jl->size - from : 0;
	}
	if (e != 0 || fsync(fd) != 0) {
		e = e != 0 ? e : -errno;
		*cause = rcp_xasprintf("cannot write '%s': %s", tmp,
		    strerror(-e));
		goto out;
	}
	if (rename(tmp, jl->path) != 0) {
		*cause = rcp_xasprintf("cannot rename '%s': %s", tmp,
		    strerror(errno));
		goto out;
	}
	fsync_dir(jl->path);
	close(jl->fd);
	jl->fd = fd;
	jl->size = size;
	fd = -1;
	r = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (locked)
		pthread_mutex_unlock(&jl->lock);
	pthread_mutex_unlock(&jl->rewrite_lock);
	free(tmp);
	rcp_buf_release(&b);
	return r;
}

/* The records of an array, all in one chunk. */
struct recs_gen {
	json_t *const	*recs;
	size_t		 n;
};

static bool
recs_gen(void *arg, struct rcp_buf *b)
{
	struct recs_gen *g = arg;

	encode(b, g->recs, g->n);
	return false;
}

int
rcp_journal_rewrite(struct rcp_journal *jl, json_t *const *recs, size_t n,
    char **cause)
{
	struct recs_gen g = { recs, n };

	return rcp_journal_rewrite_gen(jl, recs_gen, &g, cause);
}

uint64_t
rcp_journal_size(struct rcp_journal *jl)
{
	uint64_t n;

	pthread_mutex_lock(&jl->lock);
	n = jl->size;
	pthread_mutex_unlock(&jl->lock);
	return n;
}
