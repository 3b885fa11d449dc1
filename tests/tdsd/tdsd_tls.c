/*
 * tdsd_tls.c — dpfleet-tdsd's TLS (tdsd_tls.h), over GnuTLS.  Called by tdsd.c after it answered a
 * PRELOGIN with an ENCRYPTION value other than ENCRYPT_NOT_SUP (tds_prelogin_encrypt_answer, tds.c).
 *
 * Two transports, one GnuTLS session (MS-TDS 3.3.5.2 "TLS/SSL Negotiation State"):
 *   handshake: every record travels as the payload of TDS packets (pull_packet / push_packet: the client's
 *              come in PRELOGIN packets, ours go out as PRELOGIN packets of at most 4096 bytes, the size
 *              before LOGIN7 negotiates another);
 *   after it:  records straight on the socket (pull_raw / push_raw), carrying whole TDS packets inside.
 * Every read has a deadline (t->deadline, set per call): a client that stalls mid-record times out.
 *
 * The server offers TLS 1.2 only and sends no TLS 1.3 session tickets: SQL Server speaks TLS 1.2 to TDS
 * 7.x clients, and FreeTDS 1.3's GnuTLS path flushes its last handshake flight only before it reads again
 * (FreeTDS source src/tds/tls.c, tds_pull_func_login), which a TLS 1.3 client never does.
 */
#include <gnutls/gnutls.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tds.h"
#include "tdsd_tls.h"
#include "util.h"

#define HS_PACKET	4096	/* our handshake packets, header included */
#define TLS_PRIORITY	"NORMAL:-VERS-ALL:+VERS-TLS1.2"

struct tdsd_tls_cred {
	gnutls_certificate_credentials_t x509;
};

struct tdsd_tls {
	gnutls_session_t s;
	int		 fd;
	int64_t		 deadline;		/* util_mono_ms() of the current call's end */
	uint8_t		 pkt[TDS_PACKET_MAX];	/* handshake: the client's current packet */
	size_t		 pos, len;		/* unread payload: pkt[pos..len) */
	char		 desc[128];
};

int
tdsd_tls_cred_load(struct tdsd_tls_cred **out, const char *cert, const char *key, char *err, size_t errlen)
{
	struct tdsd_tls_cred *c;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return util_err(err, errlen, "out of memory");
	if ((rc = gnutls_certificate_allocate_credentials(&c->x509)) < 0) {
		free(c);
		return util_err(err, errlen, "TLS credentials: %s", gnutls_strerror(rc));
	}
	if ((rc = gnutls_certificate_set_x509_key_file(c->x509, cert, key, GNUTLS_X509_FMT_PEM)) < 0) {
		tdsd_tls_cred_free(c);
		return util_err(err, errlen, "--tls-cert %s / --tls-key %s: %s", cert, key, gnutls_strerror(rc));
	}
	*out = c;
	return 0;
}

void
tdsd_tls_cred_free(struct tdsd_tls_cred *cred)
{
	if (cred == NULL)
		return;
	gnutls_certificate_free_credentials(cred->x509);
	free(cred);
}

/* Wait until fd is readable or t's deadline passes: 0, or -1 with errno (ETIMEDOUT on the deadline). */
static int
wait_readable(struct tdsd_tls *t)
{
	struct pollfd pfd = { .fd = t->fd, .events = POLLIN };
	int64_t left;
	int r;

	for (;;) {
		if ((left = t->deadline - util_mono_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if ((r = poll(&pfd, 1, (int)left)) > 0)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
	}
}

/* read(2) of at most n bytes once fd is readable; what GnuTLS's pull functions return. */
static ssize_t
read_some(struct tdsd_tls *t, void *p, size_t n)
{
	ssize_t r;

	if (wait_readable(t) == -1) {
		gnutls_transport_set_errno(t->s, errno);
		return -1;
	}
	while ((r = read(t->fd, p, n)) == -1 && errno == EINTR)
		;
	if (r == -1)
		gnutls_transport_set_errno(t->s, errno);
	return r;
}

/* Exactly n bytes into p, or -1 (EOF counts as an error here: a packet was cut). */
static int
read_exact(struct tdsd_tls *t, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read_some(t, p, n)) <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Handshake pull: the payload of the client's TDS packets, one packet at a time. */
static ssize_t
pull_packet(gnutls_transport_ptr_t ptr, void *data, size_t n)
{
	struct tdsd_tls *t = ptr;
	struct tds_header h;
	char err[128];

	while (t->pos == t->len) {
		if (read_exact(t, t->pkt, TDS_HEADER_LEN) == -1)
			return -1;
		if (tds_header_parse(t->pkt, &h, err, sizeof(err)) == -1) {
			gnutls_transport_set_errno(t->s, EPROTO);
			return -1;
		}
		if (read_exact(t, t->pkt + TDS_HEADER_LEN, h.length - TDS_HEADER_LEN) == -1)
			return -1;
		t->pos = TDS_HEADER_LEN;
		t->len = h.length;
	}
	if (n > t->len - t->pos)
		n = t->len - t->pos;
	memcpy(data, t->pkt + t->pos, n);
	t->pos += n;
	return (ssize_t)n;
}

/* Handshake push: our records as the payload of PRELOGIN packets. */
static ssize_t
push_packet(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
	struct tdsd_tls *t = ptr;
	struct tds_header h = { .type = TDS_PKT_PRELOGIN, .packet_id = 1 };
	uint8_t pkt[HS_PACKET];
	const uint8_t *p = data;
	size_t off = 0, chunk;

	while (off < n) {
		chunk = n - off < HS_PACKET - TDS_HEADER_LEN ? n - off : HS_PACKET - TDS_HEADER_LEN;
		h.status = off + chunk == n ? TDS_STATUS_EOM : 0;
		h.length = (uint16_t)(chunk + TDS_HEADER_LEN);
		tds_header_put(pkt, &h);
		memcpy(pkt + TDS_HEADER_LEN, p + off, chunk);
		if (write_all(t->fd, pkt, chunk + TDS_HEADER_LEN) == -1) {
			gnutls_transport_set_errno(t->s, errno);
			return -1;
		}
		off += chunk;
		h.packet_id++;
	}
	return (ssize_t)n;
}

static ssize_t
pull_raw(gnutls_transport_ptr_t ptr, void *data, size_t n)
{
	return read_some(ptr, data, n);
}

static ssize_t
push_raw(gnutls_transport_ptr_t ptr, const void *data, size_t n)
{
	struct tdsd_tls *t = ptr;
	ssize_t w;

	while ((w = write(t->fd, data, n)) == -1 && errno == EINTR)
		;
	if (w == -1)
		gnutls_transport_set_errno(t->s, errno);
	return w;
}

/* The handshake's failure in one line: GnuTLS's reason and, when the client sent one, its alert. */
static int
handshake_err(struct tdsd_tls *t, int rc, char *err, size_t errlen)
{
	if (rc == GNUTLS_E_WARNING_ALERT_RECEIVED || rc == GNUTLS_E_FATAL_ALERT_RECEIVED)
		return util_err(err, errlen, "TLS handshake failed: the client sent alert '%s' (%s)",
		    gnutls_alert_get_name(gnutls_alert_get(t->s)), gnutls_strerror(rc));
	return util_err(err, errlen, "TLS handshake failed: %s", gnutls_strerror(rc));
}

int
tdsd_tls_accept(struct tdsd_tls **out, const struct tdsd_tls_cred *cred, int fd, int timeout_ms,
    char *err, size_t errlen)
{
	struct tdsd_tls *t;
	char *d;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return util_err(err, errlen, "out of memory");
	t->fd = fd;
	t->deadline = util_mono_ms() + timeout_ms;
	if ((rc = gnutls_init(&t->s, GNUTLS_SERVER | GNUTLS_NO_TICKETS)) < 0) {
		free(t);
		return util_err(err, errlen, "gnutls_init: %s", gnutls_strerror(rc));
	}
	if ((rc = gnutls_priority_set_direct(t->s, TLS_PRIORITY, NULL)) < 0 ||
	    (rc = gnutls_credentials_set(t->s, GNUTLS_CRD_CERTIFICATE, cred->x509)) < 0) {
		util_err(err, errlen, "TLS setup: %s", gnutls_strerror(rc));
		goto fail;
	}
	gnutls_transport_set_ptr(t->s, t);
	gnutls_transport_set_pull_function(t->s, pull_packet);
	gnutls_transport_set_push_function(t->s, push_packet);
	do
		rc = gnutls_handshake(t->s);
	while (rc < 0 && !gnutls_error_is_fatal(rc) && rc != GNUTLS_E_WARNING_ALERT_RECEIVED);
	if (rc < 0) {
		handshake_err(t, rc, err, errlen);
		goto fail;
	}
	gnutls_transport_set_pull_function(t->s, pull_raw);
	gnutls_transport_set_push_function(t->s, push_raw);
	if ((d = gnutls_session_get_desc(t->s)) != NULL) {
		util_strlcpy(t->desc, d, sizeof(t->desc));
		gnutls_free(d);
	}
	*out = t;
	return 0;
fail:
	tdsd_tls_end(t);
	return -1;
}

const char *
tdsd_tls_desc(struct tdsd_tls *t)
{
	return t->desc;
}

size_t
tdsd_tls_pending(struct tdsd_tls *t)
{
	return gnutls_record_check_pending(t->s);
}

ssize_t
tdsd_tls_read(struct tdsd_tls *t, void *p, size_t n, int timeout_ms)
{
	ssize_t r;

	t->deadline = util_mono_ms() + timeout_ms;
	do
		r = gnutls_record_recv(t->s, p, n);
	while (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_AGAIN);
	return r < 0 ? -1 : r;
}

int
tdsd_tls_write(struct tdsd_tls *t, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w;

	while (n > 0) {
		w = gnutls_record_send(t->s, b, n);
		if (w == GNUTLS_E_INTERRUPTED || w == GNUTLS_E_AGAIN)
			continue;
		if (w < 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

void
tdsd_tls_end(struct tdsd_tls *t)
{
	if (t == NULL)
		return;
	gnutls_deinit(t->s);
	free(t);
}
