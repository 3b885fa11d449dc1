/*
 * smbauth.c — the driver of smbauth.h: picks the mechanism for a credential set (rpc_cred_auth) and walks
 * the SESSION_SETUP exchange for smb2.c (MS-SMB2 3.2.5.3).  Kerberos goes to smbauth_gss.c, whose MIT SPNEGO
 * makes and checks every token itself; NTLM is ours: smbauth_ntlm.c's messages wrapped in SPNEGO by
 * smbauth_spnego.c, with the mechListMIC both ways (MS-SPNG 3.1.5.1; smbd and Windows require it once the
 * NTLM MIC is present).
 *
 *   smbauth_start ──► GSS (Kerberos) ── smbauth_step ... ──► DONE        (smbauth_gss_step until complete)
 *        │
 *        └──────► NEG_SENT ── smbauth_step(done=0: CHALLENGE) ──► AUTH_SENT ── smbauth_step(done=1) ──► DONE
 *                 (NegTokenInit { NTLMSSP }, NEGOTIATE)            (AUTHENTICATE + mechListMIC)   (server's MIC)
 *
 * Any unexpected token or order is RPC_FAIL_PROTOCOL and ends the exchange (state FAILED).
 */
#include "smbauth.h"

#include <nettle/memops.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smbauth_int.h"
#include "util.h"

enum smbauth_state { ST_GSS, ST_NEG_SENT, ST_AUTH_SENT, ST_DONE, ST_FAILED };

struct smbauth {
	enum smbauth_state	 state;
	int			 kerberos;
	struct smbauth_gss	*gss;
	struct smbauth_ntlm	*ntlm;
	int			 have_key;
	uint8_t			 key[SMBAUTH_KEY_MAX];
	size_t			 keylen;
};

/* Set *why (may be NULL) and return -1. */
static int
fail(enum rpc_fail *why, enum rpc_fail w)
{
	if (why != NULL)
		*why = w;
	return -1;
}

/* NTLM for cr: the NEGOTIATE in a NegTokenInit as *tok.  0, or -1 + err. */
static int
ntlm_start(struct smbauth *a, const struct cred *cr, const char *fqdn, uint8_t **tok, size_t *toklen, char *err,
    size_t errlen)
{
	char	 target[CONFIG_STR + 8];
	uint8_t	*neg = NULL;
	size_t	 neglen;
	int	 rc;

	if (fqdn != NULL && (size_t)snprintf(target, sizeof(target), "cifs/%s", fqdn) >= sizeof(target))
		return util_err(err, errlen, "NTLM: host name too long");
	if (smbauth_ntlm_new(&a->ntlm, cr, fqdn != NULL ? target : NULL, &neg, &neglen, err, errlen) == -1)
		return -1;
	rc = smbauth_spnego_init(neg, neglen, tok, toklen, err, errlen);
	free(neg);
	a->state = ST_NEG_SENT;
	return rc;
}

int
smbauth_start(struct smbauth **out, const struct cred *cr, const char *fqdn, uint8_t **tok, size_t *toklen,
    char *err, size_t errlen, enum rpc_fail *why)
{
	struct smbauth	*a;
	enum cred_auth	 mode = rpc_cred_auth(cr);
	int		 keytab = cr->ccache[0] != '\0';

	*out = NULL;
	*tok = NULL;
	*toklen = 0;
	if (fqdn != NULL && fqdn[0] == '\0')
		fqdn = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return util_err(err, errlen, "smbauth: out of memory"), fail(why, RPC_FAIL_OTHER);
	if (mode != CRED_AUTH_NTLM && fqdn == NULL && (mode == CRED_AUTH_KERBEROS || keytab)) {
		util_err(err, errlen, "Kerberos: no host name to ask a cifs/ ticket for");
		goto kerberos_fail;
	}
	if (mode != CRED_AUTH_NTLM && fqdn != NULL) {
		if (smbauth_gss_start(&a->gss, cr, fqdn, tok, toklen, err, errlen) == 0) {
			a->kerberos = 1;
			a->state = ST_GSS;
			*out = a;
			return 0;
		}
		/* negotiate: nothing was sent yet, NTLM may still be tried (a keytab set has no password). */
		if (mode == CRED_AUTH_KERBEROS || keytab)
			goto kerberos_fail;
	}
	if (ntlm_start(a, cr, fqdn, tok, toklen, err, errlen) == -1) {
		smbauth_free(a);
		return fail(why, RPC_FAIL_OTHER);
	}
	*out = a;
	return 0;
kerberos_fail:
	smbauth_free(a);
	return fail(why, RPC_FAIL_KERBEROS);
}

/* NEG_SENT, the server's CHALLENGE: the AUTHENTICATE and our mechListMIC in a NegTokenResp.  1, or -1. */
static int
ntlm_challenge(struct smbauth *a, const uint8_t *in, size_t inlen, uint8_t **tok, size_t *toklen, char *err,
    size_t errlen)
{
	struct smbauth_negresp	 r, out;
	uint8_t			 sig[SMBAUTH_NTLM_SIG_LEN], *auth = NULL;
	const uint8_t		*mt;
	size_t			 mtlen, authlen = 0;
	int			 rc;

	if (smbauth_spnego_parse_resp(in, inlen, &r, err, errlen) == -1)
		return -1;
	if (r.negstate != -1 && r.negstate != SPNEGO_ACCEPT_INCOMPLETE && r.negstate != SPNEGO_REQUEST_MIC)
		return util_err(err, errlen, "SPNEGO: negState %d with more processing required", r.negstate);
	if (r.mech != NULL && (r.mechlen != sizeof(smbauth_oid_ntlmssp) ||
	    memcmp(r.mech, smbauth_oid_ntlmssp, r.mechlen) != 0))
		return util_err(err, errlen, "SPNEGO: the server chose a mechanism other than NTLMSSP");
	if (r.token == NULL)
		return util_err(err, errlen, "SPNEGO: no CHALLENGE_MESSAGE in the server's NegTokenResp");
	if (smbauth_ntlm_authenticate(a->ntlm, r.token, r.tokenlen, &auth, &authlen, err, errlen) == -1)
		return -1;
	mt = smbauth_spnego_mechtypes(&mtlen);
	if (smbauth_ntlm_mic(a->ntlm, 0, mt, mtlen, sig) == -1) {
		free(auth);
		return util_err(err, errlen, "NTLM: no keys for the mechListMIC");
	}
	out = (struct smbauth_negresp){ .negstate = -1, .token = auth, .tokenlen = authlen, .mic = sig,
	    .miclen = sizeof(sig) };
	rc = smbauth_spnego_resp(&out, tok, toklen, err, errlen);
	free(auth);
	a->state = ST_AUTH_SENT;
	return rc == -1 ? -1 : 1;
}

/* AUTH_SENT, the server said success: accept-completed, its mechListMIC checked when sent.  0, or -1 + *why. */
static int
ntlm_final(struct smbauth *a, const uint8_t *in, size_t inlen, char *err, size_t errlen, enum rpc_fail *why)
{
	struct smbauth_negresp	 r;
	uint8_t			 sig[SMBAUTH_NTLM_SIG_LEN];
	const uint8_t		*mt;
	size_t			 mtlen;

	if (inlen > 0) {
		if (smbauth_spnego_parse_resp(in, inlen, &r, err, errlen) == -1)
			return fail(why, RPC_FAIL_PROTOCOL);
		if (r.negstate != -1 && r.negstate != SPNEGO_ACCEPT_COMPLETED)
			return util_err(err, errlen, "SPNEGO: negState %d with success", r.negstate),
			    fail(why, RPC_FAIL_PROTOCOL);
		if (r.token != NULL && r.tokenlen > 0)
			return util_err(err, errlen, "SPNEGO: an NTLM token after the AUTHENTICATE_MESSAGE"),
			    fail(why, RPC_FAIL_PROTOCOL);
		if (r.mic != NULL) {
			mt = smbauth_spnego_mechtypes(&mtlen);
			if (smbauth_ntlm_mic(a->ntlm, 1, mt, mtlen, sig) == -1 || r.miclen != sizeof(sig) ||
			    !memeql_sec(sig, r.mic, sizeof(sig)))
				return util_err(err, errlen, "SPNEGO: the server's mechListMIC does not verify"),
				    fail(why, RPC_FAIL_LOGON);
		}
	}
	if (smbauth_ntlm_session_key(a->ntlm, a->key) == -1)
		return util_err(err, errlen, "NTLM: no session key"), fail(why, RPC_FAIL_PROTOCOL);
	a->keylen = SMBAUTH_NTLM_KEY_LEN;
	a->have_key = 1;
	return 0;
}

/* Kerberos: smbauth_gss_step, and the session key once complete. */
static int
gss_step(struct smbauth *a, const uint8_t *in, size_t inlen, int done, uint8_t **tok, size_t *toklen, char *err,
    size_t errlen, enum rpc_fail *why)
{
	int rc;

	if ((rc = smbauth_gss_step(a->gss, in, inlen, done, tok, toklen, err, errlen)) == -1)
		return fail(why, RPC_FAIL_KERBEROS);
	if (rc == 0) {
		if (smbauth_gss_session_key(a->gss, a->key, &a->keylen) == -1)
			return util_err(err, errlen, "Kerberos: no session key from the context"),
			    fail(why, RPC_FAIL_KERBEROS);
		a->have_key = 1;
		a->state = ST_DONE;
	}
	return rc;
}

int
smbauth_step(struct smbauth *a, const uint8_t *in, size_t inlen, int done, uint8_t **tok, size_t *toklen,
    char *err, size_t errlen, enum rpc_fail *why)
{
	int rc = -1;

	*tok = NULL;
	*toklen = 0;
	if (inlen > SMBAUTH_TOKEN_MAX) {
		util_err(err, errlen, "smbauth: server token of %zu bytes", inlen);
		fail(why, RPC_FAIL_PROTOCOL);
	} else if (a->state == ST_GSS)
		rc = gss_step(a, in, inlen, done, tok, toklen, err, errlen, why);
	else if (a->state == ST_NEG_SENT && !done) {
		if ((rc = ntlm_challenge(a, in, inlen, tok, toklen, err, errlen)) == -1)
			fail(why, RPC_FAIL_PROTOCOL);
	} else if (a->state == ST_AUTH_SENT && done) {
		if ((rc = ntlm_final(a, in, inlen, err, errlen, why)) == 0)
			a->state = ST_DONE;
	} else {
		util_err(err, errlen, "smbauth: the server said %s where it could not (%s exchange, step %d)",
		    done ? "success" : "more processing required", a->kerberos ? "Kerberos" : "NTLM", a->state);
		fail(why, RPC_FAIL_PROTOCOL);
	}
	if (rc == -1)
		a->state = ST_FAILED;
	return rc;
}

int
smbauth_session_key(const struct smbauth *a, uint8_t key[SMBAUTH_KEY_MAX], size_t *keylen)
{
	if (a->state != ST_DONE || !a->have_key)
		return -1;
	memcpy(key, a->key, a->keylen);
	*keylen = a->keylen;
	return 0;
}

const char *
smbauth_mech(const struct smbauth *a)
{
	return a->kerberos ? "kerberos" : "ntlm";
}

void
smbauth_free(struct smbauth *a)
{
	if (a == NULL)
		return;
	smbauth_gss_free(a->gss);
	smbauth_ntlm_free(a->ntlm);
	explicit_bzero(a, sizeof(*a));
	free(a);
}
