/*
 * scan.c — one scan run (see scan.h), and `--once` which makes one.
 *
 * Called by main.c (`--once`), daemon.c (scheduled and requested runs) and fixrun.c (scan_hosts, the rescan
 * after jobs wrote).  The parent process only talks to the site DB (parent_fleet_read), the state DB
 * (store_scan.c, store_fleet.c) and its workers (sched.c); it parses nothing from the network except the
 * workers' size-capped messages, which are decoded strictly here: a reply that does not decode makes sched.c
 * replace that worker, and the host gets `unreachable` with reason `protocol`.
 *
 * Run states (scans.state), with the function performing each transition:
 *   (none) --scan_run: store_scan_begin--> running --all hosts reported: run_finish--> done
 *                                             '--signal / pool lost: run_finish-----> failed
 * Observations are stored as replies arrive (one short transaction each), so a run's memory does not grow
 * with evidence.  CertMgr denials may arrive before or after the host's own reply: before, they are kept
 * on the target and stored with its observation; after, the stored observation is updated.
 * Every host and site server gets its credential set (credset.c) before any contact; a host without one is
 * stored unreachable/no_credentials and gets no task (run_creds).
 * Host deadline: contact_deadline_ms with WORKER_HOST_STEPS (CertMgr: WORKER_CERTMGR_STEPS); retries:
 * contact_retry_ms.  Signals: SIGTERM/SIGINT are read through the mode's signalfd (parent.h), never here.
 * Length: over 600 lines because a run's state (struct run, struct tgt) is private to this file; the parts
 * that need none of it live in contact.c, parent.c and summary.c.
 */
#include "scan.h"
#include "contact.h"
#include "credset.h"
#include "parent.h"
#include "hostmap.h"
#include "log.h"
#include "logparse.h"
#include "msg.h"
#include "sched.h"
#include "store.h"
#include "store_fleet.h"
#include "store_scan.h"
#include "summary.h"
#include "util.h"
#include "verdict.h"
#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NSTATES		SUMMARY_NSTATES

/* One host of a run. */
struct tgt {
	struct store_scan_target t;
	const char	*addr;			/* from the host map, "" = worker resolves */
	int		 reported;
	int64_t		 obs_id;		/* 0 until stored */
	enum verdict_state state;
	int		 cred;			/* credset.h index, CREDSET_NONE: never contacted */
	char		 reason[32];
	int		 attempts;		/* contacts the verdict took */
	long		 pxe_cert_errors;
	/* CertMgr denial naming this host (from any site server) */
	int		 denied;
	char		 denied_at[UTIL_ISO_LEN];
	char		*denied_line;
	char		 denied_file[64];
};

struct run {
	const struct config	*conf;
	struct store		*st;
	int64_t			 scan_id;
	char			 now[UTIL_ISO_LEN];
	struct tgt		*tg;
	size_t			 ntg;
	struct store_scan_site	*sites;
	size_t			 nsites;
	/*
	 * Task i < nsite_tasks is site i's CertMgr task, else host i - nsite_tasks, up to nhost_tasks of them:
	 * run_creds puts the sites and hosts that have a credential set first.
	 */
	size_t			 nsite_tasks, nhost_tasks;
	long			 counts[NSTATES];
	long			 affected, unreachable, retried;
	int			 store_failed;
	char			 store_err[256];
};

static void
store_fail(struct run *r, const char *what, const char *err)
{
	if (!r->store_failed)
		snprintf(r->store_err, sizeof(r->store_err), "%.60s: %.190s", what, err);
	r->store_failed = 1;
	log_warnx("store: %s: %s", what, err);
}

/* Store the host's observation and remember its verdict for the summary. */
static void
put_obs(struct run *r, struct tgt *t, const struct verdict *v, const struct msg_host_res *m, int64_t ms,
    int attempts)
{
	struct store_obs o;
	struct store_evidence ev[STORE_EVIDENCE_MAX];
	size_t nev = 0;
	uint32_t i;
	char err[256];

	memset(&o, 0, sizeof(o));
	o.scan_id = r->scan_id;
	o.host_id = t->t.host_id;
	o.at = r->now;
	o.state = verdict_state_str(v->state);
	o.reason = v->reason;
	o.note = v->note;
	o.affected = v->affected;
	o.value_sha256 = v->has_sha ? v->value_sha256 : NULL;
	o.expected_sha256 = t->t.expected_sha256;
	o.scan_ms = (long)ms;
	o.attempts = attempts > 1 ? attempts : 1;
	o.cred_set = credset_name(r->conf, t->cred);
	if (t->denied) {
		o.certmgr_denied = 1;
		o.certmgr_denied_at = t->denied_at;
	}
	if (t->denied && t->denied_file[0] != '\0') {	/* "": a carried denial without an evidence line */
		ev[nev].source = "certmgr";
		ev[nev].file = t->denied_file;
		ev[nev].at = t->denied_at;
		ev[nev].component = "SMS_CERTIFICATE_MANAGER";
		ev[nev].type = 0;
		ev[nev].line = t->denied_line ? t->denied_line : "";
		nev++;
	}
	if (m != NULL) {
		o.pxe_cert_errors = m->pxe_cert_errors;
		o.pxe_last_error = m->pxe_last_error;
		o.pxe_expired_cert = m->pxe_expired_cert != 0;
		for (i = 0; i < m->nev && nev < STORE_EVIDENCE_MAX; i++, nev++) {
			ev[nev].source = m->ev[i].source;
			ev[nev].file = m->ev[i].file;
			ev[nev].at = m->ev[i].at;
			ev[nev].component = m->ev[i].component;
			ev[nev].type = (int)m->ev[i].type;
			ev[nev].line = m->ev[i].line;
		}
	}
	t->reported = 1;
	t->attempts = o.attempts;
	t->state = v->state;
	util_strlcpy(t->reason, v->reason, sizeof(t->reason));
	t->pxe_cert_errors = o.pxe_cert_errors;
	r->counts[v->state]++;
	if (v->affected)
		r->affected++;
	if (v->state == VERDICT_UNREACHABLE)
		r->unreachable++;
	if (o.attempts > 1)
		r->retried++;
	if (store_scan_put_obs(r->st, &o, ev, nev, &t->obs_id, err, sizeof(err)) == -1)
		store_fail(r, t->t.fqdn, err);
	if (o.attempts > 1)
		log_info("%s: %s%s%s after %d attempts (%lld ms)", t->t.fqdn, o.state, v->reason[0] ? " " : "",
		    v->reason, o.attempts, (long long)ms);
	else
		log_debug("%s: %s%s%s (1 attempt, %lld ms)", t->t.fqdn, o.state, v->reason[0] ? " " : "",
		    v->reason, (long long)ms);
}

static void
host_unreachable(struct run *r, struct tgt *t, const char *reason, int64_t ms, int attempts)
{
	struct verdict v;

	memset(&v, 0, sizeof(v));
	v.state = VERDICT_UNREACHABLE;
	util_strlcpy(v.reason, reason, sizeof(v.reason));
	put_obs(r, t, &v, NULL, ms, attempts);
}

static enum verdict_expect
expect_of(const char *s)
{
	if (strcmp(s, "present") == 0)
		return VERDICT_EXPECT_PRESENT;
	if (strcmp(s, "ambiguous") == 0)
		return VERDICT_EXPECT_AMBIGUOUS;
	return VERDICT_EXPECT_ABSENT;
}

/*
 * A host's reply: its verdict, stored; or, for a transient unreachable reason with room left for another
 * attempt (contact_retry_ms), SCHED_RETRY with rep->retry_ms set and nothing stored.  -1 when it does not decode.
 */
static int
host_reply(struct run *r, struct tgt *t, struct sched_reply *rep)
{
	struct msg_host_res m;
	struct verdict_in in;
	struct verdict v;
	char err[256] = "";
	int64_t wait;

	if (msg_dec_host_res(rep->p, rep->n, &m, err, sizeof(err)) == -1 || m.task != (uint64_t)rep->idx + 1) {
		if (m.task != (uint64_t)rep->idx + 1 && err[0] == '\0')
			snprintf(err, sizeof(err), "reply for another task");
		log_warnx("%s: bad reply from worker: %s", t->t.fqdn, err);
		msg_host_res_free(&m);
		host_unreachable(r, t, "protocol", rep->since_first_ms, rep->attempt);
		return -1;
	}
	if (m.reg == MSG_REG_UNREACHABLE && (wait = contact_retry_ms(r->conf, m.reason, rep)) >= 0) {
		log_info("%s: %s on attempt %d, retrying in %lld ms: %s", t->t.fqdn, m.reason, rep->attempt,
		    (long long)wait, m.detail);
		msg_host_res_free(&m);
		rep->retry_ms = wait;
		return SCHED_RETRY;
	}
	memset(&in, 0, sizeof(in));
	in.reg = (enum verdict_reg)m.reg;	/* the same numbering, checked by msg_dec_host_res */
	in.reason = m.reason;
	in.type = m.value_type;
	in.raw_len = m.raw_len;
	in.decoded = (int)m.decoded;
	in.elems = (const char *const *)m.elems;
	in.nelems = m.nelems;
	in.encoding = m.decoded ? m.decode_err : NULL;
	in.decode_err = m.decoded ? NULL : m.decode_err;
	in.expect = expect_of(t->t.expected_state);
	in.expected_sha256 = t->t.expected_sha256;
	verdict_eval(&in, &v);
	if (m.detail[0] != '\0')
		log_info("%s: %s", t->t.fqdn, m.detail);
	if (m.log == MSG_LOG_ERROR)
		log_info("%s: SMSPXE.log: %s", t->t.fqdn, m.log_detail);
	put_obs(r, t, &v, &m, rep->since_first_ms, rep->attempt);
	msg_host_res_free(&m);
	return 0;
}

/*
 * A denial of `logged` (as the site server's log spells it) from site code's CertMgr logs; file: the one the
 * worker read it from (CertMgr.log or its rolled CertMgr.lo_), "" for CertMgr.log.
 */
static void
apply_denial(struct run *r, const char *code, const char *file_read, const struct msg_denied *d)
{
	struct store_evidence ev;
	char err[256], file[64];
	size_t i;

	if (file_read != NULL && file_read[0] != '\0')
		util_strlcpy(file, file_read, sizeof(file));
	else
		snprintf(file, sizeof(file), "SMS_%s/Logs/CertMgr.log", code);
	for (i = 0; i < r->ntg; i++) {
		struct tgt *t = &r->tg[i];

		if (!logparse_host_match(d->fqdn, t->t.fqdn))
			continue;
		if (t->denied && strcmp(t->denied_at, d->last) >= 0)
			continue;	/* already holds a denial at least as recent */
		t->denied = 1;
		util_strlcpy(t->denied_at, d->last, sizeof(t->denied_at));
		util_strlcpy(t->denied_file, file, sizeof(t->denied_file));
		free(t->denied_line);
		t->denied_line = strdup(d->line);
		if (t->obs_id > 0) {
			ev.source = "certmgr";
			ev.file = file;
			ev.at = d->last;
			ev.component = "SMS_CERTIFICATE_MANAGER";
			ev.type = 0;
			ev.line = d->line;
			if (store_scan_obs_certmgr(r->st, t->obs_id, d->last, &ev, 1, err, sizeof(err)) == -1)
				store_fail(r, t->t.fqdn, err);
		}
	}
}

static int
certmgr_reply(struct run *r, const struct store_scan_site *s, uint64_t task, const uint8_t *p, size_t n)
{
	struct msg_certmgr_res m;
	char err[256] = "";
	uint32_t i;

	if (msg_dec_certmgr_res(p, n, &m, err, sizeof(err)) == -1 || m.task != task) {
		log_warnx("%s: bad CertMgr reply from worker: %s", s->server, err[0] ? err : "another task");
		msg_certmgr_res_free(&m);
		return -1;
	}
	if (!m.ok)
		log_info("%s: %s: %s%s%s", s->server, m.file, m.reason, m.detail[0] ? ": " : "", m.detail);
	for (i = 0; i < m.ndenied; i++)
		apply_denial(r, s->code, m.file, &m.denied[i]);
	msg_certmgr_res_free(&m);
	return 0;
}

static int
on_done(void *ctx, struct sched_reply *rep)
{
	struct run *r = ctx;
	struct tgt *t;

	if (rep->idx < r->nsite_tasks) {
		if (rep->st == SCHED_OK)
			return certmgr_reply(r, &r->sites[rep->idx], (uint64_t)rep->idx + 1, rep->p, rep->n);
		if (rep->st != SCHED_STOPPED)
			log_warnx("%s: CertMgr.log: %s", r->sites[rep->idx].server, sched_status_str(rep->st));
		return 0;
	}
	t = &r->tg[rep->idx - r->nsite_tasks];
	switch (rep->st) {
	case SCHED_OK:
		return host_reply(r, t, rep);
	case SCHED_DEADLINE:
	case SCHED_WORKER_DIED:
		host_unreachable(r, t, sched_status_str(rep->st), rep->since_first_ms, rep->attempt);
		return 0;
	case SCHED_STOPPED:
		return 0;
	}
	return 0;
}

/* Refresh sites/hosts from the site DB.  0, or -1 with err (the store is then unchanged). */
static int
refresh_inventory(struct parent *p, char *err, size_t errlen)
{
	struct store_fleet *f = NULL;
	struct store_fleet_stats stats;

	if (parent_fleet_read(p->conf, p->st, &p->sitedb_ready, "site DB: ", &f, &stats, err, errlen) == -1)
		return -1;
	log_debug("inventory: %zu sites, %zu hosts (%ld new, %ld retired)", f->nsites, f->nhosts,
	    stats.hosts_new, stats.hosts_retired);
	store_fleet_free(f);
	return 0;
}

/* The --once table (summary.c) from the run's targets. */
static void
print_summary(FILE *out, const struct run *r, const struct scan_result *res)
{
	struct summary sm;
	struct summary_host *h = NULL;
	size_t i;

	memset(&sm, 0, sizeof(sm));
	sm.scan_id = r->scan_id;
	sm.hosts = res->hosts;
	sm.affected = res->affected;
	sm.unreachable = res->unreachable;
	sm.retried = r->retried;
	sm.duration_ms = res->duration_ms;
	sm.stopped = res->stopped;
	sm.counts = r->counts;
	if (r->ntg > 0 && (h = calloc(r->ntg, sizeof(*h))) == NULL)
		log_warnx("summary: out of memory: the host lists are left out");
	for (i = 0; h != NULL && i < r->ntg; i++) {
		h[i].fqdn = r->tg[i].t.fqdn;
		h[i].site = r->tg[i].t.site;
		h[i].reported = r->tg[i].reported;
		h[i].state = r->tg[i].state;
		h[i].reason = r->tg[i].reason;
		h[i].attempts = r->tg[i].attempts;
		h[i].pxe_cert_errors = r->tg[i].pxe_cert_errors;
		h[i].denied = r->tg[i].denied;
		h[i].denied_at = r->tg[i].denied_at;
	}
	sm.h = h;
	sm.n = h != NULL ? r->ntg : 0;
	summary_print(out, &sm);
	free(h);
}

/* scan_hosts: keep the targets `only` names (case-insensitive), drop every CertMgr task. */
static void
only_filter(const char *const *only, size_t nonly, struct store_scan_target *tv, size_t *ntg, size_t *nsites)
{
	size_t i, j, k;

	for (i = j = 0; i < *ntg; i++)
		for (k = 0; k < nonly; k++)
			if (strcasecmp(tv[i].fqdn, only[k]) == 0) {
				tv[j++] = tv[i];
				break;
			}
	*ntg = j;
	*nsites = 0;
}

/*
 * scan_hosts reads no CertMgr.log (the site server's view is unchanged by our write): the target keeps the
 * denial of its last observation, so the rescan's observation stores it again.  0, or -1 after store_fail.
 */
static int
carry_denial(struct run *r, struct tgt *t)
{
	struct store_scan_certmgr c;
	char err[256];

	if (store_scan_last_certmgr(r->st, t->t.host_id, &c, err, sizeof(err)) == -1) {
		store_fail(r, t->t.fqdn, err);
		return -1;
	}
	t->denied = c.denied;
	util_strlcpy(t->denied_at, c.at, sizeof(t->denied_at));
	util_strlcpy(t->denied_file, c.file, sizeof(t->denied_file));
	t->denied_line = c.line;
	return 0;
}

/*
 * Credential sets (credset.c), picked before any contact: the hosts and site servers that have one come first
 * (struct run's task layout); a host without one is stored unreachable with reason no_credentials now and
 * never contacted, a site server without one is not read.  0, or -1 after store_fail.
 */
static int
run_creds(struct run *r)
{
	struct tgt *tg = NULL;
	struct store_scan_site tmp;
	size_t i, j, k;

	if (r->ntg > 0 && (tg = calloc(r->ntg, sizeof(*tg))) == NULL) {
		store_fail(r, "targets", "out of memory");
		return -1;
	}
	for (i = 0; i < r->ntg; i++)
		r->tg[i].cred = credset_pick(r->conf, r->tg[i].t.fqdn, r->tg[i].t.site);
	for (i = j = 0; i < r->ntg; i++)
		if (r->tg[i].cred != CREDSET_NONE)
			tg[j++] = r->tg[i];
	r->nhost_tasks = j;
	for (i = 0; i < r->ntg; i++)
		if (r->tg[i].cred == CREDSET_NONE)
			tg[j++] = r->tg[i];
	free(r->tg);
	r->tg = tg;
	for (i = k = 0; i < r->nsites; i++)	/* stable: sites stay ordered by code within each part */
		if (credset_pick(r->conf, r->sites[i].server, r->sites[i].code) != CREDSET_NONE) {
			tmp = r->sites[i];
			memmove(&r->sites[k + 1], &r->sites[k], (i - k) * sizeof(*r->sites));
			r->sites[k++] = tmp;
		} else
			log_info("%s: no credential set matches site %s's server: CertMgr.log not read",
			    r->sites[i].server, r->sites[i].code);
	r->nsite_tasks = k;
	for (i = r->nhost_tasks; i < r->ntg; i++) {
		log_info("%s: no credential set matches (site %s): not contacted", r->tg[i].t.fqdn,
		    r->tg[i].t.site);
		host_unreachable(r, &r->tg[i], "no_credentials", 0, 1);
	}
	return 0;
}

/*
 * The run's hosts (r->tg, over *tv which the caller frees) and CertMgr sites, with their addresses, and for
 * scan_hosts their carried denials.  0, or -1 after store_fail.
 */
static int
run_targets(struct run *r, const struct hostmap *hm, const char *const *only, size_t nonly,
    struct store_scan_target **tv)
{
	char err[512];
	const char *a;
	size_t i;

	if (store_scan_targets(r->st, tv, &r->ntg, err, sizeof(err)) == -1 ||
	    store_scan_sites(r->st, &r->sites, &r->nsites, err, sizeof(err)) == -1) {
		store_fail(r, "targets", err);
		r->ntg = 0;		/* r->tg was never allocated: run_finish and the summary count nothing */
		return -1;
	}
	if (only != NULL)
		only_filter(only, nonly, *tv, &r->ntg, &r->nsites);
	if (r->ntg > 0 && (r->tg = calloc(r->ntg, sizeof(*r->tg))) == NULL) {
		store_fail(r, "targets", "out of memory");
		r->ntg = 0;
		return -1;
	}
	for (i = 0; i < r->ntg; i++) {
		r->tg[i].t = (*tv)[i];
		a = hostmap_lookup(hm, (*tv)[i].fqdn);
		r->tg[i].addr = a ? a : "";
		if (only != NULL && carry_denial(r, &r->tg[i]) == -1)
			return -1;
	}
	return run_creds(r);
}

/* The code of the site whose server fqdn is (its SMSPXE.log may be in the site's Logs folder), else "". */
static const char *
site_served_by(const struct run *r, const char *fqdn)
{
	size_t i;

	for (i = 0; i < r->nsites; i++)
		if (strcasecmp(r->sites[i].server, fqdn) == 0)
			return r->sites[i].code;
	return "";
}

/*
 * Encode tasks[0..ntasks): one CertMgr task per site (i < nsite_tasks), then one per host, each request in
 * bufs[i] (the caller frees them).  0, or -1 after store_fail when a request does not encode.
 */
static int
run_tasks(struct run *r, const struct hostmap *hm, struct sched_task *tasks, struct msg_buf *bufs, size_t ntasks)
{
	int64_t host_dl = contact_deadline_ms(r->conf, WORKER_HOST_STEPS);
	int64_t cm_dl = contact_deadline_ms(r->conf, WORKER_CERTMGR_STEPS);
	char err[512];
	const char *a;
	size_t i;
	int rc;

	for (i = 0; i < ntasks; i++) {
		if (i < r->nsite_tasks) {
			struct msg_certmgr_req q = { i + 1, r->sites[i].code, r->sites[i].server, NULL,
			    (uint32_t)credset_pick(r->conf, r->sites[i].server, r->sites[i].code) };

			a = hostmap_lookup(hm, r->sites[i].server);
			q.addr = (char *)(a ? a : "");
			rc = msg_enc_certmgr_req(&bufs[i], &q, err, sizeof(err));
			tasks[i].type = MSG_CERTMGR_REQ;
			tasks[i].deadline_ms = cm_dl;
		} else {
			struct tgt *t = &r->tg[i - r->nsite_tasks];
			struct msg_host_req q = { i + 1, t->t.fqdn, (char *)t->addr,
			    t->t.is_dp ? MSG_PXE_LOG | (t->t.is_mp ? MSG_PXE_MP : 0) : 0,
			    (char *)site_served_by(r, t->t.fqdn), (uint32_t)t->cred };

			rc = msg_enc_host_req(&bufs[i], &q, err, sizeof(err));
			tasks[i].type = MSG_HOST_REQ;
			tasks[i].deadline_ms = host_dl;	/* one attempt may use it all ... */
			tasks[i].total_ms = host_dl;	/* ... retries share it, from the first dispatch */
		}
		if (rc == -1) {
			store_fail(r, "encode", err);
			return -1;
		}
		tasks[i].req = &bufs[i];
	}
	return 0;
}

/*
 * Hand every task to the pool (the run's targets must be in r).  Returns sched_run's status (0, 1 stopped,
 * -1 pool lost, with run_err set for 1 and -1), or -1 when a request did not encode (after store_fail).
 */
static int
run_pool(struct parent *p, struct run *r, const struct hostmap *hm, char *run_err, size_t run_errlen)
{
	struct sched_task *tasks = NULL;
	struct msg_buf *bufs = NULL;
	size_t i, ntasks = r->nsite_tasks + r->nhost_tasks;
	char err[512];
	int rc = 0;

	if (ntasks > 0 && ((tasks = calloc(ntasks, sizeof(*tasks))) == NULL ||
	    (bufs = calloc(ntasks, sizeof(*bufs))) == NULL)) {
		store_fail(r, "tasks", "out of memory");
		goto done;
	}
	if ((rc = run_tasks(r, hm, tasks, bufs, ntasks)) == -1)
		goto done;
	rc = sched_run(p->pool, tasks, ntasks, on_done, r, p->sigfd, err, sizeof(err));
	if (rc == 1)
		snprintf(run_err, run_errlen, "stopped by a signal");
	else if (rc == -1) {
		snprintf(run_err, run_errlen, "worker pool: %s", err);
		log_warnx("%s", run_err);
	}
done:
	for (i = 0; bufs != NULL && i < ntasks; i++)
		msg_buf_free(&bufs[i]);
	free(bufs);
	free(tasks);
	return rc;
}

/* Close the scans row (done, or failed when stopped or the pool was lost) and its claimed requests. */
static void
run_finish(struct run *r, const char *trigger, long claimed, int failed, const char *inv_err, char *run_err,
    size_t run_errlen, int64_t t0, struct scan_result *res)
{
	struct store_scan_totals tot;
	char err[512], done_at[UTIL_ISO_LEN];
	size_t i;

	if (run_err[0] == '\0' && r->store_failed)
		snprintf(run_err, run_errlen, "%s", r->store_err);
	if (run_err[0] == '\0' && inv_err[0] != '\0')
		snprintf(run_err, run_errlen, "inventory not refreshed: %s", inv_err);
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < r->ntg; i++)
		tot.hosts += r->tg[i].reported;
	tot.affected = r->affected;
	tot.unreachable = r->unreachable;
	tot.duration_ms = (long)(util_mono_ms() - t0);
	tot.error = run_err[0] ? run_err : NULL;
	util_iso_now(done_at);
	if (store_scan_finish(r->st, r->scan_id, failed ? "failed" : "done", done_at, &tot, err,
	    sizeof(err)) == -1)
		store_fail(r, "scans", err);
	if (claimed > 0 && store_scan_requests_finish(r->st, r->scan_id, failed ? "failed" : "done", err,
	    sizeof(err)) == -1)
		store_fail(r, "scan_requests", err);
	res->store_failed = r->store_failed;
	res->hosts = tot.hosts;
	res->affected = tot.affected;
	res->unreachable = tot.unreachable;
	res->duration_ms = tot.duration_ms;
	log_info("scan %lld (%s) %s: %ld hosts, %ld affected, %ld unreachable, %ld retried, %ld ms%s%s",
	    (long long)r->scan_id, trigger, failed ? "failed" : "done", tot.hosts, tot.affected, tot.unreachable,
	    r->retried, tot.duration_ms, run_err[0] ? ": " : "", run_err);
}

/* The run's host map: [smb] host_map, or an empty one.  0, or -1 (logged when the file is bad). */
static int
run_hostmap(const struct config *conf, struct hostmap **hm)
{
	char err[512];

	if (conf->smb.host_map[0] != '\0') {
		if (hostmap_load(hm, conf->smb.host_map, err, sizeof(err)) == -1) {
			log_warnx("host_map: %s", err);
			return -1;
		}
		return 0;
	}
	return hostmap_empty(hm, err, sizeof(err));
}

int
scan_run(struct parent *p, const char *const *only, size_t nonly, const char *trigger, FILE *summary,
    struct scan_result *res)
{
	struct run r;
	struct hostmap *hm = NULL;
	struct store_scan_target *tv = NULL;
	char err[512], inv_err[512] = "", run_err[600] = "";
	int64_t t0 = util_mono_ms();
	size_t i;
	long claimed = 0;
	int rc = 0, ret = -1;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.conf = p->conf;
	r.st = p->st;
	if (only == NULL && refresh_inventory(p, inv_err, sizeof(inv_err)) == -1) {
		log_warnx("inventory not refreshed, scanning the stored fleet: %s", inv_err);
		res->inventory_failed = 1;
	}
	if (run_hostmap(p->conf, &hm) == -1)
		return -1;
	util_iso_now(r.now);
	if (store_scan_begin(p->st, trigger, r.now, &r.scan_id, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		res->store_failed = 1;
		goto done;
	}
	res->scan_id = r.scan_id;
	if (strcmp(trigger, "request") == 0 &&
	    store_scan_requests_claim(p->st, r.scan_id, r.now, &claimed, err, sizeof(err)) == -1)
		store_fail(&r, "scan_requests", err);
	if (run_targets(&r, hm, only, nonly, &tv) == 0) {
		rc = run_pool(p, &r, hm, run_err, sizeof(run_err));
		res->stopped = rc == 1;
	}
	run_finish(&r, trigger, claimed, res->stopped || rc == -1, inv_err, run_err, sizeof(run_err), t0, res);
	ret = rc == -1 ? -1 : 0;
done:
	for (i = 0; r.tg != NULL && i < r.ntg; i++)
		free(r.tg[i].denied_line);
	if (summary != NULL && ret == 0)
		print_summary(summary, &r, res);
	free(r.tg);
	free(r.sites);
	free(tv);
	hostmap_free(hm);
	return ret;
}

int
scan_once(const struct config *conf)
{
	struct parent p;
	struct scan_result res;
	int rc;

	if (parent_open(&p, conf) == -1)
		return 1;
	rc = scan_run(&p, NULL, 0, "cli", stdout, &res);
	parent_close(&p);
	if (rc == -1 || res.inventory_failed || res.store_failed || res.stopped)
		return 1;
	return 0;
}

int
scan_hosts(const struct config *conf, struct store *st, struct sched *pool, const char *const *fqdns, size_t n,
    int stop_fd)
{
	struct parent p;
	struct scan_result res;

	if (n == 0)
		return 0;
	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.st = st;
	p.pool = pool;
	p.wc.conf = conf;
	p.sigfd = stop_fd;
	if (scan_run(&p, fqdns, n, "fix", NULL, &res) == -1 || res.store_failed)
		return -1;
	return res.stopped ? 1 : 0;
}
