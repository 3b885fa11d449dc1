/*
 * contact.h — how long the scanner parent lets one contact with a host take, and when it tries again
 * (dpfleet-scanner(8), "Contact and retries"; dpfleet.conf(5), [scan] host_deadline, [smb] retries).  Pure
 * functions of the configuration, shared by scan runs (scan.c) and fix jobs (fixrun.c).
 */
#ifndef DPFLEET_CONTACT_H
#define DPFLEET_CONTACT_H

#include <stdint.h>

#include "config.h"

struct sched_reply;

/*
 * A task's deadline in milliseconds: [scan] host_deadline when set, else [smb] timeout × steps (the network
 * steps the task may take: worker.h WORKER_HOST_STEPS, WORKER_CERTMGR_STEPS, WORKER_JOB_STEPS).
 */
int64_t	 contact_deadline_ms(const struct config *conf, int steps);

/*
 * The retry policy shared by scans and fix jobs: the wait before attempt r->attempt + 1 after a failure with
 * reason word `reason`, or -1 for none.  A retry is made when the word is transient in lib/reason.h, fewer
 * than [smb] retries retries were made, and the wait ([smb] retry_backoff doubled after each retry) plus one
 * [smb] timeout still fit in r->left_ms (the task's deadline, counted from its first attempt).
 */
int64_t	 contact_retry_ms(const struct config *conf, const char *reason, const struct sched_reply *r);

#endif
