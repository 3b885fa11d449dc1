/*
 * rrp.h — MS-RRP (winreg) codec and the registry operations built on it.
 *
 * Two layers:
 *  - rrp_enc_* / rrp_dec_* (rrp_codec.c): pure NDR encoders of request stubs and bounds-checked decoders of response stubs
 *    (no I/O).  Decoders return 0 when the stub is well formed (the server's WERROR is then in *werr, which
 *    may be non-zero) and -1 with a reason in err when the stub is truncated, oversized or malformed.
 *  - rrp_read_value / rrp_write_* / rrp_delete_value (rrp_ops.c): open HKLM, open the key, run the op, close every handle
 *    opened.  They carry stubs through a caller-supplied struct rrp_io (rpc.c provides one over Samba's
 *    dcerpc; unit tests provide a fake), so this module itself never touches the network.
 *
 * All integers on the wire are little-endian NDR with 4-byte alignment; policy handles are 20 bytes.
 */
#ifndef DPFLEET_RRP_H
#define DPFLEET_RRP_H

#include <stddef.h>
#include <stdint.h>

#include "consts.h"
#include "dbuf.h"

#define RRP_OP_OPEN_HKLM	2
#define RRP_OP_CLOSE_KEY	5
#define RRP_OP_CREATE_KEY	6
#define RRP_OP_DELETE_VALUE	8
#define RRP_OP_OPEN_KEY		15
#define RRP_OP_QUERY_VALUE	17
#define RRP_OP_SET_VALUE	22

#define RRP_WERR_OK		0
#define RRP_WERR_NOT_FOUND	2	/* ERROR_FILE_NOT_FOUND: key or value absent */
#define RRP_WERR_ACCESS_DENIED	5
#define RRP_WERR_MORE_DATA	234

#define RRP_KEY_QUERY_VALUE	0x00000001u
#define RRP_KEY_SET_VALUE	0x00000002u
#define RRP_KEY_READ		0x00020019u
#define RRP_MAXIMUM_ALLOWED	0x02000000u

#define RRP_REG_NONE		0
#define RRP_REG_SZ		1
#define RRP_REG_EXPAND_SZ	2
#define RRP_REG_BINARY		3
#define RRP_REG_DWORD		4
#define RRP_REG_MULTI_SZ	DPF_REG_MULTI_SZ

#define RRP_HANDLE_LEN		20
#define RRP_VALUE_MAX		DPF_VALUE_MAX		/* hard cap on a value's bytes, both directions */
#define RRP_NAME_MAX		1024			/* cap on a key path / value name, UTF-16 units */
#define RRP_REPLY_MAX		(RRP_VALUE_MAX + 4096u)	/* cap on a response stub */

/* The well-known location of the value this project cares about. */
#define RRP_SMS_SECURITY_KEY	"SOFTWARE\\Microsoft\\SMS\\Security"
#define RRP_ISSUING_CERT_LIST	"IssuingCertificateList"

struct rrp_handle {
	uint8_t	 b[RRP_HANDLE_LEN];
};

/*
 * Encoders (rrp_codec.c) into a lib/dbuf.h buffer.  Each frees *out's previous contents, gives it the cap
 * RRP_REPLY_MAX, fills it and returns 0; on error (name not valid UTF-8 or too long, data over RRP_VALUE_MAX,
 * allocation) returns -1 with err set and *out empty.  The caller releases *out with dbuf_free.
 * Names are UTF-8 and are sent as NUL-terminated UTF-16LE winreg strings.
 */
int	 rrp_enc_open_hklm(struct dbuf *out, uint32_t access, char *err, size_t errlen);
int	 rrp_enc_open_key(struct dbuf *out, const struct rrp_handle *parent, const char *path,
	    uint32_t access, char *err, size_t errlen);
int	 rrp_enc_close_key(struct dbuf *out, const struct rrp_handle *h, char *err, size_t errlen);
/* bufsize 0 = size probe (NULL data pointer); otherwise a data fetch offering bufsize bytes. */
int	 rrp_enc_query_value(struct dbuf *out, const struct rrp_handle *h, const char *name,
	    uint32_t bufsize, char *err, size_t errlen);
int	 rrp_enc_set_value(struct dbuf *out, const struct rrp_handle *h, const char *name, uint32_t type,
	    const uint8_t *data, size_t len, char *err, size_t errlen);
int	 rrp_enc_delete_value(struct dbuf *out, const struct rrp_handle *h, const char *name,
	    char *err, size_t errlen);

/*
 * Decoders of response stubs (p, n).  0 when well formed, with the server's WERROR in *werr (handles and
 * other outputs are only meaningful when *werr is 0); -1 with err set when truncated, with trailing bytes,
 * or otherwise malformed.  Outputs may be partially written on -1.
 */
int	 rrp_dec_open_hklm(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *werr,
	    char *err, size_t errlen);
int	 rrp_dec_open_key(const uint8_t *p, size_t n, struct rrp_handle *h, uint32_t *werr,
	    char *err, size_t errlen);
int	 rrp_dec_close_key(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen);
int	 rrp_dec_set_value(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen);
int	 rrp_dec_delete_value(const uint8_t *p, size_t n, uint32_t *werr, char *err, size_t errlen);

/*
 * A QueryValue response.  data points INTO the caller's response buffer (no copy; valid while it lives) and
 * is NULL when the server sent no data (size probe, errors).  size = the value's size (what a fetch must
 * offer; on WERR_MORE_DATA the size now needed).  A data length over RRP_VALUE_MAX is a decode error.
 */
struct rrp_qv_reply {
	uint32_t	 type;
	const uint8_t	*data;
	uint32_t	 data_len;
	uint32_t	 size;
	uint32_t	 werr;
};
int	 rrp_dec_query_value(const uint8_t *p, size_t n, struct rrp_qv_reply *r, char *err, size_t errlen);

/*
 * How a REG_MULTI_SZ's bytes end, compared with the canonical encoding (each element + NUL, then one more NUL;
 * Microsoft Learn, "Registry value types"; MS-RRP 2.2.7).  Windows readers walk the strings up to the first
 * empty one and take a missing final terminator as the end of the last string, so every form below reads as
 * the same list; only its bytes differ (doc/FIELD-NOTES.md, "The fault").
 */
enum rrp_multisz_enc {
	RRP_MULTISZ_CANONICAL = 0,	/* also the empty forms: 0 bytes, one NUL, two NULs */
	RRP_MULTISZ_SINGLE_NUL,		/* the last string's NUL, no final empty string */
	RRP_MULTISZ_NO_NUL,		/* the last string has no NUL at all */
	RRP_MULTISZ_TRAILING,		/* units after the terminating empty string (an extra NUL, empty strings,
					   strings a reader never sees) */
};
/* "canonical", "single final NUL", "no final NUL", "data after the terminating empty string" (static). */
const char *rrp_multisz_enc_str(enum rrp_multisz_enc e);

/*
 * REG_MULTI_SZ <-> UTF-8 string list.
 * rrp_multisz_read: the strings a Windows reader sees (see enum rrp_multisz_enc), with *enc saying how the
 * bytes differ from the canonical encoding of that list.  Errors (-1, reason in err, *elems NULL, *enc
 * CANONICAL): odd byte length, length over RRP_VALUE_MAX, invalid UTF-16 (lone surrogates) in a string read.
 * Same ownership as rrp_multisz_decode.
 * rrp_multisz_decode: strict.  Errors (-1, reason in err, *elems NULL): odd byte length, length over
 * RRP_VALUE_MAX, missing double-NUL terminator, embedded empty element, invalid UTF-16 (lone surrogates).
 * An empty value (0 bytes, one NUL, or two NULs) decodes to 0 elements.  On success *elems is a malloc'd
 * array of *nelems malloc'd NUL-terminated strings (free with util_strv_free from lib/util.h) — NULL when *nelems is 0.
 * rrp_multisz_encode: each element UTF-16LE + NUL, then a final NUL.  Errors: no element, an empty element,
 * invalid UTF-8, result over RRP_VALUE_MAX.  *out malloc'd (caller frees), *outlen its length.
 */
int	 rrp_multisz_read(const uint8_t *p, size_t n, char ***elems, size_t *nelems, enum rrp_multisz_enc *enc,
	    char *err, size_t errlen);
int	 rrp_multisz_decode(const uint8_t *p, size_t n, char ***elems, size_t *nelems, char *err, size_t errlen);
int	 rrp_multisz_encode(const char *const *elems, size_t n, uint8_t **out, size_t *outlen,
	    char *err, size_t errlen);

/*
 * The transport: call() sends one request stub for opnum and returns the response stub in *out (malloc'd,
 * caller frees with free()), at most RRP_REPLY_MAX bytes.  0 on success; -1 with err on any transport
 * failure (the connection should then be considered dead).
 * dropped: 1 when the caller drops the connection right after the operation.  The operations then send no
 * CloseKey (one round trip each): the server closes a connection's context handles when the connection goes
 * (MS-RPCE 3.3.3.2.1, context rundown; Samba frees a pipe's policy handles with the pipe), so a close only
 * delays the end.  0 closes every handle.
 */
struct rrp_io {
	int	(*call)(void *ctx, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out,
		    size_t *outlen, char *err, size_t errlen);
	void	*ctx;
	int	 dropped;
};

/* Outcome of a registry operation that reached the server. */
enum rrp_status {
	RRP_OK = 0,		/* done (read: value present) */
	RRP_KEY_ABSENT,		/* OpenKey said ERROR_FILE_NOT_FOUND */
	RRP_DENIED,		/* ERROR_ACCESS_DENIED on OpenHKLM, OpenKey, QueryValue or SetValue */
	RRP_VALUE_ABSENT,	/* QueryValue / DeleteValue said ERROR_FILE_NOT_FOUND */
	RRP_FAILED,		/* any other WERROR (in werr) */
};
/* "ok", "key_absent", "access_denied", "value_absent", "failed" (static strings). */
const char *rrp_status_str(enum rrp_status s);

/*
 * Result of rrp_read_value.  When status is RRP_OK: type and raw/raw_len are the exact bytes read (raw is
 * malloc'd; NULL only for a 0-byte value or a value over RRP_VALUE_MAX, then too_large is set).  For
 * REG_MULTI_SZ the list a Windows reader sees is decoded (rrp_multisz_read): decoded = 1, elems/nelems and
 * encoding (non-zero: a non-canonical encoding of that list) on success, else decode_err holds the reason.
 * Other types: decoded = 0 and decode_err says "type N is not REG_MULTI_SZ".  Release with rrp_read_free().
 */
struct rrp_read {
	enum rrp_status	 status;
	uint32_t	 werr;
	uint32_t	 type;
	uint8_t		*raw;
	size_t		 raw_len;
	int		 too_large;
	int		 decoded;
	char		**elems;
	size_t		 nelems;
	enum rrp_multisz_enc encoding;	/* when decoded */
	char		 decode_err[160];
};
/* Free raw and elems and zero them; the struct itself is the caller's.  NULL is a no-op. */
void	 rrp_read_free(struct rrp_read *r);

/*
 * Read value `name` under HKLM\key: OpenHKLM, OpenKey(KEY_READ), QueryValue offering 4 KiB (retried with the
 * size the server asks for on WERR_MORE_DATA, up to 4 times), CloseKey ×2 — 5 round trips for a normal value,
 * 3 when io->dropped (no CloseKey).
 * Returns 0 when the server answered (result in *r, which the caller releases with rrp_read_free even on -1);
 * -1 with err on transport or protocol failure.  Read-only.  Handles opened are closed on every path except
 * after a transport failure (the server drops them with the pipe; closing would only wait out the timeout)
 * and when io->dropped.
 */
int	 rrp_read_value(const struct rrp_io *io, const char *key, const char *name, struct rrp_read *r,
	    char *err, size_t errlen);

/*
 * Write `name` under the existing key HKLM\key (opened with KEY_READ|KEY_SET_VALUE; the key is never
 * created): raw bytes with an explicit type (rollback restores exactly what was backed up), or a UTF-8 list
 * as REG_MULTI_SZ.  0 when the server answered (*st: RRP_OK written; RRP_KEY_ABSENT / RRP_DENIED /
 * RRP_FAILED nothing written; *werr the WERROR), -1 with err on encode, transport or protocol failure
 * (whether the value was written is then unknown: re-read it).
 */
int	 rrp_write_raw(const struct rrp_io *io, const char *key, const char *name, uint32_t type,
	    const uint8_t *data, size_t len, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen);
int	 rrp_write_multisz(const struct rrp_io *io, const char *key, const char *name,
	    const char *const *elems, size_t n, enum rrp_status *st, uint32_t *werr, char *err, size_t errlen);
/* Delete `name` under HKLM\key (rollback to "absent").  Same contract; RRP_VALUE_ABSENT if it was absent. */
int	 rrp_delete_value(const struct rrp_io *io, const char *key, const char *name, enum rrp_status *st,
	    uint32_t *werr, char *err, size_t errlen);

#endif
