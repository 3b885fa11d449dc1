/*
 * store_scan.h — all SQL of a scan run: the targets (non-retired hosts with their site's expectation, site
 * servers), the scans row, one observation per host with its evidence (at most STORE_EVIDENCE_MAX lines),
 * hosts.last_obs_id, and the scan_requests queue the server fills (claim, finish, recovery after a crash).
 * Only dpfleet-scanner's parent process calls these.  Times are ISO 8601 UTC (util_iso_now).
 */
#ifndef DPFLEET_STORE_SCAN_H
#define DPFLEET_STORE_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "consts.h"
#include "store.h"
#include "util.h"

#define STORE_EVIDENCE_MAX	DPF_EVIDENCE_MAX
#define STORE_CODE_MAX		DPF_SITE_CODE_MAX

/* One host to scan. */
struct store_scan_target {
	int64_t	 host_id;
	char	 fqdn[STORE_FQDN_MAX];
	char	 site[STORE_CODE_MAX];
	int	 is_dp, is_mp, pxe;
	char	 expected_state[16];		/* "present", "absent", "ambiguous"; "absent" if the site is unknown */
	char	 expected_sha256[UTIL_SHA256_HEX];	/* "" unless present */
};

/* One site server whose CertMgr.log is read. */
struct store_scan_site {
	char	 code[STORE_CODE_MAX];
	char	 server[STORE_FQDN_MAX];
};

/*
 * Every non-retired on-premises host (ordered by fqdn; a cloud DP or CMG, hosts.cloud set, is never scanned) /
 * every non-retired site with a server name (ordered by code).
 * 0 with *out malloc'd (caller frees with free(); NULL when *n is 0), or -1 with err (*out NULL, *n 0).
 */
int	 store_scan_targets(struct store *st, struct store_scan_target **out, size_t *n, char *err,
	    size_t errlen);
int	 store_scan_sites(struct store *st, struct store_scan_site **out, size_t *n, char *err, size_t errlen);

/* Insert a scans row in state 'running'.  trigger: schedule, request, cli, fix.  0 + *scan_id, or -1. */
int	 store_scan_begin(struct store *st, const char *trigger, const char *now, int64_t *scan_id,
	    char *err, size_t errlen);

struct store_scan_totals {
	long	 hosts, affected, unreachable;
	long	 duration_ms;
	const char *error;	/* NULL or why the run was incomplete (kept in scans.error) */
};
/* Close a scans row: state 'done' or 'failed', finished_at = now, totals.  0 or -1 with err. */
int	 store_scan_finish(struct store *st, int64_t scan_id, const char *state, const char *now,
	    const struct store_scan_totals *t, char *err, size_t errlen);

/* One observation (strings NULL where the column is NULL). */
struct store_obs {
	int64_t		 scan_id;
	int64_t		 host_id;
	const char	*at;
	const char	*state;		/* pinned word */
	const char	*reason;
	const char	*note;		/* NULL or "" = none: a non-canonical encoding, another type, ... */
	int		 affected;
	const char	*value_sha256;
	const char	*expected_sha256;
	long		 pxe_cert_errors;
	const char	*pxe_last_error;
	int		 pxe_expired_cert;
	int		 certmgr_denied;
	const char	*certmgr_denied_at;
	long		 scan_ms;	/* first attempt's dispatch to the verdict, backoffs included */
	int		 attempts;	/* contacts the verdict took, 1 = the first answered; < 1 is stored as 1 */
	const char	*cred_set;	/* the credential set the read used (dpfleet.conf(5)); NULL or "" = none */
};

struct store_evidence {
	const char	*source;	/* "smspxe" | "certmgr" */
	const char	*file;
	const char	*at;		/* NULL if unknown */
	const char	*component;
	int		 type;		/* 0 = NULL */
	const char	*line;
};

/*
 * In one transaction: insert the observation, its first STORE_EVIDENCE_MAX evidence lines, and point
 * hosts.last_obs_id at it.  0 + *obs_id, or -1 with err (nothing written).
 */
int	 store_scan_put_obs(struct store *st, const struct store_obs *o, const struct store_evidence *ev,
	    size_t nev, int64_t *obs_id, char *err, size_t errlen);

/*
 * Mark a stored observation certmgr_denied (at = newest denial time, may be NULL) and append the ev lines
 * (at most STORE_EVIDENCE_MAX); when the observation is full, its last-stored SMSPXE lines (the least
 * important: a host's evidence is stored most important first) make room, so a denial found after the
 * host's reply is kept as when it is found before.  One transaction.  0 or -1 with err (nothing written).
 */
int	 store_scan_obs_certmgr(struct store *st, int64_t obs_id, const char *at, const struct store_evidence *ev,
	    size_t nev, char *err, size_t errlen);

/*
 * After a scanner restart: scans still 'running' become 'failed' ("scanner stopped"), requests still
 * 'running' go back to 'queued'.  0 or -1 with err.
 */
int	 store_scan_recover(struct store *st, const char *now, char *err, size_t errlen);

/* Number of queued scan requests in *n.  0 or -1 with err. */
int	 store_scan_requests_pending(struct store *st, long *n, char *err, size_t errlen);
/* Every queued request → 'running', picked_at = now, scan_id; *n = how many.  0 or -1 with err. */
int	 store_scan_requests_claim(struct store *st, int64_t scan_id, const char *now, long *n, char *err,
	    size_t errlen);
/* Every 'running' request of scan_id → state ('done' or 'failed').  0 or -1 with err. */
int	 store_scan_requests_finish(struct store *st, int64_t scan_id, const char *state, char *err,
	    size_t errlen);

/* The CertMgr denial carried by a host's last observation (hosts.last_obs_id). */
struct store_scan_certmgr {
	int	 denied;			/* 0: none, or no observation yet (the rest then "" / NULL) */
	char	 at[UTIL_ISO_LEN];		/* certmgr_denied_at, "" if NULL */
	char	 file[64];			/* newest certmgr evidence line's file, "" if none */
	char	*line;				/* its line, NULL if none; caller frees with free() */
};
/*
 * Read host_id's last observation's certmgr_denied / certmgr_denied_at and newest certmgr evidence line (a
 * rescan that does not read CertMgr.log carries them over).  0 with *out filled, or -1 with err (*out zeroed,
 * nothing to free).  Writes nothing.
 */
int	 store_scan_last_certmgr(struct store *st, int64_t host_id, struct store_scan_certmgr *out, char *err,
	    size_t errlen);

#endif
