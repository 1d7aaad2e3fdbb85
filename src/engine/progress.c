/* progress.c: formatting of progress lines, bars and summaries. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/strbuf.h"
#include "base/util.h"
#include "engine/progress.h"

#include "base/banned.h"

static void
timestamp(struct rcp_buf *b)
{
	struct timespec ts;
	struct tm tm;
	char buf[64];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	rcp_buf_addf(b, "%s.%03ldZ", buf, ts.tv_nsec / 1000000);
}

void
rcp_progress_text(struct rcp_buf *b, const struct rcp_copy_stats *s,
    uint64_t elapsed_ns, double rate)
{
	char bytes[32], r[32], t[32];

	timestamp(b);
	rcp_buf_addf(b, " elapsed %s copied %s (%s/s) files %llu dirs %llu "
	    "symlinks %llu unchanged %llu skipped %llu errors %llu",
	    rcp_fmt_duration(t, sizeof(t), elapsed_ns),
	    rcp_fmt_bytes(bytes, sizeof(bytes), (double)s->bytes_copied),
	    rcp_fmt_bytes(r, sizeof(r), rate),
	    (unsigned long long)s->files_copied,
	    (unsigned long long)s->dirs_created,
	    (unsigned long long)s->symlinks_created,
	    (unsigned long long)(s->files_unchanged + s->dirs_unchanged +
	    s->symlinks_unchanged),
	    (unsigned long long)s->skipped, (unsigned long long)s->errors);
}

void
rcp_progress_bar(struct rcp_buf *b, const struct rcp_copy_stats *s,
    uint64_t elapsed_ns, double rate, int cols)
{
	static const char spin[] = "|/-\\";
	char bytes[32], r[32], line[256];
	uint64_t sec = elapsed_ns / 1000000000u;
	int n;

	n = snprintf(line, sizeof(line), "[%c] %s  %s/s  files %llu  dirs %llu"
	    "  errors %llu  %02u:%02u:%02u",
	    spin[(elapsed_ns / 250000000u) % 4],
	    rcp_fmt_bytes(bytes, sizeof(bytes), (double)s->bytes_copied),
	    rcp_fmt_bytes(r, sizeof(r), rate),
	    (unsigned long long)s->files_copied,
	    (unsigned long long)s->dirs_created,
	    (unsigned long long)s->errors, (unsigned)(sec / 3600),
	    (unsigned)(sec / 60 % 60), (unsigned)(sec % 60));
	if (n < 0)
		return;
	if (cols > 1 && n > cols - 1)
		n = cols - 1;
	rcp_buf_add(b, line, (size_t)n);
}

void
rcp_progress_summary(struct rcp_buf *b, const struct rcp_copy_stats *s,
    const struct rcp_runstats *rs)
{
	char bytes[32], t[32], cpu[32], rss[32], rate[32];
	double secs = (double)rs->wall_ns / 1e9;

	rcp_buf_addf(b,
	    "bytes copied: %s (%llu bytes, %s/s)\n"
	    "files copied: %llu\n"
	    "directories created: %llu\n"
	    "symlinks created: %llu\n"
	    "hard links created: %llu\n"
	    "special files created: %llu\n"
	    "files unchanged: %llu\n"
	    "directories unchanged: %llu\n"
	    "symlinks unchanged: %llu\n"
	    "removed: %llu\n"
	    "skipped: %llu\n"
	    "errors: %llu\n"
	    "walltime: %s\n"
	    "cpu time: %s\n"
	    "peak rss: %s\n",
	    rcp_fmt_bytes(bytes, sizeof(bytes), (double)s->bytes_copied),
	    (unsigned long long)s->bytes_copied,
	    rcp_fmt_bytes(rate, sizeof(rate), secs > 0 ?
	    (double)s->bytes_copied / secs : 0),
	    (unsigned long long)s->files_copied,
	    (unsigned long long)s->dirs_created,
	    (unsigned long long)s->symlinks_created,
	    (unsigned long long)s->hard_links_created,
	    (unsigned long long)s->specials_created,
	    (unsigned long long)s->files_unchanged,
	    (unsigned long long)s->dirs_unchanged,
	    (unsigned long long)s->symlinks_unchanged,
	    (unsigned long long)s->removed, (unsigned long long)s->skipped,
	    (unsigned long long)s->errors,
	    rcp_fmt_duration(t, sizeof(t), rs->wall_ns),
	    rcp_fmt_duration(cpu, sizeof(cpu), rs->cpu_ns),
	    rcp_fmt_bytes(rss, sizeof(rss), (double)rs->peak_rss));
	/* Only a copy that verified says so: others keep their summary. */
	if (s->files_verified == 0 && s->bytes_verified == 0 &&
	    s->verify_mismatches == 0)
		return;
	rcp_buf_addf(b,
	    "files verified: %llu\n"
	    "bytes verified: %s (%llu bytes)\n"
	    "verify mismatches: %llu\n",
	    (unsigned long long)s->files_verified,
	    rcp_fmt_bytes(bytes, sizeof(bytes), (double)s->bytes_verified),
	    (unsigned long long)s->bytes_verified,
	    (unsigned long long)s->verify_mismatches);
}

void
rcp_runstats_now(struct rcp_runstats *rs, uint64_t start_ns)
{
	rs->wall_ns = rcp_now_ns() - start_ns;
	rs->cpu_ns = rcp_cpu_ns();
	rs->peak_rss = rcp_peak_rss();
}
