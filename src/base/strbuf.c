/* strbuf.c: growable buffers and escaping of byte names for display. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/util.h"

#include "base/banned.h"

void
rcp_buf_init(struct rcp_buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
rcp_buf_release(struct rcp_buf *b)
{
	free(b->data);
	rcp_buf_init(b);
}

void
rcp_buf_reset(struct rcp_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void
grow(struct rcp_buf *b, size_t extra)
{
	size_t want = b->len + extra + 1;

	if (want <= b->cap)
		return;
	if (b->cap * 2 > want)
		want = b->cap * 2;
	if (want < 64)
		want = 64;
	b->data = rcp_xrealloc(b->data, want);
	b->cap = want;
}

void
rcp_buf_add(struct rcp_buf *b, const void *p, size_t n)
{
	grow(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
rcp_buf_addstr(struct rcp_buf *b, const char *s)
{
	rcp_buf_add(b, s, strlen(s));
}

void
rcp_buf_addch(struct rcp_buf *b, char c)
{
	rcp_buf_add(b, &c, 1);
}

void
rcp_buf_vaddf(struct rcp_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	grow(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
}

void
rcp_buf_addf(struct rcp_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rcp_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void *
rcp_buf_reserve(struct rcp_buf *b, size_t n)
{
	grow(b, n);
	return b->data + b->len;
}

void
rcp_buf_commit(struct rcp_buf *b, size_t n)
{
	/* requires n <= what rcp_buf_reserve made room for */
	b->len += n;
	b->data[b->len] = '\0';
}

char *
rcp_buf_detach(struct rcp_buf *b)
{
	char *s = b->data != NULL ? b->data : rcp_xstrdup("");

	rcp_buf_init(b);
	return s;
}

const char *
rcp_buf_str(const struct rcp_buf *b)
{
	return b->data != NULL ? b->data : "";
}

/* Returns the length of the UTF-8 sequence at s (1-4), or 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
	    (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

int
rcp_utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if ((k = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += k;
	}
	return 1;
}

void
rcp_buf_add_escaped(struct rcp_buf *b, const char *name, size_t n)
{
	const unsigned char *p = (const unsigned char *)name;
	size_t i = 0, k;

	while (i < n) {
		k = utf8_seq(p + i, n - i);
		if (k == 1 && p[i] == '\\') {
			rcp_buf_add(b, "\\\\", 2);
		} else if (k == 0 || (k == 1 && (p[i] < 0x20 || p[i] == 0x7f))) {
			rcp_buf_addf(b, "\\x%02x", p[i]);
			k = 1;
		} else
			rcp_buf_add(b, p + i, k);
		i += k;
	}
}

char *
rcp_escape(const char *name)
{
	struct rcp_buf b = RCP_BUF_INIT;

	rcp_buf_add_escaped(&b, name, strlen(name));
	return rcp_buf_detach(&b);
}

char *
rcp_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la == 0)
		return rcp_xstrdup(b);
	if (a[la - 1] == '/')
		return rcp_xasprintf("%s%s", a, b);
	return rcp_xasprintf("%s/%s", a, b);
}

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void
rcp_buf_add_base64(struct rcp_buf *b, const void *data, size_t n)
{
	const unsigned char *p = data;
	unsigned v;
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		rcp_buf_addch(b, b64tab[v >> 18]);
		rcp_buf_addch(b, b64tab[(v >> 12) & 63]);
		rcp_buf_addch(b, b64tab[(v >> 6) & 63]);
		rcp_buf_addch(b, b64tab[v & 63]);
	}
	if (i < n) {
		v = (unsigned)p[i] << 16 |
		    (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0);
		rcp_buf_addch(b, b64tab[v >> 18]);
		rcp_buf_addch(b, b64tab[(v >> 12) & 63]);
		rcp_buf_addch(b, i + 1 < n ? b64tab[(v >> 6) & 63] : '=');
		rcp_buf_addch(b, '=');
	}
}

int
rcp_base64_decode(const char *s, char **out)
{
	struct rcp_buf b = RCP_BUF_INIT;
	const char *q;
	unsigned v = 0;
	int bits = 0;

	for (; *s != '\0' && *s != '='; s++) {
		if ((q = strchr(b64tab, *s)) == NULL)
			goto bad;
		v = (v << 6) | (unsigned)(q - b64tab);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (((v >> bits) & 0xff) == 0)
				goto bad;
			rcp_buf_addch(&b, (char)((v >> bits) & 0xff));
		}
	}
	while (*s == '=')
		s++;
	if (*s != '\0' || bits >= 6 || (v & ((1u << bits) - 1)) != 0)
		goto bad;
	*out = rcp_xstrdup(rcp_buf_str(&b));
	rcp_buf_release(&b);
	return 0;
bad:
	rcp_buf_release(&b);
	return -1;
}
