/*
 * msg.c — the message types and the framing of the parent<->worker messages described in msg.h: blocking
 * msg_send/msg_recv and the non-blocking msg_framer.  The payloads are encoded in msg_host.c (READY, FATAL,
 * host and CertMgr requests and replies) and msg_fix.c (fix and rollback jobs) over msg_wire.c.
 *
 * Called by worker.c (blocking msg_recv/msg_send on its end of the socketpair) and sched.c (non-blocking frame
 * assembly with msg_framer, blocking msg_send of requests to an idle worker).  Assumes stream sockets; nothing
 * here knows about hosts or SMB.  Every length read from the peer is checked against MSG_MAX before use.
 */
#include "msg.h"
#include "msg_wire.h"
#include "dbuf.h"
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
	uint8_t h[MSG_HDR_LEN], *dst;
	uint32_t len;

	wire_start(payload);
	if (read_all(fd, h, sizeof(h), err, errlen) == -1)
		return -1;
	*type = le32(h);
	len = le32(h + 4);
	if (!msg_type_known(*type))
		return util_err(err, errlen, "unknown message type %u", *type);
	if (len > MSG_MAX)
		return util_err(err, errlen, "message of %u bytes over the cap", len);
	if ((dst = dbuf_extend(payload, len)) == NULL)
		return util_err(err, errlen, "out of memory");
	if (read_all(fd, dst, len, err, errlen) == -1) {
		dbuf_reset(payload);
		return -1;
	}
	return 0;
}

int
msg_frame_feed(struct msg_framer *fb, const uint8_t *p, size_t n, char *err, size_t errlen)
{
	if (fb->b.max == 0)
		dbuf_init(&fb->b, MSG_HDR_LEN + MSG_MAX);
	dbuf_drop(&fb->b, fb->consumed);
	fb->consumed = 0;
	if (dbuf_add(&fb->b, p, n) == -1) {
		fb->b.failed = 0;	/* the bytes held stay valid; the caller drops the worker */
		if (n > fb->b.max - fb->b.len)
			return util_err(err, errlen, "more than one capped frame buffered");
		return util_err(err, errlen, "out of memory");
	}
	return 0;
}

int
msg_frame_take(struct msg_framer *fb, uint32_t *type, const uint8_t **payload, size_t *len,
    char *err, size_t errlen)
{
	size_t avail = fb->b.len - fb->consumed;
	const uint8_t *h = fb->b.data + fb->consumed;
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
	dbuf_reset(&fb->b);
	fb->consumed = 0;
}

void
msg_framer_free(struct msg_framer *fb)
{
	dbuf_free(&fb->b);
	fb->consumed = 0;
}
