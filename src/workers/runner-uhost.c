/*
 * runner-uhost.c: users' hosts, the parent's side.  A remote job of
 * another user runs in a process of that user that stays after it (a
 * "host", runner-child.c), serving the user's next remote jobs with the
 * same SSH connections and agents, as the daemon serves its own user's.
 * The master sends it jobs and cancels as JSON lines; one reader thread
 * per host hands its tagged reports to the runner of each job.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cond.h"
#include "base/error.h"
#include "base/fdio.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "control/ctlproto.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/* A job running in a user's host. */
struct hjob {
	json_int_t		 id;
	struct child_state	 cs;		/* what it reported */
	struct hjob		*next;
};

/* A user's host: one process of one user serving their remote jobs. */
struct uhost {
	uid_t			 uid;
	gid_t			 gid;
	pid_t			 pid;
	int			 cmd_fd;	/* its SPEC_FD: our commands */
	int			 rep_fd;	/* its CHILD_FD: its reports */
	pthread_t		 reader;
	struct rcp_uhosts	*hs;
	/* The rest requires hs->lock. */
	bool			 dead;
	char			*why;
	struct hjob		*jobs;
	int			 njobs;
	uint64_t		 idle_since;
	struct uhost		*next;
};

struct rcp_uhosts {
	uint64_t		 idle_ns;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;		/* a job ended, a host died */
	struct uhost		*list;		/* requires lock */
	json_int_t		 next_id;	/* requires lock */
};

struct rcp_uhosts *
rcp_uhosts_new(uint64_t idle_ns)
{
	struct rcp_uhosts *hs = rcp_xcalloc(1, sizeof(*hs));

	hs->idle_ns = idle_ns;
	pthread_mutex_init(&hs->lock, NULL);
	rcp_cond_init_mono(&hs->cond);
	return hs;
}

/* Writes all of b to fd; false if the reader is gone. */
static bool
write_all(int fd, const struct rcp_buf *b)
{
	return rcp_write_full(fd, b->data, b->len) == 0;
}

static bool
send_msg(int fd, json_t *m)
{
	struct rcp_buf b = RCP_BUF_INIT;
	bool ok;

	rcp_ctl_encode(&b, m);
	json_decref(m);
	ok = write_all(fd, &b);
	rcp_buf_release(&b);
	return ok;
}

/* A host's report: to the job it names. */
static void
host_message(void *arg, const json_t *m)
{
	struct uhost *u = arg;
	struct rcp_uhosts *hs = u->hs;
	json_int_t id = rcp_ctl_int(m, "j");
	struct hjob *hj;

	pthread_mutex_lock(&hs->lock);
	for (hj = u->jobs; hj != NULL && hj->id != id; hj = hj->next)
		;
	if (hj != NULL) {
		runner_child_message(&hj->cs, m);
		if (hj->cs.ended)
			pthread_cond_broadcast(&hs->cond);
	}
	pthread_mutex_unlock(&hs->lock);
}

/* Reads a host's reports and hands each to its job, until the host ends. */
static void *
uhost_reader(void *arg)
{
	struct uhost *u = arg;
	struct rcp_uhosts *hs = u->hs;
	struct rcp_ctl_reader in;
	int status = 0;

	rcp_ctl_reader_init(&in, RCP_CTL_MAX_LINE);
	while (runner_read_reports(&in, u->rep_fd, -1, host_message, u))
		;
	rcp_ctl_reader_release(&in);
	while (waitpid(u->pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&hs->lock);
	u->dead = true;
	if (WIFSIGNALED(status))
		u->why = rcp_xasprintf("the job process of uid %u was killed "
		    "by signal %d", (unsigned)u->uid, WTERMSIG(status));
	else
		u->why = rcp_xasprintf("the job process of uid %u exited "
		    "(status %d)", (unsigned)u->uid, WEXITSTATUS(status));
	pthread_cond_broadcast(&hs->cond);
	pthread_mutex_unlock(&hs->lock);
	return NULL;
}

/* Starts a host for spec's user; requires hs->lock. */
static struct uhost *
uhost_spawn(struct rcp_uhosts *hs, const struct rcp_runner_spec *spec,
    char **cause)
{
	struct uhost *u = rcp_xcalloc(1, sizeof(*u));
	struct exec_args a;
	gid_t *groups = NULL;
	int cp[2] = { -1, -1 }, rp[2] = { -1, -1 };
	pid_t pid = -1;

	runner_exec_args_init(&a, spec, "rcp-master-host", &groups);
	if (pipe2(cp, O_CLOEXEC) != 0 || pipe2(rp, O_CLOEXEC) != 0 ||
	    (pid = fork()) < 0) {
		*cause = rcp_xasprintf("cannot start the job process of uid "
		    "%u: %s", (unsigned)spec->uid, strerror(errno));
		goto fail;
	}
	if (pid == 0) {
		a.spec_fd = cp[0];
		a.report_fd = rp[1];
		runner_child_exec(&a);
	}
	close(cp[0]);
	close(rp[1]);
	u->uid = spec->uid;
	u->gid = spec->gid;
	u->pid = pid;
	u->cmd_fd = cp[1];
	u->rep_fd = rp[0];
	u->hs = hs;
	free(groups);
	runner_free_env(a.envp);
	if (!send_msg(u->cmd_fd, json_pack("{s:b,s:I,s:I}", "host", 1,
	    "parent", (json_int_t)getpid(), "idle_ns",
	    (json_int_t)hs->idle_ns)) ||
	    pthread_create(&u->reader, NULL, uhost_reader, u) != 0) {
		*cause = rcp_xasprintf("cannot start the job process of uid "
		    "%u", (unsigned)spec->uid);
		close(u->cmd_fd);
		close(u->rep_fd);
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		free(u);
		return NULL;
	}
	u->next = hs->list;
	hs->list = u;
	return u;
fail:
	for (int i = 0; i < 2; i++) {
		if (cp[i] >= 0)
			close(cp[i]);
		if (rp[i] >= 0)
			close(rp[i]);
	}
	free(groups);
	runner_free_env(a.envp);
	free(u);
	return NULL;
}

/* Runs a remote job of another user in that user's host. */
int
runner_uhost_run(struct rcp_uhosts *hs, struct rcp_runner *r, char **cause)
{
	const struct rcp_runner_spec *spec = r->spec;
	struct hjob *hj, **pp;
	struct uhost *u;
	uint64_t cancel_ns = 0;
	bool killed = false;
	json_t *m;
	int res;

	pthread_mutex_lock(&hs->lock);
	for (u = hs->list; u != NULL; u = u->next)
		if (!u->dead && u->uid == spec->uid && u->gid == spec->gid)
			break;
	if (u == NULL && (u = uhost_spawn(hs, spec, cause)) == NULL) {
		pthread_mutex_unlock(&hs->lock);
		return RCP_ERR_IO;
	}
	hj = rcp_xcalloc(1, sizeof(*hj));
	hj->id = ++hs->next_id;
	hj->cs.r = r;
	hj->next = u->jobs;
	u->jobs = hj;
	u->njobs++;
	m = runner_spec_json(spec);
	json_object_set_new(m, "t", json_string("job"));
	json_object_set_new(m, "j", json_integer(hj->id));
	if (!send_msg(u->cmd_fd, m))
		kill(u->pid, SIGKILL);	/* the reader will say it died */
	while (!hj->cs.ended && !u->dead) {
		rcp_cond_wait_ms(&hs->cond, &hs->lock, 100);
		if (cancel_ns == 0 && rcp_runner_canceled(r)) {
			send_msg(u->cmd_fd, json_pack("{s:s,s:I}", "t",
			    "cancel", "j", (json_int_t)hj->id));
			cancel_ns = rcp_now_ns();
		}
		/* A job that does not stop takes its host down with it. */
		if (cancel_ns != 0 && !killed && rcp_now_ns() - cancel_ns >
		    RCP_RUNNER_GRACE_MS * 1000000ull) {
			kill(u->pid, SIGKILL);
			killed = true;
		}
	}
	if (hj->cs.ended) {
		res = hj->cs.result;
		*cause = hj->cs.cause;
	} else if (rcp_runner_canceled(r)) {
		res = RCP_ERR_CANCELED;
	} else {
		res = RCP_ERR_IO;
		*cause = rcp_xstrdup(u->why);
	}
	for (pp = &u->jobs; *pp != hj; pp = &(*pp)->next)
		;
	*pp = hj->next;
	if (--u->njobs == 0)
		u->idle_since = rcp_now_ns();
	pthread_mutex_unlock(&hs->lock);
	free(hj);
	return res;
}

/* Ends the hosts in gone (unlinked, their commands closed). */
static void
uhosts_reap(struct uhost *gone)
{
	struct uhost *u, *next;

	for (u = gone; u != NULL; u = next) {
		next = u->next;
		pthread_join(u->reader, NULL);
		close(u->rep_fd);
		free(u->why);
		free(u);
	}
}

void
rcp_uhosts_expire(struct rcp_uhosts *hs)
{
	struct uhost *u, **pp, *gone = NULL;
	uint64_t now = rcp_now_ns();

	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->lock);
	for (pp = &hs->list; (u = *pp) != NULL; ) {
		if (u->njobs == 0 && (u->dead ||
		    now - u->idle_since >= hs->idle_ns)) {
			*pp = u->next;
			close(u->cmd_fd);	/* it ends its agents and exits */
			u->next = gone;
			gone = u;
		} else
			pp = &u->next;
	}
	pthread_mutex_unlock(&hs->lock);
	uhosts_reap(gone);
}

void
rcp_uhosts_free(struct rcp_uhosts *hs)
{
	struct uhost *u, *gone;

	if (hs == NULL)
		return;
	pthread_mutex_lock(&hs->lock);
	gone = hs->list;
	hs->list = NULL;
	for (u = gone; u != NULL; u = u->next)
		close(u->cmd_fd);
	pthread_mutex_unlock(&hs->lock);
	uhosts_reap(gone);
	pthread_cond_destroy(&hs->cond);
	pthread_mutex_destroy(&hs->lock);
	free(hs);
}
