/*
 * reason.h — the one table of why a host was not read: the `unreachable` verdict's reason words, whether the
 * scanner retries them, and what each means and what the admin does next.  The scanner stores the word; the
 * server's API, CSV exports and /metrics, the scanner's CLI output and the dashboard (through the API) all say
 * the same word and the same text, taken from here.  doc/dpfleet-scanner.8 (REASONS) lists the same table.
 */
#ifndef DPFLEET_REASON_H
#define DPFLEET_REASON_H

#include <stddef.h>

#define REASON_WORD_MAX	32	/* longest word + NUL; the store's observations.reason never holds more */
#define REASON_NWORDS	15	/* entries in the table (reason.c checks it at compile time) */

struct reason {
	const char	*word;		/* e.g. "rpc_unavailable" */
	int		 transient;	/* 1: worth another attempt after a backoff ([smb] retries) */
	const char	*meaning;	/* what was seen, one sentence */
	const char	*next_step;	/* what the admin does next, one or two sentences */
};

/* The entry for word, or NULL when the word is not in the table (callers then show the word alone). */
const struct reason	*reason_lookup(const char *word);

/* The whole table, in the order the man page lists it; *n receives its length.  Static storage. */
const struct reason	*reason_table(size_t *n);

#endif
