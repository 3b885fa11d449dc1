/*
 * fuzz_rpcpipe.c — libFuzzer target for scanner/rpcpipe.c's PDU decoders: the first input byte picks
 * rpcpipe_dec_bind_ack (even) or a run of rpcpipe_dec_response over the rest taken as successive fragments
 * (odd: each fragment's own frag_length says where the next starts, as rpcpipe.c's exchange reads a pipe).
 * Every path must return cleanly: crashes, leaks and sanitizer reports are the findings.
 */
#include <stdint.h>
#include <stdlib.h>

#include "dbuf.h"
#include "rpcpipe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbuf stub;
	uint16_t mx;
	size_t off = 1, flen;
	int last = 0;
	char err[256];

	if (size < 1)
		return 0;
	if ((data[0] & 1) == 0) {
		(void)rpcpipe_dec_bind_ack(data + 1, size - 1, data[0] >> 1, &mx, err, sizeof(err));
		return 0;
	}
	dbuf_init(&stub, 4096);
	while (!last && size - off >= 16) {
		flen = (size_t)data[off + 8] | (size_t)data[off + 9] << 8;
		if (rpcpipe_dec_response(data + off, size - off, 1, &stub, &last, err, sizeof(err)) == -1 || flen == 0)
			break;
		off += flen;
	}
	dbuf_free(&stub);
	return 0;
}
