/*
 * test_tds.c — unit tests for the fixture's TDS codec (tds.c), mostly against the byte vectors of MS-TDS
 * section 4 (Protocol Examples): 4.1 Pre-Login Request, 4.2 Login Request, 4.3 Login Response, 4.6 SQL Batch
 * Client Request, 4.7 SQL Batch Server Response.  Also: every truncation of a valid message is rejected
 * or parsed without reading past its end (ASan checks the reads), TDS 7.1 vs 7.2+ layouts, UTF-16 round
 * trips with non-ASCII text and surrogate pairs, DATETIME conversion.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tds.h"

/* Hex with spaces → bytes; returns the count. */
static size_t
hex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned v;

	while (*s) {
		if (*s == ' ' || *s == '\n') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x", &v) != 1 || n >= cap)
			abort();
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static const char *spec_prelogin =
    "12 01 00 2F 00 00 01 00 00 00 1A 00 06 01 00 20 00 01 02 00 21 00 01 03 00 22 00 04 04 00 26 00"
    "01 FF 09 00 00 00 00 00 01 00 B8 0D 00 00 01";

static const char *spec_login7 =
    "10 01 00 90 00 00 01 00 88 00 00 00 02 00 09 72 00 10 00 00 00 00 00 07 00 01 00 00 00 00 00 00"
    "E0 03 00 00 00 00 00 00 09 04 00 00 5E 00 08 00 6E 00 02 00 72 00 00 00 72 00 07 00 80 00 00 00"
    "80 00 00 00 80 00 04 00 88 00 00 00 88 00 00 00 00 50 8B E2 B7 8F 88 00 00 00 88 00 00 00 88 00"
    "00 00 00 00 00 00 73 00 6B 00 6F 00 73 00 74 00 6F 00 76 00 31 00 73 00 61 00 4F 00 53 00 51 00"
    "4C 00 2D 00 33 00 32 00 4F 00 44 00 42 00 43 00";

/* 4.3 Login Response, except that ProgName's two trailing NUL characters are dropped (length 0x36 → 0x32,
 * B_VARCHAR 0x16 → 0x14): our encoder takes C strings. */
static const char *spec_login_response =
    "04 01 01 5D 00 00 01 00 E3 1B 00 01 06 6D 00 61 00 73 00 74 00 65 00 72 00 06 6D 00 61 00 73 00"
    "74 00 65 00 72 00 AB 58 00 45 16 00 00 02 00 25 00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20"
    "00 64 00 61 00 74 00 61 00 62 00 61 00 73 00 65 00 20 00 63 00 6F 00 6E 00 74 00 65 00 78 00 74"
    "00 20 00 74 00 6F 00 20 00 27 00 6D 00 61 00 73 00 74 00 65 00 72 00 27 00 2E 00 00 00 00 00 00"
    "00 E3 08 00 07 05 09 04 D0 00 34 00 E3 17 00 02 0A 75 00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69"
    "00 73 00 68 00 00 E3 13 00 04 04 34 00 30 00 39 00 36 00 04 34 00 30 00 39 00 36 00 AB 5C 00 47"
    "16 00 00 01 00 27 00 43 00 68 00 61 00 6E 00 67 00 65 00 64 00 20 00 6C 00 61 00 6E 00 67 00 75"
    "00 61 00 67 00 65 00 20 00 73 00 65 00 74 00 74 00 69 00 6E 00 67 00 20 00 74 00 6F 00 20 00 75"
    "00 73 00 5F 00 65 00 6E 00 67 00 6C 00 69 00 73 00 68 00 2E 00 00 00 00 00 00 00 AD 32 00 01 72"
    "09 00 02 14 4D 00 69 00 63 00 72 00 6F 00 73 00 6F 00 66 00 74 00 20 00 53 00 51 00 4C 00 20 00"
    "53 00 65 00 72 00 76 00 65 00 72 00 00 00 00"
    "00 FD 00 00 00 00 00 00 00 00 00 00 00 00";

static const char *spec_batch =
    "01 01 00 5C 00 00 01 00 16 00 00 00 12 00 00 00 02 00 00 00 00 00 00 00 00 01 00 00 00 00 0A 00"
    "73 00 65 00 6C 00 65 00 63 00 74 00 20 00 27 00 66 00 6F 00 6F 00 27 00 20 00 61 00 73 00 20 00"
    "27 00 62 00 61 00 72 00 27 00 0A 00 20 00 20 00 20 00 20 00 20 00 20 00 20 00 20 00";

static const char *spec_batch_response =
    "04 01 00 33 00 00 01 00 81 01 00 00 00 00 00 20 00 A7 03 00 09 04 D0 00 34 03 62 00 61 00 72 00"
    "D1 03 00 66 6F 6F FD 10 00 C1 00 01 00 00 00 00 00 00 00";

static void
test_prelogin(void)
{
	uint8_t		 b[256];
	size_t		 n = hex(spec_prelogin, b, sizeof(b)), i;
	struct tds_header h;
	struct tds_prelogin pl;
	struct tds_buf	 out;
	char		 err[128];

	CHECK(tds_header_parse(b, &h, err, sizeof(err)) == 0);
	CHECK(h.type == TDS_PKT_PRELOGIN && h.status == TDS_STATUS_EOM && h.length == n && h.packet_id == 1);
	CHECK(tds_prelogin_parse(b + 8, n - 8, &pl, err, sizeof(err)) == 0);
	CHECK(pl.has_version && pl.version[0] == 9);
	CHECK(pl.has_encryption && pl.encryption == 0x01);
	CHECK(pl.has_mars && pl.mars == 0x01);
	/* Every truncation that cuts into the option table or the data it points at fails. */
	for (i = 0; i < n - 8; i++)
		CHECK(tds_prelogin_parse(b + 8, i, &pl, err, sizeof(err)) == -1);

	tds_buf_init(&out, 4096);
	CHECK(tds_prelogin_reply(&out, TDS_PRELOGIN_ENCRYPT_NOT_SUP) == 0);
	CHECK(tds_prelogin_parse(out.data, out.len, &pl, err, sizeof(err)) == 0);
	CHECK(pl.has_encryption && pl.encryption == TDS_PRELOGIN_ENCRYPT_NOT_SUP);
	CHECK(pl.has_version && pl.version[0] == 16);
	tds_buf_free(&out);

	/* Header bounds. */
	memcpy(b, "\x12\x01\x00\x07\x00\x00\x01\x00", 8);
	CHECK(tds_header_parse(b, &h, err, sizeof(err)) == -1);
	memcpy(b, "\x12\x01\x80\x01\x00\x00\x01\x00", 8);
	CHECK(tds_header_parse(b, &h, err, sizeof(err)) == -1);
}

/* MS-TDS 2.2.6.5's encryption table, server side, for each server setting and client value. */
static void
test_encrypt_answer(void)
{
	enum { OFF = TDS_PRELOGIN_ENCRYPT_OFF, ON = TDS_PRELOGIN_ENCRYPT_ON, NS = TDS_PRELOGIN_ENCRYPT_NOT_SUP,
	    REQ = TDS_PRELOGIN_ENCRYPT_REQ };
	static const struct { uint8_t client, server; int want; } t[] = {
		{ OFF, NS, NS },   { ON, NS, NS },   { NS, NS, NS },  { REQ, NS, NS },
		{ OFF, OFF, OFF }, { ON, OFF, ON },  { NS, OFF, NS }, { REQ, OFF, ON },
		{ OFF, REQ, REQ }, { ON, REQ, ON },  { NS, REQ, -1 }, { REQ, REQ, ON },
		{ 4, OFF, -1 },    { 0x80, REQ, -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECK(tds_prelogin_encrypt_answer(t[i].client, t[i].server) == t[i].want);
}

/* A LOGIN7 built the way a 7.x client builds it (to test what the spec example lacks: a password). */
static size_t
build_login(uint8_t *p, size_t cap, uint32_t ver, const char *user16, size_t ulen, const char *pw, size_t pwlen,
    const char *db16, size_t dblen)
{
	size_t	 fixed = (ver >> 24) == 0x70 ? 86 : 94, off = fixed, i;

	memset(p, 0, cap);
	p[4] = ver & 0xff; p[5] = (ver >> 8) & 0xff; p[6] = (ver >> 16) & 0xff; p[7] = ver >> 24;
	p[8] = 0x00; p[9] = 0x10;	/* packet size 4096 */
	/* UserName at 40, Password at 44, Database at 68. */
	p[40] = (uint8_t)off; p[42] = (uint8_t)(ulen / 2);
	memcpy(p + off, user16, ulen); off += ulen;
	p[44] = (uint8_t)off; p[46] = (uint8_t)(pwlen / 2);
	for (i = 0; i < pwlen; i++)
		p[off + i] = tds_password_obfuscate((uint8_t)pw[i]);
	off += pwlen;
	p[68] = (uint8_t)off; p[70] = (uint8_t)(dblen / 2);
	memcpy(p + off, db16, dblen); off += dblen;
	/* Unused offsets point at the end. */
	p[36] = p[48] = p[52] = p[56] = p[60] = p[64] = (uint8_t)off;
	p[0] = (uint8_t)off;
	return off;
}

static void
test_login7(void)
{
	uint8_t		 b[512];
	size_t		 n = hex(spec_login7, b, sizeof(b)), i;
	struct tds_login7 l;
	char		 err[128];
	int		 ok = 1;

	CHECK(n == 144);
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == 0);
	CHECK(l.tds_version == TDS_V72);
	CHECK(l.packet_size == 4096);
	CHECK_STR(l.hostname, "skostov1");
	CHECK_STR(l.username, "sa");
	CHECK_STR(l.password, "");
	CHECK_STR(l.appname, "OSQL-32");
	CHECK_STR(l.database, "");
	CHECK(!l.has_extension);
	tds_login7_clear(&l);
	/* Every truncated copy is refused (Length no longer matches). */
	for (i = 0; i < n - 8; i++)
		if (tds_login7_parse(b + 8, i, &l, err, sizeof(err)) != -1)
			ok = 0;
	CHECK(ok);
	/* A field pointing past Length is refused. */
	b[8 + 40] = 0x86;	/* UserName offset 0x86, 2 chars: past the 0x88 bytes */
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == -1);
	/* Integrated security: the SSPI field must hold a token inside the payload (0x88 bytes). */
	n = hex(spec_login7, b, sizeof(b));
	b[8 + 25] |= 0x80;
	b[8 + 78] = 0x80;
	b[8 + 79] = 0;
	b[8 + 80] = 0;
	b[8 + 81] = 0;
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == -1);	/* no token */
	b[8 + 80] = 8;
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == 0);
	CHECK(l.integrated && l.sspi_off == 0x80 && l.sspi_len == 8);
	b[8 + 80] = 9;
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == -1);	/* one byte past the end */
	b[8 + 80] = 0xff;	/* cbSSPI 0xFFFF: cbSSPILong (7.2+) at 90 gives the length */
	b[8 + 81] = 0xff;
	memcpy(b + 8 + 90, "\x08\x00\x00\x00", 4);
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == 0);
	CHECK(l.integrated && l.sspi_len == 8);
	memcpy(b + 8 + 90, "\x00\x00\x01\x00", 4);
	CHECK(tds_login7_parse(b + 8, n - 8, &l, err, sizeof(err)) == -1);

	/* Password obfuscation: MS-TDS 2.2.6.4 (swap nibbles, XOR 0xA5); 'a' 0x61 → 0x16 ^ 0xA5 = 0xB3. */
	CHECK(tds_password_obfuscate(0x61) == 0xb3);
	for (i = 0; i < 256; i++)
		if (tds_password_deobfuscate(tds_password_obfuscate((uint8_t)i)) != i)
			ok = 0;
	CHECK(ok);

	/* TDS 7.4 and 7.0 layouts with a non-ASCII password (UTF-16LE "pä€") and a database. */
	n = build_login(b, sizeof(b), TDS_V74, "u\0s\0r\0", 6, "p\0\xe4\0\xac\x20", 6, "C\0M\0_\0P\0S\0001\0", 12);
	CHECK(tds_login7_parse(b, n, &l, err, sizeof(err)) == 0);
	CHECK_STR(l.username, "usr");
	CHECK_STR(l.password, "p\xc3\xa4\xe2\x82\xac");
	CHECK_STR(l.database, "CM_PS1");
	tds_login7_clear(&l);
	CHECK(l.password[0] == '\0');
	n = build_login(b, sizeof(b), TDS_V70, "u\0", 2, "x\0", 2, "", 0);
	CHECK(tds_login7_parse(b, n, &l, err, sizeof(err)) == 0);
	CHECK(l.tds_version == TDS_V70 && strcmp(l.password, "x") == 0);
	tds_login7_clear(&l);
	/* Pre-7.0 versions are refused. */
	n = build_login(b, sizeof(b), 0x05000000u, "u\0", 2, "x\0", 2, "", 0);
	CHECK(tds_login7_parse(b, n, &l, err, sizeof(err)) == -1);

	CHECK(tds_version_negotiate(TDS_V74) == TDS_V74);
	CHECK(tds_version_negotiate(TDS_V71) == TDS_V71);
	CHECK(tds_version_negotiate(0x75000000u) == TDS_V74);
}

static void
test_sqlbatch(void)
{
	uint8_t	 b[512];
	size_t	 n = hex(spec_batch, b, sizeof(b)), len;
	char	*sql = NULL, err[128];

	CHECK(tds_sqlbatch_parse(b + 8, n - 8, TDS_V72, &sql, &len, err, sizeof(err)) == 0);
	CHECK_STR(sql, "\nselect 'foo' as 'bar'\n        ");
	CHECK(len == 31);
	free(sql);
	sql = NULL;
	/* TDS 7.1 has no ALL_HEADERS: the text starts right away. */
	CHECK(tds_sqlbatch_parse(b + 8 + 22, n - 8 - 22, TDS_V71, &sql, &len, err, sizeof(err)) == 0);
	CHECK_STR(sql, "\nselect 'foo' as 'bar'\n        ");
	free(sql);
	sql = NULL;
	/* Bad ALL_HEADERS: total past the end, header length past the total, odd text length. */
	b[8] = 0xff;
	CHECK(tds_sqlbatch_parse(b + 8, n - 8, TDS_V74, &sql, &len, err, sizeof(err)) == -1);
	n = hex(spec_batch, b, sizeof(b));
	b[12] = 0x40;
	CHECK(tds_sqlbatch_parse(b + 8, n - 8, TDS_V74, &sql, &len, err, sizeof(err)) == -1);
	n = hex(spec_batch, b, sizeof(b));
	CHECK(tds_sqlbatch_parse(b + 8, n - 9, TDS_V74, &sql, &len, err, sizeof(err)) == -1);
	CHECK(sql == NULL);
}

/* Wrap a payload in one reply packet the way tdsd.c does, to compare with the spec's packets. */
static void
packetize(const struct tds_buf *payload, uint8_t *out)
{
	struct tds_header h = { .type = TDS_PKT_REPLY, .status = TDS_STATUS_EOM, .packet_id = 1 };

	h.length = (uint16_t)(payload->len + 8);
	tds_header_put(out, &h);
	memcpy(out + 8, payload->data, payload->len);
}

static void
test_login_response(void)
{
	static const uint8_t progver[4] = { 0, 0, 0, 0 };
	uint8_t		 want[512], got[512];
	size_t		 n = hex(spec_login_response, want, sizeof(want));
	struct tds_buf	 b;

	tds_buf_init(&b, 4096);
	CHECK(tds_put_envchange(&b, TDS_ENV_DATABASE, "master", "master") == 0);
	CHECK(tds_put_message(&b, TDS_V72, TDS_TOK_INFO, 5701, 2, 0, "Changed database context to 'master'.", "", "",
	    0) == 0);
	CHECK(tds_put_envchange_collation(&b, tds_collation_default) == 0);
	CHECK(tds_put_envchange(&b, TDS_ENV_LANGUAGE, "us_english", "") == 0);
	CHECK(tds_put_envchange(&b, TDS_ENV_PACKETSIZE, "4096", "4096") == 0);
	CHECK(tds_put_message(&b, TDS_V72, TDS_TOK_INFO, 5703, 1, 0, "Changed language setting to us_english.", "",
	    "", 0) == 0);
	CHECK(tds_put_loginack(&b, TDS_V72, "Microsoft SQL Server", progver) == 0);
	CHECK(tds_put_done(&b, TDS_V72, TDS_DONE_FINAL, 0, 0) == 0);
	CHECK(b.len + 8 == n);
	if (b.len + 8 == n) {
		packetize(&b, got);
		CHECK(memcmp(got, want, n) == 0);
	}
	tds_buf_free(&b);

	/* TDS 7.1: LineNumber 2 bytes, DONE count 4 bytes, LOGINACK 0x07010000. */
	tds_buf_init(&b, 4096);
	CHECK(tds_put_message(&b, TDS_V71, TDS_TOK_ERROR, 18456, 1, 14, "x", "", "", 1) == 0);
	CHECK(b.len == 3 + 4 + 1 + 1 + 2 + 2 + 1 + 1 + 2);
	tds_buf_reset(&b);
	CHECK(tds_put_done(&b, TDS_V71, TDS_DONE_ERROR, 0, 0) == 0);
	CHECK(b.len == 9);
	tds_buf_reset(&b);
	CHECK(tds_put_loginack(&b, TDS_V71, "", progver) == 0);
	CHECK(b.len == 3 + 1 + 4 + 1 + 4 && b.data[4] == 0x07 && b.data[5] == 0x01 && b.data[6] == 0 && b.data[7] == 0);
	tds_buf_free(&b);
}

static void
test_batch_response(void)
{
	uint8_t		 want[256], got[256];
	size_t		 n = hex(spec_batch_response, want, sizeof(want));
	struct tds_buf	 b;
	struct tds_column c = { .type = TDS_TYPE_BIGVARCHAR, .maxlen = 3, .flags = 0x0020, .name = "bar" };

	tds_buf_init(&b, 4096);
	CHECK(tds_put_colmetadata(&b, TDS_V72, &c, 1) == 0);
	CHECK(tds_put_u8(&b, TDS_TOK_ROW) == 0);
	CHECK(tds_put_string(&b, &c, "foo", 3) == 0);
	CHECK(tds_put_done(&b, TDS_V72, TDS_DONE_COUNT, TDS_CURCMD_SELECT, 1) == 0);
	CHECK(b.len + 8 == n);
	if (b.len + 8 == n) {
		packetize(&b, got);
		CHECK(memcmp(got, want, n) == 0);
	}
	/* Over maxlen is refused rather than sent wrong. */
	CHECK(tds_put_string(&b, &c, "fooo", 4) == -1);
	tds_buf_free(&b);
}

static void
test_values(void)
{
	struct tds_buf	 b;
	struct tds_column nv = { .type = TDS_TYPE_NVARCHAR, .maxlen = 8000, .flags = 1 };
	struct tds_column mx = { .type = TDS_TYPE_NVARCHAR, .maxlen = 0xffff, .flags = 1 };
	struct tds_column i4 = { .type = TDS_TYPE_INTN, .size = 4 }, i8 = { .type = TDS_TYPE_INTN, .size = 8 };
	struct tds_column bit = { .type = TDS_TYPE_BITN, .size = 1 }, fl = { .type = TDS_TYPE_FLTN, .size = 8 };
	const char	*s = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";	/* é € 😀 */
	char		*back = NULL, err[64];
	size_t		 len;

	tds_buf_init(&b, 1 << 20);
	CHECK(tds_utf16_units(s, strlen(s)) == 4);
	CHECK(tds_put_string(&b, &nv, s, strlen(s)) == 0);
	CHECK(b.len == 2 + 8 && b.data[0] == 8 && b.data[2] == 0xe9 && b.data[4] == 0xac && b.data[5] == 0x20 &&
	    b.data[6] == 0x3d && b.data[7] == 0xd8);
	CHECK(tds_utf16_to_utf8(b.data + 2, 8, &back, &len, err, sizeof(err)) == 0);
	CHECK_STR(back, s);
	free(back);
	/* Unpaired surrogate → U+FFFD; odd length refused. */
	CHECK(tds_utf16_to_utf8((const uint8_t *)"\x00\xd8" "a\x00", 4, &back, &len, err, sizeof(err)) == 0);
	CHECK_STR(back, "\xef\xbf\xbd" "a");
	free(back);
	CHECK(tds_utf16_to_utf8((const uint8_t *)"a\x00b", 3, &back, &len, err, sizeof(err)) == -1);
	/* Invalid UTF-8 out → U+FFFD. */
	CHECK(tds_utf16_units("\xff", 1) == 1);

	tds_buf_reset(&b);
	CHECK(tds_put_string(&b, &mx, "ab", 2) == 0);	/* PLP: total 4, chunk 4, "a\0b\0", terminator */
	CHECK(b.len == 8 + 4 + 4 + 4 && b.data[0] == 4 && b.data[8] == 4 && b.data[12] == 'a' && b.data[16] == 0);
	tds_buf_reset(&b);
	CHECK(tds_put_null(&b, &mx) == 0 && b.len == 8 && b.data[0] == 0xff && b.data[7] == 0xff);
	tds_buf_reset(&b);
	CHECK(tds_put_null(&b, &nv) == 0 && b.len == 2 && b.data[0] == 0xff && b.data[1] == 0xff);
	tds_buf_reset(&b);
	CHECK(tds_put_null(&b, &i4) == 0 && b.len == 1 && b.data[0] == 0);
	tds_buf_reset(&b);
	CHECK(tds_put_int(&b, &i4, -2) == 0 && b.len == 5 && b.data[0] == 4 && b.data[1] == 0xfe && b.data[4] == 0xff);
	tds_buf_reset(&b);
	CHECK(tds_put_int(&b, &i8, 1LL << 40) == 0 && b.len == 9 && b.data[0] == 8 && b.data[6] == 1);
	tds_buf_reset(&b);
	CHECK(tds_put_int(&b, &bit, 5) == 0 && b.len == 2 && b.data[0] == 1 && b.data[1] == 1);
	tds_buf_reset(&b);
	CHECK(tds_put_float(&b, &fl, 1.0) == 0 && b.len == 9 && b.data[0] == 8 && b.data[8] == 0x3f &&
	    b.data[7] == 0xf0);
	tds_buf_free(&b);

	/* NTEXT (7.1): COLMETADATA = count, UserType(2) Flags(2) 0x63 LONGLEN collation TableName(US_VARCHAR)
	 * name; value = textptr len 16 + ptr + timestamp(8) + LONGLEN + UTF-16LE; NULL = one 0 byte.  7.2+ has
	 * no NTEXT here (NVARCHAR(MAX) instead). */
	{
		struct tds_column nt = { .type = TDS_TYPE_NTEXT, .flags = 1, .name = "m" };

		tds_buf_reset(&b);
		CHECK(tds_put_colmetadata(&b, TDS_V71, &nt, 1) == 0);
		CHECK(b.len == 1 + 2 + 2 + 2 + 1 + 4 + 5 + 2 + 1 + 2 && b.data[7] == TDS_TYPE_NTEXT);
		CHECK(tds_put_colmetadata(&b, TDS_V74, &nt, 1) == -1);
		tds_buf_reset(&b);
		CHECK(tds_put_string(&b, &nt, "ab", 2) == 0);
		CHECK(b.len == 1 + 16 + 8 + 4 + 4 && b.data[0] == 16 && b.data[25] == 4 && b.data[29] == 'a');
		tds_buf_reset(&b);
		CHECK(tds_put_null(&b, &nt) == 0 && b.len == 1 && b.data[0] == 0);
		tds_buf_free(&b);
	}

}

/* The buffer's cap, and DATETIME parsing. */
static void
test_cap_datetime(void)
{
	struct tds_buf	 b;
	int32_t		 days;
	uint32_t	 ticks;

	/* The cap holds: nothing past max, overflow sticks. */
	tds_buf_init(&b, 4);
	CHECK(tds_put_u32le(&b, 1) == 0);
	CHECK(tds_put_u8(&b, 1) == -1 && b.overflow && b.len == 4);
	tds_buf_free(&b);

	CHECK(tds_datetime_parse("1900-01-01", &days, &ticks) == 0 && days == 0 && ticks == 0);
	CHECK(tds_datetime_parse("2024-02-29 12:00:00", &days, &ticks) == 0 && days == 45349 && ticks == 12960000);
	CHECK(tds_datetime_parse("2024-02-29T12:00:00.5Z", &days, &ticks) == 0 && ticks == 12960150);
	CHECK(tds_datetime_parse("1753-01-01", &days, &ticks) == 0 && days == -53690);
	CHECK(tds_datetime_parse("2023-02-29", &days, &ticks) == -1);
	CHECK(tds_datetime_parse("1700-01-01", &days, &ticks) == -1);
	CHECK(tds_datetime_parse("2024-01-01 25:00:00", &days, &ticks) == -1);
	CHECK(tds_datetime_parse("hello", &days, &ticks) == -1);
	CHECK(tds_datetime_parse("2024-01-01x", &days, &ticks) == -1);
}

int
main(void)
{
	test_prelogin();
	test_encrypt_answer();
	test_login7();
	test_sqlbatch();
	test_login_response();
	test_batch_response();
	test_values();
	test_cap_datetime();
	return check_done("test_tds");
}
