/*
 * store_scan.c — the SQL of scan runs (see store_scan.h for the contract of each function).
 *
 * Called only by the scanner parent (scanner/scan.c), which is the single writer of scans, observations,
 * evidence, hosts.last_obs_id and of scan_requests rows past 'queued'.  dpfleet-server inserts queued
 * scan_requests concurrently: every write here is a short BEGIN IMMEDIATE transaction and the store's busy
 * timeout absorbs the contention.  Assumes the schema of migrations/0001_initial.sql.
 */
#include "store_scan.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define DBERR(db) sqlite3_errmsg(db)

static int
prep(sqlite3 *db, const char *sql, sqlite3_stmt **s, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
		return util_err(err, errlen, "store: prepare: %s", DBERR(db));
	return 0;
}

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void
col_copy(sqlite3_stmt *s, int i, char *dst, size_t size)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	util_strlcpy(dst, v ? (const char *)v : "", size);
}

/* Run a statement that returns no rows; finalizes it.  0 or -1 with err. */
static int
step_done(sqlite3 *db, sqlite3_stmt *s, char *err, size_t errlen)
{
	int rc = sqlite3_step(s);

	sqlite3_finalize(s);
	if (rc != SQLITE_DONE)
		return util_err(err, errlen, "store: %s", DBERR(db));
	return 0;
}

/*
 * Step s to its end and keep each row as one zeroed size-byte element that fill() sets, in an array that
 * grows from room for `first`.  0 with *out (malloc'd, caller frees; NULL when there was no row) and *n, or
 * -1 with "store: out of memory" or "store: <what>: <SQLite error>" in err (*out NULL, *n 0).  Finalizes s.
 */
static int
collect_rows(sqlite3 *db, sqlite3_stmt *s, size_t size, size_t first, void (*fill)(sqlite3_stmt *, void *),
    const char *what, void **out, size_t *n, char *err, size_t errlen)
{
	char *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : first;
			if ((nv = reallocarray(v, cap, size)) == NULL) {
				util_err(err, errlen, "store: out of memory");
				goto fail;
			}
			v = nv;
		}
		memset(v + cnt * size, 0, size);
		fill(s, v + cnt * size);
		cnt++;
	}
	if (rc != SQLITE_DONE) {
		util_err(err, errlen, "store: %s: %s", what, DBERR(db));
		goto fail;
	}
	sqlite3_finalize(s);
	*out = v;
	*n = cnt;
	return 0;
fail:
	sqlite3_finalize(s);
	free(v);
	return -1;
}

static void
fill_target(sqlite3_stmt *s, void *e)
{
	struct store_scan_target *t = e;

	t->host_id = sqlite3_column_int64(s, 0);
	col_copy(s, 1, t->fqdn, sizeof(t->fqdn));
	col_copy(s, 2, t->site, sizeof(t->site));
	t->is_dp = sqlite3_column_int(s, 3);
	t->is_mp = sqlite3_column_int(s, 4);
	t->pxe = sqlite3_column_int(s, 5);
	col_copy(s, 6, t->expected_state, sizeof(t->expected_state));
	col_copy(s, 7, t->expected_sha256, sizeof(t->expected_sha256));
	if (strcmp(t->expected_state, "present") != 0)
		t->expected_sha256[0] = '\0';
}

int
store_scan_targets(struct store *st, struct store_scan_target **out, size_t *n, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	void *v;

	*out = NULL;
	*n = 0;
	if (prep(db, "SELECT h.id, h.fqdn, h.site, h.is_dp, h.is_mp, h.pxe, "
	    "coalesce(s.expected_state, 'absent'), coalesce(s.expected_sha256, '') "
	    "FROM hosts h LEFT JOIN sites s ON s.code = h.site "
	    "WHERE h.retired_at IS NULL AND h.cloud IS NULL ORDER BY h.fqdn", &s, err, errlen) == -1)
		return -1;
	if (collect_rows(db, s, sizeof(**out), 64, fill_target, "hosts", &v, n, err, errlen) == -1)
		return -1;
	*out = v;
	return 0;
}

static void
fill_site(sqlite3_stmt *s, void *e)
{
	struct store_scan_site *site = e;

	col_copy(s, 0, site->code, sizeof(site->code));
	col_copy(s, 1, site->server, sizeof(site->server));
}

int
store_scan_sites(struct store *st, struct store_scan_site **out, size_t *n, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	void *v;

	*out = NULL;
	*n = 0;
	if (prep(db, "SELECT code, server FROM sites WHERE retired_at IS NULL AND server IS NOT NULL "
	    "AND server <> '' ORDER BY code", &s, err, errlen) == -1)
		return -1;
	if (collect_rows(db, s, sizeof(**out), 16, fill_site, "sites", &v, n, err, errlen) == -1)
		return -1;
	*out = v;
	return 0;
}

int
store_scan_begin(struct store *st, const char *trigger, const char *now, int64_t *scan_id, char *err,
    size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (prep(db, "INSERT INTO scans (trigger, started_at, state) VALUES (?, ?, 'running')", &s, err,
	    errlen) == -1)
		return -1;
	bind_text(s, 1, trigger);
	bind_text(s, 2, now);
	if (step_done(db, s, err, errlen) == -1)
		return -1;
	*scan_id = sqlite3_last_insert_rowid(db);
	return 0;
}

int
store_scan_finish(struct store *st, int64_t scan_id, const char *state, const char *now,
    const struct store_scan_totals *t, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (prep(db, "UPDATE scans SET state = ?, finished_at = ?, hosts = ?, affected = ?, unreachable = ?, "
	    "duration_ms = ?, error = ? WHERE id = ?", &s, err, errlen) == -1)
		return -1;
	bind_text(s, 1, state);
	bind_text(s, 2, now);
	sqlite3_bind_int64(s, 3, t->hosts);
	sqlite3_bind_int64(s, 4, t->affected);
	sqlite3_bind_int64(s, 5, t->unreachable);
	sqlite3_bind_int64(s, 6, t->duration_ms);
	bind_text(s, 7, t->error);
	sqlite3_bind_int64(s, 8, scan_id);
	return step_done(db, s, err, errlen);
}

/* Insert evidence lines for obs_id, at most `room`.  0 or -1 with err. */
static int
put_evidence(sqlite3 *db, int64_t obs_id, const struct store_evidence *ev, size_t nev, size_t room,
    char *err, size_t errlen)
{
	sqlite3_stmt *s;
	size_t i;

	if (nev == 0 || room == 0)
		return 0;
	if (prep(db, "INSERT INTO evidence (observation_id, source, file, at, component, type, line) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?)", &s, err, errlen) == -1)
		return -1;
	for (i = 0; i < nev && i < room; i++) {
		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, obs_id);
		bind_text(s, 2, ev[i].source);
		bind_text(s, 3, ev[i].file ? ev[i].file : "");
		bind_text(s, 4, ev[i].at && ev[i].at[0] ? ev[i].at : NULL);
		bind_text(s, 5, ev[i].component && ev[i].component[0] ? ev[i].component : NULL);
		if (ev[i].type > 0)
			sqlite3_bind_int(s, 6, ev[i].type);
		else
			sqlite3_bind_null(s, 6);
		bind_text(s, 7, ev[i].line ? ev[i].line : "");
		if (sqlite3_step(s) != SQLITE_DONE) {
			util_err(err, errlen, "store: evidence: %s", DBERR(db));
			sqlite3_finalize(s);
			return -1;
		}
	}
	sqlite3_finalize(s);
	return 0;
}

int
store_scan_put_obs(struct store *st, const struct store_obs *o, const struct store_evidence *ev, size_t nev,
    int64_t *obs_id, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int64_t id;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (prep(db, "INSERT INTO observations (scan_id, host_id, at, state, reason, affected, value_sha256, "
	    "expected_sha256, pxe_cert_errors, pxe_last_error, pxe_expired_cert, certmgr_denied, "
	    "certmgr_denied_at, scan_ms, attempts, note, cred_set) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
	    &s, err, errlen) == -1)
		goto fail;
	sqlite3_bind_int64(s, 1, o->scan_id);
	sqlite3_bind_int64(s, 2, o->host_id);
	bind_text(s, 3, o->at);
	bind_text(s, 4, o->state);
	bind_text(s, 5, o->reason && o->reason[0] ? o->reason : NULL);
	sqlite3_bind_int(s, 6, o->affected ? 1 : 0);
	bind_text(s, 7, o->value_sha256 && o->value_sha256[0] ? o->value_sha256 : NULL);
	bind_text(s, 8, o->expected_sha256 && o->expected_sha256[0] ? o->expected_sha256 : NULL);
	sqlite3_bind_int64(s, 9, o->pxe_cert_errors);
	bind_text(s, 10, o->pxe_last_error && o->pxe_last_error[0] ? o->pxe_last_error : NULL);
	sqlite3_bind_int(s, 11, o->pxe_expired_cert ? 1 : 0);
	sqlite3_bind_int(s, 12, o->certmgr_denied ? 1 : 0);
	bind_text(s, 13, o->certmgr_denied_at && o->certmgr_denied_at[0] ? o->certmgr_denied_at : NULL);
	sqlite3_bind_int64(s, 14, o->scan_ms);
	sqlite3_bind_int(s, 15, o->attempts > 1 ? o->attempts : 1);
	bind_text(s, 16, o->note && o->note[0] ? o->note : NULL);
	bind_text(s, 17, o->cred_set && o->cred_set[0] ? o->cred_set : NULL);
	if (step_done(db, s, err, errlen) == -1)
		goto fail;
	id = sqlite3_last_insert_rowid(db);
	if (put_evidence(db, id, ev, nev, STORE_EVIDENCE_MAX, err, errlen) == -1)
		goto fail;
	if (prep(db, "UPDATE hosts SET last_obs_id = ? WHERE id = ?", &s, err, errlen) == -1)
		goto fail;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, o->host_id);
	if (step_done(db, s, err, errlen) == -1)
		goto fail;
	if (store_commit(st, err, errlen) == -1)
		return -1;
	*obs_id = id;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

int
store_scan_obs_certmgr(struct store *st, int64_t obs_id, const char *at, const struct store_evidence *ev,
    size_t nev, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s = NULL;
	int64_t have = 0;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (prep(db, "UPDATE observations SET certmgr_denied = 1, certmgr_denied_at = ? WHERE id = ?", &s,
	    err, errlen) == -1)
		goto fail;
	bind_text(s, 1, at && at[0] ? at : NULL);
	sqlite3_bind_int64(s, 2, obs_id);
	if (step_done(db, s, err, errlen) == -1)
		goto fail;
	if (nev > STORE_EVIDENCE_MAX)
		nev = STORE_EVIDENCE_MAX;
	if (prep(db, "SELECT count(*) FROM evidence WHERE observation_id = ?", &s, err, errlen) == -1)
		goto fail;
	sqlite3_bind_int64(s, 1, obs_id);
	if (sqlite3_step(s) == SQLITE_ROW)
		have = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (have + (int64_t)nev > STORE_EVIDENCE_MAX) {
		if (prep(db, "DELETE FROM evidence WHERE id IN (SELECT id FROM evidence WHERE observation_id = ? "
		    "AND source = 'smspxe' ORDER BY id DESC LIMIT ?)", &s, err, errlen) == -1)
			goto fail;
		sqlite3_bind_int64(s, 1, obs_id);
		sqlite3_bind_int64(s, 2, have + (int64_t)nev - STORE_EVIDENCE_MAX);
		if (step_done(db, s, err, errlen) == -1)
			goto fail;
		have -= sqlite3_changes(db);
	}
	if (have < STORE_EVIDENCE_MAX && put_evidence(db, obs_id, ev, nev,
	    (size_t)(STORE_EVIDENCE_MAX - have), err, errlen) == -1)
		goto fail;
	return store_commit(st, err, errlen);
fail:
	store_rollback(st);
	return -1;
}

int
store_scan_recover(struct store *st, const char *now, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (prep(db, "UPDATE scans SET state = 'failed', finished_at = ?, error = 'scanner stopped' "
	    "WHERE state = 'running'", &s, err, errlen) == -1)
		goto fail;
	bind_text(s, 1, now);
	if (step_done(db, s, err, errlen) == -1)
		goto fail;
	if (prep(db, "UPDATE scan_requests SET state = 'queued', picked_at = NULL, scan_id = NULL "
	    "WHERE state = 'running'", &s, err, errlen) == -1)
		goto fail;
	if (step_done(db, s, err, errlen) == -1)
		goto fail;
	return store_commit(st, err, errlen);
fail:
	store_rollback(st);
	return -1;
}

int
store_scan_requests_pending(struct store *st, long *n, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (prep(db, "SELECT count(*) FROM scan_requests WHERE state = 'queued'", &s, err, errlen) == -1)
		return -1;
	if ((rc = sqlite3_step(s)) == SQLITE_ROW)
		*n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return util_err(err, errlen, "store: scan_requests: %s", DBERR(db));
	return 0;
}

int
store_scan_requests_claim(struct store *st, int64_t scan_id, const char *now, long *n, char *err,
    size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	*n = 0;
	if (prep(db, "UPDATE scan_requests SET state = 'running', picked_at = ?, scan_id = ? "
	    "WHERE state = 'queued'", &s, err, errlen) == -1)
		return -1;
	bind_text(s, 1, now);
	sqlite3_bind_int64(s, 2, scan_id);
	if (step_done(db, s, err, errlen) == -1)
		return -1;
	*n = (long)sqlite3_changes(db);
	return 0;
}

int
store_scan_requests_finish(struct store *st, int64_t scan_id, const char *state, char *err, size_t errlen)
{
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s;

	if (prep(db, "UPDATE scan_requests SET state = ? WHERE state = 'running' AND scan_id = ?", &s, err,
	    errlen) == -1)
		return -1;
	bind_text(s, 1, state);
	sqlite3_bind_int64(s, 2, scan_id);
	return step_done(db, s, err, errlen);
}

int
store_scan_last_certmgr(struct store *st, int64_t host_id, struct store_scan_certmgr *out, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const unsigned char *v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_prepare(st, &s, "SELECT o.certmgr_denied, o.certmgr_denied_at, e.file, e.line "
	    "FROM hosts h JOIN observations o ON o.id = h.last_obs_id "
	    "LEFT JOIN evidence e ON e.id = (SELECT max(id) FROM evidence "
	    "WHERE observation_id = o.id AND source = 'certmgr') WHERE h.id = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, host_id);
	if ((rc = sqlite3_step(s)) == SQLITE_ROW && sqlite3_column_int(s, 0) != 0) {
		out->denied = 1;
		col_copy(s, 1, out->at, sizeof(out->at));
		col_copy(s, 2, out->file, sizeof(out->file));
		if ((v = sqlite3_column_text(s, 3)) != NULL && (out->line = strdup((const char *)v)) == NULL) {
			sqlite3_finalize(s);
			memset(out, 0, sizeof(*out));
			return util_err(err, errlen, "store: out of memory");
		}
	}
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(out->line);
		memset(out, 0, sizeof(*out));
		return util_err(err, errlen, "store: %s", sqlite3_errmsg(store_db(st)));
	}
	return 0;
}
