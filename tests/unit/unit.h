/*
 * unit.h: the CUnit test binary.  Each module's test file defines one
 * registration function, listed in unit.c, that adds its suite.
 */
#ifndef RCP_TEST_UNIT_H
#define RCP_TEST_UNIT_H

#include <CUnit/CUnit.h>

void test_error_register(void);
void test_util_register(void);
void test_fdio_register(void);
void test_cond_register(void);
void test_hex_register(void);
void test_glob_register(void);
void test_filter_register(void);
void test_dents_register(void);
void test_meta_register(void);
void test_throttle_register(void);
void test_copy_register(void);
void test_cmp_register(void);
void test_gen_register(void);
void test_fsops_register(void);
void test_progress_register(void);
void test_chmode_register(void);
void test_walk_register(void);
void test_ssh_register(void);
void test_child_register(void);
void test_srccache_register(void);
void test_srcremote_register(void);
void test_wire_register(void);
void test_quic_register(void);
void test_cliopts_register(void);
void test_ctlproto_register(void);
void test_pool_register(void);
void test_journal_register(void);
void test_ledger_register(void);
void test_runner_register(void);
void test_master_register(void);

/* Adds a suite with the given tests; aborts the run if CUnit fails. */
struct unit_test {
	const char	*name;
	void		(*fn)(void);
};
void unit_add_suite(const char *name, const struct unit_test *tests);

/*
 * Returns a new empty directory under /dev/shm (file-heavy tests stay off
 * /tmp); the caller frees the string and removes the tree with unit_rmtree.
 */
char *unit_tmpdir(const char *tag);
void unit_rmtree(const char *path);
/* Writes n bytes of data to path (created or truncated); aborts on failure. */
void unit_write_file(const char *path, const void *data, size_t n);

#endif
