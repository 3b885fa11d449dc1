/*
 * sqlexec.c — executes a client's batch on the read-only SQLite copy of the site database and turns each
 * statement's result into TDS tokens (tds.c), for the dpfleet-tdsd connection loop in tdsd.c.
 *
 * Column types: SQLite is dynamically typed, so every SELECT runs twice.  The first pass looks at every value
 * of every column (integer range, float, text length, whether text parses as a date); together with the
 * declared type (sqlite3_column_decltype, NULL for expressions and some view columns) it picks one TDS type
 * per column: BIT for BIT/BOOL columns, DATETIME for DATE/TIME columns holding ISO text, INT or BIGINT when a
 * value does not fit 32 bits, FLOAT, else NVARCHAR(4000), or for longer text NVARCHAR(MAX) (PLP, TDS 7.2+) or
 * NTEXT (TDS 7.0/7.1).  The second
 * pass encodes COLMETADATA and the rows.  The database is read-only (SQLITE_OPEN_READONLY), ATTACH is
 * disabled, and each statement has a 10-second budget enforced by a progress handler.  T-SQL SET statements
 * are accepted and ignored (clients send SET options), USE of the one database answers ENVCHANGE + INFO 5701;
 * everything else goes through tsql_rewrite().
 */
#include "sqlexec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "tsql_rewrite.h"
#include "util.h"

#define STMT_BUDGET_MS	10000
#define NVARCHAR_UNITS	4000
#define MAX_COLUMNS	1024

enum decl { D_NONE, D_INT, D_FLOAT, D_TEXT, D_BIT, D_DATETIME };

struct colscan {
	enum decl decl;
	int	 seen_int, seen_float, seen_text, big, dt_bad;
	size_t	 max_units;
};

struct budget {
	int64_t	 deadline;
};

static int
progress_cb(void *arg)
{
	const struct budget *b = arg;

	return util_mono_ms() > b->deadline;
}

sqlite3 *
sqlexec_open(const char *path, char *err, size_t errlen)
{
	sqlite3	*db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		util_err(err, errlen, "%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, 16 * 1024 * 1024);
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static enum decl
decl_class(const char *d)
{
	char	 up[64];
	size_t	 i;

	if (d == NULL)
		return D_NONE;
	for (i = 0; d[i] && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)d[i]);
	up[i] = '\0';
	if (strstr(up, "BIT") || strstr(up, "BOOL"))
		return D_BIT;
	if (strstr(up, "DATE") || strstr(up, "TIME"))
		return D_DATETIME;
	if (strstr(up, "INT"))
		return D_INT;
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return D_TEXT;
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB") || strstr(up, "NUM") || strstr(up, "DEC"))
		return D_FLOAT;
	return D_NONE;
}

static void
pick_type(const struct colscan *s, uint32_t tdsver, struct tds_column *c)
{
	c->flags = 0x0001;	/* nullable */
	c->size = 0;
	c->maxlen = 0;
	if (s->decl == D_BIT && !s->seen_text && !s->seen_float) {
		c->type = TDS_TYPE_BITN;
		c->size = 1;
		return;
	}
	if (s->decl == D_DATETIME && !s->seen_int && !s->seen_float && !s->dt_bad) {
		c->type = TDS_TYPE_DATETIMN;
		c->size = 8;
		return;
	}
	if (s->decl == D_TEXT || s->decl == D_DATETIME || s->seen_text) {
		c->type = TDS_TYPE_NVARCHAR;
		c->maxlen = NVARCHAR_UNITS * 2;
		if (s->max_units > NVARCHAR_UNITS) {
			if (TDS_LEVEL(tdsver) >= 0x702)
				c->maxlen = 0xffff;	/* NVARCHAR(MAX), PLP */
			else
				c->type = TDS_TYPE_NTEXT;
		}
		return;
	}
	if (s->seen_float || (s->decl == D_FLOAT && !s->seen_int)) {
		c->type = TDS_TYPE_FLTN;
		c->size = 8;
		return;
	}
	c->type = TDS_TYPE_INTN;
	c->size = s->big ? 8 : 4;
}

static int
put_value(struct tds_buf *out, sqlite3_stmt *st, int i, const struct tds_column *c)
{
	const char	*txt;
	size_t		 len;
	int32_t		 days;
	uint32_t	 ticks;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return tds_put_null(out, c);
	switch (c->type) {
	case TDS_TYPE_INTN:
	case TDS_TYPE_BITN:
		return tds_put_int(out, c, sqlite3_column_int64(st, i));
	case TDS_TYPE_FLTN:
		return tds_put_float(out, c, sqlite3_column_double(st, i));
	case TDS_TYPE_DATETIMN:
		txt = (const char *)sqlite3_column_text(st, i);
		if (txt == NULL || tds_datetime_parse(txt, &days, &ticks) == -1)
			return tds_put_null(out, c);
		return tds_put_datetime(out, days, ticks);
	default:
		txt = (const char *)sqlite3_column_text(st, i);
		len = (size_t)sqlite3_column_bytes(st, i);
		if (txt == NULL)
			return tds_put_null(out, c);
		if (c->type == TDS_TYPE_NVARCHAR && c->maxlen != 0xffff)
			len = tds_utf8_prefix(txt, len, c->maxlen / 2);
		return tds_put_string(out, c, txt, len);
	}
}

static void
map_error(const char *msg, const char *database, int32_t *num, char *text, size_t textlen)
{
	if (strncmp(msg, "no such table: ", 15) == 0) {
		*num = 208;
		snprintf(text, textlen, "Invalid object name '%s'.", msg + 15);
	} else if (strncmp(msg, "no such column: ", 16) == 0) {
		*num = 207;
		snprintf(text, textlen, "Invalid column name '%s'.", msg + 16);
	} else if (strstr(msg, "syntax error") || strstr(msg, "incomplete input") || strstr(msg, "unrecognized token")) {
		*num = 102;
		snprintf(text, textlen, "Incorrect syntax (%s).", msg);
	} else if (strstr(msg, "readonly") || strstr(msg, "read-only")) {
		*num = 3906;
		snprintf(text, textlen, "Failed to update database \"%s\" because the database is read-only.", database);
	} else {
		*num = 50000;
		snprintf(text, textlen, "%s", msg);
	}
}

/* Skip whitespace, ';' and comments; returns the start of the next statement (maybe ""). */
static const char *
skip_blank(const char *p)
{
	for (;;) {
		while (*p == ';' || isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *e = strstr(p + 2, "*/");

			p = e ? e + 2 : p + strlen(p);
		} else
			return p;
	}
}

/* What one row's values say about each column's type and width (the first pass of run_stmt). */
static void
scan_row(sqlite3_stmt *st, struct colscan *scan, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct colscan *s = &scan[i];
		const char *txt;
		int32_t d;
		uint32_t t;

		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER: {
			sqlite3_int64 v = sqlite3_column_int64(st, i);

			s->seen_int = 1;
			if (v < INT32_MIN || v > INT32_MAX)
				s->big = 1;
			if (s->max_units < 20)
				s->max_units = 20;
			break;
		}
		case SQLITE_FLOAT:
			s->seen_float = 1;
			if (s->max_units < 32)
				s->max_units = 32;
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			txt = (const char *)sqlite3_column_text(st, i);
			s->seen_text = 1;
			if (txt != NULL) {
				size_t u = tds_utf16_units(txt, (size_t)sqlite3_column_bytes(st, i));

				if (u > s->max_units)
					s->max_units = u;
				if (s->decl == D_DATETIME && tds_datetime_parse(txt, &d, &t) == -1)
					s->dt_bad = 1;
			}
			if (s->decl == D_DATETIME && !s->dt_bad)
				s->seen_text = 0;	/* ISO text in a DATETIME column stays a date */
			break;
		default:
			break;
		}
	}
}

/* One SELECT-like statement → COLMETADATA, ROWs, DONE(MORE).  *last_done is the DONE's offset. */
static int
run_stmt(sqlite3_stmt *st, uint32_t tdsver, struct tds_buf *out, size_t *last_done, int *failed)
{
	struct colscan	 scan[MAX_COLUMNS];
	struct tds_column *cols = NULL;
	int		 n = sqlite3_column_count(st), i, rc, ret = -1;
	uint64_t	 rows = 0;

	*failed = 0;
	if (n > MAX_COLUMNS) {
		*failed = 1;
		return 0;
	}
	if (n == 0) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (rc != SQLITE_DONE) {
			*failed = 1;
			return 0;
		}
		*last_done = out->len;
		return tds_put_done(out, tdsver, TDS_DONE_MORE, 0, 0);
	}
	memset(scan, 0, sizeof(scan[0]) * (size_t)n);
	for (i = 0; i < n; i++)
		scan[i].decl = decl_class(sqlite3_column_decltype(st, i));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		scan_row(st, scan, n);
	if (rc != SQLITE_DONE) {
		*failed = 1;
		return 0;
	}
	sqlite3_reset(st);
	if ((cols = calloc((size_t)n, sizeof(*cols))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		pick_type(&scan[i], tdsver, &cols[i]);
		util_strlcpy(cols[i].name, sqlite3_column_name(st, i) ? sqlite3_column_name(st, i) : "",
		    sizeof(cols[i].name));
	}
	if (tds_put_colmetadata(out, tdsver, cols, (size_t)n) == -1)
		goto done;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (tds_put_u8(out, TDS_TOK_ROW) == -1)
			goto done;
		for (i = 0; i < n; i++)
			if (put_value(out, st, i, &cols[i]) == -1)
				goto done;
		rows++;
	}
	if (rc != SQLITE_DONE) {
		*failed = 1;
		ret = 0;
		goto done;
	}
	*last_done = out->len;
	ret = tds_put_done(out, tdsver, TDS_DONE_MORE | TDS_DONE_COUNT, TDS_CURCMD_SELECT, rows);
done:
	free(cols);
	return ret;
}

/* A T-SQL SET option at *pp (one line, or up to ';'): accepted and ignored, a DONE(MORE) for it; *pp past it.
 * 0, or -1 when out is full. */
static int
skip_set(const char **pp, uint32_t tdsver, struct tds_buf *out, size_t *last_done)
{
	const char *e = *pp + strcspn(*pp, ";\n");

	*last_done = out->len;
	if (tds_put_done(out, tdsver, TDS_DONE_MORE, 0, 0) == -1)
		return -1;
	*pp = skip_blank(e);
	return 0;
}

/*
 * USE db at *pp: only the one database exists.  1 with the message in text when db is another name (error
 * 911); 0 after the ENVCHANGE, the INFO 5701 and a DONE(MORE), *pp past the statement; -1 when out is full.
 */
static int
use_db(const char **pp, uint32_t tdsver, const char *database, struct tds_buf *out, size_t *last_done,
    char *text, size_t textlen)
{
	const char *p = *pp, *e = strchr(p, ';');
	char name[256];
	size_t k = 0;

	for (p = skip_blank(p + 3); *p && *p != ';' && !isspace((unsigned char)*p) && k < sizeof(name) - 1; p++)
		if (*p != '"')
			name[k++] = *p;
	name[k] = '\0';
	if (strcasecmp(name, database) != 0) {
		snprintf(text, textlen, "Database '%s' does not exist. Make sure that the name is entered correctly.",
		    name);
		return 1;
	}
	snprintf(text, textlen, "Changed database context to '%s'.", database);
	if (tds_put_envchange(out, TDS_ENV_DATABASE, database, database) == -1 ||
	    tds_put_message(out, tdsver, TDS_TOK_INFO, 5701, 2, 0, text, SQLEXEC_SERVER_NAME, "", 1) == -1)
		return -1;
	*last_done = out->len;
	if (tds_put_done(out, tdsver, TDS_DONE_MORE, 0, 0) == -1)
		return -1;
	*pp = skip_blank(e ? e : p + strlen(p));
	return 0;
}

/* The batch's last DONE loses its MORE bit; an empty batch gets one DONE(FINAL).  0, or -1 when out is full. */
static int
end_batch(struct tds_buf *out, uint32_t tdsver, size_t last_done)
{
	if (last_done == SIZE_MAX)	/* empty batch */
		return tds_put_done(out, tdsver, TDS_DONE_FINAL, 0, 0) == -1 ? -1 : 0;
	out->data[last_done + 1] &= (uint8_t)~TDS_DONE_MORE;
	return 0;
}

int
sqlexec_batch(sqlite3 *db, const char *sql, uint32_t tdsver, const char *database, struct tds_buf *out)
{
	struct budget	 budget;
	sqlite3_stmt	*st = NULL;
	char		*rw = NULL, err[512], text[1024];
	const char	*p, *tail, *emsg = NULL;
	size_t		 last_done = SIZE_MAX;
	int32_t		 num = 0;
	int		 failed = 0, rc = -1;

	budget.deadline = util_mono_ms() + STMT_BUDGET_MS;
	sqlite3_progress_handler(db, 1000, progress_cb, &budget);
	if (tsql_rewrite(sql, &rw, err, sizeof(err)) == -1) {
		num = 102;
		snprintf(text, sizeof(text), "Incorrect syntax: %s.", err);
		goto error;
	}
	p = skip_blank(rw);
	while (*p) {
		/* SET options are accepted and ignored; USE names the one database (skip_set, use_db). */
		if (strncasecmp(p, "SET", 3) == 0 && isspace((unsigned char)p[3])) {
			if (skip_set(&p, tdsver, out, &last_done) == -1)
				goto done;
			continue;
		}
		if (strncasecmp(p, "USE", 3) == 0 && isspace((unsigned char)p[3])) {
			if ((num = use_db(&p, tdsver, database, out, &last_done, text, sizeof(text))) == -1)
				goto done;
			if (num == 1) {
				num = 911;
				goto error;
			}
			continue;
		}
		budget.deadline = util_mono_ms() + STMT_BUDGET_MS;
		if (sqlite3_prepare_v2(db, p, -1, &st, &tail) != SQLITE_OK) {
			emsg = sqlite3_errmsg(db);
			goto sqlerror;
		}
		if (st == NULL) {
			p = skip_blank(tail);
			continue;
		}
		if (!sqlite3_stmt_readonly(st)) {
			num = 3906;
			snprintf(text, sizeof(text), "Failed to update database \"%s\" because the database is "
			    "read-only.", database);
			goto error;
		}
		if (run_stmt(st, tdsver, out, &last_done, &failed) == -1)
			goto done;
		if (failed) {
			emsg = sqlite3_errmsg(db);
			if (sqlite3_errcode(db) == SQLITE_INTERRUPT)
				emsg = "statement time limit exceeded";
			goto sqlerror;
		}
		sqlite3_finalize(st);
		st = NULL;
		p = skip_blank(tail);
	}
	rc = end_batch(out, tdsver, last_done);
	goto done;
sqlerror:
	map_error(emsg ? emsg : "unknown error", database, &num, text, sizeof(text));
error:
	log_debug("batch error %d: %s", num, text);
	if (tds_put_message(out, tdsver, TDS_TOK_ERROR, num, 1, 16, text, SQLEXEC_SERVER_NAME, "", 1) == -1 ||
	    tds_put_done(out, tdsver, TDS_DONE_ERROR, 0, 0) == -1)
		goto done;
	rc = 0;
done:
	sqlite3_progress_handler(db, 0, NULL, NULL);
	sqlite3_finalize(st);
	free(rw);
	return rc;
}
