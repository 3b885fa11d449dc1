/*
 * fuzz_tds.c — libFuzzer target for the dpfleet-tdsd fixture's client-message decoders (tests/tdsd/tds.c)
 * and its T-SQL rewriter (tests/tdsd/tsql_rewrite.c).  The input is used twice: as one raw message payload
 * handed to every decoder (PRELOGIN, LOGIN7, SQLBatch for TDS 7.1 and 7.4), and as a byte stream split into
 * packets and reassembled the way tdsd.c does (header checks, type consistency, 1 MiB message cap), each
 * message then decoded by its type.  Decoded SQL goes through tsql_rewrite().  An integrated LOGIN7's SSPI
 * token goes to the NTLM NEGOTIATE parser, an SSPI message (and the raw input) to the AUTHENTICATE parser and
 * the NTLMv2 verifier (tests/tdsd/ntlm.c).  Built only with -Dfuzz=true.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ntlm.h"
#include "tds.h"
#include "tsql_rewrite.h"

#define FUZZ_MSG_MAX	(1024 * 1024)

static void
decode(uint8_t type, const uint8_t *p, size_t n, uint32_t ver)
{
	struct tds_prelogin	 pl;
	struct tds_login7	 l;
	struct ntlm_authenticate a;
	uint32_t		 flags;
	uint8_t			 key[NTLM_KEY_LEN];
	char			*sql = NULL, *out = NULL, err[256];
	size_t			 len;

	switch (type) {
	case TDS_PKT_PRELOGIN:
		tds_prelogin_parse(p, n, &pl, err, sizeof(err));
		break;
	case TDS_PKT_LOGIN7:
		if (tds_login7_parse(p, n, &l, err, sizeof(err)) == 0 && l.integrated)
			ntlm_negotiate_parse(p + l.sspi_off, l.sspi_len, &flags, err, sizeof(err));
		tds_login7_clear(&l);
		break;
	case TDS_PKT_SSPI:
		if (ntlm_authenticate_parse(p, n, &a, err, sizeof(err)) == 0 &&
		    ntlm_ntowfv2("Password", a.user, a.domain, key, err, sizeof(err)) == 0)
			ntlm_v2_verify(key, key, a.nt, a.ntlen, err, sizeof(err));
		break;
	case TDS_PKT_SQLBATCH:
		if (tds_sqlbatch_parse(p, n, ver, &sql, &len, err, sizeof(err)) == 0) {
			if (strlen(sql) != len)	/* NUL is decoded as U+FFFD */
				abort();
			if (tsql_rewrite(sql, &out, err, sizeof(err)) == 0)
				free(out);
			free(sql);
		}
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t		 msg[FUZZ_MSG_MAX];
	struct tds_header	 h;
	char			 err[256], *copy;
	size_t			 off = 0, msglen = 0, n;
	uint8_t			 type = 0;
	int			 first = 1;

	/* 1. The whole input as one payload, to every decoder. */
	decode(TDS_PKT_PRELOGIN, data, size, TDS_V74);
	decode(TDS_PKT_LOGIN7, data, size, TDS_V74);
	decode(TDS_PKT_SQLBATCH, data, size, TDS_V74);
	decode(TDS_PKT_SSPI, data, size, TDS_V74);
	decode(TDS_PKT_SQLBATCH, data, size, TDS_V71);

	/* 2. The input as text, to the rewriter. */
	if ((copy = malloc(size + 1)) != NULL) {
		char *out = NULL;

		memcpy(copy, data, size);
		copy[size] = '\0';
		if (tsql_rewrite(copy, &out, err, sizeof(err)) == 0)
			free(out);
		free(copy);
	}

	/* 3. The input as a packet stream, reassembled like tdsd.c. */
	while (size - off >= TDS_HEADER_LEN) {
		if (tds_header_parse(data + off, &h, err, sizeof(err)) == -1)
			break;
		if (h.length > size - off)
			break;
		if (first)
			type = h.type;
		else if (h.type != type)
			break;
		first = 0;
		n = h.length - TDS_HEADER_LEN;
		if (n > FUZZ_MSG_MAX - msglen)
			break;
		memcpy(msg + msglen, data + off + TDS_HEADER_LEN, n);
		msglen += n;
		off += h.length;
		if (h.status & TDS_STATUS_EOM) {
			decode(type, msg, msglen, TDS_V74);
			msglen = 0;
			first = 1;
		}
	}
	return 0;
}
