/*
 * fuzz_logparse.c — libFuzzer target for scanner/logparse.c.  The first input byte picks the flags (format
 * forced or detected, whole file or tail); the rest is the log buffer, fed to the SMSPXE classifier, the CertMgr
 * walker and the per-host lookup.  Asserts the invariants callers rely on: counts within caps, evidence sorted
 * and bounded, every string NUL-terminated within its array.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logparse.h"

static int
denied_cb(const char *fqdn, const struct logparse_record *r, void *arg)
{
	size_t *n = arg;

	assert(strlen(fqdn) > 0 && strlen(fqdn) < LOGPARSE_FQDN_MAX);
	assert(strlen(r->message) == r->message_len && r->message_len < LOGPARSE_MSG_MAX);
	assert(strlen(r->raw) == r->raw_len && r->raw_len < LOGPARSE_RAW_MAX);
	(*n)++;
	return 0;
}

static void
check_evset(const struct logparse_evset *s)
{
	size_t i;

	assert(s->n <= LOGPARSE_EVIDENCE_MAX);
	for (i = 0; i < s->n; i++) {
		const struct logparse_evidence *e = &s->ev[i];

		assert(memchr(e->message, '\0', sizeof(e->message)) != NULL);
		assert(memchr(e->raw, '\0', sizeof(e->raw)) != NULL);
		assert(memchr(e->component, '\0', sizeof(e->component)) != NULL);
		assert(memchr(e->iso, '\0', sizeof(e->iso)) != NULL);
		assert(e->time_ok || e->iso[0] == '\0');
		/* a local time (no bias) never claims UTC: no iso, its text without 'Z' */
		assert(memchr(e->local, '\0', sizeof(e->local)) != NULL);
		assert(!e->local_time || (!e->time_ok && e->local[0] != '\0' && strchr(e->local, 'Z') == NULL));
		assert(e->local_time || e->local[0] == '\0');
		if (i > 0) {
			const struct logparse_evidence *p = &s->ev[i - 1];

			assert(p->kind <= e->kind);
			if (p->kind == e->kind && p->time_ok && e->time_ok)
				assert(p->time >= e->time);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct logparse_pxe pxe;
	static struct logparse_certmgr_hit hit;
	unsigned flags;
	char err[128];
	size_t n = 0;

	if (size < 1)
		return 0;
	flags = data[0] & (LOGPARSE_F_WHOLE | LOGPARSE_F_CCM | LOGPARSE_F_SITE);
	data++, size--;

	logparse_pxe_init(&pxe);
	assert(logparse_smspxe((const char *)data, size, flags, &pxe, err, sizeof(err)) == 0);
	assert(pxe.stats.records <= LOGPARSE_MAX_RECORDS);
	assert(pxe.stats.records + pxe.stats.malformed <= size);
	assert(pxe.stats.torn <= pxe.stats.records);
	assert(pxe.stats.local_time + pxe.stats.bad_time <= pxe.stats.records);
	assert((size_t)pxe.cert_errors <= pxe.stats.records);
	assert(pxe.last_error_ok || pxe.last_error_iso[0] == '\0');
	check_evset(&pxe.evidence);

	assert(logparse_certmgr((const char *)data, size, flags, denied_cb, &n, NULL, err, sizeof(err)) == 0);
	assert(logparse_certmgr_host((const char *)data, size, flags, "dp1.contoso.com", &hit, err,
	    sizeof(err)) == 0);
	assert((size_t)hit.count <= n);
	check_evset(&hit.evidence);
	return 0;
}
