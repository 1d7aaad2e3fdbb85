/* test_ssh.c: parsing of ssh targets and shell quoting (no network). */
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "net/ssh.h"
#include "unit.h"

#include "base/banned.h"

/* Parses spec and checks the parts; user NULL means none expected. */
static void
check_target(const char *spec, const char *user, const char *host,
    unsigned port)
{
	struct rcp_ssh_target t;
	char *cause = NULL;

	CU_ASSERT_EQUAL_FATAL(rcp_ssh_target_parse(spec, &t, &cause), 0);
	CU_ASSERT_PTR_NULL(cause);
	if (user == NULL) {
		CU_ASSERT_PTR_NULL(t.user);
	} else {
		CU_ASSERT(t.user != NULL && strcmp(t.user, user) == 0);
	}
	CU_ASSERT(t.host != NULL && strcmp(t.host, host) == 0);
	CU_ASSERT_EQUAL(t.port, port);
	rcp_ssh_target_release(&t);
	CU_ASSERT_PTR_NULL(t.host);
}

/* Checks that spec is refused with a message containing want. */
static void
check_bad(const char *spec, const char *want)
{
	struct rcp_ssh_target t;
	char *cause = NULL;

	CU_ASSERT_EQUAL(rcp_ssh_target_parse(spec, &t, &cause), RCP_ERR_INVAL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(cause);
	CU_ASSERT_PTR_NOT_NULL(strstr(cause, want));
	CU_ASSERT_PTR_NULL(t.host);
	CU_ASSERT_PTR_NULL(t.user);
	free(cause);
}

static void
test_target_ok(void)
{
	check_target("host", NULL, "host", 0);
	check_target("h.example.com", NULL, "h.example.com", 0);
	check_target("alice@host", "alice", "host", 0);
	check_target("host:2222", NULL, "host", 2222);
	check_target("alice@10.0.0.1:65535", "alice", "10.0.0.1", 65535);
	check_target("a@b@host:22", "a@b", "host", 22);
	check_target("[::1]", NULL, "::1", 0);
	check_target("[::1]:2222", NULL, "::1", 2222);
	check_target("bob@[fe80::1%eth0]:7", "bob", "fe80::1%eth0", 7);
	check_target("::1", NULL, "::1", 0);
	check_target("root@2001:db8::2", "root", "2001:db8::2", 0);
	check_target("my_host-1", NULL, "my_host-1", 0);
}

static void
test_target_bad(void)
{
	struct rcp_ssh_target t;
	char *cause = NULL;

	CU_ASSERT_EQUAL(rcp_ssh_target_parse(NULL, &t, &cause), RCP_ERR_INVAL);
	free(cause);
	check_bad("", "empty host");
	check_bad("alice@", "no host name in 'alice@'");
	check_bad("@host", "empty user name");
	check_bad(":22", "no host name");
	check_bad("host:", "invalid port in 'host:'");
	check_bad("host:0", "invalid port");
	check_bad("host:65536", "invalid port");
	check_bad("host:-1", "invalid port");
	check_bad("host:22x", "invalid port");
	check_bad("host: 22", "invalid character");
	check_bad("host:99999999999999999999", "invalid port");
	check_bad("[::1", "missing ']'");
	check_bad("[::1]x", "unexpected text after ']'");
	check_bad("[::1]:", "invalid port");
	check_bad("[]:22", "no host name");
	check_bad("a:b:c", "invalid address");
	check_bad("ho st", "invalid character");
	check_bad("host\n", "invalid character");
	check_bad("ho/st", "invalid host name");
	check_bad("-oProxyCommand=x", "invalid host name");
	check_bad("h\xc3\xa9", "invalid host name");
	check_bad("u@h;rm", "invalid host name");
}

static void
check_quote(const char *in, const char *want)
{
	char *q = rcp_ssh_shell_quote(in);

	CU_ASSERT_STRING_EQUAL(q, want);
	free(q);
}

static void
test_shell_quote(void)
{
	check_quote("plain", "plain");
	check_quote("/usr/bin/rcpd", "/usr/bin/rcpd");
	check_quote("a-b_c.d:e,f+g@h%i", "a-b_c.d:e,f+g@h%i");
	check_quote("", "''");
	check_quote("two words", "'two words'");
	check_quote("it's", "'it'\\''s'");
	check_quote("'", "''\\'''");
	check_quote("''", "''\\'''\\'''");
	check_quote("$HOME `id` \"x\" \\n *?[]~#&;|<>(){}!=",
	    "'$HOME `id` \"x\" \\n *?[]~#&;|<>(){}!='");
	check_quote("line\nbreak", "'line\nbreak'");
	check_quote("caf\xe9\xff\x80", "'caf\xe9\xff\x80'");
	check_quote("\xff'\x01", "'\xff'\\''\x01'");
	check_quote("~root", "'~root'");
	check_quote("a=b", "'a=b'");
}

void
test_ssh_register(void)
{
	static const struct unit_test tests[] = {
		{ "target_ok", test_target_ok },
		{ "target_bad", test_target_bad },
		{ "shell_quote", test_shell_quote },
		{ NULL, NULL }
	};

	unit_add_suite("ssh", tests);
}
