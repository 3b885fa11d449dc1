/*
 * util.c — small pure helpers shared by every module: ISO 8601 UTC time stamps, monotonic clock, hex,
 * SHA-256 (libsodium's crypto_hash_sha256), the canonical hash of a multi-string value, the REG.exe split of
 * a site DB Value1, bounded string copy and error-buffer formatting.  No state; callers own every buffer.
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

void
util_iso_time(time_t t, char buf[UTIL_ISO_LEN])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, UTIL_ISO_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		util_strlcpy(buf, "1970-01-01T00:00:00Z", UTIL_ISO_LEN);
}

void
util_iso_now(char buf[UTIL_ISO_LEN])
{
	util_iso_time(time(NULL), buf);
}

int
util_iso_parse(const char *s, time_t *t)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || strlen(s) != UTIL_ISO_LEN - 1)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	*t = timegm(&tm);
	return 0;
}

int64_t
util_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
util_hex(const void *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long
util_unhex(const char *hex, unsigned char *out, size_t cap)
{
	size_t n = strlen(hex), i;
	int hi, lo;

	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (i = 0; i < n / 2; i++) {
		if ((hi = hexval((unsigned char)hex[2 * i])) < 0 ||
		    (lo = hexval((unsigned char)hex[2 * i + 1])) < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

void
util_sha256_hex(const void *data, size_t len, char out[UTIL_SHA256_HEX])
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, data, len);
	util_hex(h, sizeof(h), out);
}

void
util_multisz_sha256(const char *const *elems, size_t n, char out[UTIL_SHA256_HEX])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	static const unsigned char nul = 0;
	size_t i;

	crypto_hash_sha256_init(&st);
	for (i = 0; i < n; i++) {
		crypto_hash_sha256_update(&st, (const unsigned char *)elems[i], strlen(elems[i]));
		crypto_hash_sha256_update(&st, &nul, 1);
	}
	crypto_hash_sha256_final(&st, h);
	util_hex(h, sizeof(h), out);
}

void
util_strv_free(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

long
util_split_value1(const char *value1, char ***elems)
{
	char **v = NULL, **nv;
	size_t n = 0, len;
	const char *p = value1, *sep;

	*elems = NULL;
	for (;;) {
		sep = strstr(p, "\\0");
		len = sep ? (size_t)(sep - p) : strlen(p);
		if (len > 0) {
			if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL)
				goto fail;
			v = nv;
			if ((v[n] = strndup(p, len)) == NULL)
				goto fail;
			n++;
		}
		if (sep == NULL)
			break;
		p = sep + 2;
	}
	*elems = v;
	return (long)n;
fail:
	util_strv_free(v, n);
	return -1;
}

size_t
util_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int
util_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

char *
util_read_file(const char *path, size_t cap, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t off = 0;
	ssize_t r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		util_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) == -1) {
		util_err(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		util_err(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if ((size_t)sb.st_size > cap) {
		util_err(err, errlen, "%s: larger than %zu bytes", path, cap);
		goto fail;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		util_err(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	while (off < (size_t)sb.st_size) {
		r = read(fd, buf + off, (size_t)sb.st_size - off);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			util_err(err, errlen, "%s: %s", path, r == 0 ? "short read" : strerror(errno));
			goto fail;
		}
		off += (size_t)r;
	}
	buf[off] = '\0';
	*len = off;
	close(fd);
	return buf;
fail:
	free(buf);
	close(fd);
	return NULL;
}
