/*
 * test_copy.c: the copy engine as a library: results and counters, up-front
 * errors, chunked and sparse files, several copies at once in one process,
 * and cancel from another thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "engine/copy.h"
#include "fs/filter.h"
#include "unit.h"

#include "base/banned.h"

struct logcount {
	atomic_int	errors;
	atomic_int	records;
};

static void
count_log(void *arg, int level, const char *msg)
{
	struct logcount *lc = arg;

	atomic_fetch_add(&lc->records, 1);
	if (level == RCP_LOG_ERROR)
		atomic_fetch_add(&lc->errors, 1);
}

static char *
mkpath(const char *a, const char *b)
{
	return rcp_path_join(a, b);
}

static void
write_pattern(const char *path, size_t n, unsigned seed)
{
	char *buf = rcp_xmalloc(n ? n : 1);
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (char)((i * 2654435761u + seed) >> 13);
	unit_write_file(path, buf, n);
	free(buf);
}

static bool
same_content(const char *a, const char *b)
{
	char cmd[4096];

	snprintf(cmd, sizeof(cmd), "cmp -s '%s' '%s'", a, b);
	return system(cmd) == 0;
}

/* Makes src/{f1,f2,sub/f3,sub/link->f3} under dir; returns src path. */
static char *
make_tree(const char *dir)
{
	char *src = mkpath(dir, "src"), *p;

	mkdir(src, 0755);
	p = mkpath(src, "f1");
	write_pattern(p, 1000, 1);
	free(p);
	p = mkpath(src, "f2");
	write_pattern(p, 0, 2);
	free(p);
	p = mkpath(src, "sub");
	mkdir(p, 0700);
	free(p);
	p = mkpath(src, "sub/f3");
	write_pattern(p, 70000, 3);
	free(p);
	p = mkpath(src, "sub/link");
	CU_ASSERT_EQUAL(symlink("f3", p), 0);
	free(p);
	return src;
}

static int
run_copy(const struct rcp_copy_opts *o, const char *src, const char *dst,
    struct rcp_copy_stats *st, char **cause, struct logcount *lc)
{
	struct rcp_log log = { count_log, lc, RCP_LOG_TRACE };
	const char *srcs[1] = { src };
	struct rcp_copy *c = rcp_copy_new(o, &log);
	int r;

	r = rcp_copy_run(c, srcs, 1, dst, cause);
	if (st != NULL)
		rcp_copy_stats(c, st);
	rcp_copy_free(c);
	return r;
}

static void
test_tree(void)
{
	char *dir = unit_tmpdir("copy"), *src = make_tree(dir);
	char *dst = mkpath(dir, "dst"), *a, *b, *cause = NULL;
	struct logcount lc = { 0, 0 };
	struct rcp_copy_opts o;
	struct rcp_copy_stats st;
	struct stat sb;
	char target[16];

	rcp_copy_opts_init(&o);
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL(st.files_copied, 3);
	CU_ASSERT_EQUAL(st.dirs_created, 2);
	CU_ASSERT_EQUAL(st.symlinks_created, 1);
	CU_ASSERT_EQUAL(st.bytes_copied, 71000);
	CU_ASSERT_EQUAL(st.errors, 0);
	CU_ASSERT_EQUAL(atomic_load(&lc.errors), 0);
	a = mkpath(src, "sub/f3");
	b = mkpath(dst, "sub/f3");
	CU_ASSERT_TRUE(same_content(a, b));
	free(a);
	free(b);
	b = mkpath(dst, "sub");
	CU_ASSERT_EQUAL(stat(b, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0700);	/* mode & 0777 kept */
	free(b);
	b = mkpath(dst, "sub/link");
	CU_ASSERT_EQUAL(readlink(b, target, sizeof(target)), 2);
	CU_ASSERT_EQUAL(memcmp(target, "f3", 2), 0);
	free(b);

	/* Again with --overwrite: everything is unchanged, nothing copied. */
	o.overwrite = true;
	o.preserve.f.time = true;
	unit_rmtree(dst);
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(st.files_copied, 0);
	CU_ASSERT_EQUAL(st.files_unchanged, 3);
	CU_ASSERT_EQUAL(st.bytes_copied, 0);

	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
}

static void
expect_start_error(const struct rcp_copy_opts *o, const char *const *srcs,
    size_t n, const char *dst, int want, const char *needle)
{
	struct rcp_copy *c = rcp_copy_new(o, NULL);
	char *cause = NULL;
	int r;

	r = rcp_copy_run(c, srcs, n, dst, &cause);
	CU_ASSERT_EQUAL(r, want);
	CU_ASSERT_PTR_NOT_NULL(cause);
	if (cause != NULL && strstr(cause, needle) == NULL) {
		fprintf(stderr, "cause '%s' lacks '%s'\n", cause, needle);
		CU_FAIL("cause lacks the expected words");
	}
	free(cause);
	rcp_copy_free(c);
}

static void
test_start_errors(void)
{
	char *dir = unit_tmpdir("copyerr"), *src = make_tree(dir);
	char *dst = mkpath(dir, "dst"), *missing = mkpath(dir, "nope");
	char *deep = mkpath(dir, "no/such/dir/x"), *inside = mkpath(src, "sub/x");
	char *slash = rcp_xasprintf("%s/", dst);
	const char *one[1], *two[2];
	struct rcp_copy_opts o;

	rcp_copy_opts_init(&o);
	one[0] = missing;
	expect_start_error(&o, one, 1, dst, RCP_ERR_NOTFOUND,
	    "No such file or directory");
	one[0] = src;
	expect_start_error(&o, one, 1, deep, RCP_ERR_NOTFOUND,
	    "does not exist");
	expect_start_error(&o, one, 1, inside, RCP_ERR_INVAL, "into itself");
	two[0] = src;
	two[1] = src;
	expect_start_error(&o, two, 2, dst, RCP_ERR_INVAL, "ending in '/'");
	expect_start_error(&o, two, 2, slash, RCP_ERR_NOTFOUND,
	    "does not exist");
	mkdir(dst, 0755);
	expect_start_error(&o, one, 1, dst, RCP_ERR_EXISTS, "--overwrite");
	/* Nothing was copied by the refused run. */
	CU_ASSERT_EQUAL(rmdir(dst), 0);

	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
	free(missing);
	free(deep);
	free(inside);
	free(slash);
}

static void
test_chunked_and_sparse(void)
{
	char *dir = unit_tmpdir("chunk"), *src = mkpath(dir, "src");
	char *dst = mkpath(dir, "dst"), *a, *b, *cause = NULL;
	struct logcount lc = { 0, 0 };
	struct rcp_copy_opts o;
	struct rcp_copy_stats st;
	struct stat sa, sb;
	int fd;

	mkdir(src, 0755);
	a = mkpath(src, "big");
	write_pattern(a, (5u << 20) + 123, 7);	/* 6 chunks of 1 MiB */
	free(a);
	/* Sparse: data at 1 MiB and 9 MiB, ending in a hole at 64 MiB. */
	a = mkpath(src, "sparse");
	fd = open(a, O_WRONLY | O_CREAT, 0644);
	CU_ASSERT_EQUAL(pwrite(fd, "hello", 5, 1 << 20), 5);
	CU_ASSERT_EQUAL(pwrite(fd, "world", 5, 9 << 20), 5);
	CU_ASSERT_EQUAL(ftruncate(fd, 64 << 20), 0);
	close(fd);
	free(a);

	rcp_copy_opts_init(&o);
	o.chunk_size = 1 << 20;
	o.max_workers = 4;
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(st.files_copied, 2);
	a = mkpath(src, "big");
	b = mkpath(dst, "big");
	CU_ASSERT_TRUE(same_content(a, b));
	free(a);
	free(b);
	a = mkpath(src, "sparse");
	b = mkpath(dst, "sparse");
	CU_ASSERT_TRUE(same_content(a, b));
	CU_ASSERT_EQUAL(stat(a, &sa), 0);
	CU_ASSERT_EQUAL(stat(b, &sb), 0);
	CU_ASSERT_EQUAL(sb.st_size, 64 << 20);
	CU_ASSERT_TRUE(sb.st_blocks * 512 <= sa.st_blocks * 512 + 65536);
	free(a);
	free(b);
	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
}

struct job {
	char			*src;
	char			*dst;
	int			 r;
	struct rcp_copy_stats	 st;
};

static void *
job_main(void *arg)
{
	struct job *j = arg;
	struct rcp_copy_opts o;
	struct logcount lc = { 0, 0 };
	char *cause = NULL;

	rcp_copy_opts_init(&o);
	o.max_workers = 2;
	j->r = run_copy(&o, j->src, j->dst, &j->st, &cause, &lc);
	free(cause);
	return NULL;
}

static void
test_concurrent_copies(void)
{
	char *dir = unit_tmpdir("multi"), *src = make_tree(dir), *tmp;
	struct job jobs[4];
	pthread_t th[4];
	int i;

	for (i = 0; i < 4; i++) {
		jobs[i].src = src;
		tmp = rcp_xasprintf("dst%d", i);
		jobs[i].dst = mkpath(dir, tmp);
		free(tmp);
		pthread_create(&th[i], NULL, job_main, &jobs[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(jobs[i].r, 0);
		/* Each copy counts only its own work. */
		CU_ASSERT_EQUAL(jobs[i].st.files_copied, 3);
		CU_ASSERT_EQUAL(jobs[i].st.bytes_copied, 71000);
		free(jobs[i].dst);
	}
	unit_rmtree(dir);
	free(dir);
	free(src);
}

struct runner {
	struct rcp_copy	*c;
	const char	*src;
	const char	*dst;
	int		 r;
	atomic_bool	 done;
};

static void *
runner_main(void *arg)
{
	struct runner *rn = arg;
	const char *srcs[1] = { rn->src };
	char *cause = NULL;

	rn->r = rcp_copy_run(rn->c, srcs, 1, rn->dst, &cause);
	free(cause);
	atomic_store(&rn->done, true);
	return NULL;
}

static void
test_cancel(void)
{
	char *dir = unit_tmpdir("cancel"), *src = mkpath(dir, "src");
	char *dst = mkpath(dir, "dst"), *p;
	struct timespec ts = { 0, 100000000 };
	struct rcp_copy_opts o;
	struct rcp_copy_stats st;
	struct runner rn;
	pthread_t th;
	uint64_t t0;
	struct stat sa, sb;

	mkdir(src, 0755);
	p = mkpath(src, "big");
	write_pattern(p, 8u << 20, 9);
	free(p);
	/* 128 chunks of 64 KiB at 1 a second: 128 s if nobody cancels. */
	rcp_copy_opts_init(&o);
	o.chunk_size = 64 << 10;
	o.iops_throttle = 1;
	o.preserve.f.time = true;
	memset(&rn, 0, sizeof(rn));
	rn.c = rcp_copy_new(&o, NULL);
	rn.src = src;
	rn.dst = dst;
	pthread_create(&th, NULL, runner_main, &rn);
	nanosleep(&ts, NULL);
	t0 = rcp_now_ns();
	rcp_copy_cancel(rn.c);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(rn.r, RCP_ERR_CANCELED);
	/*
	 * Stops at once, not after the throttled rest of the file: 60 s is a
	 * hang guard (normal: well under a second) that still tells the two
	 * apart.
	 */
	CU_ASSERT_TRUE(rcp_now_ns() - t0 < 60000000000ull);
	rcp_copy_stats(rn.c, &st);
	CU_ASSERT_EQUAL(st.files_copied, 0);
	/* The partial file must not look complete. */
	p = mkpath(dst, "big");
	CU_ASSERT_EQUAL(stat(p, &sb), 0);
	free(p);
	p = mkpath(src, "big");
	CU_ASSERT_EQUAL(stat(p, &sa), 0);
	free(p);
	CU_ASSERT_TRUE(sb.st_size != sa.st_size ||
	    sb.st_mtim.tv_sec != sa.st_mtim.tv_sec ||
	    sb.st_mtim.tv_nsec != sa.st_mtim.tv_nsec);
	rcp_copy_free(rn.c);
	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
}

/*
 * Many workers over a tree with hard links across directories, an include
 * filter (directories created only when something inside is copied), then
 * an --overwrite --delete pass: the paths where workers meet, for TSan.
 */
static void
test_stress(void)
{
	char *dir = unit_tmpdir("stress"), *src = mkpath(dir, "src");
	char *dst = mkpath(dir, "dst"), *p, *q, *cause = NULL;
	struct rcp_filter *f = rcp_filter_new();
	struct logcount lc = { 0, 0 };
	struct rcp_copy_opts o;
	struct rcp_copy_stats st;
	struct stat sa, sb;
	int i, j;

	mkdir(src, 0755);
	for (i = 0; i < 16; i++) {
		p = rcp_xasprintf("%s/d%d", src, i);
		mkdir(p, 0755);
		free(p);
		p = rcp_xasprintf("%s/d%d/empty", src, i);
		mkdir(p, 0755);
		free(p);
		for (j = 0; j < 40; j++) {
			p = rcp_xasprintf("%s/d%d/f%d.%s", src, i, j,
			    j % 2 ? "txt" : "bin");
			write_pattern(p, (size_t)(j * 100), (unsigned)(i + j));
			free(p);
		}
		/* d<i>/link0 is a hard link to d0/f0.bin. */
		p = rcp_xasprintf("%s/d0/f0.bin", src);
		q = rcp_xasprintf("%s/d%d/link0.bin", src, i);
		CU_ASSERT_EQUAL(link(p, q), 0);
		free(p);
		free(q);
	}
	CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_INCLUDE, "*.bin", &cause),
	    0);
	rcp_copy_opts_init(&o);
	o.max_workers = 4;
	o.hard_links = true;
	o.filter = f;
	o.chunk_size = 4096;	/* the larger files go in chunks */
	o.preserve.f.time = true;	/* so that the second pass skips them */
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	/* 16 x 21 .bin names; 17 of them are one inode: 1 copy, 16 links. */
	CU_ASSERT_EQUAL(st.files_copied, 16 * 21 - 16);
	CU_ASSERT_EQUAL(st.hard_links_created, 16);
	CU_ASSERT_EQUAL(st.errors, 0);
	/* Directories with nothing included are not created. */
	p = rcp_xasprintf("%s/d3/empty", dst);
	CU_ASSERT_EQUAL(stat(p, &sa), -1);
	free(p);
	p = rcp_xasprintf("%s/d0/f0.bin", dst);
	q = rcp_xasprintf("%s/d9/link0.bin", dst);
	CU_ASSERT_EQUAL(stat(p, &sa), 0);
	CU_ASSERT_EQUAL(stat(q, &sb), 0);
	CU_ASSERT_EQUAL(sa.st_ino, sb.st_ino);
	free(p);
	free(q);

	/* Now everything, over what is there, deleting what is not. */
	o.filter = NULL;
	o.overwrite = true;
	o.delete = true;
	o.hard_links = false;
	p = rcp_xasprintf("%s/d5/extra", dst);
	unit_write_file(p, "x", 1);
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(stat(p, &sa), -1);
	free(p);
	CU_ASSERT_EQUAL(st.removed, 1);
	CU_ASSERT_EQUAL(st.files_copied, 16 * 20);	/* the .txt files */
	CU_ASSERT_EQUAL(st.files_unchanged, 16 * 21);	/* the .bin names */
	CU_ASSERT_EQUAL(st.errors, 0);
	rcp_filter_free(f);
	unit_rmtree(dir);
	free(dir);
	free(src);
	free(dst);
}

static void
test_expand_home(void)
{
	char *s;

	s = rcp_copy_expand_home("~", "/home/u");
	CU_ASSERT_STRING_EQUAL(s, "/home/u");
	free(s);
	s = rcp_copy_expand_home("~/x/y", "/home/u");
	CU_ASSERT_STRING_EQUAL(s, "/home/u/x/y");
	free(s);
	s = rcp_copy_expand_home("~bob/x", "/home/u");
	CU_ASSERT_STRING_EQUAL(s, "~bob/x");
	free(s);
	s = rcp_copy_expand_home("a/~", "/home/u");
	CU_ASSERT_STRING_EQUAL(s, "a/~");
	free(s);
}

static ino_t
ino_of(const char *a, const char *b)
{
	char *p = mkpath(a, b);
	struct stat st;
	ino_t r = 0;

	if (lstat(p, &st) == 0)
		r = st.st_ino;
	free(p);
	return r;
}

/* rlink's options: files linked from the source, or from link_dest when
 * equal by link_compare (else copied from the source). */
static void
test_link_files(void)
{
	char *dir = unit_tmpdir("link"), *src = make_tree(dir), *cause = NULL;
	char *dst = mkpath(dir, "dst"), *upd = mkpath(dir, "upd"), *p;
	struct logcount lc = { 0, 0 };
	struct rcp_copy_stats st;
	struct rcp_copy_opts o;
	struct timespec ts[2];
	int fd;

	rcp_copy_opts_init(&o);
	rcp_preserve_all(&o.preserve);
	o.link_files = true;
	CU_ASSERT_EQUAL(run_copy(&o, src, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(st.hard_links_created, 3);
	CU_ASSERT_EQUAL(st.files_copied, 0);
	CU_ASSERT_EQUAL(st.symlinks_created, 1);
	CU_ASSERT_EQUAL(ino_of(src, "sub/f3"), ino_of(dst, "sub/f3"));
	CU_ASSERT_NOT_EQUAL(ino_of(src, "sub/link"), ino_of(dst, "sub/link"));
	free(cause);
	cause = NULL;

	/* upd: f1 the same (size and mtime), f2 changed, no sub/f3. */
	mkdir(upd, 0755);
	p = mkpath(upd, "f1");
	write_pattern(p, 1000, 9);
	fd = open(p, O_WRONLY);
	free(p);
	p = mkpath(src, "f1");
	{
		struct stat s0;

		CU_ASSERT_FATAL(stat(p, &s0) == 0);
		ts[0] = s0.st_atim;
		ts[1] = s0.st_mtim;
	}
	free(p);
	CU_ASSERT(futimens(fd, ts) == 0);
	close(fd);
	p = mkpath(upd, "f2");
	write_pattern(p, 10, 2);
	free(p);
	unit_rmtree(dst);
	o.link_files = false;
	o.link_dest = src;
	o.link_compare = o.overwrite_compare;
	CU_ASSERT_EQUAL(run_copy(&o, upd, dst, &st, &cause, &lc), 0);
	CU_ASSERT_EQUAL(st.hard_links_created, 1);
	CU_ASSERT_EQUAL(st.files_copied, 1);
	CU_ASSERT_EQUAL(ino_of(src, "f1"), ino_of(dst, "f1"));
	CU_ASSERT_NOT_EQUAL(ino_of(src, "f2"), ino_of(dst, "f2"));
	CU_ASSERT_EQUAL(ino_of(dst, "sub"), 0);
	free(cause);
	free(upd);
	free(dst);
	free(src);
	unit_rmtree(dir);
	free(dir);
}

void
test_copy_register(void)
{
	static const struct unit_test tests[] = {
		{ "tree", test_tree },
		{ "start_errors", test_start_errors },
		{ "chunked_and_sparse", test_chunked_and_sparse },
		{ "concurrent_copies", test_concurrent_copies },
		{ "cancel", test_cancel },
		{ "stress", test_stress },
		{ "expand_home", test_expand_home },
		{ "link_files", test_link_files },
		{ NULL, NULL }
	};

	unit_add_suite("copy", tests);
}
