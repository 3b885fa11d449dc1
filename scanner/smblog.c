/*
 * smblog.c — tail reads of ConfigMgr logs over SMB2/3 through libsmbclient: URLs (IPv6 hosts by Samba's
 * literal name), tail reads and directory listings on the context smblog_auth.c makes (smblog_open).  Where
 * each log lives is smblog_logs.c's business; the scanner worker calls both, logparse.c parses what comes back.
 *
 * Assumptions (doc/FIELD-NOTES.md, "SMB and Samba as a client"): libsmbclient is not thread-safe and keeps
 * process-wide state (loadparm), so a process holds at most one struct smblog and uses it from one thread.
 * Credentials reach libsmbclient only through the auth callback (smbc_setOptionUserData carries them; the
 * fallback setter alone gave anonymous sessions), and anonymous login is disabled.  Kerberos follows the
 * credential set's auth mode (smblog_auth.c); it needs the URL to name the host (cifs/<fqdn>), which must
 * resolve to the address dpfleet chose (smblog_name_for).  Protocols are pinned to SMB2_02..SMB3_11 on
 * the context itself, and after smbc_init_context the host's smb.conf is replaced by an empty configuration
 * so only what we set applies.
 * Only the tail is read: one read of tail + 1 bytes from the start, whole when the file is shorter; else fstat,
 * lseek to size - tail, read at most tail bytes (read_tail).  Files read stay open until smblog_purge, which
 * shuts the host's connection down before closing them: no CLOSE, ECHO or tree disconnect waits for a reply.
 * errno from libsmbclient (mapped from NTSTATUS) is turned into
 * enum smblog_status; the mapping was measured against Samba 4.17 smbd (tests/integration/smblog_smbd_test.py).
 * libsmbclient gives the same ETIMEDOUT for a TCP connect nobody answers and for an SMB reply that never comes,
 * so a timeout is told apart afterwards by one TCP connect to port 445 (tcpprobe.h): answered, it was a stall
 * above TCP (smb_timeout); silent, the host gives no TCP answer (timeout).
 * URLs: smb://[v6]/ cannot be used (libsmbclient's parser takes the first ':' for a port), so an IPv6 address
 * becomes <addr, ':' as '-'>.ipv6-literal.net, which Samba's name resolution turns back into the address
 * without asking anyone (lib/util/util_net.c, normalize_ipv6_literal; seen working with Samba 4.17).
 */
#include <sys/stat.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <libsmbclient.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "smblog.h"
#include "smblog_int.h"
#include "tcpprobe.h"
#include "util.h"

#define URL_MAX		2048
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

/*
 * libsmbclient checks a cached connection with an SMB2 ECHO (a round trip) before its first reuse
 * (source3/libsmb/libsmb_server.c, SMBC_check_server).  Our cache lives for one host's reads (smblog_purge
 * ends it), so the check is skipped: a connection that died meanwhile fails the next request, which reports it.
 */
int
smblog_check_server(SMBCCTX *c, SMBCSRV *srv)
{
	(void)c;
	(void)srv;
	return 0;
}

/* The host h's address, whose connection smblog_purge drops (tcpprobe_drop_445). */
static void
remember_peer(struct smblog *sl, const struct smblog_host *h)
{
	if (h != NULL && h->addr != NULL)
		util_strlcpy(sl->peer, h->addr, sizeof(sl->peer));
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

/* A DNS name: labels of letters, digits, '-' and '_', separated by single dots. */
static int
dns_name_ok(const char *s)
{
	size_t label = 0;

	if (*s == '\0' || *s == '.')
		return 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    *s == '-' || *s == '_') {
			if (++label > 63)
				return 0;
		} else
			return 0;
	}
	return 1;
}

int
smblog_url_host(const struct smblog_host *h, char *out, size_t outlen, char *err, size_t errlen)
{
	struct in6_addr a6;
	struct in_addr a4;
	char canon[INET6_ADDRSTRLEN];
	size_t i;
	int n;

	if (h == NULL || h->addr == NULL)
		return util_err(err, errlen, "smblog: no address");
	if (h->name != NULL && h->name[0] != '\0') {
		if (!dns_name_ok(h->name) || strlen(h->name) >= outlen)
			return util_err(err, errlen, "smblog: bad host name");
		util_strlcpy(out, h->name, outlen);
		return 0;
	}
	if (inet_pton(AF_INET, h->addr, &a4) == 1 || (strchr(h->addr, ':') == NULL && dns_name_ok(h->addr))) {
		if (strlen(h->addr) >= outlen)
			return util_err(err, errlen, "smblog: address too long");
		util_strlcpy(out, h->addr, outlen);
		return 0;
	}
	/* IPv6 (no scope ids): canonical text, ':' → '-', then the literal-name suffix */
	if (inet_pton(AF_INET6, h->addr, &a6) != 1 || inet_ntop(AF_INET6, &a6, canon, sizeof(canon)) == NULL)
		return util_err(err, errlen, "smblog: bad address %s", h->addr);
	for (i = 0; canon[i]; i++)
		if (canon[i] == ':')
			canon[i] = '-';
		else if (canon[i] == '.')	/* an IPv4-mapped tail has no literal-name spelling */
			return util_err(err, errlen, "smblog: address %s has no IPv6 literal name", h->addr);
	n = snprintf(out, outlen, "%s.ipv6-literal.net", canon);
	if (n < 0 || (size_t)n >= outlen)
		return util_err(err, errlen, "smblog: address too long");
	return 0;
}

/* smb://<host>/<share>/<path>, share and path percent-encoded.  0, or -1 when something does not fit. */
static int
build_url(char *url, size_t cap, const char *host, const char *share, const char *path)
{
	size_t o = 0;
	int n;

	if (*share == '\0' || strchr(share, '/') != NULL)
		return -1;
	while (*path == '/')
		path++;
	n = snprintf(url, cap, "smb://%s/", host);
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
 * what got cached: a connection to host/share means the session and tree connect worked (file denied); else
 * try a tree connect to IPC$, which any authenticated user gets: if that is cached, the share was denied,
 * otherwise the logon itself failed.  Only runs on the EACCES path.
 */
static enum smblog_status
denied_or_logon(struct smblog *sl, const char *host, const char *share)
{
	smbc_get_cached_srv_fn cached = smbc_getFunctionGetCachedServer(sl->ctx);
	char url[URL_MAX];
	struct stat sb;

	if (cached(sl->ctx, host, share, sl->domain, sl->user) != NULL)
		return SMBLOG_DENIED;
	if (build_url(url, sizeof(url), host, "IPC$", "") != 0)
		return SMBLOG_DENIED;
	(void)smbc_getFunctionStat(sl->ctx)(sl->ctx, url, &sb);
	return cached(sl->ctx, host, "IPC$", sl->domain, sl->user) != NULL ? SMBLOG_DENIED : SMBLOG_LOGON_FAILURE;
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

/* Why opening (a file or directory) \\host\share\path failed with errno e: *st, 0 for NOT_FOUND, else -1. */
static int
open_failed(struct smblog *sl, const struct smblog_host *h, const char *host, const char *share,
    const char *path, int e, enum smblog_status *st, char *err, size_t errlen)
{
	*st = map_errno(e);
	if (*st == SMBLOG_DENIED)
		*st = denied_or_logon(sl, host, share);
	if (*st == SMBLOG_TIMEOUT)
		*st = timeout_kind(sl, h->addr);
	if (*st == SMBLOG_NOT_FOUND)
		return 0;
	if (*st == SMBLOG_LOGON_FAILURE)
		return util_err(err, errlen, "open \\\\%s\\%s\\%s: logon failure", h->addr, share, path);
	return util_err(err, errlen, "open \\\\%s\\%s\\%s: %s", h->addr, share, path, strerror(e));
}

/* Read at most want bytes of the open file f at its current offset into a new buffer.  0, or -1 with *st. */
static int
read_open(struct smblog *sl, SMBCFILE *f, size_t want, const char *what, char **buf, size_t *len,
    enum smblog_status *st, char *err, size_t errlen)
{
	char *b;
	size_t got = 0, ask;
	ssize_t r;
	int e;

	if ((b = malloc(want + 1)) == NULL)
		return util_err(err, errlen, "smblog_tail: out of memory (%zu bytes)", want + 1);
	while (got < want) {
		ask = want - got;
		r = smbc_getFunctionRead(sl->ctx)(sl->ctx, f, b + got, ask);
		if (r < 0) {
			e = errno;
			*st = after_open(map_errno(e));
			free(b);
			return util_err(err, errlen, "read %s: %s", what, strerror(e));
		}
		if (r == 0)	/* truncated under us: keep what we have */
			break;
		if ((size_t)r > ask) {
			free(b);
			return util_err(err, errlen, "read %s: server returned too much", what);
		}
		got += (size_t)r;
		if ((size_t)r < ask)	/* short: the end of the file (libsmbclient reads until then) */
			break;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	return 0;
}

/*
 * The last min(tail_bytes, size) bytes of the open file f, with no size probe first: one read of
 * tail_bytes + 1 bytes from the start, and a shorter answer is the whole file — the usual case, a log under the
 * tail (tail_bytes defaults to 4 MiB; ConfigMgr rolls its logs at a smaller size).  Only a longer file costs its
 * size (fstat: one SMB2 QUERY_INFO) and a second read of the tail itself, after tail_bytes + 1 bytes read for
 * nothing.  0 with *buf, *len, *file_size (when not NULL); -1 with *st and err.
 */
static int
read_tail(struct smblog *sl, SMBCFILE *f, size_t tail_bytes, const char *what, char **buf, size_t *len,
    uint64_t *file_size, enum smblog_status *st, char *err, size_t errlen)
{
	struct stat sb;
	size_t want;
	off_t off;
	int e;

	if (read_open(sl, f, tail_bytes + 1, what, buf, len, st, err, errlen) != 0)
		return -1;
	if (*len <= tail_bytes) {
		if (file_size)
			*file_size = *len;
		return 0;
	}
	free(*buf);
	*buf = NULL;
	*len = 0;
	if (smbc_getFunctionFstat(sl->ctx)(sl->ctx, f, &sb) != 0) {
		e = errno;
		*st = after_open(map_errno(e));
		return util_err(err, errlen, "fstat %s: %s", what, strerror(e));
	}
	if (sb.st_size < 0)
		return util_err(err, errlen, "fstat %s: negative size", what);
	if (file_size)
		*file_size = (uint64_t)sb.st_size;
	want = (uint64_t)sb.st_size < tail_bytes ? (size_t)sb.st_size : tail_bytes;
	off = sb.st_size - (off_t)want;
	if (smbc_getFunctionLseek(sl->ctx)(sl->ctx, f, off, SEEK_SET) != off) {
		e = errno;
		return util_err(err, errlen, "lseek %s: %s", what, strerror(e));
	}
	return read_open(sl, f, want, what, buf, len, st, err, errlen);
}

int
smblog_tail(struct smblog *sl, const struct smblog_host *h, const char *share, const char *path,
    size_t tail_bytes, char **buf, size_t *len, uint64_t *file_size, enum smblog_status *st, char *err,
    size_t errlen)
{
	char url[URL_MAX], host[SMBLOG_HOST_MAX], what[URL_MAX];
	SMBCFILE *f = NULL;
	int rc = -1;

	*buf = NULL;
	*len = 0;
	*st = SMBLOG_ERROR;
	if (file_size)
		*file_size = 0;
	if (sl == NULL || sl->ctx == NULL || h == NULL || share == NULL || path == NULL || tail_bytes == 0 ||
	    tail_bytes > SMBLOG_TAIL_MAX)
		return util_err(err, errlen, "smblog_tail: bad arguments");
	if (smblog_url_host(h, host, sizeof(host), err, errlen) != 0)
		return -1;
	if (build_url(url, sizeof(url), host, share, path) != 0)
		return util_err(err, errlen, "smblog_tail: bad share or path");
	snprintf(what, sizeof(what), "\\\\%s\\%s\\%s", h->addr, share, path);

	remember_peer(sl, h);
	errno = 0;
	if ((f = smbc_getFunctionOpen(sl->ctx)(sl->ctx, url, O_RDONLY, 0)) == NULL) {
		rc = open_failed(sl, h, host, share, path, errno, st, err, errlen);
		goto done;
	}
	if (read_tail(sl, f, tail_bytes, what, buf, len, file_size, st, err, errlen) != 0)
		goto done;
	*st = SMBLOG_OK;
	rc = 0;
done:
	if (f != NULL && sl->nparked < SMBLOG_PARKED_MAX)
		sl->parked[sl->nparked++] = f;	/* closed by smblog_purge, after the drop: no round trip */
	else if (f != NULL)
		smbc_getFunctionClose(sl->ctx)(sl->ctx, f);
	return rc;
}

/* smblog.h */
int
smblog_history_key(const char *name, const char *base, char key[17])
{
	size_t bl = strlen(base), i;
	const char *p = name + bl;

	if (strlen(name) != bl + 1 + 15 + 4 || strncasecmp(name, base, bl) != 0 || p[0] != '-' || p[9] != '-')
		return 0;
	for (i = 1; i <= 15; i++)
		if (i != 9 && (p[i] < '0' || p[i] > '9'))
			return 0;
	if (strcasecmp(p + 16, ".log") != 0 && strcasecmp(p + 16, ".lo_") != 0)
		return 0;
	memcpy(key, p + 1, 15);
	key[15] = strcasecmp(p + 16, ".log") == 0 ? '1' : '0';
	key[16] = '\0';
	return 1;
}

int
smblog_newest_history(struct smblog *sl, const struct smblog_host *h, const char *share, const char *dir,
    const char *base, char name[SMBLOG_NAME_MAX], enum smblog_status *st, char *err, size_t errlen)
{
	char url[URL_MAX], host[SMBLOG_HOST_MAX], best[17] = "", key[17];
	struct smbc_dirent *de;
	SMBCFILE *d;
	size_t seen = 0;

	name[0] = '\0';
	*st = SMBLOG_ERROR;
	if (sl == NULL || sl->ctx == NULL || h == NULL || share == NULL || dir == NULL || base == NULL ||
	    strlen(base) + 21 > SMBLOG_NAME_MAX)
		return util_err(err, errlen, "smblog_newest_history: bad arguments");
	if (smblog_url_host(h, host, sizeof(host), err, errlen) != 0)
		return -1;
	if (build_url(url, sizeof(url), host, share, dir) != 0)
		return util_err(err, errlen, "smblog_newest_history: bad share or directory");
	errno = 0;
	remember_peer(sl, h);
	if ((d = smbc_getFunctionOpendir(sl->ctx)(sl->ctx, url)) == NULL)
		return open_failed(sl, h, host, share, dir, errno, st, err, errlen);
	while (seen < SMBLOG_LIST_MAX && (de = smbc_getFunctionReaddir(sl->ctx)(sl->ctx, d)) != NULL) {
		seen++;
		if (de->smbc_type != SMBC_FILE || strnlen(de->name, SMBLOG_NAME_MAX) >= SMBLOG_NAME_MAX)
			continue;
		if (smblog_history_key(de->name, base, key) && strcmp(key, best) > 0) {
			memcpy(best, key, sizeof(best));
			util_strlcpy(name, de->name, SMBLOG_NAME_MAX);
		}
	}
	smbc_getFunctionClosedir(sl->ctx)(sl->ctx, d);
	*st = name[0] != '\0' ? SMBLOG_OK : SMBLOG_NOT_FOUND;
	return 0;
}

int
smblog_dir_exists(struct smblog *sl, const struct smblog_host *h, const char *share, const char *dir,
    enum smblog_status *st, char *err, size_t errlen)
{
	char url[URL_MAX], host[SMBLOG_HOST_MAX];
	struct stat sb;

	*st = SMBLOG_ERROR;
	if (sl == NULL || sl->ctx == NULL || h == NULL || share == NULL || dir == NULL)
		return util_err(err, errlen, "smblog_dir_exists: bad arguments");
	if (smblog_url_host(h, host, sizeof(host), err, errlen) != 0)
		return -1;
	if (build_url(url, sizeof(url), host, share, dir) != 0)
		return util_err(err, errlen, "smblog_dir_exists: bad share or directory");
	errno = 0;
	remember_peer(sl, h);
	if (smbc_getFunctionStat(sl->ctx)(sl->ctx, url, &sb) != 0)
		return open_failed(sl, h, host, share, dir, errno, st, err, errlen);
	*st = S_ISDIR(sb.st_mode) ? SMBLOG_OK : SMBLOG_NOT_FOUND;
	return 0;
}

/*
 * The connection is shut down before anything is closed (tcpprobe_drop_445), so the files' CLOSE and the tree
 * disconnect libsmbclient sends (cli_shutdown) fail at once instead of costing a round trip each; the server
 * closes them with the connection (MS-SMB2 3.3.7.1).  A failed close still frees the file and its server.
 */
void
smblog_purge(struct smblog *sl)
{
	if (sl == NULL || sl->ctx == NULL)
		return;
	if (sl->peer[0] != '\0')
		(void)tcpprobe_drop_445(sl->peer);
	sl->peer[0] = '\0';
	while (sl->nparked > 0)
		(void)smbc_getFunctionClose(sl->ctx)(sl->ctx, sl->parked[--sl->nparked]);
	smbc_getFunctionPurgeCachedServers(sl->ctx)(sl->ctx);
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
