/*
 * test_fix.c — unit tests of the fix issue's pure parts: the MSG_FIX_* / MSG_ROLLBACK_* codec (round trips,
 * ops checked per message type, every truncation and a trailing byte refused, field rules) and the execution
 * side of lib/store_jobs.c on a temporary state DB (claim/resume, backup set once, finish once, audit rows,
 * unscanned writes).
 */
#include "check.h"
#include "msg.h"
#include "store.h"
#include "store_jobs.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
test_req(void)
{
	struct msg_buf b = { 0 };
	struct msg_fix_req q, d;
	char *elems[] = { "CERT-A", "CN=Lab, DC=x" }, *empty[] = { "" }, err[256];
	uint8_t data[] = { 0x41, 0x00, 0x00, 0x00, 0x00, 0x00 };
	size_t i;

	memset(&q, 0, sizeof(q));
	q.task = 7;
	q.job = 1234567890123ULL;
	q.op = MSG_FIX_OP_WRITE;
	q.fqdn = "dp01.lab.test";
	q.addr = "127.0.0.1";
	q.elems = elems;
	q.nelems = 2;
	q.cred = MSG_CRED_MAX + 1;	/* no such credential set */
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_req(b.data, b.len, &d, err, sizeof(err)) == -1);
	q.cred = 2;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_req(b.data, b.len, &d, err, sizeof(err)) == 0);
	CHECK(d.task == 7 && d.job == 1234567890123ULL && d.op == MSG_FIX_OP_WRITE && d.nelems == 2);
	CHECK(d.cred == 2);
	CHECK_STR(d.elems[1], "CN=Lab, DC=x");
	CHECK_STR(d.addr, "127.0.0.1");
	msg_fix_req_free(&d);
	/* A fix request is not a rollback request: the op is checked per type. */
	CHECK(msg_dec_rollback_req(b.data, b.len, &d, err, sizeof(err)) == -1);
	/* Every truncation and one trailing byte are refused. */
	for (i = 0; i < b.len; i++)
		CHECK(msg_dec_fix_req(b.data, i, &d, err, sizeof(err)) == -1 && d.fqdn == NULL);
	{
		uint8_t *x = malloc(b.len + 1);

		memcpy(x, b.data, b.len);
		x[b.len] = 0;
		CHECK(msg_dec_fix_req(x, b.len + 1, &d, err, sizeof(err)) == -1);
		free(x);
	}
	/* Field rules. */
	q.nelems = 0;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == -1);		/* a write needs elements */
	q.elems = empty;
	q.nelems = 1;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == -1);		/* no empty element */
	q.op = MSG_FIX_OP_READ;
	q.elems = elems;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == -1);		/* a read carries none */
	q.nelems = 0;
	q.elems = NULL;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == 0);
	q.op = MSG_FIX_OP_RESTORE;
	CHECK(msg_enc_fix_req(&b, &q, err, sizeof(err)) == -1);		/* restore is a rollback op */
	q.value_type = 7;
	q.data = data;
	q.data_len = sizeof(data);
	CHECK(msg_enc_rollback_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_rollback_req(b.data, b.len, &d, err, sizeof(err)) == 0);
	CHECK(d.op == MSG_FIX_OP_RESTORE && d.value_type == 7 && d.data_len == sizeof(data) &&
	    memcmp(d.data, data, sizeof(data)) == 0);
	msg_fix_req_free(&d);
	CHECK(msg_dec_fix_req(b.data, b.len, &d, err, sizeof(err)) == -1);
	q.op = MSG_FIX_OP_DELETE;
	CHECK(msg_enc_rollback_req(&b, &q, err, sizeof(err)) == -1);	/* delete carries no data */
	q.data = NULL;
	q.data_len = 0;
	q.value_type = 0;
	CHECK(msg_enc_rollback_req(&b, &q, err, sizeof(err)) == 0);
	q.fqdn = "";
	CHECK(msg_enc_rollback_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_rollback_req(b.data, b.len, &d, err, sizeof(err)) == -1);	/* empty fqdn */
	msg_buf_free(&b);
}

static void
test_res(void)
{
	struct msg_buf b = { 0 };
	struct msg_fix_res r, d;
	uint8_t raw[] = { 0x43, 0, 0, 0, 0, 0 };
	char sha[UTIL_SHA256_HEX], err[256];
	const char *el[] = { "C" };
	size_t i;

	util_multisz_sha256(el, 1, sha);
	memset(&r, 0, sizeof(r));
	r.task = 3;
	r.write = MSG_WRITE_OK;
	r.reg = MSG_REG_VALUE;
	r.value_type = 7;
	r.decoded = 1;
	r.sha256 = sha;
	r.raw = raw;
	r.raw_len = sizeof(raw);
	CHECK(msg_enc_fix_res(&b, &r, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_res(b.data, b.len, &d, err, sizeof(err)) == 0);
	CHECK(d.task == 3 && d.write == MSG_WRITE_OK && d.reg == MSG_REG_VALUE && d.raw_len == sizeof(raw) &&
	    memcmp(d.raw, raw, sizeof(raw)) == 0);
	CHECK_STR(d.sha256, sha);
	msg_fix_res_free(&d);
	CHECK(msg_dec_rollback_res(b.data, b.len, &d, err, sizeof(err)) == 0);	/* same layout */
	msg_fix_res_free(&d);
	for (i = 0; i < b.len; i++)
		CHECK(msg_dec_fix_res(b.data, i, &d, err, sizeof(err)) == -1 && d.raw == NULL);
	r.sha256 = "abc";
	CHECK(msg_enc_fix_res(&b, &r, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_res(b.data, b.len, &d, err, sizeof(err)) == -1);	/* not a SHA-256 */
	r.sha256 = sha;
	r.reg = MSG_REG_VALUE_ABSENT;
	CHECK(msg_enc_fix_res(&b, &r, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_res(b.data, b.len, &d, err, sizeof(err)) == -1);	/* bytes without a value */
	r.reg = MSG_REG_VALUE;
	r.write = 99;
	CHECK(msg_enc_fix_res(&b, &r, err, sizeof(err)) == 0);
	CHECK(msg_dec_fix_res(b.data, b.len, &d, err, sizeof(err)) == -1);	/* unknown write outcome */
	msg_buf_free(&b);
}

static long
count(struct store *st, const char *sql)
{
	sqlite3_stmt *s;
	long n = -1;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

static void
test_store(void)
{
	char dir[] = "/tmp/dpf-test-fix-XXXXXX", path[128], err[512];
	struct store *st = NULL;
	struct store_fix_order o;
	struct store_fix_result r;
	struct store_job j, k;
	struct store_job_ref *refs = NULL;
	struct store_job_end e = { "written", "dd", NULL, "aa", NULL, "5e", "forest-b" };
	const char *hosts[] = { "DP01.lab.test", "dp02.lab.test" };
	int64_t ids[8];
	size_t n;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/state.db", dir);
	CHECK(store_open(&st, path, err, sizeof(err)) == 0);
	CHECK(store_exec(st, "INSERT INTO sites (code, type, expected_state, expected_sha256, first_seen, last_seen) "
	    "VALUES ('P01', 'primary', 'present', 'aa', 't', 't'); "
	    "INSERT INTO hosts (fqdn, site, is_dp, first_seen, last_seen) VALUES "
	    "('dp01.lab.test', 'P01', 1, 't', 't'), ('dp02.lab.test', 'P01', 1, 't', 't')", err, sizeof(err)) == 0);
	memset(&o, 0, sizeof(o));
	o.hosts = hosts;
	o.nhosts = 2;
	o.requested_by = "cli:test";
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == 0 && r.count == 2);
	free(r.jobs);
	CHECK(store_jobs_ids(st, "queued", ids, 8, &n, err, sizeof(err)) == 0 && n == 2);
	CHECK(store_jobs_claim(st, ids[0], 0, &j, err, sizeof(err)) == 0);
	CHECK(j.attempts == 1 && j.backup == NULL && strcmp(j.state, "running") == 0);
	CHECK_STR(j.expected_sha256, "aa");
	CHECK(store_jobs_claim(st, ids[0], 0, &k, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	CHECK(store_jobs_set_backup(st, ids[0], "0000", 7, "ee", err, sizeof(err)) == 0);
	CHECK(store_jobs_set_backup(st, ids[0], "absent", -1, NULL, err, sizeof(err)) == 1);	/* never overwritten */
	CHECK(store_jobs_claim(st, ids[0], 1, &k, err, sizeof(err)) == 0);		/* resume after a crash */
	CHECK(k.attempts == 2 && k.backup != NULL && strcmp(k.backup, "0000") == 0 && k.backup_type == 7);
	CHECK_STR(k.expected_sha256, "aa");	/* the approved hash: the backup does not change it */
	store_job_free(&k);
	CHECK(store_jobs_finish(st, ids[0], &e, err, sizeof(err)) == 0);
	CHECK(store_jobs_finish(st, ids[0], &e, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	CHECK(store_jobs_set_backup(st, ids[0], "00", 7, NULL, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	/* The approved hash stays; the run-time site hash and the seal have their own columns. */
	CHECK(count(st, "SELECT count(*) FROM jobs WHERE expected_sha256 = 'aa' AND site_sha256 = 'dd' AND "
	    "seal = '5e'") == 1);
	/* The credential set the job used, in the row and in its audit entry. */
	CHECK(count(st, "SELECT count(*) FROM jobs WHERE cred_set = 'forest-b'") == 1);
	CHECK(count(st, "SELECT count(*) FROM audit WHERE action = 'job.end' AND "
	    "json_extract(detail, '$.cred_set') = 'forest-b'") == 1);
	CHECK(store_jobs_load(st, ids[0], &k, err, sizeof(err)) == 1);
	CHECK(strcmp(k.outcome, "written") == 0 && strcmp(k.after_sha256, "aa") == 0 && strcmp(k.seal, "5e") == 0);
	store_job_free(&k);
	/* Finished from a re-read (no before hash given): the hash recorded with the backup stays. */
	CHECK(count(st, "SELECT count(*) FROM jobs WHERE state = 'done' AND outcome = 'written' AND "
	    "backup = '0000' AND before_sha256 = 'ee'") == 1);
	CHECK(count(st, "SELECT count(*) FROM audit WHERE action = 'job.start' AND who = 'scanner'") == 2);
	CHECK(count(st, "SELECT count(*) FROM audit WHERE action = 'job.end' AND who = 'scanner' AND "
	    "outcome = 'written' AND detail LIKE '%\"before_sha256\":\"ee\",\"after_sha256\":\"aa\"%'") == 1);
	CHECK(count(st, "SELECT count(*) FROM audit WHERE action = 'job.queue' AND who = 'cli:test'") == 2);
	/* A failure outcome ends in state failed; a cancelled job cannot be claimed. */
	CHECK(store_jobs_cancel(st, ids[1], "cli:test", err, sizeof(err)) == 0);
	CHECK(store_jobs_claim(st, ids[1], 0, &k, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	CHECK(store_jobs_claim(st, 999, 0, &k, err, sizeof(err)) == STORE_JOBS_NOT_FOUND);
	/* The written host has no observation after the write: it is listed for a rescan. */
	CHECK(store_jobs_unscanned(st, 10, &refs, &n, err, sizeof(err)) == 0 && n == 1);
	CHECK(n == 1 && strcmp(refs[0].host, "dp01.lab.test") == 0 && refs[0].id == ids[0]);
	free(refs);
	store_job_free(&j);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-shm", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

/*
 * all_affected on test_store_guard's DB (dp01 at P01, value present; dp02 at P02, ambiguous), both newest
 * verdict missing: only dp01 is taken and P02 is named as left out; P02 alone is refused with nothing queued.
 */
static void
test_store_affected(struct store *st)
{
	struct store_fix_order o;
	struct store_fix_result r;
	char err[512];
	long before = count(st, "SELECT count(*) FROM jobs");

	CHECK(store_exec(st, "INSERT INTO scans (id, trigger, started_at, state) VALUES (1, 'cli', 't', 'done'); "
	    "INSERT INTO observations (id, scan_id, host_id, at, state, affected) SELECT id, 1, id, 't', "
	    "'missing', 1 FROM hosts; UPDATE hosts SET last_obs_id = id", err, sizeof(err)) == 0);
	memset(&o, 0, sizeof(o));
	o.all_affected = 1;
	o.requested_by = "oper";
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == 0 && r.count == 1);
	CHECK(r.count == 1 && strcmp(r.jobs[0].host, "dp01.lab.test") == 0);
	CHECK(r.nskipped == 1 && strcmp(r.skipped[0].site, "P02") == 0 &&
	    strcmp(r.skipped[0].why, "ambiguous") == 0 && r.skipped[0].hosts == 1);
	store_fix_result_free(&r);
	CHECK(r.jobs == NULL && r.skipped == NULL && r.nskipped == 0);
	o.site = "P02";
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	CHECK(r.jobs == NULL && r.nskipped == 1 && strstr(err, "P02 (ambiguous, 1 host)") != NULL);
	store_fix_result_free(&r);
	CHECK(count(st, "SELECT count(*) FROM jobs") == before + 1);
	o.site = "P01";		/* nothing left out */
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == 0 && r.count == 1 && r.skipped == NULL);
	store_fix_result_free(&r);
	CHECK(count(st, "SELECT count(*) FROM jobs WHERE host = 'dp01.lab.test' AND expected_sha256 = 'aa'") >= 2);
}

/*
 * What the state DB lets dpfleet-server queue (a named host whose site has no usable value: CONFLICT, nothing
 * queued; all affected hosts: only those whose site has one, the others' sites named, CONFLICT when none
 * remain) and the newer-write lookup of a rollback.
 */
static void
test_store_guard(void)
{
	char dir[] = "/tmp/dpf-test-fixg-XXXXXX", path[128], err[512];
	struct store *st = NULL;
	struct store_fix_order o;
	struct store_fix_result r;
	const char *hosts[] = { "dp01.lab.test", "dp02.lab.test" };
	int64_t id;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/state.db", dir);
	CHECK(store_open(&st, path, err, sizeof(err)) == 0);
	CHECK(store_exec(st, "INSERT INTO sites (code, type, expected_state, expected_sha256, first_seen, last_seen) "
	    "VALUES ('P01', 'primary', 'present', 'aa', 't', 't'), ('P02', 'primary', 'ambiguous', NULL, 't', 't'); "
	    "INSERT INTO hosts (fqdn, site, is_dp, first_seen, last_seen) VALUES "
	    "('dp01.lab.test', 'P01', 1, 't', 't'), ('dp02.lab.test', 'P02', 1, 't', 't')", err, sizeof(err)) == 0);
	memset(&o, 0, sizeof(o));
	o.hosts = hosts;
	o.nhosts = 2;
	o.requested_by = "oper";
	o.require_site_value = 1;
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == STORE_JOBS_CONFLICT);
	CHECK(strcmp(r.unknown, "dp02.lab.test") == 0 && strstr(err, "P02 (ambiguous)") != NULL);
	CHECK(count(st, "SELECT count(*) FROM jobs") == 0);
	o.nhosts = 1;
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == 0 && r.count == 1);
	free(r.jobs);
	o.require_site_value = 0;	/* the CLI: queued, refused by the scanner for want of an approval */
	o.hosts = hosts + 1;
	CHECK(store_jobs_queue_fixes(st, &o, &r, err, sizeof(err)) == 0 && r.count == 1);
	free(r.jobs);
	CHECK(count(st, "SELECT count(*) FROM jobs WHERE host = 'dp02.lab.test' AND expected_sha256 IS NULL") == 1);
	test_store_affected(st);
	/* Newer writes: only done written/restored jobs of the same host (any case) after the given one. */
	CHECK(store_exec(st, "INSERT INTO jobs (id, kind, host, requested_by, requested_at, state, outcome) VALUES "
	    "(10, 'fix', 'dp01.lab.test', 'x', 't', 'done', 'written'), "
	    "(11, 'fix', 'DP01.lab.test', 'x', 't', 'done', 'already_correct'), "
	    "(12, 'fix', 'dp02.lab.test', 'x', 't', 'done', 'written'), "
	    "(13, 'rollback', 'DP01.LAB.TEST', 'x', 't', 'done', 'restored')", err, sizeof(err)) == 0);
	CHECK(store_jobs_newer_write(st, "dp01.lab.test", 10, &id, err, sizeof(err)) == 1 && id == 13);
	CHECK(store_jobs_newer_write(st, "dp01.lab.test", 13, &id, err, sizeof(err)) == 0 && id == 0);
	CHECK(store_jobs_newer_write(st, "dp02.lab.test", 12, &id, err, sizeof(err)) == 0);
	store_close(st);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-wal", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/state.db-shm", dir);
	unlink(path);
	CHECK(rmdir(dir) == 0);
}

int
main(void)
{
	test_req();
	test_res();
	test_store();
	test_store_guard();
	return check_done("test_fix");
}
