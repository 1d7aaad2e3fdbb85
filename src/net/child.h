/*
 * child.h: a command run on this machine as a child process, with pipes on
 * its stdin, stdout and stderr.  This is what the agent serving a local side
 * of a remote copy runs in: the same conversation as with an agent behind an
 * SSH channel (ssh.h's procs, whose return conventions these calls share),
 * without a login to ourselves.
 *
 * The child runs in a process group of its own, so a signal from the
 * terminal (^C) reaches us, not it: it ends when its stdin reaches EOF, as a
 * remote agent does when its channel closes.  It inherits no descriptor but
 * the three pipes, and none of our blocked or ignored signals.
 *
 * Thread safety: one thread may read stdout, another stderr, a third write
 * or close stdin, and any one wait; rcp_child_free must not race with them.
 */
#ifndef RCP_CHILD_H
#define RCP_CHILD_H

#include <sys/types.h>
#include <stdbool.h>
#include <stddef.h>

struct rcp_child;

/*
 * Starts argv[0] (with no '/': looked up in PATH) with argv and our
 * environment.  Returns 0 with *out (freed with rcp_child_free), or
 * RCP_ERR_NOTFOUND (no such program) or RCP_ERR_IO, with *cause set.
 */
int rcp_child_spawn(char *const *argv, struct rcp_child **out,
    char **cause);
/* The child's pid. */
pid_t rcp_child_pid(const struct rcp_child *c);
/*
 * Reads up to n bytes of stdout (err false) or stderr (err true), waiting at
 * most timeout_ms (0: don't wait; negative: no limit).  Returns the count
 * (> 0), 0 at EOF, RCP_ERR_TIMEOUT, RCP_ERR_IO or RCP_ERR_INVAL (n is 0).
 */
ssize_t rcp_child_read(struct rcp_child *c, bool err, void *buf, size_t n,
    int timeout_ms);
/*
 * Reads one line of stdout into *line (without the '\n'; the caller frees
 * it), within timeout_ms.  Returns 0; RCP_ERR_TOOBIG if no newline comes
 * within max bytes; RCP_ERR_TIMEOUT (what was read stays buffered);
 * RCP_ERR_PROTO at EOF before a newline; RCP_ERR_IO.
 */
int rcp_child_read_line(struct rcp_child *c, char **line, size_t max,
    int timeout_ms);
/* Writes n bytes to stdin.  Returns 0 or RCP_ERR_IO (closed, or gone). */
int rcp_child_write(struct rcp_child *c, const void *buf, size_t n);
/* Closes stdin: the child reads EOF.  Returns 0; again is a no-op. */
int rcp_child_close_stdin(struct rcp_child *c);
/*
 * Waits at most timeout_ms (negative: no limit) for the child to exit and
 * stores its exit status in *status: the code, or 128 + the number of the
 * signal that killed it.  Returns 0 or RCP_ERR_TIMEOUT.
 */
int rcp_child_wait(struct rcp_child *c, int timeout_ms, int *status);
/*
 * Sends the child signal sig unless it has been reaped (so never to a pid
 * that another process took since).  Returns 0, or RCP_ERR_NOTFOUND once
 * reaped.
 */
int rcp_child_kill(struct rcp_child *c, int sig);
/*
 * Sends sig to every child not reaped yet.  Async-signal-safe: for a
 * program that must end at once, in its signal handler, without leaving
 * a stopped child behind.
 */
void rcp_child_kill_all(int sig);
/*
 * Closes the pipes and frees c; NULL ok.  A child that has not exited
 * 2.5 s after the EOF on its stdin is sent SIGTERM, then SIGKILL 2 s later,
 * and reaped (given up after 5 s more: a process stuck in the kernel
 * cannot be).
 */
void rcp_child_free(struct rcp_child *c);

#endif
