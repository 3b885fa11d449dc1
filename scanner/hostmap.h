/*
 * hostmap.h — [smb] host_map: "FQDN ADDRESS" per line overriding name resolution (the FQDN stays the host's
 * identity; only where to connect changes).  Unmapped hosts are resolved with getaddrinfo, in the worker.
 */
#ifndef DPFLEET_HOSTMAP_H
#define DPFLEET_HOSTMAP_H

#include <stddef.h>

#define HOSTMAP_ADDR_MAX	64	/* a numeric IPv4/IPv6 address incl. NUL */
#define HOSTMAP_MAX_ENTRIES	100000
#define HOSTMAP_FILE_MAX	(16u * 1024 * 1024)

struct hostmap;

/*
 * Parse the file at path: blank lines and lines starting with '#' (after blanks) are ignored; every other line
 * is "FQDN ADDRESS" (whitespace separated, trailing "# comment" allowed) with a numeric IPv4 or IPv6 address.
 * A duplicate FQDN (case-insensitive), a bad address or a bad name is an error.  Returns 0 and *out (free with
 * hostmap_free), or -1 with every error as "path:line: reason" lines in err (nothing allocated on -1).
 */
int	 hostmap_load(struct hostmap **out, const char *path, char *err, size_t errlen);
/* An empty map (no file configured).  0, or -1 on allocation failure. */
int	 hostmap_empty(struct hostmap **out, char *err, size_t errlen);
void	 hostmap_free(struct hostmap *hm);

/* The mapped address of fqdn (case-insensitive), or NULL; owned by hm. */
const char *hostmap_lookup(const struct hostmap *hm, const char *fqdn);
size_t	 hostmap_count(const struct hostmap *hm);

/*
 * Resolve name with getaddrinfo (IPv4 first, then IPv6) into addr as a numeric string.  0, or -1 with err.
 * A numeric address is returned as is.  May block on DNS: call it in a worker, never in the parent.
 */
int	 hostmap_resolve(const char *name, char addr[HOSTMAP_ADDR_MAX], char *err, size_t errlen);

#endif
