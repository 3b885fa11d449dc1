"""The command line: up, down, status, stats, generate and the internal _faults, _gate and _relay.
"""
import argparse
import ipaddress
import json
import os
import shutil
import signal
import sqlite3
import sys

from .common import (LabError, MAX_DIR_LEN, SCAN_UID, SMB_PORT, die, find_tdsd, lab_processes, pid_alive,
                     port_answers, stop_lab_processes)
from .scenario import cmd_generate, load_scenario
from .gate import cmd_gate, gate_request
from .faults import cmd_faults
from .relay import cmd_relay, relay_stats
from .lab import Lab
from . import ipv6


def check_dir_arg(d):
    d = os.path.abspath(d)
    if d in ("/", "/tmp", "/work", os.path.expanduser("~")) or len(d.rstrip("/").split("/")) < 3:
        die("refusing --dir %s: give a dedicated directory" % d)
    return d


def cmd_up(a):
    d = check_dir_arg(a.dir)
    if len(d) > MAX_DIR_LEN:
        die("--dir %s is too long (%d > %d): smbd's unix sockets live under it" % (d, len(d), MAX_DIR_LEN))
    if os.geteuid() != 0:
        die("up needs root (smbd)")
    try:
        base = ipaddress.IPv4Address(a.base_addr)
    except ValueError:
        die("--base-addr %s: not an IPv4 address" % a.base_addr)
    if base not in ipaddress.IPv4Network("127.0.0.0/8") or int(base) & 0xFFFF:
        die("--base-addr must be a 127.x.y.0 address with y = 0 (the lab uses BASE .. BASE+0xFFFF)")
    try:
        sc = load_scenario(a.scenario)
    except LabError as e:
        die(str(e))
    if os.path.exists(d) and (not os.path.isdir(d) or os.listdir(d)):
        die("--dir %s exists and is not an empty directory" % d)
    # smbd's helpers switch to the scan account's uid and must still reach DIR/h/N/state: every
    # ancestor of DIR must be searchable by others.  Secrets inside DIR are mode 0600.
    p = os.path.dirname(d)
    while True:
        if os.path.exists(p) and not os.stat(p).st_mode & 0o001:
            die("%s (an ancestor of --dir) is not searchable by others (mode %o): smbd's helpers run as uid %d "
                "and must reach DIR; use a parent with mode 0711 or 0755" % (p, os.stat(p).st_mode & 0o7777, SCAN_UID))
        if p == "/":
            break
        p = os.path.dirname(p)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o711)
    lab = Lab(sc, a.scenario, d, base, None if a.no_sitedb else find_tdsd(a.tdsd), a.jobs)

    def on_signal(signum, _frame):
        raise LabError("interrupted by signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        lab.up(not a.no_sitedb)
    except (LabError, OSError, sqlite3.Error) as e:
        lab.addc_abort()        # addc.py: no DC may start after the stop below
        left = stop_lab_processes(d)
        ipv6.release(d)
        if a.keep_on_failure:
            print("dpfleet-lab: up failed; kept %s for inspection" % d, file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)
        die("up failed: %s%s" % (e, "" if not left else " (could not stop pids %s)" % sorted(left)))
    if a.verbose:
        print("dpfleet-lab: %d instances up in %.1f s (%s)" % (len(lab.inst), lab.elapsed, ", ".join(
            "%s at %.1f s" % p for p in lab.phases)), file=sys.stderr)
    print("ready")
    sys.stdout.flush()


def cmd_down(a):
    d = check_dir_arg(a.dir)
    left = stop_lab_processes(d)
    if left:
        die("could not stop pids %s" % sorted(left))
    ipv6.release(d)
    shutil.rmtree(d, ignore_errors=True)
    if os.path.exists(d):
        die("could not remove %s" % d)


def cmd_status(a):
    d = check_dir_arg(a.dir)
    try:
        with open(os.path.join(d, "lab.json")) as f:
            lab = json.load(f)
    except (OSError, ValueError) as e:
        die("no lab in %s: %s" % (d, e))
    rows = []
    procs = lab_processes(d)
    a_ok = 0
    gate = {}
    if lab["pids"].get("gate"):
        try:
            gate = json.loads(gate_request(d, "status"))
        except (OSError, ValueError):
            gate = None
    for fqdn, addr in sorted(lab["hosts"].items(), key=lambda x: ipaddress.ip_address(x[1]).packed.rjust(16, b"\0")):
        e = lab["expect"].get(fqdn, {})
        net = e.get("network", "ok")
        pid = lab["pids"]["smbd"].get(fqdn)
        alive = bool(pid) and pid_alive(pid)
        if net == "down":
            ok = not port_answers(addr, SMB_PORT, 0.3)
        elif net == "blackhole":
            fp = lab["pids"].get("faults")
            ok = bool(fp) and pid_alive(fp) and port_answers(addr, SMB_PORT, 0.3)
        else:
            ok = alive and port_answers(lab["real_addrs"].get(fqdn, addr), SMB_PORT, 0.3) and \
                port_answers(addr, SMB_PORT, 0.3)
        rr = e.get("remote_registry", "running")
        if net in ("ok", "slow", "wan"):
            rpcd = lab["pids"].get("rpcd", {}).get(fqdn)
            ok = ok and bool(rpcd) and pid_alive(rpcd)          # the standing samba-dcerpcd
            if e.get("rpc_delay_ms") or rr == "trigger_start":
                g = (gate or {}).get(fqdn)
                ok = ok and bool(g)
                if rr == "trigger_start" and g:
                    rr += "(%s)" % g["state"]
        if e.get("rpc_delay_ms"):
            rr += "+%dms" % e["rpc_delay_ms"]
        a_ok += ok
        role = ",".join(e.get("roles", ["site server"]))
        rows.append("%-28s %-15s %-11s %-8s %-9s %-22s smbd=%s %s" % (
            fqdn, addr, role, net, e.get("registry", "-"), rr, pid if alive else "-", "OK" if ok else "FAIL"))
    print("lab %s  base %s  sitedb %s (%s)" % (d, lab["base_addr"], lab["sitedb"],
                                              "up" if lab["pids"].get("tdsd") and pid_alive(lab["pids"]["tdsd"])
                                              else "down"))
    if lab["pids"].get("faults"):
        print("fault injector pid %d %s" % (lab["pids"]["faults"], "up" if pid_alive(lab["pids"]["faults"]) else "DOWN"))
    if lab["pids"].get("gate"):
        print("rpc gate pid %d %s" % (lab["pids"]["gate"], "up" if gate is not None else "DOWN"))
    if lab["pids"].get("relay"):
        print("wan relay pid %d %s" % (lab["pids"]["relay"], "up" if pid_alive(lab["pids"]["relay"]) else "DOWN"))
    for realm, pid in sorted(lab["pids"].get("dc", {}).items()):     # addc.py: a realm's AD DC
        r = lab["kerberos"]["realms"][realm]
        print("AD DC of %s: %s on %s pid %s %s" % (realm, r["dc"], r["kdc"], pid, "up" if pid and pid_alive(pid)
                                                     and port_answers(r["kdc"], 88, 0.3) else "DOWN"))
    print("\n".join(rows))
    print("%d/%d hosts as expected, %d lab processes" % (a_ok, len(rows), len(procs)))
    sys.exit(0 if a_ok == len(rows) else 1)


def cmd_stats(a):
    """The wan relay's counters per host (relay.py), as JSON on stdout."""
    d = check_dir_arg(a.dir)
    try:
        st = relay_stats(d)
    except (OSError, ValueError) as e:
        die("no wan relay answers in %s: %s" % (d, e))
    print(json.dumps(st, indent=1, sort_keys=True))


def main():
    ap = argparse.ArgumentParser(prog="dpfleet-lab", description="simulated ConfigMgr fleet of real smbd hosts")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="build and start the lab described by SCENARIO")
    p.add_argument("scenario")
    p.add_argument("--dir", required=True)
    p.add_argument("--base-addr", default="127.77.0.0")
    p.add_argument("--tdsd", help="path of dpfleet-tdsd")
    p.add_argument("--no-sitedb", action="store_true", help="do not start the site DB (development only)")
    p.add_argument("--jobs", type=int, default=max(4, 3 * (os.cpu_count() or 1)),
                   help="instances prepared in parallel")
    p.add_argument("--keep-on-failure", action="store_true", help="keep DIR (processes are still stopped)")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("down", help="stop everything of the lab in DIR and remove DIR")
    p.add_argument("--dir", required=True)
    p = sub.add_parser("status", help="what runs, per host")
    p.add_argument("--dir", required=True)
    p = sub.add_parser("stats", help="the wan relay's per-host connections and round trips (JSON)")
    p.add_argument("--dir", required=True)
    p = sub.add_parser("generate", help="print a generated scenario")
    p.add_argument("--sites", type=int, required=True)
    p.add_argument("--hosts", type=int, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--broken", type=float, default=0.25)
    p.add_argument("--kerberos-site", action="store_true",
                   help="add site KR1: a Samba AD DC's realm whose hosts refuse NTLM (addc.py)")
    p = sub.add_parser("_faults", help=argparse.SUPPRESS)
    p.add_argument("config")
    p = sub.add_parser("_gate", help=argparse.SUPPRESS)
    p.add_argument("config")
    p = sub.add_parser("_relay", help=argparse.SUPPRESS)
    p.add_argument("config")
    a = ap.parse_args()
    {"up": cmd_up, "down": cmd_down, "status": cmd_status, "generate": cmd_generate,
     "_faults": cmd_faults, "_gate": cmd_gate, "stats": cmd_stats, "_relay": cmd_relay}[a.cmd](a)

