/*
 * scan.h — scan runs of dpfleet-scanner: `--once` and the daemon mode (issue 6).
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

/*
 * `dpfleet-scanner -f FILE --once`: one run, then a summary table on stdout (counts per state, per site,
 * the affected hosts).  conf is loaded and checked.  Returns the exit status: 0, or 1 when the site DB or
 * the store failed (the run still scans the hosts the store knows when only the site DB failed).
 * SIGTERM/SIGINT stop the run: workers are killed, the scan is marked failed, 1 is returned.
 */
int	 scan_once(const struct config *conf);

/*
 * Daemon mode: scan at start and every [scan] interval seconds (0 = only on request), and whenever
 * dpfleet-server queued a scan_requests row (polled every second); one log line per finished scan.
 * SIGTERM/SIGINT stop it cleanly (the running scan is marked failed, workers killed).  Returns the exit
 * status: 0 after a signal, 1 if it cannot start (store, workers).
 */
int	 scan_daemon(const struct config *conf);

/*
 * Block SIGTERM/SIGINT in the calling process and read them through a signalfd (close-on-exec, non-blocking)
 * the caller closes; scan's modes and fix.c's CLI commands use it.  The fd, or -1 with err ("sigprocmask: ..."
 * / "signalfd: ..."; the mask may already be changed).
 */
int	 scan_signals_open(char *err, size_t errlen);

struct store;
struct sched;
/*
 * Rescan only the named hosts now (scans.trigger 'fix'; fix.c calls it after a job wrote a host): no
 * inventory refresh and no CertMgr reads (each observation carries its host's last certmgr_denied,
 * certmgr_denied_at and newest certmgr evidence line), one observation per named host the store lists, over
 * the caller's worker pool and store.  stop_fd as for sched_run (-1 = none; it is not read).  Returns 0, 1 when stopped
 * by stop_fd, -1 when the run could not start or the store failed (logged).
 */
int	 scan_hosts(const struct config *conf, struct store *st, struct sched *pool, const char *const *fqdns,
	    size_t n, int stop_fd);

#endif
