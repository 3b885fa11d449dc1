/*
 * worker_scan.c — a scanner worker's answers to the scan's requests (worker_int.h): for a DP/MP, the value of
 * IssuingCertificateList over winreg and the SMSPXE.log/.lo_ tails (parsed by logparse.c), on one connection
 * of dpfleet's own SMB2 client (hostread.c) or, with [smb] client = samba or for a host that client cannot
 * serve, over Samba's libdcerpc (rpc.c) and libsmbclient (smblog.c); for a site server, CertMgr.log's tail and
 * the hosts it says it was denied on.  Facts, not verdicts.  Called by worker.c's message loop.
 */
#include "worker_int.h"
#include "hostread.h"
#include "log.h"
#include "logparse.h"
#include "msg.h"
#include "rpc.h"
#include "rrp.h"
#include "smblog.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The registry part of res for a host that could not be read: the lib/reason.h word and the detail. */
static void
reg_unreachable(enum rpc_fail why, const char *err, struct msg_host_res *res)
{
	res->reg = MSG_REG_UNREACHABLE;
	res->reason = strdup(rpc_fail_str(why));
	res->detail = wk_dup_capped(err, 1024);
}

/* The registry part of res from a read the server answered (r's elements move to res). */
static void
reg_result(struct rrp_read *r, struct msg_host_res *res)
{
	res->werr = r->werr;
	switch (r->status) {
	case RRP_OK:
		res->reg = MSG_REG_VALUE;
		res->value_type = r->type;
		res->raw_len = (uint32_t)(r->raw_len > UINT32_MAX ? UINT32_MAX : r->raw_len);
		if (r->too_large) {
			res->decode_err = strdup("value over 1 MiB");
		} else if (r->decoded && r->nelems <= MSG_ELEMS_MAX) {
			res->decoded = 1;
			/* decoded: decode_err carries how the bytes are not canonical, "" when they are */
			res->decode_err = strdup(r->encoding == RRP_MULTISZ_CANONICAL ? "" :
			    rrp_multisz_enc_str(r->encoding));
			res->elems = r->elems;		/* ownership moves to res */
			res->nelems = (uint32_t)r->nelems;
			r->elems = NULL;
			r->nelems = 0;
		} else
			res->decode_err = wk_dup_capped(r->decoded ? "too many elements" : r->decode_err, 1024);
		break;
	default:
		res->reg = wk_reg_refusal(r, &res->detail);
		break;
	}
	/* An element too long for a message: report it as undecodable rather than fail the message. */
	for (uint32_t i = 0; res->decoded && i < res->nelems; i++)
		if (strlen(res->elems[i]) > MSG_STR_MAX) {
			util_strv_free(res->elems, res->nelems);
			res->elems = NULL;
			res->nelems = 0;
			res->decoded = 0;
			free(res->decode_err);
			res->decode_err = strdup("element over the message cap");
		}
}

/* Registry part of a host request, over Samba's libdcerpc ([smb] client = samba, or a server smb2.c cannot
 * serve). */
static void
host_registry(struct wk *w, const struct cred *cr, const char *addr, const char *fqdn, struct msg_host_res *res)
{
	struct rpc_conn *c = NULL;
	struct rrp_io io;
	struct rrp_read r;
	enum rpc_fail why;
	char err[512];

	memset(&r, 0, sizeof(r));
	if (rpc_connect(&c, addr, fqdn, cr, w->conf->smb.timeout, err, sizeof(err), &why, NULL) == -1) {
		reg_unreachable(why, err, res);
		return;
	}
	io.call = rpc_rrp_call;
	io.ctx = c;
	io.dropped = 1;		/* rpc_close below: no CloseKey (rrp.h) */
	if (rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &r, err, sizeof(err)) == -1)
		reg_unreachable(rpc_last_fail(c) == RPC_FAIL_NONE ? RPC_FAIL_PROTOCOL : rpc_last_fail(c), err, res);
	else
		reg_result(&r, res);
	rrp_read_free(&r);
	rpc_close(c);
}

/* Where host_pxe reads the logs from: smblog_fetch_pxe and smblog_fetch_pxe_history over some transport. */
struct logsrc {
	int	(*pxe)(void *ctx, const char *site, int is_mp, size_t tail, struct smblog_pxe *px,
		    enum smblog_status *st, char *err, size_t errlen);
	int	(*hist)(void *ctx, size_t tail, struct smblog_pxe *px, enum smblog_status *st, char *err,
		    size_t errlen);
	void	*ctx;
};

/* The files of one SMSPXE read, in the order they are parsed (oldest first), and where each one's records end. */
struct pxe_files {
	char	 name[3][192];		/* "" for a file not read */
	size_t	 seq_end[3];
};

/*
 * Parse px's history copy, .lo_ and .log (oldest first, so later records rank newer on equal times) into a
 * fresh lp; f gets each file's SHARE/dir/name and the seq where its records end.  0, or -1 with err.
 */
static int
pxe_parse(const struct smblog_pxe *px, size_t tail, struct logparse_pxe *lp, struct pxe_files *f, char *err,
    size_t errlen)
{
	const char *buf[3] = { px->hist, px->lo_, px->log };
	size_t len[3] = { px->hist_len, px->lo__len, px->log_len }, i;
	const char *name[3] = { px->hist_name, "SMSPXE.lo_", "SMSPXE.log" };

	logparse_pxe_init(lp);
	memset(f, 0, sizeof(*f));
	for (i = 0; i < 3; i++) {
		if (buf[i] != NULL) {
			snprintf(f->name[i], sizeof(f->name[i]), "%s/%s/%s", px->share, px->dir, name[i]);
			if (logparse_smspxe(buf[i], len[i], len[i] < tail ? LOGPARSE_F_WHOLE : 0, lp, err, errlen) == -1)
				return -1;
		}
		f->seq_end[i] = lp->next_seq;
	}
	return 0;
}

/* The file (as pxe_parse named it) that record seq came from. */
static const char *
pxe_file_of(const struct pxe_files *f, size_t seq)
{
	size_t i;

	for (i = 0; i < 3; i++)
		if (f->name[i][0] != '\0' && seq < f->seq_end[i])
			return f->name[i];
	return f->name[2][0] != '\0' ? f->name[2] : f->name[1];
}

/* Copy lp's counts and evidence into res. */
static void
pxe_result(const struct logparse_pxe *lp, const struct pxe_files *f, struct msg_host_res *res)
{
	size_t i;

	res->pxe_cert_errors = (uint32_t)(lp->cert_errors > 0 ? lp->cert_errors : 0);
	res->pxe_last_error = strdup(lp->last_error_ok ? lp->last_error_iso : "");
	res->pxe_expired_cert = lp->expired_cert > 0;
	res->pxe_mp_init_failures = (uint32_t)(lp->mp_init_failures > 0 ? lp->mp_init_failures : 0);
	if (lp->evidence.n == 0 || (res->ev = calloc(lp->evidence.n, sizeof(*res->ev))) == NULL)
		return;
	for (i = 0; i < lp->evidence.n && i < MSG_EVIDENCE_MAX; i++) {
		const struct logparse_evidence *e = &lp->evidence.ev[i];
		struct msg_evidence *m = &res->ev[i];

		m->kind = (uint32_t)e->kind;
		m->source = strdup("smspxe");
		m->file = strdup(pxe_file_of(f, e->seq));
		m->at = strdup(e->time_ok ? e->iso : "");
		m->component = wk_dup_capped(e->component, 256);
		m->type = (uint32_t)(e->type > 0 ? e->type : 0);
		m->line = wk_dup_capped(e->raw[0] ? e->raw : e->message, MSG_LINE_MAX);
		res->nev = (uint32_t)i + 1;
	}
}

/*
 * SMSPXE part of a host request: SMSPXE.log/.lo_ from the first placement that has them (smblog_fetch_pxe;
 * site_server: the code of the site this host serves, or ""; is_mp: it is also a management point), and the
 * newest history copy in the same folder when what was read holds no evidence, or there is no .lo_ and the log
 * is shorter than the tail (it rolled lately, to a history copy; doc/FIELD-NOTES.md, "ConfigMgr logs").
 * log_detail names
 * the file read (the placement's SMSPXE.log, else its .lo_), each evidence line its own file.
 */
static void
host_pxe(struct wk *w, const struct logsrc *src, const char *site_server, int is_mp, struct msg_host_res *res)
{
	struct smblog_pxe px;
	struct logparse_pxe *lp = NULL;
	struct pxe_files f;
	enum smblog_status st;
	size_t tail = (size_t)w->conf->scan.log_tail_bytes;
	char err[512], herr[512] = "";

	if (tail > SMBLOG_TAIL_MAX)
		tail = SMBLOG_TAIL_MAX;
	memset(&px, 0, sizeof(px));
	if (src->pxe(src->ctx, site_server, is_mp, tail, &px, &st, err, sizeof(err)) == -1) {
		char why[600];

		/* The lib/reason.h word first: the log read fails for the same causes as the registry read. */
		snprintf(why, sizeof(why), "%s: %s", smblog_status_str(st), err);
		res->log = MSG_LOG_ERROR;
		res->log_detail = wk_dup_capped(why, 1024);
		goto done;
	}
	if (st != SMBLOG_OK) {
		res->log = MSG_LOG_ABSENT;
		goto done;
	}
	if ((lp = malloc(sizeof(*lp))) == NULL) {
		res->log = MSG_LOG_ERROR;
		res->log_detail = strdup("out of memory");
		goto done;
	}
	if (pxe_parse(&px, tail, lp, &f, err, sizeof(err)) == -1)
		goto parse_fail;
	/* no evidence, or the log rolled lately to a history copy rather than to .lo_ */
	if ((lp->cert_errors <= 0 && lp->expired_cert <= 0 && lp->mp_init_failures <= 0) ||
	    (px.lo_ == NULL && px.log_len < tail)) {
		if (src->hist(src->ctx, tail, &px, &st, herr, sizeof(herr)) == -1)
			snprintf(err, sizeof(err), "%s", herr);	/* the current files still count */
		else if (px.hist != NULL && pxe_parse(&px, tail, lp, &f, err, sizeof(err)) == -1)
			goto parse_fail;
	}
	res->log = MSG_LOG_READ;
	if (asprintf(&res->log_detail, "%s%s%.512s", f.name[2][0] ? f.name[2] : f.name[1],
	    herr[0] ? "; history: " : "", herr) == -1)
		res->log_detail = NULL;
	pxe_result(lp, &f, res);
	goto done;
parse_fail:
	res->log = MSG_LOG_ERROR;
	res->log_detail = wk_dup_capped(err, 1024);
done:
	free(lp);
	smblog_pxe_free(&px);
}

/* A log source over libsmbclient: the context and the host (by name for Kerberos). */
struct samba_logs {
	struct smblog		*sl;
	struct smblog_host	 h;
};

static int
samba_logs_pxe(void *ctx, const char *site, int is_mp, size_t tail, struct smblog_pxe *px,
    enum smblog_status *st, char *err, size_t errlen)
{
	struct samba_logs *s = ctx;

	return smblog_fetch_pxe(s->sl, &s->h, site, is_mp, tail, px, st, err, errlen);
}

static int
samba_logs_hist(void *ctx, size_t tail, struct smblog_pxe *px, enum smblog_status *st, char *err, size_t errlen)
{
	struct samba_logs *s = ctx;

	return smblog_fetch_pxe_history(s->sl, &s->h, tail, px, st, err, errlen);
}

/* A log source over dpfleet's own SMB2 client: the host's one connection (hostread.h). */
static int
hostread_src_pxe(void *ctx, const char *site, int is_mp, size_t tail, struct smblog_pxe *px,
    enum smblog_status *st, char *err, size_t errlen)
{
	return hostread_pxe(ctx, site, is_mp, tail, px, st, err, errlen);
}

static int
hostread_src_hist(void *ctx, size_t tail, struct smblog_pxe *px, enum smblog_status *st, char *err,
    size_t errlen)
{
	return hostread_pxe_history(ctx, tail, px, st, err, errlen);
}

/*
 * Logs only from DPs whose SMB answered promptly: the registry was read, or only the winreg pipe was missing
 * (rpc_unavailable: Remote Registry stopped or disabled, the case where the log is the only evidence).  Not
 * after a stall (rpc_timeout, smb_timeout): the host would spend more of its deadline.
 */
static int
want_logs(const struct msg_host_req *req, const struct msg_host_res *res)
{
	return req->want_pxe_log && (res->reg != MSG_REG_UNREACHABLE ||
	    (res->reason != NULL && strcmp(res->reason, "rpc_unavailable") == 0));
}

/*
 * A host request on one connection of dpfleet's own SMB2 client: the registry value, then the logs on the same
 * session.  0 when res is filled; -1 (res untouched) when the server wants what smb2.c does not do
 * (encryption, ...): the caller reads the host with Samba's libraries.
 */
static int
host_own(struct wk *w, const struct msg_host_req *req, const char *addr, struct msg_host_res *res)
{
	struct hostread *h;
	struct rrp_read r;
	enum rpc_fail why;
	enum rpc_phase phase;
	char err[512];
	int unsupported;

	if (hostread_open(&h, addr, req->fqdn, &w->creds[req->cred], w->conf->smb.timeout, err, sizeof(err),
	    &why, &phase, &unsupported) == -1) {
		if (unsupported) {
			log_debug("%s: %s; reading it with Samba's libraries", req->fqdn, err);
			return -1;
		}
		reg_unreachable(why, err, res);
		return 0;
	}
	if (hostread_registry(h, &r, err, sizeof(err), &why) == -1)
		reg_unreachable(why, err, res);
	else
		reg_result(&r, res);
	rrp_read_free(&r);
	if (want_logs(req, res)) {
		struct logsrc src = { hostread_src_pxe, hostread_src_hist, h };

		host_pxe(w, &src, req->site_server, (req->want_pxe_log & MSG_PXE_MP) != 0, res);
	}
	hostread_close(h);
	return 0;
}

void
wk_serve_host(struct wk *w, const uint8_t *p, size_t n)
{
	struct msg_host_req req;
	struct msg_host_res res;
	char err[512], addr[HOSTMAP_ADDR_MAX];

	if (msg_dec_host_req(p, n, &req, err, sizeof(err)) == -1)
		wk_fatal(w, err);
	if (!credset_valid(w->conf, (int)req.cred))
		wk_fatal(w, "host request: no such credential set");
	memset(&res, 0, sizeof(res));
	res.task = req.task;
	if (wk_host_addr(req.addr, req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup("no_route");
		res.detail = wk_dup_capped(err, 1024);
		goto reply;
	}
	if (w->conf->smb.client == CONFIG_CLIENT_DPFLEET && host_own(w, &req, addr, &res) == 0)
		goto reply;
	host_registry(w, &w->creds[req.cred], addr, req.fqdn, &res);
	if (want_logs(&req, &res)) {
		struct smblog *sl = wk_smblog(w, req.cred, err, sizeof(err));

		if (sl != NULL) {
			struct samba_logs s = { sl, { addr, smblog_name_for(sl, req.fqdn, addr) } };
			struct logsrc src = { samba_logs_pxe, samba_logs_hist, &s };

			host_pxe(w, &src, req.site_server, (req.want_pxe_log & MSG_PXE_MP) != 0, &res);
			smblog_purge(sl);
		} else {
			res.log = MSG_LOG_ERROR;
			res.log_detail = wk_dup_capped(err, 1024);
		}
	}
reply:
	if (msg_enc_host_res(&w->out, &res, err, sizeof(err)) == -1 ||
	    msg_send(w->fd, MSG_HOST_RES, &w->out, err, sizeof(err)) == -1) {
		msg_host_res_free(&res);
		msg_host_req_free(&req);
		wk_exit(w, 1);
	}
	msg_host_res_free(&res);
	msg_host_req_free(&req);
}

/* Aggregation of CertMgr denials per logged FQDN. */
struct denials {
	struct msg_denied	*v;
	uint32_t		 n, cap;
	int			 full;
};

static int
denied_cb(const char *fqdn, const struct logparse_record *rec, void *arg)
{
	struct denials *d = arg;
	struct msg_denied *e = NULL, *nv;
	uint32_t i;

	for (i = 0; i < d->n; i++)
		if (strcasecmp(d->v[i].fqdn, fqdn) == 0) {
			e = &d->v[i];
			break;
		}
	if (e == NULL) {
		if (d->n >= MSG_DENIED_MAX) {
			d->full = 1;
			return 0;
		}
		if (d->n == d->cap) {
			uint32_t nc = d->cap ? d->cap * 2 : 16;

			if ((nv = reallocarray(d->v, nc, sizeof(*nv))) == NULL)
				return 1;
			d->v = nv;
			d->cap = nc;
		}
		e = &d->v[d->n];
		memset(e, 0, sizeof(*e));
		if ((e->fqdn = wk_dup_capped(fqdn, 256)) == NULL || (e->last = strdup("")) == NULL ||
		    (e->line = strdup("")) == NULL) {
			free(e->fqdn);
			free(e->last);
			return 1;
		}
		d->n++;
	}
	e->count++;
	/* Records come in file order: a later record with a valid time is the newest. */
	if (rec->time_ok && (e->last[0] == '\0' || strcmp(rec->iso, e->last) >= 0)) {
		char *t = strdup(rec->iso), *l = wk_dup_capped(rec->raw, MSG_LINE_MAX);

		if (t == NULL || l == NULL) {
			free(t);
			free(l);
			return 1;
		}
		free(e->last);
		free(e->line);
		e->last = t;
		e->line = l;
	} else if (e->line[0] == '\0') {
		char *l = wk_dup_capped(rec->raw, MSG_LINE_MAX);

		if (l == NULL)
			return 1;
		free(e->line);
		e->line = l;
	}
	return 0;
}

/*
 * Parse the site's CertMgr.lo_ then CertMgr.log (smblog_fetch_certmgr's cm) into d, oldest first so the
 * newest record of each host wins; *file gets the one holding the newest denial (CertMgr.log when neither has
 * one).  0, 1 on no memory, -1 with err.
 */
static int
certmgr_parse(const struct smblog_certmgr *cm, const char *site, size_t tail, struct denials *d, char **file,
    char *err, size_t errlen)
{
	const char *buf[2] = { cm->lo_, cm->log }, *name[2] = { "CertMgr.lo_", "CertMgr.log" };
	size_t len[2] = { cm->lo__len, cm->log_len }, i;
	char path[64], newest[LOGPARSE_ISO_LEN] = "";
	uint32_t k;
	int rc, which = 1;

	for (i = 0; i < 2; i++) {
		if (buf[i] == NULL)
			continue;
		rc = logparse_certmgr(buf[i], len[i], len[i] < tail ? LOGPARSE_F_WHOLE : 0, denied_cb, d, NULL, err,
		    errlen);
		if (rc != 0)
			return rc;
		for (k = 0; k < d->n; k++)
			if (strcmp(d->v[k].last, newest) > 0) {
				util_strlcpy(newest, d->v[k].last, sizeof(newest));
				which = (int)i;
			}
	}
	snprintf(path, sizeof(path), "SMS_%s/Logs/%s", site, name[which]);
	free(*file);
	return (*file = strdup(path)) == NULL ? 1 : 0;
}

/*
 * The CertMgr tails of req's site server at addr into cm (hostread_certmgr on dpfleet's own client, else
 * smblog_fetch_certmgr; the same contract): 0 with *st OK or NOT_FOUND; -1 with *word (lib/reason.h's) and err.
 */
static int
certmgr_fetch(struct wk *w, const struct msg_certmgr_req *req, const char *addr, size_t tail,
    struct smblog_certmgr *cm, enum smblog_status *st, const char **word, char *err, size_t errlen)
{
	struct smblog *sl;

	if (w->conf->smb.client == CONFIG_CLIENT_DPFLEET) {
		struct hostread *h;
		enum rpc_fail why;
		enum rpc_phase phase;
		int unsupported, rc;

		if (hostread_open(&h, addr, req->fqdn, &w->creds[req->cred], w->conf->smb.timeout, err, errlen,
		    &why, &phase, &unsupported) == 0) {
			rc = hostread_certmgr(h, req->site, tail, cm, st, err, errlen);
			hostread_close(h);
			*word = smblog_status_str(*st);
			return rc;
		}
		if (!unsupported) {
			*word = rpc_fail_str(why);
			return -1;
		}
		log_debug("%s: %s; reading it with Samba's libraries", req->fqdn, err);
	}
	if ((sl = wk_smblog(w, req->cred, err, errlen)) == NULL) {
		*word = "error";
		return -1;
	}
	struct smblog_host h = { addr, smblog_name_for(sl, req->fqdn, addr) };	/* by name for Kerberos */

	if (smblog_fetch_certmgr(sl, &h, req->site, tail, cm, st, err, errlen) == -1) {
		*word = smblog_status_str(*st);
		return -1;
	}
	return 0;
}

/*
 * A site server's CertMgr.log and CertMgr.lo_ (its rolled copy): the hosts it was denied on, each with its
 * count, newest time and line; res.file names the file with the newest denial.
 */
void
wk_serve_certmgr(struct wk *w, const uint8_t *p, size_t n)
{
	struct msg_certmgr_req req;
	struct msg_certmgr_res res;
	struct denials d = { NULL, 0, 0, 0 };
	struct smblog_certmgr cm = { NULL, 0, NULL, 0 };
	enum smblog_status st;
	size_t tail = (size_t)w->conf->scan.log_tail_bytes;
	char err[512], addr[HOSTMAP_ADDR_MAX], file[64];
	const char *word;
	int rc;

	if (msg_dec_certmgr_req(p, n, &req, err, sizeof(err)) == -1)
		wk_fatal(w, err);
	if (!credset_valid(w->conf, (int)req.cred))
		wk_fatal(w, "CertMgr request: no such credential set");
	memset(&res, 0, sizeof(res));
	res.task = req.task;
	snprintf(file, sizeof(file), "SMS_%s/Logs/CertMgr.log", req.site);
	res.file = strdup(file);
	if (tail > SMBLOG_TAIL_MAX)
		tail = SMBLOG_TAIL_MAX;
	if (wk_host_addr(req.addr, req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reason = strdup("no_route");
		res.detail = wk_dup_capped(err, 1024);
		goto reply;
	}
	if (certmgr_fetch(w, &req, addr, tail, &cm, &st, &word, err, sizeof(err)) == -1) {
		res.reason = strdup(word);
		res.detail = wk_dup_capped(err, 1024);
		goto reply;
	}
	if (st == SMBLOG_NOT_FOUND) {
		res.reason = strdup("absent");
		goto reply;
	}
	if ((rc = certmgr_parse(&cm, req.site, tail, &d, &res.file, err, sizeof(err))) != 0) {
		res.reason = strdup("error");
		res.detail = wk_dup_capped(rc == -1 ? err : "out of memory", 1024);
		goto reply;
	}
	res.ok = 1;
	res.denied = d.v;
	res.ndenied = d.n;
	d.v = NULL;
	d.n = 0;
reply:
	if (d.v != NULL) {
		res.denied = d.v;	/* freed with res */
		res.ndenied = d.n;
	}
	smblog_certmgr_free(&cm);
	if (msg_enc_certmgr_res(&w->out, &res, err, sizeof(err)) == -1 ||
	    msg_send(w->fd, MSG_CERTMGR_RES, &w->out, err, sizeof(err)) == -1) {
		msg_certmgr_res_free(&res);
		msg_certmgr_req_free(&req);
		wk_exit(w, 1);
	}
	msg_certmgr_res_free(&res);
	msg_certmgr_req_free(&req);
}
