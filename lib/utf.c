/*
 * utf.c — the conversions behind utf.h.  Called by scanner/rrp_codec.c (registry names and REG_MULTI_SZ
 * elements, strict both ways) and scanner/logparse.c (UTF-16LE log files, lenient; its UTF-8 validation and
 * Windows-1252 fallback).  UTF-16 pairs: a high surrogate (D800-DBFF) followed by a low one (DC00-DFFF)
 * is one code point from U+10000; anything else in D800-DFFF is a lone surrogate.  No state.
 */
#include "utf.h"

#include <stdlib.h>

#include "util.h"

size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		c = s[0];
		len = 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) || (len == 4 && (c < 0x10000 ||
	    c > 0x10ffff)))
		return 0;
	if (cp != NULL)
		*cp = c;
	return len;
}

size_t
utf8_put(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

long
utf8_to_utf16(const char *s, uint16_t *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, left = 0, k;
	uint32_t cp;

	while (p[left] != '\0')
		left++;
	while (left > 0) {
		if ((k = utf8_next(p, left, &cp)) == 0)
			return -1;
		p += k;
		left -= k;
		if (cp >= 0x10000) {
			if (n + 2 > cap)
				return -1;
			if (out != NULL) {
				cp -= 0x10000;
				out[n] = (uint16_t)(0xd800 | (cp >> 10));
				out[n + 1] = (uint16_t)(0xdc00 | (cp & 0x3ff));
			}
			n += 2;
		} else {
			if (n + 1 > cap)
				return -1;
			if (out != NULL)
				out[n] = (uint16_t)cp;
			n++;
		}
	}
	return (long)n;
}

static uint32_t
unit(const uint8_t *p, size_t i)
{
	return p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
}

/* The code point at unit *i (advanced past it), or -1 with err on a lone surrogate in strict mode. */
static long
utf16_next(const uint8_t *p, size_t m, size_t *i, enum utf_mode mode, char *err, size_t errlen)
{
	uint32_t u = unit(p, *i), lo;

	(*i)++;
	if (u < 0xd800 || u > 0xdfff)
		return u;
	if (u <= 0xdbff && *i < m && (lo = unit(p, *i)) >= 0xdc00 && lo <= 0xdfff) {
		(*i)++;
		return 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (mode == UTF_LENIENT)
		return 0xfffd;
	util_err(err, errlen, "invalid UTF-16: lone %s surrogate 0x%04x", u <= 0xdbff ? "high" : "low", u);
	return -1;
}

char *
utf16le_to_utf8(const uint8_t *p, size_t m, enum utf_mode mode, size_t *outlen, char *err, size_t errlen)
{
	char *s;
	size_t i = 0, o = 0;
	long cp;

	if (m > (SIZE_MAX - 1) / 3) {		/* one unit: at most 3 bytes; a pair: 4 */
		util_err(err, errlen, "string too long");
		return NULL;
	}
	if ((s = malloc(m * 3 + 1)) == NULL) {
		util_err(err, errlen, "out of memory");
		return NULL;
	}
	while (i < m) {
		if ((cp = utf16_next(p, m, &i, mode, err, errlen)) < 0) {
			free(s);
			return NULL;
		}
		o += utf8_put((uint32_t)cp, s + o);
	}
	s[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return s;
}
