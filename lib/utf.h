/*
 * utf.h — the one UTF-8 / UTF-16LE converter (after SQLite's utf.c): strict UTF-8 decoding, UTF-8 to UTF-16
 * units, UTF-16LE to UTF-8 either strict (a lone surrogate is an error: registry strings, MS-RRP) or lenient
 * (a lone surrogate becomes U+FFFD: log files).  Pure; callers own every buffer.
 */
#ifndef DPFLEET_UTF_H
#define DPFLEET_UTF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Length (1..4) of the valid UTF-8 sequence at s (n bytes available), its code point in *cp (may be NULL);
 * 0 when invalid: overlong forms, surrogates, beyond U+10FFFF, a bad or missing continuation byte.
 */
size_t	 utf8_next(const unsigned char *s, size_t n, uint32_t *cp);

/* Code point cp (<= U+10FFFF, not a surrogate) as UTF-8 into out; returns its length (1..4). */
size_t	 utf8_put(uint32_t cp, char out[4]);

/*
 * NUL-terminated UTF-8 s to UTF-16 units (no NUL added); with out NULL only counts.  The unit count, or -1
 * when s is not valid UTF-8 or needs more than cap units.
 */
long	 utf8_to_utf16(const char *s, uint16_t *out, size_t cap);

enum utf_mode { UTF_STRICT, UTF_LENIENT };

/*
 * m UTF-16LE units at p to a malloc'd NUL-terminated UTF-8 string (caller frees), its length in *outlen
 * (may be NULL).  A NUL unit is copied as a NUL byte.  UTF_STRICT: NULL with "invalid UTF-16: lone high|low
 * surrogate 0x...." in err on a lone surrogate; UTF_LENIENT: it becomes U+FFFD.  NULL with err when m is too
 * large to convert or allocation fails.
 */
char	*utf16le_to_utf8(const uint8_t *p, size_t m, enum utf_mode mode, size_t *outlen, char *err,
	    size_t errlen);

#endif
