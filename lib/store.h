/*
 * store.h — the SQLite state DB both daemons share: open in WAL mode, apply the embedded migrations,
 * refuse a DB newer than the binary.  Domain queries live in lib/store_*.c modules (one per table family)
 * that take a struct store and use store_db(); no SQL lives outside lib/.
 */
#ifndef DPFLEET_STORE_H
#define DPFLEET_STORE_H

#include <stddef.h>
#include <sqlite3.h>

#include "consts.h"

#define STORE_FQDN_MAX	DPF_FQDN_MAX	/* hosts.fqdn, jobs.host in bytes, NUL included */

struct store;

struct store_migration {
	int		 version;	/* 1..N, gapless */
	const char	*name;
	const char	*sql;
};

/* Generated from the numbered migrations/NNNN_name.sql files by migrations/embed.py. */
extern const struct store_migration store_migrations[];
extern const size_t store_nmigrations;

/*
 * Open (creating if needed) the state DB at path and bring it to the newest embedded schema.
 * Returns 0 and sets *out (caller frees with store_close), or -1 with the reason in err; on failure nothing
 * is left open and a failed migration leaves the DB exactly as it was (all pending migrations run in one
 * BEGIN IMMEDIATE transaction with their schema_migrations rows).
 */
int	 store_open(struct store **out, const char *path, char *err, size_t errlen);

/* As store_open with an explicit migration list (tests inject broken or newer ones). */
int	 store_open_with(struct store **out, const char *path, const struct store_migration *m,
	    size_t n, char *err, size_t errlen);

/* Close and free; NULL is fine. */
void	 store_close(struct store *st);

/* The connection, owned by st: do not close it.  For lib/store_*.c modules and tests. */
sqlite3	*store_db(struct store *st);

/* Applied schema version (0 for an empty DB). */
int	 store_version(struct store *st);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK.  Return 0 or -1 with the reason in err. */
int	 store_begin(struct store *st, char *err, size_t errlen);
int	 store_commit(struct store *st, char *err, size_t errlen);
void	 store_rollback(struct store *st);

/*
 * Prepare one statement on st's connection for the lib/store_*.c modules.  0 and *s (caller finalizes), or
 * -1 with "prepare: <SQLite error>" in err and *s NULL.
 */
int	 store_prepare(struct store *st, sqlite3_stmt **s, const char *sql, char *err, size_t errlen);

/*
 * Step s once, expecting it to finish without a row.  0, or -1 with "<what>: <SQLite error>" in err (the
 * SQLite error alone when what is NULL).  s is not finalized either way.
 */
int	 store_step_done(struct store *st, sqlite3_stmt *s, const char *what, char *err, size_t errlen);

/* Run SQL without results (several statements allowed).  0 or -1 with the reason in err. */
int	 store_exec(struct store *st, const char *sql, char *err, size_t errlen);

/*
 * Append one audit row; detail may be NULL or a JSON object text.  Control bytes in who, action, target and
 * outcome are stored escaped (log_escape in lib/log.h).  0 or -1 with the reason in err (no row).
 */
int	 store_audit(struct store *st, const char *who, const char *action, const char *target,
	    const char *outcome, const char *detail, char *err, size_t errlen);

#endif
