/*
 * rpcpipe.c — DCE/RPC over a named pipe of smb2.c (rpcpipe.h): the bind to winreg and the request/response
 * exchange rrp.c's stubs travel in.  Each request is one IOCTL FSCTL_PIPE_TRANSCEIVE (MS-SMB2 3.3.5.15.3:
 * write and read in one round trip); what the answer does not hold (a fragment longer than the read, or
 * further fragments) is read with READs.  The bytes from the pipe are taken as a stream of PDUs, each
 * checked against its own header (C706 12.6.3: common header; MS-RPCE 2.2.2), so message boundaries do not
 * matter.  Called by hostread.c in the scanner's workers.
 *
 *   PDU        type  fixed part after the 16-byte common header
 *   request       0  alloc_hint u32, p_cont_id u16, opnum u16, stub
 *   response      2  alloc_hint u32, p_cont_id u16, cancel_count u8, reserved u8, stub
 *   fault         3  alloc_hint u32, p_cont_id u16, cancel_count u8, reserved u8, status u32
 *   bind         11  max_xmit u16, max_recv u16, assoc_group u32, one context (winreg, NDR 2.0)
 *   bind_ack     12  max_xmit u16, max_recv u16, assoc_group u32, sec_addr, pad, results
 *   bind_nak     13  reject reason u16
 */
#include <stdlib.h>
#include <string.h>

#include "le.h"
#include "rpcpipe.h"
#include "util.h"

#define PT_REQUEST	0
#define PT_RESPONSE	2
#define PT_FAULT	3
#define PT_BIND		11
#define PT_BIND_ACK	12
#define PT_BIND_NAK	13
#define PFC_FIRST	0x01
#define PFC_LAST	0x02
#define HDR_LEN		16
#define RESP_HDR_LEN	24
#define IO_MAX		65536u	/* bytes asked of the pipe per transceive or READ */

/* winreg v1.0 (MS-RRP 2.1) and NDR 2.0 (C706 14), as the 20 bytes of a syntax id on the wire. */
static const uint8_t winreg_syntax[20] = {
	0x01, 0xd0, 0x8c, 0x33, 0x44, 0x22, 0xf1, 0x31, 0xaa, 0xaa, 0x90, 0x00, 0x38, 0x00, 0x10, 0x03,
	0x01, 0x00, 0x00, 0x00 };
static const uint8_t ndr_syntax[20] = {
	0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00, 0x2b, 0x10, 0x48, 0x60,
	0x02, 0x00, 0x00, 0x00 };

struct rpcpipe {
	struct smb2_conn	*c;		/* not owned */
	uint32_t		 tid;
	struct smb2_fid		 fid;
	uint32_t		 call_id;
	uint16_t		 max_xmit;	/* the server's max_recv: our largest fragment */
	enum rpc_fail		 last_fail;
};

/* The common header (C706 12.6.3.1): version 5.0, little-endian integers, ASCII, IEEE floats. */
static void
put_header(uint8_t *h, uint8_t type, uint16_t frag_len, uint32_t call_id)
{
	memset(h, 0, HDR_LEN);
	h[0] = 5;
	h[2] = type;
	h[3] = PFC_FIRST | PFC_LAST;
	h[4] = 0x10;
	le_put16(h + 8, frag_len);
	le_put32(h + 12, call_id);
}

/*
 * Check the common header of the PDU at p (n bytes available, at least HDR_LEN): version, data representation,
 * no auth trailer, frag_length within n, the call id.  Its frag_length in *flen.  0, or -1 with err.
 */
static int
check_header(const uint8_t *p, size_t n, uint32_t call_id, uint16_t *flen, char *err, size_t errlen)
{
	if (n < HDR_LEN)
		return util_err(err, errlen, "DCE/RPC: short PDU (%zu bytes)", n);
	if (p[0] != 5 || p[1] != 0)
		return util_err(err, errlen, "DCE/RPC: version %u.%u, not 5.0", p[0], p[1]);
	if ((p[4] & 0xf0) != 0x10)
		return util_err(err, errlen, "DCE/RPC: big-endian data representation is not supported");
	*flen = le_get16(p + 8);
	if (*flen < HDR_LEN || *flen > n)
		return util_err(err, errlen, "DCE/RPC: fragment length %u, %zu bytes held", *flen, n);
	if (le_get16(p + 10) != 0)
		return util_err(err, errlen, "DCE/RPC: unexpected auth trailer (auth level none was bound)");
	if (le_get32(p + 12) != call_id)
		return util_err(err, errlen, "DCE/RPC: call id %u, expected %u", le_get32(p + 12), call_id);
	return 0;
}

int
rpcpipe_enc_bind(struct dbuf *out, uint32_t call_id, char *err, size_t errlen)
{
	uint8_t b[72];

	put_header(b, PT_BIND, sizeof(b), call_id);
	le_put16(b + 16, RPCPIPE_FRAG_MAX);
	le_put16(b + 18, RPCPIPE_FRAG_MAX);
	le_put32(b + 20, 0);			/* new association group */
	b[24] = 1;				/* one presentation context */
	b[25] = b[26] = b[27] = 0;
	le_put16(b + 28, 0);			/* p_cont_id 0 */
	b[30] = 1;				/* one transfer syntax */
	b[31] = 0;
	memcpy(b + 32, winreg_syntax, 20);
	memcpy(b + 52, ndr_syntax, 20);
	if (dbuf_add(out, b, sizeof(b)) == -1)
		return util_err(err, errlen, "DCE/RPC bind: out of memory");
	return 0;
}

int
rpcpipe_dec_bind_ack(const uint8_t *p, size_t n, uint32_t call_id, uint16_t *max_xmit, char *err,
    size_t errlen)
{
	uint16_t flen, sec_len;
	size_t off;

	if (check_header(p, n, call_id, &flen, err, errlen) == -1)
		return -1;
	if (p[2] == PT_BIND_NAK)
		return util_err(err, errlen, "DCE/RPC bind refused (bind_nak, reason %u)",
		    flen >= HDR_LEN + 2 ? le_get16(p + HDR_LEN) : 0);
	if (p[2] != PT_BIND_ACK)
		return util_err(err, errlen, "DCE/RPC: PDU type %u where bind_ack was expected", p[2]);
	if (flen < HDR_LEN + 10)
		return util_err(err, errlen, "DCE/RPC bind_ack: truncated");
	*max_xmit = le_get16(p + 18);	/* the server's max_recv_frag bounds what we send */
	sec_len = le_get16(p + 24);
	off = 26 + (size_t)sec_len;
	off = (off + 3) & ~(size_t)3;	/* results start 4-aligned */
	if (off + 4 + 24 > flen)
		return util_err(err, errlen, "DCE/RPC bind_ack: truncated result list");
	if (p[off] < 1)
		return util_err(err, errlen, "DCE/RPC bind_ack: no result");
	if (le_get16(p + off + 4) != 0)
		return util_err(err, errlen, "DCE/RPC bind_ack: winreg context refused (result %u, reason %u)",
		    le_get16(p + off + 4), le_get16(p + off + 6));
	if (memcmp(p + off + 8, ndr_syntax, 20) != 0)
		return util_err(err, errlen, "DCE/RPC bind_ack: transfer syntax is not NDR 2.0");
	if (*max_xmit < RESP_HDR_LEN + 8)
		return util_err(err, errlen, "DCE/RPC bind_ack: max_recv_frag %u too small", *max_xmit);
	return 0;
}

int
rpcpipe_enc_request(struct dbuf *out, uint32_t call_id, uint16_t opnum, const uint8_t *stub, size_t len,
    char *err, size_t errlen)
{
	uint8_t h[RESP_HDR_LEN];

	if (len > UINT16_MAX - RESP_HDR_LEN)
		return util_err(err, errlen, "DCE/RPC request: stub of %zu bytes does not fit a fragment", len);
	put_header(h, PT_REQUEST, (uint16_t)(RESP_HDR_LEN + len), call_id);
	le_put32(h + 16, (uint32_t)len);		/* alloc_hint */
	le_put16(h + 20, 0);			/* p_cont_id */
	le_put16(h + 22, opnum);
	if (dbuf_add(out, h, sizeof(h)) == -1 || dbuf_add(out, stub, len) == -1)
		return util_err(err, errlen, "DCE/RPC request: out of memory");
	return 0;
}

int
rpcpipe_dec_response(const uint8_t *p, size_t n, uint32_t call_id, struct dbuf *stub, int *last, char *err,
    size_t errlen)
{
	uint16_t flen;

	if (check_header(p, n, call_id, &flen, err, errlen) == -1)
		return -1;
	if (p[2] == PT_FAULT)
		return util_err(err, errlen, "DCE/RPC fault 0x%08x", flen >= RESP_HDR_LEN + 4 ?
		    le_get32(p + RESP_HDR_LEN) : 0);
	if (p[2] != PT_RESPONSE)
		return util_err(err, errlen, "DCE/RPC: PDU type %u where a response was expected", p[2]);
	if (flen < RESP_HDR_LEN)
		return util_err(err, errlen, "DCE/RPC response: truncated header");
	if (stub->len == 0 && !(p[3] & PFC_FIRST))
		return util_err(err, errlen, "DCE/RPC response: first fragment lacks PFC_FIRST_FRAG");
	if (dbuf_add(stub, p + RESP_HDR_LEN, flen - RESP_HDR_LEN) == -1)
		return util_err(err, errlen, "DCE/RPC response: stub over %zu bytes", stub->max);
	*last = (p[3] & PFC_LAST) != 0;
	return 0;
}

/*
 * Send pdu and gather the answer's PDUs into raw until the one that ends the exchange: for a bind the first
 * PDU, for a request the fragment with PFC_LAST_FRAG.  Each complete PDU is handed to dec (0 = go on, 1 =
 * done, -1 = error).  0, or -1 with err and p->last_fail.
 */
static int
exchange(struct rpcpipe *p, const struct dbuf *pdu, int (*dec)(const uint8_t *, size_t, void *, char *, size_t),
    void *arg, char *err, size_t errlen)
{
	struct dbuf raw;
	uint8_t *in = NULL;
	size_t inlen = 0, off = 0;
	uint32_t st;
	int rc = -1, r, first = 1;

	dbuf_init(&raw, RPCPIPE_STUB_MAX + IO_MAX);
	p->last_fail = RPC_FAIL_PROTOCOL;
	for (;;) {
		if ((first ? smb2_pipe_transceive(p->c, p->tid, &p->fid, pdu->data, pdu->len, IO_MAX, &in,
		    &inlen, &st, err, errlen) : smb2_pipe_read(p->c, p->tid, &p->fid, IO_MAX, &in, &inlen, &st,
		    err, errlen)) == -1) {
			p->last_fail = smb2_stalled(p->c) ? RPC_FAIL_RPC_TIMEOUT : RPC_FAIL_PROTOCOL;
			goto done;
		}
		first = 0;
		if (st != SMB2_ST_OK && st != SMB2_ST_BUFFER_OVERFLOW) {
			util_err(err, errlen, "named pipe \\winreg: NTSTATUS 0x%08x", st);
			p->last_fail = RPC_FAIL_RPC_TIMEOUT;	/* the pipe broke under the call */
			goto done;
		}
		if (dbuf_add(&raw, in, inlen) == -1) {
			util_err(err, errlen, "DCE/RPC: answer over %zu bytes", raw.max);
			goto done;
		}
		free(in);
		in = NULL;
		/* every complete PDU held */
		while (raw.len - off >= HDR_LEN && le_get16(raw.data + off + 8) <= raw.len - off) {
			if (le_get16(raw.data + off + 8) < HDR_LEN) {
				util_err(err, errlen, "DCE/RPC: fragment length %u", le_get16(raw.data + off + 8));
				goto done;
			}
			if ((r = dec(raw.data + off, raw.len - off, arg, err, errlen)) != 0) {
				rc = r == 1 ? 0 : -1;
				goto done;
			}
			off += le_get16(raw.data + off + 8);
		}
	}
done:
	if (rc == 0)
		p->last_fail = RPC_FAIL_NONE;
	free(in);
	dbuf_free(&raw);
	return rc;
}

/* exchange's decoder for a bind: arg is the struct rpcpipe, whose max_xmit the bind_ack sets. */
static int
bind_dec(const uint8_t *pdu, size_t n, void *arg, char *err, size_t errlen)
{
	struct rpcpipe *p = arg;

	return rpcpipe_dec_bind_ack(pdu, n, p->call_id, &p->max_xmit, err, errlen) == 0 ? 1 : -1;
}

struct call_arg {
	uint32_t	 call_id;
	struct dbuf	 stub;
};

static int
call_dec(const uint8_t *pdu, size_t n, void *arg, char *err, size_t errlen)
{
	struct call_arg *a = arg;
	int last = 0;

	if (rpcpipe_dec_response(pdu, n, a->call_id, &a->stub, &last, err, errlen) == -1)
		return -1;
	return last;
}

int
rpcpipe_open(struct rpcpipe **out, struct smb2_conn *c, char *err, size_t errlen, enum rpc_fail *why,
    enum rpc_phase *phase)
{
	struct rpcpipe *p;
	struct dbuf pdu;
	uint32_t st;

	*out = NULL;
	*phase = RPC_PHASE_SMB;
	*why = RPC_FAIL_OTHER;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return util_err(err, errlen, "out of memory");
	p->c = c;
	p->call_id = 1;
	dbuf_init(&pdu, 4096);
	if (smb2_tree_connect(c, "IPC$", &p->tid, &st, err, errlen) == -1)
		goto broken;
	if (st != SMB2_ST_OK) {
		*why = rpc_classify(st, RPC_PHASE_SMB);
		util_err(err, errlen, "tree connect IPC$: NTSTATUS 0x%08x", st);
		goto fail;
	}
	*phase = RPC_PHASE_PIPE;
	if (smb2_pipe_open(c, p->tid, "winreg", &p->fid, &st, err, errlen) == -1)
		goto broken;
	if (st != SMB2_ST_OK) {
		*why = rpc_classify(st, RPC_PHASE_PIPE);
		util_err(err, errlen, "open \\pipe\\winreg: NTSTATUS 0x%08x", st);
		goto fail;
	}
	*phase = RPC_PHASE_BIND;
	if (rpcpipe_enc_bind(&pdu, p->call_id, err, errlen) == -1 ||
	    exchange(p, &pdu, bind_dec, p, err, errlen) == -1) {
		*why = p->last_fail == RPC_FAIL_RPC_TIMEOUT ? RPC_FAIL_RPC_TIMEOUT : RPC_FAIL_PROTOCOL;
		goto fail;
	}
	*phase = RPC_PHASE_CALL;
	*why = RPC_FAIL_NONE;
	dbuf_free(&pdu);
	*out = p;
	return 0;
broken:
	*why = smb2_stalled(c) ? rpc_classify(0xC00000B5u /* NT_STATUS_IO_TIMEOUT */, *phase) : RPC_FAIL_PROTOCOL;
fail:
	dbuf_free(&pdu);
	free(p);
	return -1;
}

int
rpcpipe_call(void *ctx, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct rpcpipe *p = ctx;
	struct call_arg a;
	struct dbuf pdu;
	int rc = -1;

	*out = NULL;
	*outlen = 0;
	p->last_fail = RPC_FAIL_PROTOCOL;
	if (opnum > UINT16_MAX || inlen + RESP_HDR_LEN > p->max_xmit)
		return util_err(err, errlen, "DCE/RPC request: opnum %u with a %zu-byte stub does not fit one "
		    "%u-byte fragment", opnum, inlen, p->max_xmit);
	a.call_id = ++p->call_id;
	dbuf_init(&a.stub, RPCPIPE_STUB_MAX);
	dbuf_init(&pdu, (size_t)p->max_xmit);
	if (rpcpipe_enc_request(&pdu, a.call_id, (uint16_t)opnum, in, inlen, err, errlen) == 0 &&
	    exchange(p, &pdu, call_dec, &a, err, errlen) == 0) {
		*out = (uint8_t *)dbuf_take(&a.stub, outlen);
		rc = *out != NULL ? 0 : util_err(err, errlen, "out of memory");
	}
	dbuf_free(&pdu);
	dbuf_free(&a.stub);
	return rc;
}

enum rpc_fail
rpcpipe_last_fail(const struct rpcpipe *p)
{
	return p != NULL ? p->last_fail : RPC_FAIL_NONE;
}

void
rpcpipe_free(struct rpcpipe *p)
{
	free(p);
}
