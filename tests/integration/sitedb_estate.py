#!/usr/bin/env python3
"""sitedb_estate — `dpfleet-scanner --inventory` against site DBs as real estates have them: a
v_DistributionPointInfo without the undocumented SccmPXE column (the documented columns are read, SccmPXE
taken as IsPXE and IsActive), one without a documented column (error 207 reported), a named instance
found through dpfleet-tdsd's SQL Browser (MS-SQLR, UDP 1434) by [sitedb] instance, an instance the Browser
does not know, a login refused with 18452 (untrusted domain), and the instance settings the scanner refuses
(host SERVER\\INSTANCE, port with instance, a bad instance name)."""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, free_port, USER, PASSWORD, DATABASE  # noqa: E402

INSTANCE = "CMSQL"


def inventory_json(t, env, conf, name):
    rc, out, err, _ = env.scanner(conf, "--json")
    if not t.equal(rc, 0, "%s: inventory exits 0" % name):
        print("     stderr: %s" % err)
        return None
    try:
        return json.loads(out)
    except ValueError as e:
        t.check(False, "%s: JSON parses (%s)" % (name, e))
        return None


def dp_flags(doc):
    """{fqdn: (pxe, sccm_pxe, active, pull_dp)} for every DP of an inventory document."""
    return {h["fqdn"]: (h["pxe"], h["sccm_pxe"], h["active"], h["pull_dp"])
            for h in doc["hosts"] if "dp" in h["roles"]}


def failure(t, env, conf, name, want, faults=None, bound=None):
    if faults is not None:
        env.set_faults(faults)
    rc, out, err, dt = env.scanner(conf)
    env.set_faults({})
    t.equal(rc, 1, "%s: exit 1" % name)
    t.equal(out, "", "%s: nothing on stdout" % name)
    t.check(all(w in err for w in want), "%s: message names %s (%r)" % (name, want, err.strip()))
    t.check(PASSWORD not in err, "%s: no password in the message" % name)
    t.equal(env.leftovers, [], "%s: private freetds.conf dir removed" % name)
    if bound is not None:
        t.check(dt <= bound, "%s: failed within %.0f s (took %.2f s)" % (name, bound, dt))


def start_named(env):
    """dpfleet-tdsd on a random 127.88.x.y (so parallel runs do not share UDP 1434): TCP on a free port,
    its SQL Browser on UDP ADDR:1434 for INSTANCE.  Returns ADDR."""
    for _ in range(20):
        addr = "127.88.%d.%d" % (random.randint(0, 255), random.randint(1, 254))
        env.port = free_port()   # free on 127.0.0.1; on a fresh 127.88 address too, almost surely
        if env.launch_tdsd(["--listen", "%s:%d" % (addr, env.port), "--browser", addr, "--instance", INSTANCE,
                            "--db", env.sitedb_path, "--login", "%s:%s" % (USER, PASSWORD), "--database",
                            DATABASE, "--faults", env.faults_path, "-v"]):
            return addr
        # address or port taken: try another
    raise RuntimeError("dpfleet-tdsd --browser did not start: %s" % env.tdsd_stderr())


def instance_conf(env, name, addr, instance, extra=""):
    """write_conf's scanner.conf with host = addr and instance = instance instead of the port."""
    path = env.write_conf(name)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = text.replace("host = 127.0.0.1\nport = %d\n" % env.port,
                        "host = %s\ninstance = %s\n%s" % (addr, instance, extra))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def main(t, env):
    # 1. No SccmPXE in v_DistributionPointInfo (Microsoft Learn's published view has none).  dp5 is a PXE
    #    DP that is not active: PXE enabled, not responding.
    env.sitedb_exec("ALTER TABLE v_DistributionPointInfo DROP COLUMN SccmPXE;"
                    "INSERT INTO v_DistributionPointInfo (ID, ServerName, SiteCode, IsPXE, IsActive, IsPullDP)"
                    " VALUES (5, 'dp5.contoso.com', 'P01', 1, 0, 0);")
    env.start_tdsd()
    conf = env.write_conf()
    doc = inventory_json(t, env, conf, "no SccmPXE")
    if doc is not None:
        t.equal(dp_flags(doc), {
            "dp1.contoso.com": (True, True, True, False),
            "dp2.contoso.com": (False, False, True, False),
            "dp3.contoso.com": (True, True, True, True),
            "dp5.contoso.com": (True, False, False, False),
            "MP1.contoso.com": (False, False, True, False),
        }, "no SccmPXE: every DP, pxe = IsPXE, sccm_pxe = IsPXE and IsActive")
        t.equal(len(doc["hosts"]), 6, "no SccmPXE: the MP-only host is there too")
    rc, out, err, _ = env.scanner(conf)
    t.equal(rc, 0, "no SccmPXE: text inventory exits 0")
    t.check("dp5.contoso.com\tP01\tdp\tyes\n" in out and "dp2.contoso.com\tP01\tdp\tno\n" in out,
            "no SccmPXE: text PXE column from IsPXE")
    hosts = {h[1]: h for h in env.stored()[1]}
    t.equal((hosts["dp5.contoso.com"][5], hosts["dp5.contoso.com"][6]), (1, 0),
            "no SccmPXE: stored pxe 1, sccm_pxe 0 for the inactive PXE DP")
    with open(env.tdsd_log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    t.check("batch SELECT: SELECT ServerName, SiteCode, IsPXE, IsActive, IsPullDP, Region, ServiceType FROM "
            "v_DistributionPointInfo" in log, "no SccmPXE: the documented columns (and the cloud markers) were read")

    # 2. A documented column missing is still an error, named.
    env.sitedb_exec("ALTER TABLE v_DistributionPointInfo DROP COLUMN IsPullDP;")
    failure(t, env, conf, "no IsPullDP", ["207", "IsPullDP", "reading v_DistributionPointInfo"])
    env.sitedb_exec("ALTER TABLE v_DistributionPointInfo ADD COLUMN IsPullDP BIT;"
                    "ALTER TABLE v_DistributionPointInfo ADD COLUMN SccmPXE BIT;"
                    "UPDATE v_DistributionPointInfo SET IsPullDP = 0, SccmPXE = IsPXE;")

    # 3. 18452: the server takes Windows logins only.
    failure(t, env, conf, "untrusted domain", ["login failed", "18452", "untrusted domain", USER,
                                               "Windows"], faults={"login_untrusted": True})
    env.stop_tdsd()

    # 4. A named instance: FreeTDS asks the SQL Browser on UDP 1434 for the port.
    addr = start_named(env)
    iconf = instance_conf(env, "instance.conf", addr, INSTANCE)
    doc = inventory_json(t, env, iconf, "named instance")
    if doc is not None:
        t.equal(len(doc["hosts"]), 6, "named instance: the whole fleet read")
    with open(env.tdsd_log, encoding="utf-8", errors="replace") as f:
        log = f.read()
    t.check("browser: instance '%s' is on TCP port %d" % (INSTANCE, env.port) in log,
            "named instance: the Browser answered with the TCP port")
    # lower case: SQL Server instance names are case-insensitive
    doc = inventory_json(t, env, instance_conf(env, "lower.conf", addr, INSTANCE.lower()), "lower case")

    # 5. An instance the Browser does not know: no answer, a clear "unreachable".
    failure(t, env, instance_conf(env, "other.conf", addr, "OTHER"), "unknown instance",
            ["unreachable", "SQL Browser", "OTHER"], bound=60)

    # 6. Refused before connecting.
    failure(t, env, instance_conf(env, "bad.conf", addr, "BAD-NAME"), "bad instance name",
            ["bad instance name", "BAD-NAME"])
    path = env.write_conf("slash.conf")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace("host = 127.0.0.1\n", "host = %s\\%s\n" % (addr, INSTANCE)))
    failure(t, env, path, "host SERVER\\INSTANCE", ["[sitedb] instance", INSTANCE])
    failure(t, env, instance_conf(env, "both.conf", addr, INSTANCE, extra="port = 1433\n"),
            "port and instance", ["port and instance are exclusive"])


if __name__ == "__main__":
    run(main)
