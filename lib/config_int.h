/*
 * config_int.h — what config.c shares with config_cred.c (the [credentials NAME] sections and the [smb]
 * credential rules of dpfleet.conf(5)).  Nothing outside lib/config*.c includes it.
 */
#ifndef DPFLEET_CONFIG_INT_H
#define DPFLEET_CONFIG_INT_H

#include "config.h"

/* Where config_cred.c reports a problem: one "file:line: msg" error through config.c's perr (line 0: none). */
struct config_cred_report {
	void	(*err)(void *arg, int line, const char *msg);
	void	*arg;
};

/* 1 if an inih section name is a [credentials NAME] section, else 0. */
int	 config_cred_is_section(const char *section);

/*
 * A [credentials NAME] header at line: opens the set in conf->creds.  Returns its index, or -1 after
 * reporting why (bad or duplicate name, too many sets); the section's keys are then ignored.
 */
int	 config_cred_open(struct config *conf, const char *section, int line, const struct config_cred_report *r);

/*
 * One key of set idx at line.  Returns 1 when the key is one of a set's keys (reported if its value is bad
 * or it is set twice), 0 when the name is not a credential-set key (the caller reports it).
 */
int	 config_cred_key(struct config *conf, int idx, const char *name, const char *value, int line,
	    const struct config_cred_report *r);

/*
 * After the whole file: each set has a user and exactly one of password_file and keytab (principal with a
 * keytab only) and selects hosts by at least one suffix or site code; no suffix or site code is claimed by
 * two sets; [smb] has user and a secret when no set exists, and a secret exactly when it has a user.
 */
void	 config_cred_finish(const struct config *conf, const struct config_cred_report *r);

#endif
