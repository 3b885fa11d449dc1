/*
 * smblog.c — tail reads of ConfigMgr logs over SMB2/3 through libsmbclient.  The scanner worker calls it for a
 * DP's SMSPXE.log/.lo_ (SMS_DP$ sms/logs, else ADMIN$ CCM/Logs) and the site server's SMS_<CODE>/Logs/CertMgr.log;
 * logparse.c parses what comes back.
 *
 * Assumptions (doc/FIELD-NOTES.md, "SMB and Samba as a client"): libsmbclient is not thread-safe and keeps
 * process-wide state (loadparm), so a process holds at most one struct smblog and uses it from one thread.
 * Credentials reach libsmbclient only through the auth callback (smbc_setOptionUserData carries them; the
 * fallback setter alone gave anonymous sessions), and anonymous login is disabled, Kerberos is off (we connect
 * to addresses, which have no SPN: NTLMSSP).  Protocols are pinned to SMB2_02..SMB3_11 on the context itself,
 * and after smbc_init_context the host's smb.conf is replaced by an empty configuration so only what we set
 * applies.
 * Only the tail is read: fstat, lseek to max(0, size - tail), read at most tail bytes (a file that grows between
 * fstat and read still yields at most tail bytes).  errno from libsmbclient (mapped from NTSTATUS) is turned into
 * enum smblog_status; the mapping was measured against Samba 4.17 smbd (tests/integration/smblog_smbd_test.py).
 * libsmbclient gives the same ETIMEDOUT for a TCP connect nobody answers and for an SMB reply that never comes,
 * so a timeout is told apart afterwards by one TCP connect to port 445 (tcpprobe.h): answered, it was a stall
 * above TCP (smb_timeout); silent, the host gives no TCP answer (timeout).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libsmbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "smblog.h"
#include "tcpprobe.h"
#include "util.h"

#define URL_MAX		2048
#define CRED_MAX	256

struct smblog {
	SMBCCTX	*ctx;
	int	 timeout_ms;	/* per response, as given to smblog_open */
	char	 domain[CRED_MAX];
	char	 user[CRED_MAX];
	char	 password[CRED_MAX];
};

const char *
smblog_status_str(enum smblog_status st)
{
	switch (st) {
	case SMBLOG_OK:			return "ok";
	case SMBLOG_NOT_FOUND:		return "not_found";
	case SMBLOG_DENIED:		return "access_denied";
	case SMBLOG_LOGON_FAILURE:	return "logon_failure";
	case SMBLOG_REFUSED:		return "refused";
	case SMBLOG_TIMEOUT:		return "timeout";
	case SMBLOG_SMB_TIMEOUT:	return "smb_timeout";
	case SMBLOG_NO_ROUTE:		return "no_route";
	case SMBLOG_ERROR:		break;
	}
	return "error";
}

/* libsmbclient asks for credentials per server: hand it ours, whatever server/share it names. */
static void
auth_fn(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un, int unlen, char *pw,
    int pwlen)
{
	struct smblog *sl = smbc_getOptionUserData(c);

	(void)srv;
	(void)shr;
	if (sl == NULL || wglen <= 0 || unlen <= 0 || pwlen <= 0)
		return;
	util_strlcpy(wg, sl->domain, (size_t)wglen);
	util_strlcpy(un, sl->user, (size_t)unlen);
	util_strlcpy(pw, sl->password, (size_t)pwlen);
}

int
smblog_open(struct smblog **out, const char *domain, const char *user, const char *password, int timeout_ms,
    char *err, size_t errlen)
{
	struct smblog *sl = NULL;
	int rc = -1;

	*out = NULL;
	if (user == NULL || password == NULL || timeout_ms <= 0) {
		util_err(err, errlen, "smblog_open: bad arguments");
		goto done;
	}
	if ((domain && strlen(domain) >= CRED_MAX) || strlen(user) >= CRED_MAX || strlen(password) >= CRED_MAX) {
		util_err(err, errlen, "smblog_open: credential longer than %d bytes", CRED_MAX - 1);
		goto done;
	}
	if ((sl = calloc(1, sizeof(*sl))) == NULL) {
		util_err(err, errlen, "smblog_open: out of memory");
		goto done;
	}
	util_strlcpy(sl->domain, domain ? domain : "", sizeof(sl->domain));
	util_strlcpy(sl->user, user, sizeof(sl->user));
	util_strlcpy(sl->password, password, sizeof(sl->password));
	sl->timeout_ms = timeout_ms;
	if ((sl->ctx = smbc_new_context()) == NULL) {
		util_err(err, errlen, "smbc_new_context: %s", strerror(errno));
		goto done;
	}
	smbc_setDebug(sl->ctx, 0);
	smbc_setTimeout(sl->ctx, timeout_ms);
	smbc_setOptionUserData(sl->ctx, sl);
	smbc_setFunctionAuthDataWithContext(sl->ctx, auth_fn);
	smbc_setOptionNoAutoAnonymousLogin(sl->ctx, 1);
	smbc_setOptionUseKerberos(sl->ctx, 0);
	smbc_setOptionFallbackAfterKerberos(sl->ctx, 1);
	if (smbc_init_context(sl->ctx) == NULL) {
		util_err(err, errlen, "smbc_init_context: %s", strerror(errno));
		smbc_free_context(sl->ctx, 1);
		sl->ctx = NULL;
		goto done;
	}
	/* forget the host's smb.conf; then pin what we need (command-line level, survives later loads) */
	if (smbc_setConfiguration(sl->ctx, "/dev/null") != 0) {
		util_err(err, errlen, "smbc_setConfiguration: %s", strerror(errno));
		goto done;
	}
	if (!smbc_setOptionProtocols(sl->ctx, "SMB2_02", "SMB3_11")) {
		util_err(err, errlen, "smbc_setOptionProtocols failed");
		goto done;
	}
	*out = sl;
	sl = NULL;
	rc = 0;
done:
	smblog_close(sl);
	return rc;
}

static enum smblog_status
map_errno(int e)
{
	switch (e) {
	case ENOENT:
	case ENOTDIR:
	case ENODEV:		/* share absent (NT_STATUS_BAD_NETWORK_NAME) */
		return SMBLOG_NOT_FOUND;
	case EACCES:		/* access denied, but also logon failure: see denied_or_logon */
		return SMBLOG_DENIED;
	case EPERM:		/* NT_STATUS_ACCOUNT_DISABLED and friends */
		return SMBLOG_LOGON_FAILURE;
	case ECONNREFUSED:
		return SMBLOG_REFUSED;
	case ETIMEDOUT:
	case EAGAIN:
		return SMBLOG_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case EADDRNOTAVAIL:
		return SMBLOG_NO_ROUTE;
	default:
		return SMBLOG_ERROR;
	}
}

/* Percent-encode everything but unreserved characters, '/', '$'. */
static int
url_append(char *url, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || c == '/' || c == '$';

		if (*o + (plain ? 1 : 3) >= cap)
			return -1;
		if (plain)
			url[(*o)++] = (char)c;
		else {
			url[(*o)++] = '%';
			url[(*o)++] = hex[c >> 4];
			url[(*o)++] = hex[c & 15];
		}
	}
	url[*o] = '\0';
	return 0;
}

static int
build_url(char *url, size_t cap, const char *addr, const char *share, const char *path)
{
	size_t o = 0;
	int n;

	if (*addr == '\0' || strpbrk(addr, "/@[]%?# ") != NULL || *share == '\0' || strchr(share, '/') != NULL)
		return -1;
	while (*path == '/')
		path++;
	n = snprintf(url, cap, strchr(addr, ':') ? "smb://[%s]/" : "smb://%s/", addr);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	o = (size_t)n;
	if (url_append(url, cap, &o, share) != 0 || o + 1 >= cap)
		return -1;
	url[o++] = '/';
	url[o] = '\0';
	return url_append(url, cap, &o, path);
}

/*
 * libsmbclient reports both NT_STATUS_LOGON_FAILURE and NT_STATUS_ACCESS_DENIED as EACCES.  Tell them apart by
 * what got cached: a connection to addr/share means the session and tree connect worked (file denied); else
 * try a tree connect to IPC$, which any authenticated user gets: if that is cached, the share was denied,
 * otherwise the logon itself failed.  Only runs on the EACCES path.
 */
static enum smblog_status
denied_or_logon(struct smblog *sl, const char *addr, const char *share)
{
	smbc_get_cached_srv_fn cached = smbc_getFunctionGetCachedServer(sl->ctx);
	char url[URL_MAX];
	struct stat sb;

	if (cached(sl->ctx, addr, share, sl->domain, sl->user) != NULL)
		return SMBLOG_DENIED;
	if (build_url(url, sizeof(url), addr, "IPC$", "") != 0)
		return SMBLOG_DENIED;
	(void)smbc_getFunctionStat(sl->ctx)(sl->ctx, url, &sb);
	return cached(sl->ctx, addr, "IPC$", sl->domain, sl->user) != NULL ? SMBLOG_DENIED : SMBLOG_LOGON_FAILURE;
}

/* A failure once the file is open: SMB was up, so a timeout is a stall above TCP; "absent" is an error. */
static enum smblog_status
after_open(enum smblog_status st)
{
	return st == SMBLOG_NOT_FOUND ? SMBLOG_ERROR : st == SMBLOG_TIMEOUT ? SMBLOG_SMB_TIMEOUT : st;
}

/* A timeout on open: smb_timeout when TCP 445 answers a fresh connect, else timeout (see the file's header). */
static enum smblog_status
timeout_kind(const struct smblog *sl, const char *addr)
{
	int s = sl->timeout_ms / 1000;

	return tcpprobe_445(addr, s > 0 ? s : 1) == TCPPROBE_CONNECTED ? SMBLOG_SMB_TIMEOUT : SMBLOG_TIMEOUT;
}

/* Why the open of \\addr\share\path failed with errno e: *st, and 0 for NOT_FOUND, else -1 with err. */
static int
open_failed(struct smblog *sl, const char *addr, const char *share, const char *path, int e,
    enum smblog_status *st, char *err, size_t errlen)
{
	*st = map_errno(e);
	if (*st == SMBLOG_DENIED)
		*st = denied_or_logon(sl, addr, share);
	if (*st == SMBLOG_TIMEOUT)
		*st = timeout_kind(sl, addr);
	if (*st == SMBLOG_NOT_FOUND)
		return 0;
	if (*st == SMBLOG_LOGON_FAILURE)
		return util_err(err, errlen, "open \\\\%s\\%s\\%s: logon failure", addr, share, path);
	return util_err(err, errlen, "open \\\\%s\\%s\\%s: %s", addr, share, path, strerror(e));
}

int
smblog_tail(struct smblog *sl, const char *addr, const char *share, const char *path, size_t tail_bytes,
    char **buf, size_t *len, uint64_t *file_size, enum smblog_status *st, char *err, size_t errlen)
{
	char url[URL_MAX];
	SMBCFILE *f = NULL;
	struct stat sb;
	char *b = NULL;
	size_t want, got = 0;
	off_t off;
	ssize_t r;
	int rc = -1, e;

	*buf = NULL;
	*len = 0;
	*st = SMBLOG_ERROR;
	if (file_size)
		*file_size = 0;
	if (sl == NULL || sl->ctx == NULL || addr == NULL || share == NULL || path == NULL || tail_bytes == 0 ||
	    tail_bytes > SMBLOG_TAIL_MAX)
		return util_err(err, errlen, "smblog_tail: bad arguments");
	if (build_url(url, sizeof(url), addr, share, path) != 0)
		return util_err(err, errlen, "smblog_tail: bad address, share or path");

	errno = 0;
	if ((f = smbc_getFunctionOpen(sl->ctx)(sl->ctx, url, O_RDONLY, 0)) == NULL) {
		rc = open_failed(sl, addr, share, path, errno, st, err, errlen);
		goto done;
	}
	if (smbc_getFunctionFstat(sl->ctx)(sl->ctx, f, &sb) != 0) {
		e = errno;
		*st = after_open(map_errno(e));
		util_err(err, errlen, "fstat \\\\%s\\%s\\%s: %s", addr, share, path, strerror(e));
		goto done;
	}
	if (sb.st_size < 0) {
		util_err(err, errlen, "fstat \\\\%s\\%s\\%s: negative size", addr, share, path);
		goto done;
	}
	if (file_size)
		*file_size = (uint64_t)sb.st_size;
	want = (uint64_t)sb.st_size < tail_bytes ? (size_t)sb.st_size : tail_bytes;
	off = sb.st_size - (off_t)want;
	if (off > 0 && smbc_getFunctionLseek(sl->ctx)(sl->ctx, f, off, SEEK_SET) != off) {
		e = errno;
		*st = SMBLOG_ERROR;
		util_err(err, errlen, "lseek \\\\%s\\%s\\%s: %s", addr, share, path, strerror(e));
		goto done;
	}
	if ((b = malloc(want + 1)) == NULL) {
		util_err(err, errlen, "smblog_tail: out of memory (%zu bytes)", want + 1);
		goto done;
	}
	while (got < want) {
		r = smbc_getFunctionRead(sl->ctx)(sl->ctx, f, b + got, want - got);
		if (r < 0) {
			e = errno;
			*st = after_open(map_errno(e));
			util_err(err, errlen, "read \\\\%s\\%s\\%s: %s", addr, share, path, strerror(e));
			goto done;
		}
		if (r == 0)	/* truncated under us: keep what we have */
			break;
		if ((size_t)r > want - got) {
			util_err(err, errlen, "read \\\\%s\\%s\\%s: server returned too much", addr, share, path);
			goto done;
		}
		got += (size_t)r;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	b = NULL;
	*st = SMBLOG_OK;
	rc = 0;
done:
	if (f != NULL)
		smbc_getFunctionClose(sl->ctx)(sl->ctx, f);
	free(b);
	return rc;
}

void
smblog_purge(struct smblog *sl)
{
	if (sl != NULL && sl->ctx != NULL)
		smbc_getFunctionPurgeCachedServers(sl->ctx)(sl->ctx);
}

void
smblog_pxe_free(struct smblog_pxe *p)
{
	if (p == NULL)
		return;
	free(p->log);
	free(p->lo_);
	memset(p, 0, sizeof(*p));
}

int
smblog_fetch_pxe(struct smblog *sl, const char *addr, size_t tail_bytes, struct smblog_pxe *out,
    enum smblog_status *st, char *err, size_t errlen)
{
	static const struct { const char *share, *dir; } loc[] = {
		{ "SMS_DP$", "sms/logs" },
		{ "ADMIN$", "CCM/Logs" },
	};
	char path[64];
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*st = SMBLOG_NOT_FOUND;
	for (i = 0; i < sizeof(loc) / sizeof(loc[0]); i++) {
		snprintf(path, sizeof(path), "%s/SMSPXE.log", loc[i].dir);
		if (smblog_tail(sl, addr, loc[i].share, path, tail_bytes, &out->log, &out->log_len, NULL, st,
		    err, errlen) != 0)
			goto done;
		snprintf(path, sizeof(path), "%s/SMSPXE.lo_", loc[i].dir);
		if (smblog_tail(sl, addr, loc[i].share, path, tail_bytes, &out->lo_, &out->lo__len, NULL, st,
		    err, errlen) != 0)
			goto done;
		if (out->log != NULL || out->lo_ != NULL) {
			out->share = loc[i].share;
			out->dir = loc[i].dir;
			*st = SMBLOG_OK;
			break;
		}
	}
	rc = 0;
done:
	if (rc != 0)
		smblog_pxe_free(out);
	smblog_purge(sl);
	return rc;
}

int
smblog_fetch_certmgr(struct smblog *sl, const char *addr, const char *site_code, size_t tail_bytes,
    char **buf, size_t *len, enum smblog_status *st, char *err, size_t errlen)
{
	char share[16];
	size_t i;
	int rc;

	*buf = NULL;
	*len = 0;
	*st = SMBLOG_ERROR;
	if (site_code == NULL || strlen(site_code) != 3)
		return util_err(err, errlen, "smblog_fetch_certmgr: bad site code");
	for (i = 0; i < 3; i++)
		if (!((site_code[i] >= 'A' && site_code[i] <= 'Z') || (site_code[i] >= 'a' && site_code[i] <= 'z') ||
		    (site_code[i] >= '0' && site_code[i] <= '9')))
			return util_err(err, errlen, "smblog_fetch_certmgr: bad site code");
	snprintf(share, sizeof(share), "SMS_%s", site_code);
	rc = smblog_tail(sl, addr, share, "Logs/CertMgr.log", tail_bytes, buf, len, NULL, st, err, errlen);
	smblog_purge(sl);
	return rc;
}

void
smblog_close(struct smblog *sl)
{
	if (sl == NULL)
		return;
	if (sl->ctx != NULL) {
		smblog_purge(sl);
		smbc_free_context(sl->ctx, 1);
	}
	explicit_bzero(sl, sizeof(*sl));
	free(sl);
}
