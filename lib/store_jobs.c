/*
 * store_jobs.c — queueing remediation jobs and scan requests in the state DB (the producer side).
 *
 * Called by dpfleet-server's API (server/api_jobs.c) and by the scanner's CLI.  Each function runs in one
 * BEGIN IMMEDIATE transaction, so a queue request is all-or-nothing and its audit rows commit with it.
 * A fix job records the site's expected hash at queue time as the value the operator approved (NULL when the
 * site value is not 'present'; the scanner re-reads everything before writing, writes only the site value it
 * reads when it equals the approved one, and refuses a job without one).  An order that names its hosts may
 * ask (require_site_value: dpfleet-server does) to be refused as a whole when one host's site has no usable
 * value, so that an operator is told at once rather than by a refused job; an all_affected order takes only
 * hosts whose site has one and names the sites it left out (refused when that leaves none).  The scanner's
 * side (claim, backup, finish) is lib/store_jobs_exec.c, behind the same store_jobs.h and with the same
 * conventions: bound parameters, caller error buffer, one cleanup label.
 */
#include "store_jobs.h"
#include "store_query.h"
#include "util.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct target {
	int64_t	 host_id;
	char	 fqdn[STORE_FQDN_MAX];
};

/* The hosts an order resolves to: v[0..n) (malloc'd, cap entries). */
struct targets {
	struct target	*v;
	size_t		 n, cap;
};

static int
target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	return x->host_id < y->host_id ? -1 : x->host_id > y->host_id;
}

/* Append the host of the current row of s (column 0 id, 1 fqdn); -1 when out of memory. */
static int
push(struct targets *t, sqlite3_stmt *s)
{
	const char *fqdn = (const char *)sqlite3_column_text(s, 1);
	struct target *nv;
	size_t ncap;

	if (t->n == t->cap) {
		ncap = t->cap ? t->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(*t->v) || (nv = realloc(t->v, ncap * sizeof(*t->v))) == NULL)
			return -1;
		t->v = nv;
		t->cap = ncap;
	}
	t->v[t->n].host_id = sqlite3_column_int64(s, 0);
	util_strlcpy(t->v[t->n].fqdn, fqdn ? fqdn : "", sizeof(t->v[t->n].fqdn));
	t->n++;
	return 0;
}

/* Count one affected host of site (why: see struct store_site_skip) in r->skipped.  0, or -1 out of memory. */
static int
skip_add(struct store_fix_result *r, const char *site, const char *why)
{
	struct store_site_skip *nv;
	size_t i;

	for (i = 0; i < r->nskipped; i++)
		if (strcmp(r->skipped[i].site, site) == 0) {
			r->skipped[i].hosts++;
			return 0;
		}
	if (r->nskipped >= SIZE_MAX / sizeof(*nv) - 1 ||
	    (nv = realloc(r->skipped, (r->nskipped + 1) * sizeof(*nv))) == NULL)
		return -1;
	r->skipped = nv;
	util_strlcpy(nv[r->nskipped].site, site, sizeof(nv[r->nskipped].site));
	util_strlcpy(nv[r->nskipped].why, why, sizeof(nv[r->nskipped].why));
	nv[r->nskipped++].hosts = 1;
	return 0;
}

/*
 * Every live host whose newest verdict is affected (of site only, unless NULL): those whose site has a usable
 * value into t, the others counted per site in r->skipped (in site order).  0, or -1 with err.
 */
static int
targets_affected(struct store *st, const char *site, struct targets *t, struct store_fix_result *r, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	if (store_prepare(st, &s, "SELECT h.id, h.fqdn, coalesce(s.expected_state = 'present' AND "
	    "s.expected_sha256 <> '', 0), coalesce(h.site, ''), CASE WHEN s.code IS NULL THEN 'unknown' "
	    "WHEN s.expected_state = 'present' THEN 'no_hash' ELSE s.expected_state END FROM hosts h "
	    "JOIN observations o ON o.id = h.last_obs_id LEFT JOIN sites s ON s.code = h.site "
	    "WHERE h.retired_at IS NULL AND h.cloud IS NULL AND o.state IN ('missing', 'empty', 'mismatch') "
	    "AND (?1 IS NULL OR h.site = ?1) ORDER BY coalesce(h.site, ''), h.id", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, site, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(s)) == SQLITE_ROW)
		if (sqlite3_column_int(s, 2) ? push(t, s) == -1 : skip_add(r,
		    (const char *)sqlite3_column_text(s, 3), (const char *)sqlite3_column_text(s, 4)) == -1) {
			util_err(err, errlen, "out of memory");
			goto done;
		}
	if (step != SQLITE_DONE) {
		util_err(err, errlen, "affected hosts: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), target_cmp);
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

/* An all_affected order that left out every affected host: STORE_JOBS_CONFLICT with the sites in err. */
static int
affected_none_left(const struct store_fix_result *r, char *err, size_t errlen)
{
	size_t i, len;

	len = (size_t)snprintf(err, errlen, "no affected host to fix: their sites have no usable "
	    "IssuingCertificateList in the site DB, so there is no value to approve; left out:");
	for (i = 0; i < r->nskipped && len < errlen; i++)
		len += (size_t)snprintf(err + len, errlen - len, "%s %s (%s, %ld host%s)", i ? "," : "",
		    *r->skipped[i].site ? r->skipped[i].site : "(no site)", r->skipped[i].why, r->skipped[i].hosts,
		    r->skipped[i].hosts == 1 ? "" : "s");
	return STORE_JOBS_CONFLICT;
}

/* A named host that is a cloud DP or CMG (hosts.cloud): STORE_JOBS_CONFLICT with its name in r->unknown. */
static int
cloud_refused(sqlite3_stmt *s, struct store_fix_result *r, char *err, size_t errlen)
{
	const char *why = words_cloud_reason((const char *)sqlite3_column_text(s, 2));

	util_strlcpy(r->unknown, (const char *)sqlite3_column_text(s, 1), sizeof(r->unknown));
	util_err(err, errlen, "%s: %s: %s", r->unknown, WORDS_CLOUD_SHOWN, why != NULL ? why : "cloud host");
	return STORE_JOBS_CONFLICT;
}

/*
 * The order's named live hosts into t, by id, each once (the same host named twice, in any case).  0;
 * STORE_JOBS_NOT_FOUND with the first unknown name in r->unknown; STORE_JOBS_CONFLICT for a cloud DP or CMG
 * (never fixed, cloud_refused); -1 with err.
 */
static int
targets_named(struct store *st, const struct store_fix_order *o, struct targets *t, struct store_fix_result *r,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	size_t i, j;
	int step, rc = -1;

	if (store_prepare(st, &s, "SELECT id, fqdn, cloud FROM hosts WHERE fqdn = ? AND retired_at IS NULL",
	    err, errlen) == -1)
		return -1;
	for (i = 0; i < o->nhosts; i++) {
		sqlite3_reset(s);
		sqlite3_bind_text(s, 1, o->hosts[i], -1, SQLITE_STATIC);
		if ((step = sqlite3_step(s)) == SQLITE_DONE) {
			util_strlcpy(r->unknown, o->hosts[i], sizeof(r->unknown));
			rc = STORE_JOBS_NOT_FOUND;
			goto done;
		}
		if (step != SQLITE_ROW) {
			util_err(err, errlen, "host: %s", sqlite3_errmsg(store_db(st)));
			goto done;
		}
		if (sqlite3_column_type(s, 2) != SQLITE_NULL) {
			rc = cloud_refused(s, r, err, errlen);
			goto done;
		}
		if (push(t, s) == -1) {
			util_err(err, errlen, "out of memory");
			goto done;
		}
	}
	if (t->n > 1)
		qsort(t->v, t->n, sizeof(*t->v), target_cmp);
	for (i = j = 0; i < t->n; i++)
		if (j == 0 || t->v[j - 1].host_id != t->v[i].host_id)
			t->v[j++] = t->v[i];
	t->n = j;
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

/* The hash of the site value of host id P (a bound parameter), NULL when the site has no usable value. */
#define SITE_SHA_SQL(P)	"(SELECT s.expected_sha256 FROM sites s JOIN hosts h ON h.site = s.code " \
			"WHERE h.id = " P " AND s.expected_state = 'present' AND s.expected_sha256 <> '')"

/*
 * Each target's site has a usable value (present, one hash): 0; else STORE_JOBS_CONFLICT with the first host
 * without one in r->unknown and err; -1 with err.
 */
static int
targets_usable(struct store *st, const struct targets *t, struct store_fix_result *r, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	size_t i;
	int step, rc = -1;

	if (store_prepare(st, &s, "SELECT " SITE_SHA_SQL("?1") " IS NOT NULL, (SELECT coalesce(h.site, '') || ' (' "
	    "|| coalesce(s.expected_state, 'unknown') || ')' FROM hosts h LEFT JOIN sites s ON s.code = h.site "
	    "WHERE h.id = ?1)", err, errlen) == -1)
		return -1;
	for (i = 0; i < t->n; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, t->v[i].host_id);
		if ((step = sqlite3_step(s)) != SQLITE_ROW) {
			util_err(err, errlen, "site value: %s", sqlite3_errmsg(store_db(st)));
			goto done;
		}
		if (sqlite3_column_int(s, 0) == 0) {
			util_strlcpy(r->unknown, t->v[i].fqdn, sizeof(r->unknown));
			util_err(err, errlen, "%s: its site %s has no usable IssuingCertificateList in the site DB: "
			    "there is no value to approve", t->v[i].fqdn, (const char *)sqlite3_column_text(s, 1));
			rc = STORE_JOBS_CONFLICT;
			goto done;
		}
	}
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

/*
 * Insert one queued fix job per target with its job.queue audit row, recording each in r->jobs (already
 * t->n entries).  0, or -1 with err; the caller's transaction is left to the caller.
 */
static int
insert_fixes(struct store *st, const struct store_fix_order *o, const struct targets *t, const char *now,
    struct store_fix_result *r, char *err, size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	char detail[128];
	size_t i;
	int rc = -1;

	if (store_prepare(st, &ins, "INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at, "
	    "expected_sha256) VALUES ('fix', ?1, ?2, ?3, ?4, " SITE_SHA_SQL("?5") ")", err, errlen) == -1)
		return -1;
	for (i = 0; i < t->n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, t->v[i].fqdn, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 2, o->dry_run != 0);
		sqlite3_bind_text(ins, 3, o->requested_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, now, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, t->v[i].host_id);
		if (store_step_done(st, ins, "queue job", err, errlen) == -1)
			goto done;
		r->jobs[i].id = sqlite3_last_insert_rowid(store_db(st));
		util_strlcpy(r->jobs[i].host, t->v[i].fqdn, sizeof(r->jobs[i].host));
		snprintf(detail, sizeof(detail), "{\"job\": %lld, \"kind\": \"fix\", \"dry_run\": %s}",
		    (long long)r->jobs[i].id, o->dry_run ? "true" : "false");
		if (store_audit(st, o->requested_by, "job.queue", t->v[i].fqdn, "queued", detail, err,
		    errlen) == -1)
			goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(ins);
	return rc;
}

int
store_jobs_queue_fixes(struct store *st, const struct store_fix_order *o, struct store_fix_result *r,
    char *err, size_t errlen)
{
	struct targets t = { NULL, 0, 0 };
	char now[UTIL_ISO_LEN];
	int rc = -1;

	memset(r, 0, sizeof(*r));
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	rc = o->all_affected ? targets_affected(st, o->site, &t, r, err, errlen) :
	    targets_named(st, o, &t, r, err, errlen);
	if (rc == 0 && o->require_site_value && !o->all_affected)
		rc = targets_usable(st, &t, r, err, errlen);
	if (rc == 0 && o->all_affected && t.n == 0 && r->nskipped > 0)
		rc = affected_none_left(r, err, errlen);
	if (rc != 0)
		goto done;
	rc = -1;
	r->count = (long)t.n;
	if (o->max_count > 0 && r->count > o->max_count && o->confirm_count != r->count) {
		rc = STORE_JOBS_TOO_MANY;
		goto done;
	}
	if (t.n > 0 && (r->jobs = calloc(t.n, sizeof(*r->jobs))) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	if (insert_fixes(st, o, &t, now, r, err, errlen) == -1 || store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	if (rc != 0) {
		store_rollback(st);
		free(r->jobs);
		r->jobs = NULL;
	}
	free(t.v);
	return rc;
}

void
store_fix_result_free(struct store_fix_result *r)
{
	if (r == NULL)
		return;
	free(r->jobs);
	free(r->skipped);
	memset(r, 0, sizeof(*r));
}

/*
 * The end of a queueing transaction: step the bound INSERT s (as what), set *id to the new row's id, append
 * the audit row (who, action, target, outcome queued, detail {"<key>": <id><rest>}) and commit.  0, or -1
 * with err; s stays the caller's, and so does the rollback on failure.
 */
static int
queue_insert(struct store *st, sqlite3_stmt *s, const char *what, const char *who, const char *action,
    const char *target, const char *key, const char *rest, int64_t *id, char *err, size_t errlen)
{
	char detail[128];

	if (store_step_done(st, s, what, err, errlen) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(store_db(st));
	snprintf(detail, sizeof(detail), "{\"%s\": %lld%s}", key, (long long)*id, rest);
	if (store_audit(st, who, action, target, "queued", detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
		return -1;
	return 0;
}

/* A job's row as the rollback and cancel checks read it; outcome is "" when the job has none. */
struct job_row {
	char	 host[STORE_FQDN_MAX];
	char	 kind[16];
	char	 state[16];
	char	 outcome[32];
};

/* Read job into *jr inside the caller's transaction.  0; STORE_JOBS_NOT_FOUND; -1 with err. */
static int
job_row_get(struct store *st, int64_t job, struct job_row *jr, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	if (store_prepare(st, &s, "SELECT host, kind, state, coalesce(outcome, '') FROM jobs WHERE id = ?", err,
	    errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if ((step = sqlite3_step(s)) == SQLITE_DONE)
		rc = STORE_JOBS_NOT_FOUND;
	else if (step != SQLITE_ROW)
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
	else {
		util_strlcpy(jr->host, (const char *)sqlite3_column_text(s, 0), sizeof(jr->host));
		util_strlcpy(jr->kind, (const char *)sqlite3_column_text(s, 1), sizeof(jr->kind));
		util_strlcpy(jr->state, (const char *)sqlite3_column_text(s, 2), sizeof(jr->state));
		util_strlcpy(jr->outcome, (const char *)sqlite3_column_text(s, 3), sizeof(jr->outcome));
		rc = 0;
	}
	sqlite3_finalize(s);
	return rc;
}

int
store_jobs_queue_rollback(struct store *st, int64_t job, const char *requested_by, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct job_row jr;
	char now[UTIL_ISO_LEN], rest[96];
	int rc = -1, step;

	*id = 0;
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if ((rc = job_row_get(st, job, &jr, err, errlen)) != 0)
		goto done;
	rc = -1;
	if (strcmp(jr.kind, "fix") != 0 || strcmp(jr.state, "done") != 0 || strcmp(jr.outcome, "written") != 0) {
		util_err(err, errlen, "job %lld is a %s job in state %s%s%s: only a done fix with outcome "
		    "written can be rolled back", (long long)job, jr.kind, jr.state,
		    *jr.outcome ? " with outcome " : "", jr.outcome);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	if (store_prepare(st, &s, "SELECT id FROM jobs WHERE rollback_of = ? "
	    "AND state IN ('queued', 'running', 'done') LIMIT 1", err, errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, job);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		util_err(err, errlen, "job %lld already has rollback job %lld", (long long)job,
		    (long long)sqlite3_column_int64(s, 0));
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	if (step != SQLITE_DONE) {
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (store_prepare(st, &s, "INSERT INTO jobs (kind, host, rollback_of, requested_by, requested_at) "
	    "VALUES ('rollback', ?, ?, ?, ?)", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, jr.host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, job);
	sqlite3_bind_text(s, 3, requested_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	snprintf(rest, sizeof(rest), ", \"kind\": \"rollback\", \"rollback_of\": %lld", (long long)job);
	if (queue_insert(st, s, "queue rollback", requested_by, "job.queue", jr.host, "job", rest, id, err,
	    errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	if (rc != 0) {
		store_rollback(st);
		*id = 0;
	}
	return rc;
}

int
store_jobs_cancel(struct store *st, int64_t job, const char *who, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct job_row jr;
	char now[UTIL_ISO_LEN], detail[64];
	int rc = -1;

	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if ((rc = job_row_get(st, job, &jr, err, errlen)) != 0)
		goto done;
	rc = -1;
	if (strcmp(jr.state, "queued") != 0) {
		util_err(err, errlen, "job %lld is %s: only a queued job can be cancelled", (long long)job,
		    jr.state);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	/* The state guard makes the scanner's concurrent claim and this cancel mutually exclusive. */
	if (store_prepare(st, &s, "UPDATE jobs SET state = 'cancelled', finished_at = ? "
	    "WHERE id = ? AND state = 'queued'", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, job);
	if (store_step_done(st, s, "cancel", err, errlen) == -1)
		goto done;
	snprintf(detail, sizeof(detail), "{\"job\": %lld}", (long long)job);
	if (store_audit(st, who, "job.cancel", jr.host, "cancelled", detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

#define JOB_SELECT \
	"SELECT id, kind, host, dry_run, rollback_of, requested_by, requested_at, started_at, finished_at, " \
	"state, outcome, expected_sha256, site_sha256, before_sha256, after_sha256, backup IS NOT NULL, attempts, " \
	"error, cred_set " \
	"FROM jobs "

/* JOB_SELECT's columns, in order, as the JSON API names them. */
static const struct store_col job_cols[] = {
	{ "id", STORE_COL_INT }, { "kind", STORE_COL_TEXT }, { "host", STORE_COL_TEXT },
	{ "dry_run", STORE_COL_BOOL }, { "rollback_of", STORE_COL_INT }, { "requested_by", STORE_COL_TEXT },
	{ "requested_at", STORE_COL_TEXT }, { "started_at", STORE_COL_TEXT }, { "finished_at", STORE_COL_TEXT },
	{ "state", STORE_COL_TEXT }, { "outcome", STORE_COL_TEXT }, { "expected_sha256", STORE_COL_TEXT },
	{ "site_sha256", STORE_COL_TEXT }, { "before_sha256", STORE_COL_TEXT }, { "after_sha256", STORE_COL_TEXT }, { "backup_taken", STORE_COL_BOOL },
	{ "attempts", STORE_COL_INT }, { "error", STORE_COL_TEXT }, { "cred_set", STORE_COL_TEXT },
};

static json_t *
job_json(sqlite3_stmt *s)
{
	return store_row_json(s, job_cols, sizeof(job_cols) / sizeof(job_cols[0]));
}

int
store_jobs_list(struct store *st, const char *state, const char *host, long limit, long offset,
    json_t **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *res = NULL, *list, *j;
	int pass, step, rc = -1;

	*out = NULL;
	if (store_page_new(limit, offset, "jobs", &res, &list, err, errlen) == -1)
		return -1;
	for (pass = 0; pass < 2; pass++) {
		if (store_prepare(st, &s, pass == 0 ?
		    "SELECT count(*) FROM jobs WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR host = ?2)" :
		    JOB_SELECT "WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR host = ?2) "
		    "ORDER BY id DESC LIMIT ?3 OFFSET ?4", err, errlen) == -1)
			goto done;
		sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, host, -1, SQLITE_STATIC);
		if (pass == 1) {
			sqlite3_bind_int64(s, 3, limit);
			sqlite3_bind_int64(s, 4, offset);
		}
		while ((step = sqlite3_step(s)) == SQLITE_ROW) {
			if (pass == 0) {
				if (json_object_set_new(res, "total",
				    json_integer(sqlite3_column_int64(s, 0))) == -1) {
					util_err(err, errlen, "out of memory");
					goto done;
				}
			} else if ((j = job_json(s)) == NULL || json_array_append_new(list, j) == -1) {
				util_err(err, errlen, "out of memory");
				goto done;
			}
		}
		if (step != SQLITE_DONE) {
			util_err(err, errlen, "jobs: %s", sqlite3_errmsg(store_db(st)));
			goto done;
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	*out = res;
	res = NULL;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(res);
	return rc;
}

int
store_jobs_get(struct store *st, int64_t job, json_t **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	*out = NULL;
	if (store_prepare(st, &s, JOB_SELECT "WHERE id = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if ((step = sqlite3_step(s)) == SQLITE_DONE)
		rc = 0;
	else if (step != SQLITE_ROW)
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
	else if ((*out = job_json(s)) == NULL)
		util_err(err, errlen, "job: out of memory");
	else
		rc = 1;
	sqlite3_finalize(s);
	return rc;
}

int
store_jobs_request_scan(struct store *st, const char *requested_by, int64_t *id, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char now[UTIL_ISO_LEN];
	int rc = -1;

	*id = 0;
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "INSERT INTO scan_requests (requested_by, requested_at) VALUES (?, ?)", err,
	    errlen) == 0) {
		sqlite3_bind_text(s, 1, requested_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
		rc = queue_insert(st, s, "scan request", requested_by, "scan.request", NULL, "scan_request", "", id,
		    err, errlen);
	}
	sqlite3_finalize(s);
	if (rc != 0) {
		store_rollback(st);
		*id = 0;
	}
	return rc;
}
