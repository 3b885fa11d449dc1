/*
 * smblog_auth.c — the process's libsmbclient context for one credential set (cred.h; dpfleet.conf(5), "auth"):
 * smblog_open, the auth callback, the user libsmbclient is handed, the Kerberos and signing options, and
 * whether a host is named by its FQDN or reached by its address (smblog_name_for).  smblog.c does the reads
 * on the context; both share struct smblog through smblog_int.h.  Samba's behaviour relied on is in
 * doc/FIELD-NOTES.md, "Kerberos with Samba's client libraries": libsmbclient tries Kerberos only for a name
 * (never an address), takes a principal from a user@REALM user, reads the default ticket cache (KRB5CCNAME)
 * when it has no password, and requires signing exactly when an encryption level is set
 * (source3/libsmb/libsmb_server.c, SMBC_server_internal).  The machine's smb.conf is replaced by an empty one.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libsmbclient.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "rpc.h"
#include "smblog.h"
#include "smblog_int.h"
#include "util.h"

/*
 * The user libsmbclient is handed for cr: a keytab set's principal; a password set with Kerberos allowed as
 * user@REALM when its realm is known (rpc_cred_realm), so libsmbclient's kinit asks for that principal while
 * NTLM still gets the account and the domain (cli_session_setup_get_account splits them); else the user.
 * 0, or -1 with err when it is empty or does not fit in size.
 */
static int
auth_user(const struct cred *cr, char *user, size_t size, char *err, size_t errlen)
{
	char	realm[CONFIG_STR];
	int	n;

	if (cr->ccache[0] != '\0')
		n = snprintf(user, size, "%s", cr->principal);
	else if (rpc_cred_auth(cr) != CRED_AUTH_NTLM && strchr(cr->user, '@') == NULL &&
	    rpc_cred_realm(cr, realm, sizeof(realm)) == 0)
		n = snprintf(user, size, "%s@%s", cr->user, realm);
	else
		n = snprintf(user, size, "%s", cr->user);
	if (n < 0 || (size_t)n >= size || user[0] == '\0')
		return util_err(err, errlen, "smblog_open: user or principal empty or too long");
	return 0;
}

/*
 * The context's Kerberos and signing options (dpfleet.conf(5), "auth"): ntlm as before Kerberos existed here; negotiate = Kerberos first, NTLM after it; kerberos, and any keytab
 * set (it has no password), never NTLM; "request" encrypts where the server can and never fails for it, and
 * makes libsmbclient require signing.
 */
static void
auth_options(SMBCCTX *ctx, enum cred_auth auth, int keytab)
{
	smbc_setOptionUseKerberos(ctx, auth != CRED_AUTH_NTLM);
	smbc_setOptionFallbackAfterKerberos(ctx, auth != CRED_AUTH_KERBEROS && !keytab);
	smbc_setOptionUseCCache(ctx, keytab);
	smbc_setOptionSmbEncryptionLevel(ctx, SMBC_ENCRYPTLEVEL_REQUEST);
}

/* 1 when name resolves (getaddrinfo, the system's resolver as libsmbclient's "host" method uses it) to addr. */
static int
name_is_addr(const char *name, const char *addr)
{
	struct addrinfo		 hints, *res = NULL, *ai;
	char			 buf[INET6_ADDRSTRLEN];
	int			 found = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	if (getaddrinfo(name, NULL, &hints, &res) != 0)
		return 0;
	for (ai = res; ai != NULL && !found; ai = ai->ai_next) {
		const void *a = ai->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    ai->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr : NULL;

		found = a != NULL && inet_ntop(ai->ai_family, a, buf, sizeof(buf)) != NULL && strcmp(buf, addr) == 0;
	}
	freeaddrinfo(res);
	return found;
}

static const char *
auth_name(enum cred_auth auth, int keytab, const char *fqdn, const char *addr)
{
	if (fqdn == NULL || fqdn[0] == '\0' || auth == CRED_AUTH_NTLM)
		return NULL;
	if (auth == CRED_AUTH_KERBEROS || keytab)
		return fqdn;
	return addr != NULL && name_is_addr(fqdn, addr) ? fqdn : NULL;
}

/*
 * libsmbclient asks for credentials per server: hand it ours, whatever server/share it names.  A keytab set's
 * ticket cache is named here, just before the connection that needs it: libsmbclient's Kerberos takes the
 * default cache (KRB5CCNAME), which is process-wide, and its own kinit for a password set points KRB5CCNAME
 * at a MEMORY: cache (source3/libsmb/cliconnect.c, cli_session_creds_prepare_krb5).
 */
static void
auth_fn(SMBCCTX *c, const char *srv, const char *shr, char *wg, int wglen, char *un, int unlen, char *pw,
    int pwlen)
{
	struct smblog *sl = smbc_getOptionUserData(c);

	(void)srv;
	(void)shr;
	if (sl == NULL || wglen <= 0 || unlen <= 0 || pwlen <= 0)
		return;
	if (sl->ccache[0] != '\0')
		(void)setenv("KRB5CCNAME", sl->ccache, 1);
	util_strlcpy(wg, sl->domain, (size_t)wglen);
	util_strlcpy(un, sl->user, (size_t)unlen);
	util_strlcpy(pw, sl->password, (size_t)pwlen);
}

/* Copy cr into sl (smblog_auth.c decides the user libsmbclient is handed).  0, or -1 with err. */
static int
smblog_cred(struct smblog *sl, const struct cred *cr, char *err, size_t errlen)
{
	if (strlen(cr->domain) >= sizeof(sl->domain) || strlen(cr->password) >= sizeof(sl->password) ||
	    strlen(cr->ccache) >= sizeof(sl->ccache))
		return util_err(err, errlen, "smblog_open: credential too long");
	util_strlcpy(sl->domain, cr->domain, sizeof(sl->domain));
	util_strlcpy(sl->password, cr->password, sizeof(sl->password));
	util_strlcpy(sl->ccache, cr->ccache, sizeof(sl->ccache));
	sl->auth = rpc_cred_auth(cr);
	return auth_user(cr, sl->user, sizeof(sl->user), err, errlen);
}

int
smblog_open(struct smblog **out, const struct cred *cr, int timeout_ms, char *err, size_t errlen)
{
	struct smblog *sl = NULL;
	int rc = -1;

	*out = NULL;
	if (cr == NULL || timeout_ms <= 0) {
		util_err(err, errlen, "smblog_open: bad arguments");
		goto done;
	}
	if ((sl = calloc(1, sizeof(*sl))) == NULL) {
		util_err(err, errlen, "smblog_open: out of memory");
		goto done;
	}
	if (smblog_cred(sl, cr, err, errlen) == -1)
		goto done;
	sl->timeout_ms = timeout_ms;
	if ((sl->ctx = smbc_new_context()) == NULL) {
		util_err(err, errlen, "smbc_new_context: %s", strerror(errno));
		goto done;
	}
	smbc_setDebug(sl->ctx, 0);
	smbc_setTimeout(sl->ctx, timeout_ms);
	smbc_setOptionUserData(sl->ctx, sl);
	smbc_setFunctionAuthDataWithContext(sl->ctx, auth_fn);
	smbc_setFunctionCheckServer(sl->ctx, smblog_check_server);
	smbc_setOptionNoAutoAnonymousLogin(sl->ctx, 1);
	auth_options(sl->ctx, sl->auth, sl->ccache[0] != '\0');
	if (sl->ccache[0] != '\0')
		(void)setenv("KRB5CCNAME", sl->ccache, 1);
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

const char *
smblog_name_for(const struct smblog *sl, const char *fqdn, const char *addr)
{
	return sl != NULL ? auth_name(sl->auth, sl->ccache[0] != '\0', fqdn, addr) : NULL;
}
