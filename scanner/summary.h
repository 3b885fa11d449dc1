/*
 * summary.h — the table `dpfleet-scanner --once` prints after its run (scan.c fills it in).
 */
#ifndef DPFLEET_SUMMARY_H
#define DPFLEET_SUMMARY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "verdict.h"

#define SUMMARY_NSTATES	(VERDICT_UNKNOWN + 1)

/* One host of the run; the strings are the caller's. */
struct summary_host {
	const char		*fqdn;
	const char		*site;
	int			 reported;	/* 0: no verdict (the run stopped first); counted nowhere */
	enum verdict_state	 state;
	const char		*reason;	/* lib/reason.h word, "" */
	int			 attempts;
	long			 pxe_cert_errors;
	int			 denied;	/* a CertMgr denial names the host */
	const char		*denied_at;	/* "" when unknown */
};

struct summary {
	int64_t				 scan_id;
	long				 hosts, affected, unreachable, retried, duration_ms;
	int				 stopped;
	const long			*counts;	/* [SUMMARY_NSTATES] verdicts per state */
	const struct summary_host	*h;
	size_t				 n;
};

/*
 * Print the table to out: the run's line, counts per state, per site and state, the affected hosts, then
 * the unreachable ones with reason, attempts and lib/reason.h's next step.  Output errors are ignored (the
 * run is already stored); out is flushed.
 */
void	 summary_print(FILE *out, const struct summary *s);

#endif
