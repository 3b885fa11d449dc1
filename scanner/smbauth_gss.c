/*
 * smbauth_gss.c — Kerberos 5 for smbauth.c's SESSION_SETUP, through MIT GSSAPI's SPNEGO mechanism
 * (1.3.6.1.5.5.2) restricted to Kerberos with gss_set_neg_mechs, so the tokens are SPNEGO as Windows and
 * smbd expect (MS-SPNG) and MIT handles the AP-REQ/AP-REP and the mechListMIC itself.  The target is
 * cifs@<fqdn> as a host-based service; flags are mutual authentication and integrity, never delegation.
 *
 * Credentials: a keytab set names the ticket cache krb.c keeps fresh (cr->ccache, "FILE:..."), read through
 * gss_acquire_cred_from's cred store; a password set gets its TGT with gss_acquire_cred_with_password as
 * cr->principal, else user@REALM (rpc_cred_realm), into a memory cache of MIT's own (the caller's default
 * cache is never touched).  krb5.conf is what the environment says (KRB5_CONFIG).  Errors carry GSS's major
 * and minor messages and the principal, never the password.
 */
#include "smbauth_int.h"

#include <com_err.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct smbauth_gss {
	gss_cred_id_t	 cred;
	gss_ctx_id_t	 ctx;
	gss_name_t	 target;
	int		 complete;	/* gss_init_sec_context said GSS_S_COMPLETE */
	char		 principal[CONFIG_STR + 256];	/* for messages: who we are, or "(ccache ...)" */
	char		 spn[CONFIG_STR + 8];		/* cifs@fqdn */
};

static gss_OID_desc oid_spnego = { 6, (void *)"\x2b\x06\x01\x05\x05\x02" };

/*
 * GSS's text for one status value of type (GSS_C_GSS_CODE or GSS_C_MECH_CODE) as mechanism mech (GSS_C_NO_OID:
 * the mechglue finds it), appended to buf.
 */
static void
status_text(OM_uint32 code, int type, gss_OID mech, char *buf, size_t size)
{
	OM_uint32	 minor, ctx = 0;
	gss_buffer_desc	 msg;
	size_t		 len;

	do {
		if (GSS_ERROR(gss_display_status(&minor, code, type, mech, &ctx, &msg)))
			return;
		len = strlen(buf);
		if (len + 3 < size)
			snprintf(buf + len, size - len, "%s%.*s", len > 0 ? ": " : "", (int)msg.length,
			    (const char *)msg.value);
		gss_release_buffer(&minor, &msg);
	} while (ctx != 0);
}

/* "Kerberos: <what> for <principal> to <spn>: <major>: <minor>" into err; returns -1. */
static int
gss_err(const struct smbauth_gss *g, const char *what, OM_uint32 major, OM_uint32 minor, char *err, size_t errlen)
{
	char	 text[512] = "", mt[256] = "";

	status_text(major, GSS_C_GSS_CODE, GSS_C_NO_OID, text, sizeof(text));
	if (minor != 0) {
		/* A krb5 code SPNEGO passed through unmapped reads "Unknown error" there: ask com_err. */
		status_text(minor, GSS_C_MECH_CODE, GSS_C_NO_OID, mt, sizeof(mt));
		if (strncmp(mt, "Unknown error", 13) == 0)
			snprintf(mt, sizeof(mt), "%s", error_message((errcode_t)(int32_t)minor));
		snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%s", mt[0] ? ": " : "", mt);
	}
	return util_err(err, errlen, "Kerberos: %s for %s to %s: %s", what, g->principal, g->spn, text);
}

/* The principal a password set authenticates as: cr->principal, a user with '@', else user@REALM. */
static int
password_principal(const struct cred *cr, char *out, size_t size, char *err, size_t errlen)
{
	char realm[CONFIG_STR];

	if (cr->principal[0] != '\0')
		return util_strlcpy(out, cr->principal, size) < size ? 0 :
		    util_err(err, errlen, "Kerberos: principal too long");
	if (strchr(cr->user, '@') != NULL)
		return util_strlcpy(out, cr->user, size) < size ? 0 :
		    util_err(err, errlen, "Kerberos: principal too long");
	if (rpc_cred_realm(cr, realm, sizeof(realm)) == -1)
		return util_err(err, errlen, "Kerberos: no realm for user %s (domain \"%s\" is not a DNS name)",
		    cr->user, cr->domain);
	if ((size_t)snprintf(out, size, "%s@%s", cr->user, realm) >= size)
		return util_err(err, errlen, "Kerberos: principal too long");
	return 0;
}

/* g->cred for cr, SPNEGO restricted to Kerberos 5.  0, or -1 + err. */
static int
acquire(struct smbauth_gss *g, const struct cred *cr, char *err, size_t errlen)
{
	gss_OID_set_desc	 spnego = { 1, &oid_spnego }, krb5 = { 1, gss_mech_krb5 };
	gss_key_value_element_desc el = { "ccache", cr->ccache };
	gss_key_value_set_desc	 store = { 1, &el };
	gss_buffer_desc		 buf;
	gss_name_t		 name = GSS_C_NO_NAME;
	OM_uint32		 major, minor, mi;

	if (cr->ccache[0] != '\0') {
		snprintf(g->principal, sizeof(g->principal), "%.255s (ticket cache %.240s)",
		    cr->principal[0] ? cr->principal : cr->user, cr->ccache);
		major = gss_acquire_cred_from(&minor, GSS_C_NO_NAME, GSS_C_INDEFINITE, &spnego, GSS_C_INITIATE,
		    &store, &g->cred, NULL, NULL);
		if (GSS_ERROR(major))
			return gss_err(g, "no credentials from the ticket cache", major, minor, err, errlen);
	} else {
		if (password_principal(cr, g->principal, sizeof(g->principal), err, errlen) == -1)
			return -1;
		buf.value = g->principal;
		buf.length = strlen(g->principal);
		major = gss_import_name(&minor, &buf, GSS_KRB5_NT_PRINCIPAL_NAME, &name);
		if (GSS_ERROR(major))
			return gss_err(g, "bad principal name", major, minor, err, errlen);
		buf.value = (void *)cr->password;
		buf.length = strlen(cr->password);
		major = gss_acquire_cred_with_password(&minor, name, &buf, GSS_C_INDEFINITE, &spnego,
		    GSS_C_INITIATE, &g->cred, NULL, NULL);
		gss_release_name(&mi, &name);
		if (GSS_ERROR(major))
			return gss_err(g, "no credentials with the password", major, minor, err, errlen);
	}
	major = gss_set_neg_mechs(&minor, g->cred, &krb5);
	if (GSS_ERROR(major))
		return gss_err(g, "cannot restrict SPNEGO to Kerberos", major, minor, err, errlen);
	return 0;
}

/*
 * One gss_init_sec_context with the server's token in (may be empty): *tok is the output (malloc'd, NULL when
 * empty).  GSS's major status, or -1 + err on error.
 */
static long
init_step(struct smbauth_gss *g, const uint8_t *in, size_t inlen, uint8_t **tok, size_t *toklen, char *err,
    size_t errlen)
{
	gss_buffer_desc	 input = { inlen, (void *)in }, output = GSS_C_EMPTY_BUFFER;
	OM_uint32	 major, minor, mi;

	*tok = NULL;
	*toklen = 0;
	major = gss_init_sec_context(&minor, g->cred, &g->ctx, g->target, &oid_spnego,
	    GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG, 0, GSS_C_NO_CHANNEL_BINDINGS, inlen > 0 ? &input : GSS_C_NO_BUFFER,
	    NULL, &output, NULL, NULL);
	if (GSS_ERROR(major)) {
		gss_release_buffer(&mi, &output);
		return gss_err(g, "gss_init_sec_context", major, minor, err, errlen);
	}
	if (output.length > SMBAUTH_TOKEN_MAX) {
		gss_release_buffer(&mi, &output);
		return util_err(err, errlen, "Kerberos: token of %zu bytes", output.length);
	}
	if (output.length > 0) {
		if ((*tok = malloc(output.length)) == NULL) {
			gss_release_buffer(&mi, &output);
			return util_err(err, errlen, "Kerberos: out of memory");
		}
		memcpy(*tok, output.value, output.length);
		*toklen = output.length;
	}
	gss_release_buffer(&mi, &output);
	if (major == GSS_S_COMPLETE)
		g->complete = 1;
	return (long)major;
}

int
smbauth_gss_start(struct smbauth_gss **out, const struct cred *cr, const char *fqdn, uint8_t **tok,
    size_t *toklen, char *err, size_t errlen)
{
	struct smbauth_gss	*g;
	gss_buffer_desc		 buf;
	OM_uint32		 major, minor;

	*out = NULL;
	*tok = NULL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return util_err(err, errlen, "Kerberos: out of memory");
	g->cred = GSS_C_NO_CREDENTIAL;
	g->ctx = GSS_C_NO_CONTEXT;
	g->target = GSS_C_NO_NAME;
	if ((size_t)snprintf(g->spn, sizeof(g->spn), "cifs@%s", fqdn) >= sizeof(g->spn)) {
		util_err(err, errlen, "Kerberos: host name too long");
		goto fail;
	}
	buf.value = g->spn;
	buf.length = strlen(g->spn);
	major = gss_import_name(&minor, &buf, GSS_C_NT_HOSTBASED_SERVICE, &g->target);
	if (GSS_ERROR(major)) {
		gss_err(g, "bad service name", major, minor, err, errlen);
		goto fail;
	}
	if (acquire(g, cr, err, errlen) == -1 || init_step(g, NULL, 0, tok, toklen, err, errlen) == -1)
		goto fail;
	if (*tok == NULL) {
		util_err(err, errlen, "Kerberos: no first token for %s", g->spn);
		goto fail;
	}
	*out = g;
	return 0;
fail:
	smbauth_gss_free(g);
	return -1;
}

int
smbauth_gss_step(struct smbauth_gss *g, const uint8_t *in, size_t inlen, int done, uint8_t **tok, size_t *toklen,
    char *err, size_t errlen)
{
	long major;

	*tok = NULL;
	*toklen = 0;
	if (g->complete) {
		/* Nothing more to read: MIT finished (AP-REP and mechListMIC checked) on the last token. */
		if (!done || inlen > 0)
			return util_err(err, errlen, "Kerberos: the server sent a token after the context was "
			    "complete");
		return 0;
	}
	if ((major = init_step(g, in, inlen, tok, toklen, err, errlen)) == -1)
		return -1;
	if (!done)
		return 1;
	if (major != GSS_S_COMPLETE || *tok != NULL) {
		free(*tok);
		*tok = NULL;
		return util_err(err, errlen, "Kerberos: the server said success before mutual authentication "
		    "completed (%s)", g->spn);
	}
	return 0;
}

int
smbauth_gss_session_key(const struct smbauth_gss *g, uint8_t key[SMBAUTH_KEY_MAX], size_t *keylen)
{
	gss_buffer_set_t	 set = GSS_C_NO_BUFFER_SET;
	OM_uint32		 major, minor;
	size_t			 i;
	int			 rc = -1;

	if (!g->complete)
		return -1;
	major = gss_inquire_sec_context_by_oid(&minor, g->ctx, GSS_C_INQ_SSPI_SESSION_KEY, &set);
	if (GSS_ERROR(major) || set == GSS_C_NO_BUFFER_SET)
		return -1;
	if (set->count >= 1 && set->elements[0].length >= 16 && set->elements[0].length <= SMBAUTH_KEY_MAX) {
		memcpy(key, set->elements[0].value, set->elements[0].length);
		*keylen = set->elements[0].length;
		rc = 0;
	}
	for (i = 0; i < set->count; i++)
		explicit_bzero(set->elements[i].value, set->elements[i].length);
	gss_release_buffer_set(&minor, &set);
	return rc;
}

void
smbauth_gss_free(struct smbauth_gss *g)
{
	OM_uint32 minor;

	if (g == NULL)
		return;
	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &g->ctx, GSS_C_NO_BUFFER);
	if (g->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &g->cred);
	if (g->target != GSS_C_NO_NAME)
		gss_release_name(&minor, &g->target);
	explicit_bzero(g, sizeof(*g));
	free(g);
}
