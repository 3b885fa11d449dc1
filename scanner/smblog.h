/*
 * smblog.h — read the tail of ConfigMgr log files over SMB2/3 with libsmbclient (one context per process:
 * libsmbclient is not thread-safe; the scanner's worker processes each own one struct smblog).
 */
#ifndef DPFLEET_SMBLOG_H
#define DPFLEET_SMBLOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SMBLOG_TAIL_MAX	((size_t)CONFIG_LOG_TAIL_MAX)	/* hard cap on tail_bytes: [scan] log_tail_bytes' maximum */

/*
 * Outcome of one read.  smblog_status_str() gives the word: for the failures it is lib/reason.h's word for the
 * same cause, as rpc.c gives it for the winreg connect.
 */
enum smblog_status {
	SMBLOG_OK = 0,
	SMBLOG_NOT_FOUND,	/* share or file absent: no evidence, not an error */
	SMBLOG_DENIED,		/* access denied on the share or file: "access_denied" */
	SMBLOG_LOGON_FAILURE,	/* bad user/password (or anonymous refused) */
	SMBLOG_REFUSED,		/* nothing listening on 445 */
	SMBLOG_TIMEOUT,		/* no TCP answer on 445 in time */
	SMBLOG_SMB_TIMEOUT,	/* TCP 445 answers, but an SMB reply did not come in time: "smb_timeout" */
	SMBLOG_NO_ROUTE,	/* host/network unreachable, bad address */
	SMBLOG_ERROR,		/* anything else (I/O, protocol, allocation) */
};

struct smblog;

/* "ok", "not_found", "access_denied", "logon_failure", "refused", "timeout", "smb_timeout", "no_route", "error". */
const char	*smblog_status_str(enum smblog_status st);

/*
 * Create the process's SMB context: SMB2_02..SMB3_11 only, no anonymous fallback, credentials handed to
 * libsmbclient through the auth callback, timeout_ms per response (the TCP connect timeout is libsmbclient's own,
 * ~5 s).  domain may be NULL or "".  The password is copied and wiped (explicit_bzero) by smblog_close.
 * Returns 0 and *out, or -1 with err (nothing allocated).
 */
int	 smblog_open(struct smblog **out, const char *domain, const char *user, const char *password,
	    int timeout_ms, char *err, size_t errlen);

/*
 * Read the last min(tail_bytes, file size) bytes of smb://addr/share/path (addr: IPv4, IPv6 or a name; the
 * caller maps FQDN → address).  tail_bytes must be 1..SMBLOG_TAIL_MAX.  *st always says what happened.
 * Returns 0 with st OK (*buf malloc'd, NUL-terminated, *len bytes; caller frees; *file_size set if non-NULL)
 * or st NOT_FOUND (*buf NULL, *len 0); -1 with st set and err for every other outcome (*buf NULL).
 * The file is closed before returning; the connection stays cached in the context: call smblog_purge() when
 * done with a host.
 */
int	 smblog_tail(struct smblog *sl, const char *addr, const char *share, const char *path, size_t tail_bytes,
	    char **buf, size_t *len, uint64_t *file_size, enum smblog_status *st, char *err, size_t errlen);

/* Disconnect every cached server connection (no SMB session is left open).  Never fails. */
void	 smblog_purge(struct smblog *sl);

/* The SMSPXE.log (+ .lo_) of one DP. */
struct smblog_pxe {
	const char	*share;		/* where they were found: "SMS_DP$" or "ADMIN$", NULL if nowhere */
	const char	*dir;		/* "sms/logs" or "CCM/Logs" */
	char		*log;		/* SMSPXE.log tail, malloc'd, NULL if absent */
	size_t		 log_len;
	char		*lo_;		/* SMSPXE.lo_ tail (rolled-over copy), NULL if absent */
	size_t		 lo__len;
};

/*
 * Fetch SMSPXE.log and SMSPXE.lo_ tails: share SMS_DP$ path sms/logs first; if neither file is there (share
 * or files absent), ADMIN$ path CCM/Logs.  Each file gets at most tail_bytes.  Purges the connection after.
 * Returns 0 with *st OK (out->share set, at least one buffer) or NOT_FOUND (nothing anywhere); -1 with *st and
 * err otherwise (out holds nothing) — including DENIED on ADMIN$ after SMS_DP$ had no log: we could not look.
 * A denial on SMS_DP$ itself stops there (ADMIN$ is not tried).  Free with smblog_pxe_free (also safe on a
 * zeroed struct).
 */
int	 smblog_fetch_pxe(struct smblog *sl, const char *addr, size_t tail_bytes, struct smblog_pxe *out,
	    enum smblog_status *st, char *err, size_t errlen);
void	 smblog_pxe_free(struct smblog_pxe *p);

/*
 * Fetch the site server's CertMgr.log tail: share SMS_<site_code>, path Logs/CertMgr.log.  Purges after.
 * site_code: 3 alphanumerics.  Returns as smblog_tail.
 */
int	 smblog_fetch_certmgr(struct smblog *sl, const char *addr, const char *site_code, size_t tail_bytes,
	    char **buf, size_t *len, enum smblog_status *st, char *err, size_t errlen);

/* Purge, free the context (smbc_free_context(ctx, 1): closes every file and connection), wipe the password. */
void	 smblog_close(struct smblog *sl);

#endif
