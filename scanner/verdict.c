/*
 * verdict.c — turn a host's registry read and its site's expected value into the state words of lib/words.c.
 *
 * Called by scan.c in the parent for every host result (the worker only reports facts).  Precedence, first
 * match wins: unreachable (transport) → denied → no_key (host facts, true whatever the site expects) →
 * unknown (site value absent or ambiguous: nothing to compare against) → missing → empty (0 bytes, or a
 * REG_MULTI_SZ with no element) → mismatch (not REG_MULTI_SZ, undecodable, or another list) → healthy.
 * Values compare by util_multisz_sha256 of their UTF-8 elements, the same hash the store keeps per site:
 * the elements a Windows reader sees (scanner/rrp_codec.c, rrp_multisz_read), so a value whose bytes differ
 * from the canonical encoding only by how they end (Microsoft Learn, "Registry value types") is healthy, with a
 * note naming the encoding.  A value of another type is a mismatch whose note names the type.
 */
#include "verdict.h"
#include "words.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(VERDICT_UNKNOWN + 1 == WORDS_NSTATES, "lib/words.c lists every verdict state");

const char *
verdict_state_str(enum verdict_state s)
{
	if ((unsigned)s >= WORDS_NSTATES)
		return "unknown";
	return words_states[s];
}

int
verdict_state_parse(const char *word, enum verdict_state *s)
{
	int i = words_index(words_states, WORDS_NSTATES, word);

	if (i < 0)
		return -1;
	*s = (enum verdict_state)i;
	return 0;
}

int
verdict_is_affected(enum verdict_state s)
{
	return s == VERDICT_MISSING || s == VERDICT_EMPTY || s == VERDICT_MISMATCH;
}

int
verdict_expected_sha256(const char *value1, char out[UTIL_SHA256_HEX])
{
	char **elems = NULL;
	long n;

	if ((n = util_split_value1(value1, &elems)) < 0)
		return -1;
	util_multisz_sha256((const char *const *)elems, (size_t)n, out);
	util_strv_free(elems, (size_t)n);
	return 0;
}

static void
set(struct verdict *out, enum verdict_state s, const char *reason)
{
	out->state = s;
	out->affected = verdict_is_affected(s);
	util_strlcpy(out->reason, reason ? reason : "", sizeof(out->reason));
}

/* Registry value types (Microsoft Learn, "Registry value types"), by number. */
static const char *
type_name(uint32_t t)
{
	static const char *const names[] = {
		"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
		"REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST", "REG_FULL_RESOURCE_DESCRIPTOR",
		"REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD",
	};

	return t < sizeof(names) / sizeof(names[0]) ? names[t] : "an unknown type";
}

/* The observation note for a value that was read. */
static void
note(const struct verdict_in *in, struct verdict *out)
{
	if (in->reg != VERDICT_REG_VALUE)
		return;
	if (in->type != DPF_REG_MULTI_SZ)
		snprintf(out->note, sizeof(out->note), "value type %s (%u), not REG_MULTI_SZ", type_name(in->type),
		    in->type);
	else if (in->decoded && in->encoding != NULL && in->encoding[0] != '\0')
		snprintf(out->note, sizeof(out->note), "non-canonical REG_MULTI_SZ encoding (%.100s)", in->encoding);
	else if (!in->decoded && in->decode_err != NULL && in->decode_err[0] != '\0')
		snprintf(out->note, sizeof(out->note), "REG_MULTI_SZ not decoded: %.150s", in->decode_err);
}

void
verdict_eval(const struct verdict_in *in, struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	note(in, out);
	if (in->reg == VERDICT_REG_VALUE && in->decoded && (in->nelems == 0 || in->elems != NULL)) {
		util_multisz_sha256(in->elems, in->nelems, out->value_sha256);
		out->has_sha = 1;
	}
	switch (in->reg) {
	case VERDICT_REG_UNREACHABLE:
		set(out, VERDICT_UNREACHABLE, in->reason && in->reason[0] ? in->reason : "error");
		return;
	case VERDICT_REG_FAILED:
		set(out, VERDICT_UNREACHABLE, "werror");
		return;
	case VERDICT_REG_DENIED:
		set(out, VERDICT_DENIED, NULL);
		return;
	case VERDICT_REG_KEY_ABSENT:
		set(out, VERDICT_NO_KEY, NULL);
		return;
	case VERDICT_REG_VALUE_ABSENT:
	case VERDICT_REG_VALUE:
		break;
	default:
		set(out, VERDICT_UNKNOWN, NULL);
		return;
	}
	if (in->expect != VERDICT_EXPECT_PRESENT || in->expected_sha256 == NULL ||
	    strlen(in->expected_sha256) != UTIL_SHA256_HEX - 1) {
		set(out, VERDICT_UNKNOWN, NULL);
		return;
	}
	if (in->reg == VERDICT_REG_VALUE_ABSENT)
		set(out, VERDICT_MISSING, NULL);
	else if (in->raw_len == 0 || (in->type == DPF_REG_MULTI_SZ && in->decoded && in->nelems == 0))
		set(out, VERDICT_EMPTY, NULL);
	else if (in->type != DPF_REG_MULTI_SZ || !in->decoded || !out->has_sha)
		set(out, VERDICT_MISMATCH, NULL);
	else if (strcmp(out->value_sha256, in->expected_sha256) == 0)
		set(out, VERDICT_HEALTHY, NULL);
	else
		set(out, VERDICT_MISMATCH, NULL);
}
