/*
 * smb2_smbd_test.c — a small driver of scanner/smb2.c (+ smbauth.c) for smb2_smbd_test.py against a real smbd.
 * One connection per run (smb2_connect as USER of domain LAB, auth ntlm, password from SMB2_TEST_PASSWORD,
 * timeout SMB2_TEST_TIMEOUT seconds, default 5), then the operations of argv in order on it:
 *
 *   tree:SHARE                 TREE_CONNECT; later operations use its tree     → tree_SHARE=0xSTATUS
 *   tails:TAIL:P1,P2,...       smb2_read_tails of the paths                     → fK=0xSTATUS:SIZE:LEN:SHA256
 *   list:DIR:PATTERN:MAX       smb2_list                                        → list=0xSTATUS:n1/n2/...
 *   bind:PIPE                  CREATE of the pipe, one FSCTL_PIPE_TRANSCEIVE of a DCE/RPC bind to winreg v1.0
 *                                                                               → bind=0xSTATUS:PTYPE:LEN
 *
 * Prints key=value tokens on one line: first status=ok dialect=0xNNNN mech=M, or status=<reason> phase=<p>
 * unsupported=<0|1> (reason: a lib/reason.h word); an operation that breaks the connection prints
 * error=<op> stalled=<0|1>.  Exit 0 when everything ran, 1 on a failure, 2 on usage errors.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "rpc.h"
#include "smb2.h"
#include "util.h"

/* DCE/RPC bind (C706 12.6.4.3): call 1, winreg 338cd001-2244-31f1-aaaa-900038001003 v1.0 over NDR v2. */
static const uint8_t bind_pdu[72] = {
	0x05, 0x00, 0x0b, 0x03, 0x10, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xb8, 0x10, 0xb8, 0x10, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
	0x01, 0xd0, 0x8c, 0x33, 0x44, 0x22, 0xf1, 0x31, 0xaa, 0xaa, 0x90, 0x00, 0x38, 0x00, 0x10, 0x03,
	0x01, 0x00, 0x00, 0x00, 0x04, 0x5d, 0x88, 0x8a, 0xeb, 0x1c, 0xc9, 0x11, 0x9f, 0xe8, 0x08, 0x00,
	0x2b, 0x10, 0x48, 0x60, 0x02, 0x00, 0x00, 0x00,
};

struct names {
	char	 buf[4096];
};

static int
add_name(const char *name, void *arg)
{
	struct names	*n = arg;
	size_t		 l = strlen(n->buf);

	snprintf(n->buf + l, sizeof(n->buf) - l, "%s%s", l ? "/" : "", name);
	return 0;
}

static int
op_tails(struct smb2_conn *c, uint32_t tid, char *spec, char *err, size_t errlen)
{
	struct smb2_file	 f[SMB2_BATCH_MAX];
	char			*tail = strtok(spec, ":"), *paths = strtok(NULL, ""), *p, hex[UTIL_SHA256_HEX];
	size_t			 n = 0, i;
	int			 r;

	if (tail == NULL || paths == NULL)
		return util_err(err, errlen, "tails:TAIL:PATHS");
	memset(f, 0, sizeof(f));
	for (p = strtok(paths, ","); p != NULL && n < SMB2_BATCH_MAX; p = strtok(NULL, ","))
		f[n++].path = p;
	r = smb2_read_tails(c, tid, f, n, strtoul(tail, NULL, 10), err, errlen);
	for (i = 0; i < n; i++) {
		if (f[i].data != NULL)
			util_sha256_hex(f[i].data, f[i].len, hex);
		printf(" f%zu=0x%08x:%llu:%zu:%s", i, f[i].status, (unsigned long long)f[i].size, f[i].len,
		    f[i].data != NULL ? hex : "-");
		if (f[i].data != NULL && f[i].data[f[i].len] != '\0')
			printf(" f%zu_unterminated=1", i);
		free(f[i].data);
	}
	return r;
}

static int
op_bind(struct smb2_conn *c, uint32_t tid, const char *pipe, char *err, size_t errlen)
{
	struct smb2_fid	 fid;
	uint32_t	 st;
	uint8_t		*out = NULL;
	size_t		 outlen = 0;

	if (smb2_pipe_open(c, tid, pipe, &fid, &st, err, errlen) == -1)
		return -1;
	if (st != SMB2_ST_OK) {
		printf(" bind=0x%08x:-:0", st);
		return 0;
	}
	if (smb2_pipe_transceive(c, tid, &fid, bind_pdu, sizeof(bind_pdu), 4280, &out, &outlen, &st, err,
	    errlen) == -1)
		return -1;
	printf(" bind=0x%08x:%d:%zu", st, outlen > 2 ? out[2] : -1, outlen);
	free(out);
	return 0;
}

static int
run_op(struct smb2_conn *c, uint32_t *tid, char *op, char *err, size_t errlen)
{
	struct names	 nm;
	uint32_t	 st;
	char		*dir, *pat, *max;

	if (strncmp(op, "tree:", 5) == 0) {
		if (smb2_tree_connect(c, op + 5, tid, &st, err, errlen) == -1)
			return -1;
		printf(" tree_%s=0x%08x", op + 5, st);
		return 0;
	}
	if (strncmp(op, "tails:", 6) == 0)
		return op_tails(c, *tid, op + 6, err, errlen);
	if (strncmp(op, "bind:", 5) == 0)
		return op_bind(c, *tid, op + 5, err, errlen);
	if (strncmp(op, "list:", 5) == 0) {
		dir = strtok(op + 5, ":");
		pat = strtok(NULL, ":");
		max = strtok(NULL, ":");
		if (dir == NULL || pat == NULL || max == NULL)
			return util_err(err, errlen, "list:DIR:PATTERN:MAX");
		nm.buf[0] = '\0';
		if (smb2_list(c, *tid, strcmp(dir, ".") == 0 ? "" : dir, pat, strtoul(max, NULL, 10), add_name, &nm,
		    &st, err, errlen) == -1)
			return -1;
		printf(" list=0x%08x:%s", st, nm.buf[0] ? nm.buf : "-");
		return 0;
	}
	return util_err(err, errlen, "unknown operation %s", op);
}

int
main(int argc, char **argv)
{
	struct smb2_conn	*c;
	struct cred		 cr;
	enum rpc_fail		 why;
	enum rpc_phase		 phase;
	const char		*pw = getenv("SMB2_TEST_PASSWORD"), *t = getenv("SMB2_TEST_TIMEOUT");
	char			 err[512];
	uint32_t		 tid = 0;
	int			 unsupported, i, rc = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: smb2_smbd_test ADDR USER [op...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&cr, 0, sizeof(cr));
	snprintf(cr.name, sizeof(cr.name), "smb");
	cr.auth = CRED_AUTH_NTLM;
	snprintf(cr.domain, sizeof(cr.domain), "LAB");
	snprintf(cr.user, sizeof(cr.user), "%s", argv[2]);
	snprintf(cr.password, sizeof(cr.password), "%s", pw != NULL ? pw : "");
	if (smb2_connect(&c, argv[1], NULL, &cr, t != NULL ? atoi(t) : 5, err, sizeof(err), &why, &phase,
	    &unsupported) == -1) {
		printf("status=%s phase=%s unsupported=%d\n", rpc_fail_str(why), rpc_phase_str(phase), unsupported);
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("status=ok dialect=0x%04x mech=%s", smb2_dialect(c), smb2_mech(c));
	for (i = 3; i < argc && rc == 0; i++)
		if (run_op(c, &tid, argv[i], err, sizeof(err)) == -1) {
			printf(" error=%s stalled=%d", argv[i], smb2_stalled(c));
			fprintf(stderr, "%s: %s\n", argv[i], err);
			rc = 1;
		}
	printf("\n");
	smb2_close(c);
	explicit_bzero(&cr, sizeof(cr));
	return rc;
}
