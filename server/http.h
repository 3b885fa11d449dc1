/*
 * http.h — dpfleet-server's HTTP(S) front: libmicrohttpd with an internal epoll thread pool, one store
 * connection and one response cache per worker thread, the 64 KiB body cap, static files, security headers
 * and the per-request log line.
 */
#ifndef DPFLEET_HTTP_H
#define DPFLEET_HTTP_H

#include <stddef.h>

#include "config.h"

struct http_server;

/*
 * Listen on conf->http.listen (TLS when tls_cert/tls_key are set) and serve until http_stop().
 * threads: worker threads (clamped to 2..4).  0 and *out, or -1 with err (nothing left running).
 */
int	 http_start(struct http_server **out, const struct config *conf, int threads, char *err,
	    size_t errlen);

/* Stop accepting, finish or drop open connections, join the workers, free everything.  NULL is fine. */
void	 http_stop(struct http_server *s);

#endif
