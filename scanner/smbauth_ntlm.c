/*
 * smbauth_ntlm.c — NTLMv2 as a client (MS-NLMP), for smbauth.c's SESSION_SETUP tokens inside SPNEGO: the
 * NEGOTIATE_MESSAGE, the parse of the server's CHALLENGE_MESSAGE (every field and AV pair bounds-checked),
 * and the AUTHENTICATE_MESSAGE with an NTLMv2 response, key exchange (a random ExportedSessionKey sent RC4'd
 * under the SessionBaseKey) and a MIC over the three messages (MS-NLMP 3.1.5.1.2).  The signing and sealing
 * keys it derives serve only SPNEGO's mechListMIC; SMB2 signs with its own keys from ExportedSessionKey.
 * Crypto is nettle's.  Also called by tests/unit/test_smbauth.c (MS-NLMP 4.2.4's vectors) and the fuzz
 * target (smbauth_parse_challenge).
 *
 * Only NTLMv2 with extended session security and Unicode is spoken; a server that offers neither is refused.
 * The password is reduced to NTOWFv2 when the context is made and never kept; every secret buffer is wiped
 * with explicit_bzero before it is freed.
 */
#include "le.h"
#include "smbauth_int.h"

#include <nettle/hmac.h>
#include <nettle/md4.h>
#include <nettle/md5.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "utf.h"
#include "util.h"

static const uint8_t signature[8] = { 'N', 'T', 'L', 'M', 'S', 'S', 'P', 0 };
/* VERSION (MS-NLMP 2.2.2.10): 10.0 build 17763, NTLMSSP_REVISION_W2K3. */
static const uint8_t version[8] = { 10, 0, 0x63, 0x45, 0, 0, 0, 0x0f };

#define CLIENT_FLAGS	(NTLM_NEG_UNICODE | NTLM_NEG_REQUEST_TARGET | NTLM_NEG_SIGN | NTLM_NEG_NTLM | \
	NTLM_NEG_ALWAYS_SIGN | NTLM_NEG_ESS | NTLM_NEG_TARGET_INFO | NTLM_NEG_VERSION | NTLM_NEG_128 | \
	NTLM_NEG_KEY_EXCH | NTLM_NEG_56)

#define NEGOTIATE_LEN		40	/* with Version, no domain or workstation */
#define CHALLENGE_FIXED		48	/* up to the end of TargetInfoFields; Version is optional */
#define AUTH_HDR		88	/* fixed part with Version and MIC */
#define AUTH_MIC_OFF		72
#define AUTH_FIELDS		6	/* Lm, Nt, Domain, User, Workstation, EncryptedRandomSessionKey */
#define V2_TEMP_FIXED		28	/* NTLMv2_CLIENT_CHALLENGE before its AvPairs */
#define FILETIME_1970		11644473600ULL	/* seconds from 1601-01-01 to 1970-01-01 */

/* AV_PAIR ids (MS-NLMP 2.2.2.1). */
#define AV_EOL			0x0000
#define AV_FLAGS		0x0006
#define AV_TIMESTAMP		0x0007
#define AV_TARGET_NAME		0x0009
#define AV_CHANNEL_BINDINGS	0x000a
#define AV_FLAG_MIC		0x00000002u

struct smbauth_ntlm {
	uint8_t		 ntowf[SMBAUTH_NTLM_KEY_LEN];
	uint8_t		*domain16, *user16, *target16;	/* UTF-16LE, malloc'd (target16 may be NULL) */
	size_t		 domainlen, userlen, targetlen;
	uint8_t		*neg;			/* our NEGOTIATE_MESSAGE, kept for the MIC */
	size_t		 neglen;
	int		 fixed;			/* tests: smbauth_ntlm_fix_random */
	uint8_t		 fix_cchal[SMBAUTH_NTLM_CHAL_LEN], fix_exported[SMBAUTH_NTLM_KEY_LEN];
	uint64_t	 fix_now;
	int		 keyed;			/* the keys below are set */
	uint32_t	 flags;			/* as sent in the AUTHENTICATE_MESSAGE */
	uint8_t		 exported[SMBAUTH_NTLM_KEY_LEN];
	uint8_t		 csign[SMBAUTH_NTLM_KEY_LEN], cseal[SMBAUTH_NTLM_KEY_LEN];
	uint8_t		 ssign[SMBAUTH_NTLM_KEY_LEN], sseal[SMBAUTH_NTLM_KEY_LEN];
};

/*
 * Upper case of one UTF-16 unit as NTOWFv2 wants it for the user name (MS-NLMP 3.3.2, UpperCase): ASCII,
 * Latin-1, Latin Extended-A, basic Greek and Cyrillic.  Other scripts are left as they are.
 */
static uint16_t
upper16(uint16_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7) || (c >= 0x3b1 && c <= 0x3cb &&
	    c != 0x3c2) || (c >= 0x430 && c <= 0x44f))
		return (uint16_t)(c - 0x20);
	if (c == 0xff)
		return 0x178;
	if (c >= 0x450 && c <= 0x45f)
		return (uint16_t)(c - 0x50);
	if (((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177)) && (c & 1))
		return (uint16_t)(c - 1);
	if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) && !(c & 1))
		return (uint16_t)(c - 1);
	return c;
}

/* UTF-8 s as UTF-16LE (upper-cased when upper) into malloc'd *out, *len bytes.  0, or -1 + err. */
static int
u16le(const char *s, int upper, uint8_t **out, size_t *len, char *err, size_t errlen)
{
	size_t		 cap = strlen(s), i;
	uint16_t	*u, v;
	uint8_t		*b;
	long		 m;

	*out = NULL;
	if (cap > 4096 || (u = calloc(cap + 1, sizeof(*u))) == NULL)
		return util_err(err, errlen, "NTLM: name or password too long or out of memory");
	if ((m = utf8_to_utf16(s, u, cap)) < 0) {
		explicit_bzero(u, (cap + 1) * sizeof(*u));
		free(u);
		return util_err(err, errlen, "NTLM: name or password is not valid UTF-8");
	}
	b = (uint8_t *)u;
	for (i = 0; i < (size_t)m; i++) {
		v = upper ? upper16(u[i]) : u[i];
		le_put16(b + 2 * i, v);
	}
	*out = b;
	*len = (size_t)m * 2;
	return 0;
}

/* Wipe n bytes at p and free it (NULL is a no-op). */
static void
wipe_free(void *p, size_t n)
{
	if (p != NULL) {
		explicit_bzero(p, n);
		free(p);
	}
}

/* n bytes from the kernel's CSPRNG.  0, or -1 + err. */
static int
random_bytes(uint8_t *p, size_t n, char *err, size_t errlen)
{
	ssize_t	 r;
	size_t	 got = 0;

	while (got < n) {
		if ((r = getrandom(p + got, n - got, 0)) <= 0)
			return util_err(err, errlen, "NTLM: getrandom failed");
		got += (size_t)r;
	}
	return 0;
}

/* ---- CHALLENGE_MESSAGE ---- */

/* Walk TargetInfo's AV pairs (MS-NLMP 2.2.2.1) to MsvAvEOL; c->infolen ends after it.  0, or -1 + err. */
static int
av_walk(const uint8_t *p, size_t n, struct smbauth_challenge *c, char *err, size_t errlen)
{
	size_t		 off = 0;
	uint16_t	 id, len;

	for (;;) {
		if (n - off < 4)
			return util_err(err, errlen, "NTLM: TargetInfo ends without MsvAvEOL");
		id = le_get16(p + off);
		len = le_get16(p + off + 2);
		off += 4;
		if (len > n - off)
			return util_err(err, errlen, "NTLM: AV pair %u of %u bytes past TargetInfo's end", id, len);
		if (id == AV_EOL) {
			if (len != 0)
				return util_err(err, errlen, "NTLM: MsvAvEOL with a %u-byte value", len);
			c->infolen = off;
			return 0;
		}
		if (id == AV_TIMESTAMP) {
			if (len != 8)
				return util_err(err, errlen, "NTLM: MsvAvTimestamp of %u bytes", len);
			c->has_timestamp = 1;
			c->timestamp = (uint64_t)le_get32(p + off) | ((uint64_t)le_get32(p + off + 4) << 32);
		} else if (id == AV_FLAGS) {
			if (len != 4)
				return util_err(err, errlen, "NTLM: MsvAvFlags of %u bytes", len);
			c->av_flags = le_get32(p + off);
		}
		off += len;
	}
}

/* The (Len, MaxLen, Offset) field at hdr: *off and *len, inside p[0..n).  0, or -1 + err. */
static int
field(const uint8_t *p, size_t n, size_t hdr, const char *what, size_t *off, size_t *len, char *err,
    size_t errlen)
{
	*len = le_get16(p + hdr);
	*off = le_get32(p + hdr + 4);
	if (*len != 0 && (*off > n || *len > n - *off))
		return util_err(err, errlen, "NTLM: %s (%zu bytes at %zu) outside the %zu-byte message", what, *len,
		    *off, n);
	return 0;
}

int
smbauth_ntlm_challenge_parse(const uint8_t *p, size_t n, struct smbauth_challenge *c, char *err, size_t errlen)
{
	size_t	 off, len;

	memset(c, 0, sizeof(*c));
	if (n < sizeof(signature) || memcmp(p, signature, sizeof(signature)) != 0)
		return util_err(err, errlen, "NTLM: CHALLENGE_MESSAGE without the NTLMSSP signature");
	if (n < CHALLENGE_FIXED)
		return util_err(err, errlen, "NTLM: CHALLENGE_MESSAGE of %zu bytes, shorter than its header", n);
	if (le_get32(p + 8) != 2)
		return util_err(err, errlen, "NTLM: MessageType %u where a CHALLENGE_MESSAGE (2) was expected",
		    le_get32(p + 8));
	if (field(p, n, 12, "TargetName", &off, &len, err, errlen) == -1)
		return -1;
	c->flags = le_get32(p + 20);
	memcpy(c->challenge, p + 24, SMBAUTH_NTLM_CHAL_LEN);
	if (field(p, n, 40, "TargetInfo", &off, &len, err, errlen) == -1)
		return -1;
	if (!(c->flags & NTLM_NEG_TARGET_INFO) || len == 0)
		return 0;
	c->info = p + off;
	return av_walk(p + off, len, c, err, errlen);
}

int
smbauth_parse_challenge(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	struct smbauth_challenge c;

	return smbauth_ntlm_challenge_parse(p, n, &c, err, errlen);
}

/* ---- the pure computations (MS-NLMP 3.3.2, 3.4.4.2, 3.4.5) ---- */

int
smbauth_ntowfv2(const char *password, const char *user, const char *domain, uint8_t key[SMBAUTH_NTLM_KEY_LEN],
    char *err, size_t errlen)
{
	struct md4_ctx		 md4;
	struct hmac_md5_ctx	 hmac;
	uint8_t			 nt[MD4_DIGEST_SIZE], *pw = NULL, *u = NULL, *d = NULL;
	size_t			 pwlen = 0, ulen = 0, dlen = 0;
	int			 rc = -1;

	if (u16le(password, 0, &pw, &pwlen, err, errlen) == -1 || u16le(user, 1, &u, &ulen, err, errlen) == -1 ||
	    u16le(domain, 0, &d, &dlen, err, errlen) == -1)
		goto done;
	md4_init(&md4);
	md4_update(&md4, pwlen, pw);
	md4_digest(&md4, sizeof(nt), nt);
	hmac_md5_set_key(&hmac, sizeof(nt), nt);
	hmac_md5_update(&hmac, ulen, u);
	hmac_md5_update(&hmac, dlen, d);
	hmac_md5_digest(&hmac, SMBAUTH_NTLM_KEY_LEN, key);
	rc = 0;
done:
	wipe_free(pw, pwlen);
	free(u);
	free(d);
	explicit_bzero(nt, sizeof(nt));
	explicit_bzero(&md4, sizeof(md4));
	explicit_bzero(&hmac, sizeof(hmac));
	return rc;
}

int
smbauth_ntlmv2_response(const uint8_t ntowf[SMBAUTH_NTLM_KEY_LEN], const uint8_t schal[SMBAUTH_NTLM_CHAL_LEN],
    const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN], uint64_t filetime, const uint8_t *av, size_t avlen,
    uint8_t **resp, size_t *resplen, uint8_t sbk[SMBAUTH_NTLM_KEY_LEN], char *err, size_t errlen)
{
	struct hmac_md5_ctx	 hmac;
	uint8_t			*r, *temp;
	size_t			 n;

	*resp = NULL;
	if (avlen > SMBAUTH_TOKEN_MAX)
		return util_err(err, errlen, "NTLM: %zu bytes of AV pairs", avlen);
	n = MD5_DIGEST_SIZE + V2_TEMP_FIXED + avlen + 4;
	if ((r = calloc(1, n)) == NULL)
		return util_err(err, errlen, "NTLM: out of memory");
	temp = r + MD5_DIGEST_SIZE;
	temp[0] = 1;	/* RespType */
	temp[1] = 1;	/* HiRespType; 6 zero bytes follow */
	le_put64(temp + 8, filetime);
	memcpy(temp + 16, cchal, SMBAUTH_NTLM_CHAL_LEN);
	if (avlen > 0)
		memcpy(temp + V2_TEMP_FIXED, av, avlen);
	hmac_md5_set_key(&hmac, SMBAUTH_NTLM_KEY_LEN, ntowf);
	hmac_md5_update(&hmac, SMBAUTH_NTLM_CHAL_LEN, schal);
	hmac_md5_update(&hmac, n - MD5_DIGEST_SIZE, temp);
	hmac_md5_digest(&hmac, MD5_DIGEST_SIZE, r);		/* NTProofStr */
	hmac_md5_set_key(&hmac, SMBAUTH_NTLM_KEY_LEN, ntowf);
	hmac_md5_update(&hmac, MD5_DIGEST_SIZE, r);
	hmac_md5_digest(&hmac, SMBAUTH_NTLM_KEY_LEN, sbk);	/* SessionBaseKey */
	explicit_bzero(&hmac, sizeof(hmac));
	*resp = r;
	*resplen = n;
	return 0;
}

void
smbauth_lmv2_response(const uint8_t ntowf[SMBAUTH_NTLM_KEY_LEN], const uint8_t schal[SMBAUTH_NTLM_CHAL_LEN],
    const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN], uint8_t out[24])
{
	struct hmac_md5_ctx hmac;

	hmac_md5_set_key(&hmac, SMBAUTH_NTLM_KEY_LEN, ntowf);
	hmac_md5_update(&hmac, SMBAUTH_NTLM_CHAL_LEN, schal);
	hmac_md5_update(&hmac, SMBAUTH_NTLM_CHAL_LEN, cchal);
	hmac_md5_digest(&hmac, MD5_DIGEST_SIZE, out);
	memcpy(out + MD5_DIGEST_SIZE, cchal, SMBAUTH_NTLM_CHAL_LEN);
	explicit_bzero(&hmac, sizeof(hmac));
}

void
smbauth_rc4(const uint8_t key[SMBAUTH_NTLM_KEY_LEN], const uint8_t *in, size_t n, uint8_t *out)
{
	struct arcfour_ctx rc4;

	arcfour_set_key(&rc4, SMBAUTH_NTLM_KEY_LEN, key);
	arcfour_crypt(&rc4, n, out, in);
	explicit_bzero(&rc4, sizeof(rc4));
}

/* MD5(key[0..klen) || magic) with magic's NUL (MS-NLMP 3.4.5.2, 3.4.5.3). */
static void
key_md5(const uint8_t *key, size_t klen, const char *magic, size_t magiclen, uint8_t out[SMBAUTH_NTLM_KEY_LEN])
{
	struct md5_ctx md5;

	md5_init(&md5);
	md5_update(&md5, klen, key);
	md5_update(&md5, magiclen, (const uint8_t *)magic);
	md5_digest(&md5, MD5_DIGEST_SIZE, out);
	explicit_bzero(&md5, sizeof(md5));
}

void
smbauth_ntlm_keys(const uint8_t key[SMBAUTH_NTLM_KEY_LEN], uint32_t flags, int server,
    uint8_t sign[SMBAUTH_NTLM_KEY_LEN], uint8_t seal[SMBAUTH_NTLM_KEY_LEN])
{
	static const char csign[] = "session key to client-to-server signing key magic constant";
	static const char ssign[] = "session key to server-to-client signing key magic constant";
	static const char cseal[] = "session key to client-to-server sealing key magic constant";
	static const char sseal[] = "session key to server-to-client sealing key magic constant";
	size_t sealbytes = (flags & NTLM_NEG_128) ? 16 : (flags & NTLM_NEG_56) ? 7 : 5;

	/* sizeof takes the terminating NUL the magic constants include. */
	key_md5(key, SMBAUTH_NTLM_KEY_LEN, server ? ssign : csign, sizeof(csign), sign);
	key_md5(key, sealbytes, server ? sseal : cseal, sizeof(cseal), seal);
}

void
smbauth_ntlm_sign(struct arcfour_ctx *rc4, int keyx, const uint8_t sign[SMBAUTH_NTLM_KEY_LEN], uint32_t seq,
    const uint8_t *msg, size_t n, uint8_t sig[SMBAUTH_NTLM_SIG_LEN])
{
	struct hmac_md5_ctx	 hmac;
	uint8_t			 s[4], d[MD5_DIGEST_SIZE];

	le_put32(s, seq);
	hmac_md5_set_key(&hmac, SMBAUTH_NTLM_KEY_LEN, sign);
	hmac_md5_update(&hmac, sizeof(s), s);
	hmac_md5_update(&hmac, n, msg);
	hmac_md5_digest(&hmac, sizeof(d), d);
	le_put32(sig, 1);
	if (keyx)
		arcfour_crypt(rc4, 8, sig + 4, d);
	else
		memcpy(sig + 4, d, 8);
	le_put32(sig + 12, seq);
	explicit_bzero(d, sizeof(d));
	explicit_bzero(&hmac, sizeof(hmac));
}

/* ---- the client ---- */

int
smbauth_ntlm_new(struct smbauth_ntlm **out, const struct cred *cr, const char *target, uint8_t **neg,
    size_t *neglen, char *err, size_t errlen)
{
	struct smbauth_ntlm *a;

	*out = NULL;
	*neg = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return util_err(err, errlen, "NTLM: out of memory");
	if (smbauth_ntowfv2(cr->password, cr->user, cr->domain, a->ntowf, err, errlen) == -1 ||
	    u16le(cr->domain, 0, &a->domain16, &a->domainlen, err, errlen) == -1 ||
	    u16le(cr->user, 0, &a->user16, &a->userlen, err, errlen) == -1 ||
	    (target != NULL && u16le(target, 0, &a->target16, &a->targetlen, err, errlen) == -1))
		goto fail;
	if ((a->neg = calloc(1, NEGOTIATE_LEN)) == NULL) {
		util_err(err, errlen, "NTLM: out of memory");
		goto fail;
	}
	/* MS-NLMP 2.2.1.1: no DomainName nor Workstation (offsets at the payload's start), Version. */
	memcpy(a->neg, signature, sizeof(signature));
	le_put32(a->neg + 8, 1);
	le_put32(a->neg + 12, CLIENT_FLAGS);
	le_put32(a->neg + 20, NEGOTIATE_LEN);
	le_put32(a->neg + 28, NEGOTIATE_LEN);
	memcpy(a->neg + 32, version, sizeof(version));
	a->neglen = NEGOTIATE_LEN;
	if ((*neg = malloc(a->neglen)) == NULL) {
		util_err(err, errlen, "NTLM: out of memory");
		goto fail;
	}
	memcpy(*neg, a->neg, a->neglen);
	*neglen = a->neglen;
	*out = a;
	return 0;
fail:
	smbauth_ntlm_free(a);
	return -1;
}

void
smbauth_ntlm_fix_random(struct smbauth_ntlm *a, const uint8_t cchal[SMBAUTH_NTLM_CHAL_LEN],
    const uint8_t exported[SMBAUTH_NTLM_KEY_LEN], uint64_t now)
{
	a->fixed = 1;
	memcpy(a->fix_cchal, cchal, SMBAUTH_NTLM_CHAL_LEN);
	memcpy(a->fix_exported, exported, SMBAUTH_NTLM_KEY_LEN);
	a->fix_now = now;
}

/* Append one AV pair at b + *off. */
static void
av_put(uint8_t *b, size_t *off, uint16_t id, const uint8_t *v, size_t len)
{
	le_put16(b + *off, id);
	le_put16(b + *off + 2, (uint16_t)len);
	if (len > 0)
		memcpy(b + *off + 4, v, len);
	*off += 4 + len;
}

/*
 * The AV pairs of our NTLMv2_CLIENT_CHALLENGE (MS-NLMP 3.1.5.1.2): the server's, then MsvAvFlags with the
 * MIC bit, MsvAvChannelBindings of zeros (none: SMB has no TLS channel), MsvAvTargetName when we have one,
 * MsvAvEOL.  *av malloc'd.  0, or -1 + err.
 */
static int
av_build(const struct smbauth_ntlm *a, const struct smbauth_challenge *c, uint8_t **av, size_t *avlen,
    char *err, size_t errlen)
{
	static const uint8_t zero[16];
	uint8_t		 fl[4], *b;
	size_t		 in = 0, off = 0, cap;
	uint16_t	 id, len;

	cap = c->infolen + 8 + 20 + 4 + a->targetlen + 4;
	if (a->targetlen > UINT16_MAX || (b = malloc(cap)) == NULL)
		return util_err(err, errlen, "NTLM: out of memory");
	/* c->info was walked by av_walk: every pair is inside it and it ends with MsvAvEOL. */
	while (c->info != NULL && in + 4 <= c->infolen) {
		id = le_get16(c->info + in);
		len = le_get16(c->info + in + 2);
		if (id != AV_EOL && id != AV_FLAGS && id != AV_TARGET_NAME && id != AV_CHANNEL_BINDINGS)
			av_put(b, &off, id, c->info + in + 4, len);
		in += 4 + len;
	}
	le_put32(fl, c->av_flags | AV_FLAG_MIC);
	av_put(b, &off, AV_FLAGS, fl, sizeof(fl));
	av_put(b, &off, AV_CHANNEL_BINDINGS, zero, sizeof(zero));
	if (a->target16 != NULL)
		av_put(b, &off, AV_TARGET_NAME, a->target16, a->targetlen);
	av_put(b, &off, AV_EOL, NULL, 0);
	*av = b;
	*avlen = off;
	return 0;
}

/* The six payload fields of an AUTHENTICATE_MESSAGE, in the order of their headers at 12, 20, ... 52. */
struct auth_fields {
	const uint8_t	*p[AUTH_FIELDS];
	size_t		 n[AUTH_FIELDS];
};

/* Lay out an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with a zero MIC.  *out malloc'd.  0, or -1 + err. */
static int
auth_assemble(uint32_t flags, const struct auth_fields *f, uint8_t **out, size_t *outlen, char *err,
    size_t errlen)
{
	size_t	 total = AUTH_HDR, off = AUTH_HDR, i;
	uint8_t	*m;

	for (i = 0; i < AUTH_FIELDS; i++) {
		if (f->n[i] > UINT16_MAX)
			return util_err(err, errlen, "NTLM: AUTHENTICATE field of %zu bytes", f->n[i]);
		total += f->n[i];
	}
	if (total > SMBAUTH_TOKEN_MAX)
		return util_err(err, errlen, "NTLM: AUTHENTICATE_MESSAGE of %zu bytes", total);
	if ((m = calloc(1, total)) == NULL)
		return util_err(err, errlen, "NTLM: out of memory");
	memcpy(m, signature, sizeof(signature));
	le_put32(m + 8, 3);
	for (i = 0; i < AUTH_FIELDS; i++) {
		le_put16(m + 12 + 8 * i, (uint16_t)f->n[i]);
		le_put16(m + 14 + 8 * i, (uint16_t)f->n[i]);
		le_put32(m + 16 + 8 * i, (uint32_t)off);
		if (f->n[i] > 0)
			memcpy(m + off, f->p[i], f->n[i]);
		off += f->n[i];
	}
	le_put32(m + 60, flags);
	memcpy(m + 64, version, sizeof(version));
	*out = m;
	*outlen = total;
	return 0;
}

/* ExportedSessionKey and EncryptedRandomSessionKey from SessionBaseKey sbk (MS-NLMP 3.1.5.1.2, 3.4.5.1:
 * KeyExchangeKey = SessionBaseKey for NTLMv2).  0, or -1 + err. */
static int
key_exchange(struct smbauth_ntlm *a, const uint8_t sbk[SMBAUTH_NTLM_KEY_LEN], uint8_t enc[SMBAUTH_NTLM_KEY_LEN],
    char *err, size_t errlen)
{
	if (!(a->flags & NTLM_NEG_KEY_EXCH)) {
		memcpy(a->exported, sbk, SMBAUTH_NTLM_KEY_LEN);
		return 0;
	}
	if (a->fixed)
		memcpy(a->exported, a->fix_exported, SMBAUTH_NTLM_KEY_LEN);
	else if (random_bytes(a->exported, SMBAUTH_NTLM_KEY_LEN, err, errlen) == -1)
		return -1;
	smbauth_rc4(sbk, a->exported, SMBAUTH_NTLM_KEY_LEN, enc);
	return 0;
}

/* The MIC over NEGOTIATE || CHALLENGE || AUTHENTICATE (zero MIC) into m + AUTH_MIC_OFF (MS-NLMP 3.1.5.1.2). */
static void
auth_mic(const struct smbauth_ntlm *a, const uint8_t *chal, size_t challen, uint8_t *m, size_t mlen)
{
	struct hmac_md5_ctx hmac;

	hmac_md5_set_key(&hmac, SMBAUTH_NTLM_KEY_LEN, a->exported);
	hmac_md5_update(&hmac, a->neglen, a->neg);
	hmac_md5_update(&hmac, challen, chal);
	hmac_md5_update(&hmac, mlen, m);
	hmac_md5_digest(&hmac, MD5_DIGEST_SIZE, m + AUTH_MIC_OFF);
	explicit_bzero(&hmac, sizeof(hmac));
}

/* The flags of our AUTHENTICATE_MESSAGE: ours the server also set; it must do NTLMv2 with ESS and Unicode. */
static int
auth_flags(const struct smbauth_challenge *c, uint32_t *flags, char *err, size_t errlen)
{
	*flags = c->flags & CLIENT_FLAGS;
	if (!(*flags & NTLM_NEG_UNICODE) || !(*flags & NTLM_NEG_ESS))
		return util_err(err, errlen, "NTLM: the server's flags 0x%08x lack Unicode or extended session "
		    "security", c->flags);
	*flags |= NTLM_NEG_NTLM;
	return 0;
}

int
smbauth_ntlm_authenticate(struct smbauth_ntlm *a, const uint8_t *chal, size_t challen, uint8_t **auth,
    size_t *authlen, char *err, size_t errlen)
{
	struct smbauth_challenge c;
	struct auth_fields	 f;
	uint8_t			 cchal[SMBAUTH_NTLM_CHAL_LEN], sbk[SMBAUTH_NTLM_KEY_LEN], enc[SMBAUTH_NTLM_KEY_LEN];
	uint8_t			 lm[24], *av = NULL, *nt = NULL;
	size_t			 avlen = 0, ntlen = 0;
	uint64_t		 now;
	int			 rc = -1;

	*auth = NULL;
	if (smbauth_ntlm_challenge_parse(chal, challen, &c, err, errlen) == -1 ||
	    auth_flags(&c, &a->flags, err, errlen) == -1 || av_build(a, &c, &av, &avlen, err, errlen) == -1)
		goto done;
	if (a->fixed)
		memcpy(cchal, a->fix_cchal, sizeof(cchal));
	else if (random_bytes(cchal, sizeof(cchal), err, errlen) == -1)
		goto done;
	now = a->fixed ? a->fix_now : ((uint64_t)time(NULL) + FILETIME_1970) * 10000000ULL;
	if (smbauth_ntlmv2_response(a->ntowf, c.challenge, cchal, c.has_timestamp ? c.timestamp : now, av, avlen,
	    &nt, &ntlen, sbk, err, errlen) == -1 || key_exchange(a, sbk, enc, err, errlen) == -1)
		goto done;
	/* MS-NLMP 3.1.5.1.2: with MsvAvTimestamp the LmChallengeResponse is Z(24). */
	if (c.has_timestamp)
		memset(lm, 0, sizeof(lm));
	else
		smbauth_lmv2_response(a->ntowf, c.challenge, cchal, lm);
	f = (struct auth_fields){ { lm, nt, a->domain16, a->user16, NULL, enc },
	    { sizeof(lm), ntlen, a->domainlen, a->userlen, 0, (a->flags & NTLM_NEG_KEY_EXCH) ? sizeof(enc) : 0 } };
	if (auth_assemble(a->flags, &f, auth, authlen, err, errlen) == -1)
		goto done;
	auth_mic(a, chal, challen, *auth, *authlen);
	smbauth_ntlm_keys(a->exported, a->flags, 0, a->csign, a->cseal);
	smbauth_ntlm_keys(a->exported, a->flags, 1, a->ssign, a->sseal);
	a->keyed = 1;
	rc = 0;
done:
	wipe_free(nt, ntlen);
	free(av);
	explicit_bzero(sbk, sizeof(sbk));
	explicit_bzero(enc, sizeof(enc));
	explicit_bzero(lm, sizeof(lm));
	explicit_bzero(cchal, sizeof(cchal));
	return rc;
}

int
smbauth_ntlm_mic(const struct smbauth_ntlm *a, int server, const uint8_t *msg, size_t n,
    uint8_t sig[SMBAUTH_NTLM_SIG_LEN])
{
	struct arcfour_ctx rc4;

	if (!a->keyed)
		return -1;
	arcfour_set_key(&rc4, SMBAUTH_NTLM_KEY_LEN, server ? a->sseal : a->cseal);
	smbauth_ntlm_sign(&rc4, (a->flags & NTLM_NEG_KEY_EXCH) != 0, server ? a->ssign : a->csign, 0, msg, n, sig);
	explicit_bzero(&rc4, sizeof(rc4));
	return 0;
}

int
smbauth_ntlm_session_key(const struct smbauth_ntlm *a, uint8_t key[SMBAUTH_NTLM_KEY_LEN])
{
	if (!a->keyed)
		return -1;
	memcpy(key, a->exported, SMBAUTH_NTLM_KEY_LEN);
	return 0;
}

void
smbauth_ntlm_free(struct smbauth_ntlm *a)
{
	if (a == NULL)
		return;
	free(a->domain16);
	free(a->user16);
	free(a->target16);
	free(a->neg);
	explicit_bzero(a, sizeof(*a));
	free(a);
}
