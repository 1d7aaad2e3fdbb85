/* test_dents.c: the getdents64 iterator: every entry once, types, resuming. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "fs/dents.h"
#include "unit.h"

#include "base/banned.h"

/* Long names, so the listing spans several 64 KiB getdents64 buffers. */
#define NFILES 3000
#define NAME_PAD "-a-rather-long-name-to-fill-the-getdents-buffer-sooner"

static int
name_index(const char *name)
{
	int i;

	if (strcmp(name, "subdir") == 0)
		return NFILES;
	if (sscanf(name, "f%d", &i) != 1 || i < 0 || i >= NFILES)
		return -1;
	return i;
}

static char *
make_tree(void)
{
	char *dir = unit_tmpdir("dents"), *p;
	int i;

	for (i = 0; i < NFILES; i++) {
		p = rcp_xasprintf("%s/f%d%s", dir, i, NAME_PAD);
		unit_write_file(p, "", 0);
		free(p);
	}
	p = rcp_xasprintf("%s/subdir", dir);
	CU_ASSERT_FATAL(mkdir(p, 0755) == 0);
	free(p);
	return dir;
}

/* Lists up to max entries into seen[]; returns the count, -1 on a bad one. */
static int
list_into(int fd, unsigned char *seen, int max, int64_t *last_off)
{
	struct rcp_dents it;
	struct rcp_dent e;
	struct stat st;
	bool bad = false;
	int n = 0, i;

	rcp_dents_init(&it, fd);
	while (n < max && rcp_dents_next(&it, &e) > 0) {
		if ((i = name_index(e.name)) < 0 || seen[i]++ != 0)
			bad = true;
		else if (fstatat(fd, e.name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    st.st_ino != e.ino)
			bad = true;
		else if (e.type != DT_UNKNOWN &&
		    e.type != (i == NFILES ? DT_DIR : DT_REG))
			bad = true;
		*last_off = e.off;
		n++;
	}
	rcp_dents_release(&it);
	return bad ? -1 : n;
}

static void
test_all_once(void)
{
	unsigned char *seen = rcp_xcalloc(NFILES + 1, 1);
	char *dir = make_tree();
	int64_t off;
	int fd, i;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(list_into(fd, seen, NFILES * 2, &off), NFILES + 1);
	for (i = 0; i <= NFILES; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	close(fd);
	unit_rmtree(dir);
	free(dir);
	free(seen);
}

static void
test_resume(void)
{
	unsigned char *seen = rcp_xcalloc(NFILES + 1, 1);
	char *dir = make_tree();
	int64_t off = 0;
	int fd, i, n;

	/* Stop mid-buffer, seek to after the last entry taken, go on. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(list_into(fd, seen, 100, &off), 100);
	CU_ASSERT_FATAL(lseek(fd, (off_t)off, SEEK_SET) >= 0);
	n = list_into(fd, seen, NFILES * 2, &off);
	CU_ASSERT_EQUAL(n, NFILES + 1 - 100);
	for (i = 0; i <= NFILES; i++)
		CU_ASSERT_EQUAL(seen[i], 1);
	close(fd);
	unit_rmtree(dir);
	free(dir);
	free(seen);
}

static void
test_errors(void)
{
	struct rcp_dents it;
	struct rcp_dent e;
	char *dir = unit_tmpdir("dents"), *p;
	int fd;

	rcp_dents_init(&it, -1);
	CU_ASSERT_EQUAL(rcp_dents_next(&it, &e), -EBADF);
	rcp_dents_release(&it);

	p = rcp_xasprintf("%s/file", dir);
	unit_write_file(p, "x", 1);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	CU_ASSERT_FATAL(fd >= 0);
	rcp_dents_init(&it, fd);
	CU_ASSERT_EQUAL(rcp_dents_next(&it, &e), -ENOTDIR);
	rcp_dents_release(&it);
	close(fd);

	/* An empty directory: "." and ".." only, so no entry. */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	unlink(p);
	rcp_dents_init(&it, fd);
	CU_ASSERT_EQUAL(rcp_dents_next(&it, &e), 0);
	CU_ASSERT_EQUAL(rcp_dents_next(&it, &e), 0);
	rcp_dents_release(&it);
	close(fd);
	free(p);
	unit_rmtree(dir);
	free(dir);
}

void
test_dents_register(void)
{
	static const struct unit_test tests[] = {
		{ "all_once", test_all_once },
		{ "resume", test_resume },
		{ "errors", test_errors },
		{ NULL, NULL }
	};

	unit_add_suite("dents", tests);
}
