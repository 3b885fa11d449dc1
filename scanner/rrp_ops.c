/*
 * rrp_ops.c — the small registry operations the scanner and the fixer run over MS-RRP: read a value, write raw
 * bytes or a multi-string, delete a value (creating a key is test-only: rrp_create.c).  Each opens HKLM and
 * the key, runs its stub and closes every handle it opened (none when the caller drops the connection after:
 * struct rrp_io's dropped), moving the stubs rrp_codec.c encodes through a caller-supplied struct rrp_io
 * (scanner/rpc.c in the workers, a fake in unit tests).  It performs no I/O of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "rrp.h"
#include "util.h"

/* ---------------------------------------------------------------- registry operations */

const char *
rrp_status_str(enum rrp_status s)
{
	switch (s) {
	case RRP_OK:		return "ok";
	case RRP_KEY_ABSENT:	return "key_absent";
	case RRP_DENIED:	return "access_denied";
	case RRP_VALUE_ABSENT:	return "value_absent";
	case RRP_FAILED:	return "failed";
	}
	return "?";
}

void
rrp_read_free(struct rrp_read *r)
{
	if (r == NULL)
		return;
	free(r->raw);
	util_strv_free(r->elems, r->nelems);
	r->raw = NULL;
	r->elems = NULL;
	r->raw_len = r->nelems = 0;
}

/* Send req (freed here) and return the reply in *resp (malloc'd; caller frees). */
static int
io_call(const struct rrp_io *io, uint32_t opnum, struct dbuf *req, uint8_t **resp, size_t *resplen,
    char *err, size_t errlen)
{
	int	 rc;

	*resp = NULL;
	*resplen = 0;
	rc = io->call(io->ctx, opnum, req->data, req->len, resp, resplen, err, errlen);
	dbuf_free(req);
	if (rc == -1)
		return -1;
	if (*resplen > RRP_REPLY_MAX) {
		free(*resp);
		*resp = NULL;
		return util_err(err, errlen, "opnum %u: reply of %zu bytes over the cap", opnum, *resplen);
	}
	return 0;
}

/*
 * A transport that remembers whether a call failed: after a transport failure (timeout, reset) the handles
 * are not closed — each close would only wait for the same timeout, and the server drops them with the pipe.
 */
struct guarded_io {
	const struct rrp_io	*inner;
	int			 dead;	/* a call failed, or the caller drops the connection (io->dropped) */
};

static int
guarded_call(void *ctx, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct guarded_io	*g = ctx;

	if (g->dead)
		return util_err(err, errlen, "connection already failed");
	if (g->inner->call(g->inner->ctx, opnum, in, inlen, out, outlen, err, errlen) == -1) {
		g->dead = 1;
		return -1;
	}
	return 0;
}

static enum rrp_status
werr_status(uint32_t werr, int is_key)
{
	switch (werr) {
	case RRP_WERR_OK:		return RRP_OK;
	case RRP_WERR_ACCESS_DENIED:	return RRP_DENIED;
	case RRP_WERR_NOT_FOUND:	return is_key ? RRP_KEY_ABSENT : RRP_VALUE_ABSENT;
	default:			return RRP_FAILED;
	}
}

static int
op_open_hklm(const struct rrp_io *io, struct rrp_handle *h, uint32_t *werr, char *err, size_t errlen)
{
	struct dbuf	 req = { 0 };
	uint8_t		*resp;
	size_t		 rlen;
	int		 rc;

	if (rrp_enc_open_hklm(&req, RRP_MAXIMUM_ALLOWED, err, errlen) == -1 ||
	    io_call(io, RRP_OP_OPEN_HKLM, &req, &resp, &rlen, err, errlen) == -1)
		return -1;
	rc = rrp_dec_open_hklm(resp, rlen, h, werr, err, errlen);
	free(resp);
	return rc;
}

static int
op_open_key(const struct rrp_io *io, const struct rrp_handle *parent, const char *path, uint32_t access,
    struct rrp_handle *h, uint32_t *werr, char *err, size_t errlen)
{
	struct dbuf	 req = { 0 };
	uint8_t		*resp;
	size_t		 rlen;
	int		 rc;

	if (rrp_enc_open_key(&req, parent, path, access, err, errlen) == -1 ||
	    io_call(io, RRP_OP_OPEN_KEY, &req, &resp, &rlen, err, errlen) == -1)
		return -1;
	rc = rrp_dec_open_key(resp, rlen, h, werr, err, errlen);
	free(resp);
	return rc;
}

/* Best effort: a failed close changes nothing for the caller (the server drops handles with the pipe). */
static void
op_close(const struct rrp_io *io, const struct rrp_handle *h)
{
	struct dbuf	 req = { 0 };
	uint8_t		*resp;
	size_t		 rlen;
	uint32_t	 werr;
	char		 e[8];

	if (rrp_enc_close_key(&req, h, e, sizeof(e)) == -1 ||
	    io_call(io, RRP_OP_CLOSE_KEY, &req, &resp, &rlen, e, sizeof(e)) == -1)
		return;
	(void)rrp_dec_close_key(resp, rlen, &werr, e, sizeof(e));
	free(resp);
}

static int
op_query(const struct rrp_io *io, const struct rrp_handle *h, const char *name, uint32_t bufsize,
    uint8_t **resp, struct rrp_qv_reply *q, char *err, size_t errlen)
{
	struct dbuf	 req = { 0 };
	size_t		 rlen;

	if (rrp_enc_query_value(&req, h, name, bufsize, err, errlen) == -1 ||
	    io_call(io, RRP_OP_QUERY_VALUE, &req, resp, &rlen, err, errlen) == -1)
		return -1;
	if (rrp_dec_query_value(*resp, rlen, q, err, errlen) == -1) {
		free(*resp);
		*resp = NULL;
		return -1;
	}
	return 0;
}

/* Fill r from a fetched value (type, bytes), decoding REG_MULTI_SZ. */
static int
read_fill(struct rrp_read *r, uint32_t type, const uint8_t *data, size_t len, char *err, size_t errlen)
{
	r->status = RRP_OK;
	r->type = type;
	if (len > 0) {
		if ((r->raw = malloc(len)) == NULL)
			return util_err(err, errlen, "out of memory");
		memcpy(r->raw, data, len);
		r->raw_len = len;
	}
	if (type != RRP_REG_MULTI_SZ) {
		util_err(r->decode_err, sizeof(r->decode_err), "type %u is not REG_MULTI_SZ", type);
		return 0;
	}
	if (rrp_multisz_read(data, len, &r->elems, &r->nelems, &r->encoding, r->decode_err,
	    sizeof(r->decode_err)) == 0)
		r->decoded = 1;
	return 0;
}

#define RRP_FIRST_FETCH	4096	/* bytes offered by the first QueryValue; IssuingCertificateList is smaller */
#define QV_ATTEMPTS	4	/* the value may grow between two fetches: retry on WERR_MORE_DATA */

/*
 * The QueryValue loop of rrp_read_value on the open key hk: fills *r (0) when the server answered, -1 with
 * err on a transport or protocol failure.
 */
static int
read_fetch(const struct rrp_io *io, const struct rrp_handle *hk, const char *name, struct rrp_read *r,
    char *err, size_t errlen)
{
	struct rrp_qv_reply	 q = { 0 };
	uint8_t			*resp = NULL;
	uint32_t		 size;
	int			 rc = -1, attempt;

	/*
	 * No separate size probe: offer RRP_FIRST_FETCH bytes at once (what Windows' own remote RegQueryValueEx
	 * does); a larger value answers WERR_MORE_DATA with the size it needs and the loop retries with it.
	 */
	size = RRP_FIRST_FETCH;
	for (attempt = 0; attempt < QV_ATTEMPTS; attempt++) {
		if (size > RRP_VALUE_MAX) {
			r->status = RRP_OK;
			r->type = q.type;	/* from the WERR_MORE_DATA reply */
			r->too_large = 1;
			util_err(r->decode_err, sizeof(r->decode_err), "value of %u bytes over the %u-byte cap",
			    size, RRP_VALUE_MAX);
			rc = 0;
			goto done;
		}
		free(resp);
		resp = NULL;
		if (op_query(io, hk, name, size, &resp, &q, err, errlen) == -1)
			goto done;
		if (q.werr == RRP_WERR_MORE_DATA) {
			if (q.size <= size) {
				util_err(err, errlen, "QueryValue: WERR_MORE_DATA without a larger size (%u)", q.size);
				goto done;
			}
			size = q.size;
			continue;
		}
		if (q.werr != RRP_WERR_OK) {
			r->status = werr_status(q.werr, 0);
			r->werr = q.werr;
			rc = 0;
			goto done;
		}
		/*
		 * WERR_OK must come with the value's bytes: a data pointer, and as many bytes as *lpcbData says
		 * the value holds (MS-RRP 3.1.5.17).  A reply without them says nothing about the value; reading it
		 * as an empty value would make the fixer overwrite a value it never saw.
		 */
		if (q.data == NULL) {
			util_err(err, errlen, "QueryValue: success without data");
			goto done;
		}
		if (q.data_len != q.size) {
			util_err(err, errlen, "QueryValue: %u bytes of data for a value of %u bytes", q.data_len,
			    q.size);
			goto done;
		}
		rc = read_fill(r, q.type, q.data, q.data_len, err, errlen);
		goto done;
	}
	util_err(err, errlen, "QueryValue: value kept growing (%d attempts)", QV_ATTEMPTS);
done:
	free(resp);
	return rc;
}

int
rrp_read_value(const struct rrp_io *inner, const char *key, const char *name, struct rrp_read *r,
    char *err, size_t errlen)
{
	struct guarded_io	 g = { inner, 0 };
	const struct rrp_io	 gio = { guarded_call, &g, 0 }, *io = &gio;
	struct rrp_handle	 hklm, hk;
	uint32_t		 werr;
	int			 rc = -1, have_hklm = 0, have_key = 0;

	memset(r, 0, sizeof(*r));
	if (op_open_hklm(io, &hklm, &werr, err, errlen) == -1)
		goto done;
	if (werr != RRP_WERR_OK) {
		r->status = werr_status(werr, 1);
		r->werr = werr;
		rc = 0;
		goto done;
	}
	have_hklm = 1;
	if (op_open_key(io, &hklm, key, RRP_KEY_READ, &hk, &werr, err, errlen) == -1)
		goto done;
	if (werr != RRP_WERR_OK) {
		r->status = werr_status(werr, 1);
		r->werr = werr;
		rc = 0;
		goto done;
	}
	have_key = 1;
	rc = read_fetch(io, &hk, name, r, err, errlen);
done:
	if (inner->dropped)
		g.dead = 1;	/* the handles go with the connection (rrp.h, struct rrp_io) */
	if (have_key && !g.dead)
		op_close(io, &hk);
	if (have_hklm && !g.dead)
		op_close(io, &hklm);
	return rc;
}

/* Open HKLM\key for writing and run one stub on the key handle. */
static int
write_op(const struct rrp_io *inner, const char *key, uint32_t opnum, const char *name,
    uint32_t type, const uint8_t *data, size_t len, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen)
{
	struct guarded_io	 g = { inner, 0 };
	const struct rrp_io	 gio = { guarded_call, &g, 0 }, *io = &gio;
	struct rrp_handle	 hklm, hk;
	struct dbuf		 req = { 0 };
	uint8_t			*resp = NULL;
	size_t			 rlen;
	int			 rc = -1, have_hklm = 0, have_key = 0;

	*st = RRP_FAILED;
	*werr = 0;
	if (op_open_hklm(io, &hklm, werr, err, errlen) == -1)
		goto done;
	if (*werr != RRP_WERR_OK) {
		*st = werr_status(*werr, 1);
		rc = 0;
		goto done;
	}
	have_hklm = 1;
	if (op_open_key(io, &hklm, key, RRP_KEY_READ | RRP_KEY_SET_VALUE, &hk, werr, err, errlen) == -1)
		goto done;
	if (*werr != RRP_WERR_OK) {
		*st = werr_status(*werr, 1);
		rc = 0;
		goto done;
	}
	have_key = 1;
	if (opnum == RRP_OP_SET_VALUE) {
		if (rrp_enc_set_value(&req, &hk, name, type, data, len, err, errlen) == -1 ||
		    io_call(io, opnum, &req, &resp, &rlen, err, errlen) == -1 ||
		    rrp_dec_set_value(resp, rlen, werr, err, errlen) == -1)
			goto done;
	} else {
		if (rrp_enc_delete_value(&req, &hk, name, err, errlen) == -1 ||
		    io_call(io, opnum, &req, &resp, &rlen, err, errlen) == -1 ||
		    rrp_dec_delete_value(resp, rlen, werr, err, errlen) == -1)
			goto done;
	}
	*st = werr_status(*werr, 0);
	rc = 0;
done:
	dbuf_free(&req);
	free(resp);
	if (inner->dropped)
		g.dead = 1;	/* the handles go with the connection (rrp.h, struct rrp_io) */
	if (have_key && !g.dead)
		op_close(io, &hk);
	if (have_hklm && !g.dead)
		op_close(io, &hklm);
	return rc;
}

int
rrp_write_raw(const struct rrp_io *io, const char *key, const char *name, uint32_t type, const uint8_t *data,
    size_t len, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen)
{
	*st = RRP_FAILED;
	*werr = 0;
	if (len > RRP_VALUE_MAX)
		return util_err(err, errlen, "value of %zu bytes over the %u-byte cap", len, RRP_VALUE_MAX);
	return write_op(io, key, RRP_OP_SET_VALUE, name, type, data, len, st, werr, err, errlen);
}

int
rrp_write_multisz(const struct rrp_io *io, const char *key, const char *name, const char *const *elems,
    size_t n, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen)
{
	uint8_t	*b;
	size_t	 blen;
	int	 rc;

	*st = RRP_FAILED;
	*werr = 0;
	if (rrp_multisz_encode(elems, n, &b, &blen, err, errlen) == -1)
		return -1;
	rc = rrp_write_raw(io, key, name, RRP_REG_MULTI_SZ, b, blen, st, werr, err, errlen);
	free(b);
	return rc;
}

int
rrp_delete_value(const struct rrp_io *io, const char *key, const char *name, enum rrp_status *st,
    uint32_t *werr, char *err, size_t errlen)
{
	return write_op(io, key, RRP_OP_DELETE_VALUE, name, 0, NULL, 0, st, werr, err, errlen);
}
