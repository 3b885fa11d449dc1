/*
 * tsql_rewrite.c — a single-pass lexer that turns the T-SQL dpfleet's scanner sends into SQL SQLite accepts,
 * for the dpfleet-tdsd fixture (called by sqlexec.c once per batch, and by the unit tests and the fuzz
 * target).  It is not a parser: it recognises strings, quoted and bracketed identifiers, comments, words and
 * parentheses, and applies the rewrites listed in tsql_rewrite.h by looking at the next word or parenthesised
 * group.  Anything it does not recognise is copied verbatim, so SQLite reports it as a syntax error, which
 * the server turns into an ERROR token.  The output is bounded: each rewrite shrinks the text except
 * "LIMIT n" (once per statement), GETDATE and the doubled quotes of [a"b] identifiers, so 2 × input + 64 per
 * statement is a safe cap; it is enforced rather than assumed.
 */
#include "tsql_rewrite.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct out {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static int
out_put(struct out *o, const char *s, size_t n)
{
	if (n > o->cap - o->len - 1)
		return -1;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
	return 0;
}

static int
is_word_start(int c)
{
	return isalpha(c) || c == '_' || c == '@' || c == '#';
}

static int
is_word_char(int c)
{
	return isalnum(c) || c == '_' || c == '@' || c == '#' || c == '$';
}

static size_t
skip_ws(const char *s, size_t i)
{
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
		i++;
	return i;
}

static int
word_is(const char *s, size_t start, size_t end, const char *kw)
{
	size_t n = strlen(kw);

	return end - start == n && strncasecmp(s + start, kw, n) == 0;
}

static size_t
word_end(const char *s, size_t i)
{
	while (s[i] && is_word_char((unsigned char)s[i]))
		i++;
	return i;
}

/*
 * At s[i] == '(': if the group is a table-hint list (NOLOCK, READUNCOMMITTED, ...), return the index after
 * ')'; otherwise 0.
 */
static size_t
hint_group(const char *s, size_t i)
{
	static const char *const hints[] = { "NOLOCK", "READUNCOMMITTED", "READCOMMITTED", "READPAST", "ROWLOCK",
	    "PAGLOCK", "TABLOCK", "HOLDLOCK", "NOWAIT", "UPDLOCK", "XLOCK", "SERIALIZABLE", "REPEATABLEREAD",
	    NULL };
	size_t	 ws, we;
	int	 k, ok;

	i++;
	for (;;) {
		i = skip_ws(s, i);
		ws = i;
		we = word_end(s, i);
		if (we == ws)
			return 0;
		for (ok = 0, k = 0; hints[k]; k++)
			if (word_is(s, ws, we, hints[k]))
				ok = 1;
		if (!ok)
			return 0;
		i = skip_ws(s, we);
		if (s[i] == ')')
			return i + 1;
		if (s[i] != ',')
			return 0;
		i++;
	}
}

/* The lexer's state over one batch: the input, the position, the output, and the statement being read. */
struct rw {
	const char	*in;
	size_t		 n;
	size_t		 i;		/* next input byte */
	struct out	 o;
	int		 depth;		/* parentheses open */
	int		 select_seen;	/* in this statement */
	long long	 limit;		/* TOP n of this statement, -1 if none */
	char		*err;
	size_t		 errlen;
};

/* out_put() with the overflow reported in the batch's err: 0, or -1. */
static int
put(struct rw *r, const char *s, size_t n)
{
	if (out_put(&r->o, s, n) == -1)
		return util_err(r->err, r->errlen, "rewritten batch too long");
	return 0;
}

/* A comment (c is '-' or '/') or a string literal (c is its quote) at in[i], copied verbatim. */
static int
copy_verbatim(struct rw *r, unsigned char c)
{
	const char *in = r->in;
	size_t i = r->i, j, n = r->n;

	if (c == '-') {
		for (j = i; j < n && in[j] != '\n'; j++)
			;
	} else if (c == '/') {
		const char *e = strstr(in + i + 2, "*/");

		j = e ? (size_t)(e - in) + 2 : n;
	} else {
		for (j = i + 1; j < n; j++) {
			if (in[j] == (char)c) {
				if (in[j + 1] == (char)c) {
					j++;
					continue;
				}
				j++;
				break;
			}
		}
	}
	r->i = j;
	return put(r, in + i, j - i);
}

/* [identifier] at in[i] becomes "identifier" (]] is a ], a " is doubled). */
static int
bracket_ident(struct rw *r)
{
	const char *in = r->in;
	size_t j;

	if (put(r, "\"", 1) == -1)
		return -1;
	for (j = r->i + 1;; j++) {
		if (j >= r->n)
			return util_err(r->err, r->errlen, "unterminated [identifier]");
		if (in[j] == ']') {
			if (in[j + 1] == ']') {
				if (put(r, "]", 1) == -1)
					return -1;
				j++;
				continue;
			}
			break;
		}
		if (in[j] == '"' ? put(r, "\"\"", 2) == -1 : put(r, in + j, 1) == -1)
			return -1;
	}
	r->i = j + 1;
	return put(r, "\"", 1);
}

/* TOP n or TOP (n) from in[ke] (after the word TOP): dropped, n kept as the statement's LIMIT. */
static int
top_count(struct rw *r, size_t ke)
{
	const char *in = r->in;
	size_t p = skip_ws(in, ke), k;
	int paren = 0;
	char *endp;

	if (r->depth > 0 || r->select_seen)
		return util_err(r->err, r->errlen, "TOP is supported only in a statement's first SELECT");
	if (in[p] == '(') {
		paren = 1;
		p = skip_ws(in, p + 1);
	}
	if (!isdigit((unsigned char)in[p]))
		return util_err(r->err, r->errlen, "TOP needs a literal row count");
	r->limit = strtoll(in + p, &endp, 10);
	p = (size_t)(endp - in);
	if (paren) {
		p = skip_ws(in, p);
		if (in[p] != ')')
			return util_err(r->err, r->errlen, "TOP (n): missing ')'");
		p++;
	}
	k = skip_ws(in, p);
	ke = word_end(in, k);
	if (word_is(in, k, ke, "PERCENT") || word_is(in, k, ke, "WITH"))
		return util_err(r->err, r->errlen, "TOP ... PERCENT / WITH TIES is not supported");
	r->i = p;
	return 0;
}

/* SELECT at in[i..we): copied, with an optional DISTINCT/ALL, then TOP n handed to top_count(). */
static int
select_top(struct rw *r, size_t we)
{
	const char *in = r->in;
	size_t k, ke;

	if (put(r, in + r->i, we - r->i) == -1)
		return -1;
	r->i = we;
	k = skip_ws(in, r->i);
	ke = word_end(in, k);
	if (word_is(in, k, ke, "DISTINCT") || word_is(in, k, ke, "ALL")) {
		if (put(r, in + r->i, ke - r->i) == -1)
			return -1;
		r->i = ke;
		k = skip_ws(in, r->i);
		ke = word_end(in, k);
	}
	if (word_is(in, k, ke, "TOP") && top_count(r, ke) == -1)
		return -1;
	r->select_seen = 1;
	return 0;
}

/* A word at in[i]: schema prefix and table hints dropped, SELECT [TOP n], the functions renamed. */
static int
word(struct rw *r)
{
	const char *in = r->in;
	size_t i = r->i, we = word_end(in, i), j = skip_ws(in, we);

	if (word_is(in, i, we, "dbo") && in[we] == '.') {
		r->i = we + 1;	/* schema prefix: SQLite has one schema */
		return 0;
	}
	if (word_is(in, i, we, "WITH") && in[j] == '(' && (j = hint_group(in, j)) != 0) {
		r->i = j;	/* table hint dropped */
		return 0;
	}
	if (word_is(in, i, we, "SELECT"))
		return select_top(r, we);
	if (word_is(in, i, we, "ISNULL") && in[j] == '(') {
		if (put(r, "IFNULL", 6) == -1)
			return -1;
	} else if (word_is(in, i, we, "LEN") && in[j] == '(') {
		if (put(r, "LENGTH", 6) == -1)
			return -1;
	} else if (word_is(in, i, we, "GETDATE") && in[j] == '(' && in[skip_ws(in, j + 1)] == ')') {
		r->i = skip_ws(in, j + 1) + 1;
		return put(r, "datetime('now')", 15);
	} else if (put(r, in + i, we - i) == -1)
		return -1;
	r->i = we;
	return 0;
}

/* The statement's LIMIT, if it had a TOP n. */
static int
put_limit(struct rw *r)
{
	char num[32];

	if (r->limit < 0)
		return 0;
	snprintf(num, sizeof(num), "\nLIMIT %lld", r->limit);
	return put(r, num, strlen(num));
}

/* One token at in[i], rewritten or copied; 0, or -1 with err written. */
static int
lex_one(struct rw *r)
{
	const char *in = r->in;
	unsigned char c = (unsigned char)in[r->i];
	size_t j;

	if ((c == '-' && in[r->i + 1] == '-') || (c == '/' && in[r->i + 1] == '*') || c == '\'' || c == '"')
		return copy_verbatim(r, c);
	if (c == '[' && strncasecmp(in + r->i, "[dbo].", 6) == 0) {
		r->i += 6;	/* schema prefix: SQLite has one schema */
		return 0;
	}
	if (c == '[')
		return bracket_ident(r);
	if ((c == 'N' || c == 'n') && in[r->i + 1] == '\'' &&
	    (r->i == 0 || !is_word_char((unsigned char)in[r->i - 1]))) {
		r->i++;	/* N'..' → '..': the literal itself is copied on the next turn */
		return 0;
	}
	if (is_word_start(c))
		return word(r);
	if (c == '(') {
		if ((j = hint_group(in, r->i)) != 0) {	/* old-style "FROM t (NOLOCK)" */
			r->i = j;
			return 0;
		}
		r->depth++;
		r->i++;
		return put(r, "(", 1);
	}
	if (c == ')') {
		if (r->depth > 0)
			r->depth--;
		r->i++;
		return put(r, ")", 1);
	}
	if (c == ';' && r->depth == 0) {
		if (put_limit(r) == -1)
			return -1;
		r->limit = -1;
		r->select_seen = 0;
		r->i++;
		return put(r, ";", 1);
	}
	r->i++;
	return put(r, in + r->i - 1, 1);
}

int
tsql_rewrite(const char *in, char **out, char *err, size_t errlen)
{
	struct rw r = { in, strlen(in), 0, { NULL, 0, 0 }, 0, 0, -1, err, errlen };
	size_t j, nstmt = 1;

	if (r.n > TSQL_MAX_INPUT)
		return util_err(err, errlen, "batch of %zu bytes over the %d-byte limit", r.n, TSQL_MAX_INPUT);
	for (j = 0; j < r.n; j++)
		if (in[j] == ';')
			nstmt++;
	r.o.cap = 2 * r.n + 64 * nstmt + 1;
	if ((r.o.p = malloc(r.o.cap)) == NULL)
		return util_err(err, errlen, "out of memory");
	r.o.p[0] = '\0';
	while (r.i < r.n)
		if (lex_one(&r) == -1)
			goto fail;
	if (put_limit(&r) == -1)
		goto fail;
	*out = r.o.p;
	return 0;
fail:
	free(r.o.p);
	return -1;
}
