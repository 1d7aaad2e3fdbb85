/* glob.c: byte-string glob matching with '**' for filters. */
#include <stdbool.h>
#include <string.h>

#include "base/glob.h"
#include "base/util.h"

#include "base/banned.h"

/*
 * Matches the class at *pp against c; on return *pp points past the ']'.
 * Returns -1 if the class is not closed.
 */
static int
match_class(const char **pp, unsigned char c)
{
	const unsigned char *p = (const unsigned char *)*pp + 1;
	bool neg = false, hit = false;
	unsigned char lo, hi;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {	/* a leading ']' is literal */
		hit = (c == ']');
		p++;
	}
	while (*p != ']') {
		if (*p == '\0')
			return -1;
		if (*p == '\\' && p[1] != '\0')
			p++;
		lo = *p++;
		hi = lo;
		if (*p == '-' && p[1] != ']' && p[1] != '\0') {
			p++;
			if (*p == '\\' && p[1] != '\0')
				p++;
			hi = *p++;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	*pp = (const char *)p + 1;
	return hit != neg;
}

static bool
match(const char *p, const char *s)
{
	int r;

	while (*p != '\0') {
		if (p[0] == '*' && p[1] == '*') {
			while (*p == '*')
				p++;
			if (*p == '\0')
				return true;
			/* "**\/x" also matches "x" itself. */
			if (*p == '/' && match(p + 1, s))
				return true;
			for (; *s != '\0'; s++)
				if (match(p, s))
					return true;
			return false;
		}
		switch (*p) {
		case '*':
			p++;
			for (;;) {
				if (match(p, s))
					return true;
				if (*s == '\0' || *s == '/')
					return false;
				s++;
			}
		case '?':
			if (*s == '\0' || *s == '/')
				return false;
			p++;
			s++;
			break;
		case '[':
			if (*s == '\0' || *s == '/')
				return false;
			if ((r = match_class(&p, (unsigned char)*s)) <= 0)
				return false;
			s++;
			break;
		case '\\':
			if (p[1] != '\0')
				p++;
			/* FALLTHROUGH */
		default:
			if (*p != *s)
				return false;
			p++;
			s++;
			break;
		}
	}
	return *s == '\0';
}

bool
rcp_glob_match(const char *pat, const char *s)
{
	return match(pat, s);
}

bool
rcp_glob_valid(const char *pat, char **cause)
{
	const char *p = pat;

	while (*p != '\0') {
		if (*p == '\\' && p[1] != '\0')
			p += 2;
		else if (*p == '[') {
			if (match_class(&p, 'a') < 0) {
				*cause = rcp_xasprintf("unclosed '[' in pattern "
				    "'%s'", pat);
				return false;
			}
		} else
			p++;
	}
	return true;
}
