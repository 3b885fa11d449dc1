/*
 * sched.h — the scanner parent's worker pool: N worker processes, each on its own socketpair, one request in
 * flight per worker, a hard deadline per task (SIGKILL + respawn when overrun), and a poll loop that never lets
 * one slow host hold up the others.  Generic over the work: a task is an encoded request message (msg.h);
 * the caller decodes replies in its callback.  Used by scan.c for scans and fixrun.c for fix jobs.
 */
#ifndef DPFLEET_SCHED_H
#define DPFLEET_SCHED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "msg.h"

/*
 * A worker's body, run in the child after fork with its end of the socketpair as fd (every other inherited
 * descriptor is already closed, signals are unblocked and default).  It must send MSG_READY (or MSG_FATAL)
 * first and must never return: it ends with _exit().
 */
typedef void (*sched_worker_fn)(int fd, void *arg);

enum sched_status {
	SCHED_OK = 0,		/* the worker replied; (type, payload) is its reply */
	SCHED_DEADLINE,		/* the task overran its deadline: the worker was SIGKILLed and replaced */
	SCHED_WORKER_DIED,	/* the worker exited or was killed while on the task */
	SCHED_STOPPED,		/* sched_run was interrupted (stop_fd) before the task finished */
};
const char *sched_status_str(enum sched_status st);	/* "ok", "deadline", "worker_died", "stopped" */

struct sched_task {
	uint32_t		 type;		/* request type (MSG_*_REQ) */
	const struct msg_buf	*req;		/* encoded payload, owned by the caller, valid during sched_run */
	int64_t			 deadline_ms;	/* one attempt, from the moment it is handed to a worker; > 0 */
	int64_t			 total_ms;	/* all attempts, from the first dispatch; 0 = deadline_ms */
};

/* One attempt's outcome, as done() sees it.  Everything but retry_ms is input. */
struct sched_reply {
	size_t			 idx;		/* task index */
	enum sched_status	 st;
	uint32_t		 type;		/* SCHED_OK: the reply's type (already checked to be the request's) */
	const uint8_t		*p;		/* SCHED_OK: the reply payload, valid only during the call */
	size_t			 n;
	int			 attempt;	/* 1 = the first */
	int64_t			 elapsed_ms;	/* this attempt: dispatch to reply (or to the kill) */
	int64_t			 since_first_ms;	/* the first attempt's dispatch to now */
	int64_t			 left_ms;	/* what is left of total_ms from now; may be <= 0 */
	int64_t			 retry_ms;	/* out, with SCHED_RETRY: wait at least this long, 0 <= x < left_ms */
};

#define SCHED_RETRY	1	/* done()'s answer: attempt the task again after retry_ms */

/*
 * Called once per attempt.  Return 0 when the task is finished (the reply was accepted, or the failure is
 * final), -1 when the SCHED_OK reply does not decode (finished: the callback has recorded the task's failure
 * itself, and the worker is killed and replaced — a malformed message is fatal for its sender), or
 * SCHED_RETRY after setting r->retry_ms: the task goes back to a queue and is handed to the first idle worker
 * once retry_ms has passed; no worker waits for it meanwhile.  The next attempt is killed at
 * min(deadline_ms, what is left of total_ms), so the task never outlives total_ms.  SCHED_STOPPED is final
 * whatever is returned.
 */
typedef int (*sched_done_fn)(void *ctx, struct sched_reply *r);

struct sched;

/*
 * Fork nworkers (1..256) workers running fn(fd, arg) and wait up to ready_ms for each one's MSG_READY.
 * Raises the soft RLIMIT_NOFILE to nworkers plus the parent's own needs when it is lower (fails when the hard
 * limit is).
 * Returns 0 and *out (free with sched_free), or -1 with err (e.g. a worker's MSG_FATAL reason); on failure
 * every process started is killed and reaped.
 */
int	 sched_new(struct sched **out, int nworkers, sched_worker_fn fn, void *arg, int ready_ms, char *err,
	    size_t errlen);

/*
 * Run tasks[0..n) over the pool; done() is called once per attempt, and a task is finished by exactly one
 * call that does not return SCHED_RETRY (SCHED_STOPPED for those left, waiting retries included, when
 * stop_fd became readable; stop_fd -1 = none).  Returns 0 when every task
 * was reported, 1 when stopped by stop_fd (stop_fd is not read), -1 with err when no worker can be kept alive
 * (tasks not yet reported are then reported SCHED_STOPPED).  Workers killed along the way are replaced; a
 * replacement starts within the run's poll loop (the other workers go on meanwhile), and a slot whose
 * replacement fails to start (MSG_FATAL, exit, no READY within ready_ms) stays empty until the next run.
 */
int	 sched_run(struct sched *s, const struct sched_task *tasks, size_t n, sched_done_fn done, void *ctx,
	    int stop_fd, char *err, size_t errlen);

/* Worker pids (for tests and logs): fills up to max, returns the count. */
size_t	 sched_pids(const struct sched *s, pid_t *pids, size_t max);

/*
 * Stop the pool: close every socket (idle workers exit on EOF and wipe their secrets), give them up to
 * grace_ms, SIGKILL the rest, reap all.  NULL is fine.
 */
void	 sched_free(struct sched *s, int grace_ms);

#endif
