/*
 * test_smbauth.c — scanner/smbauth*.c without a server.  NTLMv2 against MS-NLMP 4.2.4 (the common values of
 * 4.2.1: user "User", domain "Domain", password "Password", server challenge 0123456789abcdef, client
 * challenge aa..aa, RandomSessionKey 55..55, time 0): NTOWFv2 (4.2.4.1.1), SessionBaseKey (4.2.4.1.2), LMv2
 * and NTLMv2 responses (4.2.4.2.1, 4.2.4.2.2), EncryptedRandomSessionKey (4.2.4.2.3), sign/seal keys and
 * the signature of 4.2.4.4.  Then the client end to end against a server played here: the AUTHENTICATE it
 * builds is checked as a server checks it (NTProofStr, key exchange, MIC, our mechListMIC), the server's
 * mechListMIC verifies, a wrong one is refused.  SPNEGO round trips; malformed CHALLENGE_MESSAGEs and
 * NegTokenResps (every truncation, offsets and lengths past the end, bad DER) are refused.  Mode choice:
 * kerberos without a host name, or with a KDC that refuses (krb5.conf in a scratch directory), fails with
 * reason kerberos; negotiate then falls back to NTLM.
 */
#include <nettle/arcfour.h>
#include <nettle/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "le.h"
#include "smbauth.h"
#include "smbauth_int.h"

static const uint8_t schal[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
static const uint8_t cchal[8] = { 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa };
static const uint8_t random_key[16] = {
	0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55
};
/* 4.2.4.1.1 */
static const uint8_t ntowfv2_vec[16] = {
	0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f
};
/* 4.2.4.1.2 */
static const uint8_t sbk_vec[16] = {
	0x8d, 0xe4, 0x0c, 0xca, 0xdb, 0xc1, 0x4a, 0x82, 0xf1, 0x5c, 0xb0, 0xad, 0x0d, 0xe9, 0x5c, 0xa3
};
/* 4.2.4.2.1 */
static const uint8_t lmv2_vec[24] = {
	0x86, 0xc3, 0x50, 0x97, 0xac, 0x9c, 0xec, 0x10, 0x25, 0x54, 0x76, 0x4a, 0x57, 0xcc, 0xcc, 0x19,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa
};
/* 4.2.4.2.2: NTProofStr, then the temp of 4.2.4.1.3 (AV pairs NbDomainName "Domain", NbComputerName "Server"). */
static const uint8_t ntv2_vec[84] = {
	0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b, 0xeb, 0xef, 0x6a, 0x1c,
	0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x0c, 0x00, 0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00,
	0x01, 0x00, 0x0c, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00, 0x65, 0x00, 0x72, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
};
#define AV_OFF	44	/* the AV pairs inside ntv2_vec */
#define AV_LEN	36
/* 4.2.4.2.3 */
static const uint8_t enckey_vec[16] = {
	0xc5, 0xda, 0xd2, 0x54, 0x4f, 0xc9, 0x79, 0x90, 0x94, 0xce, 0x1c, 0xe9, 0x0b, 0xc9, 0xd0, 0x3e
};
/* 4.2.4.4: keys of RandomSessionKey, "Plaintext" sealed and signed with sequence number 0. */
static const uint8_t sealkey_vec[16] = {
	0x59, 0xf6, 0x00, 0x97, 0x3c, 0xc4, 0x96, 0x0a, 0x25, 0x48, 0x0a, 0x7c, 0x19, 0x6e, 0x4c, 0x58
};
static const uint8_t signkey_vec[16] = {
	0x47, 0x88, 0xdc, 0x86, 0x1b, 0x47, 0x82, 0xf3, 0x5d, 0x43, 0xfd, 0x98, 0xfe, 0x1a, 0x2d, 0x39
};
static const uint8_t plaintext[18] = {
	0x50, 0x00, 0x6c, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00, 0x74, 0x00, 0x65, 0x00, 0x78, 0x00, 0x74, 0x00
};
static const uint8_t sealed_vec[18] = {
	0x54, 0xe5, 0x01, 0x65, 0xbf, 0x19, 0x36, 0xdc, 0x99, 0x60, 0x20, 0xc1, 0x81, 0x1b, 0x0f, 0x06, 0xfb, 0x5f
};
static const uint8_t sig_vec[16] = {
	0x01, 0x00, 0x00, 0x00, 0x7f, 0xb3, 0x8e, 0xc5, 0xc5, 0x5d, 0x49, 0x76, 0x00, 0x00, 0x00, 0x00
};
#define VEC_FLAGS	0xe28a8233u	/* 4.2.4's NegotiateFlags */

/*
 * A CHALLENGE_MESSAGE like 4.2.4.3's: TargetName "Server", the AV pairs of ntv2_vec, plus an MsvAvTimestamp
 * of ts when ts != 0.  Returns its length in buf (>= 128 bytes).
 */
static size_t
make_challenge(uint8_t *buf, uint64_t ts)
{
	static const uint8_t server16[12] = { 'S', 0, 'e', 0, 'r', 0, 'v', 0, 'e', 0, 'r', 0 };
	size_t n = 56, info;

	memset(buf, 0, 56);
	memcpy(buf, "NTLMSSP", 8);
	le_put32(buf + 8, 2);
	buf[12] = buf[14] = 12;
	le_put32(buf + 16, 56);
	le_put32(buf + 20, VEC_FLAGS);
	memcpy(buf + 24, schal, 8);
	memcpy(buf + n, server16, 12);
	n += 12;
	info = n;
	memcpy(buf + n, ntv2_vec + AV_OFF, AV_LEN - 4);	/* without MsvAvEOL */
	n += AV_LEN - 4;
	if (ts != 0) {
		buf[n] = 7;
		buf[n + 1] = 0;
		buf[n + 2] = 8;
		buf[n + 3] = 0;
		le_put32(buf + n + 4, (uint32_t)ts);
		le_put32(buf + n + 8, (uint32_t)(ts >> 32));
		n += 12;
	}
	memset(buf + n, 0, 4);
	n += 4;
	buf[40] = buf[42] = (uint8_t)(n - info);
	le_put32(buf + 44, (uint32_t)info);
	return n;
}

static void
test_vectors(void)
{
	struct arcfour_ctx rc4;
	uint8_t	 key[16], sbk[16], lm[24], enc[16], sign[16], seal[16], sig[16], sealed[18], *resp = NULL;
	size_t	 resplen = 0;
	char	 err[256];

	CHECK(smbauth_ntowfv2("Password", "User", "Domain", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vec, 16) == 0);
	CHECK(smbauth_ntowfv2("Password", "user", "Domain", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vec, 16) == 0);
	CHECK(smbauth_ntowfv2("Password", "User", "DOMAIN", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vec, 16) != 0);
	CHECK(smbauth_ntowfv2("Password", "\xff", "Domain", key, err, sizeof(err)) == -1);

	smbauth_lmv2_response(ntowfv2_vec, schal, cchal, lm);
	CHECK(memcmp(lm, lmv2_vec, 24) == 0);
	CHECK(smbauth_ntlmv2_response(ntowfv2_vec, schal, cchal, 0, ntv2_vec + AV_OFF, AV_LEN, &resp, &resplen, sbk,
	    err, sizeof(err)) == 0);
	CHECK(resplen == sizeof(ntv2_vec) && memcmp(resp, ntv2_vec, resplen) == 0);
	CHECK(memcmp(sbk, sbk_vec, 16) == 0);
	free(resp);
	smbauth_rc4(sbk_vec, random_key, 16, enc);
	CHECK(memcmp(enc, enckey_vec, 16) == 0);

	smbauth_ntlm_keys(random_key, VEC_FLAGS, 0, sign, seal);
	CHECK(memcmp(sign, signkey_vec, 16) == 0);
	CHECK(memcmp(seal, sealkey_vec, 16) == 0);
	/* GSS_WrapEx: the message is sealed first, the checksum through the same RC4 handle after it. */
	arcfour_set_key(&rc4, 16, seal);
	arcfour_crypt(&rc4, sizeof(plaintext), sealed, plaintext);
	CHECK(memcmp(sealed, sealed_vec, sizeof(sealed)) == 0);
	smbauth_ntlm_sign(&rc4, 1, sign, 0, plaintext, sizeof(plaintext), sig);
	CHECK(memcmp(sig, sig_vec, 16) == 0);
}

/* A server's view of an AUTHENTICATE_MESSAGE: field i's bytes. */
static const uint8_t *
auth_field(const uint8_t *m, size_t n, int i, size_t *len)
{
	size_t off = le_get32(m + 16 + 8 * i);

	*len = le_get16(m + 12 + 8 * i);
	if (off > n || *len > n - off)
		return NULL;
	return m + off;
}

/*
 * Check an AUTHENTICATE_MESSAGE as a server does (MS-NLMP 3.3.2, 3.2.5.1.2) for 4.2.4's password: the
 * NTLMv2 response, the key exchange, the MIC over neg || chal || auth.  The ExportedSessionKey into exported.
 * When ts != 0 the blob must carry it and the LM response be zero; else the LMv2 response.
 */
static void
server_check(const uint8_t *neg, size_t neglen, const uint8_t *chal, size_t challen, const uint8_t *m, size_t n,
    uint64_t ts, uint8_t exported[16])
{
	struct hmac_md5_ctx hmac;
	uint8_t	 sbk[16], mic[16], *copy, *resp = NULL, lm[24];
	const uint8_t *nt, *lmr, *enc, *user, *dom, *cc;
	size_t	 ntlen, lmlen, enclen, ulen, dlen, resplen;
	char	 err[256];

	CHECK(n > 88 && memcmp(m, "NTLMSSP", 8) == 0 && le_get32(m + 8) == 3);
	lmr = auth_field(m, n, 0, &lmlen);
	nt = auth_field(m, n, 1, &ntlen);
	dom = auth_field(m, n, 2, &dlen);
	user = auth_field(m, n, 3, &ulen);
	enc = auth_field(m, n, 5, &enclen);
	CHECK(lmr && nt && dom && user && enc && lmlen == 24 && enclen == 16 && ntlen > 16 + 28 + 4);
	if (!(lmr && nt && dom && user && enc && lmlen == 24 && enclen == 16 && ntlen > 16 + 28 + 4))
		return;
	CHECK(dlen == 12 && memcmp(dom, "D\0o\0m\0a\0i\0n\0", 12) == 0);
	CHECK(ulen == 8 && memcmp(user, "U\0s\0e\0r\0", 8) == 0);
	/* The client challenge is whatever the blob says (random unless fixed). */
	CHECK(le_get32(nt + 16 + 8) == (uint32_t)ts);
	cc = nt + 16 + 16;
	smbauth_lmv2_response(ntowfv2_vec, schal, cc, lm);
	if (ts == 0)
		CHECK(memcmp(lmr, lm, 24) == 0);
	else
		CHECK(memcmp(lmr, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 24) == 0);
	/* Recompute the response from the blob's own AV pairs: NTProofStr and SessionBaseKey. */
	CHECK(smbauth_ntlmv2_response(ntowfv2_vec, schal, cc, ts, nt + 16 + 28, ntlen - 16 - 28 - 4, &resp,
	    &resplen, sbk, err, sizeof(err)) == 0);
	CHECK(resplen == ntlen && memcmp(resp, nt, ntlen) == 0);
	free(resp);
	smbauth_rc4(sbk, enc, 16, exported);
	copy = malloc(n);
	memcpy(copy, m, n);
	memset(copy + 72, 0, 16);
	hmac_md5_set_key(&hmac, 16, exported);
	hmac_md5_update(&hmac, neglen, neg);
	hmac_md5_update(&hmac, challen, chal);
	hmac_md5_update(&hmac, n, copy);
	hmac_md5_digest(&hmac, 16, mic);
	CHECK(memcmp(mic, m + 72, 16) == 0);
	free(copy);
}

/* The AV pair id in the NTLMv2 response's blob: its value, NULL when absent. */
static const uint8_t *
blob_av(const uint8_t *nt, size_t ntlen, uint16_t id, size_t *len)
{
	size_t off = 16 + 28;

	while (off + 4 <= ntlen) {
		*len = le_get16(nt + off + 2);
		if (le_get16(nt + off) == id)
			return nt + off + 4;
		if (le_get16(nt + off) == 0)
			return NULL;
		off += 4 + *len;
	}
	return NULL;
}

static void
test_ntlm_client(void)
{
	struct cred	 cr;
	struct smbauth_ntlm *a;
	uint8_t		 chal[256], *neg = NULL, *auth = NULL, exported[16], key[16], sig[16], sign[16], seal[16];
	const uint8_t	*nt, *v;
	size_t		 neglen, challen, authlen, ntlen, vlen;
	uint64_t	 ts;
	char		 err[256];
	struct arcfour_ctx rc4;

	memset(&cr, 0, sizeof(cr));
	strcpy(cr.user, "User");
	strcpy(cr.domain, "Domain");
	strcpy(cr.password, "Password");
	for (ts = 0; ts <= 0x01d9000000000000ULL; ts += 0x01d9000000000000ULL) {
		CHECK(smbauth_ntlm_new(&a, &cr, "cifs/host.example", &neg, &neglen, err, sizeof(err)) == 0);
		CHECK(neglen == 40 && le_get32(neg + 8) == 1 && le_get32(neg + 12) == 0xe2888215u);
		smbauth_ntlm_fix_random(a, cchal, random_key, 0);
		CHECK(smbauth_ntlm_mic(a, 0, plaintext, 4, sig) == -1);
		CHECK(smbauth_ntlm_session_key(a, key) == -1);
		challen = make_challenge(chal, ts);
		CHECK(smbauth_ntlm_authenticate(a, chal, challen, &auth, &authlen, err, sizeof(err)) == 0);
		server_check(neg, neglen, chal, challen, auth, authlen, ts, exported);
		CHECK(memcmp(exported, random_key, 16) == 0);
		CHECK(le_get32(auth + 60) == (VEC_FLAGS & 0xe2888215u));
		nt = auth_field(auth, authlen, 1, &ntlen);
		CHECK(nt != NULL && (v = blob_av(nt, ntlen, 6, &vlen)) != NULL && vlen == 4 && le_get32(v) == 2);
		CHECK(nt != NULL && (v = blob_av(nt, ntlen, 9, &vlen)) != NULL && vlen == 34 &&
		    memcmp(v, "c\0i\0f\0s\0/\0h\0", 12) == 0);
		CHECK(nt != NULL && blob_av(nt, ntlen, 2, &vlen) != NULL && blob_av(nt, ntlen, 1, &vlen) != NULL);
		CHECK(smbauth_ntlm_session_key(a, key) == 0 && memcmp(key, random_key, 16) == 0);
		/* mechListMIC: seq 0, fresh handle, client keys (4.2.4.4's keys) or the server's. */
		CHECK(smbauth_ntlm_mic(a, 0, plaintext, sizeof(plaintext), sig) == 0);
		arcfour_set_key(&rc4, 16, sealkey_vec);
		smbauth_ntlm_sign(&rc4, 1, signkey_vec, 0, plaintext, sizeof(plaintext), key);
		CHECK(memcmp(sig, key, 16) == 0);
		smbauth_ntlm_keys(random_key, VEC_FLAGS, 1, sign, seal);
		CHECK(smbauth_ntlm_mic(a, 1, plaintext, sizeof(plaintext), sig) == 0);
		arcfour_set_key(&rc4, 16, seal);
		smbauth_ntlm_sign(&rc4, 1, sign, 0, plaintext, sizeof(plaintext), key);
		CHECK(memcmp(sig, key, 16) == 0);
		free(neg);
		free(auth);
		smbauth_ntlm_free(a);
	}
}

static void
test_challenge_malformed(void)
{
	struct smbauth_challenge c;
	uint8_t	 chal[256], bad[256];
	size_t	 n, i;
	char	 err[256];

	n = make_challenge(chal, 0x01d9000000000000ULL);
	CHECK(smbauth_ntlm_challenge_parse(chal, n, &c, err, sizeof(err)) == 0);
	CHECK(c.has_timestamp && c.timestamp == 0x01d9000000000000ULL && c.flags == VEC_FLAGS);
	CHECK(memcmp(c.challenge, schal, 8) == 0 && c.infolen == AV_LEN + 12);
	CHECK(smbauth_parse_challenge(chal, n, err, sizeof(err)) == 0);
	for (i = 0; i < n; i++)
		CHECK(smbauth_parse_challenge(chal, i, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	le_put32(bad + 44, 0xffffffffu);		/* TargetInfo offset past the end */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[40] = bad[41] = 0xff;		/* TargetInfo length past the end */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	le_put32(bad + 16, (uint32_t)n - 2);	/* TargetName past the end */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[68 + 2] = 0xff;			/* first AV pair's length past TargetInfo */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[68 + 32 + 2] = 4;			/* MsvAvTimestamp of 4 bytes */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[40] = bad[42] = (uint8_t)(bad[40] - 4);	/* no MsvAvEOL */
	CHECK(smbauth_parse_challenge(bad, n - 4, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[8] = 3;				/* MessageType */
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
	memcpy(bad, chal, n);
	bad[0] = 'X';
	CHECK(smbauth_parse_challenge(bad, n, err, sizeof(err)) == -1);
}

static void
test_spnego(void)
{
	struct smbauth_negresp	 r, d;
	struct smbauth_neginit	 in;
	uint8_t			 big[70000], *out = NULL;
	const uint8_t		*mt;
	size_t			 outlen, mtlen, i;
	char			 err[256];
	/* A NegTokenResp as Samba sends it: accept-incomplete, NTLMSSP, a 3-byte token. */
	static const uint8_t samba[] = { 0xa1, 0x1c, 0x30, 0x1a, 0xa0, 0x03, 0x0a, 0x01, 0x01, 0xa1, 0x0c, 0x06, 0x0a,
	    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa2, 0x05, 0x04, 0x03, 'a', 'b', 'c' };
	uint8_t bad[sizeof(samba) + 8];

	memset(big, 'x', sizeof(big));
	CHECK(smbauth_spnego_parse_resp(samba, sizeof(samba), &d, err, sizeof(err)) == 0);
	CHECK(d.negstate == 1 && d.mechlen == 10 && d.tokenlen == 3 && memcmp(d.token, "abc", 3) == 0 && !d.mic);
	for (i = 0; i < sizeof(samba); i++)
		CHECK(smbauth_parse_negtokenresp(samba, i, err, sizeof(err)) == -1);
	memcpy(bad, samba, sizeof(samba));
	bad[sizeof(samba)] = 0;			/* a byte after the token */
	CHECK(smbauth_parse_negtokenresp(bad, sizeof(samba) + 1, err, sizeof(err)) == -1);
	memcpy(bad, samba, sizeof(samba));
	bad[8] = 7;				/* negState 7 */
	CHECK(smbauth_parse_negtokenresp(bad, sizeof(samba), err, sizeof(err)) == -1);
	memcpy(bad, samba, sizeof(samba));
	bad[23] = 0xa4;				/* unknown field */
	CHECK(smbauth_parse_negtokenresp(bad, sizeof(samba), err, sizeof(err)) == -1);
	memcpy(bad, samba, sizeof(samba));
	bad[4] = 0xa2;				/* fields out of order */
	CHECK(smbauth_parse_negtokenresp(bad, sizeof(samba), err, sizeof(err)) == -1);
	memcpy(bad, (const uint8_t[]){ 0xa1, 0x84, 0xff, 0xff, 0xff, 0xf0, 0x30, 0x00 }, 8);
	CHECK(smbauth_parse_negtokenresp(bad, 8, err, sizeof(err)) == -1);	/* huge length */
	memcpy(bad, (const uint8_t[]){ 0xa1, 0x85, 0, 0, 0, 0, 2, 0x30, 0x00 }, 9);
	CHECK(smbauth_parse_negtokenresp(bad, 9, err, sizeof(err)) == -1);	/* 5 length octets */
	memcpy(bad, (const uint8_t[]){ 0xa1, 0x80, 0x30, 0x00, 0, 0 }, 6);
	CHECK(smbauth_parse_negtokenresp(bad, 6, err, sizeof(err)) == -1);	/* indefinite */
	memcpy(bad, (const uint8_t[]){ 0xa1, 0x81, 0x02, 0x30, 0x00 }, 5);
	CHECK(smbauth_parse_negtokenresp(bad, 5, err, sizeof(err)) == 0);	/* BER long form of 2 */

	/* Round trips, short and long-form lengths. */
	r = (struct smbauth_negresp){ 0, smbauth_oid_ntlmssp, 10, big, 300, big + 1, 16 };
	CHECK(smbauth_spnego_resp(&r, &out, &outlen, err, sizeof(err)) == 0);
	CHECK(smbauth_spnego_parse_resp(out, outlen, &d, err, sizeof(err)) == 0);
	CHECK(d.negstate == 0 && d.mechlen == 10 && memcmp(d.mech, smbauth_oid_ntlmssp, 10) == 0);
	CHECK(d.tokenlen == 300 && d.miclen == 16 && memcmp(d.mic, big, 16) == 0);
	free(out);
	r = (struct smbauth_negresp){ -1, NULL, 0, big, 60000, NULL, 0 };
	CHECK(smbauth_spnego_resp(&r, &out, &outlen, err, sizeof(err)) == 0);
	CHECK(smbauth_spnego_parse_resp(out, outlen, &d, err, sizeof(err)) == 0);
	CHECK(d.negstate == -1 && d.mech == NULL && d.tokenlen == 60000 && d.mic == NULL);
	free(out);
	r.tokenlen = sizeof(big);
	CHECK(smbauth_spnego_resp(&r, &out, &outlen, err, sizeof(err)) == -1 && out == NULL);
	CHECK(smbauth_spnego_init(big, 40, &out, &outlen, err, sizeof(err)) == 0);
	CHECK(smbauth_spnego_parse_init(out, outlen, &in, err, sizeof(err)) == 0);
	mt = smbauth_spnego_mechtypes(&mtlen);
	CHECK(in.mechtypeslen == mtlen && memcmp(in.mechtypes, mt, mtlen) == 0);
	CHECK(in.tokenlen == 40 && in.token == out + outlen - 40);
	CHECK(out[0] == 0x60 && out[1] == outlen - 2);
	for (i = 0; i < outlen; i++)
		CHECK(smbauth_spnego_parse_init(out, i, &in, err, sizeof(err)) == -1);
	free(out);
}

/* The server's NegTokenResp with negState st, supportedMech mech (NULL: none), token and mic (may be NULL). */
static uint8_t *
server_resp(int st, const uint8_t *mech, const uint8_t *tok, size_t toklen, const uint8_t *mic, size_t *len)
{
	struct smbauth_negresp r = { st, mech, mech ? 10 : 0, tok, toklen, mic, mic ? 16 : 0 };
	uint8_t	*out = NULL;
	char	 err[256];

	CHECK(smbauth_spnego_resp(&r, &out, len, err, sizeof(err)) == 0);
	return out;
}

/* The NTLMSSP signature of the mechTypes with seq 0 and a fresh handle: ExportedSessionKey key, flags. */
static void
mech_mic(const uint8_t key[16], uint32_t flags, int server, uint8_t sig[16])
{
	struct arcfour_ctx rc4;
	uint8_t		 sign[16], seal[16];
	const uint8_t	*mt;
	size_t		 mtlen;

	mt = smbauth_spnego_mechtypes(&mtlen);
	smbauth_ntlm_keys(key, flags, server, sign, seal);
	arcfour_set_key(&rc4, 16, seal);
	smbauth_ntlm_sign(&rc4, 1, sign, 0, mt, mtlen, sig);
}

/*
 * smbauth_start/step as smb2.c drives them, the server played here.  bad: 0 all well, 1 a wrong server
 * mechListMIC (logon_failure), 2 success where more processing was due, 3 the server picks another mechanism.
 */
static void
drive_ntlm(int bad)
{
	static const uint8_t krb5_oid[10] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0 };
	struct cred		 cr;
	struct smbauth		*a;
	struct smbauth_neginit	 in;
	struct smbauth_negresp	 r;
	uint8_t			 chal[256], *tok = NULL, *tok2 = NULL, *srv, *neg, exported[16], sig[16], key[64];
	size_t			 toklen, tok2len, srvlen, neglen, challen, keylen;
	enum rpc_fail		 why = RPC_FAIL_NONE;
	char			 err[256];

	memset(&cr, 0, sizeof(cr));
	cr.auth = CRED_AUTH_NTLM;
	strcpy(cr.user, "User");
	strcpy(cr.domain, "Domain");
	strcpy(cr.password, "Password");
	CHECK(smbauth_start(&a, &cr, "host.example", &tok, &toklen, err, sizeof(err), &why) == 0);
	CHECK_STR(smbauth_mech(a), "ntlm");
	CHECK(smbauth_spnego_parse_init(tok, toklen, &in, err, sizeof(err)) == 0);
	CHECK(in.token != NULL && in.tokenlen == 40);
	neg = malloc(in.tokenlen);
	memcpy(neg, in.token, in.tokenlen);
	neglen = in.tokenlen;
	free(tok);
	challen = make_challenge(chal, 0x01d9000000000000ULL);
	srv = server_resp(1, bad == 3 ? krb5_oid : smbauth_oid_ntlmssp, chal, challen, NULL, &srvlen);
	if (bad >= 2) {
		CHECK(smbauth_step(a, srv, srvlen, bad == 2, &tok2, &tok2len, err, sizeof(err), &why) == -1);
		CHECK(why == RPC_FAIL_PROTOCOL && tok2 == NULL);
		CHECK(smbauth_session_key(a, key, &keylen) == -1);
		goto done;
	}
	CHECK(smbauth_step(a, srv, srvlen, 0, &tok2, &tok2len, err, sizeof(err), &why) == 1);
	free(srv);
	CHECK(smbauth_spnego_parse_resp(tok2, tok2len, &r, err, sizeof(err)) == 0);
	CHECK(r.negstate == -1 && r.mech == NULL && r.token != NULL && r.mic != NULL && r.miclen == 16);
	server_check(neg, neglen, chal, challen, r.token, r.tokenlen, 0x01d9000000000000ULL, exported);
	/* Our mechListMIC verifies with the client keys, as the server checks it. */
	mech_mic(exported, le_get32(r.token + 60), 0, sig);
	CHECK(memcmp(sig, r.mic, 16) == 0);
	CHECK(smbauth_session_key(a, key, &keylen) == -1);
	mech_mic(exported, le_get32(r.token + 60), 1, sig);
	sig[5] ^= bad;
	srv = server_resp(0, NULL, NULL, 0, sig, &srvlen);
	free(tok2);
	tok2 = NULL;
	if (bad == 1) {
		CHECK(smbauth_step(a, srv, srvlen, 1, &tok2, &tok2len, err, sizeof(err), &why) == -1);
		CHECK(why == RPC_FAIL_LOGON && strstr(err, "mechListMIC") != NULL);
		CHECK(smbauth_session_key(a, key, &keylen) == -1);
	} else {
		CHECK(smbauth_step(a, srv, srvlen, 1, &tok2, &tok2len, err, sizeof(err), &why) == 0 && tok2 == NULL);
		CHECK(smbauth_session_key(a, key, &keylen) == 0 && keylen == 16 && memcmp(key, exported, 16) == 0);
		/* Nothing more is expected. */
		CHECK(smbauth_step(a, srv, srvlen, 1, &tok2, &tok2len, err, sizeof(err), &why) == -1);
	}
done:
	free(srv);
	free(neg);
	smbauth_free(a);
}

/* kerberos: no host name, or a realm whose KDC refuses at once, fail with reason kerberos; negotiate then
 * uses NTLM; a keytab set under negotiate has nothing to fall back on. */
static void
test_modes(void)
{
	char		 dir[] = "/tmp/dpf-test-smbauth-XXXXXX", conf[128], err[512];
	struct cred	 cr;
	struct smbauth	*a = NULL;
	uint8_t		*tok = NULL;
	size_t		 toklen;
	enum rpc_fail	 why = RPC_FAIL_NONE;
	FILE		*f;

	if (check_tmpdir(dir) == NULL) {
		CHECK(0);
		return;
	}
	snprintf(conf, sizeof(conf), "%s/krb5.conf", dir);
	CHECK((f = fopen(conf, "w")) != NULL);
	if (f != NULL) {
		fprintf(f, "[libdefaults]\n\tdefault_realm = TEST.REALM\n\tdns_lookup_kdc = false\n"
		    "\tdns_lookup_realm = false\n\tdns_canonicalize_hostname = false\n\trdns = false\n"
		    "[realms]\n\tTEST.REALM = {\n\t\tkdc = 127.101.0.250:9\n\t}\n");
		fclose(f);
	}
	setenv("KRB5_CONFIG", conf, 1);
	memset(&cr, 0, sizeof(cr));
	strcpy(cr.user, "User");
	strcpy(cr.domain, "test.realm");
	strcpy(cr.password, "Password");
	cr.auth = CRED_AUTH_KERBEROS;
	CHECK(smbauth_start(&a, &cr, NULL, &tok, &toklen, err, sizeof(err), &why) == -1);
	CHECK(why == RPC_FAIL_KERBEROS && a == NULL && tok == NULL);
	why = RPC_FAIL_NONE;
	CHECK(smbauth_start(&a, &cr, "host.test.realm", &tok, &toklen, err, sizeof(err), &why) == -1);
	CHECK(why == RPC_FAIL_KERBEROS && a == NULL && tok == NULL);
	CHECK(strstr(err, "User@TEST.REALM") != NULL && strstr(err, "cifs@host.test.realm") != NULL);
	CHECK(strstr(err, "KDC") != NULL);
	cr.auth = CRED_AUTH_NEGOTIATE;
	CHECK(smbauth_start(&a, &cr, "host.test.realm", &tok, &toklen, err, sizeof(err), &why) == 0);
	CHECK(a != NULL && tok != NULL && strcmp(smbauth_mech(a), "ntlm") == 0);
	smbauth_free(a);
	free(tok);
	tok = NULL;
	a = NULL;
	cr.password[0] = '\0';
	snprintf(cr.ccache, sizeof(cr.ccache), "FILE:%s/none", dir);
	why = RPC_FAIL_NONE;
	CHECK(smbauth_start(&a, &cr, "host.test.realm", &tok, &toklen, err, sizeof(err), &why) == -1);
	CHECK(why == RPC_FAIL_KERBEROS && a == NULL && tok == NULL);
	unsetenv("KRB5_CONFIG");
	CHECK(check_rmtree(dir) == 0);
}

int
main(void)
{
	test_vectors();
	test_ntlm_client();
	test_challenge_malformed();
	test_spnego();
	drive_ntlm(0);
	drive_ntlm(1);
	drive_ntlm(2);
	drive_ntlm(3);
	test_modes();
	return check_done("test_smbauth");
}
