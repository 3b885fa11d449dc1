#!/usr/bin/env python3
"""sitedb_inventory — `dpfleet-scanner --inventory [--json]` against dpfleet-tdsd serving the
tests/integration/data/sitedb_fleet.sql fixture: exact text and JSON output, the stored sites/hosts rows,
then a host and a site removed from the site DB (retired, not deleted) and put back (retired_at cleared,
first_seen kept).  Also logs in with TDS 7.1 and with encryption off."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, multisz_sha256  # noqa: E402

P01_SHA = multisz_sha256("P01-ISSUER-A\\0P01-ISSUER-B")

TEXT = (
    "SITE\tTYPE\tPARENT\tEXPECTED\tNAME\n"
    "CAS\tcas\t-\tambiguous\tCentral Administration\n"
    "P01\tprimary\tCAS\tsha256:%s\tPrimary One\n"
    "S01\tsecondary\tP01\tabsent\tSekundär Süd\n"
    "HOST\tSITE\tROLES\tPXE\n"
    "dp1.contoso.com\tP01\tdp\tyes\n"
    "dp2.contoso.com\tP01\tdp\tno\n"
    "dp3.contoso.com\tS01\tdp\tyes\n"
    "MP1.contoso.com\tP01\tdp,mp\tno\n"
    "mp2.contoso.com\tP01\tmp\t-\n" % P01_SHA)


def site(code, typ, name, parent, server, install_dir, expected, sha=None):
    return {"code": code, "type": typ, "name": name, "parent": parent, "server": server,
            "install_dir": install_dir, "expected": expected, "expected_sha256": sha}


def host(fqdn, site_code, roles, pxe, sccm_pxe, active, pull):
    return {"fqdn": fqdn, "site": site_code, "roles": roles, "pxe": pxe, "sccm_pxe": sccm_pxe,
            "active": active, "pull_dp": pull, "cloud": None, "not_scanned": None}


JSON_SITES = [
    site("CAS", "cas", "Central Administration", None, "cas01.contoso.com",
         "D:\\Program Files\\Microsoft Configuration Manager", "ambiguous"),
    site("P01", "primary", "Primary One", "CAS", "p01.contoso.com", "E:\\ConfigMgr", "present", P01_SHA),
    site("S01", "secondary", "Sekundär Süd", "P01", "s01.contoso.com", "E:\\SMS", "absent"),
]
JSON_HOSTS = [
    host("dp1.contoso.com", "P01", ["dp"], True, True, True, False),
    host("dp2.contoso.com", "P01", ["dp"], False, False, True, False),
    host("dp3.contoso.com", "S01", ["dp"], True, True, True, True),
    host("MP1.contoso.com", "P01", ["dp", "mp"], False, False, True, False),
    host("mp2.contoso.com", "P01", ["mp"], False, False, True, False),
]


def summary(sites, hosts, sn, sr, hn, hr):
    return ("inventory: %d sites, %d hosts; stored: %d new sites, %d sites retired, %d new hosts, "
            "%d hosts retired\n" % (sites, hosts, sn, sr, hn, hr))


def main(t, env):
    env.start_tdsd()
    conf = env.write_conf()

    # 1. First inventory, text.
    rc, out, err, _ = env.scanner(conf)
    t.equal(rc, 0, "text inventory exits 0")
    t.equal(err, "", "text inventory: nothing on stderr")
    t.equal(out, TEXT + summary(3, 5, 3, 0, 5, 0), "text inventory: exact output")
    t.equal(env.leftovers, [], "private freetds.conf and its dir removed after the run")

    sites, hosts = env.stored()
    t.equal([(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[8], s[11]) for s in sites], [
        ("CAS", "Central Administration", "cas", None, "cas01.contoso.com",
         "D:\\Program Files\\Microsoft Configuration Manager", "ambiguous", None, None),
        ("P01", "Primary One", "primary", "CAS", "p01.contoso.com", "E:\\ConfigMgr", "present", P01_SHA,
         None),
        ("S01", "Sekundär Süd", "secondary", "P01", "s01.contoso.com", "E:\\SMS", "absent", None, None),
    ], "stored sites: code, name, type, parent, server, install_dir, state, sha256, retired_at")
    t.equal([s[7] for s in sites], [None, "P01-ISSUER-A\\0P01-ISSUER-B", None],
            "stored expected_value: Value1 exactly as the site DB holds it")
    # hosts: id fqdn site is_dp is_mp pxe sccm_pxe is_active is_pull_dp first_seen last_seen retired_at
    t.equal([h[1:9] + (h[11],) for h in hosts], [
        ("dp1.contoso.com", "P01", 1, 0, 1, 1, 1, 0, None),
        ("dp2.contoso.com", "P01", 1, 0, 0, 0, 1, 0, None),
        ("dp3.contoso.com", "S01", 1, 0, 1, 1, 1, 1, None),
        ("MP1.contoso.com", "P01", 1, 1, 0, 0, 1, 0, None),
        ("mp2.contoso.com", "P01", 0, 1, 0, 0, 1, 0, None),
    ], "stored hosts: one row per host, MP1 is one host with both roles")
    first_seen = {h[1]: h[9] for h in hosts}
    t.check(all(h[9] == h[10] for h in hosts), "new hosts: first_seen == last_seen")

    # 2. JSON, same fleet: nothing new, nothing retired.
    rc, out, err, _ = env.scanner(conf, "--json")
    t.equal(rc, 0, "json inventory exits 0")
    t.equal(err, "", "json inventory: nothing on stderr")
    try:
        doc = json.loads(out)
    except ValueError as e:
        doc = {}
        t.check(False, "json inventory parses (%s)" % e)
    t.equal(doc.get("sites"), JSON_SITES, "json sites")
    t.equal(doc.get("hosts"), JSON_HOSTS, "json hosts")
    t.equal(doc.get("stored"), {"sites_new": 0, "sites_retired": 0, "hosts_new": 0, "hosts_retired": 0},
            "json stored counts on an unchanged fleet")
    t.equal(sorted(doc.keys()), ["hosts", "sites", "stored"], "json: exactly three members")
    # this run refreshes last_seen too (a later second when the clock ticked since step 1)
    last_seen = {h[1]: h[10] for h in env.stored()[1]}

    # 3. dp2 and site S01 vanish from the site DB: retired, not deleted; dp3 keeps its row.
    env.sitedb_exec("DELETE FROM v_DistributionPointInfo WHERE ServerName = 'dp2.contoso.com';"
                    "DELETE FROM v_Site WHERE SiteCode = 'S01';")
    time.sleep(1.1)   # so last_seen differs from first_seen in the assertions below
    rc, out, err, _ = env.scanner(conf)
    t.equal(rc, 0, "inventory after removal exits 0")
    t.check(out.endswith(summary(2, 4, 0, 1, 0, 1)), "removal summary: 1 site and 1 host retired")
    t.check("dp2.contoso.com" not in out and "\nS01\t" not in out, "removed host and site not printed")
    sites, hosts = env.stored()
    t.equal(len(hosts), 5, "no host row deleted")
    t.equal(len(sites), 3, "no site row deleted")
    by = {h[1]: h for h in hosts}
    t.check(by["dp2.contoso.com"][11] is not None, "dp2 retired_at set")
    t.check(all(by[f][11] is None for f in by if f != "dp2.contoso.com"), "other hosts not retired")
    t.check({s[0]: s[11] for s in sites}["S01"] is not None, "site S01 retired_at set")
    t.equal(by["dp2.contoso.com"][10], last_seen["dp2.contoso.com"], "retired host's last_seen kept")
    t.check(by["dp1.contoso.com"][10] > first_seen["dp1.contoso.com"], "present host's last_seen updated")

    # 4. Retiring twice does not move retired_at; a second identical run retires nothing more.
    retired_at = by["dp2.contoso.com"][11]
    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 0 and out.endswith(summary(2, 4, 0, 0, 0, 0)), "repeat run: nothing newly retired")
    t.equal({h[1]: h[11] for h in env.stored()[1]}["dp2.contoso.com"], retired_at, "retired_at kept")

    # 5. Back in the site DB: retired_at cleared, first_seen kept.
    env.sitedb_exec("INSERT INTO v_DistributionPointInfo (ID, ServerName, SiteCode, IsPXE, SccmPXE, IsActive,"
                    " IsPullDP) VALUES (2, 'DP2.contoso.com', 'P01', 1, 0, 1, 0);"
                    "INSERT INTO v_Site (SiteCode, SiteName, ReportingSiteCode, Type, ServerName, InstallDir)"
                    " VALUES ('S01', 'Sekundär Süd', 'P01', 1, 's01.contoso.com', 'E:\\SMS');")
    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 0 and out.endswith(summary(3, 5, 0, 0, 0, 0)), "back: no new rows, nothing retired")
    sites, hosts = env.stored()
    by = {h[1].lower(): h for h in hosts}
    t.equal(len(hosts), 5, "back: still 5 host rows (FQDN compared case-insensitively)")
    t.equal(by["dp2.contoso.com"][11], None, "back: dp2 retired_at cleared")
    t.equal(by["dp2.contoso.com"][9], first_seen["dp2.contoso.com"], "back: dp2 first_seen kept")
    t.equal(by["dp2.contoso.com"][5], 1, "back: dp2 attributes updated (now PXE)")
    t.equal({s[0]: s[11] for s in sites}["S01"], None, "back: site S01 retired_at cleared")

    # 6. Other protocol settings: TDS 7.1, encryption off.
    conf71 = env.write_conf("scanner71.conf", tds_version="7.1", encryption="off")
    rc, out, err, _ = env.scanner(conf71)
    t.check(rc == 0 and out.startswith(TEXT.split("dp2")[0]), "TDS 7.1 + encryption off: same sites")
    if rc != 0:
        print("     stderr: %s" % err)


if __name__ == "__main__":
    run(main)
