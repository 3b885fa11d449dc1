/*
 * log.c — logging for dpfleet-scanner, dpfleet-server and their workers.
 *
 * Modelled on OpenBSD relayd's log.c.  The sink is chosen once by log_init(): with debug set the messages go
 * to stderr (the daemon runs in the foreground under -d, and tests read stderr), otherwise to syslog with the
 * daemon's ident.  The only state is the sink choice and the verbosity, set from main() before any worker is
 * forked; this is the one piece of process-wide state doc/HACKING.md ("Module rules") allows outside main,
 * because syslog itself is process-wide.  Messages never carry secrets: callers log names and reasons, never
 * passwords.  Every message is formatted into a bounded buffer (LOG_LINE_MAX) and passed through
 * log_escape() before it reaches a sink, so a URL or a user name holding CR, LF or other control bytes can
 * never start a forged line (OWASP "Log Injection").
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define LOG_LINE_MAX	2048	/* a formatted message is cut to this many bytes before escaping */

static int log_debug_sink;  /* 1: stderr, 0: syslog */
static int log_verbose;

size_t
log_escape(const char *in, char *out, size_t outsize)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	char e[4];
	size_t need = 0, used = 0, n;
	int cut = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			e[0] = '\\';
			e[1] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
			n = 2;
		} else if (*p < 0x20 || *p == 0x7f) {
			e[0] = '\\';
			e[1] = 'x';
			e[2] = hex[*p >> 4];
			e[3] = hex[*p & 0xf];
			n = 4;
		} else {
			e[0] = (char)*p;
			n = 1;
		}
		if (!cut && used + n < outsize) {
			memcpy(out + used, e, n);
			used += n;
		} else
			cut = 1;	/* never a partial escape, nothing after a cut */
		need += n;
	}
	if (outsize > 0)
		out[used] = '\0';
	return need;
}

void
log_init(int debug, int verbose, const char *ident)
{
	log_debug_sink = debug;
	log_verbose = verbose;
	if (!debug)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	tzset();
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return log_verbose;
}

/* Format, append ": strerror(saved)" when saved is not 0, escape, and write one line to the sink. */
static void
vlog_line(int pri, int saved, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX], line[4 * LOG_LINE_MAX];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (saved != 0) {
		n = strlen(msg);
		snprintf(msg + n, sizeof(msg) - n, ": %s", strerror(saved));
	}
	log_escape(msg, line, sizeof(line));
	if (log_debug_sink) {
		fprintf(stderr, "%s\n", line);
		fflush(stderr);
	} else
		syslog(pri, "%s", line);
}

static void
vlog(int pri, const char *fmt, va_list ap)
{
	vlog_line(pri, 0, fmt, ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	vlog_line(pri, saved, fmt, ap);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose <= 0)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}
