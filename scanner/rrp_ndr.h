/*
 * rrp_ndr.h — the NDR primitives rrp_codec.c builds its stubs from, shared with rrp_create.c (the test-only
 * CreateKey stubs) and nothing else: include it only from those two files.  Encoders append to a lib/dbuf.h
 * buffer and return 0, or -1 with err; decoders read a struct rd and return 0, or -1 with err naming the stub.
 */
#ifndef DPFLEET_RRP_NDR_H
#define DPFLEET_RRP_NDR_H

#include <stddef.h>
#include <stdint.h>

#include "dbuf.h"
#include "rrp.h"

#define REF_BASE	0x00020000u	/* first referent id; later ones step by 4 like MIDL/PIDL do */

int	 put_align4(struct dbuf *b, char *err, size_t errlen);
int	 put_u16(struct dbuf *b, uint16_t v, char *err, size_t errlen);
int	 put_u32(struct dbuf *b, uint32_t v, char *err, size_t errlen);
int	 put_handle(struct dbuf *b, const struct rrp_handle *h, char *err, size_t errlen);
int	 put_string(struct dbuf *b, const char *s, uint32_t refid, char *err, size_t errlen);
/* Every encoder starts from an empty stub capped at RRP_REPLY_MAX, and leaves it empty when it fails. */
void	 enc_begin(struct dbuf *out);
int	 enc_fail(struct dbuf *out);

struct rd {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
	const char	*what;		/* stub name, for messages */
};

void	 rd_init(struct rd *r, const uint8_t *p, size_t n, const char *what);
int	 rd_u32(struct rd *r, uint32_t *v, char *err, size_t errlen);
int	 rd_handle(struct rd *r, struct rrp_handle *h, char *err, size_t errlen);
int	 rd_end(struct rd *r, char *err, size_t errlen);

#endif
