/*
 * fuzz_smbauth.c — libFuzzer target for what a server sends dpfleet's SMB2 client during SESSION_SETUP
 * (scanner/smbauth_spnego.c, scanner/smbauth_ntlm.c): the whole input goes to the SPNEGO NegTokenResp
 * parser, the NegTokenInit parser and the NTLM CHALLENGE_MESSAGE parser.  A NegTokenResp that parses is
 * re-encoded and must parse again to the same fields; its responseToken (and the raw input) is answered by
 * the NTLM client as a CHALLENGE_MESSAGE, so the AUTHENTICATE builder runs on every challenge the parser
 * accepts.  Built only with -Dfuzz=true.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smbauth_int.h"

/* The two parses of a NegTokenResp must agree field by field. */
static void
same_resp(const struct smbauth_negresp *a, const struct smbauth_negresp *b)
{
	if (a->negstate != b->negstate || (a->mech == NULL) != (b->mech == NULL) || a->mechlen != b->mechlen ||
	    (a->token == NULL) != (b->token == NULL) || a->tokenlen != b->tokenlen ||
	    (a->mic == NULL) != (b->mic == NULL) || a->miclen != b->miclen)
		abort();
	if ((a->mech && memcmp(a->mech, b->mech, a->mechlen) != 0) ||
	    (a->token && memcmp(a->token, b->token, a->tokenlen) != 0) ||
	    (a->mic && memcmp(a->mic, b->mic, a->miclen) != 0))
		abort();
}

/* Answer chal as the NTLM client would, with fixed "random" values; a parsed challenge must be answered
 * unless the server's flags lack NTLMv2's essentials. */
static void
answer(const uint8_t *chal, size_t n)
{
	static const uint8_t cchal[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, key[16] = { 9 };
	struct smbauth_challenge c;
	struct smbauth_ntlm	*a;
	struct cred		 cr;
	uint8_t			*neg = NULL, *auth = NULL, sig[16];
	size_t			 neglen, authlen;
	char			 err[256];

	if (smbauth_ntlm_challenge_parse(chal, n, &c, err, sizeof(err)) == -1)
		return;
	memset(&cr, 0, sizeof(cr));
	strcpy(cr.user, "user");
	strcpy(cr.domain, "DOMAIN");
	strcpy(cr.password, "password");
	if (smbauth_ntlm_new(&a, &cr, "cifs/host.example", &neg, &neglen, err, sizeof(err)) == -1)
		abort();
	smbauth_ntlm_fix_random(a, cchal, key, 0);
	if (smbauth_ntlm_authenticate(a, chal, n, &auth, &authlen, err, sizeof(err)) == 0) {
		if (smbauth_ntlm_mic(a, 0, chal, n, sig) == -1)
			abort();
	} else if (n < 32768 && (c.flags & NTLM_NEG_UNICODE) && (c.flags & NTLM_NEG_ESS))
		abort();
	free(auth);
	free(neg);
	smbauth_ntlm_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smbauth_negresp	 r, r2;
	struct smbauth_neginit	 in;
	uint8_t			*enc = NULL;
	size_t			 enclen;
	char			 err[256];

	if (size > SMBAUTH_TOKEN_MAX)
		return 0;
	if (smbauth_spnego_parse_resp(data, size, &r, err, sizeof(err)) == 0) {
		if (smbauth_parse_negtokenresp(data, size, err, sizeof(err)) != 0)
			abort();
		if (smbauth_spnego_resp(&r, &enc, &enclen, err, sizeof(err)) == 0) {
			if (smbauth_spnego_parse_resp(enc, enclen, &r2, err, sizeof(err)) != 0)
				abort();
			same_resp(&r, &r2);
			free(enc);
		}
		if (r.token != NULL)
			answer(r.token, r.tokenlen);
	}
	(void)smbauth_spnego_parse_init(data, size, &in, err, sizeof(err));
	(void)smbauth_parse_challenge(data, size, err, sizeof(err));
	answer(data, size);
	return 0;
}
