/*
 * webroot.h — dpfleet-server's static files (the dashboard in web/): path checks, content types, ETags.
 * No directory listing; "/" and directories serve their index.html; nothing outside the real web_root is
 * ever opened (".." segments are refused, and every resolved path must stay under realpath(web_root)).
 */
#ifndef DPFLEET_WEBROOT_H
#define DPFLEET_WEBROOT_H

#include <stddef.h>
#include <sys/types.h>

struct webroot;

#define WEBROOT_OK		0
#define WEBROOT_NOT_FOUND	1	/* 404 */
#define WEBROOT_BAD_PATH	2	/* 400: ".." segment, control bytes, over-long */

struct webroot_file {
	int		 fd;		/* open, read-only; the caller closes it (or hands it to MHD) */
	off_t		 size;
	char		 etag[40];	/* quoted, from size and mtime */
	const char	*type;		/* static Content-Type */
};

/*
 * Resolve web_root once.  A missing directory is not an error (the server then answers 404 for static
 * paths and logs a warning).  0 and *out (free with webroot_close), or -1 with err (out of memory).
 */
int	 webroot_open(struct webroot **out, const char *path, char *err, size_t errlen);
void	 webroot_close(struct webroot *w);

/*
 * Open the file for a decoded URL path.  Returns WEBROOT_OK with *f filled, WEBROOT_NOT_FOUND or
 * WEBROOT_BAD_PATH with a reason in err; nothing is left open unless WEBROOT_OK.
 */
int	 webroot_resolve(const struct webroot *w, const char *urlpath, struct webroot_file *f, char *err,
	    size_t errlen);

#endif
