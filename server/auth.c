/*
 * auth.c — logins, lockout and sessions for dpfleet-server.
 *
 * Called by server/api.c (login, logout, every authenticated request) and server/usercli.c (hashing new
 * passwords) and server/loginq.c (auth_job_run, on a hashing thread).  Assumes sodium_init() ran in main().
 * Secrets (passwords, tokens, CSRF tokens, hashes) are never logged and are wiped with explicit_bzero()
 * before their buffers go out of scope.  Every attempt costs exactly one argon2id verification — of the
 * user's hash, or of a dummy hash made with the same limits for an unknown, disabled or backed-off user —
 * and gets the same answer, so neither time nor text tells which names exist or which are backed off
 * (OWASP "Authentication Cheat Sheet", authentication responses).  The back-off state lives in the store
 * (users.failed_logins, locked_until) so it survives restarts and is shared by every thread.
 */
#include "auth.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

int
auth_role_rank(const char *role)
{
	if (role == NULL)
		return 0;
	if (strcmp(role, "viewer") == 0)
		return 1;
	if (strcmp(role, "operator") == 0)
		return 2;
	if (strcmp(role, "admin") == 0)
		return 3;
	return 0;
}

int
auth_hash_password(const char *password, char *out, char *err, size_t errlen)
{
	char h[crypto_pwhash_STRBYTES];

	memset(out, 0, STORE_PWHASH_MAX);
	if (crypto_pwhash_str(h, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return util_err(err, errlen, "password hashing failed (out of memory)");
	util_strlcpy(out, h, STORE_PWHASH_MAX);
	explicit_bzero(h, sizeof(h));
	return 0;
}

/* Random 32 bytes as hex into out (STORE_TOKEN_HEX bytes). */
static void
new_token(char *out)
{
	unsigned char raw[32];

	randombytes_buf(raw, sizeof(raw));
	util_hex(raw, sizeof(raw), out);
	explicit_bzero(raw, sizeof(raw));
}

static int
cookie_valid(const char *cookie)
{
	size_t i;

	if (cookie == NULL || strlen(cookie) != STORE_TOKEN_HEX - 1)
		return 0;
	for (i = 0; cookie[i] != '\0'; i++)
		if (!((cookie[i] >= '0' && cookie[i] <= '9') || (cookie[i] >= 'a' && cookie[i] <= 'f')))
			return 0;
	return 1;
}

static const struct store_login_policy policy = {
	AUTH_FREE_FAILURES, AUTH_BACKOFF_BASE_S, AUTH_BACKOFF_MAX_S, AUTH_BACKOFF_RESET_S
};

/* One argon2id verification of password against hash, or against dummy (made now when NULL).  1 if it matched. */
static int
verify(const char *hash, const char *dummy, const char *password)
{
	char made[STORE_PWHASH_MAX], err[64];

	if (hash != NULL)
		return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
	if (dummy == NULL) {
		if (auth_hash_password("dpfleet dummy password", made, err, sizeof(err)) == -1)
			return 0;
		dummy = made;
	}
	if (crypto_pwhash_str_verify(dummy, password, strlen(password)) == 0)
		log_debug("sign-in: a password matched the dummy hash");	/* still refused */
	explicit_bzero(made, sizeof(made));
	return 0;
}

/* The audit row of a refused attempt: outcome, and for a counted failure its number and back-off. */
static int
audit_refusal(struct store *st, const char *name, int claim, int failures, const char *until, char *err,
    size_t errlen)
{
	static const char *const outcome[] = { "unknown_user", "disabled", "backoff", "failed" };
	char detail[128];

	if (claim != STORE_LOGIN_CLAIMED)
		return store_audit(st, name, "login", name, outcome[claim], NULL, err, errlen);
	snprintf(detail, sizeof(detail), "{\"failures\": %d, \"backoff_until\": %s%s%s}", failures,
	    until[0] ? "\"" : "", until[0] ? until : "null", until[0] ? "\"" : "");
	return store_audit(st, name, "login", name, "failed", detail, err, errlen);
}

int
auth_login(struct store *st, const char *name, const char *password, int ttl_s, const char *dummy_hash,
    struct auth_login *out, char *err, size_t errlen)
{
	struct store_user u;
	char pwhash[STORE_PWHASH_MAX], hash[UTIL_SHA256_HEX], now[UTIL_ISO_LEN], until[UTIL_ISO_LEN];
	time_t t = time(NULL);
	int claim, failures, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(pwhash, 0, sizeof(pwhash));
	memset(hash, 0, sizeof(hash));
	util_iso_time(t, now);
	claim = store_login_claim(st, name, t, &policy, &u, pwhash, sizeof(pwhash), &failures, until, err,
	    errlen);
	if (claim == -1)
		goto done;
	if (!verify(claim == STORE_LOGIN_CLAIMED ? pwhash : NULL, dummy_hash, password)) {
		if (audit_refusal(st, claim == STORE_LOGIN_CLAIMED ? u.name : name, claim, failures, until, err,
		    errlen) == -1)
			goto done;
		rc = AUTH_BAD;
		goto done;
	}
	new_token(out->token);
	new_token(out->csrf);
	util_sha256_hex(out->token, strlen(out->token), hash);
	util_iso_time(t + ttl_s, out->expires_at);
	if (store_session_create(st, hash, u.id, out->csrf, now, out->expires_at, err, errlen) == -1 ||
	    store_audit(st, u.name, "login", u.name, "ok", NULL, err, errlen) == -1)
		goto done;
	util_strlcpy(out->user, u.name, sizeof(out->user));
	util_strlcpy(out->role, u.role, sizeof(out->role));
	rc = AUTH_OK;
done:
	explicit_bzero(pwhash, sizeof(pwhash));
	explicit_bzero(hash, sizeof(hash));
	if (rc != AUTH_OK) {
		explicit_bzero(out->token, sizeof(out->token));
		explicit_bzero(out->csrf, sizeof(out->csrf));
	}
	return rc;
}

void
auth_job_run(struct store *st, struct auth_job *job, const char *dummy_hash)
{
	job->err[0] = '\0';
	job->rc = auth_login(st, job->user, job->password, job->ttl_s, dummy_hash, &job->out, job->err,
	    sizeof(job->err));
	explicit_bzero(job->password, sizeof(job->password));
}

int
auth_session(struct store *st, const char *cookie, struct store_session *s, char *err, size_t errlen)
{
	char hash[UTIL_SHA256_HEX], now[UTIL_ISO_LEN];
	int rc;

	if (!cookie_valid(cookie))
		return 0;
	util_sha256_hex(cookie, strlen(cookie), hash);
	util_iso_now(now);
	rc = store_session_get(st, hash, now, s, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int
auth_session_lookup(struct store_session_lookup *l, const char *cookie, struct store_session *s,
    int64_t *data_version, int64_t *own_changes, char *err, size_t errlen)
{
	char hash[UTIL_SHA256_HEX], now[UTIL_ISO_LEN];
	int rc;

	if (!cookie_valid(cookie))
		return 0;
	util_sha256_hex(cookie, strlen(cookie), hash);
	util_iso_now(now);
	rc = store_session_lookup(l, hash, now, s, data_version, own_changes, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int
auth_logout(struct store *st, const char *cookie, const char *user, char *err, size_t errlen)
{
	char hash[UTIL_SHA256_HEX];
	int rc;

	if (!cookie_valid(cookie))
		return 0;
	util_sha256_hex(cookie, strlen(cookie), hash);
	rc = store_session_delete(st, hash, err, errlen);
	explicit_bzero(hash, sizeof(hash));
	if (rc == 0)
		rc = store_audit(st, user, "logout", user, "ok", NULL, err, errlen);
	return rc;
}

int
auth_csrf_ok(const struct store_session *s, const char *header)
{
	size_t n = strlen(s->csrf);

	if (header == NULL || n == 0 || strlen(header) != n)
		return 0;
	return sodium_memcmp(s->csrf, header, n) == 0;
}
