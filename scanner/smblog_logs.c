/*
 * smblog_logs.c — where ConfigMgr writes the logs dpfleet reads, and reading them in that order (smblog.h):
 * SMSPXE.log/.lo_ from the first placement that has them (most specific first), the newest history copy
 * SMSPXE-<yyyymmdd>-<hhmmss>.log/.lo_ next to them, and the site server's CertMgr.log and CertMgr.lo_.
 * The placements, their shares and the sources for each are in doc/FIELD-NOTES.md §6; the man page
 * dpfleet-scanner(8), LOG FILES, gives the order to operators.  Called by the scanner worker (worker.c), which
 * parses what comes back (logparse.c) and decides whether the history copy is needed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smblog.h"
#include "util.h"

/* In enum smblog_place order: most specific first (smblog.h). */
static const struct {
	const char	*word;
	const char	*share;		/* NULL: SMS_<site code> */
	const char	*dir;
} place[SMBLOG_PLACE_COUNT] = {
	[SMBLOG_PLACE_SITE_SERVER] = { "site_server", NULL, "Logs" },
	[SMBLOG_PLACE_MP] = { "mp", "C$", "SMS_CCM/Logs" },
	[SMBLOG_PLACE_MP_PROGRAM_FILES] = { "mp_program_files", "C$", "Program Files/SMS_CCM/Logs" },
	[SMBLOG_PLACE_CLIENT] = { "client", "ADMIN$", "CCM/Logs" },
	[SMBLOG_PLACE_DP] = { "dp", "SMS_DP$", "sms/logs" },
};

/* read_place's argument: the libsmbclient context and the host. */
struct smblog_src {
	struct smblog			*sl;
	const struct smblog_host	*h;
};

const char *
smblog_place_str(enum smblog_place p)
{
	return (unsigned)p < SMBLOG_PLACE_COUNT ? place[p].word : "unknown";
}

/* 1 if code is exactly 3 letters or digits (it becomes part of a share name). */
static int
site_code_ok(const char *code)
{
	size_t i;

	if (code == NULL || strlen(code) != 3)
		return 0;
	for (i = 0; i < 3; i++)
		if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= 'a' && code[i] <= 'z') ||
		    (code[i] >= '0' && code[i] <= '9')))
			return 0;
	return 1;
}

void
smblog_pxe_free(struct smblog_pxe *p)
{
	if (p == NULL)
		return;
	free(p->log);
	free(p->lo_);
	free(p->hist);
	memset(p, 0, sizeof(*p));
}

/*
 * Both SMSPXE tails from share/dir into out over libsmbclient (an smblog_place_fn).  A placement is one whose
 * folder holds SMSPXE.log (the component starts a new one as soon as it rolls the old to .lo_), so a missing
 * share, folder or file costs one request and .lo_ is only asked for beside a .log.  0 with *st OK or
 * NOT_FOUND; -1 with *st and err.
 */
static int
read_place(void *arg, const char *share, const char *dir, size_t tail, struct smblog_pxe *out,
    enum smblog_status *st, char *err, size_t errlen)
{
	const struct smblog_src *src = arg;
	char path[128];

	snprintf(path, sizeof(path), "%s/SMSPXE.log", dir);
	if (smblog_tail(src->sl, src->h, share, path, tail, &out->log, &out->log_len, NULL, st, err, errlen) != 0)
		return -1;
	if (out->log == NULL)
		return 0;	/* *st NOT_FOUND */
	snprintf(path, sizeof(path), "%s/SMSPXE.lo_", dir);
	if (smblog_tail(src->sl, src->h, share, path, tail, &out->lo_, &out->lo__len, NULL, st, err, errlen) != 0 &&
	    *st != SMBLOG_DENIED)
		return -1;	/* a .lo_ we may not read leaves the .log found */
	*st = SMBLOG_OK;
	return 0;
}

int
smblog_site_share(const char *site_code, char share[SMBLOG_SHARE_MAX])
{
	share[0] = '\0';
	if (!site_code_ok(site_code))
		return -1;
	snprintf(share, SMBLOG_SHARE_MAX, "SMS_%s", site_code);
	return 0;
}

int
smblog_find_pxe(smblog_place_fn rd, void *arg, const char *site_code, int is_mp, size_t tail_bytes,
    struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen)
{
	enum smblog_status denied = SMBLOG_OK;
	char share[SMBLOG_SHARE_MAX], denied_err[512] = "";
	size_t i;

	memset(out, 0, sizeof(*out));
	*st = SMBLOG_NOT_FOUND;
	for (i = 0; i < SMBLOG_PLACE_COUNT; i++) {
		if (!is_mp && (i == SMBLOG_PLACE_MP || i == SMBLOG_PLACE_MP_PROGRAM_FILES))
			continue;
		if (place[i].share == NULL) {
			if (smblog_site_share(site_code, share) != 0)
				continue;
		} else
			util_strlcpy(share, place[i].share, sizeof(share));
		if (rd(arg, share, place[i].dir, tail_bytes, out, st, err, errlen) != 0) {
			smblog_pxe_free(out);
			if (*st != SMBLOG_DENIED)
				return -1;
			if (denied == SMBLOG_OK) {	/* the first denial is the one reported */
				denied = SMBLOG_DENIED;
				util_strlcpy(denied_err, err, sizeof(denied_err));
			}
			continue;
		}
		if (*st == SMBLOG_OK) {
			out->place = (enum smblog_place)i;
			util_strlcpy(out->share, share, sizeof(out->share));
			out->dir = place[i].dir;
			return 0;
		}
	}
	if (denied == SMBLOG_DENIED) {
		*st = SMBLOG_DENIED;
		return util_err(err, errlen, "%s", denied_err);
	}
	*st = SMBLOG_NOT_FOUND;
	return 0;
}

int
smblog_fetch_pxe(struct smblog *sl, const struct smblog_host *h, const char *site_code, int is_mp,
    size_t tail_bytes, struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen)
{
	struct smblog_src src = { sl, h };

	return smblog_find_pxe(read_place, &src, site_code, is_mp, tail_bytes, out, st, err, errlen);
}

int
smblog_fetch_pxe_history(struct smblog *sl, const struct smblog_host *h, size_t tail_bytes,
    struct smblog_pxe *out, enum smblog_status *st, char *err, size_t errlen)
{
	char name[SMBLOG_NAME_MAX], path[192];

	free(out->hist);
	out->hist = NULL;
	out->hist_len = 0;
	out->hist_name[0] = '\0';
	if (out->dir == NULL || out->share[0] == '\0') {
		*st = SMBLOG_ERROR;
		return util_err(err, errlen, "smblog_fetch_pxe_history: no placement");
	}
	if (smblog_newest_history(sl, h, out->share, out->dir, "SMSPXE", name, st, err, errlen) != 0 ||
	    *st == SMBLOG_NOT_FOUND)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	snprintf(path, sizeof(path), "%s/%s", out->dir, name);
	if (smblog_tail(sl, h, out->share, path, tail_bytes, &out->hist, &out->hist_len, NULL, st, err,
	    errlen) != 0)
		return -1;
	if (out->hist != NULL)
		util_strlcpy(out->hist_name, name, sizeof(out->hist_name));
	return 0;
}

void
smblog_certmgr_free(struct smblog_certmgr *c)
{
	if (c == NULL)
		return;
	free(c->log);
	free(c->lo_);
	memset(c, 0, sizeof(*c));
}

int
smblog_fetch_certmgr(struct smblog *sl, const struct smblog_host *h, const char *site_code, size_t tail_bytes,
    struct smblog_certmgr *out, enum smblog_status *st, char *err, size_t errlen)
{
	char share[SMBLOG_SHARE_MAX];
	int rc = -1;

	memset(out, 0, sizeof(*out));
	*st = SMBLOG_ERROR;
	if (smblog_site_share(site_code, share) != 0)
		return util_err(err, errlen, "smblog_fetch_certmgr: bad site code");
	if (smblog_tail(sl, h, share, "Logs/CertMgr.log", tail_bytes, &out->log, &out->log_len, NULL, st, err,
	    errlen) != 0)
		goto done;
	/* the rolled copy only beside a live log (Certificate Manager starts a new one when it rolls) */
	if (out->log != NULL && smblog_tail(sl, h, share, "Logs/CertMgr.lo_", tail_bytes, &out->lo_,
	    &out->lo__len, NULL, st, err, errlen) != 0)
		goto done;
	*st = out->log != NULL ? SMBLOG_OK : SMBLOG_NOT_FOUND;
	rc = 0;
done:
	if (rc != 0)
		smblog_certmgr_free(out);
	smblog_purge(sl);
	return rc;
}
