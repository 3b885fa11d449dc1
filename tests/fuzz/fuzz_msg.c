/*
 * fuzz_msg.c — libFuzzer target for scanner/msg.c, the only parser in the scanner's parent process: worker
 * replies decoded by scan.c (host_res, certmgr_res, ready, fatal, fix/rollback replies) and the framer that
 * assembles them from the socket.  The first input byte picks the decoder; the rest is the payload (or, for
 * the framer, a byte stream fed in chunks of the following sizes).  A successful decode is re-encoded and
 * must decode again to the same bytes.
 */
#include "msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void
roundtrip_host(const struct msg_host_res *m)
{
	struct msg_buf b = { 0 }, b2 = { 0 };
	struct msg_host_res d;
	char err[256];

	if (msg_enc_host_res(&b, m, err, sizeof(err)) == 0 &&
	    msg_dec_host_res(b.data, b.len, &d, err, sizeof(err)) == 0) {
		if (msg_enc_host_res(&b2, &d, err, sizeof(err)) != 0 || b2.len != b.len ||
		    memcmp(b.data, b2.data, b.len) != 0)
			abort();
		msg_host_res_free(&d);
	}
	msg_buf_free(&b);
	msg_buf_free(&b2);
}

/* The framer: feed the stream (data after the selector byte) in chunks of 1..16 bytes, taking frames after each
 * feed; every frame taken must have a known type and a length within MSG_MAX. */
static void
fuzz_framer(const uint8_t *data, size_t size)
{
	struct msg_framer fr = { 0 };
	char err[256];
	uint32_t type;
	const uint8_t *p;
	size_t off = 1, chunk, len;
	int rc = 0;

	while (off < size && rc != -1) {
		chunk = 1 + (data[off] & 15);
		if (chunk > size - off)
			chunk = size - off;
		if (msg_frame_feed(&fr, data + off, chunk, err, sizeof(err)) == -1)
			break;
		off += chunk;
		while ((rc = msg_frame_take(&fr, &type, &p, &len, err, sizeof(err))) == 1)
			if (!msg_type_known(type) || len > MSG_MAX)
				abort();
	}
	msg_framer_free(&fr);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *reason = NULL;
	uint32_t pid;

	if (size < 1)
		return 0;
	switch (data[0] % 8) {
	case 0: {
		struct msg_host_res m;

		if (msg_dec_host_res(data + 1, size - 1, &m, err, sizeof(err)) == 0) {
			roundtrip_host(&m);
			msg_host_res_free(&m);
		}
		break;
	}
	case 1: {
		struct msg_certmgr_res m;

		if (msg_dec_certmgr_res(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_certmgr_res_free(&m);
		break;
	}
	case 2:
		msg_dec_ready(data + 1, size - 1, &pid, err, sizeof(err));
		if (msg_dec_fatal(data + 1, size - 1, &reason, err, sizeof(err)) == 0)
			free(reason);
		break;
	case 3: {
		struct msg_fix_res m;

		if (msg_dec_fix_res(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_fix_res_free(&m);
		if (msg_dec_rollback_res(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_fix_res_free(&m);
		break;
	}
	case 4: {
		struct msg_host_req m;
		struct msg_certmgr_req c;

		if (msg_dec_host_req(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_host_req_free(&m);
		if (msg_dec_certmgr_req(data + 1, size - 1, &c, err, sizeof(err)) == 0)
			msg_certmgr_req_free(&c);
		break;
	}
	case 5: {
		struct msg_fix_req m;

		if (msg_dec_fix_req(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_fix_req_free(&m);
		if (msg_dec_rollback_req(data + 1, size - 1, &m, err, sizeof(err)) == 0)
			msg_fix_req_free(&m);
		break;
	}
	default:
		fuzz_framer(data, size);
		break;
	}
	return 0;
}
