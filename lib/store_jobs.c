/*
 * store_jobs.c — queueing remediation jobs and scan requests in the state DB (the producer side).
 *
 * Called by dpfleet-server's API (server/api_jobs.c) and by the scanner's CLI.  Each function runs in one
 * BEGIN IMMEDIATE transaction, so a queue request is all-or-nothing and its audit rows commit with it.
 * A fix job records the site's expected hash at queue time (NULL when the site value is not 'present'; the
 * scanner re-reads everything before writing and refuses such a host).  The scanner's claim/finish
 * functions belong in this module too, below the producer side, with the same conventions: bound
 * parameters, caller error buffer, one cleanup label.
 */
#include "store_jobs.h"
#include "store_query.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct target {
	int64_t	 host_id;
	char	 fqdn[STORE_FQDN_MAX];
};

static int
target_cmp(const void *a, const void *b)
{
	const struct target *x = a, *y = b;

	return x->host_id < y->host_id ? -1 : x->host_id > y->host_id;
}

/* Append one target; -1 when out of memory. */
static int
push(struct target **v, size_t *n, size_t *cap, int64_t id, const char *fqdn)
{
	struct target *nv;
	size_t ncap;

	if (*n == *cap) {
		ncap = *cap ? *cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(**v) || (nv = realloc(*v, ncap * sizeof(**v))) == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[*n].host_id = id;
	util_strlcpy((*v)[*n].fqdn, fqdn ? fqdn : "", sizeof((*v)[*n].fqdn));
	(*n)++;
	return 0;
}

int
store_jobs_queue_fixes(struct store *st, const struct store_fix_order *o, struct store_fix_result *r,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL, *ins = NULL;
	struct target *t = NULL;
	size_t n = 0, cap = 0, i, j;
	char now[UTIL_ISO_LEN], detail[128];
	int rc = -1, step;

	memset(r, 0, sizeof(*r));
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (o->all_affected) {
		if (store_prepare(st, &s, "SELECT h.id, h.fqdn FROM hosts h "
		    "JOIN observations o ON o.id = h.last_obs_id WHERE h.retired_at IS NULL "
		    "AND o.state IN ('missing', 'empty', 'mismatch') AND (?1 IS NULL OR h.site = ?1) ORDER BY h.id",
		    err, errlen) == -1)
			goto done;
		sqlite3_bind_text(s, 1, o->site, -1, SQLITE_STATIC);
		while ((step = sqlite3_step(s)) == SQLITE_ROW)
			if (push(&t, &n, &cap, sqlite3_column_int64(s, 0),
			    (const char *)sqlite3_column_text(s, 1)) == -1) {
				util_err(err, errlen, "out of memory");
				goto done;
			}
		if (step != SQLITE_DONE) {
			util_err(err, errlen, "affected hosts: %s", sqlite3_errmsg(store_db(st)));
			goto done;
		}
	} else {
		if (store_prepare(st, &s, "SELECT id, fqdn FROM hosts WHERE fqdn = ? AND retired_at IS NULL", err,
		    errlen) == -1)
			goto done;
		for (i = 0; i < o->nhosts; i++) {
			sqlite3_reset(s);
			sqlite3_bind_text(s, 1, o->hosts[i], -1, SQLITE_STATIC);
			step = sqlite3_step(s);
			if (step == SQLITE_DONE) {
				util_strlcpy(r->unknown, o->hosts[i], sizeof(r->unknown));
				rc = STORE_JOBS_NOT_FOUND;
				goto done;
			}
			if (step != SQLITE_ROW) {
				util_err(err, errlen, "host: %s", sqlite3_errmsg(store_db(st)));
				goto done;
			}
			if (push(&t, &n, &cap, sqlite3_column_int64(s, 0),
			    (const char *)sqlite3_column_text(s, 1)) == -1) {
				util_err(err, errlen, "out of memory");
				goto done;
			}
		}
		/* Drop duplicates (the same host named twice, in any case). */
		if (n > 1)
			qsort(t, n, sizeof(*t), target_cmp);
		for (i = j = 0; i < n; i++)
			if (j == 0 || t[j - 1].host_id != t[i].host_id)
				t[j++] = t[i];
		n = j;
	}
	sqlite3_finalize(s);
	s = NULL;
	r->count = (long)n;
	if (o->max_count > 0 && r->count > o->max_count && o->confirm_count != r->count) {
		rc = STORE_JOBS_TOO_MANY;
		goto done;
	}
	if (n > 0 && (r->jobs = calloc(n, sizeof(*r->jobs))) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	if (store_prepare(st, &ins, "INSERT INTO jobs (kind, host, dry_run, requested_by, requested_at, "
	    "expected_sha256) VALUES ('fix', ?1, ?2, ?3, ?4, (SELECT s.expected_sha256 FROM sites s "
	    "JOIN hosts h ON h.site = s.code WHERE h.id = ?5 AND s.expected_state = 'present'))",
	    err, errlen) == -1)
		goto done;
	for (i = 0; i < n; i++) {
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, t[i].fqdn, -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 2, o->dry_run != 0);
		sqlite3_bind_text(ins, 3, o->requested_by, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, now, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 5, t[i].host_id);
		if (store_step_done(st, ins, "queue job", err, errlen) == -1)
			goto done;
		r->jobs[i].id = sqlite3_last_insert_rowid(store_db(st));
		util_strlcpy(r->jobs[i].host, t[i].fqdn, sizeof(r->jobs[i].host));
		snprintf(detail, sizeof(detail), "{\"job\": %lld, \"kind\": \"fix\", \"dry_run\": %s}",
		    (long long)r->jobs[i].id, o->dry_run ? "true" : "false");
		if (store_audit(st, o->requested_by, "job.queue", t[i].fqdn, "queued", detail, err,
		    errlen) == -1)
			goto done;
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	sqlite3_finalize(ins);
	if (rc != 0) {
		store_rollback(st);
		free(r->jobs);
		r->jobs = NULL;
	}
	free(t);
	return rc;
}

int
store_jobs_queue_rollback(struct store *st, int64_t job, const char *requested_by, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char now[UTIL_ISO_LEN], host[STORE_FQDN_MAX], kind[16], state[16], outcome[32], detail[128];
	int rc = -1, step;

	*id = 0;
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT host, kind, state, coalesce(outcome, '') FROM jobs WHERE id = ?", err,
	    errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, job);
	if ((step = sqlite3_step(s)) == SQLITE_DONE) {
		rc = STORE_JOBS_NOT_FOUND;
		goto done;
	}
	if (step != SQLITE_ROW) {
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	util_strlcpy(host, (const char *)sqlite3_column_text(s, 0), sizeof(host));
	util_strlcpy(kind, (const char *)sqlite3_column_text(s, 1), sizeof(kind));
	util_strlcpy(state, (const char *)sqlite3_column_text(s, 2), sizeof(state));
	util_strlcpy(outcome, (const char *)sqlite3_column_text(s, 3), sizeof(outcome));
	sqlite3_finalize(s);
	s = NULL;
	if (strcmp(kind, "fix") != 0 || strcmp(state, "done") != 0 || strcmp(outcome, "written") != 0) {
		util_err(err, errlen, "job %lld is a %s job in state %s%s%s: only a done fix with outcome "
		    "written can be rolled back", (long long)job, kind, state, *outcome ? " with outcome " : "",
		    outcome);
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
	sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, job);
	sqlite3_bind_text(s, 3, requested_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	if (store_step_done(st, s, "queue rollback", err, errlen) == -1)
		goto done;
	*id = sqlite3_last_insert_rowid(store_db(st));
	snprintf(detail, sizeof(detail), "{\"job\": %lld, \"kind\": \"rollback\", \"rollback_of\": %lld}",
	    (long long)*id, (long long)job);
	if (store_audit(st, requested_by, "job.queue", host, "queued", detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
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
	char host[STORE_FQDN_MAX], state[16], now[UTIL_ISO_LEN], detail[64];
	int rc = -1, step;

	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT host, state FROM jobs WHERE id = ?", err, errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, job);
	if ((step = sqlite3_step(s)) == SQLITE_DONE) {
		rc = STORE_JOBS_NOT_FOUND;
		goto done;
	}
	if (step != SQLITE_ROW) {
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	util_strlcpy(host, (const char *)sqlite3_column_text(s, 0), sizeof(host));
	util_strlcpy(state, (const char *)sqlite3_column_text(s, 1), sizeof(state));
	sqlite3_finalize(s);
	s = NULL;
	if (strcmp(state, "queued") != 0) {
		util_err(err, errlen, "job %lld is %s: only a queued job can be cancelled", (long long)job, state);
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
	if (store_audit(st, who, "job.cancel", host, "cancelled", detail, err, errlen) == -1 ||
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
	"state, outcome, expected_sha256, before_sha256, after_sha256, backup IS NOT NULL, attempts, error " \
	"FROM jobs "

/* JOB_SELECT's columns, in order, as the JSON API names them. */
static const struct store_col job_cols[] = {
	{ "id", STORE_COL_INT }, { "kind", STORE_COL_TEXT }, { "host", STORE_COL_TEXT },
	{ "dry_run", STORE_COL_BOOL }, { "rollback_of", STORE_COL_INT }, { "requested_by", STORE_COL_TEXT },
	{ "requested_at", STORE_COL_TEXT }, { "started_at", STORE_COL_TEXT }, { "finished_at", STORE_COL_TEXT },
	{ "state", STORE_COL_TEXT }, { "outcome", STORE_COL_TEXT }, { "expected_sha256", STORE_COL_TEXT },
	{ "before_sha256", STORE_COL_TEXT }, { "after_sha256", STORE_COL_TEXT }, { "backup_taken", STORE_COL_BOOL },
	{ "attempts", STORE_COL_INT }, { "error", STORE_COL_TEXT },
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
	if (limit < 1 || limit > 1000 || offset < 0)
		return util_err(err, errlen, "limit must be 1..1000 and offset >= 0");
	if ((res = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(res, "jobs", list) == -1) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
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
	char now[UTIL_ISO_LEN], detail[64];
	int rc = -1;

	*id = 0;
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "INSERT INTO scan_requests (requested_by, requested_at) VALUES (?, ?)", err,
	    errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, requested_by, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	if (store_step_done(st, s, "scan request", err, errlen) == -1)
		goto done;
	*id = sqlite3_last_insert_rowid(store_db(st));
	snprintf(detail, sizeof(detail), "{\"scan_request\": %lld}", (long long)*id);
	if (store_audit(st, requested_by, "scan.request", NULL, "queued", detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
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

/* ---- execution side: only dpfleet-scanner, while it holds the job lock (scanner/fix.c) ---- */

void
store_job_free(struct store_job *j)
{
	if (j == NULL)
		return;
	free(j->backup);
	j->backup = NULL;
}

int
store_jobs_ids(struct store *st, const char *state, int64_t *ids, size_t max, size_t *n, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step;

	*n = 0;
	if (store_prepare(st, &s, "SELECT id FROM jobs WHERE state = ? ORDER BY id LIMIT ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max)
		ids[(*n)++] = sqlite3_column_int64(s, 0);
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		util_err(err, errlen, "jobs: %s", sqlite3_errmsg(store_db(st)));
		*n = 0;
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

static void
col_copy(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
	const char *v = (const char *)sqlite3_column_text(s, i);

	util_strlcpy(dst, v ? v : "", cap);
}

int
store_jobs_load(struct store *st, int64_t id, struct store_job *j, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	memset(j, 0, sizeof(*j));
	j->backup_type = -1;
	if (store_prepare(st, &s, "SELECT id, kind, host, dry_run, coalesce(rollback_of, 0), state, requested_by, "
	    "coalesce(expected_sha256, ''), backup, coalesce(backup_type, -1), attempts FROM jobs WHERE id = ?",
	    err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((step = sqlite3_step(s)) == SQLITE_DONE) {
		rc = 0;
		goto done;
	}
	if (step != SQLITE_ROW) {
		util_err(err, errlen, "job: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	j->id = sqlite3_column_int64(s, 0);
	col_copy(s, 1, j->kind, sizeof(j->kind));
	col_copy(s, 2, j->host, sizeof(j->host));
	j->dry_run = sqlite3_column_int(s, 3) != 0;
	j->rollback_of = sqlite3_column_int64(s, 4);
	col_copy(s, 5, j->state, sizeof(j->state));
	col_copy(s, 6, j->requested_by, sizeof(j->requested_by));
	col_copy(s, 7, j->expected_sha256, sizeof(j->expected_sha256));
	if (sqlite3_column_type(s, 8) != SQLITE_NULL &&
	    (j->backup = strdup((const char *)sqlite3_column_text(s, 8))) == NULL) {
		util_err(err, errlen, "job: out of memory");
		goto done;
	}
	j->backup_type = sqlite3_column_int(s, 9);
	j->attempts = (long)sqlite3_column_int64(s, 10);
	rc = 1;
done:
	sqlite3_finalize(s);
	if (rc != 1) {
		store_job_free(j);
		memset(j, 0, sizeof(*j));
		j->backup_type = -1;
	}
	return rc;
}

int
store_jobs_claim(struct store *st, int64_t id, int resume, struct store_job *j, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char now[UTIL_ISO_LEN], *detail = NULL;
	const char *from = resume ? "running" : "queued";
	json_t *d = NULL;
	int rc = -1, found;

	memset(j, 0, sizeof(*j));
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if ((found = store_jobs_load(st, id, j, err, errlen)) == -1)
		goto done;
	if (found == 0) {
		rc = STORE_JOBS_NOT_FOUND;
		goto done;
	}
	if (strcmp(j->state, from) != 0) {
		util_err(err, errlen, "job %lld is %s, not %s", (long long)id, j->state, from);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	if (store_prepare(st, &s, "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	    "started_at = coalesce(started_at, ?1) WHERE id = ?2 AND state = ?3", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_text(s, 3, from, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(store_db(st)) != 1) {
		util_err(err, errlen, "claim: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	j->attempts++;
	util_strlcpy(j->state, "running", sizeof(j->state));
	if ((d = json_pack("{s:I, s:s, s:b, s:I, s:b}", "job", (json_int_t)id, "kind", j->kind, "dry_run",
	    j->dry_run, "attempt", (json_int_t)j->attempts, "resumed", resume)) == NULL ||
	    (j->rollback_of > 0 && json_object_set_new(d, "rollback_of", json_integer(j->rollback_of)) == -1) ||
	    (detail = json_dumps(d, JSON_COMPACT)) == NULL) {
		util_err(err, errlen, "claim: out of memory");
		goto done;
	}
	if (store_audit(st, "scanner", "job.start", j->host, "running", detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(d);
	free(detail);
	if (rc != 0) {
		store_rollback(st);
		store_job_free(j);
	}
	return rc;
}

int
store_jobs_set_backup(struct store *st, int64_t id, const char *backup, int type, const char *before_sha256,
    const char *expected_sha256, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, step;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT state, backup IS NOT NULL FROM jobs WHERE id = ?", err, errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, id);
	if ((step = sqlite3_step(s)) != SQLITE_ROW) {
		if (step == SQLITE_DONE)
			rc = STORE_JOBS_NOT_FOUND;
		else
			util_err(err, errlen, "backup: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if (strcmp((const char *)sqlite3_column_text(s, 0), "running") != 0) {
		util_err(err, errlen, "job %lld is not running", (long long)id);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	if (sqlite3_column_int(s, 1)) {
		rc = 1;		/* taken by an earlier attempt: never overwritten */
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (store_prepare(st, &s, "UPDATE jobs SET backup = ?, backup_type = ?, before_sha256 = ?, "
	    "expected_sha256 = coalesce(?, expected_sha256) WHERE id = ? AND backup IS NULL", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, backup, -1, SQLITE_STATIC);
	if (type < 0)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int(s, 2, type);
	sqlite3_bind_text(s, 3, before_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, expected_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, id);
	if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(store_db(st)) != 1) {
		util_err(err, errlen, "backup: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if (store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int
store_jobs_finish(struct store *st, int64_t id, const char *outcome, const char *expected_sha256,
    const char *before_sha256, const char *after_sha256, const char *error, char *err, size_t errlen)
{
	static const char *const good[] = { "written", "already_correct", "would_write", "restored" };
	sqlite3_stmt *s = NULL;
	char now[UTIL_ISO_LEN], host[STORE_FQDN_MAX], kind[16], stored_before[UTIL_SHA256_HEX], *detail = NULL;
	const char *state = "failed";
	json_t *d = NULL;
	int rc = -1, step, backup_taken;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (strcmp(outcome, good[i]) == 0)
			state = "done";
	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT host, kind, state, backup IS NOT NULL, before_sha256 FROM jobs "
	    "WHERE id = ?", err, errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, id);
	if ((step = sqlite3_step(s)) != SQLITE_ROW) {
		if (step == SQLITE_DONE)
			rc = STORE_JOBS_NOT_FOUND;
		else
			util_err(err, errlen, "finish: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	col_copy(s, 0, host, sizeof(host));
	col_copy(s, 1, kind, sizeof(kind));
	backup_taken = sqlite3_column_int(s, 3);
	col_copy(s, 4, stored_before, sizeof(stored_before));
	if (before_sha256 == NULL && stored_before[0] != '\0')
		before_sha256 = stored_before;	/* recorded with the backup */
	if (strcmp((const char *)sqlite3_column_text(s, 2), "running") != 0) {
		util_err(err, errlen, "job %lld is not running", (long long)id);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;
	if (store_prepare(st, &s, "UPDATE jobs SET state = ?1, outcome = ?2, finished_at = ?3, "
	    "expected_sha256 = coalesce(?4, expected_sha256), before_sha256 = ?5, after_sha256 = ?6, error = ?7 "
	    "WHERE id = ?8 AND state = 'running'", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, expected_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, before_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, after_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, id);
	if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(store_db(st)) != 1) {
		util_err(err, errlen, "finish: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if ((d = json_pack("{s:I, s:s, s:s, s:b}", "job", (json_int_t)id, "kind", kind, "state", state,
	    "backup_taken", backup_taken)) == NULL ||
	    json_object_set_new(d, "expected_sha256", expected_sha256 ? json_string(expected_sha256) :
	    json_null()) == -1 ||
	    json_object_set_new(d, "before_sha256", before_sha256 ? json_string(before_sha256) : json_null()) == -1 ||
	    json_object_set_new(d, "after_sha256", after_sha256 ? json_string(after_sha256) : json_null()) == -1 ||
	    (error != NULL && json_object_set_new(d, "error", store_json_text(error)) == -1) ||
	    (detail = json_dumps(d, JSON_COMPACT)) == NULL) {
		util_err(err, errlen, "finish: out of memory");
		goto done;
	}
	if (store_audit(st, "scanner", "job.end", host, outcome, detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(d);
	free(detail);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int
store_jobs_unscanned(struct store *st, size_t max, struct store_job_ref **out, size_t *n, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step;

	*out = NULL;
	*n = 0;
	if (max == 0)
		return 0;
	if ((*out = calloc(max, sizeof(**out))) == NULL)
		return util_err(err, errlen, "unscanned: out of memory");
	if (store_prepare(st, &s, "SELECT max(j.id), h.fqdn FROM jobs j JOIN hosts h ON h.fqdn = j.host "
	    "LEFT JOIN observations o ON o.id = h.last_obs_id WHERE j.state = 'done' AND "
	    "j.outcome IN ('written', 'restored') AND h.retired_at IS NULL AND (o.id IS NULL OR o.at < j.finished_at) "
	    "GROUP BY h.id ORDER BY h.id LIMIT ?", err, errlen) == -1)
		goto fail;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)max);
	while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
		(*out)[*n].id = sqlite3_column_int64(s, 0);
		col_copy(s, 1, (*out)[*n].host, sizeof((*out)[*n].host));
		(*n)++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		util_err(err, errlen, "unscanned: %s", sqlite3_errmsg(store_db(st)));
		goto fail;
	}
	sqlite3_finalize(s);
	if (*n == 0) {
		free(*out);
		*out = NULL;
	}
	return 0;
fail:
	sqlite3_finalize(s);
	free(*out);
	*out = NULL;
	*n = 0;
	return -1;
}
