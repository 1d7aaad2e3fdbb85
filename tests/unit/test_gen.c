/* test_gen.c: the tree builder behind filegen (gen.c). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/gen.h"
#include "unit.h"

#include "base/banned.h"

/* Fills spec from the three strings; asserts that they parse. */
static void
spec_from(struct rcp_gen_spec *spec, const char *widths, const char *nfiles,
    const char *size, uint64_t seed)
{
	char *cause = NULL;

	rcp_gen_spec_init(spec);
	spec->seed = seed;
	CU_ASSERT_EQUAL_FATAL(rcp_gen_spec_parse(spec, widths, nfiles, size,
	    &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
}

/* Builds the tree and asserts success. */
static void
run_ok(const char *root, const struct rcp_gen_spec *spec,
    struct rcp_gen_stats *st)
{
	char *cause = NULL;
	int r = rcp_gen_run(root, spec, NULL, st, &cause);

	if (r != 0)
		fprintf(stderr, "rcp_gen_run: %s\n", cause);
	CU_ASSERT_EQUAL_FATAL(r, 0);
	CU_ASSERT_PTR_NULL(cause);
}

/* Returns the size of path, or -1 if it is missing. */
static long long
file_size(const char *dir, const char *rel)
{
	char *path = rcp_xasprintf("%s/%s", dir, rel);
	struct stat sb;
	long long n = -1;

	if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		n = (long long)sb.st_size;
	free(path);
	return n;
}

static int
is_dir(const char *dir, const char *rel)
{
	char *path = rcp_xasprintf("%s/%s", dir, rel);
	struct stat sb;
	int r = lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);

	free(path);
	return r;
}

/* Returns the number of entries in dir, not counting "." and "..". */
static int
count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Returns the contents of dir/rel (caller frees), its length in *len. */
static char *
slurp(const char *dir, const char *rel, size_t *len)
{
	char *path = rcp_xasprintf("%s/%s", dir, rel), *buf = NULL;
	struct stat sb;
	ssize_t k;
	size_t got = 0;
	int fd = open(path, O_RDONLY);

	free(path);
	if (fd < 0 || fstat(fd, &sb) != 0)
		goto out;
	buf = rcp_xmalloc((size_t)sb.st_size + 1);
	while (got < (size_t)sb.st_size &&
	    (k = read(fd, buf + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)k;
	*len = got;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Returns 1 if dir1/rel and dir2/rel have the same bytes. */
static int
same_file(const char *dir1, const char *dir2, const char *rel)
{
	size_t n1 = 0, n2 = 0;
	char *a = slurp(dir1, rel, &n1), *b = slurp(dir2, rel, &n2);
	int r = a != NULL && b != NULL && n1 == n2 && memcmp(a, b, n1) == 0;

	free(a);
	free(b);
	return r;
}

/* Returns 1 if the n bytes at offsets o1 and o2 of dir/rel are the same. */
static int
same_range(const char *dir, const char *rel, off_t o1, off_t o2, size_t n)
{
	char *path = rcp_xasprintf("%s/%s", dir, rel);
	char *a = rcp_xmalloc(n), *b = rcp_xmalloc(n);
	int fd = open(path, O_RDONLY), r = 1;

	if (fd >= 0 && pread(fd, a, n, o1) == (ssize_t)n &&
	    pread(fd, b, n, o2) == (ssize_t)n)
		r = memcmp(a, b, n) == 0;
	if (fd >= 0)
		close(fd);
	free(path);
	free(a);
	free(b);
	return r;
}

static void
test_shape(void)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *root = unit_tmpdir("gen"), name[64];
	int a, b, f;

	spec_from(&spec, "3,2", "10", "1001", 0);
	CU_ASSERT_EQUAL(spec.nlevels, 2);
	CU_ASSERT_EQUAL(spec.width[0], 3);
	CU_ASSERT_EQUAL(spec.width[1], 2);
	run_ok(root, &spec, &st);
	CU_ASSERT_EQUAL(st.files, 60);
	CU_ASSERT_EQUAL(st.dirs, 9);
	CU_ASSERT_EQUAL(st.bytes, 60 * 1001);
	CU_ASSERT_EQUAL(count_entries(root), 3);
	for (a = 0; a < 3; a++) {
		snprintf(name, sizeof name, "%s/d%d", root, a);
		CU_ASSERT_EQUAL(count_entries(name), 2);
		for (b = 0; b < 2; b++) {
			snprintf(name, sizeof name, "%s/d%d/d%d", root, a, b);
			CU_ASSERT_EQUAL(count_entries(name), 10);
			for (f = 0; f < 10; f++) {
				snprintf(name, sizeof name, "d%d/d%d/f%d", a,
				    b, f);
				CU_ASSERT_EQUAL(file_size(root, name), 1001);
			}
		}
	}
	unit_rmtree(root);
	free(root);
}

static void
test_flat_and_empty(void)
{
	static const char *flat[] = { "", "0" };
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *root;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(flat); i++) {
		root = unit_tmpdir("gen");
		spec_from(&spec, flat[i], "5", "4K", 0);
		CU_ASSERT_EQUAL(spec.nlevels, 0);
		run_ok(root, &spec, &st);
		CU_ASSERT_EQUAL(st.files, 5);
		CU_ASSERT_EQUAL(st.dirs, 0);
		CU_ASSERT_EQUAL(st.bytes, 5 * 4096);
		CU_ASSERT_EQUAL(count_entries(root), 5);
		CU_ASSERT_EQUAL(file_size(root, "f4"), 4096);
		unit_rmtree(root);
		free(root);
	}

	/* No files: only the directories. */
	root = unit_tmpdir("gen");
	spec_from(&spec, "2,3", "0", "1M", 0);
	run_ok(root, &spec, &st);
	CU_ASSERT_EQUAL(st.files, 0);
	CU_ASSERT_EQUAL(st.dirs, 8);
	CU_ASSERT(is_dir(root, "d1/d2"));
	CU_ASSERT_EQUAL(count_entries(root), 2);
	unit_rmtree(root);
	free(root);

	/* A missing root is created; a trailing slash is fine. */
	root = unit_tmpdir("gen");
	{
		char *sub = rcp_xasprintf("%s/new/", root);

		spec_from(&spec, "2", "1", "0", 0);
		run_ok(sub, &spec, &st);
		CU_ASSERT_EQUAL(file_size(root, "new/d1/f0"), 0);
		free(sub);
	}
	unit_rmtree(root);
	free(root);
}

static void
test_fixed_sizes(void)
{
	/* Around the 8-byte word, the 4K buffer and the 64K PRNG block. */
	static const char *sizes[] = { "0", "1", "7", "8", "9", "4095",
	    "4096", "4097", "65535", "65536", "65537", "300001" };
	static const long long want[] = { 0, 1, 7, 8, 9, 4095, 4096, 4097,
	    65535, 65536, 65537, 300001 };
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *root;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(sizes); i++) {
		root = unit_tmpdir("gen");
		spec_from(&spec, "2", "3", sizes[i], 0);
		spec.bufsize = 4096;
		run_ok(root, &spec, &st);
		CU_ASSERT_EQUAL(st.bytes, 6 * (uint64_t)want[i]);
		CU_ASSERT_EQUAL(file_size(root, "d0/f0"), want[i]);
		CU_ASSERT_EQUAL(file_size(root, "d1/f2"), want[i]);
		unit_rmtree(root);
		free(root);
	}
}

static void
test_range_sizes(void)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *root = unit_tmpdir("gen"), name[32];
	uint64_t i, total = 0, below = 0, size;
	long long n, first = -1;
	unsigned seen = 0;
	int varied = 0;

	spec_from(&spec, "4", "50", "1K-16K", 7);
	CU_ASSERT_EQUAL(spec.size_min, 1024);
	CU_ASSERT_EQUAL(spec.size_max, 16384);
	run_ok(root, &spec, &st);
	CU_ASSERT_EQUAL(st.files, 200);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof name, "d%d/f%d", (int)(i / 50),
		    (int)(i % 50));
		n = file_size(root, name);
		CU_ASSERT(n >= 1024 && n <= 16384);
		CU_ASSERT_EQUAL(n, (long long)rcp_gen_file_size(&spec, i));
		if (first == -1)
			first = n;
		varied |= n != first;
		total += (uint64_t)n;
	}
	CU_ASSERT(varied);
	CU_ASSERT_EQUAL(st.bytes, total);
	unit_rmtree(root);
	free(root);

	/* Log-uniform: about half the sizes below the geometric mean. */
	spec_from(&spec, "", "1", "1K-1M", 3);
	for (i = 0; i < 10000; i++) {
		size = rcp_gen_file_size(&spec, i);
		CU_ASSERT(size >= 1024 && size <= 1048576);
		below += size < 32768;
	}
	CU_ASSERT(below > 4500 && below < 5500);

	/* A range from 0 reaches both of its bounds; a one-size range. */
	spec_from(&spec, "", "1", "0-3", 1);
	for (i = 0; i < 1000; i++) {
		size = rcp_gen_file_size(&spec, i);
		CU_ASSERT(size <= 3);
		seen |= 1u << size;
	}
	CU_ASSERT_EQUAL(seen, 0xf);
	spec_from(&spec, "", "1", "5-5", 1);
	CU_ASSERT_EQUAL(rcp_gen_file_size(&spec, 17), 5);
}

static void
test_determinism(void)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *a = unit_tmpdir("gen"), *b = unit_tmpdir("gen");
	char *c = unit_tmpdir("gen");
	size_t n1 = 0, n2 = 0;
	char *x, *y;

	/* Same seed, other threads and buffer size: the same tree. */
	spec_from(&spec, "2,2", "5", "1-200K", 42);
	spec.threads = 1;
	spec.bufsize = 4096;
	run_ok(a, &spec, &st);
	spec.threads = 3;
	spec.bufsize = 1 << 20;
	run_ok(b, &spec, &st);
	CU_ASSERT(same_file(a, b, "d0/d0/f0"));
	CU_ASSERT(same_file(a, b, "d1/d1/f4"));
	CU_ASSERT(same_file(a, b, "d1/d0/f2"));

	/* Another seed: other bytes. */
	spec.seed = 43;
	run_ok(c, &spec, &st);
	CU_ASSERT(!same_file(a, c, "d0/d0/f0"));
	CU_ASSERT(!same_file(a, c, "d1/d1/f4"));

	/* Files of one tree differ from each other. */
	unit_rmtree(a);
	unit_rmtree(c);
	spec_from(&spec, "", "2", "64K", 42);
	run_ok(a, &spec, &st);
	x = slurp(a, "f0", &n1);
	y = slurp(a, "f1", &n2);
	CU_ASSERT_FATAL(x != NULL && y != NULL);
	CU_ASSERT_EQUAL(n1, n2);
	CU_ASSERT(memcmp(x, y, n1) != 0);
	free(x);
	free(y);

	unit_rmtree(a);
	unit_rmtree(b);
	free(a);
	free(b);
	free(c);
}

/* A file over the 64 MiB piece size is written by several threads. */
static void
test_big_file(void)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *a = unit_tmpdir("gen"), *b = unit_tmpdir("gen"), *path;

	spec_from(&spec, "", "1", "65M", 9);
	spec.threads = 4;
	run_ok(a, &spec, &st);
	CU_ASSERT_EQUAL(st.files, 1);
	CU_ASSERT_EQUAL(st.bytes, 65 << 20);
	CU_ASSERT_EQUAL(file_size(a, "f0"), 65 << 20);
	CU_ASSERT(!same_range(a, "f0", 0, 64 << 10, 4096));
	CU_ASSERT(!same_range(a, "f0", 0, 64 << 20, 4096));
	CU_ASSERT(!same_range(a, "f0", 64 << 10, (64 << 20) + (64 << 10),
	    4096));
	spec.threads = 1;
	spec.bufsize = 12 << 10;
	run_ok(b, &spec, &st);
	CU_ASSERT(same_file(a, b, "f0"));

	/* With force, a longer old file is cut to size. */
	path = rcp_xasprintf("%s/f0", b);
	CU_ASSERT_EQUAL(truncate(path, 70 << 20), 0);
	spec.force = true;
	spec.threads = 2;
	run_ok(b, &spec, &st);
	CU_ASSERT_EQUAL(file_size(b, "f0"), 65 << 20);
	CU_ASSERT(same_file(a, b, "f0"));
	free(path);
	unit_rmtree(a);
	unit_rmtree(b);
	free(a);
	free(b);
}

static void
test_refusals(void)
{
	struct rcp_gen_spec spec;
	struct rcp_gen_stats st;
	char *root = unit_tmpdir("gen"), *path, *cause = NULL;
	static const char junk[100000];

	/* A non-empty root is refused, but not with force. */
	path = rcp_xasprintf("%s/f0", root);
	unit_write_file(path, junk, sizeof junk);
	spec_from(&spec, "", "2", "1000", 0);
	CU_ASSERT_EQUAL(rcp_gen_run(root, &spec, NULL, &st, &cause),
	    RCP_ERR_EXISTS);
	CU_ASSERT_FATAL(cause != NULL);
	CU_ASSERT(strstr(cause, "not empty") != NULL);
	CU_ASSERT(strstr(cause, root) != NULL);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(file_size(root, "f1"), -1);
	spec.force = true;
	run_ok(root, &spec, &st);
	CU_ASSERT_EQUAL(file_size(root, "f0"), 1000);
	CU_ASSERT_EQUAL(file_size(root, "f1"), 1000);

	/* A root that is a file, or whose parent is missing. */
	CU_ASSERT_EQUAL(rcp_gen_run(path, &spec, NULL, &st, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT(cause != NULL && strstr(cause, "not a directory") != NULL);
	free(cause);
	cause = NULL;
	free(path);
	path = rcp_xasprintf("%s/no/such", root);
	CU_ASSERT_EQUAL(rcp_gen_run(path, &spec, NULL, &st, &cause),
	    RCP_ERR_IO);
	CU_ASSERT(cause != NULL && strstr(cause, "cannot create") != NULL);
	free(cause);
	cause = NULL;

	/* Out-of-range settings of a spec built by hand. */
	spec.bufsize = 100;
	CU_ASSERT_EQUAL(rcp_gen_run(root, &spec, NULL, &st, &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(cause);
	free(cause);

	free(path);
	unit_rmtree(root);
	free(root);
}

static void
test_bad_specs(void)
{
	static const struct {
		const char	*widths;
		const char	*nfiles;
		const char	*size;
		const char	*bad;	/* what the cause must quote */
	} bad[] = {
		{ "x", "1", "1K", "'x'" },
		{ "3,", "1", "1K", "'3,'" },
		{ ",3", "1", "1K", "',3'" },
		{ "3,,2", "1", "1K", "'3,,2'" },
		{ "3,0", "1", "1K", "'3,0'" },
		{ "-1", "1", "1K", "'-1'" },
		{ "3 2", "1", "1K", "'3 2'" },
		{ "1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1", "1", "1K", "levels" },
		{ "4096,4096,2", "1", "1K", "too many leaf" },
		{ "2", "x", "1K", "'x'" },
		{ "2", "-1", "1K", "'-1'" },
		{ "2", "", "1K", "''" },
		{ "65536", "65537", "1K", "too many files" },
		{ "2", "1", "", "''" },
		{ "2", "1", "1Q", "'1Q'" },
		{ "2", "1", "-1K", "'-1K'" },
		{ "2", "1", "1K-", "'1K-'" },
		{ "2", "1", "1K-2K-3K", "'1K-2K-3K'" },
		{ "2", "1", "16M-1K", "minimum above maximum" },
		{ "2", "1", "2P", "too big" },
	};
	struct rcp_gen_spec spec, before;
	char *cause;
	size_t i;

	for (i = 0; i < RCP_ARRAY_SIZE(bad); i++) {
		rcp_gen_spec_init(&spec);
		spec.seed = 5;
		memcpy(&before, &spec, sizeof spec);
		cause = NULL;
		CU_ASSERT_EQUAL(rcp_gen_spec_parse(&spec, bad[i].widths,
		    bad[i].nfiles, bad[i].size, &cause), RCP_ERR_INVAL);
		CU_ASSERT_FATAL(cause != NULL);
		if (strstr(cause, bad[i].bad) == NULL)
			fprintf(stderr, "case %zu: '%s' lacks %s\n", i, cause,
			    bad[i].bad);
		CU_ASSERT(strstr(cause, bad[i].bad) != NULL);
		CU_ASSERT(memcmp(&spec, &before, sizeof spec) == 0);
		free(cause);
	}
}

void
test_gen_register(void)
{
	static const struct unit_test tests[] = {
		{ "shape", test_shape },
		{ "flat and empty", test_flat_and_empty },
		{ "fixed sizes", test_fixed_sizes },
		{ "range sizes", test_range_sizes },
		{ "determinism", test_determinism },
		{ "big file", test_big_file },
		{ "refusals", test_refusals },
		{ "bad specs", test_bad_specs },
		{ NULL, NULL }
	};

	unit_add_suite("gen", tests);
}
