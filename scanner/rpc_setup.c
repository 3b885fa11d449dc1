/*
 * rpc_setup.c — what a winreg connection is set up with before rpc.c runs it: the client options (protocols,
 * signing required, Kerberos as the credential set's auth mode asks; the machine's smb.conf never read), the
 * credentials (cred.h; dpfleet.conf(5), "auth": Kerberos state and realm, a keytab set's ticket cache), the
 * ncacn_np binding naming the host's FQDN, and the name an error line gives the account.  Split from rpc.c
 * (connect phases, calls), which alone calls it through rpc_int.h; rpc_cred_realm and rpc_cred_auth are public
 * (rpc.h: smblog.c decides the same way).
 * Samba's rules it relies on: cli_credentials_get_principal (auth/credentials/credentials.c) makes user@realm,
 * else user@domain; cli_credentials_set_ccache reads a FILE: cache's principal; doc/FIELD-NOTES.md, "Kerberos
 * with Samba's client libraries".
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Samba's public headers define static inline stubs with unused parameters. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <talloc.h>
#include <tevent.h>
#include <util/data_blob.h>
#include <core/ntstatus.h>
#include <core/error.h>
#include <gen_ndr/misc.h>
#include <ndr.h>
#include <credentials.h>
#include <param.h>
#include <dcerpc.h>
#pragma GCC diagnostic pop

#include "rpc.h"
#include "rpc_int.h"
#include "util.h"

int
rpc_cred_realm(const struct cred *cr, char *realm, size_t size)
{
	const char	*src = NULL, *at;
	size_t		 i, n;

	if (size == 0)
		return -1;
	realm[0] = '\0';
	if ((at = strrchr(cr->principal, '@')) != NULL && at[1] != '\0')
		src = at + 1;
	else if (strchr(cr->domain, '.') != NULL)
		src = cr->domain;
	if (src == NULL || (n = strlen(src)) >= size)
		return -1;
	for (i = 0; i < n; i++)
		realm[i] = (char)toupper((unsigned char)src[i]);
	realm[n] = '\0';
	return 0;
}

enum cred_auth
rpc_cred_auth(const struct cred *cr)
{
	char realm[CONFIG_STR];

	if (cr->auth == CRED_AUTH_NEGOTIATE && cr->ccache[0] == '\0' &&
	    rpc_cred_realm(cr, realm, sizeof(realm)) == -1)
		return CRED_AUTH_NTLM;
	return cr->auth;
}

/* "client use kerberos" (smb.conf(5)) for an auth mode. */
static const char *
kerberos_word(enum cred_auth a)
{
	return a == CRED_AUTH_KERBEROS ? "required" : a == CRED_AUTH_NTLM ? "off" : "desired";
}

static enum credentials_use_kerberos
kerberos_state(enum cred_auth a)
{
	return a == CRED_AUTH_KERBEROS ? CRED_USE_KERBEROS_REQUIRED : a == CRED_AUTH_NTLM ?
	    CRED_USE_KERBEROS_DISABLED : CRED_USE_KERBEROS_DESIRED;
}

/*
 * A keytab set (cr->ccache set) hands Samba the ticket cache the parent keeps
 * fresh (krb.c): its principal comes from the cache, and there is no password to fall back to NTLM with.  A
 * password set with Kerberos allowed names its realm: the principal's, else the domain when it is a DNS name
 * (upper-cased, RFC 4120 6.1 realm names as AD spells them), so Samba's kinit asks for user@REALM; NTLM still
 * gets domain and user.
 */
static int
cred_setup(struct loadparm_context *lp, struct cli_credentials *creds, const struct cred *cr, char *err,
    size_t errlen)
{
	const char	*es = NULL;
	char		 realm[CONFIG_STR];

	cli_credentials_set_conf(creds, lp);
	if (!cli_credentials_set_kerberos_state(creds, kerberos_state(rpc_cred_auth(cr)), CRED_SPECIFIED))
		return util_err(err, errlen, "cannot set credentials");
	if (cr->ccache[0] != '\0') {
		if (cr->auth == CRED_AUTH_NTLM)
			return util_err(err, errlen, "credential set %s: a keytab needs auth = kerberos or "
			    "negotiate", cr->name);
		if (cli_credentials_set_ccache(creds, lp, cr->ccache, CRED_SPECIFIED, &es) != 0)
			return util_err(err, errlen, "ticket cache of %s (%s): %s", cr->principal, cr->ccache,
			    es ? es : "unusable");
		return 0;
	}
	if (!cli_credentials_set_username(creds, cr->user, CRED_SPECIFIED) ||
	    !cli_credentials_set_domain(creds, cr->domain, CRED_SPECIFIED) ||
	    !cli_credentials_set_password(creds, cr->password, CRED_SPECIFIED))
		return util_err(err, errlen, "cannot set credentials");
	if (cr->auth != CRED_AUTH_NTLM && rpc_cred_realm(cr, realm, sizeof(realm)) == 0 &&
	    !cli_credentials_set_realm(creds, realm, CRED_SPECIFIED))
		return util_err(err, errlen, "cannot set credentials");
	return 0;
}

void
rpc_cred_who(const struct cred *cr, char *who, size_t size)
{
	char realm[CONFIG_STR];

	if (cr->ccache[0] != '\0' || (cr->principal[0] != '\0' && cr->password[0] == '\0'))
		snprintf(who, size, "%s", cr->principal);
	else if (cr->auth != CRED_AUTH_NTLM && rpc_cred_realm(cr, realm, sizeof(realm)) == 0)
		snprintf(who, size, "%s@%s", cr->user, realm);
	else
		snprintf(who, size, "%s%s%s", cr->domain, cr->domain[0] ? "\\" : "", cr->user);
}

static int
lp_set(struct loadparm_context *lp, const char *name, const char *value, char *err, size_t errlen)
{
	if (!lpcfg_set_cmdline(lp, name, value))
		return util_err(err, errlen, "Samba rejected client option \"%s = %s\"", name, value);
	return 0;
}

/* The client options (rpc.c's header: loadparm_init, nothing read from smb.conf) and the credentials. */
int
rpc_conn_setup(struct loadparm_context *lp, struct cli_credentials *creds, const struct cred *cr, char *err,
    size_t errlen)
{
	/* Signing is required on every connection, whatever the server asks (doc/FIELD-NOTES.md, "NTLM"). */
	if (lp_set(lp, "client min protocol", "SMB2_02", err, errlen) == -1 ||
	    lp_set(lp, "client max protocol", "SMB3_11", err, errlen) == -1 ||
	    lp_set(lp, "client ipc min protocol", "SMB2_02", err, errlen) == -1 ||
	    lp_set(lp, "client ipc max protocol", "SMB3_11", err, errlen) == -1 ||
	    lp_set(lp, "client signing", "required", err, errlen) == -1 ||
	    lp_set(lp, "client ipc signing", "required", err, errlen) == -1 ||
	    lp_set(lp, "client use kerberos", kerberos_word(rpc_cred_auth(cr)), err, errlen) == -1 ||
	    lp_set(lp, "client ntlmv2 auth", "yes", err, errlen) == -1 ||
	    lp_set(lp, "disable netbios", "yes", err, errlen) == -1 ||
	    lp_set(lp, "name resolve order", "host", err, errlen) == -1 ||
	    lp_set(lp, "smb2:ports", "445", err, errlen) == -1 ||	/* one socket: not 139 as well */
	    lp_set(lp, "log level", "0", err, errlen) == -1)
		return -1;
	return cred_setup(lp, creds, cr, err, errlen);
}

/*
 * The ncacn_np binding to addr's \pipe\winreg, naming fqdn as the target: Samba connects to host (the
 * address) and names target_hostname in the SMB session, so the Kerberos service ticket is for cifs/<fqdn>
 * (source4/librpc/rpc/dcerpc_connect.c, dcerpc_pipe_connect_ncacn_np_smb).  NULL with err.
 */
struct dcerpc_binding *
rpc_conn_binding(TALLOC_CTX *mem, const char *addr, const char *fqdn, char *err, size_t errlen)
{
	struct dcerpc_binding	*b = NULL;
	char			*bstr;
	NTSTATUS		 st;

	if ((bstr = talloc_asprintf(mem, "ncacn_np:%s[\\pipe\\winreg]", addr)) == NULL) {
		util_err(err, errlen, "out of memory");
		return NULL;
	}
	st = dcerpc_parse_binding(mem, bstr, &b);
	if (!NT_STATUS_IS_OK(st)) {
		util_err(err, errlen, "bad binding for %s: %s", addr, nt_errstr(st));
		return NULL;
	}
	if (fqdn != NULL && *fqdn != '\0') {
		st = dcerpc_binding_set_string_option(b, "target_hostname", fqdn);
		if (!NT_STATUS_IS_OK(st)) {
			util_err(err, errlen, "bad target hostname %s: %s", fqdn, nt_errstr(st));
			return NULL;
		}
	}
	return b;
}
