/*
 * faults.h — the dpfleet-tdsd fault file: what a test asks the fixture to do wrong.
 */
#ifndef DPFLEET_TDSD_FAULTS_H
#define DPFLEET_TDSD_FAULTS_H

#include <stddef.h>

#define FAULTS_MATCH_MAX	256

struct faults {
	long	 login_delay_ms;	/* sleep before answering LOGIN7 */
	int	 login_reject;		/* answer every login with ERROR 18456 */
	int	 login_untrusted;	/* answer every login with ERROR 18452 (untrusted domain) */
	long	 query_delay_ms;	/* sleep (ATTENTION-aware) before running a batch */
	long	 drop_after_bytes;	/* close the connection once this many bytes were sent (-1: off) */
	long	 truncate_reply_bytes;	/* send only this many bytes of a batch reply, then close (-1: off) */
	char	 match[FAULTS_MATCH_MAX];	/* query faults only for batches containing this ("" = all) */
};

/* No faults: every delay 0, every byte limit -1. */
void	faults_clear(struct faults *f);

/*
 * Read the JSON fault file.  Keys: login_delay_ms, login_reject, login_untrusted, query_delay_ms,
 * drop_after_bytes, truncate_reply_bytes (integers >= 0, login_reject and login_untrusted booleans), match (string); any other key, a wrong type or
 * a value out of range is an error.  Returns 0, or -1 + err with *f cleared (no faults).
 */
int	faults_load(const char *path, struct faults *f, char *err, size_t errlen);

/* 1 when the query faults apply to this batch (match empty or a case-insensitive substring of sql). */
int	faults_match(const struct faults *f, const char *sql);

#endif
