"""smbd_harness.py — the single private smbd shared by rpc_smbd_test.py, smblog_smbd_test.py and smb2_smbd_test.py
(not a test).

Smbd(root, addr, netbios, passwd, group, dirs, shares): one standalone smbd bound to addr:445 with every path
under root (users through libnss-wrapper from the given passwd/group lines, the sanitizer variables dropped
from its environment); setup() is the test's own (smbpasswd users, registry seed); start() waits until it
listens; stop() ends smbd, samba-dcerpcd and rpcd_* by their pid files and by our unique config path, SIGKILL
after 5 s.  Also the tests' check() (tests/lib/checks.py), port_open(), the drivers' key=value line parser,
zombie(), open_cmdline() and syn_dropper() (an address that drops SYNs).  Assumes root and Samba's smbd, smbpasswd
and net in PATH.
"""
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from checks import check  # noqa: E402,F401  (tests/lib/checks.py; the smbd tests take it from here)


def port_open(addr, port=445):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def syn_dropper(addr, port=445):
    """Sockets that make addr:port drop new SYNs, as a host that never answers TCP: a listener with a backlog
    of 0 whose accept queue four pending connects have filled.  The caller closes every socket returned."""
    socks = [socket.socket()]
    try:
        socks[0].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        socks[0].bind((addr, port))
        socks[0].listen(0)
        for _ in range(4):
            f = socket.socket()
            f.setblocking(False)
            socks.append(f)
            try:
                f.connect((addr, port))
            except BlockingIOError:
                pass
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def parse(line):
    """A driver's `key=value key=value` line as a dict."""
    out = {}
    for tok in line.strip().split(" "):
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def zombie(pid):
    try:
        return open("/proc/%d/stat" % pid).read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def open_cmdline(pid):
    try:
        return open("/proc/%s/cmdline" % pid, "rb").read()
    except OSError:
        return b""


class Smbd:
    """passwd/group: the test's own lines after root/nobody; dirs: extra dirs made under root; shares: smb.conf
    share sections appended after [global]."""

    def __init__(self, root, addr, netbios, passwd, group, dirs=(), shares=""):
        self.root = root
        self.addr = addr
        self.conf = os.path.join(root, "smb.conf")
        self.env = dict(os.environ)
        for d in ("private", "state", "cache", "lock", "pid", "ncalrpc", "binddns", "winbindd", "usershares",
                  "log") + tuple(dirs):
            os.makedirs(os.path.join(root, d), mode=0o755)
        with open(os.path.join(root, "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/false\n"
                    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n" + passwd)
        with open(os.path.join(root, "group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n" + group)
        self.env.update(LD_PRELOAD="libnss_wrapper.so", NSS_WRAPPER_PASSWD=os.path.join(root, "passwd"),
                        NSS_WRAPPER_GROUP=os.path.join(root, "group"))
        for k in ("ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"):
            self.env.pop(k, None)
        paths = "\n".join("  %s = %s" % (k, os.path.join(root, v)) for k, v in (
            ("private dir", "private"), ("state directory", "state"), ("cache directory", "cache"),
            ("lock directory", "lock"), ("pid directory", "pid"), ("ncalrpc dir", "ncalrpc"),
            ("binddns dir", "binddns"), ("winbindd socket directory", "winbindd"),
            ("usershare path", "usershares")))
        with open(self.conf, "w") as f:
            f.write("""[global]
  server role = standalone server
  workgroup = LAB
  netbios name = %s
  interfaces = %s/8
  bind interfaces only = yes
  disable netbios = yes
  smb ports = 445
%s
  passdb backend = tdbsam:%s
  log file = %s
  log level = 1
  server min protocol = SMB2_02
  load printers = no
  printcap name = /dev/null
  disable spoolss = yes
%s""" % (netbios, addr, paths, os.path.join(root, "private", "passdb.tdb"), os.path.join(root, "log", "log.%m"),
                shares))

    def run(self, *args, stdin=None):
        r = subprocess.run(list(args), env=self.env, input=stdin, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s %s" % (args, r.returncode, r.stdout, r.stderr))
        return r.stdout

    def net(self, *args, stdin=None):
        return self.run("net", "--configfile=" + self.conf, *args, stdin=stdin)

    def add_user(self, user, pw):
        self.run("smbpasswd", "-c", self.conf, "-s", "-a", user, stdin="%s\n%s\n" % (pw, pw))

    def start(self):
        self.run("smbd", "--configfile=" + self.conf, "-D")
        for _ in range(100):
            if port_open(self.addr):
                return
            time.sleep(0.1)
        raise RuntimeError("smbd did not start listening on %s:445" % self.addr)

    def pids(self, name):
        """Our own processes (by our unique config path) whose command line contains name."""
        out = []
        for p in os.listdir("/proc"):
            if p.isdigit():
                cmd = open_cmdline(p)
                if self.conf.encode() in cmd and name.encode() in cmd:
                    out.append(int(p))
        return out

    def stop(self):
        piddir = os.path.join(self.root, "pid")
        pids = set()
        for name in os.listdir(piddir) if os.path.isdir(piddir) else []:
            if name.endswith(".pid"):
                try:
                    pids.add(int(open(os.path.join(piddir, name)).read().split()[0]))
                except (ValueError, IndexError, OSError):
                    pass
        # rpcd_* helpers and smbd's per-connection children have no pid file: find ours by our config path.
        pids.update(self.pids(""))
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        alive = []
        for _ in range(50):
            alive = [p for p in pids if os.path.exists("/proc/%d" % p) and not zombie(p)]
            if not alive:
                return
            time.sleep(0.1)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
