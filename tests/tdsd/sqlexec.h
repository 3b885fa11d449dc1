/*
 * sqlexec.h — run one T-SQL batch on the fixture's SQLite database and encode the TDS reply tokens.
 */
#ifndef DPFLEET_SQLEXEC_H
#define DPFLEET_SQLEXEC_H

#include <sqlite3.h>
#include <stdint.h>

#include "tds.h"

#define SQLEXEC_SERVER_NAME	"dpfleet-tdsd"

/*
 * Open the database read-only for one connection (no ATTACH, 10 s statement time limit).  Returns the handle
 * (caller closes with sqlite3_close) or NULL + err.
 */
sqlite3	*sqlexec_open(const char *path, char *err, size_t errlen);

/*
 * Rewrite (tsql_rewrite.c) and run every statement of a UTF-8 batch, appending to out, per statement,
 * COLMETADATA + ROW... + DONE(COUNT, MORE unless last); the first failing statement ends the batch with
 * ERROR (208 invalid object, 207 invalid column, 102 syntax, 3906 read-only, 911 USE of another database,
 * 50000 other; class 16) +
 * DONE(ERROR).  database names the database in messages.  Returns 0 when out holds a complete reply; -1 when
 * out's cap was hit (out holds a partial reply the caller must discard).
 */
int	 sqlexec_batch(sqlite3 *db, const char *sql, uint32_t tds_version, const char *database,
	    struct tds_buf *out);

#endif
