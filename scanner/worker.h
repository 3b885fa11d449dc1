/*
 * worker.h — the scanner's worker process: holds the Windows credentials, one SMB context, and serves the
 * parent's requests (msg.h) one at a time over its socket.  Started by sched.c after fork.
 */
#ifndef DPFLEET_WORKER_H
#define DPFLEET_WORKER_H

#include "config.h"

/* Network steps one task may take; the parent's deadline is [smb] timeout × this (unless host_deadline). */
#define WORKER_HOST_STEPS	12	/* winreg connect, OpenHKLM, OpenKey, QueryValue ×2; SMSPXE.log: share, the
					   placements looked at first (smblog_logs.c), 2 log files, the history copy */
#define WORKER_CERTMGR_STEPS	5	/* share connect, CertMgr.log open + read, CertMgr.lo_ open + read */
#define WORKER_JOB_STEPS	14	/* fix/rollback write: connect, 4 write round trips, reconnect, 5 reads */

/* What the worker needs; points into the parent's config (copied by fork). */
struct worker_conf {
	const struct config	*conf;
};

/*
 * The worker body (a sched_worker_fn; arg is a struct worker_conf *).  Makes itself non-dumpable, reads the
 * SMB password from [smb] password_file (secrecy-checked), opens its SMB context, sends MSG_READY (or
 * MSG_FATAL with the reason and exits 1), then serves requests until EOF.  The password is wiped with
 * explicit_bzero before exit.  Never returns.
 */
void	 worker_main(int fd, void *arg) __attribute__((noreturn));

#endif
