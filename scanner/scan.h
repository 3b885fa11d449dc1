/*
 * scan.h — scan runs of dpfleet-scanner: `--once`, the daemon's runs (daemon.c) and the rescans after fix
 * jobs (fixrun.c).
 *
 * A run: refresh the inventory from the site DB (sitedb.c → store_fleet_put), start a scans row, hand one
 * CertMgr task per site server and one host task per non-retired DP/MP to the worker pool (sched.c, worker.c),
 * turn every reply into a verdict (verdict.c), merge the site servers' CertMgr denials into the hosts'
 * evidence, store everything (store_scan.c) and close the row.
 */
#ifndef DPFLEET_SCAN_H
#define DPFLEET_SCAN_H

#include "config.h"

#include <stdint.h>
#include <stdio.h>

/*
 * `dpfleet-scanner -f FILE --once`: one run, then a summary table on stdout (counts per state, per site,
 * the affected hosts).  conf is loaded and checked.  Returns the exit status: 0, or 1 when the site DB or
 * the store failed (the run still scans the hosts the store knows when only the site DB failed).
 * SIGTERM/SIGINT stop the run: workers are killed, the scan is marked failed, 1 is returned.
 */
int	 scan_once(const struct config *conf);

struct parent;

/* What one run did (scan_run). */
struct scan_result {
	int64_t		 scan_id;
	int		 inventory_failed;	/* the site DB could not be read: the stored fleet was scanned */
	int		 store_failed;
	int		 stopped;		/* by p->sigfd */
	long		 hosts, affected, unreachable, duration_ms;
};

/*
 * One scan run over p's store and worker pool, with trigger as scans.trigger ("cli", "schedule", "request",
 * "fix"; "request" claims the queued scan_requests rows and closes them with the run).  only == NULL: the
 * inventory is refreshed from the site DB first (p->sitedb_ready is set) and every site server's CertMgr.log
 * is read; else only the nonly named hosts are scanned (see scan_hosts).  p->sigfd stops the run (-1 =
 * none; it is not read).  With summary, the --once table is printed there.  Returns 0 when the run
 * completed (res says what failed on the way); -1 when it could not start (a bad host_map, logged; the
 * scans row could not be begun: res->store_failed), or when a request did not encode or the worker pool was
 * lost (the row is then closed as failed).
 */
int	 scan_run(struct parent *p, const char *const *only, size_t nonly, const char *trigger, FILE *summary,
	    struct scan_result *res);

struct store;
struct sched;
/*
 * Rescan only the named hosts now (scans.trigger 'fix'; fixrun.c calls it after a job wrote a host): no
 * inventory refresh and no CertMgr reads (each observation carries its host's last certmgr_denied,
 * certmgr_denied_at and newest certmgr evidence line), one observation per named host the store lists, over
 * the caller's worker pool and store.  stop_fd as for sched_run (-1 = none; it is not read).  Returns 0, 1 when stopped
 * by stop_fd, -1 when the run could not start or the store failed (logged).
 */
int	 scan_hosts(const struct config *conf, struct store *st, struct sched *pool, const char *const *fqdns,
	    size_t n, int stop_fd);

#endif
