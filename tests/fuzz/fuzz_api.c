/*
 * fuzz_api.c — libFuzzer target over dpfleet-server's JSON request handlers (server/api*.c) and the store
 * queries behind them, without HTTP.
 *
 * The first input byte picks a request shape; the rest is the request body (POST endpoints), a query
 * string parsed into parameters (GET endpoints), or the path itself.  Requests carry a valid operator or
 * admin session and CSRF token so the fuzzer gets past sign-in into the parsers and the store.  The state DB
 * is an in-memory SQLite DB seeded once with sites, hosts, a scan, observations, evidence and a written fix
 * job; rows the handlers add are trimmed every 512 runs so the DB stays small.  Login is left out: every
 * attempt costs one argon2id hash (64 MiB), which would only slow the fuzzer down.  Checked invariants: a
 * status in 200..599, a body, and JSON bodies that parse.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "api.h"
#include "metrics.h"
#include "store.h"
#include "store_users.h"
#include "util.h"

#define TOKEN_OP	"1111111111111111111111111111111111111111111111111111111111111111"
#define TOKEN_ADMIN	"2222222222222222222222222222222222222222222222222222222222222222"
#define CSRF		"3333333333333333333333333333333333333333333333333333333333333333"

struct fuzz_state {
	struct store		*st;
	struct metrics		*metrics;
	struct api_cache	*cache;
	struct api_env		 env;
	unsigned long		 runs;
};

static struct fuzz_state *
state(void)
{
	static struct fuzz_state *fs;	/* libFuzzer gives no context pointer: one per process */
	char err[512], hash[UTIL_SHA256_HEX];

	if (fs != NULL)
		return fs;
	if (sodium_init() < 0 || (fs = calloc(1, sizeof(*fs))) == NULL)
		abort();
	if (store_open(&fs->st, ":memory:", err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_api: %s\n", err);
		abort();
	}
	if (store_exec(fs->st,
	    "INSERT INTO sites (code, type, expected_state, expected_sha256, first_seen, last_seen) VALUES "
	    " ('PS1', 'primary', 'present', 'ee', 't', 't'), ('PS2', 'secondary', 'absent', NULL, 't', 't');"
	    "INSERT INTO scans (id, trigger, started_at, finished_at, state, duration_ms) VALUES "
	    " (1, 'cli', '2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z', 'done', 60000);"
	    "INSERT INTO hosts (id, fqdn, site, is_dp, is_mp, pxe, first_seen, last_seen) VALUES "
	    " (1, 'dp1.lab', 'PS1', 1, 0, 1, 't', 't'), (2, 'dp2.lab', 'PS1', 1, 1, 0, 't', 't'),"
	    " (3, 'mp1.lab', 'PS2', 0, 1, 0, 't', 't'), (4, 'new.lab', 'PS2', 1, 0, 0, 't', 't');"
	    "INSERT INTO observations (id, scan_id, host_id, at, state, reason, value_sha256) VALUES "
	    " (1, 1, 1, '2026-01-01T00:00:30Z', 'missing', 'value absent', NULL),"
	    " (2, 1, 2, '2026-01-01T00:00:31Z', 'healthy', NULL, 'ee'),"
	    " (3, 1, 3, '2026-01-01T00:00:32Z', 'mismatch', 'a \"quoted\", reason', 'aa');"
	    "UPDATE hosts SET last_obs_id = id WHERE id < 4;"
	    "INSERT INTO evidence (observation_id, source, file, line) VALUES (1, 'smspxe', 'f', 'line');"
	    "INSERT INTO users (id, name, role, pwhash, created_at) VALUES (1, 'op', 'operator', 'x', 't'),"
	    " (2, 'adm', 'admin', 'x', 't');"
	    "INSERT INTO jobs (id, kind, host, requested_by, requested_at, state, outcome) VALUES "
	    " (1, 'fix', 'dp1.lab', 'op', 't', 'done', 'written'), (2, 'fix', 'dp2.lab', 'op', 't', 'queued', NULL);",
	    err, sizeof(err)) == -1) {
		fprintf(stderr, "fuzz_api: seed: %s\n", err);
		abort();
	}
	util_sha256_hex(TOKEN_OP, strlen(TOKEN_OP), hash);
	if (store_session_create(fs->st, hash, 1, CSRF, "2026-01-01T00:00:00Z", "2999-01-01T00:00:00Z", err,
	    sizeof(err)) == -1)
		abort();
	util_sha256_hex(TOKEN_ADMIN, strlen(TOKEN_ADMIN), hash);
	if (store_session_create(fs->st, hash, 2, CSRF, "2026-01-01T00:00:00Z", "2999-01-01T00:00:00Z", err,
	    sizeof(err)) == -1)
		abort();
	if ((fs->metrics = metrics_new()) == NULL || (fs->cache = api_cache_new(fs->st)) == NULL)
		abort();
	fs->env.st = fs->st;
	fs->env.metrics = fs->metrics;
	fs->env.cache = fs->cache;
	fs->env.max_per_run = 2;
	fs->env.session_ttl = 3600;
	return fs;
}

static const struct {
	const char	*method;
	const char	*path;		/* NULL: the input is the path */
	int		 query;		/* the input is a query string */
	int		 admin;
} shapes[] = {
	{ "POST", "/api/v1/fixes", 0, 0 },
	{ "POST", "/api/v1/rollbacks", 0, 0 },
	{ "POST", "/api/v1/scans", 0, 0 },
	{ "POST", "/api/v1/jobs/2/cancel", 0, 0 },
	{ "GET",  "/api/v1/hosts", 1, 0 },
	{ "GET",  "/api/v1/jobs", 1, 0 },
	{ "GET",  "/api/v1/scans", 1, 0 },
	{ "GET",  "/api/v1/audit", 1, 1 },
	{ "GET",  "/api/v1/summary", 1, 0 },
	{ "GET",  "/api/v1/report/affected.csv", 1, 0 },
	{ "GET",  "/api/v1/report/fixes.csv", 1, 0 },
	{ "GET",  "/metrics", 1, 0 },
	{ "GET",  NULL, 0, 0 },
	{ "POST", NULL, 0, 0 },
};
#define NSHAPES	(sizeof(shapes) / sizeof(shapes[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state *fs = state();
	struct api_request rq;
	struct api_response rs;
	char *text, *p, *amp, *eq;
	char err[256];
	size_t k;
	json_t *v;

	if (size < 1 || size > API_BODY_MAX)
		return 0;
	k = data[0] % NSHAPES;
	data++;
	size--;
	if ((text = malloc(size + 2)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	memset(&rq, 0, sizeof(rq));
	rq.method = shapes[k].method;
	rq.path = shapes[k].path;
	rq.cookie = shapes[k].admin ? TOKEN_ADMIN : TOKEN_OP;
	rq.csrf = CSRF;
	rq.content_type = "application/json";	/* what the dashboard sends: past the POST guard */
	rq.origin = "http://127.0.0.1:8080";
	rq.host = "127.0.0.1:8080";
	if (rq.path == NULL) {
		if (memchr(data, '\0', size) != NULL)
			goto done;
		rq.path = text;
	} else if (shapes[k].query) {
		if (memchr(data, '\0', size) != NULL)
			goto done;
		for (p = text; *p != '\0' && rq.nparams < API_MAX_PARAMS; p = amp) {
			amp = p + strcspn(p, "&");
			if (*amp == '&')
				*amp++ = '\0';
			if ((eq = strchr(p, '=')) != NULL)
				*eq++ = '\0';
			rq.keys[rq.nparams] = p;
			rq.values[rq.nparams] = eq ? eq : "";
			rq.nparams++;
		}
	} else {
		rq.body = (const char *)data;
		rq.body_len = size;
	}
	api_handle(&fs->env, &rq, &rs);
	if (rs.status < 200 || rs.status > 599 || rs.body == NULL || rs.content_type == NULL)
		abort();
	if (strcmp(rs.content_type, "application/json") == 0) {
		if ((v = json_loadb(rs.body, rs.len, JSON_DECODE_ANY, NULL)) == NULL)
			abort();
		json_decref(v);
	}
	api_response_clear(&rs);
	if (++fs->runs % 512 == 0 && store_exec(fs->st, "DELETE FROM jobs WHERE id > 2; "
	    "UPDATE jobs SET state = 'queued' WHERE id = 2; DELETE FROM audit; DELETE FROM scan_requests",
	    err, sizeof(err)) == -1)
		abort();
done:
	free(text);
	return 0;
}
