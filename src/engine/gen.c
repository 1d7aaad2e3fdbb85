/*
 * gen.c: the synthetic tree builder behind filegen.  Directories are made
 * first, by the calling thread; then the files are written by a pool of
 * threads that take batches of small files, or 64 MiB pieces of a big one,
 * from a shared cursor.  A file's size and contents come from a key derived
 * from the seed and the file's index, and its contents are generated in
 * 64 KiB blocks, each with its own xoshiro256** state seeded from the key and
 * the block number: any thread can write any piece, and the bytes do not
 * depend on the buffer size or the number of threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/gen.h"

#include "base/banned.h"

#define GEN_BLOCK	((uint64_t)64 << 10)	/* bytes per seeding */
#define GEN_PIECE	((uint64_t)64 << 20)	/* job bytes; GEN_BLOCK * k */
#define GEN_BATCH	256			/* small files per job */
#define GEN_GOLDEN	0x9e3779b97f4a7c15ULL

/* One unit of work: count whole files from file on, or one piece of file. */
struct gen_job {
	uint64_t	file;
	uint64_t	count;		/* 0: the piece [off, off+len) */
	uint64_t	off;
	uint64_t	len;
};

struct gen_run {
	const struct rcp_gen_spec *spec;
	const struct rcp_log	*log;
	char			*root;		/* no trailing slash */
	size_t			 bufsize;
	uint64_t		 nfiles;	/* in the whole tree */

	pthread_mutex_t		 lock;
	uint64_t		 next_file;	/* requires lock */
	uint64_t		 next_off;	/* requires lock */
	int			 error;		/* requires lock; the first */
	char			*cause;		/* requires lock */
};

struct gen_worker {
	struct gen_run		*g;
	pthread_t		 tid;
	uint8_t			*buf;
	struct rcp_buf		 path;
	uint64_t		 files;
	uint64_t		 bytes;
};

/* The contents of one file from some block-aligned offset on. */
struct gen_stream {
	uint64_t	s[4];		/* xoshiro256** state */
	uint64_t	key;
	uint64_t	block;		/* the next block to seed */
	uint64_t	left;		/* bytes left in this block */
};

/* The splitmix64 finaliser: a bijective 64-bit mix. */
static uint64_t
mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t
splitmix64(uint64_t *x)
{
	*x += GEN_GOLDEN;
	return mix64(*x);
}

static uint64_t
file_key(uint64_t seed, uint64_t index)
{
	return mix64(mix64(seed) + (index + 1) * GEN_GOLDEN);
}

static inline uint64_t
rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* Stores n xoshiro256** outputs at p, little-endian on this machine. */
static void
fill_words(uint64_t st[4], uint8_t *p, size_t n)
{
	uint64_t s0 = st[0], s1 = st[1], s2 = st[2], s3 = st[3], v, t;
	size_t i;

	for (i = 0; i < n; i++) {
		v = rotl(s1 * 5, 7) * 9;
		t = s1 << 17;
		s2 ^= s0;
		s3 ^= s1;
		s1 ^= s2;
		s0 ^= s3;
		s2 ^= t;
		s3 = rotl(s3, 45);
		memcpy(p + 8 * i, &v, 8);
	}
	st[0] = s0;
	st[1] = s1;
	st[2] = s2;
	st[3] = s3;
}

static void
stream_init(struct gen_stream *st, uint64_t key, uint64_t off)
{
	st->key = key;
	st->block = off / GEN_BLOCK;
	st->left = 0;
}

/*
 * Writes the next n bytes of the stream to p.  Every call but a file's last
 * must ask for a multiple of 8 bytes, or the stream would lose its place.
 */
static void
stream_fill(struct gen_stream *st, uint8_t *p, size_t n)
{
	uint64_t x, k, tail;
	int i;

	while (n > 0) {
		if (st->left == 0) {
			x = st->key ^ (st->block++ * 0xd1b54a32d192ed03ULL);
			x = mix64(x);
			for (i = 0; i < 4; i++)
				st->s[i] = splitmix64(&x);
			st->left = GEN_BLOCK;
		}
		k = n < st->left ? n : st->left;
		fill_words(st->s, p, k / 8);
		if ((tail = k % 8) != 0) {
			fill_words(st->s, (uint8_t *)&x, 1);
			memcpy(p + k - tail, &x, tail);
		}
		p += k;
		n -= k;
		st->left -= k;
	}
}

/*
 * Natural logarithm and exponential, enough for drawing sizes; libm is not
 * linked.  gen_ln takes n >= 1 and splits it into 2^e * m with m in [1, 2),
 * then ln(m) = 2 atanh((m - 1) / (m + 1)) converges fast.
 */
#define GEN_LN2	0.693147180559945309417

static double
gen_ln(uint64_t n)
{
	int e = 63 - __builtin_clzll(n);
	double m = (double)n / (double)((uint64_t)1 << e);
	double t = (m - 1) / (m + 1), t2 = t * t, term = t, sum = 0;
	int k;

	for (k = 1; k < 40; k += 2) {
		sum += term / k;
		term *= t2;
	}
	return e * GEN_LN2 + 2 * sum;
}

/* e^y for 0 <= y < 63 ln 2: 2^k e^f with f in [0, ln 2). */
static double
gen_exp(double y)
{
	int k = (int)(y / GEN_LN2), i;
	double f = y - k * GEN_LN2, term = 1, sum = 1;

	for (i = 1; i < 24; i++) {
		term *= f / i;
		sum += term;
	}
	return sum * (double)((uint64_t)1 << k);
}

uint64_t
rcp_gen_file_size(const struct rcp_gen_spec *spec, uint64_t index)
{
	uint64_t lo = spec->size_min, hi = spec->size_max, size;
	double u, a, b, v;

	if (lo >= hi)
		return lo;
	/*
	 * size + 1 is log-uniform in [lo + 1, hi + 2), so that a range may
	 * start at 0 and its last size is drawn as often as it should be.
	 */
	u = (double)(mix64(file_key(spec->seed, index) ^ 0x5153) >> 11) *
	    0x1p-53;
	a = gen_ln(lo + 1);
	b = gen_ln(hi + 2);
	v = gen_exp(a + u * (b - a)) - 1;
	size = v <= (double)lo ? lo : (uint64_t)v;
	return size > hi ? hi : size;
}

void
rcp_gen_spec_init(struct rcp_gen_spec *spec)
{
	memset(spec, 0, sizeof *spec);
	spec->bufsize = 1 << 20;
}

/* a * b, or 0 with *over set if that is above max. */
static uint64_t
mul_capped(uint64_t a, uint64_t b, uint64_t max, int *over)
{
	if (a != 0 && b > max / a) {
		*over = 1;
		return 0;
	}
	return a * b;
}

/*
 * Checks spec against the caps and returns 0 with the number of leaf
 * directories in *leaves, or RCP_ERR_INVAL with *cause set.
 */
static int
spec_check(const struct rcp_gen_spec *spec, uint64_t *leaves, char **cause)
{
	uint64_t n = 1;
	unsigned i;
	int over = 0;

	if (spec->nlevels > RCP_GEN_MAX_LEVELS) {
		*cause = rcp_xasprintf("too many directory levels (at most %d)",
		    RCP_GEN_MAX_LEVELS);
		return RCP_ERR_INVAL;
	}
	for (i = 0; i < spec->nlevels; i++) {
		if (spec->width[i] == 0) {
			*cause = rcp_xasprintf("directory width 0 at level %u",
			    i + 1);
			return RCP_ERR_INVAL;
		}
		n = mul_capped(n, spec->width[i], RCP_GEN_MAX_DIRS, &over);
	}
	if (over) {
		*cause = rcp_xasprintf("too many leaf directories (at most "
		    "%" PRIu64 ")", RCP_GEN_MAX_DIRS);
		return RCP_ERR_INVAL;
	}
	mul_capped(n, spec->nfiles, RCP_GEN_MAX_FILES, &over);
	if (over) {
		*cause = rcp_xasprintf("too many files: %" PRIu64 " leaf "
		    "directories of %" PRIu64 " files (at most %" PRIu64 ")", n,
		    spec->nfiles, RCP_GEN_MAX_FILES);
		return RCP_ERR_INVAL;
	}
	if (spec->size_min > spec->size_max ||
	    spec->size_max > RCP_GEN_MAX_FILE_SIZE) {
		*cause = rcp_xstrdup("bad file size range");
		return RCP_ERR_INVAL;
	}
	*leaves = n;
	return 0;
}

/* Parses "3,2" into spec; "" and "0" mean no directories. */
static int
parse_widths(struct rcp_gen_spec *spec, const char *s, char **cause)
{
	const char *p = s, *comma;
	char *item;
	uint64_t w;
	int r;

	spec->nlevels = 0;
	if (*s == '\0' || strcmp(s, "0") == 0)
		return 0;
	for (;;) {
		comma = strchr(p, ',');
		item = comma != NULL ? rcp_xstrndup(p, (size_t)(comma - p)) :
		    rcp_xstrdup(p);
		r = rcp_parse_uint(item, RCP_GEN_MAX_DIRS, &w);
		free(item);
		if (r != 0 || w == 0) {
			*cause = rcp_xasprintf("bad directory widths '%s' "
			    "(expected counts from 1 to %" PRIu64 " separated "
			    "by commas, like 3,2)", s, RCP_GEN_MAX_DIRS);
			return RCP_ERR_INVAL;
		}
		if (spec->nlevels == RCP_GEN_MAX_LEVELS) {
			*cause = rcp_xasprintf("too many directory levels in "
			    "'%s' (at most %d)", s, RCP_GEN_MAX_LEVELS);
			return RCP_ERR_INVAL;
		}
		spec->width[spec->nlevels++] = w;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

/* Parses "4K" or "1K-16M" into spec's size range. */
static int
parse_filesize(struct rcp_gen_spec *spec, const char *s, char **cause)
{
	const char *dash = strchr(s, '-');
	char *min = NULL;
	int r;

	if (dash != NULL) {
		min = rcp_xstrndup(s, (size_t)(dash - s));
		r = rcp_parse_size(min, &spec->size_min);
		if (r == 0)
			r = rcp_parse_size(dash + 1, &spec->size_max);
		free(min);
	} else {
		r = rcp_parse_size(s, &spec->size_min);
		spec->size_max = spec->size_min;
	}
	if (r != 0) {
		*cause = rcp_xasprintf("bad file size '%s' (expected a size "
		    "like 4K or a range like 1K-16M)", s);
		return RCP_ERR_INVAL;
	}
	if (spec->size_min > spec->size_max) {
		*cause = rcp_xasprintf("bad file size range '%s': minimum "
		    "above maximum", s);
		return RCP_ERR_INVAL;
	}
	if (spec->size_max > RCP_GEN_MAX_FILE_SIZE) {
		*cause = rcp_xasprintf("file size '%s' too big (at most 1P)",
		    s);
		return RCP_ERR_INVAL;
	}
	return 0;
}

int
rcp_gen_spec_parse(struct rcp_gen_spec *spec, const char *dirwidth,
    const char *nfiles, const char *filesize, char **cause)
{
	struct rcp_gen_spec s = *spec;
	uint64_t leaves;
	int r;

	if ((r = parse_widths(&s, dirwidth, cause)) != 0)
		return r;
	if (rcp_parse_uint(nfiles, RCP_GEN_MAX_FILES, &s.nfiles) != 0) {
		*cause = rcp_xasprintf("bad number of files '%s'", nfiles);
		return RCP_ERR_INVAL;
	}
	if ((r = parse_filesize(&s, filesize, cause)) != 0)
		return r;
	if ((r = spec_check(&s, &leaves, cause)) != 0)
		return r;
	*spec = s;
	return 0;
}

/* Sets *cause to "cannot <what> '<path>': <strerror(errno)>". */
static int
sys_error(char **cause, const char *what, const char *path)
{
	int saved = errno;
	char *name = rcp_escape(path);

	*cause = rcp_xasprintf("cannot %s '%s': %s", what, name,
	    strerror(saved));
	free(name);
	return RCP_ERR_IO;
}

/* Makes one directory; with force, an existing one will do. */
static int
make_dir(const char *path, bool force, char **cause)
{
	struct stat sb;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno == EEXIST && force && stat(path, &sb) == 0 &&
	    S_ISDIR(sb.st_mode))
		return 0;
	return sys_error(cause, "create directory", path);
}

/* Creates the root, or checks that the existing one may be written into. */
static int
prepare_root(const char *root, bool force, char **cause)
{
	struct dirent *de;
	struct stat sb;
	char *name;
	DIR *d;
	int empty = 1;

	if (mkdir(root, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return sys_error(cause, "create directory", root);
	if (stat(root, &sb) != 0)
		return sys_error(cause, "stat", root);
	if (!S_ISDIR(sb.st_mode)) {
		name = rcp_escape(root);
		*cause = rcp_xasprintf("'%s' is not a directory", name);
		free(name);
		return RCP_ERR_INVAL;
	}
	if (force)
		return 0;
	if ((d = opendir(root)) == NULL)
		return sys_error(cause, "open directory", root);
	while (empty && (de = readdir(d)) != NULL)
		empty = strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0;
	closedir(d);
	if (!empty) {
		name = rcp_escape(root);
		*cause = rcp_xasprintf("'%s' is not empty", name);
		free(name);
		return RCP_ERR_EXISTS;
	}
	return 0;
}

static void
path_truncate(struct rcp_buf *b, size_t len)
{
	b->len = len;
	b->data[len] = '\0';
}

/* Makes the directories below path from level on, depth first. */
static int
make_dirs(const struct rcp_gen_spec *spec, struct rcp_buf *path,
    unsigned level, uint64_t *ndirs, char **cause)
{
	size_t len = path->len;
	uint64_t i;
	int r;

	if (level == spec->nlevels)
		return 0;
	for (i = 0; i < spec->width[level]; i++) {
		rcp_buf_addf(path, "/d%" PRIu64, i);
		if ((r = make_dir(path->data, spec->force, cause)) != 0)
			return r;
		(*ndirs)++;
		r = make_dirs(spec, path, level + 1, ndirs, cause);
		if (r != 0)
			return r;
		path_truncate(path, len);
	}
	return 0;
}

/* Sets w->path to the path of file number index. */
static void
file_path(struct gen_worker *w, uint64_t index)
{
	const struct rcp_gen_spec *spec = w->g->spec;
	uint64_t digit[RCP_GEN_MAX_LEVELS], leaf = index / spec->nfiles;
	unsigned i;

	for (i = spec->nlevels; i-- > 0;) {
		digit[i] = leaf % spec->width[i];
		leaf /= spec->width[i];
	}
	rcp_buf_reset(&w->path);
	rcp_buf_addstr(&w->path, w->g->root);
	for (i = 0; i < spec->nlevels; i++)
		rcp_buf_addf(&w->path, "/d%" PRIu64, digit[i]);
	rcp_buf_addf(&w->path, "/f%" PRIu64, index % spec->nfiles);
}

static int
pwrite_full(int fd, const uint8_t *p, size_t n, uint64_t off)
{
	ssize_t k;

	while (n > 0) {
		if ((k = pwrite(fd, p, n, (off_t)off)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/*
 * Writes bytes [off, off + len) of file number index, whose size is size.
 * A whole file is truncated on open; the first piece of a file in pieces
 * sets its size, so that a longer old file (with force) is cut.
 */
static int
write_range(struct gen_worker *w, uint64_t index, uint64_t off, uint64_t len,
    uint64_t size, char **cause)
{
	struct gen_stream st;
	uint64_t done = 0;
	size_t n;
	int fd, flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC;

	file_path(w, index);
	if (len == size)
		flags |= O_TRUNC;
	if ((fd = open(w->path.data, flags, 0644)) < 0)
		return sys_error(cause, "create", w->path.data);
	if (len != size && off == 0 && ftruncate(fd, (off_t)size) != 0)
		goto fail;
	stream_init(&st, file_key(w->g->spec->seed, index), off);
	while (done < len) {
		n = len - done < w->g->bufsize ? (size_t)(len - done) :
		    w->g->bufsize;
		stream_fill(&st, w->buf, n);
		if (pwrite_full(fd, w->buf, n, off + done) != 0)
			goto fail;
		done += n;
	}
	if (close(fd) != 0)
		return sys_error(cause, "write", w->path.data);
	w->bytes += len;
	if (off == 0)
		w->files++;
	return 0;

fail:
	sys_error(cause, "write", w->path.data);
	close(fd);
	return RCP_ERR_IO;
}

/* Takes the next job from the cursor.  Returns false when there is none. */
static bool
next_job(struct gen_run *g, struct gen_job *job)
{
	const struct rcp_gen_spec *spec = g->spec;
	uint64_t size, bytes;
	bool ok = false;

	pthread_mutex_lock(&g->lock);
	if (g->error != 0 || g->next_file >= g->nfiles)
		goto out;
	job->file = g->next_file;
	size = rcp_gen_file_size(spec, job->file);
	if (size > GEN_PIECE) {
		job->count = 0;
		job->off = g->next_off;
		job->len = size - job->off < GEN_PIECE ? size - job->off :
		    GEN_PIECE;
		g->next_off += job->len;
		if (g->next_off == size) {
			g->next_off = 0;
			g->next_file++;
		}
	} else {
		/* Whole files, up to a piece's worth of bytes. */
		job->count = 1;
		job->off = job->len = 0;
		bytes = size;
		while (++g->next_file < g->nfiles && job->count < GEN_BATCH) {
			size = rcp_gen_file_size(spec, g->next_file);
			if (size > GEN_PIECE - bytes)
				break;
			bytes += size;
			job->count++;
		}
	}
	ok = true;
out:
	pthread_mutex_unlock(&g->lock);
	return ok;
}

/* Records the first failure (taking cause) and stops the other workers. */
static void
run_fail(struct gen_run *g, int r, char *cause)
{
	pthread_mutex_lock(&g->lock);
	if (g->error == 0) {
		g->error = r;
		g->cause = cause;
		cause = NULL;
	}
	pthread_mutex_unlock(&g->lock);
	free(cause);
}

static int
do_job(struct gen_worker *w, const struct gen_job *job, char **cause)
{
	uint64_t i, size;
	int r;

	if (job->count == 0)
		return write_range(w, job->file, job->off, job->len,
		    rcp_gen_file_size(w->g->spec, job->file), cause);
	for (i = job->file; i < job->file + job->count; i++) {
		size = rcp_gen_file_size(w->g->spec, i);
		if ((r = write_range(w, i, 0, size, size, cause)) != 0)
			return r;
	}
	return 0;
}

static void *
worker_main(void *arg)
{
	struct gen_worker *w = arg;
	struct gen_job job;
	char *cause = NULL;
	int r;

	w->buf = rcp_xmalloc(w->g->bufsize);
	rcp_buf_init(&w->path);
	while (next_job(w->g, &job)) {
		if ((r = do_job(w, &job, &cause)) != 0) {
			run_fail(w->g, r, cause);
			break;
		}
	}
	rcp_buf_release(&w->path);
	free(w->buf);
	w->buf = NULL;
	return NULL;
}

/*
 * Runs the workers: the calling thread is the first, the others have
 * SIGPIPE blocked.  A thread that cannot start only slows the run down.
 */
static void
run_workers(struct gen_run *g, int nthreads, struct rcp_gen_stats *st)
{
	struct gen_worker *w = rcp_xcalloc((size_t)nthreads, sizeof *w);
	sigset_t block, old;
	int i, started, e;

	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (started = 1; started < nthreads; started++) {
		w[started].g = g;
		e = pthread_create(&w[started].tid, NULL, worker_main,
		    &w[started]);
		if (e != 0) {
			rcp_log(g->log, RCP_LOG_WARN, "cannot start thread: "
			    "%s; going on with %d", strerror(e), started);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w[0].g = g;
	worker_main(&w[0]);
	for (i = 0; i < started; i++) {
		if (i > 0)
			pthread_join(w[i].tid, NULL);
		st->files += w[i].files;
		st->bytes += w[i].bytes;
	}
	free(w);
}

int
rcp_gen_run(const char *root, const struct rcp_gen_spec *spec,
    const struct rcp_log *log, struct rcp_gen_stats *stats, char **cause)
{
	struct gen_run g;
	struct rcp_gen_stats st = { 0, 0, 0 };
	struct rcp_buf path = RCP_BUF_INIT;
	uint64_t leaves;
	size_t len;
	int r, nthreads;

	memset(&g, 0, sizeof g);
	if ((r = spec_check(spec, &leaves, cause)) != 0)
		return r;
	if (spec->bufsize < RCP_GEN_MIN_BUFSIZE ||
	    spec->bufsize > RCP_GEN_MAX_BUFSIZE || spec->threads < 0 ||
	    spec->threads > RCP_GEN_MAX_THREADS) {
		*cause = rcp_xasprintf("bad buffer size or thread count "
		    "(buffer 4K to 1G, at most %d threads)",
		    RCP_GEN_MAX_THREADS);
		return RCP_ERR_INVAL;
	}
	if (*root == '\0') {
		*cause = rcp_xstrdup("empty root path");
		return RCP_ERR_INVAL;
	}
	/* "/" becomes "", so that paths below it are "/d0". */
	len = strlen(root);
	while (len > 0 && root[len - 1] == '/')
		len--;
	g.root = rcp_xstrndup(root, len);
	g.spec = spec;
	g.log = log;
	g.bufsize = spec->bufsize & ~(size_t)7;	/* see stream_fill */
	g.nfiles = leaves * spec->nfiles;
	nthreads = spec->threads > 0 ? spec->threads : rcp_ncpus();
	pthread_mutex_init(&g.lock, NULL);

	if ((r = prepare_root(root, spec->force, cause)) != 0)
		goto out;
	rcp_buf_addstr(&path, g.root);
	if ((r = make_dirs(spec, &path, 0, &st.dirs, cause)) != 0)
		goto out;
	rcp_log(log, RCP_LOG_INFO, "made %" PRIu64 " directories; writing "
	    "%" PRIu64 " files with %d threads", st.dirs, g.nfiles, nthreads);
	if (g.nfiles > 0)
		run_workers(&g, nthreads, &st);
	if ((r = g.error) != 0) {
		*cause = g.cause;
		g.cause = NULL;
		goto out;
	}
	if (stats != NULL)
		*stats = st;
	r = 0;
out:
	pthread_mutex_destroy(&g.lock);
	rcp_buf_release(&path);
	free(g.cause);
	free(g.root);
	return r;
}
