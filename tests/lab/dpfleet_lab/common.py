"""Constants, errors and the process, port and file helpers every part of dpfleet-lab uses.

LAB_DIR is tests/lab; ENTRY is the dpfleet-lab script there, which the lab re-executes for its own helper
processes (`_faults`, `_gate`).
"""
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time


LAB_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # tests/lab
ENTRY = os.path.join(LAB_DIR, "dpfleet-lab")   # the script; re-executed for _faults, _gate and _relay
SCAN_USER = "svc_dpfleet"


SCAN_UID = 50001


ADMIN_GROUP = "dpfleet_admins"


ADMIN_GID = 50002


WORKGROUP = "LAB"


SITEDB_USER = "dpfleet_reader"


SITEDB_PORT = 1433


SMB_PORT = 445


FIRST_HOST_OFFSET = 10          # hosts and site servers: BASE+10 upward


REAL_ADDR_OFFSET = 0x8000       # real smbd behind a `slow` proxy or the `wan` relay: BASE+0x8000+10+i


MAX_DIR_LEN = 64                # unix socket paths under DIR must stay < 108 bytes


DEFAULT_LOG_DATE = "2026-11-20"


BIASES = (300, -60, 0)          # minutes, UTC = local + bias (Windows convention), rotated per host


SAMBA_LOG_DIR = "/var/log/samba"


SAMBA_PROGS = ("smbd", "samba", "rpcd_", "winbindd")     # samba: the AD DC, samba-dcerpcd, samba-tool


KEY_SMS = r"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\SMS"


DENY_SDDL = "O:SYG:SYD:P(A;;0x000f003f;;;SY)"


SITE_TYPES = {"cas": 4, "primary": 2, "secondary": 1}


REGISTRY_STATES = ("ok", "missing", "empty", "mismatch", "no_key", "denied")


LOG_KINDS = ("clean", "cert_errors", "expired_cert", "none")


SHARES = ("SMS_DP$", "ADMIN$")


COHOSTS = ("mp", "site_server")     # a DP sharing its server with an MP or the site server (logs.py)


HISTORY_MAX = 20                    # history_logs: at most this many SMSPXE-<date>-<time>.log copies


NETWORKS = ("ok", "down", "blackhole", "slow", "wan")


MAX_RTT_MS = 10000              # network wan: rtt_ms and jitter_ms 0..MAX_RTT_MS (relay.py)


RR_STATES = ("running", "trigger_start", "disabled")   # remote_registry: Remote Registry service states


DEFAULT_RR_IDLE_S = 600         # Windows stops an idle trigger-started Remote Registry after ~10 minutes


SMB_TIMEOUT_S = 10              # scanner.conf [smb] timeout the lab writes (seconds)


LIBEXEC = "/usr/libexec/samba"  # samba-dcerpcd and its rpcd_* helpers (samba-dcerpcd(8))


# The RPC helpers every host with smbd runs: the winreg pipe's server, and the LSA pipe's, which Samba's
# own client asks first (`net rpc registry` fails "Could not initialise lsa pipe" without it; on Windows LSA
# lives in lsass and is always there).  No endpoint mapper: ncacn_np reaches a pipe by name, not through
# epmapper (samba-dcerpcd serves exactly the helpers named on its command line, source3/rpc_server/rpc_host.c).
RPCD_LSA = LIBEXEC + "/rpcd_lsad"


RPCD_WINREG = LIBEXEC + "/rpcd_winreg"


# rpc_host.c stops a helper that has had no client for its idle_seconds (rpcd_winreg: 60, rpcd_lsad: 60,
# the last arguments of rpc_worker_main() in source3/rpc_server/rpcd_*.c); rpc_worker.c reads the
# parametric options <helper>:idle_seconds and <helper>:num_workers.  One worker each, never idle-stopped.
RPCD_PARAMS = ("rpcd_winreg:idle_seconds = 31536000", "rpcd_lsad:idle_seconds = 31536000",
               "rpcd_winreg:num_workers = 1", "rpcd_lsad:num_workers = 1")


CERT_ERROR_MARK = "80092002"


EXPIRED_MARK = "800B0101"


class LabError(Exception):
    pass


def die(msg):
    print("dpfleet-lab: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------------------------------------------
# Processes: helpers shared by up, down and status.

def pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    state = st[st.rfind(")") + 2:].split()[0]
    return state not in ("Z", "X")


def cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def runs_in(pid, mark):
    """True if the process's working directory is under the lab directory (mark: DIR/ as bytes): the AD DC's
    samba rewrites its command line ("samba: root process") and runs in DIR/h/dcK (addc.py start_dc)."""
    try:
        return (os.readlink("/proc/%d/cwd" % pid).encode() + b"/").startswith(mark)
    except OSError:
        return False


def lab_processes(d):
    """Every live process that belongs to the lab in directory d (by its command line)."""
    mark = (d.rstrip("/") + "/").encode()
    me = os.getpid()
    found = set()
    for ent in os.listdir("/proc"):
        if not ent.isdigit():
            continue
        pid = int(ent)
        if pid == me:
            continue
        argv = cmdline(pid)
        if not argv or not (any(mark in a for a in argv) or runs_in(pid, mark)):
            continue
        # argv[2]: a script run through its #! line (the trigger stand-in: python3 -I .../samba-dcerpcd ...)
        prog = os.path.basename(argv[0].decode(errors="replace"))
        joined = b" ".join(argv)
        if any(os.path.basename(x.decode(errors="replace")).startswith(SAMBA_PROGS) for x in argv[:3]) or prog == "dpfleet-tdsd" or \
                b"dpfleet-lab" in joined and (b"_faults" in joined or b"_gate" in joined or b"_relay" in joined):
            if pid_alive(pid):
                found.add(pid)
    return found


def read_pid(path, d):
    """The live pid in pid file path if that process's command line names directory d, else None."""
    try:
        with open(path) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    mark = (d.rstrip("/") + "/").encode()
    return pid if pid > 1 and any(mark in a for a in cmdline(pid)) and pid_alive(pid) else None


def recorded_pids(d):
    pids = set()
    files = []
    for root in (os.path.join(d, "h"), os.path.join(d, "run")):
        if not os.path.isdir(root):
            continue
        for dirpath, _dirs, names in os.walk(root):
            files += [os.path.join(dirpath, n) for n in names if n.endswith(".pid")]
    mark = (d.rstrip("/") + "/").encode()
    for f in files:
        try:
            with open(f) as fp:
                pid = int(fp.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue
        # Guard against pid reuse: only a process whose command line names DIR is ours.
        if pid > 1 and (any(mark in a for a in cmdline(pid)) or runs_in(pid, mark)) and pid_alive(pid):
            pids.add(pid)
    return pids


def stop_lab_processes(d, grace=5.0):
    """SIGTERM then SIGKILL everything of the lab.  Returns the pids that were still alive at the end."""
    d = os.path.abspath(d)
    pids = recorded_pids(d) | lab_processes(d)
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        pids = {p for p in pids if pid_alive(p)} | lab_processes(d)
        if not pids:
            return set()
        time.sleep(0.05)
    for _ in range(3):
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            pids = {p for p in pids if pid_alive(p)} | lab_processes(d)
            if not pids:
                return set()
            time.sleep(0.05)
    return pids


def port_free(addr, port):
    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def listening_on(port):
    """IPv4 and IPv6 addresses (as inet_ntop spells them) with a TCP socket in LISTEN state on port (this
    network namespace)."""
    out = set()
    for path, fam in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    ip_hex, port_hex = parts[1].split(":")
                    if parts[3] != "0A" or int(port_hex, 16) != port:
                        continue
                    # /proc shows the address as 32-bit words in host (little-endian) order
                    raw = b"".join(struct.pack("<I", int(ip_hex[k:k + 8], 16)) for k in range(0, len(ip_hex), 8))
                    out.add(socket.inet_ntop(fam, raw))
        except (OSError, ValueError, IndexError, StopIteration):
            pass
    return out


def port_answers(addr, port, timeout=0.5):
    try:
        with socket.create_connection((addr, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w", **({} if isinstance(data, bytes) else {"newline": ""})) as f:
        f.write(data)
    os.chmod(path, mode)


def spawn_helper(d, name, config):
    """Start the lab's own helper process `dpfleet-lab _NAME DIR/run/NAME.json` in its own session: config is
    written to that file, its output goes to DIR/run/NAME.out, its pid to DIR/run/NAME.pid and is returned
    with the output path as (Popen, out_path) for the caller's readiness wait."""
    cfg = os.path.join(d, "run", name + ".json")
    write_file(cfg, json.dumps(config, indent=1))
    outf = os.path.join(d, "run", name + ".out")
    out = open(outf, "wb")
    try:
        p = subprocess.Popen([sys.executable, ENTRY, "_" + name, cfg], stdin=subprocess.DEVNULL, stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()
    write_file(os.path.join(d, "run", name + ".pid"), "%d\n" % p.pid)
    return p, outf


def source_root():
    return os.environ.get("DPFLEET_SOURCE_ROOT") or os.path.dirname(os.path.dirname(LAB_DIR))


def find_tdsd(opt):
    if opt:
        return opt
    if os.environ.get("DPFLEET_TDSD"):
        return os.environ["DPFLEET_TDSD"]
    br = os.environ.get("DPFLEET_BUILD_ROOT")
    if br:
        p = os.path.join(br, "tests", "tdsd", "dpfleet-tdsd")
        if os.access(p, os.X_OK):
            return p
    src = source_root()
    cands = []
    for name in sorted(os.listdir(src)):
        p = os.path.join(src, name, "tests", "tdsd", "dpfleet-tdsd")
        if name.startswith("build") and os.access(p, os.X_OK):
            cands.append((os.path.getmtime(p), p))
    return max(cands)[1] if cands else None


def find_server():
    if os.environ.get("DPFLEET_SERVER"):
        return os.environ["DPFLEET_SERVER"]
    br = os.environ.get("DPFLEET_BUILD_ROOT")
    if br:
        p = os.path.join(br, "server", "dpfleet-server")
        if os.access(p, os.X_OK):
            return p
    return None


def has_smbd(i):
    return i["network"] in ("ok", "slow", "wan")


def nal(fqdn, code):
    return '["Display=\\\\%s\\"]MSWNET:["SMS_SITE=%s"]\\\\%s\\' % (fqdn, code, fqdn)


def tail(path, n=600):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode(errors="replace").strip().replace("\n", " | ")
    except OSError:
        return "(no %s)" % path
