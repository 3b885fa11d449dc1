/*
 * tsql_rewrite.h — the few T-SQL → SQLite rewrites dpfleet's queries need, for the dpfleet-tdsd fixture.
 */
#ifndef DPFLEET_TSQL_REWRITE_H
#define DPFLEET_TSQL_REWRITE_H

#include <stddef.h>

#define TSQL_MAX_INPUT	(1024 * 1024)

/*
 * Rewrite a T-SQL batch (UTF-8) for SQLite:
 *   N'..'                     → '..'
 *   [name]                    → "name"
 *   WITH (NOLOCK[, ...]) and the old form (NOLOCK) table hints → removed
 *   SELECT [DISTINCT] TOP n / TOP (n) ... → SELECT [DISTINCT] ... LIMIT n   (top level of a statement only)
 *   dbo. / [dbo]. schema prefixes → removed
 *   ISNULL( → IFNULL(, LEN( → LENGTH(, GETDATE() → datetime('now')
 * String literals, quoted identifiers and comments are copied untouched.  Statements are split on ';' outside
 * parentheses.  Returns 0 and a malloc'd NUL-terminated *out (caller frees); -1 + err for what it cannot
 * translate (TOP in a subquery, TOP PERCENT/WITH TIES, unterminated [identifier], input over TSQL_MAX_INPUT);
 * *out is untouched on failure.
 */
int	tsql_rewrite(const char *in, char **out, char *err, size_t errlen);

#endif
