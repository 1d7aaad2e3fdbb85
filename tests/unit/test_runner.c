/*
 * test_runner.c: one job run by the runner, in this process and in a child
 * process: the data, progress with totals from the scan (of a tree deeper
 * than PATH_MAX too), filter files read at run time, cancel (SIGTERM to the
 * child), and dropping to another user (as root), after which the user's
 * permissions rule.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "opts/cliopts.h"
#include "workers/runner.h"
#include "unit.h"

#include "base/banned.h"

struct seen {
	pthread_mutex_t		 lock;
	struct rcp_job_progress	 last;
	int			 reports;
	int			 errors;
};

static void
on_progress(void *arg, const struct rcp_job_progress *p)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->last = *p;
	s->reports++;
	pthread_mutex_unlock(&s->lock);
}

static void
on_error(void *arg, const char *msg)
{
	struct seen *s = arg;

	pthread_mutex_lock(&s->lock);
	s->errors++;
	pthread_mutex_unlock(&s->lock);
}

static char *
tree(const char *dir, int n)
{
	char *src = rcp_path_join(dir, "src"), *p;
	int i;

	mkdir(src, 0755);
	for (i = 0; i < n; i++) {
		p = rcp_xasprintf("%s/f%d%s", src, i, i % 10 == 0 ? ".tmp" : "");
		unit_write_file(p, "0123456789", 10);
		free(p);
	}
	return src;
}

/* Runs src -> dir/name with options as uid; returns the result. */
static int
run_as(uid_t uid, const char *dir, const char *src, const char *name,
    bool separate, const char *const *opts, struct seen *s, char **cause)
{
	struct rcp_runner_hooks hooks = { on_progress, on_error, s, NULL, NULL };
	struct rcp_runner_spec spec;
	struct rcp_cliopts co;
	struct rcp_runner *r;
	char *argv[8], *dst = rcp_path_join(dir, name);
	int argc = 0, first, res, exe = rcp_runner_exe_open(cause);

	argv[argc++] = rcp_xstrdup("rcp");
	while (opts != NULL && *opts != NULL && argc < 7)
		argv[argc++] = rcp_xstrdup(*opts++);
	rcp_cliopts_init(&co);
	CU_ASSERT_EQUAL_FATAL(rcp_cliopts_parse(&co, argc, argv,
	    RCP_CLIOPTS_ONLY_OPTIONS | RCP_CLIOPTS_DEFER_FILES, dir, &first,
	    cause), 0);
	memset(&spec, 0, sizeof(spec));
	spec.srcs = &src;
	spec.nsrcs = 1;
	spec.dst = dst;
	spec.opts = &co;
	spec.umask = co.o.umask;
	spec.separate = separate;
	spec.exe_fd = exe;
	spec.options = argv + 1;
	spec.noptions = (size_t)argc - 1;
	spec.cwd = dir;
	spec.uid = uid;
	spec.gid = uid == geteuid() ? getegid() : (gid_t)uid;
	r = rcp_runner_new(&spec, &hooks);
	res = rcp_runner_run(r, cause);
	rcp_runner_free(r);
	close(exe);
	rcp_cliopts_release(&co);
	while (argc > 0)
		free(argv[--argc]);
	free(dst);
	return res;
}

static int
run(const char *dir, const char *src, const char *name, bool separate,
    const char *const *opts, struct seen *s, char **cause)
{
	return run_as(geteuid(), dir, src, name, separate, opts, s, cause);
}

static void
check_run(bool separate)
{
	static const char *const filter[] = { "--filter-file", "rules", NULL };
	char *dir = unit_tmpdir("runner"), *src, *cause = NULL, *p;
	struct seen s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	src = tree(dir, 50);
	CU_ASSERT_EQUAL(run(dir, src, "a", separate, NULL, &s, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_TRUE(s.reports >= 1);
	CU_ASSERT_EQUAL(s.last.s.files_copied, 50);
	CU_ASSERT_EQUAL(s.last.s.bytes_copied, 500);
	if (s.last.totals) {
		CU_ASSERT_EQUAL(s.last.files_total, 50);
		CU_ASSERT_EQUAL(s.last.bytes_total, 500);
	}
	p = rcp_path_join(dir, "a/f49");
	CU_ASSERT_EQUAL(access(p, R_OK), 0);
	free(p);

	/* The filter file, named relative to the job's cwd, read at run time. */
	p = rcp_path_join(dir, "rules");
	unit_write_file(p, "- *.tmp\n", 8);
	free(p);
	CU_ASSERT_EQUAL(run(dir, src, "b", separate, filter, &s, &cause), 0);
	CU_ASSERT_EQUAL(s.last.s.files_copied, 45);
	p = rcp_path_join(dir, "b/f0.tmp");
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
	free(p);

	/* Copying again onto it: refused up front with the cause. */
	CU_ASSERT_EQUAL(run(dir, src, "a", separate, NULL, &s, &cause),
	    RCP_ERR_EXISTS);
	CU_ASSERT_PTR_NOT_NULL(cause != NULL ? strstr(cause, "already exists") :
	    NULL);
	free(cause);

	free(src);
	unit_rmtree(dir);
	free(dir);
	pthread_mutex_destroy(&s.lock);
}

static void
test_in_process(void)
{
	check_run(false);
}

static void
test_separate(void)
{
	check_run(true);
}

/* Writes n bytes to a new file name below dir. */
static void
write_at(int dir, const char *name, size_t n)
{
	int fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL, 0644);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, "0123456789", n), (ssize_t)n);
	close(fd);
}

/*
 * A chain of 60 directories with 100-byte names (over 6000 bytes deep)
 * under dir/deep, a 10-byte file on each level; at the bottom a 5-byte
 * skip.tmp, a directory d.tmp with a 7-byte file, and a symlink.  Returns
 * the path of the tree (caller frees).
 */
static char *
deep_tree(const char *dir)
{
	char *src = rcp_path_join(dir, "deep"), name[101];
	int fd, next, i;

	memset(name, 'n', 100);
	name[100] = '\0';
	CU_ASSERT_FATAL(mkdir(src, 0755) == 0);
	CU_ASSERT_FATAL((fd = open(src, O_RDONLY | O_DIRECTORY)) >= 0);
	for (i = 0; i < 60; i++) {
		CU_ASSERT_FATAL(mkdirat(fd, name, 0755) == 0);
		next = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		CU_ASSERT_FATAL((fd = next) >= 0);
		write_at(fd, "f", 10);
	}
	write_at(fd, "skip.tmp", 5);
	CU_ASSERT_FATAL(mkdirat(fd, "d.tmp", 0755) == 0);
	CU_ASSERT_FATAL((next = openat(fd, "d.tmp", O_RDONLY |
	    O_DIRECTORY)) >= 0);
	write_at(next, "g", 7);
	close(next);
	CU_ASSERT_EQUAL(symlinkat("f", fd, "link"), 0);
	close(fd);
	return src;
}

/* The totals of a tree deeper than PATH_MAX, with and without a filter. */
static void
test_deep_totals(void)
{
	static const char *const filter[] = { "--filter-file", "rules", NULL };
	char *dir = unit_tmpdir("runner"), *src, *cause = NULL, *p;
	struct seen s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	src = deep_tree(dir);
	CU_ASSERT_EQUAL(run(dir, src, "a", false, NULL, &s, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL(s.last.s.files_copied, 62);
	CU_ASSERT_TRUE(s.last.totals);
	CU_ASSERT_EQUAL(s.last.files_total, 62);
	CU_ASSERT_EQUAL(s.last.bytes_total, 612);

	/* Below the filter: what it excludes, deep down, is not counted. */
	p = rcp_path_join(dir, "rules");
	unit_write_file(p, "- *.tmp\n", 8);
	free(p);
	memset(&s.last, 0, sizeof(s.last));
	CU_ASSERT_EQUAL(run(dir, src, "b", false, filter, &s, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL(s.last.s.files_copied, 60);
	CU_ASSERT_TRUE(s.last.totals);
	CU_ASSERT_EQUAL(s.last.files_total, 60);
	CU_ASSERT_EQUAL(s.last.bytes_total, 600);

	free(src);
	unit_rmtree(dir);
	free(dir);
	pthread_mutex_destroy(&s.lock);
}

static void *
cancel_later(void *arg)
{
	usleep(500000);
	rcp_runner_cancel(arg);
	return NULL;
}

static void
test_cancel(void)
{
	static const char *const slow[] = { "--ops-throttle", "2", NULL };
	struct rcp_runner_hooks hooks;
	struct rcp_runner_spec spec;
	struct rcp_cliopts co;
	struct rcp_runner *r;
	struct seen s;
	char *dir = unit_tmpdir("runner"), *src, *dst, *cause = NULL;
	char *argv[4];
	int first, i, res;
	uint64_t t0;
	pthread_t t;

	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	src = tree(dir, 200);
	dst = rcp_path_join(dir, "dst");
	for (i = 0; i < 3; i++)
		argv[i] = rcp_xstrdup(i == 0 ? "rcp" : slow[i - 1]);
	argv[3] = NULL;
	rcp_cliopts_init(&co);
	rcp_cliopts_parse(&co, 3, argv, RCP_CLIOPTS_ONLY_OPTIONS, NULL,
	    &first, &cause);
	memset(&spec, 0, sizeof(spec));
	spec.srcs = (const char *const *)&src;
	spec.nsrcs = 1;
	spec.dst = dst;
	spec.opts = &co;
	spec.uid = geteuid();
	spec.gid = getegid();
	spec.umask = co.o.umask;
	spec.separate = true;
	spec.exe_fd = rcp_runner_exe_open(&cause);
	spec.options = argv + 1;
	spec.noptions = 2;
	hooks = (struct rcp_runner_hooks){ on_progress, on_error, &s, NULL,
	    NULL };
	r = rcp_runner_new(&spec, &hooks);

	/* Another thread cancels after half a second: SIGTERM to the child. */
	t0 = rcp_now_ns();
	pthread_create(&t, NULL, cancel_later, r);
	res = rcp_runner_run(r, &cause);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(res, RCP_ERR_CANCELED);
	/*
	 * 200 entries at 2 a second would take 100 s: a hang guard of 60 s
	 * (normal: about 0.5 s) still tells a cancel from a finished run.
	 */
	CU_ASSERT_TRUE(rcp_now_ns() - t0 < 60000000000ull);
	CU_ASSERT_TRUE(s.last.s.files_copied < 200);
	rcp_runner_free(r);
	close(spec.exe_fd);
	rcp_cliopts_release(&co);
	for (i = 0; i < 3; i++)
		free(argv[i]);
	free(src);
	free(dst);
	unit_rmtree(dir);
	free(dir);
	pthread_mutex_destroy(&s.lock);
}

/* A job of another user (nobody): its files, and its permissions. */
static void
test_other_user(void)
{
	char *dir = unit_tmpdir("runner"), *src, *out, *p, *cause = NULL;
	struct stat st;
	struct seen s;

	if (geteuid() != 0) {
		unit_rmtree(dir);
		free(dir);
		return;		/* only root can run jobs as others */
	}
	memset(&s, 0, sizeof(s));
	pthread_mutex_init(&s.lock, NULL);
	chmod(dir, 0755);
	src = tree(dir, 10);
	p = rcp_path_join(src, "secret");
	unit_write_file(p, "x", 1);
	chmod(p, 0600);
	free(p);
	out = rcp_path_join(dir, "out");
	mkdir(out, 0777);
	chmod(out, 0777);

	CU_ASSERT_EQUAL(run_as(65534, dir, src, "out/copy", true, NULL, &s,
	    &cause), RCP_ERR_PARTIAL);
	CU_ASSERT_EQUAL(s.errors, 1);	/* the secret */
	CU_ASSERT_EQUAL(s.last.s.files_copied, 10);
	p = rcp_path_join(out, "copy/f1");
	CU_ASSERT_EQUAL(stat(p, &st), 0);
	CU_ASSERT_EQUAL(st.st_uid, 65534);
	free(p);
	p = rcp_path_join(out, "copy/secret");
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
	free(p);
	/* Nor may it write where nobody may not. */
	CU_ASSERT_EQUAL(run_as(65534, dir, src, "copy2", true, NULL, &s,
	    &cause), RCP_ERR_PARTIAL);
	p = rcp_path_join(dir, "copy2");
	CU_ASSERT_NOT_EQUAL(access(p, F_OK), 0);
	free(p);

	free(out);
	free(src);
	unit_rmtree(dir);
	free(dir);
	pthread_mutex_destroy(&s.lock);
}

void
test_runner_register(void)
{
	static const struct unit_test tests[] = {
		{ "in_process", test_in_process },
		{ "separate", test_separate },
		{ "deep_totals", test_deep_totals },
		{ "cancel", test_cancel },
		{ "other_user", test_other_user },
		{ NULL, NULL }
	};

	unit_add_suite("runner", tests);
}
