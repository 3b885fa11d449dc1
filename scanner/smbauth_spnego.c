/*
 * smbauth_spnego.c — the SPNEGO tokens (RFC 4178, MS-SPNG) that smbauth.c wraps NTLMSSP in, as a minimal
 * DER encoder and decoder of exactly the structures involved: the client's InitialContextToken with its
 * NegTokenInit (mechTypes { NTLMSSP }, mechToken), and NegTokenResp both ways (negState, supportedMech,
 * responseToken, mechListMIC).  The Kerberos path does not come here: MIT's SPNEGO mechanism makes its own
 * tokens (smbauth_gss.c).  Called by smbauth.c, tests/unit/test_smbauth.c and tests/fuzz/fuzz_smbauth.c.
 *
 * Decoding is strict where it costs nothing: every length is checked against the bytes that hold it
 * (definite lengths only, at most 4 length octets), fields must come in their order, unknown fields of a
 * NegTokenResp and bytes left over inside or after a structure are errors.  A long-form length that could
 * have been short is accepted (BER), as Windows and Samba accept it.  Pure; no state.
 */
#include "smbauth_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* 1.3.6.1.5.5.2 (SPNEGO) and 1.3.6.1.4.1.311.2.2.10 (NTLMSSP) as DER content octets. */
static const uint8_t oid_spnego[6] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02 };
const uint8_t smbauth_oid_ntlmssp[10] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a };

/* MechTypeList (RFC 4178 4.2.1) = SEQUENCE { OID NTLMSSP }: what the client offers and signs. */
static const uint8_t mechtypes[14] = {
	0x30, 0x0c, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a
};

#define DER_HDR_MAX	6	/* tag + 0x84 + 4 length octets */

const uint8_t *
smbauth_spnego_mechtypes(size_t *len)
{
	*len = sizeof(mechtypes);
	return mechtypes;
}

/* ---- decoding ---- */

/* Unread bytes of one DER value. */
struct der {
	const uint8_t	*p;
	size_t		 n;
};

/* The tag of the next value, -1 when none is left. */
static int
der_peek(const struct der *d)
{
	return d->n > 0 ? d->p[0] : -1;
}

/*
 * Take the value tagged tag from the front of d: *c its content, *whole (may be NULL) the whole TLV; d moves
 * past it.  0, or -1 + err (other tag, high tag numbers, indefinite or oversized length, truncation).
 */
static int
der_get(struct der *d, uint8_t tag, const char *what, struct der *c, struct der *whole, char *err,
    size_t errlen)
{
	size_t	 i, k, len, hdr;

	if (d->n < 2)
		return util_err(err, errlen, "SPNEGO: %s missing or truncated", what);
	if (d->p[0] != tag)
		return util_err(err, errlen, "SPNEGO: tag 0x%02x where %s (0x%02x) was expected", d->p[0], what,
		    tag);
	if (d->p[1] < 0x80) {
		len = d->p[1];
		hdr = 2;
	} else {
		k = d->p[1] & 0x7f;
		if (k == 0 || k > 4)
			return util_err(err, errlen, "SPNEGO: %s with length form 0x%02x", what, d->p[1]);
		if (d->n - 2 < k)
			return util_err(err, errlen, "SPNEGO: %s length truncated", what);
		for (len = 0, i = 0; i < k; i++)
			len = (len << 8) | d->p[2 + i];
		hdr = 2 + k;
	}
	if (len > d->n - hdr)
		return util_err(err, errlen, "SPNEGO: %s of %zu bytes, only %zu present", what, len, d->n - hdr);
	c->p = d->p + hdr;
	c->n = len;
	if (whole != NULL) {
		whole->p = d->p;
		whole->n = hdr + len;
	}
	d->p += hdr + len;
	d->n -= hdr + len;
	return 0;
}

/* d must be used up. */
static int
der_end(const struct der *d, const char *what, char *err, size_t errlen)
{
	if (d->n != 0)
		return util_err(err, errlen, "SPNEGO: %zu unexpected bytes after %s", d->n, what);
	return 0;
}

/* [tag] EXPLICIT inner-tagged value (OCTET STRING, OID, ENUMERATED): its content in *c, nothing else in it. */
static int
der_explicit(struct der *d, uint8_t tag, uint8_t inner, const char *what, struct der *c, char *err,
    size_t errlen)
{
	struct der x;

	if (der_get(d, tag, what, &x, NULL, err, errlen) == -1 || der_get(&x, inner, what, c, NULL, err, errlen) == -1)
		return -1;
	return der_end(&x, what, err, errlen);
}

/* The fields of a NegTokenResp SEQUENCE's content s into r. */
static int
resp_fields(struct der *s, struct smbauth_negresp *r, char *err, size_t errlen)
{
	struct der c;

	if (der_peek(s) == 0xa0) {
		if (der_explicit(s, 0xa0, 0x0a, "negState", &c, err, errlen) == -1)
			return -1;
		if (c.n != 1 || c.p[0] > SPNEGO_REQUEST_MIC)
			return util_err(err, errlen, "SPNEGO: negState of %zu bytes or unknown value", c.n);
		r->negstate = c.p[0];
	}
	if (der_peek(s) == 0xa1) {
		if (der_explicit(s, 0xa1, 0x06, "supportedMech", &c, err, errlen) == -1)
			return -1;
		r->mech = c.p;
		r->mechlen = c.n;
	}
	if (der_peek(s) == 0xa2) {
		if (der_explicit(s, 0xa2, 0x04, "responseToken", &c, err, errlen) == -1)
			return -1;
		r->token = c.p;
		r->tokenlen = c.n;
	}
	if (der_peek(s) == 0xa3) {
		if (der_explicit(s, 0xa3, 0x04, "mechListMIC", &c, err, errlen) == -1)
			return -1;
		r->mic = c.p;
		r->miclen = c.n;
	}
	return der_end(s, "NegTokenResp", err, errlen);
}

int
smbauth_spnego_parse_resp(const uint8_t *p, size_t n, struct smbauth_negresp *r, char *err, size_t errlen)
{
	struct der d = { p, n }, c, s;

	memset(r, 0, sizeof(*r));
	r->negstate = -1;
	if (der_get(&d, 0xa1, "NegTokenResp", &c, NULL, err, errlen) == -1 ||
	    der_end(&d, "NegTokenResp", err, errlen) == -1 ||
	    der_get(&c, 0x30, "NegTokenResp SEQUENCE", &s, NULL, err, errlen) == -1 ||
	    der_end(&c, "NegTokenResp SEQUENCE", err, errlen) == -1)
		return -1;
	return resp_fields(&s, r, err, errlen);
}

int
smbauth_parse_negtokenresp(const uint8_t *p, size_t n, char *err, size_t errlen)
{
	struct smbauth_negresp r;

	return smbauth_spnego_parse_resp(p, n, &r, err, errlen);
}

int
smbauth_spnego_parse_init(const uint8_t *p, size_t n, struct smbauth_neginit *r, char *err, size_t errlen)
{
	struct der d = { p, n }, a, oid, b, s, c, whole;

	memset(r, 0, sizeof(*r));
	if (der_get(&d, 0x60, "InitialContextToken", &a, NULL, err, errlen) == -1 ||
	    der_end(&d, "InitialContextToken", err, errlen) == -1 ||
	    der_get(&a, 0x06, "thisMech", &oid, NULL, err, errlen) == -1)
		return -1;
	if (oid.n != sizeof(oid_spnego) || memcmp(oid.p, oid_spnego, oid.n) != 0)
		return util_err(err, errlen, "SPNEGO: InitialContextToken of another mechanism");
	if (der_get(&a, 0xa0, "negTokenInit", &b, NULL, err, errlen) == -1 ||
	    der_end(&a, "InitialContextToken", err, errlen) == -1 ||
	    der_get(&b, 0x30, "NegTokenInit SEQUENCE", &s, NULL, err, errlen) == -1 ||
	    der_end(&b, "negTokenInit", err, errlen) == -1 ||
	    der_get(&s, 0xa0, "mechTypes", &c, NULL, err, errlen) == -1 ||
	    der_get(&c, 0x30, "MechTypeList", &b, &whole, err, errlen) == -1 ||
	    der_end(&c, "mechTypes", err, errlen) == -1)
		return -1;
	r->mechtypes = whole.p;
	r->mechtypeslen = whole.n;
	if (der_peek(&s) == 0xa1 && der_get(&s, 0xa1, "reqFlags", &c, NULL, err, errlen) == -1)
		return -1;
	if (der_peek(&s) == 0xa2) {
		if (der_explicit(&s, 0xa2, 0x04, "mechToken", &c, err, errlen) == -1)
			return -1;
		r->token = c.p;
		r->tokenlen = c.n;
	}
	if (der_peek(&s) == 0xa3 && der_get(&s, 0xa3, "mechListMIC", &c, NULL, err, errlen) == -1)
		return -1;
	return der_end(&s, "NegTokenInit", err, errlen);
}

/* ---- encoding: values are prepended, innermost first, into a buffer sized beforehand ---- */

struct derw {
	uint8_t	*buf;
	size_t	 pos;	/* the encoding so far is buf[pos .. cap) */
};

/* Prepend n bytes (the caller sized buf for everything). */
static void
derw_put(struct derw *w, const void *p, size_t n)
{
	w->pos -= n;
	if (n > 0)
		memcpy(w->buf + w->pos, p, n);
}

/* Prepend the tag and length of the value occupying buf[pos .. end). */
static void
derw_wrap(struct derw *w, size_t end, uint8_t tag)
{
	uint8_t	 h[DER_HDR_MAX];
	size_t	 len = end - w->pos, k = 0, i;

	h[0] = tag;
	if (len < 0x80)
		h[++k] = (uint8_t)len;
	else {
		h[1] = (uint8_t)(0x80 | (len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1));
		k = 1;
		for (i = (size_t)(h[1] & 0x7f); i > 0; i--)
			h[++k] = (uint8_t)(len >> (8 * (i - 1)));
	}
	derw_put(w, h, k + 1);
}

/* An [tag] EXPLICIT inner-tagged value with content p[0..n). */
static void
derw_explicit(struct derw *w, uint8_t tag, uint8_t inner, const void *p, size_t n)
{
	size_t end = w->pos;

	derw_put(w, p, n);
	derw_wrap(w, end, inner);
	derw_wrap(w, end, tag);
}

/* Start a buffer for at most `content` bytes of payload in `nesting` headers; 0 or -1 + err. */
static int
derw_init(struct derw *w, size_t content, size_t nesting, size_t *cap, char *err, size_t errlen)
{
	if (content > SMBAUTH_TOKEN_MAX)
		return util_err(err, errlen, "SPNEGO: %zu bytes to wrap, more than %u", content, SMBAUTH_TOKEN_MAX);
	*cap = content + nesting * DER_HDR_MAX;
	if ((w->buf = malloc(*cap)) == NULL)
		return util_err(err, errlen, "SPNEGO: out of memory");
	w->pos = *cap;
	return 0;
}

/* Move the encoding to the front of its buffer and hand it out. */
static void
derw_finish(struct derw *w, size_t cap, uint8_t **out, size_t *outlen)
{
	*outlen = cap - w->pos;
	memmove(w->buf, w->buf + w->pos, *outlen);
	*out = w->buf;
}

int
smbauth_spnego_init(const uint8_t *mechtok, size_t len, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct derw	 w;
	size_t		 cap, end;

	*out = NULL;
	if (derw_init(&w, len + sizeof(mechtypes) + sizeof(oid_spnego), 8, &cap, err, errlen) == -1)
		return -1;
	derw_explicit(&w, 0xa2, 0x04, mechtok, len);
	end = w.pos;
	derw_put(&w, mechtypes, sizeof(mechtypes));
	derw_wrap(&w, end, 0xa0);
	derw_wrap(&w, cap, 0x30);
	derw_wrap(&w, cap, 0xa0);
	end = w.pos;
	derw_put(&w, oid_spnego, sizeof(oid_spnego));
	derw_wrap(&w, end, 0x06);
	derw_wrap(&w, cap, 0x60);
	derw_finish(&w, cap, out, outlen);
	return 0;
}

int
smbauth_spnego_resp(const struct smbauth_negresp *r, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct derw	 w;
	size_t		 cap, content;
	uint8_t		 st;

	*out = NULL;
	content = (r->mic ? r->miclen : 0) + (r->token ? r->tokenlen : 0) + (r->mech ? r->mechlen : 0) + 1;
	if ((r->mic && r->miclen > SMBAUTH_TOKEN_MAX) || (r->token && r->tokenlen > SMBAUTH_TOKEN_MAX) ||
	    (r->mech && r->mechlen > SMBAUTH_TOKEN_MAX))
		return util_err(err, errlen, "SPNEGO: NegTokenResp field too large");
	if (derw_init(&w, content, 10, &cap, err, errlen) == -1)
		return -1;
	if (r->mic != NULL)
		derw_explicit(&w, 0xa3, 0x04, r->mic, r->miclen);
	if (r->token != NULL)
		derw_explicit(&w, 0xa2, 0x04, r->token, r->tokenlen);
	if (r->mech != NULL)
		derw_explicit(&w, 0xa1, 0x06, r->mech, r->mechlen);
	if (r->negstate >= 0) {
		st = (uint8_t)r->negstate;
		derw_explicit(&w, 0xa0, 0x0a, &st, 1);
	}
	derw_wrap(&w, cap, 0x30);
	derw_wrap(&w, cap, 0xa1);
	derw_finish(&w, cap, out, outlen);
	return 0;
}
