/*
 * test_store.c — lib/store.c: a fresh DB gets every embedded migration; re-opening is a no-op; a DB with a
 * version newer than the binary is refused and left alone; a failing migration rolls back and leaves the
 * DB byte-for-byte as it was (checked by schema text and data); WAL mode is on; audit rows append; under the
 * units' UMask=0007 the DB and its -wal/-shm files are group-writable (mode 0660: both daemons write).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "dbcheck.h"
#include "store.h"

static char dir[] = "/tmp/dpfleet-test-store-XXXXXX";

/* Permission bits of path, or -1. */
static int
file_mode(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == -1 ? -1 : (int)(sb.st_mode & 07777);
}

/*
 * The schema and data as text, to compare a DB before and after a failed migration.  Never empty: a DB
 * that cannot be opened or queried fails a CHECK (and gives "", which no real snapshot equals).
 */
static char *
snapshot(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	size_t cap = 1 << 16, len = 0;
	char *out = calloc(1, cap);
	int rc = SQLITE_ERROR;

	CHECK(out != NULL);
	if (out == NULL)
		exit(1);
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT type || ':' || name || ':' || coalesce(sql, '') FROM sqlite_master "
	    "UNION ALL SELECT 'row:' || version || ':' || name FROM schema_migrations "
	    "UNION ALL SELECT 'site:' || code FROM sites ORDER BY 1", -1, &s, NULL) == SQLITE_OK) {
		while ((rc = sqlite3_step(s)) == SQLITE_ROW && len < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s\n", sqlite3_column_text(s, 0));
	}
	if (rc != SQLITE_DONE)
		fprintf(stderr, "snapshot %s: %s\n", path, db ? sqlite3_errmsg(db) : "out of memory");
	CHECK(rc == SQLITE_DONE);
	CHECK(len > 0 && len < cap);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return out;
}

/* A fresh DB: every migration applied; under the units' umask it and its WAL are mode 0660; constraints hold. */
static void
check_fresh(const char *path, const char *wal)
{
	struct store *st;
	char err[512];
	mode_t mask;

	CHECK(store_nmigrations >= 1);
	mask = umask(0007);
	CHECK(store_open(&st, path, err, sizeof(err)) == 0);
	umask(mask);
	CHECK(file_mode(path) == 0660);
	CHECK(file_mode(wal) == 0660);
	CHECK(store_version(st) == (int)store_nmigrations);
	CHECK(db_num(store_db(st), "SELECT count(*) FROM schema_migrations") == (int)store_nmigrations);
	CHECK(db_num(store_db(st), "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
	    "('sites','hosts','scans','observations','evidence','scan_requests','jobs','users','sessions',"
	    "'audit')") == 10);
	CHECK(db_num(store_db(st), "SELECT journal_mode = 'wal' FROM pragma_journal_mode") == 1);
	CHECK(store_exec(st, "INSERT INTO sites (code, type, expected_state, first_seen, last_seen) "
	    "VALUES ('PS1', 'primary', 'absent', 'x', 'x')", err, sizeof(err)) == 0);
	CHECK(store_audit(st, "cli:root", "test", "PS1", "ok", "{\"a\":1}", err, sizeof(err)) == 0);
	CHECK(db_num(store_db(st), "SELECT count(*) FROM audit WHERE who = 'cli:root'") == 1);
	/* constraints hold: bad state refused */
	CHECK(store_exec(st, "INSERT INTO sites (code, type, expected_state, first_seen, last_seen) "
	    "VALUES ('PS2', 'bogus', 'absent', 'x', 'x')", err, sizeof(err)) == -1);
	store_close(st);
}

int
main(void)
{
	struct store *st;
	struct store_migration extra[64];
	char path[512], wal[520], err[512], *before, *after;
	int rc;
	size_t i;

	if (check_tmpdir(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/state.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", path);

	check_fresh(path, wal);

	/* re-open: no-op */
	before = snapshot(path);
	CHECK(store_open(&st, path, err, sizeof(err)) == 0);
	CHECK(db_num(store_db(st), "SELECT count(*) FROM schema_migrations") == (int)store_nmigrations);
	store_close(st);
	after = snapshot(path);
	CHECK_STR(after, before);
	free(after);

	/* a failing migration (N+1 creates a table, N+2 fails) rolls back everything it did */
	CHECK(store_nmigrations + 2 <= sizeof(extra) / sizeof(extra[0]));
	for (i = 0; i < store_nmigrations; i++)
		extra[i] = store_migrations[i];
	extra[i++] = (struct store_migration){ (int)store_nmigrations + 1, "good",
	    "CREATE TABLE newtable (a INTEGER); INSERT INTO sites (code, type, expected_state, first_seen, "
	    "last_seen) VALUES ('NEW', 'primary', 'absent', 'x', 'x');" };
	extra[i++] = (struct store_migration){ (int)store_nmigrations + 2, "broken",
	    "CREATE TABLE other (b INTEGER); SELECT * FROM no_such_table;" };
	CHECK(store_open_with(&st, path, extra, i, err, sizeof(err)) == -1);
	CHECK(st == NULL);
	CHECK(strstr(err, "_broken failed") != NULL && strstr(err, "no_such_table") != NULL);
	after = snapshot(path);
	CHECK_STR(after, before);
	free(after);

	/* both new ones succeed: applied; then the binary with fewer migrations refuses the DB */
	extra[i - 1].sql = "CREATE TABLE other (b INTEGER);";
	CHECK(store_open_with(&st, path, extra, i, err, sizeof(err)) == 0);
	CHECK(st != NULL && store_version(st) == (int)i);
	store_close(st);
	after = snapshot(path);
	CHECK(store_open(&st, path, err, sizeof(err)) == -1);
	CHECK(strstr(err, "is newer than this binary") != NULL);
	free(before);
	before = snapshot(path);
	CHECK_STR(before, after);	/* refused and untouched */
	free(before);
	free(after);

	/* an unwritable path is an error, not a crash */
	CHECK(store_open(&st, "/nonexistent/dir/state.db", err, sizeof(err)) == -1);

	rc = check_done("store");
	check_rmtree(dir);
	return rc;
}
