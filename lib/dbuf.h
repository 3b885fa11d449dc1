/*
 * dbuf.h — the one growable byte buffer, with a maximum fixed when it is created (after curl's dynbuf,
 * Curl_dyn_init(.., toobig)).  Every buffer that fills from the network, a file or the state DB uses it: the
 * worker messages and their framing (scanner/msg*.c), the MS-RRP request stubs (scanner/rrp_codec.c), the
 * CSV exports (server/api_fleet.c) and /metrics (server/metrics.c).
 *
 * The contents are always followed by one NUL byte (not counted in len), so text can be handed out as a C
 * string.  An add that would take len past max, or whose allocation fails, adds nothing and sets the sticky
 * `failed` flag: later adds are no-ops until dbuf_reset, so a writer may check once at the end.  Sizes are
 * checked for size_t overflow before any arithmetic.
 */
#ifndef DPFLEET_DBUF_H
#define DPFLEET_DBUF_H

#include <stddef.h>
#include <stdint.h>

struct dbuf {
	uint8_t	*data;		/* NULL until the first allocation; then len bytes + NUL */
	size_t	 len;		/* bytes held, never more than max */
	size_t	 alloc;		/* bytes allocated (at most max + 1) */
	size_t	 max;		/* fixed by dbuf_init */
	int	 failed;	/* sticky: an add went past max or allocation failed */
};

/* Start an empty buffer that never holds more than max bytes.  b must be zeroed or dbuf_free'd. */
void	 dbuf_init(struct dbuf *b, size_t max);
/* Append n bytes (p may be NULL when n is 0).  0, or -1 with b->failed set and nothing appended. */
int	 dbuf_add(struct dbuf *b, const void *p, size_t n);
/* Append printf output.  Same contract. */
int	 dbuf_addf(struct dbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Append n bytes the caller fills in (e.g. with read()): a pointer to them, or NULL with b->failed set.
 * Valid until the next call on b.
 */
uint8_t	*dbuf_extend(struct dbuf *b, size_t n);
/* Drop the first n bytes (n <= len), moving the rest to the front. */
void	 dbuf_drop(struct dbuf *b, size_t n);
/* Empty b and clear failed; keeps its memory and max. */
void	 dbuf_reset(struct dbuf *b);
/*
 * Hand the contents to the caller: the malloc'd NUL-terminated contents (the caller frees them; an empty
 * buffer gives an allocated "") with *len set, or NULL when b failed or allocation fails.  b is left empty
 * (as after dbuf_free) either way.
 */
char	*dbuf_take(struct dbuf *b, size_t *len);
/* Free the memory and empty b; max stays, so b can be used again.  NULL is a no-op. */
void	 dbuf_free(struct dbuf *b);

#endif
