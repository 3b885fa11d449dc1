/*
 * worker.c — one scanner worker process (see worker.h): for a DP/MP, read IssuingCertificateList over winreg
 * (rpc.c + rrp.c) and the SMSPXE.log/.lo_ tails (smblog.c, parsed by logparse.c); for a site server, read
 * CertMgr.log's tail and list the hosts it says it was denied on.  Replies are facts, not verdicts: the parent
 * decides the state (verdict.c).
 *
 * Called only through sched.c, in a forked child whose other descriptors are closed.  The password lives only
 * here (never in argv, the environment, messages or logs); PR_SET_DUMPABLE 0 keeps it out of core dumps and
 * ptrace.  Everything read from the network is handled by the bounded modules (rrp, logparse); what is sent
 * back is capped to msg.h's limits (evidence lines truncated at MSG_LINE_MAX - 1 bytes on a UTF-8 boundary).
 * The scan never writes to a host.  Fix/rollback requests (serve_job) write only what the request names, to
 * IssuingCertificateList under the existing Security key (never creating it), and always read the value back
 * in the same request; the parent (fixrun.c, fixdecide.c) decides the job's outcome from those facts.
 * Length: just over 600 lines because it is the whole worker process: its secrets, its one SMB context and
 * the three request kinds share the struct wk and its exit path; splitting it would spread the code that
 * holds the password over several files.
 */
#include "worker.h"
#include "cred.h"
#include "credset.h"
#include "hostmap.h"
#include "krb.h"
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
#include <sys/prctl.h>
#include <unistd.h>

/*
 * creds[i] is credential set i (credset.h: 0 [smb], 1..ncreds [credentials]), built at start with its password
 * (wk_load_creds); a request names its set by that index.  sl[i] is set i's SMB context for log reads, opened
 * at its first use (wk_smblog): libsmbclient takes one account per context.
 */
struct wk {
	const struct config	*conf;
	int			 fd;
	struct cred		 creds[CREDSET_COUNT_MAX];
	struct smblog		*sl[CREDSET_COUNT_MAX];
	struct msg_buf		 out;
};

static void __attribute__((noreturn))
wk_exit(struct wk *w, int code)
{
	int i;

	for (i = 0; i < CREDSET_COUNT_MAX; i++) {
		smblog_close(w->sl[i]);
		w->sl[i] = NULL;
	}
	explicit_bzero(w->creds, sizeof(w->creds));
	msg_buf_free(&w->out);
	_exit(code);
}

/* The ticket cache of every keytab set (krb.h: the parent's, refreshed before it runs out).  0 or -1 with err. */
static int
wk_ccache(struct wk *w, char *err, size_t errlen)
{
	const struct config *conf = w->conf;
	int i;

	for (i = 0; i < CREDSET_COUNT_MAX; i++) {
		const char *keytab = i == CREDSET_SMB ? conf->smb.keytab : i <= conf->ncreds ?
		    conf->creds[i - 1].keytab : "";

		if (!credset_valid(conf, i) || keytab[0] == '\0')
			continue;
		if (krb_ccache_name(conf->store.path, w->creds[i].name, w->creds[i].ccache,
		    sizeof(w->creds[i].ccache), err, errlen) == -1)
			return -1;
	}
	return 0;
}

static void __attribute__((noreturn))
wk_fatal(struct wk *w, const char *reason)
{
	char err[256];

	if (msg_enc_fatal(&w->out, reason, err, sizeof(err)) == 0)
		msg_send(w->fd, MSG_FATAL, &w->out, err, sizeof(err));
	wk_exit(w, 1);
}

/*
 * Build creds[i] for every set the configuration has (credset_valid), reading each password file once
 * (config_read_secret: the secrecy checks on the opened file).  A keytab set carries no password: its ticket
 * cache is the one the parent keeps fresh (krb.h).  0, or -1 with err naming the set.
 */
static int
wk_load_creds(struct wk *w, char *err, size_t errlen)
{
	const struct config *conf = w->conf;
	char why[512];
	int i;

	for (i = 0; i < CREDSET_COUNT_MAX; i++) {
		const struct config_credset *cs = i > 0 && i <= conf->ncreds ? &conf->creds[i - 1] : NULL;
		struct cred *c = &w->creds[i];
		const char *pwfile;

		if (!credset_valid(conf, i))
			continue;
		util_strlcpy(c->name, credset_name(conf, i), sizeof(c->name));
		c->auth = (enum cred_auth)conf->smb.auth;	/* the same numbering (lib/config.h) */
		util_strlcpy(c->domain, cs ? cs->domain : conf->smb.domain, sizeof(c->domain));
		util_strlcpy(c->user, cs ? cs->user : conf->smb.user, sizeof(c->user));
		util_strlcpy(c->principal, cs ? cs->principal : conf->smb.principal, sizeof(c->principal));
		pwfile = cs ? cs->password_file : conf->smb.password_file;
		if (pwfile[0] == '\0')
			continue;	/* a keytab set: wk_ccache */
		if (config_read_secret(pwfile, c->password, sizeof(c->password), why, sizeof(why)) == -1)
			return util_err(err, errlen, "credential set %s: %s", c->name, why);
	}
	return wk_ccache(w, err, errlen);
}

/* Set idx's SMB context for log reads, opened at its first use.  NULL with err when it cannot be made. */
static struct smblog *
wk_smblog(struct wk *w, uint32_t idx, char *err, size_t errlen)
{
	const struct cred *c = &w->creds[idx];

	if (w->sl[idx] == NULL && smblog_open(&w->sl[idx], c, w->conf->smb.timeout * 1000, err, errlen) == -1)
		return NULL;
	return w->sl[idx];
}

/* Copy s into a malloc'd string of at most max-1 bytes, cut on a UTF-8 boundary.  NULL on no memory. */
static char *
dup_capped(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n >= max) {
		n = max - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

/* The reason word for a failed registry read on c: how the call failed, or "protocol" (rrp could not decode). */
static const char *
read_fail_word(const struct rpc_conn *c)
{
	enum rpc_fail why = rpc_last_fail(c);

	return why == RPC_FAIL_NONE ? "protocol" : rpc_fail_str(why);
}

/* Registry part of a host request. */
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
		res->reg = MSG_REG_UNREACHABLE;
		res->reason = strdup(rpc_fail_str(why));
		res->detail = dup_capped(err, 1024);
		return;
	}
	io.call = rpc_rrp_call;
	io.ctx = c;
	io.dropped = 1;		/* rpc_close below: no CloseKey (rrp.h) */
	if (rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &r, err, sizeof(err)) == -1) {
		res->reg = MSG_REG_UNREACHABLE;
		res->reason = strdup(read_fail_word(c));
		res->detail = dup_capped(err, 1024);
		goto done;
	}
	res->werr = r.werr;
	switch (r.status) {
	case RRP_OK:
		res->reg = MSG_REG_VALUE;
		res->value_type = r.type;
		res->raw_len = (uint32_t)(r.raw_len > UINT32_MAX ? UINT32_MAX : r.raw_len);
		if (r.too_large) {
			res->decode_err = strdup("value over 1 MiB");
		} else if (r.decoded && r.nelems <= MSG_ELEMS_MAX) {
			res->decoded = 1;
			/* decoded: decode_err carries how the bytes are not canonical, "" when they are */
			res->decode_err = strdup(r.encoding == RRP_MULTISZ_CANONICAL ? "" :
			    rrp_multisz_enc_str(r.encoding));
			res->elems = r.elems;		/* ownership moves to res */
			res->nelems = (uint32_t)r.nelems;
			r.elems = NULL;
			r.nelems = 0;
		} else
			res->decode_err = dup_capped(r.decoded ? "too many elements" : r.decode_err, 1024);
		break;
	case RRP_KEY_ABSENT: res->reg = MSG_REG_KEY_ABSENT; break;
	case RRP_DENIED: res->reg = MSG_REG_DENIED; break;
	case RRP_VALUE_ABSENT: res->reg = MSG_REG_VALUE_ABSENT; break;
	default:
		res->reg = MSG_REG_FAILED;
		snprintf(err, sizeof(err), "WERROR %u", r.werr);
		res->detail = strdup(err);
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
done:
	rrp_read_free(&r);
	rpc_close(c);
}

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
		m->component = dup_capped(e->component, 256);
		m->type = (uint32_t)(e->type > 0 ? e->type : 0);
		m->line = dup_capped(e->raw[0] ? e->raw : e->message, MSG_LINE_MAX);
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
host_pxe(struct wk *w, struct smblog *sl, const char *addr, const char *fqdn, const char *site_server,
    int is_mp, struct msg_host_res *res)
{
	struct smblog_host h = { addr, smblog_name_for(sl, fqdn, addr) };	/* by name for Kerberos */
	struct smblog_pxe px;
	struct logparse_pxe *lp = NULL;
	struct pxe_files f;
	enum smblog_status st;
	size_t tail = (size_t)w->conf->scan.log_tail_bytes;
	char err[512], herr[512] = "";

	if (tail > SMBLOG_TAIL_MAX)
		tail = SMBLOG_TAIL_MAX;
	memset(&px, 0, sizeof(px));
	if (smblog_fetch_pxe(sl, &h, site_server, is_mp, tail, &px, &st, err, sizeof(err)) == -1) {
		char why[600];

		/* The lib/reason.h word first: the log read fails for the same causes as the registry read. */
		snprintf(why, sizeof(why), "%s: %s", smblog_status_str(st), err);
		res->log = MSG_LOG_ERROR;
		res->log_detail = dup_capped(why, 1024);
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
		if (smblog_fetch_pxe_history(sl, &h, tail, &px, &st, herr, sizeof(herr)) == -1)
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
	res->log_detail = dup_capped(err, 1024);
done:
	smblog_purge(sl);
	free(lp);
	smblog_pxe_free(&px);
}

static void
serve_host(struct wk *w, const uint8_t *p, size_t n)
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
	if (req.addr[0] != '\0')
		util_strlcpy(addr, req.addr, sizeof(addr));
	else if (hostmap_resolve(req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup("no_route");
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	host_registry(w, &w->creds[req.cred], addr, req.fqdn, &res);
	/*
	 * Logs only from DPs whose SMB answered promptly: the registry was read, or only the winreg pipe was
	 * missing (rpc_unavailable: Remote Registry stopped or disabled, the case where the log is the only
	 * evidence).  Not after a stall (rpc_timeout, smb_timeout): the host would spend more of its deadline.
	 */
	if (req.want_pxe_log && (res.reg != MSG_REG_UNREACHABLE ||
	    (res.reason != NULL && strcmp(res.reason, "rpc_unavailable") == 0))) {
		struct smblog *sl = wk_smblog(w, req.cred, err, sizeof(err));

		if (sl != NULL)
			host_pxe(w, sl, addr, req.fqdn, req.site_server, (req.want_pxe_log & MSG_PXE_MP) != 0, &res);
		else {
			res.log = MSG_LOG_ERROR;
			res.log_detail = dup_capped(err, 1024);
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

/* Fill the read part of a job reply from an rrp_read_value result. */
static void
job_read_result(const struct rrp_read *r, struct msg_fix_res *res)
{
	char err[64];

	res->werr = r->werr;
	switch (r->status) {
	case RRP_OK:
		res->reg = MSG_REG_VALUE;
		res->value_type = r->type;
		if (r->too_large || r->raw_len > MSG_VALUE_MAX) {
			res->too_large = 1;
			break;
		}
		if (r->raw_len > 0) {
			if ((res->raw = malloc(r->raw_len)) == NULL) {
				res->reg = MSG_REG_FAILED;
				res->detail = strdup("out of memory");
				res->value_type = 0;
				break;
			}
			memcpy(res->raw, r->raw, r->raw_len);
			res->raw_len = (uint32_t)r->raw_len;
		}
		if (r->decoded) {
			char sha[UTIL_SHA256_HEX];

			util_multisz_sha256((const char *const *)r->elems, r->nelems, sha);
			res->decoded = 1;
			res->sha256 = strdup(sha);
		}
		break;
	case RRP_KEY_ABSENT: res->reg = MSG_REG_KEY_ABSENT; break;
	case RRP_DENIED: res->reg = MSG_REG_DENIED; break;
	case RRP_VALUE_ABSENT: res->reg = MSG_REG_VALUE_ABSENT; break;
	default:
		res->reg = MSG_REG_FAILED;
		snprintf(err, sizeof(err), "WERROR %u", r->werr);
		res->detail = strdup(err);
		break;
	}
}

/*
 * A job step's write (the op names which), on io's connection *c: fills res->write, werr and detail.  When
 * the write's fate is unknown, *c is replaced by a fresh connection for the read-back.  0 go on to the read,
 * -1 no connection left (res says why).
 */
static int
job_write(struct wk *w, const struct msg_fix_req *req, const char *addr, struct rpc_conn **c, struct rrp_io *io,
    struct msg_fix_res *res)
{
	enum rrp_status wst = RRP_FAILED;
	enum rpc_fail why;
	uint32_t werr = 0;
	char err[512];
	int rc = 0;

	switch (req->op) {
	case MSG_FIX_OP_WRITE:
		rc = rrp_write_multisz(io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST,
		    (const char *const *)req->elems, req->nelems, &wst, &werr, err, sizeof(err));
		break;
	case MSG_FIX_OP_RESTORE:
		rc = rrp_write_raw(io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, req->value_type, req->data,
		    req->data_len, &wst, &werr, err, sizeof(err));
		break;
	case MSG_FIX_OP_DELETE:
		rc = rrp_delete_value(io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &wst, &werr, err,
		    sizeof(err));
		if (rc == 0 && wst == RRP_VALUE_ABSENT)
			wst = RRP_OK;	/* already absent: the state asked for */
		break;
	}
	if (req->op != MSG_FIX_OP_READ) {
		if (rc == -1) {
			/* Whether it landed is unknown; the read below (on a fresh connection) tells. */
			res->write = MSG_WRITE_UNKNOWN;
			res->detail = dup_capped(err, 1024);
			rpc_close(*c);
			*c = NULL;
			if (rpc_connect(c, addr, req->fqdn, &w->creds[req->cred], w->conf->smb.timeout, err,
			    sizeof(err), &why, NULL) == -1) {
				res->reg = MSG_REG_UNREACHABLE;
				res->reason = strdup(rpc_fail_str(why));
				return -1;
			}
			io->ctx = *c;
		} else {
			res->werr = werr;
			switch (wst) {
			case RRP_OK: res->write = MSG_WRITE_OK; break;
			case RRP_DENIED: res->write = MSG_WRITE_DENIED; break;
			case RRP_KEY_ABSENT: res->write = MSG_WRITE_KEY_ABSENT; break;
			default:
				res->write = MSG_WRITE_FAILED;
				snprintf(err, sizeof(err), "write: WERROR %u", werr);
				res->detail = strdup(err);
				break;
			}
		}
	}
	return 0;
}

/*
 * A fix or rollback step (type MSG_FIX_REQ or MSG_ROLLBACK_REQ): connect, run the write the op names (none for
 * READ), then read the value (back).  Replies with the same payload layout for both kinds.
 */
static void
serve_job(struct wk *w, uint32_t type, const uint8_t *p, size_t n)
{
	struct msg_fix_req req;
	struct msg_fix_res res;
	struct rpc_conn *c = NULL;
	struct rrp_io io;
	struct rrp_read r;
	enum rpc_fail why;
	char err[512], addr[HOSTMAP_ADDR_MAX];

	if ((type == MSG_FIX_REQ ? msg_dec_fix_req(p, n, &req, err, sizeof(err)) :
	    msg_dec_rollback_req(p, n, &req, err, sizeof(err))) == -1)
		wk_fatal(w, err);
	if (!credset_valid(w->conf, (int)req.cred))
		wk_fatal(w, "job request: no such credential set");
	memset(&res, 0, sizeof(res));
	memset(&r, 0, sizeof(r));
	res.task = req.task;
	res.write = req.op == MSG_FIX_OP_READ ? MSG_WRITE_NONE : MSG_WRITE_UNREACHABLE;
	if (req.addr[0] != '\0')
		util_strlcpy(addr, req.addr, sizeof(addr));
	else if (hostmap_resolve(req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup("no_route");
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	if (rpc_connect(&c, addr, req.fqdn, &w->creds[req.cred], w->conf->smb.timeout, err, sizeof(err), &why,
	    NULL) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup(rpc_fail_str(why));
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	io.call = rpc_rrp_call;
	io.ctx = c;
	io.dropped = 0;		/* a write's handles are closed before the read-back opens its own */
	if (req.op != MSG_FIX_OP_READ && job_write(w, &req, addr, &c, &io, &res) == -1)
		goto reply;
	if (rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &r, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup(read_fail_word(c));
		if (res.detail == NULL)
			res.detail = dup_capped(err, 1024);
	} else {
		char *keep = res.detail;

		res.detail = NULL;
		job_read_result(&r, &res);
		if (keep != NULL) {
			free(res.detail);
			res.detail = keep;	/* the write's error says more than the read's */
		}
	}
reply:
	rrp_read_free(&r);
	rpc_close(c);
	if ((type == MSG_FIX_REQ ? msg_enc_fix_res(&w->out, &res, err, sizeof(err)) :
	    msg_enc_rollback_res(&w->out, &res, err, sizeof(err))) == -1 ||
	    msg_send(w->fd, type == MSG_FIX_REQ ? MSG_FIX_RES : MSG_ROLLBACK_RES, &w->out, err, sizeof(err)) == -1) {
		msg_fix_res_free(&res);
		msg_fix_req_free(&req);
		wk_exit(w, 1);
	}
	msg_fix_res_free(&res);
	msg_fix_req_free(&req);
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
		if ((e->fqdn = dup_capped(fqdn, 256)) == NULL || (e->last = strdup("")) == NULL ||
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
		char *t = strdup(rec->iso), *l = dup_capped(rec->raw, MSG_LINE_MAX);

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
		char *l = dup_capped(rec->raw, MSG_LINE_MAX);

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
 * A site server's CertMgr.log and CertMgr.lo_ (its rolled copy): the hosts it was denied on, each with its
 * count, newest time and line; res.file names the file with the newest denial.
 */
static void
serve_certmgr(struct wk *w, const uint8_t *p, size_t n)
{
	struct msg_certmgr_req req;
	struct msg_certmgr_res res;
	struct denials d = { NULL, 0, 0, 0 };
	struct smblog_certmgr cm = { NULL, 0, NULL, 0 };
	struct smblog_host h = { NULL, NULL };
	enum smblog_status st;
	size_t tail = (size_t)w->conf->scan.log_tail_bytes;
	char err[512], addr[HOSTMAP_ADDR_MAX], file[64];
	struct smblog *sl;
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
	if (req.addr[0] != '\0')
		util_strlcpy(addr, req.addr, sizeof(addr));
	else if (hostmap_resolve(req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reason = strdup("no_route");
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	h.addr = addr;
	if ((sl = wk_smblog(w, req.cred, err, sizeof(err))) == NULL) {
		res.reason = strdup("error");
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	h.name = smblog_name_for(sl, req.fqdn, addr);	/* by name for Kerberos */
	if (smblog_fetch_certmgr(sl, &h, req.site, tail, &cm, &st, err, sizeof(err)) == -1) {
		res.reason = strdup(smblog_status_str(st));
		res.detail = dup_capped(err, 1024);
		goto reply;
	}
	if (st == SMBLOG_NOT_FOUND) {
		res.reason = strdup("absent");
		goto reply;
	}
	if ((rc = certmgr_parse(&cm, req.site, tail, &d, &res.file, err, sizeof(err))) != 0) {
		res.reason = strdup("error");
		res.detail = dup_capped(rc == -1 ? err : "out of memory", 1024);
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

void
worker_main(int fd, void *arg)
{
	const struct worker_conf *wc = arg;
	struct wk w;
	struct msg_buf in = { 0 };
	uint32_t type;
	char err[512];

	memset(&w, 0, sizeof(w));
	w.conf = wc->conf;
	w.fd = fd;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		wk_fatal(&w, "prctl(PR_SET_DUMPABLE) failed");
	if (wk_load_creds(&w, err, sizeof(err)) == -1)
		wk_fatal(&w, err);
	if (msg_enc_ready(&w.out, (uint32_t)getpid(), err, sizeof(err)) == -1 ||
	    msg_send(fd, MSG_READY, &w.out, err, sizeof(err)) == -1)
		wk_exit(&w, 1);
	for (;;) {
		if (msg_recv(fd, &type, &in, err, sizeof(err)) == -1)
			break;		/* EOF: the parent is done with us */
		switch (type) {
		case MSG_HOST_REQ:
			serve_host(&w, in.data, in.len);
			break;
		case MSG_CERTMGR_REQ:
			serve_certmgr(&w, in.data, in.len);
			break;
		case MSG_FIX_REQ:
		case MSG_ROLLBACK_REQ:
			serve_job(&w, type, in.data, in.len);
			break;
		default:
			msg_buf_free(&in);
			wk_fatal(&w, "unexpected message");
		}
	}
	msg_buf_free(&in);
	wk_exit(&w, 0);
}
