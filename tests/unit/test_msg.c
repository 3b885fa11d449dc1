/*
 * test_msg.c — scanner/msg.c: round trips of the scan messages, strict decoding (every truncation, a trailing
 * byte, caps, bad enum values, NUL inside strings), framing over a socketpair and through the non-blocking
 * framer fed one byte at a time, unknown types and oversized lengths; a frame larger than the socket buffer
 * sent on a non-blocking socket (the parent's end) to a peer that reads it late.
 */
#include "check.h"
#include "msg.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void
host_res_sample(struct msg_host_res *m, char **elems, struct msg_evidence *ev)
{
	memset(m, 0, sizeof(*m));
	m->task = 0x1122334455667788ULL;
	m->reg = MSG_REG_VALUE;
	m->reason = "";
	m->detail = "some detail";
	m->value_type = 7;
	m->raw_len = 24;
	m->decoded = 1;
	m->decode_err = "";
	elems[0] = "CERT-A";
	elems[1] = "CERT-\xc3\xa9";
	m->elems = elems;
	m->nelems = 2;
	m->log = MSG_LOG_READ;
	m->log_detail = "SMS_DP$/sms/logs/SMSPXE.log";
	m->pxe_cert_errors = 20;
	m->pxe_last_error = "2026-11-20T07:03:38Z";
	m->pxe_expired_cert = 1;
	m->pxe_mp_init_failures = 3;
	ev[0].kind = 1;
	ev[0].source = "smspxe";
	ev[0].file = "SMS_DP$/sms/logs/SMSPXE.log";
	ev[0].at = "2026-11-20T07:03:38Z";
	ev[0].component = "SMSPXE";
	ev[0].type = 3;
	ev[0].line = "<![LOG[PXE::MP_GetList failed; 0x80092002]LOG]!>";
	ev[1] = ev[0];
	ev[1].source = "certmgr";
	ev[1].at = "";
	m->ev = ev;
	m->nev = 2;
}

static void
test_host_res(void)
{
	struct msg_host_res m, d;
	struct msg_evidence ev[2];
	char *elems[2], err[256];
	struct msg_buf b = { 0 };
	size_t i;

	host_res_sample(&m, elems, ev);
	CHECK(msg_enc_host_res(&b, &m, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_res(b.data, b.len, &d, err, sizeof(err)) == 0);
	CHECK(d.task == m.task && d.reg == MSG_REG_VALUE && d.nelems == 2 && d.nev == 2);
	CHECK_STR(d.elems[1], "CERT-\xc3\xa9");
	CHECK_STR(d.detail, "some detail");
	CHECK_STR(d.pxe_last_error, "2026-11-20T07:03:38Z");
	CHECK(d.pxe_cert_errors == 20 && d.pxe_expired_cert == 1 && d.pxe_mp_init_failures == 3);
	CHECK_STR(d.ev[1].source, "certmgr");
	CHECK_STR(d.ev[0].line, ev[0].line);
	msg_host_res_free(&d);
	CHECK(d.elems == NULL && d.ev == NULL);
	/* every truncation is an error, never a crash or a partial success */
	for (i = 0; i < b.len; i++)
		if (msg_dec_host_res(b.data, i, &d, err, sizeof(err)) != -1) {
			CHECK(!"truncated host_res decoded");
			msg_host_res_free(&d);
			break;
		}
	/* one trailing byte */
	{
		uint8_t *x = malloc(b.len + 1);

		memcpy(x, b.data, b.len);
		x[b.len] = 0;
		CHECK(msg_dec_host_res(x, b.len + 1, &d, err, sizeof(err)) == -1);
		CHECK(strstr(err, "trailing") != NULL);
		free(x);
	}
	/* a bad registry outcome (byte 8 is the low byte of reg) */
	b.data[8] = 99;
	CHECK(msg_dec_host_res(b.data, b.len, &d, err, sizeof(err)) == -1);
	b.data[8] = MSG_REG_VALUE;
	/* a bad time */
	m.pxe_last_error = "yesterday";
	CHECK(msg_enc_host_res(&b, &m, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_res(b.data, b.len, &d, err, sizeof(err)) == -1);
	m.pxe_last_error = "";
	/* a bad evidence source */
	ev[1].source = "other";
	CHECK(msg_enc_host_res(&b, &m, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_res(b.data, b.len, &d, err, sizeof(err)) == -1);
	ev[1].source = "certmgr";
	/* caps on the encoder side */
	m.nev = MSG_EVIDENCE_MAX + 1;
	CHECK(msg_enc_host_res(&b, &m, err, sizeof(err)) == -1);
	m.nev = 2;
	{
		char *big = malloc(MSG_LINE_MAX + 2);

		memset(big, 'x', MSG_LINE_MAX + 1);
		big[MSG_LINE_MAX + 1] = '\0';
		ev[0].line = big;
		CHECK(msg_enc_host_res(&b, &m, err, sizeof(err)) == -1);
		CHECK(msg_send(-1, MSG_HOST_RES, &b, err, sizeof(err)) == -1);	/* a failed buffer is never sent */
		free(big);
	}
	msg_buf_free(&b);
}

static void
test_requests(void)
{
	struct msg_host_req q = { 7, "dp01.lab.test", "127.0.0.1", 1, "PS1", 3 }, dq;
	struct msg_certmgr_req c = { 9, "PS1", "cm.lab.test", "", MSG_CRED_MAX }, dc;
	struct msg_buf b = { 0 };
	char err[256];
	size_t i;

	CHECK(msg_enc_host_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_req(b.data, b.len, &dq, err, sizeof(err)) == 0);
	CHECK(dq.task == 7 && dq.want_pxe_log == 1);
	CHECK_STR(dq.fqdn, "dp01.lab.test");
	CHECK_STR(dq.addr, "127.0.0.1");
	CHECK_STR(dq.site_server, "PS1");
	CHECK(dq.cred == 3);
	msg_host_req_free(&dq);
	for (i = 0; i < b.len; i++)
		CHECK(msg_dec_host_req(b.data, i, &dq, err, sizeof(err)) == -1);
	q.cred = MSG_CRED_MAX + 1;	/* no such credential set */
	CHECK(msg_enc_host_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_req(b.data, b.len, &dq, err, sizeof(err)) == -1);
	q.cred = 0;
	q.site_server = "P/1";		/* becomes a share name: refused */
	CHECK(msg_enc_host_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_req(b.data, b.len, &dq, err, sizeof(err)) == -1);
	q.site_server = "";
	q.fqdn = "";
	CHECK(msg_enc_host_req(&b, &q, err, sizeof(err)) == 0);
	CHECK(msg_dec_host_req(b.data, b.len, &dq, err, sizeof(err)) == -1);

	CHECK(msg_enc_certmgr_req(&b, &c, err, sizeof(err)) == 0);
	CHECK(msg_dec_certmgr_req(b.data, b.len, &dc, err, sizeof(err)) == 0);
	CHECK_STR(dc.site, "PS1");
	CHECK_STR(dc.addr, "");
	CHECK(dc.cred == MSG_CRED_MAX);
	msg_certmgr_req_free(&dc);
	c.cred = MSG_CRED_MAX + 1;
	CHECK(msg_enc_certmgr_req(&b, &c, err, sizeof(err)) == 0);
	CHECK(msg_dec_certmgr_req(b.data, b.len, &dc, err, sizeof(err)) == -1);
	c.cred = 0;
	c.site = "P/1";			/* becomes a share name: refused */
	CHECK(msg_enc_certmgr_req(&b, &c, err, sizeof(err)) == 0);
	CHECK(msg_dec_certmgr_req(b.data, b.len, &dc, err, sizeof(err)) == -1);
	/* a NUL inside a string on the wire */
	c.site = "PS1";
	CHECK(msg_enc_certmgr_req(&b, &c, err, sizeof(err)) == 0);
	b.data[12] = '\0';		/* first byte of the site code (after u64 task, u32 length) */
	CHECK(msg_dec_certmgr_req(b.data, b.len, &dc, err, sizeof(err)) == -1);
	msg_buf_free(&b);
}

static void
test_certmgr_res(void)
{
	struct msg_denied den[2] = {
		{ "dp06.ps1.lab.test", 4, "2026-11-20T08:05:18Z", "Cannot get copy ... (0x80070005)" },
		{ "dp07", 1, "", "Failed to get the copy ... dp07 (0x80070005)" },
	};
	struct msg_certmgr_res m = { 3, 1, "", "", "SMS_PS1/Logs/CertMgr.log", den, 2 }, d;
	struct msg_buf b = { 0 };
	char err[256];
	size_t i;

	CHECK(msg_enc_certmgr_res(&b, &m, err, sizeof(err)) == 0);
	CHECK(msg_dec_certmgr_res(b.data, b.len, &d, err, sizeof(err)) == 0);
	CHECK(d.ndenied == 2 && d.denied[0].count == 4 && d.ok == 1);
	CHECK_STR(d.denied[1].fqdn, "dp07");
	CHECK_STR(d.denied[0].last, "2026-11-20T08:05:18Z");
	msg_certmgr_res_free(&d);
	for (i = 0; i < b.len; i++)
		CHECK(msg_dec_certmgr_res(b.data, i, &d, err, sizeof(err)) == -1);
	den[1].fqdn = "";
	CHECK(msg_enc_certmgr_res(&b, &m, err, sizeof(err)) == 0);
	CHECK(msg_dec_certmgr_res(b.data, b.len, &d, err, sizeof(err)) == -1);
	msg_buf_free(&b);
}

static void
test_framing(void)
{
	struct msg_buf b = { 0 }, in = { 0 };
	struct msg_framer fr = { 0 };
	uint8_t raw[64];
	const uint8_t *p;
	uint32_t type, pid;
	size_t len, i;
	char err[256], *reason = NULL;
	int sv[2], got = 0, rc;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(msg_enc_ready(&b, 4242, err, sizeof(err)) == 0);
	CHECK(msg_send(sv[0], MSG_READY, &b, err, sizeof(err)) == 0);
	CHECK(msg_enc_fatal(&b, "no password", err, sizeof(err)) == 0);
	CHECK(msg_send(sv[0], MSG_FATAL, &b, err, sizeof(err)) == 0);
	CHECK(msg_send(sv[0], 77, &b, err, sizeof(err)) == -1);		/* unknown type never sent */
	CHECK(msg_recv(sv[1], &type, &in, err, sizeof(err)) == 0 && type == MSG_READY);
	CHECK(msg_dec_ready(in.data, in.len, &pid, err, sizeof(err)) == 0 && pid == 4242);
	CHECK(msg_recv(sv[1], &type, &in, err, sizeof(err)) == 0 && type == MSG_FATAL);
	CHECK(msg_dec_fatal(in.data, in.len, &reason, err, sizeof(err)) == 0);
	CHECK_STR(reason, "no password");
	free(reason);
	/* an unknown type and an oversized length are refused by the reader */
	memset(raw, 0, sizeof(raw));
	raw[0] = 77;
	CHECK(write(sv[0], raw, 8) == 8);
	CHECK(msg_recv(sv[1], &type, &in, err, sizeof(err)) == -1);
	raw[0] = MSG_HOST_RES;
	raw[4] = 0xff; raw[5] = 0xff; raw[6] = 0xff; raw[7] = 0x7f;
	CHECK(write(sv[0], raw, 8) == 8);
	CHECK(msg_recv(sv[1], &type, &in, err, sizeof(err)) == -1);
	/* EOF mid-frame is an error */
	raw[4] = 10; raw[5] = raw[6] = raw[7] = 0;
	CHECK(write(sv[0], raw, 12) == 12);
	close(sv[0]);
	CHECK(msg_recv(sv[1], &type, &in, err, sizeof(err)) == -1);
	close(sv[1]);

	/* the framer, fed one byte at a time: two frames come out whole, in order */
	{
		struct msg_buf f = { 0 };
		uint8_t hdr[8] = { MSG_READY, 0, 0, 0, 4, 0, 0, 0 };

		CHECK(msg_enc_ready(&b, 1, err, sizeof(err)) == 0);
		for (i = 0; i < 2; i++) {
			f.len = 0;
			for (size_t k = 0; k < 8; k++) {
				CHECK(msg_frame_feed(&fr, &hdr[k], 1, err, sizeof(err)) == 0);
				CHECK(msg_frame_take(&fr, &type, &p, &len, err, sizeof(err)) == 0);
			}
			for (size_t k = 0; k < b.len; k++) {
				CHECK(msg_frame_feed(&fr, &b.data[k], 1, err, sizeof(err)) == 0);
				rc = msg_frame_take(&fr, &type, &p, &len, err, sizeof(err));
				if (rc == 1) {
					got++;
					CHECK(k == b.len - 1 && type == MSG_READY && len == 4);
				} else
					CHECK(rc == 0);
			}
		}
		CHECK(got == 2);
		msg_buf_free(&f);
	}
	msg_framer_reset(&fr);
	raw[0] = 99;
	CHECK(msg_frame_feed(&fr, raw, 8, err, sizeof(err)) == 0);
	CHECK(msg_frame_take(&fr, &type, &p, &len, err, sizeof(err)) == -1);
	msg_framer_reset(&fr);
	raw[0] = MSG_HOST_RES;
	raw[4] = 0xff; raw[5] = 0xff; raw[6] = 0xff; raw[7] = 0x7f;
	CHECK(msg_frame_feed(&fr, raw, 8, err, sizeof(err)) == 0);
	CHECK(msg_frame_take(&fr, &type, &p, &len, err, sizeof(err)) == -1);
	msg_framer_free(&fr);
	msg_buf_free(&b);
	msg_buf_free(&in);
}

/* Which type answers which request, and which types exist. */
static void
test_reply_types(void)
{
	CHECK(msg_reply_type(MSG_HOST_REQ) == MSG_HOST_RES);
	CHECK(msg_reply_type(MSG_CERTMGR_REQ) == MSG_CERTMGR_RES);
	CHECK(msg_reply_type(MSG_HOST_RES) == 0);
	CHECK(!msg_type_known(0) && !msg_type_known(14) && msg_type_known(MSG_FIX_REQ));
}

/* A 2 MiB frame (a rollback may carry a 1 MiB value) on the non-blocking parent end: msg_send waits for the
 * peer to drain the socket instead of failing with EAGAIN. */
static void
test_large_nonblocking(void)
{
	struct msg_buf b = { 0 };
	char err[256];
	int sv[2], status = -1;
	size_t i;
	pid_t pid;

	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
	dbuf_init(&b, 2u * 1024 * 1024);
	CHECK(dbuf_extend(&b, 2u * 1024 * 1024) != NULL);
	for (i = 0; i < b.len; i++)
		b.data[i] = (uint8_t)(i * 7);
	if ((pid = fork()) == 0) {
		struct msg_buf in = { 0 };
		uint32_t type;
		int ok;

		close(sv[0]);
		usleep(200000);		/* the sender fills the socket buffer first */
		ok = msg_recv(sv[1], &type, &in, err, sizeof(err)) == 0 && type == MSG_ROLLBACK_REQ &&
		    in.len == b.len && memcmp(in.data, b.data, b.len) == 0;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0);
	close(sv[1]);
	CHECK(msg_send(sv[0], MSG_ROLLBACK_REQ, &b, err, sizeof(err)) == 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(sv[0]);
	msg_buf_free(&b);
}

int
main(void)
{
	test_host_res();
	test_requests();
	test_certmgr_res();
	test_framing();
	test_reply_types();
	test_large_nonblocking();
	return check_done("test_msg");
}
