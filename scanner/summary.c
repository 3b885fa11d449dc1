/*
 * summary.c — the `--once` table (see summary.h).  Called by scan.c after the run is stored; reads only the
 * rows it is given and lib/reason.h's next steps.  Sites print sorted by code, hosts in the given order.
 */
#include "summary.h"
#include "reason.h"

#include <stdlib.h>
#include <string.h>

static int
cmp_site(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Verdicts per site and state (skipped when the site list cannot be allocated). */
static void
print_sites(FILE *out, const struct summary *sm)
{
	const char **codes = NULL;
	size_t i, j, ncodes = 0;
	int s;
	long n;

	if (sm->n == 0 || (codes = calloc(sm->n, sizeof(*codes))) == NULL)
		return;
	for (i = 0; i < sm->n; i++) {
		for (j = 0; j < ncodes && strcmp(codes[j], sm->h[i].site) != 0; j++)
			;
		if (j == ncodes)
			codes[ncodes++] = sm->h[i].site;
	}
	qsort(codes, ncodes, sizeof(*codes), cmp_site);
	fprintf(out, "\n%-6s", "site");
	for (s = 0; s < SUMMARY_NSTATES; s++)
		fprintf(out, " %11s", verdict_state_str((enum verdict_state)s));
	fprintf(out, "\n");
	for (j = 0; j < ncodes; j++) {
		fprintf(out, "%-6s", codes[j]);
		for (s = 0; s < SUMMARY_NSTATES; s++) {
			for (n = 0, i = 0; i < sm->n; i++)
				n += sm->h[i].reported && (int)sm->h[i].state == s &&
				    strcmp(sm->h[i].site, codes[j]) == 0;
			fprintf(out, " %11ld", n);
		}
		fprintf(out, "\n");
	}
	free(codes);
}

/* The table's last part: every unreachable host with its reason (lib/reason.h) and attempts. */
static void
print_unreachable(FILE *out, const struct summary *sm)
{
	const struct reason *re;
	size_t i;

	fprintf(out, "\nunreachable hosts: %ld\n", sm->unreachable);
	if (sm->unreachable > 0)
		fprintf(out, "%-40s %-6s %-16s %8s %s\n", "fqdn", "site", "reason", "attempts", "next step");
	for (i = 0; i < sm->n; i++) {
		if (!sm->h[i].reported || sm->h[i].state != VERDICT_UNREACHABLE)
			continue;
		re = reason_lookup(sm->h[i].reason);
		fprintf(out, "%-40s %-6s %-16s %8d %s\n", sm->h[i].fqdn, sm->h[i].site, sm->h[i].reason,
		    sm->h[i].attempts, re != NULL ? re->next_step : "-");
	}
}

void
summary_print(FILE *out, const struct summary *sm)
{
	const struct summary_host *h;
	size_t i;
	int s;

	fprintf(out, "scan %lld: %ld hosts, %ld affected, %ld unreachable, %ld needed more than one attempt, "
	    "%.1f s%s\n", (long long)sm->scan_id, sm->hosts, sm->affected, sm->unreachable, sm->retried,
	    sm->duration_ms / 1000.0, sm->stopped ? " (stopped)" : "");
	fprintf(out, "\n%-12s %6s\n", "state", "hosts");
	for (s = 0; s < SUMMARY_NSTATES; s++)
		fprintf(out, "%-12s %6ld\n", verdict_state_str((enum verdict_state)s), sm->counts[s]);
	print_sites(out, sm);
	fprintf(out, "\naffected hosts: %ld\n", sm->affected);
	if (sm->affected > 0)
		fprintf(out, "%-40s %-6s %-10s %8s %s\n", "fqdn", "site", "state", "pxe_errs", "certmgr_denied");
	for (i = 0; i < sm->n; i++) {
		h = &sm->h[i];
		if (h->reported && verdict_is_affected(h->state))
			fprintf(out, "%-40s %-6s %-10s %8ld %s\n", h->fqdn, h->site, verdict_state_str(h->state),
			    h->pxe_cert_errors, h->denied ? (h->denied_at[0] ? h->denied_at : "yes") : "-");
	}
	print_unreachable(out, sm);
	fflush(out);
}
