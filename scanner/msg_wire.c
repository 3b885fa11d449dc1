/*
 * msg_wire.c — the payload primitives behind msg_wire.h: little-endian u32/u64, length-prefixed strings (no
 * NUL inside, per-field cap) and byte fields, written into a lib/dbuf.h buffer and read back with every
 * length checked against its cap and the bytes left before use.  Called only by the msg*.c encoders and
 * decoders.
 */
#include "msg_wire.h"

#include <stdlib.h>
#include <string.h>

#include "dbuf.h"

void
msg_buf_free(struct msg_buf *b)
{
	dbuf_free(b);
}

void
wire_put_u32(struct msg_buf *b, uint32_t v)
{
	uint8_t x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };

	dbuf_add(b, x, 4);
}

void
wire_put_u64(struct msg_buf *b, uint64_t v)
{
	wire_put_u32(b, (uint32_t)(v & 0xffffffffu));
	wire_put_u32(b, (uint32_t)(v >> 32));
}

/* A string field; NULL is sent as "".  Over cap → the buffer fails. */
void
wire_put_str(struct msg_buf *b, const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;

	if (n > cap) {
		b->failed = 1;
		return;
	}
	wire_put_u32(b, (uint32_t)n);
	dbuf_add(b, s, n);
}

void
wire_start(struct msg_buf *b)
{
	if (b->max == 0)
		dbuf_init(b, MSG_HDR_LEN + MSG_MAX);
	else
		dbuf_reset(b);
}

int
wire_done(struct msg_buf *b, const char *what, char *err, size_t errlen)
{
	if (b->failed)
		return util_err(err, errlen, "%s: a field exceeds its cap (or out of memory)", what);
	return 0;
}

uint32_t
wire_get_u32(struct rd *r)
{
	uint32_t v;

	if (r->fail)
		return 0;
	if (r->n - r->off < 4) {
		r->fail = "short payload";
		return 0;
	}
	v = (uint32_t)r->p[r->off] | (uint32_t)r->p[r->off + 1] << 8 | (uint32_t)r->p[r->off + 2] << 16 |
	    (uint32_t)r->p[r->off + 3] << 24;
	r->off += 4;
	return v;
}

uint64_t
wire_get_u64(struct rd *r)
{
	uint64_t lo = wire_get_u32(r), hi = wire_get_u32(r);

	return lo | hi << 32;
}

/*
 * The length-prefixed field at r: its length in *n and a pointer to its bytes (r advanced past them), or NULL
 * with r->fail set (overcap says what to call a length over cap).
 */
static const uint8_t *
field(struct rd *r, size_t cap, const char *overcap, uint32_t *n)
{
	const uint8_t *p;

	*n = wire_get_u32(r);
	if (r->fail)
		return NULL;
	if (*n > cap) {
		r->fail = overcap;
		return NULL;
	}
	if (r->n - r->off < *n) {
		r->fail = "short payload";
		return NULL;
	}
	p = r->p + r->off;
	r->off += *n;
	return p;
}

/* A malloc'd NUL-terminated copy; NULL (with r->fail set) on error. */
char *
wire_get_str(struct rd *r, size_t cap)
{
	const uint8_t *p;
	uint32_t n;
	char *s;

	if ((p = field(r, cap, "string over its cap", &n)) == NULL)
		return NULL;
	if (memchr(p, '\0', n) != NULL) {
		r->fail = "NUL inside a string";
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->fail = "out of memory";
		return NULL;
	}
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

int
wire_end(struct rd *r, const char *what, char *err, size_t errlen)
{
	if (!r->fail && r->off != r->n)
		r->fail = "trailing bytes";
	if (r->fail)
		return util_err(err, errlen, "%s: %s", what, r->fail);
	return 0;
}

/* A byte field: u32 length + bytes, at most cap. */
void
wire_put_bytes(struct msg_buf *b, const uint8_t *p, size_t n, size_t cap)
{
	if (n > cap) {
		b->failed = 1;
		return;
	}
	wire_put_u32(b, (uint32_t)n);
	dbuf_add(b, p, n);
}

/* A malloc'd copy (NULL for 0 bytes, with r->fail unset). */
uint8_t *
wire_get_bytes(struct rd *r, uint32_t *len, size_t cap)
{
	const uint8_t *q;
	uint32_t n;
	uint8_t *p;

	*len = 0;
	if ((q = field(r, cap, "bytes over their cap", &n)) == NULL || n == 0)
		return NULL;
	if ((p = malloc(n)) == NULL) {
		r->fail = "out of memory";
		return NULL;
	}
	memcpy(p, q, n);
	*len = n;
	return p;
}
