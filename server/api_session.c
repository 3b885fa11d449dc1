/*
 * api_session.c — the sign-in endpoints of dpfleet-server: POST /api/v1/login (sets the session cookie and
 * answers the CSRF token), POST /api/v1/logout, GET /api/v1/me, and the admins' GET /api/v1/users.
 *
 * Called through server/api.c's route table; login is the one POST that needs neither a session nor a CSRF
 * token.  Passwords, hashes and lockout are server/auth.c's; this file maps their results to 200/401/422 and
 * builds the cookie (HttpOnly, SameSite=Strict, Secure under TLS).  The password's bytes in the parsed body
 * and the login result (token, CSRF token) are wiped with explicit_bzero() before return; api.c wipes the
 * login answer's body when the response is cleared.  Users are changed only from the command line
 * (server/usercli.c).
 */
#include "api_int.h"
#include "auth.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string member of obj, or NULL after answering 422 (missing or not a string). */
static const char *
req_string(struct api_call *c, json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v)) {
		api_fail(c, 422, "\"%s\" must be a string", key);
		return NULL;
	}
	return json_string_value(v);
}

int
api_login(struct api_call *c)
{
	struct auth_login li;
	json_t *body, *res, *pwv;
	const char *user, *pw;
	char err[512];
	int r, rc = -1;

	if (api_body_object(c, &body) == -1)
		return -1;
	pwv = json_object_get(body, "password");
	if ((user = req_string(c, body, "user")) == NULL || (pw = req_string(c, body, "password")) == NULL)
		goto done;
	if (strlen(pw) > AUTH_PASSWORD_MAX) {
		api_fail(c, 422, "password longer than %d bytes", AUTH_PASSWORD_MAX);
		goto done;
	}
	if (strlen(user) == 0 || strlen(user) > STORE_USER_NAME_MAX) {
		api_fail(c, 401, "wrong user name or password");
		goto done;
	}
	r = auth_login(c->env->st, user, pw, c->env->session_ttl, &li, err, sizeof(err));
	if (r == -1) {
		api_store_error(c, err);
		goto done;
	}
	if (r == AUTH_BAD) {
		api_fail(c, 401, "wrong user name or password");
		goto done;
	}
	if (r == AUTH_LOCKED) {
		res = json_pack("{s:s, s:b, s:s}", "error", "", "locked", 1, "locked_until", li.locked_until);
		if (res != NULL) {
			char msg[160];

			snprintf(msg, sizeof(msg), "account locked after %d failed sign-ins; try again after %s",
			    AUTH_MAX_FAILURES, li.locked_until);
			json_object_set_new(res, "error", json_string(msg));
		}
		api_json(c, 401, res);
		goto done;
	}
	snprintf(c->rs->set_cookie, sizeof(c->rs->set_cookie),
	    "dpfleet_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s", li.token,
	    c->env->session_ttl, c->env->tls ? "; Secure" : "");
	util_strlcpy(c->rs->user, li.user, sizeof(c->rs->user));
	res = json_pack("{s:s, s:s, s:s, s:s}", "user", li.user, "role", li.role, "csrf_token", li.csrf,
	    "expires_at", li.expires_at);
	rc = api_json(c, 200, res);
done:
	explicit_bzero(&li, sizeof(li));
	if (json_is_string(pwv))
		explicit_bzero((char *)json_string_value(pwv), json_string_length(pwv));
	json_decref(body);
	return rc;
}

int
api_logout(struct api_call *c)
{
	char err[512];

	if (auth_logout(c->env->st, c->rq->cookie, api_user(c), err, sizeof(err)) == -1)
		return api_store_error(c, err);
	snprintf(c->rs->set_cookie, sizeof(c->rs->set_cookie),
	    "dpfleet_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0%s", c->env->tls ? "; Secure" : "");
	return api_json(c, 200, json_pack("{s:b}", "ok", 1));
}

int
api_me(struct api_call *c)
{
	return api_json(c, 200, json_pack("{s:s, s:s, s:s, s:s}", "user", c->session->user,
	    "role", c->session->role, "csrf_token", c->session->csrf, "expires_at", c->session->expires_at));
}

/* The user list for admins (changes go through the CLI: `dpfleet-server user ...`). */
int
api_get_users(struct api_call *c)
{
	struct store_user *u = NULL;
	json_t *res, *list;
	char err[512], now[UTIL_ISO_LEN];
	size_t n, i;
	int oom = 0;

	if (store_user_list(c->env->st, &u, &n, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	util_iso_now(now);
	if ((res = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(res, "users", list) == -1)
		oom = 1;
	for (i = 0; i < n && !oom; i++) {
		int locked = u[i].locked_until[0] != '\0' && strcmp(u[i].locked_until, now) > 0;

		if (json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:b, s:s?, s:s}", "name", u[i].name,
		    "role", u[i].role, "disabled", u[i].disabled, "locked", locked, "locked_until",
		    locked ? u[i].locked_until : NULL, "created_at", u[i].created_at)) == -1)
			oom = 1;
	}
	free(u);
	if (oom) {
		json_decref(res);
		return api_fail(c, 500, "out of memory");
	}
	return api_json(c, 200, res);
}
