/*
 * test_store_fleet.c — lib/store_fleet.c: the expected-value rules (first distinct Value1 present, a second
 * distinct one ambiguous, empty or separator-only ignored in either row order, values differing only in
 * separators the same value, over-cap refused with the site unchanged), the
 * hash matching util_multisz_sha256 of the REG.exe split, duplicates refused (FQDN case-insensitively), and
 * store_fleet_put: upsert keeps first_seen, retirement by membership (two inventories with the same time
 * stamp still retire), return clears retired_at, and a failure half way rolls everything back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dbcheck.h"
#include "store.h"
#include "store_fleet.h"
#include "util.h"

static char dir[] = "/tmp/dpfleet-test-store-fleet-XXXXXX";

static struct fleet_site *
add_site(struct store_fleet *f, const char *code, const char *type)
{
	struct fleet_site s;
	char err[256];

	memset(&s, 0, sizeof(s));
	util_strlcpy(s.code, code, sizeof(s.code));
	util_strlcpy(s.name, code, sizeof(s.name));
	s.type = type;
	return store_fleet_add_site(f, &s, err, sizeof(err));
}

static struct fleet_host *
add_host(struct store_fleet *f, const char *fqdn, const char *site, int dp, int mp)
{
	struct fleet_host h;
	char err[256];

	memset(&h, 0, sizeof(h));
	util_strlcpy(h.fqdn, fqdn, sizeof(h.fqdn));
	util_strlcpy(h.site, site, sizeof(h.site));
	h.is_dp = dp;
	h.is_mp = mp;
	h.is_active = 1;
	return store_fleet_add_host(f, &h, err, sizeof(err));
}

static void
test_values(void)
{
	struct store_fleet *f = store_fleet_new();
	struct fleet_site *s;
	const char *elems[] = { "A-ONE", "A-TWO" };
	char want[UTIL_SHA256_HEX], err[256], *big;

	CHECK(f != NULL);
	s = add_site(f, "P01", "primary");
	CHECK(s != NULL && s->expected == FLEET_EXPECTED_ABSENT);
	CHECK(store_fleet_site_value(s, "", err, sizeof(err)) == 0 && s->expected == FLEET_EXPECTED_ABSENT);
	CHECK(store_fleet_site_value(s, "\\0\\0", err, sizeof(err)) == 0 && s->expected == FLEET_EXPECTED_ABSENT);
	CHECK(store_fleet_site_value(s, "A-ONE\\0A-TWO", err, sizeof(err)) == 0);
	CHECK(s->expected == FLEET_EXPECTED_PRESENT);
	util_multisz_sha256(elems, 2, want);
	CHECK_STR(s->expected_sha256, want);
	CHECK_STR(s->expected_value, "A-ONE\\0A-TWO");
	CHECK(store_fleet_site_value(s, "A-ONE\\0A-TWO", err, sizeof(err)) == 0);
	CHECK(s->expected == FLEET_EXPECTED_PRESENT && s->nvalues == 1);

	big = malloc(FLEET_VALUE_MAX + 1);
	CHECK(big != NULL);
	memset(big, 'x', FLEET_VALUE_MAX);
	big[FLEET_VALUE_MAX] = '\0';
	CHECK(store_fleet_site_value(s, big, err, sizeof(err)) == -1 && strstr(err, "longer than") != NULL);
	CHECK(s->expected == FLEET_EXPECTED_PRESENT && strcmp(s->expected_value, "A-ONE\\0A-TWO") == 0);
	free(big);

	CHECK(store_fleet_site_value(s, "B", err, sizeof(err)) == 0);
	CHECK(s->expected == FLEET_EXPECTED_AMBIGUOUS && s->expected_value == NULL && s->nvalues == 2);
	CHECK(s->expected_sha256[0] == '\0');
	CHECK(store_fleet_site_value(s, "A-ONE\\0A-TWO", err, sizeof(err)) == 0);
	CHECK(s->expected == FLEET_EXPECTED_AMBIGUOUS);
	CHECK_STR(store_fleet_expected_name(s->expected), "ambiguous");

	CHECK(add_site(f, "P01", "primary") == NULL);
	CHECK(f->nsites == 1);
	CHECK(add_host(f, "dp1.example.com", "P01", 1, 0) != NULL);
	CHECK(add_host(f, "DP1.Example.COM", "P01", 0, 1) == NULL);
	CHECK(f->nhosts == 1 && store_fleet_host(f, "Dp1.EXAMPLE.com") == &f->hosts[0]);
	store_fleet_free(f);
}

/*
 * A separator-only Value1 decides nothing, before or after a real value (the rule once depended on the
 * row order: ignored first, "ambiguous" after); "A\0B\0" is the same value as "A\0B".
 */
static void
test_value_order(void)
{
	static const char *const seps[] = { "", "\\0", "\\0\\0" };
	const char *elems[] = { "A", "B" };
	struct store_fleet *f = store_fleet_new();
	struct fleet_site *s;
	char want[UTIL_SHA256_HEX], code[8], err[256];
	size_t i;

	CHECK(f != NULL);
	util_multisz_sha256(elems, 2, want);
	for (i = 0; i < sizeof(seps) / sizeof(seps[0]); i++) {
		snprintf(code, sizeof(code), "F%zu", i);	/* separators first */
		CHECK((s = add_site(f, code, "primary")) != NULL);
		CHECK(store_fleet_site_value(s, seps[i], err, sizeof(err)) == 0);
		CHECK(store_fleet_site_value(s, "A\\0B", err, sizeof(err)) == 0);
		CHECK(s->expected == FLEET_EXPECTED_PRESENT && s->nvalues == 1);
		CHECK_STR(s->expected_sha256, want);

		snprintf(code, sizeof(code), "L%zu", i);	/* separators last */
		CHECK((s = add_site(f, code, "primary")) != NULL);
		CHECK(store_fleet_site_value(s, "A\\0B", err, sizeof(err)) == 0);
		CHECK(store_fleet_site_value(s, seps[i], err, sizeof(err)) == 0);
		CHECK(s->expected == FLEET_EXPECTED_PRESENT && s->nvalues == 1);
		CHECK_STR(s->expected_value, "A\\0B");
		CHECK_STR(s->expected_sha256, want);
	}
	CHECK((s = add_site(f, "SEP", "primary")) != NULL);
	CHECK(store_fleet_site_value(s, "A\\0B", err, sizeof(err)) == 0);
	CHECK(store_fleet_site_value(s, "\\0A\\0\\0B\\0", err, sizeof(err)) == 0);
	CHECK(s->expected == FLEET_EXPECTED_PRESENT && s->nvalues == 1);
	CHECK_STR(s->expected_value, "A\\0B");
	CHECK(store_fleet_site_value(s, "B\\0A", err, sizeof(err)) == 0);	/* order matters */
	CHECK(s->expected == FLEET_EXPECTED_AMBIGUOUS);
	store_fleet_free(f);
}

static void
test_put(void)
{
	struct store *st;
	struct store_fleet *f;
	struct store_fleet_stats stats;
	char path[256], err[512], buf[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/state.db", dir);
	if (store_open(&st, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "store_open: %s\n", err);
		CHECK(0);
		return;
	}
	db = store_db(st);

	/* Run 1 at T1: two sites, three hosts. */
	f = store_fleet_new();
	add_site(f, "CAS", "cas");
	store_fleet_site_value(add_site(f, "P01", "primary"), "V", err, sizeof(err));
	add_host(f, "dp1.example.com", "P01", 1, 0);
	add_host(f, "dp2.example.com", "P01", 1, 0);
	add_host(f, "mp1.example.com", "P01", 1, 1);
	CHECK(store_fleet_put(st, f, "2026-01-01T00:00:00Z", &stats, err, sizeof(err)) == 0);
	CHECK(stats.sites_new == 2 && stats.hosts_new == 3 && stats.sites_retired == 0 && stats.hosts_retired == 0);
	CHECK(db_num(db, "SELECT count(*) FROM hosts WHERE retired_at IS NULL") == 3);
	CHECK_STR(db_text(db, "SELECT expected_state FROM sites WHERE code = 'P01'", buf, sizeof(buf)), "present");
	CHECK_STR(db_text(db, "SELECT expected_state FROM sites WHERE code = 'CAS'", buf, sizeof(buf)), "absent");
	CHECK(db_num(db, "SELECT count(*) FROM sites WHERE code = 'CAS' AND parent IS NULL AND server IS NULL") == 1);
	store_fleet_free(f);

	/* Run 2 at the SAME time stamp without dp2 and CAS: retired anyway (membership, not time). */
	f = store_fleet_new();
	add_site(f, "P01", "primary");
	add_host(f, "DP1.example.com", "P01", 1, 0);
	add_host(f, "mp1.example.com", "P01", 1, 1);
	CHECK(store_fleet_put(st, f, "2026-01-01T00:00:00Z", &stats, err, sizeof(err)) == 0);
	CHECK(stats.sites_new == 0 && stats.hosts_new == 0 && stats.sites_retired == 1 && stats.hosts_retired == 1);
	CHECK(db_num(db, "SELECT count(*) FROM hosts") == 3);
	CHECK(db_num(db, "SELECT count(*) FROM hosts WHERE fqdn = 'dp2.example.com' AND retired_at IS NOT NULL") == 1);
	CHECK(db_num(db, "SELECT count(*) FROM sites WHERE code = 'CAS' AND retired_at IS NOT NULL") == 1);
	CHECK_STR(db_text(db, "SELECT expected_state FROM sites WHERE code = 'P01'", buf, sizeof(buf)), "absent");
	CHECK(db_num(db, "SELECT count(*) FROM sites WHERE code = 'P01' AND expected_value IS NULL") == 1);
	CHECK_STR(db_text(db, "SELECT fqdn FROM hosts WHERE fqdn = 'dp1.example.com'", buf, sizeof(buf)),
	    "DP1.example.com");
	store_fleet_free(f);

	/* Run 3 at T2: dp2 and CAS back; first_seen kept, retired_at cleared. */
	f = store_fleet_new();
	add_site(f, "CAS", "cas");
	add_site(f, "P01", "primary");
	add_host(f, "dp1.example.com", "P01", 1, 0);
	add_host(f, "dp2.example.com", "P01", 1, 0);
	add_host(f, "mp1.example.com", "P01", 1, 1);
	CHECK(store_fleet_put(st, f, "2026-01-02T00:00:00Z", &stats, err, sizeof(err)) == 0);
	CHECK(stats.hosts_new == 0 && stats.hosts_retired == 0 && stats.sites_retired == 0);
	CHECK(db_num(db, "SELECT count(*) FROM hosts WHERE retired_at IS NULL") == 3);
	CHECK(db_num(db, "SELECT count(*) FROM sites WHERE retired_at IS NULL") == 2);
	CHECK_STR(db_text(db, "SELECT first_seen FROM hosts WHERE fqdn = 'dp2.example.com'", buf, sizeof(buf)),
	    "2026-01-01T00:00:00Z");
	CHECK_STR(db_text(db, "SELECT last_seen FROM hosts WHERE fqdn = 'dp2.example.com'", buf, sizeof(buf)),
	    "2026-01-02T00:00:00Z");
	store_fleet_free(f);

	/* Run 4 fails half way (a site type the schema's CHECK refuses): nothing changes. */
	f = store_fleet_new();
	add_site(f, "NEW", "primary");
	add_site(f, "ZZZ", "not-a-type");
	add_host(f, "dp9.example.com", "NEW", 1, 0);
	memset(&stats, 0x5a, sizeof(stats));
	CHECK(store_fleet_put(st, f, "2026-01-03T00:00:00Z", &stats, err, sizeof(err)) == -1);
	CHECK(strstr(err, "ZZZ") != NULL);
	CHECK(stats.sites_new == 0x5a5a5a5a5a5a5a5aL);	/* untouched on failure */
	CHECK(db_num(db, "SELECT count(*) FROM sites") == 2);
	CHECK(db_num(db, "SELECT count(*) FROM hosts") == 3);
	CHECK(db_num(db, "SELECT count(*) FROM hosts WHERE retired_at IS NOT NULL") == 0);
	CHECK(db_num(db, "SELECT count(*) FROM hosts WHERE last_seen = '2026-01-03T00:00:00Z'") == 0);
	CHECK(sqlite3_get_autocommit(db) != 0);
	store_fleet_free(f);
	store_close(st);
}

/* A cloud DP or CMG is stored with its kind (hosts.cloud, migrations/0006); listed on premises later: NULL. */
static void
test_cloud(void)
{
	struct store *st;
	struct store_fleet *f;
	struct fleet_host *h;
	char path[256], err[512];
	int pass;

	snprintf(path, sizeof(path), "%s/cloud.db", dir);
	if (store_open(&st, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "store_open: %s\n", err);
		CHECK(0);
		return;
	}
	for (pass = 0; pass < 2; pass++) {
		f = store_fleet_new();
		add_site(f, "P01", "primary");
		add_host(f, "dp1.example.com", "P01", 1, 0);
		if ((h = add_host(f, "cdp1.cloudapp.net", "P01", 1, 0)) != NULL && pass == 0)
			h->cloud = "cloud_dp";
		if ((h = add_host(f, "cmg1.westeurope.cloudapp.azure.com", "P01", 1, 0)) != NULL)
			h->cloud = "cmg";
		CHECK(store_fleet_put(st, f, "2026-01-01T00:00:00Z", NULL, err, sizeof(err)) == 0);
		CHECK(db_num(store_db(st), "SELECT count(*) FROM hosts WHERE fqdn = 'cdp1.cloudapp.net' AND "
		    "cloud IS 'cloud_dp'") == (pass == 0));
		CHECK(db_num(store_db(st), "SELECT count(*) FROM hosts WHERE cloud = 'cmg'") == 1);
		CHECK(db_num(store_db(st), "SELECT count(*) FROM hosts WHERE cloud IS NULL") == 1 + pass);
		store_fleet_free(f);
	}
	f = store_fleet_new();				/* a kind the schema's CHECK refuses: nothing stored */
	add_site(f, "P01", "primary");
	if ((h = add_host(f, "dp1.example.com", "P01", 1, 0)) != NULL)
		h->cloud = "cloud";
	CHECK(store_fleet_put(st, f, "2026-01-02T00:00:00Z", NULL, err, sizeof(err)) == -1);
	CHECK(db_num(store_db(st), "SELECT count(*) FROM hosts WHERE retired_at IS NULL") == 3);
	store_fleet_free(f);
	store_close(st);
}

int
main(void)
{
	if (check_tmpdir(dir) == NULL)
		return 1;
	test_values();
	test_value_order();
	test_put();
	test_cloud();
	check_rmtree(dir);
	return check_done("store_fleet");
}
