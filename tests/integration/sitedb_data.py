#!/usr/bin/env python3
"""sitedb_data — the reader's bounds and data rules against awkward site-DB contents
(tests/integration/data/sitedb_hostile.sql): names cut at the 255-byte cap on a UTF-8 boundary, control
characters printed as '?', NULLs read as their defaults, a separator-only Value1 is absent, bad host rows
skipped with a warning; then values over the caps (a Value1 past 64 KiB, a 300-byte FQDN) fail the whole
inventory with a clear message and leave the stored fleet unchanged."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, multisz_sha256  # noqa: E402

NAME_CUT = "Ä" * 127          # 254 bytes: the 255-byte cap falls inside the 128th character


def main(t, env):
    env.start_tdsd()
    conf = env.write_conf()
    rc, out, err, _ = env.scanner(conf)
    t.equal(rc, 0, "awkward data: exit 0")
    t.equal(out,
            "SITE\tTYPE\tPARENT\tEXPECTED\tNAME\n"
            "H01\tunknown\t-\tabsent\t%s\n"
            "H02\tprimary\tH01\tsha256:%s\tTab?and?newline\n"
            "H03\tsecondary\tH01\tsha256:%s\tSeparator after\n"
            "H04\tsecondary\tH01\tsha256:%s\tSeparator before\n"
            "HOST\tSITE\tROLES\tPXE\n"
            "ok1.contoso.com\tH02\tdp\tno\n"
            "ok2.contoso.com\tH02\tdp,mp\tyes\n"
            "inventory: 4 sites, 2 hosts; stored: 4 new sites, 0 sites retired, 2 new hosts, "
            "0 hosts retired\n" % (NAME_CUT, multisz_sha256("H02-ISSUER"), multisz_sha256("H03-ISSUER"),
                                   multisz_sha256("H04-ISSUER")),
            "awkward data: exact output")
    warn = err.splitlines()
    t.equal(len(warn), 3, "three warnings on stderr (%r)" % err)
    t.check(any("ZZZ" in w and "ignored" in w for w in warn), "value for an unlisted site: warned")
    t.check(any("bad host.contoso.com" in w and "skipping" in w for w in warn), "bad FQDN row: warned")
    t.check(any("v_SystemResourceList" in w and "skipping" in w for w in warn), "NULL MP row: warned")

    rc, out, err, _ = env.scanner(conf, "--json")
    doc = json.loads(out) if rc == 0 else {}
    sites = {s["code"]: s for s in doc.get("sites", [])}
    hosts = {h["fqdn"]: h for h in doc.get("hosts", [])}
    t.equal(sites.get("H01", {}).get("name"), NAME_CUT, "json: cut name is valid UTF-8")
    t.equal(sites.get("H01", {}).get("parent"), None, "json: NULL parent is null")
    t.equal(sites.get("H02", {}).get("name"), "Tab\tand\nnewline", "json: control characters escaped, kept")
    t.equal(hosts.get("ok1.contoso.com"), {"fqdn": "ok1.contoso.com", "site": "H02", "roles": ["dp"],
                                           "pxe": False, "sccm_pxe": False, "active": True,
                                           "pull_dp": False, "cloud": None, "not_scanned": None},
            "json: NULL flags read as defaults")
    t.equal(hosts.get("ok2.contoso.com", {}).get("active"), False, "json: IsActive 0 kept")
    t.equal([sites.get(c, {}).get("expected") for c in ("H01", "H03", "H04")], ["absent", "present", "present"],
            "json: separator-only Value1 alone absent, next to a real one present in either order")

    before = env.stored()
    env.sitedb_exec("DELETE FROM SC_Component_Property WHERE ID = 900;")   # no warning lines from here on
    env.sitedb_exec("UPDATE SC_Component_Property SET Value1 = (WITH RECURSIVE r(n, s) AS"
                    " (SELECT 1, 'AAAAAAAAAAAAAAAA' UNION ALL SELECT n + 1, s || 'AAAAAAAAAAAAAAAA' FROM r"
                    " WHERE n < 4200) SELECT s FROM r WHERE n = 4200) WHERE ID = 201;")
    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 1 and len(err.splitlines()) == 1 and "Value1" in err and "longer than 65535" in err,
            "67200-byte Value1: one clear error (%r)" % err.strip())
    t.equal(env.stored(), before, "67200-byte Value1: stored fleet unchanged")
    env.sitedb_exec("UPDATE SC_Component_Property SET Value1 = 'H02-ISSUER' WHERE ID = 201;"
                    "UPDATE v_DistributionPointInfo SET ServerName = '%s.contoso.com' WHERE ID = 1;"
                    % ("h" * 288))
    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 1 and len(err.splitlines()) == 1 and "ServerName" in err and "longer than 255" in err,
            "300-byte FQDN: one clear error (%r)" % err.strip())
    t.equal(env.stored(), before, "300-byte FQDN: stored fleet unchanged")
    t.equal(env.leftovers, [], "private freetds.conf dir removed")

    env.sitedb_exec("DELETE FROM v_Site;")
    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 1 and len(err.splitlines()) == 1 and "v_Site returned no site" in err,
            "empty v_Site: refused, one clear error (%r)" % err.strip())
    t.equal(env.stored(), before, "empty v_Site: nothing retired")


if __name__ == "__main__":
    run(main, fixture="sitedb_hostile.sql")
