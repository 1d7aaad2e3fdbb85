/* srccache.c: the source agent's read-ahead while the destination logs in. */
#include <sys/resource.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "engine/copy.h"
#include "remote/srccache.h"
#include "remote/srcwire.h"

#include "base/banned.h"

#define PC_BUCKETS	1024

struct rcp_srccache_dir {
	struct rcp_srccache_dir	*next;		/* hash chain */
	dev_t			 dev;
	ino_t			 ino;
	struct timespec		 mtime;
	struct timespec		 ctime;
	struct rcp_buf		*batches;
	size_t			 nbatches;
	size_t			 at;		/* the next to serve */
	size_t			 bytes;
};

/* A directory still to walk. */
struct pc_path {
	struct pc_path		*next;
	char			*path;
};

struct rcp_srccache {
	const struct rcp_log	*log;
	size_t			 cap;
	atomic_bool		 stop;
	pthread_t		 walker;
	bool			 started;

	pthread_mutex_t		 lock;
	struct rcp_srccache_dir	*buckets[PC_BUCKETS];	/* requires lock */
	size_t			 bytes;			/* requires lock */

	/* The walker's own. */
	struct pc_path		*head;
	struct pc_path		*tail;
	char			**roots;
	size_t			 nroots;
	size_t			 queued;	/* bytes of queued paths */
	uint64_t		 dirs;
};

static size_t
bucket_of(dev_t dev, ino_t ino)
{
	return (size_t)(((uint64_t)ino * 0x9e3779b97f4a7c15ull) ^
	    (uint64_t)dev) % PC_BUCKETS;
}

static void
dir_free(struct rcp_srccache_dir *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->nbatches; i++)
		rcp_buf_release(&d->batches[i]);
	free(d->batches);
	free(d);
}

static void
queue_path(struct rcp_srccache *pc, char *path)
{
	struct pc_path *p = rcp_xcalloc(1, sizeof(*p));

	p->path = path;
	pc->queued += strlen(path);
	if (pc->tail != NULL)
		pc->tail->next = p;
	else
		pc->head = p;
	pc->tail = p;
}

struct walk_dir {
	struct rcp_srccache	*pc;
	const char		*path;
};

static void
on_subdir(void *arg, const char *name)
{
	struct walk_dir *w = arg;

	queue_path(w->pc, rcp_path_join(w->path, name));
}

/*
 * Reads one directory's replies.  Returns false when the walk must stop:
 * told to, or the cap is reached (a directory that does not fit whole is
 * dropped: it is listed as usual).
 */
static bool
walk_one(struct rcp_srccache *pc, const char *path, bool root)
{
	struct walk_dir w = { pc, path };
	struct rcp_srccache_dir *d;
	struct stat st;
	size_t b, have;
	bool more = true;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (root ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return true;		/* the copy will say why, if it asks */
	if (fstat(fd, &st) != 0) {
		close(fd);
		return true;
	}
	d = rcp_xcalloc(1, sizeof(*d));
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->mtime = st.st_mtim;
	d->ctime = st.st_ctim;
	pthread_mutex_lock(&pc->lock);
	have = pc->bytes;
	pthread_mutex_unlock(&pc->lock);
	while (more && !atomic_load(&pc->stop)) {
		d->batches = rcp_xrealloc(d->batches, (d->nbatches + 1) *
		    sizeof(*d->batches));
		rcp_buf_init(&d->batches[d->nbatches]);
		if (rcp_srcwire_list(fd, RCP_SRCWIRE_LIST_FILES |
		    RCP_SRCWIRE_LIST_DIRSTAT, &d->batches[d->nbatches],
		    &more, on_subdir, &w) != 0) {
			rcp_buf_release(&d->batches[d->nbatches]);
			break;
		}
		d->bytes += d->batches[d->nbatches].len;
		d->nbatches++;
		if (have + d->bytes + pc->queued > pc->cap) {
			atomic_store(&pc->stop, true);
			break;
		}
	}
	close(fd);
	if (more || atomic_load(&pc->stop)) {
		dir_free(d);
		return false;
	}
	b = bucket_of(d->dev, d->ino);
	pthread_mutex_lock(&pc->lock);
	d->next = pc->buckets[b];
	pc->buckets[b] = d;
	pc->bytes += d->bytes;
	pthread_mutex_unlock(&pc->lock);
	pc->dirs++;
	return true;
}

static void *
walker_main(void *arg)
{
	struct rcp_srccache *pc = arg;
	struct pc_path *p;
	uint64_t t0 = rcp_now_ns();
	bool go = true;
	size_t i;

	/*
	 * Idle time is what this uses: the destination's login must not wait
	 * for it (on Linux this sets the nice value of this thread alone).
	 */
	(void)setpriority(PRIO_PROCESS, 0, 10);

	for (i = 0; i < pc->nroots && go; i++)
		go = walk_one(pc, pc->roots[i], true);
	while (go && (p = pc->head) != NULL) {
		pc->head = p->next;
		if (pc->head == NULL)
			pc->tail = NULL;
		pc->queued -= strlen(p->path);
		go = walk_one(pc, p->path, false);
		free(p->path);
		free(p);
	}
	pthread_mutex_lock(&pc->lock);
	rcp_log(pc->log, RCP_LOG_DEBUG, "read ahead %llu directories, %zu "
	    "bytes, in %.3f s%s", (unsigned long long)pc->dirs, pc->bytes,
	    (double)(rcp_now_ns() - t0) / 1e9, go ? "" : " (stopped)");
	pthread_mutex_unlock(&pc->lock);
	return NULL;
}

struct rcp_srccache *
rcp_srccache_new(char *const *paths, size_t n, size_t cap,
    const struct rcp_log *log)
{
	struct rcp_srccache *pc = rcp_xcalloc(1, sizeof(*pc));
	size_t i;

	pc->log = log;
	pc->cap = cap;
	pthread_mutex_init(&pc->lock, NULL);
	pc->roots = rcp_xcalloc(n ? n : 1, sizeof(char *));
	/* As the destination's ROOT will name them: ~ is this host's $HOME. */
	for (i = 0; i < n; i++)
		pc->roots[i] = rcp_copy_expand_home(paths[i], getenv("HOME"));
	pc->nroots = n;
	pc->started = pthread_create(&pc->walker, NULL, walker_main, pc) == 0;
	return pc;
}

void
rcp_srccache_wait(struct rcp_srccache *pc)
{
	if (pc->started)
		pthread_join(pc->walker, NULL);
	pc->started = false;
}

void
rcp_srccache_stop(struct rcp_srccache *pc)
{
	if (pc != NULL)
		atomic_store(&pc->stop, true);
}

static bool
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

struct rcp_srccache_dir *
rcp_srccache_take(struct rcp_srccache *pc, const struct stat *st)
{
	struct rcp_srccache_dir *d, **pp;

	if (pc == NULL)
		return NULL;
	pthread_mutex_lock(&pc->lock);
	for (pp = &pc->buckets[bucket_of(st->st_dev, st->st_ino)];
	    (d = *pp) != NULL; pp = &d->next) {
		if (d->dev == st->st_dev && d->ino == st->st_ino) {
			*pp = d->next;
			pc->bytes -= d->bytes;
			break;
		}
	}
	pthread_mutex_unlock(&pc->lock);
	if (d != NULL && (!same_time(&d->mtime, &st->st_mtim) ||
	    !same_time(&d->ctime, &st->st_ctim))) {
		dir_free(d);	/* changed since: list it afresh */
		d = NULL;
	}
	if (d != NULL)
		d->next = NULL;
	return d;
}

void
rcp_srccache_dir_next(struct rcp_srccache_dir *d, struct rcp_buf *out,
    bool *more)
{
	rcp_buf_release(out);
	*out = d->batches[d->at];
	rcp_buf_init(&d->batches[d->at]);
	d->at++;
	*more = d->at < d->nbatches;
}

void
rcp_srccache_dir_free(struct rcp_srccache_dir *d)
{
	dir_free(d);
}

void
rcp_srccache_free(struct rcp_srccache *pc)
{
	struct rcp_srccache_dir *d, *next;
	struct pc_path *p;
	size_t i;

	if (pc == NULL)
		return;
	atomic_store(&pc->stop, true);
	rcp_srccache_wait(pc);
	for (i = 0; i < PC_BUCKETS; i++) {
		for (d = pc->buckets[i]; d != NULL; d = next) {
			next = d->next;
			dir_free(d);
		}
	}
	while ((p = pc->head) != NULL) {
		pc->head = p->next;
		free(p->path);
		free(p);
	}
	for (i = 0; i < pc->nroots; i++)
		free(pc->roots[i]);
	free(pc->roots);
	pthread_mutex_destroy(&pc->lock);
	free(pc);
}
