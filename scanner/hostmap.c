/*
 * hostmap.c — load [smb] host_map files and resolve host names.
 *
 * Called by scan.c (hostmap_load/lookup in the parent, once per scan run so an edited map takes effect) and
 * by worker.c (hostmap_resolve for hosts the map does not name).  The map is a sorted array searched with
 * bsearch; names are compared case-insensitively, as Windows names are.  Lines are capped at 1 KiB.
 */
#include "hostmap.h"
#include "util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

struct hostmap_entry {
	char	*fqdn;
	char	 addr[HOSTMAP_ADDR_MAX];
};

struct hostmap {
	struct hostmap_entry	*e;
	size_t			 n;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcasecmp(((const struct hostmap_entry *)a)->fqdn, ((const struct hostmap_entry *)b)->fqdn);
}

static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
			return 0;
	return 1;
}

static int
valid_addr(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Append "path:line: reason\n" to err; counts errors. */
static void
add_err(char *err, size_t errlen, int *nerr, const char *path, int line, const char *what)
{
	size_t used = err ? strlen(err) : 0;

	(*nerr)++;
	if (err != NULL && used < errlen)
		snprintf(err + used, errlen - used, "%s:%d: %s\n", path, line, what);
}

int
hostmap_empty(struct hostmap **out, char *err, size_t errlen)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return util_err(err, errlen, "out of memory");
	return 0;
}

/*
 * One line of the file: the comment cut, the tokens checked, the entry appended (errors added to err).  0 go
 * on, -1 stop reading (entry cap or out of memory).
 */
static int
parse_line(struct hostmap *hm, size_t *cap, char *line, const char *path, int lineno, char *err, size_t errlen,
    int *nerr)
{
	struct hostmap_entry *ne;
	char *tok[3], *save, *hash, why[160];
	int nt;

	if (strlen(line) > 1024) {
		add_err(err, errlen, nerr, path, lineno, "line longer than 1024 bytes");
		return 0;
	}
	if ((hash = strchr(line, '#')) != NULL)
		*hash = '\0';
	nt = 0;
	for (tok[0] = strtok_r(line, " \t\r", &save); nt < 3 && tok[nt] != NULL;)
		if (++nt < 3)
			tok[nt] = strtok_r(NULL, " \t\r", &save);
	if (nt == 0)
		return 0;
	if (nt != 2) {
		add_err(err, errlen, nerr, path, lineno, "expected \"FQDN ADDRESS\"");
		return 0;
	}
	if (!valid_name(tok[0])) {
		snprintf(why, sizeof(why), "bad host name \"%.64s\"", tok[0]);
		add_err(err, errlen, nerr, path, lineno, why);
		return 0;
	}
	if (strlen(tok[1]) >= HOSTMAP_ADDR_MAX || !valid_addr(tok[1])) {
		snprintf(why, sizeof(why), "bad address \"%.64s\" (numeric IPv4 or IPv6 only)", tok[1]);
		add_err(err, errlen, nerr, path, lineno, why);
		return 0;
	}
	if (hm->n >= HOSTMAP_MAX_ENTRIES) {
		add_err(err, errlen, nerr, path, lineno, "too many entries");
		return -1;
	}
	if (hm->n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		if ((ne = reallocarray(hm->e, *cap, sizeof(*ne))) == NULL) {
			add_err(err, errlen, nerr, path, lineno, "out of memory");
			return -1;
		}
		hm->e = ne;
	}
	if ((hm->e[hm->n].fqdn = strdup(tok[0])) == NULL) {
		add_err(err, errlen, nerr, path, lineno, "out of memory");
		return -1;
	}
	util_strlcpy(hm->e[hm->n].addr, tok[1], HOSTMAP_ADDR_MAX);
	hm->n++;
	return 0;
}

int
hostmap_load(struct hostmap **out, const char *path, char *err, size_t errlen)
{
	struct hostmap *hm = NULL;
	char *text = NULL, *line, *next, why[160];
	size_t len, cap = 0, i;
	int lineno = 0, nerr = 0;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((text = util_read_file(path, HOSTMAP_FILE_MAX, &len, why, sizeof(why))) == NULL) {
		add_err(err, errlen, &nerr, path, 0, why);
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		add_err(err, errlen, &nerr, path, 0, "NUL byte in file");
		goto fail;
	}
	if ((hm = calloc(1, sizeof(*hm))) == NULL) {
		add_err(err, errlen, &nerr, path, 0, "out of memory");
		goto fail;
	}
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (parse_line(hm, &cap, line, path, lineno, err, errlen, &nerr) == -1)
			break;
	}
	if (hm->n > 0)
		qsort(hm->e, hm->n, sizeof(*hm->e), cmp_entry);
	for (i = 1; i < hm->n; i++)
		if (strcasecmp(hm->e[i - 1].fqdn, hm->e[i].fqdn) == 0) {
			snprintf(why, sizeof(why), "duplicate host \"%.64s\"", hm->e[i].fqdn);
			add_err(err, errlen, &nerr, path, 0, why);
		}
	if (nerr > 0)
		goto fail;
	free(text);
	*out = hm;
	return 0;
fail:
	free(text);
	hostmap_free(hm);
	return -1;
}

void
hostmap_free(struct hostmap *hm)
{
	size_t i;

	if (hm == NULL)
		return;
	for (i = 0; i < hm->n; i++)
		free(hm->e[i].fqdn);
	free(hm->e);
	free(hm);
}

const char *
hostmap_lookup(const struct hostmap *hm, const char *fqdn)
{
	struct hostmap_entry key, *e;

	if (hm == NULL || hm->n == 0)
		return NULL;
	key.fqdn = (char *)fqdn;
	e = bsearch(&key, hm->e, hm->n, sizeof(*hm->e), cmp_entry);
	return e ? e->addr : NULL;
}

size_t
hostmap_count(const struct hostmap *hm)
{
	return hm ? hm->n : 0;
}

int
hostmap_resolve(const char *name, char addr[HOSTMAP_ADDR_MAX], char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai, *pick = NULL;
	int rc;

	if (valid_addr(name)) {
		util_strlcpy(addr, name, HOSTMAP_ADDR_MAX);
		return 0;
	}
	if (!valid_name(name))
		return util_err(err, errlen, "bad host name");
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(name, NULL, &hints, &res)) != 0)
		return util_err(err, errlen, "%s: %s", name, gai_strerror(rc));
	for (ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET)
			pick = ai;
	for (ai = res; ai != NULL && pick == NULL; ai = ai->ai_next)
		if (ai->ai_family == AF_INET6)
			pick = ai;
	if (pick == NULL || getnameinfo(pick->ai_addr, pick->ai_addrlen, addr, HOSTMAP_ADDR_MAX, NULL, 0,
	    NI_NUMERICHOST) != 0) {
		freeaddrinfo(res);
		return util_err(err, errlen, "%s: no usable address", name);
	}
	freeaddrinfo(res);
	return 0;
}
