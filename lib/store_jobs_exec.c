/*
 * store_jobs_exec.c — the execution side of remediation jobs in the state DB (declared in store_jobs.h,
 * below its "execution side" line): list the ids to run, load a job, claim it, record its backup, finish it,
 * and find the written hosts whose rescan was lost.
 *
 * Called only by dpfleet-scanner (scanner/fix.c) while it holds the job lock, so there is one executor at a
 * time; dpfleet-server's queueing and cancelling (lib/store_jobs.c) run concurrently, and the state guards in
 * the UPDATEs (WHERE state = ...) keep a claim and a cancel mutually exclusive.  Claim and finish append their
 * audit rows in the same BEGIN IMMEDIATE transaction; the transitions are drawn in store_jobs.h.  Same
 * conventions as lib/store_jobs.c: bound parameters, the caller's error buffer, one cleanup label.
 */
#include "store_jobs.h"
#include "store_query.h"
#include "util.h"
#include "words.h"

#include <stdlib.h>
#include <string.h>

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
	    "coalesce(expected_sha256, ''), backup, coalesce(backup_type, -1), attempts, coalesce(outcome, ''), "
	    "coalesce(after_sha256, ''), coalesce(seal, '') FROM jobs WHERE id = ?", err, errlen) == -1)
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
	col_copy(s, 11, j->outcome, sizeof(j->outcome));
	col_copy(s, 12, j->after_sha256, sizeof(j->after_sha256));
	col_copy(s, 13, j->seal, sizeof(j->seal));
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
    char *err, size_t errlen)
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
	if (store_prepare(st, &s, "UPDATE jobs SET backup = ?, backup_type = ?, before_sha256 = ? "
	    "WHERE id = ? AND backup IS NULL", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, backup, -1, SQLITE_STATIC);
	if (type < 0)
		sqlite3_bind_null(s, 2);
	else
		sqlite3_bind_int(s, 2, type);
	sqlite3_bind_text(s, 3, before_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, id);
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

/* A job's row as finishing reads it (inside the transaction). */
struct end_row {
	char	 host[STORE_FQDN_MAX];
	char	 kind[16];
	char	 state[16];
	char	 expected[UTIL_SHA256_HEX];
	char	 before[UTIL_SHA256_HEX];
	int	 backup_taken;
};

/* Read job into *r.  0; STORE_JOBS_NOT_FOUND; -1 with err. */
static int
end_row_get(struct store *st, int64_t id, struct end_row *r, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	if (store_prepare(st, &s, "SELECT host, kind, state, backup IS NOT NULL, before_sha256, expected_sha256 "
	    "FROM jobs WHERE id = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if ((step = sqlite3_step(s)) == SQLITE_ROW) {
		col_copy(s, 0, r->host, sizeof(r->host));
		col_copy(s, 1, r->kind, sizeof(r->kind));
		col_copy(s, 2, r->state, sizeof(r->state));
		r->backup_taken = sqlite3_column_int(s, 3);
		col_copy(s, 4, r->before, sizeof(r->before));
		col_copy(s, 5, r->expected, sizeof(r->expected));
		rc = 0;
	} else if (step == SQLITE_DONE)
		rc = STORE_JOBS_NOT_FOUND;
	else
		util_err(err, errlen, "finish: %s", sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return rc;
}

static json_t *
str_or_null(const char *v)
{
	return v != NULL && v[0] != '\0' ? json_string(v) : json_null();
}

/* The job.end audit detail (malloc'd JSON), or NULL when out of memory. */
static char *
end_detail(int64_t id, const struct end_row *r, const char *state, const struct store_job_end *e,
    const char *before)
{
	json_t *d;
	char *detail = NULL;

	if ((d = json_pack("{s:I, s:s, s:s, s:b}", "job", (json_int_t)id, "kind", r->kind, "state", state,
	    "backup_taken", r->backup_taken)) == NULL ||
	    json_object_set_new(d, "expected_sha256", str_or_null(r->expected)) == -1 ||
	    json_object_set_new(d, "site_sha256", str_or_null(e->site_sha256)) == -1 ||
	    json_object_set_new(d, "before_sha256", str_or_null(before)) == -1 ||
	    json_object_set_new(d, "after_sha256", str_or_null(e->after_sha256)) == -1 ||
	    json_object_set_new(d, "cred_set", str_or_null(e->cred_set)) == -1 ||
	    (e->error != NULL && json_object_set_new(d, "error", store_json_text(e->error)) == -1))
		goto done;
	detail = json_dumps(d, JSON_COMPACT);
done:
	json_decref(d);
	return detail;
}

int
store_jobs_finish(struct store *st, int64_t id, const struct store_job_end *e, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct end_row r;
	char now[UTIL_ISO_LEN], *detail = NULL;
	const char *state = words_outcome_good(e->outcome) ? "done" : "failed", *before = e->before_sha256;
	int rc = -1;

	util_iso_now(now);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if ((rc = end_row_get(st, id, &r, err, errlen)) != 0)
		goto done;
	rc = -1;
	if (before == NULL && r.before[0] != '\0')
		before = r.before;	/* recorded with the backup */
	if (strcmp(r.state, "running") != 0) {
		util_err(err, errlen, "job %lld is not running", (long long)id);
		rc = STORE_JOBS_CONFLICT;
		goto done;
	}
	if (store_prepare(st, &s, "UPDATE jobs SET state = ?1, outcome = ?2, finished_at = ?3, site_sha256 = ?4, "
	    "before_sha256 = ?5, after_sha256 = ?6, error = ?7, seal = ?8, cred_set = ?10 WHERE id = ?9 AND "
	    "state = 'running'",
	    err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, e->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, e->site_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, before, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, e->after_sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, e->error, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, e->seal, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 9, id);
	sqlite3_bind_text(s, 10, e->cred_set, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE || sqlite3_changes(store_db(st)) != 1) {
		util_err(err, errlen, "finish: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if ((detail = end_detail(id, &r, state, e, before)) == NULL) {
		util_err(err, errlen, "finish: out of memory");
		goto done;
	}
	if (store_audit(st, "scanner", "job.end", r.host, e->outcome, detail, err, errlen) == -1 ||
	    store_commit(st, err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	free(detail);
	if (rc != 0)
		store_rollback(st);
	return rc;
}

int
store_jobs_newer_write(struct store *st, const char *host, int64_t after, int64_t *id, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int step, rc = -1;

	*id = 0;
	if (store_prepare(st, &s, "SELECT min(id) FROM jobs WHERE host = ?1 COLLATE NOCASE AND id > ?2 AND "
	    "state = 'done' AND outcome IN ('written', 'restored')", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, host, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, after);
	if ((step = sqlite3_step(s)) != SQLITE_ROW)
		util_err(err, errlen, "newer write: %s", sqlite3_errmsg(store_db(st)));
	else {
		*id = sqlite3_column_int64(s, 0);
		rc = *id != 0;
	}
	sqlite3_finalize(s);
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
