/*
 * msg_fix.c — the payloads of fix and rollback jobs (msg.h): one request per step (READ, WRITE, RESTORE,
 * DELETE, each checked against its request type) and the reply both share (the write's fate and the read
 * that followed).  fix.c encodes requests and decodes replies; worker.c the other way round.
 */
#include "msg.h"
#include "msg_wire.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Does op belong to the request type (MSG_FIX_REQ or MSG_ROLLBACK_REQ)? */
static int
fix_op_ok(uint32_t type, uint32_t op)
{
	if (op == MSG_FIX_OP_READ)
		return 1;
	if (type == MSG_FIX_REQ)
		return op == MSG_FIX_OP_WRITE;
	return op == MSG_FIX_OP_RESTORE || op == MSG_FIX_OP_DELETE;
}

static int
enc_fix_req(uint32_t type, struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	const char *what = type == MSG_FIX_REQ ? "fix_req" : "rollback_req";
	uint32_t i;

	wire_start(out);
	if (!fix_op_ok(type, m->op))
		return util_err(err, errlen, "%s: bad op %u", what, m->op);
	if (m->nelems > MSG_ELEMS_MAX || (m->op == MSG_FIX_OP_WRITE) != (m->nelems > 0))
		return util_err(err, errlen, "%s: elements only for a write, 1..%u of them", what, MSG_ELEMS_MAX);
	if (m->op != MSG_FIX_OP_RESTORE && (m->data_len > 0 || m->value_type != 0))
		return util_err(err, errlen, "%s: data only for a restore", what);
	wire_put_u64(out, m->task);
	wire_put_u64(out, m->job);
	wire_put_u32(out, m->op);
	wire_put_str(out, m->fqdn, WIRE_FQDN);
	wire_put_str(out, m->addr, WIRE_ADDR);
	wire_put_u32(out, m->nelems);
	for (i = 0; i < m->nelems; i++) {
		if (m->elems[i] == NULL || m->elems[i][0] == '\0')
			return util_err(err, errlen, "%s: empty element", what);
		wire_put_str(out, m->elems[i], MSG_STR_MAX);
	}
	wire_put_u32(out, m->value_type);
	wire_put_bytes(out, m->data, m->data_len, MSG_VALUE_MAX);
	wire_put_u32(out, m->cred);
	return wire_done(out, what, err, errlen);
}

void
msg_fix_req_free(struct msg_fix_req *m)
{
	free(m->fqdn);
	free(m->addr);
	util_strv_free(m->elems, m->nelems);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int
dec_fix_req(uint32_t type, const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->job = wire_get_u64(&r);
	m->op = wire_get_u32(&r);
	if (!r.fail && !fix_op_ok(type, m->op))
		r.fail = "bad op";
	m->fqdn = wire_get_str(&r, WIRE_FQDN);
	m->addr = wire_get_str(&r, WIRE_ADDR);
	if (!r.fail && m->fqdn[0] == '\0')
		r.fail = "empty fqdn";
	cnt = wire_get_u32(&r);
	if (!r.fail && (cnt > MSG_ELEMS_MAX || (m->op == MSG_FIX_OP_WRITE) != (cnt > 0)))
		r.fail = "bad element count";
	if (!r.fail && cnt > 0) {
		if ((m->elems = calloc(cnt, sizeof(*m->elems))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->elems[i] = wire_get_str(&r, MSG_STR_MAX);
			m->nelems = i + 1;
			if (!r.fail && m->elems[i][0] == '\0')
				r.fail = "empty element";
		}
	}
	m->value_type = wire_get_u32(&r);
	m->data = wire_get_bytes(&r, &m->data_len, MSG_VALUE_MAX);
	if (!r.fail && m->op != MSG_FIX_OP_RESTORE && (m->value_type != 0 || m->data_len != 0))
		r.fail = "data on an op that takes none";
	m->cred = wire_get_u32(&r);
	if (!r.fail && m->cred > MSG_CRED_MAX)
		r.fail = "bad credential set";
	if (wire_end(&r, type == MSG_FIX_REQ ? "fix_req" : "rollback_req", err, errlen) == -1) {
		msg_fix_req_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_fix_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	return enc_fix_req(MSG_FIX_REQ, out, m, err, errlen);
}

int
msg_dec_fix_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	return dec_fix_req(MSG_FIX_REQ, p, n, m, err, errlen);
}

int
msg_enc_rollback_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	return enc_fix_req(MSG_ROLLBACK_REQ, out, m, err, errlen);
}

int
msg_dec_rollback_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	return dec_fix_req(MSG_ROLLBACK_REQ, p, n, m, err, errlen);
}

static int
is_sha_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == UTIL_SHA256_HEX - 1;
}

static int
enc_fix_res(const char *what, struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	wire_start(out);
	wire_put_u64(out, m->task);
	wire_put_u32(out, m->write);
	wire_put_u32(out, m->reg);
	wire_put_str(out, m->reason, WIRE_REASON);
	wire_put_str(out, m->detail, WIRE_TEXT);
	wire_put_u32(out, m->werr);
	wire_put_u32(out, m->value_type);
	wire_put_u32(out, m->too_large);
	wire_put_u32(out, m->decoded);
	wire_put_str(out, m->sha256, WIRE_SHA256);
	wire_put_bytes(out, m->raw, m->raw_len, MSG_VALUE_MAX);
	return wire_done(out, what, err, errlen);
}

void
msg_fix_res_free(struct msg_fix_res *m)
{
	free(m->reason);
	free(m->detail);
	free(m->sha256);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}

static int
dec_fix_res(const char *what, const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	memset(m, 0, sizeof(*m));
	m->task = wire_get_u64(&r);
	m->write = wire_get_u32(&r);
	if (!r.fail && m->write > MSG_WRITE_UNREACHABLE)
		r.fail = "bad write outcome";
	m->reg = wire_get_u32(&r);
	if (!r.fail && (m->reg < MSG_REG_VALUE || m->reg > MSG_REG_UNREACHABLE))
		r.fail = "bad registry outcome";
	m->reason = wire_get_str(&r, WIRE_REASON);
	m->detail = wire_get_str(&r, WIRE_TEXT);
	m->werr = wire_get_u32(&r);
	m->value_type = wire_get_u32(&r);
	m->too_large = wire_get_u32(&r);
	m->decoded = wire_get_u32(&r);
	if (!r.fail && (m->too_large > 1 || m->decoded > 1))
		r.fail = "bad flag";
	m->sha256 = wire_get_str(&r, WIRE_SHA256);
	if (!r.fail && (m->decoded ? !is_sha_hex(m->sha256) : m->sha256[0] != '\0'))
		r.fail = "bad sha256";
	m->raw = wire_get_bytes(&r, &m->raw_len, MSG_VALUE_MAX);
	if (!r.fail && m->reg != MSG_REG_VALUE && (m->raw_len > 0 || m->decoded || m->too_large))
		r.fail = "value bytes without a value";
	if (!r.fail && m->too_large && (m->raw_len > 0 || m->decoded))
		r.fail = "bytes of a value over the cap";
	if (wire_end(&r, what, err, errlen) == -1) {
		msg_fix_res_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_fix_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	return enc_fix_res("fix_res", out, m, err, errlen);
}

int
msg_dec_fix_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	return dec_fix_res("fix_res", p, n, m, err, errlen);
}

int
msg_enc_rollback_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	return enc_fix_res("rollback_res", out, m, err, errlen);
}

int
msg_dec_rollback_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	return dec_fix_res("rollback_res", p, n, m, err, errlen);
}
