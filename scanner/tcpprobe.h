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

/*
 * Shut down (SHUT_RDWR) every TCP socket of this process connected to addr (an address literal; a name
 * matches nothing) port 445, so that a client library tearing its connection down fails its closing requests
 * at once instead of sending them and waiting for their replies (rpc.c, smblog.c): the server closes what the
 * connection held when it goes (MS-SMB2 3.3.7.1).  The descriptors stay the library's to close.  The process
 * must ignore SIGPIPE (the scanner's do: parent.c, sched.c), as the library's next write gets EPIPE.
 * Returns how many sockets it shut; never fails.
 */
int			 tcpprobe_drop_445(const char *addr);

#endif
