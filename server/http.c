/*
 * http.c — the libmicrohttpd front of dpfleet-server.
 *
 * Called by server/main.c (http_start/http_stop).  libmicrohttpd 0.9.75 (Debian 12) runs an internal
 * thread pool (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, MHD_OPTION_THREAD_POOL_SIZE 2..4), with
 * GnuTLS (MHD_USE_TLS) when [http] tls_cert/tls_key are set.  Every pool thread lazily opens its own
 * SQLite connection (WAL, busy timeout: the scanner writes concurrently) and its own response cache,
 * kept in a pthread key owned by the server struct and closed by the key's destructor when MHD joins the
 * thread.  Request flow: on_request() collects the body up to API_BODY_MAX (a larger body is read and
 * discarded, up to DISCARD_MAX, and answered 413), then hands API paths to api_handle() and everything else
 * to the static files (webroot.c).  A sign-in comes back from api_handle as a job: the connection is
 * suspended (MHD_ALLOW_SUSPEND_RESUME), the job goes to server/loginq.c's hashing threads, and the thread
 * that finishes it resumes the connection, whose next on_request call answers it (start_login, serve_api).
 * Connection limits, the idle timeout and the GnuTLS priorities come from [http] (start_daemon).  Every
 * answer carries the security headers (HSTS too under TLS), is counted for /metrics and, at -v, logged as
 * one line.  Bodies are wiped before they are freed (they may hold a password).  The file is over 600 lines
 * because every function here is a libmicrohttpd callback or shares their static state; a split would only
 * export them.
 */
#include "http.h"
#include "api.h"
#include "log.h"
#include "loginq.h"
#include "metrics.h"
#include "store.h"
#include "util.h"
#include "webroot.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#define DISCARD_MAX	(16 * 1024 * 1024)	/* read at most this much of an oversized body, then close */
#define TLS_FILE_MAX	(1024 * 1024)
#define CSP		"default-src 'self'; frame-ancestors 'none'"
#define HSTS		"max-age=31536000"	/* RFC 6797: one year */
#define FD_SPARE	64	/* descriptors beyond [http] max_connections: store, web files, hashing threads */

struct http_server;

struct worker {
	struct http_server	*srv;
	struct store		*st;
	struct api_cache	*cache;
	struct api_env		 env;
	struct worker		*next;
};

struct http_server {
	struct MHD_Daemon	*d;
	char			 store_path[PATH_MAX];
	int			 max_per_run;
	int			 session_ttl;
	int			 tls;
	struct webroot		*web;
	struct metrics		*metrics;
	struct loginq		*loginq;
	pthread_key_t		 key;
	int			 key_made;
	pthread_mutex_t		 mu;		/* guards workers */
	struct worker		*workers;
	char			*cert, *tlskey;
	size_t			 cert_len, tlskey_len;
};

struct req {
	char		*body;
	size_t		 len;
	int		 too_large;
	size_t		 discarded;
	int64_t		 t0;
	struct auth_job	*job;		/* a sign-in handed to server/loginq.c; its connection is suspended */
	struct MHD_Connection *conn;
};

static void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	api_cache_free(w->cache);
	store_close(w->st);
	free(w);
}

/* pthread key destructor: runs in the worker thread when MHD ends it. */
static void
worker_exit(void *arg)
{
	struct worker *w = arg, **pp;

	pthread_mutex_lock(&w->srv->mu);
	for (pp = &w->srv->workers; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_mutex_unlock(&w->srv->mu);
	worker_free(w);
}

static struct worker *
worker_get(struct http_server *s)
{
	struct worker *w = pthread_getspecific(s->key);
	char err[512];

	if (w != NULL)
		return w;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warnx("worker: out of memory");
		return NULL;
	}
	w->srv = s;
	if (store_open(&w->st, s->store_path, err, sizeof(err)) == -1) {
		log_warnx("worker: %s", err);
		free(w);
		return NULL;
	}
	w->cache = api_cache_new(w->st);	/* NULL only costs speed */
	w->env.st = w->st;
	w->env.metrics = s->metrics;
	w->env.cache = w->cache;
	w->env.max_per_run = s->max_per_run;
	w->env.session_ttl = s->session_ttl;
	w->env.tls = s->tls;
	w->env.async_login = s->loginq != NULL;
	if (pthread_setspecific(s->key, w) != 0) {
		worker_free(w);
		return NULL;
	}
	pthread_mutex_lock(&s->mu);
	w->next = s->workers;
	s->workers = w;
	pthread_mutex_unlock(&s->mu);
	return w;
}

static void
common_headers(const struct http_server *s, struct MHD_Response *r)
{
	if (s->tls)
		MHD_add_response_header(r, "Strict-Transport-Security", HSTS);
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
}

static void
log_request(struct MHD_Connection *conn, const char *method, const char *url, int status, size_t len,
    const char *user, int64_t t0)
{
	const union MHD_ConnectionInfo *ci;
	char peer[INET6_ADDRSTRLEN] = "-";

	if (log_getverbose() < 1)
		return;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		if (ci->client_addr->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
			    peer, sizeof(peer));
		else if (ci->client_addr->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)(const void *)ci->client_addr)->sin6_addr, peer,
			    sizeof(peer));
	}
	log_debug("%s %s %.200s %d %zu %s %lldms", peer, method, url, status, len, user && *user ? user : "-",
	    (long long)(util_mono_ms() - t0));
}

/* Queue an api_response (API answers and the HTTP layer's own JSON errors). */
static enum MHD_Result
send_api(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
    struct api_response *rs, int64_t t0)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	int secret = rs->set_cookie[0] != '\0';

	r = MHD_create_response_from_buffer(rs->len, rs->body, secret ? MHD_RESPMEM_MUST_COPY :
	    MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		api_response_clear(rs);
		return MHD_NO;
	}
	if (!secret)
		rs->body = NULL;		/* MHD frees it now */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs->content_type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (rs->set_cookie[0] != '\0')
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, rs->set_cookie);
	if (rs->disposition[0] != '\0')
		MHD_add_response_header(r, "Content-Disposition", rs->disposition);
	common_headers(s, r);
	ok = MHD_queue_response(conn, (unsigned int)rs->status, r);
	MHD_destroy_response(r);
	metrics_count(s->metrics, rs->status);
	log_request(conn, method, url, rs->status, rs->len, rs->user, t0);
	api_response_clear(rs);
	return ok;
}

static enum MHD_Result
send_error(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
    int status, const char *msg, int64_t t0)
{
	struct api_response rs;

	memset(&rs, 0, sizeof(rs));
	api_error_response(&rs, status, msg);
	return send_api(s, conn, method, url, &rs, t0);
}

/* If-None-Match holds the ETag (or "*"): a comma-separated list of entity tags, weak ones too. */
static int
etag_matches(const char *inm, const char *etag)
{
	size_t n = strlen(etag);
	const char *p;

	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (p = inm; (p = strstr(p, etag)) != NULL; p += n)
		if (p[n] == '\0' || p[n] == ',' || p[n] == ' ')
			return 1;
	return 0;
}

static enum MHD_Result
send_static(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
    int64_t t0)
{
	struct webroot_file f;
	struct MHD_Response *r;
	enum MHD_Result ok;
	char err[256];
	int status, rc;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_error(s, conn, method, url, 405, "only GET and HEAD are allowed on static files",
		    t0);
	rc = webroot_resolve(s->web, url, &f, err, sizeof(err));
	if (rc == WEBROOT_BAD_PATH)
		return send_error(s, conn, method, url, 400, err, t0);
	if (rc != WEBROOT_OK)
		return send_error(s, conn, method, url, 404, err, t0);
	if (etag_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH),
	    f.etag)) {
		close(f.fd);
		r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
		status = MHD_HTTP_NOT_MODIFIED;
	} else {
		r = MHD_create_response_from_fd((size_t)f.size, f.fd);	/* MHD closes fd */
		if (r == NULL)
			close(f.fd);
		status = MHD_HTTP_OK;
	}
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_ETAG, f.etag);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	if (status == MHD_HTTP_OK)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f.type);
	common_headers(s, r);
	ok = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	metrics_count(s->metrics, status);
	log_request(conn, method, url, status, status == MHD_HTTP_OK ? (size_t)f.size : 0, NULL, t0);
	return ok;
}

struct param_ctx {
	struct api_request	*rq;
	int			 overflow;
};

static enum MHD_Result
collect_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct param_ctx *p = cls;

	(void)kind;
	if (p->rq->nparams == API_MAX_PARAMS) {
		p->overflow = 1;
		return MHD_NO;
	}
	p->rq->keys[p->rq->nparams] = key;
	p->rq->values[p->rq->nparams] = value ? value : "";
	p->rq->nparams++;
	return MHD_YES;
}

/* The client's address, or NULL. */
static const struct sockaddr *
peer_addr(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	return ci != NULL ? ci->client_addr : NULL;
}

/* Called on a hashing thread when q's sign-in has run: wake the connection (on_request answers it). */
static void
login_done(struct auth_job *job, void *arg)
{
	struct req *q = arg;

	(void)job;
	MHD_resume_connection(q->conn);
}

/*
 * Hand a sign-in job to the hashing threads: suspend the connection first (the job may finish at once), then
 * queue it; refused (queue full, rate) it is answered as soon as the connection resumes.  q owns the job.
 */
static enum MHD_Result
start_login(struct http_server *s, struct MHD_Connection *conn, struct req *q, struct auth_job *job)
{
	int r;

	q->job = job;
	q->conn = conn;
	job->done = login_done;
	job->done_arg = q;
	MHD_suspend_connection(conn);
	if ((r = loginq_submit(s->loginq, job, peer_addr(conn))) != LOGINQ_QUEUED) {
		job->rc = r == LOGINQ_RATE ? AUTH_RATE : AUTH_BUSY;
		explicit_bzero(job->password, sizeof(job->password));
		MHD_resume_connection(conn);
	}
	return MHD_YES;
}

/* A complete API request: to api_handle, or, when resumed after a sign-in, its answer. */
static enum MHD_Result
serve_api(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
    struct req *q)
{
	struct worker *w;
	struct api_request rq;
	struct api_response rs;
	struct param_ctx pc;
	struct auth_job *job;

	if ((w = worker_get(s)) == NULL)
		return send_error(s, conn, method, url, 503, "state DB unavailable", q->t0);
	memset(&rs, 0, sizeof(rs));
	if (q->job != NULL) {
		api_login_answer(&w->env, q->job, &rs);
		api_login_job_free(q->job);
		q->job = NULL;
		return send_api(s, conn, method, url, &rs, q->t0);
	}
	memset(&rq, 0, sizeof(rq));
	pc.rq = &rq;
	pc.overflow = 0;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, &pc);
	if (pc.overflow)
		return send_error(s, conn, method, url, 400, "too many query parameters", q->t0);
	rq.method = method;
	rq.path = url;
	rq.body = q->body;
	rq.body_len = q->len;
	rq.cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, "dpfleet_session");
	rq.csrf = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-CSRF-Token");
	rq.content_type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	rq.origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
	rq.fetch_site = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-Fetch-Site");
	rq.host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	api_handle(&w->env, &rq, &rs);
	if (rs.pending != NULL) {
		job = rs.pending;
		rs.pending = NULL;
		api_response_clear(&rs);
		return start_login(s, conn, q, job);
	}
	return send_api(s, conn, method, url, &rs, q->t0);
}

/* The first call for a request: q made, a declared body too large even to discard answered 413 at once. */
static enum MHD_Result
begin_request(struct http_server *s, struct MHD_Connection *conn, const char *method, const char *url,
    void **con_cls)
{
	struct req *q;
	const char *cl;
	char *end;
	unsigned long long n;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return MHD_NO;
	q->t0 = util_mono_ms();
	*con_cls = q;
	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL)
		return MHD_YES;
	errno = 0;
	n = strtoull(cl, &end, 10);
	if (errno != 0 || *end != '\0' || n > API_BODY_MAX)
		q->too_large = 1;
	/* Too large even to read and discard: answer now, MHD closes afterwards. */
	if (errno != 0 || *end != '\0' || n > DISCARD_MAX)
		return send_error(s, conn, method, url, 413, "request body larger than 65536 bytes", q->t0);
	return MHD_YES;
}

/* Take one piece of the body into q (or count it as discarded).  MHD_NO closes the connection. */
static enum MHD_Result
take_body(struct req *q, const char *upload, size_t *upload_size)
{
	if (!q->too_large && *upload_size > API_BODY_MAX - q->len) {
		q->too_large = 1;
		if (q->body != NULL)
			explicit_bzero(q->body, q->len);
		free(q->body);
		q->body = NULL;
		q->len = 0;
	}
	if (q->too_large) {
		q->discarded += *upload_size;
		if (q->discarded > DISCARD_MAX)
			return MHD_NO;		/* close the connection */
	} else {
		if (q->body == NULL && (q->body = malloc(API_BODY_MAX)) == NULL)
			return MHD_NO;
		memcpy(q->body + q->len, upload, *upload_size);
		q->len += *upload_size;
	}
	*upload_size = 0;
	return MHD_YES;
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct req *q = *con_cls;

	(void)version;
	if (q == NULL)
		return begin_request(s, conn, method, url, con_cls);
	if (*upload_size != 0)
		return take_body(q, upload, upload_size);
	/* The whole request is here (or a suspended sign-in has resumed). */
	if (q->too_large)
		return send_error(s, conn, method, url, 413, "request body larger than 65536 bytes", q->t0);
	if (!api_path(url))
		return send_static(s, conn, method, url, q->t0);
	return serve_api(s, conn, method, url, q);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct req *q = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (q == NULL)
		return;
	api_login_job_free(q->job);
	if (q->body != NULL) {
		explicit_bzero(q->body, q->len);
		free(q->body);
	}
	free(q);
	*con_cls = NULL;
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_warnx("httpd: %s", msg);
}

/*
 * MHD's percent-decoding, except that %00 decodes to 0x01: a NUL would silently cut the path short
 * ("/%00/../x" -> "/"), while 0x01 is a control byte that webroot.c refuses with 400.
 */
static size_t
on_unescape(void *cls, struct MHD_Connection *conn, char *uri)
{
	char *p;

	(void)cls;
	(void)conn;
	for (p = uri; (p = strchr(p, '%')) != NULL; p++)
		if (p[1] == '0' && p[2] == '0')
			p[2] = '1';
	return MHD_http_unescape(uri);
}

/* "host:port", "[v6]:port" -> a sockaddr.  0, or -1 with err. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen, char *err, size_t errlen)
{
	char host[CONFIG_STR], *colon;
	struct addrinfo hints, *res = NULL;
	int gai;

	util_strlcpy(host, listen, sizeof(host));
	if ((colon = strrchr(host, ':')) == NULL)
		return util_err(err, errlen, "listen %s: want host:port", listen);
	*colon++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	if ((gai = getaddrinfo(host[0] ? host : NULL, colon, &hints, &res)) != 0)
		return util_err(err, errlen, "listen %s: %s", listen, gai_strerror(gai));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* Read the TLS certificate and key named in conf into s.  0, or -1 with err. */
static int
tls_load(struct http_server *s, const struct config *conf, char *err, size_t errlen)
{
	char why[512];

	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return util_err(err, errlen, "this libmicrohttpd has no TLS support");
	if ((s->cert = util_read_file(conf->http.tls_cert, TLS_FILE_MAX, &s->cert_len, why,
	    sizeof(why))) == NULL ||
	    (s->tlskey = util_read_file(conf->http.tls_key, TLS_FILE_MAX, &s->tlskey_len, why,
	    sizeof(why))) == NULL)
		return util_err(err, errlen, "%s", why);
	return 0;
}

/*
 * Raise the soft RLIMIT_NOFILE so max_connections sockets and FD_SPARE more fit (up to the hard limit);
 * when they cannot, say so: libmicrohttpd then refuses connections when accept() fails.
 */
static void
raise_nofile(int max_connections)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)max_connections + FD_SPARE;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < need)
		log_warnx("open file limit %llu is below [http] max_connections %d + %d",
		    (unsigned long long)rl.rlim_cur, max_connections, FD_SPARE);
}

/*
 * Start libmicrohttpd with the [http] limits (doc/dpfleet-server.8, LIMITS): connections in all and per
 * client address, the idle timeout, and under TLS the GnuTLS priority string.  0, or -1 with err.
 */
static int
start_daemon(struct http_server *s, const struct config *conf, const struct sockaddr_storage *ss,
    int threads, char *err, size_t errlen)
{
	unsigned int flags;

	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_USE_TURBO |
	    MHD_ALLOW_SUSPEND_RESUME;
	if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->tls)
		flags |= MHD_USE_TLS;
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	    MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
	    MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
	    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)conf->http.max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned int)conf->http.max_connections_per_ip,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)conf->http.connection_timeout,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	    MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, s,
	    s->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->cert,
	    MHD_OPTION_HTTPS_MEM_KEY, s->tlskey,
	    MHD_OPTION_HTTPS_PRIORITIES, conf->http.tls_priorities,
	    MHD_OPTION_END);
	if (s->d == NULL)
		return util_err(err, errlen, "cannot listen on %s (address in use, bad TLS files, a [http] "
		    "tls_priorities GnuTLS does not accept, or no permission)", conf->http.listen);
	return 0;
}

int
http_start(struct http_server **out, const struct config *conf, int threads, char *err, size_t errlen)
{
	struct http_server *s;
	struct sockaddr_storage ss;
	socklen_t sslen;
	int hashers = conf->http.login_threads;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return util_err(err, errlen, "out of memory");
	pthread_mutex_init(&s->mu, NULL);
	if (pthread_key_create(&s->key, worker_exit) != 0) {
		util_err(err, errlen, "pthread_key_create failed");
		goto fail;
	}
	s->key_made = 1;
	util_strlcpy(s->store_path, conf->store.path, sizeof(s->store_path));
	s->max_per_run = conf->fix.max_per_run;
	s->session_ttl = conf->http.session_ttl;
	s->tls = conf->http.tls_cert[0] != '\0';
	if (hashers == 0)
		hashers = threads / 2;		/* half the CPUs (loginq_new keeps it in 1..4) */
	if (threads < 2)
		threads = 2;
	if (threads > 4)
		threads = 4;
	if ((s->metrics = metrics_new()) == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	if (webroot_open(&s->web, conf->http.web_root, err, errlen) == -1 ||
	    parse_listen(conf->http.listen, &ss, &sslen, err, errlen) == -1 ||
	    (s->tls && tls_load(s, conf, err, errlen) == -1) ||
	    loginq_new(&s->loginq, s->store_path, hashers, conf->http.login_queue, conf->http.login_rate, err,
	    errlen) == -1)
		goto fail;
	raise_nofile(conf->http.max_connections);
	if (start_daemon(s, conf, &ss, threads, err, errlen) == -1)
		goto fail;
	*out = s;
	return 0;
fail:
	http_stop(s);
	return -1;
}

void
http_stop(struct http_server *s)
{
	struct worker *w;

	if (s == NULL)
		return;
	loginq_free(s->loginq);		/* first: runs every queued sign-in, resuming its connection */
	if (s->d != NULL)
		MHD_stop_daemon(s->d);		/* joins the pool: the key destructors free the workers */
	while ((w = s->workers) != NULL) {
		s->workers = w->next;
		worker_free(w);
	}
	if (s->key_made)
		pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->mu);
	webroot_close(s->web);
	metrics_free(s->metrics);
	if (s->tlskey != NULL) {
		explicit_bzero(s->tlskey, s->tlskey_len);
		free(s->tlskey);
	}
	free(s->cert);
	free(s);
}
