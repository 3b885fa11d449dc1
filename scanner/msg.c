/*
 * msg.c — encode, decode and frame the parent↔worker messages described in msg.h.
 *
 * Called by worker.c (blocking msg_recv/msg_send on its end of the socketpair), sched.c (non-blocking frame
 * assembly with msg_framer, blocking msg_send of requests to an idle worker) and scan.c (payload decoders).
 * Assumes stream sockets; nothing here knows about hosts or SMB.  Every length read from the peer is checked
 * against its cap before use; decoding stops at the first error and frees what it had built.
 */
#include "msg.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
msg_type_known(uint32_t type)
{
	switch (type) {
	case MSG_READY: case MSG_FATAL:
	case MSG_HOST_REQ: case MSG_HOST_RES:
	case MSG_CERTMGR_REQ: case MSG_CERTMGR_RES:
	case MSG_FIX_REQ: case MSG_FIX_RES:
	case MSG_ROLLBACK_REQ: case MSG_ROLLBACK_RES:
		return 1;
	}
	return 0;
}

uint32_t
msg_reply_type(uint32_t req)
{
	switch (req) {
	case MSG_HOST_REQ: return MSG_HOST_RES;
	case MSG_CERTMGR_REQ: return MSG_CERTMGR_RES;
	case MSG_FIX_REQ: return MSG_FIX_RES;
	case MSG_ROLLBACK_REQ: return MSG_ROLLBACK_RES;
	}
	return 0;
}

const char *
msg_type_str(uint32_t type)
{
	switch (type) {
	case MSG_READY: return "ready";
	case MSG_FATAL: return "fatal";
	case MSG_HOST_REQ: return "host_req";
	case MSG_HOST_RES: return "host_res";
	case MSG_CERTMGR_REQ: return "certmgr_req";
	case MSG_CERTMGR_RES: return "certmgr_res";
	case MSG_FIX_REQ: return "fix_req";
	case MSG_FIX_RES: return "fix_res";
	case MSG_ROLLBACK_REQ: return "rollback_req";
	case MSG_ROLLBACK_RES: return "rollback_res";
	}
	return "unknown";
}

/* ---- buffer writer ---- */

void
msg_buf_free(struct msg_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static void
buf_put(struct msg_buf *b, const void *p, size_t n)
{
	size_t ncap;
	uint8_t *nd;

	if (b->failed)
		return;
	if (n > MSG_HDR_LEN + MSG_MAX || b->len > MSG_HDR_LEN + MSG_MAX - n) {
		b->failed = 1;
		return;
	}
	if (b->len + n > b->cap) {
		ncap = b->cap ? b->cap : 256;
		while (ncap < b->len + n)
			ncap *= 2;
		if (ncap > MSG_HDR_LEN + MSG_MAX)
			ncap = MSG_HDR_LEN + MSG_MAX;
		if ((nd = realloc(b->data, ncap)) == NULL) {
			b->failed = 1;
			return;
		}
		b->data = nd;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void
put_u32(struct msg_buf *b, uint32_t v)
{
	uint8_t x[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };

	buf_put(b, x, 4);
}

static void
put_u64(struct msg_buf *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v & 0xffffffffu));
	put_u32(b, (uint32_t)(v >> 32));
}

/* A string field; NULL is sent as "".  Over cap → the buffer fails. */
static void
put_str(struct msg_buf *b, const char *s, size_t cap)
{
	size_t n = s ? strlen(s) : 0;

	if (n > cap) {
		b->failed = 1;
		return;
	}
	put_u32(b, (uint32_t)n);
	buf_put(b, s, n);
}

static void
buf_reset(struct msg_buf *b)
{
	b->len = 0;
	b->failed = 0;
}

static int
buf_done(struct msg_buf *b, const char *what, char *err, size_t errlen)
{
	if (b->failed)
		return util_err(err, errlen, "%s: a field exceeds its cap (or out of memory)", what);
	return 0;
}

/* ---- reader ---- */

struct rd {
	const uint8_t	*p;
	size_t		 n;
	size_t		 off;
	const char	*fail;	/* first error, sticky */
};

static uint32_t
get_u32(struct rd *r)
{
	uint32_t v;

	if (r->fail)
		return 0;
	if (r->n - r->off < 4) {
		r->fail = "short payload";
		return 0;
	}
	v = (uint32_t)r->p[r->off] | (uint32_t)r->p[r->off + 1] << 8 | (uint32_t)r->p[r->off + 2] << 16 |
	    (uint32_t)r->p[r->off + 3] << 24;
	r->off += 4;
	return v;
}

static uint64_t
get_u64(struct rd *r)
{
	uint64_t lo = get_u32(r), hi = get_u32(r);

	return lo | hi << 32;
}

/* A malloc'd NUL-terminated copy; NULL (with r->fail set) on error. */
static char *
get_str(struct rd *r, size_t cap)
{
	uint32_t n = get_u32(r);
	char *s;

	if (r->fail)
		return NULL;
	if (n > cap) {
		r->fail = "string over its cap";
		return NULL;
	}
	if (r->n - r->off < n) {
		r->fail = "short payload";
		return NULL;
	}
	if (memchr(r->p + r->off, '\0', n) != NULL) {
		r->fail = "NUL inside a string";
		return NULL;
	}
	if ((s = malloc((size_t)n + 1)) == NULL) {
		r->fail = "out of memory";
		return NULL;
	}
	memcpy(s, r->p + r->off, n);
	s[n] = '\0';
	r->off += n;
	return s;
}

static int
rd_done(struct rd *r, const char *what, char *err, size_t errlen)
{
	if (!r->fail && r->off != r->n)
		r->fail = "trailing bytes";
	if (r->fail)
		return util_err(err, errlen, "%s: %s", what, r->fail);
	return 0;
}

/* ---- framing ---- */

static int
write_all(int fd, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	ssize_t w;

	while (n > 0) {
		w = send(fd, p, n, MSG_NOSIGNAL);	/* a dead peer is an error, not SIGPIPE */
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The parent's non-blocking end, a frame larger than the socket buffer: wait for the
			 * peer to drain it, but never longer than MSG_SEND_STALL_MS without progress. */
			struct pollfd pfd = { fd, POLLOUT, 0 };
			int rc = poll(&pfd, 1, MSG_SEND_STALL_MS);

			if (rc == -1 && errno == EINTR)
				continue;
			if (rc <= 0)
				return util_err(err, errlen, "send: %s", rc == 0 ? "the peer stopped reading" :
				    strerror(errno));
			continue;
		}
		if (w <= 0)
			return util_err(err, errlen, "send: %s", w == 0 ? "short write" : strerror(errno));
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
read_all(int fd, uint8_t *p, size_t n, char *err, size_t errlen)
{
	ssize_t r;

	while (n > 0) {
		r = read(fd, p, n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0)
			return util_err(err, errlen, "peer closed the connection");
		if (r < 0)
			return util_err(err, errlen, "read: %s", strerror(errno));
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void
hdr_put(uint8_t h[MSG_HDR_LEN], uint32_t type, uint32_t len)
{
	int i;

	for (i = 0; i < 4; i++) {
		h[i] = (type >> (8 * i)) & 0xff;
		h[4 + i] = (len >> (8 * i)) & 0xff;
	}
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int
msg_send(int fd, uint32_t type, const struct msg_buf *payload, char *err, size_t errlen)
{
	uint8_t h[MSG_HDR_LEN];
	size_t n = payload ? payload->len : 0;

	if (!msg_type_known(type))
		return util_err(err, errlen, "send: unknown message type %u", type);
	if (payload && payload->failed)
		return util_err(err, errlen, "send: payload was not encoded");
	if (n > MSG_MAX)
		return util_err(err, errlen, "send: payload of %zu bytes over the cap", n);
	hdr_put(h, type, (uint32_t)n);
	if (write_all(fd, h, sizeof(h), err, errlen) == -1)
		return -1;
	return n ? write_all(fd, payload->data, n, err, errlen) : 0;
}

int
msg_recv(int fd, uint32_t *type, struct msg_buf *payload, char *err, size_t errlen)
{
	uint8_t h[MSG_HDR_LEN];
	uint32_t len;

	buf_reset(payload);
	if (read_all(fd, h, sizeof(h), err, errlen) == -1)
		return -1;
	*type = le32(h);
	len = le32(h + 4);
	if (!msg_type_known(*type))
		return util_err(err, errlen, "unknown message type %u", *type);
	if (len > MSG_MAX)
		return util_err(err, errlen, "message of %u bytes over the cap", len);
	if (payload->cap < len) {
		uint8_t *nd = realloc(payload->data, len);

		if (nd == NULL)
			return util_err(err, errlen, "out of memory");
		payload->data = nd;
		payload->cap = len;
	}
	if (read_all(fd, payload->data, len, err, errlen) == -1)
		return -1;
	payload->len = len;
	return 0;
}

int
msg_frame_feed(struct msg_framer *fb, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	size_t ncap;
	uint8_t *nd;

	if (fb->consumed > 0) {
		memmove(fb->buf, fb->buf + fb->consumed, fb->len - fb->consumed);
		fb->len -= fb->consumed;
		fb->consumed = 0;
	}
	if (n > MSG_HDR_LEN + MSG_MAX || fb->len > MSG_HDR_LEN + MSG_MAX - n)
		return util_err(err, errlen, "more than one capped frame buffered");
	if (fb->len + n > fb->cap) {
		ncap = fb->cap ? fb->cap : 4096;
		while (ncap < fb->len + n)
			ncap *= 2;
		if ((nd = realloc(fb->buf, ncap)) == NULL)
			return util_err(err, errlen, "out of memory");
		fb->buf = nd;
		fb->cap = ncap;
	}
	memcpy(fb->buf + fb->len, p, n);
	fb->len += n;
	return 0;
}

int
msg_frame_take(struct msg_framer *fb, uint32_t *type, const uint8_t **payload, size_t *len,
    char *err, size_t errlen)
{
	size_t avail = fb->len - fb->consumed;
	const uint8_t *h = fb->buf + fb->consumed;
	uint32_t t, l;

	if (avail < MSG_HDR_LEN)
		return 0;
	t = le32(h);
	l = le32(h + 4);
	if (!msg_type_known(t))
		return util_err(err, errlen, "unknown message type %u", t);
	if (l > MSG_MAX)
		return util_err(err, errlen, "message of %u bytes over the cap", l);
	if (avail - MSG_HDR_LEN < l)
		return 0;
	*type = t;
	*payload = h + MSG_HDR_LEN;
	*len = l;
	fb->consumed += MSG_HDR_LEN + (size_t)l;
	return 1;
}

void
msg_framer_reset(struct msg_framer *fb)
{
	fb->len = 0;
	fb->consumed = 0;
}

void
msg_framer_free(struct msg_framer *fb)
{
	free(fb->buf);
	memset(fb, 0, sizeof(*fb));
}

/* ---- READY / FATAL ---- */

int
msg_enc_ready(struct msg_buf *out, uint32_t pid, char *err, size_t errlen)
{
	buf_reset(out);
	put_u32(out, pid);
	return buf_done(out, "ready", err, errlen);
}

int
msg_dec_ready(const uint8_t *p, size_t n, uint32_t *pid, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	*pid = get_u32(&r);
	return rd_done(&r, "ready", err, errlen);
}

int
msg_enc_fatal(struct msg_buf *out, const char *reason, char *err, size_t errlen)
{
	buf_reset(out);
	put_str(out, reason, MSG_STR_MAX);
	return buf_done(out, "fatal", err, errlen);
}

int
msg_dec_fatal(const uint8_t *p, size_t n, char **reason, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	*reason = get_str(&r, MSG_STR_MAX);
	if (rd_done(&r, "fatal", err, errlen) == -1) {
		free(*reason);
		*reason = NULL;
		return -1;
	}
	return 0;
}

/* ---- host ---- */

int
msg_enc_host_req(struct msg_buf *out, const struct msg_host_req *m, char *err, size_t errlen)
{
	buf_reset(out);
	put_u64(out, m->task);
	put_str(out, m->fqdn, 1024);
	put_str(out, m->addr, 1024);
	put_u32(out, m->want_pxe_log);
	return buf_done(out, "host_req", err, errlen);
}

void
msg_host_req_free(struct msg_host_req *m)
{
	free(m->fqdn);
	free(m->addr);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_host_req(const uint8_t *p, size_t n, struct msg_host_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->fqdn = get_str(&r, 1024);
	m->addr = get_str(&r, 1024);
	m->want_pxe_log = get_u32(&r);
	if (!r.fail && m->fqdn[0] == '\0')
		r.fail = "empty fqdn";
	if (!r.fail && m->want_pxe_log > 1)
		r.fail = "bad flag";
	if (rd_done(&r, "host_req", err, errlen) == -1) {
		msg_host_req_free(m);
		return -1;
	}
	return 0;
}

static void
put_evidence(struct msg_buf *b, const struct msg_evidence *e)
{
	put_u32(b, e->kind);
	put_str(b, e->source, 16);
	put_str(b, e->file, 1024);
	put_str(b, e->at, 32);
	put_str(b, e->component, 256);
	put_u32(b, e->type);
	put_str(b, e->line, MSG_LINE_MAX);
}

static void
evidence_free(struct msg_evidence *e)
{
	free(e->source);
	free(e->file);
	free(e->at);
	free(e->component);
	free(e->line);
	memset(e, 0, sizeof(*e));
}

static void
get_evidence(struct rd *r, struct msg_evidence *e)
{
	e->kind = get_u32(r);
	e->source = get_str(r, 16);
	e->file = get_str(r, 1024);
	e->at = get_str(r, 32);
	e->component = get_str(r, 256);
	e->type = get_u32(r);
	e->line = get_str(r, MSG_LINE_MAX);
	if (!r->fail && strcmp(e->source, "smspxe") != 0 && strcmp(e->source, "certmgr") != 0)
		r->fail = "bad evidence source";
	if (!r->fail && e->at[0] != '\0') {
		time_t t;

		if (util_iso_parse(e->at, &t) == -1)
			r->fail = "bad evidence time";
	}
}

int
msg_enc_host_res(struct msg_buf *out, const struct msg_host_res *m, char *err, size_t errlen)
{
	uint32_t i;

	buf_reset(out);
	if (m->nelems > MSG_ELEMS_MAX || m->nev > MSG_EVIDENCE_MAX)
		return util_err(err, errlen, "host_res: too many elements or evidence lines");
	put_u64(out, m->task);
	put_u32(out, m->reg);
	put_str(out, m->reason, 64);
	put_str(out, m->detail, 1024);
	put_u32(out, m->werr);
	put_u32(out, m->value_type);
	put_u32(out, m->raw_len);
	put_u32(out, m->decoded);
	put_str(out, m->decode_err, 1024);
	put_u32(out, m->nelems);
	for (i = 0; i < m->nelems; i++)
		put_str(out, m->elems[i], MSG_STR_MAX);
	put_u32(out, m->log);
	put_str(out, m->log_detail, 1024);
	put_u32(out, m->pxe_cert_errors);
	put_str(out, m->pxe_last_error, 32);
	put_u32(out, m->pxe_expired_cert);
	put_u32(out, m->pxe_mp_init_failures);
	put_u32(out, m->nev);
	for (i = 0; i < m->nev; i++)
		put_evidence(out, &m->ev[i]);
	return buf_done(out, "host_res", err, errlen);
}

void
msg_host_res_free(struct msg_host_res *m)
{
	uint32_t i;

	free(m->reason);
	free(m->detail);
	free(m->decode_err);
	util_strv_free(m->elems, m->nelems);
	free(m->log_detail);
	free(m->pxe_last_error);
	if (m->ev != NULL)
		for (i = 0; i < m->nev; i++)
			evidence_free(&m->ev[i]);
	free(m->ev);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_host_res(const uint8_t *p, size_t n, struct msg_host_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->reg = get_u32(&r);
	if (!r.fail && (m->reg < MSG_REG_VALUE || m->reg > MSG_REG_UNREACHABLE))
		r.fail = "bad registry outcome";
	m->reason = get_str(&r, 64);
	m->detail = get_str(&r, 1024);
	m->werr = get_u32(&r);
	m->value_type = get_u32(&r);
	m->raw_len = get_u32(&r);
	m->decoded = get_u32(&r);
	if (!r.fail && m->decoded > 1)
		r.fail = "bad decoded flag";
	m->decode_err = get_str(&r, 1024);
	cnt = get_u32(&r);
	if (!r.fail && cnt > MSG_ELEMS_MAX)
		r.fail = "too many elements";
	if (!r.fail && cnt > 0) {
		if ((m->elems = calloc(cnt, sizeof(*m->elems))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->elems[i] = get_str(&r, MSG_STR_MAX);
			m->nelems = i + 1;
		}
	}
	m->log = get_u32(&r);
	if (!r.fail && m->log > MSG_LOG_ERROR)
		r.fail = "bad log outcome";
	m->log_detail = get_str(&r, 1024);
	m->pxe_cert_errors = get_u32(&r);
	m->pxe_last_error = get_str(&r, 32);
	if (!r.fail && m->pxe_last_error[0] != '\0') {
		time_t t;

		if (util_iso_parse(m->pxe_last_error, &t) == -1)
			r.fail = "bad pxe_last_error";
	}
	m->pxe_expired_cert = get_u32(&r);
	m->pxe_mp_init_failures = get_u32(&r);
	cnt = get_u32(&r);
	if (!r.fail && cnt > MSG_EVIDENCE_MAX)
		r.fail = "too many evidence lines";
	if (!r.fail && cnt > 0) {
		if ((m->ev = calloc(cnt, sizeof(*m->ev))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			get_evidence(&r, &m->ev[i]);
			m->nev = i + 1;
		}
	}
	if (rd_done(&r, "host_res", err, errlen) == -1) {
		msg_host_res_free(m);
		return -1;
	}
	return 0;
}

/* ---- certmgr ---- */

int
msg_enc_certmgr_req(struct msg_buf *out, const struct msg_certmgr_req *m, char *err, size_t errlen)
{
	buf_reset(out);
	put_u64(out, m->task);
	put_str(out, m->site, 16);
	put_str(out, m->fqdn, 1024);
	put_str(out, m->addr, 1024);
	return buf_done(out, "certmgr_req", err, errlen);
}

void
msg_certmgr_req_free(struct msg_certmgr_req *m)
{
	free(m->site);
	free(m->fqdn);
	free(m->addr);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_certmgr_req(const uint8_t *p, size_t n, struct msg_certmgr_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	const char *c;

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->site = get_str(&r, 16);
	m->fqdn = get_str(&r, 1024);
	m->addr = get_str(&r, 1024);
	if (!r.fail && (m->site[0] == '\0' || m->fqdn[0] == '\0'))
		r.fail = "empty site or fqdn";
	/* The site code becomes part of a share name: letters and digits only. */
	for (c = m->site; !r.fail && *c; c++)
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			r.fail = "bad site code";
	if (rd_done(&r, "certmgr_req", err, errlen) == -1) {
		msg_certmgr_req_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_certmgr_res(struct msg_buf *out, const struct msg_certmgr_res *m, char *err, size_t errlen)
{
	uint32_t i;

	buf_reset(out);
	if (m->ndenied > MSG_DENIED_MAX)
		return util_err(err, errlen, "certmgr_res: too many hosts");
	put_u64(out, m->task);
	put_u32(out, m->ok);
	put_str(out, m->reason, 64);
	put_str(out, m->detail, 1024);
	put_str(out, m->file, 1024);
	put_u32(out, m->ndenied);
	for (i = 0; i < m->ndenied; i++) {
		put_str(out, m->denied[i].fqdn, 256);
		put_u32(out, m->denied[i].count);
		put_str(out, m->denied[i].last, 32);
		put_str(out, m->denied[i].line, MSG_LINE_MAX);
	}
	return buf_done(out, "certmgr_res", err, errlen);
}

void
msg_certmgr_res_free(struct msg_certmgr_res *m)
{
	uint32_t i;

	free(m->reason);
	free(m->detail);
	free(m->file);
	if (m->denied != NULL)
		for (i = 0; i < m->ndenied; i++) {
			free(m->denied[i].fqdn);
			free(m->denied[i].last);
			free(m->denied[i].line);
		}
	free(m->denied);
	memset(m, 0, sizeof(*m));
}

int
msg_dec_certmgr_res(const uint8_t *p, size_t n, struct msg_certmgr_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;
	time_t t;

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->ok = get_u32(&r);
	if (!r.fail && m->ok > 1)
		r.fail = "bad ok flag";
	m->reason = get_str(&r, 64);
	m->detail = get_str(&r, 1024);
	m->file = get_str(&r, 1024);
	cnt = get_u32(&r);
	if (!r.fail && cnt > MSG_DENIED_MAX)
		r.fail = "too many hosts";
	if (!r.fail && cnt > 0) {
		if ((m->denied = calloc(cnt, sizeof(*m->denied))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->ndenied = i + 1;
			m->denied[i].fqdn = get_str(&r, 256);
			m->denied[i].count = get_u32(&r);
			m->denied[i].last = get_str(&r, 32);
			m->denied[i].line = get_str(&r, MSG_LINE_MAX);
			if (!r.fail && m->denied[i].fqdn[0] == '\0')
				r.fail = "empty fqdn";
			if (!r.fail && m->denied[i].last[0] != '\0' && util_iso_parse(m->denied[i].last, &t) == -1)
				r.fail = "bad time";
		}
	}
	if (rd_done(&r, "certmgr_res", err, errlen) == -1) {
		msg_certmgr_res_free(m);
		return -1;
	}
	return 0;
}

/* ---- fix / rollback ---- */

/* A byte field: u32 length + bytes, at most cap. */
static void
put_bytes(struct msg_buf *b, const uint8_t *p, size_t n, size_t cap)
{
	if (n > cap) {
		b->failed = 1;
		return;
	}
	put_u32(b, (uint32_t)n);
	buf_put(b, p, n);
}

/* A malloc'd copy (NULL for 0 bytes, with r->fail unset). */
static uint8_t *
get_bytes(struct rd *r, uint32_t *len, size_t cap)
{
	uint32_t n = get_u32(r);
	uint8_t *p;

	*len = 0;
	if (r->fail)
		return NULL;
	if (n > cap) {
		r->fail = "bytes over their cap";
		return NULL;
	}
	if (r->n - r->off < n) {
		r->fail = "short payload";
		return NULL;
	}
	if (n == 0)
		return NULL;
	if ((p = malloc(n)) == NULL) {
		r->fail = "out of memory";
		return NULL;
	}
	memcpy(p, r->p + r->off, n);
	r->off += n;
	*len = n;
	return p;
}

/* Does op belong to the request type (MSG_FIX_REQ or MSG_ROLLBACK_REQ)? */
static int
fix_op_ok(uint32_t type, uint32_t op)
{
	if (op == MSG_FIX_OP_READ)
		return 1;
	if (type == MSG_FIX_REQ)
		return op == MSG_FIX_OP_WRITE;
	return op == MSG_FIX_OP_RESTORE || op == MSG_FIX_OP_DELETE;
}

static int
enc_fix_req(uint32_t type, struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	const char *what = type == MSG_FIX_REQ ? "fix_req" : "rollback_req";
	uint32_t i;

	buf_reset(out);
	if (!fix_op_ok(type, m->op))
		return util_err(err, errlen, "%s: bad op %u", what, m->op);
	if (m->nelems > MSG_ELEMS_MAX || (m->op == MSG_FIX_OP_WRITE) != (m->nelems > 0))
		return util_err(err, errlen, "%s: elements only for a write, 1..%u of them", what, MSG_ELEMS_MAX);
	if (m->op != MSG_FIX_OP_RESTORE && (m->data_len > 0 || m->value_type != 0))
		return util_err(err, errlen, "%s: data only for a restore", what);
	put_u64(out, m->task);
	put_u64(out, m->job);
	put_u32(out, m->op);
	put_str(out, m->fqdn, 1024);
	put_str(out, m->addr, 1024);
	put_u32(out, m->nelems);
	for (i = 0; i < m->nelems; i++) {
		if (m->elems[i] == NULL || m->elems[i][0] == '\0')
			return util_err(err, errlen, "%s: empty element", what);
		put_str(out, m->elems[i], MSG_STR_MAX);
	}
	put_u32(out, m->value_type);
	put_bytes(out, m->data, m->data_len, MSG_VALUE_MAX);
	return buf_done(out, what, err, errlen);
}

void
msg_fix_req_free(struct msg_fix_req *m)
{
	free(m->fqdn);
	free(m->addr);
	util_strv_free(m->elems, m->nelems);
	free(m->data);
	memset(m, 0, sizeof(*m));
}

static int
dec_fix_req(uint32_t type, const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };
	uint32_t i, cnt;

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->job = get_u64(&r);
	m->op = get_u32(&r);
	if (!r.fail && !fix_op_ok(type, m->op))
		r.fail = "bad op";
	m->fqdn = get_str(&r, 1024);
	m->addr = get_str(&r, 1024);
	if (!r.fail && m->fqdn[0] == '\0')
		r.fail = "empty fqdn";
	cnt = get_u32(&r);
	if (!r.fail && (cnt > MSG_ELEMS_MAX || (m->op == MSG_FIX_OP_WRITE) != (cnt > 0)))
		r.fail = "bad element count";
	if (!r.fail && cnt > 0) {
		if ((m->elems = calloc(cnt, sizeof(*m->elems))) == NULL)
			r.fail = "out of memory";
		for (i = 0; !r.fail && i < cnt; i++) {
			m->elems[i] = get_str(&r, MSG_STR_MAX);
			m->nelems = i + 1;
			if (!r.fail && m->elems[i][0] == '\0')
				r.fail = "empty element";
		}
	}
	m->value_type = get_u32(&r);
	m->data = get_bytes(&r, &m->data_len, MSG_VALUE_MAX);
	if (!r.fail && m->op != MSG_FIX_OP_RESTORE && (m->value_type != 0 || m->data_len != 0))
		r.fail = "data on an op that takes none";
	if (rd_done(&r, type == MSG_FIX_REQ ? "fix_req" : "rollback_req", err, errlen) == -1) {
		msg_fix_req_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_fix_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	return enc_fix_req(MSG_FIX_REQ, out, m, err, errlen);
}

int
msg_dec_fix_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	return dec_fix_req(MSG_FIX_REQ, p, n, m, err, errlen);
}

int
msg_enc_rollback_req(struct msg_buf *out, const struct msg_fix_req *m, char *err, size_t errlen)
{
	return enc_fix_req(MSG_ROLLBACK_REQ, out, m, err, errlen);
}

int
msg_dec_rollback_req(const uint8_t *p, size_t n, struct msg_fix_req *m, char *err, size_t errlen)
{
	return dec_fix_req(MSG_ROLLBACK_REQ, p, n, m, err, errlen);
}

static int
is_sha_hex(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == UTIL_SHA256_HEX - 1;
}

static int
enc_fix_res(const char *what, struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	buf_reset(out);
	put_u64(out, m->task);
	put_u32(out, m->write);
	put_u32(out, m->reg);
	put_str(out, m->reason, 64);
	put_str(out, m->detail, 1024);
	put_u32(out, m->werr);
	put_u32(out, m->value_type);
	put_u32(out, m->too_large);
	put_u32(out, m->decoded);
	put_str(out, m->sha256, 64);
	put_bytes(out, m->raw, m->raw_len, MSG_VALUE_MAX);
	return buf_done(out, what, err, errlen);
}

void
msg_fix_res_free(struct msg_fix_res *m)
{
	free(m->reason);
	free(m->detail);
	free(m->sha256);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}

static int
dec_fix_res(const char *what, const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	struct rd r = { p, n, 0, NULL };

	memset(m, 0, sizeof(*m));
	m->task = get_u64(&r);
	m->write = get_u32(&r);
	if (!r.fail && m->write > MSG_WRITE_UNREACHABLE)
		r.fail = "bad write outcome";
	m->reg = get_u32(&r);
	if (!r.fail && (m->reg < MSG_REG_VALUE || m->reg > MSG_REG_UNREACHABLE))
		r.fail = "bad registry outcome";
	m->reason = get_str(&r, 64);
	m->detail = get_str(&r, 1024);
	m->werr = get_u32(&r);
	m->value_type = get_u32(&r);
	m->too_large = get_u32(&r);
	m->decoded = get_u32(&r);
	if (!r.fail && (m->too_large > 1 || m->decoded > 1))
		r.fail = "bad flag";
	m->sha256 = get_str(&r, 64);
	if (!r.fail && (m->decoded ? !is_sha_hex(m->sha256) : m->sha256[0] != '\0'))
		r.fail = "bad sha256";
	m->raw = get_bytes(&r, &m->raw_len, MSG_VALUE_MAX);
	if (!r.fail && m->reg != MSG_REG_VALUE && (m->raw_len > 0 || m->decoded || m->too_large))
		r.fail = "value bytes without a value";
	if (!r.fail && m->too_large && (m->raw_len > 0 || m->decoded))
		r.fail = "bytes of a value over the cap";
	if (rd_done(&r, what, err, errlen) == -1) {
		msg_fix_res_free(m);
		return -1;
	}
	return 0;
}

int
msg_enc_fix_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	return enc_fix_res("fix_res", out, m, err, errlen);
}

int
msg_dec_fix_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	return dec_fix_res("fix_res", p, n, m, err, errlen);
}

int
msg_enc_rollback_res(struct msg_buf *out, const struct msg_fix_res *m, char *err, size_t errlen)
{
	return enc_fix_res("rollback_res", out, m, err, errlen);
}

int
msg_dec_rollback_res(const uint8_t *p, size_t n, struct msg_fix_res *m, char *err, size_t errlen)
{
	return dec_fix_res("rollback_res", p, n, m, err, errlen);
}
