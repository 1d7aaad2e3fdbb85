/*
 * runner-scan.c: the totals scan of a job: how many regular files its
 * local sources hold, and how many bytes, counted as the filter lets them
 * through, so that progress can show totals and an ETA.  It walks with
 * the engine's local source (fs/srcfs.h), relative to directory fds, so a
 * tree deeper than PATH_MAX counts like any other.
 *
 * What counts is what nftw(FTW_PHYS unless -L) counted before: a regular
 * file (a symlink's target with -L) that the filter does not exclude; with
 * -L a directory reached a second time is not walked again.  An entry that
 * vanished or may not be read is skipped; any other error gives no totals.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "fs/filter.h"
#include "fs/srcfs.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

#define SRC (&rcp_src_local)

/* A directory of the walk: its fd and the subdirectories still to enter. */
struct level {
	int		 fd;
	size_t		 rellen;	/* its path's length in scan.rel */
	char		**subdirs;
	size_t		 nsubdirs;
	size_t		 next;
};

/* The directories walked with -L, by device and inode. */
struct dirid {
	dev_t		 dev;
	ino_t		 ino;
	bool		 used;
};

struct scan {
	const struct rcp_filter	*filter;
	atomic_bool		*stop;
	bool			 follow;	/* -L */
	bool			 failed;	/* no totals */
	struct level		*cur;		/* being listed */
	struct rcp_buf		 rel;		/* an entry's path below the root */
	struct dirid		*seen;		/* open addressing; with follow */
	size_t			 nseen;
	size_t			 capseen;	/* a power of two */
	uint64_t		 files;
	uint64_t		 bytes;
};

static size_t
dirid_hash(dev_t dev, ino_t ino)
{
	uint64_t h = ((uint64_t)dev * 0x9e3779b97f4a7c15ull) ^ (uint64_t)ino;

	return (size_t)(h ^ (h >> 29));
}

/* Adds (dev, ino) to the table of cap slots; false if it is there. */
static bool
dirid_insert(struct dirid *t, size_t cap, dev_t dev, ino_t ino)
{
	size_t i, mask = cap - 1;

	for (i = dirid_hash(dev, ino) & mask; t[i].used; i = (i + 1) & mask)
		if (t[i].dev == dev && t[i].ino == ino)
			return false;
	t[i] = (struct dirid){ dev, ino, true };
	return true;
}

/* Records the directory of st; false if it was walked already. */
static bool
seen_add(struct scan *sc, const struct stat *st)
{
	struct dirid *old = sc->seen;
	size_t i, cap = sc->capseen;

	if (2 * (sc->nseen + 1) > cap) {
		sc->capseen = cap == 0 ? 64 : 2 * cap;
		sc->seen = rcp_xcalloc(sc->capseen, sizeof(*sc->seen));
		for (i = 0; i < cap; i++)
			if (old[i].used)
				dirid_insert(sc->seen, sc->capseen, old[i].dev,
				    old[i].ino);
		free(old);
	}
	if (!dirid_insert(sc->seen, sc->capseen, st->st_dev, st->st_ino))
		return false;
	sc->nseen++;
	return true;
}

/* Sets scan.rel to the path of name in the directory of length len. */
static void
rel_set(struct scan *sc, size_t len, const char *name)
{
	sc->rel.len = len;
	if (sc->rel.data != NULL)
		sc->rel.data[len] = '\0';
	if (len > 0)
		rcp_buf_addch(&sc->rel, '/');
	rcp_buf_addstr(&sc->rel, name);
}

/* Whether the filter leaves out the entry at scan.rel. */
static bool
excluded(const struct scan *sc, bool is_dir)
{
	int f;

	if (sc->filter == NULL)
		return false;
	f = rcp_filter_check(sc->filter, rcp_buf_str(&sc->rel), is_dir, false,
	    NULL);
	return f == RCP_FILTER_EXCLUDED || f == RCP_FILTER_NOT_INCLUDED;
}

/* One entry of scan.cur: counted if a file, kept for later if a directory. */
static int
scan_entry(void *arg, const char *name, unsigned char dtype)
{
	struct scan *sc = arg;
	struct level *lv = sc->cur;
	struct stat st;
	int r;

	if (atomic_load_explicit(sc->stop, memory_order_relaxed)) {
		sc->failed = true;
		return 1;
	}
	if ((r = SRC->stat(NULL, lv->fd, name, sc->follow, &st)) != 0) {
		/* Gone, or not ours to see (a dangling link with -L): skip. */
		if (r == -ENOENT || r == -EACCES)
			return 0;
		sc->failed = true;
		return 1;
	}
	rel_set(sc, lv->rellen, name);
	if (excluded(sc, S_ISDIR(st.st_mode)))
		return 0;
	if (S_ISREG(st.st_mode)) {
		sc->files++;
		sc->bytes += (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode) && (!sc->follow || seen_add(sc, &st))) {
		lv->subdirs = rcp_xrealloc(lv->subdirs,
		    (lv->nsubdirs + 1) * sizeof(*lv->subdirs));
		lv->subdirs[lv->nsubdirs++] = rcp_xstrdup(name);
	}
	return 0;
}

static void
level_release(struct level *lv)
{
	size_t i;

	SRC->close(NULL, lv->fd);
	for (i = 0; i < lv->nsubdirs; i++)
		free(lv->subdirs[i]);
	free(lv->subdirs);
}

/* Lists the directory at lv into it; false if the scan cannot go on. */
static bool
level_list(struct scan *sc, struct level *lv)
{
	sc->cur = lv;
	if (SRC->list(NULL, lv->fd, 0, scan_entry, sc) != 0)
		sc->failed = true;
	sc->cur = NULL;
	return !sc->failed;
}

/*
 * Walks the tree below the directory fd (which it closes), depth first
 * with one fd per level, so as deep as fds last.  False: no totals.
 */
static bool
scan_tree(struct scan *sc, int fd)
{
	struct level *stack = rcp_xcalloc(1, sizeof(*stack)), *lv;
	size_t depth = 1, cap = 1;
	const char *name;
	int r, sub;

	stack[0].fd = fd;
	rcp_buf_reset(&sc->rel);
	if (!level_list(sc, &stack[0]))
		goto out;
	while (depth > 0) {
		lv = &stack[depth - 1];
		if (lv->next == lv->nsubdirs) {
			level_release(lv);
			depth--;
			continue;
		}
		name = lv->subdirs[lv->next++];
		rel_set(sc, lv->rellen, name);
		r = SRC->opendir(NULL, lv->fd, name, sc->follow, &sub);
		if (r == -EACCES)
			continue;	/* unreadable: nftw's FTW_DNR */
		if (r != 0) {
			sc->failed = true;
			break;
		}
		if (depth == cap) {
			cap *= 2;
			stack = rcp_xrealloc(stack, cap * sizeof(*stack));
		}
		lv = &stack[depth++];
		memset(lv, 0, sizeof(*lv));
		lv->fd = sub;
		lv->rellen = sc->rel.len;
		if (!level_list(sc, lv))
			break;
	}
out:
	while (depth > 0)
		level_release(&stack[--depth]);
	free(stack);
	return !sc->failed;
}

/* Counts one source, named by an absolute path.  False: no totals. */
static bool
scan_root(struct scan *sc, const char *src)
{
	size_t len = strlen(src);
	char *path = rcp_xstrdup(src), *base = NULL, *cause = NULL;
	struct stat st;
	int dir = -1, fd, r;

	/* Without its trailing slashes, as nftw and the engine take it. */
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	r = SRC->root(NULL, path, sc->follow, &dir, &base, &st, &cause);
	if (r == -ENOENT && sc->follow) {
		/* A dangling link with -L: nftw's FTW_SLN, nothing to count. */
		free(cause);
		cause = NULL;
		if (SRC->root(NULL, path, false, &dir, &base, &st,
		    &cause) == 0) {
			r = S_ISLNK(st.st_mode) ? 0 : -ENOENT;
			goto out;
		}
	}
	if (r != 0) {
		dir = -1;
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		sc->files++;
		sc->bytes += (uint64_t)st.st_size;
	} else if (S_ISDIR(st.st_mode)) {
		if (sc->follow)
			seen_add(sc, &st);
		r = SRC->opendir(NULL, dir, base, sc->follow, &fd);
		if (r == 0)
			r = scan_tree(sc, fd) ? 0 : -ECANCELED;
		else if (r == -EACCES)
			r = 0;	/* unreadable: nftw's FTW_DNR */
	}
out:
	if (dir >= 0)
		SRC->close(NULL, dir);
	free(cause);
	free(base);
	free(path);
	return r == 0;
}

bool
runner_scan(const struct rcp_runner_spec *spec,
    const struct rcp_filter *filter, atomic_bool *stop, uint64_t *files,
    uint64_t *bytes)
{
	struct scan sc;
	bool ok = true;
	size_t i;

	memset(&sc, 0, sizeof(sc));
	sc.filter = filter;
	sc.stop = stop;
	sc.follow = spec->opts->o.dereference;
	rcp_buf_init(&sc.rel);
	for (i = 0; ok && i < spec->nsrcs; i++) {
		/* Like nftw's, a source's directories are its own to skip. */
		sc.nseen = 0;
		if (sc.seen != NULL)
			memset(sc.seen, 0, sc.capseen * sizeof(*sc.seen));
		ok = scan_root(&sc, spec->srcs[i]);
	}
	rcp_buf_release(&sc.rel);
	free(sc.seen);
	if (!ok)
		return false;
	*files = sc.files;
	*bytes = sc.bytes;
	return true;
}
