/* test_meta.c: compare and preserve settings, applying metadata. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "fs/meta.h"
#include "fs/xmeta.h"
#include "unit.h"

#include "base/banned.h"

static void
test_attrs_parse(void)
{
	struct rcp_attrs a;
	struct rcp_buf b = RCP_BUF_INIT;
	char *cause = NULL;

	CU_ASSERT_EQUAL(rcp_attrs_parse(&a, "size,mtime", &cause), 0);
	CU_ASSERT_EQUAL(a.f, RCP_ATTR_SIZE | RCP_ATTR_MTIME);
	CU_ASSERT_EQUAL(a.d, a.f);
	CU_ASSERT_EQUAL(a.l, a.f);
	CU_ASSERT_EQUAL(rcp_attrs_parse(&a, "f:mtime,size d:mtime l:mtime",
	    &cause), 0);
	CU_ASSERT_EQUAL(a.f, RCP_ATTR_SIZE | RCP_ATTR_MTIME);
	CU_ASSERT_EQUAL(a.d, RCP_ATTR_MTIME);
	CU_ASSERT_EQUAL(a.l, RCP_ATTR_MTIME);
	CU_ASSERT_EQUAL(rcp_attrs_parse(&a, "f:uid,gid,mode,ctime", &cause), 0);
	CU_ASSERT_EQUAL(a.d, 0);
	rcp_attrs_format(a.f, &b);
	CU_ASSERT_STRING_EQUAL(rcp_buf_str(&b), "uid,gid,mode,ctime");
	rcp_buf_release(&b);

	CU_ASSERT_EQUAL(rcp_attrs_parse(&a, "size,colour", &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "'colour'"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_attrs_parse(&a, "x:size", &cause), RCP_ERR_INVAL);
	free(cause);
}

static void
test_attrs_diff(void)
{
	struct stat a, b;

	memset(&a, 0, sizeof(a));
	a.st_mode = S_IFREG | 0644;
	a.st_size = 10;
	a.st_mtim.tv_sec = 100;
	b = a;
	CU_ASSERT_EQUAL(rcp_attrs_diff(~0u, &a, &b), 0);
	b.st_mtim.tv_nsec = 1;
	CU_ASSERT_EQUAL(rcp_attrs_diff(~0u, &a, &b), RCP_ATTR_MTIME);
	CU_ASSERT_EQUAL(rcp_attrs_diff(RCP_ATTR_SIZE, &a, &b), 0);
	b.st_mode = S_IFREG | 04644;
	CU_ASSERT_EQUAL(rcp_attrs_diff(RCP_ATTR_MODE, &a, &b), RCP_ATTR_MODE);
}

static void
test_preserve_parse(void)
{
	struct rcp_preserve p;
	char *cause = NULL;

	rcp_preserve_default(&p);
	CU_ASSERT_EQUAL(p.f.mode_mask, 0777);
	CU_ASSERT_FALSE(p.f.uid || p.f.gid || p.f.time);
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "all", &cause), 0);
	CU_ASSERT_TRUE(p.f.uid && p.d.gid && p.l.time);
	CU_ASSERT_EQUAL(p.f.mode_mask, 07777);
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "none", &cause), 0);
	CU_ASSERT_EQUAL(p.f.mode_mask, 0);
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "f:uid,time,0755 d:0700 l:time",
	    &cause), 0);
	CU_ASSERT_TRUE(p.f.uid && !p.f.gid && p.f.time);
	CU_ASSERT_EQUAL(p.f.mode_mask, 0755);
	CU_ASSERT_EQUAL(p.d.mode_mask, 0700);
	CU_ASSERT_TRUE(p.l.time && !p.l.uid);
	CU_ASSERT_PTR_EQUAL(rcp_preserve_for(&p, S_IFDIR), &p.d);
	CU_ASSERT_PTR_EQUAL(rcp_preserve_for(&p, S_IFIFO), &p.f);

	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "f:17777", &cause),
	    RCP_ERR_INVAL);
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "f:owner", &cause),
	    RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, "'owner'"));
	free(cause);
	cause = NULL;
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "f:acl,xattr d:xattr", &cause),
	    0);
	CU_ASSERT_TRUE(p.f.acl && p.f.xattr && !p.d.acl && p.d.xattr);
	CU_ASSERT_EQUAL(rcp_preserve_xmeta(&p.f), RCP_XMETA_ACL |
	    RCP_XMETA_XATTR);
	CU_ASSERT_EQUAL(rcp_preserve_xmeta(&p.l), 0);
	rcp_preserve_all(&p);
	CU_ASSERT_TRUE(p.f.acl && p.d.acl && p.l.xattr);
	CU_ASSERT_EQUAL(rcp_preserve_parse(&p, "everything", &cause),
	    RCP_ERR_INVAL);
	free(cause);
}

static void
test_apply(void)
{
	char *dir = unit_tmpdir("meta"), *path = rcp_path_join(dir, "f");
	struct rcp_preserve_one p = { false, false, true, 07777, false, false };
	const char *what = NULL;
	struct stat src, got;
	int fd;

	unit_write_file(path, "x", 1);
	memset(&src, 0, sizeof(src));
	src.st_mode = S_IFREG | 04751;
	src.st_mtim.tv_sec = 1000000000;
	src.st_mtim.tv_nsec = 123456789;
	src.st_atim = src.st_mtim;
	fd = open(path, O_RDWR);
	CU_ASSERT_EQUAL(rcp_meta_apply_fd(fd, &p, &src, S_IFREG | 0644, NULL,
	    true, NULL, &what), 0);
	close(fd);
	CU_ASSERT_EQUAL(stat(path, &got), 0);
	CU_ASSERT_EQUAL(got.st_mode & 07777, 04751);
	CU_ASSERT_EQUAL(got.st_mtim.tv_sec, 1000000000);
	CU_ASSERT_EQUAL(got.st_mtim.tv_nsec, 123456789);
	/* All twelve bits, after a chown that may clear setuid. */
	src.st_mode = S_IFREG | 07777;
	p.uid = p.gid = true;
	src.st_uid = getuid();
	src.st_gid = getgid();
	fd = open(path, O_RDWR);
	CU_ASSERT_EQUAL(rcp_meta_apply_fd(fd, &p, &src, S_IFREG | 0644, NULL,
	    true, NULL, &what), 0);
	close(fd);
	CU_ASSERT_EQUAL(stat(path, &got), 0);
	CU_ASSERT_EQUAL(got.st_mode & 07777, 07777);
	p.uid = p.gid = false;
	/* A closed fd is an error naming the call, not a crash. */
	CU_ASSERT_EQUAL(rcp_meta_apply_fd(fd, &p, &src, 0, NULL, true, NULL,
	    &what), -EBADF);
	CU_ASSERT_STRING_EQUAL(what, "chmod");
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/* ACLs whose mask grants the owning group more than its own entry. */
static void
test_safe_mode(void)
{
	struct rcp_xmeta xm;

	rcp_xmeta_init(&xm);
	CU_ASSERT_EQUAL(rcp_xmeta_safe_mode(&xm, 0770), 0770);
	xm.acl_access = rcp_xstrdup("user::rwx,user:1:rwx,group::---,"
	    "mask::rwx,other::---");
	CU_ASSERT_EQUAL(rcp_xmeta_safe_mode(&xm, 0770), 0700);
	free(xm.acl_access);
	xm.acl_access = rcp_xstrdup("user::rw-,group::rw-,mask::r--,"
	    "other::r--,user:1:rw-");
	CU_ASSERT_EQUAL(rcp_xmeta_safe_mode(&xm, 0644), 0644);
	free(xm.acl_access);
	xm.acl_access = rcp_xstrdup("not an acl");
	CU_ASSERT_EQUAL(rcp_xmeta_safe_mode(&xm, 0775), 0705);
	rcp_xmeta_release(&xm);
}

/* Caps on what an entry may carry, checked before allocating. */
static void
test_xmeta_caps(void)
{
	struct rcp_xmeta xm;
	static uint8_t big[RCP_XMETA_VALUE_MAX + 1];
	char name[RCP_XMETA_NAME_MAX + 2];
	unsigned i;

	rcp_xmeta_init(&xm);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "user.a", big,
	    RCP_XMETA_VALUE_MAX), 0);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "user.b", big,
	    RCP_XMETA_VALUE_MAX + 1), RCP_ERR_INVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, name, "", 0), RCP_ERR_INVAL);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "", "", 0), RCP_ERR_INVAL);
	for (i = 1; i < RCP_XMETA_TOTAL_MAX / RCP_XMETA_VALUE_MAX; i++)
		CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "user.c", big,
		    RCP_XMETA_VALUE_MAX), 0);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "user.d", big, 1), RCP_ERR_INVAL);
	rcp_xmeta_release(&xm);
	CU_ASSERT_TRUE(rcp_xmeta_empty(&xm));
}

/* Read back what was applied, on the unit tests' file system. */
static void
test_xmeta_roundtrip(void)
{
	char *dir = unit_tmpdir("xmeta"), *path = rcp_path_join(dir, "f");
	struct rcp_xmeta in, out;
	const char *what = NULL;
	int fd;

	unit_write_file(path, "x", 1);
	fd = open(path, O_RDWR);
	rcp_xmeta_init(&in);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&in, "user.a", "v", 1), 0);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&in, "user.b", "\0\1", 2), 0);
	in.acl_access = rcp_xstrdup("user::rw-,user:1:r--,group::r--,"
	    "mask::r--,other::---");
	if (rcp_xmeta_apply(fd, -1, NULL, &in, &what) == 0) {
		CU_ASSERT_EQUAL(rcp_xmeta_read(fd, -1, NULL, RCP_XMETA_ACL |
		    RCP_XMETA_XATTR, &out), 0);
		CU_ASSERT_EQUAL(out.n, 2);
		if (out.n == 2)
			CU_ASSERT_STRING_EQUAL(out.v[0].name, "user.a");
		CU_ASSERT_PTR_NOT_NULL(out.acl_access);
		CU_ASSERT_TRUE(rcp_xmeta_equal(&in, &out, false, true) ||
		    out.n != 2);
		rcp_xmeta_release(&out);
		CU_ASSERT_EQUAL(rcp_xmeta_read(fd, -1, NULL, RCP_XMETA_ACL,
		    &out), 0);
		CU_ASSERT_EQUAL(out.n, 0);
		rcp_xmeta_release(&out);
	}
	rcp_xmeta_release(&in);
	close(fd);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/* A merged directory loses the xattrs its source lacks. */
static void
test_xmeta_drop_extra(void)
{
	char *dir = unit_tmpdir("xmeta-extra");
	struct rcp_xmeta keep, out;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	rcp_xmeta_init(&keep);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&keep, "user.b", "2", 1), 0);
	if (fsetxattr(fd, "user.a", "1", 1, 0) == 0 &&
	    fsetxattr(fd, "user.b", "2", 1, 0) == 0 &&
	    fsetxattr(fd, "user.c", "3", 1, 0) == 0) {
		CU_ASSERT_EQUAL(rcp_xmeta_drop_extra(fd, &keep), 0);
		CU_ASSERT_EQUAL(rcp_xmeta_read(fd, -1, NULL, RCP_XMETA_XATTR,
		    &out), 0);
		CU_ASSERT_TRUE(rcp_xmeta_equal(&keep, &out, false, true));
		rcp_xmeta_release(&out);
		/* A source without any: all go. */
		rcp_xmeta_release(&keep);
		CU_ASSERT_EQUAL(rcp_xmeta_drop_extra(fd, &keep), 0);
		CU_ASSERT_EQUAL(rcp_xmeta_read(fd, -1, NULL, RCP_XMETA_XATTR,
		    &out), 0);
		CU_ASSERT_EQUAL(out.n, 0);
		rcp_xmeta_release(&out);
	}
	rcp_xmeta_release(&keep);
	close(fd);
	unit_rmtree(dir);
	free(dir);
}

/* Names a peer sends that this process cannot set are left out, noted. */
static void
test_xmeta_keep_settable(void)
{
	struct rcp_xmeta xm;

	rcp_xmeta_init(&xm);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "other.x", "12", 2), 0);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "user.a", "1", 1), 0);
	CU_ASSERT_EQUAL(rcp_xmeta_add(&xm, "system.y", "3", 1), 0);
	rcp_xmeta_keep_settable(&xm);
	CU_ASSERT_EQUAL(xm.n, 1);
	CU_ASSERT_EQUAL(xm.total, 1);
	CU_ASSERT_STRING_EQUAL(xm.v[0].name, "user.a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(xm.skipped);
	CU_ASSERT_STRING_EQUAL(xm.skipped, "other.x");
	CU_ASSERT_EQUAL(rcp_xmeta_settable("trusted.t"), geteuid() == 0);
	CU_ASSERT_FALSE(rcp_xmeta_settable("system.posix_acl_access"));
	rcp_xmeta_release(&xm);
	CU_ASSERT_PTR_NULL(xm.skipped);
}

/* A FIFO gets its ACL and xattrs by name, never opened (it would block). */
static void
test_apply_special(void)
{
	char *dir = unit_tmpdir("xmeta-fifo"), *path = rcp_path_join(dir, "p");
	struct rcp_preserve_one p = { .time = true, .mode_mask = 07777,
	    .acl = true, .xattr = true };
	struct rcp_xmeta in, out;
	const char *what = NULL;
	struct stat src, st;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY), xerr = -1;

	CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
	CU_ASSERT_EQUAL(stat(path, &src), 0);
	src.st_mode = S_IFIFO | 0640;
	src.st_mtim.tv_sec = 1000000;
	rcp_xmeta_init(&in);
	in.acl_access = rcp_xstrdup("user::rw-,user:1:r--,group::r--,"
	    "mask::r--,other::---");
	CU_ASSERT_EQUAL(rcp_meta_apply_special(dfd, "p", &p, &src, 0600, &in,
	    true, &xerr, &what), 0);
	CU_ASSERT_EQUAL(stat(path, &st), 0);
	CU_ASSERT_EQUAL(st.st_mtim.tv_sec, 1000000);
	if (xerr == 0) {
		CU_ASSERT_EQUAL(rcp_xmeta_read(-1, dfd, "p", RCP_XMETA_ACL |
		    RCP_XMETA_XATTR, &out), 0);
		CU_ASSERT_PTR_NOT_NULL(out.acl_access);
		rcp_xmeta_release(&out);
	}
	/* Not the type it was: left alone. */
	CU_ASSERT_EQUAL(unlink(path), 0);
	unit_write_file(path, "x", 1);
	CU_ASSERT_EQUAL(rcp_meta_apply_special(dfd, "p", &p, &src, 0600, &in,
	    true, &xerr, &what), -ESTALE);
	rcp_xmeta_release(&in);
	close(dfd);
	free(path);
	unit_rmtree(dir);
	free(dir);
}

/* A chown is skipped only where new entries surely get our ids. */
static void
test_creates_as_us(void)
{
	char *dir = unit_tmpdir("as-us");
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	/* The unit tests' directory: on tmpfs (or a local /tmp), ours. */
	CU_ASSERT_EQUAL(fchown(fd, (uid_t)-1, getegid()), 0);
	CU_ASSERT_TRUE(rcp_meta_creates_as_us(fd));
	/* Another group: a setgid directory would hand it on. */
	if (geteuid() == 0 && fchown(fd, (uid_t)-1, getegid() + 1) == 0)
		CU_ASSERT_FALSE(rcp_meta_creates_as_us(fd));
	CU_ASSERT_FALSE(rcp_meta_creates_as_us(-1));
	close(fd);
	unit_rmtree(dir);
	free(dir);
}

void
test_meta_register(void)
{
	static const struct unit_test tests[] = {
		{ "attrs_parse", test_attrs_parse },
		{ "attrs_diff", test_attrs_diff },
		{ "preserve_parse", test_preserve_parse },
		{ "apply", test_apply },
		{ "safe_mode", test_safe_mode },
		{ "xmeta_caps", test_xmeta_caps },
		{ "xmeta_roundtrip", test_xmeta_roundtrip },
		{ "xmeta_drop_extra", test_xmeta_drop_extra },
		{ "xmeta_keep_settable", test_xmeta_keep_settable },
		{ "apply_special", test_apply_special },
		{ "creates_as_us", test_creates_as_us },
		{ NULL, NULL }
	};

	unit_add_suite("meta", tests);
}
