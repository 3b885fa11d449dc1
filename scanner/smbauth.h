/*
 * smbauth.h — the security tokens of an SMB2 SESSION_SETUP (MS-SMB2 3.2.5.3) for smb2.c, as a client: SPNEGO
 * (RFC 4178, MS-SPNG) around either Kerberos 5 (MIT GSSAPI, RFC 4121; the service ticket for cifs/<fqdn>) or
 * NTLMv2 of our own (MS-NLMP: NEGOTIATE, CHALLENGE, AUTHENTICATE with MIC and key exchange; the SPNEGO
 * mechListMIC is signed with the NTLM keys).  Which one follows cred.h and rpc_cred_auth (rpc.h): ntlm =
 * NTLM only; kerberos = Kerberos only, never NTLM; negotiate = Kerberos when a ticket for cifs/<fqdn> can be
 * had before anything is sent, else NTLM.  A keytab set uses the ticket cache cr->ccache (krb.c keeps it
 * fresh); a password set under Kerberos gets its TGT with the password (gss_acquire_cred_with_password).
 *
 * Secrets (password, NT hash, session keys) are wiped when smbauth_free runs; none is ever logged.  Every
 * token from the server is parsed with bounds checks (smbauth_fuzz_* below feed the parsers to the fuzzers).
 */
#ifndef DPFLEET_SMBAUTH_H
#define DPFLEET_SMBAUTH_H

#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "rpc.h"

#define SMBAUTH_TOKEN_MAX	65536u	/* cap on a token either way */
#define SMBAUTH_KEY_MAX		64u	/* cap on a session key */

struct smbauth;

/*
 * Begin authenticating as cr to the host fqdn (NULL: NTLM only, a Kerberos-only set then fails).  *tok
 * (malloc'd, caller frees; *toklen) is the first SESSION_SETUP's security buffer.  0, or -1 with err and *why
 * (RPC_FAIL_KERBEROS: no usable ticket, the KDC refused or is unreachable, no SPN; RPC_FAIL_OTHER: local
 * failure), *out NULL.
 */
int	 smbauth_start(struct smbauth **out, const struct cred *cr, const char *fqdn, uint8_t **tok,
	    size_t *toklen, char *err, size_t errlen, enum rpc_fail *why);

/*
 * The server's token (in, inlen; may be empty) from a SESSION_SETUP response.  done = 0: the server said
 * STATUS_MORE_PROCESSING_REQUIRED; *tok is the next request's security buffer and 1 is returned.  done = 1:
 * the server said STATUS_SUCCESS; the token is checked (Kerberos: the AP-REP, mutual authentication;
 * SPNEGO accept-completed and the server's mechListMIC when it sends one) and 0 is returned with *tok NULL.
 * -1 with err and *why (RPC_FAIL_KERBEROS, RPC_FAIL_PROTOCOL for a malformed or unexpected token,
 * RPC_FAIL_LOGON when the server's mechListMIC does not verify).
 */
int	 smbauth_step(struct smbauth *a, const uint8_t *in, size_t inlen, int done, uint8_t **tok,
	    size_t *toklen, char *err, size_t errlen, enum rpc_fail *why);

/*
 * After smbauth_step returned 0: the session key (Kerberos: the GSS context's session key, the acceptor's
 * subkey when there is one; NTLM: ExportedSessionKey).  0 with key (at least 16 bytes held) and *keylen, -1
 * when there is none yet.  SMB2 uses its first 16 bytes (MS-SMB2 3.2.5.3.1).
 */
int	 smbauth_session_key(const struct smbauth *a, uint8_t key[SMBAUTH_KEY_MAX], size_t *keylen);

/* "kerberos" or "ntlm": the mechanism in use (after smbauth_start). */
const char	*smbauth_mech(const struct smbauth *a);

/* Wipe every secret and free.  NULL is a no-op. */
void	 smbauth_free(struct smbauth *a);

/* Parsers of what a server sends, for tests/fuzz: a SPNEGO NegTokenResp and an NTLM CHALLENGE_MESSAGE.
 * 0 when well formed, -1 with err.  Pure. */
int	 smbauth_parse_negtokenresp(const uint8_t *p, size_t n, char *err, size_t errlen);
int	 smbauth_parse_challenge(const uint8_t *p, size_t n, char *err, size_t errlen);

#endif
