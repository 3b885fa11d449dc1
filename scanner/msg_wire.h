/*
 * msg_wire.h — private to scanner/msg*.c: the payload writer and reader every message family shares, and the
 * cap of each string field, written once here for both the encoder and the decoder.  Writers append to a
 * lib/dbuf.h buffer (capped at MSG_HDR_LEN + MSG_MAX, sticky failure); readers keep the first error in
 * struct rd (sticky) so a decoder reads every field and checks once, in wire_end.
 */
#ifndef DPFLEET_MSG_WIRE_H
#define DPFLEET_MSG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "consts.h"
#include "msg.h"
#include "util.h"

/* String field caps in bytes (no NUL on the wire). */
#define WIRE_FQDN	(DPF_FQDN_MAX - 1)	/* a host's FQDN, as the store holds it */
#define WIRE_SITE	(DPF_SITE_CODE_MAX - 1)	/* a site code */
#define WIRE_ADDR	1024			/* an address from [smb] host_map, "" to resolve */
#define WIRE_TEXT	1024			/* details, decode errors, file names */
#define WIRE_REASON	64			/* a lib/reason.h word or "absent" / "error" */
#define WIRE_TIME	32			/* ISO 8601 UTC or "" */
#define WIRE_SOURCE	16			/* "smspxe" | "certmgr" */
#define WIRE_COMPONENT	256			/* a log record's component */
#define WIRE_SHA256	(UTIL_SHA256_HEX - 1)	/* 64 hex digits or "" */

struct rd {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
	const char	*fail;	/* first error, sticky */
};

/* Writers: nothing is appended once the buffer failed (a field over its cap fails it too). */
void	 wire_start(struct msg_buf *b);		/* empty b, giving a zeroed one its cap */
void	 wire_put_u32(struct msg_buf *b, uint32_t v);
void	 wire_put_u64(struct msg_buf *b, uint64_t v);
void	 wire_put_str(struct msg_buf *b, const char *s, size_t cap);	/* NULL is "" */
void	 wire_put_bytes(struct msg_buf *b, const uint8_t *p, size_t n, size_t cap);
/* 0, or -1 with "<what>: a field exceeds its cap (or out of memory)" in err. */
int	 wire_done(struct msg_buf *b, const char *what, char *err, size_t errlen);

/* Readers: 0 / NULL once r->fail is set.  Strings and bytes are malloc'd copies (bytes: NULL for none). */
uint32_t wire_get_u32(struct rd *r);
uint64_t wire_get_u64(struct rd *r);
char	*wire_get_str(struct rd *r, size_t cap);
uint8_t	*wire_get_bytes(struct rd *r, uint32_t *len, size_t cap);
/* 0, or -1 with "<what>: <first error>" in err (trailing bytes are an error). */
int	 wire_end(struct rd *r, const char *what, char *err, size_t errlen);

#endif
