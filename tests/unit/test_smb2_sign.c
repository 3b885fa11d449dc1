/*
 * test_smb2_sign.c — scanner/smb2_sign.c (smb2_int.h): the SP800-108 signing keys against Microsoft's published
 * key-derivation examples (Open Specifications blog, "SMB 2 and SMB 3 security in Windows 10: the anatomy of
 * signing and cryptographic keys", appendix), the HMAC-SHA256 and AES-128-CMAC signatures of a message and the
 * SHA-512 preauth hash chain against values computed independently (Python hashlib, hmac, cryptography's CMAC),
 * RFC 4493's AES-CMAC example through the same nettle calls, and the parsers fed well-formed and broken input.
 * The end-to-end check of signing (smbd accepts our signatures, we accept its) is tests/integration/smb2_smbd.
 */
#include <stdint.h>
#include <string.h>

#include <nettle/cmac.h>

#include "check.h"
#include "smb2.h"
#include "smb2_int.h"
#include "util.h"

static void
unhex(const char *h, uint8_t *out, size_t n)
{
	CHECK(util_unhex(h, out, n) == (long)n);
}

static int
same(const uint8_t *a, const char *hex)
{
	uint8_t	 b[64];
	size_t	 n = strlen(hex) / 2;

	unhex(hex, b, n);
	return memcmp(a, b, n) == 0;
}

static void
test_keys(void)
{
	uint8_t	 sk[16], out[16], h[64];

	unhex("7CD451825D0450D235424E44BA6E78CC", sk, 16);
	smb2_signing_key(0x0300, sk, h, out);
	CHECK(same(out, "0B7E9C5CAC36C0F6EA9AB275298CEDCE"));
	smb2_signing_key(0x0302, sk, h, out);
	CHECK(same(out, "0B7E9C5CAC36C0F6EA9AB275298CEDCE"));
	unhex("4E01A2B313BCF660CC250BEF021AEDE6", sk, 16);
	smb2_signing_key(0x0300, sk, h, out);
	CHECK(same(out, "BA1A17DBBFEC349BCA105563D598952F"));

	unhex("270E1BA896585EEB7AF3472D3B4C75A7", sk, 16);
	unhex("0DD13628CC3ED218EF9DF9772D436D0887AB9814BFAE63A80AA845F36909DB79"
	    "28622DDDAD522D9751640A459762C5A9D6BB084CBB3CE6BDADEF5D5BCE3C6C01", h, 64);
	smb2_signing_key(0x0311, sk, h, out);
	CHECK(same(out, "73FE7A9A77BEF0BDE49C650D8CCB5F76"));
	unhex("84B9DBB730116A8FA6E9889555C265F9", sk, 16);
	unhex("EA3BF912B11CBFEC5B1889E8209614218687F82FA5294521AD3063425E49E88A"
	    "10BD022124CE25123BC9111F52D9566BA88BF46344E6063DC5E3FF0389026F6C", h, 64);
	smb2_signing_key(0x0311, sk, h, out);
	CHECK(same(out, "C962BCA1A9DD1697B030644199705431"));

	smb2_signing_key(0x0210, sk, h, out);		/* 2.x: the session key itself */
	CHECK(memcmp(out, sk, 16) == 0);
	smb2_signing_key(0x0202, sk, h, out);
	CHECK(memcmp(out, sk, 16) == 0);
}

static void
test_signatures(void)
{
	uint8_t	 key[16], msg[100], sig[16], m[16];
	struct cmac_aes128_ctx	 c;
	uint8_t	 rfc[64];
	size_t	 i;

	/* RFC 4493 section 4, example 4 (64 bytes), through nettle's AES-CMAC. */
	unhex("2b7e151628aed2a6abf7158809cf4f3c", key, 16);
	unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", rfc, 64);
	cmac_aes128_set_key(&c, key);
	cmac_aes128_update(&c, sizeof(rfc), rfc);
	cmac_aes128_digest(&c, 16, m);
	CHECK(same(m, "51f0bebf7e3b9d92fc49741779363cfe"));

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	unhex("0B7E9C5CAC36C0F6EA9AB275298CEDCE", key, 16);
	smb2_signature(0x0210, key, msg, sizeof(msg), sig);
	CHECK(same(sig, "f34ca3cc7d52778014b8523241b020f2"));
	smb2_signature(0x0202, key, msg, sizeof(msg), sig);
	CHECK(same(sig, "f34ca3cc7d52778014b8523241b020f2"));
	smb2_signature(0x0300, key, msg, sizeof(msg), sig);
	CHECK(same(sig, "8d774f51bebe2a0b36bc2fb2685e10eb"));
	smb2_signature(0x0311, key, msg, sizeof(msg), sig);
	CHECK(same(sig, "8d774f51bebe2a0b36bc2fb2685e10eb"));

	/* sign, verify, and refuse after one bit changed or without the SIGNED flag */
	msg[16] &= (uint8_t)~SMB2_FLAGS_SIGNED;
	CHECK(smb2_verify(0x0311, key, msg, sizeof(msg)) == 0);
	smb2_sign(0x0311, key, msg, sizeof(msg));
	CHECK(msg[16] & SMB2_FLAGS_SIGNED);
	CHECK(smb2_verify(0x0311, key, msg, sizeof(msg)) == 1);
	CHECK(smb2_verify(0x0210, key, msg, sizeof(msg)) == 0);
	msg[80] ^= 1;
	CHECK(smb2_verify(0x0311, key, msg, sizeof(msg)) == 0);
	msg[80] ^= 1;
	msg[50] ^= 0x80;
	CHECK(smb2_verify(0x0311, key, msg, sizeof(msg)) == 0);
	msg[50] ^= 0x80;
	smb2_sign(0x0210, key, msg, sizeof(msg));
	CHECK(smb2_verify(0x0210, key, msg, sizeof(msg)) == 1);
	CHECK(smb2_verify(0x0210, key, msg, 63) == 0);
}

static void
test_preauth(void)
{
	uint8_t	 h[64] = { 0 }, msg[100];
	size_t	 i;

	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7 + 3);
	smb2_preauth_update(h, (const uint8_t *)"abc", 3);
	CHECK(same(h, "7682b6b84c6f692545a896ad210299bcc6f74e189d829e165739b11dd83b6f2c"
	    "8cfacf27e812bf064df756d6235ac33c062b89ecb80f8215516dbbb844ce8480"));
	smb2_preauth_update(h, msg, sizeof(msg));
	CHECK(same(h, "885d045086765cd78c355911ebdd81e87e0f8fbce1402ba8e594fb3236308cda"
	    "de552095536c31a345aa8278cf66cc4f87f987fb06b6f7b637fa061b4e472802"));
}

/* A NEGOTIATE response of dialect d; with a 3.1.1 preauth context when ctx. */
static size_t
negresp(uint8_t *m, uint16_t d, int ctx, uint16_t alg)
{
	memset(m, 0, 256);
	memcpy(m, "\xfeSMB", 4);
	le_put16(m + 4, 64);
	le_put32(m + 16, SMB2_FLAGS_SERVER_TO_REDIR);
	le_put16(m + 64, 65);
	le_put16(m + 68, d);
	le_put32(m + 64 + 28, 8388608);
	le_put32(m + 64 + 32, 8388608);
	le_put32(m + 64 + 36, 8388608);
	le_put16(m + 64 + 56, 128);
	le_put16(m + 64 + 58, 4);
	memcpy(m + 128, "\x60\x02\x05\x00", 4);
	if (!ctx)
		return 136;
	le_put16(m + 64 + 6, 1);
	le_put32(m + 64 + 60, 136);
	le_put16(m + 136, 1);
	le_put16(m + 138, 38);
	le_put16(m + 144, 1);
	le_put16(m + 146, 32);
	le_put16(m + 148, alg);
	return 136 + 8 + 38;
}

static void
test_parsers(void)
{
	uint8_t			 m[256];
	struct smb2_negotiated	 ng;
	struct smb2_hdr		 h;
	char			 err[256];
	size_t			 n;

	n = negresp(m, 0x0311, 1, 1);
	CHECK(smb2_hdr_parse(m, n, &h, err, sizeof(err)) == 0);
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == 0);
	CHECK(ng.dialect == 0x0311 && ng.preauth_sha512 && ng.toklen == 4 && ng.max_read == 8388608);
	CHECK(smb2_parse_negotiate(m, n - 1, &ng, err, sizeof(err)) == -1);	/* context truncated */
	n = negresp(m, 0x0311, 1, 2);
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == -1);		/* not SHA-512 */
	n = negresp(m, 0x0311, 0, 1);
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == -1);		/* no preauth context */
	n = negresp(m, 0x0210, 0, 1);
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == 0 && ng.dialect == 0x0210);
	le_put16(m + 64 + 58, 200);						/* token past the end */
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == -1);
	le_put16(m + 64 + 58, 4);
	le_put16(m + 64 + 56, 10);						/* token inside the header */
	CHECK(smb2_parse_negotiate(m, n, &ng, err, sizeof(err)) == -1);
	CHECK(smb2_hdr_parse(m, 63, &h, err, sizeof(err)) == -1);
	m[0] = 0xff;
	CHECK(smb2_hdr_parse(m, n, &h, err, sizeof(err)) == -1);
	m[0] = 0xfe;
	le_put32(m + 16, 0);
	CHECK(smb2_hdr_parse(m, n, &h, err, sizeof(err)) == -1);		/* not from a server */
	CHECK(smb2_body(m, 65, 65, err, sizeof(err)) == NULL);
}

static int
collect(const char *name, void *arg)
{
	char	*acc = arg;

	strcat(acc, name);
	strcat(acc, ";");
	return strcmp(name, "stop") == 0;
}

/* A FileNamesInformation entry at p: next, the name (ASCII) as UTF-16LE; its length. */
static size_t
entry(uint8_t *p, uint32_t next, const char *name)
{
	size_t	 i, l = strlen(name);

	memset(p, 0, 12 + 2 * l);
	le_put32(p, next);
	le_put32(p + 8, (uint32_t)(2 * l));
	for (i = 0; i < l; i++)
		p[12 + 2 * i] = (uint8_t)name[i];
	return 12 + 2 * l;
}

static void
test_names(void)
{
	uint8_t	 b[256];
	char	 acc[256] = "", err[256];
	int	 stop;
	size_t	 n;
	uint8_t	*u;

	entry(b, 16, ".");
	entry(b + 16, 24, "..");
	n = 40 + entry(b + 40, 0, "a.log");
	CHECK(smb2_parse_names(b, n, collect, acc, &stop, err, sizeof(err)) == 1 && !stop);
	CHECK_STR(acc, "a.log;");
	acc[0] = '\0';
	entry(b, 24, "stop");
	n = 24 + entry(b + 24, 0, "x");
	CHECK(smb2_parse_names(b, n, collect, acc, &stop, err, sizeof(err)) == 1 && stop);
	CHECK_STR(acc, "stop;");
	CHECK(smb2_parse_names(b, 20, collect, acc, &stop, err, sizeof(err)) == -1);	/* name cut */
	le_put32(b, 400);								/* next too far */
	CHECK(smb2_parse_names(b, n, collect, acc, &stop, err, sizeof(err)) == -1);
	le_put32(b, 4);								/* next inside entry */
	CHECK(smb2_parse_names(b, n, collect, acc, &stop, err, sizeof(err)) == -1);

	u = smb2_utf16("/sms/logs/é", 1, &n, err, sizeof(err));
	CHECK(u != NULL && n == 20 && u[0] == 's' && u[6] == '\\' && u[18] == 0xe9 && u[19] == 0);
	free(u);
	u = smb2_utf16("\\\\h\\IPC$", 0, &n, err, sizeof(err));
	CHECK(u != NULL && n == 16 && u[0] == '\\' && u[2] == '\\');
	free(u);
	CHECK(smb2_utf16("\xff", 1, &n, err, sizeof(err)) == NULL);
	CHECK(smb2_charge(0) == 1 && smb2_charge(65536) == 1 && smb2_charge(65537) == 2 &&
	    smb2_charge(8u << 20) == 128);
}

int
main(void)
{
	test_keys();
	test_signatures();
	test_preauth();
	test_parsers();
	test_names();
	return check_done("smb2_sign");
}
