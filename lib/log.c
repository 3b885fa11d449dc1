/*
 * log.c — logging for dpfleet-scanner, dpfleet-server and their workers.
 *
 * Modelled on OpenBSD relayd's log.c.  The sink is chosen once by log_init(): with debug set the messages go
 * to stderr (the daemon runs in the foreground under -d, and tests read stderr), otherwise to syslog with the
 * daemon's ident.  The only state is the sink choice and the verbosity, set from main() before any worker is
 * forked; this is the one piece of process-wide state doc/HACKING.md ("Module rules") allows outside main,
 * because syslog itself is process-wide.  Messages never carry secrets: callers log names and reasons, never
 * passwords.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static int log_debug_sink;  /* 1: stderr, 0: syslog */
static int log_verbose;

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

static void
vlog(int pri, const char *fmt, va_list ap)
{
	if (log_debug_sink) {
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		fflush(stderr);
	} else
		vsyslog(pri, fmt, ap);
}

static void
vlog_errno(int pri, int saved, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_debug_sink) {
		fprintf(stderr, "%s: %s\n", msg, strerror(saved));
		fflush(stderr);
	} else
		syslog(pri, "%s: %s", msg, strerror(saved));
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
