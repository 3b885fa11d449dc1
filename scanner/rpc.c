/*
 * rpc.c — the winreg transport: one DCE/RPC pipe over SMB2/3 (ncacn_np, \pipe\winreg) per host, built on
 * Samba's public dcerpc library (dcerpc_pipe_connect_b + dcerpc_binding_handle_raw_call).  rrp.c encodes and
 * decodes the stubs; this file only moves them.  Called by the scanner's worker processes (one connection at
 * a time) and by tests/integration/rpc_smbd_test.
 *
 * Assumptions: libdcerpc exports no ndr_table_winreg (it lives in a Debian-private library we must not link),
 * so a minimal interface table is built here: syntax 338cd001-2244-31f1-aaaa-900038001003 v1.0, endpoint
 * \pipe\winreg, no call table (raw calls do not need one).  The loadparm context comes from loadparm_init(),
 * which never reads /etc/samba/smb.conf; everything the client needs is set explicitly (rpc_setup.c).
 *
 * Phases.  Samba's public library offers SMB2 only inside the composite dcerpc_pipe_connect_b (smb2_connect is
 * in a private library), so the connect runs as one composite on our own tevent context and its progress is
 * read from public state after every event-loop iteration (a tevent trace callback):
 *   tcp   until the socket this process opened to port 445 has a peer (getpeername; the socket is the new
 *         AF_INET/AF_INET6 stream fd, absent from a snapshot taken just before the connect);
 *   smb   until dcecli_connection.server_name is set: Samba sets it as it starts the pipe open, right after the
 *         tree connect to IPC$ succeeded (source4/librpc/rpc/dcerpc_smb.c, dcerpc_pipe_open_smb_send);
 *   pipe  until dcecli_connection.transport.stream is set: the CREATE of \winreg succeeded
 *         (dcerpc_pipe_open_smb_done in the same file);
 *   bind  until the composite completes.
 * The struct dcerpc_pipe under construction is found as the talloc child of the composite that
 * dcerpc_pipe_connect_b_send allocates (source4/librpc/rpc/dcerpc_connect.c); struct dcerpc_pipe and struct
 * dcecli_connection are declared in the public dcerpc.h.  Each phase gets its own timeout_s: a tevent timer,
 * moved on whenever a phase is reached, shuts down the TCP sockets this process opened during the connect,
 * which makes Samba fail the connect at once; the failure then counts as NT_STATUS_IO_TIMEOUT in the phase it
 * stalled in.  rpc_classify turns (NTSTATUS, phase) into a lib/reason.h word.  Samba reports a refused TCP
 * connection as NT_STATUS_NO_MEMORY (doc/FIELD-NOTES.md): a failure in the tcp phase with no clear status is
 * classified by a short TCP probe to port 445 made only after the failure, so the happy path costs the host a
 * single connection.  This relies on one connection attempt at a time per process, which is how the
 * scanner's workers use this module; tests/integration/rpc_smbd_test.py checks every phase against smbd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
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
#define TEVENT_DEPRECATED	/* tevent_loop_allow_nesting: see rpc_connect */
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
#include "rpc_int.h"
#include "cred.h"
#include "krb.h"
#include "tcpprobe.h"
#include "util.h"

struct rpc_conn {
	TALLOC_CTX		*mem;	/* owns everything below */
	struct tevent_context	*ev;
	struct dcerpc_pipe	*pipe;
	enum rpc_fail		 last_fail;	/* of the last rpc_call */
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
	case RPC_FAIL_NONE:		return "";
	case RPC_FAIL_REFUSED:		return "refused";
	case RPC_FAIL_TIMEOUT:		return "timeout";
	case RPC_FAIL_SMB_TIMEOUT:	return "smb_timeout";
	case RPC_FAIL_RPC_UNAVAILABLE:	return "rpc_unavailable";
	case RPC_FAIL_RPC_TIMEOUT:	return "rpc_timeout";
	case RPC_FAIL_LOGON:		return "logon_failure";
	case RPC_FAIL_ACCESS_DENIED:	return "access_denied";
	case RPC_FAIL_NO_ROUTE:		return "no_route";
	case RPC_FAIL_PROTOCOL:		return "protocol";
	case RPC_FAIL_KERBEROS:		return "kerberos";
	case RPC_FAIL_OTHER:		break;
	}
	return "error";
}

const char *
rpc_phase_str(enum rpc_phase ph)
{
	switch (ph) {
	case RPC_PHASE_TCP:	return "tcp";
	case RPC_PHASE_SMB:	return "smb";
	case RPC_PHASE_PIPE:	return "pipe";
	case RPC_PHASE_BIND:	return "bind";
	case RPC_PHASE_CALL:	return "call";
	}
	return "tcp";
}

/* What an NTSTATUS says, before the phase is taken into account. */
enum nt_kind { K_STALL, K_BROKEN, K_REFUSED, K_NO_ROUTE, K_LOGON, K_DENIED, K_PIPE, K_PROTOCOL, K_KERBEROS };

/* NTSTATUS values: MS-ERREF 2.3.1 (names as in Samba's libcli/util/ntstatus_err_table.txt). */
static const struct { uint32_t code; enum nt_kind kind; } nt_kinds[] = {
	{ 0xC00000B5, K_STALL },	/* IO_TIMEOUT */
	{ 0xC000020D, K_BROKEN },	/* CONNECTION_RESET */
	{ 0xC000020C, K_BROKEN },	/* CONNECTION_DISCONNECTED */
	{ 0xC0000241, K_BROKEN },	/* CONNECTION_ABORTED */
	{ 0xC000013B, K_BROKEN },	/* LOCAL_DISCONNECT */
	{ 0xC000013C, K_BROKEN },	/* REMOTE_DISCONNECT */
	{ 0xC0000011, K_BROKEN },	/* END_OF_FILE */
	{ 0xC000014B, K_BROKEN },	/* PIPE_BROKEN */
	{ 0xC00000B0, K_BROKEN },	/* PIPE_DISCONNECTED */
	{ 0xC00000B1, K_BROKEN },	/* PIPE_CLOSING */
	{ 0xC00000C9, K_BROKEN },	/* NETWORK_NAME_DELETED */
	{ 0xC00000C4, K_BROKEN },	/* UNEXPECTED_NETWORK_ERROR */
	{ 0xC000035C, K_BROKEN },	/* NETWORK_SESSION_EXPIRED */
	{ 0xC0000203, K_BROKEN },	/* USER_SESSION_DELETED */
	{ 0xC000009A, K_BROKEN },	/* INSUFFICIENT_RESOURCES */
	{ 0xC00000D0, K_BROKEN },	/* REQUEST_NOT_ACCEPTED (the server's connection limit) */
	{ 0xC0000236, K_REFUSED },	/* CONNECTION_REFUSED */
	{ 0xC0000041, K_REFUSED },	/* PORT_CONNECTION_REFUSED */
	{ 0xC000023D, K_NO_ROUTE },	/* HOST_UNREACHABLE */
	{ 0xC000023C, K_NO_ROUTE },	/* NETWORK_UNREACHABLE */
	{ 0xC00000BE, K_NO_ROUTE },	/* BAD_NETWORK_PATH */
	{ 0xC000006D, K_LOGON },	/* LOGON_FAILURE */
	{ 0xC000006A, K_LOGON },	/* WRONG_PASSWORD */
	{ 0xC0000064, K_LOGON },	/* NO_SUCH_USER */
	{ 0xC0000072, K_LOGON },	/* ACCOUNT_DISABLED */
	{ 0xC0000234, K_LOGON },	/* ACCOUNT_LOCKED_OUT */
	{ 0xC0000193, K_LOGON },	/* ACCOUNT_EXPIRED */
	{ 0xC0000071, K_LOGON },	/* PASSWORD_EXPIRED */
	{ 0xC000006E, K_LOGON },	/* ACCOUNT_RESTRICTION */
	{ 0xC0000224, K_LOGON },	/* PASSWORD_MUST_CHANGE */
	{ 0xC000006F, K_LOGON },	/* INVALID_LOGON_HOURS */
	{ 0xC0000070, K_LOGON },	/* INVALID_WORKSTATION */
	{ 0xC000015B, K_LOGON },	/* LOGON_TYPE_NOT_GRANTED */
	{ 0xC0000418, K_LOGON },	/* NTLM_BLOCKED */
	{ 0xC0000022, K_DENIED },	/* ACCESS_DENIED */
	{ 0xC00000CA, K_DENIED },	/* NETWORK_ACCESS_DENIED */
	{ 0xC0000034, K_PIPE },		/* OBJECT_NAME_NOT_FOUND: no pipe server end */
	{ 0xC000003A, K_PIPE },		/* OBJECT_PATH_NOT_FOUND */
	{ 0xC00000AC, K_PIPE },		/* PIPE_NOT_AVAILABLE: Remote Registry still starting */
	{ 0xC00000AE, K_PIPE },		/* PIPE_BUSY */
	{ 0xC00000AB, K_PIPE },		/* INSTANCE_NOT_AVAILABLE */
	/* What Samba's krb5_to_nt_status (lib/krb5_wrap/krb5_errs.c) makes of the Kerberos failures that are
	 * not a bad password: the KDC, the clock, the service principal, the realm, the ticket cache. */
	{ 0xC000005E, K_KERBEROS },	/* NO_LOGON_SERVERS: KRB5_KDC_UNREACH */
	{ 0xC0000133, K_KERBEROS },	/* TIME_DIFFERENCE_AT_DC: clock skew */
	{ 0xC0000122, K_KERBEROS },	/* INVALID_COMPUTER_NAME: KDC_ERR_S_PRINCIPAL_UNKNOWN (no cifs/<fqdn>) */
	{ 0xC0000062, K_KERBEROS },	/* INVALID_ACCOUNT_NAME: KDC_ERR_C_PRINCIPAL_UNKNOWN */
	{ 0xC0000233, K_KERBEROS },	/* DOMAIN_CONTROLLER_NOT_FOUND: KRB5_REALM_CANT_RESOLVE */
	{ 0xC00000DF, K_KERBEROS },	/* NO_SUCH_DOMAIN: KRB5_REALM_UNKNOWN */
	{ 0xC00000C3, K_PROTOCOL },	/* INVALID_NETWORK_RESPONSE */
	{ 0xC00000BB, K_PROTOCOL },	/* NOT_SUPPORTED (e.g. no SMB2 dialect in common) */
	{ 0xC002001D, K_PROTOCOL },	/* RPC_PROTOCOL_ERROR */
};

enum rpc_fail
rpc_classify(uint32_t ntstatus, enum rpc_phase phase)
{
	size_t i;

	for (i = 0; i < sizeof(nt_kinds) / sizeof(nt_kinds[0]); i++) {
		if (nt_kinds[i].code != ntstatus)
			continue;
		switch (nt_kinds[i].kind) {
		case K_STALL:
			return phase == RPC_PHASE_TCP ? RPC_FAIL_TIMEOUT : phase == RPC_PHASE_SMB ?
			    RPC_FAIL_SMB_TIMEOUT : RPC_FAIL_RPC_TIMEOUT;
		case K_REFUSED:
			/* After the TCP connect it is the pipe's server end that refused (smbd without
			 * samba-dcerpcd answers the CREATE so): the phase's word, as for a broken connection. */
			if (phase == RPC_PHASE_TCP)
				return RPC_FAIL_REFUSED;
			/* FALLTHROUGH */
		case K_BROKEN:
			return phase == RPC_PHASE_TCP ? RPC_FAIL_OTHER : phase == RPC_PHASE_SMB ?
			    RPC_FAIL_SMB_TIMEOUT : phase == RPC_PHASE_PIPE ? RPC_FAIL_RPC_UNAVAILABLE :
			    RPC_FAIL_RPC_TIMEOUT;
		case K_NO_ROUTE: return RPC_FAIL_NO_ROUTE;
		case K_LOGON:	return RPC_FAIL_LOGON;
		case K_DENIED:	return RPC_FAIL_ACCESS_DENIED;
		case K_PIPE:	return RPC_FAIL_RPC_UNAVAILABLE;
		case K_PROTOCOL: return RPC_FAIL_PROTOCOL;
		case K_KERBEROS: return RPC_FAIL_KERBEROS;
		}
	}
	if ((ntstatus & 0xFFFF0000u) == 0xC0020000u)	/* RPC_NT_* (MS-ERREF 2.3.1): a DCE/RPC fault */
		return RPC_FAIL_PROTOCOL;
	return RPC_FAIL_OTHER;
}

/* A failure in the tcp phase with no clear status: ask TCP itself (tcpprobe.h).  RPC_FAIL_OTHER when the port
 * answers (the failure was above TCP) or the address does not resolve. */
static enum rpc_fail
probe_445(const char *addr, int timeout_s)
{
	switch (tcpprobe_445(addr, timeout_s)) {
	case TCPPROBE_REFUSED:	return RPC_FAIL_REFUSED;
	case TCPPROBE_NO_ROUTE:	return RPC_FAIL_NO_ROUTE;
	case TCPPROBE_TIMEOUT:	return RPC_FAIL_TIMEOUT;
	default:		return RPC_FAIL_OTHER;
	}
}

#define GUARD_FDS	4096	/* fds above this are never looked at nor shut down */
#define GUARD_SLACK	64	/* the new socket is looked for up to this far above the highest fd open before */

/* A connect in progress: the fds open before it, how far it got, its phase timer. */
struct connect_watch {
	uint8_t			 before[GUARD_FDS / 8];
	int			 scan_max;	/* fds [0, scan_max) are looked at for the new socket */
	int			 timeout_s;	/* per phase */
	int			 fired;		/* a phase timed out: sockets shut down */
	enum rpc_phase		 phase;
	struct dcerpc_pipe	*pipe;		/* the composite's pipe under construction; NULL if not found */
	struct tevent_timer	*te;		/* NULL once fired: tevent frees a timer after running it */
};

static void
watch_snapshot(struct connect_watch *w)
{
	DIR		*d;
	struct dirent	*de;
	long		 fd, top = -1;

	memset(w->before, 0, sizeof(w->before));
	w->scan_max = GUARD_FDS;
	if ((d = opendir("/proc/self/fd")) == NULL) {
		memset(w->before, 0xff, sizeof(w->before));	/* cannot tell: never touch anything */
		return;
	}
	while ((de = readdir(d)) != NULL) {
		fd = strtol(de->d_name, NULL, 10);
		if (fd >= 0 && fd < GUARD_FDS && fd != dirfd(d)) {	/* the listing's own fd is closed below */
			w->before[fd / 8] |= 1u << (fd % 8);
			if (fd > top)
				top = fd;
		}
	}
	closedir(d);
	w->scan_max = top + 1 + GUARD_SLACK < GUARD_FDS ? (int)(top + 1 + GUARD_SLACK) : GUARD_FDS;
}

/* 1 when fd is a TCP socket (IPv4 or IPv6) opened since the snapshot. */
static int
watch_new_tcp(const struct connect_watch *w, int fd)
{
	struct stat	sb;
	int		dom, type;
	socklen_t	sl;

	if (w->before[fd / 8] & (1u << (fd % 8)))
		return 0;
	if (fstat(fd, &sb) == -1 || !S_ISSOCK(sb.st_mode))
		return 0;
	sl = sizeof(dom);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &sl) == -1 || (dom != AF_INET && dom != AF_INET6))
		return 0;
	sl = sizeof(type);
	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &sl) == 0 && type == SOCK_STREAM;
}

/* 1 when a TCP socket opened since the snapshot is connected (has a peer). */
static int
watch_tcp_up(const struct connect_watch *w)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			fd;

	for (fd = 0; fd < w->scan_max; fd++) {
		sl = sizeof(ss);
		if (watch_new_tcp(w, fd) && getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
			return 1;
	}
	return 0;
}

/* Read how far the connect got (see the file's header); 1 when a new phase was reached. */
static int
watch_advance(struct connect_watch *w)
{
	enum rpc_phase ph = w->phase;

	if (ph == RPC_PHASE_TCP && watch_tcp_up(w))
		ph = RPC_PHASE_SMB;
	if (w->pipe != NULL && w->pipe->conn != NULL) {
		if (ph < RPC_PHASE_PIPE && w->pipe->conn->server_name != NULL)
			ph = RPC_PHASE_PIPE;
		if (ph < RPC_PHASE_BIND && w->pipe->conn->transport.stream != NULL)
			ph = RPC_PHASE_BIND;
	}
	if (ph == w->phase)
		return 0;
	w->phase = ph;
	return 1;
}

/* tevent trace callback: after every loop iteration, a phase reached restarts the phase clock. */
static void
watch_trace(enum tevent_trace_point tp, void *arg)
{
	struct connect_watch *w = arg;

	if (tp != TEVENT_TRACE_AFTER_LOOP_ONCE || w->fired || w->te == NULL)
		return;
	if (watch_advance(w))
		tevent_update_timer(w->te, tevent_timeval_current_ofs(w->timeout_s, 0));
}

static void
watch_fire(struct tevent_context *ev, struct tevent_timer *te, struct timeval now, void *arg)
{
	struct connect_watch	*w = arg;
	int			 fd;

	(void)te;
	(void)now;
	w->te = NULL;
	if (watch_advance(w)) {
		/* The phase ended just now: the next one gets its own clock. */
		w->te = tevent_add_timer(ev, NULL, tevent_timeval_current_ofs(w->timeout_s, 0), watch_fire, w);
		if (w->te != NULL)
			return;
	}
	w->fired = 1;
	for (fd = 0; fd < GUARD_FDS; fd++)
		if (watch_new_tcp(w, fd))
			(void)shutdown(fd, SHUT_RDWR);	/* aborts a pending connect, or EOF for Samba's reader */
}

/* talloc_report_depth_cb callback: the struct dcerpc_pipe directly under the connect composite. */
static void
watch_find_pipe(const void *ptr, int depth, int max_depth, int is_ref, void *arg)
{
	struct connect_watch *w = arg;
	const char *name;

	(void)max_depth;
	if (depth != 1 || is_ref || w->pipe != NULL)
		return;
	name = talloc_get_name(ptr);
	if (name != NULL && strcmp(name, "struct dcerpc_pipe") == 0)
		w->pipe = (struct dcerpc_pipe *)(uintptr_t)ptr;
}
/*
 * Run Samba's composite connect under the phase watch (see the file's header).  NT_STATUS_OK with c->pipe
 * set; otherwise the status (NT_STATUS_IO_TIMEOUT when a phase's clock ran out) and w->phase where it failed.
 */
static NTSTATUS
conn_watched(struct rpc_conn *c, struct dcerpc_binding *b, struct cli_credentials *creds,
    struct loadparm_context *lp, struct connect_watch *w, int timeout_s)
{
	struct composite_context	*cc;
	tevent_trace_callback_t		 old_cb = NULL;
	void				*old_arg = NULL;
	NTSTATUS			 st;

	memset(w, 0, sizeof(*w));
	watch_snapshot(w);
	w->timeout_s = timeout_s;
	w->phase = RPC_PHASE_TCP;
	if ((w->te = tevent_add_timer(c->ev, NULL, tevent_timeval_current_ofs(timeout_s, 0), watch_fire, w)) == NULL)
		return NT_STATUS_NO_MEMORY;
	tevent_get_trace_callback(c->ev, &old_cb, &old_arg);
	tevent_set_trace_callback(c->ev, watch_trace, w);
	cc = dcerpc_pipe_connect_b_send(c->mem, b, &winreg_table, creds, c->ev, lp);
	if (cc != NULL)
		talloc_report_depth_cb(cc, 0, 1, watch_find_pipe, w);
	st = cc == NULL ? NT_STATUS_NO_MEMORY : dcerpc_pipe_connect_b_recv(cc, c->mem, &c->pipe);
	tevent_set_trace_callback(c->ev, old_cb, old_arg);
	TALLOC_FREE(w->te);
	w->pipe = NULL;		/* freed with the composite */
	if (w->fired) {
		if (NT_STATUS_IS_OK(st))
			TALLOC_FREE(c->pipe);	/* connected only after the clock shut its socket */
		return NT_STATUS_IO_TIMEOUT;
	}
	return st;
}

/*
 * A failed connect: the reason word and the error line.  A session setup that fails in a way no table entry
 * names, while Kerberos was the only way in (auth = kerberos or a keytab set), is a Kerberos failure: Samba
 * reports what the GSSAPI layer said in many shapes (source3/libsmb/cliconnect.c, source4/auth/gensec).
 */
static void
conn_failed(NTSTATUS st, enum rpc_phase ph, const char *addr, const char *fqdn, const struct cred *cr,
    int timeout_s, enum rpc_fail *why, char *err, size_t errlen)
{
	char who[CONFIG_STR + CONFIG_STR + 2];

	*why = rpc_classify(NT_STATUS_V(st), ph);
	if (*why == RPC_FAIL_OTHER && ph == RPC_PHASE_TCP)
		*why = probe_445(addr, timeout_s);
	if ((*why == RPC_FAIL_OTHER || *why == RPC_FAIL_PROTOCOL) && ph == RPC_PHASE_SMB &&
	    (cr->auth == CRED_AUTH_KERBEROS || cr->ccache[0] != '\0'))
		*why = RPC_FAIL_KERBEROS;
	rpc_cred_who(cr, who, sizeof(who));
	util_err(err, errlen, "winreg connect to %s%s%s%s as %s%s: %s in the %s phase (%s)", fqdn ? fqdn : addr,
	    fqdn ? " [" : "", fqdn ? addr : "", fqdn ? "]" : "", who,
	    cr->auth == CRED_AUTH_KERBEROS ? " (kerberos only)" : cr->auth == CRED_AUTH_NTLM ? " (ntlm)" : "",
	    nt_errstr(st), rpc_phase_str(ph), rpc_fail_str(*why));
}

int
rpc_connect(struct rpc_conn **out, const char *addr, const char *fqdn, const struct cred *cr, int timeout_s,
    char *err, size_t errlen, enum rpc_fail *why, enum rpc_phase *phase)
{
	struct rpc_conn			*c = NULL;
	struct loadparm_context		*lp;
	struct cli_credentials		*creds;
	struct dcerpc_binding		*b;
	struct connect_watch		 w;
	NTSTATUS			 st;

	*out = NULL;
	*why = RPC_FAIL_OTHER;
	if (phase != NULL)
		*phase = RPC_PHASE_TCP;
	if (addr == NULL || *addr == '\0' || strpbrk(addr, "[],\\/") != NULL)
		return util_err(err, errlen, "bad address \"%s\"", addr ? addr : "");
	if (cr == NULL)
		return util_err(err, errlen, "no credential set");
	if (fqdn != NULL && *fqdn == '\0')
		fqdn = NULL;
	/* A keytab set whose ticket is gone: say so, naming the principal, before Samba says it vaguely. */
	if (cr->ccache[0] != '\0' && krb_check_ccache(cr->ccache, cr->principal, NULL, err, errlen) == -1) {
		*why = RPC_FAIL_KERBEROS;
		return -1;
	}
	if (timeout_s <= 0)
		timeout_s = 1;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return util_err(err, errlen, "out of memory");
	if ((c->mem = talloc_new(NULL)) == NULL || (c->ev = tevent_context_init(c->mem)) == NULL ||
	    (lp = loadparm_init(c->mem)) == NULL || (creds = cli_credentials_init(c->mem)) == NULL) {
		util_err(err, errlen, "out of memory");
		goto fail;
	}
	/*
	 * Samba's Kerberos client talks to the KDC in a nested event loop on this context
	 * (source4/auth/kerberos/krb5_init_context.c, smb_krb5_send_and_recv_func); tevent aborts on nesting
	 * unless allowed, as Samba's own s4_event_context_init does.
	 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	tevent_loop_allow_nesting(c->ev);
#pragma GCC diagnostic pop
	if (rpc_conn_setup(lp, creds, cr, err, errlen) == -1 ||
	    (b = rpc_conn_binding(c->mem, addr, fqdn, err, errlen)) == NULL) {
		*why = cr->ccache[0] != '\0' ? RPC_FAIL_KERBEROS : RPC_FAIL_OTHER;
		goto fail;
	}
	st = dcerpc_init();
	if (!NT_STATUS_IS_OK(st)) {
		util_err(err, errlen, "dcerpc_init: %s", nt_errstr(st));
		goto fail;
	}
	st = conn_watched(c, b, creds, lp, &w, timeout_s);
	if (phase != NULL)
		*phase = w.phase;
	if (!NT_STATUS_IS_OK(st)) {
		conn_failed(st, w.phase, addr, fqdn, cr, timeout_s, why, err, errlen);
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
	c->last_fail = RPC_FAIL_NONE;
	if ((tmp = talloc_new(c->mem)) == NULL)
		return util_err(err, errlen, "out of memory");
	st = dcerpc_binding_handle_raw_call(c->pipe->binding_handle, NULL, opnum, 0, in, inlen, tmp, &o, &olen,
	    &oflags);
	if (!NT_STATUS_IS_OK(st)) {
		c->last_fail = rpc_classify(NT_STATUS_V(st), RPC_PHASE_CALL);
		util_err(err, errlen, "winreg opnum %u: %s", opnum, nt_errstr(st));
		goto done;
	}
	if (olen > RPC_REPLY_MAX) {
		c->last_fail = RPC_FAIL_PROTOCOL;
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

enum rpc_fail
rpc_last_fail(const struct rpc_conn *c)
{
	return c != NULL ? c->last_fail : RPC_FAIL_NONE;
}

void
rpc_close(struct rpc_conn *c)
{
	const char *host = NULL;

	if (c == NULL)
		return;
	/*
	 * Freeing the pipe sends an SMB2 CLOSE of \winreg and waits for its reply (up to 1 s; Samba's
	 * libcli/smb/tstream_smbXcli_np.c, tstream_smbXcli_np_destructor), then closes the socket without a
	 * logoff.  The connection goes anyway, and the server then closes its opens and runs down the pipe's
	 * context handles itself (MS-SMB2 3.3.7.1, MS-RPCE 3.3.3.2.1): with the socket shut down first
	 * (tcpprobe_drop_445; the caller ignores SIGPIPE) the CLOSE fails at once and costs no round trip.
	 */
	if (c->pipe != NULL && c->pipe->binding != NULL)
		host = dcerpc_binding_get_string_option(c->pipe->binding, "host");
	if (host != NULL)
		(void)tcpprobe_drop_445(host);
	talloc_free(c->mem);
	free(c);
}
