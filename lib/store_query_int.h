/*
 * store_query_int.h — what the files of the read side share: lib/store_query.c (vocabularies, rows as
 * JSON, scans, audit, fixes report), lib/store_query_hosts.c (host list, host page, host reports) and
 * lib/store_query_summary.c (summary and metrics figures).  Their public interface is store_query.h; this
 * header is for lib/store_query*.c only.
 */
#ifndef DPFLEET_STORE_QUERY_INT_H
#define DPFLEET_STORE_QUERY_INT_H

#include <stdint.h>

#include <jansson.h>

#include "store_query.h"
#include "util.h"

/* The states that make a host affected (doc/dpfleet-scanner.8, "Verdicts"), as an SQL list. */
#define AFFECTED_SQL	"('missing', 'empty', 'mismatch')"

#define NCOLS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The index of s among the names name(0), name(1), ... (store_state_name, store_outcome_name or
 * store_jobstate_name), or -1 when s is NULL or none of them.
 */
int	 store_query_index(const char *(*name)(int), const char *s);

/*
 * Run sql with its integer parameters (bound to ?1..?nparams) and append one object per row, shaped by cols,
 * to arr.  0, or -1 with "out of memory" or "<what>: <SQLite error>" in err; rows appended before a failure
 * stay in arr (the caller drops it).
 */
int	 store_query_rows(struct store *st, const char *sql, const int64_t *params, int nparams,
	    const struct store_col *cols, size_t ncols, json_t *arr, const char *what, char *err, size_t errlen);

/*
 * The end of a query that built v: when oom is 0, hand v over to *out and return ok; else json_decref(v),
 * put "<prefix>out of memory" in err and return -1 (*out untouched).  Takes v either way.
 */
int	 store_query_finish(json_t *v, int oom, int ok, const char *prefix, json_t **out, char *err,
	    size_t errlen);

/* Column i of the current row as a JSON string (store_json_text), integer or boolean; SQL NULL is null. */
static inline json_t *
col_str(sqlite3_stmt *s, int i)
{
	return store_json_text((const char *)sqlite3_column_text(s, i));
}

static inline json_t *
col_int(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_integer(sqlite3_column_int64(s, i));
}

static inline json_t *
col_bool(sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		return json_null();
	return json_boolean(sqlite3_column_int(s, i) != 0);
}

/* json_object_set_new that reports allocation failure through a sticky flag (v NULL counts as one). */
static inline void
put(json_t *o, const char *k, json_t *v, int *oom)
{
	if (v == NULL || json_object_set_new(o, k, v) == -1)
		*oom = 1;
}

/* "<what>: <SQLite error>" into err; returns -1. */
static inline int
step_err(struct store *st, const char *what, char *err, size_t errlen)
{
	return util_err(err, errlen, "%s: %s", what, sqlite3_errmsg(store_db(st)));
}

#endif
