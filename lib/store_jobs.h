/*
 * store_jobs.h — remediation jobs and scan requests in the state DB: the queue side (lib/store_jobs.c) and
 * the scanner's execution side (lib/store_jobs_exec.c).
 *
 * Producers (dpfleet-server's API, the scanner's `fix`/`rollback` CLI) queue work here; the scanner executes
 * it (scanner/fix.c).  Job states, with the function that makes each transition:
 * queued -> running -> done | failed; queued -> cancelled.
 *   store_jobs_queue_fixes / store_jobs_queue_rollback   insert  'queued'
 *   store_jobs_cancel                                    queued  -> cancelled
 *   store_jobs_claim (resume 0)                          queued  -> running   (attempts + 1, audit job.start)
 *   store_jobs_claim (resume 1)                          running -> running   (an interrupted job, same)
 *   store_jobs_set_backup                                backup NULL -> taken (never overwritten)
 *   store_jobs_finish                                    running -> done | failed (audit job.end)
 * A fix's expected_sha256 is the hash the operator approved at queue time and is never changed afterwards;
 * the scanner records the site's hash it read at run time in site_sha256.  Any row here may have been
 * written by dpfleet-server (or whoever holds its DB access): the scanner re-checks everything at run time
 * (scanner/fixdecide.c) and restores only backups it sealed (scanner/fixseal.h).
 * Every queue, cancel, claim and finish appends an audit row in the same transaction.  Only the scanner that
 * holds the job lock (scanner/fix.c) calls the execution side.
 */
#ifndef DPFLEET_STORE_JOBS_H
#define DPFLEET_STORE_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "consts.h"
#include "store.h"

/* Result codes besides 0 (done) and -1 (store error, reason in err). */
#define STORE_JOBS_NOT_FOUND	1	/* unknown host (name in the result) or job */
#define STORE_JOBS_TOO_MANY	2	/* more hosts than max_count and not confirmed */
#define STORE_JOBS_CONFLICT	3	/* the job is not in a state that allows it (reason in err); queueing a
					   fix: a host's site has no usable value (reason in err) */

struct store_fix_order {
	const char *const *hosts;	/* explicit fqdns (case-insensitive; duplicates ignored), or */
	size_t		 nhosts;
	int		 all_affected;	/* every live host whose newest verdict is affected */
	const char	*site;		/* with all_affected: only this site (NULL: all) */
	int		 dry_run;
	const char	*requested_by;	/* user name or "cli:<unix user>" */
	long		 max_count;	/* refuse more hosts than this (<= 0: no cap) ... */
	long		 confirm_count;	/* ... unless this equals the number of hosts */
	int		 require_site_value;	/* named hosts: refuse (CONFLICT) one whose site has no usable
					   value to approve (absent, ambiguous) */
};

struct store_job_ref {
	int64_t	 id;
	char	 host[STORE_FQDN_MAX];	/* the fqdn as the hosts table spells it */
};

/* A site whose affected hosts an all_affected order left out: it has no usable value to approve. */
struct store_site_skip {
	char	 site[DPF_SITE_CODE_MAX];	/* site code, "" for a host without one */
	char	 why[16];	/* sites.expected_state (absent, ambiguous), "no_hash" (present without a
				   hash) or "unknown" (no such site row) */
	long	 hosts;		/* affected hosts left out */
};

struct store_fix_result {
	long			 count;		/* hosts the order resolved to (also on TOO_MANY) */
	struct store_job_ref	*jobs;		/* malloc'd, count entries; NULL unless 0 */
	char			 unknown[STORE_FQDN_MAX];	/* on NOT_FOUND: the first unknown fqdn */
	struct store_site_skip	*skipped;	/* all_affected: the sites left out, by code (malloc'd, nskipped
						   entries, also on TOO_MANY and CONFLICT); NULL when none */
	size_t			 nskipped;
};

/*
 * Queue one fix job per host of the order, in one transaction with one audit row per job
 * (action job.queue); each job records the hash of its site's value as the value approved (NULL when the
 * site has none).  An all_affected order takes only hosts whose site has a usable value (present, one hash)
 * and lists the sites it left out in r->skipped.  Returns 0 with r->jobs set; STORE_JOBS_NOT_FOUND
 * (r->unknown names the host), STORE_JOBS_TOO_MANY (r->count set) or STORE_JOBS_CONFLICT with nothing queued:
 * with o->require_site_value, err and r->unknown name a named host whose site has no usable value; with
 * all_affected, every affected host was left out (err and r->skipped name the sites); a named host is a cloud
 * DP or CMG (hosts.cloud: never fixed; err and r->unknown name it); -1 with err and nothing queued.  A host
 * must exist and not be retired.  Whatever the return, the caller frees r with
 * store_fix_result_free().
 */
int	 store_jobs_queue_fixes(struct store *st, const struct store_fix_order *o, struct store_fix_result *r,
	    char *err, size_t errlen);

/* Free r->jobs and r->skipped and zero r; the struct is the caller's. */
void	 store_fix_result_free(struct store_fix_result *r);

/*
 * Queue a rollback of fix job `job` (it must be a fix in state done with outcome written and not already
 * rolled back by a live or finished rollback).  Returns 0 and *id; STORE_JOBS_NOT_FOUND; STORE_JOBS_CONFLICT
 * with the reason in err; -1 with err.  Nothing changes unless 0.
 */
int	 store_jobs_queue_rollback(struct store *st, int64_t job, const char *requested_by, int64_t *id,
	    char *err, size_t errlen);

/* Cancel a queued job.  0 done; STORE_JOBS_NOT_FOUND; STORE_JOBS_CONFLICT (not queued, reason in err); -1. */
int	 store_jobs_cancel(struct store *st, int64_t job, const char *who, char *err, size_t errlen);

/*
 * Jobs newest first, optionally only one state and/or one host: {"total": n, "jobs": [job...]}.
 * 0 and *out (caller json_decref()s), or -1 with err.  limit 1..1000, offset >= 0.
 */
int	 store_jobs_list(struct store *st, const char *state, const char *host, long limit, long offset,
	    json_t **out, char *err, size_t errlen);

/* One job.  1 and *out, 0 if none, -1 with err. */
int	 store_jobs_get(struct store *st, int64_t job, json_t **out, char *err, size_t errlen);

/* Queue a scan request (and its audit row).  0 and *id, or -1 with err (nothing changed). */
int	 store_jobs_request_scan(struct store *st, const char *requested_by, int64_t *id, char *err,
	    size_t errlen);

/* ---- execution side (dpfleet-scanner only) ---- */

#define STORE_BACKUP_ABSENT	"absent"

/* One job as the executor needs it. */
struct store_job {
	int64_t	 id;
	char	 kind[16];			/* "fix" | "rollback" */
	char	 host[STORE_FQDN_MAX];
	int	 dry_run;
	int64_t	 rollback_of;			/* 0 = none */
	char	 state[16];
	char	 requested_by[STORE_FQDN_MAX];
	char	 expected_sha256[72];		/* hash approved at queue time, "" if none */
	char	 outcome[20];			/* "" while it has none */
	char	 after_sha256[72];		/* "" if none */
	char	 seal[72];			/* "" if none (scanner/fixseal.h) */
	char	*backup;			/* NULL until taken; "absent" or lowercase hex (malloc'd) */
	int	 backup_type;			/* registry type of the backup, -1 if none */
	long	 attempts;
};
/* Free j->backup; the struct is the caller's.  NULL is fine. */
void	 store_job_free(struct store_job *j);

/*
 * Ids of the jobs in state ("queued" or "running"), oldest first, at most max, into ids[]; *n = count.
 * 0, or -1 with err (*n 0).
 */
int	 store_jobs_ids(struct store *st, const char *state, int64_t *ids, size_t max, size_t *n, char *err,
	    size_t errlen);

/* Load job id into *j (caller frees with store_job_free).  1 found, 0 none (*j zeroed), -1 with err. */
int	 store_jobs_load(struct store *st, int64_t id, struct store_job *j, char *err, size_t errlen);

/*
 * Claim job id for execution, in one transaction with its audit row (who 'scanner', action job.start):
 * resume 0 takes a queued job (queued -> running, started_at = now); resume 1 takes over a job left
 * running by a scanner that died (it stays running).  Both add 1 to attempts.  Returns 0 and *j loaded
 * (free with store_job_free); STORE_JOBS_CONFLICT when the job is no longer in the state expected (e.g.
 * cancelled meanwhile), STORE_JOBS_NOT_FOUND, or -1 with err; nothing changes unless 0.
 */
int	 store_jobs_claim(struct store *st, int64_t id, int resume, struct store_job *j, char *err,
	    size_t errlen);

/*
 * Record the backup of a running job (backup "absent" or lowercase hex of the raw bytes, type the registry
 * type, -1 for absent) and the hash of the value backed up (before_sha256, NULL when absent or not a
 * decodable REG_MULTI_SZ), and commit before returning.  Only sets them while backup IS NULL: returns 0 when
 * stored now, 1 when the job already had a backup (nothing changed: the caller must use the stored one),
 * STORE_JOBS_CONFLICT when the job is not running, -1 with err.
 */
int	 store_jobs_set_backup(struct store *st, int64_t id, const char *backup, int type,
	    const char *before_sha256, char *err, size_t errlen);

/* How a job ended: every string may be NULL except outcome. */
struct store_job_end {
	const char	*outcome;	/* jobs.outcome vocabulary */
	const char	*site_sha256;	/* a fix: the site's hash read at run time */
	const char	*before_sha256;	/* NULL keeps the one recorded with the backup */
	const char	*after_sha256;
	const char	*error;
	const char	*seal;		/* a written fix: scanner/fixseal.h */
	const char	*cred_set;	/* the credential set the job's reads and writes used (dpfleet.conf(5)) */
};

/*
 * Finish a running job as e says: state done for written, already_correct, would_write and restored, failed
 * for the rest; finished_at = now.  The approved expected_sha256 is never changed.  With its audit row (who
 * 'scanner', action job.end, detail JSON with the approved, site, before and after hashes and the credential
 * set) in one
 * transaction.  A NULL before_sha256 keeps the one recorded with the backup (a job finished from a re-read
 * after an interrupted write still proves what the host held before it).  0; STORE_JOBS_CONFLICT if the job
 * is not running (nothing changed); -1 with err (nothing changed).
 */
int	 store_jobs_finish(struct store *st, int64_t id, const struct store_job_end *e, char *err, size_t errlen);

/*
 * The oldest job newer than `after` on host (case-insensitive) that wrote to it: a fix or rollback in state
 * done with outcome written or restored.  1 and *id, 0 when none (*id 0), -1 with err.
 */
int	 store_jobs_newer_write(struct store *st, const char *host, int64_t after, int64_t *id, char *err,
	    size_t errlen);

/*
 * Hosts (live) with a done written/restored job finished after the host's newest observation: writes whose
 * rescan was lost (scanner killed after the write).  At most max, as {job id, fqdn} in *out (malloc'd, caller
 * frees; NULL when *n is 0).  0, or -1 with err.
 */
int	 store_jobs_unscanned(struct store *st, size_t max, struct store_job_ref **out, size_t *n, char *err,
	    size_t errlen);

#endif
