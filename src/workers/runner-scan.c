/*
 * runner-scan.c: the totals scan of a job: how many regular files its
 * local sources hold, and how many bytes, counted as the filter lets them
 * through, so that progress can show totals and an ETA.
 */
#include <ftw.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/filter.h"
#include "workers/runner.h"
#include "workers/runner-int.h"

#include "base/banned.h"

/* Open directories of the totals scan. */
#define SCAN_FDS 16

struct scan {
	const struct rcp_filter	*filter;
	atomic_bool		*stop;
	size_t			 rootlen;
	uint64_t		 files;
	uint64_t		 bytes;
};

/* nftw has no argument for its callback. */
static __thread struct scan *tls_scan;

static int
scan_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	struct scan *sc = tls_scan;
	const char *rel;
	int f;

	if (atomic_load_explicit(sc->stop, memory_order_relaxed))
		return FTW_STOP;
	if (ftw->level > 0 && sc->filter != NULL) {
		for (rel = path + sc->rootlen; *rel == '/'; rel++)
			;
		f = rcp_filter_check(sc->filter, rel, flag == FTW_D, false,
		    NULL);
		if (f == RCP_FILTER_EXCLUDED || f == RCP_FILTER_NOT_INCLUDED)
			return flag == FTW_D ? FTW_SKIP_SUBTREE : FTW_CONTINUE;
	}
	if (flag == FTW_F && S_ISREG(st->st_mode)) {
		sc->files++;
		sc->bytes += (uint64_t)st->st_size;
	}
	return FTW_CONTINUE;
}

bool
runner_scan(const struct rcp_runner_spec *spec,
    const struct rcp_filter *filter, atomic_bool *stop, uint64_t *files,
    uint64_t *bytes)
{
	struct scan sc = { .stop = stop };
	size_t i;
	int flags = FTW_ACTIONRETVAL | (spec->opts->o.dereference ? 0 : FTW_PHYS);

	sc.filter = filter;
	tls_scan = &sc;
	for (i = 0; i < spec->nsrcs; i++) {
		sc.rootlen = strlen(spec->srcs[i]);
		if (nftw(spec->srcs[i], scan_one, SCAN_FDS, flags) != 0)
			break;	/* stopped, or unreadable: no totals */
	}
	tls_scan = NULL;
	if (i < spec->nsrcs)
		return false;
	*files = sc.files;
	*bytes = sc.bytes;
	return true;
}
