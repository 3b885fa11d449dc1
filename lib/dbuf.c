/*
 * dbuf.c — the capped buffer behind dbuf.h.  Called by every module that assembles bytes of unknown length
 * (see dbuf.h).  Growth doubles from 64 bytes and stops at max + 1 (the contents and their NUL); every
 * comparison is written as "n > max - len" so no sum can wrap.  No state outside the struct.
 */
#include "dbuf.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DBUF_FIRST	64

void
dbuf_init(struct dbuf *b, size_t max)
{
	assert(max < SIZE_MAX);
	memset(b, 0, sizeof(*b));
	b->max = max;
}

/* Make room for n more bytes and the NUL; 0, or -1 with failed set. */
static int
grow(struct dbuf *b, size_t n)
{
	size_t need, a;
	uint8_t *nd;

	if (b->failed)
		return -1;
	if (n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	need = b->len + n + 1;		/* <= max + 1, and max < SIZE_MAX */
	if (need <= b->alloc)
		return 0;
	a = b->alloc ? b->alloc : DBUF_FIRST;
	while (a < need && a <= (b->max + 1) / 2)
		a *= 2;
	if (a < need || a > b->max + 1)
		a = a < need ? need : b->max + 1;
	if ((nd = realloc(b->data, a)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->data = nd;
	b->alloc = a;
	return 0;
}

int
dbuf_add(struct dbuf *b, const void *p, size_t n)
{
	if (grow(b, n) == -1)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

uint8_t *
dbuf_extend(struct dbuf *b, size_t n)
{
	uint8_t *p;

	if (grow(b, n) == -1)
		return NULL;
	p = b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return p;
}

int
dbuf_addf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed || grow(b, 0) == -1)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf((char *)b->data + b->len, b->alloc - b->len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		b->data[b->len] = '\0';
		return -1;
	}
	if ((size_t)n >= b->alloc - b->len) {
		b->data[b->len] = '\0';
		if (grow(b, (size_t)n) == -1)
			return -1;
		va_start(ap, fmt);
		vsnprintf((char *)b->data + b->len, b->alloc - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

void
dbuf_drop(struct dbuf *b, size_t n)
{
	assert(n <= b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void
dbuf_reset(struct dbuf *b)
{
	b->len = 0;
	b->failed = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
dbuf_take(struct dbuf *b, size_t *len)
{
	char *s = NULL;

	*len = 0;
	if (!b->failed && grow(b, 0) == 0) {
		s = (char *)b->data;
		*len = b->len;
		b->data = NULL;
	}
	dbuf_free(b);
	return s;
}

void
dbuf_free(struct dbuf *b)
{
	size_t max;

	if (b == NULL)
		return;
	max = b->max;
	free(b->data);
	memset(b, 0, sizeof(*b));
	b->max = max;
}
