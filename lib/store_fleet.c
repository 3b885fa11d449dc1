/*
 * store_fleet.c — the in-memory fleet the site-DB reader builds, and its storage in the state DB.
 *
 * The scanner's inventory (scanner/sitedb.c fills a struct store_fleet, scanner/inventory.c stores and
 * prints it) is the only writer of the sites and hosts tables' inventory columns; dpfleet-server only reads
 * them.  The reader collects the whole fleet before anything is written, so a site-DB failure never touches
 * the state DB; store_fleet_put() then upserts every site and host and retires the ones that vanished, all
 * in one BEGIN IMMEDIATE transaction.  Rows are never deleted: observations and jobs refer to hosts.
 * Retirement is decided by membership in this inventory (a TEMP table of the codes and FQDNs just seen),
 * never by comparing time stamps, so two inventories within one second still retire correctly.
 * Assumes the schema of migrations/0001_initial.sql (hosts.fqdn is UNIQUE COLLATE NOCASE) and 0006 (hosts.cloud:
 * a cloud DP or CMG the scanner lists but never contacts).
 */
#include "store_fleet.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

struct store_fleet *
store_fleet_new(void)
{
	return calloc(1, sizeof(struct store_fleet));
}

void
store_fleet_free(struct store_fleet *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nsites; i++)
		free(f->sites[i].expected_value);
	free(f->sites);
	free(f->hosts);
	free(f);
}

struct fleet_site *
store_fleet_site(struct store_fleet *f, const char *code)
{
	size_t i;

	for (i = 0; i < f->nsites; i++)
		if (strcmp(f->sites[i].code, code) == 0)
			return &f->sites[i];
	return NULL;
}

struct fleet_host *
store_fleet_host(struct store_fleet *f, const char *fqdn)
{
	size_t i;

	for (i = 0; i < f->nhosts; i++)
		if (strcasecmp(f->hosts[i].fqdn, fqdn) == 0)
			return &f->hosts[i];
	return NULL;
}

/* Make room for one more element of size sz in *arr (count n, capacity *cap, hard limit max). */
static int
grow(void **arr, size_t n, size_t *cap, size_t sz, size_t max, char *err, size_t errlen)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return util_err(err, errlen, "more than %zu entries", max);
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > max)
		ncap = max;
	if (ncap > SIZE_MAX / sz)
		return util_err(err, errlen, "out of memory");
	if ((p = realloc(*arr, ncap * sz)) == NULL)
		return util_err(err, errlen, "out of memory");
	*arr = p;
	*cap = ncap;
	return 0;
}

/*
 * The slot for one more element at the end of *arr (*n used, grown as grow() does), *n incremented; NULL with
 * err ("KIND KEY listed twice" when dup, the cap, no memory) and nothing changed.
 */
static void *
append_unique(void **arr, size_t *n, size_t *cap, size_t sz, size_t max, int dup, const char *kind,
    const char *key, char *err, size_t errlen)
{
	if (dup) {
		util_err(err, errlen, "%s %s listed twice", kind, key);
		return NULL;
	}
	if (grow(arr, *n, cap, sz, max, err, errlen) == -1)
		return NULL;
	return (char *)*arr + (*n)++ * sz;
}

struct fleet_site *
store_fleet_add_site(struct store_fleet *f, const struct fleet_site *s, char *err, size_t errlen)
{
	struct fleet_site *n;

	if ((n = append_unique((void **)&f->sites, &f->nsites, &f->sites_cap, sizeof(*f->sites), FLEET_MAX_SITES,
	    store_fleet_site(f, s->code) != NULL, "site", s->code, err, errlen)) == NULL)
		return NULL;
	*n = *s;
	n->expected = FLEET_EXPECTED_ABSENT;
	n->expected_value = NULL;
	n->expected_sha256[0] = '\0';
	n->nvalues = 0;
	if (n->type == NULL)
		n->type = "unknown";
	return n;
}

struct fleet_host *
store_fleet_add_host(struct store_fleet *f, const struct fleet_host *h, char *err, size_t errlen)
{
	struct fleet_host *n;

	if ((n = append_unique((void **)&f->hosts, &f->nhosts, &f->hosts_cap, sizeof(*f->hosts), FLEET_MAX_HOSTS,
	    store_fleet_host(f, h->fqdn) != NULL, "host", h->fqdn, err, errlen)) == NULL)
		return NULL;
	*n = *h;
	return n;
}

/*
 * One rule whatever the row order: a Value1 is what REG.exe would write, i.e. its elements.  It is split
 * first; a value with no elements (empty, or only "\0" separators) names nothing writable and is ignored
 * before the present/ambiguous decision, so it can neither make a site present nor ambiguous.  Two values
 * are the same when their elements are (same util_multisz_sha256), so "A\0B" and "A\0B\0" agree; the
 * first such value seen is the one kept.
 */
int
store_fleet_site_value(struct fleet_site *s, const char *value1, char *err, size_t errlen)
{
	char **elems = NULL, *copy, sha[UTIL_SHA256_HEX];
	long n;
	size_t len;

	len = strlen(value1);
	if (len >= FLEET_VALUE_MAX)
		return util_err(err, errlen, "site %s: IssuingCertificateList longer than %d bytes", s->code,
		    FLEET_VALUE_MAX - 1);
	if ((n = util_split_value1(value1, &elems)) == -1)
		return util_err(err, errlen, "out of memory");
	if (n > 0)
		util_multisz_sha256((const char *const *)elems, (size_t)n, sha);
	util_strv_free(elems, (size_t)n);
	if (n == 0)				/* no element: nothing REG.exe could write */
		return 0;

	switch (s->expected) {
	case FLEET_EXPECTED_AMBIGUOUS:
		s->nvalues++;
		return 0;
	case FLEET_EXPECTED_PRESENT:
		if (strcmp(s->expected_sha256, sha) == 0)
			return 0;
		free(s->expected_value);
		s->expected_value = NULL;
		s->expected_sha256[0] = '\0';
		s->expected = FLEET_EXPECTED_AMBIGUOUS;
		s->nvalues++;
		return 0;
	case FLEET_EXPECTED_ABSENT:
		break;
	}
	if ((copy = strdup(value1)) == NULL)
		return util_err(err, errlen, "out of memory");
	util_strlcpy(s->expected_sha256, sha, sizeof(s->expected_sha256));
	s->expected_value = copy;
	s->expected = FLEET_EXPECTED_PRESENT;
	s->nvalues = 1;
	return 0;
}

static int
site_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fleet_site *)a)->code, ((const struct fleet_site *)b)->code);
}

static int
host_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct fleet_host *)a)->fqdn, ((const struct fleet_host *)b)->fqdn);
}

void
store_fleet_sort(struct store_fleet *f)
{
	if (f->nsites > 1)
		qsort(f->sites, f->nsites, sizeof(*f->sites), site_cmp);
	if (f->nhosts > 1)
		qsort(f->hosts, f->nhosts, sizeof(*f->hosts), host_cmp);
}

const char *
store_fleet_expected_name(enum fleet_expected e)
{
	switch (e) {
	case FLEET_EXPECTED_PRESENT:	return "present";
	case FLEET_EXPECTED_AMBIGUOUS:	return "ambiguous";
	case FLEET_EXPECTED_ABSENT:	break;
	}
	return "absent";
}

/* Bind text, or NULL when s is empty. */
static int
bind_opt(sqlite3_stmt *stmt, int i, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return sqlite3_bind_null(stmt, i);
	return sqlite3_bind_text(stmt, i, s, -1, SQLITE_STATIC);
}

/* Run a prepared statement to completion; 0 or -1 with the reason in err. */
static int
step_done(sqlite3 *db, sqlite3_stmt *stmt, const char *what, char *err, size_t errlen)
{
	int rc;

	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return util_err(err, errlen, "%s: %s", what, sqlite3_errmsg(db));
	return 0;
}

static const char SQL_SEEN[] =
	"CREATE TEMP TABLE IF NOT EXISTS fleet_seen_sites (code TEXT PRIMARY KEY);"
	"CREATE TEMP TABLE IF NOT EXISTS fleet_seen_hosts (fqdn TEXT PRIMARY KEY COLLATE NOCASE);"
	"DELETE FROM temp.fleet_seen_sites;"
	"DELETE FROM temp.fleet_seen_hosts;";

static const char SQL_SITE_EXISTS[] = "SELECT 1 FROM sites WHERE code = ?1";
static const char SQL_SITE_UPSERT[] =
	"INSERT INTO sites (code, name, type, parent, server, install_dir, expected_state, expected_value,"
	" expected_sha256, first_seen, last_seen, retired_at)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, NULL)"
	" ON CONFLICT (code) DO UPDATE SET name = excluded.name, type = excluded.type,"
	" parent = excluded.parent, server = excluded.server, install_dir = excluded.install_dir,"
	" expected_state = excluded.expected_state, expected_value = excluded.expected_value,"
	" expected_sha256 = excluded.expected_sha256, last_seen = excluded.last_seen, retired_at = NULL";
static const char SQL_SITE_SEEN[] = "INSERT INTO temp.fleet_seen_sites (code) VALUES (?1)";
static const char SQL_SITE_RETIRE[] =
	"UPDATE sites SET retired_at = ?1 WHERE retired_at IS NULL"
	" AND code NOT IN (SELECT code FROM temp.fleet_seen_sites)";

static const char SQL_HOST_EXISTS[] = "SELECT 1 FROM hosts WHERE fqdn = ?1";
static const char SQL_HOST_UPSERT[] =
	"INSERT INTO hosts (fqdn, site, is_dp, is_mp, pxe, sccm_pxe, is_active, is_pull_dp, first_seen,"
	" last_seen, retired_at, cloud)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, NULL, ?10)"
	" ON CONFLICT (fqdn) DO UPDATE SET fqdn = excluded.fqdn, site = excluded.site,"
	" is_dp = excluded.is_dp, is_mp = excluded.is_mp, pxe = excluded.pxe, sccm_pxe = excluded.sccm_pxe,"
	" is_active = excluded.is_active, is_pull_dp = excluded.is_pull_dp, last_seen = excluded.last_seen,"
	" retired_at = NULL, cloud = excluded.cloud";
static const char SQL_HOST_SEEN[] = "INSERT INTO temp.fleet_seen_hosts (fqdn) VALUES (?1)";
static const char SQL_HOST_RETIRE[] =
	"UPDATE hosts SET retired_at = ?1 WHERE retired_at IS NULL"
	" AND fqdn NOT IN (SELECT fqdn FROM temp.fleet_seen_hosts)";

enum { S_SITE_EXISTS, S_SITE_UPSERT, S_SITE_SEEN, S_SITE_RETIRE, S_HOST_EXISTS, S_HOST_UPSERT, S_HOST_SEEN,
    S_HOST_RETIRE, S_COUNT };

/* Does the one-parameter existence query stmt find key? 1, 0, or -1 with err. */
static int
exists(sqlite3 *db, sqlite3_stmt *stmt, const char *key, char *err, size_t errlen)
{
	int rc;

	sqlite3_reset(stmt);
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return util_err(err, errlen, "%s: %s", key, sqlite3_errmsg(db));
}

/*
 * Start an upsert of the row named key: count it in *nnew when it is not in the table yet, reset u and bind key
 * as its first parameter.  0, or -1 with err.
 */
static int
upsert_begin(sqlite3 *db, sqlite3_stmt *exists_stmt, sqlite3_stmt *u, const char *key, long *nnew, char *err,
    size_t errlen)
{
	int e;

	if ((e = exists(db, exists_stmt, key, err, errlen)) == -1)
		return -1;
	*nnew += !e;
	sqlite3_reset(u);
	sqlite3_clear_bindings(u);
	sqlite3_bind_text(u, 1, key, -1, SQLITE_STATIC);
	return 0;
}

/* Run the bound upsert u, then mark key seen in this inventory (seen_stmt).  0, or -1 with err. */
static int
upsert_end(sqlite3 *db, sqlite3_stmt *u, sqlite3_stmt *seen_stmt, const char *key, char *err, size_t errlen)
{
	if (step_done(db, u, key, err, errlen) == -1)
		return -1;
	sqlite3_reset(seen_stmt);
	sqlite3_bind_text(seen_stmt, 1, key, -1, SQLITE_STATIC);
	return step_done(db, seen_stmt, key, err, errlen);
}

static int
put_site(sqlite3 *db, sqlite3_stmt **s, const struct fleet_site *site, const char *now,
    struct store_fleet_stats *stats, char *err, size_t errlen)
{
	sqlite3_stmt *u = s[S_SITE_UPSERT];

	if (upsert_begin(db, s[S_SITE_EXISTS], u, site->code, &stats->sites_new, err, errlen) == -1)
		return -1;
	sqlite3_bind_text(u, 2, site->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(u, 3, site->type, -1, SQLITE_STATIC);
	bind_opt(u, 4, site->parent);
	bind_opt(u, 5, site->server);
	bind_opt(u, 6, site->install_dir);
	sqlite3_bind_text(u, 7, store_fleet_expected_name(site->expected), -1, SQLITE_STATIC);
	if (site->expected == FLEET_EXPECTED_PRESENT) {
		sqlite3_bind_text(u, 8, site->expected_value, -1, SQLITE_STATIC);
		sqlite3_bind_text(u, 9, site->expected_sha256, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(u, 10, now, -1, SQLITE_STATIC);
	return upsert_end(db, u, s[S_SITE_SEEN], site->code, err, errlen);
}

static int
put_host(sqlite3 *db, sqlite3_stmt **s, const struct fleet_host *h, const char *now,
    struct store_fleet_stats *stats, char *err, size_t errlen)
{
	sqlite3_stmt *u = s[S_HOST_UPSERT];

	if (upsert_begin(db, s[S_HOST_EXISTS], u, h->fqdn, &stats->hosts_new, err, errlen) == -1)
		return -1;
	sqlite3_bind_text(u, 2, h->site, -1, SQLITE_STATIC);
	sqlite3_bind_int(u, 3, h->is_dp != 0);
	sqlite3_bind_int(u, 4, h->is_mp != 0);
	sqlite3_bind_int(u, 5, h->pxe != 0);
	sqlite3_bind_int(u, 6, h->sccm_pxe != 0);
	sqlite3_bind_int(u, 7, h->is_active != 0);
	sqlite3_bind_int(u, 8, h->is_pull_dp != 0);
	sqlite3_bind_text(u, 9, now, -1, SQLITE_STATIC);
	if (h->cloud != NULL)		/* else NULL: on premises (sqlite3_clear_bindings in upsert_begin) */
		sqlite3_bind_text(u, 10, h->cloud, -1, SQLITE_STATIC);
	return upsert_end(db, u, s[S_HOST_SEEN], h->fqdn, err, errlen);
}

static int
retire(sqlite3 *db, sqlite3_stmt *stmt, const char *now, long *count, char *err, size_t errlen)
{
	sqlite3_bind_text(stmt, 1, now, -1, SQLITE_STATIC);
	if (step_done(db, stmt, "retire", err, errlen) == -1)
		return -1;
	*count = sqlite3_changes(db);
	return 0;
}

int
store_fleet_put(struct store *st, const struct store_fleet *f, const char *now,
    struct store_fleet_stats *stats, char *err, size_t errlen)
{
	static const char *const sql[S_COUNT] = {
		SQL_SITE_EXISTS, SQL_SITE_UPSERT, SQL_SITE_SEEN, SQL_SITE_RETIRE,
		SQL_HOST_EXISTS, SQL_HOST_UPSERT, SQL_HOST_SEEN, SQL_HOST_RETIRE,
	};
	sqlite3 *db = store_db(st);
	sqlite3_stmt *s[S_COUNT] = { NULL };
	struct store_fleet_stats local = { 0 };
	size_t i;
	int rc = -1, began = 0;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	began = 1;
	if (store_exec(st, SQL_SEEN, err, errlen) == -1)
		goto done;
	for (i = 0; i < S_COUNT; i++)
		if (store_prepare(st, &s[i], sql[i], err, errlen) == -1)
			goto done;
	for (i = 0; i < f->nsites; i++)
		if (put_site(db, s, &f->sites[i], now, &local, err, errlen) == -1)
			goto done;
	for (i = 0; i < f->nhosts; i++)
		if (put_host(db, s, &f->hosts[i], now, &local, err, errlen) == -1)
			goto done;
	if (retire(db, s[S_SITE_RETIRE], now, &local.sites_retired, err, errlen) == -1 ||
	    retire(db, s[S_HOST_RETIRE], now, &local.hosts_retired, err, errlen) == -1)
		goto done;
	for (i = 0; i < S_COUNT; i++) {
		sqlite3_finalize(s[i]);
		s[i] = NULL;
	}
	if (store_commit(st, err, errlen) == -1)
		goto done;
	began = 0;
	if (stats != NULL)
		*stats = local;
	rc = 0;
done:
	for (i = 0; i < S_COUNT; i++)
		sqlite3_finalize(s[i]);
	if (began)
		store_rollback(st);
	return rc;
}
