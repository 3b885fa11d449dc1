/*
 * test_words.c — lib/words.c against the schema the binaries embed (store_migrations, generated from
 * the migrations/NNNN_name.sql files): the CHECK (column IN (...)) lists of observations.state, jobs.state and jobs.outcome
 * must hold exactly the words of the C tables, in the same order, so a word added on one side only fails
 * here.  Shipped migrations are never edited; a new word needs a new migration and a new table entry.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "store.h"
#include "words.h"

#define MAXW	32

/*
 * The quoted words of the last "CHECK (<col> IN (" list (or "<col> IN (" after "<col> IS NULL OR") that
 * follows "<table> (" in any migration.  Returns the count, -1 if not found.
 */
static int
check_list(const char *table, const char *col, char words[MAXW][64])
{
	char head[128], in[128];
	const char *t, *p, *e, *q;
	size_t i;
	int n = -1;

	snprintf(head, sizeof(head), "CREATE TABLE %s (", table);
	if (strcmp(col, "cloud") == 0)		/* a column added later: ALTER TABLE t ADD COLUMN c ... CHECK */
		snprintf(head, sizeof(head), "ALTER TABLE %s ADD COLUMN %s ", table, col);
	snprintf(in, sizeof(in), "%s IN (", col);
	for (i = 0; i < store_nmigrations; i++) {
		if ((t = strstr(store_migrations[i].sql, head)) == NULL)
			continue;
		if ((e = strstr(t, ");")) == NULL)
			e = t + strlen(t);
		for (p = t; (p = strstr(p, "CHECK (")) != NULL && p < e; p++) {
			if ((q = strstr(p, in)) == NULL || q > strchr(p, ')'))
				continue;
			n = 0;
			for (q += strlen(in); *q != ')' && n < MAXW; ) {
				const char *a = strchr(q, '\''), *b;

				if (a == NULL || (b = strchr(a + 1, '\'')) == NULL || a > strchr(q, ')'))
					break;
				snprintf(words[n++], 64, "%.*s", (int)(b - a - 1), a + 1);
				q = b + 1;
			}
		}
	}
	return n;
}

static void
same(const char *table, const char *col, const char *const *v, int nv)
{
	char words[MAXW][64];
	int n = check_list(table, col, words), i;

	CHECK(n == nv);
	if (n != nv) {
		fprintf(stderr, "%s.%s: the schema lists %d words, lib/words.c %d\n", table, col, n, nv);
		return;
	}
	for (i = 0; i < n; i++)
		CHECK_STR(words[i], v[i]);
}

int
main(void)
{
	same("observations", "state", words_states, WORDS_NSTATES);
	same("jobs", "state", words_jobstates, WORDS_NJOBSTATES);
	same("jobs", "outcome", words_outcomes, WORDS_NOUTCOMES);
	same("hosts", "cloud", words_cloud, WORDS_NCLOUD);
	CHECK(words_cloud_reason("cmg") != NULL && words_cloud_reason("dp") == NULL && !words_cloud_reason(NULL));
	CHECK(words_outcome_good("written") && words_outcome_good("restored") && !words_outcome_good("refused"));
	CHECK(!words_outcome_good(NULL) && words_index(words_states, WORDS_NSTATES, "unknown") == 7);
	return check_done("words");
}
