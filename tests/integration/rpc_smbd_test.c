/*
 * rpc_smbd_test.c — a small CLI over scanner/rpc.c + scanner/rrp.c, driven by rpc_smbd_test.py against a real
 * smbd.  One operation per run; prints one machine-readable line on stdout; exit 0 when the operation ran
 * (whatever the server answered), 1 on a transport/protocol failure, 2 on usage errors.
 *
 *   rpc_smbd_test ADDR USER PASS connect
 *       → "connected" | "fail <reason> <phase> <message>" (reason: a lib/reason.h word; phase: tcp, smb,
 *         pipe or bind, where the connect stopped)
 *   rpc_smbd_test ADDR USER PASS read KEY VALUE
 *       → "status=<s> werr=<n> type=<t> hex=<raw> elems=<e1>|<e2>..." or "... decode_err=<why>"
 *   rpc_smbd_test ADDR USER PASS write KEY VALUE ELEM...          (REG_MULTI_SZ)
 *   rpc_smbd_test ADDR USER PASS writeraw KEY VALUE TYPE HEX
 *   rpc_smbd_test ADDR USER PASS delete KEY VALUE
 *   rpc_smbd_test ADDR USER PASS createkey KEY
 *       → "status=<s> werr=<n>"
 *   rpc_smbd_test ADDR USER PASS loop N KEY VALUE
 *       → N × (new connection + read + close) in-process; prints "loop n=N ok=K ms_per_host=X" (a figure,
 *         never asserted on)
 * RPC_SMBD_TIMEOUT (seconds, default 5) is passed to rpc_connect.  With RPC_SMBD_WAIT_STDIN set, the tool
 * prints "connected" after connecting and waits for a line on stdin before the operation (so a test can
 * stall the server in between).  A failed operation prints "error <message>" on stdout.
 * With RPC_SMBD_TRACE set in the environment, every request / response stub is also written in hex on
 * stderr ("> opnum hex" / "< opnum hex"): that is how tests/unit/test_rrp.c's vectors were captured.
 * The credential set (scanner/cred.h) is domain LAB (RPC_SMBD_DOMAIN), auth ntlm unless RPC_SMBD_AUTH says
 * negotiate or kerberos, the host's name dp1.lab.test unless RPC_SMBD_FQDN names another (the SPN is
 * cifs/<fqdn>); RPC_SMBD_CCACHE and RPC_SMBD_PRINCIPAL make it a keytab set (PASS is then ignored).
 * The password comes from argv only because this is a test tool for a throw-away smbd.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "rpc.h"
#include "rrp.h"
#include "rrp_create.h"
#include "util.h"

/* The credential set of this run (see the header). */
static void
test_cred(struct cred *cr, const char *user, const char *pass)
{
	const char *a = getenv("RPC_SMBD_AUTH"), *v;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->name, sizeof(cr->name), "smb");
	cr->auth = a == NULL ? CRED_AUTH_NTLM : strcmp(a, "kerberos") == 0 ? CRED_AUTH_KERBEROS :
	    strcmp(a, "negotiate") == 0 ? CRED_AUTH_NEGOTIATE : CRED_AUTH_NTLM;
	snprintf(cr->domain, sizeof(cr->domain), "%s", (v = getenv("RPC_SMBD_DOMAIN")) ? v : "LAB");
	snprintf(cr->user, sizeof(cr->user), "%s", user);
	if ((v = getenv("RPC_SMBD_CCACHE")) != NULL) {
		snprintf(cr->ccache, sizeof(cr->ccache), "%s", v);
		snprintf(cr->principal, sizeof(cr->principal), "%s",
		    getenv("RPC_SMBD_PRINCIPAL") ? getenv("RPC_SMBD_PRINCIPAL") : "");
	} else
		snprintf(cr->password, sizeof(cr->password), "%s", pass);
}

static const char *
test_fqdn(void)
{
	return getenv("RPC_SMBD_FQDN") ? getenv("RPC_SMBD_FQDN") : "dp1.lab.test";
}

struct trace_ctx {
	struct rpc_conn	*conn;
};

static void
hexdump(FILE *f, const char *tag, uint32_t op, const uint8_t *p, size_t n)
{
	size_t	 i;

	fprintf(f, "%s %u ", tag, op);
	for (i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
	fputc('\n', f);
}

static int
trace_call(void *ctx, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct trace_ctx	*t = ctx;
	int			 rc;

	hexdump(stderr, ">", opnum, in, inlen);
	rc = rpc_call(t->conn, opnum, in, inlen, out, outlen, err, errlen);
	if (rc == 0)
		hexdump(stderr, "<", opnum, *out, *outlen);
	return rc;
}

static void
print_read(const struct rrp_read *r)
{
	char	*hex;
	size_t	 i;

	printf("status=%s werr=%u", rrp_status_str(r->status), r->werr);
	if (r->status == RRP_OK) {
		if ((hex = malloc(r->raw_len * 2 + 1)) == NULL)
			exit(1);
		util_hex(r->raw ? r->raw : (const uint8_t *)"", r->raw_len, hex);
		printf(" type=%u hex=%s", r->type, hex);
		free(hex);
		if (r->decoded) {
			printf(" elems=");
			for (i = 0; i < r->nelems; i++)
				printf("%s%s", i ? "|" : "", r->elems[i]);
		} else
			printf(" decode_err=%s", r->decode_err);
	}
	printf("\n");
}

/* RPC_SMBD_WAIT_STDIN: say "connected" and hold the connection until a line arrives on stdin. */
static void
wait_stdin(void)
{
	printf("connected\n");
	fflush(stdout);
	(void)getchar();
}

/* loop N KEY VALUE: N times connect, read, close, each on a new connection; 0 when every read was ok. */
static int
op_loop(char **argv, struct rrp_io *io, struct rrp_read *r)
{
	long		 i, nloop = strtol(argv[5], NULL, 10), ok = 0;
	int64_t		 t0 = util_mono_ms();
	struct rpc_conn	*c2;
	struct cred	 cr;
	enum rpc_fail	 why;
	char		 err[512];

	test_cred(&cr, argv[2], argv[3]);
	for (i = 0; i < nloop; i++) {
		if (rpc_connect(&c2, argv[1], test_fqdn(), &cr, 5, err, sizeof(err), &why, NULL) == -1)
			continue;
		io->ctx = c2;
		io->call = rpc_rrp_call;
		if (rrp_read_value(io, argv[6], argv[7], r, err, sizeof(err)) == 0 && r->status == RRP_OK)
			ok++;
		rrp_read_free(r);
		rpc_close(c2);
	}
	printf("loop n=%ld ok=%ld ms_per_host=%.2f\n", nloop, ok,
	    nloop > 0 ? (double)(util_mono_ms() - t0) / (double)nloop : 0.0);
	return ok == nloop ? 0 : 1;
}

/* writeraw KEY VALUE TYPE HEX: the exact bytes written as that type; 0 when the call went through. */
static int
op_writeraw(char **argv, struct rrp_io *io)
{
	enum rrp_status	 st;
	uint32_t	 werr;
	unsigned char	*raw;
	long		 rawlen;
	char		 err[512];
	int		 rc = 1;

	if ((raw = malloc(strlen(argv[8]) / 2 + 1)) == NULL ||
	    (rawlen = util_unhex(argv[8], raw, strlen(argv[8]) / 2 + 1)) < 0)
		fprintf(stderr, "writeraw: bad hex\n");
	else if (rrp_write_raw(io, argv[5], argv[6], (uint32_t)strtoul(argv[7], NULL, 0), raw,
	    (size_t)rawlen, &st, &werr, err, sizeof(err)) == -1)
		fprintf(stderr, "writeraw: %s\n", err);
	else {
		printf("status=%s werr=%u\n", rrp_status_str(st), werr);
		rc = 0;
	}
	free(raw);
	return rc;
}

int
main(int argc, char **argv)
{
	struct rpc_conn		*c = NULL;
	struct cred		 cr;
	struct trace_ctx	 t;
	struct rrp_io		 io;
	struct rrp_read		 r;
	enum rpc_fail		 why;
	enum rpc_phase		 phase;
	enum rrp_status		 st;
	uint32_t		 werr;
	const char		*op;
	char			 err[512];
	int			 rc = 1, timeout_s;

	if (argc < 5) {
		fprintf(stderr, "usage: rpc_smbd_test ADDR USER PASS OP [ARGS...]\n");
		return 2;
	}
	op = argv[4];
	signal(SIGPIPE, SIG_IGN);	/* rpc_close shuts the socket down before Samba's last write (rpc.h) */
	timeout_s = getenv("RPC_SMBD_TIMEOUT") ? atoi(getenv("RPC_SMBD_TIMEOUT")) : 5;
	test_cred(&cr, argv[2], argv[3]);
	if (rpc_connect(&c, argv[1], test_fqdn(), &cr, timeout_s, err, sizeof(err), &why, &phase) == -1) {
		explicit_bzero(&cr, sizeof(cr));
		printf("fail %s %s %s\n", rpc_fail_str(why), rpc_phase_str(phase), err);
		return strcmp(op, "connect") == 0 ? 0 : 1;
	}
	io.call = rpc_rrp_call;
	io.ctx = c;
	io.dropped = 0;
	if (getenv("RPC_SMBD_WAIT_STDIN") != NULL)
		wait_stdin();
	if (getenv("RPC_SMBD_TRACE") != NULL) {
		t.conn = c;
		io.call = trace_call;
		io.ctx = &t;
	}
	memset(&r, 0, sizeof(r));
	if (strcmp(op, "connect") == 0) {
		printf("connected\n");
		rc = 0;
	} else if (strcmp(op, "read") == 0 && argc == 7) {
		if (rrp_read_value(&io, argv[5], argv[6], &r, err, sizeof(err)) == -1)
			printf("error %s %s\n", rpc_fail_str(rpc_last_fail(c)), err);
		else {
			print_read(&r);
			rc = 0;
		}
	} else if (strcmp(op, "loop") == 0 && argc == 8) {
		rc = op_loop(argv, &io, &r);
	} else if (strcmp(op, "write") == 0 && argc >= 8) {
		if (rrp_write_multisz(&io, argv[5], argv[6], (const char *const *)argv + 7, (size_t)(argc - 7), &st,
		    &werr, err, sizeof(err)) == -1)
			fprintf(stderr, "write: %s\n", err);
		else {
			printf("status=%s werr=%u\n", rrp_status_str(st), werr);
			rc = 0;
		}
	} else if (strcmp(op, "writeraw") == 0 && argc == 9) {
		rc = op_writeraw(argv, &io);
	} else if (strcmp(op, "delete") == 0 && argc == 7) {
		if (rrp_delete_value(&io, argv[5], argv[6], &st, &werr, err, sizeof(err)) == -1)
			fprintf(stderr, "delete: %s\n", err);
		else {
			printf("status=%s werr=%u\n", rrp_status_str(st), werr);
			rc = 0;
		}
	} else if (strcmp(op, "createkey") == 0 && argc == 6) {
		if (rrp_create_key(&io, argv[5], &st, &werr, err, sizeof(err)) == -1)
			fprintf(stderr, "createkey: %s\n", err);
		else {
			printf("status=%s werr=%u\n", rrp_status_str(st), werr);
			rc = 0;
		}
	} else {
		fprintf(stderr, "bad operation or arguments\n");
		rc = 2;
	}
	rrp_read_free(&r);
	rpc_close(c);
	return rc;
}
