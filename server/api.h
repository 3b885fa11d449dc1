/*
 * api.h — dpfleet-server's JSON API (doc/dpfleet-server.8, API), independent of the HTTP library so the fuzzer
 * and the tests can drive it directly.  server/http.c turns a libmicrohttpd request into a struct api_request
 * and sends back the struct api_response; everything between (routing, sessions, CSRF, roles, JSON, the
 * store) is here.  One struct api_env per worker thread: it holds that thread's store connection.
 */
#ifndef DPFLEET_API_H
#define DPFLEET_API_H

#include <stddef.h>

#include "metrics.h"
#include "store.h"

#define API_MAX_PARAMS	32
#define API_BODY_MAX	(64 * 1024)	/* larger request bodies get 413 before they reach api_handle */

struct api_cache;
struct auth_job;

struct api_env {
	struct store	*st;		/* this thread's connection (not owned) */
	struct metrics	*metrics;	/* shared counters for /metrics (not owned) */
	struct api_cache *cache;	/* this thread's response cache or NULL (not owned) */
	int		 max_per_run;	/* [fix] max_per_run */
	int		 session_ttl;	/* [http] session_ttl, seconds */
	int		 tls;		/* cookies get Secure; POST origins are https:// */
	int		 async_login;	/* login answers rs->pending for the caller to run (server/loginq.c) */
};

struct api_request {
	const char	*method;	/* "GET", "POST", ... */
	const char	*path;		/* decoded URL path, no query */
	const char	*keys[API_MAX_PARAMS];	/* decoded query parameters, in order */
	const char	*values[API_MAX_PARAMS];	/* "" for a key without '=' */
	size_t		 nparams;
	const char	*body;		/* NULL or body_len bytes (not NUL-terminated) */
	size_t		 body_len;
	const char	*cookie;	/* dpfleet_session cookie value or NULL */
	const char	*csrf;		/* X-CSRF-Token header or NULL */
	const char	*content_type;	/* Content-Type header or NULL */
	const char	*origin;	/* Origin header or NULL */
	const char	*fetch_site;	/* Sec-Fetch-Site header or NULL */
	const char	*host;		/* Host header or NULL */
};

struct api_response {
	int		 status;
	const char	*content_type;	/* static string */
	char		*body;		/* malloc'd, len bytes; owned by the response */
	size_t		 len;
	char		 set_cookie[256];	/* "" when none */
	char		 disposition[128];	/* Content-Disposition, "" when none */
	char		 user[72];		/* who asked, for the request log ("" when anonymous) */
	struct auth_job	*pending;	/* with env->async_login: a sign-in to run, then api_login_answer (no body yet) */
};

/* 1 if the path belongs to the API (/api/..., /healthz, /metrics) rather than to the static files. */
int	 api_path(const char *path);

/*
 * Answer one request.  Always fills *rs (status, content type, body), also on internal errors (500), except
 * a sign-in under env->async_login: then rs->pending holds the job (no body) and the caller runs it and calls
 * api_login_answer.  The caller frees rs with api_response_clear() (which frees a pending job still there).
 * Never returns an error.  Every POST needs Content-Type: application/json (else 415) and an Origin equal to
 * the server's own (http(s):// and the Host header) or, without Origin, Sec-Fetch-Site: same-origin (else
 * 403), before sign-in, CSRF token and role are checked (doc/dpfleet-server.8, SIGN-IN, SESSIONS AND CSRF).
 */
void	 api_handle(struct api_env *env, const struct api_request *rq, struct api_response *rs);
void	 api_response_clear(struct api_response *rs);

/*
 * Fill rs with the answer to a sign-in job that has run (job->rc): 200 and the session cookie, 401 with one
 * message for every refusal, 429 (rate), 503 (busy), 500.  The job stays the caller's.
 */
void	 api_login_answer(struct api_env *env, struct auth_job *job, struct api_response *rs);

/* Wipe (it holds a password and tokens) and free a sign-in job.  NULL is fine. */
void	 api_login_job_free(struct auth_job *job);

/* Fill rs with {"error": msg} and status (for the HTTP layer's own errors: 400, 405, 413, 503). */
void	 api_error_response(struct api_response *rs, int status, const char *msg);

/*
 * A per-thread cache of GET responses for the connection st, valid while the store has not changed (any
 * connection's commit or this connection's own writes invalidate it); it also keeps the connection's
 * prepared session lookup.  NULL when out of memory or the lookup cannot be prepared.  Free with
 * api_cache_free() before closing st.
 */
struct api_cache *api_cache_new(struct store *st);
void	 api_cache_free(struct api_cache *c);

#endif
