/*
 * tds.c — the TDS 7.0–7.4 wire codec of the dpfleet-tdsd fixture (MS-TDS 2.2).  Decoders take a packet or a
 * reassembled message payload as untrusted bytes and check every offset and length against the bytes actually
 * present before reading; encoders append tokens to a struct tds_buf whose hard cap is fixed at creation.  The
 * version differences handled here: UserType is 2 bytes before 7.2 and 4 after; DONE row counts 4 vs 8 bytes;
 * INFO/ERROR line numbers 2 vs 4 bytes; collations in type info from 7.1; ALL_HEADERS in SQLBatch and
 * NVARCHAR(MAX) as PLP from 7.2.  Called by tdsd.c and sqlexec.c, the unit tests and the fuzz target; it keeps
 * no state and does no I/O.
 *
 * Length: over 600 lines because it is one codec: every token's decoder and encoder share the bounded readers
 * and the version rules above, which would otherwise have to be exported.
 */
#include "tds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const uint8_t tds_collation_default[5] = { 0x09, 0x04, 0xd0, 0x00, 0x34 };

void
tds_buf_init(struct tds_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
tds_buf_free(struct tds_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void
tds_buf_reset(struct tds_buf *b)
{
	b->len = 0;
	b->overflow = 0;
}

static int
buf_reserve(struct tds_buf *b, size_t n)
{
	size_t	 want, nalloc;
	uint8_t	*p;

	if (b->overflow || n > b->max || b->len > b->max - n) {
		b->overflow = 1;
		return -1;
	}
	want = b->len + n;
	if (want <= b->alloc)
		return 0;
	nalloc = b->alloc ? b->alloc : 256;
	while (nalloc < want)
		nalloc = nalloc > b->max / 2 ? b->max : nalloc * 2;
	if ((p = realloc(b->data, nalloc)) == NULL) {
		b->overflow = 1;
		return -1;
	}
	b->data = p;
	b->alloc = nalloc;
	return 0;
}

int
tds_put_bytes(struct tds_buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) == -1)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int
tds_put_u8(struct tds_buf *b, uint8_t v)
{
	return tds_put_bytes(b, &v, 1);
}

int
tds_put_u16le(struct tds_buf *b, uint16_t v)
{
	uint8_t p[2] = { v & 0xff, v >> 8 };

	return tds_put_bytes(b, p, 2);
}

int
tds_put_u16be(struct tds_buf *b, uint16_t v)
{
	uint8_t p[2] = { v >> 8, v & 0xff };

	return tds_put_bytes(b, p, 2);
}

int
tds_put_u32le(struct tds_buf *b, uint32_t v)
{
	uint8_t p[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	return tds_put_bytes(b, p, 4);
}

int
tds_put_u64le(struct tds_buf *b, uint64_t v)
{
	if (tds_put_u32le(b, (uint32_t)v) == -1)
		return -1;
	return tds_put_u32le(b, (uint32_t)(v >> 32));
}

static uint16_t
rd16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Decode one code point from UTF-8; invalid → U+FFFD consuming one byte. */
static uint32_t
utf8_next(const unsigned char *s, size_t len, size_t *i)
{
	unsigned char	 c = s[*i];
	uint32_t	 cp, min;
	size_t		 n, k;

	if (c < 0x80) {
		(*i)++;
		return c;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 1; cp = c & 0x1f; min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 2; cp = c & 0x0f; min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 3; cp = c & 0x07; min = 0x10000;
	} else {
		(*i)++;
		return 0xfffd;
	}
	if (len - *i <= n) {
		(*i)++;
		return 0xfffd;
	}
	for (k = 1; k <= n; k++) {
		if ((s[*i + k] & 0xc0) != 0x80) {
			(*i)++;
			return 0xfffd;
		}
		cp = cp << 6 | (s[*i + k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
		(*i)++;
		return 0xfffd;
	}
	*i += n + 1;
	return cp;
}

size_t
tds_utf16_units(const char *utf8, size_t len)
{
	size_t i = 0, units = 0;

	while (i < len)
		units += utf8_next((const unsigned char *)utf8, len, &i) >= 0x10000 ? 2 : 1;
	return units;
}

long
tds_put_ucs2(struct tds_buf *b, const char *utf8, size_t len)
{
	size_t	 i = 0;
	long	 units = 0;
	uint32_t cp;

	while (i < len) {
		cp = utf8_next((const unsigned char *)utf8, len, &i);
		if (cp >= 0x10000) {
			cp -= 0x10000;
			if (tds_put_u16le(b, (uint16_t)(0xd800 + (cp >> 10))) == -1 ||
			    tds_put_u16le(b, (uint16_t)(0xdc00 + (cp & 0x3ff))) == -1)
				return -1;
			units += 2;
		} else {
			if (tds_put_u16le(b, (uint16_t)cp) == -1)
				return -1;
			units++;
		}
	}
	return units;
}

int
tds_utf16_to_utf8(const uint8_t *p, size_t nbytes, char **out, size_t *outlen, char *err, size_t errlen)
{
	char	*s;
	size_t	 i, o = 0, nunits;
	uint32_t cp;
	uint16_t u, u2;

	if (nbytes % 2)
		return util_err(err, errlen, "odd UTF-16 byte count %zu", nbytes);
	nunits = nbytes / 2;
	/* At most 3 UTF-8 bytes per UTF-16 unit (a surrogate pair: 4 bytes for 2 units). */
	if (nunits > (SIZE_MAX - 1) / 3)
		return util_err(err, errlen, "string too long");
	if ((s = malloc(nunits * 3 + 1)) == NULL)
		return util_err(err, errlen, "out of memory");
	for (i = 0; i < nunits; i++) {
		u = rd16le(p + 2 * i);
		cp = u;
		if (u >= 0xd800 && u <= 0xdbff && i + 1 < nunits) {
			u2 = rd16le(p + 2 * (i + 1));
			if (u2 >= 0xdc00 && u2 <= 0xdfff) {
				cp = 0x10000 + ((uint32_t)(u - 0xd800) << 10) + (u2 - 0xdc00);
				i++;
			} else
				cp = 0xfffd;
		} else if (u >= 0xd800 && u <= 0xdfff)
			cp = 0xfffd;
		if (cp == 0)
			cp = 0xfffd;
		if (cp < 0x80)
			s[o++] = (char)cp;
		else if (cp < 0x800) {
			s[o++] = (char)(0xc0 | cp >> 6);
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else if (cp < 0x10000) {
			s[o++] = (char)(0xe0 | cp >> 12);
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		} else {
			s[o++] = (char)(0xf0 | cp >> 18);
			s[o++] = (char)(0x80 | ((cp >> 12) & 0x3f));
			s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
			s[o++] = (char)(0x80 | (cp & 0x3f));
		}
	}
	s[o] = '\0';
	*out = s;
	if (outlen)
		*outlen = o;
	return 0;
}

int
tds_header_parse(const uint8_t p[TDS_HEADER_LEN], struct tds_header *h, char *err, size_t errlen)
{
	h->type = p[0];
	h->status = p[1];
	h->length = (uint16_t)(p[2] << 8 | p[3]);
	h->spid = (uint16_t)(p[4] << 8 | p[5]);
	h->packet_id = p[6];
	h->window = p[7];
	if (h->length < TDS_HEADER_LEN)
		return util_err(err, errlen, "packet length %u below header size", h->length);
	if (h->length > TDS_PACKET_MAX)
		return util_err(err, errlen, "packet length %u over %u", h->length, TDS_PACKET_MAX);
	return 0;
}

void
tds_header_put(uint8_t p[TDS_HEADER_LEN], const struct tds_header *h)
{
	p[0] = h->type;
	p[1] = h->status;
	p[2] = h->length >> 8;
	p[3] = h->length & 0xff;
	p[4] = h->spid >> 8;
	p[5] = h->spid & 0xff;
	p[6] = h->packet_id;
	p[7] = h->window;
}

int
tds_prelogin_parse(const uint8_t *p, size_t n, struct tds_prelogin *pl, char *err, size_t errlen)
{
	size_t	 i = 0;
	uint8_t	 opt;
	uint16_t off, len;

	memset(pl, 0, sizeof(*pl));
	for (;;) {
		if (i >= n)
			return util_err(err, errlen, "PRELOGIN: no terminator");
		opt = p[i];
		if (opt == 0xff)
			break;
		if (n - i < 5)
			return util_err(err, errlen, "PRELOGIN: truncated option table");
		off = (uint16_t)(p[i + 1] << 8 | p[i + 2]);
		len = (uint16_t)(p[i + 3] << 8 | p[i + 4]);
		if (off > n || len > n - off)
			return util_err(err, errlen, "PRELOGIN: option %u out of bounds", opt);
		switch (opt) {
		case 0x00:
			if (len < 6)
				return util_err(err, errlen, "PRELOGIN: short VERSION");
			memcpy(pl->version, p + off, 6);
			pl->has_version = 1;
			break;
		case 0x01:
			if (len < 1)
				return util_err(err, errlen, "PRELOGIN: short ENCRYPTION");
			pl->encryption = p[off];
			pl->has_encryption = 1;
			break;
		case 0x04:
			if (len < 1)
				return util_err(err, errlen, "PRELOGIN: short MARS");
			pl->mars = p[off];
			pl->has_mars = 1;
			break;
		default:
			break;
		}
		i += 5;
	}
	return 0;
}

int
tds_prelogin_reply(struct tds_buf *b, uint8_t encryption)
{
	/* Five options (5 bytes each) + terminator = 26 bytes of table, then the data. */
	static const uint8_t version[6] = { 16, 0, 0x03, 0xe8, 0, 0 };	/* 16.0.1000.0 */
	uint16_t off = 26;
	int	 r = 0;

	r |= tds_put_u8(b, 0x00); r |= tds_put_u16be(b, off); r |= tds_put_u16be(b, 6); off += 6;
	r |= tds_put_u8(b, 0x01); r |= tds_put_u16be(b, off); r |= tds_put_u16be(b, 1); off += 1;
	r |= tds_put_u8(b, 0x02); r |= tds_put_u16be(b, off); r |= tds_put_u16be(b, 1); off += 1;
	r |= tds_put_u8(b, 0x03); r |= tds_put_u16be(b, off); r |= tds_put_u16be(b, 0);
	r |= tds_put_u8(b, 0x04); r |= tds_put_u16be(b, off); r |= tds_put_u16be(b, 1);
	r |= tds_put_u8(b, 0xff);
	r |= tds_put_bytes(b, version, 6);
	r |= tds_put_u8(b, encryption);
	r |= tds_put_u8(b, 0x00);	/* INSTOPT: "" (valid) */
	r |= tds_put_u8(b, 0x00);	/* MARS off */
	return r ? -1 : 0;
}

int
tds_prelogin_encrypt_answer(uint8_t client, uint8_t server)
{
	if (client > TDS_PRELOGIN_ENCRYPT_REQ)
		return -1;
	if (server == TDS_PRELOGIN_ENCRYPT_NOT_SUP)
		return TDS_PRELOGIN_ENCRYPT_NOT_SUP;	/* a client that insists then ends it itself */
	if (client == TDS_PRELOGIN_ENCRYPT_NOT_SUP)
		return server == TDS_PRELOGIN_ENCRYPT_OFF ? TDS_PRELOGIN_ENCRYPT_NOT_SUP : -1;
	if (client == TDS_PRELOGIN_ENCRYPT_ON || client == TDS_PRELOGIN_ENCRYPT_REQ)
		return TDS_PRELOGIN_ENCRYPT_ON;
	return server == TDS_PRELOGIN_ENCRYPT_OFF ? TDS_PRELOGIN_ENCRYPT_OFF : TDS_PRELOGIN_ENCRYPT_REQ;
}

uint8_t
tds_password_obfuscate(uint8_t c)
{
	return (uint8_t)(((c << 4) | (c >> 4)) ^ 0xa5);
}

uint8_t
tds_password_deobfuscate(uint8_t c)
{
	c ^= 0xa5;
	return (uint8_t)((c << 4) | (c >> 4));
}

uint32_t
tds_version_negotiate(uint32_t client)
{
	switch (client) {
	case TDS_V70: case TDS_V71: case TDS_V71R1: case TDS_V72: case TDS_V73A: case TDS_V73B: case TDS_V74:
		return client;
	default:
		break;
	}
	switch (client >> 24) {
	case 0x70: return TDS_V70;
	case 0x71: return TDS_V71R1;
	case 0x72: return TDS_V72;
	case 0x73: return TDS_V73B;
	default:   return TDS_V74;	/* newer 7.x clients get 7.4 */
	}
}

/* Copy one LOGIN7 string field (offset/length in characters) into dst as UTF-8. */
static int
login_field(const uint8_t *p, size_t n, size_t hdr, const char *what, int password, char *dst,
    char *err, size_t errlen)
{
	uint16_t off = rd16le(p + hdr), cch = rd16le(p + hdr + 2);
	uint8_t	 tmp[256];
	char	*s = NULL;
	size_t	 i, slen;

	dst[0] = '\0';
	if (cch == 0)
		return 0;
	if (cch > 128)
		return util_err(err, errlen, "LOGIN7: %s longer than 128 characters", what);
	if (off > n || (size_t)cch * 2 > n - off)
		return util_err(err, errlen, "LOGIN7: %s out of bounds", what);
	memcpy(tmp, p + off, (size_t)cch * 2);
	if (password)
		for (i = 0; i < (size_t)cch * 2; i++)
			tmp[i] = tds_password_deobfuscate(tmp[i]);
	if (tds_utf16_to_utf8(tmp, (size_t)cch * 2, &s, &slen, err, errlen) == -1) {
		explicit_bzero(tmp, sizeof(tmp));
		return -1;
	}
	explicit_bzero(tmp, sizeof(tmp));
	/* 128 units → at most 384 bytes + NUL, the size of every field. */
	memcpy(dst, s, slen + 1);
	explicit_bzero(s, slen);
	free(s);
	return 0;
}

/*
 * The SSPI field of an fIntSecurity LOGIN7 (MS-TDS 2.2.6.4): ibSSPI/cbSSPI at 78, and from 7.2 cbSSPILong at
 * 90 when cbSSPI is 0xFFFF.  n is at least the fixed part.  0, or -1 + err when empty or out of bounds.
 */
static int
login_sspi(const uint8_t *p, size_t n, struct tds_login7 *l, char *err, size_t errlen)
{
	size_t off = rd16le(p + 78), len = rd16le(p + 80);

	if (len == 0xffff && (l->tds_version >> 24) >= 0x72)
		len = rd32le(p + 90);
	if (len == 0)
		return util_err(err, errlen, "LOGIN7: integrated security without an SSPI token");
	if (off > n || len > n - off)
		return util_err(err, errlen, "LOGIN7: SSPI token (%zu bytes at %zu) out of bounds", len, off);
	l->integrated = 1;
	l->sspi_off = off;
	l->sspi_len = len;
	return 0;
}

int
tds_login7_parse(const uint8_t *p, size_t n, struct tds_login7 *l, char *err, size_t errlen)
{
	uint32_t length;
	size_t	 fixed;
	uint16_t ibext, cbext;

	memset(l, 0, sizeof(*l));
	if (n < 36)
		return util_err(err, errlen, "LOGIN7: %zu bytes, shorter than the fixed part", n);
	length = rd32le(p);
	if (length > n || length < 36)
		return util_err(err, errlen, "LOGIN7: Length %u does not match the %zu bytes received", length, n);
	n = length;
	l->tds_version = rd32le(p + 4);
	l->packet_size = rd32le(p + 8);
	l->option_flags3 = p[27];
	if ((l->tds_version >> 24) < 0x70 || (l->tds_version >> 24) > 0x7f)
		return util_err(err, errlen, "LOGIN7: unsupported TDS version 0x%08x", l->tds_version);
	fixed = (l->tds_version >> 24) == 0x70 ? 86 : 94;
	if (n < fixed)
		return util_err(err, errlen, "LOGIN7: %zu bytes, shorter than the %zu-byte fixed part", n, fixed);
	if (p[25] & 0x80 && login_sspi(p, n, l, err, errlen) == -1)	/* OptionFlags2.fIntSecurity */
		return -1;
	if (login_field(p, n, 36, "HostName", 0, l->hostname, err, errlen) == -1 ||
	    login_field(p, n, 40, "UserName", 0, l->username, err, errlen) == -1 ||
	    login_field(p, n, 44, "Password", 1, l->password, err, errlen) == -1 ||
	    login_field(p, n, 48, "AppName", 0, l->appname, err, errlen) == -1 ||
	    login_field(p, n, 52, "ServerName", 0, l->servername, err, errlen) == -1 ||
	    login_field(p, n, 64, "Language", 0, l->language, err, errlen) == -1 ||
	    login_field(p, n, 68, "Database", 0, l->database, err, errlen) == -1)
		return -1;
	/* 7.4: OptionFlags3.fExtension → ibExtension points at a DWORD offset of the FeatureExt block. */
	if (l->tds_version >= TDS_V74 && (l->option_flags3 & 0x10)) {
		ibext = rd16le(p + 56);
		cbext = rd16le(p + 58);
		if (cbext != 0) {
			uint32_t feat;

			if (cbext < 4 || ibext > n || 4 > n - ibext)
				return util_err(err, errlen, "LOGIN7: extension pointer out of bounds");
			feat = rd32le(p + ibext);
			if (feat >= n)
				return util_err(err, errlen, "LOGIN7: FeatureExt out of bounds");
			l->has_extension = 1;
		}
	}
	return 0;
}

void
tds_login7_clear(struct tds_login7 *l)
{
	explicit_bzero(l->password, sizeof(l->password));
}

int
tds_sqlbatch_parse(const uint8_t *p, size_t n, uint32_t tds_version, char **sql, size_t *sqllen,
    char *err, size_t errlen)
{
	uint32_t total, hlen;
	size_t	 i;

	if (TDS_LEVEL(tds_version) >= 0x702) {
		if (n < 4)
			return util_err(err, errlen, "SQLBatch: truncated ALL_HEADERS");
		total = rd32le(p);
		if (total < 4 || total > n)
			return util_err(err, errlen, "SQLBatch: ALL_HEADERS length %u out of bounds", total);
		for (i = 4; i < total; i += hlen) {
			if (total - i < 6)
				return util_err(err, errlen, "SQLBatch: truncated header");
			hlen = rd32le(p + i);
			if (hlen < 6 || hlen > total - i)
				return util_err(err, errlen, "SQLBatch: header length %u out of bounds", hlen);
		}
		p += total;
		n -= total;
	}
	return tds_utf16_to_utf8(p, n, sql, sqllen, err, errlen);
}

size_t
tds_utf8_prefix(const char *utf8, size_t len, size_t max_units)
{
	size_t i = 0, prev, units = 0, u;

	while (i < len) {
		prev = i;
		u = utf8_next((const unsigned char *)utf8, len, &i) >= 0x10000 ? 2 : 1;
		if (units + u > max_units)
			return prev;
		units += u;
	}
	return len;
}

/* B_VARCHAR: one length byte (characters, at most 255) + UTF-16LE; longer strings are cut at 255 units. */
static int
put_bvarchar(struct tds_buf *b, const char *s)
{
	size_t	 len, cut;

	if (s == NULL)
		s = "";
	len = strlen(s);
	cut = tds_utf8_prefix(s, len, 255);
	if (tds_put_u8(b, (uint8_t)tds_utf16_units(s, cut)) == -1)
		return -1;
	return tds_put_ucs2(b, s, cut) == -1 ? -1 : 0;
}

/* Patch a 2-byte little-endian length at `at` to cover everything after it. */
static int
patch_len16(struct tds_buf *b, size_t at)
{
	size_t n;

	if (b->overflow)
		return -1;
	n = b->len - at - 2;
	if (n > 0xffff)
		return -1;
	b->data[at] = n & 0xff;
	b->data[at + 1] = (uint8_t)(n >> 8);
	return 0;
}

int
tds_put_envchange(struct tds_buf *b, uint8_t type, const char *newval, const char *oldval)
{
	size_t at;

	if (tds_put_u8(b, TDS_TOK_ENVCHANGE) == -1)
		return -1;
	at = b->len;
	if (tds_put_u16le(b, 0) == -1 || tds_put_u8(b, type) == -1 || put_bvarchar(b, newval) == -1 ||
	    put_bvarchar(b, oldval) == -1)
		return -1;
	return patch_len16(b, at);
}

int
tds_put_envchange_collation(struct tds_buf *b, const uint8_t coll[5])
{
	if (tds_put_u8(b, TDS_TOK_ENVCHANGE) == -1 || tds_put_u16le(b, 8) == -1 ||
	    tds_put_u8(b, TDS_ENV_COLLATION) == -1 || tds_put_u8(b, 5) == -1 || tds_put_bytes(b, coll, 5) == -1 ||
	    tds_put_u8(b, 0) == -1)
		return -1;
	return 0;
}

int
tds_put_message(struct tds_buf *b, uint32_t tds_version, uint8_t token, int32_t number, uint8_t state,
    uint8_t cls, const char *msg, const char *server, const char *proc, int32_t line)
{
	size_t	 at, mlen = strlen(msg), units;

	/* US_VARCHAR: cut very long messages to keep the token length within 16 bits. */
	if (mlen > 4000)
		mlen = 4000;
	units = tds_utf16_units(msg, mlen);
	if (tds_put_u8(b, token) == -1)
		return -1;
	at = b->len;
	if (tds_put_u16le(b, 0) == -1 || tds_put_u32le(b, (uint32_t)number) == -1 || tds_put_u8(b, state) == -1 ||
	    tds_put_u8(b, cls) == -1 || tds_put_u16le(b, (uint16_t)units) == -1 ||
	    tds_put_ucs2(b, msg, mlen) == -1 || put_bvarchar(b, server) == -1 || put_bvarchar(b, proc) == -1)
		return -1;
	if (TDS_LEVEL(tds_version) >= 0x702) {
		if (tds_put_u32le(b, (uint32_t)line) == -1)
			return -1;
	} else if (tds_put_u16le(b, (uint16_t)line) == -1)
		return -1;
	return patch_len16(b, at);
}

int
tds_put_loginack(struct tds_buf *b, uint32_t tds_version, const char *progname, const uint8_t progver[4])
{
	size_t	 at;
	uint32_t v = tds_version;

	/* LOGINACK carries the version big-endian; 7.0 and 7.1 servers report 0x07000000 / 0x07010000. */
	if (v == TDS_V70)
		v = 0x07000000u;
	else if (v == TDS_V71)
		v = 0x07010000u;
	if (tds_put_u8(b, TDS_TOK_LOGINACK) == -1)
		return -1;
	at = b->len;
	if (tds_put_u16le(b, 0) == -1 || tds_put_u8(b, 1) == -1 ||
	    tds_put_u16be(b, (uint16_t)(v >> 16)) == -1 || tds_put_u16be(b, (uint16_t)v) == -1 ||
	    put_bvarchar(b, progname) == -1 || tds_put_bytes(b, progver, 4) == -1)
		return -1;
	return patch_len16(b, at);
}

int
tds_put_sspi(struct tds_buf *b, const uint8_t *p, size_t n)
{
	if (n > UINT16_MAX)
		return -1;
	if (tds_put_u8(b, TDS_TOK_SSPI) == -1 || tds_put_u16le(b, (uint16_t)n) == -1 || tds_put_bytes(b, p, n) == -1)
		return -1;
	return 0;
}

int
tds_put_featureextack_empty(struct tds_buf *b)
{
	if (tds_put_u8(b, TDS_TOK_FEATUREEXTACK) == -1 || tds_put_u8(b, 0xff) == -1)
		return -1;
	return 0;
}

int
tds_put_done(struct tds_buf *b, uint32_t tds_version, uint16_t status, uint16_t curcmd, uint64_t rows)
{
	if (tds_put_u8(b, TDS_TOK_DONE) == -1 || tds_put_u16le(b, status) == -1 || tds_put_u16le(b, curcmd) == -1)
		return -1;
	if (TDS_LEVEL(tds_version) >= 0x702)
		return tds_put_u64le(b, rows);
	return tds_put_u32le(b, (uint32_t)(rows > 0xffffffffu ? 0xffffffffu : rows));
}

int
tds_put_colmetadata(struct tds_buf *b, uint32_t tds_version, const struct tds_column *cols, size_t ncols)
{
	size_t	 i;
	unsigned lvl = TDS_LEVEL(tds_version);
	int	 r;

	if (ncols > 4096)
		return -1;
	if (tds_put_u8(b, TDS_TOK_COLMETADATA) == -1 || tds_put_u16le(b, (uint16_t)ncols) == -1)
		return -1;
	for (i = 0; i < ncols; i++) {
		const struct tds_column *c = &cols[i];

		r = lvl >= 0x702 ? tds_put_u32le(b, 0) : tds_put_u16le(b, 0);
		r |= tds_put_u16le(b, c->flags);
		r |= tds_put_u8(b, c->type);
		switch (c->type) {
		case TDS_TYPE_INTN:
		case TDS_TYPE_BITN:
		case TDS_TYPE_FLTN:
		case TDS_TYPE_DATETIMN:
			r |= tds_put_u8(b, c->size);
			break;
		case TDS_TYPE_NVARCHAR:
		case TDS_TYPE_BIGVARCHAR:
			if (c->maxlen == 0xffff && lvl < 0x702)
				return -1;
			r |= tds_put_u16le(b, c->maxlen);
			if (lvl >= 0x701)
				r |= tds_put_bytes(b, tds_collation_default, 5);
			break;
		case TDS_TYPE_NTEXT:
			/* TDS 7.0/7.1 long text: LONGLEN max, collation (7.1), TableName as US_VARCHAR (empty). */
			if (lvl >= 0x702)
				return -1;
			r |= tds_put_u32le(b, 0x7ffffffe);
			if (lvl >= 0x701)
				r |= tds_put_bytes(b, tds_collation_default, 5);
			r |= tds_put_u16le(b, 0);
			break;
		default:
			return -1;
		}
		r |= put_bvarchar(b, c->name);
		if (r)
			return -1;
	}
	return 0;
}

static int
is_plp(const struct tds_column *c)
{
	return (c->type == TDS_TYPE_NVARCHAR || c->type == TDS_TYPE_BIGVARCHAR) && c->maxlen == 0xffff;
}

int
tds_put_null(struct tds_buf *b, const struct tds_column *c)
{
	if (is_plp(c))
		return tds_put_u64le(b, UINT64_MAX);
	if (c->type == TDS_TYPE_NTEXT)
		return tds_put_u8(b, 0);	/* no text pointer */
	if (c->type == TDS_TYPE_NVARCHAR || c->type == TDS_TYPE_BIGVARCHAR)
		return tds_put_u16le(b, 0xffff);
	return tds_put_u8(b, 0);
}

int
tds_put_int(struct tds_buf *b, const struct tds_column *c, int64_t v)
{
	if (c->type == TDS_TYPE_BITN)
		return tds_put_u8(b, 1) == -1 || tds_put_u8(b, v ? 1 : 0) == -1 ? -1 : 0;
	if (c->type != TDS_TYPE_INTN)
		return -1;
	switch (c->size) {
	case 1: return tds_put_u8(b, 1) == -1 || tds_put_u8(b, (uint8_t)v) == -1 ? -1 : 0;
	case 2: return tds_put_u8(b, 2) == -1 || tds_put_u16le(b, (uint16_t)v) == -1 ? -1 : 0;
	case 4: return tds_put_u8(b, 4) == -1 || tds_put_u32le(b, (uint32_t)v) == -1 ? -1 : 0;
	case 8: return tds_put_u8(b, 8) == -1 || tds_put_u64le(b, (uint64_t)v) == -1 ? -1 : 0;
	default: return -1;
	}
}

int
tds_put_float(struct tds_buf *b, const struct tds_column *c, double v)
{
	uint64_t u;
	float	 f;
	uint32_t u4;

	if (c->type != TDS_TYPE_FLTN)
		return -1;
	if (c->size == 4) {
		f = (float)v;
		memcpy(&u4, &f, 4);
		return tds_put_u8(b, 4) == -1 || tds_put_u32le(b, u4) == -1 ? -1 : 0;
	}
	memcpy(&u, &v, 8);
	return tds_put_u8(b, 8) == -1 || tds_put_u64le(b, u) == -1 ? -1 : 0;
}

int
tds_put_datetime(struct tds_buf *b, int32_t days, uint32_t ticks)
{
	if (tds_put_u8(b, 8) == -1 || tds_put_u32le(b, (uint32_t)days) == -1 || tds_put_u32le(b, ticks) == -1)
		return -1;
	return 0;
}

int
tds_put_string(struct tds_buf *b, const struct tds_column *c, const char *s, size_t len)
{
	size_t	 nbytes;

	if (c->type == TDS_TYPE_NVARCHAR || c->type == TDS_TYPE_NTEXT) {
		nbytes = tds_utf16_units(s, len);
		if (nbytes > SIZE_MAX / 2)
			return -1;
		nbytes *= 2;
	} else if (c->type == TDS_TYPE_BIGVARCHAR)
		nbytes = len;
	else
		return -1;
	if (c->type == TDS_TYPE_NTEXT) {
		/* TextPointer (16 bytes, opaque), Timestamp (8), LONGLEN data. */
		static const uint8_t textptr[16] = { 0x64, 0x70, 0x66, 0x6c, 0x65, 0x65, 0x74 };

		if (nbytes > 0x7ffffffe || tds_put_u8(b, 16) == -1 || tds_put_bytes(b, textptr, 16) == -1 ||
		    tds_put_u64le(b, 0) == -1 || tds_put_u32le(b, (uint32_t)nbytes) == -1)
			return -1;
		return tds_put_ucs2(b, s, len) == -1 ? -1 : 0;
	}
	if (is_plp(c)) {
		/* Known total length, one chunk, terminator. */
		if (nbytes > UINT32_MAX || tds_put_u64le(b, nbytes) == -1)
			return -1;
		if (nbytes) {
			if (tds_put_u32le(b, (uint32_t)nbytes) == -1)
				return -1;
			if (c->type == TDS_TYPE_NVARCHAR ? tds_put_ucs2(b, s, len) == -1 : tds_put_bytes(b, s, len) == -1)
				return -1;
		}
		return tds_put_u32le(b, 0);
	}
	if (nbytes > c->maxlen)
		return -1;
	if (tds_put_u16le(b, (uint16_t)nbytes) == -1)
		return -1;
	if (c->type == TDS_TYPE_NVARCHAR)
		return tds_put_ucs2(b, s, len) == -1 ? -1 : 0;
	return tds_put_bytes(b, s, len);
}

/* Days from 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t	 era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int
digits(const char *s, int n, int *v)
{
	int i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
tds_datetime_parse(const char *s, int32_t *days, uint32_t *ticks)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int	 y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, i, leap;
	size_t	 len = strlen(s);
	const char *p;
	uint64_t t;

	if (len < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d))
		return -1;
	p = s + 10;
	if (*p == ' ' || *p == 'T') {
		if (strlen(p) < 9 || digits(p + 1, 2, &h) || p[3] != ':' || digits(p + 4, 2, &mi) || p[6] != ':' ||
		    digits(p + 7, 2, &sec))
			return -1;
		p += 9;
		if (*p == '.') {
			int scale = 100;

			for (p++, i = 0; *p >= '0' && *p <= '9'; p++, i++) {
				ms += (*p - '0') * scale;
				scale /= 10;
			}
			if (i == 0)
				return -1;
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1753 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || sec > 59)
		return -1;
	*days = (int32_t)(days_from_civil(y, (unsigned)mo, (unsigned)d) - days_from_civil(1900, 1, 1));
	t = ((uint64_t)h * 3600 + (uint64_t)mi * 60 + (uint64_t)sec) * 300 + ((uint64_t)ms * 300 + 500) / 1000;
	if (t >= 25920000)	/* 23:59:59.999 rounds up past midnight: keep it in the day */
		t = 25919999;
	*ticks = (uint32_t)t;
	return 0;
}
