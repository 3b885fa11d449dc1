/*
 * credset.h — which credential set a host uses (dpfleet.conf(5), "Credential sets"): a pure function of the
 * configuration, the host's FQDN and its site code (credset.c), and -n's report of it (credset_plan.c).  The parent calls it per host (scan.c, fixrun.c) and
 * sends the index in the request; the worker turns the index back into its struct cred (worker.c).
 *
 * Indexes: CREDSET_SMB (0) is [smb] itself, 1..ncreds are conf->creds[0..ncreds-1], CREDSET_NONE (-1) no
 * set: the host is unreachable with reason no_credentials and never contacted.
 */
#ifndef DPFLEET_CREDSET_H
#define DPFLEET_CREDSET_H

#include <stdio.h>

#include "config.h"

#define CREDSET_NONE	(-1)
#define CREDSET_SMB	0
#define CREDSET_COUNT_MAX	(CONFIG_CREDSETS_MAX + 1)	/* [smb] and every [credentials] set */

/*
 * The set for a host: a set listing its site code (case-insensitive) first; else the set with the longest
 * fqdn_suffix the FQDN ends with on a label boundary (".corp.example" matches "dp1.corp.example" and not
 * "dp1.xcorp.example"; a trailing dot and case are ignored); else [smb] when it has a user; else
 * CREDSET_NONE.  site may be NULL or "".  Never fails.
 */
int	 credset_pick(const struct config *conf, const char *fqdn, const char *site);

/* The set's name ("smb" for CREDSET_SMB), or NULL for CREDSET_NONE or an index out of range. */
const char *credset_name(const struct config *conf, int idx);

/* 1 if idx names a set conf has (CREDSET_SMB only when [smb] has a user), else 0: a worker's check. */
int	 credset_valid(const struct config *conf, int idx);

/*
 * `-n`: print to out the sets conf has and, for the hosts of the stored inventory (the state DB's last one;
 * a DB that does not exist is not created), the set each would use — one line per host, or past
 * CREDSET_PLAN_LIST_MAX hosts a count per set and the first hosts without one.  Never fails: a problem
 * reading the DB is printed as a line (credset_plan.c).
 */
#define CREDSET_PLAN_LIST_MAX	200
void	 credset_plan_print(FILE *out, const struct config *conf);

#endif
