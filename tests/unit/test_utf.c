/*
 * test_utf.c — lib/utf.c: strict UTF-8 (overlongs, surrogates, beyond U+10FFFF, truncation), UTF-8 to UTF-16
 * with its unit cap, and UTF-16LE to UTF-8 with lone surrogates refused (strict) or replaced by U+FFFD
 * (lenient).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "utf.h"

static void
test_utf8(void)
{
	uint32_t cp;
	uint16_t u[4];
	char o[4];

	CHECK(utf8_next((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A');
	CHECK(utf8_next((const unsigned char *)"\xc3\xa9", 2, &cp) == 2 && cp == 0xe9);
	CHECK(utf8_next((const unsigned char *)"\xc3\xa9", 1, &cp) == 0);		/* truncated */
	CHECK(utf8_next((const unsigned char *)"\xc0\x80", 2, &cp) == 0);		/* overlong */
	CHECK(utf8_next((const unsigned char *)"\xe0\x80\x80", 3, &cp) == 0);
	CHECK(utf8_next((const unsigned char *)"\xed\xa0\x80", 3, &cp) == 0);	/* surrogate */
	CHECK(utf8_next((const unsigned char *)"\xf4\x90\x80\x80", 4, &cp) == 0);	/* > U+10FFFF */
	CHECK(utf8_next((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp) == 4 && cp == 0x1f600);
	CHECK(utf8_next((const unsigned char *)"", 0, &cp) == 0);
	CHECK(utf8_put(0x20ac, o) == 3 && memcmp(o, "\xe2\x82\xac", 3) == 0);
	CHECK(utf8_to_utf16("a\xf0\x9f\x98\x80", u, 3) == 3 && u[1] == 0xd83d && u[2] == 0xde00);
	CHECK(utf8_to_utf16("a\xf0\x9f\x98\x80", u, 2) == -1);		/* the pair does not fit */
	CHECK(utf8_to_utf16("abc", NULL, 3) == 3 && utf8_to_utf16("abcd", NULL, 3) == -1);
	CHECK(utf8_to_utf16("\xc3", NULL, 9) == -1);
}

static void
test_utf16(void)
{
	static const uint8_t pair[] = { 0x3d, 0xd8, 0x00, 0xde, 'a', 0 };
	static const uint8_t hi_end[] = { 'a', 0, 0x3d, 0xd8 };
	static const uint8_t lo[] = { 0x00, 0xde, 'a', 0 };
	static const uint8_t hi_hi[] = { 0x3d, 0xd8, 0x3d, 0xd8 };
	char err[128], *s;
	size_t n;

	CHECK((s = utf16le_to_utf8(pair, 3, UTF_STRICT, &n, err, sizeof(err))) != NULL && n == 5 &&
	    strcmp(s, "\xf0\x9f\x98\x80" "a") == 0);
	free(s);
	CHECK(utf16le_to_utf8(hi_end, 2, UTF_STRICT, &n, err, sizeof(err)) == NULL);
	CHECK_STR(err, "invalid UTF-16: lone high surrogate 0xd83d");
	CHECK(utf16le_to_utf8(lo, 2, UTF_STRICT, NULL, err, sizeof(err)) == NULL);
	CHECK_STR(err, "invalid UTF-16: lone low surrogate 0xde00");
	CHECK(utf16le_to_utf8(hi_hi, 2, UTF_STRICT, NULL, err, sizeof(err)) == NULL);
	CHECK_STR(err, "invalid UTF-16: lone high surrogate 0xd83d");
	CHECK((s = utf16le_to_utf8(hi_hi, 2, UTF_LENIENT, &n, err, sizeof(err))) != NULL && n == 6 &&
	    strcmp(s, "\xef\xbf\xbd\xef\xbf\xbd") == 0);
	free(s);
	CHECK((s = utf16le_to_utf8(lo, 2, UTF_LENIENT, &n, err, sizeof(err))) != NULL &&
	    strcmp(s, "\xef\xbf\xbd" "a") == 0);
	free(s);
	CHECK((s = utf16le_to_utf8(pair, 0, UTF_STRICT, &n, err, sizeof(err))) != NULL && n == 0 && s[0] == 0);
	free(s);
	CHECK(utf16le_to_utf8(pair, SIZE_MAX / 2, UTF_STRICT, &n, err, sizeof(err)) == NULL);
	CHECK_STR(err, "string too long");
}

int
main(void)
{
	test_utf8();
	test_utf16();
	return check_done("utf");
}
