/*
 * test_store_scan.c — lib/store_scan.c: targets (retired hosts left out, the site's expectation joined, hash
 * only when present), site servers, a scan's row from begin to finish, an observation with its evidence capped
 * at 20 lines and hosts.last_obs_id, a CertMgr denial merged later (cap still honoured), the scan_requests queue
 * (pending, claim, finish) and recovery after a crash (running scans failed, running requests re-queued).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "dbcheck.h"
#include "store.h"
#include "store_scan.h"
#include "util.h"

static char dir[] = "/tmp/dpfleet-test-store-scan-XXXXXX";

/* The fleet every check below reads: three live sites and one retired, four hosts of which one retired. */
static void
seed(struct store *st)
{
	char err[512];

	CHECK(store_exec(st,
	    "INSERT INTO sites (code, type, server, expected_state, expected_value, expected_sha256, first_seen, "
	    " last_seen) VALUES ('PS1', 'primary', 'cm-ps1.lab.test', 'present', 'V', "
	    " 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 't', 't');"
	    "INSERT INTO sites (code, type, server, expected_state, first_seen, last_seen) "
	    " VALUES ('PS2', 'primary', NULL, 'ambiguous', 't', 't');"
	    "INSERT INTO sites (code, type, server, expected_state, first_seen, last_seen, retired_at) "
	    " VALUES ('OLD', 'primary', 'cm-old', 'absent', 't', 't', 't');"
	    "INSERT INTO hosts (fqdn, site, is_dp, pxe, first_seen, last_seen) VALUES ('dp2.lab', 'PS1', 1, 1, 't', 't');"
	    "INSERT INTO hosts (fqdn, site, is_mp, first_seen, last_seen) VALUES ('mp1.lab', 'PS2', 1, 't', 't');"
	    "INSERT INTO hosts (fqdn, site, is_dp, first_seen, last_seen) VALUES ('dp1.lab', 'ZZZ', 1, 't', 't');"
	    "INSERT INTO hosts (fqdn, site, is_dp, first_seen, last_seen, retired_at) "
	    " VALUES ('gone.lab', 'PS1', 1, 't', 't', 't');", err, sizeof(err)) == 0);
}

/* Targets (retired hosts left out, the site's expectation joined) and site servers; returns the targets. */
static struct store_scan_target *
check_targets(struct store *st)
{
	struct store_scan_target *tv = NULL;
	struct store_scan_site *sv = NULL;
	char err[512];
	size_t n = 0;

	CHECK(store_scan_targets(st, &tv, &n, err, sizeof(err)) == 0);
	CHECK(n == 3);
	if (n == 3) {
		CHECK_STR(tv[0].fqdn, "dp1.lab");
		CHECK_STR(tv[0].expected_state, "absent");	/* unknown site */
		CHECK_STR(tv[0].expected_sha256, "");
		CHECK_STR(tv[1].fqdn, "dp2.lab");
		CHECK_STR(tv[1].expected_state, "present");
		CHECK(strlen(tv[1].expected_sha256) == 64 && tv[1].is_dp == 1 && tv[1].pxe == 1);
		CHECK_STR(tv[2].expected_state, "ambiguous");
		CHECK(tv[2].is_mp == 1 && tv[2].is_dp == 0);
	}
	CHECK(store_scan_sites(st, &sv, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && strcmp(sv[0].code, "PS1") == 0 && strcmp(sv[0].server, "cm-ps1.lab.test") == 0);
	free(sv);
	return tv;
}

/*
 * A scan, an observation with 25 offered evidence lines (20 kept), a refused state word, an unreachable host
 * and CertMgr denials merged afterwards (the cap holds); returns the scan's id.
 */
static int64_t
check_observations(struct store *st, const struct store_scan_target *tv, const char *now)
{
	struct store_evidence ev[25];
	struct store_obs o;
	char err[512], buf[256];
	int64_t scan_id = 0, obs_id = 0, obs2 = 0, scan2 = 0;
	size_t i;
	sqlite3 *db = store_db(st);

	CHECK(store_scan_begin(st, "request", now, &scan_id, err, sizeof(err)) == 0);
	CHECK(store_scan_begin(st, "nonsense", now, &scan2, err, sizeof(err)) == -1);	/* CHECK constraint */
	CHECK(db_num(db, "SELECT count(*) FROM scans WHERE state = 'running'") == 1);
	for (i = 0; i < 25; i++) {
		ev[i].source = "smspxe";
		ev[i].file = "SMS_DP$/sms/logs/SMSPXE.log";
		ev[i].at = i % 2 ? "2026-11-20T07:03:38Z" : NULL;
		ev[i].component = "SMSPXE";
		ev[i].type = 3;
		ev[i].line = "PXE::MP_GetList failed; 0x80092002";
	}
	memset(&o, 0, sizeof(o));
	o.scan_id = scan_id;
	o.host_id = tv ? tv[1].host_id : 0;
	o.at = now;
	o.state = "missing";
	o.affected = 1;
	o.expected_sha256 = tv ? tv[1].expected_sha256 : NULL;
	o.pxe_cert_errors = 20;
	o.pxe_last_error = "2026-11-20T07:03:38Z";
	o.scan_ms = 123;
	CHECK(store_scan_put_obs(st, &o, ev, 25, &obs_id, err, sizeof(err)) == 0);
	CHECK(db_num(db, "SELECT count(*) FROM evidence") == 20);
	CHECK(db_num(db, "SELECT count(*) FROM evidence WHERE at IS NULL") == 10);
	CHECK(db_num(db, "SELECT last_obs_id FROM hosts WHERE fqdn = 'dp2.lab'") == obs_id);
	CHECK_STR(db_text(db, "SELECT coalesce(value_sha256, 'null') || reason IS NULL FROM observations", buf,
	    sizeof(buf)), "1");
	/* a bad state word is refused and nothing is left behind (one transaction) */
	o.state = "broken";
	CHECK(store_scan_put_obs(st, &o, ev, 1, &obs2, err, sizeof(err)) == -1);
	CHECK(db_num(db, "SELECT count(*) FROM observations") == 1 &&
	    db_num(db, "SELECT count(*) FROM evidence") == 20);
	/* an unreachable host, then its CertMgr denial merged afterwards */
	o.state = "unreachable";
	o.reason = "deadline";
	o.affected = 0;
	o.host_id = tv ? tv[0].host_id : 0;
	o.pxe_cert_errors = 0;
	o.pxe_last_error = "";
	o.attempts = 3;
	CHECK(store_scan_put_obs(st, &o, NULL, 0, &obs2, err, sizeof(err)) == 0);
	CHECK_STR(db_text(db, "SELECT reason || coalesce(pxe_last_error, '-') FROM observations WHERE state = "
	    "'unreachable'", buf, sizeof(buf)), "deadline-");
	/* attempts as given; an observation made without saying (0) counts one */
	CHECK(db_num(db, "SELECT attempts FROM observations WHERE state = 'unreachable'") == 3);
	CHECK(db_num(db, "SELECT attempts FROM observations WHERE state = 'missing'") == 1);
	ev[0].source = "certmgr";
	CHECK(store_scan_obs_certmgr(st, obs2, "2026-11-20T08:05:18Z", ev, 1, err, sizeof(err)) == 0);
	CHECK_STR(db_text(db, "SELECT certmgr_denied || certmgr_denied_at FROM observations WHERE state = "
	    "'unreachable'", buf, sizeof(buf)), "12026-11-20T08:05:18Z");
	CHECK(db_num(db, "SELECT count(*) FROM evidence WHERE source = 'certmgr'") == 1);
	/* the cap holds for merged lines too; the denial takes the place of the last (least important) SMSPXE line */
	CHECK(store_scan_obs_certmgr(st, obs_id, NULL, ev, 1, err, sizeof(err)) == 0);
	CHECK(db_num(db, "SELECT count(*) FROM evidence WHERE observation_id = (SELECT min(id) FROM observations)")
	    == 20);
	CHECK(db_num(db, "SELECT count(*) FROM evidence WHERE source = 'certmgr' AND observation_id = "
	    "(SELECT min(id) FROM observations)") == 1);
	CHECK(db_num(db, "SELECT count(*) FROM evidence WHERE source = 'smspxe' AND at IS NULL AND observation_id = "
	    "(SELECT min(id) FROM observations)") == 10);	/* the 20th line (odd: with a time) went */
	CHECK(db_num(db, "SELECT certmgr_denied FROM observations WHERE id = (SELECT min(id) FROM observations)") == 1);
	return scan_id;
}

/* scan_requests: pending, claim, finish, then the scan's own finish with its totals. */
static void
check_requests(struct store *st, int64_t scan_id, const char *now)
{
	struct store_scan_totals tot;
	char err[512], buf[256];
	long k = -1;
	sqlite3 *db = store_db(st);

	CHECK(store_exec(st, "INSERT INTO scan_requests (requested_by, requested_at) VALUES ('a', 't'), ('b', 't')",
	    err, sizeof(err)) == 0);
	CHECK(store_scan_requests_pending(st, &k, err, sizeof(err)) == 0 && k == 2);
	CHECK(store_scan_requests_claim(st, scan_id, now, &k, err, sizeof(err)) == 0 && k == 2);
	CHECK(store_scan_requests_pending(st, &k, err, sizeof(err)) == 0 && k == 0);
	CHECK(store_exec(st, "INSERT INTO scan_requests (requested_by, requested_at) VALUES ('c', 't')", err,
	    sizeof(err)) == 0);
	CHECK(store_scan_requests_finish(st, scan_id, "done", err, sizeof(err)) == 0);
	CHECK(db_num(db, "SELECT count(*) FROM scan_requests WHERE state = 'done' AND scan_id = 1 AND picked_at IS NOT "
	    "NULL") == 2);
	CHECK(db_num(db, "SELECT count(*) FROM scan_requests WHERE state = 'queued'") == 1);
	memset(&tot, 0, sizeof(tot));
	tot.hosts = 2;
	tot.affected = 1;
	tot.unreachable = 1;
	tot.duration_ms = 999;
	CHECK(store_scan_finish(st, scan_id, "done", now, &tot, err, sizeof(err)) == 0);
	CHECK_STR(db_text(db, "SELECT state || hosts || affected || unreachable || duration_ms || coalesce(error, '-') "
	    "FROM scans WHERE id = 1", buf, sizeof(buf)), "done211999-");
}

/* Crash recovery: a running scan fails, its claimed request goes back to the queue. */
static void
check_recovery(struct store *st, const char *now)
{
	char err[512], buf[256];
	int64_t scan2 = 0;
	long k = -1;
	sqlite3 *db = store_db(st);

	CHECK(store_scan_begin(st, "schedule", now, &scan2, err, sizeof(err)) == 0);
	CHECK(store_scan_requests_claim(st, scan2, now, &k, err, sizeof(err)) == 0 && k == 1);
	CHECK(store_scan_recover(st, now, err, sizeof(err)) == 0);
	CHECK_STR(db_text(db, "SELECT state || error FROM scans WHERE id = 2", buf, sizeof(buf)),
	    "failedscanner stopped");
	CHECK(db_num(db, "SELECT count(*) FROM scan_requests WHERE state = 'queued' AND scan_id IS NULL "
	    "AND picked_at IS NULL") == 1);
	CHECK(db_num(db, "SELECT count(*) FROM scan_requests WHERE state = 'done'") == 2);
}

int
main(void)
{
	struct store *st = NULL;
	struct store_scan_target *tv;
	char path[256], err[512];
	const char *now = "2026-11-25T12:00:00Z";
	int64_t scan_id;

	if (check_tmpdir(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	CHECK(store_open(&st, path, err, sizeof(err)) == 0);
	if (st == NULL)
		return check_done("test_store_scan");
	seed(st);
	tv = check_targets(st);
	scan_id = check_observations(st, tv, now);
	check_requests(st, scan_id, now);
	check_recovery(st, now);
	free(tv);
	store_close(st);
	check_rmtree(dir);
	return check_done("test_store_scan");
}
