/*
 * webroot.c — static files for dpfleet-server.
 *
 * Called by server/http.c for every path that is not an API path.  Defence in depth against path escape:
 * (1) the decoded URL path must start with '/', hold no control bytes, no backslash and no "." or ".."
 * segment (libmicrohttpd has already decoded %2e%2e to ".."), (2) the candidate's realpath() must be the
 * root or lie under "root/" (so symlinks cannot lead out), (3) only regular files are opened, with
 * O_NOFOLLOW on the final component.  A directory serves its index.html; there is no listing.  The ETag is
 * a hash of inode size and mtime, so it changes whenever the file is replaced or edited.
 */
#include "webroot.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct webroot {
	char	 root[PATH_MAX];	/* realpath, "" when web_root does not exist */
};

static const struct {
	const char	*ext;
	const char	*type;
} types[] = {
	{ ".html",	"text/html; charset=utf-8" },
	{ ".js",	"text/javascript; charset=utf-8" },
	{ ".mjs",	"text/javascript; charset=utf-8" },
	{ ".css",	"text/css; charset=utf-8" },
	{ ".svg",	"image/svg+xml" },
	{ ".png",	"image/png" },
	{ ".json",	"application/json" },
	{ ".ico",	"image/x-icon" },
	{ ".txt",	"text/plain; charset=utf-8" },
	{ ".woff2",	"font/woff2" },
	{ ".map",	"application/json" },
};

int
webroot_open(struct webroot **out, const char *path, char *err, size_t errlen)
{
	struct webroot *w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return util_err(err, errlen, "web_root: out of memory");
	if (path == NULL || *path == '\0' || realpath(path, w->root) == NULL) {
		log_warnx("web_root %s: %s; static files will answer 404", path ? path : "(unset)",
		    path && *path ? strerror(errno) : "not set");
		w->root[0] = '\0';
	}
	*out = w;
	return 0;
}

void
webroot_close(struct webroot *w)
{
	free(w);
}

static const char *
type_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot != NULL && strchr(dot, '/') == NULL)
		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Reject "." and ".." segments, control bytes and backslashes. */
static int
path_ok(const char *p)
{
	const char *seg = p;
	size_t n;

	if (*p != '/')
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return 0;
	while (*seg != '\0') {
		seg += strspn(seg, "/");
		n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		seg += n;
	}
	return 1;
}

static int
under_root(const struct webroot *w, const char *real)
{
	size_t n = strlen(w->root);

	return strncmp(real, w->root, n) == 0 && (real[n] == '/' || real[n] == '\0' ||
	    (n == 1 && w->root[0] == '/'));
}

int
webroot_resolve(const struct webroot *w, const char *urlpath, struct webroot_file *f, char *err,
    size_t errlen)
{
	char cand[PATH_MAX], real[PATH_MAX], sum[UTIL_SHA256_HEX], stamp[64];
	struct stat sb;
	int fd = -1, n;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (!path_ok(urlpath)) {
		util_err(err, errlen, "invalid path: \".\" and \"..\" segments, backslashes and control "
		    "characters are not allowed");
		return WEBROOT_BAD_PATH;
	}
	if (w->root[0] == '\0') {
		util_err(err, errlen, "no such file: %s", urlpath);
		return WEBROOT_NOT_FOUND;
	}
	n = snprintf(cand, sizeof(cand), "%s%s", w->root, urlpath);
	if (n < 0 || (size_t)n >= sizeof(cand) - sizeof("/index.html")) {
		util_err(err, errlen, "invalid path: too long");
		return WEBROOT_BAD_PATH;
	}
	if (realpath(cand, real) == NULL || !under_root(w, real) || stat(real, &sb) == -1)
		goto notfound;
	if (S_ISDIR(sb.st_mode)) {
		n = snprintf(cand, sizeof(cand), "%s/index.html", real);
		if (n < 0 || (size_t)n >= sizeof(cand) || realpath(cand, real) == NULL || !under_root(w, real))
			goto notfound;
	}
	if ((fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(fd, &sb) == -1 ||
	    !S_ISREG(sb.st_mode))
		goto notfound;
	snprintf(stamp, sizeof(stamp), "%lld:%lld.%09ld:%llu", (long long)sb.st_size,
	    (long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (unsigned long long)sb.st_ino);
	util_sha256_hex(stamp, strlen(stamp), sum);
	snprintf(f->etag, sizeof(f->etag), "\"%.32s\"", sum);
	f->fd = fd;
	f->size = sb.st_size;
	f->type = type_of(real);
	return WEBROOT_OK;
notfound:
	if (fd != -1)
		close(fd);
	util_err(err, errlen, "no such file: %s", urlpath);
	return WEBROOT_NOT_FOUND;
}
