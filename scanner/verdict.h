/*
 * verdict.h — one host's state from what its registry said and what its site expects (the state words of lib/words.h).
 *
 * Pure: no I/O, no allocation kept.  Called by scan.c for every host result; unit tested in
 * tests/unit/test_verdict.c.
 */
#ifndef DPFLEET_VERDICT_H
#define DPFLEET_VERDICT_H

#include <stddef.h>
#include <stdint.h>

#include "consts.h"
#include "util.h"

#define VERDICT_NOTE_MAX	200	/* observation note, incl. NUL */

enum verdict_state {
	VERDICT_HEALTHY = 0,	/* value equals the site's expected list */
	VERDICT_MISSING,	/* key present, value absent */
	VERDICT_EMPTY,		/* value present with no element */
	VERDICT_MISMATCH,	/* value differs (other list, other type, or undecodable bytes); a REG_MULTI_SZ
				   is compared as Windows reads it, so an encoding alone never makes a mismatch */
	VERDICT_NO_KEY,		/* HKLM\SOFTWARE\Microsoft\SMS\Security absent */
	VERDICT_DENIED,		/* reading the key gave 0x80070005 */
	VERDICT_UNREACHABLE,	/* with a reason: refused, timeout, deadline, logon_failure, no_route, ... */
	VERDICT_UNKNOWN,	/* the site's expected value is absent or ambiguous */
};

/* What the registry read gave. */
enum verdict_reg {
	VERDICT_REG_VALUE = 1,	/* value present (see type/decoded/elems) */
	VERDICT_REG_VALUE_ABSENT,
	VERDICT_REG_KEY_ABSENT,
	VERDICT_REG_DENIED,
	VERDICT_REG_FAILED,	/* another WERROR: reported as unreachable, reason "werror" */
	VERDICT_REG_UNREACHABLE,	/* reason says why */
};

enum verdict_expect {
	VERDICT_EXPECT_PRESENT = 0,
	VERDICT_EXPECT_ABSENT,
	VERDICT_EXPECT_AMBIGUOUS,
};

struct verdict_in {
	enum verdict_reg	 reg;
	const char		*reason;	/* for VERDICT_REG_UNREACHABLE; NULL/"" → "error" */
	uint32_t		 type;		/* registry type of the value (DPF_REG_MULTI_SZ) */
	size_t			 raw_len;	/* bytes of the value */
	int			 decoded;	/* 1: elems/nelems is the decoded REG_MULTI_SZ */
	const char *const	*elems;
	size_t			 nelems;
	const char		*encoding;	/* decoded: "" or how the bytes are not canonical
						   (rrp_multisz_enc_str); NULL = "" */
	const char		*decode_err;	/* not decoded: why, or NULL */
	enum verdict_expect	 expect;
	const char		*expected_sha256;	/* util_multisz_sha256 of Value1 split; when PRESENT */
};

struct verdict {
	enum verdict_state	 state;
	char			 reason[32];	/* "" unless unreachable */
	int			 affected;	/* state ∈ {missing, empty, mismatch} */
	int			 has_sha;	/* value_sha256 valid (a decoded REG_MULTI_SZ) */
	char			 value_sha256[UTIL_SHA256_HEX];
	char			 note[VERDICT_NOTE_MAX];	/* "" or what else the value showed, whatever the
							   state: a non-canonical encoding, another type,
							   why it did not decode */
};

/* Fill *out from *in.  Never fails: bad input (e.g. PRESENT without a hash) yields unknown. */
void	 verdict_eval(const struct verdict_in *in, struct verdict *out);

/* The word for a state ("healthy", ...); "unknown" for out-of-range values. */
const char *verdict_state_str(enum verdict_state s);
/* Parse a state word; 0 and *s, or -1. */
int	 verdict_state_parse(const char *word, enum verdict_state *s);
/* 1 for missing, empty, mismatch. */
int	 verdict_is_affected(enum verdict_state s);

/* The site's expected hash of a Value1 (split as REG.exe does).  0, or -1 on allocation failure. */
int	 verdict_expected_sha256(const char *value1, char out[UTIL_SHA256_HEX]);

#endif
