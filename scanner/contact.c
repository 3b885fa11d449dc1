/*
 * contact.c — the host deadline and the retry policy (see contact.h).  Called by scan.c and fixrun.c when
 * they build tasks for the worker pool (sched.h) and when a worker reports a failure.  Assumes a checked
 * configuration: [smb] retries <= 10 and retry_backoff <= 60 s (lib/config.c), so no sum here overflows.
 */
#include "contact.h"
#include "reason.h"
#include "sched.h"

int64_t
contact_deadline_ms(const struct config *conf, int steps)
{
	return 1000LL * (conf->scan.host_deadline > 0 ? conf->scan.host_deadline : conf->smb.timeout * steps);
}

int64_t
contact_retry_ms(const struct config *conf, const char *reason, const struct sched_reply *r)
{
	const struct reason *re = reason_lookup(reason);
	int64_t wait = 1000LL * conf->smb.retry_backoff;
	int i;

	if (re == NULL || !re->transient || r->attempt < 1 || r->attempt > conf->smb.retries)
		return -1;
	for (i = 1; i < r->attempt; i++)
		wait *= 2;		/* attempt <= 10 and backoff <= 60 s: at most 30720 s, no overflow */
	if (wait + 1000LL * conf->smb.timeout > r->left_ms)
		return -1;
	return wait;
}
