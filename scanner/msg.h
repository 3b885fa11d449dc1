/*
 * msg.h — the messages between the scanner's parent and its workers (one socketpair per worker).
 *
 * Frame: u32 type, u32 payload length (little-endian), then the payload; a payload over MSG_MAX is refused.
 * Payload fields are written in a fixed order per type: u32/u64 little-endian, strings as u32 length + bytes
 * (no NUL on the wire, no NUL inside, per-field cap), string lists as u32 count + strings.  Decoders are strict:
 * a missing field, a cap exceeded or a trailing byte is an error.  A short frame, an unknown type or a payload
 * that does not decode is fatal for that worker (the parent kills and replaces it), never skipped.
 *
 * Conversation (worker side in worker.c, parent side in sched.c + scan.c):
 *   worker → parent  MSG_READY once after start-up (credentials read), or MSG_FATAL and exit.
 *   parent → worker  MSG_HOST_REQ     → worker replies MSG_HOST_RES      (one DP/MP: registry + SMSPXE tail)
 *   parent → worker  MSG_CERTMGR_REQ  → worker replies MSG_CERTMGR_RES   (one site server: CertMgr.log tail)
 *   parent → worker  MSG_FIX_REQ      → MSG_FIX_RES        one step of a fix job (read, or write + read back)
 *   parent → worker  MSG_ROLLBACK_REQ → MSG_ROLLBACK_RES   one step of a rollback job (read, or restore/delete
 *                                                          + read back); the steps are driven by fix.c
 * Every request carries a task id the reply echoes.  One request in flight per worker.
 */
#ifndef DPFLEET_MSG_H
#define DPFLEET_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "consts.h"
#include "dbuf.h"

#define MSG_HDR_LEN	8
#define MSG_MAX		(4u * 1024 * 1024)	/* payload cap (a fix request may carry a 1 MiB value) */
#define MSG_STR_MAX	(64u * 1024)		/* one ordinary string field */
#define MSG_LINE_MAX	4096			/* one evidence line */
#define MSG_ELEMS_MAX	4096			/* elements of one multi-string */
#define MSG_EVIDENCE_MAX DPF_EVIDENCE_MAX	/* evidence lines per host */
#define MSG_DENIED_MAX	10000			/* FQDNs one CertMgr.log reply may name */
/*
 * The highest credential-set index a request may carry (scanner/credset.h: 0 is [smb], 1..n the [credentials]
 * sets); the worker also checks the index against its own configuration.
 */
#define MSG_CRED_MAX	CONFIG_CREDSETS_MAX

enum msg_type {
	MSG_READY = 1,		/* w→p: u32 pid */
	MSG_FATAL = 2,		/* w→p: str reason; the worker exits after sending it */
	MSG_HOST_REQ = 10,	/* p→w: struct msg_host_req */
	MSG_HOST_RES = 11,	/* w→p: struct msg_host_res */
	MSG_CERTMGR_REQ = 12,	/* p→w: struct msg_certmgr_req */
	MSG_CERTMGR_RES = 13,	/* w→p: struct msg_certmgr_res */
	/*
	 * Fix and rollback jobs (fix.c drives them, one step per request): the worker reports facts (what the
	 * registry holds, whether a write was accepted), the parent decides the job's outcome.
	 */
	MSG_FIX_REQ = 20,	/* p→w: struct msg_fix_req, op READ or WRITE */
	MSG_FIX_RES = 21,	/* w→p: struct msg_fix_res */
	MSG_ROLLBACK_REQ = 22,	/* p→w: struct msg_fix_req, op READ, RESTORE or DELETE */
	MSG_ROLLBACK_RES = 23,	/* w→p: struct msg_fix_res */
};

/* 1 if type is one of the above, else 0. */
int	 msg_type_known(uint32_t type);
/* The reply type a request type expects, 0 for a type that is not a request. */
uint32_t msg_reply_type(uint32_t req_type);
const char *msg_type_str(uint32_t type);

/*
 * A payload buffer is a lib/dbuf.h buffer (data, len, failed).  Zero-initialise it: the first encoder or
 * msg_recv gives it its cap, MSG_HDR_LEN + MSG_MAX.  Free with msg_buf_free (dbuf_free).
 */
#define msg_buf	dbuf
void	 msg_buf_free(struct msg_buf *b);

/*
 * Blocking I/O on a stream socket (worker side, and the parent's writes).  0, or -1 with err (EOF is -1).
 * msg_send also works on a non-blocking socket: it waits for room, failing after MSG_SEND_STALL_MS without any.
 */
#define MSG_SEND_STALL_MS	10000
int	 msg_send(int fd, uint32_t type, const struct msg_buf *payload, char *err, size_t errlen);
/*
 * Read one whole frame.  On 0: *type set, payload->data/len hold the payload (payload is reset first; the
 * caller frees it).  -1 with err on EOF, I/O error, unknown type or length over MSG_MAX.
 */
int	 msg_recv(int fd, uint32_t *type, struct msg_buf *payload, char *err, size_t errlen);

/*
 * Non-blocking frame assembly for the parent's poll loop: feed what read() returned, then take frames.
 * msg_frame_take returns 1 with the type, payload and length (payload pointing into fb, valid until the next feed/take),
 * 0 when no whole frame is buffered yet, -1 with err on an unknown type or an oversized length.
 */
struct msg_framer {
	struct dbuf	 b;		/* zero-initialise; capped at MSG_HDR_LEN + MSG_MAX on the first feed */
	size_t		 consumed;	/* bytes of b already taken as frames */
};
int	 msg_frame_feed(struct msg_framer *fb, const uint8_t *p, size_t n, char *err, size_t errlen);
int	 msg_frame_take(struct msg_framer *fb, uint32_t *type, const uint8_t **payload, size_t *len,
	    char *err, size_t errlen);
void	 msg_framer_reset(struct msg_framer *fb);
void	 msg_framer_free(struct msg_framer *fb);

/* Registry outcome reported by a worker. */
enum msg_reg {
	MSG_REG_VALUE = 1,	/* value present: type, elems or decode_err */
	MSG_REG_VALUE_ABSENT,
	MSG_REG_KEY_ABSENT,
	MSG_REG_DENIED,
	MSG_REG_FAILED,		/* server answered with another WERROR (werr) */
	MSG_REG_UNREACHABLE,	/* connect / transport failure: reason is the pinned word */
};

/* SMSPXE.log outcome. */
enum msg_log {
	MSG_LOG_SKIPPED = 0,	/* not asked for (not a DP) or host unreachable */
	MSG_LOG_READ,		/* at least one tail was read (file says which) */
	MSG_LOG_ABSENT,		/* no SMSPXE.log on either share */
	MSG_LOG_ERROR,		/* access or transport failure (detail says) */
};

/* msg_host_req.want_pxe_log: read the DP's SMSPXE.log; the DP is also a management point (SMS_CCM\Logs). */
#define MSG_PXE_LOG	1u
#define MSG_PXE_MP	2u

struct msg_host_req {
	uint64_t	 task;
	char		*fqdn;
	char		*addr;		/* "" = worker resolves fqdn */
	uint32_t	 want_pxe_log;	/* MSG_PXE_* bits: 0, or MSG_PXE_LOG for DPs (| MSG_PXE_MP) */
	char		*site_server;	/* site code when the host is that site's server, else "" or NULL: its
					   SMS_<code> share holds the site's Logs folder (doc/FIELD-NOTES.md, §6) */
	uint32_t	 cred;		/* credential set (credset.h index), 0..MSG_CRED_MAX */
};

struct msg_evidence {
	uint32_t	 kind;		/* enum logparse_kind */
	char		*source;	/* "smspxe" | "certmgr" */
	char		*file;		/* e.g. SMS_DP$/sms/logs/SMSPXE.log */
	char		*at;		/* ISO 8601 UTC or "" */
	char		*component;
	uint32_t	 type;
	char		*line;		/* ≤ MSG_LINE_MAX */
};

struct msg_host_res {
	uint64_t	 task;
	uint32_t	 reg;		/* enum msg_reg */
	char		*reason;	/* unreachable: refused/timeout/logon_failure/no_route/...; else "" */
	char		*detail;	/* human-readable error text, "" if none (never secrets) */
	uint32_t	 werr;
	uint32_t	 value_type;
	uint32_t	 raw_len;
	uint32_t	 decoded;	/* 1: elems holds the REG_MULTI_SZ list (as Windows reads it) */
	char		*decode_err;	/* not decoded: why; decoded: "" or how its bytes are not canonical
					   (rrp_multisz_enc_str) */
	char		**elems;
	uint32_t	 nelems;
	uint32_t	 log;		/* enum msg_log */
	char		*log_detail;
	uint32_t	 pxe_cert_errors;
	char		*pxe_last_error;	/* ISO 8601 UTC or "" */
	uint32_t	 pxe_expired_cert;
	uint32_t	 pxe_mp_init_failures;
	struct msg_evidence *ev;
	uint32_t	 nev;		/* ≤ MSG_EVIDENCE_MAX */
};

struct msg_certmgr_req {
	uint64_t	 task;
	char		*site;		/* site code */
	char		*fqdn;		/* site server */
	char		*addr;		/* "" = worker resolves */
	uint32_t	 cred;		/* credential set (credset.h index), 0..MSG_CRED_MAX */
};

struct msg_denied {
	char		*fqdn;		/* as logged, lowercased */
	uint32_t	 count;
	char		*last;		/* ISO 8601 UTC or "" */
	char		*line;		/* newest raw record */
};

struct msg_certmgr_res {
	uint64_t	 task;
	uint32_t	 ok;		/* 1: log read and parsed */
	char		*reason;	/* when !ok: unreachable word or "absent"/"error" */
	char		*detail;
	char		*file;		/* e.g. SMS_P01/Logs/CertMgr.log */
	struct msg_denied *denied;
	uint32_t	 ndenied;
};

/*
 * Encoders append the payload of one message to *out (reset first).  0, or -1 with err when a field exceeds
 * its cap (the message is then not sendable).  Decoders fill *m from (p, n): 0, or -1 with err on any
 * malformation; on -1 everything partially decoded is already freed and *m is zeroed.  Free a decoded
 * message with the matching *_free (NULL fields are fine; the struct itself is the caller's).
 */
int	 msg_enc_host_req(struct msg_buf *out, const struct msg_host_req *m, char *err, size_t errlen);
int	 msg_dec_host_req(const uint8_t *p, size_t n, struct msg_host_req *m, char *err, size_t errlen);
void	 msg_host_req_free(struct msg_host_req *m);

int	 msg_enc_host_res(struct msg_buf *out, const struct msg_host_res *m, char *err, size_t errlen);
int	 msg_dec_host_res(const uint8_t *p, size_t n, struct msg_host_res *m, char *err, size_t errlen);
void	 msg_host_res_free(struct msg_host_res *m);

int	 msg_enc_certmgr_req(struct msg_buf *out, const struct msg_certmgr_req *m, char *err, size_t errlen);
int	 msg_dec_certmgr_req(const uint8_t *p, size_t n, struct msg_certmgr_req *m, char *err, size_t errlen);
void	 msg_certmgr_req_free(struct msg_certmgr_req *m);

int	 msg_enc_certmgr_res(struct msg_buf *out, const struct msg_certmgr_res *m, char *err, size_t errlen);
int	 msg_dec_certmgr_res(const uint8_t *p, size_t n, struct msg_certmgr_res *m, char *err, size_t errlen);
void	 msg_certmgr_res_free(struct msg_certmgr_res *m);

/* READY (u32 pid) and FATAL (str reason). */
int	 msg_enc_ready(struct msg_buf *out, uint32_t pid, char *err, size_t errlen);
int	 msg_dec_ready(const uint8_t *p, size_t n, uint32_t *pid, char *err, size_t errlen);
int	 msg_enc_fatal(struct msg_buf *out, const char *reason, char *err, size_t errlen);
/* *reason malloc'd on success (caller frees). */
int	 msg_dec_fatal(const uint8_t *p, size_t n, char **reason, char *err, size_t errlen);

/* ---- fix / rollback jobs ---- */

#define MSG_VALUE_MAX	DPF_VALUE_MAX		/* raw registry value bytes in one message */

enum msg_fix_op {
	MSG_FIX_OP_READ = 1,	/* both kinds: read the value, nothing written */
	MSG_FIX_OP_WRITE,	/* fix: SetValue REG_MULTI_SZ elems, then read back */
	MSG_FIX_OP_RESTORE,	/* rollback: SetValue value_type + data exactly, then read back */
	MSG_FIX_OP_DELETE,	/* rollback to "absent": DeleteValue, then read back */
};

/*
 * One request of a job.  elems only for WRITE (1..MSG_ELEMS_MAX non-empty strings); value_type/data only
 * for RESTORE (data 0..MSG_VALUE_MAX bytes); every other op carries none of them.
 */
struct msg_fix_req {
	uint64_t	 task;
	uint64_t	 job;
	uint32_t	 op;		/* enum msg_fix_op */
	char		*fqdn;
	char		*addr;		/* "" = worker resolves fqdn */
	char		**elems;
	uint32_t	 nelems;
	uint32_t	 value_type;
	uint8_t		*data;
	uint32_t	 data_len;
	uint32_t	 cred;		/* credential set (credset.h index), 0..MSG_CRED_MAX */
};

/* What happened to the write of a WRITE/RESTORE/DELETE request. */
enum msg_write {
	MSG_WRITE_NONE = 0,	/* READ: nothing was attempted */
	MSG_WRITE_OK,		/* the server accepted it (DeleteValue of an absent value counts) */
	MSG_WRITE_DENIED,	/* ERROR_ACCESS_DENIED: nothing written */
	MSG_WRITE_KEY_ABSENT,	/* the Security key is absent: nothing written */
	MSG_WRITE_FAILED,	/* another WERROR (werr): nothing written */
	MSG_WRITE_UNKNOWN,	/* transport failure mid-write: it may or may not have landed (re-read) */
	MSG_WRITE_UNREACHABLE,	/* no connection: nothing written */
};

/*
 * The reply to both request types: the write's fate (WRITE_NONE for READ) and the read that followed it
 * (for READ the only read).  reg uses enum msg_reg; for MSG_REG_VALUE: value_type, raw/raw_len the exact
 * bytes (too_large = 1 and no bytes when over MSG_VALUE_MAX), decoded = 1 and sha256 = util_multisz_sha256
 * of the list when the bytes are a valid REG_MULTI_SZ, else sha256 "".
 */
struct msg_fix_res {
	uint64_t	 task;
	uint32_t	 write;		/* enum msg_write */
	uint32_t	 reg;		/* enum msg_reg */
	char		*reason;	/* unreachable word, else "" */
	char		*detail;	/* human-readable error text or "" (never secrets) */
	uint32_t	 werr;
	uint32_t	 value_type;
	uint32_t	 too_large;
	uint32_t	 decoded;
	char		*sha256;	/* 64 lowercase hex digits when decoded, else "" */
	uint8_t		*raw;
	uint32_t	 raw_len;
};

/*
 * Same contract as the other encoders/decoders.  The fix_* pair accepts ops READ/WRITE only, the rollback_*
 * pair READ/RESTORE/DELETE only; decoders check every field against its op (a field an op does not use must
 * be empty).  Both reply types share one payload layout.
 */
int	 msg_enc_fix_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen);
int	 msg_dec_fix_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen);
int	 msg_enc_rollback_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen);
int	 msg_dec_rollback_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen);
void	 msg_fix_req_free(struct msg_fix_req *m);

int	 msg_enc_fix_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen);
int	 msg_dec_fix_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen);
int	 msg_enc_rollback_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen);
int	 msg_dec_rollback_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen);
void	 msg_fix_res_free(struct msg_fix_res *m);

#endif
