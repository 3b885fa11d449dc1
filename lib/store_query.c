/*
 * store_query.c — read-only SQL for dpfleet-server's JSON API, metrics and reports.
 *
 * Called by server/api_*.c and server/metrics.c on the calling thread's own connection.  Every query binds
 * its parameters; the only SQL assembled at run time is the host list's WHERE/ORDER BY, and it is built
 * from constant fragments chosen by validated enums and whitelisted sort keys, never from request text.
 * A host's current verdict is its hosts.last_obs_id observation (kept by the scanner); a host without one
 * has a null state.  "affected" is state IN (missing, empty, mismatch), as doc/dpfleet-scanner.8 ("Verdicts")
 * defines it.  Results are Jansson values so the server serialises them as they are.
 */
#include "store_query.h"
#include "reason.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const states[STORE_NSTATES] = {
	"healthy", "missing", "empty", "mismatch", "no_key", "denied", "unreachable", "unknown",
};
static const char *const outcomes[STORE_NOUTCOMES] = {
	"written", "already_correct", "would_write", "refused", "access_denied", "unreachable",
	"verify_failed", "restored",
};
static const char *const jobstates[STORE_NJOBSTATES] = {
	"queued", "running", "done", "failed", "cancelled",
};

#define AFFECTED_SQL	"('missing', 'empty', 'mismatch')"

/*
 * "The last scan" of the summary and the metrics: the newest scan that finished (state done, so neither a
 * running nor a failed one) over the whole fleet, i.e. not the rescan of the few hosts a fix job wrote
 * (trigger 'fix'; the others are schedule, request and cli).
 */
#define LAST_SCAN_WHERE	"WHERE state = 'done' AND trigger != 'fix' AND finished_at IS NOT NULL "

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

static int
index_of(const char *const *v, int n, const char *s)
{
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return i;
	return -1;
}

int
store_state_valid(const char *s)
{
	return index_of(states, STORE_NSTATES, s) >= 0;
}

int
store_jobstate_valid(const char *s)
{
	return index_of(jobstates, STORE_NJOBSTATES, s) >= 0;
}

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

static json_t *
col_str(sqlite3_stmt *s, int i)
{
	return store_json_text((const char *)sqlite3_column_text(s, i));
}

static json_t *
col_int(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(s, i));
}

static json_t *
col_bool(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_boolean(sqlite3_column_int(s, i) != 0);
}

/* json_object_set_new that reports allocation failure through a sticky flag. */
static void
put(json_t *o, const char *k, json_t *v, int *oom)
{
	if (v == NULL || json_object_set_new(o, k, v) == -1)
		*oom = 1;
}

static int
step_err(struct store *st, const char *what, char *err, size_t errlen)
{
	return util_err(err, errlen, "%s: %s", what, sqlite3_errmsg(store_db(st)));
}

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

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

/*
 * Run sql with its integer parameters (bound to ?1..?nparams) and append one object per row, shaped by cols,
 * to arr.  0, or -1 with "out of memory" or "<what>: <SQLite error>" in err.
 */
static int
query_rows(struct store *st, const char *sql, const int64_t *params, int nparams, const struct store_col *cols,
    size_t ncols, json_t *arr, const char *what, char *err, size_t errlen)
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

static json_t *
counts_object(const long *c, int *oom)
{
	json_t *o = json_object();
	int i;

	if (o == NULL) {
		*oom = 1;
		return NULL;
	}
	for (i = 0; i < STORE_NSTATES; i++)
		put(o, states[i], json_integer(c[i]), oom);
	return o;
}

static long
affected_of(const long *c)
{
	return c[1] + c[2] + c[3];	/* missing + empty + mismatch */
}

int
store_query_summary(struct store *st, json_t **out, char *err, size_t errlen)
{
	static const struct store_col last_scan_cols[] = {
		{ "id", STORE_COL_INT }, { "started_at", STORE_COL_TEXT }, { "finished_at", STORE_COL_TEXT },
		{ "hosts", STORE_COL_INT }, { "state", STORE_COL_TEXT },
	};
	sqlite3_stmt *s = NULL;
	json_t *res = NULL, *sites, *site;
	long total[STORE_NSTATES] = { 0 }, (*per)[STORE_NSTATES] = NULL;
	char (*codes)[DPF_SITE_CODE_MAX] = NULL;
	size_t nsites = 0, i;
	long hosts = 0, unscanned = 0;
	int r, k, oom = 0, rc = -1;

	*out = NULL;
	if ((res = json_object()) == NULL || (sites = json_array()) == NULL) {
		util_err(err, errlen, "summary: out of memory");
		goto done;
	}
	put(res, "sites", sites, &oom);

	/* Newest finished full scan. */
	if (store_prepare(st, &s, "SELECT id, started_at, finished_at, hosts, state FROM scans "
	    LAST_SCAN_WHERE "ORDER BY id DESC LIMIT 1", err, errlen) == -1)
		goto done;
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		put(res, "last_scan", store_row_json(s, last_scan_cols, NCOLS(last_scan_cols)), &oom);
	else if (r == SQLITE_DONE)
		put(res, "last_scan", json_null(), &oom);
	else {
		step_err(st, "summary", err, errlen);
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;

	/* Live sites, in code order. */
	if (store_prepare(st, &s, "SELECT code, name, type, expected_state FROM sites WHERE retired_at IS NULL "
	    "ORDER BY code", err, errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		void *np;

		if (nsites >= 100000) {
			util_err(err, errlen, "summary: too many sites");
			goto done;
		}
		if ((np = realloc(per, (nsites + 1) * sizeof(*per))) == NULL) {
			oom = 1;
			break;
		}
		per = np;
		if ((np = realloc(codes, (nsites + 1) * sizeof(*codes))) == NULL) {
			oom = 1;
			break;
		}
		codes = np;
		memset(per[nsites], 0, sizeof(per[nsites]));
		util_strlcpy(codes[nsites], (const char *)sqlite3_column_text(s, 0), sizeof(codes[nsites]));
		if ((site = json_object()) == NULL) {
			oom = 1;
			break;
		}
		put(site, "code", col_str(s, 0), &oom);
		put(site, "name", col_str(s, 1), &oom);
		put(site, "type", col_str(s, 2), &oom);
		put(site, "expected_value", col_str(s, 3), &oom);
		if (json_array_append_new(sites, site) == -1)
			oom = 1;
		nsites++;
	}
	if (!oom && r != SQLITE_DONE) {
		step_err(st, "summary", err, errlen);
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;

	/* Counts per site and state from each live host's newest observation. */
	if (store_prepare(st, &s, "SELECT h.site, o.state, count(*) FROM hosts h "
	    "LEFT JOIN observations o ON o.id = h.last_obs_id "
	    "WHERE h.retired_at IS NULL GROUP BY h.site, o.state", err, errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		const char *code = (const char *)sqlite3_column_text(s, 0);
		long n = sqlite3_column_int64(s, 2);

		hosts += n;
		k = index_of(states, STORE_NSTATES, (const char *)sqlite3_column_text(s, 1));
		if (k < 0) {
			unscanned += n;
			continue;
		}
		total[k] += n;
		for (i = 0; i < nsites; i++)
			if (code != NULL && strcmp(codes[i], code) == 0)
				per[i][k] += n;
	}
	if (r != SQLITE_DONE) {
		step_err(st, "summary", err, errlen);
		goto done;
	}
	put(res, "counts", counts_object(total, &oom), &oom);
	put(res, "affected", json_integer(affected_of(total)), &oom);
	put(res, "hosts", json_integer(hosts), &oom);
	put(res, "unscanned", json_integer(unscanned), &oom);
	for (i = 0; i < nsites && !oom; i++) {
		site = json_array_get(sites, i);
		put(site, "counts", counts_object(per[i], &oom), &oom);
		put(site, "affected", json_integer(affected_of(per[i])), &oom);
	}
	if (oom) {
		util_err(err, errlen, "summary: out of memory");
		goto done;
	}
	*out = res;
	res = NULL;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(res);
	free(per);
	free(codes);
	return rc;
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
	"h.sccm_pxe, h.is_active, h.is_pull_dp, h.first_seen, h.last_seen, o.scan_id, o.attempts " \
	"FROM hosts h LEFT JOIN observations o ON o.id = h.last_obs_id " \
	"LEFT JOIN jobs j ON j.id = (SELECT max(id) FROM jobs WHERE host = h.fqdn AND dry_run = 0) "

enum {
	C_FQDN, C_SITE, C_DP, C_MP, C_PXE, C_STATE, C_REASON, C_VALUE, C_PXEERR, C_PXELAST, C_PXEEXP,
	C_CMDENIED, C_AT, C_JID, C_JKIND, C_JSTATE, C_JOUTCOME, C_JREQ, C_JFIN, C_EXPECTED, C_CMDENIEDAT,
	C_OBSID, C_SCANMS, C_HID, C_RETIRED, C_SCCMPXE, C_ACTIVE, C_PULL, C_FIRST, C_LAST, C_SCANID, C_ATTEMPTS,
};

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
	int k = index_of(states, STORE_NSTATES, (const char *)sqlite3_column_text(s, C_STATE));

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

int
store_query_hosts(struct store *st, const struct store_host_filter *f, json_t **out, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *res = NULL, *list, *h;
	char where[1024] = "WHERE h.retired_at IS NULL", order[256], sql[4096], *like = NULL;
	const char *expr, *dir = f->desc ? "DESC" : "ASC";
	int pass, r, i, oom = 0, rc = -1;

	*out = NULL;
	if ((expr = sort_expr(f->sort)) == NULL)
		return util_err(err, errlen, "unknown sort key");
	if (f->limit < 1 || f->limit > STORE_HOSTS_MAX_LIMIT || f->offset < 0)
		return util_err(err, errlen, "limit must be 1..%d and offset >= 0", STORE_HOSTS_MAX_LIMIT);
	if (f->state != NULL && !store_state_valid(f->state))
		return util_err(err, errlen, "unknown state");
	if (f->q != NULL && (like = like_pattern(f->q)) == NULL)
		return util_err(err, errlen, "search text too long");

	if ((f->state != NULL && cat(where, sizeof(where), " AND o.state = :state") == -1) ||
	    (f->site != NULL && cat(where, sizeof(where), " AND h.site = :site") == -1) ||
	    (f->role == STORE_ROLE_DP && cat(where, sizeof(where), " AND h.is_dp = 1") == -1) ||
	    (f->role == STORE_ROLE_MP && cat(where, sizeof(where), " AND h.is_mp = 1") == -1) ||
	    (f->pxe == 1 && cat(where, sizeof(where), " AND h.pxe != 0") == -1) ||
	    (f->pxe == 0 && cat(where, sizeof(where), " AND h.pxe = 0") == -1) ||
	    (f->affected == 1 && cat(where, sizeof(where), " AND o.state IN " AFFECTED_SQL) == -1) ||
	    (f->affected == 0 && cat(where, sizeof(where),
	    " AND (o.state IS NULL OR o.state NOT IN " AFFECTED_SQL ")") == -1) ||
	    (like != NULL && cat(where, sizeof(where), " AND h.fqdn LIKE :q ESCAPE '\\'") == -1)) {
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
	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM hosts h "
			    "LEFT JOIN observations o ON o.id = h.last_obs_id %s", where);
		else
			/* Page the ids first so the per-row job lookup runs only for the page. */
			snprintf(sql, sizeof(sql), HOST_SELECT "WHERE h.id IN (SELECT h.id FROM hosts h "
			    "LEFT JOIN observations o ON o.id = h.last_obs_id %s %s LIMIT :limit OFFSET :offset) %s",
			    where, order, order);
		if (store_prepare(st, &s, sql, err, errlen) == -1)
			goto done;
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
		while ((r = sqlite3_step(s)) == SQLITE_ROW) {
			if (pass == 0) {
				put(res, "total", json_integer(sqlite3_column_int64(s, 0)), &oom);
				continue;
			}
			if ((h = host_json(s, &oom)) == NULL || json_array_append_new(list, h) == -1)
				oom = 1;
		}
		if (r != SQLITE_DONE) {
			step_err(st, "hosts", err, errlen);
			goto done;
		}
		sqlite3_finalize(s);
		s = NULL;
	}
	if (oom) {
		util_err(err, errlen, "hosts: out of memory");
		goto done;
	}
	*out = res;
	res = NULL;
	rc = 0;
done:
	sqlite3_finalize(s);
	json_decref(res);
	free(like);
	return rc;
}

int
store_query_host(struct store *st, const char *fqdn, json_t **out, char *err, size_t errlen)
{
	static const struct store_col hist_cols[] = {
		{ "scan_id", STORE_COL_INT }, { "at", STORE_COL_TEXT }, { "state", STORE_COL_TEXT },
		{ "reason", STORE_COL_TEXT }, { "attempts", STORE_COL_INT },
	};
	static const struct store_col ev_cols[] = {
		{ "source", STORE_COL_TEXT }, { "file", STORE_COL_TEXT }, { "at", STORE_COL_TEXT },
		{ "component", STORE_COL_TEXT }, { "type", STORE_COL_INT }, { "line", STORE_COL_TEXT },
	};
	sqlite3_stmt *s = NULL;
	json_t *h = NULL, *hist, *ev;
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
	put(h, "expected_sha256", col_hash(s, C_EXPECTED), &oom);
	put(h, "certmgr_denied_at", col_str(s, C_CMDENIEDAT), &oom);
	put(h, "scan_ms", col_int(s, C_SCANMS), &oom);
	put(h, "scan_id", col_int(s, C_SCANID), &oom);
	put(h, "retired_at", col_str(s, C_RETIRED), &oom);
	put(h, "sccm_pxe", col_bool(s, C_SCCMPXE), &oom);
	put(h, "is_active", col_bool(s, C_ACTIVE), &oom);
	put(h, "is_pull_dp", col_bool(s, C_PULL), &oom);
	put(h, "first_seen", col_str(s, C_FIRST), &oom);
	put(h, "last_seen", col_str(s, C_LAST), &oom);
	hid = sqlite3_column_int64(s, C_HID);
	obs = sqlite3_column_int64(s, C_OBSID);
	sqlite3_finalize(s);
	s = NULL;

	/* The site's expected value state, so the page can say "nothing to compare against". */
	if (store_prepare(st, &s, "SELECT t.expected_state, t.expected_sha256 FROM sites t JOIN hosts h "
	    "ON h.site = t.code WHERE h.id = ?", err, errlen) == -1)
		goto done;
	sqlite3_bind_int64(s, 1, hid);
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		put(h, "site_expected", col_str(s, 0), &oom);
		put(h, "site_expected_sha256", col_str(s, 1), &oom);
	} else if (r == SQLITE_DONE) {
		put(h, "site_expected", json_null(), &oom);
		put(h, "site_expected_sha256", json_null(), &oom);
	} else {
		step_err(st, "host", err, errlen);
		goto done;
	}
	sqlite3_finalize(s);
	s = NULL;

	if ((hist = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(h, "history", hist, &oom);
	if (query_rows(st, "SELECT scan_id, at, state, reason, attempts FROM observations WHERE host_id = ? "
	    "ORDER BY id DESC LIMIT 100", &hid, 1, hist_cols, NCOLS(hist_cols), hist, "history", err,
	    errlen) == -1)
		goto done;

	if ((ev = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(h, "evidence", ev, &oom);
	if (query_rows(st, "SELECT source, file, at, component, type, line FROM evidence "
	    "WHERE observation_id = ? ORDER BY id LIMIT 200", &obs, 1, ev_cols, NCOLS(ev_cols), ev, "evidence",
	    err, errlen) == -1)
		goto done;
	if (oom) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	*out = h;
	h = NULL;
	rc = 1;
done:
	sqlite3_finalize(s);
	json_decref(h);
	return rc;
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
	if (limit < 1 || limit > 1000 || offset < 0)
		return util_err(err, errlen, "limit must be 1..1000 and offset >= 0");
	if ((res = json_object()) == NULL || (list = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(res, "scans", list, &oom);
	if (query_rows(st, "SELECT id, trigger, started_at, finished_at, state, hosts, affected, unreachable, "
	    "duration_ms, error FROM scans ORDER BY id DESC LIMIT ? OFFSET ?", page, 2, scan_cols,
	    NCOLS(scan_cols), list, "scans", err, errlen) == -1)
		goto done;
	if ((pend = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(res, "pending_requests", pend, &oom);
	if (query_rows(st, "SELECT id, requested_by, requested_at, state FROM scan_requests "
	    "WHERE state IN ('queued', 'running') ORDER BY id LIMIT 100", NULL, 0, request_cols,
	    NCOLS(request_cols), pend, "scan requests", err, errlen) == -1)
		goto done;
	if (oom) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	*out = res;
	res = NULL;
	rc = 0;
done:
	json_decref(res);
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

int
store_query_fixes_report(struct store *st, json_t **out, char *err, size_t errlen)
{
	static const struct store_col fix_cols[] = {
		{ "id", STORE_COL_INT }, { "host", STORE_COL_TEXT }, { "kind", STORE_COL_TEXT },
		{ "dry_run", STORE_COL_BOOL }, { "requested_by", STORE_COL_TEXT }, { "requested_at", STORE_COL_TEXT },
		{ "finished_at", STORE_COL_TEXT }, { "outcome", STORE_COL_TEXT }, { "before_sha256", STORE_COL_TEXT },
		{ "after_sha256", STORE_COL_TEXT },
	};
	json_t *list;

	*out = NULL;
	if ((list = json_array()) == NULL)
		return util_err(err, errlen, "out of memory");
	if (query_rows(st, "SELECT id, host, kind, dry_run, requested_by, requested_at, finished_at, outcome, "
	    "before_sha256, after_sha256 FROM jobs ORDER BY id", NULL, 0, fix_cols, NCOLS(fix_cols), list,
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
	if (limit < 1 || limit > 1000 || offset < 0)
		return util_err(err, errlen, "limit must be 1..1000 and offset >= 0");
	if ((res = json_object()) == NULL || (list = json_array()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	put(res, "audit", list, &oom);
	if (store_prepare(st, &s, "SELECT count(*) FROM audit", err, errlen) == -1)
		goto done;
	if (sqlite3_step(s) != SQLITE_ROW) {
		step_err(st, "audit", err, errlen);
		goto done;
	}
	put(res, "total", col_int(s, 0), &oom);
	sqlite3_finalize(s);
	s = NULL;
	if (query_rows(st, "SELECT id, at, who, action, target, outcome, detail FROM audit "
	    "ORDER BY id DESC LIMIT ? OFFSET ?", page, 2, audit_cols, NCOLS(audit_cols), list, "audit", err,
	    errlen) == -1)
		goto done;
	if (oom) {
		util_err(err, errlen, "out of memory");
		goto done;
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

int
store_query_metrics(struct store *st, struct store_metrics *m, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int r, k, rc = -1;

	memset(m, 0, sizeof(*m));
	if (store_prepare(st, &s, "SELECT o.state, count(*) FROM hosts h LEFT JOIN observations o "
	    "ON o.id = h.last_obs_id WHERE h.retired_at IS NULL GROUP BY o.state", err, errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		k = index_of(states, STORE_NSTATES, (const char *)sqlite3_column_text(s, 0));
		if (k < 0)
			m->unscanned += sqlite3_column_int64(s, 1);
		else
			m->hosts[k] += sqlite3_column_int64(s, 1);
	}
	if (r != SQLITE_DONE)
		goto fail;
	m->affected = affected_of(m->hosts);
	sqlite3_finalize(s);
	s = NULL;

	if (store_prepare(st, &s, "SELECT finished_at, duration_ms FROM scans " LAST_SCAN_WHERE
	    "ORDER BY id DESC LIMIT 1", err, errlen) == -1)
		goto done;
	if ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (util_iso_parse((const char *)sqlite3_column_text(s, 0), &m->last_scan_finished) == 0)
			m->have_scan = 1;
		m->last_scan_duration = sqlite3_column_int64(s, 1) / 1000.0;
	} else if (r != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(s);
	s = NULL;

	if (store_prepare(st, &s, "SELECT state, outcome, count(*) FROM jobs GROUP BY state, outcome", err,
	    errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if ((k = index_of(jobstates, STORE_NJOBSTATES, (const char *)sqlite3_column_text(s, 0))) >= 0)
			m->jobs_state[k] += sqlite3_column_int64(s, 2);
		if ((k = index_of(outcomes, STORE_NOUTCOMES, (const char *)sqlite3_column_text(s, 1))) >= 0)
			m->jobs_outcome[k] += sqlite3_column_int64(s, 2);
	}
	if (r != SQLITE_DONE)
		goto fail;
	rc = 0;
	goto done;
fail:
	step_err(st, "metrics", err, errlen);
done:
	sqlite3_finalize(s);
	if (rc == -1)
		memset(m, 0, sizeof(*m));
	return rc;
}
