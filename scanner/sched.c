/*
 * sched.c — the worker pool of the scanner parent (see sched.h).
 *
 * Called by scan.c (and later the fix runner).  Each worker is a forked child on one end of a SOCK_STREAM
 * socketpair; the parent keeps the other end non-blocking and assembles frames with msg_framer.  Requests
 * are small and go to an idle worker with a blocking msg_send.  The loop polls every worker plus stop_fd with
 * a timeout equal to the nearest deadline; a worker past its deadline is SIGKILLed and reaped at once, its
 * task reported SCHED_DEADLINE, and a fresh worker is forked in its place, so a stuck host costs exactly one
 * worker for one deadline.  EOF or an error on a socket means the worker died.  Children get
 * PR_SET_PDEATHSIG(SIGKILL) so they never outlive the parent.  No global state: everything is in struct sched.
 *
 * A replacement forked during a run starts in the same poll loop (its READY is one more input, its start
 * time one more deadline), so a worker that is slow to start never holds up the tasks of the others; a slot
 * whose replacement fails to start (FATAL, EOF, ready_ms) stays empty for the rest of that run, and the run
 * fails only when no worker is left.
 *
 * Worker life:  fork ──READY──> idle ──request──> busy ──reply──> idle
 *                 │                                 ├─deadline──> SIGKILL, reap, respawn (task: deadline)
 *                 └─FATAL/EOF/ready_ms: start fails  └─EOF/error─> reap, respawn (task: worker_died)
 *
 * Retries live in the parent, never in a worker: when done() answers SCHED_RETRY (report), the task joins
 * the run's waiting list with a not-before time and its worker is idle at once; poll's timeout also wakes
 * for the earliest not-before time, and next_task gives a due retry to the first idle worker before any task
 * never dispatched.  Each attempt's kill deadline is min(deadline_ms, what is left of total_ms counted from
 * the first dispatch), so retries never stretch a task past total_ms.
 *
 * Task life:  new ──dispatch──> running ──report: done() 0/-1, or stopped──> finished
 *                                 ^   └──report: done() SCHED_RETRY──> waiting (not_before)
 *                                 └──────────── next_task (due, idle worker) ──────┘
 * Length: over 600 lines because the pool's state (slots, the task queue, the waiting list) and the one poll
 * loop that moves it are one machine: spawning, dispatch, deadlines, retries and reaping all change the same
 * slot table, and the drawings above hold for the file as a whole.
 */
#include "sched.h"
#include "log.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SCHED_MAX_WORKERS	256
#define SCHED_READ_CHUNK	65536
#define SCHED_FD_SLACK		128	/* descriptors the parent needs besides one socket per worker (state DB,
					   site DB, signalfd, libraries) */

struct worker {
	pid_t			 pid;		/* 0: slot empty */
	int			 fd;		/* parent end, -1 when empty */
	struct msg_framer	 fr;
	long			 task;		/* index in the current run, -1 idle */
	int			 starting;	/* forked during a run, READY not seen yet */
	int64_t			 started;	/* mono ms */
	int64_t			 deadline;	/* mono ms: of the task, or of the start while starting */
};

struct sched {
	struct worker	*w;
	int		 n;
	sched_worker_fn	 fn;
	void		*arg;
	int		 ready_ms;
};

const char *
sched_status_str(enum sched_status st)
{
	switch (st) {
	case SCHED_OK: return "ok";
	case SCHED_DEADLINE: return "deadline";
	case SCHED_WORKER_DIED: return "worker_died";
	case SCHED_STOPPED: return "stopped";
	}
	return "unknown";
}

/* Kill (if alive) and reap one worker; the slot becomes empty. */
static void
worker_reap(struct worker *w)
{
	if (w->fd != -1)
		close(w->fd);
	w->fd = -1;
	if (w->pid > 0) {
		kill(w->pid, SIGKILL);
		while (waitpid(w->pid, NULL, 0) == -1 && errno == EINTR)
			;
	}
	w->pid = 0;
	w->task = -1;
	w->starting = 0;
	msg_framer_reset(&w->fr);
}

/* Fork one worker into slot i (must be empty).  Does not wait for READY.  0 or -1 with err. */
static int
worker_fork(struct sched *s, int i, char *err, size_t errlen)
{
	struct worker *w = &s->w[i];
	int sv[2], fl;
	pid_t pid, parent = getpid();
	sigset_t none;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		return util_err(err, errlen, "socketpair: %s", strerror(errno));
	if ((pid = fork()) == -1) {
		close(sv[0]);
		close(sv[1]);
		return util_err(err, errlen, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		/* Child: only stdio and our socket survive; default signals; die with the parent. */
		if (sv[1] != 3) {
			if (dup2(sv[1], 3) == -1)
				_exit(111);
		} else if ((fl = fcntl(3, F_GETFD)) != -1)
			fcntl(3, F_SETFD, fl & ~FD_CLOEXEC);
		close_range(4, ~0U, 0);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		s->fn(3, s->arg);
		_exit(111);
	}
	close(sv[1]);
	if ((fl = fcntl(sv[0], F_GETFL)) == -1 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) == -1) {
		close(sv[0]);
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return util_err(err, errlen, "fcntl: %s", strerror(errno));
	}
	w->pid = pid;
	w->fd = sv[0];
	w->task = -1;
	msg_framer_reset(&w->fr);
	return 0;
}

/*
 * Read what is available on w's socket into its framer.  1 = data or nothing yet, 0 = EOF, -1 = error/cap.
 */
static int
worker_read(struct worker *w, char *err, size_t errlen)
{
	uint8_t buf[SCHED_READ_CHUNK];
	ssize_t r;

	for (;;) {
		r = read(w->fd, buf, sizeof(buf));
		if (r > 0) {
			if (msg_frame_feed(&w->fr, buf, (size_t)r, err, errlen) == -1)
				return -1;
			continue;
		}
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		util_err(err, errlen, "read: %s", strerror(errno));
		return -1;
	}
}

/* Wait until every worker in slots [0, n) that has a pid sent READY.  0 or -1 with err. */
static int
wait_ready(struct sched *s, int *slots, int nslots, char *err, size_t errlen)
{
	struct pollfd pfd[SCHED_MAX_WORKERS];
	int ready[SCHED_MAX_WORKERS] = { 0 };
	int64_t end = util_mono_ms() + s->ready_ms, now;
	int i, left = nslots, rc, k;
	uint32_t type, pid;
	const uint8_t *p;
	size_t len;
	char why[256], *reason;

	while (left > 0) {
		now = util_mono_ms();
		if (now >= end)
			return util_err(err, errlen, "worker did not start within %d ms", s->ready_ms);
		for (i = 0; i < nslots; i++) {
			pfd[i].fd = ready[i] ? -1 : s->w[slots[i]].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		rc = poll(pfd, (nfds_t)nslots, (int)(end - now));
		if (rc == -1 && errno != EINTR)
			return util_err(err, errlen, "poll: %s", strerror(errno));
		for (i = 0; rc > 0 && i < nslots; i++) {
			struct worker *w = &s->w[slots[i]];

			if (ready[i] || pfd[i].revents == 0)
				continue;
			if ((k = worker_read(w, why, sizeof(why))) == -1)
				return util_err(err, errlen, "worker %d: %s", (int)w->pid, why);
			if ((k = msg_frame_take(&w->fr, &type, &p, &len, why, sizeof(why))) == -1)
				return util_err(err, errlen, "worker %d: %s", (int)w->pid, why);
			if (k == 0) {
				if (pfd[i].revents & (POLLHUP | POLLERR))
					return util_err(err, errlen, "worker %d exited while starting", (int)w->pid);
				continue;
			}
			if (type == MSG_FATAL) {
				if (msg_dec_fatal(p, len, &reason, why, sizeof(why)) == -1)
					return util_err(err, errlen, "worker %d: %s", (int)w->pid, why);
				util_err(err, errlen, "worker: %s", reason);
				free(reason);
				return -1;
			}
			if (type != MSG_READY || msg_dec_ready(p, len, &pid, why, sizeof(why)) == -1)
				return util_err(err, errlen, "worker %d: expected READY, got %s", (int)w->pid,
				    msg_type_str(type));
			ready[i] = 1;
			left--;
		}
	}
	return 0;
}

/*
 * The parent holds one socket per worker: raise the soft RLIMIT_NOFILE when it is below nworkers plus
 * SCHED_FD_SLACK (up to the hard limit; getrlimit(2)).  0, or -1 with err when the hard limit is too low.
 */
static int
fd_room(int nworkers, char *err, size_t errlen)
{
	struct rlimit	rl;
	rlim_t		need = (rlim_t)nworkers + SCHED_FD_SLACK;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return util_err(err, errlen, "getrlimit: %s", strerror(errno));
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
			return util_err(err, errlen, "%d workers need %lu open files, the hard limit is %lu",
			    nworkers, (unsigned long)need, (unsigned long)rl.rlim_max);
		rl.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			return util_err(err, errlen, "setrlimit: %s", strerror(errno));
	}
	return 0;
}

int
sched_new(struct sched **out, int nworkers, sched_worker_fn fn, void *arg, int ready_ms, char *err,
    size_t errlen)
{
	struct sched *s;
	int slots[SCHED_MAX_WORKERS], i;

	*out = NULL;
	if (nworkers < 1 || nworkers > SCHED_MAX_WORKERS)
		return util_err(err, errlen, "worker count %d out of range", nworkers);
	if (fd_room(nworkers, err, errlen) == -1)
		return -1;
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->w = calloc((size_t)nworkers, sizeof(*s->w))) == NULL) {
		free(s);
		return util_err(err, errlen, "out of memory");
	}
	s->n = nworkers;
	s->fn = fn;
	s->arg = arg;
	s->ready_ms = ready_ms > 0 ? ready_ms : 10000;
	for (i = 0; i < nworkers; i++) {
		s->w[i].fd = -1;
		s->w[i].task = -1;
	}
	for (i = 0; i < nworkers; i++) {
		if (worker_fork(s, i, err, errlen) == -1)
			goto fail;
		slots[i] = i;
	}
	if (wait_ready(s, slots, nworkers, err, errlen) == -1)
		goto fail;
	*out = s;
	return 0;
fail:
	sched_free(s, 0);
	return -1;
}

size_t
sched_pids(const struct sched *s, pid_t *pids, size_t max)
{
	size_t k = 0;
	int i;

	for (i = 0; s != NULL && i < s->n && k < max; i++)
		if (s->w[i].pid > 0)
			pids[k++] = s->w[i].pid;
	return k;
}

void
sched_free(struct sched *s, int grace_ms)
{
	int64_t end;
	int i, alive;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		if (s->w[i].fd != -1) {
			close(s->w[i].fd);
			s->w[i].fd = -1;
		}
	/* Idle workers exit on EOF; busy or stuck ones are killed after the grace period. */
	end = util_mono_ms() + (grace_ms > 0 ? grace_ms : 0);
	do {
		alive = 0;
		for (i = 0; i < s->n; i++) {
			if (s->w[i].pid <= 0)
				continue;
			if (waitpid(s->w[i].pid, NULL, WNOHANG) == s->w[i].pid)
				s->w[i].pid = 0;
			else
				alive++;
		}
		if (alive > 0 && util_mono_ms() < end)
			usleep(10000);
	} while (alive > 0 && util_mono_ms() < end);
	for (i = 0; i < s->n; i++) {
		worker_reap(&s->w[i]);
		msg_framer_free(&s->w[i].fr);
	}
	free(s->w);
	free(s);
}

/* State of one run, shared by the helpers below. */
struct run {
	struct sched		*s;
	const struct sched_task	*t;
	size_t			 n;
	size_t			 next;		/* next never-dispatched task index */
	size_t			 reported;	/* tasks finished */
	unsigned char		*done_flag;	/* per task: finished */
	int			*attempt;	/* per task: attempts dispatched so far */
	int64_t			*first;		/* per task: mono ms of the first dispatch */
	int64_t			*not_before;	/* per task waiting for a retry: mono ms; else 0 */
	size_t			*waiting;	/* the tasks waiting for a retry */
	size_t			 nwaiting;
	unsigned char		 start_failed[SCHED_MAX_WORKERS];	/* slot's replacement failed: empty */
	char			 start_err[256];	/* why the last replacement failed to start */
	sched_done_fn		 done;
	void			*ctx;
};

/* End of task idx's budget (all attempts), mono ms. */
static int64_t
task_end(const struct run *r, size_t idx)
{
	const struct sched_task *t = &r->t[idx];

	return r->first[idx] + (t->total_ms > 0 ? t->total_ms : t->deadline_ms);
}

/*
 * Report one attempt of task idx to done().  A SCHED_RETRY answer queues the task for another attempt (never
 * for SCHED_STOPPED); any other finishes it.  *reject (may be NULL) = the callback rejected the reply.
 */
static void
report(struct run *r, size_t idx, enum sched_status st, uint32_t type, const uint8_t *p, size_t n,
    int64_t elapsed, int *reject)
{
	struct sched_reply rep;
	int64_t now = util_mono_ms();
	int rc;

	if (reject != NULL)
		*reject = 0;
	if (r->done_flag[idx])
		return;
	memset(&rep, 0, sizeof(rep));
	rep.idx = idx;
	rep.st = st;
	rep.type = type;
	rep.p = p;
	rep.n = n;
	rep.attempt = r->attempt[idx];
	rep.elapsed_ms = elapsed;
	rep.since_first_ms = r->attempt[idx] > 0 ? now - r->first[idx] : 0;
	rep.left_ms = r->attempt[idx] > 0 ? task_end(r, idx) - now : 0;
	rc = r->done(r->ctx, &rep);
	if (rc == SCHED_RETRY && st != SCHED_STOPPED) {
		assert(rep.retry_ms >= 0 && rep.retry_ms < rep.left_ms);
		r->not_before[idx] = now + rep.retry_ms;
		r->waiting[r->nwaiting++] = idx;
		return;
	}
	r->done_flag[idx] = 1;
	r->reported++;
	if (reject != NULL)
		*reject = rc == -1;
}

/*
 * The worker in slot i failed (died, deadline or bad message): reap it and report its task.  The slot stays
 * empty until the top of sched_run's loop starts a replacement, so several workers that overran at the same
 * moment are all killed and reported before any replacement is forked.
 */
static void
worker_lost(struct run *r, int i, enum sched_status st, const char *why)
{
	struct worker *w = &r->s->w[i];
	long task = w->task;
	int64_t elapsed = util_mono_ms() - w->started;

	log_warnx("worker %d %s%s%s", (int)w->pid, st == SCHED_DEADLINE ? "overran its deadline" :
	    "lost", why ? ": " : "", why ? why : "");
	worker_reap(w);
	if (task >= 0)
		report(r, (size_t)task, st, 0, NULL, 0, elapsed, NULL);
}

/* Fork a replacement into empty slot i; it counts as alive while it starts. */
static void
replacement_fork(struct run *r, int i)
{
	struct worker *w = &r->s->w[i];

	if (worker_fork(r->s, i, r->start_err, sizeof(r->start_err)) == -1) {
		log_warnx("cannot replace worker: %s", r->start_err);
		r->start_failed[i] = 1;
		return;
	}
	w->starting = 1;
	w->started = util_mono_ms();
	w->deadline = w->started + r->s->ready_ms;
}

/* Replacement i failed to start (why): kill and reap it; its slot stays empty for the rest of the run. */
static void
replacement_failed(struct run *r, int i, const char *why)
{
	snprintf(r->start_err, sizeof(r->start_err), "worker %d: %s", (int)r->s->w[i].pid, why);
	log_warnx("cannot replace worker: %s", r->start_err);
	worker_reap(&r->s->w[i]);
	r->start_failed[i] = 1;
}

/* Input from replacement i while it starts: READY makes it idle; FATAL, anything else or EOF ends it. */
static void
replacement_input(struct run *r, int i, short revents)
{
	struct worker *w = &r->s->w[i];
	const uint8_t *p;
	uint32_t type, pid;
	size_t len;
	char why[256], *reason = NULL;
	int k;

	if ((k = worker_read(w, why, sizeof(why))) == -1) {
		replacement_failed(r, i, why);
		return;
	}
	switch (msg_frame_take(&w->fr, &type, &p, &len, why, sizeof(why))) {
	case -1:
		replacement_failed(r, i, why);
		return;
	case 0:
		if (k == 0 || (revents & (POLLHUP | POLLERR)))
			replacement_failed(r, i, "exited while starting");
		return;
	}
	if (type == MSG_FATAL && msg_dec_fatal(p, len, &reason, why, sizeof(why)) == 0) {
		replacement_failed(r, i, reason);
		free(reason);
	} else if (type != MSG_READY || msg_dec_ready(p, len, &pid, why, sizeof(why)) == -1)
		replacement_failed(r, i, type == MSG_READY ? why : "expected READY");
	else
		w->starting = 0;
}

/*
 * The task an idle worker takes next: a retry whose wait is over (the earliest first: its budget is running),
 * else the next task never dispatched.  Removes it from its queue; -1 when none is ready.
 */
static long
next_task(struct run *r, int64_t now)
{
	size_t i, best = SIZE_MAX, idx;

	for (i = 0; i < r->nwaiting; i++)
		if (r->not_before[r->waiting[i]] <= now &&
		    (best == SIZE_MAX || r->not_before[r->waiting[i]] < r->not_before[r->waiting[best]]))
			best = i;
	if (best != SIZE_MAX) {
		idx = r->waiting[best];
		r->waiting[best] = r->waiting[--r->nwaiting];
		r->not_before[idx] = 0;
		return (long)idx;
	}
	while (r->next < r->n && r->done_flag[r->next])
		r->next++;
	return r->next < r->n ? (long)r->next++ : -1;
}

/* Give task idx back to its queue: it was taken but never reached a worker (attempt[idx] is as before). */
static void
untake(struct run *r, size_t idx)
{
	if (r->attempt[idx] >= 1) {
		r->not_before[idx] = util_mono_ms();
		r->waiting[r->nwaiting++] = idx;
	} else
		r->next = idx;
}

/*
 * Hand the next ready task to idle worker i.  Its kill deadline is min(deadline_ms, what is left of the
 * task's total budget).  A send failure counts as the worker dying; the task goes to the next idle worker.
 */
static void
dispatch(struct run *r, int i)
{
	struct worker *w = &r->s->w[i];
	const struct sched_task *t;
	char err[256];
	int64_t now = util_mono_ms(), left;
	long idx;

	if ((idx = next_task(r, now)) < 0)
		return;
	t = &r->t[idx];
	if (r->attempt[idx]++ == 0)
		r->first[idx] = now;
	left = task_end(r, (size_t)idx) - now;
	w->task = idx;
	w->started = now;
	w->deadline = now + (t->deadline_ms < left ? t->deadline_ms : left > 0 ? left : 1);
	if (msg_send(w->fd, t->type, t->req, err, sizeof(err)) == -1) {
		w->task = -1;
		if (--r->attempt[idx] == 0)
			r->first[idx] = 0;
		untake(r, (size_t)idx);
		worker_lost(r, i, SCHED_WORKER_DIED, err);
	}
}

/* Handle readable/hung-up worker i. */
static void
worker_input(struct run *r, int i, short revents)
{
	struct worker *w = &r->s->w[i];
	const uint8_t *p;
	uint32_t type;
	size_t len;
	char err[256];
	int k, reject = 0;
	long task;

	k = worker_read(w, err, sizeof(err));
	if (k == -1) {
		worker_lost(r, i, SCHED_WORKER_DIED, err);
		return;
	}
	for (;;) {
		int t = msg_frame_take(&w->fr, &type, &p, &len, err, sizeof(err));

		if (t == -1) {
			worker_lost(r, i, SCHED_WORKER_DIED, err);
			return;
		}
		if (t == 0)
			break;
		task = w->task;
		if (task < 0 || type != msg_reply_type(r->t[task].type)) {
			snprintf(err, sizeof(err), "unexpected %s message", msg_type_str(type));
			worker_lost(r, i, SCHED_WORKER_DIED, err);
			return;
		}
		w->task = -1;
		report(r, (size_t)task, SCHED_OK, type, p, len, util_mono_ms() - w->started, &reject);
		if (reject) {
			log_warnx("worker %d sent a malformed %s: replaced", (int)w->pid, msg_type_str(type));
			worker_lost(r, i, SCHED_WORKER_DIED, NULL);
			return;
		}
	}
	if (k == 0 || (revents & (POLLHUP | POLLERR)))
		worker_lost(r, i, SCHED_WORKER_DIED, "exited");
}

/* Allocate a run's per-task state.  0, or -1 (out of memory; run_free cleans up). */
static int
run_init(struct run *r, struct sched *s, const struct sched_task *tasks, size_t n, sched_done_fn done, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->s = s;
	r->t = tasks;
	r->n = n;
	r->done = done;
	r->ctx = ctx;
	if (n == 0)
		return 0;
	if ((r->done_flag = calloc(n, 1)) == NULL || (r->attempt = calloc(n, sizeof(*r->attempt))) == NULL ||
	    (r->first = calloc(n, sizeof(*r->first))) == NULL ||
	    (r->not_before = calloc(n, sizeof(*r->not_before))) == NULL ||
	    (r->waiting = calloc(n, sizeof(*r->waiting))) == NULL)
		return -1;
	return 0;
}

static void
run_free(struct run *r)
{
	free(r->done_flag);
	free(r->attempt);
	free(r->first);
	free(r->not_before);
	free(r->waiting);
}

/* Start replacements, hand tasks to idle workers; the number of workers alive (starting ones included). */
static int
run_fill(struct run *r)
{
	struct sched *s = r->s;
	int i, alive = 0;

	for (i = 0; i < s->n; i++) {
		if (s->w[i].pid <= 0 && !r->start_failed[i])
			replacement_fork(r, i);
		if (s->w[i].pid <= 0)
			continue;
		alive++;
		if (!s->w[i].starting && s->w[i].task < 0)
			dispatch(r, i);
	}
	return alive;
}

/* poll's timeout: up to the nearest worker deadline or retry time, at most 1 s. */
static int
run_timeout(const struct run *r, int64_t now)
{
	const struct sched *s = r->s;
	int64_t nearest = now + 1000;
	size_t k;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].pid > 0 && (s->w[i].task >= 0 || s->w[i].starting) && s->w[i].deadline < nearest)
			nearest = s->w[i].deadline;
	for (k = 0; k < r->nwaiting; k++)
		if (r->not_before[r->waiting[k]] < nearest)
			nearest = r->not_before[r->waiting[k]];
	return nearest <= now ? 0 : (int)(nearest - now);
}

/* Kill the workers past their deadline and fail the replacements that did not start in time. */
static void
run_expire(struct run *r)
{
	struct sched *s = r->s;
	int64_t now = util_mono_ms();
	char why[64];
	int i;

	for (i = 0; i < s->n; i++) {
		if (s->w[i].pid <= 0 || now < s->w[i].deadline)
			continue;
		if (s->w[i].starting) {
			snprintf(why, sizeof(why), "no READY within %d ms", s->ready_ms);
			replacement_failed(r, i, why);
		} else if (s->w[i].task >= 0)
			worker_lost(r, i, SCHED_DEADLINE, NULL);
	}
}

/* Stopped or broken: busy and starting workers are abandoned (killed; replaced by the next run). */
static void
run_abandon(struct run *r)
{
	struct sched *s = r->s;
	size_t k;
	int i;

	for (i = 0; i < s->n; i++)
		if (s->w[i].pid > 0 && (s->w[i].task >= 0 || s->w[i].starting)) {
			s->w[i].task = -1;
			worker_reap(&s->w[i]);
		}
	for (k = 0; k < r->n; k++)
		report(r, k, SCHED_STOPPED, 0, NULL, 0, 0, NULL);
}

int
sched_run(struct sched *s, const struct sched_task *tasks, size_t n, sched_done_fn done, void *ctx,
    int stop_fd, char *err, size_t errlen)
{
	struct pollfd pfd[SCHED_MAX_WORKERS + 1];
	struct run r;
	int i, rc, ret = 0;

	if (run_init(&r, s, tasks, n, done, ctx) == -1) {
		run_free(&r);
		return util_err(err, errlen, "out of memory");
	}
	while (r.reported < n) {
		if (run_fill(&r) == 0) {
			ret = util_err(err, errlen, "no worker left: %s", r.start_err[0] ? r.start_err :
			    "every worker was lost");
			break;
		}
		if (r.reported >= n)
			break;
		for (i = 0; i < s->n; i++) {
			pfd[i].fd = s->w[i].fd;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		pfd[s->n].fd = stop_fd;
		pfd[s->n].events = POLLIN;
		pfd[s->n].revents = 0;
		rc = poll(pfd, (nfds_t)s->n + 1, run_timeout(&r, util_mono_ms()));
		if (rc == -1 && errno != EINTR) {
			ret = util_err(err, errlen, "poll: %s", strerror(errno));
			break;
		}
		if (rc > 0 && stop_fd != -1 && (pfd[s->n].revents & POLLIN)) {
			ret = 1;
			break;
		}
		for (i = 0; rc > 0 && i < s->n; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0 || s->w[i].pid <= 0)
				continue;
			if (s->w[i].starting)
				replacement_input(&r, i, pfd[i].revents);
			else
				worker_input(&r, i, pfd[i].revents);
		}
		run_expire(&r);
	}
	if (ret != 0)
		run_abandon(&r);
	run_free(&r);
	return ret;
}
