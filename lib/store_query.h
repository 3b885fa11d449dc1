/*
 * store_query.h — the read side of the state DB for dpfleet-server: fleet summary, host list with filters,
 * sorting and paging, host detail with history and evidence, scans, reports, the audit log and metrics
 * figures.  Results come back as Jansson values in the shapes the JSON API serves (doc/dpfleet-server.8,
 * API), so the server only adds status codes.  Retired hosts and sites are left out everywhere.  A host that
 * has never been scanned has "state": null and "last_scanned": null, and is counted in no state.
 */
#ifndef DPFLEET_STORE_QUERY_H
#define DPFLEET_STORE_QUERY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "reason.h"
#include "store.h"
#include "words.h"

#define STORE_NSTATES		8	/* healthy missing empty mismatch no_key denied unreachable unknown */
#define STORE_NOUTCOMES		8	/* written ... restored, as in the jobs table */
#define STORE_NJOBSTATES	5	/* queued running done failed cancelled */
#define STORE_HOSTS_MAX_LIMIT	1000

/* The pinned vocabularies, by index (NULL past the end). */
const char	*store_state_name(int i);
const char	*store_outcome_name(int i);
const char	*store_jobstate_name(int i);
/* 1 if s is one of the 8 verdict states / job states; else 0. */
int		 store_state_valid(const char *s);
int		 store_jobstate_valid(const char *s);
/* 1 if s is a sort key the host list accepts: fqdn site state last_scanned pxe_cert_errors. */
int		 store_host_sort_valid(const char *s);

enum store_role_filter { STORE_ROLE_ANY, STORE_ROLE_DP, STORE_ROLE_MP };

struct store_host_filter {
	const char	*state;		/* NULL: any; else one of the 8 states */
	const char	*site;		/* NULL: any */
	enum store_role_filter role;
	int		 pxe;		/* -1 any, 0, 1 */
	int		 affected;	/* -1 any, 0, 1 */
	const char	*q;		/* NULL or a substring of the fqdn (LIKE wildcards are escaped) */
	const char	*sort;		/* NULL ("fqdn") or a key store_host_sort_valid() accepts */
	int		 desc;
	long		 limit;		/* 1..STORE_HOSTS_MAX_LIMIT */
	long		 offset;	/* >= 0 */
};

/*
 * Every function below returns 0 and sets *out to a new reference the caller json_decref()s, or -1 with the
 * reason in err (*out NULL).  None changes the DB.
 */

/*
 * {"last_scan": {...}|null, "counts": {...}, "affected", "hosts", "unscanned", "cloud", "sites": [...]}
 * ("cloud": the cloud DPs and CMGs, never scanned, counted in no state and not as unscanned); last_scan is
 * the newest scan that finished (state done) and was not the rescan after a fix (trigger fix).
 */
int	 store_query_summary(struct store *st, json_t **out, char *err, size_t errlen);

/*
 * {"total": n, "hosts": [host...]}; a bad sort key or limit is an error.  Each host carries its newest
 * observation's reason word with reason_meaning and reason_next_step from lib/reason.h (null unless the host
 * is unreachable with a word the table knows), attempts, note (migration 0004's observations.note, null
 * when none), and value_read (false for unreachable, denied and no_key, whose value_sha256 is then null; null
 * for a host never scanned).
 */
int	 store_query_hosts(struct store *st, const struct store_host_filter *f, json_t **out, char *err,
	    size_t errlen);

/*
 * One host (retired ones too) with "history" (newest first, at most 100, each with its note) and
 * "evidence" (of the newest observation).  Returns 1 and *out, 0 if there is no such host (*out NULL), -1
 * with err.
 */
int	 store_query_host(struct store *st, const char *fqdn, json_t **out, char *err, size_t errlen);

#define STORE_PAGE_MAX	1000	/* the largest limit of a paged list (scans, audit, jobs) */

/*
 * Start a paged list: check limit (1..STORE_PAGE_MAX) and offset (>= 0) and make {key: []}.  0 with *res (a
 * new reference the caller json_decref()s) and *list (borrowed: *res owns it), or -1 with err and both NULL.
 * Shared with lib/store_jobs*.c.
 */
int	 store_page_new(long limit, long offset, const char *key, json_t **res, json_t **list, char *err,
	    size_t errlen);

/* {"scans": [...newest first...], "pending_requests": [...]}; limit 1..1000, offset >= 0. */
int	 store_query_scans(struct store *st, long limit, long offset, json_t **out, char *err, size_t errlen);

/*
 * The host reports, by site and fqdn: an array of objects with the affected.csv fields (roles as an array),
 * including attempts, reason_meaning and reason_next_step (lib/reason.h's texts for an unreachable host's
 * word, null otherwise) and, last, note (as in the host list).  value_sha256 and expected_sha256 are null
 * for a host whose value was not read (unreachable, denied, no_key).  The affected report holds the affected
 * hosts, the hosts report every live host, scanned or not.
 */
int	 store_query_affected_report(struct store *st, json_t **out, char *err, size_t errlen);
int	 store_query_hosts_report(struct store *st, json_t **out, char *err, size_t errlen);

/* The fix-proof report: every job, oldest first, with the fixes.csv fields. */
int	 store_query_fixes_report(struct store *st, json_t **out, char *err, size_t errlen);

/* {"total": n, "audit": [{id, at, who, action, target, outcome, detail}...newest first]}. */
int	 store_query_audit(struct store *st, long limit, long offset, json_t **out, char *err, size_t errlen);

/*
 * Two numbers that together change whenever the DB content may have changed as seen from this connection:
 * PRAGMA data_version (commits by other connections) and this connection's own total changes.  Response
 * caches compare both.  0, or -1 with err.
 */
int	 store_query_generation(struct store *st, int64_t *data_version, int64_t *own_changes, char *err,
	    size_t errlen);

/* 0 when the DB answers a trivial query, else -1 with err. */
int	 store_query_ping(struct store *st, char *err, size_t errlen);

struct store_metrics {
	long	 hosts[STORE_NSTATES];		/* by store_state_name() index */
	long	 unscanned;
	long	 cloud[WORDS_NCLOUD];		/* cloud DPs and CMGs (never scanned) by words_cloud index */
	long	 affected;
	int	 have_scan;			/* a finished full scan exists (as the summary's last_scan) */
	time_t	 last_scan_finished;
	double	 last_scan_duration;		/* seconds */
	long	 jobs_outcome[STORE_NOUTCOMES];	/* by store_outcome_name() index */
	long	 jobs_state[STORE_NJOBSTATES];	/* by store_jobstate_name() index */
	long	 unreachable[REASON_NWORDS];	/* unreachable live hosts by reason, in reason_table() order */
	long	 unreachable_other;		/* ... whose reason is not in the table */
};

/* Fill *m.  0, or -1 with err (*m zeroed). */
int	 store_query_metrics(struct store *st, struct store_metrics *m, char *err, size_t errlen);

/* How store_row_json() turns one result column into JSON; SQL NULL is null for every kind. */
enum store_col_kind {
	STORE_COL_TEXT,		/* a string, as store_json_text() makes it */
	STORE_COL_INT,		/* an integer */
	STORE_COL_BOOL,		/* true when non-zero */
	STORE_COL_JSON,		/* JSON object or array text parsed; any other text as a string */
};

struct store_col {
	const char		*name;	/* the object key */
	enum store_col_kind	 kind;
};

/*
 * The current row of a stepped statement as a JSON object: result column i becomes key cols[i].name.
 * Returns a new reference, NULL only when out of memory (nothing then is left allocated).  Shared with
 * lib/store_jobs*.c; the statement is not changed.
 */
json_t	*store_row_json(sqlite3_stmt *s, const struct store_col *cols, size_t ncols);

/*
 * A JSON string from possibly invalid UTF-8 text (bytes that are not UTF-8 become '?'); NULL text gives
 * json null.  Returns a new reference, NULL only when out of memory.  Shared with lib/store_jobs*.c.
 */
json_t	*store_json_text(const char *text);

#endif
