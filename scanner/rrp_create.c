/*
 * rrp_create.c — MS-RRP CreateKey for the tests (see rrp_create.h): its stubs, built from rrp_codec.c's NDR
 * primitives (rrp_ndr.h), and the operation OpenHKLM, CreateKey, CloseKey ×2 over a struct rrp_io.  Compiled
 * only into the test programs that name it (tests/unit, tests/fuzz, tests/integration meson.build), so the
 * scanner cannot create a key.
 */
#include <stdlib.h>

#include "rrp_create.h"
#include "rrp_ndr.h"
#include "util.h"

int
rrp_enc_create_key(struct dbuf *out, const struct rrp_handle *parent, const char *path, uint32_t access,
    char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, parent, err, errlen) == -1 ||
	    put_string(out, path, REF_BASE, err, errlen) == -1 ||
	    put_align4(out, err, errlen) == -1 ||		/* class is a 4-aligned struct */
	    put_u16(out, 0, err, errlen) == -1 ||		/* class: empty, NULL buffer */
	    put_u16(out, 0, err, errlen) == -1 ||
	    put_u32(out, 0, err, errlen) == -1 ||
	    put_u32(out, 0, err, errlen) == -1 ||		/* options: REG_OPTION_NON_VOLATILE */
	    put_u32(out, access, err, errlen) == -1 ||
	    put_u32(out, 0, err, errlen) == -1 ||		/* security attributes: NULL */
	    put_u32(out, REF_BASE + 4, err, errlen) == -1 ||	/* disposition: unique pointer */
	    put_u32(out, 0, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_dec_create_key(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *disposition, uint32_t *werr,
    char *err, size_t errlen)
{
	struct rd	 r;
	uint32_t	 ptr;

	rd_init(&r, p, n, "CreateKey reply");
	*disposition = 0;
	if (rd_handle(&r, h, err, errlen) == -1 || rd_u32(&r, &ptr, err, errlen) == -1)
		return -1;
	if (ptr != 0 && rd_u32(&r, disposition, err, errlen) == -1)
		return -1;
	if (rd_u32(&r, werr, err, errlen) == -1)
		return -1;
	return rd_end(&r, err, errlen);
}

/* One call of stub req; *resp is the caller's to free.  Marks *dead on a transport failure. */
static int
create_call(const struct rrp_io *io, int *dead, uint32_t opnum, struct dbuf *req, uint8_t **resp, size_t *rlen,
    char *err, size_t errlen)
{
	int rc;

	*resp = NULL;
	*rlen = 0;
	rc = io->call(io->ctx, opnum, req->data, req->len, resp, rlen, err, errlen);
	dbuf_free(req);
	if (rc == -1) {
		*dead = 1;
		return -1;
	}
	if (*rlen > RRP_REPLY_MAX) {
		free(*resp);
		*resp = NULL;
		return util_err(err, errlen, "opnum %u: reply of %zu bytes over the cap", opnum, *rlen);
	}
	return 0;
}

static void
create_close(const struct rrp_io *io, const struct rrp_handle *h)
{
	struct dbuf	 req = { 0 };
	uint8_t		*resp;
	size_t		 rlen;
	uint32_t	 werr;
	char		 e[8];
	int		 dead = 0;

	if (rrp_enc_close_key(&req, h, e, sizeof(e)) == 0 &&
	    create_call(io, &dead, RRP_OP_CLOSE_KEY, &req, &resp, &rlen, e, sizeof(e)) == 0) {
		(void)rrp_dec_close_key(resp, rlen, &werr, e, sizeof(e));
		free(resp);
	}
}

static enum rrp_status
create_status(uint32_t werr)
{
	switch (werr) {
	case RRP_WERR_OK:		return RRP_OK;
	case RRP_WERR_ACCESS_DENIED:	return RRP_DENIED;
	case RRP_WERR_NOT_FOUND:	return RRP_KEY_ABSENT;
	default:			return RRP_FAILED;
	}
}

int
rrp_create_key(const struct rrp_io *io, const char *key, enum rrp_status *st, uint32_t *werr,
    char *err, size_t errlen)
{
	struct rrp_handle	 hklm, hk;
	struct dbuf		 req = { 0 };
	uint8_t			*resp = NULL;
	size_t			 rlen;
	uint32_t		 disp;
	int			 rc = -1, dead = 0, have_hklm = 0;

	*st = RRP_FAILED;
	*werr = 0;
	if (rrp_enc_open_hklm(&req, RRP_MAXIMUM_ALLOWED, err, errlen) == -1 ||
	    create_call(io, &dead, RRP_OP_OPEN_HKLM, &req, &resp, &rlen, err, errlen) == -1 ||
	    rrp_dec_open_hklm(resp, rlen, &hklm, werr, err, errlen) == -1)
		goto done;
	free(resp);
	resp = NULL;
	rc = 0;
	if ((*st = create_status(*werr)) != RRP_OK)
		goto done;
	have_hklm = 1;
	rc = -1;
	if (rrp_enc_create_key(&req, &hklm, key, RRP_KEY_READ | RRP_KEY_SET_VALUE, err, errlen) == -1 ||
	    create_call(io, &dead, RRP_OP_CREATE_KEY, &req, &resp, &rlen, err, errlen) == -1 ||
	    rrp_dec_create_key(resp, rlen, &hk, &disp, werr, err, errlen) == -1)
		goto done;
	rc = 0;
	if ((*st = create_status(*werr)) == RRP_OK)
		create_close(io, &hk);
done:
	dbuf_free(&req);
	free(resp);
	if (have_hklm && !dead)
		create_close(io, &hklm);
	return rc;
}
