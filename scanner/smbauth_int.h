/*
 * smbauth_int.h — the parts of smbauth (smbauth.h) that its own files share and the unit test
 * (tests/unit/test_smbauth.c) and fuzz target (tests/fuzz/fuzz_smbauth.c) call directly: the SPNEGO DER
 * codec (smbauth_spnego.c, RFC 4178 / MS-SPNG), NTLMv2 as a client (smbauth_ntlm.c, MS-NLMP) with its pure
 * computations exposed so MS-NLMP 4.2.4's vectors can be checked, and Kerberos through GSSAPI
 * (smbauth_gss.c).  smbauth.c drives them.  Not for other modules.
 */
#ifndef DPFLEET_SMBAUTH_INT_H
#define DPFLEET_SMBAUTH_INT_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/arcfour.h>

#include "cred.h"
#include "smbauth.h"

#define SMBAUTH_NTLM_KEY_LEN	16	/* NTOWFv2, SessionBaseKey, ExportedSessionKey, sign/seal keys */
#define SMBAUTH_NTLM_CHAL_LEN	8	/* server and client challenges */
#define SMBAUTH_NTLM_SIG_LEN	16	/* NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1) */

/* NegotiateFlags bits (MS-NLMP 2.2.2.5). */
#define NTLM_NEG_UNICODE		0x00000001u
#define NTLM_NEG_REQUEST_TARGET		0x00000004u
#define NTLM_NEG_SIGN			0x00000010u
#define NTLM_NEG_NTLM			0x00000200u
#define NTLM_NEG_ALWAYS_SIGN		0x00008000u
#define NTLM_NEG_ESS			0x00080000u	/* NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY */
#define NTLM_NEG_TARGET_INFO		0x00800000u
#define NTLM_NEG_VERSION		0x02000000u
#define NTLM_NEG_128			0x20000000u
#define NTLM_NEG_KEY_EXCH		0x40000000u
#define NTLM_NEG_56			0x80000000u

/* ---- SPNEGO (smbauth_spnego.c) ---- */

/* SPNEGO negState (RFC 4178 4.2.2). */
enum { SPNEGO_ACCEPT_COMPLETED = 0, SPNEGO_ACCEPT_INCOMPLETE = 1, SPNEGO_REJECT = 2, SPNEGO_REQUEST_MIC = 3 };

/* A NegTokenResp, each field pointing into the parsed bytes (NULL / -1 when absent). */
struct smbauth_negresp {
	int		 negstate;	/* -1 absent, else 0..3 */
	const uint8_t	*mech;		/* supportedMech: the OID's content octets */
	size_t		 mechlen;
	const uint8_t	*token;		/* responseToken */
	size_t		 tokenlen;
	const uint8_t	*mic;		/* mechListMIC */
	size_t		 miclen;
};

/* A NegTokenInit inside its InitialContextToken, pointing into the parsed bytes. */
struct smbauth_neginit {
	const uint8_t	*mechtypes;	/* the whole DER MechTypeList (SEQUENCE OF OID), what a mechListMIC covers */
	size_t		 mechtypeslen;
	const uint8_t	*token;		/* mechToken, NULL when absent */
	size_t		 tokenlen;
};

/* The NTLMSSP OID 1.3.6.1.4.1.311.2.2.10's content octets. */
extern const uint8_t	smbauth_oid_ntlmssp[10];

/* The DER MechTypeList { NTLMSSP } the client offers: a static buffer, *len set. */
const uint8_t	*smbauth_spnego_mechtypes(size_t *len);

/*
 * The first token (RFC 4178 4.2.1, MS-SPNG 3.1.5.1): InitialContextToken { spnego OID, NegTokenInit {
 * mechTypes { NTLMSSP }, mechToken } }.  0 with *out malloc'd (caller frees), -1 with err.
 */
int	 smbauth_spnego_init(const uint8_t *mechtok, size_t len, uint8_t **out, size_t *outlen, char *err,
	    size_t errlen);

/* Encode r as a NegTokenResp (fields absent when NULL / -1).  0 with *out malloc'd (caller frees), -1 + err. */
int	 smbauth_spnego_resp(const struct smbauth_negresp *r, uint8_t **out, size_t *outlen, char *err,
	    size_t errlen);

/* Parse a NegTokenResp ([1] SEQUENCE, DER, nothing after it).  0 with *r filled, -1 + err.  Pure. */
int	 smbauth_spnego_parse_resp(const uint8_t *p, size_t n, struct smbauth_negresp *r, char *err,
	    size_t errlen);

/* Parse an InitialContextToken holding a NegTokenInit (what smbauth_spnego_init makes).  0, or -1 + err. */
int	 smbauth_spnego_parse_init(const uint8_t *p, size_t n, struct smbauth_neginit *r, char *err,
	    size_t errlen);

/* ---- NTLM (smbauth_ntlm.c) ---- */

/* What a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) says, pointing into the parsed bytes. */
struct smbauth_challenge {
	uint32_t	 flags;
	uint8_t		 challenge[SMBAUTH_NTLM_CHAL_LEN];
	const uint8_t	*info;		/* TargetInfo AV pairs, MsvAvEOL included (NULL when absent) */
	size_t		 infolen;
	int		 has_timestamp;	/* MsvAvTimestamp present */
	uint64_t	 timestamp;	/* its FILETIME */
	uint32_t	 av_flags;	/* MsvAvFlags, 0 when absent */
};

/* Parse a CHALLENGE_MESSAGE, every field bounds-checked and the AV pairs walked to MsvAvEOL.  0 or -1 + err. */
int	 smbauth_ntlm_challenge_parse(const uint8_t *p, size_t n, struct smbauth_challenge *c, char *err,
	    size_t errlen);

/* NTOWFv2 (MS-NLMP 3.3.2): HMAC_MD5(MD4(UTF16LE(password)), UTF16LE(UPPER(user) || domain)).  0 or -1 + err. */
int	 smbauth_ntowfv2(const char *password, const char *user, const char *domain,
	    uint8_t key[SMBAUTH_NTLM_KEY_LEN], char *err, size_t errlen);

/*
 * NTLMv2 NtChallengeResponse (MS-NLMP 3.3.2): NTProofStr || temp, temp = 1 1 Z6 time cchal Z4 av Z4 (av are
 * the AV pairs as sent, MsvAvEOL included).  *resp malloc'd (caller frees, *resplen), sbk = SessionBaseKey.
 * 0 or -1 + err.
 */
int	 smbauth_ntlmv2_response(const uint8_t ntowf[SMBAUTH_NTLM_KEY_LEN], const uint8_t schal[SMBAUTH_NTLM_CHAL_LEN],
	    const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN], uint64_t filetime, const uint8_t *av, size_t avlen,
	    uint8_t **resp, size_t *resplen, uint8_t sbk[SMBAUTH_NTLM_KEY_LEN], char *err, size_t errlen);

/* LMv2 response (MS-NLMP 3.3.2): HMAC_MD5(ntowf, schal || cchal) || cchal. */
void	 smbauth_lmv2_response(const uint8_t ntowf[SMBAUTH_NTLM_KEY_LEN], const uint8_t schal[SMBAUTH_NTLM_CHAL_LEN],
	    const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN], uint8_t out[24]);

/* RC4 of n bytes with a 16-byte key (EncryptedRandomSessionKey, MS-NLMP 3.1.5.1.2). */
void	 smbauth_rc4(const uint8_t key[SMBAUTH_NTLM_KEY_LEN], const uint8_t *in, size_t n, uint8_t *out);

/*
 * SIGNKEY and SEALKEY (MS-NLMP 3.4.5.2, 3.4.5.3) of ExportedSessionKey key for the client (server = 0) or the
 * server (server = 1) with extended session security; flags picks the seal key's strength (128, 56, 40).
 */
void	 smbauth_ntlm_keys(const uint8_t key[SMBAUTH_NTLM_KEY_LEN], uint32_t flags, int server,
	    uint8_t sign[SMBAUTH_NTLM_KEY_LEN], uint8_t seal[SMBAUTH_NTLM_KEY_LEN]);

/*
 * NTLMSSP_MESSAGE_SIGNATURE with extended session security (MS-NLMP 3.4.4.2): 1, checksum =
 * HMAC_MD5(sign, seq || msg)[0..7], RC4'd through the sealing handle rc4 when keyx, seq.
 */
void	 smbauth_ntlm_sign(struct arcfour_ctx *rc4, int keyx, const uint8_t sign[SMBAUTH_NTLM_KEY_LEN],
	    uint32_t seq, const uint8_t *msg, size_t n, uint8_t sig[SMBAUTH_NTLM_SIG_LEN]);

struct smbauth_ntlm;

/*
 * A client for cr (user, domain, password; the password is reduced to NTOWFv2 at once and not kept); target
 * (may be NULL) is sent as MsvAvTargetName ("cifs/<host>").  *neg (malloc'd, caller frees) is the
 * NEGOTIATE_MESSAGE.  0 with *out, or -1 + err.
 */
int	 smbauth_ntlm_new(struct smbauth_ntlm **out, const struct cred *cr, const char *target, uint8_t **neg,
	    size_t *neglen, char *err, size_t errlen);

/* Tests only: use these instead of random client challenge and ExportedSessionKey, and this FILETIME when
 * the CHALLENGE has no MsvAvTimestamp. */
void	 smbauth_ntlm_fix_random(struct smbauth_ntlm *a, const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN],
	    const uint8_t exported[SMBAUTH_NTLM_KEY_LEN], uint64_t now);

/*
 * The AUTHENTICATE_MESSAGE answering the CHALLENGE_MESSAGE chal (MS-NLMP 3.1.5.1.2): NTLMv2 response, key
 * exchange, MIC.  *auth malloc'd (caller frees).  0, or -1 + err (malformed challenge, server without
 * NTLMv2 essentials: extended session security, Unicode).
 */
int	 smbauth_ntlm_authenticate(struct smbauth_ntlm *a, const uint8_t *chal, size_t challen, uint8_t **auth,
	    size_t *authlen, char *err, size_t errlen);

/* After smbauth_ntlm_authenticate: the signature of msg with the client's (server = 0) or the server's keys,
 * seq 0, a fresh sealing handle: a mechListMIC (MS-SPNG 3.1.5.1).  0, or -1 before the keys exist. */
int	 smbauth_ntlm_mic(const struct smbauth_ntlm *a, int server, const uint8_t *msg, size_t n,
	    uint8_t sig[SMBAUTH_NTLM_SIG_LEN]);

/* ExportedSessionKey after smbauth_ntlm_authenticate: 0, or -1 before. */
int	 smbauth_ntlm_session_key(const struct smbauth_ntlm *a, uint8_t key[SMBAUTH_NTLM_KEY_LEN]);

/* Wipe and free; NULL is a no-op. */
void	 smbauth_ntlm_free(struct smbauth_ntlm *a);

/* ---- Kerberos through GSSAPI SPNEGO (smbauth_gss.c) ---- */

struct smbauth_gss;

/*
 * Credentials for cr (keytab set: cr->ccache; password set: a TGT got with the password) and the first
 * SPNEGO token for cifs@fqdn, mechanisms restricted to Kerberos 5.  0 with *out and *tok (malloc'd), or -1
 * with err naming the principal and GSS's messages.
 */
int	 smbauth_gss_start(struct smbauth_gss **out, const struct cred *cr, const char *fqdn, uint8_t **tok,
	    size_t *toklen, char *err, size_t errlen);

/* smbauth_step's contract for Kerberos: 1 with *tok (may be NULL when empty), 0 when complete, -1 + err. */
int	 smbauth_gss_step(struct smbauth_gss *g, const uint8_t *in, size_t inlen, int done, uint8_t **tok,
	    size_t *toklen, char *err, size_t errlen);

/* The context's session key once complete: 0 with key, *keylen; -1 otherwise. */
int	 smbauth_gss_session_key(const struct smbauth_gss *g, uint8_t key[SMBAUTH_KEY_MAX], size_t *keylen);

/* Release the context and credentials; NULL is a no-op. */
void	 smbauth_gss_free(struct smbauth_gss *g);

#endif
