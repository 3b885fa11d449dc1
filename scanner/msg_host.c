/*
 * msg_host.c — the payloads of a scan: READY and FATAL, the host request and reply (registry outcome, the
 * decoded REG_MULTI_SZ, SMSPXE.log evidence) and the CertMgr.log request and reply, as msg.h lays them out.
 * Encoders are used by sched.c/scan.c (requests) and worker.c (replies), decoders the other way round.
 */
#include "msg.h"
#include "msg_wire.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* ---- READY / FATAL ---- */

int
msg_enc_ready(struct msg_buf *out, uint32_t pid, char *err, size_t errlen)
{
	wire_start(out);
	wire_put_u32(out, pid);
	return wire_done(out, "ready", err, errlen);
}

int
msg_dec_ready(const uint8_t *p, size_t n, uint32_t *pid, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	*pid = wire_get_u32(&r);
	return wire_end(&r, "ready", err, errlen);
}

int
msg_enc_fatal(struct msg_buf *out, const char *reason, char *err, size_t errlen)
{
	wire_start(out);
	wire_put_str(out, reason, MSG_STR_MAX);
	return wire_done(out, "fatal", err, errlen);
}

int
msg_dec_fatal(const uint8_t *p, size_t n, char **reason, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	*reason = wire_get_str(&r, MSG_STR_MAX);
	if (wire_end(&r, "fatal", err, errlen) == -1) {
		free(*reason);
		*reason = NULL;
		return -1;
	}
	return 0;
}

/* ---- host ---- */

int
msg_enc_host_req(struct msg_buf *out, const struct msg_host_req *m, char *err, size_t errlen)
{
	wire_start(out);
	wire_put_u64(out, m->task);
	wire_put_str(out, m->fqdn, WIRE_FQDN);
	wire_put_str(out, m->addr, WIRE_ADDR);
	wire_put_u32(out, m->want_pxe_log);
	wire_put_str(out, m->site_server, WIRE_SITE);
	wire_put_u32(out, m->cred);
	return wire_done(out, "host_req", err, errlen);
}

void
msg_host_req_free(struct msg_host_req *m)
{
	free(m->fqdn);
	free(m->addr);
	free(m->site_server);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_host_req(const uint8_t *p, size_t n, struct msg_host_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->fqdn = wire_get_str(&r, WIRE_FQDN);
	m->addr = wire_get_str(&r, WIRE_ADDR);
	m->want_pxe_log = wire_get_u32(&r);
	m->site_server = wire_get_str(&r, WIRE_SITE);
	m->cred = wire_get_u32(&r);
	if (!r.fail && m->cred > MSG_CRED_MAX)
		r.fail = "bad credential set";
	if (!r.fail && m->fqdn[0] == '\0')
		r.fail = "empty fqdn";
	/* The site code becomes part of a share name: letters and digits only. */
	for (const char *c = r.fail ? "" : m->site_server; *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			r.fail = "bad site code";
	if (!r.fail && (m->want_pxe_log & ~(MSG_PXE_LOG | MSG_PXE_MP)) != 0)
		r.fail = "bad flag";
	if (wire_end(&r, "host_req", err, errlen) == -1) {
		msg_host_req_free(m);
		return -1;
	}
	return 0;
}

static void
put_evidence(struct msg_buf *b, const struct msg_evidence *e)
{
	wire_put_u32(b, e->kind);
	wire_put_str(b, e->source, WIRE_SOURCE);
	wire_put_str(b, e->file, WIRE_TEXT);
	wire_put_str(b, e->at, WIRE_TIME);
	wire_put_str(b, e->component, WIRE_COMPONENT);
	wire_put_u32(b, e->type);
	wire_put_str(b, e->line, MSG_LINE_MAX);
}

static void
evidence_free(struct msg_evidence *e)
{
	free(e->source);
	free(e->file);
	free(e->at);
	free(e->component);
	free(e->line);
	memset(e, 0, sizeof(*e));
}

static void
get_evidence(struct rd *r, struct msg_evidence *e)
{
	e->kind = wire_get_u32(r);
	e->source = wire_get_str(r, WIRE_SOURCE);
	e->file = wire_get_str(r, WIRE_TEXT);
	e->at = wire_get_str(r, WIRE_TIME);
	e->component = wire_get_str(r, WIRE_COMPONENT);
	e->type = wire_get_u32(r);
	e->line = wire_get_str(r, MSG_LINE_MAX);
	if (!r->fail && strcmp(e->source, "smspxe") != 0 && strcmp(e->source, "certmgr") != 0)
		r->fail = "bad evidence source";
	if (!r->fail && e->at[0] != '\0') {
		time_t t;

		if (util_iso_parse(e->at, &t) == -1)
			r->fail = "bad evidence time";
	}
}

int
msg_enc_host_res(struct msg_buf *out, const struct msg_host_res *m, char *err, size_t errlen)
{
	uint32_t i;

	wire_start(out);
	if (m->nelems > MSG_ELEMS_MAX || m->nev > MSG_EVIDENCE_MAX)
		return util_err(err, errlen, "host_res: too many elements or evidence lines");
	wire_put_u64(out, m->task);
	wire_put_u32(out, m->reg);
	wire_put_str(out, m->reason, WIRE_REASON);
	wire_put_str(out, m->detail, WIRE_TEXT);
	wire_put_u32(out, m->werr);
	wire_put_u32(out, m->value_type);
	wire_put_u32(out, m->raw_len);
	wire_put_u32(out, m->decoded);
	wire_put_str(out, m->decode_err, WIRE_TEXT);
	wire_put_u32(out, m->nelems);
	for (i = 0; i < m->nelems; i++)
		wire_put_str(out, m->elems[i], MSG_STR_MAX);
	wire_put_u32(out, m->log);
	wire_put_str(out, m->log_detail, WIRE_TEXT);
	wire_put_u32(out, m->pxe_cert_errors);
	wire_put_str(out, m->pxe_last_error, WIRE_TIME);
	wire_put_u32(out, m->pxe_expired_cert);
	wire_put_u32(out, m->pxe_mp_init_failures);
	wire_put_u32(out, m->nev);
	for (i = 0; i < m->nev; i++)
		put_evidence(out, &m->ev[i]);
	return wire_done(out, "host_res", err, errlen);
}

void
msg_host_res_free(struct msg_host_res *m)
{
	uint32_t i;

	free(m->reason);
	free(m->detail);
	free(m->decode_err);
	util_strv_free(m->elems, m->nelems);
	free(m->log_detail);
	free(m->pxe_last_error);
	if (m->ev != NULL)
		for (i = 0; i < m->nev; i++)
			evidence_free(&m->ev[i]);
	free(m->ev);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_host_res(const uint8_t *p, size_t n, struct msg_host_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->reg = wire_get_u32(&r);
	if (!r.fail && (m->reg < MSG_REG_VALUE || m->reg > MSG_REG_UNREACHABLE))
		r.fail = "bad registry outcome";
	m->reason = wire_get_str(&r, WIRE_REASON);
	m->detail = wire_get_str(&r, WIRE_TEXT);
	m->werr = wire_get_u32(&r);
	m->value_type = wire_get_u32(&r);
	m->raw_len = wire_get_u32(&r);
	m->decoded = wire_get_u32(&r);
	if (!r.fail && m->decoded > 1)
		r.fail = "bad decoded flag";
	m->decode_err = wire_get_str(&r, WIRE_TEXT);
	cnt = wire_get_u32(&r);
	if (!r.fail && cnt > MSG_ELEMS_MAX)
		r.fail = "too many elements";
	if (!r.fail && cnt > 0) {
		if ((m->elems = calloc(cnt, sizeof(*m->elems))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->elems[i] = wire_get_str(&r, MSG_STR_MAX);
			m->nelems = i + 1;
		}
	}
	m->log = wire_get_u32(&r);
	if (!r.fail && m->log > MSG_LOG_ERROR)
		r.fail = "bad log outcome";
	m->log_detail = wire_get_str(&r, WIRE_TEXT);
	m->pxe_cert_errors = wire_get_u32(&r);
	m->pxe_last_error = wire_get_str(&r, WIRE_TIME);
	if (!r.fail && m->pxe_last_error[0] != '\0') {
		time_t t;

		if (util_iso_parse(m->pxe_last_error, &t) == -1)
			r.fail = "bad pxe_last_error";
	}
	m->pxe_expired_cert = wire_get_u32(&r);
	m->pxe_mp_init_failures = wire_get_u32(&r);
	cnt = wire_get_u32(&r);
	if (!r.fail && cnt > MSG_EVIDENCE_MAX)
		r.fail = "too many evidence lines";
	if (!r.fail && cnt > 0) {
		if ((m->ev = calloc(cnt, sizeof(*m->ev))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			get_evidence(&r, &m->ev[i]);
			m->nev = i + 1;
		}
	}
	if (wire_end(&r, "host_res", err, errlen) == -1) {
		msg_host_res_free(m);
		return -1;
	}
	return 0;
}

/* ---- certmgr ---- */

int
msg_enc_certmgr_req(struct msg_buf *out, const struct msg_certmgr_req *m, char *err, size_t errlen)
{
	wire_start(out);
	wire_put_u64(out, m->task);
	wire_put_str(out, m->site, WIRE_SITE);
	wire_put_str(out, m->fqdn, WIRE_FQDN);
	wire_put_str(out, m->addr, WIRE_ADDR);
	wire_put_u32(out, m->cred);
	return wire_done(out, "certmgr_req", err, errlen);
}

void
msg_certmgr_req_free(struct msg_certmgr_req *m)
{
	free(m->site);
	free(m->fqdn);
	free(m->addr);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_certmgr_req(const uint8_t *p, size_t n, struct msg_certmgr_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	const char *c;

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->site = wire_get_str(&r, WIRE_SITE);
	m->fqdn = wire_get_str(&r, WIRE_FQDN);
	m->addr = wire_get_str(&r, WIRE_ADDR);
	m->cred = wire_get_u32(&r);
	if (!r.fail && m->cred > MSG_CRED_MAX)
		r.fail = "bad credential set";
	if (!r.fail && (m->site[0] == '\0' || m->fqdn[0] == '\0'))
		r.fail = "empty site or fqdn";
	/* The site code becomes part of a share name: letters and digits only. */
	for (c = m->site; !r.fail && *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			r.fail = "bad site code";
	if (wire_end(&r, "certmgr_req", err, errlen) == -1) {
		msg_certmgr_req_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_certmgr_res(struct msg_buf *out, const struct msg_certmgr_res *m, char *err, size_t errlen)
{
	uint32_t i;

	wire_start(out);
	if (m->ndenied > MSG_DENIED_MAX)
		return util_err(err, errlen, "certmgr_res: too many hosts");
	wire_put_u64(out, m->task);
	wire_put_u32(out, m->ok);
	wire_put_str(out, m->reason, WIRE_REASON);
	wire_put_str(out, m->detail, WIRE_TEXT);
	wire_put_str(out, m->file, WIRE_TEXT);
	wire_put_u32(out, m->ndenied);
	for (i = 0; i < m->ndenied; i++) {
		wire_put_str(out, m->denied[i].fqdn, WIRE_FQDN);
		wire_put_u32(out, m->denied[i].count);
		wire_put_str(out, m->denied[i].last, WIRE_TIME);
		wire_put_str(out, m->denied[i].line, MSG_LINE_MAX);
	}
	return wire_done(out, "certmgr_res", err, errlen);
}

void
msg_certmgr_res_free(struct msg_certmgr_res *m)
{
	uint32_t i;

	free(m->reason);
	free(m->detail);
	free(m->file);
	if (m->denied != NULL)
		for (i = 0; i < m->ndenied; i++) {
			free(m->denied[i].fqdn);
			free(m->denied[i].last);
			free(m->denied[i].line);
		}
	free(m->denied);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_certmgr_res(const uint8_t *p, size_t n, struct msg_certmgr_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;
	time_t t;

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->ok = wire_get_u32(&r);
	if (!r.fail && m->ok > 1)
		r.fail = "bad ok flag";
	m->reason = wire_get_str(&r, WIRE_REASON);
	m->detail = wire_get_str(&r, WIRE_TEXT);
	m->file = wire_get_str(&r, WIRE_TEXT);
	cnt = wire_get_u32(&r);
	if (!r.fail && cnt > MSG_DENIED_MAX)
		r.fail = "too many hosts";
	if (!r.fail && cnt > 0) {
		if ((m->denied = calloc(cnt, sizeof(*m->denied))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->ndenied = i + 1;
			m->denied[i].fqdn = wire_get_str(&r, WIRE_FQDN);
			m->denied[i].count = wire_get_u32(&r);
			m->denied[i].last = wire_get_str(&r, WIRE_TIME);
			m->denied[i].line = wire_get_str(&r, MSG_LINE_MAX);
			if (!r.fail && m->denied[i].fqdn[0] == '\0')
				r.fail = "empty fqdn";
			if (!r.fail && m->denied[i].last[0] != '\0' && util_iso_parse(m->denied[i].last, &t) == -1)
				r.fail = "bad time";
		}
	}
	if (wire_end(&r, "certmgr_res", err, errlen) == -1) {
		msg_certmgr_res_free(m);
		return -1;
	}
	return 0;
}

