/*
 * tdsd_gss.c — the Kerberos side of dpfleet-tdsd's integrated logins: gss_accept_sec_context (RFC 2743, MIT
 * krb5's GSS-API) over the tokens LOGIN7's SSPI field and the client's SSPI messages carry (MS-TDS 2.2.6.4,
 * 2.2.6.8), answered in SSPI tokens (2.2.7.22).  Called by tdsd.c's conn_gss, one context per login, in the
 * connection's child.  The acceptor credential is the default one (GSS_C_NO_CREDENTIAL): any service key of
 * the keytab KRB5_KTNAME names, so the SPN the client asked for must be there.  No channel bindings (FreeTDS
 * 1.3 sends none).  The client's principal is what the caller checks against its list of Windows logins.
 */
#include "tdsd_gss.h"

#include <gssapi/gssapi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct tdsd_gss {
	gss_ctx_id_t	 ctx;
};

int
tdsd_gss_start(struct tdsd_gss **out, char *err, size_t errlen)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return util_err(err, errlen, "out of memory");
	(*out)->ctx = GSS_C_NO_CONTEXT;
	return 0;
}

/* GSS's words for a status (major, then the mechanism's minor) into err.  Returns -1. */
static int
gss_err(OM_uint32 major, OM_uint32 minor, char *err, size_t errlen)
{
	gss_buffer_desc	 msg = GSS_C_EMPTY_BUFFER;
	OM_uint32	 min, ctx = 0;
	char		 words[2][256] = { "", "" };
	int		 i;

	for (i = 0; i < 2; i++) {
		ctx = 0;
		if (gss_display_status(&min, i == 0 ? major : minor, i == 0 ? GSS_C_GSS_CODE : GSS_C_MECH_CODE,
		    GSS_C_NO_OID, &ctx, &msg) == GSS_S_COMPLETE) {
			snprintf(words[i], sizeof(words[i]), "%.*s", (int)msg.length, (const char *)msg.value);
			gss_release_buffer(&min, &msg);
		}
	}
	return util_err(err, errlen, "GSS-API: %s (%s)", words[0], words[1]);
}

int
tdsd_gss_step(struct tdsd_gss *g, const uint8_t *in, size_t inlen, uint8_t **tok, size_t *toklen, char *name,
    size_t namelen, char *err, size_t errlen)
{
	gss_buffer_desc	 input = { inlen, (void *)(uintptr_t)in }, output = GSS_C_EMPTY_BUFFER, shown;
	gss_name_t	 src = GSS_C_NO_NAME;
	OM_uint32	 major, minor, min;
	int		 rc;

	*tok = NULL;
	*toklen = 0;
	major = gss_accept_sec_context(&minor, &g->ctx, GSS_C_NO_CREDENTIAL, &input, GSS_C_NO_CHANNEL_BINDINGS,
	    &src, NULL, &output, NULL, NULL, NULL);
	if (output.length > 0) {
		if ((*tok = malloc(output.length)) == NULL) {
			gss_release_buffer(&min, &output);
			gss_release_name(&min, &src);
			return util_err(err, errlen, "out of memory");
		}
		memcpy(*tok, output.value, output.length);
		*toklen = output.length;
	}
	gss_release_buffer(&min, &output);
	if (GSS_ERROR(major)) {
		gss_release_name(&min, &src);
		free(*tok);
		*tok = NULL;
		*toklen = 0;
		return gss_err(major, minor, err, errlen);
	}
	rc = 0;
	if (major == GSS_S_COMPLETE) {
		rc = 1;
		if (gss_display_name(&min, src, &shown, NULL) != GSS_S_COMPLETE)
			rc = util_err(err, errlen, "GSS-API: the client's name cannot be shown");
		else {
			snprintf(name, namelen, "%.*s", (int)shown.length, (const char *)shown.value);
			gss_release_buffer(&min, &shown);
		}
	}
	gss_release_name(&min, &src);
	if (rc == -1) {
		free(*tok);
		*tok = NULL;
		*toklen = 0;
	}
	return rc;
}

void
tdsd_gss_end(struct tdsd_gss *g)
{
	OM_uint32 min;

	if (g == NULL)
		return;
	if (g->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&min, &g->ctx, GSS_C_NO_BUFFER);
	free(g);
}
