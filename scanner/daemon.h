/*
 * daemon.h — dpfleet-scanner's daemon mode: the loop above scan runs (scan.h) and fix jobs (fixrun.h).
 */
#ifndef DPFLEET_DAEMON_H
#define DPFLEET_DAEMON_H

#include "config.h"

/*
 * Scan at start and every [scan] interval seconds (0 = only on request), and whenever dpfleet-server queued
 * a scan_requests row (polled every second); run the queued fix/rollback jobs (fixrun.c, every second); one
 * log line per finished scan.  SIGTERM/SIGINT stop it cleanly (the running scan is marked failed, workers
 * killed).  conf is loaded and checked.  Returns the exit status: 0 after a signal, 1 if it cannot start
 * (store, workers).
 */
int	 daemon_run(const struct config *conf);

#endif
