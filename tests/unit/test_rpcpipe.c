/*
 * test_rpcpipe.c — the DCE/RPC PDU codec of scanner/rpcpipe.c: the bind PDU byte for byte (C706 12.6.4.3, the
 * winreg and NDR syntax ids of MS-RRP 2.1 and C706 14), bind_ack acceptance and refusal, bind_nak, a request's
 * header, responses reassembled from fragments, faults, and malformed input (wrong call id, truncated, a
 * fragment length past the bytes held, an auth trailer, big-endian data representation) refused.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "dbuf.h"
#include "rpcpipe.h"

/* A bind_ack for call_id 1: max_xmit 4280, max_recv rx, sec_addr "\PIPE\winreg", result (res, reason), NDR. */
static size_t
bind_ack(uint8_t *b, uint8_t type, uint16_t rx, uint16_t res, uint16_t reason)
{
	static const uint8_t ndr[20] = { 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00,
		0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x00, 0x00 };
	static const char sec[] = "\\PIPE\\winreg";
	size_t off;

	memset(b, 0, 128);
	b[0] = 5; b[2] = type; b[3] = 3; b[4] = 0x10; b[12] = 1;
	b[16] = 0xb8; b[17] = 0x10;		/* 4280 */
	b[18] = (uint8_t)rx; b[19] = (uint8_t)(rx >> 8);
	b[24] = sizeof(sec);
	memcpy(b + 26, sec, sizeof(sec));
	off = (26 + sizeof(sec) + 3) & ~(size_t)3;
	b[off] = 1;
	b[off + 4] = (uint8_t)res;
	b[off + 6] = (uint8_t)reason;
	memcpy(b + off + 8, ndr, 20);
	off += 28;
	b[8] = (uint8_t)off;
	return off;
}

/* A response fragment for call_id id with flags and stub bytes s (n). */
static size_t
response(uint8_t *b, uint8_t type, uint8_t flags, uint32_t id, const char *s, size_t n)
{
	memset(b, 0, 24);
	b[0] = 5; b[2] = type; b[3] = flags; b[4] = 0x10;
	b[8] = (uint8_t)(24 + n);
	b[12] = (uint8_t)id;
	memcpy(b + 24, s, n);
	return 24 + n;
}

static void
test_bind(void)
{
	struct dbuf d;
	uint8_t b[128];
	uint16_t mx = 0;
	size_t n;
	char err[256];

	dbuf_init(&d, 4096);
	CHECK(rpcpipe_enc_bind(&d, 1, err, sizeof(err)) == 0);
	CHECK(d.len == 72);
	CHECK(d.data[0] == 5 && d.data[2] == 11 && d.data[3] == 3 && d.data[4] == 0x10 && d.data[8] == 72);
	CHECK(d.data[24] == 1 && d.data[30] == 1);
	/* winreg 338cd001-2244-31f1-aaaa-900038001003 v1.0 */
	CHECK(d.data[32] == 0x01 && d.data[33] == 0xd0 && d.data[34] == 0x8c && d.data[35] == 0x33 && d.data[48] == 1);
	dbuf_free(&d);

	n = bind_ack(b, 12, 4280, 0, 0);
	CHECK(rpcpipe_dec_bind_ack(b, n, 1, &mx, err, sizeof(err)) == 0 && mx == 4280);
	CHECK(rpcpipe_dec_bind_ack(b, n, 2, &mx, err, sizeof(err)) == -1 && strstr(err, "call id") != NULL);
	CHECK(rpcpipe_dec_bind_ack(b, n - 1, 1, &mx, err, sizeof(err)) == -1);
	n = bind_ack(b, 12, 4280, 2, 1);
	CHECK(rpcpipe_dec_bind_ack(b, n, 1, &mx, err, sizeof(err)) == -1 && strstr(err, "refused") != NULL);
	n = bind_ack(b, 13, 4280, 0, 0);
	CHECK(rpcpipe_dec_bind_ack(b, n, 1, &mx, err, sizeof(err)) == -1 && strstr(err, "bind_nak") != NULL);
	n = bind_ack(b, 12, 16, 0, 0);
	CHECK(rpcpipe_dec_bind_ack(b, n, 1, &mx, err, sizeof(err)) == -1);
	n = bind_ack(b, 12, 4280, 0, 0);
	b[24] = 200;		/* sec_addr past the PDU */
	CHECK(rpcpipe_dec_bind_ack(b, n, 1, &mx, err, sizeof(err)) == -1);
}

static void
test_request_response(void)
{
	struct dbuf d, stub;
	uint8_t b[128], s[4] = { 1, 2, 3, 4 };
	size_t n;
	int last = -1;
	char err[256];

	dbuf_init(&d, 4096);
	CHECK(rpcpipe_enc_request(&d, 7, 17, s, sizeof(s), err, sizeof(err)) == 0);
	CHECK(d.len == 28 && d.data[2] == 0 && d.data[8] == 28 && d.data[12] == 7 && d.data[16] == 4 &&
	    d.data[22] == 17 && memcmp(d.data + 24, s, 4) == 0);
	dbuf_free(&d);

	dbuf_init(&stub, 64);
	n = response(b, 2, 1, 7, "abc", 3);
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == 0 && last == 0);
	n = response(b, 2, 2, 7, "def", 3);
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == 0 && last == 1);
	CHECK(stub.len == 6 && memcmp(stub.data, "abcdef", 6) == 0);
	dbuf_reset(&stub);
	n = response(b, 2, 2, 7, "def", 3);	/* a middle fragment first */
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == -1);
	n = response(b, 3, 3, 7, "\x05\x00\x00\x1c", 4);
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == -1 &&
	    strstr(err, "fault 0x1c000005") != NULL);
	n = response(b, 2, 3, 8, "x", 1);
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == -1);
	n = response(b, 2, 3, 7, "x", 1);
	CHECK(rpcpipe_dec_response(b, n - 1, 7, &stub, &last, err, sizeof(err)) == -1);
	b[10] = 8;		/* an auth trailer */
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == -1);
	b[10] = 0;
	b[4] = 0;		/* big-endian */
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == -1);
	b[4] = 0x10;
	CHECK(rpcpipe_dec_response(b, n, 7, &stub, &last, err, sizeof(err)) == 0 && last == 1);
	/* a stub over the buffer's cap */
	dbuf_free(&stub);
	dbuf_init(&stub, 2);
	CHECK(rpcpipe_dec_response(b, response(b, 2, 3, 7, "xyz", 3), 7, &stub, &last, err, sizeof(err)) == -1);
	dbuf_free(&stub);
}

int
main(void)
{
	test_bind();
	test_request_response();
	return check_done("rpcpipe");
}
