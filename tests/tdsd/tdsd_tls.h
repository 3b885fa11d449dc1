/*
 * tdsd_tls.h — dpfleet-tdsd's server side of TDS 7.x encryption (GnuTLS): the TLS handshake carried inside
 * TDS PRELOGIN packets after the PRELOGIN exchange, then TLS records straight on the socket (MS-TDS 2.2.6.5
 * ENCRYPTION; 3.3.5.1 "Initial State", 3.3.5.2 "TLS/SSL Negotiation State").  Test code only.
 */
#ifndef DPFLEET_TDSD_TLS_H
#define DPFLEET_TDSD_TLS_H

#include <stddef.h>
#include <sys/types.h>

struct tdsd_tls_cred;		/* the server's certificate and key, loaded once in the parent */
struct tdsd_tls;		/* one connection's TLS session */

/* Load a PEM certificate (chain) and its key.  0 and *out (free with tdsd_tls_cred_free), or -1 + err. */
int	 tdsd_tls_cred_load(struct tdsd_tls_cred **out, const char *cert, const char *key, char *err,
	    size_t errlen);
void	 tdsd_tls_cred_free(struct tdsd_tls_cred *cred);

/*
 * Run the server's handshake on fd, every TLS record the client sends read from TDS packets (any type;
 * FreeTDS and SQL Server use PRELOGIN) and every record we send wrapped in PRELOGIN packets, all within
 * timeout_ms.  0 and *out (end it with tdsd_tls_end), or -1 + err naming the failure (with the alert the
 * client sent, e.g. "unknown CA" or "bad certificate"); nothing to free then.
 */
int	 tdsd_tls_accept(struct tdsd_tls **out, const struct tdsd_tls_cred *cred, int fd, int timeout_ms,
	    char *err, size_t errlen);
/* "TLS1.2, ECDHE-RSA-AES-256-GCM"-style description of the session (static until tdsd_tls_end). */
const char *tdsd_tls_desc(struct tdsd_tls *t);
/* Decrypted bytes waiting inside GnuTLS (poll() on the socket does not see them). */
size_t	 tdsd_tls_pending(struct tdsd_tls *t);
/* Read up to n bytes within timeout_ms: > 0 bytes, 0 on end of stream, -1 on error or timeout. */
ssize_t	 tdsd_tls_read(struct tdsd_tls *t, void *p, size_t n, int timeout_ms);
/* Write all n bytes: 0, or -1 when the connection failed. */
int	 tdsd_tls_write(struct tdsd_tls *t, const void *p, size_t n);
/*
 * Forget the session without a close_notify (a FreeTDS client leaves TLS so after LOGIN7 when ENCRYPT_OFF
 * was negotiated; the socket then carries plain TDS again).  NULL is fine.
 */
void	 tdsd_tls_end(struct tdsd_tls *t);

#endif
