/*
 * log.h — one logging module for both daemons (after OpenBSD relayd's log.c).
 * log_init() picks the sink: stderr when debug is set (foreground, -d), syslog otherwise.
 * verbose > 0 enables log_debug().  fatal()/fatalx() log and exit(1); fatal appends strerror(errno).
 * Control bytes in a message are escaped (log_escape), so no message can forge a second line.
 */
#ifndef DPFLEET_LOG_H
#define DPFLEET_LOG_H

#include <stdarg.h>
#include <stddef.h>

void log_init(int debug, int verbose, const char *ident);
void log_setverbose(int verbose);
int  log_getverbose(void);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * Copy in to out (outsize bytes, NUL-terminated when outsize > 0) with every control byte escaped: LF, CR
 * and TAB as \n, \r, \t, any other byte below 0x20 and 0x7f as \xNN; everything else (UTF-8 included) as
 * is.  Returns the length the whole escaped text needs without the NUL (4 * strlen(in) at most); out is cut
 * before an escape that does not fit when that is >= outsize.  Every log line goes through it, and
 * lib/store.c's audit rows do.
 */
size_t log_escape(const char *in, char *out, size_t outsize);

#endif
