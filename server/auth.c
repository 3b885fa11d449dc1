/*
 * auth.c — logins, lockout and sessions for dpfleet-server.
 *
 * Called by server/api.c (login, logout, every authenticated request) and server/usercli.c (hashing new
 * passwords).  Assumes sodium_init() ran in main().  Secrets (passwords, tokens, CSRF tokens, hashes) are
 * never logged and are wiped with explicit_bzero() before their buffers go out of scope.  An unknown user
 * still costs one argon2id computation so the answer time does not tell which names exist.  The lockout
 * state lives in the store (users.locked_until, login_failures) so it survives restarts and is shared by
 * every worker thread.
 */
#include "auth.h"
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

int
auth_login(struct store *st, const char *name, const char *password, int ttl_s, struct auth_login *out,
    char *err, size_t errlen)
{
	struct store_user u;
	char pwhash[STORE_PWHASH_MAX], dummy[STORE_PWHASH_MAX], hash[UTIL_SHA256_HEX];
	char now[UTIL_ISO_LEN], window[UTIL_ISO_LEN], until[UTIL_ISO_LEN];
	time_t t = time(NULL);
	int found, locked, rc = -1;

	memset(out, 0, sizeof(*out));
	memset(pwhash, 0, sizeof(pwhash));
	util_iso_time(t, now);
	if ((found = store_user_get(st, name, &u, pwhash, sizeof(pwhash), err, errlen)) == -1)
		goto done;
	if (found == 0 || u.disabled) {
		/* Same cost as a real check; the result is thrown away. */
		if (auth_hash_password(password, dummy, err, errlen) == -1)
			goto done;
		explicit_bzero(dummy, sizeof(dummy));
		if (store_audit(st, name, "login", name, found ? "disabled" : "unknown_user", NULL, err,
		    errlen) == -1)
			goto done;
		rc = AUTH_BAD;
		goto done;
	}
	if (u.locked_until[0] != '\0' && strcmp(u.locked_until, now) > 0) {
		util_strlcpy(out->locked_until, u.locked_until, sizeof(out->locked_until));
		if (store_audit(st, u.name, "login", u.name, "locked", NULL, err, errlen) == -1)
			goto done;
		rc = AUTH_LOCKED;
		goto done;
	}
	if (crypto_pwhash_str_verify(pwhash, password, strlen(password)) != 0) {
		util_iso_time(t - AUTH_WINDOW_S, window);
		util_iso_time(t + AUTH_LOCK_S, until);
		if (store_login_failed(st, u.id, now, window, AUTH_MAX_FAILURES, until, &locked, err,
		    errlen) == -1)
			goto done;
		if (store_audit(st, u.name, "login", u.name, "failed", NULL, err, errlen) == -1)
			goto done;
		if (locked) {
			char detail[96];

			snprintf(detail, sizeof(detail), "{\"locked_until\": \"%s\", \"failures\": %d}", until,
			    AUTH_MAX_FAILURES);
			if (store_audit(st, u.name, "login.lock", u.name, "locked", detail, err, errlen) == -1)
				goto done;
		}
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
