/* test_walk.c: the tree walk of rrm and rchm, and rrm's engine on it: counts,
 * filters, a tree deeper than PATH_MAX, cancel, and a directory swapped for
 * a symlink between its listing and its opening, which must not be followed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "engine/rm.h"
#include "engine/walk.h"
#include "fs/filter.h"
#include "unit.h"

#include "base/banned.h"

static void
touch_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
}

/* root/{a/{f1,f2,b/{g}},c/{h},top,lnk -> /} */
static char *
make_tree(const char *dir)
{
	char *root = rcp_path_join(dir, "root");
	int fd;

	CU_ASSERT_FATAL(mkdir(root, 0755) == 0);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	CU_ASSERT_FATAL(fd >= 0);
	mkdirat(fd, "a", 0755);
	mkdirat(fd, "a/b", 0755);
	mkdirat(fd, "c", 0755);
	touch_at(fd, "a/f1");
	touch_at(fd, "a/f2");
	touch_at(fd, "a/b/g");
	touch_at(fd, "c/h");
	touch_at(fd, "top");
	CU_ASSERT(symlinkat("/", fd, "lnk") == 0);
	close(fd);
	return root;
}

static void
run_rm(const char *root, const struct rcp_filter *f, int workers,
    struct rcp_walk_stats *s, int want)
{
	struct rcp_rm_opts o;
	struct rcp_rm *rm;
	const char *roots[1] = { root };

	memset(&o, 0, sizeof(o));
	rcp_walk_opts_init(&o.walk);
	o.walk.max_workers = workers;
	o.walk.filter = f;
	rm = rcp_rm_new(&o, NULL);
	CU_ASSERT_EQUAL(rcp_rm_run(rm, roots, 1), want);
	rcp_rm_stats(rm, s);
	rcp_rm_free(rm);
}

static void
test_rm_counts(void)
{
	char *dir = unit_tmpdir("walk"), *root = make_tree(dir);
	struct rcp_walk_stats s;
	struct stat st;

	run_rm(root, NULL, 3, &s, 0);
	CU_ASSERT_EQUAL(s.files, 6);	/* 5 files and the symlink */
	CU_ASSERT_EQUAL(s.dirs, 4);
	CU_ASSERT_EQUAL(s.errors, 0);
	CU_ASSERT_EQUAL(s.entries, 10);
	CU_ASSERT(lstat(root, &st) != 0 && errno == ENOENT);
	/* A missing root is an error, not a crash. */
	run_rm(root, NULL, 1, &s, RCP_ERR_PARTIAL);
	CU_ASSERT_EQUAL(s.errors, 1);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

static void
test_rm_filter(void)
{
	char *dir = unit_tmpdir("walkf"), *root = make_tree(dir), *p, *cause;
	struct rcp_filter *f = rcp_filter_new();
	struct rcp_walk_stats s;
	struct stat st;

	CU_ASSERT_EQUAL(rcp_filter_add(f, RCP_FILTER_EXCLUDE, "g", &cause), 0);
	run_rm(root, f, 2, &s, 0);
	p = rcp_path_join(root, "a/b/g");
	CU_ASSERT(stat(p, &st) == 0);	/* excluded: kept, and its parents */
	free(p);
	p = rcp_path_join(root, "c");
	CU_ASSERT(lstat(p, &st) != 0);	/* the rest went */
	free(p);
	CU_ASSERT_EQUAL(s.skipped, 1);
	CU_ASSERT_EQUAL(s.errors, 0);
	rcp_filter_free(f);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

static void
test_rm_deep(void)
{
	char *dir = unit_tmpdir("walkd"), *root = rcp_path_join(dir, "deep");
	char name[201];
	struct rcp_walk_stats s;
	struct stat st;
	int fd, nfd, i;

	memset(name, 'd', 200);
	name[200] = '\0';
	CU_ASSERT_FATAL(mkdir(root, 0755) == 0);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	for (i = 0; i < 40; i++) {	/* 8,000 bytes: past PATH_MAX */
		CU_ASSERT_FATAL(mkdirat(fd, name, 0755) == 0);
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = nfd;
	}
	touch_at(fd, "bottom");
	close(fd);
	run_rm(root, NULL, 2, &s, 0);
	CU_ASSERT_EQUAL(s.dirs, 41);
	CU_ASSERT_EQUAL(s.files, 1);
	CU_ASSERT(lstat(root, &st) != 0);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

/* Ops that remove files, and in a/f1 swap a/b for a symlink to canary:
 * with one worker, a's listing queued b before (or while) f1 runs, and b's
 * task opens it afterwards. */
struct swap {
	const char	*canary;
	int		 swapped;
};

static int
swap_file(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	struct swap *sw = ctx;

	if (strcmp(e->name, "f1") == 0 && sw->swapped == 0 &&
	    renameat(e->dirfd, "b", e->dirfd, "b.moved") == 0 &&
	    symlinkat(sw->canary, e->dirfd, "b") == 0)
		sw->swapped = 1;
	if (unlinkat(e->dirfd, e->name, 0) != 0)
		return rcp_walk_fail(w, e, "remove", errno);
	return RCP_WALK_DONE;
}

static int
swap_dir_post(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	(void)ctx;
	(void)w;
	return unlinkat(e->dirfd, e->name, AT_REMOVEDIR) == 0 ?
	    RCP_WALK_DONE : RCP_WALK_KEEP;
}

static void
test_swap_not_followed(void)
{
	char *dir = unit_tmpdir("walks"), *root = make_tree(dir), *canary, *p;
	const struct rcp_walk_ops ops = { swap_file, NULL, swap_dir_post };
	struct rcp_walk_opts o;
	struct rcp_walk *w;
	struct swap sw;
	struct stat st;
	const char *roots[1] = { root };
	int fd;

	canary = rcp_path_join(dir, "canary");
	CU_ASSERT_FATAL(mkdir(canary, 0755) == 0);
	fd = open(canary, O_RDONLY | O_DIRECTORY);
	touch_at(fd, "keep");
	close(fd);
	sw.canary = canary;
	sw.swapped = 0;
	rcp_walk_opts_init(&o);
	o.max_workers = 1;
	w = rcp_walk_new(&o, NULL, &ops, &sw);
	CU_ASSERT_EQUAL(rcp_walk_run(w, roots, 1), 0);
	rcp_walk_free(w);
	CU_ASSERT_EQUAL(sw.swapped, 1);
	p = rcp_path_join(canary, "keep");
	CU_ASSERT(stat(p, &st) == 0);	/* never reached through the link */
	free(p);
	p = rcp_path_join(root, "a/b");
	CU_ASSERT(lstat(p, &st) != 0);	/* the link itself was removed */
	free(p);
	free(canary);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

static void
test_cancel(void)
{
	char *dir = unit_tmpdir("walkc"), *root = make_tree(dir);
	struct rcp_rm_opts o;
	struct rcp_rm *rm;
	const char *roots[1] = { root };
	struct stat st;

	memset(&o, 0, sizeof(o));
	rm = rcp_rm_new(&o, NULL);
	rcp_rm_cancel(rm);
	CU_ASSERT_EQUAL(rcp_rm_run(rm, roots, 1), RCP_ERR_CANCELED);
	rcp_rm_free(rm);
	rcp_rm_free(NULL);
	CU_ASSERT(stat(root, &st) == 0);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

/* Age filters: an entry whose statx has no birth time is skipped with a
 * warning naming it when --created-before needs one (tmpfs here records
 * birth times, so the ops hide it); mtime cutoffs keep new entries. */
struct agectx {
	struct rcp_walk_age	 age;
	int			 results[4];	/* by RCP_WALK_* + 1 */
	int			 warnings;
};

static void
age_log(void *arg, int level, const char *msg)
{
	struct agectx *a = arg;

	if (level == RCP_LOG_WARN && strstr(msg, "records no birth time") &&
	    strstr(msg, "'"))
		__atomic_add_fetch(&a->warnings, 1, __ATOMIC_RELAXED);
}

static int
age_file(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	struct agectx *a = ctx;
	struct rcp_walk_ent ne = *e;
	struct statx x = *e->stx;
	int r;

	x.stx_mask &= ~(unsigned)STATX_BTIME;
	ne.stx = &x;
	r = rcp_walk_age_check(w, &a->age, &ne);
	__atomic_add_fetch(&a->results[r + 1], 1, __ATOMIC_RELAXED);
	return r;
}

static void
test_age_no_btime(void)
{
	char *dir = unit_tmpdir("walka"), *root = make_tree(dir);
	const struct rcp_walk_ops ops = { age_file, NULL, NULL };
	struct rcp_walk_opts o;
	struct rcp_walk_stats s;
	struct rcp_walk *w;
	struct agectx a;
	struct rcp_log log;
	const char *roots[1] = { root };

	memset(&a, 0, sizeof(a));
	log.fn = age_log;
	log.arg = &a;
	log.level = RCP_LOG_DEBUG;
	rcp_walk_age_init(&a.age, 0, 1000000000);
	rcp_walk_opts_init(&o);
	o.statx_mask = RCP_WALK_AGE_MASK;
	w = rcp_walk_new(&o, &log, &ops, &a);
	CU_ASSERT_EQUAL(rcp_walk_run(w, roots, 1), 0);
	rcp_walk_stats(w, &s);
	rcp_walk_free(w);
	CU_ASSERT_EQUAL(a.results[RCP_WALK_SKIP + 1], 6);
	CU_ASSERT_EQUAL(a.warnings, 6);
	CU_ASSERT_EQUAL(s.skipped, 6);
	/* By mtime, entries made just now are too new for a day. */
	memset(&a, 0, sizeof(a));
	rcp_walk_age_init(&a.age, 86400ull * 1000000000, 0);
	w = rcp_walk_new(&o, &log, &ops, &a);
	CU_ASSERT_EQUAL(rcp_walk_run(w, roots, 1), 0);
	rcp_walk_stats(w, &s);
	rcp_walk_free(w);
	CU_ASSERT_EQUAL(a.results[RCP_WALK_KEEP + 1], 6);
	CU_ASSERT_EQUAL(s.kept, 6);
	free(root);
	unit_rmtree(dir);
	free(dir);
}

void
test_walk_register(void)
{
	static const struct unit_test tests[] = {
		{ "rm_counts", test_rm_counts },
		{ "rm_filter", test_rm_filter },
		{ "rm_deep", test_rm_deep },
		{ "swap_not_followed", test_swap_not_followed },
		{ "cancel", test_cancel },
		{ "age_no_btime", test_age_no_btime },
		{ NULL, NULL }
	};

	unit_add_suite("walk", tests);
}
