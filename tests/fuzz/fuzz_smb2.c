/*
 * fuzz_smb2.c — libFuzzer target for scanner/smb2.c, smb2_io.c and smb2_sign.c: what an SMB2 server sends.
 * The first input byte picks what to exercise:
 *   0     smb2_parse_negotiate on the rest (a NEGOTIATE response, header included);
 *   1     smb2_parse_names on the rest (a QUERY_DIRECTORY FileNamesInformation buffer);
 *   2..   a session already set up (dialect from the byte: 2.0.2, 2.1, 3.0, 3.0.2 or 3.1.1; signing on when
 *         bit 3 is set, with a key the harness knows) whose responses are the rest of the input as [u16
 *         length][bytes] chunks, written into a socketpair before the client runs; each chunk gets a valid
 *         ProtocolId, StructureSize and SERVER_TO_REDIR flag, and a valid signature when signing is on, so the
 *         fuzzer reaches the bodies.  Then TREE_CONNECT, a read_tails batch of three files, a listing, a pipe
 *         open, a transceive and a pipe read, each until the connection dies (the end of the input is EOF;
 *         the requests the client writes stay unread in the socketpair, sized for them).
 * Every path must return cleanly: crashes, leaks, hangs and sanitizer reports are the findings.  smbauth.h and
 * rpc_classify are stubbed: the session setup needs a real server (tests/integration/smb2_smbd).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smb2.h"
#include "smb2_int.h"
#include "smbauth.h"

/* Stubs: smb2_connect is not reached from here. */
int
smbauth_start(struct smbauth **out, const struct cred *cr, const char *fqdn, uint8_t **tok, size_t *toklen,
    char *err, size_t errlen, enum rpc_fail *why)
{
	(void)out, (void)cr, (void)fqdn, (void)tok, (void)toklen, (void)err, (void)errlen;
	*why = RPC_FAIL_OTHER;
	return -1;
}

int
smbauth_step(struct smbauth *a, const uint8_t *in, size_t inlen, int done, uint8_t **tok, size_t *toklen,
    char *err, size_t errlen, enum rpc_fail *why)
{
	(void)a, (void)in, (void)inlen, (void)done, (void)tok, (void)toklen, (void)err, (void)errlen;
	*why = RPC_FAIL_OTHER;
	return -1;
}

int
smbauth_session_key(const struct smbauth *a, uint8_t k[SMBAUTH_KEY_MAX], size_t *keylen)
{
	(void)a, (void)k, (void)keylen;
	return -1;
}

const char *
smbauth_mech(const struct smbauth *a)
{
	(void)a;
	return "ntlm";
}

void
smbauth_free(struct smbauth *a)
{
	(void)a;
}

enum rpc_fail
rpc_classify(uint32_t ntstatus, enum rpc_phase phase)
{
	(void)ntstatus, (void)phase;
	return RPC_FAIL_OTHER;
}

static const uint16_t	 dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };
static const uint8_t	 key[SMB2_KEY_LEN] = "0123456789abcdef";

static int
name_cb(const char *name, void *arg)
{
	(void)name;
	return ++*(int *)arg > 50;
}

/* Write the chunks of p into fd, framed, fixed up and signed as the module comment says. */
static void
feed(int fd, const uint8_t *p, size_t n, uint16_t dialect, int sign)
{
	uint8_t	 m[4 + 65536];
	size_t	 len, take;

	while (n >= 2) {
		len = p[0] | (size_t)p[1] << 8;
		take = len > n - 2 ? n - 2 : len;
		len = take < SMB2_HDR_LEN ? SMB2_HDR_LEN : take;
		memset(m, 0, 4 + len);
		memcpy(m + 4, p + 2, take);
		p += 2 + take;
		n -= 2 + take;
		m[1] = (uint8_t)(len >> 16);
		m[2] = (uint8_t)(len >> 8);
		m[3] = (uint8_t)len;
		memcpy(m + 4, "\xfeSMB", 4);
		le_put16(m + 8, SMB2_HDR_LEN);
		m[4 + 16] |= SMB2_FLAGS_SERVER_TO_REDIR;
		if (sign)
			smb2_sign(dialect, key, m + 4, len);
		if (write(fd, m, 4 + len) != (ssize_t)(4 + len))
			break;
	}
	shutdown(fd, SHUT_WR);
}

static void
session(const uint8_t *p, size_t n, uint8_t sel)
{
	struct smb2_conn	*c;
	struct smb2_file	 f[3] = { { .path = "a.log" }, { .path = "b/c.log" }, { .path = "d" } };
	struct smb2_fid		 fid = { { 0 } };
	uint8_t			*out;
	size_t			 outlen, i;
	uint32_t		 tid = 0, st;
	char			 err[256];
	int			 sv[2], names = 0, big = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1 || (c = calloc(1, sizeof(*c))) == NULL)
		abort();
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	c->fd = sv[0];
	c->dialect = dialects[sel % 5];
	c->large_mtu = c->dialect != 0x0202;
	c->max_read = c->max_trans = 65536;
	c->sid = 1;
	c->credits = 64;
	c->signing = (sel & 8) != 0;
	memcpy(c->key, key, sizeof(key));
	memcpy(c->server, "h", 2);
	feed(sv[1], p, n, c->dialect, c->signing);
	smb2_tree_connect(c, "S", &tid, &st, err, sizeof(err));
	smb2_read_tails(c, tid, f, 3, 100000, err, sizeof(err));
	for (i = 0; i < 3; i++)
		free(f[i].data);
	smb2_list(c, tid, "x", "*", 100, name_cb, &names, &st, err, sizeof(err));
	if (smb2_pipe_open(c, tid, "winreg", &fid, &st, err, sizeof(err)) == 0 &&
	    smb2_pipe_transceive(c, tid, &fid, (const uint8_t *)"bind", 4, 4280, &out, &outlen, &st, err,
	    sizeof(err)) == 0)
		free(out);
	if (smb2_pipe_read(c, tid, &fid, 4280, &out, &outlen, &st, err, sizeof(err)) == 0)
		free(out);
	smb2_close(c);
	close(sv[1]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smb2_negotiated	 ng;
	char			 err[256];
	int			 stop, names = 0;

	if (size < 1)
		return 0;
	if (data[0] == 0)
		smb2_parse_negotiate(data + 1, size - 1, &ng, err, sizeof(err));
	else if (data[0] == 1)
		smb2_parse_names(data + 1, size - 1, name_cb, &names, &stop, err, sizeof(err));
	else
		session(data + 1, size - 1, data[0]);
	return 0;
}
