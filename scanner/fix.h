/*
 * fix.h — the `fix` and `rollback` subcommands of dpfleet-scanner (fix.c).  The jobs themselves run in
 * fixrun.c, whose header draws the state machine and the exactly-once rules.
 */
#ifndef DPFLEET_FIX_H
#define DPFLEET_FIX_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What `dpfleet-scanner fix` was asked. */
struct fix_order {
	const char *const *hosts;	/* explicit FQDNs, or */
	size_t		 nhosts;
	int		 all_affected;	/* every host whose newest verdict is missing/empty/mismatch */
	const char	*site;		/* with all_affected: only this site code (NULL: all) */
	int		 dry_run;
	long		 confirm;	/* --confirm N: allow N jobs over [fix] max_per_run (N must equal the count) */
};

/*
 * `dpfleet-scanner -f FILE fix ...`: queue one fix job per host as `cli:<unix user>`, wait for the job lock,
 * run the jobs (and any job an earlier scanner left running), print one line per host to stdout.  conf is
 * loaded and checked.  Returns the exit status: 0 when every job ended written, already_correct or
 * would_write; 2 when one did not (or was cancelled); 1 when the order is refused (unknown host, more than
 * [fix] max_per_run without --confirm), on a store, site DB or worker error, or when stopped by SIGTERM/SIGINT:
 * the command's jobs not started are then cancelled (never left queued), started ones stay running and are
 * finished at the next start.
 */
int	 fix_cli(const struct config *conf, const struct fix_order *o);

/* `dpfleet-scanner -f FILE rollback JOB_ID`: queue and run the rollback of fix job `job`.  Same statuses. */
int	 fix_cli_rollback(const struct config *conf, int64_t job);

#endif
