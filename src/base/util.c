/* util.c: allocation, parsing, clocks and formatting helpers. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/util.h"

#include "base/banned.h"

static void
oom(size_t n)
{
	fprintf(stderr, "rcp: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
rcp_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom(n);
	return p;
}

void *
rcp_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom(nmemb * size);
	return p;
}

void *
rcp_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom(n);
	return q;
}

char *
rcp_xstrdup(const char *s)
{
	return rcp_xstrndup(s, strlen(s));
}

void
rcp_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

char *
rcp_xstrndup(const char *s, size_t n)
{
	char *p = rcp_xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
rcp_xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		oom(strlen(fmt));
	return s;
}

char *
rcp_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = rcp_xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

int
rcp_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return RCP_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return RCP_ERR_INVAL;
	*out = v;
	return 0;
}

/*
 * The finite, non-negative decimal number at the start of s, *end after it.
 * Digits (or '.') first: strtod alone would take "nan", "inf", a sign and
 * blanks.  0 or RCP_ERR_INVAL.
 */
static int
parse_number(const char *s, double *v, char **end)
{
	if (s == NULL || ((*s < '0' || *s > '9') && *s != '.'))
		return RCP_ERR_INVAL;
	errno = 0;
	*v = strtod(s, end);
	if (errno != 0 || *end == s || !isfinite(*v) || *v < 0)
		return RCP_ERR_INVAL;
	return 0;
}

int
rcp_parse_double(const char *s, double *out)
{
	char *end;
	double v;

	if (parse_number(s, &v, &end) != 0 || *end != '\0')
		return RCP_ERR_INVAL;
	*out = v;
	return 0;
}

int
rcp_parse_duration(const char *s, bool days, double max_s, uint64_t *ns)
{
	char *end;
	double v;

	if (parse_number(s, &v, &end) != 0)
		return RCP_ERR_INVAL;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		v *= 60;
	else if (days && strcmp(end, "h") == 0)
		v *= 3600;
	else if (days && strcmp(end, "d") == 0)
		v *= 86400;
	else if (*end != '\0' && strcmp(end, "s") != 0)
		return RCP_ERR_INVAL;
	if (!(v >= 0 && v <= max_s))
		return RCP_ERR_INVAL;
	*ns = (uint64_t)(v * 1e9);
	return 0;
}

int
rcp_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGTP";
	unsigned long long v;
	const char *u;
	char *end;
	int shift = 0;

	if (s == NULL || *s < '0' || *s > '9')
		return RCP_ERR_INVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return RCP_ERR_INVAL;
	if (*end != '\0') {
		if (!((end[0] >= 'a' && end[0] <= 'z') ||
		    (end[0] >= 'A' && end[0] <= 'Z')) ||
		    (u = strchr(units, end[0] & ~0x20)) == NULL)
			return RCP_ERR_INVAL;
		shift = 10 * (int)(u - units + 1);
		end++;
		if (strcmp(end, "") != 0 && strcmp(end, "B") != 0 &&
		    strcmp(end, "iB") != 0)
			return RCP_ERR_INVAL;
	} else if (end == s)
		return RCP_ERR_INVAL;
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return RCP_ERR_INVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

uint64_t
rcp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
rcp_deadline_after(int timeout_ms)
{
	if (timeout_ms < 0)
		return 0;
	return rcp_now_ns() + (uint64_t)timeout_ms * 1000000u;
}

bool
rcp_deadline_passed(uint64_t deadline)
{
	return deadline != 0 && rcp_now_ns() >= deadline;
}

#define SLEEP_SLICE_NS 50000000u

int
rcp_sleep_until(uint64_t until_ns, const atomic_bool *cancel)
{
	struct timespec ts;
	uint64_t now, d;

	while ((now = rcp_now_ns()) < until_ns) {
		if (cancel != NULL && atomic_load(cancel))
			return RCP_ERR_CANCELED;
		d = until_ns - now;
		if (d > SLEEP_SLICE_NS)
			d = SLEEP_SLICE_NS;
		ts.tv_sec = (time_t)(d / 1000000000u);
		ts.tv_nsec = (long)(d % 1000000000u);
		nanosleep(&ts, NULL);
	}
	return 0;
}

int
rcp_deadline_ms_left(uint64_t deadline)
{
	uint64_t now, left;

	if (deadline == 0)
		return -1;
	now = rcp_now_ns();
	if (now >= deadline)
		return 0;
	left = (deadline - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

uint64_t
rcp_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
rcp_peak_rss(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (uint64_t)ru.ru_maxrss * 1024;
}

char *
rcp_fmt_bytes(char *buf, size_t len, double n)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	while (n >= 1024 && i + 1 < RCP_ARRAY_SIZE(units)) {
		n /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f B", n);
	else
		snprintf(buf, len, "%.2f %s", n, units[i]);
	return buf;
}

char *
rcp_fmt_duration(char *buf, size_t len, uint64_t ns)
{
	uint64_t s = ns / 1000000000u;

	if (s >= 3600)
		snprintf(buf, len, "%uh%02um%02us", (unsigned)(s / 3600),
		    (unsigned)(s / 60 % 60), (unsigned)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%um%02us", (unsigned)(s / 60),
		    (unsigned)(s % 60));
	else
		snprintf(buf, len, "%.3fs", (double)ns / 1e9);
	return buf;
}

int
rcp_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (int)n;
}

int
rcp_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > INT_MAX ? INT_MAX : (int)rl.rlim_cur;
}

int
rcp_term_cols(int fd)
{
	struct winsize ws;

	if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

int
rcp_usage_error(const char *prog, int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	return code;
}

char *
rcp_getopt_problem(int ch, char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";
	size_t n = strcspn(arg, "=");

	bool dashdash = strncmp(arg, "--", 2) == 0;

	/*
	 * A refused short option is in optopt (the word holding it may not be
	 * passed yet); a long one is the word just passed, less any "=value".
	 * optopt is also set for a long option given a value it takes none of.
	 */
	if (ch == ':' && !dashdash)
		return rcp_xasprintf("option '-%c' needs a value", optopt);
	if (ch == ':')
		return rcp_xasprintf("option '%.*s' needs a value", (int)n,
		    arg);
	if (optopt != 0 && dashdash && arg[n] == '=')
		return rcp_xasprintf("option '%.*s' takes no value", (int)n,
		    arg);
	if (optopt != 0)
		return rcp_xasprintf("unknown option '-%c'", optopt);
	return rcp_xasprintf("unknown option '%.*s'", (int)n, arg);
}

int
rcp_usage_getopt(const char *prog, int code, int ch, char *const *argv)
{
	char *problem = rcp_getopt_problem(ch, argv);

	rcp_usage_error(prog, code, "%s", problem);
	free(problem);
	return code;
}

uint32_t
rcp_hash_str(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}
