/*
 * test_hostmap.c — scanner/hostmap.c: "FQDN ADDRESS" lines with comments and blanks, case-insensitive lookup,
 * every bad line reported with its line number (not only the first), duplicates, IPv6, and hostmap_resolve on
 * numeric addresses and bad names (no DNS is needed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hostmap.h"

static char dir[] = "/tmp/dpfleet-test-hostmap-XXXXXX";

static const char *
write_map(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

int
main(void)
{
	struct hostmap *hm = NULL;
	char err[2048], addr[HOSTMAP_ADDR_MAX];
	const char *p;

	if (mkdtemp(dir) == NULL)
		return 1;
	p = write_map("good.map",
	    "# the lab\n"
	    "\n"
	    "dp01.ps1.lab.test 127.80.0.10\n"
	    "   DP02.PS1.lab.test\t127.80.0.11   # trailing comment\r\n"
	    "v6.lab.test ::1\n"
	    "cm-ps1.lab.test 127.80.0.23");		/* no final newline */
	CHECK(hostmap_load(&hm, p, err, sizeof(err)) == 0);
	CHECK(hostmap_count(hm) == 4);
	CHECK_STR(hostmap_lookup(hm, "dp01.ps1.lab.test"), "127.80.0.10");
	CHECK_STR(hostmap_lookup(hm, "DP01.ps1.LAB.test"), "127.80.0.10");
	CHECK_STR(hostmap_lookup(hm, "dp02.ps1.lab.test"), "127.80.0.11");
	CHECK_STR(hostmap_lookup(hm, "v6.lab.test"), "::1");
	CHECK_STR(hostmap_lookup(hm, "cm-ps1.lab.test"), "127.80.0.23");
	CHECK(hostmap_lookup(hm, "dp03.ps1.lab.test") == NULL);
	CHECK(hostmap_lookup(hm, "dp01") == NULL);
	hostmap_free(hm);
	hm = NULL;

	p = write_map("bad.map",
	    "dp01.lab.test 127.0.0.1\n"
	    "dp02.lab.test\n"				/* 2: one field */
	    "dp03.lab.test 127.0.0.3 extra\n"		/* 3: three fields */
	    "dp04.lab.test not-an-address\n"		/* 4 */
	    "dp05.lab.test 127.0.0.300\n"		/* 5 */
	    "bad/name 127.0.0.6\n"			/* 6 */
	    "DP01.lab.test 127.0.0.7\n");		/* duplicate of line 1 */
	err[0] = 'x';
	CHECK(hostmap_load(&hm, p, err, sizeof(err)) == -1);
	CHECK(hm == NULL);
	CHECK(strstr(err, "bad.map:2: ") != NULL);
	CHECK(strstr(err, "bad.map:3: ") != NULL);
	CHECK(strstr(err, "bad.map:4: bad address") != NULL);
	CHECK(strstr(err, "bad.map:5: bad address") != NULL);
	CHECK(strstr(err, "bad.map:6: bad host name") != NULL);
	CHECK(strstr(err, "duplicate host") != NULL);
	CHECK(strstr(err, "bad.map:1:") == NULL);

	CHECK(hostmap_load(&hm, "/nonexistent/dpfleet.map", err, sizeof(err)) == -1);
	CHECK(strstr(err, "/nonexistent/dpfleet.map:0: ") != NULL);
	p = write_map("empty.map", "# nothing\n\n");
	CHECK(hostmap_load(&hm, p, err, sizeof(err)) == 0 && hostmap_count(hm) == 0);
	CHECK(hostmap_lookup(hm, "x.lab") == NULL);
	hostmap_free(hm);
	CHECK(hostmap_empty(&hm, err, sizeof(err)) == 0 && hostmap_count(hm) == 0);
	hostmap_free(hm);
	hostmap_free(NULL);

	CHECK(hostmap_resolve("127.80.0.10", addr, err, sizeof(err)) == 0);
	CHECK_STR(addr, "127.80.0.10");
	CHECK(hostmap_resolve("::1", addr, err, sizeof(err)) == 0);
	CHECK_STR(addr, "::1");
	CHECK(hostmap_resolve("bad name", addr, err, sizeof(err)) == -1);
	CHECK(hostmap_resolve("", addr, err, sizeof(err)) == -1);

	unlink(write_map("good.map", ""));
	unlink(write_map("bad.map", ""));
	unlink(write_map("empty.map", ""));
	rmdir(dir);
	return check_done("test_hostmap");
}
