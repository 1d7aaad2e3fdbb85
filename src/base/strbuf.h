/*
 * strbuf.h: a growable byte buffer (always NUL-terminated) and the escaping
 * used to show file names, which are bytes, in messages and JSON.
 */
#ifndef RCP_STRBUF_H
#define RCP_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct rcp_buf {
	char	*data;	/* NUL-terminated; "" when empty; owned */
	size_t	 len;
	size_t	 cap;
};

#define RCP_BUF_INIT { NULL, 0, 0 }

void rcp_buf_init(struct rcp_buf *b);
/* Frees the buffer's memory; the buffer may be reused after rcp_buf_init. */
void rcp_buf_release(struct rcp_buf *b);
void rcp_buf_reset(struct rcp_buf *b);
void rcp_buf_add(struct rcp_buf *b, const void *p, size_t n);
void rcp_buf_addstr(struct rcp_buf *b, const char *s);
void rcp_buf_addch(struct rcp_buf *b, char c);
void rcp_buf_addf(struct rcp_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rcp_buf_vaddf(struct rcp_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/*
 * Makes room for n more bytes and returns where they go (data + len); the
 * caller writes up to n bytes there and then calls rcp_buf_commit with the
 * number written.  For reading straight into a buffer without a copy.
 */
void *rcp_buf_reserve(struct rcp_buf *b, size_t n);
void rcp_buf_commit(struct rcp_buf *b, size_t n);
/* Returns the contents as a string the caller owns; the buffer is emptied. */
char *rcp_buf_detach(struct rcp_buf *b);
/* Returns the buffer's string ("" if never written). */
const char *rcp_buf_str(const struct rcp_buf *b);

/*
 * Appends name for display: valid UTF-8 is copied, every other byte and every
 * control character is written as \xNN (backslash as \\), so that any name
 * prints on one line and the original bytes can be read back.
 */
void rcp_buf_add_escaped(struct rcp_buf *b, const char *name, size_t n);

/* Returns an escaped copy of name (see rcp_buf_add_escaped); caller frees. */
char *rcp_escape(const char *name);

/* Appends the n bytes at p in base64 (RFC 4648, with padding). */
void rcp_buf_add_base64(struct rcp_buf *b, const void *p, size_t n);

/*
 * Decodes base64 s (RFC 4648, padding optional) into a new NUL-terminated
 * string *out (caller frees).  Returns 0, or -1 if s is not base64 or its
 * bytes hold a NUL.
 */
int rcp_base64_decode(const char *s, char **out);

/* Returns 1 if the n bytes at s are valid UTF-8, else 0. */
int rcp_utf8_valid(const char *s, size_t n);

/* Returns "a/b" for ("a", "b"), "b" when a is empty; caller frees. */
char *rcp_path_join(const char *a, const char *b);

#endif
