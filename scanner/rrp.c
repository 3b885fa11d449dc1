/*
 * rrp.c — our own MS-RRP (winreg) codec: NDR encoders for the request stubs of OpenHKLM (2), CloseKey (5),
 * CreateKey (6), DeleteValue (8), OpenKey (15), QueryValue (17) and SetValue (22), bounds-checked decoders for
 * their response stubs, strict REG_MULTI_SZ <-> UTF-8 conversion, and the small registry operations the
 * scanner and the fixer run (read a value, write raw / multi-string, delete a value), which move stubs through
 * a caller-supplied struct rrp_io.  Called by the scanner's workers with rpc.c as the transport, and by unit
 * tests / the fuzzer with byte vectors.  It performs no I/O of its own.
 *
 * Assumptions (MS-RRP 2.2 / 3.1.5, and NOTES §8 as seen on the wire against Samba): NDR20, little-endian,
 * every u32 4-byte aligned from the start of the stub; an RRP_UNICODE_STRING is u16 Length, u16 MaximumLength
 * (both in bytes, NUL included, as Samba and Windows clients send it), a unique pointer, then the deferred
 * conformant-varying array {max, offset 0, actual, UTF-16LE units incl. NUL}; policy handles are 20 opaque
 * bytes.  Decoders accept only exactly-sized stubs: a trailing byte is an error, never ignored.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rrp.h"
#include "util.h"

#define REF_BASE	0x00020000u	/* first referent id; later ones step by 4 like MIDL/PIDL do */

/* ---------------------------------------------------------------- encoding buffer */

void
rrp_buf_free(struct rrp_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int
buf_reserve(struct rrp_buf *b, size_t more, char *err, size_t errlen)
{
	size_t	 need, ncap;
	uint8_t	*nd;

	if (more > RRP_REPLY_MAX || b->len > RRP_REPLY_MAX - more)
		return util_err(err, errlen, "request stub over %u bytes", RRP_REPLY_MAX);
	need = b->len + more;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 128;
	while (ncap < need)
		ncap *= 2;
	if ((nd = realloc(b->data, ncap)) == NULL)
		return util_err(err, errlen, "out of memory");
	b->data = nd;
	b->cap = ncap;
	return 0;
}

static int
put_bytes(struct rrp_buf *b, const void *p, size_t n, char *err, size_t errlen)
{
	if (buf_reserve(b, n, err, errlen) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static int
put_align4(struct rrp_buf *b, char *err, size_t errlen)
{
	static const uint8_t zero[4];

	return put_bytes(b, zero, (4 - (b->len & 3)) & 3, err, errlen);
}

static int
put_u16(struct rrp_buf *b, uint16_t v, char *err, size_t errlen)
{
	uint8_t	 x[2] = { v & 0xff, v >> 8 };

	return put_bytes(b, x, 2, err, errlen);
}

static int
put_u32(struct rrp_buf *b, uint32_t v, char *err, size_t errlen)
{
	uint8_t	 x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };

	if (put_align4(b, err, errlen) == -1)
		return -1;
	return put_bytes(b, x, 4, err, errlen);
}

static int
put_handle(struct rrp_buf *b, const struct rrp_handle *h, char *err, size_t errlen)
{
	if (put_align4(b, err, errlen) == -1)
		return -1;
	return put_bytes(b, h->b, RRP_HANDLE_LEN, err, errlen);
}

/* ---------------------------------------------------------------- UTF-8 <-> UTF-16 */

/*
 * Strict UTF-8 → UTF-16 units.  With out == NULL only counts.  Returns the unit count (no NUL added) or -1
 * on invalid UTF-8 (overlong forms, surrogates, > U+10FFFF, truncated sequences) or more than cap units.
 */
static long
utf8_to_utf16(const char *s, uint16_t *out, size_t cap)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n = 0;
	uint32_t		 cp;
	int			 extra, i;

	while (*p != '\0') {
		if (*p < 0x80) {
			cp = *p;
			extra = 0;
		} else if ((*p & 0xe0) == 0xc0) {
			cp = *p & 0x1f;
			extra = 1;
		} else if ((*p & 0xf0) == 0xe0) {
			cp = *p & 0x0f;
			extra = 2;
		} else if ((*p & 0xf8) == 0xf0) {
			cp = *p & 0x07;
			extra = 3;
		} else
			return -1;
		p++;
		for (i = 0; i < extra; i++, p++) {
			if ((*p & 0xc0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p & 0x3f);
		}
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return -1;
		if (cp >= 0x10000) {
			if (n + 2 > cap)
				return -1;
			if (out != NULL) {
				cp -= 0x10000;
				out[n] = 0xd800 | (cp >> 10);
				out[n + 1] = 0xdc00 | (cp & 0x3ff);
			}
			n += 2;
		} else {
			if (n + 1 > cap)
				return -1;
			if (out != NULL)
				out[n] = (uint16_t)cp;
			n++;
		}
	}
	return (long)n;
}

/*
 * m UTF-16LE units at p (no NUL among them) → a malloc'd NUL-terminated UTF-8 string.  NULL with err on a lone
 * surrogate or allocation failure.
 */
static char *
utf16le_to_utf8(const uint8_t *p, size_t m, char *err, size_t errlen)
{
	char		*s, *o;
	size_t		 i;
	uint32_t	 u, lo;

	if (m > RRP_VALUE_MAX) {
		util_err(err, errlen, "string too long");
		return NULL;
	}
	if ((s = malloc(m * 3 + 1)) == NULL) {
		util_err(err, errlen, "out of memory");
		return NULL;
	}
	o = s;
	for (i = 0; i < m; i++) {
		u = p[2 * i] | (uint32_t)p[2 * i + 1] << 8;
		if (u >= 0xdc00 && u <= 0xdfff) {
			util_err(err, errlen, "invalid UTF-16: lone low surrogate 0x%04x", u);
			goto fail;
		}
		if (u >= 0xd800 && u <= 0xdbff) {
			if (i + 1 >= m) {
				util_err(err, errlen, "invalid UTF-16: lone high surrogate 0x%04x", u);
				goto fail;
			}
			lo = p[2 * i + 2] | (uint32_t)p[2 * i + 3] << 8;
			if (lo < 0xdc00 || lo > 0xdfff) {
				util_err(err, errlen, "invalid UTF-16: lone high surrogate 0x%04x", u);
				goto fail;
			}
			u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
			i++;
		}
		if (u < 0x80)
			*o++ = (char)u;
		else if (u < 0x800) {
			*o++ = (char)(0xc0 | (u >> 6));
			*o++ = (char)(0x80 | (u & 0x3f));
		} else if (u < 0x10000) {
			*o++ = (char)(0xe0 | (u >> 12));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3f));
			*o++ = (char)(0x80 | (u & 0x3f));
		} else {
			*o++ = (char)(0xf0 | (u >> 18));
			*o++ = (char)(0x80 | ((u >> 12) & 0x3f));
			*o++ = (char)(0x80 | ((u >> 6) & 0x3f));
			*o++ = (char)(0x80 | (u & 0x3f));
		}
	}
	*o = '\0';
	return s;
fail:
	free(s);
	return NULL;
}

/* ---------------------------------------------------------------- stub pieces */

/*
 * An RRP_UNICODE_STRING holding s (UTF-8), with its deferred array right after it (MS-RRP 2.2.4).  NDR pads only
 * before the next aligned item, never after the last one: DeleteValue, whose name is its last member, ends on
 * the name's NUL (86 bytes for IssuingCertificateList, as Samba's NDR and Wireshark's winreg dissector count).
 */
static int
put_string(struct rrp_buf *b, const char *s, uint32_t refid, char *err, size_t errlen)
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

static void
enc_begin(struct rrp_buf *out)
{
	rrp_buf_free(out);
}

static int
enc_fail(struct rrp_buf *out)
{
	rrp_buf_free(out);
	return -1;
}

int
rrp_enc_open_hklm(struct rrp_buf *out, uint32_t access, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_u32(out, 0, err, errlen) == -1 ||		/* system_name: NULL unique pointer */
	    put_u32(out, access, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_open_key(struct rrp_buf *out, const struct rrp_handle *parent, const char *path, uint32_t access,
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
rrp_enc_create_key(struct rrp_buf *out, const struct rrp_handle *parent, const char *path, uint32_t access,
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
rrp_enc_close_key(struct rrp_buf *out, const struct rrp_handle *h, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, h, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

int
rrp_enc_query_value(struct rrp_buf *out, const struct rrp_handle *h, const char *name, uint32_t bufsize,
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
rrp_enc_set_value(struct rrp_buf *out, const struct rrp_handle *h, const char *name, uint32_t type,
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
rrp_enc_delete_value(struct rrp_buf *out, const struct rrp_handle *h, const char *name, char *err, size_t errlen)
{
	enc_begin(out);
	if (put_handle(out, h, err, errlen) == -1 ||
	    put_string(out, name, REF_BASE, err, errlen) == -1)
		return enc_fail(out);
	return 0;
}

/* ---------------------------------------------------------------- decoding */

struct rd {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
	const char	*what;		/* stub name, for messages */
};

static int
rd_align4(struct rd *r, char *err, size_t errlen)
{
	size_t	 pad = (4 - (r->off & 3)) & 3;

	if (pad > r->n - r->off)
		return util_err(err, errlen, "%s: truncated at byte %zu", r->what, r->off);
	r->off += pad;
	return 0;
}

static int
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

static int
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

static int
rd_end(struct rd *r, char *err, size_t errlen)
{
	if (r->off != r->n)
		return util_err(err, errlen, "%s: %zu trailing bytes", r->what, r->n - r->off);
	return 0;
}

static void
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

int
rrp_multisz_decode(const uint8_t *p, size_t n, char ***elems, size_t *nelems, char *err, size_t errlen)
{
	char	**v = NULL, **nv, *s;
	size_t	 m, i, j, count = 0, vcap = 0;

	*elems = NULL;
	*nelems = 0;
	if (n > RRP_VALUE_MAX)
		return util_err(err, errlen, "REG_MULTI_SZ of %zu bytes over the %u-byte cap", n, RRP_VALUE_MAX);
	if (n % 2 != 0)
		return util_err(err, errlen, "REG_MULTI_SZ has an odd byte length (%zu)", n);
	m = n / 2;
	if (m == 0 || (m == 1 && unit_at(p, 0) == 0) || (m == 2 && unit_at(p, 0) == 0 && unit_at(p, 1) == 0))
		return 0;	/* an empty list */
	if (m < 2 || unit_at(p, m - 1) != 0 || unit_at(p, m - 2) != 0)
		return util_err(err, errlen, "REG_MULTI_SZ lacks the double-NUL terminator");
	for (i = 0; i < m - 1; i = j + 1) {
		for (j = i; unit_at(p, j) != 0; j++)
			;	/* ends at m - 2 at the latest */
		if (j == i) {
			util_err(err, errlen, "REG_MULTI_SZ has an empty element at byte %zu", 2 * i);
			goto fail;
		}
		if ((s = utf16le_to_utf8(p + 2 * i, j - i, err, errlen)) == NULL)
			goto fail;
		if (count == vcap) {
			vcap = vcap ? vcap * 2 : 4;
			if ((nv = realloc(v, vcap * sizeof(*v))) == NULL) {
				free(s);
				util_err(err, errlen, "out of memory");
				goto fail;
			}
			v = nv;
		}
		v[count++] = s;
	}
	*elems = v;
	*nelems = count;
	return 0;
fail:
	util_strv_free(v, count);
	return -1;
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
io_call(const struct rrp_io *io, uint32_t opnum, struct rrp_buf *req, uint8_t **resp, size_t *resplen,
    char *err, size_t errlen)
{
	int	 rc;

	*resp = NULL;
	*resplen = 0;
	rc = io->call(io->ctx, opnum, req->data, req->len, resp, resplen, err, errlen);
	rrp_buf_free(req);
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
	int			 dead;
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
	struct rrp_buf	 req = { 0 };
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
    int create, struct rrp_handle *h, uint32_t *werr, char *err, size_t errlen)
{
	struct rrp_buf	 req = { 0 };
	uint8_t		*resp;
	size_t		 rlen;
	uint32_t	 disp;
	int		 rc;

	if (create) {
		if (rrp_enc_create_key(&req, parent, path, access, err, errlen) == -1 ||
		    io_call(io, RRP_OP_CREATE_KEY, &req, &resp, &rlen, err, errlen) == -1)
			return -1;
		rc = rrp_dec_create_key(resp, rlen, h, &disp, werr, err, errlen);
	} else {
		if (rrp_enc_open_key(&req, parent, path, access, err, errlen) == -1 ||
		    io_call(io, RRP_OP_OPEN_KEY, &req, &resp, &rlen, err, errlen) == -1)
			return -1;
		rc = rrp_dec_open_key(resp, rlen, h, werr, err, errlen);
	}
	free(resp);
	return rc;
}

/* Best effort: a failed close changes nothing for the caller (the server drops handles with the pipe). */
static void
op_close(const struct rrp_io *io, const struct rrp_handle *h)
{
	struct rrp_buf	 req = { 0 };
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
	struct rrp_buf	 req = { 0 };
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
	if (rrp_multisz_decode(data, len, &r->elems, &r->nelems, r->decode_err, sizeof(r->decode_err)) == 0)
		r->decoded = 1;
	return 0;
}

#define RRP_FIRST_FETCH	4096	/* bytes offered by the first QueryValue; IssuingCertificateList is smaller */
#define QV_ATTEMPTS	4	/* the value may grow between two fetches: retry on WERR_MORE_DATA */

int
rrp_read_value(const struct rrp_io *inner, const char *key, const char *name, struct rrp_read *r,
    char *err, size_t errlen)
{
	struct guarded_io	 g = { inner, 0 };
	const struct rrp_io	 gio = { guarded_call, &g }, *io = &gio;
	struct rrp_handle	 hklm, hk;
	struct rrp_qv_reply	 q = { 0 };
	uint8_t			*resp = NULL;
	uint32_t		 werr, size;
	int			 rc = -1, attempt, have_hklm = 0, have_key = 0;

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
	if (op_open_key(io, &hklm, key, RRP_KEY_READ, 0, &hk, &werr, err, errlen) == -1)
		goto done;
	if (werr != RRP_WERR_OK) {
		r->status = werr_status(werr, 1);
		r->werr = werr;
		rc = 0;
		goto done;
	}
	have_key = 1;
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
		if (op_query(io, &hk, name, size, &resp, &q, err, errlen) == -1)
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
	if (have_key && !g.dead)
		op_close(io, &hk);
	if (have_hklm && !g.dead)
		op_close(io, &hklm);
	return rc;
}

/* Open HKLM\key for writing (or create it) and run one stub on the key handle. */
static int
write_op(const struct rrp_io *inner, const char *key, int create, uint32_t opnum, const char *name,
    uint32_t type, const uint8_t *data, size_t len, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen)
{
	struct guarded_io	 g = { inner, 0 };
	const struct rrp_io	 gio = { guarded_call, &g }, *io = &gio;
	struct rrp_handle	 hklm, hk;
	struct rrp_buf		 req = { 0 };
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
	if (op_open_key(io, &hklm, key, RRP_KEY_READ | RRP_KEY_SET_VALUE, create, &hk, werr, err, errlen) == -1)
		goto done;
	if (*werr != RRP_WERR_OK) {
		*st = werr_status(*werr, 1);
		rc = 0;
		goto done;
	}
	have_key = 1;
	if (opnum == RRP_OP_CREATE_KEY) {
		*st = RRP_OK;
		rc = 0;
		goto done;
	}
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
	rrp_buf_free(&req);
	free(resp);
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
	return write_op(io, key, 0, RRP_OP_SET_VALUE, name, type, data, len, st, werr, err, errlen);
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
	return write_op(io, key, 0, RRP_OP_DELETE_VALUE, name, 0, NULL, 0, st, werr, err, errlen);
}

int
rrp_create_key(const struct rrp_io *io, const char *key, enum rrp_status *st, uint32_t *werr,
    char *err, size_t errlen)
{
	return write_op(io, key, 1, RRP_OP_CREATE_KEY, NULL, 0, NULL, 0, st, werr, err, errlen);
}
