/*
 * tcpprobe.c — see tcpprobe.h.  Called by rpc.c (a connect that failed before TCP was up: Samba reports a
 * refused connect as NT_STATUS_NO_MEMORY, doc/FIELD-NOTES.md) and smblog.c (libsmbclient reports a silent TCP
 * connect and a stalled SMB reply with the same ETIMEDOUT).  One socket, closed before returning.
 */
#include "tcpprobe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static enum tcpprobe_result
from_errno(int e)
{
	switch (e) {
	case 0:			return TCPPROBE_CONNECTED;
	case ECONNREFUSED:	return TCPPROBE_REFUSED;
	case EHOSTUNREACH:
	case ENETUNREACH:	return TCPPROBE_NO_ROUTE;
	case ETIMEDOUT:		return TCPPROBE_TIMEOUT;
	default:		return TCPPROBE_ERROR;
	}
}

enum tcpprobe_result
tcpprobe_445(const char *addr, int timeout_s)
{
	struct addrinfo		 hints, *res = NULL;
	struct pollfd		 pfd;
	enum tcpprobe_result	 out = TCPPROBE_ERROR;
	socklen_t		 sl;
	int			 fd = -1, rc, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (addr == NULL || getaddrinfo(addr, "445", &hints, &res) != 0 || res == NULL)
		return TCPPROBE_ERROR;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto done;
	if (connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
		out = TCPPROBE_CONNECTED;
		goto done;
	}
	if (errno != EINPROGRESS) {
		out = from_errno(errno);
		goto done;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do {
		rc = poll(&pfd, 1, (timeout_s > 0 ? timeout_s : 1) * 1000);
	} while (rc == -1 && errno == EINTR);
	sl = sizeof(soerr);
	if (rc == 0)
		out = TCPPROBE_TIMEOUT;
	else if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
		out = from_errno(soerr);
done:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return out;
}
