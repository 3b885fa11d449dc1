#!/usr/bin/env python3
# scan_estate.py — what a real estate's site DB and registry hold that the lab's canonical hosts do not
# (dpfleet-scanner(8), "What is skipped" and "Verdicts"), on a lab at 127.93.0.0:
#
#   cloud rows: a cloud DP (Region, ServiceType CloudDistributionPoint, *.cloudapp.net) and a CMG (ServiceType
#     CloudProxyService, *.cloudapp.azure.com) in v_DistributionPointInfo are listed by --inventory (CLOUD
#     section, JSON cloud/not_scanned), stored in hosts.cloud, never scanned (no observation, not counted in the
#     scan) and never contacted: the host map points them at listening sockets this test owns, and no
#     connection ever reaches them (scan, fix, a forged job run by the daemon); `fix` of one exits 1 with
#     nothing queued; the server shows "cloud — not scanned" with the reason (host list, host page, hosts.csv),
#     counts them apart (summary cloud, /metrics dpfleet_cloud_hosts) and answers 409 to a fix of one;
#     with Region and ServiceType dropped from the view (207) the inventory still recognises both by name;
#   raw values (dpfleet-lab registry_raw, regraw.py): IssuingCertificateList with a single final NUL, an extra
#     NUL, a trailing empty string (all read by Windows as the site's list: healthy with a note naming the
#     encoding), a REG_SZ and a REG_BINARY (mismatch, the note naming the type); the lab's bytes are read back
#     over winreg with Samba's own NDR (python3-samba) before and after fixes: `fix --all-affected` writes the
#     REG_SZ and REG_BINARY hosts and never an encoding-only one, and an explicit fix of those ends
#     already_correct with their bytes unchanged.
# The lab, the listeners, the scanner daemon and the server are always stopped (Lab's finally).
import csv
import io
import json
import os
import re
import socket
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fix_lib import (KEY, VALUE, Lab, check, db, outcomes, scanner, start_daemon, stop_daemon)  # noqa: E402
from server_harness import Session, lab_login, server_binary  # noqa: E402  (it puts tests/lib on sys.path)
import checks  # noqa: E402
from checks import test  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lab"))
from dpfleet_lab import regraw  # noqa: E402

BASE = "127.93.0.0"
A, B = "MIIEstateRootCA;CN=Estate Root CA, DC=lab, DC=test", "MIIEstateIssuing;CN=Estate Issuing CA 01"
VALUE1 = A + "\\0" + B
CDP, CMG = "cdp01.cloudapp.net", "cmg01.westeurope.cloudapp.azure.com"
LISTEN = {CDP: "127.93.200.1", CMG: "127.93.200.2"}      # in this test's /16, far from the lab's hosts


def u16(s):
    return s.encode("utf-16-le")


Z = b"\0\0"
CANON = u16(A) + Z + u16(B) + Z + Z
# host: (type, bytes, expected state, a substring of the note or None)
RAW = {
    "dp02.ps1.lab.test": ("REG_MULTI_SZ", u16(A) + Z + u16(B) + Z, "healthy", "single final NUL"),
    "dp03.ps1.lab.test": ("REG_MULTI_SZ", CANON + Z, "healthy", "non-canonical REG_MULTI_SZ encoding"),
    "dp04.ps1.lab.test": ("REG_MULTI_SZ", CANON + Z + Z, "healthy", "non-canonical REG_MULTI_SZ encoding"),
    "dp05.ps1.lab.test": ("REG_SZ", u16(A) + Z, "mismatch", "REG_SZ"),
    # Not CANON itself: Samba keeps a value whose bytes a write repeats, type included (regraw.py), Windows not.
    "dp06.ps1.lab.test": ("REG_BINARY", u16(A) + Z + u16(B) + Z, "mismatch", "REG_BINARY"),
}
ENCODING_ONLY = sorted(h for h, r in RAW.items() if r[2] == "healthy")
OTHER_TYPE = sorted(h for h, r in RAW.items() if r[2] == "mismatch")


def scenario():
    hosts = [{"fqdn": "dp01.ps1.lab.test", "site": "PS1", "roles": ["dp"], "pxe": True}]
    for fq, (typ, data, _, _) in sorted(RAW.items()):
        hosts.append({"fqdn": fq, "site": "PS1", "roles": ["dp"], "registry_raw": {"type": typ, "hex": data.hex()}})
    hosts.append({"fqdn": CDP, "site": "PS1", "roles": ["dp"], "cloud": "dp"})
    hosts.append({"fqdn": CMG, "site": "PS1", "roles": ["dp"], "cloud": "cmg"})
    return {"comment": "scan_estate: raw registry values and cloud rows",
            "sites": [{"code": "PS1", "type": "primary", "server": "cm-ps1.lab.test",
                       "issuing_certificate_list": VALUE1}],
            "hosts": hosts}


class Listeners:
    """A listening socket on each cloud host's mapped address:445; connections() counts what reached them."""

    def __init__(self):
        self.socks = {}
        for fq, addr in LISTEN.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, 445))
            s.listen(16)
            s.setblocking(False)
            self.socks[fq] = s
        self.seen = {fq: 0 for fq in LISTEN}

    def connections(self):
        for fq, s in self.socks.items():
            while True:
                try:
                    c, _ = s.accept()
                except BlockingIOError:
                    break
                c.close()
                self.seen[fq] += 1
        return dict(self.seen)

    def close(self):
        for s in self.socks.values():
            s.close()


def read_raw(lab, fq):
    info = lab.info
    return regraw.read_value_cli(info["hosts"][fq], info["smb_user"], info["smb_password"], info["smb_domain"],
                                 KEY.split("\\", 1)[1], VALUE)


def check_no_contact(lst, when):
    got = lst.connections()
    check(all(n == 0 for n in got.values()), "%s: no connection reached a cloud host (%s)" % (when, got))


def part_inventory(lab):
    r = scanner(lab, "--inventory", "--json")
    check(r.returncode == 0, "--inventory --json exit 0")
    hosts = {h["fqdn"]: h for h in json.loads(r.stdout)["hosts"]} if r.returncode == 0 else {}
    check(hosts.get(CDP, {}).get("cloud") == "cloud_dp" and hosts.get(CMG, {}).get("cloud") == "cmg",
          "inventory: the cloud DP is cloud_dp, the CMG cmg (%s, %s)" % (hosts.get(CDP), hosts.get(CMG)))
    check("cloud — not scanned" not in str(hosts.get("dp01.ps1.lab.test")) and
          hosts.get("dp01.ps1.lab.test", {}).get("cloud", "x") is None, "inventory: dp01 is on premises")
    check(all("Azure service" in (hosts.get(h, {}).get("not_scanned") or "") for h in (CDP, CMG)),
          "inventory: not_scanned gives the reason")
    r = scanner(lab, "--inventory")
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and "CLOUD\tSITE\tKIND\tWHY" in lines and
          any(x.startswith(CDP + "\tPS1\tcloud_dp\tcloud — not scanned: ") for x in lines) and
          any(x.startswith(CMG + "\tPS1\tcmg\t") for x in lines) and
          not any(x.startswith(CDP + "\tPS1\tdp\t") for x in lines) and "(2 cloud, not scanned)" in r.stdout,
          "text inventory: both in the CLOUD section only, counted in the summary line")
    with db(lab) as c:
        rows = dict(c.execute("SELECT fqdn, cloud FROM hosts WHERE retired_at IS NULL").fetchall())
    check(rows.get(CDP) == "cloud_dp" and rows.get(CMG) == "cmg" and rows.get("dp01.ps1.lab.test", 1) is None,
          "state DB hosts.cloud (%s)" % rows)


def part_scan(lab, lst):
    r = scanner(lab, "-v", "--once")
    check(r.returncode == 0, "--once exit 0")
    with db(lab) as c:
        scan = c.execute("SELECT * FROM scans ORDER BY id DESC LIMIT 1").fetchone()
        obs = {o["fqdn"]: o for o in c.execute(
            "SELECT h.fqdn, o.state, o.note, o.attempts FROM observations o JOIN hosts h ON h.id = o.host_id "
            "WHERE o.scan_id = ?", (scan["id"],)).fetchall()}
    check(CDP not in obs and CMG not in obs and scan["hosts"] == 6 and len(obs) == 6,
          "scan: 6 hosts observed, no observation of a cloud host (%d, %s)" % (scan["hosts"], sorted(obs)))
    check(CDP not in r.stderr and CMG not in r.stderr, "scan: the scanner's log never names a cloud host")
    check_no_contact(lst, "scan")
    o = obs.get("dp01.ps1.lab.test")
    check(o is not None and o["state"] == "healthy" and o["note"] is None, "dp01 canonical: healthy, no note")
    for fq, (typ, _, state, note) in sorted(RAW.items()):
        o = obs.get(fq)
        got = (o["state"], o["note"]) if o else None
        check(o is not None and o["state"] == state and note in (o["note"] or ""),
              "%s (%s): %s with a note naming '%s' (got %s)" % (fq, typ, state, note, got))


def part_raw_bytes(lab):
    """The lab holds exactly the scenario's bytes and types (read over winreg by Samba's own client)."""
    before = {}
    for fq, (typ, data, _, _) in sorted(RAW.items()):
        try:
            before[fq] = read_raw(lab, fq)
        except regraw.RawError as e:
            before[fq] = (None, str(e))
        check(before[fq] == (regraw.TYPES[typ], data), "%s: the lab holds %s %s (read %s)"
              % (fq, typ, data.hex(), before[fq]))
    return before


def part_fix(lab, lst, before):
    r = scanner(lab, "fix", "--all-affected")
    got = outcomes(r.stdout)
    check(r.returncode == 0 and sorted(got) == OTHER_TYPE and all(v[0] == "written" for v in got.values()),
          "fix --all-affected writes only the REG_SZ and REG_BINARY hosts (%s)" % got)
    for fq in OTHER_TYPE:
        check(read_raw(lab, fq) == (7, CANON), "%s: now the site's list as a canonical REG_MULTI_SZ" % fq)
    r = scanner(lab, "fix", *ENCODING_ONLY)
    got = outcomes(r.stdout)
    check(r.returncode == 0 and sorted(got) == ENCODING_ONLY and all(v[0] == "already_correct" for v in got.values()),
          "explicit fix of the encoding-only hosts: already_correct (%s)" % got)
    with db(lab) as c:
        backups = c.execute("SELECT host FROM jobs WHERE backup IS NOT NULL AND host IN (%s)"
                            % ",".join("?" * len(ENCODING_ONLY)), ENCODING_ONLY).fetchall()
    check(not backups, "no backup (no write) for an encoding-only host (%s)" % [b[0] for b in backups])
    for fq in ENCODING_ONLY:
        check(read_raw(lab, fq) == before[fq], "%s: bytes unchanged after both fix runs" % fq)
    with db(lab) as c:
        n0 = c.execute("SELECT count(*) FROM jobs").fetchone()[0]
    r = scanner(lab, "fix", CDP)
    check(r.returncode == 1 and "cloud — not scanned" in r.stderr, "fix of the cloud DP: exit 1, named as cloud")
    with db(lab) as c:
        check(c.execute("SELECT count(*) FROM jobs").fetchone()[0] == n0, "fix of the cloud DP: nothing queued")
        c.execute("UPDATE hosts SET cloud = NULL WHERE fqdn = ?", (CMG,))      # as the server's DB access could
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        forged = c.execute("INSERT INTO jobs (kind, host, requested_by, requested_at) VALUES ('fix', ?, 'mallory', "
                           "?)", (CMG, now)).lastrowid
    d, dout = start_daemon(lab)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120 and d.poll() is None:
        with db(lab) as c:
            j = c.execute("SELECT * FROM jobs WHERE id = ?", (forged,)).fetchone()
        if j["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    stop_daemon(d, dout)
    check(j["outcome"] == "refused" and "cloud — not scanned" in (j["error"] or "") and j["backup"] is None,
          "a forged fix job on the CMG: refused from this run's inventory (%s %s)" % (j["outcome"], j["error"]))
    check_no_contact(lst, "fixes and the forged job")


def api_login(lab):
    api, r = lab_login(lab.info)
    check(r.status == 200, "operator login")
    return api, Session(r)


def part_server(lab):
    with open(os.path.join(lab.tmp, "server.log"), "wb") as out:
        lab.spawn([server_binary(), "-d", "-f", os.path.join(lab.dir, "server.conf")], stdout=out, stderr=out)
    api, op = api_login(lab)
    r = api.request("GET", "/api/v1/hosts?q=cloudapp", session=op)
    hs = {h["fqdn"]: h for h in r.json().get("hosts", [])} if r.status == 200 else {}
    check(sorted(hs) == sorted([CDP, CMG]) and hs[CDP]["cloud"] == "cloud_dp" and hs[CDP]["state"] is None and
          hs[CDP]["not_scanned"].startswith("cloud — not scanned: cloud distribution point"),
          "host list: cloud, not_scanned and no state (%s)" % r)
    r = api.request("GET", "/api/v1/hosts/" + CDP, session=op)
    check(r.status == 200 and r.json().get("cloud") == "cloud_dp", "host page: cloud")
    r = api.request("POST", "/api/v1/fixes", {"hosts": [CDP]}, session=op)
    check(r.status == 409 and "cloud — not scanned" in r.json().get("error", ""), "POST fixes of it: 409 (%s)" % r)
    r = api.request("GET", "/api/v1/summary", session=op)
    s = r.json() if r.status == 200 else {}
    check(s.get("cloud") == 2 and s.get("hosts") == 8 and s.get("unscanned") == 0,
          "summary: 2 cloud (the job run's inventory set the CMG's flag again), none unscanned (%s)"
          % {k: s.get(k) for k in ("cloud", "hosts", "unscanned")})
    r = api.request("GET", "/metrics")
    m = r.body.decode() if r.status == 200 else ""
    check('dpfleet_cloud_hosts{kind="cloud_dp"} 1' in m and 'dpfleet_cloud_hosts{kind="cmg"} 1' in m and
          "dpfleet_unscanned_hosts 0" in m, "metrics: one cloud DP, one CMG, none unscanned")
    r = api.request("GET", "/api/v1/report/hosts.csv", session=op)
    rows = list(csv.DictReader(io.StringIO(r.body.decode() if r.status == 200 else "", newline="")))
    row = [x for x in rows if x["fqdn"] == CDP]
    check(row and row[0].get("cloud") == "cloud_dp" and row[0].get("state") == "" and
          row[0].get("not_scanned", "").startswith("cloud — not scanned: cloud distribution point"),
          "hosts.csv: cloud and not_scanned columns (%s)" % row)


def part_no_columns(lab):
    c = sqlite3.connect(os.path.join(lab.dir, "sitedb.sqlite"), timeout=30, isolation_level=None)
    c.execute("ALTER TABLE v_DistributionPointInfo DROP COLUMN Region")
    c.execute("ALTER TABLE v_DistributionPointInfo DROP COLUMN ServiceType")
    c.close()
    r = scanner(lab, "-v", "--inventory", "--json")
    hosts = {h["fqdn"]: h for h in json.loads(r.stdout)["hosts"]} if r.returncode == 0 else {}
    check(r.returncode == 0 and hosts.get(CDP, {}).get("cloud") == "cloud_dp" and
          hosts.get(CMG, {}).get("cloud") == "cmg" and hosts.get("dp01.ps1.lab.test", {}).get("cloud", 1) is None,
          "view without Region and ServiceType: both recognised by name, dp01 on premises")
    check(re.search(r"has no Region column", r.stderr) and re.search(r"has no ServiceType column", r.stderr),
          "view without Region and ServiceType: the scanner says it read without them")


@test("cloud DPs and CMGs listed and never contacted; raw REG_MULTI_SZ variants and other types read as "
      "Windows reads them; a fix never writes an encoding-only host")
def main():
    lst = Listeners()
    try:
        with Lab(scenario(), BASE, "scan-estate") as lab:
            with open(os.path.join(lab.dir, "hosts.map"), "a") as f:
                f.write("".join("%s %s\n" % kv for kv in sorted(LISTEN.items())))
            part_inventory(lab)
            part_scan(lab, lst)
            before = part_raw_bytes(lab)
            part_fix(lab, lst, before)
            part_server(lab)
            part_no_columns(lab)
            check_no_contact(lst, "the whole run")
    finally:
        lst.close()


if __name__ == "__main__":
    sys.exit(checks.run())
