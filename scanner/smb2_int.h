/*
 * smb2_int.h — what smb2.c, smb2_io.c and smb2_sign.c share, and what tests/unit/test_smb2_sign.c and the fuzz
 * target reach: the SMB2 header layout (MS-SMB2 2.2.1), little-endian accessors, the signing keys
 * (SP800-108 KDF, MS-SMB2 3.1.4.2), message signatures (HMAC-SHA256 for 2.x, AES-128-CMAC for 3.x, MS-SMB2
 * 3.1.4.1), the 3.1.1 preauthentication hash (MS-SMB2 3.2.5.2, 3.2.5.3.1) and the pure response parsers
 * (smb2_sign.c, no sockets, no global state); then struct smb2_conn and the transport smb2.c gives smb2_io.c.
 */
#ifndef DPFLEET_SMB2_INT_H
#define DPFLEET_SMB2_INT_H

#include <stddef.h>
#include <stdint.h>

#include "le.h"

#define SMB2_HDR_LEN		64u
#define SMB2_SIG_OFF		48u
#define SMB2_SIG_LEN		16u
#define SMB2_PREAUTH_LEN	64u	/* SHA-512 */
#define SMB2_KEY_LEN		16u

/* Commands (MS-SMB2 2.2.1.2) */
#define SMB2_NEGOTIATE		0x0000
#define SMB2_SESSION_SETUP	0x0001
#define SMB2_TREE_CONNECT	0x0003
#define SMB2_CREATE		0x0005
#define SMB2_CLOSE		0x0006
#define SMB2_READ		0x0008
#define SMB2_IOCTL		0x000b
#define SMB2_QUERY_DIRECTORY	0x000e

/* Header flags */
#define SMB2_FLAGS_SERVER_TO_REDIR	0x00000001u
#define SMB2_FLAGS_ASYNC_COMMAND	0x00000002u
#define SMB2_FLAGS_SIGNED		0x00000008u

#define SMB2_ST_PENDING			0x00000103u
#define SMB2_ST_MORE_PROCESSING		0xC0000016u

/* A parsed response header (MS-SMB2 2.2.1.1, 2.2.1.2). */
struct smb2_hdr {
	uint16_t	 credit_charge;
	uint32_t	 status;
	uint16_t	 command;
	uint16_t	 credits;
	uint32_t	 flags;
	uint32_t	 next;
	uint64_t	 mid;
	uint32_t	 tid;
	uint64_t	 sid;
};

/*
 * The header of a response msg (n bytes): ProtocolId, StructureSize 64, the SERVER_TO_REDIR flag.  0 and *h,
 * -1 with err.  Pure.
 */
int	 smb2_hdr_parse(const uint8_t *msg, size_t n, struct smb2_hdr *h, char *err, size_t errlen);

/*
 * The response body of msg (n bytes) after the header: checks its StructureSize (the fixed part's size + 1
 * when a variable buffer follows, MS-SMB2 2.2) is want and the fixed part (want & ~1) fits.  An error
 * response (StructureSize 9, MS-SMB2 2.2.2) is accepted when the status is not a success one.  Returns the
 * body (inside msg) or NULL with err.  Pure.
 */
const uint8_t	*smb2_body(const uint8_t *msg, size_t n, uint16_t want, char *err, size_t errlen);

/*
 * The byte range [off, off + len) of msg (n bytes; off counted from the header's start, as every SMB2 offset
 * is) when it lies inside msg: 0 and *p, -1 with err.  len 0 is always fine (*p NULL).  Pure.
 */
int	 smb2_range(const uint8_t *msg, size_t n, uint32_t off, uint32_t len, const uint8_t **p, char *err,
	    size_t errlen);

/*
 * SP800-108 KDF in counter mode with HMAC-SHA256, r = 32, L = 128 (MS-SMB2 3.1.4.2): the first 16 bytes of
 * HMAC-SHA256(ki, 00000001 || label || 00 || context || 00000080) into out.  label and context are taken as
 * given (the MS-SMB2 labels include their terminating NUL).  Pure.
 */
void	 smb2_kdf(const uint8_t ki[SMB2_KEY_LEN], const uint8_t *label, size_t labellen, const uint8_t *ctx,
	    size_t ctxlen, uint8_t out[SMB2_KEY_LEN]);

/*
 * The signing key of a session (MS-SMB2 3.2.5.3.1): the session key itself for 2.0.2 and 2.1, KDF(key,
 * "SMB2AESCMAC", "SmbSign") for 3.0 and 3.0.2, KDF(key, "SMBSigningKey", preauth) for 3.1.1.  Pure.
 */
void	 smb2_signing_key(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN],
	    const uint8_t preauth[SMB2_PREAUTH_LEN], uint8_t out[SMB2_KEY_LEN]);

/*
 * The signature of msg (n >= 64 bytes) with its signature field taken as zero: HMAC-SHA256 truncated to 16
 * bytes for dialects below 3.0, AES-128-CMAC for 3.x (MS-SMB2 3.1.4.1).  Pure.
 */
void	 smb2_signature(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], const uint8_t *msg, size_t n,
	    uint8_t sig[SMB2_SIG_LEN]);
/* Sign msg in place: the SIGNED flag set, the signature written.  n >= 64. */
void	 smb2_sign(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], uint8_t *msg, size_t n);
/* 1 when msg carries the SIGNED flag and a signature that verifies (constant-time compare), else 0. */
int	 smb2_verify(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], const uint8_t *msg, size_t n);

/* The preauthentication integrity hash step (MS-SMB2 3.2.5.2): h = SHA-512(h || msg). */
void	 smb2_preauth_update(uint8_t h[SMB2_PREAUTH_LEN], const uint8_t *msg, size_t n);

/* What a NEGOTIATE response says (MS-SMB2 2.2.4). */
struct smb2_negotiated {
	uint16_t	 dialect;
	uint16_t	 security_mode;
	uint32_t	 capabilities;
	uint32_t	 max_transact;
	uint32_t	 max_read;
	uint32_t	 max_write;
	const uint8_t	*token;		/* inside msg */
	size_t		 toklen;
	int		 preauth_sha512;	/* 3.1.1: the PREAUTH_INTEGRITY_CAPABILITIES context names SHA-512 */
};
/* Parse a NEGOTIATE response body (header checked already) of msg (n bytes).  0, -1 with err.  Pure. */
int	 smb2_parse_negotiate(const uint8_t *msg, size_t n, struct smb2_negotiated *ng, char *err, size_t errlen);

/*
 * FileNamesInformation entries (MS-FSCC 2.4.28) in buf (n bytes): each name (UTF-16LE, converted to UTF-8) to
 * cb until it returns non-zero; "." and ".." skipped.  Returns the number of names passed, *stop set when cb
 * stopped it; -1 with err for a malformed entry.  Pure.
 */
/* CreditCharge of a request moving len bytes either way (MS-SMB2 3.1.5.2): 1 + (len - 1) / 65536, >= 1. */
uint16_t	 smb2_charge(size_t len);

/* A zeroed message of 64 + body bytes (malloc'd, caller frees); NULL with err. */
uint8_t	*smb2_msg_new(size_t body, char *err, size_t errlen);

/*
 * s (UTF-8) as UTF-16LE into a malloc'd buffer (*n bytes, at least 2 allocated; caller frees); path: '/'
 * becomes '\\' and leading separators are dropped (MS-SMB2 2.2.13: a name never starts with one).  NULL with
 * err when s is not UTF-8 or longer than 32767 units.  Pure.
 */
uint8_t	*smb2_utf16(const char *s, int path, size_t *n, char *err, size_t errlen);

long	 smb2_parse_names(const uint8_t *buf, size_t n, int (*cb)(const char *name, void *arg), void *arg,
	    int *stop, char *err, size_t errlen);

/*
 * The connection (smb2.c) as smb2_io.c sees it.  Requests in flight sit in pend[] by MessageId until their
 * response is taken (smb2_wait) or, for drop entries (CLOSE), consumed and discarded when it arrives.
 */
#define SMB2_PEND_MAX	64
struct smb2_pend {
	uint64_t	 mid;
	int		 used;
	int		 drop;		/* the response is read and discarded (CLOSE: never waited for) */
	uint8_t		*msg;		/* the final response once received (malloc'd) */
	size_t		 len;
};

struct smb2_conn {
	int		 fd;
	int		 timeout_ms;
	int		 dead;
	int		 stalled;
	uint16_t	 dialect;
	int		 large_mtu;
	uint32_t	 max_read;
	uint32_t	 max_trans;
	uint64_t	 sid;
	uint64_t	 next_mid;
	uint32_t	 credits;
	int		 signing;	/* key set: requests are signed, responses verified */
	uint8_t		 key[SMB2_KEY_LEN];
	uint8_t		 preauth[SMB2_PREAUTH_LEN];
	char		 server[256];
	char		 mech[16];
	uint8_t		*obuf;		/* requests framed and not yet written (smb2_send with more) */
	size_t		 olen;
	size_t		 ocap;
	struct smb2_pend pend[SMB2_PEND_MAX];
};

/* Mark c dead (stalled: 1 for a stall or reset) and format err; returns -1. */
int	 smb2_fail(struct smb2_conn *c, int stalled, char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 5, 6)));

/*
 * Send msg (n bytes, header zeroed by the caller, body filled) as command cmd on tree tid: the header is
 * filled (CreditCharge charge for 2.1+, MessageId, SessionId), signed when the session has its key, and
 * written (more: kept in c->obuf, to go out in one write with the next ones; written before any wait).
 * Waits for responses first when fewer credits than charge are granted.  drop: the response is discarded
 * when it comes.  0 and *mid; -1 with err (dead).  msg stays the caller's.
 */
int	 smb2_send(struct smb2_conn *c, uint8_t *msg, size_t n, uint16_t cmd, uint32_t tid, uint16_t charge,
	    int drop, int more, uint64_t *mid, char *err, size_t errlen);

/*
 * The final response to request mid: 0 with *msg (malloc'd, caller frees; *n) and *h; -1 with err (dead).
 * Responses to other requests in flight that arrive first are kept for their own smb2_wait.
 */
int	 smb2_wait(struct smb2_conn *c, uint64_t mid, uint8_t **msg, size_t *n, struct smb2_hdr *h, char *err,
	    size_t errlen);


#endif
