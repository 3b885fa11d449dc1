/*
 * test_smblog_url.c — scanner/smblog.c smblog_url_host: the host part of a libsmbclient URL.  IPv4 and DNS
 * names as given, IPv6 as Samba's literal name (<address, ':' as '-'>.ipv6-literal.net: lib/util/util_net.c,
 * normalize_ipv6_literal; doc/FIELD-NOTES.md, "ConfigMgr logs"), a name to connect by taking precedence, and
 * what is refused (brackets, scope ids, IPv4-mapped tails, URL syntax, a buffer too small).
 */
#include <string.h>

#include "check.h"
#include "smblog.h"

static int
url_host(const char *addr, const char *name, char *out, size_t outlen)
{
	struct smblog_host h = { addr, name };
	char err[256];

	out[0] = '\0';
	return smblog_url_host(&h, out, outlen, err, sizeof(err));
}

int
main(void)
{
	char out[SMBLOG_HOST_MAX], small[12];

	CHECK(url_host("127.91.0.10", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "127.91.0.10");
	CHECK(url_host("dp01.ps1.lab.test", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "dp01.ps1.lab.test");
	CHECK(url_host("::1", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "--1.ipv6-literal.net");
	CHECK(url_host("fd00:7f5b::6", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "fd00-7f5b--6.ipv6-literal.net");
	/* the canonical text, whatever spelling came in */
	CHECK(url_host("FD00:7F5B:0:0:0:0:0:6", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "fd00-7f5b--6.ipv6-literal.net");
	CHECK(url_host("2001:db8:1:2:3:4:5:6", NULL, out, sizeof(out)) == 0);
	CHECK_STR(out, "2001-db8-1-2-3-4-5-6.ipv6-literal.net");
	/* a name to connect by (Kerberos' cifs/<fqdn>) wins over the address */
	CHECK(url_host("fd00:7f5b::6", "dp6.ps1.lab.test", out, sizeof(out)) == 0);
	CHECK_STR(out, "dp6.ps1.lab.test");
	CHECK(url_host("127.0.0.1", "", out, sizeof(out)) == 0);
	CHECK_STR(out, "127.0.0.1");

	CHECK(url_host("[::1]", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("fe80::1%lo", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("::ffff:127.0.0.1", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("dp01/..", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("user@dp01", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("dp01..lab", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("", NULL, out, sizeof(out)) == -1);
	CHECK(url_host("127.0.0.1", "bad name", out, sizeof(out)) == -1);
	CHECK(url_host(NULL, NULL, out, sizeof(out)) == -1);
	CHECK(url_host("fd00:7f5b::6", NULL, small, sizeof(small)) == -1);
	CHECK(url_host("127.91.0.10", NULL, small, sizeof(small)) == 0);
	CHECK(url_host("127.191.100.10", NULL, small, sizeof(small)) == -1);
	return check_done("smblog_url");
}
