/*
 * test_smb2_conn.c — scanner/smb2.c's transport and smb2_io.c's commands against a played server: a session
 * already set up (struct smb2_conn from smb2_int.h, a key the test knows) on one end of a socketpair, the
 * server's responses written before each call so the client never blocks, its requests read back afterwards.
 * Checks: requests are signed and verify, MessageIds follow the credit charges; responses are taken in any
 * order, an interim STATUS_PENDING is skipped, a CLOSE held until the next request goes out and its response
 * arriving later is dropped; a tail larger than
 * MaxReadSize is read in pieces and put together; a request waits for credits when none are left; a bad or
 * missing signature, a share that requires encryption and a response to no request kill the connection
 * (smb2_stalled 0), EOF too (smb2_stalled 1), and every later call fails at once; smb2_read_tails_dir sends a
 * folder's CREATE with the files' and its QUERY_DIRECTORY pair with the READs.  The real server checks are
 * tests/integration/smb2_smbd.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "smb2.h"
#include "smb2_int.h"

static const uint8_t	 key[SMB2_KEY_LEN] = "0123456789abcdef";

/* A session on sv[0]; the test plays the server on sv[1]. */
static struct smb2_conn *
conn(int sv[2], uint16_t dialect)
{
	struct smb2_conn	*c = calloc(1, sizeof(*c));
	int			 big = 1 << 20;

	if (c == NULL || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	c->fd = sv[0];
	c->timeout_ms = 1000;
	c->dialect = dialect;
	c->large_mtu = dialect != 0x0202;
	c->max_read = c->max_trans = 65536;
	c->sid = 7;
	c->credits = 64;
	c->signing = 1;
	memcpy(c->key, key, sizeof(key));
	memcpy(c->server, "h", 2);
	return c;
}

/* Write one response: command cmd to mid with status, extra flags, body (blen bytes); signed when sign. */
static void
respond(int fd, uint16_t dialect, uint16_t cmd, uint64_t mid, uint32_t status, uint32_t flags, uint16_t credits,
    const uint8_t *body, size_t blen, int sign)
{
	uint8_t	*m = calloc(1, 4 + SMB2_HDR_LEN + blen);
	size_t	 n = SMB2_HDR_LEN + blen;

	m[1] = (uint8_t)(n >> 16);
	m[2] = (uint8_t)(n >> 8);
	m[3] = (uint8_t)n;
	memcpy(m + 4, "\xfeSMB", 4);
	le_put16(m + 8, SMB2_HDR_LEN);
	le_put32(m + 12, status);
	le_put16(m + 16, cmd);
	le_put16(m + 18, credits);
	le_put32(m + 20, SMB2_FLAGS_SERVER_TO_REDIR | flags);
	le_put64(m + 28, mid);
	le_put32(m + 40, 5);
	le_put64(m + 44, 7);
	memcpy(m + 4 + SMB2_HDR_LEN, body, blen);
	if (sign)
		smb2_sign(dialect, key, m + 4, n);
	CHECK(write(fd, m, 4 + n) == (ssize_t)(4 + n));
	free(m);
}

static void
create_resp(int fd, uint64_t mid, uint64_t size, uint8_t id)
{
	uint8_t	 b[88] = { 0 };

	le_put16(b, 89);
	le_put64(b + 48, size);
	memset(b + 64, id, 16);
	respond(fd, 0x0300, SMB2_CREATE, mid, 0, 0, 16, b, sizeof(b), 1);
}

static void
error_resp(int fd, uint16_t cmd, uint64_t mid, uint32_t status)
{
	uint8_t	 b[9] = { 9 };

	respond(fd, 0x0300, cmd, mid, status, 0, 16, b, sizeof(b), 1);
}

static void
read_resp(int fd, uint64_t mid, const uint8_t *data, size_t len)
{
	uint8_t	*b = calloc(1, 16 + len);

	le_put16(b, 17);
	b[2] = 80;
	le_put32(b + 4, (uint32_t)len);
	memcpy(b + 16, data, len);
	respond(fd, 0x0300, SMB2_READ, mid, 0, 0, 16, b, 16 + len, 1);
	free(b);
}

/* Read the client's next request on the server end: its command, mid, and whether it verifies; -1 when none. */
static int
request(int fd, uint16_t *cmd, uint64_t *mid, uint8_t *body, size_t bodymax)
{
	uint8_t	 nb[4], m[4096];
	size_t	 n;

	if (read(fd, nb, 4) != 4)
		return -1;
	n = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
	if (n > sizeof(m) || read(fd, m, n) != (ssize_t)n)
		return -1;
	*cmd = le_get16(m + 12);
	*mid = le_get64(m + 24);
	if (body != NULL)
		memcpy(body, m + SMB2_HDR_LEN, n - SMB2_HDR_LEN < bodymax ? n - SMB2_HDR_LEN : bodymax);
	return smb2_verify(0x0300, key, m, n) && le_get64(m + 40) == 7;
}

static void
test_flow(void)
{
	struct smb2_conn	*c;
	struct smb2_file	 f[2] = { { .path = "a/b.log" }, { .path = "none.log" } };
	struct smb2_fid		 fid;
	uint8_t			 tc[16] = { 16 }, big[300000], body[64];
	uint32_t		 tid = 0, st = 1;
	uint16_t		 cmd;
	uint64_t		 mid;
	char			 err[256];
	int			 sv[2], i;

	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (uint8_t)(i * 13 + (i >> 9));
	c = conn(sv, 0x0300);
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 0, 0, 0, 16, tc, sizeof(tc), 1);
	CHECK(smb2_tree_connect(c, "S", &tid, &st, err, sizeof(err)) == 0 && st == 0 && tid == 5);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_TREE_CONNECT && mid == 0);

	/* interim STATUS_PENDING (async, unsigned) then the final answer */
	respond(sv[1], 0x0300, SMB2_CREATE, 1, SMB2_ST_PENDING, SMB2_FLAGS_ASYNC_COMMAND, 1, tc, 9, 0);
	create_resp(sv[1], 1, 0, 0x11);
	CHECK(smb2_pipe_open(c, 5, "winreg", &fid, &st, err, sizeof(err)) == 0 && st == 0 && fid.b[0] == 0x11);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 1);

	/* a batch answered out of order; a 200000-byte tail read in 65536-byte pieces */
	error_resp(sv[1], SMB2_CREATE, 3, SMB2_ST_OBJECT_NAME_NOT_FOUND);
	create_resp(sv[1], 2, sizeof(big), 0x22);
	read_resp(sv[1], 7, big + 296608, 3392);
	read_resp(sv[1], 4, big + 100000, 65536);
	read_resp(sv[1], 6, big + 231072, 65536);
	read_resp(sv[1], 5, big + 165536, 65536);
	CHECK(smb2_read_tails(c, 5, f, 2, 200000, err, sizeof(err)) == 0);
	CHECK(f[0].status == 0 && f[0].size == sizeof(big) && f[0].len == 200000 && f[0].data != NULL &&
	    memcmp(f[0].data, big + 100000, 200000) == 0 && f[0].data[200000] == '\0');
	CHECK(f[1].status == SMB2_ST_OBJECT_NAME_NOT_FOUND && f[1].data == NULL);
	free(f[0].data);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 2);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 3);
	for (i = 0; i < 4; i++) {
		CHECK(request(sv[1], &cmd, &mid, body, sizeof(body)) == 1 && cmd == SMB2_READ && mid == 4u + i);
		CHECK(le_get64(body + 8) == 100000u + 65536u * i && le_get32(body + 4) == (i < 3 ? 65536 : 3392));
	}
	CHECK(c->olen > 0);	/* the CLOSE is held: it leaves with the next request, not on its own */

	/* the CLOSE goes out with the next request, its answer comes later and is dropped; then a bad signature
	 * kills the connection */
	respond(sv[1], 0x0300, SMB2_CLOSE, 8, 0, 0, 16, body, 60, 1);
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 9, 0, 0, 16, tc, sizeof(tc), 1);
	CHECK(smb2_tree_connect(c, "T", &tid, &st, err, sizeof(err)) == 0 && st == 0);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CLOSE && mid == 8);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_TREE_CONNECT && mid == 9);
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 10, 0, 0, 16, tc, sizeof(tc), 0);
	CHECK(smb2_tree_connect(c, "T", &tid, &st, err, sizeof(err)) == -1 && smb2_stalled(c) == 0);
	CHECK(strstr(err, "not signed") != NULL);
	CHECK(smb2_pipe_open(c, 5, "winreg", &fid, &st, err, sizeof(err)) == -1);
	smb2_close(c);
	close(sv[1]);
}

static void
test_failures(void)
{
	struct smb2_conn	*c;
	struct smb2_file	 f[2] = { { .path = "x" }, { .path = "y" } };
	struct smb2_fid		 fid = { { 0 } };
	uint8_t			 tc[16] = { 16 }, *out;
	size_t			 outlen;
	uint32_t		 tid, st;
	char			 err[256];
	int			 sv[2];

	c = conn(sv, 0x0210);					/* HMAC key, CMAC signature: refused */
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 0, 0, 0, 16, tc, sizeof(tc), 1);
	CHECK(smb2_tree_connect(c, "S", &tid, &st, err, sizeof(err)) == -1 && smb2_stalled(c) == 0);
	CHECK(strstr(err, "bad signature") != NULL);
	smb2_close(c);
	close(sv[1]);

	c = conn(sv, 0x0300);			/* BUFFER_OVERFLOW as an error response: status, no data */
	error_resp(sv[1], SMB2_IOCTL, 0, SMB2_ST_BUFFER_OVERFLOW);
	error_resp(sv[1], SMB2_READ, 1, SMB2_ST_BUFFER_OVERFLOW);
	CHECK(smb2_pipe_transceive(c, 5, &fid, tc, 4, 100, &out, &outlen, &st, err, sizeof(err)) == 0 &&
	    st == SMB2_ST_BUFFER_OVERFLOW && out == NULL && outlen == 0);
	CHECK(smb2_pipe_read(c, 5, &fid, 100, &out, &outlen, &st, err, sizeof(err)) == 0 &&
	    st == SMB2_ST_BUFFER_OVERFLOW && outlen == 0);
	free(out);
	smb2_close(c);
	close(sv[1]);

	c = conn(sv, 0x0300);					/* SMB2_SHAREFLAG_ENCRYPT_DATA */
	tc[5] = 0x80;
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 0, 0, 0, 16, tc, sizeof(tc), 1);
	tc[5] = 0;
	CHECK(smb2_tree_connect(c, "S", &tid, &st, err, sizeof(err)) == -1 && smb2_stalled(c) == 0);
	CHECK(strcmp(err, "server requires encryption") == 0);
	smb2_close(c);
	close(sv[1]);

	c = conn(sv, 0x0300);					/* an answer to no request */
	respond(sv[1], 0x0300, SMB2_TREE_CONNECT, 5, 0, 0, 16, tc, sizeof(tc), 1);
	CHECK(smb2_tree_connect(c, "S", &tid, &st, err, sizeof(err)) == -1 && smb2_stalled(c) == 0);
	smb2_close(c);
	close(sv[1]);

	c = conn(sv, 0x0300);					/* EOF: a reset, stalled */
	shutdown(sv[1], SHUT_WR);
	CHECK(smb2_pipe_open(c, 5, "winreg", &fid, &st, err, sizeof(err)) == -1 && smb2_stalled(c) == 1);
	smb2_close(c);
	close(sv[1]);

	c = conn(sv, 0x0300);			/* one credit: the second CREATE waits for the first */
	c->credits = 1;
	create_resp(sv[1], 0, 0, 1);
	create_resp(sv[1], 1, 0, 2);
	CHECK(smb2_read_tails(c, 5, f, 2, 100, err, sizeof(err)) == 0 && f[0].status == 0 && f[1].status == 0 &&
	    f[0].len == 0 && f[1].len == 0);
	free(f[0].data);
	free(f[1].data);
	c->credits = 0;						/* nothing in flight and no credit: an error */
	memset(c->pend, 0, sizeof(c->pend));			/* (the CLOSEs' answers never come) */
	CHECK(smb2_pipe_open(c, 5, "winreg", &fid, &st, err, sizeof(err)) == -1 && strstr(err, "credits") != NULL);
	smb2_close(c);
	close(sv[1]);
}

/* A QUERY_DIRECTORY answer to mid holding FileNamesInformation entries for the names (ASCII). */
static void
names_resp(int fd, uint64_t mid, const char *const *names, size_t n)
{
	uint8_t	 b[512] = { 0 };
	size_t	 off = 8, i, k, len;

	le_put16(b, 9);
	le_put16(b + 2, SMB2_HDR_LEN + 8);
	for (i = 0; i < n; i++) {
		len = strlen(names[i]);
		le_put32(b + off + 8, (uint32_t)(2 * len));
		for (k = 0; k < len; k++)
			b[off + 12 + 2 * k] = (uint8_t)names[i][k];
		k = (12 + 2 * len + 7) & ~(size_t)7;
		if (i + 1 < n)
			le_put32(b + off, (uint32_t)k);
		off += i + 1 < n ? k : 12 + 2 * len;
	}
	le_put32(b + 4, (uint32_t)(off - 8));
	respond(fd, 0x0300, SMB2_QUERY_DIRECTORY, mid, 0, 0, 16, b, off, 1);
}

static int
count_name(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
	return 0;
}

/*
 * smb2_read_tails_dir: the folder's CREATE leaves with the files' CREATEs, its two QUERY_DIRECTORYs with the
 * READs (two flights for the tails and the listing together), and its CLOSE is held like the files'.
 */
static void
test_tails_dir(void)
{
	static const char *const names[2] = { "SMSPXE-20260101-000000.log", "SMSPXE-20260102-000000.lo_" };
	struct smb2_conn	*c;
	struct smb2_file	 f[2] = { { .path = "d/SMSPXE.log" }, { .path = "d/SMSPXE.lo_" } };
	int			 seen = 0, sv[2];
	struct smb2_dirlist	 dl = { "d", "SMSPXE-*", 100, count_name, &seen, 0, 0 };
	uint8_t			 b9[9] = { 9 };
	uint16_t		 cmd;
	uint64_t		 mid;
	char			 err[256];

	c = conn(sv, 0x0300);
	create_resp(sv[1], 0, 0, 0x33);				/* the folder */
	create_resp(sv[1], 1, 5, 0x44);				/* SMSPXE.log, 5 bytes */
	error_resp(sv[1], SMB2_CREATE, 2, SMB2_ST_OBJECT_NAME_NOT_FOUND);
	names_resp(sv[1], 3, names, 2);
	respond(sv[1], 0x0300, SMB2_QUERY_DIRECTORY, 4, SMB2_ST_NO_MORE_FILES, 0, 16, b9, sizeof(b9), 1);
	read_resp(sv[1], 5, (const uint8_t *)"hello", 5);
	CHECK(smb2_read_tails_dir(c, 5, f, 2, 100, &dl, err, sizeof(err)) == 0);
	CHECK(f[0].status == 0 && f[0].len == 5 && memcmp(f[0].data, "hello", 5) == 0);
	CHECK(f[1].status == SMB2_ST_OBJECT_NAME_NOT_FOUND && f[1].data == NULL);
	CHECK(dl.listed == 1 && dl.status == 0 && seen == 2);
	free(f[0].data);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 0);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 1);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_CREATE && mid == 2);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_QUERY_DIRECTORY && mid == 3);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_QUERY_DIRECTORY && mid == 4);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && cmd == SMB2_READ && mid == 5);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == -1);	/* the CLOSEs are held */
	CHECK(c->olen > 0);
	smb2_close(c);
	close(sv[1]);

	/* no file opened: no READ flight to ride, so the folder is not listed (and no QUERY_DIRECTORY sent) */
	c = conn(sv, 0x0300);
	seen = 0;
	create_resp(sv[1], 0, 0, 0x33);
	error_resp(sv[1], SMB2_CREATE, 1, SMB2_ST_OBJECT_NAME_NOT_FOUND);
	error_resp(sv[1], SMB2_CREATE, 2, SMB2_ST_OBJECT_NAME_NOT_FOUND);
	CHECK(smb2_read_tails_dir(c, 5, f, 2, 100, &dl, err, sizeof(err)) == 0 && dl.listed == 0 && seen == 0);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && mid == 0);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && mid == 1);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == 1 && mid == 2);
	CHECK(request(sv[1], &cmd, &mid, NULL, 0) == -1);
	smb2_close(c);
	close(sv[1]);
}

int
main(void)
{
	test_flow();
	test_tails_dir();
	test_failures();
	return check_done("smb2_conn");
}
