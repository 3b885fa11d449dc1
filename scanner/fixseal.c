/*
 * fixseal.c — the key and the seal of fixseal.h.  Called by fixrun.c: the key is loaded once per run, a
 * written fix is sealed when it is finished, a rollback's fix job is verified before any contact with the
 * host.  The message is a fixed label, then each field as its length (8 bytes, little-endian) and its bytes,
 * so no two different rows hash the same text.
 */
#include "fixseal.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define SEAL_LABEL	"dpfleet fix seal v1"

/* Create the key file with fresh random bytes; an existing file is left alone.  0, or -1 with err. */
static int
key_create(const char *path, char *err, size_t errlen)
{
	unsigned char k[FIXSEAL_KEY_LEN];
	int fd, rc = -1;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		return errno == EEXIST ? 0 : util_err(err, errlen, "%s: %s", path, strerror(errno));
	randombytes_buf(k, sizeof(k));
	if (write(fd, k, sizeof(k)) != (ssize_t)sizeof(k) || fsync(fd) == -1)
		util_err(err, errlen, "%s: %s", path, strerror(errno));
	else
		rc = 0;
	sodium_memzero(k, sizeof(k));
	if (close(fd) == -1 && rc == 0)
		rc = util_err(err, errlen, "%s: %s", path, strerror(errno));
	if (rc == -1)
		unlink(path);
	return rc;
}

int
fixseal_key_load(const struct config *conf, unsigned char key[FIXSEAL_KEY_LEN], char *err, size_t errlen)
{
	char path[PATH_MAX + sizeof(FIXSEAL_KEY_SUFFIX)];
	struct stat sb;
	int fd, rc = -1;

	memset(key, 0, FIXSEAL_KEY_LEN);
	if (sodium_init() < 0)
		return util_err(err, errlen, "libsodium failed to initialise");
	snprintf(path, sizeof(path), "%s%s", conf->store.path, FIXSEAL_KEY_SUFFIX);
	if (key_create(path, err, errlen) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return util_err(err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &sb) == -1)
		util_err(err, errlen, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() || (sb.st_mode & 077) != 0 ||
	    sb.st_size != FIXSEAL_KEY_LEN)
		util_err(err, errlen, "%s: not a %d-byte file of this user with mode 0600: refusing it (remove it "
		    "to make a new key; rollbacks of fixes sealed with the old one are then refused)", path,
		    FIXSEAL_KEY_LEN);
	else if (read(fd, key, FIXSEAL_KEY_LEN) != FIXSEAL_KEY_LEN)
		util_err(err, errlen, "%s: short read", path);
	else
		rc = 0;
	close(fd);
	if (rc == -1)
		sodium_memzero(key, FIXSEAL_KEY_LEN);
	return rc;
}

static void
put_field(crypto_auth_hmacsha256_state *h, const void *p, size_t len)
{
	unsigned char n[8];
	size_t i;

	for (i = 0; i < sizeof(n); i++)
		n[i] = (unsigned char)((uint64_t)len >> (8 * i));
	crypto_auth_hmacsha256_update(h, n, sizeof(n));
	crypto_auth_hmacsha256_update(h, p, len);
}

static void
put_str(crypto_auth_hmacsha256_state *h, const char *s)
{
	put_field(h, s != NULL ? s : "", s != NULL ? strlen(s) : 0);
}

void
fixseal_make(const unsigned char key[FIXSEAL_KEY_LEN], const struct fixseal_job *j, char out[FIXSEAL_HEX])
{
	crypto_auth_hmacsha256_state h;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	char num[2][32];

	snprintf(num[0], sizeof(num[0]), "%lld", (long long)j->id);
	snprintf(num[1], sizeof(num[1]), "%d", j->backup_type);
	crypto_auth_hmacsha256_init(&h, key, FIXSEAL_KEY_LEN);
	put_str(&h, SEAL_LABEL);
	put_str(&h, num[0]);
	put_str(&h, j->host);
	put_str(&h, j->backup);
	put_str(&h, num[1]);
	put_str(&h, j->after);
	crypto_auth_hmacsha256_final(&h, mac);
	util_hex(mac, sizeof(mac), out);
	sodium_memzero(&h, sizeof(h));
}

int
fixseal_verify(const unsigned char key[FIXSEAL_KEY_LEN], const struct fixseal_job *j, const char *seal)
{
	char want[FIXSEAL_HEX];
	int ok;

	if (seal == NULL || strlen(seal) != FIXSEAL_HEX - 1)
		return 0;
	fixseal_make(key, j, want);
	ok = sodium_memcmp(want, seal, FIXSEAL_HEX - 1) == 0;
	sodium_memzero(want, sizeof(want));
	return ok;
}
