/*
 * test_ntlm.c — unit tests for dpfleet-tdsd's NTLMv2 verifier (ntlm.c) against MS-NLMP 4.2.4 ("NTLMv2
 * Authentication"): the common values of 4.2.1 (user "User", domain "Domain", password "Password", server
 * challenge 0123456789abcdef, client challenge aa..aa, time 0), NTOWFv2 of 4.2.4.1.1, NTProofStr of
 * 4.2.4.2.2, and the AUTHENTICATE_MESSAGE of 4.2.4.3 parsed and verified.  Also: a wrong password, challenge,
 * user or a changed blob byte fails; NTLMv1, anonymous and malformed responses are refused; every truncation
 * of each message is rejected or read within its bytes (ASan); the CHALLENGE_MESSAGE we build reads back as
 * FreeTDS's src/tds/challenge.c reads one (TargetName offset 56, TargetInfo ending in MsvAvEOL).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ntlm.h"

static const uint8_t server_challenge[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };

/* MS-NLMP 4.2.4.1.1 NTOWFv2("Password", "User", "Domain"). */
static const uint8_t ntowfv2_vector[16] = {
	0x0c, 0x86, 0x8a, 0x40, 0x3b, 0xfd, 0x7a, 0x93, 0xa3, 0x00, 0x1e, 0xf2, 0x2e, 0xf0, 0x2e, 0x3f
};

/* MS-NLMP 4.2.4.3: the AUTHENTICATE_MESSAGE (NTLMv2, Unicode names, 84-byte NTLMv2 response). */
static const uint8_t authenticate_vector[] = {
	0x4e, 0x54, 0x4c, 0x4d, 0x53, 0x53, 0x50, 0x00, 0x03, 0x00, 0x00, 0x00, 0x18, 0x00, 0x18, 0x00,
	0x6c, 0x00, 0x00, 0x00, 0x54, 0x00, 0x54, 0x00, 0x84, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x0c, 0x00,
	0x48, 0x00, 0x00, 0x00, 0x08, 0x00, 0x08, 0x00, 0x54, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00,
	0x5c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x10, 0x00, 0xd8, 0x00, 0x00, 0x00, 0x35, 0x82, 0x88, 0xe2,
	0x05, 0x01, 0x28, 0x0a, 0x00, 0x00, 0x00, 0x0f, 0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00,
	0x69, 0x00, 0x6e, 0x00, 0x55, 0x00, 0x73, 0x00, 0x65, 0x00, 0x72, 0x00, 0x43, 0x00, 0x4f, 0x00,
	0x4d, 0x00, 0x50, 0x00, 0x55, 0x00, 0x54, 0x00, 0x45, 0x00, 0x52, 0x00, 0x86, 0xc3, 0x50, 0x97,
	0xac, 0x9c, 0xec, 0x10, 0x25, 0x54, 0x76, 0x4a, 0x57, 0xcc, 0xcc, 0x19, 0xaa, 0xaa, 0xaa, 0xaa,
	0xaa, 0xaa, 0xaa, 0xaa, 0x68, 0xcd, 0x0a, 0xb8, 0x51, 0xe5, 0x1c, 0x96, 0xaa, 0xbc, 0x92, 0x7b,
	0xeb, 0xef, 0x6a, 0x1c, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0x00, 0x00, 0x00, 0x00,
	0x02, 0x00, 0x0c, 0x00, 0x44, 0x00, 0x6f, 0x00, 0x6d, 0x00, 0x61, 0x00, 0x69, 0x00, 0x6e, 0x00,
	0x01, 0x00, 0x0c, 0x00, 0x53, 0x00, 0x65, 0x00, 0x72, 0x00, 0x76, 0x00, 0x65, 0x00, 0x72, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc5, 0xda, 0xd2, 0x54, 0x4f, 0xc9, 0x79, 0x90,
	0x94, 0xce, 0x1c, 0xe9, 0x0b, 0xc9, 0xd0, 0x3e
};

/* A NEGOTIATE_MESSAGE as FreeTDS 1.3 builds it (src/tds/challenge.c, tds_ntlm_get_auth): flags 0x08b201,
 * workstation "HOST" at 40, domain "CONTOSO" after it, OEM. */
static const uint8_t negotiate_freetds[] = {
	'N', 'T', 'L', 'M', 'S', 'S', 'P', 0, 1, 0, 0, 0, 0x01, 0xb2, 0x08, 0x00,
	7, 0, 7, 0, 44, 0, 0, 0, 4, 0, 4, 0, 40, 0, 0, 0,
	0x05, 0x01, 0x28, 0x0a, 0, 0, 0, 0x0f, 'H', 'O', 'S', 'T', 'C', 'O', 'N', 'T', 'O', 'S', 'O'
};

/* The NT response of the 4.2.4.3 message, verified with password pw, challenge ch. */
static int
verify_vector(const char *pw, const char *user, const uint8_t ch[8])
{
	struct ntlm_authenticate a;
	uint8_t	 key[16];
	char	 err[256];

	if (ntlm_authenticate_parse(authenticate_vector, sizeof(authenticate_vector), &a, err, sizeof(err)) == -1 ||
	    ntlm_ntowfv2(pw, user, a.domain, key, err, sizeof(err)) == -1)
		return -2;
	return ntlm_v2_verify(key, ch, a.nt, a.ntlen, err, sizeof(err));
}

static void
test_vectors(void)
{
	struct ntlm_authenticate a;
	uint8_t	 key[16], other[8], blob[sizeof(authenticate_vector)];
	char	 err[256];

	CHECK(ntlm_ntowfv2("Password", "User", "Domain", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vector, 16) == 0);
	/* The user is upper-cased, the domain is not (MS-NLMP 3.3.2). */
	CHECK(ntlm_ntowfv2("Password", "user", "Domain", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vector, 16) == 0);
	CHECK(ntlm_ntowfv2("Password", "User", "DOMAIN", key, err, sizeof(err)) == 0);
	CHECK(memcmp(key, ntowfv2_vector, 16) != 0);

	CHECK(ntlm_authenticate_parse(authenticate_vector, sizeof(authenticate_vector), &a, err, sizeof(err)) == 0);
	CHECK_STR(a.domain, "Domain");
	CHECK_STR(a.user, "User");
	CHECK_STR(a.workstation, "COMPUTER");
	CHECK(a.flags == 0xe2888235u);
	CHECK(a.ntlen == 84 && a.lmlen == 24);
	CHECK(a.nt == authenticate_vector + 0x84);
	/* NTProofStr of 4.2.4.2.2 is the response's first 16 bytes. */
	CHECK(a.nt[0] == 0x68 && a.nt[15] == 0x1c);

	CHECK(verify_vector("Password", "User", server_challenge) == 1);
	CHECK(verify_vector("password", "User", server_challenge) == 0);
	CHECK(verify_vector("Password", "Other", server_challenge) == 0);
	memcpy(other, server_challenge, 8);
	other[7] ^= 1;
	CHECK(verify_vector("Password", "User", other) == 0);

	/* One changed byte of the client blob (its timestamp) fails. */
	memcpy(blob, authenticate_vector, sizeof(blob));
	blob[0x84 + 16 + 8] ^= 0x01;
	CHECK(ntlm_authenticate_parse(blob, sizeof(blob), &a, err, sizeof(err)) == 0);
	CHECK(ntlm_ntowfv2("Password", "User", "Domain", key, err, sizeof(err)) == 0);
	CHECK(ntlm_v2_verify(key, server_challenge, a.nt, a.ntlen, err, sizeof(err)) == 0);
}

static void
test_refused(void)
{
	uint8_t	 key[16], resp[64];
	char	 err[256];

	memcpy(key, ntowfv2_vector, 16);
	memset(resp, 0, sizeof(resp));
	CHECK(ntlm_v2_verify(key, server_challenge, resp, 0, err, sizeof(err)) == -1);
	CHECK(strstr(err, "anonymous") != NULL);
	CHECK(ntlm_v2_verify(key, server_challenge, resp, 24, err, sizeof(err)) == -1);
	CHECK(strstr(err, "NTLMv1") != NULL);
	CHECK(ntlm_v2_verify(key, server_challenge, resp, 40, err, sizeof(err)) == -1);
	resp[16] = 2;
	resp[17] = 1;
	CHECK(ntlm_v2_verify(key, server_challenge, resp, 64, err, sizeof(err)) == -1);
	CHECK(strstr(err, "RespType") != NULL);
}

/* Every prefix of msg, copied to a buffer of exactly that size, fails or parses within it. */
static void
test_truncations(void)
{
	struct ntlm_authenticate a;
	uint32_t flags;
	uint8_t	*p;
	char	 err[256];
	size_t	 i;

	for (i = 0; i < sizeof(authenticate_vector); i++) {
		if ((p = malloc(i ? i : 1)) == NULL)
			abort();
		memcpy(p, authenticate_vector, i);
		CHECK(ntlm_authenticate_parse(p, i, &a, err, sizeof(err)) == -1);
		free(p);
	}
	for (i = 0; i < sizeof(negotiate_freetds); i++) {
		if ((p = malloc(i ? i : 1)) == NULL)
			abort();
		memcpy(p, negotiate_freetds, i);
		CHECK(ntlm_negotiate_parse(p, i, &flags, err, sizeof(err)) == -1);
		free(p);
	}
	CHECK(ntlm_negotiate_parse(negotiate_freetds, sizeof(negotiate_freetds), &flags, err, sizeof(err)) == 0);
	CHECK(flags == 0x0008b201u);
	/* A NEGOTIATE where an AUTHENTICATE is expected, and the reverse. */
	CHECK(ntlm_authenticate_parse(negotiate_freetds, sizeof(negotiate_freetds), &a, err, sizeof(err)) == -1);
	CHECK(ntlm_negotiate_parse(authenticate_vector, sizeof(authenticate_vector), &flags, err, sizeof(err)) == -1);
	CHECK(!ntlm_is_ntlmssp((const uint8_t *)"\x60\x82\x01\x00", 4));
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) | ((uint32_t)rd16(p + 2) << 16);
}

/* Our CHALLENGE_MESSAGE read back field by field. */
static void
test_challenge(void)
{
	const struct ntlm_target t = { "CONTOSO", "TDSD", "contoso.test", "tdsd.contoso.test",
	    ntlm_filetime(1700000000) };
	struct tds_buf b;
	uint32_t off, len, pos, ids = 0;
	uint64_t ts = 0;

	tds_buf_init(&b, 4096);
	CHECK(ntlm_challenge_build(&b, 0x0008b201u, server_challenge, &t) == 0);
	CHECK(ntlm_is_ntlmssp(b.data, b.len) && rd32(b.data + 8) == 2);
	CHECK(rd16(b.data + 12) == 14 && rd32(b.data + 16) == 56);	/* TargetName "CONTOSO" at 56 */
	CHECK(memcmp(b.data + 56, "C\0O\0N\0T\0O\0S\0O\0", 14) == 0);
	CHECK(memcmp(b.data + 24, server_challenge, 8) == 0);
	CHECK((rd32(b.data + 20) & (NTLM_NEG_UNICODE | NTLM_NEG_TARGET_INFO | NTLM_NEG_ESS)) ==
	    (NTLM_NEG_UNICODE | NTLM_NEG_TARGET_INFO | NTLM_NEG_ESS));
	len = rd16(b.data + 40);
	off = rd32(b.data + 44);
	CHECK(rd16(b.data + 42) == len && off == 70 && off + len == b.len);
	for (pos = off; pos + 4 <= off + len; pos += 4 + rd16(b.data + pos + 2)) {
		ids |= 1u << rd16(b.data + pos);
		if (rd16(b.data + pos) == 7 && rd16(b.data + pos + 2) == 8)
			ts = (uint64_t)rd32(b.data + pos + 4) | ((uint64_t)rd32(b.data + pos + 8) << 32);
		if (rd16(b.data + pos) == 0)
			break;
	}
	CHECK(ids == ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 7)));
	CHECK(pos + 4 == b.len && rd32(b.data + b.len - 4) == 0);	/* MsvAvEOL last, as FreeTDS checks */
	CHECK(ts == 116444736000000000ULL + 17000000000000000ULL);
	/* The cap is honoured. */
	tds_buf_free(&b);
	tds_buf_init(&b, 60);
	CHECK(ntlm_challenge_build(&b, 0, server_challenge, &t) == -1);
	tds_buf_free(&b);
}

int
main(void)
{
	test_vectors();
	test_refused();
	test_truncations();
	test_challenge();
	return check_done("test_ntlm");
}
