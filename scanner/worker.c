/*
 * worker.c — one scanner worker process (see worker.h): its credentials, its libsmbclient contexts, the fix and
 * rollback jobs, and the loop that takes the parent's requests; the scan's own requests (a DP/MP's registry
 * value and logs, a site server's CertMgr log) are answered by worker_scan.c.  Replies are facts, not
 * verdicts: the parent decides the state (verdict.c) and a job's outcome (fixrun.c, fixdecide.c).
 *
 * Called only through sched.c, in a forked child whose other descriptors are closed.  The password lives only
 * here (never in argv, the environment, messages or logs); PR_SET_DUMPABLE 0 keeps it out of core dumps and
 * ptrace.  Everything read from the network is handled by the bounded modules (rrp, logparse); what is sent
 * back is capped to msg.h's limits (evidence lines truncated at MSG_LINE_MAX - 1 bytes on a UTF-8 boundary).
 * The scan never writes to a host.  Fix/rollback requests (serve_job) write only what the request names, to
 * IssuingCertificateList under the existing Security key (never creating it), over Samba's libdcerpc (rpc.c),
 * and always read the value back in the same request.
 */
#include "worker.h"
#include "worker_int.h"
#include "cred.h"
#include "credset.h"
#include "hostmap.h"
#include "krb.h"
#include "log.h"
#include "msg.h"
#include "rpc.h"
#include "rrp.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>


void
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

void
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

/* worker_int.h */
struct smblog *
wk_smblog(struct wk *w, uint32_t idx, char *err, size_t errlen)
{
	const struct cred *c = &w->creds[idx];

	if (w->sl[idx] == NULL && smblog_open(&w->sl[idx], c, w->conf->smb.timeout * 1000, err, errlen) == -1)
		return NULL;
	return w->sl[idx];
}

/* worker_int.h */
char *
wk_dup_capped(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n >= max) {
		n = max - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	return strndup(s, n);
}

/* worker_int.h */
int
wk_host_addr(const char *given, const char *fqdn, char addr[HOSTMAP_ADDR_MAX], char *err, size_t errlen)
{
	if (given[0] == '\0')
		return hostmap_resolve(fqdn, addr, err, errlen);
	util_strlcpy(addr, given, HOSTMAP_ADDR_MAX);
	return 0;
}

/* worker_int.h */
uint32_t
wk_reg_refusal(const struct rrp_read *r, char **detail)
{
	char err[64];

	switch (r->status) {
	case RRP_KEY_ABSENT:	return MSG_REG_KEY_ABSENT;
	case RRP_DENIED:	return MSG_REG_DENIED;
	case RRP_VALUE_ABSENT:	return MSG_REG_VALUE_ABSENT;
	default:
		snprintf(err, sizeof(err), "WERROR %u", r->werr);
		*detail = strdup(err);
		return MSG_REG_FAILED;
	}
}

/* Fill the read part of a job reply from an rrp_read_value result. */
static void
job_read_result(const struct rrp_read *r, struct msg_fix_res *res)
{
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
	default:
		res->reg = wk_reg_refusal(r, &res->detail);
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
			res->detail = wk_dup_capped(err, 1024);
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
	if (wk_host_addr(req.addr, req.fqdn, addr, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup("no_route");
		res.detail = wk_dup_capped(err, 1024);
		goto reply;
	}
	if (rpc_connect(&c, addr, req.fqdn, &w->creds[req.cred], w->conf->smb.timeout, err, sizeof(err), &why,
	    NULL) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup(rpc_fail_str(why));
		res.detail = wk_dup_capped(err, 1024);
		goto reply;
	}
	io.call = rpc_rrp_call;
	io.ctx = c;
	io.dropped = 0;		/* a write's handles are closed before the read-back opens its own */
	if (req.op != MSG_FIX_OP_READ && job_write(w, &req, addr, &c, &io, &res) == -1)
		goto reply;
	if (rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &r, err, sizeof(err)) == -1) {
		res.reg = MSG_REG_UNREACHABLE;
		res.reason = strdup(rpc_fail_str(rpc_last_fail(c) == RPC_FAIL_NONE ? RPC_FAIL_PROTOCOL :
		    rpc_last_fail(c)));
		if (res.detail == NULL)
			res.detail = wk_dup_capped(err, 1024);
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
			wk_serve_host(&w, in.data, in.len);
			break;
		case MSG_CERTMGR_REQ:
			wk_serve_certmgr(&w, in.data, in.len);
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
