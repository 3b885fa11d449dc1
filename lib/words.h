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

extern const char *const words_states[WORDS_NSTATES];
extern const char *const words_jobstates[WORDS_NJOBSTATES];
extern const char *const words_outcomes[WORDS_NOUTCOMES];

/* The index of word in v (n entries), or -1 (also for NULL). */
int	 words_index(const char *const *v, size_t n, const char *word);
/* 1 when outcome leaves a job done (written, already_correct, would_write, restored), else 0. */
int	 words_outcome_good(const char *outcome);

#endif
