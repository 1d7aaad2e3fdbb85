/*
 * ssh.h: the SSH layer (libssh 0.10): connecting to a host with strict host
 * key checking and public key authentication, and running commands on it
 * over channels that share one connection.
 *
 * Thread safety: every function may be called from any thread.  A session
 * serialises its libssh calls with one mutex (struct rcp_ssh's lock); calls
 * that wait (reads, writes, waits) take it only for short non-blocking steps
 * and sleep unlocked in between, so threads driving different procs of one
 * session progress together.  One proc may be written by one thread while
 * another reads it; two threads reading the same stream of one proc get the
 * data in an unspecified interleaving.  rcp_ssh_free and rcp_ssh_proc_free
 * must not race with other calls on the object they free.
 */
#ifndef RCP_SSH_H
#define RCP_SSH_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/log.h"
#include "net/transport.h"

/* The default for rcp_ssh_opts.connect_timeout_ms. */
#define RCP_SSH_CONNECT_TIMEOUT_MS	10000

struct rcp_ssh_target {
	char		*user;	/* NULL: from the ssh config, else the current user */
	char		*host;	/* a name or address; IPv6 without brackets */
	unsigned	 port;	/* 0: from the ssh config, else 22 */
};

/*
 * Parses "[user@]host[:port]" into *t (released with rcp_ssh_target_release).
 * The user is everything before the LAST '@'; an IPv6 address is written
 * "[addr]" or "[addr]:port" (a bare address with two or more colons is taken
 * as a host without a port).  Returns 0, or RCP_ERR_INVAL with *cause set.
 */
int rcp_ssh_target_parse(const char *spec, struct rcp_ssh_target *t,
    char **cause);
/* Frees the strings of *t and zeroes it; NULL ok. */
void rcp_ssh_target_release(struct rcp_ssh_target *t);

struct rcp_ssh;
struct rcp_ssh_proc;

/*
 * Connects to t->host, checks its host key against known_hosts and
 * authenticates (the explicit identity, then ssh-agent, then the key files of
 * the config and the defaults).  Returns a session the caller frees with
 * rcp_ssh_free, or NULL with *cause set.  The connect timeout also bounds
 * each later protocol exchange (opening a channel, starting a command).
 */
struct rcp_ssh *rcp_ssh_connect(const struct rcp_ssh_target *t,
    const struct rcp_ssh_opts *o, char **cause);
/*
 * Disconnects and frees s; NULL ok.  Procs not yet freed are freed with it
 * (see rcp_ssh_proc_free) and must not be used or freed afterwards.
 */
void rcp_ssh_free(struct rcp_ssh *s);
/* The host name as the target gave it, for messages; owned by s. */
const char *rcp_ssh_host(const struct rcp_ssh *s);
/*
 * Returns why the connection ended ("connection to 'h' lost: ...") for the
 * message of a call that failed with RCP_ERR_IO, or NULL while it works; the
 * caller frees it.
 */
char *rcp_ssh_error(struct rcp_ssh *s);
/*
 * Stores the local address of the TCP connection to the host (an address the
 * host can reach us at, found without any outside lookup) in *ss and *len.
 * Returns 0 or RCP_ERR_IO.
 */
int rcp_ssh_local_addr(struct rcp_ssh *s, struct sockaddr_storage *ss,
    socklen_t *len);

/*
 * Starts command (a shell command line: quote arguments with
 * rcp_ssh_shell_quote) on a new channel.  Returns a proc the caller frees with
 * rcp_ssh_proc_free, or NULL with *cause set.
 */
struct rcp_ssh_proc *rcp_ssh_exec(struct rcp_ssh *s, const char *command,
    char **cause);
/*
 * Writes n bytes to the command's stdin, waiting while the channel's window
 * is full: at most timeout_ms (negative: no limit).  Returns 0,
 * RCP_ERR_TIMEOUT (some bytes may have been sent) or RCP_ERR_IO.
 */
int rcp_ssh_proc_write_timeout(struct rcp_ssh_proc *p, const void *buf,
    size_t n, int timeout_ms);
/* rcp_ssh_proc_write_timeout without a time limit. */
int rcp_ssh_proc_write(struct rcp_ssh_proc *p, const void *buf, size_t n);
/* Sends EOF to the command's stdin.  Returns 0 or RCP_ERR_IO. */
int rcp_ssh_proc_close_stdin(struct rcp_ssh_proc *p);
/*
 * Reads up to n bytes of the command's stdout (err false) or stderr (err
 * true), waiting at most timeout_ms (0: don't wait; negative: no limit).
 * Returns the count (> 0), 0 at EOF, RCP_ERR_TIMEOUT, RCP_ERR_IO (the
 * connection failed) or RCP_ERR_INVAL (n is 0).  Both streams share the channel's flow-control window
 * (about 1.2 MiB in libssh 0.10): a command whose unread output fills it,
 * on either stream, stops until it is read.
 */
ssize_t rcp_ssh_proc_read(struct rcp_ssh_proc *p, bool err, void *buf,
    size_t n, int timeout_ms);
/*
 * Reads one line of stdout into *line (without the '\n', NUL-terminated;
 * the caller frees it).  The whole call waits at most timeout_ms (negative:
 * no limit).  Returns 0; RCP_ERR_TOOBIG if no newline comes within max bytes
 * (the stream's position is then unspecified); RCP_ERR_TIMEOUT (bytes read
 * so far stay buffered for the next read); RCP_ERR_PROTO at EOF before a
 * newline; RCP_ERR_IO.
 */
int rcp_ssh_proc_read_line(struct rcp_ssh_proc *p, char **line, size_t max,
    int timeout_ms);
/*
 * Waits at most timeout_ms (negative: no limit) for the command to exit and
 * stores its exit status in *status: the code, 128 + the signal number if a
 * signal killed it, or -1 if the server closed the channel without saying.
 * Output not yet read is kept for later reads (so a command whose unread
 * output fills the window cannot exit: read it first).  Returns 0,
 * RCP_ERR_TIMEOUT or RCP_ERR_IO.
 */
int rcp_ssh_proc_wait(struct rcp_ssh_proc *p, int timeout_ms, int *status);
/*
 * Sends the command a signal ("TERM", "KILL", "INT"...: the name without
 * "SIG").  OpenSSH's sshd honours it for commands without a terminal.
 * Returns 0 or RCP_ERR_IO.
 */
int rcp_ssh_proc_signal(struct rcp_ssh_proc *p, const char *name);
/*
 * Closes the channel and frees p; NULL ok.  If the command has not reported
 * its exit, it is sent SIGTERM first so that it does not outlive us.
 */
void rcp_ssh_proc_free(struct rcp_ssh_proc *p);

/* Input and results of rcp_ssh_run_io. */
struct rcp_ssh_run_io {
	const void	*in;		/* written to stdin, then EOF; NULL: EOF at once */
	size_t		 in_len;
	size_t		 out_max;	/* more stdout than this: RCP_ERR_TOOBIG */
	size_t		 err_max;	/* stderr past this is read and dropped */
	char		*out;		/* stdout, NUL-terminated; caller frees */
	size_t		 out_len;
	char		*err;		/* stderr (at most err_max bytes); caller frees */
	size_t		 err_len;
	int		 status;	/* as rcp_ssh_proc_wait */
};

/*
 * Runs command with io->in as its stdin, collects stdout and stderr until it
 * exits, all within timeout_ms (negative: no limit).  Returns 0 (whatever the
 * exit status) with io->out, io->err and io->status set, or RCP_ERR_TIMEOUT,
 * RCP_ERR_TOOBIG or RCP_ERR_IO with *cause set and io->out, io->err NULL.
 */
int rcp_ssh_run_io(struct rcp_ssh *s, const char *command,
    struct rcp_ssh_run_io *io, int timeout_ms, char **cause);
/*
 * Runs command with no input and returns its stdout in *out (NUL-terminated,
 * at most max bytes, else RCP_ERR_TOOBIG; the caller frees it) and its exit
 * status in *status; stderr is logged at debug level and dropped.  Returns 0
 * or an error as rcp_ssh_run_io.
 */
int rcp_ssh_run(struct rcp_ssh *s, const char *command, char **out,
    size_t max, int *status, int timeout_ms, char **cause);

/*
 * Returns s quoted as one word for a POSIX shell: unchanged if it is
 * non-empty and made of [A-Za-z0-9_./:,+@%-] only, else in single quotes with
 * each ' written '\''.  Any bytes but NUL pass unchanged.  Caller frees.
 */
char *rcp_ssh_shell_quote(const char *s);

#endif
