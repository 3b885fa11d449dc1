/*
 * ntlm.c — NTLMv2 for dpfleet-tdsd's integrated logins (MS-NLMP; MS-TDS 2.2.6.4 carries the NEGOTIATE in
 * LOGIN7's SSPI field, 2.2.7.22 the CHALLENGE in an SSPI token, 2.2.6.8 the AUTHENTICATE in an SSPI message).
 * Called by tdsd.c (conn_sspi), the unit test test_ntlm.c (MS-NLMP 4.2.4's NTLMv2 vectors) and the fuzz
 * target.  Every message is untrusted bytes: each (Len, MaxLen, Offset) field is checked against the bytes
 * present before it is read.  The server never learns the password from the exchange: it recomputes
 * NTOWFv2 from the password it was configured with and the user and domain the client names, and compares
 * NTProofStr (MS-NLMP 3.3.2).  LM, NTLMv1 and anonymous responses are refused, as a hardened Windows does.
 */
#include "ntlm.h"

#include <nettle/hmac.h>
#include <nettle/md4.h>
#include <nettle/md5.h>
#include <nettle/memops.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const uint8_t signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };

#define NEGOTIATE_FIXED		32	/* up to the end of WorkstationFields */
#define CHALLENGE_FIXED		56	/* with Version */
#define AUTHENTICATE_FIXED	64	/* up to the end of NegotiateFlags; Version and MIC optional */
#define V2_CLIENT_FIXED		28	/* NTLMv2_CLIENT_CHALLENGE before its AvPairs */
#define NTLMV1_RESPONSE_LEN	24

/* AV_PAIR ids (MS-NLMP 2.2.2.1). */
#define AV_EOL			0
#define AV_NB_COMPUTER		1
#define AV_NB_DOMAIN		2
#define AV_DNS_COMPUTER		3
#define AV_DNS_DOMAIN		4
#define AV_TIMESTAMP		7

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

int
ntlm_is_ntlmssp(const uint8_t *p, size_t n)
{
	return n >= sizeof(signature) && memcmp(p, signature, sizeof(signature)) == 0;
}

/* The (Len, MaxLen, Offset) field at hdr: *off and *len of its bytes, inside p[0..n).  0, or -1 + err. */
static int
field(const uint8_t *p, size_t n, size_t hdr, const char *what, size_t *off, size_t *len, char *err,
    size_t errlen)
{
	*len = rd16(p + hdr);
	*off = rd32(p + hdr + 4);
	if (*len == 0)
		return 0;
	if (*off > n || *len > n - *off)
		return util_err(err, errlen, "NTLM: %s (%zu bytes at %zu) outside the %zu-byte message", what,
		    *len, *off, n);
	return 0;
}

/* Signature and MessageType of a message of at least fixed bytes.  0, or -1 + err. */
static int
header(const uint8_t *p, size_t n, size_t fixed, uint32_t type, const char *name, char *err, size_t errlen)
{
	if (!ntlm_is_ntlmssp(p, n))
		return util_err(err, errlen, "NTLM: %s without the NTLMSSP signature", name);
	if (n < fixed)
		return util_err(err, errlen, "NTLM: %s of %zu bytes, shorter than its %zu-byte header", name, n,
		    fixed);
	if (rd32(p + 8) != type)
		return util_err(err, errlen, "NTLM: MessageType %u where a %s (%u) was expected", rd32(p + 8),
		    name, type);
	return 0;
}

int
ntlm_negotiate_parse(const uint8_t *p, size_t n, uint32_t *flags, char *err, size_t errlen)
{
	size_t off, len;

	if (header(p, n, NEGOTIATE_FIXED, 1, "NEGOTIATE_MESSAGE", err, errlen) == -1 ||
	    field(p, n, 16, "DomainName", &off, &len, err, errlen) == -1 ||
	    field(p, n, 24, "Workstation", &off, &len, err, errlen) == -1)
		return -1;
	*flags = rd32(p + 12);
	return 0;
}

uint64_t
ntlm_filetime(time_t t)
{
	/* 11644473600 s from 1601-01-01 to 1970-01-01 */
	return ((uint64_t)t + 11644473600ULL) * 10000000ULL;
}

/* One AV_PAIR with a UTF-16LE value. */
static int
av_string(struct tds_buf *b, uint16_t id, const char *s)
{
	size_t units = tds_utf16_units(s, strlen(s));

	if (units > NTLM_NAME_UNITS)
		return -1;
	if (tds_put_u16le(b, id) == -1 || tds_put_u16le(b, (uint16_t)(units * 2)) == -1 ||
	    tds_put_ucs2(b, s, strlen(s)) == -1)
		return -1;
	return 0;
}

int
ntlm_challenge_build(struct tds_buf *b, uint32_t client_flags, const uint8_t challenge[NTLM_CHALLENGE_LEN],
    const struct ntlm_target *t)
{
	/* Version (MS-NLMP 2.2.2.10): 10.0 build 17763, NTLMSSP_REVISION_W2K3. */
	static const uint8_t version[8] = { 10, 0, 0x63, 0x45, 0, 0, 0, 0x0f };
	size_t	 start = b->len, name_units, info_off, info_len;
	uint32_t flags;

	name_units = tds_utf16_units(t->nb_domain, strlen(t->nb_domain));
	if (name_units > NTLM_NAME_UNITS)
		return -1;
	flags = NTLM_NEG_REQUEST_TARGET | NTLM_NEG_NTLM | NTLM_NEG_TARGET_DOMAIN | NTLM_NEG_TARGET_INFO |
	    NTLM_NEG_VERSION | (client_flags & (NTLM_NEG_UNICODE | NTLM_NEG_ALWAYS_SIGN | NTLM_NEG_ESS));
	if (!(client_flags & NTLM_NEG_UNICODE))
		flags |= NTLM_NEG_OEM;
	info_off = CHALLENGE_FIXED + name_units * 2;
	/* Header with TargetInfoFields' length patched in once the pairs are written. */
	if (tds_put_bytes(b, signature, sizeof(signature)) == -1 || tds_put_u32le(b, 2) == -1 ||
	    tds_put_u16le(b, (uint16_t)(name_units * 2)) == -1 || tds_put_u16le(b, (uint16_t)(name_units * 2)) == -1 ||
	    tds_put_u32le(b, CHALLENGE_FIXED) == -1 || tds_put_u32le(b, flags) == -1 ||
	    tds_put_bytes(b, challenge, NTLM_CHALLENGE_LEN) == -1 || tds_put_u64le(b, 0) == -1 ||
	    tds_put_u32le(b, 0) == -1 || tds_put_u32le(b, (uint32_t)info_off) == -1 ||
	    tds_put_bytes(b, version, sizeof(version)) == -1 ||
	    tds_put_ucs2(b, t->nb_domain, strlen(t->nb_domain)) == -1)
		return -1;
	if (av_string(b, AV_NB_DOMAIN, t->nb_domain) == -1 || av_string(b, AV_NB_COMPUTER, t->nb_computer) == -1 ||
	    av_string(b, AV_DNS_DOMAIN, t->dns_domain) == -1 ||
	    av_string(b, AV_DNS_COMPUTER, t->dns_computer) == -1 ||
	    tds_put_u16le(b, AV_TIMESTAMP) == -1 || tds_put_u16le(b, 8) == -1 ||
	    tds_put_u64le(b, t->filetime) == -1 || tds_put_u16le(b, AV_EOL) == -1 || tds_put_u16le(b, 0) == -1)
		return -1;
	info_len = b->len - start - info_off;
	if (info_len > UINT16_MAX)
		return -1;
	b->data[start + 40] = (uint8_t)(info_len & 0xff);
	b->data[start + 41] = (uint8_t)(info_len >> 8);
	b->data[start + 42] = b->data[start + 40];
	b->data[start + 43] = b->data[start + 41];
	return 0;
}

/* One name field of an AUTHENTICATE_MESSAGE into dst (NTLM_NAME_MAX bytes) as UTF-8.  0, or -1 + err. */
static int
auth_name(const uint8_t *p, size_t n, size_t hdr, int unicode, const char *what, char *dst, char *err,
    size_t errlen)
{
	size_t	 off, len, i, outlen;
	char	*s;

	dst[0] = '\0';
	if (field(p, n, hdr, what, &off, &len, err, errlen) == -1)
		return -1;
	if (len == 0)
		return 0;
	if (!unicode) {
		if (len >= NTLM_NAME_MAX)
			return util_err(err, errlen, "NTLM: %s longer than %d characters", what, NTLM_NAME_UNITS);
		for (i = 0; i < len; i++) {
			if (p[off + i] < 0x20 || p[off + i] > 0x7e)
				return util_err(err, errlen, "NTLM: %s in OEM characters is not ASCII", what);
			dst[i] = (char)p[off + i];
		}
		dst[len] = '\0';
		return 0;
	}
	if (len > NTLM_NAME_UNITS * 2)
		return util_err(err, errlen, "NTLM: %s longer than %d characters", what, NTLM_NAME_UNITS);
	if (tds_utf16_to_utf8(p + off, len, &s, &outlen, err, errlen) == -1)
		return -1;
	memcpy(dst, s, outlen + 1);	/* 128 units: at most 384 bytes + NUL */
	free(s);
	return 0;
}

int
ntlm_authenticate_parse(const uint8_t *p, size_t n, struct ntlm_authenticate *a, char *err, size_t errlen)
{
	size_t off, len;
	int unicode;

	memset(a, 0, sizeof(*a));
	if (header(p, n, AUTHENTICATE_FIXED, 3, "AUTHENTICATE_MESSAGE", err, errlen) == -1)
		return -1;
	a->flags = rd32(p + 60);
	unicode = (a->flags & NTLM_NEG_UNICODE) != 0;
	if (field(p, n, 12, "LmChallengeResponse", &off, &len, err, errlen) == -1)
		return -1;
	a->lm = p + (len ? off : 0);
	a->lmlen = len;
	if (field(p, n, 20, "NtChallengeResponse", &off, &len, err, errlen) == -1)
		return -1;
	a->nt = p + (len ? off : 0);
	a->ntlen = len;
	if (auth_name(p, n, 28, unicode, "DomainName", a->domain, err, errlen) == -1 ||
	    auth_name(p, n, 36, unicode, "UserName", a->user, err, errlen) == -1 ||
	    auth_name(p, n, 44, unicode, "Workstation", a->workstation, err, errlen) == -1 ||
	    field(p, n, 52, "EncryptedRandomSessionKey", &off, &len, err, errlen) == -1)
		return -1;
	return 0;
}

int
ntlm_ntowfv2(const char *password, const char *user, const char *domain, uint8_t key[NTLM_KEY_LEN], char *err,
    size_t errlen)
{
	struct md4_ctx		 md4;
	struct hmac_md5_ctx	 hmac;
	struct tds_buf		 b;
	uint8_t			 nt[MD4_DIGEST_SIZE];
	char			 upper[NTLM_NAME_MAX];
	size_t			 i, ulen = strlen(user);
	int			 rc = -1;

	if (ulen >= sizeof(upper) || strlen(domain) >= NTLM_NAME_MAX || strlen(password) >= NTLM_NAME_MAX)
		return util_err(err, errlen, "NTLM: user, domain or password too long");
	for (i = 0; i <= ulen; i++)
		upper[i] = (user[i] >= 'a' && user[i] <= 'z') ? (char)(user[i] - 'a' + 'A') : user[i];
	tds_buf_init(&b, 4 * NTLM_NAME_MAX);
	if (tds_put_ucs2(&b, password, strlen(password)) == -1) {
		util_err(err, errlen, "NTLM: out of memory");
		goto done;
	}
	md4_init(&md4);
	md4_update(&md4, b.len, b.data);
	md4_digest(&md4, sizeof(nt), nt);
	explicit_bzero(b.data, b.len);
	tds_buf_reset(&b);
	if (tds_put_ucs2(&b, upper, ulen) == -1 || tds_put_ucs2(&b, domain, strlen(domain)) == -1) {
		util_err(err, errlen, "NTLM: out of memory");
		goto done;
	}
	hmac_md5_set_key(&hmac, sizeof(nt), nt);
	hmac_md5_update(&hmac, b.len, b.data);
	hmac_md5_digest(&hmac, NTLM_KEY_LEN, key);
	rc = 0;
done:
	if (b.data != NULL)
		explicit_bzero(b.data, b.alloc);
	tds_buf_free(&b);
	explicit_bzero(nt, sizeof(nt));
	explicit_bzero(&md4, sizeof(md4));
	explicit_bzero(&hmac, sizeof(hmac));
	explicit_bzero(upper, sizeof(upper));
	return rc;
}

int
ntlm_v2_verify(const uint8_t key[NTLM_KEY_LEN], const uint8_t challenge[NTLM_CHALLENGE_LEN], const uint8_t *nt,
    size_t ntlen, char *err, size_t errlen)
{
	struct hmac_md5_ctx	 hmac;
	uint8_t			 proof[MD5_DIGEST_SIZE];
	const uint8_t		*blob;
	int			 same;

	if (ntlen == 0)
		return util_err(err, errlen, "NTLM: empty NtChallengeResponse (anonymous): not accepted");
	if (ntlen == NTLMV1_RESPONSE_LEN)
		return util_err(err, errlen, "NTLM: a 24-byte NTLMv1 response: not accepted (NTLMv2 only)");
	if (ntlen < MD5_DIGEST_SIZE + V2_CLIENT_FIXED + 4)
		return util_err(err, errlen, "NTLM: NtChallengeResponse of %zu bytes is not an NTLMv2 response",
		    ntlen);
	blob = nt + MD5_DIGEST_SIZE;
	if (blob[0] != 1 || blob[1] != 1)
		return util_err(err, errlen, "NTLM: NTLMv2_CLIENT_CHALLENGE RespType %u HiRespType %u, not 1 and 1",
		    blob[0], blob[1]);
	hmac_md5_set_key(&hmac, NTLM_KEY_LEN, key);
	hmac_md5_update(&hmac, NTLM_CHALLENGE_LEN, challenge);
	hmac_md5_update(&hmac, ntlen - MD5_DIGEST_SIZE, blob);
	hmac_md5_digest(&hmac, sizeof(proof), proof);
	same = memeql_sec(proof, nt, sizeof(proof));
	explicit_bzero(proof, sizeof(proof));
	explicit_bzero(&hmac, sizeof(hmac));
	return same ? 1 : 0;
}
