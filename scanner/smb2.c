/*
 * smb2.c — the connection half of smb2.h: TCP (non-blocking, TCP_NODELAY, every wait bounded by poll), the
 * Direct TCP transport framing (MS-SMB2 2.1), requests in flight by MessageId with credits counted (MS-SMB2
 * 3.2.4.1.5, 3.2.5.1.4), signing of requests and verification of responses (MS-SMB2 3.2.4.1.1, 3.2.5.1.3),
 * NEGOTIATE (3.2.4.2.2) and the SESSION_SETUP loop (3.2.4.2.3, 3.2.5.3) with smbauth.h's tokens.  The
 * commands a scan sends after that are in smb2_io.c; the pure parts (keys, signatures, parsers) in
 * smb2_sign.c.  Called by the scanner's workers, one connection per host; no global state.
 *
 * Response flow: smb2_wait(mid) returns a kept response or reads messages (recv_one) until mid's arrives;
 * each message read adds its credits, is matched to its request in flight (an unknown MessageId is a protocol
 * violation), skipped when it is an interim STATUS_PENDING, verified when signing is on, then kept or, for a
 * CLOSE, discarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smb2.h"
#include "smb2_int.h"
#include "smbauth.h"
#include "util.h"

#define CREDITS_ASK	256
#define SETUP_ROUNDS	8

static const uint16_t	 dialects[] = { 0x0202, 0x0210, 0x0300, 0x0302, 0x0311 };

int
smb2_fail(struct smb2_conn *c, int stalled, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (!c->dead) {
		c->dead = 1;
		c->stalled = stalled;
	}
	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Wait until fd is ready for ev or the deadline (monotonic ms) passes: 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd	 p = { .fd = fd, .events = ev };
	int64_t		 left;
	int		 r;

	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

static int
send_all(struct smb2_conn *c, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	int64_t	 deadline = util_mono_ms() + c->timeout_ms;
	ssize_t	 w;

	while (n > 0) {
		w = send(c->fd, p, n, MSG_NOSIGNAL);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_fd(c->fd, POLLOUT, deadline) != 1)
				return smb2_fail(c, 1, err, errlen, "SMB2 send timed out");
			continue;
		}
		return smb2_fail(c, 1, err, errlen, "SMB2 send: %s", strerror(errno));
	}
	return 0;
}

static int
recv_all(struct smb2_conn *c, uint8_t *p, size_t n, int64_t deadline, char *err, size_t errlen)
{
	ssize_t	 r;

	while (n > 0) {
		r = recv(c->fd, p, n, 0);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return smb2_fail(c, 1, err, errlen, "SMB2 connection closed by the server");
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (wait_fd(c->fd, POLLIN, deadline) != 1)
				return smb2_fail(c, 1, err, errlen, "SMB2 response timed out after %d ms",
				    c->timeout_ms);
			continue;
		}
		return smb2_fail(c, 1, err, errlen, "SMB2 recv: %s", strerror(errno));
	}
	return 0;
}

#define OBUF_MAX	(256u * 1024u)	/* requests held for one write at most */

/* Write the requests held in c->obuf. */
static int
flush_out(struct smb2_conn *c, char *err, size_t errlen)
{
	int	 r;

	if (c->olen == 0)
		return 0;
	r = send_all(c, c->obuf, c->olen, err, errlen);
	c->olen = 0;
	return r;
}

/*
 * msg (n bytes) behind its Direct TCP header (MS-SMB2 2.1), appended to c->obuf; written with what is held
 * unless more says another request follows at once (then requests that need nothing from each other leave in
 * one write).
 */
static int
send_framed(struct smb2_conn *c, const uint8_t *msg, size_t n, int more, char *err, size_t errlen)
{
	uint8_t	 nb[4] = { 0, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
	uint8_t	*p;

	if (n > 0xffffff)
		return smb2_fail(c, 0, err, errlen, "SMB2 request of %zu bytes too large", n);
	if (c->olen > 0 && c->olen + 4 + n > OBUF_MAX && flush_out(c, err, errlen) == -1)
		return -1;
	if (c->olen + 4 + n > c->ocap) {
		if ((p = realloc(c->obuf, c->olen + 4 + n)) == NULL)
			return smb2_fail(c, 0, err, errlen, "out of memory");
		c->obuf = p;
		c->ocap = c->olen + 4 + n;
	}
	memcpy(c->obuf + c->olen, nb, 4);
	memcpy(c->obuf + c->olen + 4, msg, n);
	c->olen += 4 + n;
	return more ? 0 : flush_out(c, err, errlen);
}

/* One Direct TCP message (MS-SMB2 2.1): *msg malloc'd (caller frees), *n; -1 with err (dead). */
static int
read_msg(struct smb2_conn *c, uint8_t **msg, size_t *n, char *err, size_t errlen)
{
	int64_t	 deadline = util_mono_ms() + c->timeout_ms;
	uint8_t	 nb[4];
	size_t	 len;

	*msg = NULL;
	if (recv_all(c, nb, 4, deadline, err, errlen) == -1)
		return -1;
	len = (size_t)nb[1] << 16 | (size_t)nb[2] << 8 | nb[3];
	if (nb[0] != 0 || len > SMB2_MSG_MAX || len < SMB2_HDR_LEN)
		return smb2_fail(c, 0, err, errlen, "SMB2 transport frame of %zu bytes (type %u) refused", len,
		    nb[0]);
	if ((*msg = malloc(len)) == NULL)
		return smb2_fail(c, 0, err, errlen, "out of memory");
	if (recv_all(c, *msg, len, deadline, err, errlen) == -1) {
		free(*msg);
		*msg = NULL;
		return -1;
	}
	*n = len;
	return 0;
}

static struct smb2_pend *
pend_find(struct smb2_conn *c, uint64_t mid)
{
	size_t	 i;

	for (i = 0; i < SMB2_PEND_MAX; i++)
		if (c->pend[i].used && c->pend[i].mid == mid)
			return &c->pend[i];
	return NULL;
}

static size_t
pend_outstanding(const struct smb2_conn *c)
{
	size_t	 i, k = 0;

	for (i = 0; i < SMB2_PEND_MAX; i++)
		if (c->pend[i].used && c->pend[i].msg == NULL)
			k++;
	return k;
}

/* Read one message and file it under its request (module comment).  0, or -1 with err (dead). */
static int
recv_one(struct smb2_conn *c, char *err, size_t errlen)
{
	struct smb2_pend	*p;
	struct smb2_hdr		 h;
	uint8_t			*msg;
	size_t			 n;

	if (flush_out(c, err, errlen) == -1 || read_msg(c, &msg, &n, err, errlen) == -1)
		return -1;
	if (smb2_hdr_parse(msg, n, &h, err, errlen) == -1) {
		free(msg);
		return smb2_fail(c, 0, NULL, 0, "bad header");	/* err holds the parser's words */
	}
	if (h.next != 0) {
		free(msg);
		return smb2_fail(c, 0, err, errlen, "compound SMB2 response to a single request");
	}
	if ((p = pend_find(c, h.mid)) == NULL || p->msg != NULL) {
		free(msg);
		return smb2_fail(c, 0, err, errlen, "SMB2 response to no request in flight (MessageId %llu)",
		    (unsigned long long)h.mid);
	}
	c->credits += h.credits;
	if (c->credits > 65535)			/* more than a client can use (MS-SMB2 3.2.5.1.4 has no cap) */
		c->credits = 65535;
	if ((h.flags & SMB2_FLAGS_ASYNC_COMMAND) && h.status == SMB2_ST_PENDING) {
		free(msg);	/* interim response (MS-SMB2 3.2.5.1.5): the final one follows */
		return 0;
	}
	if (c->signing && h.sid != 0 && !smb2_verify(c->dialect, c->key, msg, n)) {
		free(msg);
		return smb2_fail(c, 0, err, errlen, "SMB2 response (command %u, status 0x%08x) %s", h.command,
		    h.status, (h.flags & SMB2_FLAGS_SIGNED) ? "with a bad signature" : "not signed");
	}
	if (p->drop) {
		free(msg);
		memset(p, 0, sizeof(*p));
		return 0;
	}
	p->msg = msg;
	p->len = n;
	return 0;
}

int
smb2_wait(struct smb2_conn *c, uint64_t mid, uint8_t **msg, size_t *n, struct smb2_hdr *h, char *err,
    size_t errlen)
{
	struct smb2_pend	*p;

	*msg = NULL;
	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if ((p = pend_find(c, mid)) == NULL || p->drop)
		return smb2_fail(c, 0, err, errlen, "no SMB2 request %llu in flight", (unsigned long long)mid);
	while (p->msg == NULL)
		if (recv_one(c, err, errlen) == -1)
			return -1;
	*msg = p->msg;
	*n = p->len;
	memset(p, 0, sizeof(*p));
	if (smb2_hdr_parse(*msg, *n, h, err, errlen) == -1) {
		free(*msg);
		*msg = NULL;
		return smb2_fail(c, 0, NULL, 0, "bad header");
	}
	return 0;
}

/* A free slot for a request in flight, reading responses while none is free.  NULL with err (dead). */
static struct smb2_pend *
pend_slot(struct smb2_conn *c, char *err, size_t errlen)
{
	size_t	 i;

	for (;;) {
		for (i = 0; i < SMB2_PEND_MAX; i++)
			if (!c->pend[i].used)
				return &c->pend[i];
		if (pend_outstanding(c) == 0) {
			smb2_fail(c, 0, err, errlen, "more than %d SMB2 responses held", SMB2_PEND_MAX);
			return NULL;
		}
		if (recv_one(c, err, errlen) == -1)
			return NULL;
	}
}

int
smb2_send(struct smb2_conn *c, uint8_t *msg, size_t n, uint16_t cmd, uint32_t tid, uint16_t charge, int drop,
    int more, uint64_t *mid, char *err, size_t errlen)
{
	struct smb2_pend	*p;
	uint32_t		 need;

	if (c->dead)
		return util_err(err, errlen, "SMB2 connection already failed");
	if (!c->large_mtu || c->dialect == 0x0202)
		charge = 1;
	need = charge;
	while (c->credits < need) {
		if (pend_outstanding(c) == 0)
			return smb2_fail(c, 0, err, errlen, "SMB2 server granted no credits for a request");
		if (recv_one(c, err, errlen) == -1)
			return -1;
	}
	if ((p = pend_slot(c, err, errlen)) == NULL)
		return -1;
	memcpy(msg, "\xfeSMB", 4);
	le_put16(msg + 4, SMB2_HDR_LEN);
	le_put16(msg + 6, c->dialect == 0x0202 ? 0 : charge);
	le_put16(msg + 12, cmd);
	le_put16(msg + 14, CREDITS_ASK);
	le_put64(msg + 24, c->next_mid);
	le_put32(msg + 36, tid);
	le_put64(msg + 40, c->sid);
	if (c->signing)
		smb2_sign(c->dialect, c->key, msg, n);
	p->used = 1;
	p->drop = drop;
	p->mid = c->next_mid;
	*mid = c->next_mid;
	c->next_mid += charge;
	c->credits -= need;
	return send_framed(c, msg, n, more, err, errlen);
}

/* How a connect failed, for smb2_connect's outputs. */
struct cfail {
	char		*err;
	size_t		 errlen;
	enum rpc_fail	 why;
	int		 unsupported;
};

static int
cfail(struct cfail *f, enum rpc_fail why, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
cfail(struct cfail *f, enum rpc_fail why, const char *fmt, ...)
{
	va_list	 ap;

	f->why = why;
	if (fmt != NULL && f->err != NULL && f->errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(f->err, f->errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* The why of a transport failure in phase SMB: a stall or reset is smb_timeout, anything else protocol. */
static int
cfail_conn(struct smb2_conn *c, struct cfail *f)
{
	return cfail(f, c->stalled ? RPC_FAIL_SMB_TIMEOUT : RPC_FAIL_PROTOCOL, NULL);
}

static int
tcp_try(const struct addrinfo *ai, int timeout_ms, int *fdp, struct cfail *f)
{
	int		 fd, e = 0, one = 1;
	socklen_t	 elen = sizeof(e);

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol)) == -1)
		return cfail(f, RPC_FAIL_OTHER, "socket: %s", strerror(errno));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
		if (errno != EINPROGRESS)
			e = errno;
		else if (wait_fd(fd, POLLOUT, util_mono_ms() + timeout_ms) != 1)
			e = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1)
			e = errno;
	}
	if (e == 0) {
		*fdp = fd;
		return 0;
	}
	close(fd);
	if (e == ECONNREFUSED)
		return cfail(f, RPC_FAIL_REFUSED, "TCP connect to port 445 refused");
	if (e == ETIMEDOUT)
		return cfail(f, RPC_FAIL_TIMEOUT, "TCP connect to port 445 timed out after %d ms", timeout_ms);
	if (e == EHOSTUNREACH || e == ENETUNREACH)
		return cfail(f, RPC_FAIL_NO_ROUTE, "TCP connect to port 445: %s", strerror(e));
	return cfail(f, RPC_FAIL_OTHER, "TCP connect to port 445: %s", strerror(e));
}

/* TCP to addr:445, the first address that answers; 0 with c->fd, -1 (phase TCP). */
static int
tcp_connect(struct smb2_conn *c, const char *addr, struct cfail *f)
{
	struct addrinfo	 hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *res, *ai;
	int		 r;

	if ((r = getaddrinfo(addr, "445", &hints, &res)) != 0)
		return cfail(f, RPC_FAIL_OTHER, "cannot resolve %s: %s", addr, gai_strerror(r));
	r = -1;
	for (ai = res; ai != NULL && r == -1; ai = ai->ai_next)
		r = tcp_try(ai, c->timeout_ms, &c->fd, f);
	freeaddrinfo(res);
	return r;
}

/* The NEGOTIATE request (MS-SMB2 2.2.3, 2.2.3.1.1): every dialect, signing required, a SHA-512 preauth context. */
static uint8_t *
negotiate_req(size_t *n, struct cfail *f)
{
	size_t	 ndial = sizeof(dialects) / sizeof(dialects[0]), i, ctxoff, body;
	uint8_t	*m, *b;

	ctxoff = (SMB2_HDR_LEN + 36 + 2 * ndial + 7) & ~(size_t)7;
	body = ctxoff + 8 + 38 - SMB2_HDR_LEN;
	if ((m = smb2_msg_new(body, f->err, f->errlen)) == NULL)
		return NULL;
	b = m + SMB2_HDR_LEN;
	le_put16(b, 36);
	le_put16(b + 2, (uint16_t)ndial);
	le_put16(b + 4, 0x0002);		/* SMB2_NEGOTIATE_SIGNING_REQUIRED */
	le_put32(b + 8, 0x00000004);		/* SMB2_GLOBAL_CAP_LARGE_MTU */
	le_put32(b + 28, (uint32_t)ctxoff);
	le_put16(b + 32, 1);
	for (i = 0; i < ndial; i++)
		le_put16(b + 36 + 2 * i, dialects[i]);
	le_put16(m + ctxoff, 1);		/* SMB2_PREAUTH_INTEGRITY_CAPABILITIES */
	le_put16(m + ctxoff + 2, 38);
	le_put16(m + ctxoff + 8, 1);		/* HashAlgorithmCount */
	le_put16(m + ctxoff + 10, 32);	/* SaltLength */
	le_put16(m + ctxoff + 12, 1);		/* SHA-512 */
	if (getrandom(b + 12, 16, 0) != 16 || getrandom(m + ctxoff + 14, 32, 0) != 32) {
		free(m);
		cfail(f, RPC_FAIL_OTHER, "getrandom failed");
		return NULL;
	}
	*n = SMB2_HDR_LEN + body;
	return m;
}

static int
negotiate(struct smb2_conn *c, struct cfail *f)
{
	struct smb2_negotiated	 ng;
	struct smb2_hdr		 h;
	uint8_t			*req, *resp;
	size_t			 n, rn, i;
	uint64_t		 mid;
	int			 ok = 0;

	if ((req = negotiate_req(&n, f)) == NULL)
		return -1;
	if (smb2_send(c, req, n, SMB2_NEGOTIATE, 0, 1, 0, 0, &mid, f->err, f->errlen) == -1 ||
	    smb2_wait(c, mid, &resp, &rn, &h, f->err, f->errlen) == -1) {
		free(req);
		return cfail_conn(c, f);
	}
	smb2_preauth_update(c->preauth, req, n);
	smb2_preauth_update(c->preauth, resp, rn);
	free(req);
	if (h.status != SMB2_ST_OK) {
		free(resp);
		f->unsupported = 1;
		return cfail(f, RPC_FAIL_PROTOCOL, "NEGOTIATE: no common dialect (status 0x%08x)", h.status);
	}
	if (smb2_parse_negotiate(resp, rn, &ng, f->err, f->errlen) == -1) {
		free(resp);
		return cfail(f, RPC_FAIL_PROTOCOL, NULL);
	}
	free(resp);
	for (i = 0; i < sizeof(dialects) / sizeof(dialects[0]); i++)
		ok |= ng.dialect == dialects[i];
	if (!ok)
		return cfail(f, RPC_FAIL_PROTOCOL, "NEGOTIATE: dialect 0x%04x not offered", ng.dialect);
	c->dialect = ng.dialect;
	c->large_mtu = ng.dialect != 0x0202 && (ng.capabilities & 0x4);
	c->max_read = ng.max_read;
	c->max_trans = ng.max_transact;
	if (!c->large_mtu) {
		c->max_read = c->max_read > 65536 ? 65536 : c->max_read;
		c->max_trans = c->max_trans > 65536 ? 65536 : c->max_trans;
	}
	c->max_read = c->max_read > 8u << 20 ? 8u << 20 : c->max_read;
	c->max_trans = c->max_trans > 8u << 20 ? 8u << 20 : c->max_trans;
	if (c->max_read < 4096 || c->max_trans < 4096)
		return cfail(f, RPC_FAIL_PROTOCOL, "NEGOTIATE: MaxReadSize %u, MaxTransactSize %u too small",
		    ng.max_read, ng.max_transact);
	return 0;
}

/* One SESSION_SETUP request (MS-SMB2 2.2.5) with tok, sent; the preauth hash h takes it (3.1.1). */
static int
setup_send(struct smb2_conn *c, const uint8_t *tok, size_t toklen, uint8_t h[SMB2_PREAUTH_LEN], uint64_t *mid,
    struct cfail *f)
{
	uint8_t	*m;
	size_t	 n = SMB2_HDR_LEN + 24 + toklen;
	int	 r;

	if (toklen > SMBAUTH_TOKEN_MAX)
		return cfail(f, RPC_FAIL_OTHER, "security token of %zu bytes too large", toklen);
	if ((m = smb2_msg_new(24 + toklen, f->err, f->errlen)) == NULL)
		return cfail(f, RPC_FAIL_OTHER, NULL);
	le_put16(m + SMB2_HDR_LEN, 25);
	m[SMB2_HDR_LEN + 3] = 0x02;		/* SecurityMode: SMB2_NEGOTIATE_SIGNING_REQUIRED */
	le_put16(m + SMB2_HDR_LEN + 12, SMB2_HDR_LEN + 24);
	le_put16(m + SMB2_HDR_LEN + 14, (uint16_t)toklen);
	if (toklen > 0)
		memcpy(m + SMB2_HDR_LEN + 24, tok, toklen);
	r = smb2_send(c, m, n, SMB2_SESSION_SETUP, 0, 1, 0, 0, mid, f->err, f->errlen);
	if (r == 0 && c->dialect == 0x0311)
		smb2_preauth_update(h, m, n);
	free(m);
	return r == -1 ? cfail_conn(c, f) : 0;
}

/* The security buffer and SessionFlags of a SESSION_SETUP response (MS-SMB2 2.2.6). */
static int
setup_parse(struct smb2_conn *c, const uint8_t *msg, size_t n, const uint8_t **tok, size_t *toklen,
    uint16_t *flags, struct cfail *f)
{
	const uint8_t	*b;

	if ((b = smb2_body(msg, n, 9, f->err, f->errlen)) == NULL ||
	    smb2_range(msg, n, le_get16(b + 4), le_get16(b + 6), tok, f->err, f->errlen) == -1) {
		smb2_fail(c, 0, NULL, 0, "session setup");
		return cfail(f, RPC_FAIL_PROTOCOL, NULL);
	}
	*toklen = le_get16(b + 6);
	*flags = le_get16(b + 2);
	return 0;
}

/* The session is set up: refuse guest/null and encrypted sessions, derive the key, check the signature. */
static int
setup_done(struct smb2_conn *c, struct smbauth *a, const uint8_t *msg, size_t n, uint16_t flags,
    const uint8_t h[SMB2_PREAUTH_LEN], struct cfail *f)
{
	uint8_t	 key[SMBAUTH_KEY_MAX], k16[SMB2_KEY_LEN] = { 0 };
	size_t	 keylen;

	if (flags & 0x0004) {			/* SMB2_SESSION_FLAG_ENCRYPT_DATA */
		f->unsupported = 1;
		return cfail(f, RPC_FAIL_PROTOCOL, "server requires encryption");
	}
	if (flags & 0x0003)			/* IS_GUEST, IS_NULL */
		return cfail(f, RPC_FAIL_LOGON, "server made the session %s: no anonymous fallback",
		    (flags & 1) ? "a guest" : "anonymous");
	if (smbauth_session_key(a, key, &keylen) == -1)
		return cfail(f, RPC_FAIL_PROTOCOL, "authentication gave no session key");
	memcpy(k16, key, keylen < SMB2_KEY_LEN ? keylen : SMB2_KEY_LEN);
	smb2_signing_key(c->dialect, k16, h, c->key);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(k16, sizeof(k16));
	if ((c->dialect == 0x0311 || (le_get32(msg + 16) & SMB2_FLAGS_SIGNED)) &&
	    !smb2_verify(c->dialect, c->key, msg, n))
		return cfail(f, RPC_FAIL_PROTOCOL, "final SESSION_SETUP response: bad or missing signature");
	c->signing = 1;
	return 0;
}

/* One SESSION_SETUP round trip; 1 for another round (*tok set), 0 set up, -1 failed. */
static int
setup_round(struct smb2_conn *c, struct smbauth *a, uint8_t **tok, size_t *toklen, uint8_t h[SMB2_PREAUTH_LEN],
    struct cfail *f)
{
	struct smb2_hdr	 hd;
	const uint8_t	*in;
	uint8_t		*resp;
	size_t		 rn, inlen;
	uint16_t	 flags;
	uint64_t	 mid;
	int		 r = -1;

	r = setup_send(c, *tok, *toklen, h, &mid, f);
	free(*tok);
	*tok = NULL;
	if (r == -1)
		return -1;
	if (smb2_wait(c, mid, &resp, &rn, &hd, f->err, f->errlen) == -1)
		return cfail_conn(c, f);
	if (hd.status != SMB2_ST_OK && hd.status != SMB2_ST_MORE_PROCESSING) {
		free(resp);
		/*
		 * A server that requires encryption (EncryptData and RejectUnencryptedAccess) fails the
		 * SESSION_SETUP of a client that did not negotiate encryption, as this one, with
		 * STATUS_ACCESS_DENIED rather than setting SMB2_SESSION_FLAG_ENCRYPT_DATA (MS-SMB2 3.3.5.5, 1-2;
		 * smb.conf(5) "server smb encrypt = required": "session setups will be denied on
		 * non-encryption-capable connections").  A bad password is STATUS_LOGON_FAILURE: let the caller
		 * try Samba's stack, which encrypts.
		 */
		if (hd.status == SMB2_ST_ACCESS_DENIED)
			f->unsupported = 1;
		return cfail(f, rpc_classify(hd.status, RPC_PHASE_SMB), "SESSION_SETUP: status 0x%08x%s", hd.status,
		    hd.status == SMB2_ST_ACCESS_DENIED ? " (access denied: the server may require encryption)" : "");
	}
	if (c->sid == 0)
		c->sid = hd.sid;
	r = -1;
	if (hd.sid == 0 || hd.sid != c->sid)
		cfail(f, RPC_FAIL_PROTOCOL, "SESSION_SETUP response with SessionId %llu",
		    (unsigned long long)hd.sid);
	else if (setup_parse(c, resp, rn, &in, &inlen, &flags, f) == -1)
		;
	else if (hd.status == SMB2_ST_MORE_PROCESSING) {
		if (c->dialect == 0x0311)
			smb2_preauth_update(h, resp, rn);
		if (smbauth_step(a, in, inlen, 0, tok, toklen, f->err, f->errlen, &f->why) == 1)
			r = 1;
	} else if (smbauth_step(a, in, inlen, 1, tok, toklen, f->err, f->errlen, &f->why) == 0)
		r = setup_done(c, a, resp, rn, flags, h, f);
	free(resp);
	return r;
}

static int
session_setup(struct smb2_conn *c, const struct cred *cr, const char *fqdn, struct cfail *f)
{
	struct smbauth	*a = NULL;
	uint8_t		*tok = NULL, h[SMB2_PREAUTH_LEN];
	size_t		 toklen = 0;
	int		 r = 1, round;

	if (smbauth_start(&a, cr, fqdn, &tok, &toklen, f->err, f->errlen, &f->why) == -1)
		return -1;
	util_strlcpy(c->mech, smbauth_mech(a), sizeof(c->mech));
	memcpy(h, c->preauth, sizeof(h));
	for (round = 0; r == 1 && round < SETUP_ROUNDS; round++)
		r = setup_round(c, a, &tok, &toklen, h, f);
	if (r == 1)
		r = cfail(f, RPC_FAIL_PROTOCOL, "SESSION_SETUP: no end after %d rounds", SETUP_ROUNDS);
	free(tok);
	smbauth_free(a);
	explicit_bzero(h, sizeof(h));
	return r;
}

int
smb2_connect(struct smb2_conn **out, const char *addr, const char *fqdn, const struct cred *cr, int timeout_s,
    char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase, int *unsupported)
{
	struct smb2_conn	*c;
	struct cfail		 f = { err, errlen, RPC_FAIL_NONE, 0 };
	int			 r = -1;

	*out = NULL;
	*phase = RPC_PHASE_TCP;
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		cfail(&f, RPC_FAIL_OTHER, "out of memory");
		goto done;
	}
	c->fd = -1;
	c->timeout_ms = (timeout_s < 1 ? 1 : timeout_s) * 1000;
	c->credits = 1;
	util_strlcpy(c->server, fqdn != NULL && *fqdn ? fqdn : addr, sizeof(c->server));
	if (tcp_connect(c, addr, &f) == -1)
		goto done;
	*phase = RPC_PHASE_SMB;
	if (negotiate(c, &f) == -1 || session_setup(c, cr, fqdn, &f) == -1)
		goto done;
	*out = c;
	c = NULL;
	r = 0;
done:
	smb2_close(c);
	*why = r == 0 ? RPC_FAIL_NONE : f.why;
	if (unsupported != NULL)
		*unsupported = r == 0 ? 0 : f.unsupported;
	return r;
}

int
smb2_stalled(const struct smb2_conn *c)
{
	return c->stalled;
}

uint16_t
smb2_dialect(const struct smb2_conn *c)
{
	return c->dialect;
}

const char *
smb2_mech(const struct smb2_conn *c)
{
	return c->mech;
}

void
smb2_close(struct smb2_conn *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	if (c->fd != -1) {
		shutdown(c->fd, SHUT_RDWR);
		close(c->fd);
	}
	for (i = 0; i < SMB2_PEND_MAX; i++)
		free(c->pend[i].msg);
	if (c->obuf != NULL)
		explicit_bzero(c->obuf, c->ocap);
	free(c->obuf);
	explicit_bzero(c, sizeof(*c));
	free(c);
}
