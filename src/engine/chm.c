/*
 * chm.c: rchm's engine: the walk's operations that change modes and
 * owners (chm.h).  Owner and group first, then the mode, read again if a
 * chown cleared setid bits, as `chown -R` then `chmod -R` would leave it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"
#include "engine/chm.h"
#include "engine/copy.h"
#include "fs/chmode.h"

#include "base/banned.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452	/* Linux 6.6 */
#endif

enum { K_F, K_D, K_L, K_N };

/* What to do to one type of entry. */
struct tset {
	struct rcp_chmode	*mode;
	bool			 set_uid;
	uid_t			 uid;
	bool			 set_gid;
	gid_t			 gid;
};

struct rcp_chm {
	struct rcp_chm_opts	 o;
	struct tset		 t[K_N];
	struct rcp_walk_age	 age;
	struct rcp_walk		*w;
	int			 no_fchmodat2;	/* set once: ENOSYS seen */
};

static int
kind_of(unsigned char type)
{
	return type == DT_DIR ? K_D : type == DT_LNK ? K_L : K_F;
}

/* Splits "f:X" into its kinds (a mask of 1 << K_*) and X; plain: all. */
static const char *
item_kinds(const char *item, unsigned all, unsigned *kinds)
{
	if (item[0] != '\0' && item[1] == ':' && strchr("fdl", item[0])) {
		*kinds = 1u << (item[0] == 'f' ? K_F : item[0] == 'd' ? K_D :
		    K_L);
		return item + 2;
	}
	*kinds = all;
	return item;
}

static int
parse_id(const char *s, bool user, unsigned *id, char **cause)
{
	char buf[16384];
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	uint64_t v;

	if (rcp_parse_uint(s, 0xfffffffe, &v) == 0) {
		*id = (unsigned)v;
		return 0;
	}
	if (user && getpwnam_r(s, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL) {
		*id = pwp->pw_uid;
		return 0;
	}
	if (!user && getgrnam_r(s, &gr, buf, sizeof(buf), &grp) == 0 &&
	    grp != NULL) {
		*id = grp->gr_gid;
		return 0;
	}
	*cause = rcp_xasprintf("--%s: no %s '%s'", user ? "owner" : "group",
	    user ? "user" : "group", s);
	return RCP_ERR_INVAL;
}

/* One item of a spec, for opt ("mode", "owner", "group"). */
static int
parse_item(struct rcp_chm *c, const char *opt, const char *item,
    char **cause)
{
	unsigned kinds, id = 0;
	struct rcp_chmode *m = NULL;
	const char *v;
	char *why = NULL;
	int k, r;

	if (opt[0] == 'm') {
		v = item_kinds(item, 1u << K_F | 1u << K_D, &kinds);
		if (kinds == 1u << K_L) {
			*cause = rcp_xasprintf("--mode: '%s': symlinks have no "
			    "mode", item);
			return RCP_ERR_INVAL;
		}
		for (k = 0; k < K_N; k++) {
			if (!(kinds & 1u << k))
				continue;
			if ((r = rcp_chmode_parse(v, &m, &why)) != 0) {
				*cause = rcp_xasprintf("--mode: %s", why);
				free(why);
				return r;
			}
			rcp_chmode_free(c->t[k].mode);
			c->t[k].mode = m;
		}
		return 0;
	}
	v = item_kinds(item, 1u << K_F | 1u << K_D | 1u << K_L, &kinds);
	if ((r = parse_id(v, opt[0] == 'o', &id, cause)) != 0)
		return r;
	for (k = 0; k < K_N; k++) {
		if (!(kinds & 1u << k))
			continue;
		if (opt[0] == 'o') {
			c->t[k].set_uid = true;
			c->t[k].uid = id;
		} else {
			c->t[k].set_gid = true;
			c->t[k].gid = id;
		}
	}
	return 0;
}

/* A spec: items separated by blanks. */
static int
parse_spec(struct rcp_chm *c, const char *opt, const char *spec,
    char **cause)
{
	char *copy, *p, *item;
	int r = 0, n = 0;

	if (spec == NULL)
		return 0;
	copy = rcp_xstrdup(spec);
	for (p = copy; r == 0 && *p != '\0';) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		item = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
		r = parse_item(c, opt, item, cause);
		n++;
	}
	free(copy);
	if (r == 0 && n == 0) {
		*cause = rcp_xasprintf("--%s: empty", opt);
		r = RCP_ERR_INVAL;
	}
	return r;
}

/* chmod that never follows a symlink: fchmodat2 where the kernel has it
 * (one call), else glibc's O_PATH emulation. */
static int
chmod_at(struct rcp_chm *c, int dirfd, const char *name, mode_t m)
{
	if (!__atomic_load_n(&c->no_fchmodat2, __ATOMIC_RELAXED)) {
		if (syscall(SYS_fchmodat2, dirfd, name, m,
		    AT_SYMLINK_NOFOLLOW) == 0)
			return 0;
		if (errno != ENOSYS)
			return -1;
		__atomic_store_n(&c->no_fchmodat2, 1, __ATOMIC_RELAXED);
	}
	return fchmodat(dirfd, name, m, AT_SYMLINK_NOFOLLOW);
}

static int
do_chown(struct rcp_chm *c, struct rcp_walk *w, const struct rcp_walk_ent *e,
    const struct tset *ts, bool *changed)
{
	const struct statx *x = e->stx;
	uid_t u = ts->set_uid && (x == NULL || x->stx_uid != ts->uid) ?
	    ts->uid : (uid_t)-1;
	gid_t g = ts->set_gid && (x == NULL || x->stx_gid != ts->gid) ?
	    ts->gid : (gid_t)-1;
	char why[64] = "";
	int r;

	if (u == (uid_t)-1 && g == (gid_t)-1)
		return 0;
	if (x != NULL && rcp_walk_reports(w))
		snprintf(why, sizeof(why), "%u:%u -> %d:%d", x->stx_uid,
		    x->stx_gid, u == (uid_t)-1 ? (int)x->stx_uid : (int)u,
		    g == (gid_t)-1 ? (int)x->stx_gid : (int)g);
	rcp_walk_report(w, e, "change owner of", why[0] ? why : NULL);
	*changed = true;
	if (c->o.walk.dry_run != RCP_DRY_NONE)
		return 0;
	r = e->fd >= 0 ? fchown(e->fd, u, g) :
	    fchownat(e->dirfd, e->name, u, g, AT_SYMLINK_NOFOLLOW);
	if (r != 0 && errno != ENOENT)
		return rcp_walk_fail(w, e, "change owner of", errno);
	return 0;
}

static int
do_chmod(struct rcp_chm *c, struct rcp_walk *w, const struct rcp_walk_ent *e,
    const struct tset *ts, mode_t cur, bool known, bool *changed)
{
	bool dir = e->type == DT_DIR;
	mode_t m = rcp_chmode_apply(ts->mode, cur, dir, c->o.umask);
	char why[32] = "";
	int r;

	if (c->o.no_setid && !dir)
		m &= ~(mode_t)(S_ISUID | S_ISGID);
	if (known && m == (cur & 07777))
		return 0;
	if (known && rcp_walk_reports(w))
		snprintf(why, sizeof(why), "%04o -> %04o",
		    (unsigned)(cur & 07777), (unsigned)m);
	rcp_walk_report(w, e, "change mode of", why[0] ? why : NULL);
	*changed = true;
	if (c->o.walk.dry_run != RCP_DRY_NONE)
		return 0;
	r = e->fd >= 0 ? fchmod(e->fd, m) : chmod_at(c, e->dirfd, e->name, m);
	if (r != 0 && errno != ENOENT)
		return rcp_walk_fail(w, e, "change mode of", errno);
	return 0;
}

/* Changes one entry as its type's settings say. */
static int
change(struct rcp_chm *c, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	const struct tset *ts = &c->t[kind_of(e->type)];
	mode_t cur = e->stx != NULL ? e->stx->stx_mode : 0;
	bool changed = false, chowned, known = e->stx != NULL;
	struct stat st;
	int r;

	if ((r = rcp_walk_age_check(w, &c->age, e)) != RCP_WALK_DONE)
		return r;
	if (do_chown(c, w, e, ts, &changed) != 0)
		return RCP_WALK_FAIL;
	chowned = changed;
	if (ts->mode != NULL && e->type != DT_LNK) {
		/* A chown may have cleared setid bits: start from now.
		 * Without a stat (octal modes), only a directory's mode
		 * matters: it keeps its setid bits. */
		if ((chowned && known && c->o.walk.dry_run == RCP_DRY_NONE) ||
		    (!known && e->fd >= 0)) {
			r = e->fd >= 0 ? fstat(e->fd, &st) : fstatat(e->dirfd,
			    e->name, &st, AT_SYMLINK_NOFOLLOW);
			if (r != 0)
				return rcp_walk_fail(w, e, "stat", errno);
			cur = st.st_mode;
			known = true;
		}
		if (do_chmod(c, w, e, ts, cur, known, &changed) != 0)
			return RCP_WALK_FAIL;
	}
	return changed ? RCP_WALK_DONE : RCP_WALK_KEEP;
}

static int
chm_file(void *ctx, struct rcp_walk *w, const struct rcp_walk_ent *e)
{
	return change(ctx, w, e);
}

static const struct rcp_walk_ops chm_ops_pre = {
	.file = chm_file,
	.dir_pre = chm_file,
	.dir_post = NULL
};
static const struct rcp_walk_ops chm_ops_post = {
	.file = chm_file,
	.dir_pre = NULL,
	.dir_post = chm_file
};

/* Whether every mode given is octal (or none is). */
static bool
octal_only(const struct rcp_chm *c)
{
	int k;

	for (k = 0; k < K_N; k++)
		if (c->t[k].mode != NULL && !rcp_chmode_is_octal(c->t[k].mode))
			return false;
	return true;
}

int
rcp_chm_new(const struct rcp_chm_opts *opts, const struct rcp_log *log,
    struct rcp_chm **out, char **cause)
{
	struct rcp_chm *c = rcp_xcalloc(1, sizeof(*c));
	int r;

	*cause = NULL;
	c->o = *opts;
	if ((r = parse_spec(c, "mode", opts->mode, cause)) != 0 ||
	    (r = parse_spec(c, "owner", opts->owner, cause)) != 0 ||
	    (r = parse_spec(c, "group", opts->group, cause)) != 0) {
		rcp_chm_free(c);
		return r;
	}
	if (opts->mode == NULL && opts->owner == NULL && opts->group == NULL) {
		*cause = rcp_xstrdup("nothing to change: give --mode, "
		    "--owner or --group");
		rcp_chm_free(c);
		return RCP_ERR_INVAL;
	}
	rcp_walk_age_init(&c->age, opts->modified_before_ns,
	    opts->created_before_ns);
	c->o.walk.dot_roots = true;	/* rchm --mode g+w . */
	/* An octal mode, an owner or a group needs nothing of the entry:
	 * then no stat is spent on it (only directories are stat'ed, by
	 * their fd), and every entry counts as changed.  A dry run stats,
	 * to say what would change. */
	if (rcp_walk_age_any(&c->age) || !octal_only(c) ||
	    opts->walk.dry_run != RCP_DRY_NONE)
		c->o.walk.statx_mask = STATX_MODE | STATX_UID | STATX_GID |
		    (rcp_walk_age_any(&c->age) ? RCP_WALK_AGE_MASK : 0);
	c->w = rcp_walk_new(&c->o.walk, log, opts->defer_dir_changes ?
	    &chm_ops_post : &chm_ops_pre, c);
	*out = c;
	return 0;
}

void
rcp_chm_free(struct rcp_chm *c)
{
	int k;

	if (c == NULL)
		return;
	rcp_walk_free(c->w);
	for (k = 0; k < K_N; k++)
		rcp_chmode_free(c->t[k].mode);
	free(c);
}

int
rcp_chm_run(struct rcp_chm *c, const char *const *paths, size_t n)
{
	return rcp_walk_run(c->w, paths, n);
}

void
rcp_chm_cancel(struct rcp_chm *c)
{
	rcp_walk_cancel(c->w);
}

void
rcp_chm_stats(struct rcp_chm *c, struct rcp_walk_stats *out)
{
	rcp_walk_stats(c->w, out);
}
