/*
 * api_fleet.c — the read endpoints of dpfleet-server: summary, hosts, one host, scans (and queueing a scan),
 * the affected/hosts/fixes reports as CSV and JSON, the unreachable reasons of lib/reason.h, and the audit
 * log.
 *
 * Called through the route table in server/api.c after sign-in and role checks.  Query parameters are
 * validated here (400 with the reason) and handed to lib/store_query*.c as typed values; nothing from the
 * request reaches SQL text.  CSV follows RFC 4180: CRLF line ends, a field is quoted when it holds a comma,
 * quote, CR or LF, quotes doubled; booleans are true/false, NULL is an empty field, arrays are joined with ';';
 * a text field starting with =, +, -, @, TAB or CR is prefixed with ' (csv_field).
 */
#include "api_int.h"
#include "dbuf.h"
#include "reason.h"
#include "store_jobs.h"
#include "store_query.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CT_CSV		"text/csv; charset=utf-8"
#define CSV_MAX		(256 * 1024 * 1024)

int
api_get_summary(struct api_call *c)
{
	json_t *v;
	char err[512];

	if (store_query_summary(c->env->st, &v, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	return api_json(c, 200, v);
}

int
api_get_hosts(struct api_call *c)
{
	struct store_host_filter f;
	const char *role, *order;
	json_t *v;
	char err[512];

	memset(&f, 0, sizeof(f));
	f.limit = 100;
	f.state = api_param(c, "state");
	f.site = api_param(c, "site");
	f.q = api_param(c, "q");
	f.sort = api_param(c, "sort");
	role = api_param(c, "role");
	order = api_param(c, "order");
	if (f.state != NULL && *f.state == '\0')
		f.state = NULL;
	if (f.site != NULL && *f.site == '\0')
		f.site = NULL;
	if (f.q != NULL && *f.q == '\0')
		f.q = NULL;
	if (f.state != NULL && !store_state_valid(f.state))
		return api_fail(c, 400, "state must be one of healthy, missing, empty, mismatch, no_key, denied, "
		    "unreachable, unknown");
	if (role == NULL || *role == '\0')
		f.role = STORE_ROLE_ANY;
	else if (strcmp(role, "dp") == 0)
		f.role = STORE_ROLE_DP;
	else if (strcmp(role, "mp") == 0)
		f.role = STORE_ROLE_MP;
	else
		return api_fail(c, 400, "role must be dp or mp");
	if (f.sort != NULL && *f.sort == '\0')
		f.sort = NULL;
	if (f.sort != NULL && !store_host_sort_valid(f.sort))
		return api_fail(c, 400, "sort must be one of fqdn, site, state, last_scanned, pxe_cert_errors");
	if (order == NULL || *order == '\0' || strcmp(order, "asc") == 0)
		f.desc = 0;
	else if (strcmp(order, "desc") == 0)
		f.desc = 1;
	else
		return api_fail(c, 400, "order must be asc or desc");
	if (f.q != NULL && strlen(f.q) > 255)
		return api_fail(c, 400, "q longer than 255 bytes");
	if (f.site != NULL && strlen(f.site) > 64)
		return api_fail(c, 400, "site longer than 64 bytes");
	if (api_param_bool(c, "pxe", &f.pxe) == -1 || api_param_bool(c, "affected", &f.affected) == -1 ||
	    api_param_long(c, "limit", 1, STORE_HOSTS_MAX_LIMIT, &f.limit) == -1 ||
	    api_param_long(c, "offset", 0, 1000000000L, &f.offset) == -1)
		return -1;
	if (store_query_hosts(c->env->st, &f, &v, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	return api_json(c, 200, v);
}

int
api_get_host(struct api_call *c)
{
	json_t *v;
	char err[512];
	int r;

	if (strlen(c->arg) >= STORE_FQDN_MAX)
		return api_fail(c, 404, "no host %.64s...", c->arg);
	if ((r = store_query_host(c->env->st, c->arg, &v, err, sizeof(err))) == -1)
		return api_store_error(c, err);
	if (r == 0)
		return api_fail(c, 404, "no host %s", c->arg);
	return api_json(c, 200, v);
}

/*
 * A paged list: ?limit= (1..STORE_PAGE_MAX, default limit) and ?offset= (default 0) checked here (400), then
 * query's answer as it is.
 */
static int
paged_answer(struct api_call *c, long limit, int (*query)(struct store *, long, long, json_t **, char *,
    size_t))
{
	long offset = 0;
	json_t *v;
	char err[512];

	if (api_param_long(c, "limit", 1, STORE_PAGE_MAX, &limit) == -1 ||
	    api_param_long(c, "offset", 0, 1000000000L, &offset) == -1)
		return -1;
	if (query(c->env->st, limit, offset, &v, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	return api_json(c, 200, v);
}

int
api_get_scans(struct api_call *c)
{
	return paged_answer(c, 50, store_query_scans);
}

int
api_post_scans(struct api_call *c)
{
	int64_t id;
	char err[512];

	if (store_jobs_request_scan(c->env->st, api_user(c), &id, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	return api_json(c, 202, json_pack("{s:I}", "scan_request", (json_int_t)id));
}

int
api_get_audit(struct api_call *c)
{
	return paged_answer(c, 100, store_query_audit);
}

/*
 * {"reasons": [{"word", "transient", "meaning", "next_step"}...]}: lib/reason.h's table in its own order,
 * the only copy the dashboard sees.
 */
int
api_get_reasons(struct api_call *c)
{
	const struct reason *t;
	json_t *list, *e;
	size_t i, n;

	t = reason_table(&n);
	if ((list = json_array()) == NULL)
		return api_fail(c, 500, "out of memory");
	for (i = 0; i < n; i++) {
		e = json_pack("{s:s, s:b, s:s, s:s}", "word", t[i].word, "transient", t[i].transient,
		    "meaning", t[i].meaning, "next_step", t[i].next_step);
		if (e == NULL || json_array_append_new(list, e) == -1) {
			json_decref(list);
			return api_fail(c, 500, "out of memory");
		}
	}
	return api_json(c, 200, json_pack("{s:o}", "reasons", list));
}

/* --- CSV --------------------------------------------------------------------------------------------- */

/*
 * One field, quoted when RFC 4180 requires it.  A field a spreadsheet would take for a formula (its first
 * byte is =, +, -, @, TAB or CR) gets a leading single quote, inside the quotes when quoted (OWASP "CSV
 * Injection"); numbers are written by csv_value and never pass here.  A report over CSV_MAX, or out of
 * memory, fails the buffer (b->failed; csv_answer then answers 500).
 */
static void
csv_field(struct dbuf *b, const char *s)
{
	const char *q;
	int formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		if (formula)
			dbuf_add(b, "'", 1);
		dbuf_add(b, s, strlen(s));
		return;
	}
	dbuf_add(b, formula ? "\"'" : "\"", formula ? 2 : 1);
	while ((q = strchr(s, '"')) != NULL) {
		dbuf_add(b, s, (size_t)(q - s) + 1);
		dbuf_add(b, "\"", 1);
		s = q + 1;
	}
	dbuf_add(b, s, strlen(s));
	dbuf_add(b, "\"", 1);
}

static void
csv_value(struct dbuf *b, json_t *v)
{
	char num[32];
	size_t i;
	struct dbuf joined;

	dbuf_init(&joined, CSV_MAX);
	switch (json_typeof(v)) {
	case JSON_STRING:
		csv_field(b, json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		dbuf_add(b, num, strlen(num));
		break;
	case JSON_TRUE:
		dbuf_add(b, "true", 4);
		break;
	case JSON_FALSE:
		dbuf_add(b, "false", 5);
		break;
	case JSON_ARRAY:
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				dbuf_add(&joined, ";", 1);
			if (json_is_string(json_array_get(v, i)))
				dbuf_add(&joined, json_string_value(json_array_get(v, i)),
				    json_string_length(json_array_get(v, i)));
		}
		if (joined.failed)
			b->failed = 1;
		else
			csv_field(b, joined.data ? (const char *)joined.data : "");
		dbuf_free(&joined);
		break;
	default:			/* null and anything else: empty field */
		break;
	}
}

/* Answer rows (an array of objects, stolen) as CSV with the given header columns. */
static int
csv_answer(struct api_call *c, json_t *rows, const char *const *cols, size_t ncols, const char *filename)
{
	struct dbuf b;
	size_t i, k;
	char *body;

	dbuf_init(&b, CSV_MAX);
	for (k = 0; k < ncols; k++) {
		if (k > 0)
			dbuf_add(&b, ",", 1);
		dbuf_add(&b, cols[k], strlen(cols[k]));
	}
	dbuf_add(&b, "\r\n", 2);
	for (i = 0; i < json_array_size(rows); i++) {
		for (k = 0; k < ncols; k++) {
			if (k > 0)
				dbuf_add(&b, ",", 1);
			csv_value(&b, json_object_get(json_array_get(rows, i), cols[k]));
		}
		dbuf_add(&b, "\r\n", 2);
	}
	json_decref(rows);
	if ((body = dbuf_take(&b, &k)) == NULL)
		return api_fail(c, 500, "report too large or out of memory");
	free(c->rs->body);
	c->rs->status = 200;
	c->rs->content_type = CT_CSV;
	c->rs->body = body;
	c->rs->len = k;
	snprintf(c->rs->disposition, sizeof(c->rs->disposition), "attachment; filename=\"%s\"", filename);
	return 0;
}

/*
 * affected.csv and hosts.csv; attempts, reason_meaning and reason_next_step came with lib/reason.h and
 * migration 0002, note (free text from the scanner, so csv_field quotes and neutralises it) with migration 0004,
 * cloud and not_scanned (a cloud DP or CMG: never scanned; lib/words.h) with migration 0006, cred_set (the
 * credential set of the last read; fixes.csv: of the job) with migration 0007.
 */
static const char *const host_cols[] = {
	"fqdn", "site", "roles", "pxe", "state", "reason", "value_sha256", "expected_sha256", "pxe_cert_errors",
	"pxe_last_error", "certmgr_denied", "last_scanned", "last_fix_outcome", "last_fix_at", "attempts",
	"reason_meaning", "reason_next_step", "cloud", "not_scanned", "cred_set", "note",
};
static const char *const fixes_cols[] = {
	"id", "host", "kind", "dry_run", "requested_by", "requested_at", "finished_at", "outcome",
	"before_sha256", "after_sha256", "cred_set",
};

/* A report from query as a CSV attachment with cols (a JSON one when cols is NULL) named filename. */
static int
report_answer(struct api_call *c, int (*query)(struct store *, json_t **, char *, size_t),
    const char *const *cols, size_t ncols, const char *filename)
{
	json_t *rows;
	char err[512];

	if (query(c->env->st, &rows, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	if (cols != NULL)
		return csv_answer(c, rows, cols, ncols, filename);
	if (api_json(c, 200, rows) == -1)
		return -1;
	snprintf(c->rs->disposition, sizeof(c->rs->disposition), "attachment; filename=\"%s\"", filename);
	return 0;
}

int
api_get_report_affected_csv(struct api_call *c)
{
	return report_answer(c, store_query_affected_report, host_cols, sizeof(host_cols) / sizeof(host_cols[0]),
	    "dpfleet-affected.csv");
}

int
api_get_report_hosts_csv(struct api_call *c)
{
	return report_answer(c, store_query_hosts_report, host_cols, sizeof(host_cols) / sizeof(host_cols[0]),
	    "dpfleet-hosts.csv");
}

int
api_get_report_hosts_json(struct api_call *c)
{
	return report_answer(c, store_query_hosts_report, NULL, 0, "dpfleet-hosts.json");
}

int
api_get_report_affected_json(struct api_call *c)
{
	return report_answer(c, store_query_affected_report, NULL, 0, "dpfleet-affected.json");
}

int
api_get_report_fixes_csv(struct api_call *c)
{
	return report_answer(c, store_query_fixes_report, fixes_cols, sizeof(fixes_cols) / sizeof(fixes_cols[0]),
	    "dpfleet-fixes.csv");
}

int
api_get_report_fixes_json(struct api_call *c)
{
	return report_answer(c, store_query_fixes_report, NULL, 0, "dpfleet-fixes.json");
}
