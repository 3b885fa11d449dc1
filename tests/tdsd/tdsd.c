/*
 * tdsd.c — dpfleet-tdsd, a small TDS 7.0–7.4 server over a SQLite file, so the scanner's site-DB reader can
 * be tested against a real wire protocol without SQL Server (doc/FIELD-NOTES.md, "Site database and
 * FreeTDS").  Test code only: built by meson, never installed.  Started by the integration tests and the lab;
 * prints "ready" on stdout once listening.
 *
 * Processes: the parent only accepts; each connection is served by a forked child that opens its own
 * read-only SQLite handle and re-reads the fault file, so a misbehaving client (or a fault) only ends its own
 * connection.  The parent blocks SIGTERM/SIGINT/SIGCHLD and reads them from a signalfd; on SIGTERM it stops
 * accepting, sends SIGTERM to every child, reaps them and exits 0.  Children die with the parent
 * (PR_SET_PDEATHSIG).
 *
 * Connection states, each a function below:
 *   PRELOGIN expected  --conn_prelogin-->  LOGIN7 expected  --conn_login-->  logged in (conn_loop)
 *   LOGIN7 with fIntSecurity (integrated login, conn_sspi):
 *     NTLM:     NEGOTIATE in LOGIN7 --send_challenge--> SSPI token (CHALLENGE) --read SSPI message-->
 *               AUTHENTICATE --win_verify--> login answered (conn_login)
 *     Kerberos: GSS token in LOGIN7 --conn_gss--> [SSPI token --read SSPI message--> ...] --krb_verify-->
 *               login answered (conn_login)
 *   any state: malformed packet, EOF, idle timeout or a fault's byte limit  -->  closed (child exits)
 * Messages are reassembled from packets up to MSG_MAX bytes; each packet is at most TDS_PACKET_MAX bytes.
 * Windows logins (--windows-login, ntlm.c: NTLMv2 checked against the password tdsd knows; --kerberos-keytab,
 * tdsd_gss.c) are tests/tdsd/README.md's "Integrated login".
 *
 * TLS (--tls-cert/--tls-key, tdsd_tls.c): conn_prelogin answers the client's ENCRYPTION as MS-TDS 2.2.6.5
 * says for the --tls-mode (tds_prelogin_encrypt_answer) and, unless the answer is ENCRYPT_NOT_SUP, runs the
 * handshake inside PRELOGIN packets.  Then every byte goes through c->tls (conn_read, conn_write) -- the whole
 * session when the answer was ENCRYPT_ON or ENCRYPT_REQ, only LOGIN7 when it was ENCRYPT_OFF (conn_serve
 * drops the session once LOGIN7 is read, as the client does once it is sent).  The log says which.
 *
 * Length: over 600 lines because the connection's states and the parent's accept loop are this one
 * program; the codec (tds.c), the SQL (sqlexec.c), the faults (faults.c), TLS (tdsd_tls.c), NTLM (ntlm.c)
 * and Kerberos (tdsd_gss.c) live apart.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faults.h"
#include "log.h"
#include "ntlm.h"
#include "sqlexec.h"
#include "tds.h"
#include "tdsd_gss.h"
#include "tdsd_tls.h"
#include "util.h"

#define MSG_MAX			(1024 * 1024)
#define REPLY_MAX		(64 * 1024 * 1024)
#define MAX_CHILDREN		256
#define LOGIN_TIMEOUT_MS	30000
#define IDLE_TIMEOUT_MS		600000
#define WIN_LOGINS_MAX		8	/* --windows-login given at most this often */
#define WIN_DOMAIN_MAX		16	/* a NetBIOS domain name: at most 15 characters */
#define CHALLENGE_MSG_MAX	4096	/* our CHALLENGE_MESSAGE: names capped by ntlm.c */
#define KRB_LOGINS_MAX		8	/* --kerberos-login given at most this often */
#define GSS_ROUNDS_MAX		4	/* tokens one Kerberos login may take (2 with mutual auth) */

/* One Windows login (--windows-login DOMAIN\USER:PASSWORD_FILE): verified with NTLMv2 (ntlm.c). */
struct win_login {
	char	 domain[WIN_DOMAIN_MAX];
	char	 user[TDS_LOGIN_FIELD];
	char	 password[TDS_LOGIN_FIELD];
};

struct server_cfg {
	char		 listen[128];
	char		 db[4096];
	char		 user[TDS_LOGIN_FIELD];
	char		 password[TDS_LOGIN_FIELD];
	char		 database[TDS_LOGIN_FIELD];
	char		 faults[4096];	/* "" = none */
	const char	*tls_cert, *tls_key;	/* NULL = no TLS */
	uint8_t		 tls_setting;	/* TDS_PRELOGIN_ENCRYPT_NOT_SUP, _OFF (--tls-mode login) or _REQ */
	struct tdsd_tls_cred *tls;	/* loaded by the parent */
	char		 browser[128];	/* --browser ADDR[:PORT]: SQL Browser on UDP; "" = none */
	char		 instance[64];	/* --instance: the name the Browser answers for */
	struct win_login win[WIN_LOGINS_MAX];	/* trusted domains are theirs; the first names the server's */
	size_t		 nwin;
	int		 windows_only;	/* --windows-only: SQL logins refused (Windows Authentication mode) */
	const char	*krb_keytab;	/* --kerberos-keytab (KRB5_KTNAME); NULL: none */
	char		 krb[KRB_LOGINS_MAX][TDSD_GSS_NAME_MAX];	/* --kerberos-login principals */
	size_t		 nkrb;
};

/* How a login's credentials fared (sql_auth, conn_sspi, conn_gss). */
enum auth_result {
	AUTH_OK,
	AUTH_FAILED,		/* ERROR 18456 */
	AUTH_UNTRUSTED,		/* ERROR 18452: a domain (or a package) this server does not trust */
	AUTH_CLOSED		/* the exchange broke: close without an answer */
};

struct conn {
	int			 fd;
	const struct server_cfg	*cfg;
	struct faults		 faults;
	sqlite3			*db;
	uint32_t		 tdsver;
	uint32_t		 packet_size;
	uint16_t		 spid;
	uint64_t		 sent;
	uint8_t			 msgtype;
	uint8_t			*msg;
	size_t			 msglen;
	struct tdsd_tls		*tls;		/* NULL: plain TDS */
	const char		*mech;		/* how the login was verified: "SQL", "Windows, NTLMv2", ... */
	int			 tls_login_only;	/* ENCRYPT_OFF negotiated: drop TLS after LOGIN7 */
};

/* Read exactly n bytes within timeout_ms, through TLS when the session has it; 0, or -1 on EOF, error or timeout. */
static int
conn_read(struct conn *c, uint8_t *p, size_t n, int timeout_ms)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	ssize_t		 r;
	int64_t		 deadline = util_mono_ms() + timeout_ms, left;

	while (n > 0) {
		left = deadline - util_mono_ms();
		if (left <= 0)
			return -1;
		if (c->tls != NULL) {
			if ((r = tdsd_tls_read(c->tls, p, n, (int)left)) <= 0)
				return -1;
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (poll(&pfd, 1, (int)left) <= 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((r = read(c->fd, p, n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One packet into buf (TDS_PACKET_MAX bytes); -1 + reason on EOF, timeout or a bad header. */
static int
read_packet(struct conn *c, struct tds_header *h, uint8_t *buf, int timeout_ms, char *err, size_t errlen)
{
	if (conn_read(c, buf, TDS_HEADER_LEN, timeout_ms) == -1)
		return util_err(err, errlen, "connection closed or timed out");
	if (tds_header_parse(buf, h, err, errlen) == -1)
		return -1;
	if (conn_read(c, buf + TDS_HEADER_LEN, h->length - TDS_HEADER_LEN, timeout_ms) == -1)
		return util_err(err, errlen, "truncated packet");
	return 0;
}

/* Reassemble one message into c->msg / c->msglen / c->msgtype. */
static int
read_message(struct conn *c, int timeout_ms, char *err, size_t errlen)
{
	uint8_t		 pkt[TDS_PACKET_MAX];
	struct tds_header h;
	size_t		 n;
	int		 first = 1;

	c->msglen = 0;
	for (;;) {
		if (read_packet(c, &h, pkt, timeout_ms, err, errlen) == -1)
			return -1;
		if (first)
			c->msgtype = h.type;
		else if (h.type != c->msgtype)
			return util_err(err, errlen, "packet type 0x%02x inside a 0x%02x message", h.type, c->msgtype);
		first = 0;
		n = h.length - TDS_HEADER_LEN;
		if (n > MSG_MAX - c->msglen)
			return util_err(err, errlen, "message over %d bytes", MSG_MAX);
		memcpy(c->msg + c->msglen, pkt + TDS_HEADER_LEN, n);
		c->msglen += n;
		if (h.status & TDS_STATUS_EOM)
			return 0;
	}
}

/* Write with the drop_after_bytes fault applied: -1 when the connection must close now. */
static int
conn_write(struct conn *c, const uint8_t *p, size_t n)
{
	ssize_t	 r;
	int	 drop = 0;

	if (c->faults.drop_after_bytes >= 0) {
		uint64_t room = (uint64_t)c->faults.drop_after_bytes > c->sent ?
		    (uint64_t)c->faults.drop_after_bytes - c->sent : 0;

		if (n > room) {
			n = (size_t)room;
			drop = 1;
		}
	}
	if (c->tls != NULL && n > 0) {
		if (tdsd_tls_write(c->tls, p, n) == -1)
			return -1;
		c->sent += n;
		n = 0;
	}
	while (n > 0) {
		if ((r = write(c->fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
		c->sent += (uint64_t)r;
	}
	if (drop)
		log_info("fault: dropping the connection after %lu bytes", (unsigned long)c->sent);
	return drop ? -1 : 0;
}

/* Send payload as a TDS_PKT_REPLY message split into packets; at most limit bytes (-1: all) then close. */
static int
send_reply(struct conn *c, const struct tds_buf *payload, long limit)
{
	uint8_t		 hdr[TDS_HEADER_LEN];
	struct tds_header h = { .type = TDS_PKT_REPLY, .spid = c->spid, .packet_id = 1 };
	size_t		 off = 0, chunk, room = c->packet_size - TDS_HEADER_LEN;
	uint64_t	 budget = limit >= 0 ? (uint64_t)limit : UINT64_MAX, w;

	do {
		chunk = payload->len - off < room ? payload->len - off : room;
		h.status = off + chunk == payload->len ? TDS_STATUS_EOM : 0;
		h.length = (uint16_t)(chunk + TDS_HEADER_LEN);
		tds_header_put(hdr, &h);
		w = budget < TDS_HEADER_LEN ? budget : TDS_HEADER_LEN;
		if (conn_write(c, hdr, (size_t)w) == -1 || w < TDS_HEADER_LEN)
			goto truncated;
		budget -= w;
		w = budget < chunk ? budget : chunk;
		if (conn_write(c, payload->data + off, (size_t)w) == -1 || w < chunk)
			goto truncated;
		budget -= w;
		off += chunk;
		h.packet_id++;
	} while (off < payload->len);
	return 0;
truncated:
	if (limit >= 0)
		log_info("fault: reply truncated after %ld bytes", limit);
	return -1;
}

/* Sleep ms while watching for ATTENTION: 0 slept fully, 1 ATTENTION received, -1 connection gone. */
static int
wait_attention(struct conn *c, long ms)
{
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	int64_t		 deadline = util_mono_ms() + ms, left;
	char		 err[256];

	for (;;) {
		left = deadline - util_mono_ms();
		if (left <= 0)
			return 0;
		pfd.revents = 0;
		if ((c->tls == NULL || tdsd_tls_pending(c->tls) == 0) && poll(&pfd, 1, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents == 0 && (c->tls == NULL || tdsd_tls_pending(c->tls) == 0))
			continue;
		if (read_message(c, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1) {
			log_debug("during delay: %s", err);
			return -1;
		}
		if (c->msgtype == TDS_PKT_ATTENTION)
			return 1;
		log_warnx("message type 0x%02x during a running request", c->msgtype);
		return -1;
	}
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
conn_prelogin(struct conn *c, struct tds_buf *out)
{
	struct tds_prelogin pl;
	char		 err[256];
	int		 answer;

	if (tds_prelogin_parse(c->msg, c->msglen, &pl, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	answer = tds_prelogin_encrypt_answer(pl.has_encryption ? pl.encryption : TDS_PRELOGIN_ENCRYPT_NOT_SUP,
	    c->cfg->tls_setting);
	log_debug("PRELOGIN: client ENCRYPTION 0x%02x, answer %d", pl.encryption, answer);
	if (answer == -1) {
		log_warnx("PRELOGIN: client ENCRYPTION 0x%02x refused (TLS required here): connection closed",
		    pl.encryption);
		return -1;
	}
	tds_buf_reset(out);
	if (tds_prelogin_reply(out, (uint8_t)answer) == -1 || send_reply(c, out, -1) == -1)
		return -1;
	if (answer == TDS_PRELOGIN_ENCRYPT_NOT_SUP) {
		log_info("session in plain text (no TLS negotiated)");
		return 0;
	}
	if (tdsd_tls_accept(&c->tls, c->cfg->tls, c->fd, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1) {
		log_warnx("%s: connection closed before LOGIN7", err);
		return -1;
	}
	c->tls_login_only = answer == TDS_PRELOGIN_ENCRYPT_OFF;
	log_info("TLS session: %s; %s", tdsd_tls_desc(c->tls), c->tls_login_only ?
	    "LOGIN7 encrypted, then plain text (ENCRYPT_OFF)" : "everything encrypted (ENCRYPT_ON/REQ)");
	return 0;
}

static int
login_refuse(struct conn *c, struct tds_buf *out, const char *user, int baddb, const char *db)
{
	char msg[512];

	tds_buf_reset(out);
	if (baddb) {
		snprintf(msg, sizeof(msg), "Cannot open database \"%s\" requested by the login. The login failed.", db);
		tds_put_message(out, c->tdsver, TDS_TOK_ERROR, 4060, 1, 11, msg, SQLEXEC_SERVER_NAME, "", 1);
	}
	snprintf(msg, sizeof(msg), "Login failed for user '%s'.", user);
	tds_put_message(out, c->tdsver, TDS_TOK_ERROR, 18456, 1, 14, msg, SQLEXEC_SERVER_NAME, "", 1);
	tds_put_done(out, c->tdsver, TDS_DONE_ERROR, 0, 0);
	if (out->overflow)
		return -1;
	send_reply(c, out, -1);
	return -1;
}

/* ERROR 18452 + DONE(error): the login's domain is not trusted (Microsoft Learn, MSSQLSERVER_18452). */
static void
login_untrusted(struct conn *c, struct tds_buf *out)
{
	tds_buf_reset(out);
	tds_put_message(out, c->tdsver, TDS_TOK_ERROR, 18452, 1, 14, "Login failed. The login is from an "
	    "untrusted domain and cannot be used with Integrated authentication.", SQLEXEC_SERVER_NAME, "", 1);
	tds_put_done(out, c->tdsver, TDS_DONE_ERROR, 0, 0);
	if (!out->overflow)
		send_reply(c, out, -1);
}

/* A SQL login: --login's user and password, unless --windows-only. */
static enum auth_result
sql_auth(struct conn *c, const struct tds_login7 *l)
{
	size_t ulen = strlen(l->password), plen = strlen(c->cfg->password);

	if (c->cfg->windows_only) {
		/* SQL Server in Windows Authentication mode: the client sees 18456, its log says state 58. */
		log_info("SQL login '%s' refused: Windows authentication only (--windows-only)", l->username);
		return AUTH_FAILED;
	}
	if (c->cfg->user[0] == '\0' || strcmp(l->username, c->cfg->user) != 0 || ulen != plen ||
	    sodium_memcmp(l->password, c->cfg->password, plen) != 0)
		return AUTH_FAILED;
	return AUTH_OK;
}

/* The AUTHENTICATE_MESSAGE a against the configured Windows logins (MS-NLMP 3.3.2). */
static enum auth_result
win_verify(const struct server_cfg *cfg, const struct ntlm_authenticate *a, const uint8_t chal[NTLM_CHALLENGE_LEN])
{
	const struct win_login	*w = NULL;
	uint8_t			 key[NTLM_KEY_LEN];
	char			 err[256];
	size_t			 i;
	int			 known = 0, v;

	for (i = 0; i < cfg->nwin; i++)
		if (strcasecmp(cfg->win[i].domain, a->domain) == 0) {
			known = 1;
			if (strcasecmp(cfg->win[i].user, a->user) == 0)
				w = &cfg->win[i];
		}
	if (!known) {
		log_info("NTLM: domain '%s' is not trusted here", a->domain);
		return AUTH_UNTRUSTED;
	}
	if (w == NULL) {
		log_info("NTLM: no Windows login '%s\\%s'", a->domain, a->user);
		return AUTH_FAILED;
	}
	/* NTOWFv2 from the names as the client sent them: the client computed it so. */
	if (ntlm_ntowfv2(w->password, a->user, a->domain, key, err, sizeof(err)) == -1 ||
	    (v = ntlm_v2_verify(key, chal, a->nt, a->ntlen, err, sizeof(err))) == -1) {
		explicit_bzero(key, sizeof(key));
		log_info("%s", err);
		return AUTH_FAILED;
	}
	explicit_bzero(key, sizeof(key));
	if (v == 0)
		log_info("NTLM: the NTLMv2 response of '%s\\%s' does not match its password", a->domain, a->user);
	return v == 1 ? AUTH_OK : AUTH_FAILED;
}

/* The CHALLENGE_MESSAGE answering NEGOTIATE flags, in an SSPI token (MS-TDS 2.2.7.22), sent.  0, or -1. */
static int
send_challenge(struct conn *c, struct tds_buf *out, uint32_t flags, const uint8_t chal[NTLM_CHALLENGE_LEN])
{
	struct ntlm_target	 t;
	struct tds_buf		 msg;
	char			 dns_domain[WIN_DOMAIN_MAX], dns_computer[WIN_DOMAIN_MAX + 8];
	size_t			 i;
	int			 rc = -1;

	for (i = 0; c->cfg->win[0].domain[i] != '\0'; i++)
		dns_domain[i] = (char)tolower((unsigned char)c->cfg->win[0].domain[i]);
	dns_domain[i] = '\0';
	snprintf(dns_computer, sizeof(dns_computer), "tdsd.%s", dns_domain);
	t.nb_domain = c->cfg->win[0].domain;
	t.nb_computer = "TDSD";
	t.dns_domain = dns_domain;
	t.dns_computer = dns_computer;
	t.filetime = ntlm_filetime(time(NULL));
	tds_buf_init(&msg, CHALLENGE_MSG_MAX);
	tds_buf_reset(out);
	if (ntlm_challenge_build(&msg, flags, chal, &t) == 0 && tds_put_sspi(out, msg.data, msg.len) == 0)
		rc = send_reply(c, out, -1);
	tds_buf_free(&msg);
	return rc;
}

/* Send tok (n bytes) in an SSPI token.  0, or -1. */
static int
send_sspi(struct conn *c, struct tds_buf *out, const uint8_t *tok, size_t n)
{
	tds_buf_reset(out);
	if (tds_put_sspi(out, tok, n) == -1)
		return -1;
	return send_reply(c, out, -1);
}

/* The client principal name against --kerberos-login. */
static enum auth_result
krb_verify(const struct server_cfg *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nkrb; i++)
		if (strcmp(cfg->krb[i], name) == 0)
			return AUTH_OK;
	log_info("Kerberos: '%s' authenticated but is no --kerberos-login", name);
	return AUTH_FAILED;
}

/*
 * A Kerberos integrated login (tdsd_gss.c): the first token from LOGIN7, further ones in SSPI messages, our
 * answers in SSPI tokens, until the context is established (then the client's principal must be a
 * --kerberos-login) or fails (18452, as SQL Server answers a ticket it cannot use).  who receives the principal.
 */
static enum auth_result
conn_gss(struct conn *c, struct tds_buf *out, const uint8_t *in, size_t inlen, char *who, size_t wholen)
{
	struct tdsd_gss	*g;
	enum auth_result r = AUTH_CLOSED;
	uint8_t		*tok;
	size_t		 toklen;
	char		 err[512], name[TDSD_GSS_NAME_MAX];
	int		 round, done;

	if (tdsd_gss_start(&g, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return AUTH_CLOSED;
	}
	for (round = 0; round < GSS_ROUNDS_MAX; round++) {
		if ((done = tdsd_gss_step(g, in, inlen, &tok, &toklen, name, sizeof(name), err, sizeof(err))) == -1) {
			log_info("Kerberos: %s", err);
			r = AUTH_UNTRUSTED;
			break;
		}
		if (toklen > 0 && send_sspi(c, out, tok, toklen) == -1) {
			free(tok);
			break;
		}
		free(tok);
		if (done == 1) {
			snprintf(who, wholen, "%s", name);
			c->mech = "Windows, Kerberos";
			r = krb_verify(c->cfg, name);
			break;
		}
		if (read_message(c, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1 || c->msgtype != TDS_PKT_SSPI) {
			log_info("Kerberos: no further SSPI message from the client");
			break;
		}
		in = c->msg;
		inlen = c->msglen;
	}
	tdsd_gss_end(g);
	return r;
}

/*
 * An integrated login (fIntSecurity): NEGOTIATE from LOGIN7's SSPI field, our CHALLENGE in an SSPI token,
 * the client's AUTHENTICATE in an SSPI message (MS-TDS 2.2.6.8), verified by win_verify.  who receives
 * DOMAIN\user for messages.  A token that is not NTLMSSP goes to conn_gss (Kerberos) with --kerberos-keytab,
 * else is answered as from an untrusted domain.
 */
static enum auth_result
conn_sspi(struct conn *c, struct tds_buf *out, const struct tds_login7 *l, char *who, size_t wholen)
{
	const uint8_t		*tok = c->msg + l->sspi_off;
	struct ntlm_authenticate a;
	uint8_t			 chal[NTLM_CHALLENGE_LEN];
	uint32_t		 flags;
	char			 err[256];

	snprintf(who, wholen, "(integrated)");
	if (c->cfg->nwin == 0 && c->cfg->krb_keytab == NULL) {
		log_info("integrated login refused: no --windows-login or --kerberos-keytab configured");
		return AUTH_UNTRUSTED;
	}
	if (!ntlm_is_ntlmssp(tok, l->sspi_len)) {
		if (c->cfg->krb_keytab != NULL)
			return conn_gss(c, out, tok, l->sspi_len, who, wholen);
		log_info("integrated login with a %zu-byte token that is not NTLMSSP (first byte 0x%02x: "
		    "Kerberos or SPNEGO?) and no --kerberos-keytab", l->sspi_len, tok[0]);
		return AUTH_UNTRUSTED;
	}
	if (c->cfg->nwin == 0) {
		log_info("NTLM login refused: no --windows-login configured");
		return AUTH_UNTRUSTED;
	}
	if (ntlm_negotiate_parse(tok, l->sspi_len, &flags, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return AUTH_CLOSED;
	}
	randombytes_buf(chal, sizeof(chal));
	if (send_challenge(c, out, flags, chal) == -1)
		return AUTH_CLOSED;
	if (read_message(c, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1) {
		log_info("NTLM: no AUTHENTICATE: %s", err);
		return AUTH_CLOSED;
	}
	if (c->msgtype != TDS_PKT_SSPI) {
		log_warnx("NTLM: packet type 0x%02x where an SSPI message was expected", c->msgtype);
		return AUTH_CLOSED;
	}
	if (ntlm_authenticate_parse(c->msg, c->msglen, &a, err, sizeof(err)) == -1) {
		log_info("%s", err);
		return AUTH_FAILED;
	}
	snprintf(who, wholen, "%s\\%s", a.domain, a.user);
	c->mech = "Windows, NTLMv2";
	return win_verify(c->cfg, &a, chal);
}

/* The login accepted: ENVCHANGEs, INFOs, LOGINACK, DONE.  0, or -1. */
static int
login_accept(struct conn *c, struct tds_buf *out, const struct tds_login7 *l)
{
	static const uint8_t	 progver[4] = { 16, 0, 0x03, 0xe8 };
	char			 msg[512], size[16];

	tds_buf_reset(out);
	snprintf(msg, sizeof(msg), "Changed database context to '%s'.", c->cfg->database);
	tds_put_envchange(out, TDS_ENV_DATABASE, c->cfg->database, "master");
	tds_put_message(out, c->tdsver, TDS_TOK_INFO, 5701, 2, 0, msg, SQLEXEC_SERVER_NAME, "", 1);
	if (TDS_LEVEL(c->tdsver) >= 0x701)
		tds_put_envchange_collation(out, tds_collation_default);
	tds_put_envchange(out, TDS_ENV_LANGUAGE, "us_english", "");
	tds_put_message(out, c->tdsver, TDS_TOK_INFO, 5703, 1, 0, "Changed language setting to us_english.",
	    SQLEXEC_SERVER_NAME, "", 1);
	tds_put_loginack(out, c->tdsver, "Microsoft SQL Server", progver);
	if (l->has_extension)
		tds_put_featureextack_empty(out);
	snprintf(size, sizeof(size), "%u", c->packet_size);
	tds_put_envchange(out, TDS_ENV_PACKETSIZE, size, "4096");
	tds_put_done(out, c->tdsver, TDS_DONE_FINAL, 0, 0);
	if (out->overflow)
		return -1;
	return send_reply(c, out, -1);
}

/* LOGIN7 (and for an integrated login the SSPI exchange): check the credentials and database, answer. */
static int
conn_login(struct conn *c, struct tds_buf *out)
{
	struct tds_login7	 l;
	enum auth_result	 r;
	char			 err[256], who[2 * NTLM_NAME_MAX + 2];
	int			 rc = -1;

	if (tds_login7_parse(c->msg, c->msglen, &l, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		goto done;
	}
	c->tdsver = tds_version_negotiate(l.tds_version);
	c->packet_size = l.packet_size == 0 ? 4096 : l.packet_size;
	if (c->packet_size < TDS_PACKET_MIN)
		c->packet_size = TDS_PACKET_MIN;
	if (c->packet_size > TDS_PACKET_MAX - 1)
		c->packet_size = TDS_PACKET_MAX - 1;
	if (c->faults.login_delay_ms > 0) {
		log_info("fault: login delay %ld ms", c->faults.login_delay_ms);
		sleep_ms(c->faults.login_delay_ms);
	}
	util_strlcpy(who, l.username, sizeof(who));
	r = l.integrated ? conn_sspi(c, out, &l, who, sizeof(who)) : sql_auth(c, &l);
	if (r == AUTH_CLOSED)
		goto done;
	if (r == AUTH_UNTRUSTED || (r == AUTH_OK && c->faults.login_untrusted)) {
		log_info("login refused for user '%s' (untrusted domain%s)", who, r == AUTH_OK ? ", fault" : "");
		login_untrusted(c, out);
		goto done;
	}
	if (r != AUTH_OK || c->faults.login_reject) {
		log_info("login refused for user '%s'%s", who, r == AUTH_OK ? " (fault)" : "");
		login_refuse(c, out, who, 0, NULL);
		goto done;
	}
	if (l.database[0] != '\0' && strcasecmp(l.database, c->cfg->database) != 0) {
		log_info("login for '%s' asked for unknown database '%s'", who, l.database);
		login_refuse(c, out, who, 1, l.database);
		goto done;
	}
	if (login_accept(c, out, &l) == -1)
		goto done;
	log_debug("login ok: user '%s' (%s) app '%s' TDS 0x%08x packet %u", who, c->mech, l.appname, c->tdsver,
	    c->packet_size);
	rc = 0;
done:
	tds_login7_clear(&l);
	return rc;
}

/*
 * The batch's first word, upper-cased, into verb ("?" when it starts with no word): logged with every batch
 * so tests can assert what a client sent (the scanner sends nothing but SELECT).
 */
static void
batch_verb(const char *sql, char *verb, size_t size)
{
	size_t n = 0;

	while (isspace((unsigned char)*sql))
		sql++;
	while (n + 1 < size && (isalnum((unsigned char)*sql) || *sql == '_'))
		verb[n++] = (char)toupper((unsigned char)*sql++);
	if (n == 0 && size > 1)
		verb[n++] = '?';
	verb[n] = '\0';
}

static int
conn_batch(struct conn *c, struct tds_buf *out)
{
	char	*sql = NULL, err[256], verb[32];
	size_t	 sqllen;
	int	 faulty, w, rc = -1;

	if (tds_sqlbatch_parse(c->msg, c->msglen, c->tdsver, &sql, &sqllen, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		return -1;
	}
	batch_verb(sql, verb, sizeof(verb));
	log_debug("batch %s: %s", verb, sql);
	faulty = faults_match(&c->faults, sql);
	tds_buf_reset(out);
	if (faulty && c->faults.query_delay_ms > 0) {
		log_info("fault: query delay %ld ms", c->faults.query_delay_ms);
		if ((w = wait_attention(c, c->faults.query_delay_ms)) == -1)
			goto done;
		if (w == 1) {
			log_info("ATTENTION during the delay: batch cancelled");
			if (tds_put_done(out, c->tdsver, TDS_DONE_ATTN, 0, 0) == -1)
				goto done;
			rc = send_reply(c, out, -1);
			goto done;
		}
	}
	if (sqlexec_batch(c->db, sql, c->tdsver, c->cfg->database, out) == -1) {
		tds_buf_reset(out);
		tds_put_message(out, c->tdsver, TDS_TOK_ERROR, 50000, 1, 16, "Result too large for the fixture.",
		    SQLEXEC_SERVER_NAME, "", 1);
		tds_put_done(out, c->tdsver, TDS_DONE_ERROR, 0, 0);
		if (out->overflow)
			goto done;
	}
	rc = send_reply(c, out, faulty ? c->faults.truncate_reply_bytes : -1);
done:
	free(sql);
	return rc;
}

static int
conn_unsupported(struct conn *c, struct tds_buf *out)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "Request type 0x%02x is not supported by this fixture.", c->msgtype);
	tds_buf_reset(out);
	if (tds_put_message(out, c->tdsver, TDS_TOK_ERROR, 50000, 1, 16, msg, SQLEXEC_SERVER_NAME, "", 1) == -1 ||
	    tds_put_done(out, c->tdsver, TDS_DONE_ERROR, 0, 0) == -1)
		return -1;
	return send_reply(c, out, -1);
}

/* PRELOGIN (optional, with TLS as negotiated) then LOGIN7: 0 when logged in, -1 when the connection ends. */
static int
conn_start(struct conn *c, struct tds_buf *out)
{
	char	 err[512];

	if (read_message(c, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1) {
		log_debug("before login: %s", err);
		return -1;
	}
	if (c->msgtype == TDS_PKT_PRELOGIN) {
		if (conn_prelogin(c, out) == -1)
			return -1;
		if (read_message(c, LOGIN_TIMEOUT_MS, err, sizeof(err)) == -1) {
			log_debug("after PRELOGIN: %s", err);
			return -1;
		}
	} else if (c->cfg->tls_setting == TDS_PRELOGIN_ENCRYPT_REQ) {
		log_warnx("no PRELOGIN and TLS required here: connection closed");
		return -1;
	}
	if (c->tls_login_only) {	/* ENCRYPT_OFF: the client left TLS once LOGIN7 was sent */
		tdsd_tls_end(c->tls);
		c->tls = NULL;
	}
	if (c->msgtype != TDS_PKT_LOGIN7) {
		log_warnx("expected LOGIN7, got packet type 0x%02x", c->msgtype);
		return -1;
	}
	return conn_login(c, out);
}

/* Logged in: serve requests until EOF or the idle timeout (0) or a fatal error (-1). */
static int
conn_loop(struct conn *c, struct tds_buf *out)
{
	char	 err[512];

	for (;;) {
		if (read_message(c, IDLE_TIMEOUT_MS, err, sizeof(err)) == -1) {
			log_debug("session end: %s", err);
			return 0;
		}
		switch (c->msgtype) {
		case TDS_PKT_SQLBATCH:
			if (conn_batch(c, out) == -1)
				return -1;
			break;
		case TDS_PKT_ATTENTION:
			tds_buf_reset(out);
			if (tds_put_done(out, c->tdsver, TDS_DONE_ATTN, 0, 0) == -1 || send_reply(c, out, -1) == -1)
				return -1;
			break;
		case TDS_PKT_PRELOGIN:
		case TDS_PKT_LOGIN7:
		case TDS_PKT_PRETDS7_LOGIN:
			log_warnx("login message 0x%02x after login", c->msgtype);
			return -1;
		default:
			if (conn_unsupported(c, out) == -1)
				return -1;
			break;
		}
	}
}

/* Serve one accepted connection to the end.  Returns the child's exit status. */
static int
conn_serve(int fd, const struct server_cfg *cfg)
{
	struct conn	 c;
	struct tds_buf	 out;
	char		 err[512];
	int		 rc = 1, one = 1;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	c.cfg = cfg;
	c.packet_size = 4096;
	c.tdsver = TDS_V74;
	c.mech = "SQL";
	c.spid = (uint16_t)(51 + getpid() % 30000);
	tds_buf_init(&out, REPLY_MAX);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	faults_clear(&c.faults);
	if (cfg->faults[0] && faults_load(cfg->faults, &c.faults, err, sizeof(err)) == -1)
		log_warnx("fault file ignored for this connection: %s", err);
	if ((c.msg = malloc(MSG_MAX)) == NULL) {
		log_warnx("out of memory");
		goto done;
	}
	if ((c.db = sqlexec_open(cfg->db, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		goto done;
	}
	if (conn_start(&c, &out) == 0 && conn_loop(&c, &out) == 0)
		rc = 0;
done:
	tdsd_tls_end(c.tls);
	tds_buf_free(&out);
	free(c.msg);
	sqlite3_close(c.db);
	close(fd);
	return rc;
}

/*
 * ADDR:PORT (ADDR an IPv4 address or [IPv6]) into *ss; with dflt_port > 0 a bare ADDR means that port.
 * opt names the option in messages.  0, or -1 with err.
 */
static int
parse_addr(const char *opt, const char *spec, long dflt_port, struct sockaddr_storage *ss, socklen_t *sslenp,
    char *err, size_t errlen)
{
	char			 host[128];
	const char		*colon = strrchr(spec, ':');
	long			 port = dflt_port;
	char			*end;
	socklen_t		 sslen;

	memset(ss, 0, sizeof(*ss));
	if (dflt_port > 0 && (colon == NULL || (spec[0] == '[' && colon < strrchr(spec, ']'))))
		colon = spec + strlen(spec);
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host))
		return util_err(err, errlen, "%s %s: expected ADDR:PORT", opt, spec);
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (*colon == ':') {
		port = strtol(colon + 1, &end, 10);
		if (*end != '\0')
			port = 0;
	}
	if (port < 1 || port > 65535)
		return util_err(err, errlen, "%s %s: bad port", opt, spec);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		host[strlen(host) - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			return util_err(err, errlen, "%s %s: bad IPv6 address", opt, spec);
		sslen = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			return util_err(err, errlen, "%s %s: bad IPv4 address", opt, spec);
		sslen = sizeof(*s4);
	}
	*sslenp = sslen;
	return 0;
}

static int
listen_on(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd, one = 1;

	if (parse_addr("--listen", spec, 0, &ss, &sslen, err, errlen) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return util_err(err, errlen, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1 || listen(fd, 128) == -1) {
		util_err(err, errlen, "listen on %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * SQL Browser (--browser ADDR[:PORT], UDP, port 1434 by default), the part of MS-SQLR 2.2 a client that
 * names an instance uses: a CLNT_UCAST_INST request (0x04, then the instance name, NUL-terminated)
 * naming --instance (case-insensitive) gets SVR_RESP (0x05, RESP_SIZE as a little-endian USHORT, then
 * RESP_DATA "ServerName;..;InstanceName;..;IsClustered;No;Version;..;tcp;PORT;;") with the TCP port of
 * --listen.  Any other request or name gets no answer, as from a Browser that does not know the instance.
 */
static int
browser_open(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	int			 fd;

	if (parse_addr("--browser", spec, 1434, &ss, &sslen, err, errlen) == -1)
		return -1;
	if ((fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return util_err(err, errlen, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&ss, sslen) == -1) {
		util_err(err, errlen, "--browser %s: %s", spec, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Answer one datagram on bfd (see browser_open); tcp_port is where --listen listens. */
static void
browser_answer(int bfd, const struct server_cfg *cfg, int tcp_port)
{
	struct sockaddr_storage	 from;
	socklen_t		 fromlen = sizeof(from);
	uint8_t			 req[512], resp[512];
	char			 name[64];
	ssize_t			 n;
	size_t			 len;
	int			 m;

	if ((n = recvfrom(bfd, req, sizeof(req), 0, (struct sockaddr *)&from, &fromlen)) <= 0)
		return;
	if (req[0] != 0x04) {
		log_info("browser: request type 0x%02x not answered", req[0]);
		return;
	}
	len = strnlen((const char *)req + 1, (size_t)n - 1);
	if (len == 0 || len >= sizeof(name)) {
		log_info("browser: CLNT_UCAST_INST with a bad instance name: not answered");
		return;
	}
	memcpy(name, req + 1, len);
	name[len] = '\0';
	if (strcasecmp(name, cfg->instance) != 0) {
		log_info("browser: CLNT_UCAST_INST for unknown instance '%s': not answered", name);
		return;
	}
	m = snprintf((char *)resp + 3, sizeof(resp) - 3,
	    "ServerName;TDSD;InstanceName;%s;IsClustered;No;Version;15.0.2000.5;tcp;%d;;", cfg->instance,
	    tcp_port);
	if (m < 0 || (size_t)m >= sizeof(resp) - 3)
		return;
	resp[0] = 0x05;
	resp[1] = (uint8_t)(m & 0xff);
	resp[2] = (uint8_t)(m >> 8);
	if (sendto(bfd, resp, (size_t)m + 3, 0, (struct sockaddr *)&from, fromlen) == -1)
		log_warn("browser: sendto");
	else
		log_info("browser: instance '%s' is on TCP port %d", name, tcp_port);
}

/* The TCP port the listening socket lfd is bound to. */
static int
bound_port(int lfd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);

	if (getsockname(lfd, (struct sockaddr *)&ss, &len) == -1)
		fatal("getsockname");
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
	    ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
usage(void)
{
	fprintf(stderr, "usage: dpfleet-tdsd --listen ADDR:PORT --db FILE.sqlite [--login USER:PASSWORD] "
	    "[--windows-login DOMAIN\\USER:PASSWORD_FILE ...] [--kerberos-keytab FILE --kerberos-login "
	    "PRINCIPAL ...] [--windows-only] "
	    "[--database NAME] [--faults FILE] [--tls-cert FILE --tls-key FILE [--tls-mode require|login]] "
	    "[--browser ADDR[:PORT] [--instance NAME]] [-v]\n");
	exit(2);
}

/* --login USER:PASSWORD into cfg, the password wiped from argv (kept out of ps). */
static void
parse_login(char *arg, struct server_cfg *cfg)
{
	char *colon;

	if ((colon = strchr(arg, ':')) == NULL || colon == arg)
		usage();
	*colon = '\0';
	if (util_strlcpy(cfg->user, arg, sizeof(cfg->user)) >= sizeof(cfg->user) ||
	    util_strlcpy(cfg->password, colon + 1, sizeof(cfg->password)) >= sizeof(cfg->password))
		usage();
	explicit_bzero(colon + 1, strlen(colon + 1));
}

/*
 * --windows-login DOMAIN\USER:PASSWORD_FILE into cfg->win: DOMAIN a NetBIOS name (1..15 letters, digits,
 * '-', '_'), USER not empty, the password the file's first line (the file stays out of argv and ps).
 */
static void
parse_windows_login(const char *arg, struct server_cfg *cfg)
{
	struct win_login *w;
	const char	*bs = strchr(arg, '\\'), *colon;
	char		*text, err[512];
	size_t		 i, len;

	if (cfg->nwin >= WIN_LOGINS_MAX || bs == NULL || (colon = strchr(bs, ':')) == NULL ||
	    bs == arg || (size_t)(bs - arg) >= WIN_DOMAIN_MAX || colon == bs + 1 ||
	    (size_t)(colon - bs - 1) >= TDS_LOGIN_FIELD || colon[1] == '\0')
		usage();
	w = &cfg->win[cfg->nwin];
	for (i = 0; arg + i < bs; i++) {
		if (!isalnum((unsigned char)arg[i]) && arg[i] != '-' && arg[i] != '_')
			usage();
		w->domain[i] = arg[i];
	}
	memcpy(w->user, bs + 1, (size_t)(colon - bs - 1));
	if ((text = util_read_file(colon + 1, 4096, &len, err, sizeof(err))) == NULL)
		fatalx("--windows-login %s", err);
	text[strcspn(text, "\r\n")] = '\0';
	if (util_strlcpy(w->password, text, sizeof(w->password)) >= sizeof(w->password))
		fatalx("--windows-login: the password in %s is too long", colon + 1);
	explicit_bzero(text, len);
	free(text);
	cfg->nwin++;
}

/* The command line into *cfg (usage() on anything wrong); returns the -v count. */
static int
parse_args(int argc, char *argv[], struct server_cfg *cfg)
{
	static const struct option longopts[] = {
		{ "listen",	required_argument,	NULL, 'l' },
		{ "db",		required_argument,	NULL, 'b' },
		{ "login",	required_argument,	NULL, 'u' },
		{ "database",	required_argument,	NULL, 'D' },
		{ "faults",	required_argument,	NULL, 'f' },
		{ "tls-cert",	required_argument,	NULL, 'c' },
		{ "tls-key",	required_argument,	NULL, 'k' },
		{ "tls-mode",	required_argument,	NULL, 'm' },
		{ "browser",	required_argument,	NULL, 'B' },
		{ "instance",	required_argument,	NULL, 'I' },
		{ "windows-login", required_argument,	NULL, 'W' },
		{ "windows-only", no_argument,		NULL, 'O' },
		{ "kerberos-keytab", required_argument,	NULL, 'K' },
		{ "kerberos-login", required_argument,	NULL, 'P' },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ NULL,		0,			NULL, 0 },
	};
	const char *mode = "require";
	int ch, verbose = 0;

	memset(cfg, 0, sizeof(*cfg));
	util_strlcpy(cfg->database, "master", sizeof(cfg->database));
	util_strlcpy(cfg->instance, "DPFLEET", sizeof(cfg->instance));
	while ((ch = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': util_strlcpy(cfg->listen, optarg, sizeof(cfg->listen)); break;
		case 'b': util_strlcpy(cfg->db, optarg, sizeof(cfg->db)); break;
		case 'u': parse_login(optarg, cfg); break;
		case 'D': util_strlcpy(cfg->database, optarg, sizeof(cfg->database)); break;
		case 'f': util_strlcpy(cfg->faults, optarg, sizeof(cfg->faults)); break;
		case 'c': cfg->tls_cert = optarg; break;
		case 'k': cfg->tls_key = optarg; break;
		case 'm': mode = optarg; break;
		case 'B': util_strlcpy(cfg->browser, optarg, sizeof(cfg->browser)); break;
		case 'I':
			if (optarg[0] == '\0' || util_strlcpy(cfg->instance, optarg, sizeof(cfg->instance)) >=
			    sizeof(cfg->instance))
				usage();
			break;
		case 'W': parse_windows_login(optarg, cfg); break;
		case 'O': cfg->windows_only = 1; break;
		case 'K': cfg->krb_keytab = optarg; break;
		case 'P':
			if (cfg->nkrb >= KRB_LOGINS_MAX || strchr(optarg, '@') == NULL ||
			    util_strlcpy(cfg->krb[cfg->nkrb], optarg, TDSD_GSS_NAME_MAX) >= TDSD_GSS_NAME_MAX)
				usage();
			cfg->nkrb++;
			break;
		case 'v': verbose++; break;
		default: usage();
		}
	}
	if (optind != argc || !cfg->listen[0] || !cfg->db[0] || (!cfg->user[0] && cfg->nwin + cfg->nkrb == 0) ||
	    (cfg->windows_only && cfg->nwin + cfg->nkrb == 0) || (cfg->tls_cert == NULL) != (cfg->tls_key == NULL) ||
	    (cfg->krb_keytab == NULL) != (cfg->nkrb == 0))
		usage();
	if (strcmp(mode, "require") == 0)
		cfg->tls_setting = TDS_PRELOGIN_ENCRYPT_REQ;
	else if (strcmp(mode, "login") == 0)
		cfg->tls_setting = TDS_PRELOGIN_ENCRYPT_OFF;
	else
		usage();
	if (cfg->tls_cert == NULL)
		cfg->tls_setting = TDS_PRELOGIN_ENCRYPT_NOT_SUP;
	return verbose;
}

/* Block the signals the parent reads from a signalfd (returned); *oldmask is what children restore. */
static int
signals_block(sigset_t *oldmask)
{
	sigset_t mask;
	int sfd;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, oldmask) == -1)
		fatal("sigprocmask");
	if ((sfd = signalfd(-1, &mask, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return sfd;
}

/* The parent's set of children. */
struct children {
	pid_t	 pid[MAX_CHILDREN];
	size_t	 n;
};

/* Fork a child for the accepted connection cfd (closed here in the parent either way). */
static void
spawn(int cfd, int lfd, int sfd, const sigset_t *oldmask, struct server_cfg *cfg, struct children *ch)
{
	pid_t	 pid;
	int	 status;

	if (ch->n >= MAX_CHILDREN) {
		log_warnx("%d connections open: refusing another", MAX_CHILDREN);
		close(cfd);
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(cfd);
		return;
	}
	if (pid == 0) {
		close(lfd);
		close(sfd);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, oldmask, NULL);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() == 1)
			_exit(1);
		status = conn_serve(cfd, cfg);
		explicit_bzero(cfg->password, sizeof(cfg->password));
		explicit_bzero(cfg->win, sizeof(cfg->win));
		_exit(status);
	}
	ch->pid[ch->n++] = pid;
	close(cfd);
}

/* One signal from sfd: reap children on SIGCHLD; on SIGTERM/SIGINT stop accepting (returns 1). */
static int
on_signal(int sfd, int lfd, struct children *ch, int stopping)
{
	struct signalfd_siginfo si;
	pid_t	 pid;
	size_t	 i;
	int	 status;

	if (read(sfd, &si, sizeof(si)) != sizeof(si))
		fatal("signalfd read");
	if (si.ssi_signo == SIGCHLD) {
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
			for (i = 0; i < ch->n; i++)
				if (ch->pid[i] == pid) {
					ch->pid[i] = ch->pid[--ch->n];
					break;
				}
		return stopping;
	}
	if (!stopping) {
		log_info("signal %u: stopping %zu connection(s)", si.ssi_signo, ch->n);
		close(lfd);
		for (i = 0; i < ch->n; i++)
			kill(ch->pid[i], SIGTERM);
	}
	return 1;
}

/* Accept and fork until SIGTERM/SIGINT, then wait for every child. */
static void
serve(int lfd, int sfd, int bfd, const sigset_t *oldmask, struct server_cfg *cfg)
{
	struct children	 ch = { .n = 0 };
	struct pollfd	 pfd[3] = { { .fd = sfd, .events = POLLIN }, { .fd = lfd, .events = POLLIN },
			    { .fd = bfd, .events = POLLIN } };
	int		 cfd, stopping = 0, tcp_port = bound_port(lfd);

	while (!stopping || ch.n > 0) {
		if (poll(pfd, stopping ? 1 : 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			stopping = on_signal(sfd, lfd, &ch, stopping);
		if (!stopping && bfd != -1 && (pfd[2].revents & POLLIN))
			browser_answer(bfd, cfg, tcp_port);
		if (stopping || !(pfd[1].revents & POLLIN))
			continue;
		if ((cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
				log_warn("accept");
			continue;
		}
		spawn(cfd, lfd, sfd, oldmask, cfg, &ch);
	}
}

int
main(int argc, char *argv[])
{
	struct server_cfg cfg;
	struct faults	 f;
	sigset_t	 oldmask;
	sqlite3		*db;
	char		 err[512];
	int		 verbose, lfd, sfd, bfd = -1;

	log_init(1, 0, "dpfleet-tdsd");		/* parse_args' errors to stderr too */
	verbose = parse_args(argc, argv, &cfg);
	log_init(1, verbose, "dpfleet-tdsd");
	if (sodium_init() < 0)
		fatalx("sodium_init failed");
	if ((db = sqlexec_open(cfg.db, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	sqlite3_close(db);
	if (cfg.krb_keytab != NULL && setenv("KRB5_KTNAME", cfg.krb_keytab, 1) == -1)	/* tdsd_gss.c's acceptor */
		fatal("setenv KRB5_KTNAME");
	if (cfg.faults[0] && faults_load(cfg.faults, &f, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (cfg.tls_cert != NULL && tdsd_tls_cred_load(&cfg.tls, cfg.tls_cert, cfg.tls_key, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if ((lfd = listen_on(cfg.listen, err, sizeof(err))) == -1)
		fatalx("%s", err);
	if (cfg.browser[0] && (bfd = browser_open(cfg.browser, err, sizeof(err))) == -1)
		fatalx("%s", err);
	sfd = signals_block(&oldmask);

	printf("ready\n");
	fflush(stdout);
	log_info("listening on %s, database %s (%s), TLS %s", cfg.listen, cfg.database, cfg.db,
	    cfg.tls == NULL ? "off (ENCRYPT_NOT_SUP)" : cfg.tls_setting == TDS_PRELOGIN_ENCRYPT_REQ ?
	    "required (ENCRYPT_REQ)" : "login (ENCRYPT_OFF)");
	if (bfd != -1)
		log_info("SQL Browser on UDP %s for instance %s", cfg.browser, cfg.instance);
	if (cfg.nwin > 0)
		log_info("%zu Windows login(s) (NTLMv2), domain %s%s", cfg.nwin, cfg.win[0].domain,
		    cfg.windows_only ? "; Windows authentication only" : "");
	if (cfg.nkrb > 0)
		log_info("%zu Kerberos login(s), service keys from %s%s", cfg.nkrb, cfg.krb_keytab,
		    cfg.windows_only ? "; Windows authentication only" : "");
	serve(lfd, sfd, bfd, &oldmask, &cfg);
	if (bfd != -1)
		close(bfd);
	explicit_bzero(cfg.password, sizeof(cfg.password));
	explicit_bzero(cfg.win, sizeof(cfg.win));
	tdsd_tls_cred_free(cfg.tls);
	log_info("stopped");
	return 0;
}
