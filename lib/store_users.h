/*
 * store_users.h — dpfleet-server's operators in the state DB: users (argon2id hashes made by the caller),
 * sign-in back-off, sessions (only the SHA-256 of a cookie token is stored).
 * Times are ISO 8601 UTC strings ("YYYY-MM-DDTHH:MM:SSZ") that compare as text; store_login_claim alone takes
 * a time_t because it computes the back-off's end.
 */
#ifndef DPFLEET_STORE_USERS_H
#define DPFLEET_STORE_USERS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"
#include "util.h"

#define STORE_USER_NAME_MAX	64	/* bytes, without the NUL */
#define STORE_PWHASH_MAX	256	/* crypto_pwhash_STRBYTES is 128 */
#define STORE_TOKEN_HEX		65	/* 32 bytes as hex + NUL */

struct store_user {
	int64_t	 id;
	char	 name[STORE_USER_NAME_MAX + 1];
	char	 role[16];			/* viewer | operator | admin */
	int	 disabled;
	char	 locked_until[UTIL_ISO_LEN];	/* end of the sign-in back-off; "" when none */
	char	 created_at[UTIL_ISO_LEN];
};

struct store_session {
	int64_t	 user_id;
	char	 user[STORE_USER_NAME_MAX + 1];
	char	 role[16];
	char	 csrf[STORE_TOKEN_HEX];		/* secret: explicit_bzero when done */
	char	 expires_at[UTIL_ISO_LEN];
};

/* 1 if role is viewer, operator or admin; else 0. */
int	 store_role_valid(const char *role);

/*
 * Add a user.  Returns 0, or -1 with the reason in err ("user X already exists" among them); nothing
 * changes on failure.
 */
int	 store_user_add(struct store *st, const char *name, const char *role, const char *pwhash,
	    const char *now, char *err, size_t errlen);

/*
 * Look a user up by name.  Returns 1 and fills *u (and pwhash, when not NULL, with the stored hash: the
 * caller explicit_bzero()s it), 0 if there is no such user, -1 with the reason in err.
 */
int	 store_user_get(struct store *st, const char *name, struct store_user *u, char *pwhash,
	    size_t pwhashlen, char *err, size_t errlen);

/*
 * Replace a user's password hash; clears the back-off and failure count and ends every session of the user, in one
 * transaction.  Returns 1 when done, 0 if there is no such user, -1 with the reason in err (no change).
 */
int	 store_user_set_password(struct store *st, const char *name, const char *pwhash, char *err,
	    size_t errlen);

/* Disable a user and end its sessions.  1 done, 0 no such user, -1 with the reason in err (no change). */
int	 store_user_disable(struct store *st, const char *name, char *err, size_t errlen);

/* Every user by name.  0 and a malloc'd array in *out (caller frees; *n may be 0), or -1 with err. */
int	 store_user_list(struct store *st, struct store_user **out, size_t *n, char *err, size_t errlen);

/* Back-off policy of store_login_claim (server/auth.h sets it). */
struct store_login_policy {
	int	 free_failures;		/* failures in a row before any back-off */
	int	 base_s;		/* back-off after the next failure; doubles after each further one ... */
	int	 max_s;			/* ... up to this */
	int	 reset_s;		/* a failure this long after the previous one counts as the first */
};

enum store_login_claim_result {
	STORE_LOGIN_UNKNOWN,		/* no such user; nothing changed, pwhash zeroed */
	STORE_LOGIN_DISABLED,		/* u and pwhash filled; nothing changed */
	STORE_LOGIN_BACKOFF,		/* u and pwhash filled, until = locked_until (in the future); nothing changed */
	STORE_LOGIN_CLAIMED,		/* u and pwhash filled; counted as failure number *failures, until set */
};

/*
 * Claim one sign-in attempt for the user called name at now, in one BEGIN IMMEDIATE transaction: a user that
 * exists, is enabled and is not backed off has the attempt counted as a failure before the caller checks the
 * password (the caller's store_session_create clears it on success), and locked_until moved to now plus the
 * policy's back-off for that count (until, UTIL_ISO_LEN bytes; "" when none).  Returns a
 * store_login_claim_result, or -1 with the reason in err (nothing changed).  The caller explicit_bzero()s
 * pwhash (pwhashlen bytes).
 */
int	 store_login_claim(struct store *st, const char *name, time_t now, const struct store_login_policy *pol,
	    struct store_user *u, char *pwhash, size_t pwhashlen, int *failures, char *until, char *err,
	    size_t errlen);

/*
 * Open a session after a successful login: stores token_hash (hex SHA-256 of the cookie token) with its
 * CSRF token, clears the user's failure count and back-off and drops expired sessions.  One transaction.
 * Returns 0, or -1 with the reason in err (no change).
 */
int	 store_session_create(struct store *st, const char *token_hash, int64_t user_id, const char *csrf,
	    const char *now, const char *expires_at, char *err, size_t errlen);

/*
 * The live session for token_hash at now (not expired, user not disabled).  1 and *s filled, 0 if none,
 * -1 with the reason in err.
 */
int	 store_session_get(struct store *st, const char *token_hash, const char *now, struct store_session *s,
	    char *err, size_t errlen);

/*
 * A session lookup bound to one connection that keeps its prepared statement (the per-request hot path of
 * the server).  store_session_lookup_new: 0 and *out, or -1 with err.  Free with store_session_lookup_free
 * before closing the store (NULL is fine).
 */
struct store_session_lookup;
int	 store_session_lookup_new(struct store *st, struct store_session_lookup **out, char *err,
	    size_t errlen);
void	 store_session_lookup_free(struct store_session_lookup *l);

/*
 * As store_session_get, and in the same read transaction the DB generation a response cache compares:
 * PRAGMA data_version (other connections' commits) and this connection's own total changes (see
 * store_query_generation).  1 and *s, *data_version, *own_changes; 0 if no live session; -1 with err.
 */
int	 store_session_lookup(struct store_session_lookup *l, const char *token_hash, const char *now,
	    struct store_session *s, int64_t *data_version, int64_t *own_changes, char *err, size_t errlen);

/* End one session (absent is fine).  0, or -1 with the reason in err. */
int	 store_session_delete(struct store *st, const char *token_hash, char *err, size_t errlen);

#endif
