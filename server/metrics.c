/*
 * metrics.c — Prometheus exposition for dpfleet-server.
 *
 * The HTTP layer (server/http.c) calls metrics_count() once per answered request from any worker thread;
 * the counters are C11 atomics in a struct owned by the server, so there is no lock and no global.
 * metrics_render() (called by server/api.c for GET /metrics) reads the fleet figures with
 * store_query_metrics() and prints every state, outcome and job state even when 0, so dashboards never see a
 * series vanish.  Without a finished scan the scan age and duration are NaN.
 */
#include "metrics.h"
#include "dbuf.h"
#include "store_query.h"
#include "util.h"
#include "words.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int codes[] = {
	200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409, 413, 414, 415, 422, 429, 431,
	500, 501, 503,
};
#define NCODES	(sizeof(codes) / sizeof(codes[0]))

struct metrics {
	atomic_ulong	 by_code[NCODES];
	atomic_ulong	 other;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m;
	size_t i;

	if ((m = malloc(sizeof(*m))) == NULL)
		return NULL;
	for (i = 0; i < NCODES; i++)
		atomic_init(&m->by_code[i], 0);
	atomic_init(&m->other, 0);
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

void
metrics_count(struct metrics *m, int status)
{
	size_t i;

	for (i = 0; i < NCODES; i++)
		if (codes[i] == status) {
			atomic_fetch_add_explicit(&m->by_code[i], 1, memory_order_relaxed);
			return;
		}
	atomic_fetch_add_explicit(&m->other, 1, memory_order_relaxed);
}

#define METRICS_MAX	(256 * 1024)	/* bytes of the exposition, its NUL included */

static void
num(struct dbuf *b, const char *name, double v)
{
	if (isnan(v))
		dbuf_addf(b, "%s NaN\n", name);
	else
		dbuf_addf(b, "%s %.3f\n", name, v);
}

/* dpfleet_unreachable_hosts{reason=...}: every lib/reason.h word, 0 included, then "other" when non-zero. */
static void
unreachable_lines(struct dbuf *b, const struct store_metrics *f)
{
	const struct reason *tab;
	size_t i, n;

	tab = reason_table(&n);
	dbuf_addf(b, "# HELP dpfleet_unreachable_hosts Live unreachable hosts by reason (lib/reason.h words).\n"
	    "# TYPE dpfleet_unreachable_hosts gauge\n");
	for (i = 0; i < n && i < REASON_NWORDS; i++)
		dbuf_addf(b, "dpfleet_unreachable_hosts{reason=\"%s\"} %ld\n", tab[i].word, f->unreachable[i]);
	if (f->unreachable_other != 0)
		dbuf_addf(b, "dpfleet_unreachable_hosts{reason=\"other\"} %ld\n", f->unreachable_other);
}

int
metrics_render(struct metrics *m, struct store *st, char **outp, size_t *len, char *err, size_t errlen)
{
	struct store_metrics f;
	struct dbuf b;
	size_t i;
	unsigned long n;

	*outp = NULL;
	*len = 0;
	if (store_query_metrics(st, &f, err, errlen) == -1)
		return -1;
	dbuf_init(&b, METRICS_MAX - 1);
	dbuf_addf(&b, "# HELP dpfleet_hosts Live hosts by the state of their newest verdict.\n"
	    "# TYPE dpfleet_hosts gauge\n");
	for (i = 0; i < STORE_NSTATES; i++)
		dbuf_addf(&b, "dpfleet_hosts{state=\"%s\"} %ld\n", store_state_name((int)i), f.hosts[i]);
	dbuf_addf(&b, "# HELP dpfleet_unscanned_hosts Live hosts without a verdict yet.\n"
	    "# TYPE dpfleet_unscanned_hosts gauge\ndpfleet_unscanned_hosts %ld\n", f.unscanned);
	dbuf_addf(&b, "# HELP dpfleet_cloud_hosts Live cloud DPs and CMGs by kind: listed, never scanned.\n"
	    "# TYPE dpfleet_cloud_hosts gauge\n");
	for (i = 0; i < WORDS_NCLOUD; i++)
		dbuf_addf(&b, "dpfleet_cloud_hosts{kind=\"%s\"} %ld\n", words_cloud[i], f.cloud[i]);
	dbuf_addf(&b, "# HELP dpfleet_affected_hosts Live hosts whose verdict is missing, empty or mismatch.\n"
	    "# TYPE dpfleet_affected_hosts gauge\ndpfleet_affected_hosts %ld\n", f.affected);
	unreachable_lines(&b, &f);
	dbuf_addf(&b, "# HELP dpfleet_last_scan_age_seconds Seconds since the newest finished full scan ended.\n"
	    "# TYPE dpfleet_last_scan_age_seconds gauge\n");
	num(&b, "dpfleet_last_scan_age_seconds", f.have_scan ? difftime(time(NULL), f.last_scan_finished) : NAN);
	dbuf_addf(&b, "# HELP dpfleet_last_scan_duration_seconds Duration of the newest finished full scan.\n"
	    "# TYPE dpfleet_last_scan_duration_seconds gauge\n");
	num(&b, "dpfleet_last_scan_duration_seconds", f.have_scan ? f.last_scan_duration : NAN);
	dbuf_addf(&b, "# HELP dpfleet_jobs Remediation jobs by outcome.\n# TYPE dpfleet_jobs gauge\n");
	for (i = 0; i < STORE_NOUTCOMES; i++)
		dbuf_addf(&b, "dpfleet_jobs{outcome=\"%s\"} %ld\n", store_outcome_name((int)i), f.jobs_outcome[i]);
	dbuf_addf(&b, "# HELP dpfleet_jobs_by_state Remediation jobs by state.\n# TYPE dpfleet_jobs_by_state gauge\n");
	for (i = 0; i < STORE_NJOBSTATES; i++)
		dbuf_addf(&b, "dpfleet_jobs_by_state{state=\"%s\"} %ld\n", store_jobstate_name((int)i),
		    f.jobs_state[i]);
	dbuf_addf(&b, "# HELP dpfleet_http_requests_total HTTP requests answered, by status code.\n"
	    "# TYPE dpfleet_http_requests_total counter\n");
	for (i = 0; i < NCODES; i++)
		if ((n = atomic_load_explicit(&m->by_code[i], memory_order_relaxed)) != 0)
			dbuf_addf(&b, "dpfleet_http_requests_total{code=\"%d\"} %lu\n", codes[i], n);
	if ((n = atomic_load_explicit(&m->other, memory_order_relaxed)) != 0)
		dbuf_addf(&b, "dpfleet_http_requests_total{code=\"other\"} %lu\n", n);
	if ((*outp = dbuf_take(&b, len)) == NULL)
		return util_err(err, errlen, "metrics: out of memory");
	return 0;
}
