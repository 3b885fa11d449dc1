/*
 * credset_plan.c — `dpfleet-scanner -n`'s view of the credential sets (credset.h): which set each host of the
 * stored inventory would use, or past CREDSET_PLAN_LIST_MAX hosts a count per set with the first hosts that
 * have none.  Read-only use of the state DB's last inventory (lib/store_scan.c's targets); the site DB is not
 * asked.  A state DB that does not exist yet is not created: the line says so.
 */
#include "credset.h"
#include "store.h"
#include "store_scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define CREDSET_PLAN_NONE_SHOWN	10	/* hosts without a set named in the summary */

/* The per-set counts of n targets and the first hosts without a set. */
static void
print_summary(FILE *out, const struct config *conf, const struct store_scan_target *tv, size_t n)
{
	long count[CREDSET_COUNT_MAX + 1] = { 0 };
	size_t i, shown = 0;
	int idx;

	for (i = 0; i < n; i++) {
		idx = credset_pick(conf, tv[i].fqdn, tv[i].site);
		count[idx == CREDSET_NONE ? CREDSET_COUNT_MAX : idx]++;
	}
	for (idx = 0; idx < CREDSET_COUNT_MAX; idx++)
		if (credset_valid(conf, idx))
			fprintf(out, "  %-32s %ld hosts\n", credset_name(conf, idx), count[idx]);
	fprintf(out, "  %-32s %ld hosts (unreachable, no_credentials)\n", "(none)", count[CREDSET_COUNT_MAX]);
	for (i = 0; i < n && shown < CREDSET_PLAN_NONE_SHOWN; i++)
		if (credset_pick(conf, tv[i].fqdn, tv[i].site) == CREDSET_NONE) {
			fprintf(out, "    no set: %s (site %s)\n", tv[i].fqdn, tv[i].site);
			shown++;
		}
}

void
credset_plan_print(FILE *out, const struct config *conf)
{
	struct store *st = NULL;
	struct store_scan_target *tv = NULL;
	char err[512];
	size_t i, n = 0;
	int idx;

	fprintf(out, "credential sets:");
	for (idx = 0; idx < CREDSET_COUNT_MAX; idx++)
		if (credset_valid(conf, idx))
			fprintf(out, " %s", credset_name(conf, idx));
	fprintf(out, "%s\n", conf->smb.user[0] == '\0' ? " (no [smb] fallback: unmatched hosts are not contacted)" :
	    "");
	if (access(conf->store.path, F_OK) == -1) {
		fprintf(out, "no inventory yet (%s does not exist): the first run shows each host's set\n",
		    conf->store.path);
		return;
	}
	if (store_open(&st, conf->store.path, err, sizeof(err)) == -1 ||
	    store_scan_targets(st, &tv, &n, err, sizeof(err)) == -1) {
		fprintf(out, "inventory not read: %s\n", err);
		store_close(st);
		return;
	}
	fprintf(out, "stored inventory: %zu hosts\n", n);
	if (n > CREDSET_PLAN_LIST_MAX)
		print_summary(out, conf, tv, n);
	else
		for (i = 0; i < n; i++) {
			const char *name = credset_name(conf, credset_pick(conf, tv[i].fqdn, tv[i].site));

			fprintf(out, "  %-48s %-8s %s\n", tv[i].fqdn, tv[i].site,
			    name != NULL ? name : "(none: unreachable, no_credentials)");
		}
	free(tv);
	store_close(st);
}
