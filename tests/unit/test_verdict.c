/*
 * test_verdict.c — scanner/verdict.c: every pinned state from registry facts + site expectation, precedence,
 * affected flag, value hashing (util_multisz_sha256) and the word table.
 */
#include "check.h"
#include "util.h"
#include "verdict.h"

#include <stdio.h>
#include <string.h>

static const char *V1 = "CERTDATA;CN=Lab Issuing CA 01, DC=lab, DC=test;2C6F";

static struct verdict
eval(enum verdict_reg reg, uint32_t type, size_t raw_len, int decoded, const char *const *elems, size_t n,
    enum verdict_expect ex, const char *exp_sha, const char *reason)
{
	struct verdict_in in;
	struct verdict v;

	memset(&in, 0, sizeof(in));
	in.reg = reg;
	in.reason = reason;
	in.type = type;
	in.raw_len = raw_len;
	in.decoded = decoded;
	in.elems = elems;
	in.nelems = n;
	in.expect = ex;
	in.expected_sha256 = exp_sha;
	verdict_eval(&in, &v);
	return v;
}

/* The site's hash (Value1 split as REG.exe does) and the empty list's; both written into the caller's buffers. */
static void
check_hashes(char exp[UTIL_SHA256_HEX], char empty_sha[UTIL_SHA256_HEX])
{
	char other[UTIL_SHA256_HEX];
	const char *good[] = { V1 };
	const char *two[] = { "A", "B" };

	CHECK(verdict_expected_sha256(V1, exp) == 0);
	util_multisz_sha256(good, 1, other);
	CHECK_STR(exp, other);			/* one element: Value1 without "\0" */
	CHECK(verdict_expected_sha256("A\\0B", other) == 0);
	{
		char h2[UTIL_SHA256_HEX];

		util_multisz_sha256(two, 2, h2);
		CHECK_STR(other, h2);		/* REG.exe split on the two characters \0 */
	}
	util_multisz_sha256(NULL, 0, empty_sha);
}

/* What the host holds against a present site value: healthy, mismatch, empty, missing. */
static void
check_value_states(const char *exp, const char *empty_sha)
{
	const char *good[] = { V1 };
	const char *bad[] = { "something else" };
	const char *two[] = { "A", "B" };
	struct verdict v;

	/* healthy */
	v = eval(VERDICT_REG_VALUE, 7, 100, 1, good, 1, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_HEALTHY && !v.affected && v.has_sha);
	CHECK_STR(v.value_sha256, exp);
	CHECK_STR(v.reason, "");
	/* mismatch: another list, another type, undecodable bytes */
	v = eval(VERDICT_REG_VALUE, 7, 30, 1, bad, 1, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_MISMATCH && v.affected && v.has_sha);
	CHECK(strcmp(v.value_sha256, exp) != 0);
	v = eval(VERDICT_REG_VALUE, 1, 30, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_MISMATCH && v.affected && !v.has_sha);
	v = eval(VERDICT_REG_VALUE, 7, 31, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_MISMATCH && v.affected && !v.has_sha);
	v = eval(VERDICT_REG_VALUE, 7, 100, 1, two, 2, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_MISMATCH);
	/* empty: a REG_MULTI_SZ with no element, or 0 bytes of any type */
	v = eval(VERDICT_REG_VALUE, 7, 4, 1, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_EMPTY && v.affected && v.has_sha);
	CHECK_STR(v.value_sha256, empty_sha);
	v = eval(VERDICT_REG_VALUE, 1, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_EMPTY && v.affected);
	/* missing */
	v = eval(VERDICT_REG_VALUE_ABSENT, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_MISSING && v.affected && !v.has_sha);
}

/*
 * Notes: a REG_MULTI_SZ that Windows reads as the site's list but whose bytes are not canonical is healthy with
 * a note (the encodings from scanner/rrp_codec.c, rrp_multisz_read); another type is a mismatch naming it.
 */
static void
check_notes(const char *exp)
{
	static const char *const encs[] = { "single final NUL", "no final NUL",
	    "data after the terminating empty string" };
	const char *good[] = { V1 };
	const char *bad[] = { "something else" };
	struct verdict_in in;
	struct verdict v;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.reg = VERDICT_REG_VALUE;
	in.type = 7;
	in.raw_len = 100;
	in.decoded = 1;
	in.elems = good;
	in.nelems = 1;
	in.expect = VERDICT_EXPECT_PRESENT;
	in.expected_sha256 = exp;
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_HEALTHY);
	CHECK_STR(v.note, "");
	in.encoding = "";
	verdict_eval(&in, &v);
	CHECK_STR(v.note, "");
	for (i = 0; i < 3; i++) {
		char want[VERDICT_NOTE_MAX];

		in.encoding = encs[i];
		verdict_eval(&in, &v);
		CHECK(v.state == VERDICT_HEALTHY && !v.affected && v.has_sha);
		CHECK_STR(v.value_sha256, exp);
		snprintf(want, sizeof(want), "non-canonical REG_MULTI_SZ encoding (%s)", encs[i]);
		CHECK_STR(v.note, want);
	}
	/* another list, non-canonically encoded: still a mismatch, with the note */
	in.elems = bad;
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_MISMATCH);
	CHECK_STR(v.note, "non-canonical REG_MULTI_SZ encoding (data after the terminating empty string)");
	/* other types: mismatch naming the type */
	in.encoding = NULL;
	in.decoded = 0;
	in.elems = NULL;
	in.nelems = 0;
	in.type = 1;
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_MISMATCH && v.affected);
	CHECK_STR(v.note, "value type REG_SZ (1), not REG_MULTI_SZ");
	in.type = 3;
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_MISMATCH);
	CHECK_STR(v.note, "value type REG_BINARY (3), not REG_MULTI_SZ");
	in.type = 99;
	verdict_eval(&in, &v);
	CHECK_STR(v.note, "value type an unknown type (99), not REG_MULTI_SZ");
	/* undecodable REG_MULTI_SZ: mismatch with the reason */
	in.type = 7;
	in.decode_err = "REG_MULTI_SZ has an odd byte length (5)";
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_MISMATCH);
	CHECK_STR(v.note, "REG_MULTI_SZ not decoded: REG_MULTI_SZ has an odd byte length (5)");
	/* no note without a value */
	in.reg = VERDICT_REG_VALUE_ABSENT;
	verdict_eval(&in, &v);
	CHECK(v.state == VERDICT_MISSING);
	CHECK_STR(v.note, "");
}

/* Host facts before the site's expectation, unreachable reasons, unknown, garbage, a reason cut to size. */
static void
check_host_facts(const char *exp)
{
	const char *good[] = { V1 };
	struct verdict v;
	int i;

	/* host facts win over the site's expectation */
	for (i = 0; i < 3; i++) {
		enum verdict_expect ex = (enum verdict_expect)i;

		v = eval(VERDICT_REG_KEY_ABSENT, 0, 0, 0, NULL, 0, ex, ex == VERDICT_EXPECT_PRESENT ? exp : NULL, NULL);
		CHECK(v.state == VERDICT_NO_KEY && !v.affected);
		v = eval(VERDICT_REG_DENIED, 0, 0, 0, NULL, 0, ex, ex == VERDICT_EXPECT_PRESENT ? exp : NULL, NULL);
		CHECK(v.state == VERDICT_DENIED && !v.affected);
		v = eval(VERDICT_REG_UNREACHABLE, 0, 0, 0, NULL, 0, ex, NULL, "refused");
		CHECK(v.state == VERDICT_UNREACHABLE && !v.affected);
		CHECK_STR(v.reason, "refused");
	}
	v = eval(VERDICT_REG_UNREACHABLE, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK_STR(v.reason, "error");
	v = eval(VERDICT_REG_UNREACHABLE, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, "");
	CHECK_STR(v.reason, "error");
	v = eval(VERDICT_REG_FAILED, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_UNREACHABLE);
	CHECK_STR(v.reason, "werror");
	/* unknown: nothing to compare against (absent or ambiguous site value), whatever the host holds */
	v = eval(VERDICT_REG_VALUE, 7, 100, 1, good, 1, VERDICT_EXPECT_AMBIGUOUS, NULL, NULL);
	CHECK(v.state == VERDICT_UNKNOWN && !v.affected && v.has_sha);
	v = eval(VERDICT_REG_VALUE_ABSENT, 0, 0, 0, NULL, 0, VERDICT_EXPECT_ABSENT, NULL, NULL);
	CHECK(v.state == VERDICT_UNKNOWN && !v.affected);
	v = eval(VERDICT_REG_VALUE, 7, 4, 1, NULL, 0, VERDICT_EXPECT_ABSENT, NULL, NULL);
	CHECK(v.state == VERDICT_UNKNOWN);
	/* PRESENT without a usable hash is unknown, never healthy */
	v = eval(VERDICT_REG_VALUE, 7, 100, 1, good, 1, VERDICT_EXPECT_PRESENT, NULL, NULL);
	CHECK(v.state == VERDICT_UNKNOWN);
	v = eval(VERDICT_REG_VALUE, 7, 100, 1, good, 1, VERDICT_EXPECT_PRESENT, "abc", NULL);
	CHECK(v.state == VERDICT_UNKNOWN);
	/* garbage registry outcome */
	v = eval((enum verdict_reg)99, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp, NULL);
	CHECK(v.state == VERDICT_UNKNOWN);
	/* a very long reason is cut, NUL-terminated */
	v = eval(VERDICT_REG_UNREACHABLE, 0, 0, 0, NULL, 0, VERDICT_EXPECT_PRESENT, exp,
	    "a reason much longer than the thirty-two byte buffer holds");
	CHECK(strlen(v.reason) == sizeof(v.reason) - 1);
}

/* The word table: names, parsing, the affected states. */
static void
check_words(void)
{
	enum verdict_state s;
	int i;

	CHECK_STR(verdict_state_str(VERDICT_HEALTHY), "healthy");
	CHECK_STR(verdict_state_str(VERDICT_NO_KEY), "no_key");
	CHECK_STR(verdict_state_str(VERDICT_UNREACHABLE), "unreachable");
	CHECK_STR(verdict_state_str((enum verdict_state)42), "unknown");
	{
		static const char *words[] = { "healthy", "missing", "empty", "mismatch", "no_key", "denied",
		    "unreachable", "unknown" };

		for (i = 0; i < 8; i++) {
			CHECK(verdict_state_parse(words[i], &s) == 0 && (int)s == i);
			CHECK(verdict_is_affected(s) == (i >= 1 && i <= 3));
		}
	}
	CHECK(verdict_state_parse("Healthy", &s) == -1);
	CHECK(verdict_state_parse("", &s) == -1);
}

int
main(void)
{
	char exp[UTIL_SHA256_HEX], empty_sha[UTIL_SHA256_HEX];

	check_hashes(exp, empty_sha);
	check_value_states(exp, empty_sha);
	check_host_facts(exp);
	check_notes(exp);
	check_words();
	return check_done("test_verdict");
}
