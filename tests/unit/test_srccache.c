/* test_srccache.c: the source agent's read-ahead (srccache.c), on real files. */
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "net/wire.h"
#include "remote/srccache.h"
#include "remote/srcwire.h"
#include "unit.h"

static struct rcp_srccache_dir *
take(struct rcp_srccache *pc, const char *path)
{
	struct stat st;

	CU_ASSERT_FATAL(stat(path, &st) == 0);
	return rcp_srccache_take(pc, &st);
}

/*
 * Reads a listing to its end: the entry count, name's inline bytes equal to
 * data, and (if subdir is not NULL) subdir's stat, a directory's, with its
 * name (tag 2); nothing else may carry one.
 */
static void
check_listing(struct rcp_srccache_dir *d, uint32_t want, const char *name,
    const char *data, const char *subdir)
{
	bool dirstat = false;
	struct stat st;
	struct rcp_buf b = RCP_BUF_INIT;
	struct rcp_wire_cursor c;
	uint32_t n, total = 0, i;
	uint8_t more = 1, type, has;
	bool left = true, found = false;
	const uint8_t *p;
	char *nm;
	size_t len;

	while (left) {
		rcp_srccache_dir_next(d, &b, &left);
		rcp_wire_cursor_init(&c, b.data, b.len);
		CU_ASSERT_FATAL(rcp_wire_get_u8(&c, &more) == 0 &&
		    rcp_wire_get_u32(&c, &n) == 0);
		CU_ASSERT_EQUAL(more, left);
		for (i = 0; i < n; i++) {
			CU_ASSERT_FATAL(rcp_wire_get_str(&c, &nm, 4096) == 0 &&
			    rcp_wire_get_u8(&c, &type) == 0 &&
			    rcp_wire_get_u8(&c, &has) == 0);
			if (has == 2) {
				CU_ASSERT_FATAL(rcp_srcwire_get_stat(&c,
				    &st) == 0);
				CU_ASSERT(S_ISDIR(st.st_mode));
				CU_ASSERT(subdir != NULL &&
				    strcmp(nm, subdir) == 0);
				dirstat = true;
			} else if (has) {
				CU_ASSERT_EQUAL(has, 1);
				/* the stat before and after: 96 bytes each */
				CU_ASSERT_FATAL(c.left >= 192);
				c.p = (const uint8_t *)c.p + 192;
				c.left -= 192;
				CU_ASSERT_FATAL(rcp_wire_get_bytes(&c, &p, &len,
				    1 << 20) == 0);
				if (strcmp(nm, name) == 0) {
					found = true;
					CU_ASSERT_EQUAL(len, strlen(data));
					CU_ASSERT(len == strlen(data) &&
					    memcmp(p, data, len) == 0);
				}
			}
			free(nm);
		}
		total += n;
	}
	CU_ASSERT_EQUAL(total, want);
	CU_ASSERT(found);
	CU_ASSERT_EQUAL(dirstat, subdir != NULL);
	rcp_buf_release(&b);
}

static void
test_read_ahead(void)
{
	char *dir = unit_tmpdir("srccache"), *a, *sub, *f, *roots[1];
	struct rcp_srccache_dir *d;
	struct rcp_srccache *pc;
	int i;

	a = rcp_path_join(dir, "a");
	sub = rcp_path_join(a, "sub");
	CU_ASSERT_FATAL(mkdir(a, 0755) == 0 && mkdir(sub, 0755) == 0);
	for (i = 0; i < 50; i++) {
		f = rcp_xasprintf("%s/f%d", a, i);
		unit_write_file(f, "hello", 5);
		free(f);
	}
	f = rcp_path_join(sub, "x");
	unit_write_file(f, "in sub", 6);
	free(f);
	roots[0] = a;

	/* The whole tree, files inline; each listing served once. */
	pc = rcp_srccache_new(roots, 1, RCP_SRCCACHE_CAP, NULL);
	rcp_srccache_wait(pc);
	d = take(pc, a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_listing(d, 51, "f7", "hello", "sub");
	rcp_srccache_dir_free(d);
	CU_ASSERT_PTR_NULL(take(pc, a));
	d = take(pc, sub);
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	check_listing(d, 1, "x", "in sub", NULL);
	rcp_srccache_dir_free(d);
	rcp_srccache_free(pc);

	/* A directory changed since the walk is listed afresh, not served. */
	pc = rcp_srccache_new(roots, 1, RCP_SRCCACHE_CAP, NULL);
	rcp_srccache_wait(pc);
	f = rcp_path_join(sub, "new");
	unit_write_file(f, "late", 4);
	free(f);
	CU_ASSERT_PTR_NULL(take(pc, sub));
	d = take(pc, a);	/* a/ itself did not change */
	CU_ASSERT_PTR_NOT_NULL(d);
	rcp_srccache_dir_free(d);
	rcp_srccache_free(pc);

	/* Over the cap: nothing half-listed is kept. */
	pc = rcp_srccache_new(roots, 1, 1000, NULL);
	rcp_srccache_wait(pc);
	CU_ASSERT_PTR_NULL(take(pc, a));
	rcp_srccache_free(pc);

	/* Stopped before it starts, or a root that is not there: nothing. */
	roots[0] = sub;
	pc = rcp_srccache_new(roots, 1, RCP_SRCCACHE_CAP, NULL);
	rcp_srccache_free(pc);
	f = rcp_path_join(dir, "missing");
	roots[0] = f;
	pc = rcp_srccache_new(roots, 1, RCP_SRCCACHE_CAP, NULL);
	rcp_srccache_wait(pc);
	CU_ASSERT_PTR_NULL(take(pc, a));
	rcp_srccache_free(pc);
	free(f);
	free(a);
	free(sub);
	unit_rmtree(dir);
	free(dir);
}

void
test_srccache_register(void)
{
	static const struct unit_test tests[] = {
		{ "read_ahead", test_read_ahead },
		{ NULL, NULL }
	};

	unit_add_suite("srccache", tests);
}
