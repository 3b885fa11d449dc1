/*
 * words.h — the one table of the state and outcome words the state DB, the API and the scanner share: a
 * host's verdict state, a job's state and a job's outcome (and which outcomes count as success).  The
 * migrations' CHECK (... IN (...)) lists must say the same words: tests/unit/test_words.c reads the
 * embedded schema and fails on any drift.  The unreachable reasons are lib/reason.h's table.
 */
#ifndef DPFLEET_WORDS_H
#define DPFLEET_WORDS_H

#include <stddef.h>

#define WORDS_NSTATES		8	/* observations.state, in enum verdict_state order */
#define WORDS_NJOBSTATES	5	/* jobs.state */
#define WORDS_NOUTCOMES		8	/* jobs.outcome */
#define WORDS_NCLOUD		2	/* hosts.cloud (NULL = on premises) */

extern const char *const words_states[WORDS_NSTATES];
extern const char *const words_jobstates[WORDS_NJOBSTATES];
extern const char *const words_outcomes[WORDS_NOUTCOMES];
/*
 * The kinds of host dpfleet lists but never scans nor fixes (hosts.cloud): "cloud_dp" (a cloud distribution
 * point) and "cmg" (a cloud management gateway), recognised by scanner/sitedb.c.
 */
extern const char *const words_cloud[WORDS_NCLOUD];
/* What the dashboard, the CSV and the API show for such a host instead of a verdict. */
#define WORDS_CLOUD_SHOWN	"cloud — not scanned"

/* The index of word in v (n entries), or -1 (also for NULL). */
int	 words_index(const char *const *v, size_t n, const char *word);
/*
 * The one-line reason a host of cloud kind `kind` is not scanned (static text), or NULL when kind is not a
 * words_cloud word.
 */
const char *words_cloud_reason(const char *kind);
/* 1 when outcome leaves a job done (written, already_correct, would_write, restored), else 0. */
int	 words_outcome_good(const char *outcome);

#endif
