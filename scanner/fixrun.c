/*
 * fixrun.c — runs remediation jobs: write the site's IssuingCertificateList to a host (kind fix) or put back
 * what an earlier fix saved (kind rollback), each proven by reading the value back, recorded in the jobs
 * table and the audit trail.  Called by fix.c (the `fix` and `rollback` commands) and fixpoll.c (the
 * daemon's job polling), both through fixrun_jobs while holding the job lock.  Assumes the store, the worker (worker.c serve_job)
 * and the messages (msg.h MSG_FIX_* / MSG_ROLLBACK_*); all job SQL is in lib/store_jobs.c; what to do with a
 * reply is decided in fixdecide.c, carried out here.
 *
 * Job states, with the function performing each transition:
 *
 *   queued --store_jobs_claim(resume 0)--> running --fj_finish--> done    (written, already_correct,
 *     |                                      |  ^                          would_write, restored)
 *     |                                      |  |        '--fj_finish--> failed  (refused, access_denied,
 *     |                                      |  |                                 unreachable, verify_failed)
 *     |   scanner killed while running:      '--'  store_jobs_claim(resume 1) at the next start
 *     '--store_jobs_cancel (server/CLI)--> cancelled
 *
 * One job, step by step (the worker only reports facts; fixdecide.c decides from them, fj_reply carries the
 * decision out):
 *   0. Before contact (start_wave, per wave so that a rollback sees what earlier waves wrote):
 *      fixdecide_start refuses a job whose host is not in this run's inventory, a fix without the operator's
 *      approval of the site value read now, a rollback whose fix job is not a sealed (fixseal.h) written fix
 *      of the same host or was followed by a newer write.  Job rows are untrusted: dpfleet-server, or whoever
 *      holds its DB access, can write any of them.
 *   1. READ (worker): the value now; fixdecide_read finishes the job (fixdecide.c lists the cases in order)
 *      or goes on.
 *   2. Backup (parent, take_backup): exact raw bytes as lowercase hex + type, or "absent", and the hash of
 *      what it holds (the job's before_sha256, kept when a later round finishes the job from a re-read),
 *      stored and COMMITTED with store_jobs_set_backup, only while the job has none: a later attempt never
 *      overwrites it.
 *   3. WRITE (worker): SetValue REG_MULTI_SZ (util_split_value1 of the site's Value1 from a site-DB read made
 *      at the start of this run, equal to the approved value), then read back: the site's hash → written
 *      (sealed by fj_finish when this process took the backup), else verify_failed.  A write
 *      whose fate is unknown (transport failure, deadline, worker death) goes back to step 1 (at most
 *      FIX_ROUNDS times): the re-read decides, and the first backup is kept.
 *   Rollback: READ (the host must hold the fix's after-value), back up the current value (for the record),
 *   RESTORE the fix job's backup bytes with its type (or DELETE when it was "absent"), read back, compare
 *   bytes → restored or verify_failed.  Holding the backup after an attempt of its own → restored.
 *   A step whose winreg connect failed before anything was written, for a transient lib/reason.h word
 *   (Remote Registry still starting, a stall), is attempted again by the worker pool after a backoff
 *   (job_retry, contact.h contact_retry_ms: [smb] retries and retry_backoff, inside the job's deadline).
 *
 * Exactly once: only the scanner holding the job lock (flock on "<store path>.jobs.lock", released by the
 * kernel when the process dies) claims or runs jobs, so a job found running by the lock holder belongs to a
 * dead scanner and is resumed; the backup column is written before any SetValue, so "backup taken" is the
 * only way a previous attempt can have changed the host.  Jobs of one host run one after the other (waves),
 * never in parallel.  At most [fix] concurrency worker processes (hence writes) are in flight.  After a run,
 * every host a job wrote or restored is rescanned (scan_hosts) so its verdict is current, and so is every host
 * whose rescan an earlier, killed scanner lost (store_jobs_unscanned; the daemon also looks at start).  The
 * value written is always the approved one (expected_sha256, set at queue time), so a resumed job recognises
 * its own write even when the site's value changed in between.
 * Length: about 700 lines because a run's state (struct fsess, struct fjob) is private to this file; the
 * decisions (fixdecide.c), the seal (fixseal.c), the commands (fix.c) and the daemon's polling (fixpoll.c)
 * are out already.
 */
#include "fixrun.h"
#include "contact.h"
#include "fixdecide.h"
#include "fixseal.h"
#include "credset.h"
#include "hostmap.h"
#include "krb.h"
#include "log.h"
#include "msg.h"
#include "parent.h"
#include "scan.h"
#include "sched.h"
#include "store.h"
#include "store_fleet.h"
#include "store_jobs.h"
#include "util.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define FIX_ROUNDS		3	/* read/write rounds for a write whose fate stays unknown */
#define FIX_ROUNDS_STR		DPF_XSTR(FIX_ROUNDS)
#define FIX_READY_MS		15000
#define FIX_LOCK_SUFFIX		".jobs.lock"

enum fj_step { FJ_READ, FJ_WRITE, FJ_DONE };

/* One job of a run. */
struct fjob {
	struct store_job j;
	int		 claimed;
	int		 wave;
	const char	*addr;			/* host map, "" = worker resolves */
	enum fj_step	 step;
	/* fix: the site's value from this run's site-DB read */
	int		 host_known;		/* the fresh fleet lists the host */
	const char	*cloud;			/* and it is a cloud DP or CMG (words_cloud), or NULL */
	int		 cred;			/* its credential set (credset.h), CREDSET_NONE: never contacted */
	int		 site_state;		/* enum fleet_expected */
	char		 expected[UTIL_SHA256_HEX];
	char		**elems;
	size_t		 nelems;
	/* rollback: the fix job named, as checked here, and what to put back (its backup) */
	int		 fix_check;		/* enum fixdecide_fix */
	char		 fix_after[UTIL_SHA256_HEX];	/* what the fix left on the host */
	int64_t		 newer_write;		/* a newer job that wrote to the host, 0 none */
	int		 restore_absent;
	uint8_t		*restore;
	size_t		 restore_len;
	uint32_t	 restore_type;
	char		 restore_err[128];	/* why the backup cannot be restored */
	/* results */
	int		 backup_mine;		/* this process took the backup (take_backup), not read it from the row */
	int		 has_before;
	char		 before[UTIL_SHA256_HEX];
	char		 outcome[20];
	int		 rescan;
};

struct fsess {
	const struct config	*conf;
	struct store		*st;
	struct sched		*pool;
	struct hostmap		*hm;
	struct store_fleet	*fleet;
	int			 stop_fd;
	struct worker_conf	 wc;		/* the workers' argument; lives as long as the pool */
	struct fjob		*v;
	size_t			 n;
	size_t			*task_job;	/* task index -> job index for the current sched_run */
	struct store_job_ref	*lost;		/* written hosts whose rescan was lost (store_jobs_unscanned) */
	size_t			 nlost;
	int			 store_failed;
	unsigned char		 key[FIXSEAL_KEY_LEN];	/* the seal key (fixseal.h), wiped in sess_free */
};

/* ---- job lock ---- */

int
fixrun_lock_open(const struct config *conf, char *err, size_t errlen)
{
	char path[PATH_MAX + sizeof(FIX_LOCK_SUFFIX)];
	int fd;

	snprintf(path, sizeof(path), "%s%s", conf->store.path, FIX_LOCK_SUFFIX);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	return fd;
}

/* ---- finishing ---- */

static const char *
nz(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/*
 * End the job in the store.  A written fix is sealed (fixseal.h) over the backup taken and the value read
 * back, so that a rollback can tell it from a row someone else wrote.  Only a backup this process took is
 * sealed: one that came with the row (a planted one, or one a killed scanner took) is never vouched for, so
 * such a fix cannot be rolled back (dpfleet-scanner(8), SECURITY).
 */
static void
fj_finish(struct fsess *s, struct fjob *f, const char *outcome, const char *before, const char *after,
    const char *error)
{
	struct store_job_end e;
	struct fixseal_job sj;
	char err[512], seal[FIXSEAL_HEX] = "";
	int rc, fix = strcmp(f->j.kind, "fix") == 0;

	f->step = FJ_DONE;
	util_strlcpy(f->outcome, outcome, sizeof(f->outcome));
	if (fix && strcmp(outcome, "written") == 0 && f->backup_mine && f->j.backup != NULL && nz(after) != NULL) {
		sj = (struct fixseal_job){ f->j.id, f->j.host, f->j.backup, f->j.backup_type, after };
		fixseal_make(s->key, &sj, seal);
	}
	e = (struct store_job_end){ outcome, fix ? nz(f->expected) : NULL, nz(before), nz(after), nz(error),
	    nz(seal), credset_name(s->conf, f->cred) };
	rc = store_jobs_finish(s->st, f->j.id, &e, err, sizeof(err));
	if (rc == -1) {
		log_warnx("job %lld: store: %s", (long long)f->j.id, err);
		s->store_failed = 1;
	} else if (rc != 0)
		log_warnx("job %lld: %s", (long long)f->j.id, err);
	if (strcmp(outcome, "written") == 0 || strcmp(outcome, "restored") == 0)
		f->rescan = 1;
	log_info("job %lld %s %s: %s%s%s", (long long)f->j.id, f->j.kind, f->j.host, outcome, error ? ": " : "",
	    error ? error : "");
}

/* The facts fixdecide.c decides from. */
static void
fj_facts(const struct fjob *f, struct fixdecide_job *j)
{
	memset(j, 0, sizeof(*j));
	j->rollback = strcmp(f->j.kind, "rollback") == 0;
	j->has_backup = f->j.backup != NULL;
	j->attempts = (int)f->j.attempts;
	j->dry_run = f->j.dry_run != 0;
	j->host_known = f->host_known;
	j->cloud = f->cloud;
	j->job_expected = f->j.expected_sha256;
	j->site_state = f->site_state;
	j->expected = f->expected;
	j->nelems = f->nelems;
	j->fix_id = f->j.rollback_of;
	j->fix_check = f->fix_check;
	j->fix_after = f->fix_after;
	j->newer_write = f->newer_write;
	j->restore_err = f->restore_err;
	j->restore_absent = f->restore_absent;
	j->restore = f->restore;
	j->restore_len = f->restore_len;
	j->restore_type = f->restore_type;
	j->has_before = f->has_before;
	j->before = f->before;
}

/* Finishing a job whose host could not be read/reached: a message with the reason. */
static void
fj_unreachable(struct fsess *s, struct fjob *f, const char *reason, const char *detail)
{
	struct fixdecide_job j;
	struct fixdecide d;

	fj_facts(f, &j);
	fixdecide_unreachable(&j, reason, detail, &d);
	fj_finish(s, f, d.outcome, d.before, d.after, d.error);
}

/* Store the backup of what m holds (unless the job has one).  0 go on, -1 the job was finished/skipped. */
static int
take_backup(struct fsess *s, struct fjob *f, const struct msg_fix_res *m)
{
	char err[512], *hex = NULL;
	int rc, type = -1;

	if (f->j.backup != NULL)
		return 0;
	if (m->reg == MSG_REG_VALUE) {
		if ((hex = malloc((size_t)m->raw_len * 2 + 1)) == NULL) {
			fj_finish(s, f, "refused", f->before, NULL, "out of memory for the backup");
			return -1;
		}
		util_hex(m->raw, m->raw_len, hex);
		type = (int)m->value_type;
	} else if ((hex = strdup(STORE_BACKUP_ABSENT)) == NULL) {
		fj_finish(s, f, "refused", NULL, NULL, "out of memory for the backup");
		return -1;
	}
	rc = store_jobs_set_backup(s->st, f->j.id, hex, type, f->has_before ? f->before : NULL, err, sizeof(err));
	if (rc == 0) {
		f->j.backup = hex;
		f->j.backup_type = type;
		f->backup_mine = 1;
		return 0;
	}
	free(hex);
	if (rc == 1) {
		/* Taken by an earlier attempt: reload it, never replace it. */
		struct store_job j;

		if (store_jobs_load(s->st, f->j.id, &j, err, sizeof(err)) == 1) {
			store_job_free(&f->j);
			f->j = j;
			return 0;
		}
	}
	/* Without a committed backup nothing is written; the job stays running for the next start. */
	log_warnx("job %lld: backup not stored, not writing: %s", (long long)f->j.id, err);
	s->store_failed = 1;
	f->step = FJ_DONE;
	util_strlcpy(f->outcome, "interrupted", sizeof(f->outcome));
	return -1;
}

/*
 * A reply to the job's current step: remember the value read (step 1), let fixdecide.c decide, carry the
 * decision out (the transitions of this file's header: finish, backup then write, re-read).
 */
static void
fj_reply(struct fsess *s, struct fjob *f, const struct msg_fix_res *m)
{
	struct fixdecide_job j;
	struct fixdecide d;
	int reading = f->step == FJ_READ;

	if (reading && strcmp(f->j.kind, "fix") == 0) {
		f->has_before = m->decoded != 0;
		if (m->decoded)
			util_strlcpy(f->before, m->sha256, sizeof(f->before));	/* else the last one read stays */
	} else if (reading) {
		f->has_before = m->decoded != 0;
		util_strlcpy(f->before, m->decoded ? m->sha256 : "", sizeof(f->before));
	}
	fj_facts(f, &j);
	if (reading)
		fixdecide_read(&j, m, &d);
	else
		fixdecide_write(&j, m, &d);
	switch (d.action) {
	case FIXDECIDE_FINISH:
		fj_finish(s, f, d.outcome, d.before, d.after, d.error);
		break;
	case FIXDECIDE_WRITE:
		if (take_backup(s, f, m) == 0)
			f->step = FJ_WRITE;
		break;
	case FIXDECIDE_REREAD:
		if (d.log_unknown)
			log_info("job %lld %s: write outcome unknown (%s), re-reading", (long long)f->j.id, f->j.host,
			    m->detail);
		f->step = FJ_READ;
		break;
	case FIXDECIDE_READ:
		break;
	}
}

/* ---- the worker pool round trips ---- */

/*
 * A connect that failed before anything was written, for a transient reason (lib/reason.h), is attempted
 * again after a backoff while the job's deadline allows (contact_retry_ms); the write is then still ahead.
 */
static int
job_retry(struct fsess *s, struct fjob *f, const struct msg_fix_res *m, struct sched_reply *r)
{
	int64_t wait;

	if (m->reg != MSG_REG_UNREACHABLE || (m->write != MSG_WRITE_UNREACHABLE && m->write != MSG_WRITE_NONE))
		return 0;
	if ((wait = contact_retry_ms(s->conf, m->reason, r)) < 0)
		return 0;
	log_info("job %lld %s: %s on attempt %d, retrying in %lld ms", (long long)f->j.id, f->j.host, m->reason,
	    r->attempt, (long long)wait);
	r->retry_ms = wait;
	return 1;
}

static int
on_done(void *ctx, struct sched_reply *r)
{
	struct fsess *s = ctx;
	struct fjob *f = &s->v[s->task_job[r->idx]];
	struct msg_fix_res m;
	char err[256] = "";
	int rc, writing = f->step == FJ_WRITE;

	if (r->st == SCHED_STOPPED)
		return 0;	/* stays running: finished at the next start */
	if (r->st != SCHED_OK) {
		if (writing) {
			log_info("job %lld %s: %s during the write, re-reading", (long long)f->j.id, f->j.host,
			    sched_status_str(r->st));
			f->step = FJ_READ;
		} else
			fj_unreachable(s, f, sched_status_str(r->st), NULL);
		return 0;
	}
	rc = r->type == MSG_FIX_RES ? msg_dec_fix_res(r->p, r->n, &m, err, sizeof(err)) :
	    msg_dec_rollback_res(r->p, r->n, &m, err, sizeof(err));
	if (rc == -1 || m.task != (uint64_t)r->idx + 1) {
		log_warnx("job %lld: bad reply from worker: %s", (long long)f->j.id, err[0] ? err : "another task");
		if (rc == 0)
			msg_fix_res_free(&m);
		if (writing)
			f->step = FJ_READ;
		else
			fj_unreachable(s, f, "protocol", err);
		return -1;
	}
	if (job_retry(s, f, &m, r)) {
		msg_fix_res_free(&m);
		return SCHED_RETRY;
	}
	fj_reply(s, f, &m);
	msg_fix_res_free(&m);
	return 0;
}

/* One sched_run over the jobs of `wave` at `step`.  0 done, 1 stopped, -1 pool lost (logged). */
static int
run_step(struct fsess *s, int wave, enum fj_step step)
{
	const struct config *conf = s->conf;
	struct sched_task *tasks = NULL;
	struct msg_buf *bufs = NULL;
	size_t i, nt = 0;
	int64_t dl = contact_deadline_ms(conf, WORKER_JOB_STEPS);
	char err[512];
	int rc = -1;

	for (i = 0; i < s->n; i++)
		nt += s->v[i].claimed && s->v[i].wave == wave && s->v[i].step == step;
	if (nt == 0)
		return 0;
	if ((tasks = calloc(nt, sizeof(*tasks))) == NULL || (bufs = calloc(nt, sizeof(*bufs))) == NULL) {
		log_warnx("jobs: out of memory");
		goto done;
	}
	for (i = 0, nt = 0; i < s->n; i++) {
		struct fjob *f = &s->v[i];
		struct msg_fix_req q;
		int fix = strcmp(f->j.kind, "fix") == 0;

		if (!f->claimed || f->wave != wave || f->step != step)
			continue;
		memset(&q, 0, sizeof(q));
		q.task = nt + 1;
		q.job = (uint64_t)f->j.id;
		q.fqdn = f->j.host;
		q.addr = (char *)f->addr;
		q.cred = (uint32_t)f->cred;
		q.op = MSG_FIX_OP_READ;
		if (step == FJ_WRITE && fix) {
			q.op = MSG_FIX_OP_WRITE;
			q.elems = f->elems;
			q.nelems = (uint32_t)f->nelems;
		} else if (step == FJ_WRITE && f->restore_absent)
			q.op = MSG_FIX_OP_DELETE;
		else if (step == FJ_WRITE) {
			q.op = MSG_FIX_OP_RESTORE;
			q.value_type = f->restore_type;
			q.data = f->restore;
			q.data_len = (uint32_t)f->restore_len;
		}
		if ((fix ? msg_enc_fix_req(&bufs[nt], &q, err, sizeof(err)) :
		    msg_enc_rollback_req(&bufs[nt], &q, err, sizeof(err))) == -1) {
			fj_finish(s, f, "refused", NULL, NULL, err);
			continue;
		}
		tasks[nt].type = fix ? MSG_FIX_REQ : MSG_ROLLBACK_REQ;
		tasks[nt].req = &bufs[nt];
		tasks[nt].deadline_ms = dl;
		s->task_job[nt] = i;
		nt++;
	}
	rc = sched_run(s->pool, tasks, nt, on_done, s, s->stop_fd, err, sizeof(err));
	if (rc == -1)
		log_warnx("jobs: worker pool: %s", err);
done:
	for (i = 0; bufs != NULL && i < nt; i++)
		msg_buf_free(&bufs[i]);
	free(bufs);
	free(tasks);
	return rc;
}

/* ---- preparing a run ---- */

/* Fresh site-DB read, stored like a scan's inventory refresh.  0, or -1 with err (store unchanged). */
static int
read_fleet(struct fsess *s, int *sitedb_ready, char *err, size_t errlen)
{
	struct store_fleet_stats stats;

	/* sitedb's messages name the site DB: no prefix */
	return parent_fleet_read(s->conf, s->st, sitedb_ready, "", &s->fleet, &stats, err, errlen);
}

/* The job's host in this run's site-DB read (host_known) and its site's value (fix: what may be written). */
static void
prepare_site(struct fsess *s, struct fjob *f)
{
	const struct store_fleet *fl = s->fleet;
	const struct fleet_host *h = NULL;
	size_t i;
	long ne;

	f->site_state = FLEET_EXPECTED_ABSENT;
	for (i = 0; i < fl->nhosts && h == NULL; i++)
		if (strcasecmp(fl->hosts[i].fqdn, f->j.host) == 0)
			h = &fl->hosts[i];
	f->host_known = h != NULL;
	f->cloud = h != NULL ? h->cloud : NULL;
	f->cred = credset_pick(s->conf, f->j.host, h != NULL ? h->site : NULL);
	for (i = 0; h != NULL && i < fl->nsites; i++) {
		const struct fleet_site *site = &fl->sites[i];

		if (strcmp(site->code, h->site) != 0)
			continue;
		f->site_state = (int)site->expected;
		if (site->expected == FLEET_EXPECTED_PRESENT && site->expected_value != NULL) {
			if ((ne = util_split_value1(site->expected_value, &f->elems)) < 0) {
				f->elems = NULL;
				f->site_state = FLEET_EXPECTED_ABSENT;
			} else {
				f->nelems = (size_t)ne;
				util_multisz_sha256((const char *const *)f->elems, f->nelems, f->expected);
			}
		}
		break;
	}
}

/* How the fix job fx a rollback names qualifies (enum fixdecide_fix): kind, state, host, the scanner's seal. */
static int
check_fix(const struct fsess *s, const struct fjob *f, const struct store_job *fx)
{
	struct fixseal_job sj = { fx->id, fx->host, fx->backup, fx->backup_type, fx->after_sha256 };

	if (strcmp(fx->kind, "fix") != 0 || strcmp(fx->state, "done") != 0 || strcmp(fx->outcome, "written") != 0)
		return FIXDECIDE_FIX_NOT_WRITTEN;
	if (strcasecmp(fx->host, f->j.host) != 0)
		return FIXDECIDE_FIX_OTHER_HOST;
	if (fx->backup == NULL || fx->after_sha256[0] == '\0' || !fixseal_verify(s->key, &sj, fx->seal))
		return FIXDECIDE_FIX_UNSEALED;
	return FIXDECIDE_FIX_OK;
}

/* A rollback: the fix job it names, checked, and its backup decoded (fixdecide_start decides from them). */
static void
prepare_rollback(struct fsess *s, struct fjob *f)
{
	struct store_job fx;
	long got;
	char err[256];

	if (store_jobs_load(s->st, f->j.rollback_of, &fx, err, sizeof(err)) != 1) {
		f->fix_check = FIXDECIDE_FIX_MISSING;
		return;
	}
	f->fix_check = check_fix(s, f, &fx);
	util_strlcpy(f->fix_after, fx.after_sha256, sizeof(f->fix_after));
	if (f->fix_check != FIXDECIDE_FIX_OK)
		;
	else if (strcmp(fx.backup, STORE_BACKUP_ABSENT) == 0)
		f->restore_absent = 1;
	else if (fx.backup_type < 0 || (f->restore = malloc(strlen(fx.backup) / 2 + 1)) == NULL ||
	    (got = util_unhex(fx.backup, f->restore, strlen(fx.backup) / 2 + 1)) < 0 ||
	    (size_t)got > MSG_VALUE_MAX)
		snprintf(f->restore_err, sizeof(f->restore_err), "fix job %lld: the backup does not decode",
		    (long long)fx.id);
	else {
		f->restore_len = (size_t)got;
		f->restore_type = (uint32_t)fx.backup_type;
	}
	store_job_free(&fx);
}

/* What a claimed job needs before its first request: address, the site's value or the backup to restore. */
static void
prepare_job(struct fsess *s, struct fjob *f)
{
	const char *a = hostmap_lookup(s->hm, f->j.host);

	f->addr = a ? a : "";
	f->step = FJ_READ;
	prepare_site(s, f);
	if (strcmp(f->j.kind, "rollback") == 0)
		prepare_rollback(s, f);
}

/*
 * Before the jobs of `wave` contact their hosts: a rollback learns whether a newer job wrote to its host
 * (the jobs of earlier waves included), then fixdecide_start refuses what must not run.
 */
static void
start_wave(struct fsess *s, int wave)
{
	struct fixdecide_job j;
	struct fixdecide d;
	char err[512];
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct fjob *f = &s->v[i];

		if (!f->claimed || f->wave != wave || f->step != FJ_READ)
			continue;
		if (strcmp(f->j.kind, "rollback") == 0 && store_jobs_newer_write(s->st, f->j.host,
		    f->j.rollback_of, &f->newer_write, err, sizeof(err)) == -1) {
			snprintf(f->restore_err, sizeof(f->restore_err), "cannot look for newer writes: %.80s", err);
			s->store_failed = 1;
		}
		fj_facts(f, &j);
		fixdecide_start(&j, &d);
		if (d.action == FIXDECIDE_FINISH)
			fj_finish(s, f, d.outcome, d.before, d.after, d.error);
		else if (f->cred == CREDSET_NONE)	/* never contacted (lib/reason.h) */
			fj_unreachable(s, f, "no_credentials", "no credential set matches the host");
	}
}

static void
fjob_free(struct fjob *f)
{
	store_job_free(&f->j);
	util_strv_free(f->elems, f->nelems);
	free(f->restore);
	memset(f, 0, sizeof(*f));
}

static void
sess_free(struct fsess *s)
{
	size_t i;

	sched_free(s->pool, 2000);
	s->pool = NULL;
	hostmap_free(s->hm);
	s->hm = NULL;
	store_fleet_free(s->fleet);
	s->fleet = NULL;
	sodium_memzero(s->key, sizeof(s->key));
	for (i = 0; s->v != NULL && i < s->n; i++)
		fjob_free(&s->v[i]);
	free(s->v);
	s->v = NULL;
	free(s->task_job);
	s->task_job = NULL;
	free(s->lost);
	s->lost = NULL;
	s->nlost = 0;
	s->n = 0;
}

/*
 * One run while holding the job lock: resume `resume` (jobs left running), claim `claim` (queued jobs),
 * execute, rescan.  Outcomes stay in s->v for the caller.  0 ran (see store_failed), 1 stopped by stop_fd,
 * 2 the site DB could not be read (nothing claimed, err), -1 store/pool error (err).
 */
static int
sess_run(struct fsess *s, int *sitedb_ready, const int64_t *resume, size_t nresume, const int64_t *claim,
    size_t nclaim, char *err, size_t errlen)
{
	const struct config *conf = s->conf;
	const char **hosts = NULL;
	size_t i, k, nh = 0;
	int wave, nwaves = 0, round, rc;
	char why[512];

	s->n = nresume + nclaim;
	/* Earlier writes whose rescan was lost (a scanner killed between the write and its rescan). */
	if (store_jobs_unscanned(s->st, FIXRUN_BATCH_MAX, &s->lost, &s->nlost, why, sizeof(why)) == -1)
		log_warnx("store: %s", why);
	if (s->n == 0 && s->nlost == 0)
		return 0;
	if (s->n > 0 && ((s->v = calloc(s->n, sizeof(*s->v))) == NULL ||
	    (s->task_job = calloc(s->n, sizeof(size_t))) == NULL))
		return util_err(err, errlen, "jobs: out of memory");
	if (fixseal_key_load(conf, s->key, why, sizeof(why)) == -1)
		return util_err(err, errlen, "job seal key: %s", why);
	if (read_fleet(s, sitedb_ready, err, errlen) == -1)
		return 2;
	if (conf->smb.host_map[0] != '\0' ? hostmap_load(&s->hm, conf->smb.host_map, why, sizeof(why)) :
	    hostmap_empty(&s->hm, why, sizeof(why)))
		return util_err(err, errlen, "host_map: %s", why);
	/* Claim; jobs of one host go into successive waves, oldest first. */
	for (i = 0; i < s->n; i++) {
		struct fjob *f = &s->v[i];
		int64_t id = i < nresume ? resume[i] : claim[i - nresume];

		rc = store_jobs_claim(s->st, id, i < nresume, &f->j, why, sizeof(why));
		if (rc == -1)
			return util_err(err, errlen, "claim job %lld: %s", (long long)id, why);
		if (rc != 0) {
			f->j.id = id;
			util_strlcpy(f->outcome, "cancelled", sizeof(f->outcome));
			log_info("job %lld not run: %s", (long long)id, why);
			continue;
		}
		f->claimed = 1;
		for (k = 0; k < i; k++)
			if (s->v[k].claimed && strcasecmp(s->v[k].j.host, f->j.host) == 0 && s->v[k].wave >= f->wave)
				f->wave = s->v[k].wave + 1;
		if (f->wave + 1 > nwaves)
			nwaves = f->wave + 1;
		prepare_job(s, f);
	}
	s->wc.conf = conf;
	(void)krb_ensure(conf);		/* keytab sets: a ticket for the workers, unless one is fresh (krb.h) */
	if (sched_new(&s->pool, conf->fix.concurrency > 0 ? conf->fix.concurrency : 1, worker_main, &s->wc,
	    FIX_READY_MS, why, sizeof(why)) == -1)
		return util_err(err, errlen, "cannot start workers: %s", why);
	for (wave = 0; wave < nwaves; wave++) {
		start_wave(s, wave);
		for (round = 0; round < FIX_ROUNDS; round++) {
			if ((rc = run_step(s, wave, FJ_READ)) != 0 || (rc = run_step(s, wave, FJ_WRITE)) != 0)
				return rc == 1 ? 1 : util_err(err, errlen, "worker pool lost");
		}
		for (i = 0; i < s->n; i++)
			if (s->v[i].claimed && s->v[i].wave == wave && s->v[i].step != FJ_DONE)
				fj_unreachable(s, &s->v[i], "write outcome unknown",
				    "no verified read after " FIX_ROUNDS_STR " rounds");
	}
	/* Rescan what was written so its verdict is current: this run's writes and the lost rescans. */
	if ((hosts = calloc(s->n + s->nlost + 1, sizeof(*hosts))) != NULL) {
		for (i = 0; i < s->n; i++)
			if (s->v[i].rescan)
				hosts[nh++] = s->v[i].j.host;
		for (i = 0; i < s->nlost; i++)
			hosts[nh++] = s->lost[i].host;
		if (nh > 0 && (rc = scan_hosts(conf, s->st, s->pool, hosts, nh, s->stop_fd)) != 0)
			log_warnx("rescan after the jobs %s", rc == 1 ? "stopped" : "failed");
		free(hosts);
	}
	return 0;
}

int
fixrun_jobs(const struct config *conf, struct store *st, int stop_fd, int *sitedb_ready, const int64_t *resume,
    size_t nresume, const int64_t *claim, size_t nclaim, int *store_failed, char *err, size_t errlen)
{
	struct fsess s;
	int rc;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	s.st = st;
	s.stop_fd = stop_fd;
	rc = sess_run(&s, sitedb_ready, resume, nresume, claim, nclaim, err, errlen);
	*store_failed = s.store_failed;
	sess_free(&s);
	return rc;
}
