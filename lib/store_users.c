/*
 * store_users.c — the SQL behind dpfleet-server's users, sign-in back-off and sessions.
 *
 * Called by server/auth.c (logins, sessions) and server/usercli.c (`dpfleet-server user ...`).  A sign-in
 * attempt is counted as a failure before its password is checked (store_login_claim: read, decide and count
 * in one BEGIN IMMEDIATE transaction), so any number of parallel attempts gets no more checks than the
 * back-off allows; a success clears the count (store_session_create).  Password
 * hashing and token generation happen in the caller: this module stores only what it is given (an argon2id
 * string, the hex SHA-256 of a session token, a CSRF token) and never logs any of it.  Multi-statement
 * changes run in one BEGIN IMMEDIATE transaction so a failure leaves the DB as it was.  Times are ISO 8601
 * UTC text and compare lexicographically.
 */
#include "store_users.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void
col_text(sqlite3_stmt *s, int i, char *buf, size_t size)
{
	const unsigned char *t = sqlite3_column_text(s, i);

	util_strlcpy(buf, t ? (const char *)t : "", size);
}

int
store_role_valid(const char *role)
{
	return role != NULL && (strcmp(role, "viewer") == 0 || strcmp(role, "operator") == 0 ||
	    strcmp(role, "admin") == 0);
}

int
store_user_add(struct store *st, const char *name, const char *role, const char *pwhash, const char *now,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (!store_role_valid(role))
		return util_err(err, errlen, "unknown role \"%s\"", role ? role : "");
	if (store_prepare(st, &s, "INSERT INTO users (name, role, pwhash, created_at) VALUES (?, ?, ?, ?)",
	    err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(store_db(st)) == SQLITE_CONSTRAINT_UNIQUE)
			util_err(err, errlen, "user %s already exists", name);
		else
			util_err(err, errlen, "add user: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	rc = 0;
done:
	sqlite3_finalize(s);
	return rc;
}

static void
row_user(sqlite3_stmt *s, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	u->id = sqlite3_column_int64(s, 0);
	col_text(s, 1, u->name, sizeof(u->name));
	col_text(s, 2, u->role, sizeof(u->role));
	u->disabled = sqlite3_column_int(s, 3);
	col_text(s, 4, u->locked_until, sizeof(u->locked_until));
	col_text(s, 5, u->created_at, sizeof(u->created_at));
}

int
store_user_get(struct store *st, const char *name, struct store_user *u, char *pwhash, size_t pwhashlen,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, r;

	if (store_prepare(st, &s, "SELECT id, name, role, disabled, locked_until, created_at, pwhash FROM users "
	    "WHERE name = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = 0;
		goto done;
	}
	if (r != SQLITE_ROW) {
		util_err(err, errlen, "user: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	row_user(s, u);
	if (pwhash != NULL)
		col_text(s, 6, pwhash, pwhashlen);
	rc = 1;
done:
	sqlite3_finalize(s);
	return rc;
}

/* Run one UPDATE/DELETE with a name or id parameter inside the caller's transaction. */
static int
run1(struct store *st, const char *sql, const char *t1, const char *t2, int64_t id, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int rc = -1, i = 1;

	if (store_prepare(st, &s, sql, err, errlen) == -1)
		return -1;
	if (t1 != NULL)
		sqlite3_bind_text(s, i++, t1, -1, SQLITE_STATIC);
	if (t2 != NULL)
		sqlite3_bind_text(s, i++, t2, -1, SQLITE_STATIC);
	if (id != 0)
		sqlite3_bind_int64(s, i++, id);
	if (store_step_done(st, s, NULL, err, errlen) == 0)
		rc = sqlite3_changes(store_db(st));
	sqlite3_finalize(s);
	return rc;
}

static const char SQL_DROP_SESSIONS[] =
	"DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)";

/*
 * One change to the user called name, in one transaction: run update (t1, t2 bound as run1 binds them); when
 * it matched no user roll back and return 0; else run each name-keyed statement of then[] and commit: 1.
 * -1 with err, rolled back.
 */
static int
user_change(struct store *st, const char *update, const char *t1, const char *t2, const char *name,
    const char *const *then, size_t nthen, char *err, size_t errlen)
{
	size_t i;
	int n;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if ((n = run1(st, update, t1, t2, 0, err, errlen)) == -1)
		goto fail;
	if (n == 0) {
		store_rollback(st);
		return 0;
	}
	for (i = 0; i < nthen; i++)
		if (run1(st, then[i], name, NULL, 0, err, errlen) == -1)
			goto fail;
	if (store_commit(st, err, errlen) == -1)
		return -1;
	return 1;
fail:
	store_rollback(st);
	return -1;
}

int
store_user_set_password(struct store *st, const char *name, const char *pwhash, char *err, size_t errlen)
{
	static const char *const then[] = { SQL_DROP_SESSIONS };

	return user_change(st, "UPDATE users SET pwhash = ?, locked_until = NULL, failed_logins = 0, "
	    "last_failed_at = NULL WHERE name = ?", pwhash, name, name, then, 1, err, errlen);
}

int
store_user_disable(struct store *st, const char *name, char *err, size_t errlen)
{
	static const char *const then[] = { SQL_DROP_SESSIONS };

	return user_change(st, "UPDATE users SET disabled = 1 WHERE name = ?", name, NULL, name, then, 1, err,
	    errlen);
}

int
store_user_list(struct store *st, struct store_user **out, size_t *n, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	struct store_user *v = NULL, *nv;
	size_t cap = 0, len = 0;
	int r, rc = -1;

	*out = NULL;
	*n = 0;
	if (store_prepare(st, &s, "SELECT id, name, role, disabled, locked_until, created_at FROM users ORDER BY name",
	    err, errlen) == -1)
		return -1;
	while ((r = sqlite3_step(s)) == SQLITE_ROW) {
		if (len == cap) {
			cap = cap ? cap * 2 : 16;
			if (cap > SIZE_MAX / sizeof(*v) || (nv = realloc(v, cap * sizeof(*v))) == NULL) {
				util_err(err, errlen, "user list: out of memory");
				goto done;
			}
			v = nv;
		}
		row_user(s, &v[len++]);
	}
	if (r != SQLITE_DONE) {
		util_err(err, errlen, "user list: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	*out = v;
	*n = len;
	v = NULL;
	rc = 0;
done:
	free(v);
	sqlite3_finalize(s);
	return rc;
}

/* The back-off after the failures-th failure in a row, in seconds (0 while failures <= free_failures). */
static long
backoff_s(const struct store_login_policy *pol, int failures)
{
	long d = pol->base_s;
	int i;

	if (failures <= pol->free_failures)
		return 0;
	for (i = pol->free_failures + 1; i < failures && d < pol->max_s; i++)
		d *= 2;
	return d < pol->max_s ? d : pol->max_s;
}

/* Inside the caller's transaction: count one failure of user u at now, push locked_until (until). */
static int
claim_count(struct store *st, const struct store_user *u, int prev, const char *last, time_t now,
    const struct store_login_policy *pol, int *failures, char *until, char *err, size_t errlen)
{
	char nows[UTIL_ISO_LEN], reset[UTIL_ISO_LEN];
	sqlite3_stmt *s = NULL;
	long d;
	int rc = -1;

	util_iso_time(now, nows);
	util_iso_time(now - pol->reset_s, reset);
	*failures = (last[0] == '\0' || strcmp(last, reset) < 0 || prev < 0) ? 1 :
	    (prev < INT_MAX - 1 ? prev + 1 : prev);
	d = backoff_s(pol, *failures);
	until[0] = '\0';
	if (d > 0)
		util_iso_time(now + d, until);
	if (store_prepare(st, &s, "UPDATE users SET failed_logins = ?, last_failed_at = ?, locked_until = ? "
	    "WHERE id = ?", err, errlen) == -1)
		return -1;
	sqlite3_bind_int(s, 1, *failures);
	sqlite3_bind_text(s, 2, nows, -1, SQLITE_STATIC);
	if (until[0] != '\0')
		sqlite3_bind_text(s, 3, until, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 3);
	sqlite3_bind_int64(s, 4, u->id);
	if (store_step_done(st, s, "login claim", err, errlen) == 0)
		rc = 0;
	sqlite3_finalize(s);
	return rc;
}

int
store_login_claim(struct store *st, const char *name, time_t now, const struct store_login_policy *pol,
    struct store_user *u, char *pwhash, size_t pwhashlen, int *failures, char *until, char *err,
    size_t errlen)
{
	sqlite3_stmt *s = NULL;
	char nows[UTIL_ISO_LEN], last[UTIL_ISO_LEN];
	int r, prev, rc = -1;

	memset(u, 0, sizeof(*u));
	*failures = 0;
	until[0] = '\0';
	util_iso_time(now, nows);
	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (store_prepare(st, &s, "SELECT id, name, role, disabled, locked_until, created_at, pwhash, "
	    "failed_logins, last_failed_at FROM users WHERE name = ?", err, errlen) == -1)
		goto done;
	sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
	if ((r = sqlite3_step(s)) != SQLITE_ROW && r != SQLITE_DONE) {
		util_err(err, errlen, "login claim: %s", sqlite3_errmsg(store_db(st)));
		goto done;
	}
	if (r == SQLITE_DONE) {
		rc = STORE_LOGIN_UNKNOWN;	/* nothing to change: the empty transaction is rolled back */
		goto done;
	}
	row_user(s, u);
	col_text(s, 6, pwhash, pwhashlen);
	prev = sqlite3_column_int(s, 7);
	col_text(s, 8, last, sizeof(last));
	if (u->disabled)
		rc = STORE_LOGIN_DISABLED;
	else if (u->locked_until[0] != '\0' && strcmp(u->locked_until, nows) > 0)
		rc = STORE_LOGIN_BACKOFF;
	if (rc != -1) {
		util_strlcpy(until, u->locked_until, UTIL_ISO_LEN);
		goto done;
	}
	if (claim_count(st, u, prev, last, now, pol, failures, until, err, errlen) == -1)
		goto done;
	sqlite3_finalize(s);
	s = NULL;
	if (store_commit(st, err, errlen) == 0)		/* store_commit rolls back when it fails */
		return STORE_LOGIN_CLAIMED;
	explicit_bzero(pwhash, pwhashlen);
	return -1;
done:
	sqlite3_finalize(s);
	store_rollback(st);
	if (rc == -1 || rc == STORE_LOGIN_UNKNOWN)
		explicit_bzero(pwhash, pwhashlen);
	return rc;
}

int
store_session_create(struct store *st, const char *token_hash, int64_t user_id, const char *csrf,
    const char *now, const char *expires_at, char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;

	if (store_begin(st, err, errlen) == -1)
		return -1;
	if (run1(st, "DELETE FROM sessions WHERE expires_at <= ?", now, NULL, 0, err, errlen) == -1 ||
	    run1(st, "UPDATE users SET locked_until = NULL, failed_logins = 0, last_failed_at = NULL "
	    "WHERE id = ?", NULL, NULL, user_id, err, errlen) == -1)
		goto fail;
	if (store_prepare(st, &s, "INSERT INTO sessions (token_hash, user_id, csrf_token, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?)", err, errlen) == -1)
		goto fail;
	sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, user_id);
	sqlite3_bind_text(s, 3, csrf, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, now, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, expires_at, -1, SQLITE_STATIC);
	if (store_step_done(st, s, NULL, err, errlen) == -1)
		goto fail;
	sqlite3_finalize(s);
	return store_commit(st, err, errlen);
fail:
	sqlite3_finalize(s);
	store_rollback(st);
	return -1;
}

/* Columns 0..4 of a session lookup: user_id, name, role, csrf_token, expires_at. */
static void
row_session(sqlite3_stmt *s, struct store_session *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->user_id = sqlite3_column_int64(s, 0);
	col_text(s, 1, ss->user, sizeof(ss->user));
	col_text(s, 2, ss->role, sizeof(ss->role));
	col_text(s, 3, ss->csrf, sizeof(ss->csrf));
	col_text(s, 4, ss->expires_at, sizeof(ss->expires_at));
}

int
store_session_get(struct store *st, const char *token_hash, const char *now, struct store_session *ss,
    char *err, size_t errlen)
{
	sqlite3_stmt *s = NULL;
	int r, rc = -1;

	if (store_prepare(st, &s, "SELECT s.user_id, u.name, u.role, s.csrf_token, s.expires_at "
	    "FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0", err, errlen) == -1)
		return -1;
	sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = 0;
	} else if (r == SQLITE_ROW) {
		row_session(s, ss);
		rc = 1;
	} else
		util_err(err, errlen, "session: %s", sqlite3_errmsg(store_db(st)));
	sqlite3_finalize(s);
	return rc;
}

struct store_session_lookup {
	struct store	*st;
	sqlite3_stmt	*stmt;
};

int
store_session_lookup_new(struct store *st, struct store_session_lookup **out, char *err, size_t errlen)
{
	struct store_session_lookup *l;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return util_err(err, errlen, "session lookup: out of memory");
	l->st = st;
	if (sqlite3_prepare_v3(store_db(st), "SELECT s.user_id, u.name, u.role, s.csrf_token, s.expires_at, "
	    "(SELECT data_version FROM pragma_data_version) "
	    "FROM sessions s JOIN users u ON u.id = s.user_id "
	    "WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0", -1, SQLITE_PREPARE_PERSISTENT,
	    &l->stmt, NULL) != SQLITE_OK) {
		util_err(err, errlen, "prepare: %s", sqlite3_errmsg(store_db(st)));
		free(l);
		return -1;
	}
	*out = l;
	return 0;
}

void
store_session_lookup_free(struct store_session_lookup *l)
{
	if (l == NULL)
		return;
	sqlite3_finalize(l->stmt);
	free(l);
}

int
store_session_lookup(struct store_session_lookup *l, const char *token_hash, const char *now,
    struct store_session *ss, int64_t *data_version, int64_t *own_changes, char *err, size_t errlen)
{
	sqlite3_stmt *s = l->stmt;
	int r, rc = -1;

	sqlite3_bind_text(s, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, now, -1, SQLITE_STATIC);
	r = sqlite3_step(s);
	if (r == SQLITE_DONE) {
		rc = 0;
	} else if (r == SQLITE_ROW) {
		row_session(s, ss);
		*data_version = sqlite3_column_int64(s, 5);
		*own_changes = sqlite3_total_changes64(store_db(l->st));
		rc = 1;
	} else
		util_err(err, errlen, "session: %s", sqlite3_errmsg(store_db(l->st)));
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc;
}

int
store_session_delete(struct store *st, const char *token_hash, char *err, size_t errlen)
{
	return run1(st, "DELETE FROM sessions WHERE token_hash = ?", token_hash, NULL, 0, err, errlen) == -1 ?
	    -1 : 0;
}
