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

int
tsql_rewrite(const char *in, char **out, char *err, size_t errlen)
{
	struct out o = { NULL, 0, 0 };
	size_t	 n = strlen(in), i = 0, j, we, nstmt = 1;
	int	 depth = 0, select_seen = 0, rc = -1;
	long long limit = -1;
	char	 num[32];

	if (n > TSQL_MAX_INPUT)
		return util_err(err, errlen, "batch of %zu bytes over the %d-byte limit", n, TSQL_MAX_INPUT);
	for (j = 0; j < n; j++)
		if (in[j] == ';')
			nstmt++;
	o.cap = 2 * n + 64 * nstmt + 1;
	if ((o.p = malloc(o.cap)) == NULL)
		return util_err(err, errlen, "out of memory");
	o.p[0] = '\0';

	while (i < n) {
		unsigned char c = (unsigned char)in[i];

		if (c == '-' && in[i + 1] == '-') {
			for (j = i; j < n && in[j] != '\n'; j++)
				;
			if (out_put(&o, in + i, j - i) == -1)
				goto overflow;
			i = j;
		} else if (c == '/' && in[i + 1] == '*') {
			const char *e = strstr(in + i + 2, "*/");

			j = e ? (size_t)(e - in) + 2 : n;
			if (out_put(&o, in + i, j - i) == -1)
				goto overflow;
			i = j;
		} else if (c == '\'' || c == '"') {
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
			if (out_put(&o, in + i, j - i) == -1)
				goto overflow;
			i = j;
		} else if (c == '[' && strncasecmp(in + i, "[dbo].", 6) == 0) {
			i += 6;	/* schema prefix: SQLite has one schema */
		} else if (c == '[') {
			if (out_put(&o, "\"", 1) == -1)
				goto overflow;
			for (j = i + 1;; j++) {
				if (j >= n) {
					util_err(err, errlen, "unterminated [identifier]");
					goto done;
				}
				if (in[j] == ']') {
					if (in[j + 1] == ']') {
						if (out_put(&o, "]", 1) == -1)
							goto overflow;
						j++;
						continue;
					}
					break;
				}
				if (in[j] == '"' ? out_put(&o, "\"\"", 2) == -1 : out_put(&o, in + j, 1) == -1)
					goto overflow;
			}
			if (out_put(&o, "\"", 1) == -1)
				goto overflow;
			i = j + 1;
		} else if ((c == 'N' || c == 'n') && in[i + 1] == '\'' &&
		    (i == 0 || !is_word_char((unsigned char)in[i - 1]))) {
			i++;	/* N'..' → '..': the literal itself is copied on the next turn */
		} else if (is_word_start(c)) {
			we = word_end(in, i);
			j = skip_ws(in, we);
			if (word_is(in, i, we, "dbo") && in[we] == '.') {
				i = we + 1;	/* schema prefix: SQLite has one schema */
				continue;
			}
			if (word_is(in, i, we, "WITH") && in[j] == '(' && (j = hint_group(in, j)) != 0) {
				i = j;	/* table hint dropped */
				continue;
			}
			if (word_is(in, i, we, "SELECT")) {
				if (out_put(&o, in + i, we - i) == -1)
					goto overflow;
				i = we;
				/* Optional DISTINCT/ALL, then TOP n. */
				size_t k = skip_ws(in, i), ke = word_end(in, k);

				if (word_is(in, k, ke, "DISTINCT") || word_is(in, k, ke, "ALL")) {
					if (out_put(&o, in + i, ke - i) == -1)
						goto overflow;
					i = ke;
					k = skip_ws(in, i);
					ke = word_end(in, k);
				}
				if (word_is(in, k, ke, "TOP")) {
					size_t p = skip_ws(in, ke);
					int paren = 0;
					char *endp;

					if (depth > 0 || select_seen) {
						util_err(err, errlen, "TOP is supported only in a statement's first SELECT");
						goto done;
					}
					if (in[p] == '(') {
						paren = 1;
						p = skip_ws(in, p + 1);
					}
					if (!isdigit((unsigned char)in[p])) {
						util_err(err, errlen, "TOP needs a literal row count");
						goto done;
					}
					limit = strtoll(in + p, &endp, 10);
					p = (size_t)(endp - in);
					if (paren) {
						p = skip_ws(in, p);
						if (in[p] != ')') {
							util_err(err, errlen, "TOP (n): missing ')'");
							goto done;
						}
						p++;
					}
					k = skip_ws(in, p);
					ke = word_end(in, k);
					if (word_is(in, k, ke, "PERCENT") || word_is(in, k, ke, "WITH")) {
						util_err(err, errlen, "TOP ... PERCENT / WITH TIES is not supported");
						goto done;
					}
					i = p;
				}
				select_seen = 1;
				continue;
			}
			if (word_is(in, i, we, "ISNULL") && in[j] == '(') {
				if (out_put(&o, "IFNULL", 6) == -1)
					goto overflow;
			} else if (word_is(in, i, we, "LEN") && in[j] == '(') {
				if (out_put(&o, "LENGTH", 6) == -1)
					goto overflow;
			} else if (word_is(in, i, we, "GETDATE") && in[j] == '(' && in[skip_ws(in, j + 1)] == ')') {
				if (out_put(&o, "datetime('now')", 15) == -1)
					goto overflow;
				i = skip_ws(in, j + 1) + 1;
				continue;
			} else if (out_put(&o, in + i, we - i) == -1)
				goto overflow;
			i = we;
		} else if (c == '(') {
			if ((j = hint_group(in, i)) != 0) {	/* old-style "FROM t (NOLOCK)" */
				i = j;
				continue;
			}
			depth++;
			if (out_put(&o, "(", 1) == -1)
				goto overflow;
			i++;
		} else if (c == ')') {
			if (depth > 0)
				depth--;
			if (out_put(&o, ")", 1) == -1)
				goto overflow;
			i++;
		} else if (c == ';' && depth == 0) {
			if (limit >= 0) {
				snprintf(num, sizeof(num), "\nLIMIT %lld", limit);
				if (out_put(&o, num, strlen(num)) == -1)
					goto overflow;
			}
			limit = -1;
			select_seen = 0;
			if (out_put(&o, ";", 1) == -1)
				goto overflow;
			i++;
		} else {
			if (out_put(&o, in + i, 1) == -1)
				goto overflow;
			i++;
		}
	}
	if (limit >= 0) {
		snprintf(num, sizeof(num), "\nLIMIT %lld", limit);
		if (out_put(&o, num, strlen(num)) == -1)
			goto overflow;
	}
	*out = o.p;
	o.p = NULL;
	rc = 0;
	goto done;
overflow:
	util_err(err, errlen, "rewritten batch too long");
done:
	free(o.p);
	return rc;
}
