/*
 * test_sched.c — scanner/sched.c, the worker pool, with fake workers (no network): every task reported
 * exactly once with its status (ok, deadline, worker_died), a task that overran or whose worker died costs
 * only that task, a replacement that is slow to send READY does not hold up the tasks of the other workers
 * (the replacement starts inside the run's poll loop), a replacement that fails to start leaves its slot
 * empty while the others finish the run, and a run with no worker left fails with the reason.
 *
 * The fake worker reads MSG_HOST_REQ and acts on the fqdn: "ok" replies at once, "slow" after 200 ms, "hang"
 * never replies (the parent's deadline kills it), "die" exits.  The test changes struct fake between runs: forks made later
 * (replacements) see the new values, the workers already running keep theirs.
 */
#include "check.h"
#include "msg.h"
#include "sched.h"
#include "util.h"

#include <signal.h>
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

struct seen {
	int		 calls[MAXT];
	enum sched_status st[MAXT];
	int64_t		 at[MAXT];	/* mono ms when reported */
};

static int
on_done(void *ctx, size_t idx, enum sched_status st, uint32_t type, const uint8_t *p, size_t n, int64_t ms)
{
	struct seen *s = ctx;
	struct msg_host_res m;
	char err[256];

	(void)ms;
	if (idx >= MAXT)
		return 0;
	s->calls[idx]++;
	s->st[idx] = st;
	s->at[idx] = util_mono_ms();
	if (st == SCHED_OK) {
		CHECK(type == MSG_HOST_RES);
		CHECK(msg_dec_host_res(p, n, &m, err, sizeof(err)) == 0 && m.task == idx + 1);
		msg_host_res_free(&m);
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
		struct msg_host_req q = { i + 1, (char *)names[i], (char *)"", 0 };

		memset(&bufs[i], 0, sizeof(bufs[i]));
		CHECK(msg_enc_host_req(&bufs[i], &q, err, sizeof(err)) == 0);
		t[i].type = MSG_HOST_REQ;
		t[i].req = &bufs[i];
		t[i].deadline_ms = deadline_ms;
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
	make_tasks(two, 2, 10000, t, bufs);
	CHECK(sched_run(s, t, 2, on_done, &seen, -1, err, sizeof(err)) == 0);
	CHECK(seen.st[0] == SCHED_OK && seen.st[1] == SCHED_OK && sched_pids(s, pids, 4) == 2);
	free_tasks(bufs, 2);
}

int
main(void)
{
	static const char *const mixed[] = { "ok", "hang", "ok", "die", "ok", "ok", "ok", "ok" };
	static const char *const slow[] = { "hang", "slow", "slow", "slow", "slow", "slow" };
	static const char *const fatal[] = { "die", "ok", "ok", "ok", "ok", "ok", "ok" };
	struct sched_task t[MAXT];
	struct msg_buf bufs[MAXT];
	struct sched *s = NULL;
	struct fake f = { 0, 0 };
	struct seen seen;
	pid_t pids[4];
	char err[256];
	int64_t t0;
	size_t i;

	signal(SIGPIPE, SIG_IGN);
	CHECK(sched_new(&s, 2, fake_worker, &f, 5000, err, sizeof(err)) == 0);
	CHECK(sched_pids(s, pids, 4) == 2);

	/* 1. Every task reported once; the hung one by its deadline, the dying one as worker_died. */
	memset(&seen, 0, sizeof(seen));
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

	/*
	 * 2. A replacement that takes 3 s to send READY (ready_ms is 5 s): the other worker runs the five 200-ms
	 * tasks meanwhile, all done after about 1 s.  A pool that waited for the replacement first would hand out
	 * no task from the kill (100 ms) until the replacement is ready (3.1 s).
	 */
	f.start_delay_ms = 3000;
	memset(&seen, 0, sizeof(seen));
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
	f.start_delay_ms = 0;

	/* The slow replacement becomes ready in a later run: both workers serve again. */
	usleep(3500 * 1000);
	run_two_ok(s);

	/* 3. A replacement that fails to start (MSG_FATAL): its slot stays empty, the other worker finishes. */
	f.fatal = 1;
	memset(&seen, 0, sizeof(seen));
	make_tasks(fatal, 7, 10000, t, bufs);
	CHECK(sched_run(s, t, 7, on_done, &seen, -1, err, sizeof(err)) == 0);
	for (i = 0; i < 7; i++)
		CHECK(seen.calls[i] == 1 && seen.st[i] == (i == 0 ? SCHED_WORKER_DIED : SCHED_OK));
	free_tasks(bufs, 7);

	/* 4. No worker left and none can start: the run fails with the reason; the rest is reported stopped. */
	memset(&seen, 0, sizeof(seen));
	make_tasks(fatal, 2, 10000, t, bufs);
	CHECK(sched_run(s, t, 2, on_done, &seen, -1, err, sizeof(err)) == -1);
	CHECK(strstr(err, "no credentials") != NULL);
	CHECK(seen.calls[0] == 1 && seen.calls[1] == 1 && seen.st[0] == SCHED_WORKER_DIED &&
	    seen.st[1] == SCHED_STOPPED);
	CHECK(sched_pids(s, pids, 4) == 0);
	free_tasks(bufs, 2);

	/* 5. Starting works again in a later run once the cause is gone. */
	f.fatal = 0;
	run_two_ok(s);

	sched_free(s, 1000);
	return check_done("test_sched");
}
