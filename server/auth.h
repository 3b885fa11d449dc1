/*
 * auth.h — passwords, logins, lockout and sessions for dpfleet-server (doc/dpfleet-server.8,
 * SIGN-IN, SESSIONS AND CSRF).
 * Passwords: libsodium argon2id (crypto_pwhash_str, INTERACTIVE limits).  Session tokens: 32 random bytes as
 * 64 hex digits in the dpfleet_session cookie; the store keeps only their SHA-256.  Each session has its own
 * CSRF token.  Sign-in back-off (OWASP "Authentication Cheat Sheet", account lockout): after
 * AUTH_FREE_FAILURES failures in a row, each further failure makes the account wait AUTH_BACKOFF_BASE_S, then
 * twice as long after each one, up to AUTH_BACKOFF_MAX_S; no password is checked while it waits.  A failure
 * more than AUTH_BACKOFF_RESET_S after the previous one starts the count again; a success clears it.
 * Unknown, disabled, waiting and wrong-password attempts get the same answer at the same cost: one argon2id
 * verification (against a dummy hash when there is no real one to check).
 */
#ifndef DPFLEET_AUTH_H
#define DPFLEET_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_users.h"

#define AUTH_FREE_FAILURES	3
#define AUTH_BACKOFF_BASE_S	2
#define AUTH_BACKOFF_MAX_S	(15 * 60)
#define AUTH_BACKOFF_RESET_S	(24 * 3600)
#define AUTH_PASSWORD_MIN	8
#define AUTH_PASSWORD_MAX	1024

enum auth_result {
	AUTH_OK,		/* session created */
	AUTH_BAD,		/* unknown, disabled, backed-off user or wrong password (one answer for all) */
	AUTH_BUSY,		/* not tried: every hashing thread busy and the queue full (server/loginq.c) */
	AUTH_RATE,		/* not tried: the client address is over [http] login_rate (server/loginq.c) */
};

struct auth_login {
	char	 token[STORE_TOKEN_HEX];	/* secret: cookie value */
	char	 csrf[STORE_TOKEN_HEX];		/* secret: X-CSRF-Token value */
	char	 user[STORE_USER_NAME_MAX + 1];
	char	 role[16];
	char	 expires_at[UTIL_ISO_LEN];
};

/*
 * One sign-in handed from an HTTP thread to a hashing thread (server/loginq.c) and back.  Allocated and freed
 * by server/api_session.c (api_login_job_free wipes the secrets); the runner fills rc, out and err, then
 * calls done(job, done_arg).
 */
struct auth_job {
	char		 user[STORE_USER_NAME_MAX + 1];
	char		 password[AUTH_PASSWORD_MAX + 1];	/* secret */
	int		 ttl_s;
	int		 rc;		/* enum auth_result, or -1 (err says why) */
	struct auth_login out;		/* secret, with AUTH_OK */
	char		 err[256];
	void		(*done)(struct auth_job *job, void *arg);
	void		*done_arg;
	struct auth_job	*next;		/* the queue's link (server/loginq.c) */
};

/* Rank of a role for comparisons: viewer 1, operator 2, admin 3, anything else 0. */
int	 auth_role_rank(const char *role);

/* argon2id hash of password into out (STORE_PWHASH_MAX bytes).  0, or -1 with err (out zeroed). */
int	 auth_hash_password(const char *password, char *out, char *err, size_t errlen);

/*
 * Check a login.  Claims the attempt in the store first (store_login_claim: counted, back-off applied), then
 * runs one argon2id verification: against the user's hash when the claim passed, else against dummy_hash
 * (a crypto_pwhash_str made with the same limits; NULL makes one on the spot).  Writes one audit row
 * (action login: outcome ok, failed, backoff, disabled or unknown_user).  Returns AUTH_OK (out filled;
 * caller explicit_bzero()s it) or AUTH_BAD, or -1 with err on a store or crypto failure.
 */
int	 auth_login(struct store *st, const char *name, const char *password, int ttl_s, const char *dummy_hash,
	    struct auth_login *out, char *err, size_t errlen);

/* Run job (auth_login) on st and fill job->rc, out and err; does not call done.  Never fails itself. */
void	 auth_job_run(struct store *st, struct auth_job *job, const char *dummy_hash);

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
