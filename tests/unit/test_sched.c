/*
 * test_sched.c — scanner/sched.c, the worker pool, with fake workers (no network): every task reported
 * exactly once with its status (ok, deadline, worker_died), a task that overran or whose worker died costs
 * only that task, a replacement that is slow to send READY does not hold up the tasks of the other workers
 * (the replacement starts inside the run's poll loop), a replacement that fails to start leaves its slot
 * empty while the others finish the run, and a run with no worker left fails with the reason.
 *
 * Retries (done() answering SCHED_RETRY): a task waiting for its retry holds no worker (with one worker, the
 * tasks behind it are all served during its backoff), the attempts are counted and reported, a retried task
 * never outlives its total budget (each attempt is killed at min(its deadline, what is left)), and a stop
 * while a retry waits reports it stopped.
 *
 * The fake worker reads MSG_HOST_REQ and acts on the fqdn: "ok" (and "retry") replies at once, "slow" after
 * 200 ms, "hang" never replies (the parent's deadline kills it), "die" exits.  The test changes struct fake between runs: forks made later
 * (replacements) see the new values, the workers already running keep theirs.
 */
#include "check.h"
#include "msg.h"
#include "sched.h"
#include "util.h"

#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fake {
	int	 start_delay_ms;	/* before READY */
	int	 fatal;			/* send MSG_FATAL instead of READY */
};

static void
fake_worker(int fd, void *arg)
{
	const struct fake *f = arg;
	struct msg_buf in = { 0 }, out = { 0 };
	struct msg_host_req q;
	struct msg_host_res res;
	char err[256];
	uint32_t type;

	if (f->fatal) {
		if (msg_enc_fatal(&out, "no credentials", err, sizeof(err)) == 0)
			msg_send(fd, MSG_FATAL, &out, err, sizeof(err));
		_exit(1);
	}
	if (f->start_delay_ms > 0)
		usleep((useconds_t)f->start_delay_ms * 1000);
	if (msg_enc_ready(&out, (uint32_t)getpid(), err, sizeof(err)) == -1 ||
	    msg_send(fd, MSG_READY, &out, err, sizeof(err)) == -1)
		_exit(1);
	while (msg_recv(fd, &type, &in, err, sizeof(err)) == 0) {
		if (type != MSG_HOST_REQ || msg_dec_host_req(in.data, in.len, &q, err, sizeof(err)) == -1)
			_exit(1);
		if (strcmp(q.fqdn, "die") == 0)
			_exit(1);
		if (strcmp(q.fqdn, "hang") == 0)
			pause();
		if (strcmp(q.fqdn, "slow") == 0)
			usleep(200 * 1000);
		memset(&res, 0, sizeof(res));
		res.task = q.task;
		res.reg = MSG_REG_VALUE_ABSENT;
		msg_host_req_free(&q);
		if (msg_enc_host_res(&out, &res, err, sizeof(err)) == -1 ||
		    msg_send(fd, MSG_HOST_RES, &out, err, sizeof(err)) == -1)
			_exit(1);
	}
	_exit(0);
}

#define MAXT	16
#define MAXA	16

struct seen {
	int		 calls[MAXT];
	enum sched_status st[MAXT];
	int64_t		 at[MAXT];	/* mono ms when reported */
	int		 attempt[MAXT];	/* as last reported */
	int64_t		 since_first[MAXT], left[MAXT], elapsed[MAXT];
	int		 seq[MAXT][MAXA];	/* order of each attempt's report, 1.. */
	int		 nseq;
	/* retry policy of the test: */
	int		 retries[MAXT];		/* SCHED_RETRY for the first retries[i] attempts of task i */
	int64_t		 backoff_ms;
	int		 retry_while_left;	/* SCHED_RETRY (wait 0) while any budget is left */
	int		 stop_fd;		/* >= 0: written to when a retry is asked for */
};

static int
on_done(void *ctx, struct sched_reply *r)
{
	struct seen *s = ctx;
	struct msg_host_res m;
	char err[256];
	size_t idx = r->idx;

	if (idx >= MAXT)
		return 0;
	s->calls[idx]++;
	s->st[idx] = r->st;
	s->at[idx] = util_mono_ms();
	s->attempt[idx] = r->attempt;
	s->since_first[idx] = r->since_first_ms;
	s->left[idx] = r->left_ms;
	s->elapsed[idx] = r->elapsed_ms;
	if (r->attempt >= 1 && r->attempt <= MAXA)
		s->seq[idx][r->attempt - 1] = ++s->nseq;
	if (r->st == SCHED_OK) {
		CHECK(r->type == MSG_HOST_RES);
		CHECK(msg_dec_host_res(r->p, r->n, &m, err, sizeof(err)) == 0 && m.task == idx + 1);
		msg_host_res_free(&m);
	}
	if (r->st == SCHED_STOPPED)
		return 0;
	if ((r->attempt <= s->retries[idx] && s->backoff_ms < r->left_ms) ||
	    (s->retry_while_left && r->left_ms > 0)) {
		r->retry_ms = s->retry_while_left ? 0 : s->backoff_ms;
		if (s->stop_fd >= 0)
			CHECK(write(s->stop_fd, "x", 1) == 1);
		return SCHED_RETRY;
	}
	return 0;
}

/* Tasks named by names[], each with deadline_ms; bufs must hold n. */
static void
make_tasks(const char *const *names, size_t n, int64_t deadline_ms, struct sched_task *t, struct msg_buf *bufs)
{
	char err[256];
	size_t i;

	for (i = 0; i < n; i++) {
		struct msg_host_req q = { i + 1, (char *)names[i], (char *)"", 0, NULL, 0 };

		memset(&bufs[i], 0, sizeof(bufs[i]));
		CHECK(msg_enc_host_req(&bufs[i], &q, err, sizeof(err)) == 0);
		t[i].type = MSG_HOST_REQ;
		t[i].req = &bufs[i];
		t[i].deadline_ms = deadline_ms;
		t[i].total_ms = 0;
	}
}

static void
free_tasks(struct msg_buf *bufs, size_t n)
{
	while (n-- > 0)
		msg_buf_free(&bufs[n]);
}

/* A run of two quick tasks that must both succeed and leave the pool with both workers. */
static void
run_two_ok(struct sched *s)
{
	static const char *const two[] = { "ok", "ok" };
	struct sched_task t[2];
	struct msg_buf bufs[2];
	struct seen seen;
	pid_t pids[4];
	char err[256];

	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	make_tasks(two, 2, 10000, t, bufs);
	CHECK(sched_run(s, t, 2, on_done, &seen, -1, err, sizeof(err)) == 0);
	CHECK(seen.st[0] == SCHED_OK && seen.st[1] == SCHED_OK && sched_pids(s, pids, 4) == 2);
	free_tasks(bufs, 2);
}

/*
 * 6. One worker; task 0 asks for two retries, 1 s apart; tasks 1..4 are quick.  All four are served while
 * task 0 waits for its first retry (a pool that kept task 0's worker would serve none of them before both
 * backoffs were over); task 0 is finished by its third attempt, reported as attempt 3.
 */
static void
test_retry_frees_slot(void)
{
	static const char *const names[] = { "retry", "ok", "ok", "ok", "ok" };
	struct sched_task t[5];
	struct msg_buf bufs[5];
	struct fake f = { 0, 0 };
	struct sched *s = NULL;
	struct seen seen;
	char err[256];
	size_t i;

	CHECK(sched_new(&s, 1, fake_worker, &f, 5000, err, sizeof(err)) == 0);
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	seen.retries[0] = 2;
	seen.backoff_ms = 1000;
	make_tasks(names, 5, 10000, t, bufs);
	t[0].total_ms = 60000;
	CHECK(sched_run(s, t, 5, on_done, &seen, -1, err, sizeof(err)) == 0);
	CHECK(seen.calls[0] == 3 && seen.attempt[0] == 3 && seen.st[0] == SCHED_OK);
	CHECK(seen.since_first[0] >= 2000);	/* both backoffs were waited */
	for (i = 1; i < 5; i++) {
		CHECK(seen.calls[i] == 1 && seen.attempt[i] == 1 && seen.st[i] == SCHED_OK);
		CHECK(seen.seq[i][0] > seen.seq[0][0] && seen.seq[i][0] < seen.seq[0][1]);
	}
	free_tasks(bufs, 5);
	sched_free(s, 1000);
}

/*
 * 7. A task that hangs, retried at once while any budget is left: deadline_ms 300, total_ms 1000.  Every
 * attempt is killed; the last one when the total budget ends, not 300 ms after it started; the task is
 * finished with no budget left, within the total (plus a generous margin for a loaded machine).
 */
static void
test_retry_budget(void)
{
	static const char *const names[] = { "hang" };
	struct sched_task t[1];
	struct msg_buf bufs[1];
	struct fake f = { 0, 0 };
	struct sched *s = NULL;
	struct seen seen;
	char err[256];

	CHECK(sched_new(&s, 1, fake_worker, &f, 5000, err, sizeof(err)) == 0);
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	seen.retry_while_left = 1;
	make_tasks(names, 1, 300, t, bufs);
	t[0].total_ms = 1000;
	CHECK(sched_run(s, t, 1, on_done, &seen, -1, err, sizeof(err)) == 0);
	CHECK(seen.st[0] == SCHED_DEADLINE && seen.attempt[0] >= 2 && seen.calls[0] == seen.attempt[0]);
	CHECK(seen.left[0] <= 0);
	CHECK(seen.since_first[0] >= 1000 && seen.since_first[0] < 3000);
	free_tasks(bufs, 1);
	sched_free(s, 1000);
}

/* 8. A stop while a retry waits: the waiting task is reported SCHED_STOPPED (once), the run returns 1. */
static void
test_retry_stopped(void)
{
	static const char *const names[] = { "retry" };
	struct sched_task t[1];
	struct msg_buf bufs[1];
	struct fake f = { 0, 0 };
	struct sched *s = NULL;
	struct seen seen;
	char err[256];
	int pfd[2];

	CHECK(pipe(pfd) == 0);
	CHECK(sched_new(&s, 1, fake_worker, &f, 5000, err, sizeof(err)) == 0);
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = pfd[1];
	seen.retries[0] = 1;
	seen.backoff_ms = 5000;
	make_tasks(names, 1, 10000, t, bufs);
	t[0].total_ms = 60000;
	CHECK(sched_run(s, t, 1, on_done, &seen, pfd[0], err, sizeof(err)) == 1);
	CHECK(seen.calls[0] == 2 && seen.st[0] == SCHED_STOPPED && seen.attempt[0] == 1);
	free_tasks(bufs, 1);
	sched_free(s, 1000);
	close(pfd[0]);
	close(pfd[1]);
}

/* 1. On a pool of two: the mixed run, then a run that refills the slots it emptied. */
static void
pool_mixed(struct sched *s)
{
	static const char *const mixed[] = { "ok", "hang", "ok", "die", "ok", "ok", "ok", "ok" };
	struct sched_task t[MAXT];
	struct msg_buf bufs[MAXT];
	struct seen seen;
	char err[256];
	size_t i;

	/* 1. Every task reported once; the hung one by its deadline, the dying one as worker_died. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	make_tasks(mixed, 8, 2000, t, bufs);
	for (i = 0; i < 8; i++)
		t[i].deadline_ms = strcmp(mixed[i], "hang") == 0 ? 200 : 10000;
	CHECK(sched_run(s, t, 8, on_done, &seen, -1, err, sizeof(err)) == 0);
	for (i = 0; i < 8; i++) {
		CHECK(seen.calls[i] == 1);
		CHECK(seen.st[i] == (strcmp(mixed[i], "hang") == 0 ? SCHED_DEADLINE :
		    strcmp(mixed[i], "die") == 0 ? SCHED_WORKER_DIED : SCHED_OK));
	}
	free_tasks(bufs, 8);
	/* The slots emptied at the end of a run are refilled by the next one. */
	run_two_ok(s);
}

/* 2. A slow replacement does not hold the other worker back, and serves in a later run. */
static void
pool_slow_replacement(struct sched *s, struct fake *f)
{
	static const char *const slow[] = { "hang", "slow", "slow", "slow", "slow", "slow" };
	struct sched_task t[MAXT];
	struct msg_buf bufs[MAXT];
	struct seen seen;
	char err[256];
	int64_t t0;
	size_t i;

	/*
	 * 2. A replacement that takes 3 s to send READY (ready_ms is 5 s): the other worker runs the five 200-ms
	 * tasks meanwhile, all done after about 1 s.  A pool that waited for the replacement first would hand out
	 * no task from the kill (100 ms) until the replacement is ready (3.1 s).
	 */
	f->start_delay_ms = 3000;
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	make_tasks(slow, 6, 10000, t, bufs);
	t[0].deadline_ms = 100;
	t0 = util_mono_ms();
	CHECK(sched_run(s, t, 6, on_done, &seen, -1, err, sizeof(err)) == 0);
	CHECK(seen.calls[0] == 1 && seen.st[0] == SCHED_DEADLINE);
	for (i = 1; i < 6; i++) {
		CHECK(seen.calls[i] == 1 && seen.st[i] == SCHED_OK);
		CHECK(seen.at[i] - t0 < 2500);		/* before the replacement could have started */
	}
	free_tasks(bufs, 6);
	f->start_delay_ms = 0;

	/* The slow replacement becomes ready in a later run: both workers serve again. */
	usleep(3500 * 1000);
	run_two_ok(s);
}

/* 3.-5. Replacements that fail to start: an empty slot, then no worker at all, then recovery. */
static void
pool_fatal(struct sched *s, struct fake *f)
{
	static const char *const fatal[] = { "die", "ok", "ok", "ok", "ok", "ok", "ok" };
	struct sched_task t[MAXT];
	struct msg_buf bufs[MAXT];
	struct seen seen;
	pid_t pids[4];
	char err[256];
	size_t i;

	/* 3. A replacement that fails to start (MSG_FATAL): its slot stays empty, the other worker finishes. */
	f->fatal = 1;
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	make_tasks(fatal, 7, 10000, t, bufs);
	CHECK(sched_run(s, t, 7, on_done, &seen, -1, err, sizeof(err)) == 0);
	for (i = 0; i < 7; i++)
		CHECK(seen.calls[i] == 1 && seen.st[i] == (i == 0 ? SCHED_WORKER_DIED : SCHED_OK));
	free_tasks(bufs, 7);

	/* 4. No worker left and none can start: the run fails with the reason; the rest is reported stopped. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_fd = -1;
	make_tasks(fatal, 2, 10000, t, bufs);
	CHECK(sched_run(s, t, 2, on_done, &seen, -1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no credentials") != NULL);
	CHECK(seen.calls[0] == 1 && seen.calls[1] == 1 && seen.st[0] == SCHED_WORKER_DIED &&
	    seen.st[1] == SCHED_STOPPED);
	CHECK(sched_pids(s, pids, 4) == 0);
	free_tasks(bufs, 2);

	/* 5. Starting works again in a later run once the cause is gone. */
	f->fatal = 0;
	run_two_ok(s);
}

/*
 * 10. The widest pool: 256 workers with a soft RLIMIT_NOFILE of 64 (the hard one untouched): sched_new raises the
 * soft limit for one socket per worker, every worker starts, and two tasks run on it.
 */
static void
test_wide_pool(void)
{
	struct rlimit rl, low;
	struct sched *s = NULL;
	struct fake f = { 0, 0 };
	pid_t pids[300];
	char err[256];

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 256 + 128)) {
		fprintf(stderr, "test_wide_pool: hard RLIMIT_NOFILE too low here, skipped\n");
		return;
	}
	low = rl;
	low.rlim_cur = 64;
	CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
	CHECK(sched_new(&s, 256, fake_worker, &f, 60000, err, sizeof(err)) == 0);
	CHECK(sched_pids(s, pids, 300) == 256);
	CHECK(getrlimit(RLIMIT_NOFILE, &low) == 0 && low.rlim_cur >= 256 + 64);
	if (s != NULL) {
		static const char *const two[] = { "ok", "ok" };
		struct sched_task t[2];
		struct msg_buf bufs[2];
		struct seen seen;

		memset(&seen, 0, sizeof(seen));
		seen.stop_fd = -1;
		make_tasks(two, 2, 10000, t, bufs);
		CHECK(sched_run(s, t, 2, on_done, &seen, -1, err, sizeof(err)) == 0);
		CHECK(seen.st[0] == SCHED_OK && seen.st[1] == SCHED_OK && sched_pids(s, pids, 300) == 256);
		free_tasks(bufs, 2);
	}
	sched_free(s, 5000);
	CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

int
main(void)
{
	struct sched *s = NULL;
	struct fake f = { 0, 0 };
	pid_t pids[4];
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	CHECK(sched_new(&s, 2, fake_worker, &f, 5000, err, sizeof(err)) == 0);
	CHECK(sched_pids(s, pids, 4) == 2);
	pool_mixed(s);
	pool_slow_replacement(s, &f);
	pool_fatal(s, &f);
	sched_free(s, 1000);

	test_retry_frees_slot();
	test_retry_budget();
	test_retry_stopped();
	test_wide_pool();
	return check_done("test_sched");
}
