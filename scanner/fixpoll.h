/*
 * fixpoll.h — the daemon's job polling (fixpoll.c), above fixrun.h.
 */
#ifndef DPFLEET_FIXPOLL_H
#define DPFLEET_FIXPOLL_H

#include "config.h"

struct store;

/*
 * fixpoll_run: if a job is queued or was left running, and no other scanner holds the job lock, run them all
 * (fixrun_jobs) before returning; otherwise return at once.  The first call runs even without jobs, for the
 * rescans a killed scanner lost.  sitedb_ready as for fixrun_jobs; stop_fd (signalfd, not read) interrupts a
 * run: its jobs stay running and are finished at the next start.  Returns 0 (idle or ran), 1 when stopped
 * by stop_fd, -1 on a store error (logged).  A site DB failure is logged, leaves the jobs as they are and is
 * retried after FIXPOLL_SITEDB_RETRY_S.
 */
#define FIXPOLL_SITEDB_RETRY_S	30
struct fixpoll;
/* 0 and *out (free with fixpoll_free; NULL is fine), or -1 with err. */
int	 fixpoll_new(struct fixpoll **out, const struct config *conf, char *err, size_t errlen);
int	 fixpoll_run(struct fixpoll *d, struct store *st, int *sitedb_ready, int stop_fd);
void	 fixpoll_free(struct fixpoll *d);

#endif
