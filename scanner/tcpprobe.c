/*
 * tcpprobe.c — see tcpprobe.h.  Called by rpc.c (a connect that failed before TCP was up: Samba reports a
 * refused connect as NT_STATUS_NO_MEMORY, doc/FIELD-NOTES.md) and smblog.c (libsmbclient reports a silent TCP
 * connect and a stalled SMB reply with the same ETIMEDOUT).  One socket, closed before returning.
 * tcpprobe_drop_445 walks /proc/self/fd (proc(5)) for the sockets a client library opened to a host.
 */
#include "tcpprobe.h"

#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* 1 when fd is a TCP socket whose peer is want (same family and address) port 445. */
static int
peer_is(int fd, const struct sockaddr *want)
{
	struct sockaddr_storage	 ss;
	struct stat		 sb;
	socklen_t		 sl = sizeof(ss);
	int			 type;
	socklen_t		 tl = sizeof(type);

	if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == -1 || type != SOCK_STREAM ||
	    getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 || ss.ss_family != want->sa_family)
		return 0;
	if (want->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss, *b = (const struct sockaddr_in *)want;

		return a->sin_port == htons(445) && a->sin_addr.s_addr == b->sin_addr.s_addr;
	}
	if (want->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss, *b = (const struct sockaddr_in6 *)want;

		return a->sin6_port == htons(445) && memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
	}
	return 0;
}

int
tcpprobe_drop_445(const char *addr)
{
	struct addrinfo	 hints, *ai = NULL;
	struct dirent	*de;
	DIR		*d;
	long		 fd;
	char		*end;
	int		 n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	hints.ai_socktype = SOCK_STREAM;
	if (addr == NULL || getaddrinfo(addr, NULL, &hints, &ai) != 0 || ai == NULL)
		return 0;
	if ((d = opendir("/proc/self/fd")) != NULL) {
		while ((de = readdir(d)) != NULL) {
			fd = strtol(de->d_name, &end, 10);
			if (*end != '\0' || end == de->d_name || fd < 0 || fd == dirfd(d))
				continue;
			if (peer_is((int)fd, ai->ai_addr) && shutdown((int)fd, SHUT_RDWR) == 0)
				n++;
		}
		closedir(d);
	}
	freeaddrinfo(ai);
	return n;
}
