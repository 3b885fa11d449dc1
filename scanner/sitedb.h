/*
 * sitedb.h — the scanner's read-only client of the ConfigMgr site database (SQL Server over TDS, through
 * FreeTDS DB-Library): sites, each site's expected IssuingCertificateList, DPs and MPs.
 */
#ifndef DPFLEET_SITEDB_H
#define DPFLEET_SITEDB_H

#include <stddef.h>

#include "config.h"
#include "store_fleet.h"

struct sitedb;

/* Why the last call failed (also spelled out in its err text). */
enum sitedb_error {
	SITEDB_OK,
	SITEDB_ERR_CONFIG,		/* bad tds_version, unreadable password file, temp dir */
	SITEDB_ERR_UNREACHABLE,		/* connection refused, no route, host unknown, TCP connect timeout */
	SITEDB_ERR_LOGIN,		/* login failed (18456, 18452) or refused during login */
	SITEDB_ERR_TLS,			/* require: no TLS offered, or the certificate failed its checks */
	SITEDB_ERR_TIMEOUT,		/* login or query timeout */
	SITEDB_ERR_MISSING_TABLE,	/* 208 Invalid object name */
	SITEDB_ERR_DROPPED,		/* connection closed / reply truncated mid-result */
	SITEDB_ERR_QUERY,		/* any other server or data error */
};

/*
 * Process-wide DB-Library setup: dbinit(), the error and message handlers, dbsetlogintime(login_timeout)
 * and dbsettime(query_timeout) (seconds, > 0).  Call ONCE per process, before any sitedb_open, from the
 * thread that will use the site DB.  0, or -1 with the reason in err (nothing to undo then).
 */
int	 sitedb_global_init(int login_timeout, int query_timeout, char *err, size_t errlen);
/* dbexit(); after it no sitedb call may be made. */
void	 sitedb_global_exit(void);

/*
 * Connect and log in to the site DB conf->sitedb describes: writes a private freetds.conf (mode 0600 in a
 * mode 0700 temp dir) holding the encryption setting and points FREETDSCONF at it, reads the password from
 * password_file (secrecy-checked; wiped after dbopen, never logged).  Returns 0 and *out (free with
 * sitedb_close), or -1 with one clear line in err and, when cls is not NULL, the class in *cls; nothing is
 * left open or on disk on failure.
 */
int	 sitedb_open(struct sitedb **out, const struct config *conf, enum sitedb_error *cls, char *err,
	    size_t errlen);

/*
 * Read the whole fleet with SELECT statements only: v_Site, the KB's SC_Component /
 * SC_SiteDefinition / SC_Component_Property join for IssuingCertificateList, v_DistributionPointInfo and
 * the management points of v_SystemResourceList.  Returns 0 and *out (a new fleet, sorted; caller frees
 * with store_fleet_free), or -1 with one clear line in err and the class in *cls (may be NULL); *out is
 * NULL then.  After a failure the connection must only be closed.
 */
int	 sitedb_read_fleet(struct sitedb *db, struct store_fleet **out, enum sitedb_error *cls, char *err,
	    size_t errlen);

/* Close the connection and remove the private freetds.conf and its directory; NULL is fine. */
void	 sitedb_close(struct sitedb *db);

#endif
