/*
 * chmode.c: chmod's mode language (chmode.h).  A mode is a list of
 * operations, each a who mask, an operator and a value: permission bits,
 * X, or a copy of the u, g or o bits of the mode as it is at that point.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/error.h"
#include "base/util.h"
#include "fs/chmode.h"

#include "base/banned.h"

#define ALLBITS (S_ISUID | S_ISGID | S_ISVTX | S_IRWXU | S_IRWXG | S_IRWXO)

enum { V_BITS, V_COPY_U, V_COPY_G, V_COPY_O };

struct chop {
	mode_t	 who;		/* affected bits; 0: none given (umask) */
	char	 op;		/* '+', '-', '=' */
	int	 kind;		/* V_* */
	mode_t	 bits;		/* V_BITS: r w x s t as bits of all */
	bool	 cond_x;	/* X */
};

struct rcp_chmode {
	bool		 octal;
	mode_t		 value;		/* octal */
	int		 digits;
	struct chop	*ops;
	size_t		 nops;
};

void
rcp_chmode_free(struct rcp_chmode *m)
{
	if (m == NULL)
		return;
	free(m->ops);
	free(m);
}

static int
parse_octal(const char *s, struct rcp_chmode *m, char **cause)
{
	unsigned long v = 0;
	const char *p;

	for (p = s; *p != '\0'; p++) {
		if (*p < '0' || *p > '7' || p - s >= 8) {
			*cause = rcp_xasprintf("'%s' is not an octal mode", s);
			return RCP_ERR_INVAL;
		}
		v = v * 8 + (unsigned long)(*p - '0');
	}
	if (v & ~(unsigned long)ALLBITS) {
		*cause = rcp_xasprintf("'%s' is not a mode: above 07777", s);
		return RCP_ERR_INVAL;
	}
	m->octal = true;
	m->value = (mode_t)v;
	m->digits = (int)(p - s);
	return 0;
}

static mode_t
who_bits(char c)
{
	switch (c) {
	case 'u':
		return S_ISUID | S_IRWXU;
	case 'g':
		return S_ISGID | S_IRWXG;
	case 'o':
		return S_ISVTX | S_IRWXO;
	default:
		return ALLBITS;
	}
}

static void
add_op(struct rcp_chmode *m, const struct chop *op)
{
	m->ops = rcp_xrealloc(m->ops, (m->nops + 1) * sizeof(*op));
	m->ops[m->nops++] = *op;
}

/* One clause: [ugoa]*([-+=]([rwxXst]*|[ugo]))+ */
static int
parse_clause(const char *c, size_t len, struct rcp_chmode *m)
{
	struct chop op;
	mode_t who = 0;
	size_t i = 0;

	for (; i < len && strchr("ugoa", c[i]) != NULL; i++)
		who |= who_bits(c[i]);
	if (i == len)
		return -1;
	while (i < len) {
		memset(&op, 0, sizeof(op));
		op.who = who;
		if (strchr("+-=", c[i]) == NULL)
			return -1;
		op.op = c[i++];
		if (i < len && strchr("ugo", c[i]) != NULL) {
			op.kind = c[i] == 'u' ? V_COPY_U : c[i] == 'g' ?
			    V_COPY_G : V_COPY_O;
			i++;
		} else {
			for (; i < len && strchr("rwxXst", c[i]) != NULL; i++) {
				switch (c[i]) {
				case 'r': op.bits |= S_IRUSR | S_IRGRP | S_IROTH; break;
				case 'w': op.bits |= S_IWUSR | S_IWGRP | S_IWOTH; break;
				case 'x': op.bits |= S_IXUSR | S_IXGRP | S_IXOTH; break;
				case 'X': op.cond_x = true; break;
				case 's': op.bits |= S_ISUID | S_ISGID; break;
				case 't': op.bits |= S_ISVTX; break;
				}
			}
		}
		add_op(m, &op);
	}
	return 0;
}

int
rcp_chmode_parse(const char *spec, struct rcp_chmode **out, char **cause)
{
	struct rcp_chmode *m = rcp_xcalloc(1, sizeof(*m));
	const char *p = spec, *comma;
	size_t len;
	int r;

	*cause = NULL;
	if (spec[0] >= '0' && spec[0] <= '7') {
		if ((r = parse_octal(spec, m, cause)) != 0) {
			rcp_chmode_free(m);
			return r;
		}
		*out = m;
		return 0;
	}
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0 || parse_clause(p, len, m) != 0) {
			*cause = rcp_xasprintf("'%s' is not a mode (octal, or "
			    "clauses like u=rwx,g+rX,o-w)", spec);
			rcp_chmode_free(m);
			return RCP_ERR_INVAL;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	*out = m;
	return 0;
}

bool
rcp_chmode_is_octal(const struct rcp_chmode *m)
{
	return m->octal;
}

/* The value of op on a mode that is cur now. */
static mode_t
op_value(const struct chop *op, mode_t cur, bool dir)
{
	mode_t v;

	switch (op->kind) {
	case V_COPY_U:
		v = (cur & S_IRWXU) >> 6;
		break;
	case V_COPY_G:
		v = (cur & S_IRWXG) >> 3;
		break;
	case V_COPY_O:
		v = cur & S_IRWXO;
		break;
	default:
		v = op->bits;
		if (op->cond_x && (dir || (cur & (S_IXUSR | S_IXGRP | S_IXOTH))))
			v |= S_IXUSR | S_IXGRP | S_IXOTH;
		return v;
	}
	return v << 6 | v << 3 | v;
}

mode_t
rcp_chmode_apply(const struct rcp_chmode *m, mode_t old, bool dir,
    mode_t umask)
{
	mode_t cur = old & ALLBITS, who, v, keep;
	size_t i;

	if (m->octal) {
		if (dir && m->digits < 5)
			return m->value | (cur & (S_ISUID | S_ISGID));
		return m->value;
	}
	for (i = 0; i < m->nops; i++) {
		const struct chop *op = &m->ops[i];

		who = op->who != 0 ? op->who : ALLBITS;
		v = op_value(op, cur, dir) & who;
		if (op->who == 0)
			v &= ~umask;
		switch (op->op) {
		case '+':
			cur |= v;
			break;
		case '-':
			cur &= ~v;
			break;
		default:
			/* '=': a directory's setid bits stay unless the
			 * clause writes 's'. */
			keep = op->who != 0 ? ~op->who : 0;
			if (dir)
				keep |= (S_ISUID | S_ISGID) & ~op->bits;
			cur = (cur & keep) | v;
			break;
		}
	}
	return cur;
}
