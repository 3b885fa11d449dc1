#!/usr/bin/env python3
# lab_test.py — integration test of tests/lab/dpfleet-lab (tests/lab/README.md).
#
# Brings up the small scenario twice at once (127.77.0.0 and 127.78.0.0), then checks every host with
# independent clients: Samba's `net rpc registry` (values, missing, empty, no key, denied ACL, admin write
# vs. non-admin refusal, DP flags), `smbclient` (SMSPXE logs and their record counts against lab.json's
# "expect", CertMgr.log on site servers), raw TCP for the network faults (refused, black hole, slow
# proxy) and FreeTDS `tsql` for the site DB; `status` reports every host OK.  Then `down` must leave no
# process (by pid and by command line) and no listening port, and must not disturb the other lab.  Before
# that: bad scenarios (unknown keys, bad values) are refused with the reason before anything starts, and an
# `up` that fails after its smbd instances started (a site DB server that never becomes ready) stops them
# all and removes DIR.  Nothing outside the labs' directories changes (/etc's user, group, host and Samba
# files, /var/log/samba).  Run by meson (suite 'integration') with DPFLEET_SOURCE_ROOT and DPFLEET_BUILD_ROOT
# set; needs root.  Cleans up in `finally`.  Over 600 lines because every check shares the two running labs,
# which are slow to start: one script brings them up once.

import concurrent.futures
import datetime
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("DPFLEET_SOURCE_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DPFLEET_BUILD_ROOT", "")
LAB = os.path.join(SRC, "tests", "lab", "dpfleet-lab")
SCENARIO = os.path.join(SRC, "tests", "lab", "scenarios", "small.json")
RPC_SCENARIO = os.path.join(SRC, "tests", "lab", "scenarios", "rpc.json")
RPCD_IDLE_S = 60        # what rpc_host.c would stop an idle rpcd_winreg after (source3/rpc_server/rpcd_winreg.c)
SEC = r"HKLM\SOFTWARE\Microsoft\SMS\Security"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import checks  # noqa: E402  (tests/lib/checks.py: counted checks, named tests)
from checks import check, test  # noqa: E402


def run(argv, timeout=120, stdin=None):
    r = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def smb2_negotiate():
    hdr = b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ16s", 64, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, b"\0" * 16)
    body = struct.pack("<HHHHI16sQ", 36, 1, 1, 0, 0, b"dpfleet-lab-test", 0) + struct.pack("<H", 0x0202)
    pkt = hdr + body
    return struct.pack(">I", len(pkt)) + pkt


def first_reply(addr, timeout):
    """Seconds until the first byte of the answer to an SMB2 NEGOTIATE, or None if none came."""
    with socket.create_connection((addr, 445), timeout=5) as s:
        s.settimeout(timeout)
        t0 = time.monotonic()
        s.sendall(smb2_negotiate())
        try:
            data = s.recv(4)
        except socket.timeout:
            return None
        return time.monotonic() - t0 if data else None


def refused(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=3):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


def proc_with(mark):
    """pids of live (non-zombie) processes whose command line contains mark."""
    out = []
    for e in os.listdir("/proc"):
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            with open("/proc/%s/cmdline" % e, "rb") as f:
                cl = f.read()
            with open("/proc/%s/stat" % e) as f:
                st = f.read()
        except OSError:
            continue
        if mark.encode() in cl and st[st.rfind(")") + 2] not in "ZX":
            out.append(int(e))
    return out


def outside_snapshot():
    """What the lab must never change outside DIR: {path: (size, mtime_ns)} of /etc's account, host and Samba
    files and of everything under /var/log/samba (absent paths are recorded as absent)."""
    snap = {}
    paths = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/hosts"]
    for top in ("/etc/samba", "/var/log/samba"):
        paths.append(top)
        for root, dirs, files in os.walk(top):
            paths += [os.path.join(root, n) for n in dirs + files]
    for p in paths:
        try:
            st = os.lstat(p)
            snap[p] = (st.st_size, st.st_mtime_ns)
        except OSError:
            snap[p] = None
    return snap


def check_refusals(tmp, sc):
    """Bad scenarios are refused, naming the fault, before DIR exists; an up that fails late stops everything."""
    d = os.path.join(tmp, "bad")
    cases = [("hosts", 0, "colour", "red", "unknown key 'colour'"),
             ("sites", 0, "typo", 1, "unknown key 'typo'"),
             ("hosts", 1, "registry", "broken", "registry must be one of"),
             ("hosts", 2, "network", "flaky", "network must be one of"),
             ("sites", 0, "type", "tertiary", "type"),
             ("hosts", 0, "remote_registry", "sleeping", "remote_registry must be one of"),
             ("hosts", 1, "rpc_delay_ms", -1, "rpc_delay_ms must be an integer"),
             ("hosts", 2, "rpc_delay_ms", 1.5, "rpc_delay_ms must be an integer"),
             ("hosts", 3, "remote_registry_idle_s", 0, "remote_registry_idle_s must be an integer")]
    for part, i, key, value, want in cases:
        bad = json.loads(json.dumps(sc))
        bad[part][i][key] = value
        path = os.path.join(tmp, "bad.json")
        with open(path, "w") as f:
            json.dump(bad, f)
        rc, out = run([LAB, "up", path, "--dir", d, "--base-addr", "127.79.0.0"])
        check(rc == 1 and want in out and "%s[%d]" % (part, i) in out and not os.path.exists(d),
              "scenario with %s[%d].%s = %r: rc=%d %s" % (part, i, key, value, rc, out.strip()[-300:]))
    # The site DB server is started first and waited for last: one that exits at once fails the up only
    # after every smbd was started, so everything started must be stopped again.
    rc, out = run([LAB, "up", SCENARIO, "--dir", d, "--base-addr", "127.79.0.0", "--tdsd", "/bin/false"],
                  timeout=240)
    check(rc == 1 and "dpfleet-tdsd exited" in out, "late failure: rc=%d %s" % (rc, out.strip()[-300:]))
    check(not os.path.exists(d), "late failure left %s" % d)
    check(not proc_with(d + "/"), "late failure left processes naming %s: %s" % (d, proc_with(d + "/")))
    busy = [a for a in ("127.79.0.%d" % k for k in range(10, 10 + len(sc["hosts"]) + len(sc["sites"])))
            if not refused(a, 445)]
    check(not busy, "late failure left SMB ports answering: %s" % busy)


def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rfind(")") + 2] not in "ZX"


# --- independent readers ------------------------------------------------------------------------------

def net_rpc(lab, addr, *args):
    user = "%s\\%s%%%s" % (lab["smb_domain"], lab["smb_user"], lab["smb_password"])
    return run(["net", "rpc", "registry"] + list(args) + ["-I", addr, "-U", user], timeout=120)


def multisz_values(out):
    return re.findall(r'^Value\[\d+\] = "(.*)"$', out, re.M)


def smb_get(lab, addr, share, path, dest):
    user = "%s\\%s%%%s" % (lab["smb_domain"], lab["smb_user"], lab["smb_password"])
    return run(["smbclient", "//%s/%s" % (addr, share), "-U", user, "-c", 'get "%s" "%s"' % (path, dest)],
               timeout=120)


REC = re.compile(r'<!\[LOG\[(.*?)\]LOG\]!><time="(\d\d:\d\d:\d\d)\.(\d+)([+-]\d+)" date="(\d\d)-(\d\d)-(\d{4})"', re.S)


def records(text):
    out = []
    for chunk in text.split("<![LOG[")[1:]:
        m = REC.match("<![LOG[" + chunk)
        if not m:
            continue
        msg, hms, _ms, bias, mo, d, y = m.groups()
        t = datetime.datetime.strptime("%s-%s-%s %s" % (y, mo, d, hms), "%Y-%m-%d %H:%M:%S")
        utc = t + datetime.timedelta(minutes=int(bias))
        out.append((msg, utc.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return out


def check_host(lab, fqdn, e, tmp, site_values):
    addr = lab["hosts"][fqdn]
    net = e["network"]
    w = "%s (%s)" % (fqdn, addr)
    if net == "down":
        check(refused(addr, 445), "%s: network down but 445 is not refused" % w)
        return
    if net == "blackhole":
        check(first_reply(addr, 1.5) is None, "%s: black hole answered" % w)
        return
    delay = first_reply(addr, 30)
    check(delay is not None, "%s: no SMB2 negotiate answer" % w)
    if net == "slow" and delay is not None:
        check(delay >= e["slow_ms"] / 1000.0, "%s: slow host answered in %.3f s < slow_ms" % (w, delay))
    # Registry, as Samba's own client sees it.
    rc, out = net_rpc(lab, addr, "getvalue", SEC, "IssuingCertificateList")
    st = e["registry"]
    if st in ("ok", "mismatch"):
        check(rc == 0 and multisz_values(out) == e["value"], "%s: %s value: rc=%d %s" % (w, st, rc, out[:300]))
        if st == "ok":
            check(e["value"] in site_values[e["site"]], "%s: ok value is not the site's" % w)
        else:
            check(e["value"] not in site_values[e["site"]], "%s: mismatch value equals the site's" % w)
    elif st == "empty":
        check(rc == 0 and "REG_MULTI_SZ" in out and multisz_values(out) == [], "%s: empty: rc=%d %s" % (w, rc, out[:300]))
    elif st == "missing":
        check(rc != 0 and "ACCESS_DENIED" not in out, "%s: missing value is readable: %s" % (w, out[:300]))
        rc2, out2 = net_rpc(lab, addr, "enumerate", SEC)
        check(rc2 == 0, "%s: missing: Security key absent: %s" % (w, out2[:300]))
    elif st == "no_key":
        rc2, out2 = net_rpc(lab, addr, "enumerate", SEC)
        check(rc2 != 0 and "ACCESS_DENIED" not in out2, "%s: no_key: Security key present: %s" % (w, out2[:300]))
        rc3, out3 = net_rpc(lab, addr, "enumerate", r"HKLM\SOFTWARE\Microsoft\SMS")
        check(rc3 == 0, "%s: no_key: SMS key absent: %s" % (w, out3[:300]))
    elif st == "denied":
        check(rc != 0 and "ACCESS_DENIED" in out, "%s: denied key readable: rc=%d %s" % (w, rc, out[:300]))
    if "dp" in e["roles"]:
        rc, out = net_rpc(lab, addr, "getvalue", r"HKLM\SOFTWARE\Microsoft\SMS\DP", "IsPXE")
        check(rc == 0 and re.search(r"Value\s+= %d\b" % int(e["pxe"]), out), "%s: IsPXE: %s" % (w, out[:200]))
    # Admin: a write over winreg works; non-admin: refused.
    probe = r"HKLM\SOFTWARE\Microsoft\SMS\LabWriteProbe"
    rc, out = net_rpc(lab, addr, "createkey", probe)
    if e["admin"]:
        check(rc == 0, "%s: admin cannot write over winreg: %s" % (w, out[:300]))
        rc2, out2 = net_rpc(lab, addr, "enumerate", r"HKLM\SOFTWARE\Microsoft\SMS")
        check("LabWriteProbe" in out2, "%s: written key not visible" % w)
        net_rpc(lab, addr, "deletekey", probe)
    else:
        check(rc != 0 and "ACCESS_DENIED" in out, "%s: non-admin write not refused: rc=%d %s" % (w, rc, out[:300]))
    # SMSPXE logs, as smbclient sees them.
    path = e["pxe_log_path"]
    if e["smspxe_log"] == "none":
        if "dp" in e["roles"]:
            rc, out = smb_get(lab, addr, "SMS_DP$", "sms/logs/SMSPXE.log", os.path.join(tmp, fqdn + ".none"))
            check(rc != 0 and "OBJECT_NAME_NOT_FOUND" in out, "%s: log 'none' but SMSPXE.log exists: %s" % (w, out[:200]))
        return
    share, rel = path.split("/", 1)
    live_f = os.path.join(tmp, fqdn + ".log")
    rc, out = smb_get(lab, addr, share, rel, live_f)
    if not e["pxe_log_readable"]:
        check(rc != 0 and "ACCESS_DENIED" in out, "%s: log should be unreadable: %s" % (w, out[:200]))
        return
    check(rc == 0, "%s: cannot get %s: %s" % (w, path, out[:200]))
    if rc != 0:
        return
    with open(live_f, encoding="utf-8", newline="") as f:
        live = records(f.read())
    rolled = []
    if e["smspxe_log"] == "cert_errors":
        rolled_f = os.path.join(tmp, fqdn + ".lo_")
        rc, out = smb_get(lab, addr, share, rel[:-4] + ".lo_", rolled_f)
        check(rc == 0, "%s: cannot get the rolled SMSPXE.lo_: %s" % (w, out[:200]))
        if rc == 0:
            with open(rolled_f, encoding="utf-8", newline="") as f:
                rolled = records(f.read())
    ce_live = [t for m, t in live if "80092002" in m]
    ce_rolled = [t for m, t in rolled if "80092002" in m]
    check(len(ce_live) == e["pxe_cert_errors_live"] and len(ce_rolled) == e["pxe_cert_errors_rolled"]
          and len(ce_live) + len(ce_rolled) == e["pxe_cert_errors"],
          "%s: cert error records live %d rolled %d vs expect %s" % (w, len(ce_live), len(ce_rolled), e))
    check((max(ce_live + ce_rolled) if ce_live + ce_rolled else None) == e["pxe_last_error"],
          "%s: last cert error time differs from expect" % w)
    expired = [t for m, t in live if "800B0101" in m and "PXEClientKey" in m]
    check(bool(expired) == e["pxe_expired_cert"], "%s: expired-cert signature %s vs expect" % (w, bool(expired)))
    if e["smspxe_log"] == "cert_errors":
        check(any("\r\n" in m and "80092002" in m for m, _ in live), "%s: no multi-line cert error record" % w)
    if e["smspxe_log"] == "clean":
        check(not ce_live and not expired and len(live) >= 5, "%s: clean log has errors or no records" % w)


def check_site_servers(lab, sc, tmp):
    for s in sc["sites"]:
        addr = lab["hosts"][s["server"]]
        dest = os.path.join(tmp, "CertMgr-%s.log" % s["code"])
        rc, out = smb_get(lab, addr, "SMS_%s" % s["code"], "Logs/CertMgr.log", dest)
        if not check(rc == 0, "site %s: cannot get CertMgr.log: %s" % (s["code"], out[:200])):
            continue
        with open(dest, encoding="utf-8") as f:
            text = f.read()
        named = set(re.findall(r"Cannot get copy of security registry key on server \((\S+)\) \(0x80070005\)  \$\$<", text))
        check(named == set(s.get("certmgr_denied", [])), "site %s: CertMgr names %s" % (s["code"], sorted(named)))
        check(all(re.search(r"  \$\$<SMS_CERTIFICATE_MANAGER><\d\d-\d\d-\d{4} \d\d:\d\d:\d\d\.\d{3}[+-]\d+><thread=\d+ \(0x[0-9A-F]+\)>$", l)
                  for l in text.splitlines()), "site %s: a CertMgr line is not in site-server format" % s["code"])


def tsql(lab, query):
    addr, port = lab["sitedb"].split(":")
    rc, out = run(["tsql", "-H", addr, "-p", port, "-U", lab["sitedb_user"], "-P", lab["sitedb_password"],
                   "-D", lab["sitedb_database"], "-o", "q"], stdin=query + "\ngo\nexit\n", timeout=60)
    rows = [l.split("\t") for l in out.splitlines() if l.strip()]
    return rc, rows[1:] if rows else [], out


def check_sitedb(lab, sc):
    rc, rows, out = tsql(lab, "SELECT SiteCode, Type, ReportingSiteCode, ServerName FROM v_Site")
    types = {"cas": "4", "primary": "2", "secondary": "1"}
    want = sorted([s["code"], types[s["type"]], s.get("parent") or "", s["server"]] for s in sc["sites"])
    check(rc == 0 and sorted(rows) == want, "tsql v_Site: %s" % out[:500])
    rc, rows, out = tsql(lab, "SELECT SD.SiteCode, SCP.Value1 FROM SC_Component SC JOIN SC_SiteDefinition SD "
                              "ON SD.SiteNumber = SC.SiteNumber JOIN SC_Component_Property SCP ON "
                              "SCP.ComponentID = SC.ID WHERE SCP.Name = 'IssuingCertificateList'")
    want = sorted([s["code"], v] for s in sc["sites"]
                  for v in ([s["issuing_certificate_list"]] if s.get("issuing_certificate_list") else [])
                  + s.get("extra_values", []))
    check(rc == 0 and sorted(rows) == want, "tsql KB query: %s" % out[:500])
    rc, rows, out = tsql(lab, "SELECT ServerName, SiteCode, IsPXE FROM v_DistributionPointInfo")
    want = sorted([h["fqdn"], h["site"], "1" if h.get("pxe") else "0"] for h in sc["hosts"] if "dp" in h["roles"])
    check(rc == 0 and sorted(rows) == want, "tsql v_DistributionPointInfo: %s" % out[:500])
    rc, rows, out = tsql(lab, "SELECT ServerName FROM v_SystemResourceList WHERE RoleName = 'SMS Management Point'")
    want = sorted([h["fqdn"]] for h in sc["hosts"] if "mp" in h["roles"])
    check(rc == 0 and sorted(rows) == want, "tsql MPs: %s" % out[:500])


def check_lab_full(lab, sc, tmp):
    site_values = {}
    for s in sc["sites"]:
        v = s.get("issuing_certificate_list")
        site_values[s["code"]] = [[x for x in v.split("\\0") if x]] if v else []
    check(set(lab["expect"]) == {h["fqdn"] for h in sc["hosts"]}, "expect does not cover every host")
    with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
        futs = [ex.submit(check_host, lab, h["fqdn"], lab["expect"][h["fqdn"]], tmp, site_values) for h in sc["hosts"]]
        for f in futs:
            f.result()
    check_site_servers(lab, sc, tmp)
    check_sitedb(lab, sc)
    for name in ("scanner.conf", "server.conf", "hosts.map", "sitedb.sqlite", "lab.json"):
        check(os.path.exists(os.path.join(lab["dir"], name)), "missing %s" % name)
    for name in ("smb.password", "sitedb.password"):
        check(os.stat(os.path.join(lab["dir"], name)).st_mode & 0o777 == 0o600, "%s is not mode 0600" % name)
    with open(os.path.join(lab["dir"], "hosts.map")) as f:
        hm = dict(l.split() for l in f if l.strip())
    check(hm == lab["hosts"], "hosts.map differs from lab.json hosts")


# --- Remote Registry service: standing daemons, trigger start, disabled, late binds ----------------------

def argv_of(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def children_of(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return {int(x) for x in f.read().split()}
    except OSError:
        return set()


def smb_open_pipe(lab, addr, pipe="winreg"):
    """smbclient's `open` of \\pipe on IPC$: (opened, NT_STATUS of a failed open or None, output).  Not one
    CREATE: when the read/write open fails smbclient tries a read-only one (so not for trigger_start)."""
    user = "%s\\%s%%%s" % (lab["smb_domain"], lab["smb_user"], lab["smb_password"])
    rc, out = run(["smbclient", "//%s/IPC$" % addr, "-U", user, "-c", "open %s" % pipe], timeout=120)
    m = re.search(r"NT_STATUS_[A-Z_]+", out)
    return ("open file \\%s" % pipe) in out and m is None, m.group(0) if m else None, out


def gate_status(lab):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(os.path.join(lab["dir"], "run", "gate.sock"))
        s.sendall(b"status\n")
        out = b""
        while not out.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return json.loads(out)


def rpc_hosts(lab):
    """FQDN -> expect-like dict for every host with smbd (scenario hosts and site servers)."""
    out = {}
    for fqdn in lab["hosts"]:
        e = lab["expect"].get(fqdn, {"network": "ok", "remote_registry": "running", "rpc_delay_ms": 0})
        if e["network"] in ("ok", "slow"):
            out[fqdn] = e
    return out


def host_root(lab, fqdn):
    """DIR/h/NNN of a host, from its samba-dcerpcd's --configfile."""
    argv = argv_of(lab["pids"].get("rpcd", {}).get(fqdn) or 0)
    conf = next((a.split("=", 1)[1] for a in argv if a.startswith("--configfile=")), None)
    return os.path.dirname(conf) if conf else None


def check_standing(lab):
    """Right after up: every host's samba-dcerpcd is a standing daemon (no --np-helper, so rpc_host.c never
    exits it when idle), smbd may not start one on demand, and on running hosts rpcd_winreg already runs
    (up's winreg bind started it).  Returns {fqdn: pids of samba-dcerpcd and its helpers} to compare later."""
    snap = {}
    for fqdn, e in rpc_hosts(lab).items():
        w = "%s: samba-dcerpcd" % fqdn
        pid = lab["pids"].get("rpcd", {}).get(fqdn)
        if not check(pid and pid_alive(pid), "%s: not running after up (pid %s)" % (w, pid)):
            continue
        argv = argv_of(pid)
        conf = next((a.split("=", 1)[1] for a in argv if a.startswith("--configfile=")), "")
        root = os.path.dirname(conf)
        check(os.path.basename(argv[0]) == "samba-dcerpcd" and "--np-helper" not in argv,
              "%s: not a standing daemon: %s" % (w, argv))
        with open(os.path.join(root, "smb.conf")) as f:
            smbconf = f.read()
        ondemand = "yes" if e["remote_registry"] == "trigger_start" else "no"
        check("rpc start on demand helpers = %s" % ondemand in smbconf, "%s: smb.conf lacks 'rpc start on demand "
              "helpers = %s'" % (fqdn, ondemand))
        serves_winreg = any(a.endswith("/rpcd_winreg") for a in argv)
        plain = e["remote_registry"] == "running" and not e.get("rpc_delay_ms")
        check(serves_winreg == plain, "%s: serves rpcd_winreg = %s, expected %s" % (w, serves_winreg, plain))
        kids = children_of(pid)
        if plain:
            check(any(argv_of(k)[:1] and argv_of(k)[0].endswith("/rpcd_winreg") for k in kids),
                  "%s: no rpcd_winreg worker after up" % fqdn)
        snap[fqdn] = {pid} | kids
    return snap


def check_idle_config(lab):
    """rpcd_winreg's own answer to --list-interfaces (rpc_worker.c: num_workers, then idle_seconds) under the
    lab's config: the helper is never stopped for idleness.  Run in a private mount namespace with the
    host's log directory on /var/log/samba, as the lab runs it."""
    fqdn = next(f for f, e in rpc_hosts(lab).items() if e["remote_registry"] == "running" and not e.get("rpc_delay_ms"))
    argv = argv_of(lab["pids"]["rpcd"][fqdn])
    conf = next(a.split("=", 1)[1] for a in argv if a.startswith("--configfile="))
    rc, out = run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                   'mount --bind "$1" /var/log/samba && exec /usr/libexec/samba/rpcd_winreg --configfile="$2" '
                   '--list-interfaces', "sh", os.path.join(os.path.dirname(conf), "log"), conf], timeout=60)
    lines = out.split()
    check(rc == 0 and len(lines) >= 2 and lines[1].isdigit() and int(lines[1]) >= 86400,
          "%s: rpcd_winreg idle_seconds under rpcd.conf: %s" % (fqdn, out[:200]))


def check_still_standing(lab, snap, t_up):
    """Later than rpcd_winreg's default idle time after up: the same samba-dcerpcd and helpers, nothing
    exited and nothing restarted."""
    wait = t_up + RPCD_IDLE_S + 5 - time.monotonic()
    if wait > 0:
        print("waiting %.0f s (rpcd idle time) before checking that the RPC daemons stayed" % wait, flush=True)
        time.sleep(wait)
    for fqdn, pids in snap.items():
        dead = sorted(p for p in pids if not pid_alive(p))
        check(not dead, "%s: samba-dcerpcd/rpcd helpers exited while idle: %s" % (fqdn, dead))
        pid = lab["pids"]["rpcd"][fqdn]
        new = children_of(pid) - pids
        check(not new, "%s: helpers restarted: %s" % (fqdn, sorted(new)))


def first_pipe_open(lab, addr):
    """One CREATE of \\pipe\\winreg (`net rpc registry` opens lsarpc, then winreg once): (opened, status)."""
    rc, out = net_rpc(lab, addr, "getvalue", r"HKLM\SOFTWARE\Microsoft\SMS", "InstallPath")
    m = re.search(r"Could not initialise pipe winreg\. Error was (NT_STATUS_[A-Z_]+)", out)
    return rc == 0 and "SMS_CCM" in out, m.group(1) if m else None, out


def timed_getvalue(lab, addr):
    t0 = time.monotonic()
    rc, out = net_rpc(lab, addr, "getvalue", r"HKLM\SOFTWARE\Microsoft\SMS", "InstallPath")
    return rc, out, time.monotonic() - t0


def check_rpc_states(lab, sc):
    """Lab with scenarios/rpc.json: every Remote Registry state, seen by independent clients."""
    hosts = {h["fqdn"]: h for h in sc["hosts"]}
    ex = lab["expect"]
    for fqdn, h in hosts.items():
        e = ex[fqdn]
        rr = h.get("remote_registry", "running")
        delay = h.get("rpc_delay_ms", 0)
        want = {"remote_registry": rr, "rpc_delay_ms": delay,
                "remote_registry_idle_s": h.get("remote_registry_idle_s", 600),
                "unreachable_reason": {"down": "refused", "blackhole": "smb_timeout"}.get(h.get("network", "ok")) or
                ("rpc_unavailable" if rr == "disabled" else "rpc_timeout" if delay >= 10000 else None),
                "min_attempts": 2 if rr == "trigger_start" else 1}
        want["read"] = want["unreachable_reason"] is None and h.get("registry", "ok") in ("ok", "mismatch", "empty")
        got = {k: e.get(k) for k in want}
        check(got == want, "%s: expect %s, want %s" % (fqdn, got, want))
    by = {rr: [f for f, h in hosts.items() if h.get("remote_registry", "running") == rr and
               h.get("network", "ok") == "ok" and not h.get("rpc_delay_ms")]
          for rr in ("running", "trigger_start", "disabled")}
    addr = lab["hosts"]
    # Binds answered later than the scanner's [smb] timeout (10 s): Samba's client gives up (in a thread,
    # meanwhile the rest runs).
    late = [f for f, h in hosts.items() if h.get("rpc_delay_ms", 0) >= 10000]
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2)
    late_f = pool.submit(timed_getvalue, lab, addr[late[0]]) if late else None
    # running: read by an independent client at once.
    for f in by["running"]:
        rc, out, _ = timed_getvalue(lab, addr[f])
        check(rc == 0 and "SMS_CCM" in out, "%s (running): getvalue: %s" % (f, out[:300]))
    # rpc_delay_ms under the timeout: the bind, and so the whole read, takes at least the delay.
    for f, h in hosts.items():
        d = h.get("rpc_delay_ms", 0)
        if 0 < d < 10000 and h.get("remote_registry", "running") == "running":
            rc, out, took = timed_getvalue(lab, addr[f])
            check(rc == 0 and took >= d / 1000.0, "%s: rpc_delay_ms %d: rc=%d in %.3f s: %s" % (f, d, rc, took, out[:200]))
            st = gate_status(lab)[f]
            check(st["delayed_binds"] >= 1, "%s: the gate delayed no bind: %s" % (f, st))
    # disabled: the pipe never opens; SMB and the log share work.
    for f in by["disabled"]:
        for _ in range(2):
            ok, status, out = smb_open_pipe(lab, addr[f])
            check(not ok and status == "NT_STATUS_OBJECT_NAME_NOT_FOUND", "%s (disabled): open: %s" % (f, out[-300:]))
            time.sleep(1.0)
        rc, out = net_rpc(lab, addr[f], "getvalue", r"HKLM\SOFTWARE\Microsoft\SMS", "InstallPath")
        check(rc != 0 and "NT_STATUS_OBJECT_NAME_NOT_FOUND" in out, "%s (disabled): net: %s" % (f, out[-300:]))
        user = "%s\\%s%%%s" % (lab["smb_domain"], lab["smb_user"], lab["smb_password"])
        rc, out = run(["smbclient", "//%s/SMS_DP$" % addr[f], "-U", user, "-c", "ls sms\\logs\\*"], timeout=120)
        check(rc == 0 and "smsdpprov.log" in out, "%s (disabled): SMS_DP$ listing: %s" % (f, out[-300:]))
        root = host_root(lab, f)
        check(root and not [p for p in proc_with(root + "/") if "rpcd_winreg" in " ".join(argv_of(p))],
              "%s (disabled): an rpcd_winreg runs" % f)
    # trigger_start: the first open fails as on Windows and starts the service, one 1 s later works; after
    # remote_registry_idle_s without a client it is stopped and the next first open fails again, once.
    for f in by["trigger_start"]:
        idle = hosts[f].get("remote_registry_idle_s", 600)
        for rnd in (1, 2):
            w = "%s (trigger_start, round %d)" % (f, rnd)
            st = gate_status(lab)[f]
            check(st["state"] == "stopped" and not st["rpcd_pid"], "%s: service not stopped: %s" % (w, st))
            ok, status, out = first_pipe_open(lab, addr[f])
            t_fail = time.monotonic()
            check(not ok and status == "NT_STATUS_OBJECT_NAME_NOT_FOUND", "%s: first open: %s" % (w, out[-300:]))
            time.sleep(max(0.0, t_fail + 1.0 - time.monotonic()))
            ok, status, out = first_pipe_open(lab, addr[f])
            check(ok, "%s: open 1 s after the trigger: %s" % (w, out[-300:]))
            ok, status, out = smb_open_pipe(lab, addr[f])
            check(ok, "%s: smbclient open once started: %s" % (w, out[-300:]))
            st = gate_status(lab)[f]
            check(st["state"] == "running" and st["rpcd_pid"] and pid_alive(st["rpcd_pid"]) and st["starts"] == rnd,
                  "%s: gate after the start: %s" % (w, st))
            pid = st["rpcd_pid"]
            deadline = time.monotonic() + idle + 30
            while gate_status(lab)[f]["state"] != "stopped" and time.monotonic() < deadline:
                time.sleep(0.2)
            st = gate_status(lab)[f]
            check(st["state"] == "stopped" and st["stops"] == rnd, "%s: not stopped after %d s idle: %s" % (w, idle, st))
            check(not pid_alive(pid), "%s: its samba-dcerpcd %d still runs after the idle stop" % (w, pid))
    # trigger_start behind a slow network with late binds: the first open still fails that way.
    for f, h in hosts.items():
        if h.get("remote_registry") == "trigger_start" and f not in by["trigger_start"]:
            ok, status, out = first_pipe_open(lab, addr[f])
            check(not ok and status == "NT_STATUS_OBJECT_NAME_NOT_FOUND", "%s: first open: %s" % (f, out[-300:]))
    if late_f:
        rc, out, took = late_f.result()
        check(rc != 0 and "NT_STATUS_IO_TIMEOUT" in out and took >= 9.5,
              "%s: bind %d ms late should time out: rc=%d after %.1f s: %s" % (
                  late[0], hosts[late[0]]["rpc_delay_ms"], rc, took, out[-300:]))
    pool.shutdown()


def lab_ports(lab):
    ports = [tuple(lab["sitedb"].split(":"))]
    ports += [(a, "445") for a in lab["hosts"].values()]
    ports += [(a, "445") for a in lab.get("real_addrs", {}).values()]
    return [(a, int(p)) for a, p in ports]


def check_down(d, lab, pids):
    rc, out = run([LAB, "down", "--dir", d])
    check(rc == 0, "down %s: %s" % (d, out))
    check(not os.path.exists(d), "down left %s" % d)
    alive = [p for p in pids if pid_alive(p)]
    check(not alive, "down left pids %s" % alive)
    left = proc_with(d + "/")
    check(not left, "down left processes naming %s: %s" % (d, left))
    busy = [a for a in lab_ports(lab) if not refused(*a)]
    check(not busy, "ports still answering after down: %s" % busy)
    rc, out = run([LAB, "down", "--dir", d])
    check(rc == 0, "second down is not idempotent: %s" % out)


@test('two labs (small, rpc) side by side: refusals, hosts, site DB, Remote Registry states, status, down')
def main():
    if not check(os.geteuid() == 0, "lab_test: needs root (smbd)"):
        return
    with open(SCENARIO) as f:
        sc = json.load(f)
    with open(RPC_SCENARIO) as f:
        sc_b = json.load(f)
    tmp = tempfile.mkdtemp(prefix="dpl-", dir="/tmp")
    os.chmod(tmp, 0o711)
    da, db = os.path.join(tmp, "a"), os.path.join(tmp, "b")
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    outside = outside_snapshot()
    try:
        check_refusals(tmp, sc)
        t0 = time.monotonic()
        pa = subprocess.Popen([LAB, "up", SCENARIO, "--dir", da, "--base-addr", "127.77.0.0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        pb = subprocess.Popen([LAB, "up", RPC_SCENARIO, "--dir", db, "--base-addr", "127.78.0.0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        oa, _ = pa.communicate(timeout=240)
        ob, _ = pb.communicate(timeout=240)
        t_up = time.monotonic()
        print("two labs up in %.1f s" % (t_up - t0))
        if not (check(pa.returncode == 0 and oa.strip().endswith("ready"), "up a: %s" % oa)
                and check(pb.returncode == 0 and ob.strip().endswith("ready"), "up b: %s" % ob)):
            return
        with open(os.path.join(da, "lab.json")) as f:
            la = json.load(f)
        with open(os.path.join(db, "lab.json")) as f:
            lb = json.load(f)
        standing = check_standing(la)
        standing_b = check_standing(lb)
        check_idle_config(la)
        # A third lab on a base already in use must refuse cleanly and leave the others alone.
        dc = os.path.join(tmp, "c")
        rc, out = run([LAB, "up", SCENARIO, "--dir", dc, "--base-addr", "127.77.0.0"])
        check(rc == 1 and "already in use" in out and not os.path.exists(dc), "clashing up: rc=%d %s" % (rc, out))
        check_lab_full(la, sc, work)
        rc, out = run([LAB, "status", "--dir", da])
        check(rc == 0 and all(re.search(r"^%s\s.*\sOK$" % re.escape(f), out, re.M) for f in la["hosts"])
              and "%d/%d hosts as expected" % (len(la["hosts"]), len(la["hosts"])) in out,
              "status of lab a: rc=%d %s" % (rc, out[-600:]))
        # Lab b (scenarios/rpc.json): every host that should answer answers, its own site DB works, and
        # every Remote Registry state behaves as on Windows.
        for fqdn, e in lb["expect"].items():
            if e["network"] == "ok":
                check(first_reply(lb["hosts"][fqdn], 30) is not None, "lab b: %s does not answer" % fqdn)
        ok_host = next(f for f, e in lb["expect"].items() if e["registry"] == "ok" and e["network"] == "ok"
                       and e["remote_registry"] == "running" and not e["rpc_delay_ms"])
        rc, out = net_rpc(lb, lb["hosts"][ok_host], "getvalue", SEC, "IssuingCertificateList")
        check(rc == 0 and multisz_values(out) == lb["expect"][ok_host]["value"], "lab b: value of %s" % ok_host)
        rc, rows, out = tsql(lb, "SELECT SiteCode FROM v_Site")
        check(rc == 0 and len(rows) == len(sc_b["sites"]), "lab b: tsql: %s" % out[:300])
        check_rpc_states(lb, sc_b)
        rc, out = run([LAB, "status", "--dir", db])
        check(rc == 0 and "%d/%d hosts as expected" % (len(lb["hosts"]), len(lb["hosts"])) in out,
              "status of lab b: rc=%d %s" % (rc, out[-800:]))
        check_still_standing(la, standing, t_up)
        check_still_standing(lb, {f: p for f, p in standing_b.items()
                                  if lb["expect"].get(f, {}).get("remote_registry", "running") == "running"}, t_up)
        pids_a = proc_with(da + "/")
        pids_b = proc_with(db + "/")
        check(len(pids_a) >= len([e for e in la["expect"].values() if e["network"] in ("ok", "slow")]),
              "lab a: fewer processes than hosts: %d" % len(pids_a))
        check_down(da, la, pids_a)
        check(all(pid_alive(p) for p in lb["pids"]["smbd"].values()), "down of lab a stopped lab b's smbd")
        check_down(db, lb, pids_b)
        after = outside_snapshot()
        changed = sorted(p for p in set(outside) | set(after) if outside.get(p) != after.get(p))
        check(not changed, "the labs changed files outside their directories: %s" % changed[:10])
    finally:
        for d in (da, db):
            if os.path.exists(d):
                subprocess.run([LAB, "down", "--dir", d], capture_output=True, timeout=120)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(checks.run())
