/*
 * rpc.c — the winreg transport: one DCE/RPC pipe over SMB2/3 (ncacn_np, \pipe\winreg) per host, built on
 * Samba's public dcerpc library (dcerpc_pipe_connect_b + dcerpc_binding_handle_raw_call).  rrp.c encodes and
 * decodes the stubs; this file only moves them.  Called by the scanner's worker processes (one connection at
 * a time) and by tests/integration/rpc_smbd_test.
 *
 * Assumptions: libdcerpc exports no ndr_table_winreg (it lives in a Debian-private library we must not link),
 * so a minimal interface table is built here: syntax 338cd001-2244-31f1-aaaa-900038001003 v1.0, endpoint
 * \pipe\winreg, no call table (raw calls do not need one).  The loadparm context comes from loadparm_init(),
 * which never reads /etc/samba/smb.conf; everything the client needs is set explicitly below.  Samba's connect
 * phase has a fixed 60 s timeout and reports a refused TCP connection as NT_STATUS_NO_MEMORY (NOTES §5):
 * ambiguous failures are therefore classified by a short TCP probe to port 445 made only after the failure,
 * so the happy path costs the host a single connection.  To bound the connect phase by the caller's timeout
 * anyway, a tevent timer on our own event context (the one Samba's synchronous connect loops on) shuts down
 * the TCP sockets this process opened during the connect (fds absent from a snapshot taken just before),
 * which makes Samba fail the connect at once; the failure is then classified `timeout`.  This relies on one
 * connection attempt at a time per process, which is how the scanner's workers use this module.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Samba's public headers define static inline stubs with unused parameters. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <talloc.h>
#include <tevent.h>
#include <util/data_blob.h>
#include <core/ntstatus.h>
#include <core/error.h>
#include <gen_ndr/misc.h>
#include <ndr.h>
#include <credentials.h>
#include <param.h>
#include <dcerpc.h>
#include <rpc_common.h>
#pragma GCC diagnostic pop

#include "rpc.h"
#include "util.h"

struct rpc_conn {
	TALLOC_CTX		*mem;	/* owns everything below */
	struct tevent_context	*ev;
	struct dcerpc_pipe	*pipe;
};

static const char *const winreg_endpoint_names[] = {
	"ncacn_np:[\\pipe\\winreg]",
};
static const struct ndr_interface_string_array winreg_endpoints = {
	.count = 1,
	.names = winreg_endpoint_names,
};
static const char *const winreg_authservice_names[] = {
	"host",
};
static const struct ndr_interface_string_array winreg_authservices = {
	.count = 1,
	.names = winreg_authservice_names,
};
static const struct ndr_interface_table winreg_table = {
	.name = "winreg",
	.syntax_id = {
		.uuid = { 0x338cd001, 0x2244, 0x31f1, { 0xaa, 0xaa }, { 0x90, 0x00, 0x38, 0x00, 0x10, 0x03 } },
		.if_version = 1,
	},
	.helpstring = "Remote Registry Service",
	.num_calls = 0,
	.calls = NULL,
	.num_public_structs = 0,
	.public_structs = NULL,
	.endpoints = &winreg_endpoints,
	.authservices = &winreg_authservices,
};

const char *
rpc_fail_str(enum rpc_fail why)
{
	switch (why) {
	case RPC_FAIL_NONE:	return "";
	case RPC_FAIL_REFUSED:	return "refused";
	case RPC_FAIL_TIMEOUT:	return "timeout";
	case RPC_FAIL_LOGON:	return "logon_failure";
	case RPC_FAIL_NO_ROUTE:	return "no_route";
	case RPC_FAIL_OTHER:	return "other";
	}
	return "other";
}

/*
 * Classify an ambiguous connect failure: a non-blocking TCP connect to addr:445 within timeout_s.
 * Returns RPC_FAIL_REFUSED / NO_ROUTE / TIMEOUT, or RPC_FAIL_OTHER when the port answers (the failure was
 * above TCP) or the address does not resolve.
 */
static enum rpc_fail
probe_445(const char *addr, int timeout_s)
{
	struct addrinfo		 hints, *res = NULL;
	struct pollfd		 pfd;
	enum rpc_fail		 why = RPC_FAIL_OTHER;
	socklen_t		 sl;
	int			 fd = -1, rc, soerr = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(addr, "445", &hints, &res) != 0 || res == NULL)
		return RPC_FAIL_OTHER;
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto done;
	if (connect(fd, res->ai_addr, res->ai_addrlen) == 0)
		goto done;
	if (errno != EINPROGRESS) {
		soerr = errno;
	} else {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			rc = poll(&pfd, 1, timeout_s * 1000);
		} while (rc == -1 && errno == EINTR);
		if (rc == 0) {
			why = RPC_FAIL_TIMEOUT;
			goto done;
		}
		sl = sizeof(soerr);
		if (rc == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
			goto done;
	}
	switch (soerr) {
	case ECONNREFUSED:
		why = RPC_FAIL_REFUSED;
		break;
	case EHOSTUNREACH:
	case ENETUNREACH:
		why = RPC_FAIL_NO_ROUTE;
		break;
	case ETIMEDOUT:
		why = RPC_FAIL_TIMEOUT;
		break;
	default:
		break;
	}
done:
	if (fd != -1)
		close(fd);
	freeaddrinfo(res);
	return why;
}

static enum rpc_fail
classify(NTSTATUS st, const char *addr, int timeout_s)
{
	if (NT_STATUS_EQUAL(st, NT_STATUS_CONNECTION_REFUSED) || NT_STATUS_EQUAL(st, NT_STATUS_PORT_CONNECTION_REFUSED))
		return RPC_FAIL_REFUSED;
	if (NT_STATUS_EQUAL(st, NT_STATUS_IO_TIMEOUT))
		return RPC_FAIL_TIMEOUT;
	if (NT_STATUS_EQUAL(st, NT_STATUS_HOST_UNREACHABLE) || NT_STATUS_EQUAL(st, NT_STATUS_NETWORK_UNREACHABLE))
		return RPC_FAIL_NO_ROUTE;
	if (NT_STATUS_EQUAL(st, NT_STATUS_LOGON_FAILURE) || NT_STATUS_EQUAL(st, NT_STATUS_WRONG_PASSWORD) ||
	    NT_STATUS_EQUAL(st, NT_STATUS_NO_SUCH_USER) || NT_STATUS_EQUAL(st, NT_STATUS_ACCOUNT_DISABLED) ||
	    NT_STATUS_EQUAL(st, NT_STATUS_ACCOUNT_LOCKED_OUT) || NT_STATUS_EQUAL(st, NT_STATUS_ACCOUNT_EXPIRED) ||
	    NT_STATUS_EQUAL(st, NT_STATUS_PASSWORD_EXPIRED) || NT_STATUS_EQUAL(st, NT_STATUS_ACCOUNT_RESTRICTION))
		return RPC_FAIL_LOGON;
	/* Samba reports a refused connect as NO_MEMORY and some socket errors as UNSUCCESSFUL: ask TCP. */
	return probe_445(addr, timeout_s);
}

#define GUARD_FDS	4096	/* fds above this are never shut down by the connect guard */

/* The fds open before the connect, and whether the deadline fired. */
struct connect_guard {
	uint8_t			 before[GUARD_FDS / 8];
	int			 fired;
	struct tevent_timer	*te;	/* NULL once fired: tevent frees a timer after running it */
};

static void
guard_snapshot(struct connect_guard *g)
{
	DIR		*d;
	struct dirent	*de;
	long		 fd;

	memset(g, 0, sizeof(*g));
	if ((d = opendir("/proc/self/fd")) == NULL) {
		memset(g->before, 0xff, sizeof(g->before));	/* cannot tell: never touch anything */
		return;
	}
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (fd >= 0 && fd < GUARD_FDS && fd != dirfd(d))	/* the listing's own fd is closed below */
			g->before[fd / 8] |= 1u << (fd % 8);
	}
	closedir(d);
}

static void
guard_fire(struct tevent_context *ev, struct tevent_timer *te, struct timeval now, void *arg)
{
	struct connect_guard	*g = arg;
	struct stat		 sb;
	int			 fd, dom, type;
	socklen_t		 sl;

	(void)ev;
	(void)te;
	(void)now;
	g->fired = 1;
	g->te = NULL;
	for (fd = 0; fd < GUARD_FDS; fd++) {
		if (g->before[fd / 8] & (1u << (fd % 8)))
			continue;
		if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode))
			continue;
		sl = sizeof(dom);
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) == -1 || (dom != AF_INET && dom != AF_INET6))
			continue;
		sl = sizeof(type);
		if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) == -1 || type != SOCK_STREAM)
			continue;
		(void)shutdown(fd, SHUT_RDWR);	/* aborts a pending connect, or EOF for Samba's reader */
	}
}

static int
lp_set(struct loadparm_context *lp, const char *name, const char *value, char *err, size_t errlen)
{
	if (!lpcfg_set_cmdline(lp, name, value))
		return util_err(err, errlen, "Samba rejected client option \"%s = %s\"", name, value);
	return 0;
}

int
rpc_connect(struct rpc_conn **out, const char *addr, const char *fqdn, const char *domain, const char *user,
    const char *password, int timeout_s, char *err, size_t errlen, enum rpc_fail *why)
{
	struct rpc_conn			*c = NULL;
	struct loadparm_context		*lp;
	struct cli_credentials		*creds;
	struct dcerpc_binding		*b = NULL;
	char				*bstr;
	struct connect_guard		 guard;
	NTSTATUS			 st;

	*out = NULL;
	*why = RPC_FAIL_OTHER;
	if (addr == NULL || *addr == '\0' || strpbrk(addr, "[],\\/") != NULL)
		return util_err(err, errlen, "bad address \"%s\"", addr ? addr : "");
	if (timeout_s <= 0)
		timeout_s = 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return util_err(err, errlen, "out of memory");
	if ((c->mem = talloc_new(NULL)) == NULL ||
	    (c->ev = tevent_context_init(c->mem)) == NULL ||
	    (lp = loadparm_init(c->mem)) == NULL ||
	    (creds = cli_credentials_init(c->mem)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	if (lp_set(lp, "client min protocol", "SMB2_02", err, errlen) == -1 ||
	    lp_set(lp, "client max protocol", "SMB3_11", err, errlen) == -1 ||
	    lp_set(lp, "client ipc min protocol", "SMB2_02", err, errlen) == -1 ||
	    lp_set(lp, "client ipc max protocol", "SMB3_11", err, errlen) == -1 ||
	    lp_set(lp, "client signing", "desired", err, errlen) == -1 ||
	    lp_set(lp, "client ipc signing", "required", err, errlen) == -1 ||
	    lp_set(lp, "client use kerberos", "off", err, errlen) == -1 ||
	    lp_set(lp, "client ntlmv2 auth", "yes", err, errlen) == -1 ||
	    lp_set(lp, "disable netbios", "yes", err, errlen) == -1 ||
	    lp_set(lp, "name resolve order", "host", err, errlen) == -1 ||
	    lp_set(lp, "log level", "0", err, errlen) == -1)
		goto fail;
	cli_credentials_set_conf(creds, lp);
	if (!cli_credentials_set_kerberos_state(creds, CRED_USE_KERBEROS_DISABLED, CRED_SPECIFIED) ||
	    !cli_credentials_set_username(creds, user ? user : "", CRED_SPECIFIED) ||
	    !cli_credentials_set_domain(creds, domain ? domain : "", CRED_SPECIFIED) ||
	    !cli_credentials_set_password(creds, password ? password : "", CRED_SPECIFIED)) {
		util_err(err, errlen, "cannot set credentials");
		goto fail;
	}
	if ((bstr = talloc_asprintf(c->mem, "ncacn_np:%s[\\pipe\\winreg]", addr)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	st = dcerpc_parse_binding(c->mem, bstr, &b);
	if (!NT_STATUS_IS_OK(st)) {
		util_err(err, errlen, "bad binding for %s: %s", addr, nt_errstr(st));
		goto fail;
	}
	if (fqdn != NULL && *fqdn != '\0') {
		st = dcerpc_binding_set_string_option(b, "target_hostname", fqdn);
		if (!NT_STATUS_IS_OK(st)) {
			util_err(err, errlen, "bad target hostname %s: %s", fqdn, nt_errstr(st));
			goto fail;
		}
	}
	st = dcerpc_init();
	if (!NT_STATUS_IS_OK(st)) {
		util_err(err, errlen, "dcerpc_init: %s", nt_errstr(st));
		goto fail;
	}
	guard_snapshot(&guard);
	if ((guard.te = tevent_add_timer(c->ev, c->mem, tevent_timeval_current_ofs(timeout_s, 0), guard_fire,
	    &guard)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	st = dcerpc_pipe_connect_b(c->mem, &c->pipe, b, &winreg_table, creds, c->ev, lp);
	TALLOC_FREE(guard.te);
	if (!NT_STATUS_IS_OK(st) || guard.fired) {
		if (NT_STATUS_IS_OK(st))
			st = NT_STATUS_IO_TIMEOUT;	/* connected, but only after the guard shut sockets */
		*why = guard.fired ? RPC_FAIL_TIMEOUT : classify(st, addr, timeout_s);
		util_err(err, errlen, "winreg connect to %s%s%s%s: %s (%s)", fqdn ? fqdn : addr,
		    fqdn ? " [" : "", fqdn ? addr : "", fqdn ? "]" : "", nt_errstr(st), rpc_fail_str(*why));
		goto fail;
	}
	dcerpc_binding_handle_set_timeout(c->pipe->binding_handle, (uint32_t)timeout_s);
	*why = RPC_FAIL_NONE;
	*out = c;
	return 0;
fail:
	rpc_close(c);
	return -1;
}

int
rpc_call(struct rpc_conn *c, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	TALLOC_CTX	*tmp;
	uint8_t		*o = NULL;
	size_t		 olen = 0;
	uint32_t	 oflags = 0;
	NTSTATUS	 st;
	int		 rc = -1;

	*out = NULL;
	*outlen = 0;
	if (c == NULL || c->pipe == NULL)
		return util_err(err, errlen, "winreg call on a closed connection");
	if ((tmp = talloc_new(c->mem)) == NULL)
		return util_err(err, errlen, "out of memory");
	st = dcerpc_binding_handle_raw_call(c->pipe->binding_handle, NULL, opnum, 0, in, inlen, tmp, &o, &olen,
	    &oflags);
	if (!NT_STATUS_IS_OK(st)) {
		util_err(err, errlen, "winreg opnum %u: %s", opnum, nt_errstr(st));
		goto done;
	}
	if (olen > RPC_REPLY_MAX) {
		util_err(err, errlen, "winreg opnum %u: reply of %zu bytes over the %u-byte cap", opnum, olen,
		    RPC_REPLY_MAX);
		goto done;
	}
	if ((*out = malloc(olen ? olen : 1)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto done;
	}
	if (olen > 0)
		memcpy(*out, o, olen);
	*outlen = olen;
	rc = 0;
done:
	talloc_free(tmp);
	return rc;
}

int
rpc_rrp_call(void *conn, uint32_t opnum, const uint8_t *in, size_t inlen, uint8_t **out, size_t *outlen,
    char *err, size_t errlen)
{
	return rpc_call(conn, opnum, in, inlen, out, outlen, err, errlen);
}

void
rpc_close(struct rpc_conn *c)
{
	if (c == NULL)
		return;
	/* Freeing the pipe closes the SMB file, logs the session off and closes the socket. */
	talloc_free(c->mem);
	free(c);
}
