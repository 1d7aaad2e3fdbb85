/*
 * transport.h: the option types of the transports -- UDP port ranges, QUIC
 * profiles, SSH options -- and nothing that needs a transport's code or
 * library, so that option parsers (opts/) and programs that link no
 * network library (rcp-job) can hold them.  The parsers of these options
 * are in opts/remoteopts.h.
 */
#ifndef RCP_TRANSPORT_H
#define RCP_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rcp_log;

#define RCP_UDP_PORTS_MAX 32

struct rcp_udp_ports {
	size_t	n;		/* 0: any port */
	struct {
		uint16_t	lo;
		uint16_t	hi;
	} r[RCP_UDP_PORTS_MAX];
};

enum {
	RCP_QUIC_DATACENTER = 0,	/* big windows, path-MTU-sized packets */
	RCP_QUIC_INTERNET = 1		/* 1452-byte packets, PMTUD, patience */
};

struct rcp_ssh_opts {
	/*
	 * The ssh_config(5) file to read, like ssh -F (and then only that one);
	 * NULL: ~/.ssh/config and /etc/ssh/ssh_config.  libssh 0.10 honours
	 * Host, Match, Hostname, Port, User, IdentityFile, UserKnownHostsFile,
	 * GlobalKnownHostsFile, ConnectTimeout, ProxyCommand, ProxyJump,
	 * Include, Ciphers, MACs, KexAlgorithms, HostKeyAlgorithms,
	 * Compression, BindAddress, IdentityAgent...; it ignores IdentitiesOnly,
	 * BatchMode and StrictHostKeyChecking is overridden (see accept_new).
	 */
	const char		*config_file;
	/* NULL: UserKnownHostsFile from the config, else ~/.ssh/known_hosts. */
	const char		*known_hosts;
	/* A private key to try first; NULL: only ssh-agent and key files. */
	const char		*identity;
	/*
	 * An unknown host key is added to known_hosts (as OpenSSH's
	 * StrictHostKeyChecking=accept-new); false: it is refused.  A changed
	 * key is always refused.
	 */
	bool			 accept_new;
	int			 connect_timeout_ms;	/* 0: the config's, else 10 s */
	const struct rcp_log	*log;	/* copied; NULL: nothing is logged */
};

#endif
