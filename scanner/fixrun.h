/*
 * fixrun.h — running remediation jobs (fixrun.c): the job lock, and one run of claimed jobs over a worker
 * pool.  Its callers: fix.c (the commands) and fixpoll.c (the daemon).  The state machine and the exactly-once rules are drawn in fixrun.c's header.
 */
#ifndef DPFLEET_FIXRUN_H
#define DPFLEET_FIXRUN_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct store;

#define FIXRUN_BATCH_MAX	1000	/* jobs one run takes on */

/*
 * Open (creating it, mode 0600) the job lock file "<[store] path>.jobs.lock"; the caller flocks and closes
 * it (closing releases the lock).  The fd, or -1 with err.
 */
int	 fixrun_lock_open(const struct config *conf, char *err, size_t errlen);

/*
 * One run while the caller holds the job lock: resume the jobs resume[0..nresume) (left running), claim
 * claim[0..nclaim) (queued), read the site DB (calling sitedb_global_init unless *sitedb_ready, and setting
 * it), execute over [fix] concurrency workers of its own, then rescan what was written and what an earlier
 * run failed to rescan (scan_hosts).  stop_fd (-1 = none; not read) interrupts it: unfinished jobs stay
 * running.  Returns 0 ran (*store_failed says whether a store write failed on the way), 1 stopped by
 * stop_fd, 2 the site DB could not be read (nothing claimed, err), -1 store or worker pool error (err).
 */
int	 fixrun_jobs(const struct config *conf, struct store *st, int stop_fd, int *sitedb_ready,
	    const int64_t *resume, size_t nresume, const int64_t *claim, size_t nclaim, int *store_failed,
	    char *err, size_t errlen);

#endif
