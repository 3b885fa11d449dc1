/*
 * dbcheck.h — read one value back from a test's SQLite DB, for the store unit tests' assertions.  Static
 * inline like check.h: include it in the test that needs it.
 */
#ifndef DPFLEET_DBCHECK_H
#define DPFLEET_DBCHECK_H

#include <stddef.h>

#include <sqlite3.h>

#include "util.h"

/* First column of the first row as a number: -1 when there is no row, -2 when sql does not prepare. */
static inline long
db_num(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *s;
	long n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return -2;
	if (sqlite3_step(s) == SQLITE_ROW)
		n = (long)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return n;
}

/* First column of the first row as text into buf ("" for NULL or no row; "(prepare failed)" if so). */
static inline const char *
db_text(sqlite3 *db, const char *sql, char *buf, size_t cap)
{
	sqlite3_stmt *s;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		return "(prepare failed)";
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		util_strlcpy(buf, (const char *)sqlite3_column_text(s, 0), cap);
	sqlite3_finalize(s);
	return buf;
}

#endif
