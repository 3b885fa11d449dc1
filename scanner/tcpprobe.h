/*
 * tcpprobe.h — one TCP connect to a host's port 445, to tell after a failure whether TCP itself answered
 * (refused, unreachable, silent) or the failure was above TCP.  Used by rpc.c and smblog.c, never on the
 * happy path.
 */
#ifndef DPFLEET_TCPPROBE_H
#define DPFLEET_TCPPROBE_H

enum tcpprobe_result {
	TCPPROBE_CONNECTED = 0,	/* the port accepted the connection (closed again at once) */
	TCPPROBE_REFUSED,	/* RST */
	TCPPROBE_NO_ROUTE,	/* host or network unreachable */
	TCPPROBE_TIMEOUT,	/* no answer within timeout_s */
	TCPPROBE_ERROR,		/* the address does not resolve, or a local error */
};

/* A non-blocking connect to addr (a literal or a name) port 445 within timeout_s (>= 1).  Never fails. */
enum tcpprobe_result	 tcpprobe_445(const char *addr, int timeout_s);

#endif
