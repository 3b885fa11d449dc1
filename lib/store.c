/*
 * store.c — open the SQLite state DB and keep its schema current.
 *
 * Both daemons call store_open() at start.  The DB runs in WAL mode (the server reads while the scanner
 * writes) with a busy timeout, foreign keys on.  Migrations are the numbered files in migrations/, embedded
 * at build time (migrations/embed.py -> store_migrations[]).  All pending migrations are applied inside ONE
 * BEGIN IMMEDIATE transaction together with their schema_migrations rows, so a failing migration leaves the
 * DB exactly as it was; two processes starting at once serialise on that lock and the second finds nothing
 * to do.  A DB whose schema_migrations holds a version this binary does not know is refused: an older binary
 * must never write a newer schema.
 *
 * The two daemons run as different users in one group (dist/: dpfleet-scanner and dpfleet-server, group
 * dpfleet, UMask=0007, /var/lib/dpfleet setgid dpfleet): both write the DB (the server its sessions and
 * queues), so a new DB file is created here with mode 0660 less the umask, not SQLite's 0644.  SQLite gives
 * the -wal and -shm files the DB file's mode, so they stay group-writable too.
 *
 * Domain queries live in lib/store_*.c modules that use store_db(); this file owns only the connection.
 */
#include "log.h"
#include "store.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_BUSY_MS	10000
#define STORE_FILE_MODE	0660		/* less the umask; SQLite's own default is 0644 */

struct store {
	sqlite3	*db;
	int	 version;
};

static int
exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		util_err(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* Highest applied version, 0 when the table is absent or empty; -1 on error. */
static int
applied_version(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int v = -1;

	if (exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)", err, errlen) == -1)
		return -1;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM schema_migrations", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		util_err(err, errlen, "schema_migrations: %s", sqlite3_errmsg(db));
		goto done;
	}
	v = sqlite3_column_int(st, 0);
done:
	sqlite3_finalize(st);
	return v;
}

static int
migrate(sqlite3 *db, const struct store_migration *m, size_t n, int *version, char *err, size_t errlen)
{
	sqlite3_stmt *ins = NULL;
	char now[UTIL_ISO_LEN], why[512];
	int have;
	size_t i;

	if (exec(db, "BEGIN IMMEDIATE", err, errlen) == -1)
		return -1;
	if ((have = applied_version(db, err, errlen)) == -1)
		goto fail;
	if ((size_t)have > n) {
		util_err(err, errlen, "state DB schema version %d is newer than this binary (%zu): "
		    "refusing to use it", have, n);
		goto fail;
	}
	if ((size_t)have == n) {
		*version = have;
		return exec(db, "COMMIT", err, errlen);
	}
	if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, name, applied_at) "
	    "VALUES (?, ?, ?)", -1, &ins, NULL) != SQLITE_OK) {
		util_err(err, errlen, "schema_migrations: %s", sqlite3_errmsg(db));
		goto fail;
	}
	util_iso_now(now);
	for (i = (size_t)have; i < n; i++) {
		if (m[i].version != (int)i + 1) {
			util_err(err, errlen, "migration list out of order at %d", m[i].version);
			goto fail;
		}
		if (exec(db, m[i].sql, why, sizeof(why)) == -1) {
			util_err(err, errlen, "migration %04d_%s failed: %s", m[i].version, m[i].name, why);
			goto fail;
		}
		sqlite3_reset(ins);
		sqlite3_bind_int(ins, 1, m[i].version);
		sqlite3_bind_text(ins, 2, m[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, now, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(ins) != SQLITE_DONE) {
			util_err(err, errlen, "schema_migrations: %s", sqlite3_errmsg(db));
			goto fail;
		}
	}
	sqlite3_finalize(ins);
	ins = NULL;
	if (exec(db, "COMMIT", err, errlen) == -1)
		goto fail;
	*version = (int)n;
	return 0;
fail:
	sqlite3_finalize(ins);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int
store_open_with(struct store **out, const char *path, const struct store_migration *m, size_t n,
    char *err, size_t errlen)
{
	struct store *st;
	char why[512];
	int fd;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL)
		return util_err(err, errlen, "%s: out of memory", path);
	/* A new file gets the group's write bit (an empty file is a new DB to SQLite); errors are SQLite's.
	 * Only a file path (config requires absolute paths), never ":memory:". */
	if (path[0] == '/' &&
	    (fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, STORE_FILE_MODE)) != -1)
		close(fd);
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		util_err(err, errlen, "%s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 1);
	if (exec(st->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
	    "PRAGMA foreign_keys = ON", why, sizeof(why)) == -1) {
		util_err(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	if (migrate(st->db, m, n, &st->version, why, sizeof(why)) == -1) {
		util_err(err, errlen, "%s: %s", path, why);
		goto fail;
	}
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

int
store_open(struct store **out, const char *path, char *err, size_t errlen)
{
	return store_open_with(out, path, store_migrations, store_nmigrations, err, errlen);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	sqlite3_close_v2(st->db);
	free(st);
}

sqlite3 *
store_db(struct store *st)
{
	return st->db;
}

int
store_version(struct store *st)
{
	return st->version;
}

int
store_begin(struct store *st, char *err, size_t errlen)
{
	return exec(st->db, "BEGIN IMMEDIATE", err, errlen);
}

int
store_commit(struct store *st, char *err, size_t errlen)
{
	if (exec(st->db, "COMMIT", err, errlen) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int
store_prepare(struct store *st, sqlite3_stmt **s, const char *sql, char *err, size_t errlen)
{
	if (sqlite3_prepare_v2(st->db, sql, -1, s, NULL) != SQLITE_OK)
		return util_err(err, errlen, "prepare: %s", sqlite3_errmsg(st->db));
	return 0;
}

int
store_step_done(struct store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen)
{
	if (sqlite3_step(s) == SQLITE_DONE)
		return 0;
	if (what == NULL)
		return util_err(err, errlen, "%s", sqlite3_errmsg(st->db));
	return util_err(err, errlen, "%s: %s", what, sqlite3_errmsg(st->db));
}

int
store_exec(struct store *st, const char *sql, char *err, size_t errlen)
{
	return exec(st->db, sql, err, errlen);
}

/*
 * A malloc'd copy of text with its control bytes escaped (log_escape), so an audit row's text never holds a
 * raw CR, LF or other control byte (OWASP "Log Injection").  NULL stays NULL; *oom is set when out of memory.
 * The caller frees the copy.
 */
static char *
audit_text(const char *text, int *oom)
{
	size_t n;
	char *out;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	if (n > (SIZE_MAX - 1) / 4 || (out = malloc(4 * n + 1)) == NULL) {
		*oom = 1;
		return NULL;
	}
	log_escape(text, out, 4 * n + 1);
	return out;
}

int
store_audit(struct store *st, const char *who, const char *action, const char *target,
    const char *outcome, const char *detail, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char now[UTIL_ISO_LEN], *t[4];
	int rc = -1, oom = 0, i;

	t[0] = audit_text(who, &oom);
	t[1] = audit_text(action, &oom);
	t[2] = audit_text(target, &oom);
	t[3] = audit_text(outcome, &oom);
	if (oom) {
		util_err(err, errlen, "audit: out of memory");
		goto done;
	}
	util_iso_now(now);
	if (sqlite3_prepare_v2(st->db, "INSERT INTO audit (at, who, action, target, outcome, detail) "
	    "VALUES (?, ?, ?, ?, ?, ?)", -1, &s, NULL) != SQLITE_OK) {
		util_err(err, errlen, "audit: %s", sqlite3_errmsg(st->db));
		goto done;
	}
	sqlite3_bind_text(s, 1, now, -1, SQLITE_TRANSIENT);
	for (i = 0; i < 4; i++)
		sqlite3_bind_text(s, 2 + i, t[i], -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(s, 6, detail, -1, SQLITE_TRANSIENT);
	if (store_step_done(st, s, "audit", err, errlen) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_finalize(s);
	for (i = 0; i < 4; i++)
		free(t[i]);
	return rc;
}
