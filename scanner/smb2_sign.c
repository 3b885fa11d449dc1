/*
 * smb2_sign.c — the pure half of smb2.c (smb2_int.h): header and body checks of server messages, signing keys
 * (SP800-108 counter-mode KDF with HMAC-SHA256, MS-SMB2 3.1.4.2), message signatures (HMAC-SHA256 for 2.0.2
 * and 2.1, AES-128-CMAC for 3.x: MS-SMB2 3.1.4.1; no signing-capabilities context is offered, so 3.1.1 signs
 * with AES-CMAC too), the 3.1.1 preauthentication hash (SHA-512, MS-SMB2 3.2.5.2) and the NEGOTIATE and
 * FileNamesInformation parsers.  Called by smb2.c and smb2_io.c; linked alone by tests/unit/test_smb2_sign.c
 * and the fuzz target.  Crypto is nettle's.  No sockets, no global state.
 */
#include <stdlib.h>
#include <string.h>

#include <nettle/cmac.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>

#include "smb2.h"
#include "smb2_int.h"
#include "utf.h"
#include "util.h"

int
smb2_hdr_parse(const uint8_t *msg, size_t n, struct smb2_hdr *h, char *err, size_t errlen)
{
	if (n < SMB2_HDR_LEN)
		return util_err(err, errlen, "SMB2 message of %zu bytes: shorter than its header", n);
	if (memcmp(msg, "\xfeSMB", 4) != 0)
		return util_err(err, errlen, "not an SMB2 message (ProtocolId %02x%02x%02x%02x)", msg[0], msg[1],
		    msg[2], msg[3]);
	if (le_get16(msg + 4) != SMB2_HDR_LEN)
		return util_err(err, errlen, "SMB2 header StructureSize %u", le_get16(msg + 4));
	h->credit_charge = le_get16(msg + 6);
	h->status = le_get32(msg + 8);
	h->command = le_get16(msg + 12);
	h->credits = le_get16(msg + 14);
	h->flags = le_get32(msg + 16);
	h->next = le_get32(msg + 20);
	h->mid = le_get64(msg + 24);
	h->tid = (h->flags & SMB2_FLAGS_ASYNC_COMMAND) ? 0 : le_get32(msg + 36);
	h->sid = le_get64(msg + 40);
	if (!(h->flags & SMB2_FLAGS_SERVER_TO_REDIR))
		return util_err(err, errlen, "SMB2 message from the server without SERVER_TO_REDIR");
	return 0;
}

const uint8_t *
smb2_body(const uint8_t *msg, size_t n, uint16_t want, char *err, size_t errlen)
{
	uint32_t	 status;
	uint16_t	 ss;

	if (n < SMB2_HDR_LEN + 2u) {
		util_err(err, errlen, "SMB2 response without a body");
		return NULL;
	}
	status = le_get32(msg + 8);
	ss = le_get16(msg + SMB2_HDR_LEN);
	/* An error response (MS-SMB2 2.2.2) for an error status; warnings (0x8...) may carry the normal body. */
	if (ss == 9 && ss != want && (status >> 30) != 0 && n >= SMB2_HDR_LEN + 8u)
		return msg + SMB2_HDR_LEN;
	if (ss != want) {
		util_err(err, errlen, "SMB2 response (command %u) StructureSize %u, expected %u", le_get16(msg + 12),
		    ss, want);
		return NULL;
	}
	if (n < SMB2_HDR_LEN + (size_t)(want & ~1u)) {
		util_err(err, errlen, "SMB2 response body truncated (%zu bytes)", n - SMB2_HDR_LEN);
		return NULL;
	}
	return msg + SMB2_HDR_LEN;
}

int
smb2_range(const uint8_t *msg, size_t n, uint32_t off, uint32_t len, const uint8_t **p, char *err,
    size_t errlen)
{
	*p = NULL;
	if (len == 0)
		return 0;
	if (off < SMB2_HDR_LEN || off > n || len > n - off)
		return util_err(err, errlen, "SMB2 buffer [%u, +%u) outside the %zu-byte message", off, len, n);
	*p = msg + off;
	return 0;
}

void
smb2_kdf(const uint8_t ki[SMB2_KEY_LEN], const uint8_t *label, size_t labellen, const uint8_t *ctx,
    size_t ctxlen, uint8_t out[SMB2_KEY_LEN])
{
	struct hmac_sha256_ctx	 h;
	static const uint8_t	 one[4] = { 0, 0, 0, 1 }, zero = 0, bits[4] = { 0, 0, 0, 128 };

	hmac_sha256_set_key(&h, SMB2_KEY_LEN, ki);
	hmac_sha256_update(&h, sizeof(one), one);
	hmac_sha256_update(&h, labellen, label);
	hmac_sha256_update(&h, 1, &zero);
	hmac_sha256_update(&h, ctxlen, ctx);
	hmac_sha256_update(&h, sizeof(bits), bits);
	hmac_sha256_digest(&h, SMB2_KEY_LEN, out);
	explicit_bzero(&h, sizeof(h));
}

void
smb2_signing_key(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], const uint8_t preauth[SMB2_PREAUTH_LEN],
    uint8_t out[SMB2_KEY_LEN])
{
	static const uint8_t	 l30[] = "SMB2AESCMAC", c30[] = "SmbSign", l311[] = "SMBSigningKey";

	if (dialect < 0x0300)
		memcpy(out, key, SMB2_KEY_LEN);
	else if (dialect < 0x0311)
		smb2_kdf(key, l30, sizeof(l30), c30, sizeof(c30), out);	/* sizeof: the NUL is part of them */
	else
		smb2_kdf(key, l311, sizeof(l311), preauth, SMB2_PREAUTH_LEN, out);
}

void
smb2_signature(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], const uint8_t *msg, size_t n,
    uint8_t sig[SMB2_SIG_LEN])
{
	static const uint8_t	 zero[SMB2_SIG_LEN];

	if (dialect < 0x0300) {
		struct hmac_sha256_ctx	 h;

		hmac_sha256_set_key(&h, SMB2_KEY_LEN, key);
		hmac_sha256_update(&h, SMB2_SIG_OFF, msg);
		hmac_sha256_update(&h, SMB2_SIG_LEN, zero);
		hmac_sha256_update(&h, n - SMB2_SIG_OFF - SMB2_SIG_LEN, msg + SMB2_SIG_OFF + SMB2_SIG_LEN);
		hmac_sha256_digest(&h, SMB2_SIG_LEN, sig);
		explicit_bzero(&h, sizeof(h));
	} else {
		struct cmac_aes128_ctx	 m;

		cmac_aes128_set_key(&m, key);
		cmac_aes128_update(&m, SMB2_SIG_OFF, msg);
		cmac_aes128_update(&m, SMB2_SIG_LEN, zero);
		cmac_aes128_update(&m, n - SMB2_SIG_OFF - SMB2_SIG_LEN, msg + SMB2_SIG_OFF + SMB2_SIG_LEN);
		cmac_aes128_digest(&m, SMB2_SIG_LEN, sig);
		explicit_bzero(&m, sizeof(m));
	}
}

void
smb2_sign(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], uint8_t *msg, size_t n)
{
	le_put32(msg + 16, le_get32(msg + 16) | SMB2_FLAGS_SIGNED);
	smb2_signature(dialect, key, msg, n, msg + SMB2_SIG_OFF);
}

int
smb2_verify(uint16_t dialect, const uint8_t key[SMB2_KEY_LEN], const uint8_t *msg, size_t n)
{
	uint8_t	 sig[SMB2_SIG_LEN];

	if (n < SMB2_HDR_LEN || !(le_get32(msg + 16) & SMB2_FLAGS_SIGNED))
		return 0;
	smb2_signature(dialect, key, msg, n, sig);
	return memeql_sec(sig, msg + SMB2_SIG_OFF, SMB2_SIG_LEN) ? 1 : 0;
}

void
smb2_preauth_update(uint8_t h[SMB2_PREAUTH_LEN], const uint8_t *msg, size_t n)
{
	struct sha512_ctx	 s;

	sha512_init(&s);
	sha512_update(&s, SMB2_PREAUTH_LEN, h);
	sha512_update(&s, n, msg);
	sha512_digest(&s, SMB2_PREAUTH_LEN, h);
}

/* The negotiate contexts of a 3.1.1 response (MS-SMB2 2.2.4, 2.2.3.1): note a PREAUTH context with SHA-512. */
static int
parse_contexts(const uint8_t *msg, size_t n, uint32_t off, uint16_t count, struct smb2_negotiated *ng, char *err,
    size_t errlen)
{
	uint16_t	 i, type, len;

	for (i = 0; i < count; i++) {
		off = (off + 7u) & ~7u;
		if (off < SMB2_HDR_LEN || off > n || n - off < 8)
			return util_err(err, errlen, "negotiate context %u outside the response", i);
		type = le_get16(msg + off);
		len = le_get16(msg + off + 2);
		if (len > n - off - 8)
			return util_err(err, errlen, "negotiate context %u (type %u) truncated", i, type);
		if (type == 1) {	/* SMB2_PREAUTH_INTEGRITY_CAPABILITIES: one algorithm chosen */
			if (len < 6 || le_get16(msg + off + 8) != 1 || le_get16(msg + off + 12) != 1)
				return util_err(err, errlen, "preauth integrity context without SHA-512");
			ng->preauth_sha512 = 1;
		} else if (type == 2) {	/* ENCRYPTION_CAPABILITIES: never offered */
			return util_err(err, errlen, "server answered with an encryption context not offered");
		}
		off += 8u + len;
	}
	return 0;
}

int
smb2_parse_negotiate(const uint8_t *msg, size_t n, struct smb2_negotiated *ng, char *err, size_t errlen)
{
	const uint8_t	*b;
	uint16_t	 ctxcount;

	memset(ng, 0, sizeof(*ng));
	if ((b = smb2_body(msg, n, 65, err, errlen)) == NULL)
		return -1;
	if (le_get32(msg + 8) != SMB2_ST_OK)
		return util_err(err, errlen, "NEGOTIATE failed: status 0x%08x", le_get32(msg + 8));
	ng->security_mode = le_get16(b + 2);
	ng->dialect = le_get16(b + 4);
	ctxcount = le_get16(b + 6);
	ng->capabilities = le_get32(b + 24);
	ng->max_transact = le_get32(b + 28);
	ng->max_read = le_get32(b + 32);
	ng->max_write = le_get32(b + 36);
	if (smb2_range(msg, n, le_get16(b + 56), le_get16(b + 58), &ng->token, err, errlen) == -1)
		return -1;
	ng->toklen = le_get16(b + 58);
	if (ng->dialect != 0x0311)
		return 0;
	if (parse_contexts(msg, n, le_get32(b + 60), ctxcount, ng, err, errlen) == -1)
		return -1;
	if (!ng->preauth_sha512)
		return util_err(err, errlen, "3.1.1 NEGOTIATE response without a preauth integrity context");
	return 0;
}

long
smb2_parse_names(const uint8_t *buf, size_t n, int (*cb)(const char *name, void *arg), void *arg, int *stop,
    char *err, size_t errlen)
{
	size_t		 off = 0, len;
	uint32_t	 next, nl;
	long		 count = 0;
	char		*name;

	*stop = 0;
	while (n > 0) {
		if (n - off < 12 || off > n)
			return util_err(err, errlen, "FileNamesInformation entry truncated at %zu", off);
		next = le_get32(buf + off);
		nl = le_get32(buf + off + 8);
		if (nl > n - off - 12 || (nl & 1) || (next != 0 && (next < 12 + nl || next > n - off)))
			return util_err(err, errlen, "FileNamesInformation entry at %zu malformed", off);
		if ((name = utf16le_to_utf8(buf + off + 12, nl / 2, UTF_LENIENT, &len, err, errlen)) == NULL)
			return -1;
		if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0 && len == strlen(name)) {
			count++;
			if (cb(name, arg) != 0) {
				*stop = 1;
				free(name);
				return count;
			}
		}
		free(name);
		if (next == 0)
			break;
		off += next;
	}
	return count;
}

uint16_t
smb2_charge(size_t len)
{
	return len == 0 ? 1 : (uint16_t)(1 + (len - 1) / 65536);
}

uint8_t *
smb2_msg_new(size_t body, char *err, size_t errlen)
{
	uint8_t	*m;

	if ((m = calloc(1, SMB2_HDR_LEN + body)) == NULL)
		util_err(err, errlen, "out of memory");
	return m;
}

uint8_t *
smb2_utf16(const char *s, int path, size_t *n, char *err, size_t errlen)
{
	uint16_t	*u;
	uint8_t		*out;
	long		 m, i, j = 0;

	if (path)
		while (*s == '/' || *s == '\\')
			s++;
	if ((m = utf8_to_utf16(s, NULL, 32767)) < 0) {
		util_err(err, errlen, "name is not valid UTF-8 or too long");
		return NULL;
	}
	u = calloc((size_t)m + 1, sizeof(*u));
	out = calloc((size_t)m + 1, 2);
	if (u == NULL || out == NULL) {
		free(u);
		free(out);
		util_err(err, errlen, "out of memory");
		return NULL;
	}
	utf8_to_utf16(s, u, (size_t)m);
	for (i = 0; i < m; i++) {
		if (path && u[i] == '/')
			u[i] = '\\';
		le_put16(out + 2 * j++, u[i]);
	}
	free(u);
	*n = 2 * (size_t)j;
	return out;
}
