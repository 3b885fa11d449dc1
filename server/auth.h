/*
 * auth.h — passwords, logins, lockout and sessions for dpfleet-server (doc/dpfleet-server.8,
 * SIGN-IN, SESSIONS AND CSRF).
 * Passwords: libsodium argon2id (crypto_pwhash_str, INTERACTIVE limits).  Session tokens: 32 random bytes as
 * 64 hex digits in the dpfleet_session cookie; the store keeps only their SHA-256.  Each session has its own
 * CSRF token.  AUTH_MAX_FAILURES failed logins of one user within AUTH_WINDOW_S lock that user for
 * AUTH_LOCK_S; a locked login answers 401 with a "locked" message.
 */
#ifndef DPFLEET_AUTH_H
#define DPFLEET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_users.h"

#define AUTH_MAX_FAILURES	5
#define AUTH_WINDOW_S		(15 * 60)
#define AUTH_LOCK_S		(15 * 60)
#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	1024

enum auth_result {
	AUTH_OK,		/* session created */
	AUTH_BAD,		/* unknown user, disabled user or wrong password (one message for all) */
	AUTH_LOCKED,		/* the user is locked (out->locked_until says until when) */
};

struct auth_login {
	char	 token[STORE_TOKEN_HEX];	/* secret: cookie value */
	char	 csrf[STORE_TOKEN_HEX];		/* secret: X-CSRF-Token value */
	char	 user[STORE_USER_NAME_MAX + 1];
	char	 role[16];
	char	 expires_at[UTIL_ISO_LEN];
	char	 locked_until[UTIL_ISO_LEN];	/* with AUTH_LOCKED */
};

/* Rank of a role for comparisons: viewer 1, operator 2, admin 3, anything else 0. */
int	 auth_role_rank(const char *role);

/* argon2id hash of password into out (STORE_PWHASH_MAX bytes).  0, or -1 with err (out zeroed). */
int	 auth_hash_password(const char *password, char *out, char *err, size_t errlen);

/*
 * Check a login.  Records failures, locks after AUTH_MAX_FAILURES in AUTH_WINDOW_S, and writes one audit row
 * (action login: outcome ok, failed, locked, disabled or unknown_user; login.lock when a lock starts).
 * Returns an auth_result (out filled for AUTH_OK; caller explicit_bzero()s it), or -1 with err on a store
 * or crypto failure.
 */
int	 auth_login(struct store *st, const char *name, const char *password, int ttl_s,
	    struct auth_login *out, char *err, size_t errlen);

/*
 * The live session behind a cookie value (must be 64 hex digits).  1 and *s filled (caller
 * explicit_bzero()s s->csrf), 0 if none or malformed, -1 with err.
 */
int	 auth_session(struct store *st, const char *cookie, struct store_session *s, char *err, size_t errlen);

/*
 * As auth_session through a connection's prepared lookup, also returning the DB generation read in the same
 * transaction (for the response cache).  Same returns as auth_session.
 */
int	 auth_session_lookup(struct store_session_lookup *l, const char *cookie, struct store_session *s,
	    int64_t *data_version, int64_t *own_changes, char *err, size_t errlen);

/* End the session behind cookie (audit row logout).  0, or -1 with err. */
int	 auth_logout(struct store *st, const char *cookie, const char *user, char *err, size_t errlen);

/* 1 if header equals the session's CSRF token (constant time), else 0. */
int	 auth_csrf_ok(const struct store_session *s, const char *header);

#endif
