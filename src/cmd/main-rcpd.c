/*
 * main-rcpd.c: rcpd, the remote copy agent.  rcp starts it over SSH; it is
 * not meant to be run by hand.  Secrets arrive on stdin, never in argv.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "net/proto.h"
#include "net/quic.h"
#include "opts/remoteopts.h"
#include "remote/agent.h"

#include "base/banned.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.0.0"
#endif

static void
usage(FILE *fp)
{
	fprintf(fp,
"usage: rcpd --role source|destination [OPTIONS]\n"
"       rcpd --protocol-version\n"
"\n"
"The agent rcp starts over SSH on the hosts of a remote copy.  It reads its\n"
"start-up secrets from stdin and is not meant to be run by hand.\n"
"\n"
"  --role ROLE                   source or destination\n"
"  --helper                      destination: copy the data another\n"
"                                destination agent of the copy hands out\n"
"  --quic-port-ranges R          UDP ports to use, e.g. 8000-8999,10000\n"
"  --quic-profile P              datacenter (default) or internet\n"
"  --bind-addr ADDR              source: address to listen on (default: the\n"
"                                one the master reached this host at)\n"
"  --remote-copy-conn-timeout-sec N  QUIC handshake timeout\n"
"  --quic-idle-timeout-sec N     drop a silent peer after N seconds\n"
"  --quic-keepalive-sec N        keep-alive interval\n"
"  -v, --verbose                 forward more log records to the master\n"
"  --protocol-version            print the version and protocol, exit\n"
"  -h, --help                    show this help\n");
}

enum {
	OPT_ROLE = 256,
	OPT_PORTS,
	OPT_PROFILE,
	OPT_BIND,
	OPT_CONN_TIMEOUT,
	OPT_IDLE,
	OPT_KEEPALIVE,
	OPT_PROTO,
	OPT_HELPER
};

static const struct option longopts[] = {
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "helper", no_argument, NULL, OPT_HELPER },
	{ "quic-port-ranges", required_argument, NULL, OPT_PORTS },
	{ "quic-profile", required_argument, NULL, OPT_PROFILE },
	{ "bind-addr", required_argument, NULL, OPT_BIND },
	{ "remote-copy-conn-timeout-sec", required_argument, NULL, OPT_CONN_TIMEOUT },
	{ "quic-idle-timeout-sec", required_argument, NULL, OPT_IDLE },
	{ "quic-keepalive-sec", required_argument, NULL, OPT_KEEPALIVE },
	{ "protocol-version", no_argument, NULL, OPT_PROTO },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static int
seconds(const char *opt, const char *arg, uint32_t *ms)
{
	uint64_t v;

	if (rcp_parse_uint(arg, 86400, &v) != 0 || v == 0) {
		rcp_usage_error("rcpd", 2, "%s: '%s' is not a number of "
		    "seconds from 1 to 86400", opt, arg);
		return -1;
	}
	*ms = (uint32_t)(v * 1000);
	return 0;
}

/*
 * An agent must not outlive the session that started it, even stopped
 * (SIGSTOP, a debugger) or stuck, when nothing can reach it to say so:
 * started by sshd (its command execs us), it is killed when that sshd
 * goes, with the SSH connection.  Not as a child of rcp or rcp-master:
 * PR_SET_PDEATHSIG follows the parent *thread*, and theirs come and go
 * (rcp_child_kill_all ends those).
 */
static void
die_with_parent(void)
{
	char path[64], comm[32];
	pid_t ppid = getppid();
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/comm", (long)ppid);
	if ((fp = fopen(path, "re")) == NULL)
		return;
	if (fgets(comm, sizeof(comm), fp) == NULL)
		comm[0] = '\0';
	fclose(fp);
	comm[strcspn(comm, "\n")] = '\0';
	if (strcmp(comm, "sshd") != 0)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) == 0 && getppid() != ppid)
		_exit(1);	/* it went before we asked */
}

int
main(int argc, char **argv)
{
	struct rcp_agent_opts o;
	char *cause = NULL;
	int ch;

	signal(SIGPIPE, SIG_IGN);
	die_with_parent();
	rcp_agent_opts_init(&o);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_ROLE:
			if (strcmp(optarg, "source") == 0)
				o.role = RCP_ROLE_SOURCE;
			else if (strcmp(optarg, "destination") == 0)
				o.role = RCP_ROLE_DESTINATION;
			else {
				return rcp_usage_error("rcpd", 2, "unknown "
				    "role '%s'", optarg);
			}
			break;
		case OPT_HELPER:
			o.helper = true;
			break;
		case OPT_PORTS:
			if (rcp_remoteopts_ports(optarg, &o.ports, &cause) != 0) {
				rcp_usage_error("rcpd", 2, "%s", cause);
				free(cause);
				return 2;
			}
			break;
		case OPT_PROFILE:
			if (rcp_remoteopts_profile(optarg, &o.quic.profile) != 0) {
				return rcp_usage_error("rcpd", 2, "unknown "
				    "profile '%s' (expected datacenter or "
				    "internet)", optarg);
			}
			break;
		case OPT_BIND:
			o.bind_addr = optarg;
			break;
		case OPT_CONN_TIMEOUT:
			if (seconds("--remote-copy-conn-timeout-sec", optarg,
			    &o.quic.conn_timeout_ms) != 0)
				return 2;
			break;
		case OPT_IDLE:
			if (seconds("--quic-idle-timeout-sec", optarg,
			    &o.quic.idle_timeout_ms) != 0)
				return 2;
			break;
		case OPT_KEEPALIVE:
			if (seconds("--quic-keepalive-sec", optarg,
			    &o.quic.keepalive_ms) != 0)
				return 2;
			break;
		case OPT_PROTO:
			printf("rcpd %s protocol %d\n", PACKAGE_VERSION,
			    RCP_PROTO_VERSION);
			return 0;
		case 'v':
			o.verbosity++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:	/* '?' or ':' */
			return rcp_usage_getopt("rcpd", 2, ch, argv);
		}
	}
	if (o.role == 0) {
		return rcp_usage_error("rcpd", 2, "%s", "--role is required");
	}
	if (o.helper && o.role != RCP_ROLE_DESTINATION)
		return rcp_usage_error("rcpd", 2, "%s", "--helper goes with "
		    "--role destination");
	return rcp_agent_run(&o);
}
