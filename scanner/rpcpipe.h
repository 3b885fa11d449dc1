/*
 * rpcpipe.h — DCE/RPC connection-oriented PDUs (C706 ch. 12, MS-RPCE 2.2.2) over a named pipe of dpfleet's own
 * SMB2 client (smb2.h): bind to winreg v1.0 and carry the request and response stubs rrp.c encodes, so the
 * registry read and the log reads of a scan share one SMB session.  Auth level none (the SMB session is
 * signed), little-endian NDR, one presentation context.  Called by hostread.c; the PDU codec is pure and fed
 * to tests/fuzz/fuzz_rpcpipe.c.
 */
#ifndef DPFLEET_RPCPIPE_H
#define DPFLEET_RPCPIPE_H

#include <stddef.h>
#include <stdint.h>

#include "dbuf.h"
#include "rpc.h"
#include "smb2.h"

#define RPCPIPE_FRAG_MAX	4280u	/* max_xmit_frag/max_recv_frag offered (what Windows offers) */
#define RPCPIPE_STUB_MAX	(1024u * 1024u + 4096u)	/* cap on a reassembled response stub (RRP_REPLY_MAX) */

struct rpcpipe;

/*
 * On connection c (smb2_connect'ed; not owned): TREE_CONNECT IPC$ (phase smb), CREATE \winreg (phase pipe:
 * a missing or refused pipe is rpc_unavailable by rpc_classify), bind winreg v1.0 (phase bind).  0 and *out
 * (free with rpcpipe_free); -1 with err, *why and *phase, *out NULL.
 */
int	 rpcpipe_open(struct rpcpipe **out, struct smb2_conn *c, char *err, size_t errlen, enum rpc_fail *why,
	    enum rpc_phase *phase);

/*
 * struct rrp_io's call over p (a struct rpcpipe *): one request PDU (the stub must fit one fragment), the
 * response fragments reassembled (each bounds-checked: version, type, call id, lengths).  *out malloc'd
 * (caller frees), at most RPCPIPE_STUB_MAX.  0, or -1 with err (rpcpipe_last_fail says why).
 */
int	 rpcpipe_call(void *p, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
	    char *err, size_t errlen);

/* Why the last call failed: rpc_timeout (stall or reset), protocol (fault, malformed PDU), none. */
enum rpc_fail	 rpcpipe_last_fail(const struct rpcpipe *p);

/* Free p; nothing is sent (the pipe closes with the connection).  NULL is a no-op. */
void	 rpcpipe_free(struct rpcpipe *p);

/*
 * The codec.  rpcpipe_enc_bind / rpcpipe_enc_request append one PDU to out (0, or -1 with err).
 * rpcpipe_dec_bind_ack: 0 when p is a bind_ack accepting context 0 (*max_xmit set), -1 with err otherwise (a
 * bind_nak names its reason).  rpcpipe_dec_response: one response fragment for call_id appended to stub;
 * *last set when it carries PFC_LAST_FRAG; a fault gives -1 with err naming the status.  Pure.
 */
int	 rpcpipe_enc_bind(struct dbuf *out, uint32_t call_id, char *err, size_t errlen);
int	 rpcpipe_dec_bind_ack(const uint8_t *p, size_t n, uint32_t call_id, uint16_t *max_xmit, char *err,
	    size_t errlen);
int	 rpcpipe_enc_request(struct dbuf *out, uint32_t call_id, uint16_t opnum, const uint8_t *stub, size_t len,
	    char *err, size_t errlen);
int	 rpcpipe_dec_response(const uint8_t *p, size_t n, uint32_t call_id, struct dbuf *stub, int *last,
	    char *err, size_t errlen);

#endif
