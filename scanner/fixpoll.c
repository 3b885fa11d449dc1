/*
 * fixpoll.c — the daemon's side of remediation jobs (see fixpoll.h): once a second daemon.c asks whether a
 * job is queued or was left running; if so, and no `fix`/`rollback` command holds the job lock, all of them
 * run now (fixrun_jobs).  A job found running by the lock holder belongs to a scanner that died (fixrun.c's
 * header: exactly once).  A site DB that cannot be read holds the jobs for FIXPOLL_SITEDB_RETRY_S.
 */
#include "fixpoll.h"
#include "fixrun.h"
#include "log.h"
#include "store.h"
#include "store_jobs.h"
#include "util.h"

#include <stdlib.h>
#include <sys/file.h>
#include <unistd.h>

struct fixpoll {
	const struct config	*conf;
	int64_t			 retry_at;	/* mono ms: no site-DB retry before */
	int			 started;	/* the first poll (lost rescans are looked for) happened */
};

int
fixpoll_new(struct fixpoll **out, const struct config *conf, char *err, size_t errlen)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return util_err(err, errlen, "out of memory");
	(*out)->conf = conf;
	return 0;
}

void
fixpoll_free(struct fixpoll *d)
{
	free(d);
}

/* The queued and the running jobs' ids (up to FIXRUN_BATCH_MAX each).  0, or -1 (logged). */
static int
list_jobs(struct store *st, int64_t *queued, size_t *nqueued, int64_t *running, size_t *nrunning)
{
	char err[512];

	if (store_jobs_ids(st, "queued", queued, FIXRUN_BATCH_MAX, nqueued, err, sizeof(err)) == -1 ||
	    store_jobs_ids(st, "running", running, FIXRUN_BATCH_MAX, nrunning, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		return -1;
	}
	return 0;
}

int
fixpoll_run(struct fixpoll *d, struct store *st, int *sitedb_ready, int stop_fd)
{
	int64_t *resume = NULL, *queued = NULL;
	size_t nresume = 0, nqueued = 0;
	int lockfd = -1, rc, ret = -1, store_failed = 0;
	char err[1024];

	if (util_mono_ms() < d->retry_at)
		return 0;
	if ((resume = calloc(FIXRUN_BATCH_MAX, sizeof(*resume))) == NULL ||
	    (queued = calloc(FIXRUN_BATCH_MAX, sizeof(*queued))) == NULL) {
		log_warnx("jobs: out of memory");
		goto done;
	}
	/* Cheap check first: nothing queued and nothing running means nothing to do (no lock taken). */
	if (list_jobs(st, queued, &nqueued, resume, &nresume) == -1)
		goto done;
	if (nqueued == 0 && nresume == 0 && d->started) {
		ret = 0;
		goto done;
	}
	if ((lockfd = fixrun_lock_open(d->conf, err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	if (flock(lockfd, LOCK_EX | LOCK_NB) == -1) {
		ret = 0;	/* a CLI run holds it: its jobs are its own */
		goto done;
	}
	/* Re-read under the lock: what is running now was left by a scanner that died. */
	if (list_jobs(st, queued, &nqueued, resume, &nresume) == -1)
		goto done;
	if (nresume > 0)
		log_info("%zu job(s) left running by a scanner that stopped: finishing them", nresume);
	/* Every run, the first one even without jobs, also rescans writes whose rescan was lost. */
	rc = fixrun_jobs(d->conf, st, stop_fd, sitedb_ready, resume, nresume, queued, nqueued, &store_failed, err,
	    sizeof(err));
	if (rc != 2)
		d->started = 1;
	if (rc == 2) {
		log_warnx("jobs not run (retry in %d s): %s", FIXPOLL_SITEDB_RETRY_S, err);
		d->retry_at = util_mono_ms() + 1000LL * FIXPOLL_SITEDB_RETRY_S;
		ret = 0;
	} else if (rc == -1)
		log_warnx("jobs: %s", err);
	else
		ret = rc == 1 ? 1 : (store_failed ? -1 : 0);
done:
	if (lockfd != -1)
		close(lockfd);
	free(resume);
	free(queued);
	return ret;
}
