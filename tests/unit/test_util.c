/*
 * test_util.c — lib/util.c: ISO time round trip, hex, SHA-256 against the FIPS 180-2 "abc" vector, the
 * canonical multi-string hash, and REG.exe's split of Value1 on the two-character sequence "\0".
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "util.h"

int
main(void)
{
	char iso[UTIL_ISO_LEN], hex[UTIL_SHA256_HEX], h2[UTIL_SHA256_HEX], **v;
	unsigned char bin[4];
	time_t t;
	long n;

	util_iso_time(1700000000, iso);
	CHECK_STR(iso, "2023-11-14T22:13:20Z");
	CHECK(util_iso_parse(iso, &t) == 0 && t == 1700000000);
	CHECK(util_iso_parse("2023-11-14 22:13:20", &t) == -1);
	CHECK(util_iso_parse("2023-11-14T22:13:20Zjunk", &t) == -1);

	util_hex("\x00\xff\x10", 3, hex);
	CHECK_STR(hex, "00ff10");
	CHECK(util_unhex("00fF10", bin, sizeof(bin)) == 3 && bin[1] == 0xff);
	CHECK(util_unhex("0g", bin, sizeof(bin)) == -1);
	CHECK(util_unhex("abc", bin, sizeof(bin)) == -1);
	CHECK(util_unhex("0011223344", bin, sizeof(bin)) == -1);	/* over cap */

	util_sha256_hex("abc", 3, hex);
	CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

	/* multi-string hash = SHA-256 of "a\0bc\0" */
	{
		const char *elems[] = { "a", "bc" };

		util_multisz_sha256(elems, 2, hex);
		util_sha256_hex("a\0bc\0", 5, h2);
		CHECK_STR(hex, h2);
		util_multisz_sha256(elems, 0, hex);
		util_sha256_hex("", 0, h2);
		CHECK_STR(hex, h2);
	}

	/* REG.exe split: literal backslash-zero separates elements; empty ones vanish */
	n = util_split_value1("CERT-A", &v);
	CHECK(n == 1 && strcmp(v[0], "CERT-A") == 0);
	util_strv_free(v, (size_t)n);
	n = util_split_value1("one\\0two\\0\\0three\\0", &v);
	CHECK(n == 3 && strcmp(v[0], "one") == 0 && strcmp(v[1], "two") == 0 && strcmp(v[2], "three") == 0);
	util_strv_free(v, (size_t)n);
	n = util_split_value1("", &v);
	CHECK(n == 0);
	util_strv_free(v, 0);
	n = util_split_value1("a\\1b\\", &v);	/* other escapes are literal text */
	CHECK(n == 1 && strcmp(v[0], "a\\1b\\") == 0);
	util_strv_free(v, (size_t)n);

	CHECK(util_strlcpy(iso, "0123456789012345678901234", 5) == 25 && strcmp(iso, "0123") == 0);
	CHECK(util_err(NULL, 0, "x") == -1);
	return check_done("util");
}
