/*
 * scan.c — one scan run, and the two modes that repeat it (see scan.h).
 *
 * Called by main.c (one dispatch call per mode).  The parent process only talks to the site DB (sitedb.c),
 * the state DB (store_scan.c, store_fleet.c) and its workers (sched.c); it parses nothing from the network
 * except the workers' size-capped messages, which are decoded strictly here: a reply that does not decode
 * makes sched.c replace that worker, and the host gets `unreachable` with reason `protocol`.
 *
 * Run states (scans.state), with the function performing each transition:
 *   (none) --scan_run: store_scan_begin--> running --all hosts reported: store_scan_finish--> done
 *                                             '--signal / pool lost: store_scan_finish-----> failed
 * Observations are stored as replies arrive (one short transaction each), so a run's memory does not grow
 * with evidence.  CertMgr denials may arrive before or after the host's own reply: before, they are kept
 * on the target and stored with its observation; after, the stored observation is updated.
 * Host deadline: contact_deadline_ms with WORKER_HOST_STEPS (CertMgr: WORKER_CERTMGR_STEPS).
 * Signals: SIGTERM/SIGINT are blocked and read through a signalfd owned by the mode function.
 */
#include "scan.h"
#include "contact.h"
#include "fix.h"
#include "hostmap.h"
#include "log.h"
#include "logparse.h"
#include "msg.h"
#include "sched.h"
#include "sitedb.h"
#include "store.h"
#include "store_fleet.h"
#include "store_scan.h"
#include "reason.h"
#include "util.h"
#include "verdict.h"
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define NSTATES		(VERDICT_UNKNOWN + 1)
#define READY_MS	15000
#define SCAN_RETRY_S	10	/* after a scan run that could not start (host_map, store) */

/* One host of a run. */
struct tgt {
	struct store_scan_target t;
	const char	*addr;			/* from the host map, "" = worker resolves */
	int		 reported;
	int64_t		 obs_id;		/* 0 until stored */
	enum verdict_state state;
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
	/* task i < nsites is site i's CertMgr task, else host i - nsites */
	long			 counts[NSTATES];
	long			 affected, unreachable, retried;
	int			 store_failed;
	char			 store_err[256];
};

/* Everything a mode keeps across runs. */
struct scanner {
	const struct config	*conf;
	struct store		*st;
	struct sched		*pool;
	struct worker_conf	 wc;
	int			 sigfd;
	int			 sitedb_ready;
	const char *const	*only;		/* scan_hosts: only these fqdns, no inventory, no CertMgr read */
	size_t			 nonly;
};

struct run_result {
	int64_t		 scan_id;
	int		 inventory_failed;
	int		 store_failed;
	int		 stopped;
	long		 hosts, affected, unreachable, duration_ms;
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
	o.affected = v->affected;
	o.value_sha256 = v->has_sha ? v->value_sha256 : NULL;
	o.expected_sha256 = t->t.expected_sha256;
	o.scan_ms = (long)ms;
	o.attempts = attempts > 1 ? attempts : 1;
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

/* A denial of `logged` (as the site server's log spells it) from site code's CertMgr.log. */
static void
apply_denial(struct run *r, const char *code, const struct msg_denied *d)
{
	struct store_evidence ev;
	char err[256], file[64];
	size_t i;

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
		apply_denial(r, s->code, &m.denied[i]);
	msg_certmgr_res_free(&m);
	return 0;
}

static int
on_done(void *ctx, struct sched_reply *rep)
{
	struct run *r = ctx;
	struct tgt *t;

	if (rep->idx < r->nsites) {
		if (rep->st == SCHED_OK)
			return certmgr_reply(r, &r->sites[rep->idx], (uint64_t)rep->idx + 1, rep->p, rep->n);
		if (rep->st != SCHED_STOPPED)
			log_warnx("%s: CertMgr.log: %s", r->sites[rep->idx].server, sched_status_str(rep->st));
		return 0;
	}
	t = &r->tg[rep->idx - r->nsites];
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
refresh_inventory(struct scanner *sc, char *err, size_t errlen)
{
	struct sitedb *db = NULL;
	struct store_fleet *f = NULL;
	struct store_fleet_stats stats;
	char now[UTIL_ISO_LEN], why[512];
	int rc = -1;

	if (!sc->sitedb_ready) {
		if (sitedb_global_init(sc->conf->sitedb.login_timeout, sc->conf->sitedb.query_timeout, why,
		    sizeof(why)) == -1)
			return util_err(err, errlen, "site DB: %s", why);
		sc->sitedb_ready = 1;
	}
	if (sitedb_open(&db, sc->conf, NULL, why, sizeof(why)) == -1 ||
	    sitedb_read_fleet(db, &f, NULL, why, sizeof(why)) == -1) {
		util_err(err, errlen, "site DB: %s", why);
		goto done;
	}
	util_iso_now(now);
	if (store_fleet_put(sc->st, f, now, &stats, why, sizeof(why)) == -1) {
		util_err(err, errlen, "store: %s", why);
		goto done;
	}
	log_debug("inventory: %zu sites, %zu hosts (%ld new, %ld retired)", f->nsites, f->nhosts,
	    stats.hosts_new, stats.hosts_retired);
	rc = 0;
done:
	store_fleet_free(f);
	sitedb_close(db);
	return rc;
}

static int
cmp_site(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The --once table's last part: every unreachable host with its reason (lib/reason.h) and attempts. */
static void
print_unreachable(FILE *out, const struct run *r, const struct run_result *res)
{
	const struct reason *re;
	size_t i;

	fprintf(out, "\nunreachable hosts: %ld\n", res->unreachable);
	if (res->unreachable > 0)
		fprintf(out, "%-40s %-6s %-16s %8s %s\n", "fqdn", "site", "reason", "attempts", "next step");
	for (i = 0; i < r->ntg; i++) {
		if (!r->tg[i].reported || r->tg[i].state != VERDICT_UNREACHABLE)
			continue;
		re = reason_lookup(r->tg[i].reason);
		fprintf(out, "%-40s %-6s %-16s %8d %s\n", r->tg[i].t.fqdn, r->tg[i].t.site, r->tg[i].reason,
		    r->tg[i].attempts, re != NULL ? re->next_step : "-");
	}
}

/* The --once table: counts per state, per site, the affected hosts, then the unreachable ones. */
static void
print_summary(FILE *out, const struct run *r, const struct run_result *res)
{
	const char **codes = NULL;
	size_t i, j, ncodes = 0;
	int s;
	long n;

	fprintf(out, "scan %lld: %ld hosts, %ld affected, %ld unreachable, %ld needed more than one attempt, "
	    "%.1f s%s\n", (long long)r->scan_id, res->hosts, res->affected, res->unreachable, r->retried,
	    res->duration_ms / 1000.0, res->stopped ? " (stopped)" : "");
	fprintf(out, "\n%-12s %6s\n", "state", "hosts");
	for (s = 0; s < NSTATES; s++)
		fprintf(out, "%-12s %6ld\n", verdict_state_str((enum verdict_state)s), r->counts[s]);
	if (r->ntg > 0 && (codes = calloc(r->ntg, sizeof(*codes))) != NULL) {
		for (i = 0; i < r->ntg; i++) {
			for (j = 0; j < ncodes && strcmp(codes[j], r->tg[i].t.site) != 0; j++)
				;
			if (j == ncodes)
				codes[ncodes++] = r->tg[i].t.site;
		}
		qsort(codes, ncodes, sizeof(*codes), cmp_site);
		fprintf(out, "\n%-6s", "site");
		for (s = 0; s < NSTATES; s++)
			fprintf(out, " %11s", verdict_state_str((enum verdict_state)s));
		fprintf(out, "\n");
		for (j = 0; j < ncodes; j++) {
			fprintf(out, "%-6s", codes[j]);
			for (s = 0; s < NSTATES; s++) {
				for (n = 0, i = 0; i < r->ntg; i++)
					n += r->tg[i].reported && (int)r->tg[i].state == s &&
					    strcmp(r->tg[i].t.site, codes[j]) == 0;
				fprintf(out, " %11ld", n);
			}
			fprintf(out, "\n");
		}
		free(codes);
	}
	fprintf(out, "\naffected hosts: %ld\n", res->affected);
	if (res->affected > 0)
		fprintf(out, "%-40s %-6s %-10s %8s %s\n", "fqdn", "site", "state", "pxe_errs", "certmgr_denied");
	for (i = 0; i < r->ntg; i++)
		if (r->tg[i].reported && verdict_is_affected(r->tg[i].state))
			fprintf(out, "%-40s %-6s %-10s %8ld %s\n", r->tg[i].t.fqdn, r->tg[i].t.site,
			    verdict_state_str(r->tg[i].state), r->tg[i].pxe_cert_errors,
			    r->tg[i].denied ? (r->tg[i].denied_at[0] ? r->tg[i].denied_at : "yes") : "-");
	print_unreachable(out, r, res);
	fflush(out);
}

/* scan_hosts: keep the targets sc->only names (case-insensitive), drop every CertMgr task. */
static void
only_filter(const struct scanner *sc, struct store_scan_target *tv, size_t *ntg, size_t *nsites)
{
	size_t i, j, k;

	for (i = j = 0; i < *ntg; i++)
		for (k = 0; k < sc->nonly; k++)
			if (strcasecmp(tv[i].fqdn, sc->only[k]) == 0) {
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

/* One scan run.  Returns 0 when the run completed (see res for partial failures), -1 when it could not. */
static int
scan_run(struct scanner *sc, const char *trigger, FILE *summary, struct run_result *res)
{
	const struct config *conf = sc->conf;
	struct run r;
	struct hostmap *hm = NULL;
	struct sched_task *tasks = NULL;
	struct msg_buf *bufs = NULL;
	struct store_scan_target *tv = NULL;
	struct store_scan_totals tot;
	char err[512], inv_err[512] = "", run_err[600] = "", done_at[UTIL_ISO_LEN];
	int64_t t0 = util_mono_ms(), host_dl, cm_dl;
	size_t i, ntasks = 0;
	long claimed = 0;
	int rc = 0, ret = -1;
	const char *a;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.conf = conf;
	r.st = sc->st;
	if (sc->only == NULL && refresh_inventory(sc, inv_err, sizeof(inv_err)) == -1) {
		log_warnx("inventory not refreshed, scanning the stored fleet: %s", inv_err);
		res->inventory_failed = 1;
	}
	if (conf->smb.host_map[0] != '\0') {
		if (hostmap_load(&hm, conf->smb.host_map, err, sizeof(err)) == -1) {
			log_warnx("host_map: %s", err);
			res->store_failed = 0;
			return -1;
		}
	} else if (hostmap_empty(&hm, err, sizeof(err)) == -1)
		return -1;
	util_iso_now(r.now);
	if (store_scan_begin(sc->st, trigger, r.now, &r.scan_id, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		res->store_failed = 1;
		goto done;
	}
	res->scan_id = r.scan_id;
	if (strcmp(trigger, "request") == 0 &&
	    store_scan_requests_claim(sc->st, r.scan_id, r.now, &claimed, err, sizeof(err)) == -1)
		store_fail(&r, "scan_requests", err);
	if (store_scan_targets(sc->st, &tv, &r.ntg, err, sizeof(err)) == -1 ||
	    store_scan_sites(sc->st, &r.sites, &r.nsites, err, sizeof(err)) == -1) {
		store_fail(&r, "targets", err);
		goto finish;
	}
	if (sc->only != NULL)
		only_filter(sc, tv, &r.ntg, &r.nsites);
	if (r.ntg > 0 && (r.tg = calloc(r.ntg, sizeof(*r.tg))) == NULL) {
		store_fail(&r, "targets", "out of memory");
		goto finish;
	}
	for (i = 0; i < r.ntg; i++) {
		r.tg[i].t = tv[i];
		a = hostmap_lookup(hm, tv[i].fqdn);
		r.tg[i].addr = a ? a : "";
		if (sc->only != NULL && carry_denial(&r, &r.tg[i]) == -1)
			goto finish;
	}
	ntasks = r.nsites + r.ntg;
	if (ntasks > 0 && ((tasks = calloc(ntasks, sizeof(*tasks))) == NULL ||
	    (bufs = calloc(ntasks, sizeof(*bufs))) == NULL)) {
		store_fail(&r, "tasks", "out of memory");
		goto finish;
	}
	host_dl = contact_deadline_ms(conf, WORKER_HOST_STEPS);
	cm_dl = contact_deadline_ms(conf, WORKER_CERTMGR_STEPS);
	for (i = 0; i < ntasks; i++) {
		if (i < r.nsites) {
			struct msg_certmgr_req q = { i + 1, r.sites[i].code, r.sites[i].server, NULL };

			a = hostmap_lookup(hm, r.sites[i].server);
			q.addr = (char *)(a ? a : "");
			rc = msg_enc_certmgr_req(&bufs[i], &q, err, sizeof(err));
			tasks[i].type = MSG_CERTMGR_REQ;
			tasks[i].deadline_ms = cm_dl;
		} else {
			struct tgt *t = &r.tg[i - r.nsites];
			struct msg_host_req q = { i + 1, t->t.fqdn, (char *)t->addr, t->t.is_dp ? 1 : 0 };

			rc = msg_enc_host_req(&bufs[i], &q, err, sizeof(err));
			tasks[i].type = MSG_HOST_REQ;
			tasks[i].deadline_ms = host_dl;	/* one attempt may use it all ... */
			tasks[i].total_ms = host_dl;	/* ... retries share it, from the first dispatch */
		}
		if (rc == -1) {
			store_fail(&r, "encode", err);
			goto finish;
		}
		tasks[i].req = &bufs[i];
	}
	rc = sched_run(sc->pool, tasks, ntasks, on_done, &r, sc->sigfd, err, sizeof(err));
	if (rc == 1) {
		res->stopped = 1;
		snprintf(run_err, sizeof(run_err), "stopped by a signal");
	} else if (rc == -1) {
		snprintf(run_err, sizeof(run_err), "worker pool: %s", err);
		log_warnx("%s", run_err);
	}
finish:
	if (run_err[0] == '\0' && r.store_failed)
		snprintf(run_err, sizeof(run_err), "%s", r.store_err);
	if (run_err[0] == '\0' && inv_err[0] != '\0')
		snprintf(run_err, sizeof(run_err), "inventory not refreshed: %s", inv_err);
	memset(&tot, 0, sizeof(tot));
	for (i = 0; i < r.ntg; i++)
		tot.hosts += r.tg[i].reported;
	tot.affected = r.affected;
	tot.unreachable = r.unreachable;
	tot.duration_ms = (long)(util_mono_ms() - t0);
	tot.error = run_err[0] ? run_err : NULL;
	util_iso_now(done_at);
	if (store_scan_finish(sc->st, r.scan_id, res->stopped || rc == -1 ? "failed" : "done", done_at, &tot,
	    err, sizeof(err)) == -1)
		store_fail(&r, "scans", err);
	if (claimed > 0 && store_scan_requests_finish(sc->st, r.scan_id, res->stopped || rc == -1 ? "failed" :
	    "done", err, sizeof(err)) == -1)
		store_fail(&r, "scan_requests", err);
	res->store_failed = r.store_failed;
	res->hosts = tot.hosts;
	res->affected = tot.affected;
	res->unreachable = tot.unreachable;
	res->duration_ms = tot.duration_ms;
	log_info("scan %lld (%s) %s: %ld hosts, %ld affected, %ld unreachable, %ld retried, %ld ms%s%s",
	    (long long)r.scan_id, trigger, res->stopped || rc == -1 ? "failed" : "done", tot.hosts,
	    tot.affected, tot.unreachable, r.retried, tot.duration_ms, run_err[0] ? ": " : "", run_err);
	ret = rc == -1 ? -1 : 0;
done:
	for (i = 0; bufs != NULL && i < ntasks; i++)
		msg_buf_free(&bufs[i]);
	free(bufs);
	free(tasks);
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
scan_signals_open(char *err, size_t errlen)
{
	sigset_t set;
	int fd;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return util_err(err, errlen, "sigprocmask: %s", strerror(errno));
	if ((fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) == -1)
		return util_err(err, errlen, "signalfd: %s", strerror(errno));
	return fd;
}

static void
scanner_close(struct scanner *sc)
{
	sched_free(sc->pool, 2000);
	sc->pool = NULL;
	store_close(sc->st);
	sc->st = NULL;
	if (sc->sitedb_ready)
		sitedb_global_exit();
	sc->sitedb_ready = 0;
	if (sc->sigfd != -1)
		close(sc->sigfd);
	sc->sigfd = -1;
}

/* Signals, store (with crash recovery), worker pool.  0, or -1 after logging why (sc closed). */
static int
scanner_open(struct scanner *sc, const struct config *conf)
{
	char err[1024], now[UTIL_ISO_LEN];

	memset(sc, 0, sizeof(*sc));
	sc->conf = conf;
	sc->wc.conf = conf;
	signal(SIGPIPE, SIG_IGN);
	if ((sc->sigfd = scan_signals_open(err, sizeof(err))) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	/* Workers first: they are forked from a parent that holds no DB connection yet. */
	if (sched_new(&sc->pool, conf->smb.concurrency, worker_main, &sc->wc, READY_MS, err, sizeof(err)) == -1) {
		log_warnx("cannot start workers: %s", err);
		goto fail;
	}
	if (store_open(&sc->st, conf->store.path, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto fail;
	}
	util_iso_now(now);
	if (store_scan_recover(sc->st, now, err, sizeof(err)) == -1) {
		log_warnx("store: %s", err);
		goto fail;
	}
	return 0;
fail:
	scanner_close(sc);
	return -1;
}

int
scan_once(const struct config *conf)
{
	struct scanner sc;
	struct run_result res;
	int rc;

	if (scanner_open(&sc, conf) == -1)
		return 1;
	rc = scan_run(&sc, "cli", stdout, &res);
	scanner_close(&sc);
	if (rc == -1 || res.inventory_failed || res.store_failed || res.stopped)
		return 1;
	return 0;
}

int
scan_hosts(const struct config *conf, struct store *st, struct sched *pool, const char *const *fqdns, size_t n,
    int stop_fd)
{
	struct scanner sc;
	struct run_result res;

	if (n == 0)
		return 0;
	memset(&sc, 0, sizeof(sc));
	sc.conf = conf;
	sc.st = st;
	sc.pool = pool;
	sc.wc.conf = conf;
	sc.sigfd = stop_fd;
	sc.only = fqdns;
	sc.nonly = n;
	if (scan_run(&sc, "fix", NULL, &res) == -1 || res.store_failed)
		return -1;
	return res.stopped ? 1 : 0;
}

/* 1 when a signal is pending on sigfd (consumed), else 0. */
static int
signalled(int sigfd)
{
	struct signalfd_siginfo si;

	return read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si);
}

int
scan_daemon(const struct config *conf)
{
	struct scanner sc;
	struct run_result res;
	struct pollfd pfd;
	struct fix_daemon *fixer = NULL;
	int64_t next_due, hold_until = 0;
	long pending;
	char err[512];

	if (scanner_open(&sc, conf) == -1)
		return 1;
	if (fix_daemon_new(&fixer, conf, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		scanner_close(&sc);
		return 1;
	}
	log_info("dpfleet-scanner %s: %d workers, interval %d s, store %s", DPFLEET_VERSION,
	    conf->smb.concurrency, conf->scan.interval, conf->store.path);
	next_due = util_mono_ms();	/* a first scan at start */
	for (;;) {
		if (signalled(sc.sigfd))
			break;
		/* Queued fix/rollback jobs, and jobs a killed scanner left running (fix.c). */
		if (fix_daemon_poll(fixer, sc.st, &sc.sitedb_ready, sc.sigfd) == 1)
			continue;	/* stopped by a signal: read at the top */
		if (store_scan_requests_pending(sc.st, &pending, err, sizeof(err)) == -1) {
			log_warnx("store: %s", err);
			pending = 0;
		}
		if (util_mono_ms() >= hold_until &&
		    (pending > 0 || (conf->scan.interval > 0 && util_mono_ms() >= next_due))) {
			int scheduled = pending == 0;

			if (scheduled)
				next_due = util_mono_ms() + 1000LL * conf->scan.interval;
			if (scan_run(&sc, scheduled ? "schedule" : "request", NULL, &res) == -1) {
				/* Not a busy loop on the site DB while requests wait: they are retried later. */
				log_warnx("scan could not run; trying again in %d s", SCAN_RETRY_S);
				hold_until = util_mono_ms() + 1000LL * SCAN_RETRY_S;
			}
			if (res.stopped)
				break;
			continue;
		}
		pfd.fd = sc.sigfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 1000) == -1 && errno != EINTR) {
			log_warn("poll");
			break;
		}
	}
	log_info("dpfleet-scanner stopping");
	fix_daemon_free(fixer);
	scanner_close(&sc);
	return 0;
}
