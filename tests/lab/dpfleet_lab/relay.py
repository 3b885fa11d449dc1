"""The WAN relay (`_relay`): one event-driven asyncio process per lab that has hosts with `network: "wan"`.
It listens on each such host's address:445 and relays every connection to the host's real smbd (bound on
BASE+0x8000+10+i), delaying each direction by rtt_ms/2 plus up to jitter_ms, and counts per host the TCP
connections and the request/response round trips.  Relay.start_relay() starts it by re-executing dpfleet-lab
(common.ENTRY); relay_request() talks to its control socket.  tests/lab/README.md, "WAN relay", is the contract.

Model of one connection (times from the relay's own clock, loop.time()):
  accept      the kernel completed the handshake on loopback at once; a real one costs one RTT, so nothing the
              client sends is delivered to smbd before accept + rtt + rtt/2 (its first request then reaches the
              server when it would over the WAN: SYN, SYN-ACK, then the request's half trip);
  each chunk  read from one side, due on the other side at max(read + rtt/2 + U(0, jitter), the direction's
              previous due time): order kept, jitter never reorders;
  back-pressure  at most PIPE_CAP bytes queued per direction: past it the source is no longer read
              (pause_reading) until the queue drains below half; a destination whose socket buffer is full
              (pause_writing) gets nothing more until it resumes, so the queue fills and the source pauses;
  EOF         delivered in order like data (write_eof on the other side: half-close kept); a reset (an error
              on one side) aborts the other side rtt/2 later with a TCP RST (SO_LINGER 0);
  loss        each connection, when its first request arrives, is reset with probability `loss` (per host
              random.Random seeded by "loss/FQDN", one draw per connection that sends a request): nothing is
              forwarded, the smbd side is aborted at once and the client gets a RST one RTT later.

Counting, per host: `connections` (accepted), `round_trips` — a chunk from the client that arrives when the
connection has sent nothing before, or after the relay has delivered server data to the client since the
client's previous counted chunk (a change of direction client->server after server->client, the first request
counted; a pipelined request sent before the answer reached the client is in the same round trip; the request
of a reset connection counts, it waited one RTT for the RST), `resets` (loss), bytes each way, and latencies:
`first_reply_ms` (min/max over connections of accept -> the first server byte delivered to the client, which
includes the emulated handshake: >= 2 x rtt) and `rt_ms` (min/max over round trips of the counted request's
arrival -> the first server byte delivered after it: >= rtt).

Control socket DIR/run/relay.sock, one line per connection: "stats" -> JSON {fqdn: counters}; "conns" -> JSON
{fqdn: [the state of each connection not finished]} (for debugging).  SIGUSR1 writes
the same JSON to DIR/run/relay-stats.json (atomically).  `dpfleet-lab stats --dir DIR` prints it.
"""
import asyncio
import json
import os
import random
import resource
import signal
import socket
import struct

from .common import SMB_PORT, spawn_helper


PIPE_CAP = 1 << 20              # bytes queued per direction before the source is paused


COUNTERS = ("connections", "active", "round_trips", "resets", "bytes_up", "bytes_down")


class HostStats:
    def __init__(self, cfg):
        self.fqdn = cfg["fqdn"]
        self.rtt = cfg["rtt_ms"] / 1000.0
        self.jitter = cfg.get("jitter_ms", 0) / 1000.0
        self.loss = float(cfg.get("loss", 0.0))
        self.listen = cfg["listen"]
        self.target = (cfg["target"], cfg["target_port"])
        self.jrng = random.Random("jitter/" + self.fqdn)
        self.lrng = random.Random("loss/" + self.fqdn)
        self.c = dict.fromkeys(COUNTERS, 0)
        self.open = set()                   # Conn not yet finished (the "conns" control line)
        self.first_reply = [None, None]     # min, max seconds
        self.rt = [None, None]

    def half(self):
        """One direction's delay for one chunk, seconds."""
        return self.rtt / 2 + (self.jrng.uniform(0, self.jitter) if self.jitter else 0.0)

    @staticmethod
    def note(pair, v):
        pair[0] = v if pair[0] is None else min(pair[0], v)
        pair[1] = v if pair[1] is None else max(pair[1], v)

    def as_json(self):
        out = dict(self.c)
        out.update(rtt_ms=round(self.rtt * 1000), jitter_ms=round(self.jitter * 1000), loss=self.loss,
                   first_reply_ms=[None if v is None else round(v * 1000, 3) for v in self.first_reply],
                   rt_ms=[None if v is None else round(v * 1000, 3) for v in self.rt])
        return out


def loss_draws(fqdn, n):
    """The first n loss draws of host fqdn: connection k (counting those that send a request) is reset when
    draw k < loss.  Tests use it to pick a host name whose first connection is reset and whose next ones are
    not."""
    r = random.Random("loss/" + fqdn)
    return [r.random() for _ in range(n)]


def rst(transport):
    """Abort transport with a TCP RST (SO_LINGER on, 0 s) instead of a FIN."""
    if transport is None or transport.is_closing():
        if transport is not None:
            transport.abort()
        return
    sock = transport.get_extra_info("socket")
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except (OSError, AttributeError):
        pass
    transport.abort()


class Pipe:
    """One direction of one connection: chunks queued with their due time, delivered in order."""

    def __init__(self, conn, up):
        self.conn, self.up = conn, up
        self.q = []                 # [(due, bytes or None for EOF)], oldest first (a list popped from the front)
        self.head = 0
        self.queued = 0
        self.last_due = 0.0
        self.dst_paused = False
        self.src_paused = False
        self.timer = None
        self.done = False           # EOF delivered

    def src(self):
        return self.conn.client if self.up else self.conn.server

    def dst(self):
        return self.conn.server if self.up else self.conn.client

    def feed(self, data, floor=0.0):
        loop = self.conn.loop
        due = max(loop.time() + self.conn.host.half(), self.last_due, floor)
        self.last_due = due
        self.q.append((due, data))
        if data:
            self.queued += len(data)
            if self.queued >= PIPE_CAP and not self.src_paused and self.src() is not None:
                self.src_paused = True
                self.src().pause_reading()
        self.pump()

    def pump(self):
        loop = self.conn.loop
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        dst = self.dst()
        while self.head < len(self.q) and not self.dst_paused and dst is not None and not self.conn.dead:
            due, data = self.q[self.head]
            now = loop.time()
            if due > now:
                self.timer = loop.call_at(due, self.pump)
                return
            self.head += 1
            if data is None:
                self.done = True
                try:
                    dst.write_eof()
                except OSError:         # the peer is gone already (ENOTCONN): nothing left to half-close
                    pass
                self.conn.maybe_close()
            else:
                self.queued -= len(data)
                dst.write(data)
                self.conn.delivered(self.up, len(data), now)
            if self.src_paused and self.queued < PIPE_CAP // 2 and self.src() is not None:
                self.src_paused = False
                self.src().resume_reading()
        if self.head > 64 and self.head * 2 > len(self.q):
            del self.q[:self.head]
            self.head = 0


class Side(asyncio.Protocol):
    """The client's or the server's socket of one relayed connection."""

    def __init__(self, conn, up):
        self.conn, self.up = conn, up      # up: this side's data goes client -> server (the client side)

    def connection_made(self, transport):
        self.conn.attach(self.up, transport)

    def data_received(self, data):
        self.conn.received(self.up, data)

    def eof_received(self):
        self.conn.eof(self.up)
        return True                          # keep our write side open: half-close is relayed

    def pause_writing(self):
        self.conn.pipe(not self.up).dst_paused = True

    def resume_writing(self):
        p = self.conn.pipe(not self.up)
        p.dst_paused = False
        p.pump()

    def connection_lost(self, exc):
        self.conn.lost(self.up, exc)


class Conn:
    def __init__(self, host, loop):
        self.host, self.loop = host, loop
        self.client = self.server = None
        self.accepted = loop.time()
        self.up, self.down = Pipe(self, True), Pipe(self, False)
        self.requests = 0           # counted round trips on this connection
        self.answered = True        # server data delivered since the last counted request (true at start)
        self.asked_at = None        # arrival of the last counted request, until its first answer byte
        self.replied = False
        self.dead = False
        self.finished = False
        self.closed = set()
        host.c["connections"] += 1
        host.c["active"] += 1
        host.open.add(self)

    def pipe(self, up):
        return self.up if up else self.down

    def attach(self, up, transport):
        if up:
            self.client = transport
            asyncio.ensure_future(self.connect())
        else:
            self.server = transport
            if self.dead or True in self.closed:   # the client went (or was reset) while smbd's side connected
                rst(transport)
                return
            self.up.pump()

    async def connect(self):
        try:
            await self.loop.create_connection(lambda: Side(self, False), *self.host.target)
        except OSError:
            self.reset(self.host.rtt / 2)

    def received(self, up, data):
        if self.dead:
            return
        h = self.host
        if up:
            h.c["bytes_up"] += len(data)
            if self.answered:
                self.answered = False
                self.requests += 1
                h.c["round_trips"] += 1
                self.asked_at = self.loop.time()
                if self.requests == 1 and h.loss and h.lrng.random() < h.loss:
                    h.c["resets"] += 1
                    self.reset(h.rtt)
                    return
            # The emulated handshake: the first request leaves the client one RTT after the connect.
            self.up.feed(data, floor=self.accepted + h.rtt + h.rtt / 2)
        else:
            h.c["bytes_down"] += len(data)
            self.down.feed(data)

    def delivered(self, up, n, now):
        if up:
            return
        self.answered = True
        if not self.replied:
            self.replied = True
            self.host.note(self.host.first_reply, now - self.accepted)
        if self.asked_at is not None:
            self.host.note(self.host.rt, now - self.asked_at)
            self.asked_at = None

    def eof(self, up):
        if not self.dead:
            self.pipe(up).feed(None)

    def maybe_close(self):
        """Both EOFs delivered: close the client's socket normally, smbd's with a RST, so no TIME_WAIT is left
        on the real address (smbd may have closed first) to refuse the next `up`'s check of it."""
        if self.up.done and self.down.done:
            if self.client is not None:
                self.client.close()
            rst(self.server)

    def lost(self, up, exc):
        self.closed.add(up)
        if len(self.closed) == 2 or (up and self.server is None):
            self.finish()
        if self.dead:
            return
        if exc is not None:
            self.reset(self.host.rtt / 2)            # a reset travels like data
        elif not self.pipe(up).done and self.pipe(up).head == len(self.pipe(up).q):
            self.pipe(up).feed(None)                 # closed without an EOF we saw: relay it as one

    def reset(self, delay):
        """RST to the smbd side now, to the client after delay seconds; nothing more is relayed."""
        self.dead = True
        for p in (self.up, self.down):
            if p.timer is not None:
                p.timer.cancel()
                p.timer = None
        rst(self.server)
        self.loop.call_later(delay, rst, self.client)
        if self.server is None:
            self.finish()

    def finish(self):
        if not self.finished:
            self.finished = True
            self.host.c["active"] -= 1
            self.host.open.discard(self)

    def describe(self):
        return {"age_s": round(self.loop.time() - self.accepted, 3), "round_trips": self.requests, "dead": self.dead,
                "closed": sorted("client" if u else "server" for u in self.closed),
                "eof_delivered": {"up": self.up.done, "down": self.down.done},
                "queued": {"up": len(self.up.q) - self.up.head, "down": len(self.down.q) - self.down.head}}


def stats_json(hosts):
    return json.dumps({h.fqdn: h.as_json() for h in hosts}, indent=1, sort_keys=True)


def cmd_relay(a):
    with open(a.config) as f:
        cfg = json.load(f)
    hosts = [HostStats(h) for h in cfg["hosts"]]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def write_stats():
        tmp = cfg["stats_file"] + ".tmp"
        with open(tmp, "w") as f:
            f.write(stats_json(hosts) + "\n")
        os.replace(tmp, cfg["stats_file"])

    async def control(reader, writer):
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode(errors="replace").strip()
            if line == "stats":
                writer.write(stats_json(hosts).encode() + b"\n")
            elif line == "conns":
                writer.write(json.dumps({h.fqdn: [c.describe() for c in h.open] for h in hosts if h.open},
                                        indent=1).encode() + b"\n")
            else:
                writer.write(b'{"error": "unknown command"}\n')
            await writer.drain()
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()

    async def main():
        loop = asyncio.get_running_loop()
        servers = []
        for h in hosts:
            servers.append(await loop.create_server(lambda h=h: Side(Conn(h, loop), True), h.listen,
                                                    SMB_PORT, reuse_address=True, backlog=512))
        if os.path.exists(cfg["control"]):
            os.unlink(cfg["control"])
        servers.append(await asyncio.start_unix_server(control, cfg["control"]))
        os.chmod(cfg["control"], 0o600)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, write_stats)
        print("ready", flush=True)
        await stop.wait()
        for s in servers:
            s.close()
        for h in hosts:                     # smbd's side by RST (see Conn.maybe_close), the client's too
            for c in list(h.open):
                rst(c.server)
                rst(c.client)

    asyncio.run(main())


def relay_request(d, line, timeout=10):
    """Send one control line to the relay of the lab in d and return its answer (text)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(d, "run", "relay.sock"))
        s.sendall(line.encode() + b"\n")
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    return out.decode().strip()


def relay_stats(d):
    """The relay's counters of the lab in d: {fqdn: {connections, active, round_trips, resets, bytes_up,
    bytes_down, rtt_ms, jitter_ms, loss, first_reply_ms: [min, max], rt_ms: [min, max]}}."""
    return json.loads(relay_request(d, "stats"))


class Relay:
    """Lab's methods for the relay (a mixin of lab.Lab: self is the Lab)."""

    def start_relay(self):
        hosts = []
        for i in self.inst:
            if i["network"] != "wan":
                continue
            w = i["wan"]
            hosts.append({"fqdn": i["fqdn"], "listen": i["addr"], "target": i["real_addr"], "target_port": SMB_PORT,
                          "rtt_ms": w["rtt_ms"], "jitter_ms": w["jitter_ms"], "loss": w["loss"]})
        if not hosts:
            return None
        p, outf = spawn_helper(self.d, "relay", {
            "control": os.path.join(self.d, "run", "relay.sock"),
            "stats_file": os.path.join(self.d, "run", "relay-stats.json"), "hosts": hosts})
        self.pids["relay"] = p.pid
        return p, outf
