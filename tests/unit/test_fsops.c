/*
 * test_fsops.c: the data path (copy_file_range, its read/write fallback
 * across file systems, sparse copies), range hashes and fd-relative tree
 * removal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "fs/fsops.h"
#include "unit.h"

#include "base/banned.h"

#define BIG (3u << 20)

struct io_fixture {
	char			 buf[65536];
	atomic_bool		 no_cfr;
	atomic_bool		 cancel;
	atomic_uint_least64_t	 bytes;
	struct rcp_io		 io;
};

static void
io_init(struct io_fixture *f)
{
	atomic_init(&f->no_cfr, false);
	atomic_init(&f->cancel, false);
	atomic_init(&f->bytes, 0);
	f->io.buf = f->buf;
	f->io.bufsz = sizeof(f->buf);
	f->io.no_cfr = &f->no_cfr;
	f->io.cancel = &f->cancel;
	f->io.bytes = &f->bytes;
}

static int
make_source(const char *path)
{
	char *data = rcp_xmalloc(BIG);
	size_t i;
	int fd;

	for (i = 0; i < BIG; i++)
		data[i] = (char)(i * 7 + (i >> 12));
	unit_write_file(path, data, BIG);
	free(data);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	return fd;
}

static bool
equal_files(int a, int b, off_t n)
{
	char *x = rcp_xmalloc((size_t)n), *y = rcp_xmalloc((size_t)n);
	bool r;

	r = pread(a, x, (size_t)n, 0) == n && pread(b, y, (size_t)n, 0) == n &&
	    memcmp(x, y, (size_t)n) == 0;
	free(x);
	free(y);
	return r;
}

/* Copies with and without copy_file_range; and across file systems. */
static void
test_copy_range(void)
{
	char *dir = unit_tmpdir("fsops"), *sp = rcp_path_join(dir, "src");
	char *dp = rcp_path_join(dir, "dst"), other[] = "/tmp/rcp-unit-xfs-XXXXXX";
	struct io_fixture f;
	const char *what = NULL;
	int in = make_source(sp), out, i;
	int64_t n;

	for (i = 0; i < 3; i++) {
		io_init(&f);
		if (i == 1)
			atomic_store(&f.no_cfr, true);	/* read/write only */
		if (i == 2)
			out = mkstemp(other);	/* tmpfs to /tmp: another fs */
		else
			out = open(dp, O_RDWR | O_CREAT | O_TRUNC, 0644);
		CU_ASSERT_FATAL(out >= 0);
		/* In two halves at their own offsets, as chunks are. */
		n = rcp_fs_copy_range(in, out, BIG / 2, BIG / 2, &f.io, &what);
		CU_ASSERT_EQUAL(n, BIG / 2);
		n = rcp_fs_copy_range(in, out, 0, BIG / 2, &f.io, &what);
		CU_ASSERT_EQUAL(n, BIG / 2);
		CU_ASSERT_EQUAL(atomic_load(&f.bytes), BIG);
		CU_ASSERT_TRUE(equal_files(in, out, BIG));
		/* Asking past the end stops at the end. */
		n = rcp_fs_copy_range(in, out, BIG - 10, 100, &f.io, &what);
		CU_ASSERT_EQUAL(n, 10);
		close(out);
	}
	unlink(other);
	/* A canceled copy says so. */
	io_init(&f);
	atomic_store(&f.cancel, true);
	out = open(dp, O_RDWR | O_TRUNC);
	CU_ASSERT_EQUAL(rcp_fs_copy_range(in, out, 0, BIG, &f.io, &what),
	    -ECANCELED);
	/* A bad descriptor is an error naming the call. */
	io_init(&f);
	atomic_store(&f.no_cfr, true);
	CU_ASSERT_EQUAL(rcp_fs_copy_range(in, -1, 0, 100, &f.io, &what),
	    -EBADF);
	CU_ASSERT_STRING_EQUAL(what, "write");
	close(out);
	close(in);
	unit_rmtree(dir);
	free(dir);
	free(sp);
	free(dp);
}

static void
test_sparse(void)
{
	char *dir = unit_tmpdir("sparse"), *sp = rcp_path_join(dir, "src");
	char *dp = rcp_path_join(dir, "dst");
	struct io_fixture f;
	const char *what = NULL;
	struct stat st;
	int in, out;

	in = open(sp, O_RDWR | O_CREAT, 0644);
	CU_ASSERT_EQUAL(pwrite(in, "abc", 3, 5 << 20), 3);
	CU_ASSERT_EQUAL(ftruncate(in, 32 << 20), 0);
	CU_ASSERT_EQUAL(fstat(in, &st), 0);
	CU_ASSERT_TRUE(rcp_fs_is_sparse(&st));
	out = open(dp, O_RDWR | O_CREAT, 0644);
	io_init(&f);
	CU_ASSERT_EQUAL(rcp_fs_copy_sparse(in, out, 0, st.st_size, &f.io,
	    &what), 4096);	/* only the data page moves */
	CU_ASSERT_EQUAL(ftruncate(out, st.st_size), 0);
	CU_ASSERT_TRUE(equal_files(in, out, st.st_size));
	CU_ASSERT_EQUAL(fstat(out, &st), 0);
	CU_ASSERT_TRUE(st.st_blocks * 512 <= 65536);
	close(in);
	close(out);
	unit_rmtree(dir);
	free(dir);
	free(sp);
	free(dp);
}

/* A chain deeper than PATH_MAX, removed with fd-relative calls. */
static void
test_rmtree_deep(void)
{
	char *dir = unit_tmpdir("rmdeep"), name[101], *cause = NULL;
	int top = open(dir, O_RDONLY | O_DIRECTORY), fd = dup(top), next, i;
	struct stat st;

	memset(name, 'n', 100);
	name[100] = '\0';
	for (i = 0; i < 60; i++) {	/* 60 x 101 bytes > PATH_MAX */
		CU_ASSERT_FATAL(mkdirat(fd, name, 0755) == 0);
		next = openat(fd, name, O_RDONLY | O_DIRECTORY);
		close(fd);
		fd = next;
	}
	CU_ASSERT_EQUAL(symlinkat("/etc", fd, "link"), 0);
	close(fd);
	CU_ASSERT_EQUAL(rcp_fs_rmtree_at(top, name, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	CU_ASSERT_EQUAL(fstatat(top, name, &st, 0), -1);
	/* The symlink was removed, not followed. */
	CU_ASSERT_EQUAL(stat("/etc/passwd", &st), 0);
	/* A missing entry is already gone: fine. */
	CU_ASSERT_EQUAL(rcp_fs_rmtree_at(top, "nothing", &cause), 0);
	close(top);
	unit_rmtree(dir);
	free(dir);
}

/*
 * Whichever code the CPU runs (fsops.c takes libxxhash's run-time choice
 * of AVX2 or AVX-512), the digest is that of its portable default.
 */
static void
test_hash_dispatch(void)
{
	size_t n = (1u << 20) + 7, i;
	unsigned char *p = malloc(n);
	XXH128_canonical_t canon;
	uint8_t g[RCP_HASH_LEN];
	uint32_t x = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 24);
	}
	rcp_fs_hash_mem(p, n, g);
	XXH128_canonicalFromHash(&canon, XXH3_128bits(p, n));
	CU_ASSERT_EQUAL(memcmp(canon.digest, g, RCP_HASH_LEN), 0);
	free(p);
}

/* The hash is xxh128sum's: same bytes, same digest, whatever the range. */
static void
test_hash(void)
{
	/* xxh128sum of "hello\n" and of 3 MiB of zeros. */
	static const char hello[] = "6bba86c7e069f56d5a10b435f1c8e49c";
	static const char zeros[] = "5c88e21b630ed3530a39e93b412201bd";
	struct io_fixture f;
	uint8_t h[RCP_HASH_LEN], g[RCP_HASH_LEN];
	char *dir = unit_tmpdir("hash"), *path, hex[2 * RCP_HASH_LEN + 1];
	size_t i;
	int fd;

	io_init(&f);
	path = rcp_path_join(dir, "f");
	unit_write_file(path, "hello\n", 6);
	fd = open(path, O_RDONLY);
	CU_ASSERT_FATAL(fd >= 0);
	/* Past the end: what is there is hashed, and said. */
	CU_ASSERT_EQUAL(rcp_fs_hash(fd, 0, 100, &f.io, h), 6);
	for (i = 0; i < RCP_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CU_ASSERT_STRING_EQUAL(hex, hello);
	rcp_fs_hash_mem("hello\n", 6, g);
	CU_ASSERT_EQUAL(memcmp(h, g, RCP_HASH_LEN), 0);
	/* A part of the file is the hash of those bytes. */
	CU_ASSERT_EQUAL(rcp_fs_hash(fd, 1, 3, &f.io, h), 3);
	rcp_fs_hash_mem("ell", 3, g);
	CU_ASSERT_EQUAL(memcmp(h, g, RCP_HASH_LEN), 0);
	close(fd);
	/* A hole hashes as zeros, through many buffers. */
	fd = open(path, O_RDWR | O_TRUNC);
	CU_ASSERT_FATAL(fd >= 0 && ftruncate(fd, BIG) == 0);
	CU_ASSERT_EQUAL(rcp_fs_hash(fd, 0, BIG, &f.io, h), BIG);
	for (i = 0; i < RCP_HASH_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	CU_ASSERT_STRING_EQUAL(hex, zeros);
	atomic_store(&f.cancel, true);
	CU_ASSERT_EQUAL(rcp_fs_hash(fd, 0, BIG, &f.io, h), -ECANCELED);
	close(fd);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

void
test_fsops_register(void)
{
	static const struct unit_test tests[] = {
		{ "copy_range", test_copy_range },
		{ "sparse", test_sparse },
		{ "rmtree_deep", test_rmtree_deep },
		{ "hash", test_hash },
		{ "hash_dispatch", test_hash_dispatch },
		{ NULL, NULL }
	};

	unit_add_suite("fsops", tests);
}
