/*
 * fixseal.h — the scanner's seal on what a fix wrote: an HMAC-SHA256 (libsodium crypto_auth_hmacsha256) with
 * a key only the scanner can read, over a written fix job's id, host, backup, backup type and after-value
 * hash.  dpfleet-server (and anyone holding its access) can write every row of the state DB but not this key,
 * so a rollback restores only a backup whose seal verifies: one the scanner took itself (fixrun.c,
 * dpfleet-scanner(8) "Jobs").
 */
#ifndef DPFLEET_FIXSEAL_H
#define DPFLEET_FIXSEAL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define FIXSEAL_KEY_LEN		32
#define FIXSEAL_HEX		65	/* 64 lowercase hex digits and the NUL */
#define FIXSEAL_KEY_SUFFIX	".jobs.key"

/* What a seal covers: the fix job's row as the scanner finished it. */
struct fixseal_job {
	int64_t		 id;
	const char	*host;
	const char	*backup;	/* "absent" or lowercase hex, as stored */
	int		 backup_type;	/* -1 for absent */
	const char	*after;		/* the after-value hash */
};

/*
 * Load the key from "<[store] path>.jobs.key", creating it (32 random bytes, mode 0600, O_EXCL) when absent.
 * A key file that is not a regular file of 32 bytes owned by this user with no group or other permission is
 * refused (the state DB's directory is shared with dpfleet-server: dist/dpfleet.tmpfiles).  0 and key, or -1
 * with err (key zeroed).  The caller wipes the key (sodium_memzero) when done.
 */
int	 fixseal_key_load(const struct config *conf, unsigned char key[FIXSEAL_KEY_LEN], char *err, size_t errlen);

/* The seal of j as lowercase hex into out. */
void	 fixseal_make(const unsigned char key[FIXSEAL_KEY_LEN], const struct fixseal_job *j, char out[FIXSEAL_HEX]);

/* 1 when seal is j's seal under key (constant-time compare), else 0. */
int	 fixseal_verify(const unsigned char key[FIXSEAL_KEY_LEN], const struct fixseal_job *j, const char *seal);

#endif
