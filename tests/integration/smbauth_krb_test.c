/*
 * smbauth_krb_test.c — a small driver of scanner/smb2.c's SESSION_SETUP with smbauth.c's Kerberos (MIT GSSAPI
 * SPNEGO) for smbauth_kerberos.py against the lab's realm.  One connection per run:
 *
 *   smbauth_krb_test ADDR FQDN MODE USER DOMAIN      MODE: kerberos | negotiate | ntlm; FQDN "-" for none
 *
 * The set's secret comes from the environment: SMBAUTH_TEST_CCACHE ("FILE:...", a keytab set; principal in
 * SMBAUTH_TEST_PRINCIPAL) or else SMBAUTH_TEST_PASSWORD.  krb5.conf is KRB5_CONFIG's.  smb2_connect as that set,
 * then TREE_CONNECT IPC$ (a signed request and a verified signed response: the session key is right).
 * Prints one line of key=value tokens: status=ok mech=M dialect=0xNNNN tree=0xSTATUS, or status=<reason>
 * phase=<p> (a lib/reason.h word); the error text goes to stderr.  Exit 0 when connected, 1 when not, 2 on
 * usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "rpc.h"
#include "smb2.h"
#include "util.h"

/* The credential set of argv and the environment into cr.  0, or -1 on a usage error. */
static int
set_cred(struct cred *cr, const char *mode, const char *user, const char *domain)
{
	const char *cc = getenv("SMBAUTH_TEST_CCACHE"), *pr = getenv("SMBAUTH_TEST_PRINCIPAL");
	const char *pw = getenv("SMBAUTH_TEST_PASSWORD");

	memset(cr, 0, sizeof(*cr));
	util_strlcpy(cr->name, "test", sizeof(cr->name));
	if (strcmp(mode, "kerberos") == 0)
		cr->auth = CRED_AUTH_KERBEROS;
	else if (strcmp(mode, "negotiate") == 0)
		cr->auth = CRED_AUTH_NEGOTIATE;
	else if (strcmp(mode, "ntlm") == 0)
		cr->auth = CRED_AUTH_NTLM;
	else
		return -1;
	util_strlcpy(cr->user, user, sizeof(cr->user));
	util_strlcpy(cr->domain, domain, sizeof(cr->domain));
	if (cc != NULL && cc[0] != '\0') {
		util_strlcpy(cr->ccache, cc, sizeof(cr->ccache));
		if (pr != NULL)
			util_strlcpy(cr->principal, pr, sizeof(cr->principal));
	} else if (pw != NULL)
		util_strlcpy(cr->password, pw, sizeof(cr->password));
	else
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct cred		 cr;
	struct smb2_conn	*c = NULL;
	enum rpc_fail		 why = RPC_FAIL_NONE;
	enum rpc_phase		 phase = RPC_PHASE_TCP;
	uint32_t		 tid, st;
	char			 err[1024];
	int			 uns = 0;

	if (argc != 6 || set_cred(&cr, argv[3], argv[4], argv[5]) == -1) {
		fprintf(stderr, "usage: smbauth_krb_test ADDR FQDN|- kerberos|negotiate|ntlm USER DOMAIN\n");
		return 2;
	}
	if (smb2_connect(&c, argv[1], strcmp(argv[2], "-") != 0 ? argv[2] : NULL, &cr, 10, err, sizeof(err), &why,
	    &phase, &uns) == -1) {
		printf("status=%s phase=%s\n", rpc_fail_str(why), rpc_phase_str(phase));
		fprintf(stderr, "%s\n", err);
		explicit_bzero(&cr, sizeof(cr));
		return 1;
	}
	explicit_bzero(&cr, sizeof(cr));
	if (smb2_tree_connect(c, "IPC$", &tid, &st, err, sizeof(err)) == -1) {
		printf("status=ok mech=%s dialect=0x%04x tree=error\n", smb2_mech(c), smb2_dialect(c));
		fprintf(stderr, "%s\n", err);
		smb2_close(c);
		return 1;
	}
	printf("status=ok mech=%s dialect=0x%04x tree=0x%08x\n", smb2_mech(c), smb2_dialect(c), st);
	smb2_close(c);
	return 0;
}
