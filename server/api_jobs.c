/*
 * api_jobs.c — the job endpoints of dpfleet-server: queue fixes (explicit hosts or all affected), queue a
 * rollback, list/get jobs, cancel a queued job.
 *
 * Called through server/api.c's route table after sign-in, CSRF and role checks (operator for every POST).
 * Request bodies are validated here: malformed JSON 400, wrong or missing member types 422.  The queueing
 * itself (one transaction with its audit rows) is lib/store_jobs.c; this file maps its result codes to
 * 202/404/409.  A fix of named hosts is refused (409) while one host's site has no usable value: the job
 * records the site's hash as the value the operator approves, and the scanner refuses a job without one
 * (dpfleet-server(8), POST /api/v1/fixes).  An all_affected order takes only hosts whose site has a usable
 * value, names the sites it left out ("left_out") and answers 409 when that leaves none.  [fix] max_per_run
 * caps one request unless the body repeats the count as "confirm_count".
 * GET /api/v1/jobs lists with filters and paging, or answers the jobs named by ?ids= (one lookup each).
 */
#include "api_int.h"
#include "store_jobs.h"
#include "store_query.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIX_HOSTS_MAX	20000	/* more names than a 64 KiB body can hold anyway */
#define JOBS_IDS_MAX	200	/* job ids one GET /api/v1/jobs?ids= may name */

/*
 * The "hosts" member of a fix request into o (names borrowed from body; the array *names is the caller's
 * to free).  0, or -1 after answering 422.
 */
static int
fix_hosts(struct api_call *c, json_t *hosts, struct store_fix_order *o, const char ***names)
{
	json_t *v;
	size_t i, n;

	if (!json_is_array(hosts) || json_array_size(hosts) == 0)
		return api_fail(c, 422, "\"hosts\" must be a non-empty array of host names");
	n = json_array_size(hosts);
	if (n > FIX_HOSTS_MAX || (*names = calloc(n, sizeof(**names))) == NULL)
		return api_fail(c, 422, "too many hosts");
	for (i = 0; i < n; i++) {
		v = json_array_get(hosts, i);
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) >= STORE_FQDN_MAX || strlen(json_string_value(v)) !=
		    json_string_length(v))
			return api_fail(c, 422, "\"hosts\"[%zu] must be a host name (1..255 bytes)", i);
		(*names)[i] = json_string_value(v);
	}
	o->hosts = *names;
	o->nhosts = n;
	return 0;
}

/*
 * A POST /api/v1/fixes body into o (strings borrowed from body; *names as fix_hosts()).  0, or -1 after
 * answering 422.  Checks in this order: all_affected, hosts vs all_affected, hosts, site, dry_run,
 * confirm_count.
 */
static int
fix_order(struct api_call *c, json_t *body, struct store_fix_order *o, const char ***names)
{
	json_t *hosts = json_object_get(body, "hosts"), *v = json_object_get(body, "all_affected");

	if (v != NULL && !json_is_boolean(v))
		return api_fail(c, 422, "\"all_affected\" must be true or false");
	o->all_affected = json_is_true(v);
	if (hosts != NULL && o->all_affected)
		return api_fail(c, 422, "give either \"hosts\" or \"all_affected\", not both");
	if (hosts == NULL && !o->all_affected)
		return api_fail(c, 422, "give \"hosts\": [fqdn...] or \"all_affected\": true");
	if (hosts != NULL && fix_hosts(c, hosts, o, names) == -1)
		return -1;
	if ((v = json_object_get(body, "site")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || json_string_length(v) > 64)
			return api_fail(c, 422, "\"site\" must be a site code");
		if (!o->all_affected)
			return api_fail(c, 422, "\"site\" goes with \"all_affected\"");
		o->site = json_string_value(v);
	}
	if ((v = json_object_get(body, "dry_run")) != NULL && !json_is_boolean(v))
		return api_fail(c, 422, "\"dry_run\" must be true or false");
	o->dry_run = json_is_true(v);
	o->confirm_count = -1;
	if ((v = json_object_get(body, "confirm_count")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return api_fail(c, 422, "\"confirm_count\" must be a non-negative integer");
		o->confirm_count = (long)json_integer_value(v);
	}
	o->requested_by = api_user(c);
	o->max_count = c->env->max_per_run;
	o->require_site_value = 1;
	return 0;
}

/*
 * An all_affected order's answer carries "left_out": [{"site", "why", "hosts"}...], the sites whose affected
 * hosts were not taken for want of a usable value (why: absent, ambiguous, no_hash, unknown).  res may be
 * NULL (out of memory: api_json answers 500).
 */
static void
put_left_out(json_t *res, const struct store_fix_order *o, const struct store_fix_result *r)
{
	json_t *list;
	size_t i;

	if (res == NULL || !o->all_affected || (list = json_array()) == NULL)
		return;
	for (i = 0; i < r->nskipped; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:I}", "site", r->skipped[i].site, "why",
		    r->skipped[i].why, "hosts", (json_int_t)r->skipped[i].hosts));
	json_object_set_new(res, "left_out", list);
}

/* 409 for an order of more hosts than [fix] max_per_run: {"error", "count", "max_per_run"[, "left_out"]}. */
static int
fix_too_many(struct api_call *c, const struct store_fix_order *o, const struct store_fix_result *r)
{
	json_t *res;
	char msg[256];

	res = json_pack("{s:s, s:I, s:i}", "error", "", "count", (json_int_t)r->count, "max_per_run",
	    c->env->max_per_run);
	if (res != NULL) {
		snprintf(msg, sizeof(msg), "%ld hosts exceed [fix] max_per_run %d: send \"confirm_count\": "
		    "%ld to queue them all", r->count, c->env->max_per_run, r->count);
		json_object_set_new(res, "error", json_string(msg));
	}
	put_left_out(res, o, r);
	return api_json(c, 409, res);
}

/* 409 for an order refused for want of a site value: {"error"[, "left_out"]}. */
static int
fix_conflict(struct api_call *c, const struct store_fix_order *o, const struct store_fix_result *r,
    const char *err)
{
	json_t *res = json_pack("{s:s}", "error", err);

	put_left_out(res, o, r);
	return api_json(c, 409, res);
}

/* 202 with the queued jobs: {"jobs": [{"id", "host"}...], "count", "dry_run"[, "left_out"]}. */
static int
fix_queued(struct api_call *c, const struct store_fix_order *o, const struct store_fix_result *r)
{
	json_t *res, *list;
	size_t i;

	if ((res = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(res, "jobs", list) == -1) {
		json_decref(res);
		return api_fail(c, 500, "out of memory");
	}
	for (i = 0; i < (size_t)r->count; i++)
		json_array_append_new(list, json_pack("{s:I, s:s}", "id", (json_int_t)r->jobs[i].id, "host",
		    r->jobs[i].host));
	json_object_set_new(res, "count", json_integer(r->count));
	json_object_set_new(res, "dry_run", json_boolean(o->dry_run));
	put_left_out(res, o, r);
	return api_json(c, 202, res);
}

int
api_post_fixes(struct api_call *c)
{
	struct store_fix_order o;
	struct store_fix_result r;
	json_t *body;
	const char **names = NULL;
	char err[512];
	int rc = -1, q;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	if (api_body_object(c, &body) == -1)
		return -1;
	if (fix_order(c, body, &o, &names) == -1)
		goto done;
	q = store_jobs_queue_fixes(c->env->st, &o, &r, err, sizeof(err));
	if (q == -1)
		api_store_error(c, err);
	else if (q == STORE_JOBS_NOT_FOUND)
		api_fail(c, 404, "unknown host %s", r.unknown);
	else if (q == STORE_JOBS_TOO_MANY)
		rc = fix_too_many(c, &o, &r);
	else if (q == STORE_JOBS_CONFLICT)
		rc = fix_conflict(c, &o, &r, err);
	else
		rc = fix_queued(c, &o, &r);
done:
	store_fix_result_free(&r);
	free(names);
	json_decref(body);
	return rc;
}

int
api_post_rollbacks(struct api_call *c)
{
	json_t *body, *v;
	int64_t id;
	json_int_t job;
	char err[512];
	int q;

	if (api_body_object(c, &body) == -1)
		return -1;
	v = json_object_get(body, "job");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		json_decref(body);
		return api_fail(c, 422, "\"job\" must be a job id (a positive integer)");
	}
	job = json_integer_value(v);
	json_decref(body);
	q = store_jobs_queue_rollback(c->env->st, job, api_user(c), &id, err, sizeof(err));
	if (q == -1)
		return api_store_error(c, err);
	if (q == STORE_JOBS_NOT_FOUND)
		return api_fail(c, 404, "no job %lld", (long long)job);
	if (q == STORE_JOBS_CONFLICT)
		return api_fail(c, 409, "%s", err);
	return api_json(c, 202, json_pack("{s:I, s:I}", "id", (json_int_t)id, "rollback_of", job));
}

static int
id_desc(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/*
 * Parse "1,2,3" (1..JOBS_IDS_MAX positive job ids of at most 18 digits) into id[], newest first without
 * duplicates.  The count, or -1 after answering 400.
 */
static int
parse_ids(struct api_call *c, const char *s, int64_t *id)
{
	size_t n = 0, i, k;
	char *end;

	for (;;) {
		if (n == JOBS_IDS_MAX)
			return api_fail(c, 400, "ids: at most %d job ids", JOBS_IDS_MAX);
		if (*s < '1' || *s > '9' || strspn(s, "0123456789") > 18)
			return api_fail(c, 400, "ids must be job ids (positive integers) separated by commas");
		id[n++] = strtoll(s, &end, 10);
		if (*end == '\0')
			break;
		if (*end != ',')
			return api_fail(c, 400, "ids must be job ids (positive integers) separated by commas");
		s = end + 1;
	}
	qsort(id, n, sizeof(*id), id_desc);
	for (i = k = 0; i < n; i++)
		if (k == 0 || id[k - 1] != id[i])
			id[k++] = id[i];
	return (int)k;
}

/*
 * GET /api/v1/jobs?ids=1,2,3: those jobs, newest first, ids without a job left out; the way a page follows
 * the jobs it queued however many other jobs the list holds.  Not combined with the other parameters.
 */
static int
get_jobs_by_id(struct api_call *c, const char *ids)
{
	int64_t id[JOBS_IDS_MAX];
	json_t *res, *list, *v;
	char err[512];
	int n, i, r, rc = -1;

	if (api_param(c, "state") != NULL || api_param(c, "host") != NULL || api_param(c, "limit") != NULL ||
	    api_param(c, "offset") != NULL)
		return api_fail(c, 400, "ids goes with no other parameter");
	if ((n = parse_ids(c, ids, id)) == -1)
		return -1;
	if ((res = json_object()) == NULL || (list = json_array()) == NULL ||
	    json_object_set_new(res, "jobs", list) == -1) {
		api_fail(c, 500, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		if ((r = store_jobs_get(c->env->st, id[i], &v, err, sizeof(err))) == -1) {
			api_store_error(c, err);
			goto done;
		}
		if (r == 1 && json_array_append_new(list, v) == -1) {
			api_fail(c, 500, "out of memory");
			goto done;
		}
	}
	if (json_object_set_new(res, "total", json_integer((json_int_t)json_array_size(list))) == -1) {
		api_fail(c, 500, "out of memory");
		goto done;
	}
	rc = api_json(c, 200, res);	/* takes res */
	res = NULL;
done:
	json_decref(res);
	return rc;
}

int
api_get_jobs(struct api_call *c)
{
	const char *state = api_param(c, "state"), *host = api_param(c, "host"), *ids = api_param(c, "ids");
	long limit = 100, offset = 0;
	json_t *v;
	char err[512];

	if (ids != NULL)
		return get_jobs_by_id(c, ids);
	if (state != NULL && *state == '\0')
		state = NULL;
	if (host != NULL && *host == '\0')
		host = NULL;
	if (state != NULL && !store_jobstate_valid(state))
		return api_fail(c, 400, "state must be one of queued, running, done, failed, cancelled");
	if (host != NULL && strlen(host) >= STORE_FQDN_MAX)
		return api_fail(c, 400, "host longer than 255 bytes");
	if (api_param_long(c, "limit", 1, 1000, &limit) == -1 ||
	    api_param_long(c, "offset", 0, 1000000000L, &offset) == -1)
		return -1;
	if (store_jobs_list(c->env->st, state, host, limit, offset, &v, err, sizeof(err)) == -1)
		return api_store_error(c, err);
	return api_json(c, 200, v);
}

/* The {id} path segment as a positive job id, or -1 after answering 404. */
static long long
job_arg(struct api_call *c)
{
	char *end;
	long long id;

	if (strlen(c->arg) > 18 || c->arg[0] < '1' || c->arg[0] > '9')
		return api_fail(c, 404, "no job %s", c->arg);
	id = strtoll(c->arg, &end, 10);
	if (*end != '\0')
		return api_fail(c, 404, "no job %s", c->arg);
	return id;
}

int
api_get_job(struct api_call *c)
{
	long long id;
	json_t *v;
	char err[512];
	int r;

	if ((id = job_arg(c)) == -1)
		return -1;
	if ((r = store_jobs_get(c->env->st, id, &v, err, sizeof(err))) == -1)
		return api_store_error(c, err);
	if (r == 0)
		return api_fail(c, 404, "no job %lld", id);
	return api_json(c, 200, v);
}

int
api_post_job_cancel(struct api_call *c)
{
	long long id;
	char err[512];
	int q;

	if ((id = job_arg(c)) == -1)
		return -1;
	q = store_jobs_cancel(c->env->st, id, api_user(c), err, sizeof(err));
	if (q == -1)
		return api_store_error(c, err);
	if (q == STORE_JOBS_NOT_FOUND)
		return api_fail(c, 404, "no job %lld", id);
	if (q == STORE_JOBS_CONFLICT)
		return api_fail(c, 409, "%s", err);
	return api_json(c, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "state", "cancelled"));
}
