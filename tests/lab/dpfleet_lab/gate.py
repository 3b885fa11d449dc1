"""The rpc gate (`_gate`): Remote Registry states (running, trigger_start, disabled) and late binds; the
block comment below describes the protocol and the state machine.  Gate.start_gate() starts it by
re-executing dpfleet-lab (common.ENTRY); gate_request() talks to its control socket.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import time

from .common import (LIBEXEC, RPCD_WINREG, SAMBA_LOG_DIR, cmdline, has_smbd, lab_processes, pid_alive,
                     spawn_helper, write_file)


# ---------------------------------------------------------------------------------------------------
# _gate: the rpc gate, one asyncio process per lab with gated hosts (trigger_start, or rpc_delay_ms > 0).
#
# smbd opens \pipe\winreg by connecting to <ncalrpc dir>/np/winreg (source3/rpc_client/local_np.c).  On a
# gated host that socket is the gate's: it relays every connection, byte for byte in both directions, to the
# Remote Registry samba-dcerpcd of the host (winreg.conf: its own ncalrpc dir DIR/h/N/rr/ncalrpc).  The
# stream starts with the named-pipe auth exchange (librpc/idl/named_pipe_auth.idl: a big-endian u32 length,
# then the NDR blob, each way), then messages of a 2-byte little-endian length and the data
# (FILE_TYPE_MESSAGE_MODE_PIPE, libcli/named_pipe_auth/npa_tstream.c), the data being DCE/RPC PDUs
# (C706 ch. 12: ptype at offset 2, frag_length at offset 8).  rpc_delay_ms holds back each server message
# that starts a bind_ack (12) or bind_nak (13) PDU, the answers to a bind (11), and everything behind it
# (order kept; nothing more is read from the server meanwhile).
#
# trigger_start, per host:   stopped --trigger--> starting --rpcd answers, hold--> running --idle--> stopped
#   stopped:  np/winreg does not exist; smbd (rpc start on demand helpers = yes) runs the stand-in
#             DIR/run/rr-trigger in samba-dcerpcd's place, which signals smbd "ready" (so smbd retries the
#             connect at once and fails with ENOENT = STATUS_OBJECT_NAME_NOT_FOUND, libcli/util/errmap_unix.c)
#             and sends "trigger" here                                               (gate_start)
#   starting: the host's winreg samba-dcerpcd is started; np/winreg is bound once it accepts connections and
#             TRIGGER_HOLD_S after the trigger, so smbd's retry always precedes it     (gate_start)
#   running:  relays; no open relay and nothing relayed for remote_registry_idle_s -> samba-dcerpcd (and its
#             rpcd_winreg) stopped, np/winreg removed                                  (gate_stop)
# Control socket DIR/run/gate.sock, one line per connection: "trigger CONFIG", "arm" (up: start delaying
# binds), "status" (JSON per host).

TRIGGER_HOLD_S = 0.5


GATE_START_S = 60


def npa_message_mode(rep):
    """From a named_pipe_auth_rep blob (with its 4-byte length): True for message mode (file_type 2)."""
    # length(4, big-endian) magic "NPAM"(4) level(4) | union info7 aligned to 8: file_type(2) ...
    if len(rep) >= 18 and rep[4:8] == b"NPAM" and struct.unpack_from("<I", rep, 8)[0] == 7:
        return struct.unpack_from("<H", rep, 16)[0] == 2
    return True


class PduTypes:
    """Finds the DCE/RPC PDUs that start in a stream of data chunks; returns their ptypes per chunk."""

    def __init__(self):
        self.skip = 0           # bytes left of the current PDU
        self.head = b""         # a PDU header cut by a chunk boundary

    def feed(self, data):
        types = []
        pos = 0
        while pos < len(data):
            if self.skip:
                n = min(self.skip, len(data) - pos)
                self.skip -= n
                pos += n
                continue
            need = 10 - len(self.head)
            self.head += data[pos:pos + need]
            pos += min(need, len(data) - pos)
            if len(self.head) < 10:
                break
            h, self.head = self.head, b""
            little = h[4] & 0x10
            frag = struct.unpack_from("<H" if little else ">H", h, 8)[0]
            types.append(h[2])
            self.skip = max(0, frag - 10)
        return types


class GateHost:
    def __init__(self, cfg):
        self.__dict__.update(cfg)
        self.state = "stopped"
        self.server = None
        self.active = 0
        self.conns = 0
        self.starts = 0
        self.stops = 0
        self.triggers = 0
        self.delayed = 0
        self.last = time.monotonic()

    def touch(self):
        self.last = time.monotonic()


def rr_pid(h):
    try:
        with open(h.pidfile) as f:
            pid = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if pid > 1 and h.conf.encode() in b" ".join(cmdline(pid)) and pid_alive(pid) else None


def cmd_gate(a):
    with open(a.config) as f:
        cfg = json.load(f)
    hosts = [GateHost(h) for h in cfg["hosts"]]
    by_conf = {h.smb_conf: h for h in hosts}
    armed = {"delay": False}

    async def unix_answers(path):
        try:
            r, w = await asyncio.open_unix_connection(path)
        except OSError:
            return False
        w.close()
        return True

    async def relay(h, reader, writer):
        h.active += 1
        h.conns += 1
        h.touch()
        try:
            try:
                r2, w2 = await asyncio.open_unix_connection(h.rr_sock)
            except OSError:
                return

            async def up():
                try:
                    while True:
                        data = await reader.read(65536)
                        h.touch()
                        if not data:
                            break
                        w2.write(data)
                        await w2.drain()
                    if w2.can_write_eof():
                        w2.write_eof()
                except (ConnectionError, OSError):
                    w2.close()

            async def down():
                buf = b""
                phase = "npa"           # npa: the auth reply; msg: message mode; raw: byte mode
                pdus = PduTypes()
                try:
                    while True:
                        data = await r2.read(65536)
                        h.touch()
                        if not data:
                            break
                        buf += data
                        while buf:
                            if phase == "npa":
                                if len(buf) < 4 or len(buf) < 4 + struct.unpack_from(">I", buf)[0]:
                                    break
                                n = 4 + struct.unpack_from(">I", buf)[0]
                                unit, buf = buf[:n], buf[n:]
                                phase = "msg" if npa_message_mode(unit) else "raw"
                                types = []
                            elif phase == "msg":
                                if len(buf) < 2 or len(buf) < 2 + struct.unpack_from("<H", buf)[0]:
                                    break
                                n = 2 + struct.unpack_from("<H", buf)[0]
                                unit, buf = buf[:n], buf[n:]
                                types = pdus.feed(unit[2:])
                            else:
                                unit, buf = buf, b""
                                types = pdus.feed(unit)
                            if h.delay_ms and armed["delay"] and (12 in types or 13 in types):
                                h.delayed += 1
                                await asyncio.sleep(h.delay_ms / 1000.0)
                            writer.write(unit)
                            await writer.drain()
                            h.touch()
                    if writer.can_write_eof():
                        writer.write_eof()
                except (ConnectionError, OSError):
                    pass

            await asyncio.gather(up(), down(), return_exceptions=True)
            w2.close()
        finally:
            writer.close()
            h.active -= 1
            h.touch()

    async def listen(h):
        h.server = await asyncio.start_unix_server(lambda r, w: relay(h, r, w), path=h.smb_sock)
        os.chmod(h.smb_sock, 0o666)

    async def start_rpcd(h):
        mount = 'mount --bind "$1" %s; ' % SAMBA_LOG_DIR if os.path.isdir(SAMBA_LOG_DIR) else ""
        p = await asyncio.create_subprocess_exec(
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            'set -e; %sexec %s/samba-dcerpcd --configfile="$2" -D %s' % (mount, LIBEXEC, RPCD_WINREG),
            "sh", h.logdir, h.conf, stdin=asyncio.subprocess.DEVNULL)
        return await p.wait()

    async def gate_start(h):
        h.state = "starting"
        t0 = time.monotonic()
        h.starts += 1
        try:
            rc = await start_rpcd(h)
            deadline = time.monotonic() + GATE_START_S
            while rc == 0 and not await unix_answers(h.rr_sock):
                if time.monotonic() > deadline:
                    rc = -1
                    break
                await asyncio.sleep(0.05)
            if rc != 0:
                print("gate: %s: samba-dcerpcd for winreg did not start (%s)" % (h.fqdn, rc), flush=True)
                await gate_stop(h)
                return
            await asyncio.sleep(max(0.0, t0 + TRIGGER_HOLD_S - time.monotonic()))
            await listen(h)
            h.state = "running"
            h.touch()
        except OSError as e:
            print("gate: %s: start failed: %s" % (h.fqdn, e), flush=True)
            await gate_stop(h)

    async def gate_stop(h):
        h.state = "stopping"
        if h.server:
            h.server.close()
            h.server = None
        for path in (h.smb_sock,):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        pids = set(p for p in [rr_pid(h)] if p) | {p for p in lab_processes(cfg["dir"])
                                                     if h.conf.encode() in b" ".join(cmdline(p))}
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while pids and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
                pids = {p for p in pids if pid_alive(p)}
            if not pids:
                break
        h.stops += 1
        h.state = "stopped"

    async def control(reader, writer):
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace").strip()
            word, _, arg = line.partition(" ")
            if word == "trigger":
                h = by_conf.get(arg)
                if h and h.mode == "trigger_start":
                    h.triggers += 1
                    if h.state == "stopped":
                        asyncio.ensure_future(gate_start(h))
                writer.write(b"ok\n")
            elif word == "arm":
                armed["delay"] = True
                writer.write(b"ok\n")
            elif word == "status":
                writer.write((json.dumps({h.fqdn: {
                    "mode": h.mode, "state": h.state, "active": h.active, "connections": h.conns,
                    "starts": h.starts, "stops": h.stops, "triggers": h.triggers, "delayed_binds": h.delayed,
                    "idle_s": round(time.monotonic() - h.last, 3), "rpcd_pid": rr_pid(h),
                    "delay_armed": armed["delay"]} for h in hosts}) + "\n").encode())
            else:
                writer.write(b"unknown\n")
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def idle_watch():
        trig = [h for h in hosts if h.mode == "trigger_start"]
        if not trig:
            return
        tick = max(0.05, min(1.0, min(h.idle_s for h in trig) / 10.0))
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for h in trig:
                if h.state == "running" and h.active == 0 and now - h.last >= h.idle_s:
                    await gate_stop(h)

    async def main():
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        ctl = await asyncio.start_unix_server(control, path=cfg["control"])
        os.chmod(cfg["control"], 0o600)
        deadline = time.monotonic() + GATE_START_S
        for h in hosts:
            if h.mode == "running":     # its samba-dcerpcd was started by up beside smbd
                while not await unix_answers(h.rr_sock):
                    if time.monotonic() > deadline:
                        print("gate: %s: winreg samba-dcerpcd does not answer on %s" % (h.fqdn, h.rr_sock),
                              flush=True)
                        return 1
                    await asyncio.sleep(0.05)
                await listen(h)
                h.state = "running"
        watcher = asyncio.ensure_future(idle_watch())
        print("ready", flush=True)
        await stop.wait()
        watcher.cancel()
        ctl.close()
        for h in hosts:
            if h.server:
                h.server.close()
        return 0

    sys.exit(asyncio.run(main()))


def gate_request(d, line, timeout=10):
    """One request to the lab's rpc gate (see _gate); returns the reply line, or raises OSError."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(d, "run", "gate.sock"))
        s.sendall((line + "\n").encode())
        out = b""
        while not out.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode().strip()


TRIGGER_STANDIN = r'''#!%(python)s -I
# Written by dpfleet-lab.  Stand-in for samba-dcerpcd on a trigger_start host: bind-mounted on
# %(libexec)s/samba-dcerpcd in that host's smbd mount namespace only.  smbd runs it when \pipe\winreg's
# socket is missing (source3/rpc_client/local_np.c, start_rpc_host_send: --ready-signal-fd=N ... --np-helper).
# It signals "ready" at once, so smbd retries the connect, still finds no socket and fails the CREATE with
# ENOENT (STATUS_OBJECT_NAME_NOT_FOUND), then asks the lab's rpc gate to start the service.
import os, socket, sys
conf, fd = "", -1
for a in sys.argv[1:]:
    if a.startswith("--configfile="):
        conf = a.split("=", 1)[1]
    elif a.startswith("--ready-signal-fd="):
        fd = int(a.split("=", 1)[1])
if fd >= 0:
    try:
        os.write(fd, b"\0")
        os.close(fd)
    except OSError:
        pass
try:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(%(gate)r)
        s.sendall(("trigger %%s\n" %% conf).encode())
        s.recv(64)
except OSError:
    pass
'''


class Gate:
    """Lab's methods for gate (a mixin of lab.Lab: self is the Lab)."""

    # -- rpc gate and RPC readiness ------------------------------------------------------------------------
    def write_trigger_standin(self):
        if not any(has_smbd(i) and i["rr"] == "trigger_start" for i in self.inst):
            return
        write_file(os.path.join(self.d, "run", "rr-trigger"), TRIGGER_STANDIN % {
            "python": sys.executable, "libexec": LIBEXEC, "gate": os.path.join(self.d, "run", "gate.sock")}, 0o755)

    def start_gate(self):
        hosts = []
        for i in self.inst:
            if not (has_smbd(i) and i["gated"]):
                continue
            root = i["root"]
            hosts.append({"fqdn": i["fqdn"], "mode": i["rr"], "delay_ms": i["rpc_delay_ms"], "idle_s": i["rr_idle_s"],
                          "smb_conf": i["conf"], "conf": os.path.join(root, "winreg.conf"),
                          "smb_sock": os.path.join(root, "ncalrpc", "np", "winreg"),
                          "rr_sock": os.path.join(root, "rr", "ncalrpc", "np", "winreg"),
                          "pidfile": os.path.join(root, "rr", "pid", "samba-dcerpcd.pid"),
                          "logdir": os.path.join(root, "log")})
        if not hosts:
            return None
        p, outf = spawn_helper(self.d, "gate", {"dir": self.d, "control": os.path.join(self.d, "run", "gate.sock"),
                                                "hosts": hosts})
        self.pids["gate"] = p.pid
        return p, outf
