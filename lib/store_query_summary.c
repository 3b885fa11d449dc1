/*
 * store_query_summary.c — the fleet's figures: the summary of GET /api/v1/summary (the last full scan, the
 * live sites, hosts counted by state over the fleet and per site) and the numbers of /metrics (declared in
 * store_query.h).
 *
 * Called by server/api_fleet.c and server/metrics.c on the calling thread's connection; read-only.  A host
 * counts in the state of its hosts.last_obs_id observation; a host never scanned counts as unscanned and in
 * no state; a cloud DP or CMG (hosts.cloud, never scanned) counts as cloud, in no state and not as unscanned.  "The last scan" is LAST_SCAN_WHERE's.  Shares lib/store_query_int.h's helpers with
 * lib/store_query.c.
 */
#include "store_query_int.h"
#include "words.h"

#include <stdlib.h>
#include <string.h>

/*
 * "The last scan" of the summary and the metrics: the newest scan that finished (state done, so neither a
 * running nor a failed one) over the whole fleet, i.e. not the rescan of the few hosts a fix job wrote
 * (trigger 'fix'; the others are schedule, request and cli).
 */
#define LAST_SCAN_WHERE	"WHERE state = 'done' AND trigger != 'fix' AND finished_at IS NOT NULL "

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
		put(o, store_state_name(i), json_integer(c[i]), oom);
	return o;
}

static long
affected_of(const long *c)
{
	return c[1] + c[2] + c[3];	/* missing + empty + mismatch */
}

/* One live site's code and its host counts by state (store_state_name() index). */
struct site_counts {
	char	 code[DPF_SITE_CODE_MAX];
	long	 n[STORE_NSTATES];
};

/* Put "last_scan" into res: the newest finished full scan, or null.  0, or -1 with err. */
static int
summary_last_scan(struct store *st, json_t *res, int *oom, char *err, size_t errlen)
{
	static const struct store_col last_scan_cols[] = {
		{ "id", STORE_COL_INT }, { "started_at", STORE_COL_TEXT }, { "finished_at", STORE_COL_TEXT },
		{ "hosts", STORE_COL_INT }, { "state", STORE_COL_TEXT },
	};
	sqlite3_stmt *s = NULL;
	int r, rc = 0;

	if (store_prepare(st, &s, "SELECT id, started_at, finished_at, hosts, state FROM scans "
	    LAST_SCAN_WHERE "ORDER BY id DESC LIMIT 1", err, errlen) == -1)
		return -1;
	if ((r = sqlite3_step(s)) == SQLITE_ROW)
		put(res, "last_scan", store_row_json(s, last_scan_cols, NCOLS(last_scan_cols)), oom);
	else if (r == SQLITE_DONE)
		put(res, "last_scan", json_null(), oom);
	else
		rc = step_err(st, "summary", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

/*
 * Append one object per live site, in code order, to sites, and to *sc (malloc'd, *n entries, caller frees
 * also on error) its code with zero counts.  0, or -1 with err.  Out of memory stops the list early and sets
 * *oom (still 0).
 */
static int
summary_sites(struct store *st, json_t *sites, struct site_counts **sc, size_t *n, int *oom, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	json_t *site;
	void *np;
	int r, rc = -1;

	if (store_prepare(st, &s, "SELECT code, name, type, expected_state FROM sites WHERE retired_at IS NULL "
	    "ORDER BY code", err, errlen) == -1)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (*n >= 100000) {
			util_err(err, errlen, "summary: too many sites");
			goto done;
		}
		if ((np = realloc(*sc, (*n + 1) * sizeof(**sc))) == NULL) {
			*oom = 1;
			break;
		}
		*sc = np;
		memset(&(*sc)[*n], 0, sizeof(**sc));
		util_strlcpy((*sc)[*n].code, (const char *)sqlite3_column_text(s, 0), sizeof((*sc)[*n].code));
		if ((site = json_object()) == NULL) {
			*oom = 1;
			break;
		}
		put(site, "code", col_str(s, 0), oom);
		put(site, "name", col_str(s, 1), oom);
		put(site, "type", col_str(s, 2), oom);
		put(site, "expected_value", col_str(s, 3), oom);
		if (json_array_append_new(sites, site) == -1)
			*oom = 1;
		(*n)++;
	}
	if (!*oom && r != SQLITE_DONE) {
		step_err(st, "summary", err, errlen);
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

/*
 * Count each live host in the state of its newest observation: into total[] and its site's row of sc[],
 * or into *unscanned, or (a cloud DP or CMG, hosts.cloud) into *cloud; every host into *hosts.  0, or -1
 * with err.
 */
static int
summary_counts(struct store *st, struct site_counts *sc, size_t nsites, long *total, long *hosts,
    long *unscanned, long *cloud, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const char *code;
	size_t i;
	long n;
	int r, k, rc = 0;

	if (store_prepare(st, &s, "SELECT h.site, o.state, count(*), h.cloud IS NOT NULL FROM hosts h "
	    "LEFT JOIN observations o ON o.id = h.last_obs_id "
	    "WHERE h.retired_at IS NULL GROUP BY h.site, o.state, h.cloud IS NOT NULL", err, errlen) == -1)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		code = (const char *)sqlite3_column_text(s, 0);
		n = sqlite3_column_int64(s, 2);
		*hosts += n;
		if (sqlite3_column_int(s, 3)) {		/* a cloud DP or CMG: never scanned, in no state */
			*cloud += n;
			continue;
		}
		k = store_query_index(store_state_name, (const char *)sqlite3_column_text(s, 1));
		if (k < 0) {
			*unscanned += n;
			continue;
		}
		total[k] += n;
		for (i = 0; i < nsites; i++)
			if (code != NULL && strcmp(sc[i].code, code) == 0)
				sc[i].n[k] += n;
	}
	if (r != SQLITE_DONE)
		rc = step_err(st, "summary", err, errlen);
	sqlite3_finalize(s);
	return rc;
}

int
store_query_summary(struct store *st, json_t **out, char *err, size_t errlen)
{
	struct site_counts *sc = NULL;
	json_t *res = NULL, *sites, *site;
	long total[STORE_NSTATES] = { 0 }, hosts = 0, unscanned = 0, cloud = 0;
	size_t nsites = 0, i;
	int oom = 0, rc = -1;

	*out = NULL;
	if ((res = json_object()) == NULL || (sites = json_array()) == NULL) {
		util_err(err, errlen, "summary: out of memory");
		goto done;
	}
	put(res, "sites", sites, &oom);
	if (summary_last_scan(st, res, &oom, err, errlen) == -1 ||
	    summary_sites(st, sites, &sc, &nsites, &oom, err, errlen) == -1 ||
	    summary_counts(st, sc, nsites, total, &hosts, &unscanned, &cloud, err, errlen) == -1)
		goto done;
	put(res, "counts", counts_object(total, &oom), &oom);
	put(res, "affected", json_integer(affected_of(total)), &oom);
	put(res, "hosts", json_integer(hosts), &oom);
	put(res, "unscanned", json_integer(unscanned), &oom);
	put(res, "cloud", json_integer(cloud), &oom);
	for (i = 0; i < nsites && !oom; i++) {
		site = json_array_get(sites, i);
		put(site, "counts", counts_object(sc[i].n, &oom), &oom);
		put(site, "affected", json_integer(affected_of(sc[i].n)), &oom);
	}
	rc = store_query_finish(res, oom, 0, "summary: ", out, err, errlen);
	res = NULL;
done:
	json_decref(res);
	free(sc);
	return rc;
}

/* Unreachable live hosts by their newest verdict's reason, into m->unreachable / unreachable_other. */
static int
metrics_unreachable(struct store *st, struct store_metrics *m, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	const struct reason *tab, *r;
	size_t n;
	int rc;

	tab = reason_table(&n);
	if (store_prepare(st, &s, "SELECT o.reason, count(*) FROM hosts h JOIN observations o "
	    "ON o.id = h.last_obs_id WHERE h.retired_at IS NULL AND o.state = 'unreachable' GROUP BY o.reason",
	    err, errlen) == -1)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		r = reason_lookup((const char *)sqlite3_column_text(s, 0));
		if (r != NULL && (size_t)(r - tab) < n)
			m->unreachable[r - tab] += sqlite3_column_int64(s, 1);
		else
			m->unreachable_other += sqlite3_column_int64(s, 1);
	}
	if (rc != SQLITE_DONE) {
		step_err(st, "metrics", err, errlen);
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	return 0;
}

int
store_query_metrics(struct store *st, struct store_metrics *m, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int r, k, rc = -1;

	memset(m, 0, sizeof(*m));
	if (store_prepare(st, &s, "SELECT o.state, count(*), h.cloud FROM hosts h LEFT JOIN observations o "
	    "ON o.id = h.last_obs_id WHERE h.retired_at IS NULL GROUP BY o.state, h.cloud", err, errlen) == -1)
		goto done;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		k = words_index(words_cloud, WORDS_NCLOUD, (const char *)sqlite3_column_text(s, 2));
		if (k >= 0) {
			m->cloud[k] += sqlite3_column_int64(s, 1);
			continue;
		}
		k = store_query_index(store_state_name, (const char *)sqlite3_column_text(s, 0));
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

	if (metrics_unreachable(st, m, err, errlen) == -1)
		goto done;

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
		if ((k = store_query_index(store_jobstate_name, (const char *)sqlite3_column_text(s, 0))) >= 0)
			m->jobs_state[k] += sqlite3_column_int64(s, 2);
		if ((k = store_query_index(store_outcome_name, (const char *)sqlite3_column_text(s, 1))) >= 0)
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
