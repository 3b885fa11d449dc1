/*
 * api.c — routing, session and CSRF checks, roles and the response cache of dpfleet-server's JSON API.
 *
 * Called by server/http.c (one call per complete request, on a worker thread) and by tests/fuzz/fuzz_api.c.
 * The endpoints live in api_fleet.c (reads, reports, scan requests), api_jobs.c (fixes, rollbacks, jobs) and
 * api_session.c (sign-in, users); this file keeps /healthz and /metrics.  The route table below is the whole
 * API surface: method, path pattern ('*' = one path segment, handed to the handler as c->arg), the least role
 * (0 = no sign-in), and whether a GET answer may be cached.  Every POST first needs Content-Type:
 * application/json (415) and a same-origin Origin, or Sec-Fetch-Site: same-origin without one (403;
 * post_guard, after OWASP "Cross-Site Request Forgery Prevention Cheat Sheet", verifying origin with standard
 * headers) — the login too, so no other site can sign a browser in (login CSRF).  Then, on a route that
 * needs sign-in: session cookie (401) -> X-CSRF-Token on every POST (403) -> role (403) -> the handler
 * (400/404/409/422/...).  Login is the only POST without a session or CSRF token.  The cache is per worker
 * thread and keyed on the request and the store generation (store_query_generation), so a cached answer is
 * never older than the last commit anyone made; sign-in and roles are checked before the cache is consulted.
 * Assumes sodium_init() ran; every answer is a JSON object except the CSV reports and /metrics.
 */
#include "api.h"
#include "api_int.h"
#include "auth.h"
#include "log.h"
#include "store_query.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CT_JSON		"application/json"
#define CT_METRICS	"text/plain; version=0.0.4; charset=utf-8"

#define CACHE_SLOTS	32
#define CACHE_KEY_MAX	2048
#define CACHE_BODY_MAX	(4 * 1024 * 1024)

struct cache_entry {
	char		*key;
	char		*body;
	size_t		 len;
	int		 status;
	const char	*content_type;
	char		 disposition[128];
	int64_t		 dv, own;
};

struct api_cache {
	struct cache_entry	 e[CACHE_SLOTS];
	size_t			 next;		/* round-robin victim */
	struct store_session_lookup *lookup;	/* prepared once per connection */
};

static int	api_healthz(struct api_call *);
static int	api_metrics(struct api_call *);

static const struct route {
	const char	*method;
	const char	*pattern;
	int		 rank;		/* 0 none, 1 viewer, 2 operator, 3 admin */
	int		 cache;
	int		(*fn)(struct api_call *);
} routes[] = {
	{ "POST", "/api/v1/login",			0, 0, api_login },
	{ "POST", "/api/v1/logout",			1, 0, api_logout },
	{ "GET",  "/api/v1/me",				1, 0, api_me },
	{ "GET",  "/api/v1/summary",			1, 1, api_get_summary },
	{ "GET",  "/api/v1/hosts",			1, 1, api_get_hosts },
	{ "GET",  "/api/v1/hosts/*",			1, 1, api_get_host },
	{ "GET",  "/api/v1/scans",			1, 1, api_get_scans },
	{ "POST", "/api/v1/scans",			2, 0, api_post_scans },
	{ "POST", "/api/v1/fixes",			2, 0, api_post_fixes },
	{ "POST", "/api/v1/rollbacks",			2, 0, api_post_rollbacks },
	{ "GET",  "/api/v1/jobs",			1, 1, api_get_jobs },
	{ "GET",  "/api/v1/jobs/*",			1, 1, api_get_job },
	{ "POST", "/api/v1/jobs/*/cancel",		2, 0, api_post_job_cancel },
	{ "GET",  "/api/v1/report/affected.csv",	1, 1, api_get_report_affected_csv },
	{ "GET",  "/api/v1/report/affected.json",	1, 1, api_get_report_affected_json },
	{ "GET",  "/api/v1/report/hosts.csv",		1, 1, api_get_report_hosts_csv },
	{ "GET",  "/api/v1/report/hosts.json",		1, 1, api_get_report_hosts_json },
	{ "GET",  "/api/v1/reasons",			1, 1, api_get_reasons },
	{ "GET",  "/api/v1/report/fixes.csv",		1, 1, api_get_report_fixes_csv },
	{ "GET",  "/api/v1/report/fixes.json",		1, 1, api_get_report_fixes_json },
	{ "GET",  "/api/v1/audit",			3, 1, api_get_audit },
	{ "GET",  "/api/v1/users",			3, 1, api_get_users },
	{ "GET",  "/healthz",				0, 0, api_healthz },
	{ "GET",  "/metrics",				0, 0, api_metrics },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

int
api_path(const char *path)
{
	return strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0 ||
	    strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0;
}

/* Match path against pattern; the '*' segment (non-empty, no '/') is copied to arg. */
static int
match(const char *pattern, const char *path, char *arg, size_t argsize)
{
	size_t n;

	arg[0] = '\0';
	while (*pattern != '\0') {
		if (*pattern == '*') {
			n = strcspn(path, "/");
			if (n == 0 || n >= argsize)
				return 0;
			memcpy(arg, path, n);
			arg[n] = '\0';
			path += n;
			pattern++;
			continue;
		}
		if (*pattern++ != *path++)
			return 0;
	}
	return *path == '\0';
}

void
api_response_clear(struct api_response *rs)
{
	api_login_job_free(rs->pending);
	if (rs->set_cookie[0] != '\0' && rs->body != NULL)
		explicit_bzero(rs->body, rs->len);	/* the login answer carries the CSRF token */
	explicit_bzero(rs->set_cookie, sizeof(rs->set_cookie));
	free(rs->body);
	memset(rs, 0, sizeof(*rs));
}

static void
set_body(struct api_response *rs, int status, const char *type, char *body, size_t len)
{
	free(rs->body);
	rs->status = status;
	rs->content_type = type;
	rs->body = body;
	rs->len = len;
}

void
api_error_response(struct api_response *rs, int status, const char *msg)
{
	json_t *o;
	char *text = NULL;

	o = json_object();
	if (o != NULL && json_object_set_new(o, "error", store_json_text(msg)) == 0)
		text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		/* Out of memory: a fixed answer. */
		status = 500;
		text = strdup("{\"error\":\"out of memory\"}");
	}
	set_body(rs, status, CT_JSON, text, text ? strlen(text) : 0);
}

int
api_fail(struct api_call *c, int status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_error_response(c->rs, status, msg);
	return -1;
}

int
api_json(struct api_call *c, int status, json_t *v)
{
	char *text;

	if (v == NULL)
		return api_fail(c, 500, "out of memory");
	text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (text == NULL)
		return api_fail(c, 500, "out of memory");
	set_body(c->rs, status, CT_JSON, text, strlen(text));
	return 0;
}

int
api_store_error(struct api_call *c, const char *err)
{
	log_warnx("%s %s: %s", c->rq->method, c->rq->path, err);
	return api_fail(c, 500, "internal error: %s", err);
}

int
api_body_object(struct api_call *c, json_t **out)
{
	json_error_t je;
	json_t *v;

	*out = NULL;
	if (c->rq->body == NULL || c->rq->body_len == 0)
		return api_fail(c, 400, "invalid JSON: empty body");
	v = json_loadb(c->rq->body, c->rq->body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (v == NULL)
		return api_fail(c, 400, "invalid JSON: %s at line %d column %d", je.text, je.line, je.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return api_fail(c, 422, "the body must be a JSON object");
	}
	*out = v;
	return 0;
}

const char *
api_param(struct api_call *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->rq->nparams; i++)
		if (strcmp(c->rq->keys[i], key) == 0)
			return c->rq->values[i];
	return NULL;
}

int
api_param_long(struct api_call *c, const char *key, long min, long max, long *v)
{
	const char *s = api_param(c, key);
	char *end;
	long n;

	if (s == NULL)
		return 0;
	if (*s == '\0' || strlen(s) > 18)
		return api_fail(c, 400, "%s must be an integer in %ld..%ld", key, min, max);
	n = strtol(s, &end, 10);
	if (*end != '\0' || n < min || n > max)
		return api_fail(c, 400, "%s must be an integer in %ld..%ld", key, min, max);
	*v = n;
	return 0;
}

int
api_param_bool(struct api_call *c, const char *key, int *v)
{
	const char *s = api_param(c, key);

	*v = -1;
	if (s == NULL)
		return 0;
	if (strcmp(s, "true") == 0)
		*v = 1;
	else if (strcmp(s, "false") == 0)
		*v = 0;
	else
		return api_fail(c, 400, "%s must be true or false", key);
	return 0;
}

const char *
api_user(struct api_call *c)
{
	return c->session ? c->session->user : "";
}

/* --- response cache ---------------------------------------------------------------------------------- */

struct api_cache *
api_cache_new(struct store *st)
{
	struct api_cache *c;
	char err[256];

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (store_session_lookup_new(st, &c->lookup, err, sizeof(err)) == -1) {
		log_warnx("response cache: %s", err);
		free(c);
		return NULL;
	}
	return c;
}

static void
entry_clear(struct cache_entry *e)
{
	free(e->key);
	free(e->body);
	memset(e, 0, sizeof(*e));
}

void
api_cache_free(struct api_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < CACHE_SLOTS; i++)
		entry_clear(&c->e[i]);
	store_session_lookup_free(c->lookup);
	free(c);
}

/* The cache key: path and parameters, separated by bytes that cannot occur in them. */
static int
cache_key(const struct api_request *rq, char *key, size_t size)
{
	size_t i, len;
	int n;

	n = snprintf(key, size, "%s", rq->path);
	if (n < 0 || (size_t)n >= size)
		return -1;
	len = (size_t)n;
	for (i = 0; i < rq->nparams; i++) {
		n = snprintf(key + len, size - len, "\x01%s\x02%s", rq->keys[i], rq->values[i]);
		if (n < 0 || (size_t)n >= size - len)
			return -1;
		len += (size_t)n;
	}
	return 0;
}

static struct cache_entry *
cache_find(struct api_cache *cache, const char *key, int64_t dv, int64_t own)
{
	size_t i;

	for (i = 0; i < CACHE_SLOTS; i++)
		if (cache->e[i].key != NULL && cache->e[i].dv == dv && cache->e[i].own == own &&
		    strcmp(cache->e[i].key, key) == 0)
			return &cache->e[i];
	return NULL;
}

static void
cache_put(struct api_cache *cache, const char *key, int64_t dv, int64_t own, const struct api_response *rs)
{
	struct cache_entry *e = NULL;
	size_t i;

	if (rs->status != 200 || rs->body == NULL || rs->len > CACHE_BODY_MAX)
		return;
	/* Reuse the slot of the same key (stale generation) or a free one, else round-robin. */
	for (i = 0; i < CACHE_SLOTS && e == NULL; i++)
		if (cache->e[i].key != NULL && strcmp(cache->e[i].key, key) == 0)
			e = &cache->e[i];
	for (i = 0; i < CACHE_SLOTS && e == NULL; i++)
		if (cache->e[i].key == NULL)
			e = &cache->e[i];
	if (e == NULL) {
		e = &cache->e[cache->next];
		cache->next = (cache->next + 1) % CACHE_SLOTS;
	}
	entry_clear(e);
	if ((e->key = strdup(key)) == NULL || (e->body = malloc(rs->len ? rs->len : 1)) == NULL) {
		entry_clear(e);
		return;
	}
	memcpy(e->body, rs->body, rs->len);
	e->len = rs->len;
	e->status = rs->status;
	e->content_type = rs->content_type;
	util_strlcpy(e->disposition, rs->disposition, sizeof(e->disposition));
	e->dv = dv;
	e->own = own;
}

static int
cache_answer(const struct cache_entry *e, struct api_response *rs)
{
	char *body;

	if ((body = malloc(e->len ? e->len : 1)) == NULL)
		return -1;
	memcpy(body, e->body, e->len);
	set_body(rs, e->status, e->content_type, body, e->len);
	util_strlcpy(rs->disposition, e->disposition, sizeof(rs->disposition));
	return 0;
}

/* --- POST guard: Content-Type and origin ------------------------------------------------------------ */

/* Length of host without a default port (":80" for http, ":443" for https) at its end. */
static size_t
host_len(const char *host, int tls)
{
	const char *port = tls ? ":443" : ":80";
	size_t n = strlen(host), p = strlen(port);

	if (n > p && strcasecmp(host + n - p, port) == 0)
		return n - p;
	return n;
}

/* 1 if origin is this server's: the scheme the server speaks and the request's Host, ports normalised. */
static int
same_origin(const char *origin, const char *host, int tls)
{
	const char *scheme = tls ? "https://" : "http://";
	size_t n = strlen(scheme), ol, hl;

	if (host == NULL || host[0] == '\0' || strncasecmp(origin, scheme, n) != 0)
		return 0;
	origin += n;
	ol = host_len(origin, tls);
	hl = host_len(host, tls);
	return ol == hl && strncasecmp(origin, host, hl) == 0;
}

/*
 * Every POST: Content-Type application/json (parameters allowed) else 415; then an Origin that is this
 * server's, or, when there is no Origin, Sec-Fetch-Site: same-origin, else 403.  0, or -1 after answering.
 */
static int
post_guard(struct api_call *c)
{
	const struct api_request *rq = c->rq;
	const char *ct = rq->content_type;
	size_t n = strlen(CT_JSON);

	if (ct == NULL || strncasecmp(ct, CT_JSON, n) != 0 || (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
		return api_fail(c, 415, "a POST must have Content-Type: %s", CT_JSON);
	if (rq->origin != NULL) {
		if (!same_origin(rq->origin, rq->host, c->env->tls))
			return api_fail(c, 403, "cross-origin POST refused (Origin is not this server)");
		return 0;
	}
	if (rq->fetch_site == NULL || strcmp(rq->fetch_site, "same-origin") != 0)
		return api_fail(c, 403, "a POST must carry this server's Origin (or Sec-Fetch-Site: same-origin)");
	return 0;
}

/* --- dispatch ---------------------------------------------------------------------------------------- */

/*
 * The sign-in part of a route (r->rank > 0): session (401), CSRF token on POST (403), role (403).  Fills
 * *sess, c->session, rs->user and, from the lookup, *dv and *own (*have_gen 1).  0, or -1 after answering.
 */
static int
check_session(struct api_call *c, const struct route *r, struct store_session *sess, int64_t *dv,
    int64_t *own, int *have_gen)
{
	struct api_env *env = c->env;
	const struct api_request *rq = c->rq;
	char err[512];
	int found;

	if (env->cache != NULL) {
		found = auth_session_lookup(env->cache->lookup, rq->cookie, sess, dv, own, err, sizeof(err));
		*have_gen = found == 1;
	} else
		found = auth_session(env->st, rq->cookie, sess, err, sizeof(err));
	if (found == -1)
		return api_store_error(c, err);
	if (found == 0)
		return api_fail(c, 401, "not signed in (no valid dpfleet_session cookie)");
	c->session = sess;
	util_strlcpy(c->rs->user, sess->user, sizeof(c->rs->user));
	if (strcmp(r->method, "POST") == 0 && !auth_csrf_ok(sess, rq->csrf))
		return api_fail(c, 403, "missing or wrong X-CSRF-Token header");
	if (auth_role_rank(sess->role) < r->rank)
		return api_fail(c, 403, "role %s may not %s %s", sess->role, rq->method, rq->path);
	return 0;
}

void
api_handle(struct api_env *env, const struct api_request *rq, struct api_response *rs)
{
	struct api_call c;
	struct store_session sess;
	const struct route *r = NULL;
	const char *method = rq->method;
	char err[512], key[CACHE_KEY_MAX];
	int64_t dv = 0, own = 0;
	size_t i;
	int path_known = 0, cacheable = 0, have_gen = 0;

	memset(rs, 0, sizeof(*rs));
	memset(&c, 0, sizeof(c));
	memset(&sess, 0, sizeof(sess));
	c.env = env;
	c.rq = rq;
	c.rs = rs;
	if (strcmp(method, "HEAD") == 0)
		method = "GET";
	for (i = 0; i < NROUTES; i++) {
		if (!match(routes[i].pattern, rq->path, c.argbuf, sizeof(c.argbuf)))
			continue;
		path_known = 1;
		if (strcmp(routes[i].method, method) == 0) {
			r = &routes[i];
			break;
		}
	}
	if (r == NULL) {
		if (path_known)
			api_fail(&c, 405, "method %s not allowed on %s", rq->method, rq->path);
		else
			api_fail(&c, 404, "no such endpoint: %s", rq->path);
		return;
	}
	c.arg = c.argbuf[0] != '\0' ? c.argbuf : NULL;
	if (strcmp(r->method, "POST") == 0 && post_guard(&c) == -1)
		goto done;
	if (r->rank > 0 && check_session(&c, r, &sess, &dv, &own, &have_gen) == -1)
		goto done;

	cacheable = r->cache && env->cache != NULL && cache_key(rq, key, sizeof(key)) == 0 &&
	    (have_gen || store_query_generation(env->st, &dv, &own, err, sizeof(err)) == 0);
	if (cacheable) {
		const struct cache_entry *e = cache_find(env->cache, key, dv, own);

		if (e != NULL && cache_answer(e, rs) == 0)
			goto done;
	}
	r->fn(&c);
	if (rs->body == NULL && rs->pending == NULL)
		api_fail(&c, 500, "internal error: no answer");
	else if (cacheable)
		cache_put(env->cache, key, dv, own, rs);
done:
	explicit_bzero(&sess, sizeof(sess));
}

/* --- health, metrics --------------------------------------------------------------------------------- */

static int
api_healthz(struct api_call *c)
{
	char err[512];

	if (store_query_ping(c->env->st, err, sizeof(err)) == -1) {
		log_warnx("healthz: %s", err);
		return api_fail(c, 503, "state DB not answering: %s", err);
	}
	return api_json(c, 200, json_pack("{s:s}", "status", "ok"));
}

static int
api_metrics(struct api_call *c)
{
	char err[512], *text;
	size_t len;

	if (metrics_render(c->env->metrics, c->env->st, &text, &len, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	set_body(c->rs, 200, CT_METRICS, text, len);
	return 0;
}
