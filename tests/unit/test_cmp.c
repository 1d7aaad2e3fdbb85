/* test_cmp.c: the tree comparison (cmp.c) on real trees under /dev/shm. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/cmp.h"
#include "fs/meta.h"
#include "unit.h"

#include "base/banned.h"

#define MAX_DIFFS 256

struct seen {
	int	 kind;
	char	*path;
	unsigned attr;
	int	 missing_in;	/* RCP_CMP_MISSING: 0 src, 1 dst */
	int64_t	 offset;
	char	*link[2];
};

struct collect {
	struct seen	 d[MAX_DIFFS];
	size_t		 n;
	size_t		 calls;
	pthread_mutex_t	 lock;		/* only to prove calls never overlap */
	int		 overlapped;
	char		*log;		/* the last error logged */
};

static int
collect_fn(void *arg, const struct rcp_cmp_diff *d)
{
	struct collect *c = arg;
	struct seen *s;

	if (pthread_mutex_trylock(&c->lock) != 0) {
		c->overlapped = 1;
		return 0;
	}
	c->calls++;
	if (c->n < MAX_DIFFS) {
		s = &c->d[c->n++];
		s->kind = d->kind;
		s->path = rcp_xstrdup(d->path);
		s->attr = d->attr;
		s->missing_in = d->src == NULL ? 0 : 1;
		s->offset = d->offset;
		s->link[0] = d->src_link ? rcp_xstrdup(d->src_link) : NULL;
		s->link[1] = d->dst_link ? rcp_xstrdup(d->dst_link) : NULL;
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void
collect_log(void *arg, int level, const char *msg)
{
	struct collect *c = arg;

	if (level != RCP_LOG_ERROR)
		return;
	pthread_mutex_lock(&c->lock);
	free(c->log);
	c->log = rcp_xstrdup(msg);
	pthread_mutex_unlock(&c->lock);
}

static void
collect_init(struct collect *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

static void
collect_release(struct collect *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free(c->d[i].path);
		free(c->d[i].link[0]);
		free(c->d[i].link[1]);
	}
	free(c->log);
	pthread_mutex_destroy(&c->lock);
}

/* Returns the recorded difference of kind (and attr) at path, or NULL. */
static const struct seen *
find(const struct collect *c, int kind, unsigned attr, const char *path)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (c->d[i].kind == kind && c->d[i].attr == attr &&
		    strcmp(c->d[i].path, path) == 0)
			return &c->d[i];
	return NULL;
}

/* One comparison with spec and flags; threads 0 is the default. */
struct run {
	const char	*spec;
	bool		 content;
	bool		 exit_early;
	int		 threads;
	atomic_bool	*cancel;
};

static int
run_cmp(const char *src, const char *dst, const struct run *how,
    struct collect *c, struct rcp_cmp_stats *st, char **cause)
{
	struct rcp_log log = { collect_log, c, RCP_LOG_DEBUG };
	struct rcp_cmp_opts o;
	char *err = NULL;

	rcp_cmp_opts_init(&o);
	if (how->spec != NULL) {
		CU_ASSERT_FATAL(rcp_attrs_parse(&o.attrs, how->spec, &err) == 0);
	}
	o.content = how->content;
	o.exit_early = how->exit_early;
	o.threads = how->threads;
	o.cancel = how->cancel;
	o.diff_fn = collect_fn;
	o.diff_arg = c;
	o.log = &log;
	return rcp_cmp_run(src, dst, &o, st, cause);
}

static char *
path2(const char *a, const char *b)
{
	return rcp_xasprintf("%s/%s", a, b);
}

static void
mkdir_p(const char *root, const char *rel)
{
	char *p = path2(root, rel);

	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	free(p);
}

static void
write_rel(const char *root, const char *rel, const char *data)
{
	char *p = path2(root, rel);

	unit_write_file(p, data, strlen(data));
	free(p);
}

static void
symlink_rel(const char *root, const char *rel, const char *target)
{
	char *p = path2(root, rel);

	CU_ASSERT_FATAL(symlink(target, p) == 0);
	free(p);
}

static int
fix_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct timespec ts[2] = { { 1000000000, 5 }, { 1000000000, 5 } };

	return utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
}

/* Gives every entry under root the same times, children before parents. */
static void
fix_times(const char *root)
{
	CU_ASSERT_FATAL(nftw(root, fix_one, 16, FTW_DEPTH | FTW_PHYS) == 0);
}

/* A small tree with every kind of entry. */
static void
make_tree(const char *root)
{
	CU_ASSERT_FATAL(mkdir(root, 0755) == 0);
	mkdir_p(root, "a");
	mkdir_p(root, "a/b");
	mkdir_p(root, "empty");
	write_rel(root, "f", "hello\n");
	write_rel(root, "a/g", "some bytes");
	write_rel(root, "a/b/h", "");
	write_rel(root, "-dash", "d");
	write_rel(root, "new\nline", "n");
	write_rel(root, "\xff\xfe", "not utf-8");
	symlink_rel(root, "l", "a/g");
	fix_times(root);
}

/* Makes base/src and base/dst, identical; returns base (caller frees). */
static char *
make_pair(char **src, char **dst)
{
	char *base = unit_tmpdir("cmp");

	*src = path2(base, "src");
	*dst = path2(base, "dst");
	make_tree(*src);
	make_tree(*dst);
	return base;
}

static void
free_pair(char *base, char *src, char *dst)
{
	unit_rmtree(base);
	free(base);
	free(src);
	free(dst);
}

static void
test_identical(void)
{
	struct run how[] = {
		{ NULL, false, false, 1, NULL },
		{ NULL, true, false, 4, NULL },
		{ "uid,gid,mode,size,mtime", true, false, 0, NULL },
	};
	struct rcp_cmp_stats st;
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(how); i++) {
		collect_init(&c);
		CU_ASSERT_EQUAL(run_cmp(src, dst, &how[i], &c, &st, &cause), 0);
		CU_ASSERT_PTR_NULL(cause);
		CU_ASSERT_EQUAL(c.n, 0);
		CU_ASSERT_EQUAL(st.differences, 0);
		CU_ASSERT_EQUAL(st.errors, 0);
		CU_ASSERT_EQUAL(st.entries, 11);	/* the roots + 10 */
		collect_release(&c);
	}
	free_pair(base, src, dst);
}

static void
test_missing(void)
{
	struct run how = { NULL, false, false, 2, NULL };
	struct rcp_cmp_stats st;
	struct collect c;
	const struct seen *s;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;

	mkdir_p(src, "only-src");
	write_rel(src, "only-src/inside", "x");
	write_rel(dst, "a/b/only-dst", "y");
	fix_times(src);
	fix_times(dst);
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, &st, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_PTR_NOT_NULL(cause);
	/* The missing directory is reported once, not its contents. */
	CU_ASSERT_EQUAL(c.n, 2);
	s = find(&c, RCP_CMP_MISSING, 0, "only-src");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->missing_in, 1);
	s = find(&c, RCP_CMP_MISSING, 0, "a/b/only-dst");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->missing_in, 0);
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_type(void)
{
	struct run how = { NULL, true, false, 1, NULL };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char *p = path2(dst, "a/b/h");

	/* a file becomes a directory, a symlink becomes a file */
	CU_ASSERT_FATAL(unlink(p) == 0);
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	write_rel(p, "below", "z");
	free(p);
	p = path2(dst, "l");
	CU_ASSERT_FATAL(unlink(p) == 0);
	write_rel(dst, "l", "a/g");
	free(p);
	fix_times(dst);
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_EQUAL(c.n, 2);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_TYPE, 0, "a/b/h"));
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_TYPE, 0, "l"));
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_attrs(void)
{
	struct run dflt = { NULL, false, false, 3, NULL };
	struct run modes = { "f:mode", false, false, 1, NULL };
	struct timespec ts[2] = { { 0, UTIME_OMIT }, { 2000000000, 0 } };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char *p;

	write_rel(dst, "f", "hello, longer\n");
	p = path2(dst, "a");
	CU_ASSERT_FATAL(utimensat(AT_FDCWD, p, ts, 0) == 0);
	free(p);
	p = path2(dst, "a/g");
	CU_ASSERT_FATAL(chmod(p, 0600) == 0);
	free(p);
	/* f's new mtime is "now", the rest keep the fixed one */
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &dflt, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(c.n, 3);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_ATTR, RCP_ATTR_SIZE, "f"));
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_ATTR, RCP_ATTR_MTIME, "f"));
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_ATTR, RCP_ATTR_MTIME, "a"));
	collect_release(&c);

	/* only the mode is compared now, and only for files */
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &modes, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_EQUAL(c.n, 1);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_ATTR, RCP_ATTR_MODE, "a/g"));
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_content(void)
{
	struct run meta = { NULL, false, false, 2, NULL };
	struct run content = { NULL, true, false, 2, NULL };
	struct run content_mtime = { "f:mtime", true, false, 1, NULL };
	size_t big = 3 * 1024 * 1024 + 77, where = 2 * 1024 * 1024 + 5;
	char *data = rcp_xmalloc(big), *p, *q;
	const struct seen *s;
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;

	/* same size and mtime, one byte different past the first buffer */
	memset(data, 'a', big);
	p = path2(src, "big");
	unit_write_file(p, data, big);
	free(p);
	data[where] = 'b';
	q = path2(dst, "big");
	unit_write_file(q, data, big);
	free(q);
	write_rel(dst, "a/g", "some BYTES");	/* same size as in src */
	fix_times(src);
	fix_times(dst);

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &meta, &c, NULL, &cause), 0);
	CU_ASSERT_EQUAL(c.n, 0);
	collect_release(&c);

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &content, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(c.n, 2);
	s = find(&c, RCP_CMP_CONTENT, 0, "big");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->offset, (int64_t)where);
	s = find(&c, RCP_CMP_CONTENT, 0, "a/g");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->offset, 5);
	collect_release(&c);

	/* different sizes: reported without reading, offset unknown */
	write_rel(dst, "f", "hello, world\n");
	fix_times(dst);
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &content_mtime, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	s = find(&c, RCP_CMP_CONTENT, 0, "f");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->offset, -1);
	CU_ASSERT_PTR_NULL(find(&c, RCP_CMP_ATTR, RCP_ATTR_SIZE, "f"));
	collect_release(&c);
	free(cause);
	free(data);
	free_pair(base, src, dst);
}

static void
test_non_utf8(void)
{
	struct run how = { NULL, true, false, 2, NULL };
	struct collect c;
	const struct seen *s;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;

	mkdir_p(src, "\x80 dir");
	write_rel(src, "\x80 dir/\xc3\x28", "x");
	mkdir_p(dst, "\x80 dir");
	write_rel(dst, "\xff\xfe", "NOT UTF-8");	/* same size */
	fix_times(src);
	fix_times(dst);
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_EQUAL(c.n, 2);
	s = find(&c, RCP_CMP_MISSING, 0, "\x80 dir/\xc3\x28");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(s->missing_in, 1);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_CONTENT, 0, "\xff\xfe"));
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_symlink(void)
{
	struct run meta = { NULL, false, false, 1, NULL };
	struct run content = { NULL, true, false, 1, NULL };
	const struct seen *s;
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char *p = path2(dst, "l");

	/* same length, so not even the size gives it away */
	CU_ASSERT_FATAL(unlink(p) == 0);
	CU_ASSERT_FATAL(symlink("a/G", p) == 0);
	free(p);
	fix_times(dst);

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &meta, &c, NULL, &cause), 0);
	collect_release(&c);

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &content, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_EQUAL(c.n, 1);
	s = find(&c, RCP_CMP_CONTENT, 0, "l");
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_STRING_EQUAL(s->link[0], "a/g");
	CU_ASSERT_STRING_EQUAL(s->link[1], "a/G");
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_exit_early(void)
{
	struct run how = { NULL, true, true, 4, NULL };
	struct rcp_cmp_stats st;
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char name[32];
	int i;

	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "d%03d", i);
		mkdir_p(src, name);
		snprintf(name, sizeof(name), "d%03d/f", i);
		write_rel(src, name, "one");
		write_rel(dst, name + 5, "x");	/* dst gets "f" only */
	}
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, &st, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_EQUAL(c.calls, 1);
	CU_ASSERT_EQUAL(st.differences, 1);
	CU_ASSERT_EQUAL(c.overlapped, 0);
	collect_release(&c);
	free(cause);
	cause = NULL;

	/* without it, every one of them, and never two calls at once */
	how.exit_early = false;
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, &st, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT(c.calls > 200);
	CU_ASSERT_EQUAL(c.overlapped, 0);
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_missing_root(void)
{
	struct run how = { NULL, false, false, 0, NULL };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char *gone = path2(base, "gone"), *want;

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(gone, dst, &how, &c, NULL, &cause),
	    RCP_ERR_NOTFOUND);
	want = rcp_xasprintf("cannot open '%s': No such file or directory",
	    gone);
	CU_ASSERT_FATAL(cause != NULL);
	CU_ASSERT_STRING_EQUAL(cause, want);
	free(cause);
	free(want);
	cause = NULL;
	CU_ASSERT_EQUAL(run_cmp(src, gone, &how, &c, NULL, &cause),
	    RCP_ERR_NOTFOUND);
	CU_ASSERT_EQUAL(c.n, 0);
	collect_release(&c);
	free(cause);
	free(gone);
	free_pair(base, src, dst);
}

/* Two single files and a file against a directory, as roots. */
static void
test_file_roots(void)
{
	struct run how = { NULL, true, false, 0, NULL };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	char *f0 = path2(src, "a/g"), *f1 = path2(dst, "a/g");

	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(f0, f1, &how, &c, NULL, &cause), 0);
	write_rel(dst, "a/g", "SOME bytes");
	fix_times(dst);
	CU_ASSERT_EQUAL(run_cmp(f0, f1, &how, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	free(cause);
	cause = NULL;
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_CONTENT, 0, "."));
	CU_ASSERT_EQUAL(run_cmp(f0, dst, &how, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_TYPE, 0, "."));
	collect_release(&c);
	free(cause);
	free(f0);
	free(f1);
	free_pair(base, src, dst);
}

/* A chain of 60 directories with 100-byte names: over 6000 bytes deep. */
static void
make_deep(const char *root, const char *leaf)
{
	char name[101];
	int fd, next, i;

	memset(name, 'n', 100);
	name[100] = '\0';
	CU_ASSERT_FATAL((fd = open(root, O_RDONLY | O_DIRECTORY)) >= 0);
	for (i = 0; i < 60; i++) {
		CU_ASSERT_FATAL(mkdirat(fd, name, 0755) == 0);
		next = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		CU_ASSERT_FATAL((fd = next) >= 0);
	}
	next = openat(fd, "leaf", O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_FATAL(next >= 0);
	CU_ASSERT(write(next, leaf, strlen(leaf)) == (ssize_t)strlen(leaf));
	close(next);
	close(fd);
}

static void
test_deep(void)
{
	struct run how = { "f:size", true, false, 2, NULL };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;

	make_deep(src, "same size");
	make_deep(dst, "SAME SIZE");
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, NULL, &cause),
	    RCP_ERR_DIFFERENT);
	CU_ASSERT_PTR_NULL(c.log);
	CU_ASSERT_EQUAL_FATAL(c.n, 1);
	CU_ASSERT_EQUAL(c.d[0].kind, RCP_CMP_CONTENT);
	CU_ASSERT(strlen(c.d[0].path) == 60 * 101 + 4);
	CU_ASSERT(strlen(c.d[0].path) > PATH_MAX);
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

/* Returns the n-th lowest free file descriptor (n from 1). */
static int
nth_free_fd(int n)
{
	int fd;

	for (fd = 0;; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF && --n == 0)
			return fd;
}

/*
 * Errors inside the walk (root can read everything, so run out of file
 * descriptors instead): logged, counted, the walk goes on, and the result
 * is RCP_ERR_PARTIAL even though differences were found too.
 */
static void
test_walk_error(void)
{
	static const char *dirs[] = { "p", "p/p1", "p/p1/a", "p/p1/b",
	    "p/p2", "q" };
	struct run how = { NULL, false, false, 1, NULL };
	struct rcp_cmp_stats st;
	struct rlimit old, low;
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;
	size_t i;
	int r;

	/* A pending sibling keeps its parent open: p, p/p1 and the roots
	 * are open when p/p1/a is reached. */
	for (i = 0; i < RCP_ARRAY_SIZE(dirs); i++) {
		mkdir_p(src, dirs[i]);
		mkdir_p(dst, dirs[i]);
	}
	write_rel(dst, "extra", "e");
	fix_times(src);
	fix_times(dst);
	CU_ASSERT_FATAL(getrlimit(RLIMIT_NOFILE, &old) == 0);
	low = old;
	/* the seventh descriptor the walk takes (for p/p1/a) is refused */
	low.rlim_cur = (rlim_t)nth_free_fd(7);
	CU_ASSERT_FATAL(setrlimit(RLIMIT_NOFILE, &low) == 0);
	collect_init(&c);
	r = run_cmp(src, dst, &how, &c, &st, &cause);
	setrlimit(RLIMIT_NOFILE, &old);
	CU_ASSERT_EQUAL(r, RCP_ERR_PARTIAL);
	CU_ASSERT(st.errors >= 1);
	CU_ASSERT_EQUAL(st.differences, 1);
	CU_ASSERT_PTR_NOT_NULL(find(&c, RCP_CMP_MISSING, 0, "extra"));
	CU_ASSERT_FATAL(c.log != NULL);
	CU_ASSERT(strncmp(c.log, "cannot open '", 13) == 0);
	CU_ASSERT(strstr(c.log, "': Too many open files") != NULL);
	CU_ASSERT_FATAL(cause != NULL);
	CU_ASSERT(strstr(cause, "could not be compared") != NULL);
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

static void
test_cancel(void)
{
	atomic_bool cancel = true;
	struct run how = { NULL, false, false, 2, &cancel };
	struct collect c;
	char *src, *dst, *base = make_pair(&src, &dst), *cause = NULL;

	write_rel(dst, "extra", "e");
	collect_init(&c);
	CU_ASSERT_EQUAL(run_cmp(src, dst, &how, &c, NULL, &cause),
	    RCP_ERR_CANCELED);
	CU_ASSERT_EQUAL(c.n, 0);
	collect_release(&c);
	free(cause);
	free_pair(base, src, dst);
}

void
test_cmp_register(void)
{
	static const struct unit_test tests[] = {
		{ "identical trees", test_identical },
		{ "missing on either side", test_missing },
		{ "type differs", test_type },
		{ "attributes per spec", test_attrs },
		{ "content", test_content },
		{ "non-UTF-8 names", test_non_utf8 },
		{ "symlink targets", test_symlink },
		{ "exit early", test_exit_early },
		{ "missing root", test_missing_root },
		{ "single files as roots", test_file_roots },
		{ "deeper than PATH_MAX", test_deep },
		{ "errors in the walk", test_walk_error },
		{ "cancel", test_cancel },
		{ NULL, NULL }
	};

	unit_add_suite("cmp", tests);
}
