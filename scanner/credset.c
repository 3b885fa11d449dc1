/*
 * credset.c — pick a host's credential set (credset.h; dpfleet.conf(5), "Credential sets").
 *
 * Pure: reads only the parsed configuration, whose lists lib/config_cred.c already normalised (suffixes
 * lowercase without a leading dot, site codes uppercase) and made unambiguous (no suffix or site code in two
 * sets), so the first site match and the longest suffix match are unique.  Called by the scanner's parent
 * for every host before any contact, and by -n to print the choice; tests/unit/test_credset.c is its table.
 */
#include "credset.h"
#include "consts.h"

#include <string.h>
#include <strings.h>

/*
 * 1 if fqdn (length n, no trailing dot) equals suffix or ends with "." suffix, compared without case.
 */
static int
suffix_match(const char *fqdn, size_t n, const char *suffix)
{
	size_t m = strlen(suffix);

	if (m == 0 || m > n)
		return 0;
	if (strncasecmp(fqdn + n - m, suffix, m) != 0)
		return 0;
	return m == n || fqdn[n - m - 1] == '.';
}

static int
site_match(const struct config_credset *cs, const char *site)
{
	int i;

	for (i = 0; i < cs->nsite; i++)
		if (strcasecmp(cs->site[i], site) == 0)
			return 1;
	return 0;
}

int
credset_pick(const struct config *conf, const char *fqdn, const char *site)
{
	size_t n = fqdn != NULL ? strlen(fqdn) : 0, best_len = 0;
	int i, j, best = CREDSET_NONE;

	if (site != NULL && site[0] != '\0')
		for (i = 0; i < conf->ncreds; i++)
			if (site_match(&conf->creds[i], site))
				return i + 1;
	if (n > 0 && fqdn[n - 1] == '.')
		n--;
	for (i = 0; i < conf->ncreds && n > 0; i++)
		for (j = 0; j < conf->creds[i].nsuffix; j++) {
			size_t m = strlen(conf->creds[i].suffix[j]);

			if (m > best_len && suffix_match(fqdn, n, conf->creds[i].suffix[j])) {
				best = i + 1;
				best_len = m;
			}
		}
	if (best != CREDSET_NONE)
		return best;
	return conf->smb.user[0] != '\0' ? CREDSET_SMB : CREDSET_NONE;
}

const char *
credset_name(const struct config *conf, int idx)
{
	if (idx == CREDSET_SMB)
		return CONFIG_CRED_SMB;
	if (idx >= 1 && idx <= conf->ncreds)
		return conf->creds[idx - 1].name;
	return NULL;
}

int
credset_valid(const struct config *conf, int idx)
{
	if (idx == CREDSET_SMB)
		return conf->smb.user[0] != '\0';
	return idx >= 1 && idx <= conf->ncreds;
}
