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

struct api_env {
	struct store	*st;		/* this thread's connection (not owned) */
	struct metrics	*metrics;	/* shared counters for /metrics (not owned) */
	struct api_cache *cache;	/* this thread's response cache or NULL (not owned) */
	int		 max_per_run;	/* [fix] max_per_run */
	int		 session_ttl;	/* [http] session_ttl, seconds */
	int		 tls;		/* cookies get Secure */
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
};

struct api_response {
	int		 status;
	const char	*content_type;	/* static string */
	char		*body;		/* malloc'd, len bytes; owned by the response */
	size_t		 len;
	char		 set_cookie[256];	/* "" when none */
	char		 disposition[128];	/* Content-Disposition, "" when none */
	char		 user[72];		/* who asked, for the request log ("" when anonymous) */
};

/* 1 if the path belongs to the API (/api/..., /healthz, /metrics) rather than to the static files. */
int	 api_path(const char *path);

/*
 * Answer one request.  Always fills *rs (status, content type, body), also on internal errors (500);
 * the caller frees it with api_response_clear().  Never returns an error.
 */
void	 api_handle(struct api_env *env, const struct api_request *rq, struct api_response *rs);
void	 api_response_clear(struct api_response *rs);

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
