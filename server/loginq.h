/*
 * loginq.h — sign-ins off the HTTP threads (doc/dpfleet-server.8, SIGN-IN, SESSIONS AND CSRF).  A few hashing
 * threads, each with its own state DB connection, take struct auth_job from one bounded queue and run
 * auth_job_run() (argon2id costs tens of milliseconds of CPU and 64 MiB; on the HTTP threads it would stall
 * every other request).  A job is refused at once when the queue is full or when its client address is over
 * its sign-in rate, so no amount of sign-ins can hold an HTTP thread.
 */
#ifndef DPFLEET_LOGINQ_H
#define DPFLEET_LOGINQ_H

#include <stddef.h>
#include <sys/socket.h>

#include "auth.h"

#define LOGINQ_THREADS_MAX	4

struct loginq;

enum loginq_submit_result {
	LOGINQ_QUEUED,		/* done(job) will be called once, on a hashing thread */
	LOGINQ_FULL,		/* queue full or stopping: not queued, done is not called */
	LOGINQ_RATE,		/* the address (IPv4, or the IPv6 /64) is over rate_per_min: not queued */
};

/*
 * Start threads hashing threads (1..LOGINQ_THREADS_MAX) over the state DB at store_path, a queue of at most
 * queue_max waiting jobs, and a token bucket of rate_per_min sign-ins a minute (burst as large) per client
 * address (0: no rate limit).  Makes the dummy hash auth_login verifies for users it cannot check.
 * 0 and *out, or -1 with err (nothing left running).  Stop and free with loginq_free.
 */
int	 loginq_new(struct loginq **out, const char *store_path, int threads, int queue_max, int rate_per_min,
	    char *err, size_t errlen);

/*
 * Queue job (job->done set) for the client at src (NULL: no rate check).  Returns an enum
 * loginq_submit_result; the job stays the caller's, and must stay valid until done runs when queued.
 */
int	 loginq_submit(struct loginq *q, struct auth_job *job, const struct sockaddr *src);

/* Refuse new jobs, run every queued one (calling its done), join the threads, free q.  NULL is fine. */
void	 loginq_free(struct loginq *q);

#endif
