"""Lab: one lab in DIR, put together from the parts (smbd_host.SmbdHosts, sitedb.SiteDb, faults.Faults,
gate.Gate, relay.Relay); up() builds and starts everything, writes the daemons' configs and DIR/lab.json.
"""
import concurrent.futures
import json
import os
import re
import secrets
import subprocess
import time

from .common import (LabError, SCAN_USER, SITEDB_PORT, SITEDB_USER, SMB_TIMEOUT_S, WORKGROUP, find_server,
                     free_tcp_port, port_answers, source_root, tail, write_file)
from .scenario import multisz_sha256, value_elements
from .gate import Gate, gate_request
from .smbd_host import SmbdHosts, plan_lab
from .sitedb import SiteDb
from .faults import Faults
from .relay import Relay
from .addc import AdDc
from .realms import plan_auth


# ---------------------------------------------------------------------------------------------------
# up

class Lab(SmbdHosts, SiteDb, Faults, Gate, Relay, AdDc):
    def __init__(self, sc, scenario_path, d, base, tdsd, jobs):
        self.sc = sc
        self.scenario_path = scenario_path
        self.d = d
        self.base = base
        self.tdsd_path = tdsd
        self.jobs = jobs
        self.inst = plan_lab(sc, base)
        self.realms, self.domains = plan_auth(self)      # addc.py: Kerberos realms, second domains
        self.sites = {s["code"]: s for s in sc["sites"]}
        self.smb_password = "Lab-" + secrets.token_urlsafe(15)
        self.sitedb_password = "Db-" + secrets.token_urlsafe(15)
        self.sitedb_addr = str(base + 1)
        primaries = [s["code"] for s in sc["sites"] if s["type"] == "primary"]
        self.database = "CM_" + primaries[0]
        self.nss_env = dict(os.environ)
        self.nss_env.update(LD_PRELOAD="libnss_wrapper.so",
                            NSS_WRAPPER_PASSWD=os.path.join(d, "nss", "passwd"),
                            NSS_WRAPPER_GROUP=os.path.join(d, "nss", "group"))
        self.nss_env.pop("NSS_WRAPPER_HOSTS", None)
        self.expect = {}
        self.pids = {}

    def run(self, argv, what, stdin=None, env=None):
        try:
            r = subprocess.run(argv, input=stdin, env=env or self.nss_env, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise LabError("%s: %s" % (what, e))
        if r.returncode != 0:
            raise LabError("%s failed (exit %d): %s" % (what, r.returncode, (r.stderr or r.stdout).strip()[-400:]))
        return r

    def wait_ready(self, proc, outfile, what, deadline):
        while True:
            try:
                with open(outfile, "rb") as f:
                    if re.search(rb"(^|\n)ready\r?\n", f.read()):
                        return
            except OSError:
                pass
            if proc.poll() is not None:
                raise LabError("%s exited (status %s) before 'ready': %s" % (what, proc.returncode, tail(outfile)))
            if time.monotonic() > deadline:
                raise LabError("%s did not print 'ready' in time: %s" % (what, tail(outfile)))
            time.sleep(0.05)

    # -- config files ------------------------------------------------------------------------------------
    def write_configs(self):
        d = self.d
        write_file(os.path.join(d, "smb.password"), self.smb_password + "\n", 0o600)
        write_file(os.path.join(d, "sitedb.password"), self.sitedb_password + "\n", 0o600)
        write_file(os.path.join(d, "hosts.map"),
                   "".join("%s %s\n" % (i["fqdn"], i["addr"]) for i in self.inst))
        write_file(os.path.join(d, "scanner.conf"), "\n".join([
            "# written by dpfleet-lab for the lab in this directory",
            "[store]", "path = %s/state.db" % d, "",
            "[sitedb]", "host = %s" % self.sitedb_addr, "port = %d" % SITEDB_PORT, "database = %s" % self.database,
] + self.sitedb_login_lines() + ["tds_version = 7.4",
            "encryption = off", "login_timeout = 10", "query_timeout = 30", "",
            "[smb]", "domain = %s" % WORKGROUP, "user = %s" % SCAN_USER, "password_file = %s/smb.password" % d,
            "timeout = %d" % SMB_TIMEOUT_S, "concurrency = 16", "host_map = %s/hosts.map" % d, "",
] + self.addc_scanner_conf() + [
            "[scan]", "interval = 3600", "log_tail_bytes = 4194304", ""]))
        self.http_port = free_tcp_port()
        write_file(os.path.join(d, "server.conf"), "\n".join([
            "# written by dpfleet-lab for the lab in this directory",
            "[store]", "path = %s/state.db" % d, "",
            "[http]", "listen = 127.0.0.1:%d" % self.http_port, "web_root = %s" % os.path.join(source_root(), "web"),
            "session_ttl = 28800", ""]))

    def create_operator(self):
        """Creates the web operator in the store once `dpfleet-server user add` exists (dpfleet-server(8), USER
        COMMANDS).  A server without the subcommand is skipped quietly; a server that has it and fails makes `up`
        fail."""
        server = find_server()
        if not server or not os.access(server, os.X_OK):
            return None
        pw = "Op-" + secrets.token_urlsafe(12)
        try:
            r = subprocess.run([server, "-f", os.path.join(self.d, "server.conf"), "user", "add", "operator",
                                "--role", "operator"], input="%s\n%s\n" % (pw, pw), capture_output=True, text=True,
                               timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise LabError("operator: %s user add: %s" % (server, e))
        if r.returncode == 0:
            return {"user": "operator", "password": pw}
        out = (r.stderr or r.stdout).strip()
        if "usage" in out.lower() and "user" not in out.lower().replace("usage", ""):
            return None     # this server has no `user add` yet
        raise LabError("operator: %s user add failed: %s" % (server, out[-300:]))

    def write_lab_json(self, operator):
        sites_exp = {}
        for s in self.sc["sites"]:
            vals = ([s["issuing_certificate_list"]] if s["issuing_certificate_list"] is not None else []) \
                + s["extra_values"]
            distinct = sorted(set(vals))
            sites_exp[s["code"]] = {
                "value_state": "absent" if not distinct else ("ambiguous" if len(distinct) > 1 else "ok"),
                "value1": distinct[0] if len(distinct) == 1 else None,
                "value_sha256": multisz_sha256(value_elements(distinct[0])) if len(distinct) == 1 else None,
                "server": s["server"], "certmgr_denied": s["certmgr_denied"],
                "certmgr_log": "SMS_%s/Logs/%s" % (s["code"], "CertMgr.lo_" if s["certmgr_rolled"] else "CertMgr.log"),
                "certmgr_rolled": s["certmgr_rolled"]}
        lab = {
            "sitedb": "%s:%d" % (self.sitedb_addr, SITEDB_PORT),
            "hosts": {i["fqdn"]: i["addr"] for i in self.inst},
            "smb_user": SCAN_USER,
            "smb_password": self.smb_password,
            "smb_domain": WORKGROUP,
            "sitedb_database": self.database,
            "sitedb_user": self.sitedb_windows() or SITEDB_USER,
            "sitedb_password": self.sitedb_password,
            "base_addr": str(self.base),
            "dir": self.d,
            "scenario": os.path.abspath(self.scenario_path) if self.scenario_path else None,
            "http_listen": "127.0.0.1:%d" % self.http_port,
            "site_servers": {s["code"]: s["server"] for s in self.sc["sites"]},
            "expect": self.expect,
            "expect_sites": sites_exp,
            "pids": {"smbd": {i["fqdn"]: i.get("pid") for i in self.inst if i.get("pid")},
                     "rpcd": {i["fqdn"]: i.get("rpcd_pid") for i in self.inst if i.get("rpcd_pid")},
                     "tdsd": self.pids.get("tdsd"), "faults": self.pids.get("faults"),
                     "gate": self.pids.get("gate"), "relay": self.pids.get("relay")},
            "real_addrs": {i["fqdn"]: i["real_addr"] for i in self.inst if i["real_addr"] != i["addr"]},
            "wan": {i["fqdn"]: i["wan"] for i in self.inst if i["network"] == "wan"},
        }
        if operator:
            lab["operator"] = operator
        lab.update(self.addc_lab_json())
        lab["pids"]["dc"] = {r["realm"]: r.get("pid") for r in self.realms.values()}
        write_file(os.path.join(self.d, "lab.json"), json.dumps(lab, indent=1, sort_keys=True) + "\n", 0o600)

    # -- the whole thing ---------------------------------------------------------------------------------
    def up(self, with_sitedb):
        t0 = time.monotonic()
        self.check_addresses()
        os.makedirs(os.path.join(self.d, "run"))
        os.makedirs(os.path.join(self.d, "h"))
        self.write_nss()
        self.auth_nss()
        self.addc_files()
        self.addc_start()       # the realms' DCs provision while the smbd hosts are prepared
        tdsd = None
        if with_sitedb:
            dbpath = self.write_sitedb()
            tdsd = self.start_tdsd(dbpath)
        os.makedirs(os.path.join(self.d, "tpl"))
        self.write_trigger_standin()
        ex = concurrent.futures.ThreadPoolExecutor(max_workers=self.jobs)
        try:
            self.build_templates(ex)
            futs = [ex.submit(self.prepare_and_start, i) for i in self.inst]
            for f in concurrent.futures.as_completed(futs):
                f.result()
        finally:
            ex.shutdown(wait=True, cancel_futures=True)     # on failure: start nothing more
        faults = self.start_faults()
        gate = self.start_gate()
        relay = self.start_relay()
        deadline = time.monotonic() + 60 + 0.5 * len(self.inst)
        self.wait_all_smbd(deadline)
        self.phases = [("smbd listening", time.monotonic() - t0)]
        if faults:
            self.wait_ready(faults[0], faults[1], "fault injector", deadline)
        if gate:
            self.wait_ready(gate[0], gate[1], "rpc gate", deadline)
        if relay:
            self.wait_ready(relay[0], relay[1], "wan relay", deadline)
        self.wait_rpc_ready(deadline + 60)
        self.phases.append(("winreg answers", time.monotonic() - t0))
        if gate:
            gate_request(self.d, "arm")     # from now on binds on rpc_delay_ms hosts are answered late
        if tdsd:
            self.wait_ready(tdsd, os.path.join(self.d, "run", "tdsd.out"), "dpfleet-tdsd", time.monotonic() + 20)
            while not port_answers(self.sitedb_addr, SITEDB_PORT):
                if time.monotonic() > deadline:
                    raise LabError("dpfleet-tdsd printed ready but %s:%d does not answer"
                                   % (self.sitedb_addr, SITEDB_PORT))
                time.sleep(0.05)
        self.write_configs()
        for i in self.inst:
            if i["host"] and i["fqdn"] in self.expect:
                self.expect[i["fqdn"]].update(self.auth_expect(i))
        operator = self.create_operator()
        self.write_lab_json(operator)
        self.elapsed = time.monotonic() - t0
