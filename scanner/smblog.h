/*
 * smblog.h — read the tail of ConfigMgr log files over SMB2/3 with libsmbclient (one context per process:
 * libsmbclient is not thread-safe; the scanner's worker processes each own one struct smblog).  smblog.c holds
 * the context, URLs and tail reads; smblog_logs.c knows where ConfigMgr writes each log (placements, history
 * copies, rolled .lo_ files).
 */
#ifndef DPFLEET_SMBLOG_H
#define DPFLEET_SMBLOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cred.h"

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
 * Create an SMB context for credential set cr (cred.h; copied, the password wiped by smblog_close):
 * SMB2_02..SMB3_11 only, no anonymous fallback, signing required, credentials handed to libsmbclient through
 * the auth callback, timeout_ms per response (the TCP connect timeout is libsmbclient's own, ~5 s).  auth ntlm
 * = NTLMSSP; negotiate = Kerberos first (when the URL names the host), NTLMSSP after it; kerberos = never
 * NTLMSSP; a keytab set (cr->ccache) logs on as cr->principal with that ticket cache (KRB5CCNAME is set to it
 * before each connection: libsmbclient reads the default cache).  Returns 0 and *out, or -1 with err (nothing
 * allocated).
 */
int	 smblog_open(struct smblog **out, const struct cred *cr, int timeout_ms, char *err, size_t errlen);

/*
 * Where a host is reached.  addr: the numeric IPv4 or IPv6 address dpfleet decided ([smb] host_map, else
 * resolution).  name: NULL to connect to addr; else the name libsmbclient is given instead (an FQDN, for
 * Kerberos' cifs/<fqdn>), resolved by libsmbclient through the system resolver (hosts file, DNS; its lmhosts
 * method skips dotted names, source3/libsmb/namequery.c), so the caller must make it resolve to addr (the
 * lab's Kerberos hosts: nss_wrapper's hosts file) — smblog cannot pin it.  libsmbclient's URL parser
 * takes the first ':' of smb://[v6]/ for a port, so an IPv6 addr is given in Samba's literal-name form
 * <addr with ':' as '-'>.ipv6-literal.net, which Samba maps back to the address without any resolver
 * (lib/util/util_net.c normalize_ipv6_literal; doc/FIELD-NOTES.md §6).
 */
struct smblog_host {
	const char	*addr;
	const char	*name;
};

/*
 * The name to give libsmbclient for a host (struct smblog_host name) under sl's credential set, or NULL for
 * its address: NULL with auth ntlm; fqdn when Kerberos is the only way in (auth kerberos, a keytab set: the
 * name must resolve to addr, or the read fails); with negotiate, fqdn only when the system's resolver gives
 * addr for it (one getaddrinfo), else NULL and the read uses NTLM.  Never fails.
 */
const char	*smblog_name_for(const struct smblog *sl, const char *fqdn, const char *addr);

#define SMBLOG_HOST_MAX	128	/* the URL host smblog_url_host builds, NUL included */

/*
 * The host part of the URL for h: h->name when set, else h->addr (IPv4 as is, IPv6 as its literal name).
 * 0, or -1 with err when addr is neither a plain IPv4/IPv6 address nor a DNS name, or out is too small.
 */
int	 smblog_url_host(const struct smblog_host *h, char *out, size_t outlen, char *err, size_t errlen);

/*
 * Read the last min(tail_bytes, file size) bytes of smb://host/share/path.  tail_bytes must be
 * 1..SMBLOG_TAIL_MAX.  *st always says what happened.
 * Returns 0 with st OK (*buf malloc'd, NUL-terminated, *len bytes; caller frees; *file_size set if non-NULL)
 * or st NOT_FOUND (*buf NULL, *len 0); -1 with st set and err for every other outcome (*buf NULL).
 * The file is closed before returning; the connection stays cached in the context: call smblog_purge() when
 * done with a host.
 */
int	 smblog_tail(struct smblog *sl, const struct smblog_host *h, const char *share, const char *path,
	    size_t tail_bytes, char **buf, size_t *len, uint64_t *file_size, enum smblog_status *st, char *err,
	    size_t errlen);

#define SMBLOG_LIST_MAX	4096	/* directory entries looked at when picking a history copy */
#define SMBLOG_NAME_MAX	64	/* a log file name smblog builds or picks, NUL included */
#define SMBLOG_SHARE_MAX	16	/* a placement's share name, NUL included ("SMS_DP$", "SMS_PS1") */

/*
 * The newest history copy of log `base` in smb://host/share/dir: a name <base>-<yyyymmdd>-<hhmmss>.log or
 * .lo_ (base case-insensitive; doc/FIELD-NOTES.md §6), newest by the name's timestamp, .log before .lo_ on a
 * tie; at most SMBLOG_LIST_MAX entries are looked at.  Returns 0 with st OK and name (the entry's own
 * spelling) or st NOT_FOUND (directory absent or no such copy, name ""); -1 with st and err otherwise.
 */
int	 smblog_newest_history(struct smblog *sl, const struct smblog_host *h, const char *share, const char *dir,
	    const char *base, char name[SMBLOG_NAME_MAX], enum smblog_status *st, char *err, size_t errlen);

/*
 * Whether smb://host/share/dir exists (a missing share reads as NOT_FOUND too).  0 with st OK or NOT_FOUND;
 * -1 with st and err (denied, unreachable, ...).
 */
int	 smblog_dir_exists(struct smblog *sl, const struct smblog_host *h, const char *share, const char *dir,
	    enum smblog_status *st, char *err, size_t errlen);

/*
 * name is <base>-<8 digits>-<6 digits>.log or .lo_ (base case-insensitive): 1 and key = the 15 characters
 * "yyyymmdd-hhmmss" followed by '1' for .log, '0' for .lo_ (so a plain strcmp orders them), else 0.  Pure.
 */
int	 smblog_history_key(const char *name, const char *base, char key[17]);

/* Disconnect every cached server connection (no SMB session is left open).  Never fails. */
void	 smblog_purge(struct smblog *sl);

/*
 * SMSPXE.log placements, most specific first (doc/FIELD-NOTES.md §6 has the table and its sources): the
 * site's Logs folder on a site server (SMS_<code>), the management point's SMS_CCM\Logs (C$, two install
 * paths), the client's CCM\Logs (ADMIN$), the standalone DP's SMS_DP$\sms\logs.
 */
enum smblog_place {
	SMBLOG_PLACE_SITE_SERVER,	/* SMS_<code>/Logs */
	SMBLOG_PLACE_MP,		/* C$/SMS_CCM/Logs */
	SMBLOG_PLACE_MP_PROGRAM_FILES,	/* C$/Program Files/SMS_CCM/Logs */
	SMBLOG_PLACE_CLIENT,		/* ADMIN$/CCM/Logs */
	SMBLOG_PLACE_DP,		/* SMS_DP$/sms/logs */
	SMBLOG_PLACE_COUNT
};

/* "site_server", "mp", "mp_program_files", "client", "dp". */
const char	*smblog_place_str(enum smblog_place p);

/* The SMSPXE logs of one DP, from the first placement that has SMSPXE.log. */
struct smblog_pxe {
	enum smblog_place place;
	char		 share[SMBLOG_SHARE_MAX];	/* where they were found ("SMS_DP$", "C$", "SMS_PS1", ...), "" if nowhere */
	const char	*dir;		/* "sms/logs", "CCM/Logs", "Logs", ...; NULL if nowhere */
	char		*log;		/* SMSPXE.log tail, malloc'd, NULL if absent */
	size_t		 log_len;
	char		*lo_;		/* SMSPXE.lo_ tail (rolled-over copy), NULL if absent */
	size_t		 lo__len;
	char		*hist;		/* newest history copy's tail (smblog_fetch_pxe_history), NULL if not read */
	size_t		 hist_len;
	char		 hist_name[SMBLOG_NAME_MAX];	/* its file name, "" if none */
};

/*
 * Fetch the SMSPXE.log tail from the first placement (enum smblog_place order) that has one, and SMSPXE.lo_
 * beside it; SMBLOG_PLACE_SITE_SERVER only when site_code (the site the host serves) is a site code, the two
 * management point placements only when is_mp (the site DB lists the host as an MP), else skipped.  A
 * placement without SMSPXE.log costs one request.  Each file gets at most tail_bytes.  Does not
 * purge (the caller may read the history next): call smblog_purge when done.
 * Returns 0 with *st OK (out's place, share, dir and log set) or NOT_FOUND (nothing anywhere);
 * -1 with *st and err otherwise (out holds nothing): a failure that is not "absent" or "denied" stops the
 * search; a denial is remembered and the next placement tried, and is the result (DENIED) when no later
 * placement has the log — we could not look.  Free with smblog_pxe_free (also safe on a zeroed struct).
 */
int	 smblog_fetch_pxe(struct smblog *sl, const struct smblog_host *h, const char *site_code, int is_mp,
	    size_t tail_bytes, struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen);

/*
 * After smblog_fetch_pxe found a placement: the newest SMSPXE-<yyyymmdd>-<hhmmss>.log/.lo_ in the same
 * folder (smblog_newest_history), its tail into out->hist, out->hist_name.  0 with *st OK or NOT_FOUND (no
 * history copy; out->hist NULL); -1 with *st and err (out->hist NULL).
 */
int	 smblog_fetch_pxe_history(struct smblog *sl, const struct smblog_host *h, size_t tail_bytes,
	    struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen);
void	 smblog_pxe_free(struct smblog_pxe *p);

/* The site's share SMS_<site_code> into share: 0, or -1 (share "") when site_code is not 3 letters/digits. */
int	 smblog_site_share(const char *site_code, char share[SMBLOG_SHARE_MAX]);

/*
 * One placement's reader, for a transport of the caller's (libsmbclient here, dpfleet's own SMB2 client in
 * hostread.c): both SMSPXE tails from share/dir into out->log and out->lo_ (.lo_ kept only beside a .log; a
 * .lo_ the account may not read leaves the .log found).  0 with *st OK (log set) or NOT_FOUND; -1 with *st
 * and err (DENIED: the next placement is tried).
 */
typedef int (*smblog_place_fn)(void *arg, const char *share, const char *dir, size_t tail,
    struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen);

/* smblog_fetch_pxe's search, placement by placement, with reader rd (arg passed through). */
int	 smblog_find_pxe(smblog_place_fn rd, void *arg, const char *site_code, int is_mp, size_t tail_bytes,
	    struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen);

/* The site server's CertMgr logs: Logs/CertMgr.log and its rolled copy Logs/CertMgr.lo_ on SMS_<code>. */
struct smblog_certmgr {
	char		*log;		/* CertMgr.log tail, malloc'd, NULL if absent */
	size_t		 log_len;
	char		*lo_;		/* CertMgr.lo_ tail, NULL if absent */
	size_t		 lo__len;
};

/*
 * Fetch both tails (at most tail_bytes each) from share SMS_<site_code>, the .lo_ only beside a CertMgr.log.
 * Purges after.  site_code: letters and digits, exactly 3.  Returns 0 with st OK (log set) or NOT_FOUND (no
 * CertMgr.log, or no such share); -1 with st and err otherwise (out holds nothing).  Free with
 * smblog_certmgr_free.
 */
int	 smblog_fetch_certmgr(struct smblog *sl, const struct smblog_host *h, const char *site_code,
	    size_t tail_bytes, struct smblog_certmgr *out, enum smblog_status *st, char *err, size_t errlen);
void	 smblog_certmgr_free(struct smblog_certmgr *c);

/* Purge, free the context (smbc_free_context(ctx, 1): closes every file and connection), wipe the password. */
void	 smblog_close(struct smblog *sl);

#endif
