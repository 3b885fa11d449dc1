/*
 * log.h — one logging module for both daemons (after OpenBSD relayd's log.c).
 * log_init() picks the sink: stderr when debug is set (foreground, -d), syslog otherwise.
 * verbose > 0 enables log_debug().  fatal()/fatalx() log and exit(1); fatal appends strerror(errno).
 */
#ifndef DPFLEET_LOG_H
#define DPFLEET_LOG_H

#include <stdarg.h>

void log_init(int debug, int verbose, const char *ident);
void log_setverbose(int verbose);
int  log_getverbose(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
