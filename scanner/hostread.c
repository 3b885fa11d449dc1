/*
 * hostread.c — a scan's reads of one host on one SMB2 connection (hostread.h): the registry value through
 * rpcpipe.c and rrp_ops.c, the logs through smb2_read_tails and smb2_list, in the order smblog_logs.c defines
 * (smblog_find_pxe with this file's placement reader).  Tree connects are remembered per share, a refused or
 * missing share included, so no share is asked for twice on a connection.  Called by worker.c.
 *
 * Statuses: a missing share, folder or file (BAD_NETWORK_NAME, OBJECT_NAME/PATH_NOT_FOUND, NO_SUCH_FILE,
 * NOT_A_DIRECTORY, OBJECT_NAME_INVALID) is NOT_FOUND, ACCESS_DENIED and NETWORK_ACCESS_DENIED are DENIED,
 * anything else ERROR naming the NTSTATUS; a broken connection is smb_timeout when it stalled or reset, else
 * error (smblog.h's words).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostread.h"
#include "krb.h"
#include "rpcpipe.h"
#include "smb2.h"
#include "util.h"

#define TREES_MAX	8	/* IPC$, ADMIN$, C$, SMS_DP$, SMS_<code> and room */
#define ST_NETWORK_ACCESS_DENIED	0xC00000CAu

/* A listing's callback: keep the newest history copy of SMSPXE (smblog_history_key order). */
struct newest {
	char	 key[17];
	char	 name[SMBLOG_NAME_MAX];
};

static int
newest_cb(const char *name, void *arg)
{
	struct newest *nw = arg;
	char key[17];

	if (strlen(name) < SMBLOG_NAME_MAX && smblog_history_key(name, "SMSPXE", key) &&
	    strcmp(key, nw->key) > 0) {
		memcpy(nw->key, key, sizeof(key));
		util_strlcpy(nw->name, name, sizeof(nw->name));
	}
	return 0;
}

struct hostread {
	struct smb2_conn	*c;
	const char		*who;		/* the host as messages name it (addr; not owned) */
	struct {
		char		 share[SMBLOG_SHARE_MAX];
		uint32_t	 tid;
		uint32_t	 status;
	}			 trees[TREES_MAX];
	size_t			 ntrees;
	struct newest		 hist;		/* the folder of the last placement read, listed with its logs */
	char			 hist_share[SMBLOG_SHARE_MAX];
	const char		*hist_dir;	/* NULL: no listing held */
};

int
hostread_open(struct hostread **out, const char *addr, const char *fqdn, const struct cred *cr, int timeout_s,
    char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase, int *unsupported)
{
	struct hostread *h;

	*out = NULL;
	*unsupported = 0;
	if ((h = calloc(1, sizeof(*h))) == NULL) {
		*why = RPC_FAIL_OTHER;
		*phase = RPC_PHASE_TCP;
		return util_err(err, errlen, "out of memory");
	}
	/*
	 * A keytab set whose ticket is gone or about to go: say so, naming the principal, before GSSAPI says it
	 * vaguely.  The same margin as Samba's stack (krb.h): a session must not start on a ticket that dies
	 * while the host is read.
	 */
	if (cr->ccache[0] != '\0' && krb_check_ccache(cr->ccache, cr->principal, NULL, err, errlen) == -1) {
		free(h);
		*why = RPC_FAIL_KERBEROS;
		*phase = RPC_PHASE_SMB;
		return -1;
	}
	if (smb2_connect(&h->c, addr, fqdn, cr, timeout_s, err, errlen, why, phase, unsupported) == -1) {
		free(h);
		return -1;
	}
	h->who = addr;
	*out = h;
	return 0;
}

int
hostread_registry(struct hostread *h, struct rrp_read *r, char *err, size_t errlen, enum rpc_fail *why)
{
	struct rpcpipe *p;
	struct rrp_io io;
	enum rpc_phase phase;

	memset(r, 0, sizeof(*r));
	if (rpcpipe_open(&p, h->c, err, errlen, why, &phase) == -1)
		return -1;
	io.call = rpcpipe_call;
	io.ctx = p;
	io.dropped = 1;		/* hostread_close drops the connection: no CloseKey (rrp.h) */
	if (rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, r, err, errlen) == -1) {
		*why = rpcpipe_last_fail(p) == RPC_FAIL_NONE ? RPC_FAIL_PROTOCOL : rpcpipe_last_fail(p);
		rpcpipe_free(p);
		return -1;
	}
	*why = RPC_FAIL_NONE;
	rpcpipe_free(p);
	return 0;
}

/* A server's answer about a share, folder or file, as smblog's word. */
static enum smblog_status
status_word(uint32_t st)
{
	switch (st) {
	case SMB2_ST_OK:
		return SMBLOG_OK;
	case SMB2_ST_BAD_NETWORK_NAME:
	case SMB2_ST_OBJECT_NAME_NOT_FOUND:
	case SMB2_ST_OBJECT_PATH_NOT_FOUND:
	case SMB2_ST_NO_SUCH_FILE:
	case SMB2_ST_NOT_A_DIRECTORY:
	case SMB2_ST_OBJECT_NAME_INVALID:
		return SMBLOG_NOT_FOUND;
	case SMB2_ST_ACCESS_DENIED:
	case ST_NETWORK_ACCESS_DENIED:
		return SMBLOG_DENIED;
	}
	return SMBLOG_ERROR;
}

/* *st for a request that failed on the connection itself (-1 from smb2.c). */
static int
broken(struct hostread *h, enum smblog_status *st)
{
	*st = smb2_stalled(h->c) ? SMBLOG_SMB_TIMEOUT : SMBLOG_ERROR;
	return -1;
}

/* \\who\share\path answered st (not OK): *st, and 0 for NOT_FOUND, else -1 with err. */
static int
refused(struct hostread *h, const char *share, const char *path, uint32_t st, enum smblog_status *out,
    char *err, size_t errlen)
{
	*out = status_word(st);
	if (*out == SMBLOG_NOT_FOUND)
		return 0;
	if (*out == SMBLOG_DENIED)
		return util_err(err, errlen, "open \\\\%s\\%s\\%s: access denied", h->who, share, path);
	return util_err(err, errlen, "open \\\\%s\\%s\\%s: NTSTATUS 0x%08x", h->who, share, path, st);
}

/*
 * The tree id of share, connecting it on first use.  0 with *st OK (*tid set) or NOT_FOUND/DENIED/ERROR as
 * the server answered (remembered: asked once per connection); -1 when the connection broke.
 */
static int
tree(struct hostread *h, const char *share, uint32_t *tid, enum smblog_status *st, char *err, size_t errlen)
{
	uint32_t status;
	size_t i;

	for (i = 0; i < h->ntrees; i++)
		if (strcmp(h->trees[i].share, share) == 0)
			break;
	if (i == h->ntrees) {
		if (h->ntrees == TREES_MAX || strlen(share) >= SMBLOG_SHARE_MAX) {
			*st = SMBLOG_ERROR;
			return util_err(err, errlen, "hostread: too many shares or a share name too long");
		}
		if (smb2_tree_connect(h->c, share, tid, &status, err, errlen) == -1)
			return broken(h, st);
		util_strlcpy(h->trees[i].share, share, SMBLOG_SHARE_MAX);
		h->trees[i].tid = *tid;
		h->trees[i].status = status;
		h->ntrees++;
	}
	*tid = h->trees[i].tid;
	*st = status_word(h->trees[i].status);
	if (*st == SMBLOG_ERROR)
		util_err(err, errlen, "tree connect \\\\%s\\%s: NTSTATUS 0x%08x", h->who, share,
		    h->trees[i].status);
	else if (*st == SMBLOG_DENIED)
		util_err(err, errlen, "tree connect \\\\%s\\%s: access denied", h->who, share);
	return 0;
}

/*
 * Tails of the n files dir/name[i] on share into data[i]/len[i] (NULL when absent), dl (may be NULL) listed in
 * the same flights (smb2_read_tails_dir).  f[0] decides: 0 with *st
 * OK when it was read, NOT_FOUND when the share, folder or f[0] is missing (the others then dropped); the
 * others are kept when read, dropped when absent or denied.  -1 with *st and err otherwise.
 */
static int
tails(struct hostread *h, const char *share, const char *dir, const char *const *name, size_t n, size_t tail,
    struct smb2_dirlist *dl, char **data, size_t *len, enum smblog_status *st, char *err, size_t errlen)
{
	struct smb2_file f[2];
	char path[2][192];
	uint32_t tid;
	size_t i;
	int rc = -1;

	memset(f, 0, sizeof(f));
	for (i = 0; i < n; i++)
		data[i] = NULL;
	if (tree(h, share, &tid, st, err, errlen) == -1 || *st != SMBLOG_OK)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	for (i = 0; i < n && i < 2; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, name[i]);
		f[i].path = path[i];
	}
	if (smb2_read_tails_dir(h->c, tid, f, n, tail, dl, err, errlen) == -1) {
		broken(h, st);
		goto done;
	}
	if (f[0].status != SMB2_ST_OK) {
		rc = refused(h, share, path[0], f[0].status, st, err, errlen);
		goto done;
	}
	for (i = 1; i < n; i++)
		if (f[i].status != SMB2_ST_OK && status_word(f[i].status) != SMBLOG_NOT_FOUND &&
		    status_word(f[i].status) != SMBLOG_DENIED) {
			rc = refused(h, share, path[i], f[i].status, st, err, errlen);
			goto done;
		}
	for (i = 0; i < n; i++) {
		data[i] = (char *)f[i].data;
		len[i] = f[i].len;
		f[i].data = NULL;
	}
	*st = SMBLOG_OK;
	rc = 0;
done:
	for (i = 0; i < n; i++)
		free(f[i].data);
	return rc;
}

/*
 * smblog_place_fn over this connection: SMSPXE.log and SMSPXE.lo_ asked for together, and the folder's history
 * copies listed in the same flights (held for hostread_pxe_history: the worker asks for it when the current
 * files hold no evidence, a healthy DP's usual case, and it then costs no round trip).
 */
static int
read_place(void *arg, const char *share, const char *dir, size_t tail, struct smblog_pxe *out,
    enum smblog_status *st, char *err, size_t errlen)
{
	static const char *const names[2] = { "SMSPXE.log", "SMSPXE.lo_" };
	struct hostread *h = arg;
	struct smb2_dirlist dl = { dir, "SMSPXE-*", SMBLOG_LIST_MAX, newest_cb, &h->hist, 0, 0 };
	char *data[2];
	size_t len[2] = { 0, 0 };

	memset(&h->hist, 0, sizeof(h->hist));
	h->hist_dir = NULL;
	if (tails(h, share, dir, names, 2, tail, &dl, data, len, st, err, errlen) == -1 || *st != SMBLOG_OK)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	if (dl.listed && dl.status == SMB2_ST_OK) {
		util_strlcpy(h->hist_share, share, sizeof(h->hist_share));
		h->hist_dir = dir;
	}
	out->log = data[0];
	out->log_len = len[0];
	out->lo_ = data[1];
	out->lo__len = len[1];
	return 0;
}

int
hostread_pxe(struct hostread *h, const char *site_code, int is_mp, size_t tail, struct smblog_pxe *out,
    enum smblog_status *st, char *err, size_t errlen)
{
	return smblog_find_pxe(read_place, h, site_code, is_mp, tail, out, st, err, errlen);
}

int
hostread_pxe_history(struct hostread *h, size_t tail, struct smblog_pxe *out, enum smblog_status *st,
    char *err, size_t errlen)
{
	struct newest nw;
	const char *name[1];
	uint32_t tid, status;
	char *data[1];
	size_t len[1] = { 0 };

	free(out->hist);
	out->hist = NULL;
	out->hist_len = 0;
	out->hist_name[0] = '\0';
	memset(&nw, 0, sizeof(nw));
	if (out->dir == NULL || out->share[0] == '\0') {
		*st = SMBLOG_ERROR;
		return util_err(err, errlen, "hostread_pxe_history: no placement");
	}
	if (tree(h, out->share, &tid, st, err, errlen) == -1 || *st != SMBLOG_OK)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	if (h->hist_dir != NULL && strcmp(h->hist_dir, out->dir) == 0 && strcmp(h->hist_share, out->share) == 0)
		nw = h->hist;	/* listed with the placement's logs */
	else if (smb2_list(h->c, tid, out->dir, "SMSPXE-*", SMBLOG_LIST_MAX, newest_cb, &nw, &status, err,
	    errlen) == -1)
		return broken(h, st);
	else if (status != SMB2_ST_OK)
		return refused(h, out->share, out->dir, status, st, err, errlen);
	if (nw.name[0] == '\0') {
		*st = SMBLOG_NOT_FOUND;
		return 0;
	}
	name[0] = nw.name;
	if (tails(h, out->share, out->dir, name, 1, tail, NULL, data, len, st, err, errlen) == -1 ||
	    *st != SMBLOG_OK)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	out->hist = data[0];
	out->hist_len = len[0];
	util_strlcpy(out->hist_name, nw.name, sizeof(out->hist_name));
	return 0;
}

int
hostread_certmgr(struct hostread *h, const char *site_code, size_t tail, struct smblog_certmgr *out,
    enum smblog_status *st, char *err, size_t errlen)
{
	static const char *const names[2] = { "CertMgr.log", "CertMgr.lo_" };
	char share[SMBLOG_SHARE_MAX], *data[2];
	size_t len[2] = { 0, 0 };

	memset(out, 0, sizeof(*out));
	*st = SMBLOG_ERROR;
	if (smblog_site_share(site_code, share) != 0)
		return util_err(err, errlen, "hostread_certmgr: bad site code");
	if (tails(h, share, "Logs", names, 2, tail, NULL, data, len, st, err, errlen) == -1 || *st != SMBLOG_OK)
		return *st == SMBLOG_NOT_FOUND ? 0 : -1;
	out->log = data[0];
	out->log_len = len[0];
	out->lo_ = data[1];
	out->lo__len = len[1];
	return 0;
}

void
hostread_close(struct hostread *h)
{
	if (h == NULL)
		return;
	smb2_close(h->c);
	free(h);
}
