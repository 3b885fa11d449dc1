/*
 * rrp_codec.c — our own MS-RRP (winreg) codec: NDR encoders for the request stubs of OpenHKLM (2), CloseKey (5),
 * DeleteValue (8), OpenKey (15), QueryValue (17) and SetValue (22), bounds-checked decoders for
 * their response stubs, and REG_MULTI_SZ <-> UTF-8 conversion (lib/utf.c): the reader takes what Windows
 * readers take and says when the bytes are not canonical; the encoder writes only the canonical form.  Called by rrp_ops.c (the
 * registry operations), and by unit tests / the fuzzer with byte vectors.  Pure: no I/O, no state.
 *
 * Assumptions (MS-RRP 2.2 / 3.1.5, and doc/FIELD-NOTES.md, "Remote Registry", as seen on the wire against
 * Samba): NDR20, little-endian, every u32 4-byte aligned from the start of the stub; an RRP_UNICODE_STRING is
 * u16 Length, u16 MaximumLength (both in bytes, NUL included, as Samba and Windows clients send it), a unique
 * pointer, then the deferred conformant-varying array {max, offset 0, actual, UTF-16LE units incl. NUL};
 * policy handles are 20 opaque bytes.  Decoders accept only exactly-sized stubs: a trailing byte is an error,
 * never ignored.  Request stubs are built in a lib/dbuf.h buffer capped at RRP_REPLY_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "dbuf.h"
#include "rrp.h"
#include "rrp_ndr.h"
#include "utf.h"
#include "util.h"


/* ---------------------------------------------------------------- encoding buffer */

static int
put_bytes(struct dbuf *b, const void *p, size_t n, char *err, size_t errlen)
{
	if (dbuf_add(b, p, n) == 0)
		return 0;
	if (n > b->max - b->len)
		return util_err(err, errlen, "request stub over %u bytes", RRP_REPLY_MAX);
	return util_err(err, errlen, "out of memory");
}

int
put_align4(struct dbuf *b, char *err, size_t errlen)
{
	static const uint8_t zero[4];

	return put_bytes(b, zero, (4 - (b->len & 3)) & 3, err, errlen);
}

int
put_u16(struct dbuf *b, uint16_t v, char *err, size_t errlen)
{
	uint8_t	 x[2] = { v & 0xff, v >> 8 };

	return put_bytes(b, x, 2, err, errlen);
}

int
put_u32(struct dbuf *b, uint32_t v, char *err, size_t errlen)
{
	uint8_t	 x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	if (put_align4(b, err, errlen) == -1)
		return -1;
	return put_bytes(b, x, 4, err, errlen);
}

int
put_handle(struct dbuf *b, const struct rrp_handle *h, char *err, size_t errlen)
{
	if (put_align4(b, err, errlen) == -1)
		return -1;
	return put_bytes(b, h->b, RRP_HANDLE_LEN, err, errlen);
}

/* ---------------------------------------------------------------- stub pieces */

/*
 * An RRP_UNICODE_STRING holding s (UTF-8), with its deferred array right after it (MS-RRP 2.2.4).  NDR pads only
 * before the next aligned item, never after the last one: DeleteValue, whose name is its last member, ends on
 * the name's NUL (86 bytes for IssuingCertificateList, as Samba's NDR and Wireshark's winreg dissector count).
 */
int
put_string(struct dbuf *b, const char *s, uint32_t refid, char *err, size_t errlen)
{
	uint16_t	 units[RRP_NAME_MAX + 1];
	long		 n;
	size_t		 i, c;

	if ((n = utf8_to_utf16(s, units, RRP_NAME_MAX)) == -1)
		return util_err(err, errlen, "name is not valid UTF-8 or longer than %d units", RRP_NAME_MAX);
	units[n] = 0;
	c = (size_t)n + 1;
	if (put_align4(b, err, errlen) == -1 ||
	    put_u16(b, (uint16_t)(c * 2), err, errlen) == -1 ||
	    put_u16(b, (uint16_t)(c * 2), err, errlen) == -1 ||
	    put_u32(b, refid, err, errlen) == -1 ||
	    put_u32(b, (uint32_t)c, err, errlen) == -1 ||
	    put_u32(b, 0, err, errlen) == -1 ||
	    put_u32(b, (uint32_t)c, err, errlen) == -1)
		return -1;
	for (i = 0; i < c; i++)
		if (put_u16(b, units[i], err, errlen) == -1)
			return -1;
	return 0;		/* no trailing pad: what follows aligns itself, and a stub ends on its last byte */
}

/* Every encoder starts from an empty stub capped at RRP_REPLY_MAX, and leaves it empty when it fails. */
void
enc_begin(struct dbuf *out)
{
	dbuf_free(out);
	dbuf_init(out, RRP_REPLY_MAX);
}

int
enc_fail(struct dbuf *out)
{
	dbuf_free(out);
	return -1;
}

int
rrp_enc_open_hklm(struct dbuf *out, uint32_t access, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_u32(out, 0, err, errlen) == -1 ||		/* system_name: NULL unique pointer */
	    put_u32(out, access, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_open_key(struct dbuf *out, const struct rrp_handle *parent, const char *path, uint32_t access,
    char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, parent, err, errlen) == -1 ||
	    put_string(out, path, REF_BASE, err, errlen) == -1 ||
	    put_u32(out, 0, err, errlen) == -1 ||		/* options */
	    put_u32(out, access, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_close_key(struct dbuf *out, const struct rrp_handle *h, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, h, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_query_value(struct dbuf *out, const struct rrp_handle *h, const char *name, uint32_t bufsize,
    char *err, size_t errlen)
{
	enc_begin(out);
	if (bufsize > RRP_VALUE_MAX) {
		util_err(err, errlen, "buffer size %u over the %u-byte cap", bufsize, RRP_VALUE_MAX);
		return enc_fail(out);
	}
	if (put_handle(out, h, err, errlen) == -1 ||
	    put_string(out, name, REF_BASE, err, errlen) == -1 ||
	    put_u32(out, REF_BASE + 4, err, errlen) == -1 ||	/* type */
	    put_u32(out, 0, err, errlen) == -1)
		return enc_fail(out);
	if (bufsize == 0) {
		if (put_u32(out, 0, err, errlen) == -1)		/* data: NULL */
			return enc_fail(out);
	} else if (put_u32(out, REF_BASE + 8, err, errlen) == -1 ||
	    put_u32(out, bufsize, err, errlen) == -1 ||		/* max_count = *size */
	    put_u32(out, 0, err, errlen) == -1 ||		/* offset */
	    put_u32(out, 0, err, errlen) == -1)			/* actual = *length = 0 */
		return enc_fail(out);
	if (put_u32(out, REF_BASE + 12, err, errlen) == -1 ||	/* size */
	    put_u32(out, bufsize, err, errlen) == -1 ||
	    put_u32(out, REF_BASE + 16, err, errlen) == -1 ||	/* length */
	    put_u32(out, 0, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_set_value(struct dbuf *out, const struct rrp_handle *h, const char *name, uint32_t type,
    const uint8_t *data, size_t len, char *err, size_t errlen)
{
	enc_begin(out);
	if (len > RRP_VALUE_MAX) {
		util_err(err, errlen, "value of %zu bytes over the %u-byte cap", len, RRP_VALUE_MAX);
		return enc_fail(out);
	}
	if (put_handle(out, h, err, errlen) == -1 ||
	    put_string(out, name, REF_BASE, err, errlen) == -1 ||
	    put_u32(out, type, err, errlen) == -1 ||
	    put_u32(out, (uint32_t)len, err, errlen) == -1 ||	/* [ref] conformant array: max_count */
	    put_bytes(out, data, len, err, errlen) == -1 ||
	    put_u32(out, (uint32_t)len, err, errlen) == -1)	/* cbData (put_u32 pads first) */
		return enc_fail(out);
	return 0;
}

int
rrp_enc_delete_value(struct dbuf *out, const struct rrp_handle *h, const char *name, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, h, err, errlen) == -1 ||
	    put_string(out, name, REF_BASE, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

/* ---------------------------------------------------------------- decoding */


static int
rd_align4(struct rd *r, char *err, size_t errlen)
{
	size_t	 pad = (4 - (r->off & 3)) & 3;

	if (pad > r->n - r->off)
		return util_err(err, errlen, "%s: truncated at byte %zu", r->what, r->off);
	r->off += pad;
	return 0;
}

int
rd_u32(struct rd *r, uint32_t *v, char *err, size_t errlen)
{
	const uint8_t	*q;

	if (rd_align4(r, err, errlen) == -1)
		return -1;
	if (r->n - r->off < 4)
		return util_err(err, errlen, "%s: truncated at byte %zu", r->what, r->off);
	q = r->p + r->off;
	*v = q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
	r->off += 4;
	return 0;
}

int
rd_handle(struct rd *r, struct rrp_handle *h, char *err, size_t errlen)
{
	if (rd_align4(r, err, errlen) == -1)
		return -1;
	if (r->n - r->off < RRP_HANDLE_LEN)
		return util_err(err, errlen, "%s: truncated handle at byte %zu", r->what, r->off);
	memcpy(h->b, r->p + r->off, RRP_HANDLE_LEN);
	r->off += RRP_HANDLE_LEN;
	return 0;
}

int
rd_end(struct rd *r, char *err, size_t errlen)
{
	if (r->off != r->n)
		return util_err(err, errlen, "%s: %zu trailing bytes", r->what, r->n - r->off);
	return 0;
}

void
rd_init(struct rd *r, const uint8_t *p, size_t n, const char *what)
{
	r->p = p;
	r->n = p == NULL ? 0 : n;
	r->off = 0;
	r->what = what;
}

/* Stubs of the form: 20-byte handle, WERROR. */
static int
dec_handle_werr(const char *what, const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *werr,
    char *err, size_t errlen)
{
	struct rd	 r;

	rd_init(&r, p, n, what);
	if (rd_handle(&r, h, err, errlen) == -1 || rd_u32(&r, werr, err, errlen) == -1)
		return -1;
	return rd_end(&r, err, errlen);
}

static int
dec_werr(const char *what, const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen)
{
	struct rd	 r;

	rd_init(&r, p, n, what);
	if (rd_u32(&r, werr, err, errlen) == -1)
		return -1;
	return rd_end(&r, err, errlen);
}

int
rrp_dec_open_hklm(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *werr, char *err, size_t errlen)
{
	return dec_handle_werr("OpenHKLM reply", p, n, h, werr, err, errlen);
}

int
rrp_dec_open_key(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *werr, char *err, size_t errlen)
{
	return dec_handle_werr("OpenKey reply", p, n, h, werr, err, errlen);
}

int
rrp_dec_close_key(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen)
{
	struct rrp_handle	 h;

	return dec_handle_werr("CloseKey reply", p, n, &h, werr, err, errlen);
}

int
rrp_dec_set_value(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen)
{
	return dec_werr("SetValue reply", p, n, werr, err, errlen);
}

int
rrp_dec_delete_value(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen)
{
	return dec_werr("DeleteValue reply", p, n, werr, err, errlen);
}

int
rrp_dec_query_value(const uint8_t *p, size_t n, struct rrp_qv_reply *q, char *err, size_t errlen)
{
	struct rd	 r;
	uint32_t	 ptr, max = 0, offset, actual = 0, length = 0;
	int		 have_data = 0, have_size = 0, have_len = 0;

	memset(q, 0, sizeof(*q));
	rd_init(&r, p, n, "QueryValue reply");
	if (n > RRP_REPLY_MAX)
		return util_err(err, errlen, "QueryValue reply: %zu bytes over the cap", n);
	if (rd_u32(&r, &ptr, err, errlen) == -1)
		return -1;
	if (ptr != 0 && rd_u32(&r, &q->type, err, errlen) == -1)
		return -1;
	if (rd_u32(&r, &ptr, err, errlen) == -1)
		return -1;
	if (ptr != 0) {
		have_data = 1;
		if (rd_u32(&r, &max, err, errlen) == -1 || rd_u32(&r, &offset, err, errlen) == -1 ||
		    rd_u32(&r, &actual, err, errlen) == -1)
			return -1;
		if (offset != 0)
			return util_err(err, errlen, "QueryValue reply: data offset %u is not 0", offset);
		if (actual > max)
			return util_err(err, errlen, "QueryValue reply: data length %u over its size %u",
			    actual, max);
		if (actual > RRP_VALUE_MAX)
			return util_err(err, errlen, "QueryValue reply: data length %u over the %u-byte cap",
			    actual, RRP_VALUE_MAX);
		if (actual > r.n - r.off)
			return util_err(err, errlen, "QueryValue reply: truncated data (%u bytes announced, %zu "
			    "left)", actual, r.n - r.off);
		q->data = r.p + r.off;
		q->data_len = actual;
		r.off += actual;
	}
	if (rd_u32(&r, &ptr, err, errlen) == -1)
		return -1;
	if (ptr != 0) {
		have_size = 1;
		if (rd_u32(&r, &q->size, err, errlen) == -1)
			return -1;
	}
	if (rd_u32(&r, &ptr, err, errlen) == -1)
		return -1;
	if (ptr != 0) {
		have_len = 1;
		if (rd_u32(&r, &length, err, errlen) == -1)
			return -1;
	}
	if (rd_u32(&r, &q->werr, err, errlen) == -1 || rd_end(&r, err, errlen) == -1)
		return -1;
	/* NDR ties the array's bounds to the out values: size_is(*size), length_is(*length). */
	if (have_data && have_size && max != q->size)
		return util_err(err, errlen, "QueryValue reply: array size %u differs from size %u", max, q->size);
	if (have_data && have_len && actual != length)
		return util_err(err, errlen, "QueryValue reply: array length %u differs from length %u",
		    actual, length);
	if (q->werr == RRP_WERR_OK && have_data && !have_len)
		return util_err(err, errlen, "QueryValue reply: data without a length");
	return 0;
}

/* ---------------------------------------------------------------- REG_MULTI_SZ */

static int
unit_at(const uint8_t *p, size_t i)
{
	return p[2 * i] | p[2 * i + 1] << 8;
}

const char *
rrp_multisz_enc_str(enum rrp_multisz_enc e)
{
	switch (e) {
	case RRP_MULTISZ_CANONICAL: return "canonical";
	case RRP_MULTISZ_SINGLE_NUL: return "single final NUL";
	case RRP_MULTISZ_NO_NUL: return "no final NUL";
	case RRP_MULTISZ_TRAILING: return "data after the terminating empty string";
	}
	return "unknown";
}

/* Append s to the list (*v, *count, *vcap); 0, or -1 with err (s freed). */
static int
strv_push(char ***v, size_t *count, size_t *vcap, char *s, char *err, size_t errlen)
{
	char **nv;

	if (*count == *vcap) {
		*vcap = *vcap ? *vcap * 2 : 4;
		if ((nv = realloc(*v, *vcap * sizeof(**v))) == NULL) {
			free(s);
			return util_err(err, errlen, "out of memory");
		}
		*v = nv;
	}
	(*v)[(*count)++] = s;
	return 0;
}

/*
 * As a Windows reader walks a REG_MULTI_SZ (Microsoft Learn, "Registry value types"): strings up to the first
 * empty one; a string running to the end of the data without a NUL ends there.  Then *enc compares the bytes
 * with the canonical encoding of the strings read.
 */
int
rrp_multisz_read(const uint8_t *p, size_t n, char ***elems, size_t *nelems, enum rrp_multisz_enc *enc,
    char *err, size_t errlen)
{
	char	**v = NULL, *s;
	size_t	 m, i = 0, j, count = 0, vcap = 0;

	*elems = NULL;
	*nelems = 0;
	*enc = RRP_MULTISZ_CANONICAL;
	if (n > RRP_VALUE_MAX)
		return util_err(err, errlen, "REG_MULTI_SZ of %zu bytes over the %u-byte cap", n, RRP_VALUE_MAX);
	if (n % 2 != 0)
		return util_err(err, errlen, "REG_MULTI_SZ has an odd byte length (%zu)", n);
	m = n / 2;
	if (m == 0 || (m == 1 && unit_at(p, 0) == 0) || (m == 2 && unit_at(p, 0) == 0 && unit_at(p, 1) == 0))
		return 0;	/* an empty list, canonically */
	while (i < m && unit_at(p, i) != 0) {
		for (j = i; j < m && unit_at(p, j) != 0; j++)
			;
		if ((s = utf16le_to_utf8(p + 2 * i, j - i, UTF_STRICT, NULL, err, errlen)) == NULL ||
		    strv_push(&v, &count, &vcap, s, err, errlen) == -1)
			goto fail;
		i = j + 1;	/* past the NUL, or past the end when there was none */
	}
	if (i > m)
		*enc = RRP_MULTISZ_NO_NUL;
	else if (i == m)
		*enc = RRP_MULTISZ_SINGLE_NUL;
	else if (i + 1 < m)
		*enc = RRP_MULTISZ_TRAILING;	/* the empty string at i is not the last unit */
	*elems = v;
	*nelems = count;
	return 0;
fail:
	util_strv_free(v, count);
	return -1;
}

int
rrp_multisz_decode(const uint8_t *p, size_t n, char ***elems, size_t *nelems, char *err, size_t errlen)
{
	enum rrp_multisz_enc enc;

	if (rrp_multisz_read(p, n, elems, nelems, &enc, err, errlen) == -1)
		return -1;
	if (enc == RRP_MULTISZ_CANONICAL)
		return 0;
	util_strv_free(*elems, *nelems);
	*elems = NULL;
	*nelems = 0;
	if (enc == RRP_MULTISZ_TRAILING)
		return util_err(err, errlen, "REG_MULTI_SZ has an empty element or data after its terminator");
	return util_err(err, errlen, "REG_MULTI_SZ lacks the double-NUL terminator");
}

int
rrp_multisz_encode(const char *const *elems, size_t n, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	size_t		 i, total = 2, k;
	long		 u;
	uint16_t	*units = NULL;
	uint8_t		*b = NULL;
	int		 rc = -1;

	*out = NULL;
	*outlen = 0;
	if (n == 0)
		return util_err(err, errlen, "REG_MULTI_SZ needs at least one element");
	for (i = 0; i < n; i++) {
		if (elems[i] == NULL || elems[i][0] == '\0')
			return util_err(err, errlen, "element %zu is empty", i);
		if ((u = utf8_to_utf16(elems[i], NULL, RRP_VALUE_MAX / 2)) == -1)
			return util_err(err, errlen, "element %zu is not valid UTF-8 or too long", i);
		total += ((size_t)u + 1) * 2;
		if (total > RRP_VALUE_MAX)
			return util_err(err, errlen, "REG_MULTI_SZ over the %u-byte cap", RRP_VALUE_MAX);
	}
	if ((b = malloc(total)) == NULL || (units = malloc(RRP_VALUE_MAX)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	k = 0;
	for (i = 0; i < n; i++) {
		size_t	 j;

		u = utf8_to_utf16(elems[i], units, RRP_VALUE_MAX / 2);
		for (j = 0; j < (size_t)u; j++) {
			b[k++] = units[j] & 0xff;
			b[k++] = units[j] >> 8;
		}
		b[k++] = 0;
		b[k++] = 0;
	}
	b[k++] = 0;
	b[k++] = 0;
	*out = b;
	*outlen = k;
	b = NULL;
	rc = 0;
done:
	free(units);
	free(b);
	return rc;
}
