/* unit.c: the main of the CUnit test binary: registers every suite, runs them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <signal.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "base/util.h"
#include "workers/runner.h"
#include "unit.h"

#include "base/banned.h"

void
unit_add_suite(const char *name, const struct unit_test *tests)
{
	CU_pSuite s = CU_add_suite(name, NULL, NULL);

	if (s == NULL)
		abort();
	for (; tests->name != NULL; tests++)
		if (CU_add_test(s, tests->name, tests->fn) == NULL)
			abort();
}

char *
unit_tmpdir(const char *tag)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char *p = rcp_xasprintf("%s/rcp-unit-%s-XXXXXX", base, tag);

	if (mkdtemp(p) == NULL) {
		perror("mkdtemp");
		abort();
	}
	return p;
}

/*
 * Removes name under the directory at, a tree by file descriptors: some tests make
 * trees deeper than PATH_MAX, which nftw cannot walk.
 */
static void
rm_at(int at, const char *name)
{
	struct dirent *e;
	DIR *d;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd < 0) {
		unlinkat(at, name, 0);
		return;
	}
	fchmod(fd, 0700);
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rm_at(dirfd(d), e->d_name);
	closedir(d);
	unlinkat(at, name, AT_REMOVEDIR);
}

void
unit_rmtree(const char *path)
{
	if (path != NULL)
		rm_at(AT_FDCWD, path);
}

void
unit_write_file(const char *path, const void *data, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, data, n) != (ssize_t)n) {
		perror(path);
		abort();
	}
	close(fd);
}

int
main(int argc, char **argv)
{
	unsigned failed;

	/* The runner suite starts job processes from this program. */
	if (argc == 2 && strcmp(argv[1], RCP_RUNNER_CHILD_ARG) == 0)
		return rcp_runner_child_main();
	signal(SIGPIPE, SIG_IGN);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	test_error_register();
	test_util_register();
	test_fdio_register();
	test_cond_register();
	test_hex_register();
	test_glob_register();
	test_filter_register();
	test_dents_register();
	test_meta_register();
	test_throttle_register();
	test_copy_register();
	test_cmp_register();
	test_gen_register();
	test_fsops_register();
	test_progress_register();
	test_chmode_register();
	test_walk_register();
	test_ssh_register();
	test_child_register();
	test_srccache_register();
	test_srcremote_register();
	test_wire_register();
	test_quic_register();
	test_cliopts_register();
	test_ctlproto_register();
	test_pool_register();
	test_journal_register();
	test_ledger_register();
	test_runner_register();
	test_master_register();

	CU_basic_set_mode(CU_BRM_VERBOSE);
	if (argc > 1)
		CU_basic_run_suite(CU_get_suite(argv[1]));
	else
		CU_basic_run_tests();
	failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
	if (CU_get_number_of_tests_run() == 0)
		failed = 1;
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
