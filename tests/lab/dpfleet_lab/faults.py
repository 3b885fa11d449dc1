"""Network faults: `_faults` (one asyncio process per lab) listens on the addresses of hosts whose network
is blackhole (accept, never answer) or slow (a proxy that delays every packet to the real smbd); `down`
hosts get nothing (refused).  Faults.start_faults() starts it by re-executing dpfleet-lab (common.ENTRY).
"""
import asyncio
import json
import signal

from .common import SMB_PORT, spawn_helper


# ---------------------------------------------------------------------------------------------------
# _faults: the network fault injector (black holes and slow proxies), one asyncio process per lab.

def cmd_faults(a):
    with open(a.config) as f:
        cfg = json.load(f)
    keep = []

    async def blackhole(reader, writer):
        keep.append(writer)
        try:
            while await reader.read(65536):
                pass            # swallow everything, answer nothing
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    def slow_handler(target, tport, delay):
        async def handle(reader, writer):
            loop = asyncio.get_running_loop()
            try:
                r2, w2 = await asyncio.open_connection(target, tport)
            except OSError:
                writer.close()
                return
            q = asyncio.Queue()

            async def up():
                try:
                    while True:
                        data = await reader.read(65536)
                        if not data:
                            break
                        w2.write(data)
                        await w2.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    w2.close()

            async def down_read():
                try:
                    while True:
                        data = await r2.read(65536)
                        if not data:
                            break
                        q.put_nowait((loop.time() + delay, data))
                except (ConnectionError, OSError):
                    pass
                q.put_nowait(None)

            async def down_write():
                try:
                    while True:
                        item = await q.get()
                        if item is None:
                            break
                        due, data = item
                        await asyncio.sleep(max(0.0, due - loop.time()))
                        writer.write(data)
                        await writer.drain()
                except (ConnectionError, OSError):
                    pass
                finally:
                    writer.close()

            await asyncio.gather(up(), down_read(), down_write(), return_exceptions=True)
        return handle

    async def main():
        servers = []
        for lst in cfg["listeners"]:
            if lst["kind"] == "blackhole":
                h = blackhole
            else:
                h = slow_handler(lst["target"], lst["target_port"], lst["delay_ms"] / 1000.0)
            servers.append(await asyncio.start_server(h, lst["listen"], lst["port"], reuse_address=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        print("ready", flush=True)
        await stop.wait()
        for s in servers:
            s.close()

    asyncio.run(main())


class Faults:
    """Lab's methods for faults (a mixin of lab.Lab: self is the Lab)."""

    # -- faults -----------------------------------------------------------------------------------------
    def start_faults(self):
        listeners = []
        for i in self.inst:
            if i["network"] == "blackhole":
                listeners.append({"kind": "blackhole", "listen": i["addr"], "port": SMB_PORT, "fqdn": i["fqdn"]})
            elif i["network"] == "slow":
                listeners.append({"kind": "slow", "listen": i["addr"], "port": SMB_PORT, "target": i["real_addr"],
                                  "target_port": SMB_PORT, "delay_ms": i["host"]["slow_ms"], "fqdn": i["fqdn"]})
        if not listeners:
            return None
        p, outf = spawn_helper(self.d, "faults", {"listeners": listeners})
        self.pids["faults"] = p.pid
        return p, outf
