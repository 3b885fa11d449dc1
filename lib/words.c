/*
 * words.c — the tables behind words.h.  Used by scanner/verdict.c (state words), lib/store_query.c (the API's
 * and /metrics' vocabularies), lib/store_jobs.c and scanner/fix.c (which outcomes are good), lib/store_fleet.c,
 * lib/store_query*.c and scanner/inventory.c (the cloud kinds and why they are not scanned).  Pure data.
 */
#include "words.h"

#include <string.h>

const char *const words_states[WORDS_NSTATES] = {
	"healthy", "missing", "empty", "mismatch", "no_key", "denied", "unreachable", "unknown",
};
const char *const words_jobstates[WORDS_NJOBSTATES] = {
	"queued", "running", "done", "failed", "cancelled",
};
const char *const words_outcomes[WORDS_NOUTCOMES] = {
	"written", "already_correct", "would_write", "refused", "access_denied", "unreachable",
	"verify_failed", "restored",
};

const char *const words_cloud[WORDS_NCLOUD] = {
	"cloud_dp", "cmg",
};

/*
 * Why, in one line (doc/FIELD-NOTES.md, "Cloud distribution points and cloud management gateways"): both are
 * Azure services, not Windows servers of the estate; neither answers Remote Registry or SMB, and neither runs
 * the PXE responder whose IssuingCertificateList this tool checks.
 */
const char *
words_cloud_reason(const char *kind)
{
	static const char *const why[WORDS_NCLOUD] = {
		"cloud distribution point (an Azure service): no Remote Registry, no SMB, no PXE; nothing to "
		    "check or fix",
		"cloud management gateway (an Azure service): no Remote Registry, no SMB, no PXE; nothing to "
		    "check or fix",
	};
	int i = words_index(words_cloud, WORDS_NCLOUD, kind);

	return i < 0 ? NULL : why[i];
}

int
words_index(const char *const *v, size_t n, const char *word)
{
	size_t i;

	if (word == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], word) == 0)
			return (int)i;
	return -1;
}

int
words_outcome_good(const char *outcome)
{
	static const char *const good[] = { "written", "already_correct", "would_write", "restored" };

	return words_index(good, sizeof(good) / sizeof(good[0]), outcome) >= 0;
}
