/*
 * util.h — small pure helpers both daemons use: time stamps, hex, SHA-256 of values, bounded string copy,
 * error formatting into a caller's buffer.
 */
#ifndef DPFLEET_UTIL_H
#define DPFLEET_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define UTIL_ISO_LEN	21	/* "YYYY-MM-DDTHH:MM:SSZ" + NUL */
#define UTIL_SHA256_HEX	65	/* 64 hex digits + NUL */

/* Format t (UTC) as ISO 8601 "YYYY-MM-DDTHH:MM:SSZ" into buf (UTIL_ISO_LEN bytes). */
void	 util_iso_time(time_t t, char buf[UTIL_ISO_LEN]);
/* The current time, same format. */
void	 util_iso_now(char buf[UTIL_ISO_LEN]);
/* Parse that format back; 0 and *t on success, -1 on anything else. */
int	 util_iso_parse(const char *s, time_t *t);

/* Monotonic milliseconds, for deadlines and durations. */
int64_t	 util_mono_ms(void);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void	 util_hex(const void *data, size_t len, char *out);
/* Decode lowercase/uppercase hex; returns bytes written or -1 on bad input or if it would exceed cap. */
long	 util_unhex(const char *hex, unsigned char *out, size_t cap);

/* SHA-256 of len bytes as lowercase hex. */
void	 util_sha256_hex(const void *data, size_t len, char out[UTIL_SHA256_HEX]);

/*
 * The canonical hash of a multi-string value: SHA-256 over each UTF-8 element followed by one NUL byte.
 * Used for host values and site expected values alike so they compare by hash.
 */
void	 util_multisz_sha256(const char *const *elems, size_t n, char out[UTIL_SHA256_HEX]);

/*
 * Split Value1 the way REG.exe ADD /t REG_MULTI_SZ /d splits it: on the two-character sequence "\0".
 * Empty elements are dropped (REG_MULTI_SZ cannot hold them).  Returns the element count and sets *elems to a
 * malloc'd array of malloc'd strings (free with util_strv_free), or -1 on allocation failure.
 */
long	 util_split_value1(const char *value1, char ***elems);
void	 util_strv_free(char **v, size_t n);

/* strlcpy semantics: returns strlen(src); truncation when >= size. */
size_t	 util_strlcpy(char *dst, const char *src, size_t size);

/* snprintf into an error buffer (err may be NULL).  Always returns -1 so callers can `return util_err(...)`. */
int	 util_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read a whole file of at most cap bytes; malloc'd, NUL-terminated; *len set.  NULL + err on failure. */
char	*util_read_file(const char *path, size_t cap, size_t *len, char *err, size_t errlen);

#endif
