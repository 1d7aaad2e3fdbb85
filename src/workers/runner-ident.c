/*
 * runner-ident.c: who a job's process is and what it runs: the groups of the
 * user it becomes, and the programs it is started from (this one, or the
 * light rcp-job), opened as fds that it is exec'd from.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"
#include "base/strbuf.h"
#include "base/util.h"
#include "workers/runner.h"

#include "base/banned.h"

gid_t *
rcp_runner_groups(uid_t uid, gid_t gid, int *n)
{
	struct passwd pw, *pwp = NULL;
	char buf[16384];
	gid_t *groups;
	int ng = 64, want;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL) {
		for (; ng <= 65536; ng *= 2) {
			want = ng;
			groups = rcp_xcalloc((size_t)ng, sizeof(gid_t));
			if (getgrouplist(pw.pw_name, gid, groups, &want) >= 0) {
				*n = want;
				return groups;
			}
			free(groups);
		}
	}
	groups = rcp_xmalloc(sizeof(gid_t));
	groups[0] = gid;
	*n = 1;
	return groups;
}

int
rcp_runner_exe_open(char **cause)
{
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		*cause = rcp_xasprintf("cannot open '/proc/self/exe': %s",
		    strerror(errno));
	return fd < 0 ? RCP_ERR_IO : fd;
}

/*
 * Opens rcp-job at path if it is a regular file owned by root or by us and
 * writable by nobody else: it will run with other users' rights.
 */
static int
job_exe_try(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -1;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0 ||
	    (st.st_mode & S_IXUSR) == 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
rcp_runner_job_exe_open(void)
{
	char self[4096], *p, *path;
	ssize_t n;
	int fd;

	/* Next to this program (a build tree), else where it is installed. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((p = strrchr(self, '/')) != NULL) {
			*p = '\0';
			path = rcp_path_join(self, "rcp-job");
			fd = job_exe_try(path);
			free(path);
			if (fd >= 0)
				return fd;
		}
	}
	return job_exe_try(RCP_PKGLIBEXECDIR "/rcp-job");
}
