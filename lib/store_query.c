/*
 * store_query.c — the read side of the state DB for dpfleet-server: the pinned vocabularies, result rows as
 * JSON (shared with lib/store_jobs.c), the scan list, the fixes report, the audit log, and the store's
 * generation and ping.
 *
 * Called by server/api*.c and server/metrics.c on the calling thread's own connection; nothing here writes.
 * Every query binds its parameters.  Results are Jansson values so the server serialises them as they are.
 * The read side spans three files behind one header, store_query.h: this one, lib/store_query_hosts.c
 * (host list, host page, host reports) and lib/store_query_summary.c (summary, metrics); they share
 * lib/store_query_int.h.
 */
#include "store_query_int.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The vocabularies are lib/words.c's (tests/unit/test_words.c holds them to the schema). */
_Static_assert(STORE_NSTATES == WORDS_NSTATES && STORE_NOUTCOMES == WORDS_NOUTCOMES &&
    STORE_NJOBSTATES == WORDS_NJOBSTATES, "store_query.h counts lib/words.h's words");
static const char *const *const states = words_states;
static const char *const *const outcomes = words_outcomes;
static const char *const *const jobstates = words_jobstates;


const char *
store_state_name(int i)
{
	return i >= 0 && i < STORE_NSTATES ? states[i] : NULL;
}

const char *
store_outcome_name(int i)
{
	return i >= 0 && i < STORE_NOUTCOMES ? outcomes[i] : NULL;
}

const char *
store_jobstate_name(int i)
{
	return i >= 0 && i < STORE_NJOBSTATES ? jobstates[i] : NULL;
}

int
store_query_index(const char *(*name)(int), const char *s)
{
	const char *v;
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; (v = name(i)) != NULL; i++)
		if (strcmp(v, s) == 0)
			return i;
	return -1;
}

int
store_state_valid(const char *s)
{
	return store_query_index(store_state_name, s) >= 0;
}

int
store_jobstate_valid(const char *s)
{
	return store_query_index(store_jobstate_name, s) >= 0;
}

json_t *
store_json_text(const char *text)
{
	json_t *j;
	char *copy;
	size_t i, n;

	if (text == NULL)
		return json_null();
	if ((j = json_string(text)) != NULL)
		return j;
	/* Not valid UTF-8: keep ASCII, replace every other byte. */
	n = strlen(text);
	if ((copy = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		copy[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
	copy[n] = '\0';
	j = json_string(copy);
	free(copy);
	return j;
}

json_t *
store_row_json(sqlite3_stmt *s, const struct store_col *cols, size_t ncols)
{
	json_t *o, *v;
	const char *d;
	size_t i;
	int oom = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < ncols; i++) {
		switch (cols[i].kind) {
		case STORE_COL_INT:
			v = col_int(s, (int)i);
			break;
		case STORE_COL_BOOL:
			v = col_bool(s, (int)i);
			break;
		case STORE_COL_JSON:
			/* A JSON object text; anything else is passed on as a string. */
			d = (const char *)sqlite3_column_text(s, (int)i);
			if ((v = d ? json_loads(d, JSON_REJECT_DUPLICATES, NULL) : NULL) == NULL)
				v = col_str(s, (int)i);
			break;
		case STORE_COL_TEXT:
		default:
			v = col_str(s, (int)i);
			break;
		}
		put(o, cols[i].name, v, &oom);
	}
	if (oom) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
store_query_rows(struct store *st, const char *sql, const int64_t *params, int nparams,
    const struct store_col *cols, size_t ncols, json_t *arr, const char *what, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *e;
	int i, r, rc = -1;

	if (store_prepare(st, &s, sql, err, errlen) == -1)
		return -1;
	for (i = 0; i < nparams; i++)
		sqlite3_bind_int64(s, i + 1, params[i]);
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if ((e = store_row_json(s, cols, ncols)) == NULL || json_array_append_new(arr, e) == -1) {
			util_err(err, errlen, "out of memory");
			goto done;
		}
	if (r != SQLITE_DONE) {
		step_err(st, what, err, errlen);
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

int
store_query_finish(json_t *v, int oom, int ok, const char *prefix, json_t **out, char *err, size_t errlen)
{
	if (oom) {
		json_decref(v);
		return util_err(err, errlen, "%sout of memory", prefix);
	}
	*out = v;
	return ok;
}

int
store_page_new(long limit, long offset, const char *key, json_t **res, json_t **list, char *err,
    size_t errlen)
{
	*res = *list = NULL;
	if (limit < 1 || limit > STORE_PAGE_MAX || offset < 0)
		return util_err(err, errlen, "limit must be 1..%d and offset >= 0", STORE_PAGE_MAX);
	if ((*res = json_object()) == NULL || (*list = json_array()) == NULL ||
	    json_object_set_new(*res, key, *list) == -1) {
		json_decref(*res);
		*res = *list = NULL;
		return util_err(err, errlen, "out of memory");
	}
	return 0;
}

int
store_query_scans(struct store *st, long limit, long offset, json_t **out, char *err, size_t errlen)
{
	static const struct store_col scan_cols[] = {
		{ "id", STORE_COL_INT }, { "trigger", STORE_COL_TEXT }, { "started_at", STORE_COL_TEXT },
		{ "finished_at", STORE_COL_TEXT }, { "state", STORE_COL_TEXT }, { "hosts", STORE_COL_INT },
		{ "affected", STORE_COL_INT }, { "unreachable", STORE_COL_INT }, { "duration_ms", STORE_COL_INT },
		{ "error", STORE_COL_TEXT },
	};
	static const struct store_col request_cols[] = {
		{ "id", STORE_COL_INT }, { "requested_by", STORE_COL_TEXT }, { "requested_at", STORE_COL_TEXT },
		{ "state", STORE_COL_TEXT },
	};
	json_t *res = NULL, *list, *pend;
	int64_t page[2] = { limit, offset };
	int oom = 0, rc = -1;

	*out = NULL;
	if (store_page_new(limit, offset, "scans", &res, &list, err, errlen) == -1)
		return -1;
	if (store_query_rows(st, "SELECT id, trigger, started_at, finished_at, state, hosts, affected, unreachable, "
	    "duration_ms, error FROM scans ORDER BY id DESC LIMIT ? OFFSET ?", page, 2, scan_cols,
	    NCOLS(scan_cols), list, "scans", err, errlen) == -1)
		goto done;
	if ((pend = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(res, "pending_requests", pend, &oom);
	if (store_query_rows(st, "SELECT id, requested_by, requested_at, state FROM scan_requests "
	    "WHERE state IN ('queued', 'running') ORDER BY id LIMIT 100", NULL, 0, request_cols,
	    NCOLS(request_cols), pend, "scan requests", err, errlen) == -1)
		goto done;
	rc = store_query_finish(res, oom, 0, "", out, err, errlen);
	res = NULL;
done:
	json_decref(res);
	return rc;
}

int
store_query_fixes_report(struct store *st, json_t **out, char *err, size_t errlen)
{
	static const struct store_col fix_cols[] = {
		{ "id", STORE_COL_INT }, { "host", STORE_COL_TEXT }, { "kind", STORE_COL_TEXT },
		{ "dry_run", STORE_COL_BOOL }, { "requested_by", STORE_COL_TEXT }, { "requested_at", STORE_COL_TEXT },
		{ "finished_at", STORE_COL_TEXT }, { "outcome", STORE_COL_TEXT }, { "before_sha256", STORE_COL_TEXT },
		{ "after_sha256", STORE_COL_TEXT }, { "cred_set", STORE_COL_TEXT },
	};
	json_t *list;

	*out = NULL;
	if ((list = json_array()) == NULL)
		return util_err(err, errlen, "out of memory");
	if (store_query_rows(st, "SELECT id, host, kind, dry_run, requested_by, requested_at, finished_at, outcome, "
	    "before_sha256, after_sha256, cred_set FROM jobs ORDER BY id", NULL, 0, fix_cols, NCOLS(fix_cols), list,
	    "fixes report", err, errlen) == -1) {
		json_decref(list);
		return -1;
	}
	*out = list;
	return 0;
}

int
store_query_audit(struct store *st, long limit, long offset, json_t **out, char *err, size_t errlen)
{
	static const struct store_col audit_cols[] = {
		{ "id", STORE_COL_INT }, { "at", STORE_COL_TEXT }, { "who", STORE_COL_TEXT },
		{ "action", STORE_COL_TEXT }, { "target", STORE_COL_TEXT }, { "outcome", STORE_COL_TEXT },
		{ "detail", STORE_COL_JSON },
	};
	sqlite3_stmt *s = NULL;
	json_t *res = NULL, *list;
	int64_t page[2] = { limit, offset };
	int oom = 0, rc = -1;

	*out = NULL;
	if (store_page_new(limit, offset, "audit", &res, &list, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT count(*) FROM audit", err, errlen) == -1)
		goto done;
	if (sqlite3_step(s) != SQLITE_ROW) {
		step_err(st, "audit", err, errlen);
		goto done;
	}
	put(res, "total", col_int(s, 0), &oom);
	sqlite3_finalize(s);
	s = NULL;
	if (store_query_rows(st, "SELECT id, at, who, action, target, outcome, detail FROM audit "
	    "ORDER BY id DESC LIMIT ? OFFSET ?", page, 2, audit_cols, NCOLS(audit_cols), list, "audit", err,
	    errlen) == -1)
		goto done;
	rc = store_query_finish(res, oom, 0, "", out, err, errlen);
	res = NULL;
done:
	sqlite3_finalize(s);
	json_decref(res);
	return rc;
}

int
store_query_generation(struct store *st, int64_t *data_version, int64_t *own_changes, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (store_prepare(st, &s, "PRAGMA data_version", err, errlen) == -1)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW) {
		*data_version = sqlite3_column_int64(s, 0);
		*own_changes = sqlite3_total_changes64(store_db(st));
		rc = 0;
	} else
		step_err(st, "data_version", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

int
store_query_ping(struct store *st, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (store_prepare(st, &s, "SELECT count(*) FROM schema_migrations", err, errlen) == -1)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		rc = 0;
	else
		step_err(st, "ping", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

