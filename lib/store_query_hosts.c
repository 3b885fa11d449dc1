/*
 * store_query_hosts.c — the host-shaped reads of dpfleet-server: the host list (filters, sort, paging), one
 * host's page (history and evidence), and the affected/hosts reports (declared in store_query.h).
 *
 * Called by server/api_fleet.c on the calling thread's connection.  The only SQL assembled at run time is the
 * host list's WHERE/ORDER BY, built from constant fragments chosen by validated enums and whitelisted sort
 * keys, never from request text; every value is bound.  A host's current verdict is its hosts.last_obs_id
 * observation (kept by the scanner); a host without one has a null state.  Every host-shaped result reads
 * the columns of HOST_SELECT, and host_json()/report_row() give the shapes doc/dpfleet-server.8 (API)
 * documents.  Shares lib/store_query_int.h's helpers with lib/store_query.c.
 */
#include "store_query_int.h"
#include "reason.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The sort whitelist: API key -> SQL expression (NULLs last in both directions via the IS NULL key). */
static const struct {
	const char	*key;
	const char	*expr;
} sorts[] = {
	{ "fqdn",		"h.fqdn" },
	{ "site",		"h.site" },
	{ "state",		"o.state" },
	{ "last_scanned",	"o.at" },
	{ "pxe_cert_errors",	"o.pxe_cert_errors" },
};

static const char *
sort_expr(const char *key)
{
	size_t i;

	if (key == NULL)
		return sorts[0].expr;
	for (i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++)
		if (strcmp(sorts[i].key, key) == 0)
			return sorts[i].expr;
	return NULL;
}

int
store_host_sort_valid(const char *s)
{
	return s != NULL && sort_expr(s) != NULL;
}

/*
 * The host columns every host-shaped result reads, in this order (HOST_COLS indexes below).
 * last_fix is the host's newest job that changes something: a fix or a rollback, never a dry run (a dry run
 * only reads and compares, so it is no fix).
 */
#define HOST_SELECT \
	"SELECT h.fqdn, h.site, h.is_dp, h.is_mp, h.pxe, o.state, o.reason, o.value_sha256, " \
	"o.pxe_cert_errors, o.pxe_last_error, o.pxe_expired_cert, o.certmgr_denied, o.at, " \
	"j.id, j.kind, j.state, j.outcome, j.requested_at, j.finished_at, " \
	"o.expected_sha256, o.certmgr_denied_at, o.id, o.scan_ms, h.id, h.retired_at, " \
	"h.sccm_pxe, h.is_active, h.is_pull_dp, h.first_seen, h.last_seen, o.scan_id, o.attempts, o.note, " \
	"h.cloud, o.cred_set, j.cred_set " \
	"FROM hosts h LEFT JOIN observations o ON o.id = h.last_obs_id " \
	"LEFT JOIN jobs j ON j.id = (SELECT max(id) FROM jobs WHERE host = h.fqdn AND dry_run = 0) "

enum {
	C_FQDN, C_SITE, C_DP, C_MP, C_PXE, C_STATE, C_REASON, C_VALUE, C_PXEERR, C_PXELAST, C_PXEEXP,
	C_CMDENIED, C_AT, C_JID, C_JKIND, C_JSTATE, C_JOUTCOME, C_JREQ, C_JFIN, C_EXPECTED, C_CMDENIEDAT,
	C_OBSID, C_SCANMS, C_HID, C_RETIRED, C_SCCMPXE, C_ACTIVE, C_PULL, C_FIRST, C_LAST, C_SCANID, C_ATTEMPTS,
	C_NOTE, C_CLOUD, C_CREDSET, C_JCREDSET,
};

/*
 * Put "cloud" (the kind word, lib/words.h words_cloud) and "not_scanned" ("cloud — not scanned: <reason>") into
 * o for a cloud DP or CMG, which is never scanned nor fixed (doc/dpfleet-server.8); both null for any other host.
 */
static void
put_cloud(json_t *o, sqlite3_stmt *s, int *oom)
{
	const char *kind = (const char *)sqlite3_column_text(s, C_CLOUD);
	const char *why = words_cloud_reason(kind);
	char text[256];

	if (kind == NULL) {
		put(o, "cloud", json_null(), oom);
		put(o, "not_scanned", json_null(), oom);
		return;
	}
	snprintf(text, sizeof(text), "%s: %s", WORDS_CLOUD_SHOWN, why != NULL ? why : kind);
	put(o, "cloud", json_string(kind), oom);
	put(o, "not_scanned", json_string(text), oom);
}

static json_t *
roles_array(sqlite3_stmt *s, int *oom)
{
	json_t *a = json_array();

	if (a == NULL) {
		*oom = 1;
		return NULL;
	}
	if (sqlite3_column_int(s, C_DP) && json_array_append_new(a, json_string("dp")) == -1)
		*oom = 1;
	if (sqlite3_column_int(s, C_MP) && json_array_append_new(a, json_string("mp")) == -1)
		*oom = 1;
	return a;
}

static int
row_affected(sqlite3_stmt *s)
{
	int k = store_query_index(store_state_name, (const char *)sqlite3_column_text(s, C_STATE));

	return k >= 1 && k <= 3;
}

/*
 * 1 when the row's newest observation read the host's value or found it absent: every state but
 * unreachable, denied and no_key, which leave nothing on the host's side to compare with the site DB's
 * value (doc/dpfleet-server.8, value_read).  0 for those three and for a host never scanned.
 */
static int
row_value_read(sqlite3_stmt *s)
{
	const char *st = (const char *)sqlite3_column_text(s, C_STATE);

	return st != NULL && strcmp(st, "unreachable") != 0 && strcmp(st, "denied") != 0 &&
	    strcmp(st, "no_key") != 0;
}

/* A hash column of the row, or json null when the row's value was not read (row_value_read). */
static json_t *
col_hash(sqlite3_stmt *s, int i)
{
	return row_value_read(s) ? col_str(s, i) : json_null();
}

/*
 * Put "reason_meaning" and "reason_next_step" into o: the texts lib/reason.h holds for the row's reason
 * word when the row is unreachable, else null (another state, no word, or a word not in the table, which
 * clients then show alone).  The texts are copies; o owns them.
 */
static void
put_reason(json_t *o, sqlite3_stmt *s, int *oom)
{
	const char *st = (const char *)sqlite3_column_text(s, C_STATE);
	const struct reason *r = NULL;

	if (st != NULL && strcmp(st, "unreachable") == 0)
		r = reason_lookup((const char *)sqlite3_column_text(s, C_REASON));
	put(o, "reason_meaning", r != NULL ? json_string(r->meaning) : json_null(), oom);
	put(o, "reason_next_step", r != NULL ? json_string(r->next_step) : json_null(), oom);
}

/* One host object in the list shape of doc/dpfleet-server.8 (GET /api/v1/hosts). */
static json_t *
host_json(sqlite3_stmt *s, int *oom)
{
	json_t *h, *fix;
	int scanned = sqlite3_column_type(s, C_OBSID) != SQLITE_NULL;

	if ((h = json_object()) == NULL) {
		*oom = 1;
		return NULL;
	}
	put(h, "fqdn", col_str(s, C_FQDN), oom);
	put(h, "site", col_str(s, C_SITE), oom);
	put(h, "roles", roles_array(s, oom), oom);
	put(h, "pxe", json_boolean(sqlite3_column_int(s, C_PXE)), oom);
	put(h, "state", col_str(s, C_STATE), oom);
	put(h, "reason", col_str(s, C_REASON), oom);
	put_reason(h, s, oom);
	put(h, "attempts", col_int(s, C_ATTEMPTS), oom);
	put(h, "note", col_str(s, C_NOTE), oom);
	put(h, "cred_set", col_str(s, C_CREDSET), oom);	/* the credential set of the last read (migration 0007) */
	put_cloud(h, s, oom);
	put(h, "affected", json_boolean(row_affected(s)), oom);
	put(h, "value_read", scanned ? json_boolean(row_value_read(s)) : json_null(), oom);
	put(h, "value_sha256", col_hash(s, C_VALUE), oom);
	put(h, "pxe_cert_errors", scanned ? col_int(s, C_PXEERR) : json_null(), oom);
	put(h, "pxe_last_error", col_str(s, C_PXELAST), oom);
	put(h, "pxe_expired_cert", scanned ? col_bool(s, C_PXEEXP) : json_null(), oom);
	put(h, "certmgr_denied", scanned ? col_bool(s, C_CMDENIED) : json_null(), oom);
	put(h, "last_scanned", col_str(s, C_AT), oom);
	if (sqlite3_column_type(s, C_JID) == SQLITE_NULL)
		put(h, "last_fix", json_null(), oom);
	else if ((fix = json_object()) == NULL)
		*oom = 1;
	else {
		put(fix, "id", col_int(s, C_JID), oom);
		put(fix, "kind", col_str(s, C_JKIND), oom);
		put(fix, "state", col_str(s, C_JSTATE), oom);
		put(fix, "outcome", col_str(s, C_JOUTCOME), oom);
		put(fix, "requested_at", col_str(s, C_JREQ), oom);
		put(fix, "finished_at", col_str(s, C_JFIN), oom);
		put(fix, "cred_set", col_str(s, C_JCREDSET), oom);
		put(h, "last_fix", fix, oom);
	}
	return h;
}

/* Escape LIKE wildcards with '\' and wrap in %...%.  Returns malloc'd text or NULL. */
static char *
like_pattern(const char *q)
{
	size_t n = strlen(q), i, j = 0;
	char *p;

	if (n > 1024 || (p = malloc(2 * n + 3)) == NULL)
		return NULL;
	p[j++] = '%';
	for (i = 0; i < n; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			p[j++] = '\\';
		p[j++] = q[i];
	}
	p[j++] = '%';
	p[j] = '\0';
	return p;
}

/* Append a constant SQL fragment to a fixed buffer; -1 if it would not fit. */
static int
cat(char *buf, size_t size, const char *frag)
{
	size_t n = strlen(buf), m = strlen(frag);

	if (m >= size - n)
		return -1;
	memcpy(buf + n, frag, m + 1);
	return 0;
}

/* The host list's WHERE clause for f into where (size bytes), like the LIKE pattern or NULL.  0, or -1. */
static int
hosts_where(const struct store_host_filter *f, const char *like, char *where, size_t size)
{
	util_strlcpy(where, "WHERE h.retired_at IS NULL", size);
	if ((f->state != NULL && cat(where, size, " AND o.state = :state") == -1) ||
	    (f->site != NULL && cat(where, size, " AND h.site = :site") == -1) ||
	    (f->role == STORE_ROLE_DP && cat(where, size, " AND h.is_dp = 1") == -1) ||
	    (f->role == STORE_ROLE_MP && cat(where, size, " AND h.is_mp = 1") == -1) ||
	    (f->pxe == 1 && cat(where, size, " AND h.pxe != 0") == -1) ||
	    (f->pxe == 0 && cat(where, size, " AND h.pxe = 0") == -1) ||
	    (f->affected == 1 && cat(where, size, " AND o.state IN " AFFECTED_SQL) == -1) ||
	    (f->affected == 0 && cat(where, size,
	    " AND (o.state IS NULL OR o.state NOT IN " AFFECTED_SQL ")") == -1) ||
	    (like != NULL && cat(where, size, " AND h.fqdn LIKE :q ESCAPE '\\'") == -1))
		return -1;
	return 0;
}

/* Bind the named parameters of the host list's SQL that s holds; f and like must outlive s. */
static void
hosts_bind(sqlite3_stmt *s, const struct store_host_filter *f, const char *like)
{
	int i;

	if ((i = sqlite3_bind_parameter_index(s, ":state")) > 0)
		sqlite3_bind_text(s, i, f->state, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(s, ":site")) > 0)
		sqlite3_bind_text(s, i, f->site, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(s, ":q")) > 0)
		sqlite3_bind_text(s, i, like, -1, SQLITE_STATIC);
	if ((i = sqlite3_bind_parameter_index(s, ":limit")) > 0)
		sqlite3_bind_int64(s, i, f->limit);
	if ((i = sqlite3_bind_parameter_index(s, ":offset")) > 0)
		sqlite3_bind_int64(s, i, f->offset);
}

/*
 * Run one pass of the host list: pass 0 counts the matching hosts into res's "total", pass 1 appends the
 * page's host objects to list.  0, or -1 with err; out of memory only sets *oom.
 */
static int
hosts_pass(struct store *st, int pass, const char *where, const char *order, const struct store_host_filter *f,
    const char *like, json_t *res, json_t *list, int *oom, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *h;
	char sql[4096];
	int r, rc = 0;

	if (pass == 0)
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM hosts h "
		    "LEFT JOIN observations o ON o.id = h.last_obs_id %s", where);
	else
		/* Page the ids first so the per-row job lookup runs only for the page. */
		snprintf(sql, sizeof(sql), HOST_SELECT "WHERE h.id IN (SELECT h.id FROM hosts h "
		    "LEFT JOIN observations o ON o.id = h.last_obs_id %s %s LIMIT :limit OFFSET :offset) %s",
		    where, order, order);
	if (store_prepare(st, &s, sql, err, errlen) == -1)
		return -1;
	hosts_bind(s, f, like);
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (pass == 0) {
			put(res, "total", json_integer(sqlite3_column_int64(s, 0)), oom);
			continue;
		}
		if ((h = host_json(s, oom)) == NULL || json_array_append_new(list, h) == -1)
			*oom = 1;
	}
	if (r != SQLITE_DONE)
		rc = step_err(st, "hosts", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

int
store_query_hosts(struct store *st, const struct store_host_filter *f, json_t **out, char *err,
    size_t errlen)
{
	json_t *res = NULL, *list;
	char where[1024], order[256], *like = NULL;
	const char *expr, *dir = f->desc ? "DESC" : "ASC";
	int pass, oom = 0, rc = -1;

	*out = NULL;
	if ((expr = sort_expr(f->sort)) == NULL)
		return util_err(err, errlen, "unknown sort key");
	if (f->limit < 1 || f->limit > STORE_HOSTS_MAX_LIMIT || f->offset < 0)
		return util_err(err, errlen, "limit must be 1..%d and offset >= 0", STORE_HOSTS_MAX_LIMIT);
	if (f->state != NULL && !store_state_valid(f->state))
		return util_err(err, errlen, "unknown state");
	if (f->q != NULL && (like = like_pattern(f->q)) == NULL)
		return util_err(err, errlen, "search text too long");
	if (hosts_where(f, like, where, sizeof(where)) == -1) {
		util_err(err, errlen, "host filter too long");
		goto done;
	}
	/* NULLs (unscanned hosts) sort last either way; fqdn breaks ties. */
	snprintf(order, sizeof(order), "ORDER BY (%s IS NULL), %s %s, h.fqdn %s", expr, expr, dir, dir);
	if ((res = json_object()) == NULL || (list = json_array()) == NULL) {
		util_err(err, errlen, "hosts: out of memory");
		goto done;
	}
	put(res, "hosts", list, &oom);
	for (pass = 0; pass < 2; pass++)
		if (hosts_pass(st, pass, where, order, f, like, res, list, &oom, err, errlen) == -1)
			goto done;
	rc = store_query_finish(res, oom, 0, "hosts: ", out, err, errlen);
	res = NULL;
done:
	json_decref(res);
	free(like);
	return rc;
}

/* The host page's members beyond the list shape (doc/dpfleet-server.8, GET /api/v1/hosts/{fqdn}). */
static void
put_host_detail(json_t *h, sqlite3_stmt *s, int *oom)
{
	put(h, "expected_sha256", col_hash(s, C_EXPECTED), oom);
	put(h, "certmgr_denied_at", col_str(s, C_CMDENIEDAT), oom);
	put(h, "scan_ms", col_int(s, C_SCANMS), oom);
	put(h, "scan_id", col_int(s, C_SCANID), oom);
	put(h, "retired_at", col_str(s, C_RETIRED), oom);
	put(h, "sccm_pxe", col_bool(s, C_SCCMPXE), oom);
	put(h, "is_active", col_bool(s, C_ACTIVE), oom);
	put(h, "is_pull_dp", col_bool(s, C_PULL), oom);
	put(h, "first_seen", col_str(s, C_FIRST), oom);
	put(h, "last_seen", col_str(s, C_LAST), oom);
}

/*
 * Put the expected value state of host hid's site into h ("site_expected", "site_expected_sha256"; null
 * without a site row), so the page can say "nothing to compare against".  0, or -1 with err.
 */
static int
put_site_expected(struct store *st, json_t *h, int64_t hid, int *oom, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int r, rc = 0;

	if (store_prepare(st, &s, "SELECT t.expected_state, t.expected_sha256 FROM sites t JOIN hosts h "
	    "ON h.site = t.code WHERE h.id = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_int64(s, 1, hid);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		put(h, "site_expected", col_str(s, 0), oom);
		put(h, "site_expected_sha256", col_str(s, 1), oom);
	} else if (r == SQLITE_DONE) {
		put(h, "site_expected", json_null(), oom);
		put(h, "site_expected_sha256", json_null(), oom);
	} else
		rc = step_err(st, "host", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

/* Put key: [rows of sql with ?1 = id, shaped by cols] into h.  0, or -1 with err. */
static int
put_rows(struct store *st, json_t *h, const char *key, const char *sql, int64_t id,
    const struct store_col *cols, size_t ncols, int *oom, char *err, size_t errlen)
{
	json_t *a;

	if ((a = json_array()) == NULL)
		return util_err(err, errlen, "out of memory");
	put(h, key, a, oom);
	return store_query_rows(st, sql, &id, 1, cols, ncols, a, key, err, errlen);
}

int
store_query_host(struct store *st, const char *fqdn, json_t **out, char *err, size_t errlen)
{
	static const struct store_col hist_cols[] = {
		{ "scan_id", STORE_COL_INT }, { "at", STORE_COL_TEXT }, { "state", STORE_COL_TEXT },
		{ "reason", STORE_COL_TEXT }, { "attempts", STORE_COL_INT }, { "note", STORE_COL_TEXT },
		{ "cred_set", STORE_COL_TEXT },
	};
	static const struct store_col ev_cols[] = {
		{ "source", STORE_COL_TEXT }, { "file", STORE_COL_TEXT }, { "at", STORE_COL_TEXT },
		{ "component", STORE_COL_TEXT }, { "type", STORE_COL_INT }, { "line", STORE_COL_TEXT },
	};
	sqlite3_stmt *s = NULL;
	json_t *h = NULL;
	int64_t hid, obs;
	int r, oom = 0, rc = -1;

	*out = NULL;
	if (store_prepare(st, &s, HOST_SELECT "WHERE h.fqdn = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, fqdn, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) == SQLITE_DONE) {
		rc = 0;
		goto done;
	}
	if (r != SQLITE_ROW) {
		step_err(st, "host", err, errlen);
		goto done;
	}
	if ((h = host_json(s, &oom)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put_host_detail(h, s, &oom);
	hid = sqlite3_column_int64(s, C_HID);
	obs = sqlite3_column_int64(s, C_OBSID);
	sqlite3_finalize(s);
	s = NULL;
	if (put_site_expected(st, h, hid, &oom, err, errlen) == -1 ||
	    put_rows(st, h, "history", "SELECT scan_id, at, state, reason, attempts, note, cred_set FROM observations "
	    "WHERE host_id = ? ORDER BY id DESC LIMIT 100", hid, hist_cols, NCOLS(hist_cols), &oom, err,
	    errlen) == -1 ||
	    put_rows(st, h, "evidence", "SELECT source, file, at, component, type, line FROM evidence "
	    "WHERE observation_id = ? ORDER BY id LIMIT 200", obs, ev_cols, NCOLS(ev_cols), &oom, err,
	    errlen) == -1)
		goto done;
	rc = store_query_finish(h, oom, 1, "", out, err, errlen);
	h = NULL;
done:
	sqlite3_finalize(s);
	json_decref(h);
	return rc;
}

/* One row of the host reports (affected.csv, hosts.csv and their JSON twins); NULL only when out of memory. */
static json_t *
report_row(sqlite3_stmt *s)
{
	json_t *e;
	int oom = 0;

	if ((e = json_object()) == NULL)
		return NULL;
	put(e, "fqdn", col_str(s, C_FQDN), &oom);
	put(e, "site", col_str(s, C_SITE), &oom);
	put(e, "roles", roles_array(s, &oom), &oom);
	put(e, "pxe", json_boolean(sqlite3_column_int(s, C_PXE)), &oom);
	put(e, "state", col_str(s, C_STATE), &oom);
	put(e, "reason", col_str(s, C_REASON), &oom);
	put(e, "value_sha256", col_hash(s, C_VALUE), &oom);
	put(e, "expected_sha256", col_hash(s, C_EXPECTED), &oom);
	put(e, "pxe_cert_errors", col_int(s, C_PXEERR), &oom);
	put(e, "pxe_last_error", col_str(s, C_PXELAST), &oom);
	put(e, "certmgr_denied", col_bool(s, C_CMDENIED), &oom);
	put(e, "last_scanned", col_str(s, C_AT), &oom);
	put(e, "last_fix_outcome", col_str(s, C_JOUTCOME), &oom);
	put(e, "last_fix_at", col_str(s, sqlite3_column_type(s, C_JFIN) != SQLITE_NULL ? C_JFIN : C_JREQ), &oom);
	put(e, "attempts", col_int(s, C_ATTEMPTS), &oom);
	put_reason(e, s, &oom);
	put_cloud(e, s, &oom);
	put(e, "cred_set", col_str(s, C_CREDSET), &oom);
	put(e, "note", col_str(s, C_NOTE), &oom);	/* last: the CSV's last column (server/api_fleet.c) */
	if (oom) {
		json_decref(e);
		return NULL;
	}
	return e;
}

/* The live hosts that match the constant SQL condition cond, by site and fqdn, as report_row() objects. */
static int
host_report(struct store *st, const char *cond, const char *what, json_t **out, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *list = NULL, *e;
	char sql[4096];
	int r, rc = -1;

	*out = NULL;
	if ((size_t)snprintf(sql, sizeof(sql), HOST_SELECT "WHERE h.retired_at IS NULL%s ORDER BY h.site, h.fqdn",
	    cond) >= sizeof(sql))
		return util_err(err, errlen, "%s: query too long", what);
	if ((list = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	if (store_prepare(st, &s, sql, err, errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW)
		if ((e = report_row(s)) == NULL || json_array_append_new(list, e) == -1) {
			util_err(err, errlen, "out of memory");
			goto done;
		}
	if (r != SQLITE_DONE) {
		step_err(st, what, err, errlen);
		goto done;
	}
	*out = list;
	list = NULL;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(list);
	return rc;
}

int
store_query_affected_report(struct store *st, json_t **out, char *err, size_t errlen)
{
	return host_report(st, " AND o.state IN " AFFECTED_SQL, "affected report", out, err, errlen);
}

int
store_query_hosts_report(struct store *st, json_t **out, char *err, size_t errlen)
{
	return host_report(st, "", "hosts report", out, err, errlen);
}
