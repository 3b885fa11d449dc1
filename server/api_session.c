/*
 * api_session.c — the sign-in endpoints of dpfleet-server: POST /api/v1/login (sets the session cookie and
 * answers the CSRF token), POST /api/v1/logout, GET /api/v1/me, and the admins' GET /api/v1/users.
 *
 * Called through server/api.c's route table; login is the one POST that needs neither a session nor a CSRF
 * token.  Passwords, hashes and back-off are server/auth.c's; this file maps their results to
 * 200/401/422/429/503 and builds the cookie (HttpOnly, SameSite=Strict, Secure under TLS).  In the server the
 * argon2id check runs on a hashing thread (server/loginq.c): api_login hands the job back through
 * rs->pending and server/http.c calls api_login_answer once it has run.  The password's bytes in the parsed body
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

void
api_login_job_free(struct auth_job *job)
{
	if (job == NULL)
		return;
	explicit_bzero(job, sizeof(*job));
	free(job);
}

/* The answer to a job that has run (api_login_answer's body, on a call). */
static int
login_answer(struct api_call *c, struct auth_job *job)
{
	struct auth_login *li = &job->out;

	if (job->rc == -1)
		return api_store_error(c, job->err);
	if (job->rc == AUTH_BUSY)
		return api_fail(c, 503, "too many sign-ins at once; try again in a few seconds");
	if (job->rc == AUTH_RATE)
		return api_fail(c, 429, "too many sign-ins from this address; try again in a minute");
	if (job->rc != AUTH_OK)
		return api_fail(c, 401, "wrong user name or password");
	snprintf(c->rs->set_cookie, sizeof(c->rs->set_cookie),
	    "dpfleet_session=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%d%s", li->token,
	    c->env->session_ttl, c->env->tls ? "; Secure" : "");
	util_strlcpy(c->rs->user, li->user, sizeof(c->rs->user));
	return api_json(c, 200, json_pack("{s:s, s:s, s:s, s:s}", "user", li->user, "role", li->role,
	    "csrf_token", li->csrf, "expires_at", li->expires_at));
}

void
api_login_answer(struct api_env *env, struct auth_job *job, struct api_response *rs)
{
	struct api_request rq;
	struct api_call c;

	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.path = "/api/v1/login";
	memset(&c, 0, sizeof(c));
	c.env = env;
	c.rq = &rq;
	c.rs = rs;
	login_answer(&c, job);
}

/*
 * POST /api/v1/login: the body's user and password into a job; run it here, or hand it to the caller in
 * rs->pending (env->async_login: server/http.c queues it for a hashing thread).  Names longer than a user
 * name can be are refused at once with the same 401 (no user can have them).
 */
int
api_login(struct api_call *c)
{
	struct auth_job *job = NULL;
	json_t *body, *pwv;
	const char *user, *pw;
	int rc = -1;

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
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		api_fail(c, 500, "out of memory");
		goto done;
	}
	util_strlcpy(job->user, user, sizeof(job->user));
	util_strlcpy(job->password, pw, sizeof(job->password));
	job->ttl_s = c->env->session_ttl;
	if (c->env->async_login) {
		c->rs->pending = job;		/* the caller's now */
		job = NULL;
		rc = 0;
		goto done;
	}
	auth_job_run(c->env->st, job, NULL);
	rc = login_answer(c, job);
done:
	api_login_job_free(job);
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
		int locked = u[i].locked_until[0] != '\0' && strcmp(u[i].locked_until, now) > 0;	/* backed off */

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
