/*
 * daemon.c — the daemon mode's loop (see daemon.h): what runs when.  Called once by main.c.  It owns the
 * parent's resources for the whole life of the daemon (parent.c: signalfd, scan worker pool, store) and
 * decides, once a second, between
 *   - fix jobs: fixpoll_run runs every queued job, and every job a killed scanner left running, before
 *     anything else (fixpoll.c, fixrun.c; it takes the job lock and its own workers);
 *   - a scan: requested (a pending scan_requests row, trigger "request") or due ([scan] interval, trigger
 *     "schedule"; the first one at start), through scan_run;
 *   - the keytab sets' tickets: krb_refresh gets a new one when one is due (krb.h), at the top of every turn;
 *   - waiting on the signalfd for up to a second.
 * A scan run that cannot start (bad host_map, store) holds further scans for DAEMON_SCAN_RETRY_S, so queued
 * requests do not turn the loop into a busy one.  A signal ends the loop after the current step.
 */
#include "daemon.h"
#include "fixpoll.h"
#include "krb.h"
#include "log.h"
#include "parent.h"
#include "scan.h"
#include "store_scan.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

#define DAEMON_SCAN_RETRY_S	10	/* after a scan run that could not start (host_map, store) */

/* The daemon's schedule. */
struct dsched {
	int64_t		 next_due;	/* mono ms of the next scheduled scan */
	int64_t		 hold_until;	/* mono ms: no scan before (a run could not start) */
};

/* Scan now if requested or due.  1 when a scan ran (or was tried), 2 when a signal stopped it, else 0. */
static int
maybe_scan(struct parent *p, struct dsched *ds)
{
	const struct config *conf = p->conf;
	struct scan_result res;
	long pending;
	char err[512];
	int scheduled;

	if (store_scan_requests_pending(p->st, &pending, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		pending = 0;
	}
	if (util_mono_ms() < ds->hold_until ||
	    (pending <= 0 && (conf->scan.interval <= 0 || util_mono_ms() < ds->next_due)))
		return 0;
	scheduled = pending == 0;
	if (scheduled)
		ds->next_due = util_mono_ms() + 1000LL * conf->scan.interval;
	if (scan_run(p, NULL, 0, scheduled ? "schedule" : "request", NULL, &res) == -1) {
		/* Not a busy loop on the site DB while requests wait: they are retried later. */
		log_warnx("scan could not run; trying again in %d s", DAEMON_SCAN_RETRY_S);
		ds->hold_until = util_mono_ms() + 1000LL * DAEMON_SCAN_RETRY_S;
	}
	return res.stopped ? 2 : 1;
}

int
daemon_run(const struct config *conf)
{
	struct parent p;
	struct dsched ds = { 0, 0 };
	struct pollfd pfd;
	struct fixpoll *fixer = NULL;
	char err[512];
	int rc;

	if (parent_open(&p, conf) == -1)
		return 1;
	if (fixpoll_new(&fixer, conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		parent_close(&p);
		return 1;
	}
	log_info("dpfleet-scanner %s: %d workers, interval %d s, store %s", DPFLEET_VERSION,
	    conf->smb.concurrency, conf->scan.interval, conf->store.path);
	ds.next_due = util_mono_ms();	/* a first scan at start */
	for (;;) {
		if (parent_signalled(p.sigfd))
			break;
		/* Tickets of keytab sets before they run out (krb.h); a failure is logged and retried. */
		(void)krb_refresh(p.krb, time(NULL), err, sizeof(err));
		/* Queued fix/rollback jobs, and jobs a killed scanner left running (fixpoll.c). */
		if (fixpoll_run(fixer, p.st, &p.sitedb_ready, p.sigfd) == 1)
			continue;	/* stopped by a signal: read at the top */
		if ((rc = maybe_scan(&p, &ds)) == 2)
			break;
		if (rc == 1)
			continue;
		pfd.fd = p.sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) == -1 && errno != EINTR) {
			log_warn("poll");
			break;
		}
	}
	log_info("dpfleet-scanner stopping");
	fixpoll_free(fixer);
	parent_close(&p);
	return 0;
}
