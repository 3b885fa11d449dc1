/*
 * tdsd_gss.h — dpfleet-tdsd's Kerberos acceptor (GSS-API, MIT krb5) for integrated logins whose SSPI token
 * is not NTLMSSP: what FreeTDS sends for an empty user (a raw Kerberos GSS token for MSSQLSvc/<host>:<port>).
 * The service key comes from the keytab KRB5_KTNAME names (tdsd sets it from --kerberos-keytab).
 */
#ifndef DPFLEET_TDSD_GSS_H
#define DPFLEET_TDSD_GSS_H

#include <stddef.h>
#include <stdint.h>

#define TDSD_GSS_NAME_MAX	256	/* the client principal we report */

struct tdsd_gss;

/* A fresh acceptor context into *out (free with tdsd_gss_end).  0, or -1 + err. */
int	 tdsd_gss_start(struct tdsd_gss **out, char *err, size_t errlen);

/*
 * Feed the client's token (inlen bytes).  *tok and *toklen receive the token to send back (malloc'd, the caller
 * frees; NULL/0 when there is none).  Returns 1 when the context is established (the client's principal in
 * name), 0 when the client must send another token, -1 + err (GSS's major and minor words) when it failed.
 */
int	 tdsd_gss_step(struct tdsd_gss *g, const uint8_t *in, size_t inlen, uint8_t **tok, size_t *toklen,
	    char *name, size_t namelen, char *err, size_t errlen);

void	 tdsd_gss_end(struct tdsd_gss *g);

#endif
