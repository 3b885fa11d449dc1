/*
 * api_int.h — what server/api.c shares with the endpoint files (api_fleet.c, api_jobs.c, api_session.c):
 * one struct per call and the response helpers.  Not for use outside the api_* files.
 */
#ifndef DPFLEET_API_INT_H
#define DPFLEET_API_INT_H

#include <jansson.h>

#include "api.h"
#include "store_users.h"

struct api_call {
	struct api_env			*env;
	const struct api_request	*rq;
	struct api_response		*rs;
	const struct store_session	*session;	/* NULL on routes without sign-in */
	const char			*arg;		/* the {…} path segment of the route, or NULL */
	char				 argbuf[512];
};

/* Respond {"error": "..."} (printf format) with status.  Returns -1 so handlers can `return api_fail(...)`. */
int	 api_fail(struct api_call *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Respond with a JSON value (reference stolen; NULL → 500).  Returns 0, or -1 after a 500. */
int	 api_json(struct api_call *c, int status, json_t *v);

/* Respond with a store error: logs it and answers 500.  Returns -1. */
int	 api_store_error(struct api_call *c, const char *err);

/*
 * Parse the body as a JSON object into *out (caller json_decref()s).  0, or -1 after answering 400 (not
 * JSON, with Jansson's message) or 422 (JSON but not an object).
 */
int	 api_body_object(struct api_call *c, json_t **out);

/* The value of query parameter key, or NULL. */
const char *api_param(struct api_call *c, const char *key);

/*
 * Parse an optional integer query parameter in [min, max] into *v (unchanged when absent).
 * 0, or -1 after answering 400.
 */
int	 api_param_long(struct api_call *c, const char *key, long min, long max, long *v);

/* Parse an optional true/false parameter into *v (-1 when absent).  0, or -1 after answering 400. */
int	 api_param_bool(struct api_call *c, const char *key, int *v);

/* The signed-in user's name (for audit rows and requested_by). */
const char *api_user(struct api_call *c);

/* Endpoints (api_fleet.c). */
int	 api_get_summary(struct api_call *c);
int	 api_get_hosts(struct api_call *c);
int	 api_get_host(struct api_call *c);
int	 api_get_scans(struct api_call *c);
int	 api_post_scans(struct api_call *c);
int	 api_get_report_affected_csv(struct api_call *c);
int	 api_get_report_affected_json(struct api_call *c);
int	 api_get_report_hosts_csv(struct api_call *c);
int	 api_get_report_hosts_json(struct api_call *c);
int	 api_get_reasons(struct api_call *c);
int	 api_get_report_fixes_csv(struct api_call *c);
int	 api_get_report_fixes_json(struct api_call *c);
int	 api_get_audit(struct api_call *c);

/* Endpoints (api_session.c). */
int	 api_login(struct api_call *c);
int	 api_logout(struct api_call *c);
int	 api_me(struct api_call *c);
int	 api_get_users(struct api_call *c);

/* Endpoints (api_jobs.c). */
int	 api_post_fixes(struct api_call *c);
int	 api_post_rollbacks(struct api_call *c);
int	 api_get_jobs(struct api_call *c);
int	 api_get_job(struct api_call *c);
int	 api_post_job_cancel(struct api_call *c);

#endif
