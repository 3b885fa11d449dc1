/*
 * ntlm.h — the server's side of NTLMv2 (MS-NLMP) for dpfleet-tdsd's integrated logins: parse the client's
 * NEGOTIATE_MESSAGE, build the CHALLENGE_MESSAGE, parse the AUTHENTICATE_MESSAGE and verify its NTLMv2
 * response against a password the server knows.  Pure: no I/O and no global state; the caller supplies the
 * random server challenge and the time.  Crypto from nettle (MD4, HMAC-MD5, memeql_sec).
 */
#ifndef DPFLEET_NTLM_H
#define DPFLEET_NTLM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tds.h"

#define NTLM_CHALLENGE_LEN	8
#define NTLM_KEY_LEN		16
#define NTLM_NAME_UNITS		128	/* longest domain, user or workstation name accepted (UTF-16 units) */
#define NTLM_NAME_MAX		(NTLM_NAME_UNITS * 3 + 1)	/* its UTF-8 form with the NUL */

/* NegotiateFlags (MS-NLMP 2.2.2.5) this server reads or sets. */
#define NTLM_NEG_UNICODE	0x00000001u
#define NTLM_NEG_OEM		0x00000002u
#define NTLM_NEG_REQUEST_TARGET	0x00000004u
#define NTLM_NEG_NTLM		0x00000200u
#define NTLM_NEG_ALWAYS_SIGN	0x00008000u
#define NTLM_NEG_TARGET_DOMAIN	0x00010000u
#define NTLM_NEG_ESS		0x00080000u	/* extended session security */
#define NTLM_NEG_TARGET_INFO	0x00800000u
#define NTLM_NEG_VERSION	0x02000000u

/* 1 when the n bytes start with the NTLMSSP signature (MS-NLMP 2.2.1); anything else is not NTLM. */
int	 ntlm_is_ntlmssp(const uint8_t *p, size_t n);

/*
 * NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1): signature, MessageType 1, the flags into *flags; the domain and
 * workstation fields are checked to lie inside the message.  0, or -1 + err.
 */
int	 ntlm_negotiate_parse(const uint8_t *p, size_t n, uint32_t *flags, char *err, size_t errlen);

/* What the CHALLENGE_MESSAGE says about the server (MS-NLMP 2.2.2.1 AV_PAIRs). */
struct ntlm_target {
	const char	*nb_domain;	/* TargetName and MsvAvNbDomainName */
	const char	*nb_computer;	/* MsvAvNbComputerName */
	const char	*dns_domain;	/* MsvAvDnsDomainName */
	const char	*dns_computer;	/* MsvAvDnsComputerName */
	uint64_t	 filetime;	/* MsvAvTimestamp: 100 ns since 1601-01-01 UTC (ntlm_filetime) */
};

/*
 * Append a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) answering client_flags to b: the server challenge, TargetName,
 * TargetInfo (the names above, the timestamp, MsvAvEOL) and a Version.  0, or -1 when b's cap is hit.
 */
int	 ntlm_challenge_build(struct tds_buf *b, uint32_t client_flags, const uint8_t challenge[NTLM_CHALLENGE_LEN],
	    const struct ntlm_target *t);

/* A FILETIME (100 ns since 1601-01-01 UTC) for t. */
uint64_t ntlm_filetime(time_t t);

/*
 * AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3).  Names are UTF-8 (from UTF-16LE with NTLMSSP_NEGOTIATE_UNICODE,
 * else OEM bytes, which must be ASCII); nt/lm point into the parsed bytes and live as long as they do.
 */
struct ntlm_authenticate {
	uint32_t	 flags;
	char		 domain[NTLM_NAME_MAX];
	char		 user[NTLM_NAME_MAX];
	char		 workstation[NTLM_NAME_MAX];
	const uint8_t	*nt;
	size_t		 ntlen;
	const uint8_t	*lm;
	size_t		 lmlen;
};

/*
 * Parse an AUTHENTICATE_MESSAGE: every field's offset and length are checked against n, names longer than
 * NTLM_NAME_UNITS are refused.  0, or -1 + err (*a partly filled).
 */
int	 ntlm_authenticate_parse(const uint8_t *p, size_t n, struct ntlm_authenticate *a, char *err, size_t errlen);

/*
 * NTOWFv2 (MS-NLMP 3.3.2) = HMAC_MD5(MD4(UTF-16LE(password)), UTF-16LE(Uppercase(user) + domain)); user and
 * domain as the client sent them, user upper-cased in ASCII (as FreeTDS does).  0, or -1 + err when a name
 * is too long.  The caller wipes key after use.
 */
int	 ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t key[NTLM_KEY_LEN],
	    char *err, size_t errlen);

/*
 * Check an NtChallengeResponse: it must be an NTLMv2_RESPONSE (MS-NLMP 2.2.2.8: 16-byte NTProofStr, then
 * an NTLMv2_CLIENT_CHALLENGE with RespType and HiRespType 1 and at least MsvAvEOL), and NTProofStr must equal
 * HMAC_MD5(key, server challenge + the rest), compared in constant time.  Returns 1 when it matches, 0 when
 * it does not, -1 + err when the response is not NTLMv2 at all (empty: anonymous; 24 bytes: NTLMv1).
 */
int	 ntlm_v2_verify(const uint8_t key[NTLM_KEY_LEN], const uint8_t challenge[NTLM_CHALLENGE_LEN],
	    const uint8_t *nt, size_t ntlen, char *err, size_t errlen);

#endif
