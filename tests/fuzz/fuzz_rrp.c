/*
 * fuzz_rrp.c — libFuzzer target for scanner/rrp_codec.c and rrp_ops.c.  The first input byte picks what to exercise:
 *   0..6  one response decoder (OpenHKLM, OpenKey, CreateKey, CloseKey, SetValue, DeleteValue, QueryValue)
 *         on the rest of the input;
 *   7     rrp_multisz_decode, and for a list that decodes, encode → decode must give the same list;
 *         rrp_multisz_read (the Windows reader's view), the same, and "canonical" only for the encoder's bytes;
 *   8+    rrp_read_value over a fake transport whose successive replies are taken from the rest of the
 *         input as [u16 length][bytes] chunks (the read path: open, probe, MORE_DATA retries, close).
 * Every path must return cleanly: crashes, leaks and sanitizer reports are the findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rrp.h"
#include "rrp_create.h"
#include "util.h"

struct feed {
	const uint8_t	*p;
	size_t		 n;
};

static int
feed_call(void *ctx, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct feed	*f = ctx;
	size_t		 len;

	(void)opnum;
	(void)in;
	(void)inlen;
	if (f->n < 2)
		goto dead;
	len = f->p[0] | (size_t)f->p[1] << 8;
	if (len > f->n - 2)
		len = f->n - 2;
	if ((*out = malloc(len ? len : 1)) == NULL)
		goto dead;
	memcpy(*out, f->p + 2, len);
	*outlen = len;
	f->p += 2 + len;
	f->n -= 2 + len;
	return 0;
dead:
	if (err != NULL && errlen > 0)
		strncpy(err, "feed exhausted", errlen - 1);
	return -1;
}

/*
 * The Windows reader's view: a list read encodes (canonically) to a strict-decodable value with the same
 * strings, and it is flagged canonical exactly when the input was that encoding.
 */
static void
multisz_read_roundtrip(const uint8_t *p, size_t n)
{
	char			**e = NULL, **e2 = NULL, err[160];
	size_t			 ne = 0, ne2 = 0, i, ol;
	uint8_t			*o = NULL;
	enum rrp_multisz_enc	 enc;

	if (rrp_multisz_read(p, n, &e, &ne, &enc, err, sizeof(err)) == -1)
		goto done;
	if (ne == 0) {
		if (enc == RRP_MULTISZ_CANONICAL && n > 4)
			abort();	/* only the 0-, 1- and 2-NUL forms are a canonical empty list */
		goto done;
	}
	if (rrp_multisz_encode((const char *const *)e, ne, &o, &ol, err, sizeof(err)) == -1)
		abort();
	if (rrp_multisz_decode(o, ol, &e2, &ne2, err, sizeof(err)) == -1 || ne2 != ne)
		abort();
	for (i = 0; i < ne; i++)
		if (strcmp(e[i], e2[i]) != 0)
			abort();
	if ((enc == RRP_MULTISZ_CANONICAL) != (ol == n && memcmp(o, p, n) == 0))
		abort();
done:
	util_strv_free(e, ne);
	util_strv_free(e2, ne2);
	free(o);
}

static void
multisz_roundtrip(const uint8_t *p, size_t n)
{
	char	**e = NULL, **e2 = NULL, err[160];
	size_t	 ne = 0, ne2 = 0, i, ol;
	uint8_t	*o = NULL;

	if (rrp_multisz_decode(p, n, &e, &ne, err, sizeof(err)) == -1 || ne == 0)
		goto done;
	if (rrp_multisz_encode((const char *const *)e, ne, &o, &ol, err, sizeof(err)) == -1)
		abort();	/* whatever decodes must encode */
	if (rrp_multisz_decode(o, ol, &e2, &ne2, err, sizeof(err)) == -1 || ne2 != ne)
		abort();
	for (i = 0; i < ne; i++)
		if (strcmp(e[i], e2[i]) != 0)
			abort();
	if (ol != n || memcmp(o, p, n) != 0)
		abort();	/* the canonical form is the only valid non-empty form */
done:
	util_strv_free(e, ne);
	util_strv_free(e2, ne2);
	free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rrp_handle	 h;
	struct rrp_qv_reply	 q;
	struct rrp_read		 r;
	struct feed		 f;
	struct rrp_io		 io;
	uint32_t		 werr, disp;
	const uint8_t		*p;
	size_t			 n;
	char			 err[160];

	if (size < 1)
		return 0;
	p = data + 1;
	n = size - 1;
	switch (data[0]) {
	case 0: (void)rrp_dec_open_hklm(p, n, &h, &werr, err, sizeof(err)); break;
	case 1: (void)rrp_dec_open_key(p, n, &h, &werr, err, sizeof(err)); break;
	case 2: (void)rrp_dec_create_key(p, n, &h, &disp, &werr, err, sizeof(err)); break;
	case 3: (void)rrp_dec_close_key(p, n, &werr, err, sizeof(err)); break;
	case 4: (void)rrp_dec_set_value(p, n, &werr, err, sizeof(err)); break;
	case 5: (void)rrp_dec_delete_value(p, n, &werr, err, sizeof(err)); break;
	case 6:
		if (rrp_dec_query_value(p, n, &q, err, sizeof(err)) == 0 && q.data != NULL &&
		    (q.data < p || q.data + q.data_len > p + n))
			abort();
		break;
	case 7: multisz_roundtrip(p, n); multisz_read_roundtrip(p, n); break;
	default:
		f.p = p;
		f.n = n;
		io.call = feed_call;
		io.ctx = &f;
		io.dropped = 0;
		(void)rrp_read_value(&io, RRP_SMS_SECURITY_KEY, RRP_ISSUING_CERT_LIST, &r, err, sizeof(err));
		rrp_read_free(&r);
		break;
	}
	return 0;
}
