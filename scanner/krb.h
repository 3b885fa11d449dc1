/*
 * krb.h — the scanner's own Kerberos ticket caches (dpfleet.conf(5), "auth", "keytab"; dpfleet-scanner(8),
 * "Kerberos").  For every credential set with a keytab, the parent process gets a TGT for the set's principal
 * from the keytab into a FILE: cache in a private 0700 directory next to the state DB (<store>.krb/), and
 * gets a fresh one before the old one runs out; workers hand that cache to Samba (cred.h, ccache).  Password
 * sets need none of this: Samba gets their ticket from the password itself.  MIT krb5 API; the krb5.conf is
 * the one KRB5_CONFIG names, else /etc/krb5.conf.
 */
#ifndef DPFLEET_KRB_H
#define DPFLEET_KRB_H

#include <stddef.h>
#include <time.h>

#include "config.h"

/*
 * A ticket is got again when 3/4 of its lifetime has passed, and in any case while more than KRB_MARGIN_S
 * seconds are left: Samba's client throws away a cache with less than 300 s left and tries a password it
 * does not have (auth/credentials/credentials_krb5.c, cli_credentials_get_named_ccache), and a host's
 * connect must not start on a ticket that dies during it.
 */
#define KRB_MARGIN_S		420
#define KRB_RETRY_S		30	/* after a failed attempt, the next one (the daemon loop's pace) */
#define KRB_SAMBA_MIN_S		300	/* Samba's own threshold (above): a cache with less is unusable */

struct krb;

/*
 * The ticket cache of set `set` ("smb" or a [credentials] NAME) for the state DB at store: "FILE:" +
 * <store>.krb/<set>.ccache.  Pure.  0, or -1 with err when it does not fit in size.
 */
int	 krb_ccache_name(const char *store, const char *set, char *out, size_t size, char *err, size_t errlen);

/*
 * The parent's caches for every keytab set of conf ([smb] when it has a keytab, then each [credentials] set
 * with one), in a directory <store>.krb made 0700 (created if absent; refused when it is a symbolic link,
 * not a directory, not ours or open to group or others).  Gets no ticket yet: krb_refresh does.  0 and *out
 * (free with krb_close; *out holds no set when conf has no keytab), or -1 with err and *out NULL.  A ticket
 * already in a cache with more than KRB_MARGIN_S left is kept and only got again when it is due.
 */
int	 krb_open(struct krb **out, const struct config *conf, char *err, size_t errlen);

/*
 * Get a ticket for every set that is due (no ticket yet, 3/4 of its lifetime gone or less than KRB_MARGIN_S
 * left) and not in its KRB_RETRY_S back-off after a failure; now is time(NULL).  Each acquisition is logged
 * (principal, lifetime); each failure is logged with the principal and the KDC's or keytab's word.  The new
 * ticket is written to a temporary cache and renamed over the old one, so a worker reading the cache sees a
 * whole one.  Returns the number of sets that failed (0: all fine or none due); err holds the last failure.
 */
int	 krb_refresh(struct krb *k, time_t now, char *err, size_t errlen);

/*
 * For a mode that runs for a short while (a fix command, its workers): krb_open, krb_refresh, krb_close.  A
 * cache that is not due yet (the daemon keeps it fresh) is left alone.  Failures are logged; returns their
 * number.
 */
int	 krb_ensure(const struct config *conf);

/* The number of keytab sets k holds (0 for NULL). */
int	 krb_count(const struct krb *k);

/* Free k; the caches stay on disk (a worker may still read them; the next start overwrites them).  NULL ok. */
void	 krb_close(struct krb *k);

/*
 * `-n`: the keytab (its secrecy is config_check_files') holds at least one key for principal.  0, or -1
 * with err naming the keytab and the principal.
 */
int	 krb_check_keytab(const char *keytab, const char *principal, char *err, size_t errlen);

/*
 * Every keytab set of conf passes krb_check_keytab.  Returns the number of problems, each appended to errs as
 * one line.
 */
int	 krb_check_config(const struct config *conf, char *errs, size_t errlen);

/*
 * A worker's check before it connects with a keytab set: ccache holds a TGT for principal with at least
 * KRB_SAMBA_MIN_S seconds left.  0, or -1 with err naming the principal and what is wrong (no cache, another
 * principal, no TGT, expired at <time>); *left (may be NULL) gets the seconds left (0 when none).
 */
int	 krb_check_ccache(const char *ccache, const char *principal, long *left, char *err, size_t errlen);

#endif
