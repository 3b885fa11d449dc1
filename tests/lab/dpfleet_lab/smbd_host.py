"""The hosts: the plan of instances (one per host and site server, each on its own loopback address),
and per instance its smb.conf, registry seed, log shares and samba-dcerpcd (LSA and Remote Registry pipes),
started and waited for (smbd(8), samba-dcerpcd(8)); the lab's own client config and RPC readiness.
"""
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import subprocess
import time

from . import regraw
from .common import (ADMIN_GID, ADMIN_GROUP, BIASES, DEFAULT_RR_IDLE_S, DENY_SDDL, FIRST_HOST_OFFSET, KEY_SMS,
                     LIBEXEC, LabError, REAL_ADDR_OFFSET, RPCD_LSA, RPCD_PARAMS, RPCD_WINREG, SAMBA_LOG_DIR,
                     SCAN_UID, SCAN_USER, SITEDB_PORT, SMB_PORT, SMB_TIMEOUT_S, WORKGROUP, has_smbd, listening_on,
                     port_answers, port_free, read_pid, tail, write_file)
from .scenario import fake_value1, multisz_bytes, multisz_sha256, value_elements
from .logs import build_certmgr_files, build_smspxe, pxe_placement
from . import ipv6
from .gate import gate_request


# ---------------------------------------------------------------------------------------------------
# Layout: one instance (smbd) per distinct FQDN: scenario hosts first, then site servers not listed as hosts.

def plan_lab(sc, base):
    inst = []
    by_fqdn = {}
    for h in sc["hosts"]:
        if h.get("cloud"):
            continue        # a cloud DP or CMG: a site-DB row only (sitedb.py), nothing listens
        i = {"fqdn": h["fqdn"], "host": h, "site_codes": [], "network": h["network"], "wan": h["wan"]}
        by_fqdn[h["fqdn"]] = i
        inst.append(i)
    for s in sc["sites"]:
        if s["server"] in by_fqdn:
            by_fqdn[s["server"]]["site_codes"].append(s["code"])
        else:
            wan = sc.get("site_servers_wan")
            i = {"fqdn": s["server"], "host": None, "site_codes": [s["code"]], "network": "wan" if wan else "ok",
                 "wan": wan}
            by_fqdn[s["server"]] = i
            inst.append(i)
    if FIRST_HOST_OFFSET + len(inst) >= REAL_ADDR_OFFSET:
        raise LabError("too many hosts for one /16 (%d)" % len(inst))
    for n, i in enumerate(inst):
        i["n"] = n
        i["addr"] = str(base + FIRST_HOST_OFFSET + n)
        i["real_addr"] = str(base + REAL_ADDR_OFFSET + FIRST_HOST_OFFSET + n) if i["network"] in ("slow", "wan") \
            else i["addr"]
        i["bias"] = BIASES[n % len(BIASES)]
        i["netbios"] = re.sub(r"[^A-Z0-9-]", "", i["fqdn"].split(".")[0].upper())[:15] or "HOST%d" % n
        h = i["host"]
        i["rr"] = h["remote_registry"] if h else "running"
        i["rpc_delay_ms"] = h["rpc_delay_ms"] if h else 0
        i["rr_idle_s"] = h["remote_registry_idle_s"] if h else DEFAULT_RR_IDLE_S
        # Gated: smbd's winreg socket belongs to the rpc gate (_gate), which relays to a samba-dcerpcd of
        # its own; plain running hosts have rpcd_winreg in the host's standing samba-dcerpcd.
        i["gated"] = i["rr"] == "trigger_start" or (i["rr"] == "running" and i["rpc_delay_ms"] > 0)
    return inst


def rpcd_conf(root, gated=False):
    """Config of a host's samba-dcerpcd: the host's smb.conf, then [global] again (after the include the last
    open section is a share).  gated: the Remote Registry service behind the rpc gate, with its own ncalrpc
    dir (the gate owns smbd's np/winreg socket and relays to this one) and pid directory (one pid file per
    samba-dcerpcd)."""
    lines = ["# written by dpfleet-lab: samba-dcerpcd of this host%s" % (" (Remote Registry behind the rpc gate)"
                                                                      if gated else ""),
             "include = %s/smb.conf" % root, "[global]", "rpc start on demand helpers = no"]
    if gated:
        lines += ["ncalrpc dir = %s/rr/ncalrpc" % root, "pid directory = %s/rr/pid" % root]
    return "\n".join(lines + list(RPCD_PARAMS)) + "\n"


def rpc_expect(h):
    """What the host must read as on the first scan after `up` (the scanner's [smb] timeout is the one
    write_configs puts in scanner.conf): read = the IssuingCertificateList value itself is read;
    unreachable_reason = refused (network down), smb_timeout (black hole: TCP accepted, SMB never answers),
    rpc_unavailable (Remote Registry disabled), rpc_timeout (binds answered rpc_delay_ms >= [smb] timeout
    x 1000 late) or None;
    min_attempts = 2 for trigger_start (the first winreg open starts the service and fails), else 1."""
    reason = None
    if h["network"] == "down":
        reason = "refused"
    elif h["network"] == "blackhole":
        reason = "smb_timeout"
    elif h["remote_registry"] == "disabled":
        reason = "rpc_unavailable"
    elif h["rpc_delay_ms"] >= SMB_TIMEOUT_S * 1000:
        reason = "rpc_timeout"
    return {"remote_registry": h["remote_registry"], "rpc_delay_ms": h["rpc_delay_ms"],
            "remote_registry_idle_s": h["remote_registry_idle_s"],
            "read": reason is None and h["registry"] in ("ok", "mismatch", "empty"),
            "unreachable_reason": reason,
            "min_attempts": 2 if h["network"] in ("ok", "slow", "wan") and h["remote_registry"] == "trigger_start" else 1}


def rpcd_services(i):
    """The rpcd_* helpers of a host's standing samba-dcerpcd (up starts it beside smbd)."""
    if i["rr"] == "running" and not i["gated"]:
        return [RPCD_LSA, RPCD_WINREG]
    return [RPCD_LSA]       # disabled: no winreg at all; gated: winreg comes from the gate's samba-dcerpcd


def site_mp(sc, code):
    for h in sc["hosts"]:
        if h["site"] == code and "mp" in h["roles"]:
            return h["fqdn"]
    return next(s["server"] for s in sc["sites"] if s["code"] == code)


class SmbdHosts:
    """Lab's methods for smbd_host (a mixin of lab.Lab: self is the Lab)."""

    # -- checks -------------------------------------------------------------------------------------
    def claim_ipv6(self):
        """ipv6 hosts: an IPv6 loopback address of this lab's own (ipv6.py) as the host's only address."""
        for i in self.inst:
            if i["host"] and i["host"].get("ipv6"):
                try:
                    i["addr"] = i["real_addr"] = ipv6.claim(self.d, self.base, i["n"])
                except ipv6.Ipv6Error as e:
                    raise LabError("%s: ipv6: %s" % (i["fqdn"], e))

    def check_addresses(self):
        self.claim_ipv6()
        busy = []
        if not port_free(self.sitedb_addr, SITEDB_PORT):
            busy.append("%s:%d" % (self.sitedb_addr, SITEDB_PORT))
        for i in self.inst:
            for a in {i["addr"], i["real_addr"]}:
                if not port_free(a, SMB_PORT):
                    busy.append("%s:%d (%s)" % (a, SMB_PORT, i["fqdn"]))
        if busy:
            raise LabError("address already in use (another lab on this --base-addr?): " + ", ".join(busy[:8])
                           + (" ..." if len(busy) > 8 else ""))

    # -- files --------------------------------------------------------------------------------------
    def write_nss(self):
        os.makedirs(os.path.join(self.d, "nss"))
        write_file(os.path.join(self.d, "nss", "passwd"),
                   "root:x:0:0:root:/root:/bin/sh\n"
                   "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
                   "%s:x:%d:%d:dpfleet scan account:/nonexistent:/usr/sbin/nologin\n" % (SCAN_USER, SCAN_UID, SCAN_UID))
        write_file(os.path.join(self.d, "nss", "group"),
                   "root:x:0:\nnogroup:x:65534:\n%s:x:%d:\n%s:x:%d:%s\n"
                   % (SCAN_USER, SCAN_UID, ADMIN_GROUP, ADMIN_GID, SCAN_USER))

    def host_value_elements(self, h):
        site = self.sites[h["site"]]
        st = h["registry"]
        if st in ("ok", "denied"):
            if site["issuing_certificate_list"] is None:
                return value_elements(fake_value1("stale/" + h["fqdn"], 1))
            return value_elements(site["issuing_certificate_list"])
        if st == "mismatch":
            return value_elements(fake_value1("mismatch/" + h["site"], 2))
        if st == "empty":
            return []
        return None

    def reg_file(self, i):
        h = i["host"]
        out = ["Windows Registry Editor Version 5.00", "", "[%s]" % KEY_SMS,
               '"InstallPath"="C:\\\\Program Files\\\\SMS_CCM"' if h else
               '"InstallPath"="C:\\\\Program Files\\\\Microsoft Configuration Manager"', ""]
        if h and "dp" in h["roles"]:
            out += ["[%s\\DP]" % KEY_SMS, '"IsPXE"=dword:%08x' % int(h["pxe"]),
                    '"PxeInstalled"=dword:%08x' % int(h["pxe"]), ""]
        if h and h["registry"] != "no_key":
            out += ["[%s\\Security]" % KEY_SMS]
            els = self.host_value_elements(h)
            if h.get("registry_raw"):       # exact bytes and type (regraw.py)
                out.append(regraw.reg_line("IssuingCertificateList", h["registry_raw"]))
            elif els is not None:
                data = multisz_bytes(els)
                out.append('"IssuingCertificateList"=hex(7):' + ",".join("%02x" % b for b in data))
            out.append('"Reserved1"=dword:00000000')
            out.append("")
        # Samba 4.17's import drops the last value line unless a blank line follows: always end with two.
        return "\r\n".join(out) + "\r\n\r\n"

    def smb_conf(self, i, root):
        h = i["host"]
        admin = h["scan_account_admin"] if h else True
        g = [
            "[global]",
            "workgroup = %s" % WORKGROUP,
            "netbios name = %s" % i["netbios"],
            "server string = %s" % i["fqdn"],
            "server role = standalone server",
            "security = user",
            "map to guest = never",
            "interfaces = %s/%d" % (i["real_addr"], 128 if ":" in i["real_addr"] else 8),
            "bind interfaces only = yes",
            "disable netbios = yes",
            "smb ports = %d" % SMB_PORT,
            "server min protocol = SMB2_02",
            "private dir = %s/private" % root,
            "state directory = %s/state" % root,
            "cache directory = %s/cache" % root,
            "lock directory = %s/lock" % root,
            "pid directory = %s/pid" % root,
            "ncalrpc dir = %s/ncalrpc" % root,
            "binddns dir = %s/binddns" % root,
            "winbindd socket directory = %s/winbindd" % root,
            "usershare path = %s/usershares" % root,
            "passdb backend = tdbsam:%s/private/passdb.tdb" % root,
            "log file = %s/log.smbd" % root,
            "max log size = 2000",
            "log level = 1",
            "load printers = no",
            "printing = bsd",
            "printcap name = /dev/null",
            "disable spoolss = yes",
            "kernel oplocks = no",
            # smbd reaches a pipe through <ncalrpc dir>/np/<pipe> and, when that socket is missing, starts
            # samba-dcerpcd as a named-pipe helper only if this is yes (source3/rpc_client/local_np.c,
            # local_np_connect_connected): "no" except on trigger_start hosts, where the program it would start
            # is the lab's stand-in (see start_smbd) that reports the trigger to the rpc gate.
            "rpc start on demand helpers = %s" % ("yes" if i.get("rr") == "trigger_start" else "no"),
        ]
        if h and h["smb_encrypt"] == "required":
            # smb.conf(5), "server smb encrypt": required globally turns on data encryption for every session
            # and denies session setups on connections that did not negotiate encryption (SMB 3.x with
            # SMB2_GLOBAL_CAP_ENCRYPTION or an ENCRYPTION_CAPABILITIES context, MS-SMB2 3.3.5.5.3).
            g.append("server smb encrypt = required")
        g.append("")
        g = self.auth_globals(i, root, g)      # addc.py: a realm member or a second domain's host
        shares = ["[ADMIN$]", "path = %s/shares/windows" % root, "read only = yes", "browseable = no",
                  "force user = root"]
        if not admin:
            shares.append("valid users = root")     # ADMIN$ needs local admin on Windows
        shares.append("")
        # C$ (admin-only on Windows too) holds a management point's SMS_CCM\Logs (logs.pxe_placement)
        shares += ["[C$]", "path = %s/shares/c" % root, "read only = yes", "browseable = no", "force user = root"]
        shares += [] if admin else ["valid users = root"]
        shares.append("")
        if h and "dp" in h["roles"]:
            shares += ["[SMS_DP$]", "path = %s/shares/smsdp" % root, "read only = yes", "browseable = no",
                       "force user = root", ""]
        for code in i["site_codes"]:
            shares += ["[SMS_%s]" % code, "path = %s/shares/site_%s" % (root, code), "read only = yes",
                       "force user = root", ""]
        return "\n".join(g + shares)

    def instance_expect(self, i, pxe_exp):
        h = i["host"]
        share_path = evidence_path = None
        share, sdir, _ = pxe_placement(h)
        if h["smspxe_log"] != "none":
            share_path = "%s/%s/SMSPXE.log" % (share, sdir)
            evidence_path = "%s/%s/%s" % (share, sdir, pxe_exp["pxe_history_file"]) if pxe_exp["pxe_history_file"] \
                else share_path
        denied_by = [s["code"] for s in self.sc["sites"] if h["fqdn"] in s["certmgr_denied"]]
        e = {"site": h["site"], "roles": h["roles"], "pxe": h["pxe"], "registry": h["registry"],
             "value": self.host_value_elements(h), "value_sha256": multisz_sha256(self.host_value_elements(h)),
             "network": h["network"],
             "reachable": h["network"] in ("ok", "slow", "wan"), "admin": h["scan_account_admin"],
             "smspxe_log": h["smspxe_log"], "smspxe_share": h["smspxe_share"], "pxe_log_path": share_path,
             "pxe_log_readable": share_path is not None and (share not in ("ADMIN$", "C$") or h["scan_account_admin"]),
             "pxe_placement": share_path and sdir and {"SMS_DP$": "dp", "ADMIN$": "client", "C$": "mp"}.get(
                 share, "site_server"), "pxe_evidence_file": evidence_path, "cohost": h["cohost"],
             "history_logs": h["history_logs"], "ipv6": i["addr"] if h["ipv6"] else None,
             "certmgr_denied": bool(denied_by), "certmgr_denied_by": denied_by, "bias_minutes": i["bias"],
             "smb_encrypt": h["smb_encrypt"]}
        if h["network"] == "slow":
            e["slow_ms"] = h["slow_ms"]
        if h["wan"]:
            e.update(h["wan"])      # rtt_ms, jitter_ms, loss: the relay's (relay.py)
        e.update(pxe_exp)
        e.update(rpc_expect(h))
        return e

    INSTANCE_DIRS = ("private", "state", "cache", "lock", "pid", "ncalrpc", "binddns", "winbindd", "usershares",
                     "log", "shares/windows/CCM/Logs", "shares/windows/System32", "shares/c")

    def make_root(self, i, root):
        for sub in self.INSTANCE_DIRS:
            os.makedirs(os.path.join(root, sub))
        os.chmod(os.path.join(root, "private"), 0o700)
        conf = os.path.join(root, "smb.conf")
        write_file(conf, self.smb_conf(i, root))
        # samba-dcerpcd refuses to run as a standing daemon while its config says "rpc start on demand
        # helpers = yes" (rpc_host.c main), so it gets its own file: smb.conf plus the lines below.
        write_file(os.path.join(root, "rpcd.conf"), rpcd_conf(root))
        if i.get("gated"):
            for sub in ("rr/ncalrpc", "rr/pid"):
                os.makedirs(os.path.join(root, sub))
            write_file(os.path.join(root, "winreg.conf"), rpcd_conf(root, gated=True))
        return conf

    def variant(self, i):
        """What an instance's registry.tdb and group_mapping.tdb depend on: instances with the same
        variant get copies of one template built once (a `net` run costs ~50 ms of CPU)."""
        h = i["host"]
        return (self.reg_file(i), bool(h and h["registry"] == "denied"), bool(h is None or h["scan_account_admin"]))

    def build_template(self, n, key):
        """Seeds one template instance with `net` (registry import, ACL, admin group map) and returns the
        state files to copy.  tdbsam and the registry store RIDs and keys, nothing tied to the host name."""
        reg, denied, admin = key
        root = os.path.join(self.d, "tpl", "%03d" % n)
        conf = self.make_root({"fqdn": "template.lab.test", "netbios": "TEMPLATE%d" % n, "real_addr": "127.0.0.1",
                               "host": None, "site_codes": []}, root)
        files = {}
        if n == 0:
            self.run(["smbpasswd", "-c", conf, "-s", "-a", SCAN_USER],
                     stdin="%s\n%s\n" % (self.smb_password, self.smb_password), what="smbpasswd (template)")
            files["private/passdb.tdb"] = os.path.join(root, "private", "passdb.tdb")
        regf = os.path.join(root, "seed.reg")
        write_file(regf, reg)
        self.run(["net", "--configfile=" + conf, "registry", "import", regf], what="registry import (template %d)" % n)
        if denied:
            self.run(["net", "--configfile=" + conf, "registry", "setsd_sddl", KEY_SMS.replace(
                "HKEY_LOCAL_MACHINE", "HKLM") + "\\Security", DENY_SDDL], what="setsd_sddl (template %d)" % n)
        if admin:
            self.run(["net", "--configfile=" + conf, "groupmap", "add", "sid=S-1-5-32-544",
                      "unixgroup=" + ADMIN_GROUP, "type=builtin"], what="groupmap (template %d)" % n)
            files["state/group_mapping.tdb"] = os.path.join(root, "state", "group_mapping.tdb")
        files["state/registry.tdb"] = os.path.join(root, "state", "registry.tdb")
        return files

    def build_templates(self, ex):
        keys = {}
        for i in self.inst:
            if has_smbd(i):
                i["variant"] = keys.setdefault(self.variant(i), len(keys))
        if not keys:
            return
        if 0 not in keys.values():
            raise LabError("internal: no template 0")
        futs = {n: ex.submit(self.build_template, n, k) for k, n in keys.items()}
        self.templates = {n: f.result() for n, f in futs.items()}
        passdb = self.templates[0]["private/passdb.tdb"]
        for t in self.templates.values():
            t["private/passdb.tdb"] = passdb

    def prepare_instance(self, i):
        """Directories, smb.conf, shares and logs, passdb/registry/group map copied from its template."""
        root = os.path.join(self.d, "h", "%03d" % i["n"])
        i["root"] = root
        h = i["host"]
        i["conf"] = self.make_root(i, root)
        if h and "dp" in h["roles"]:
            os.makedirs(os.path.join(root, "shares/smsdp/sms/logs"))
            write_file(os.path.join(root, "shares/smsdp/sms/logs/smsdpprov.log"),
                       "<![LOG[Distribution point provider is running.]LOG]!><time=\"08:00:00.000+000\" "
                       "date=\"01-01-2026\" component=\"smsdpprov\" context=\"\" type=\"1\" thread=\"1\" "
                       "file=\"smsdpprov.cpp:1\">\r\n")
        if h and "mp" in h["roles"]:
            # a management point's own logs live in SMS_CCM\Logs (doc/FIELD-NOTES.md §6)
            os.makedirs(os.path.join(root, "shares/c/SMS_CCM/Logs"))
            write_file(os.path.join(root, "shares/c/SMS_CCM/Logs/mpcontrol.log"),
                       "Call to HttpSendRequestSync succeeded for port 80 with status code 200, text: OK  "
                       "$$<SMS_MP_CONTROL_MANAGER><01-01-2026 08:00:00.000+000><thread=4242 (0x1092)>\r\n")
        for code in i["site_codes"]:
            logs = os.path.join(root, "shares/site_%s/Logs" % code)
            os.makedirs(logs)
            for name, text in build_certmgr_files(self.sites[code], self.sc["log_date"], i["bias"], i["n"]).items():
                write_file(os.path.join(logs, name), text)
            write_file(os.path.join(logs, "sitecomp.log"),
                       "Site Component Manager started.  $$<SMS_SITE_COMPONENT_MANAGER><%s 08:00:00.000+000>"
                       "<thread=4242 (0x1092)>\r\n" % datetime.date.fromisoformat(self.sc["log_date"]).strftime("%m-%d-%Y"))
        if h:
            mp = site_mp(self.sc, h["site"])
            files, pxe_exp = build_smspxe(h, i["addr"], mp, self.sc["log_date"], i["bias"], i["n"])
            logdir = os.path.join(root, "shares", pxe_placement(h)[2])
            os.makedirs(logdir, exist_ok=True)
            for name, text in files.items():
                write_file(os.path.join(logdir, name), text)
            self.expect[h["fqdn"]] = self.instance_expect(i, pxe_exp)
        if not has_smbd(i):
            return      # down: nothing listens; blackhole: the fault injector listens instead
        for rel, src in self.templates[i["variant"]].items():
            shutil.copyfile(src, os.path.join(root, rel))
            os.chmod(os.path.join(root, rel), 0o600)

    def start_smbd(self, i):
        """Starts the host's standing samba-dcerpcd (rpcd_lsad, plus rpcd_winreg on plain running hosts;
        samba-dcerpcd(8): "[SERVICE_1 .. SERVICE_N]", no --np-helper, so it never exits when idle), on running
        hosts with rpc_delay_ms also the Remote Registry samba-dcerpcd behind the gate, then smbd, all in one
        private mount namespace where DIR/h/N/log is bind-mounted on /var/log/samba: samba-dcerpcd and the
        rpcd_* helpers it forks ignore `log file` (4.17 forces /var/log/samba/log.<prog> from the command
        line) and would otherwise write outside DIR.  On trigger_start hosts the lab's stand-in
        (DIR/run/rr-trigger) is then bind-mounted on samba-dcerpcd's path in that namespace only: smbd starts
        that program when the winreg socket is missing (local_np.c start_rpc_host_send)."""
        if not has_smbd(i):
            return
        logdir = os.path.join(i["root"], "log")
        os.makedirs(logdir, exist_ok=True)
        script = ['set -e']
        if os.path.isdir(SAMBA_LOG_DIR):
            script.append('mount --bind "$1" %s' % SAMBA_LOG_DIR)
        script.append('%s/samba-dcerpcd --configfile="$3" -D %s' % (LIBEXEC, " ".join(rpcd_services(i))))
        if i["gated"] and i["rr"] == "running":
            script.append('%s/samba-dcerpcd --configfile="$4" -D %s' % (LIBEXEC, RPCD_WINREG))
        if i["rr"] == "trigger_start":
            script.append('mount --bind "$5" %s/samba-dcerpcd' % LIBEXEC)
        extra, env = self.auth_daemons(i)      # addc.py: a realm member's winbindd
        script += extra
        script.append('exec smbd --configfile="$2" -D')
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), "sh", logdir,
                i["conf"], os.path.join(i["root"], "rpcd.conf"), os.path.join(i["root"], "winreg.conf"),
                os.path.join(self.d, "run", "rr-trigger")]
        self.run(argv, what="smbd for " + i["fqdn"], env=env)

    def wait_all_smbd(self, deadline):
        """Waits until every smbd listens (one read of /proc/net/tcp per round instead of a connection per
        host per round: each connection makes smbd fork), then connects to each once."""
        pending = {i["real_addr"]: i for i in self.inst if has_smbd(i)}
        while pending:
            for a in listening_on(SMB_PORT) & set(pending):
                del pending[a]
            if not pending:
                break
            if time.monotonic() > deadline:
                i = next(iter(pending.values()))
                raise LabError("%d smbd did not listen in time, e.g. %s on %s:445; log: %s" % (
                    len(pending), i["fqdn"], i["real_addr"], tail(os.path.join(i["root"], "log.smbd"))))
            time.sleep(0.05)
        for i in self.inst:
            self.wait_smbd(i, deadline)

    def wait_smbd(self, i, deadline):
        if not has_smbd(i):
            return
        while not port_answers(i["real_addr"], SMB_PORT, 0.3):
            if time.monotonic() > deadline:
                raise LabError("smbd for %s did not answer on %s:445; log: %s"
                               % (i["fqdn"], i["real_addr"], tail(os.path.join(i["root"], "log.smbd"))))
            time.sleep(0.05)
        pidf = os.path.join(i["root"], "pid", "smbd.pid")
        for _ in range(100):
            try:
                with open(pidf) as f:
                    i["pid"] = int(f.read().split()[0])
                    return
            except (OSError, ValueError, IndexError):
                time.sleep(0.02)
        raise LabError("smbd for %s: no pid file %s" % (i["fqdn"], pidf))

    def write_client_conf(self):
        """smb.conf for the lab's own Samba clients (readiness): nothing under /etc/samba or /var is read or
        written (net keeps caches and locks in its lock/cache/state directories)."""
        c = os.path.join(self.d, "client")
        for sub in ("lock", "state", "cache", "private", "pid", "ncalrpc"):
            os.makedirs(os.path.join(c, sub), exist_ok=True)
        write_file(os.path.join(c, "smb.conf"), "\n".join([
            "[global]", "workgroup = %s" % WORKGROUP, "client min protocol = SMB2_02",
            "lock directory = %s/lock" % c, "state directory = %s/state" % c, "cache directory = %s/cache" % c,
            "private dir = %s/private" % c, "pid directory = %s/pid" % c, "ncalrpc dir = %s/ncalrpc" % c,
            "log file = %s/log.client" % c, "disable netbios = yes", ""]))
        return os.path.join(c, "smb.conf")

    def winreg_bind(self, i, client_conf, deadline):
        """An independent winreg client (`net rpc registry enumerate`) against the real smbd until it answers
        (binds can fail while a loaded machine starts the helpers) or the deadline passes."""
        env = dict(os.environ, PASSWD=self.smb_password)
        env.pop("LD_PRELOAD", None)
        argv = ["net", "--configfile=" + client_conf, "rpc", "registry", "enumerate", r"HKLM\SOFTWARE\Microsoft\SMS",
                "-I", i["real_addr"], "-U", "%s\\%s" % (WORKGROUP, SCAN_USER)]
        other = self.auth_client(i)     # addc.py: Kerberos for a realm member, a second domain's account
        if other:
            argv = argv[:-4] + other[0]
            env = other[1]
        delay = 0.1
        while True:
            try:
                r = subprocess.run(argv, env=env, capture_output=True, text=True,
                                   timeout=max(5.0, deadline - time.monotonic()), stdin=subprocess.DEVNULL)
                if r.returncode == 0 and "InstallPath" in r.stdout:
                    return
                why = (r.stderr or r.stdout).strip()[-300:]
            except subprocess.TimeoutExpired:
                why = "no answer"
            if time.monotonic() + delay > deadline:
                raise LabError("%s (%s): winreg does not answer: %s; log: %s" % (
                    i["fqdn"], i["real_addr"], why, tail(os.path.join(i["root"], "log.smbd"))))
            time.sleep(delay)
            delay = min(2.0, delay * 2)

    def wait_rpc_ready(self, deadline):
        """Every host whose Remote Registry runs answers a winreg bind (in parallel, at most --jobs at once);
        trigger_start hosts are not touched (a bind would consume the trigger): the gate must report their
        service stopped and their socket absent.  Disabled hosts: smbd answers (wait_all_smbd)."""
        client_conf = self.write_client_conf()
        running = [i for i in self.inst if has_smbd(i) and i["rr"] == "running"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, min(self.jobs, 8))) as ex:
            for f in [ex.submit(self.winreg_bind, i, client_conf, deadline) for i in running]:
                f.result()
        trig = [i for i in self.inst if has_smbd(i) and i["rr"] == "trigger_start"]
        if trig:
            st = json.loads(gate_request(self.d, "status"))
            for i in trig:
                if st.get(i["fqdn"], {}).get("state") != "stopped" or \
                        os.path.exists(os.path.join(i["root"], "ncalrpc", "np", "winreg")):
                    raise LabError("%s: trigger_start but the gate reports %s" % (i["fqdn"], st.get(i["fqdn"])))
        for i in self.inst:
            if has_smbd(i):
                i["rpcd_pid"] = read_pid(os.path.join(i["root"], "pid", "samba-dcerpcd.pid"), self.d)
                if not i["rpcd_pid"]:
                    raise LabError("%s: samba-dcerpcd is not running (pid file %s/pid/samba-dcerpcd.pid); log: %s"
                                   % (i["fqdn"], i["root"], tail(os.path.join(i["root"], "log", "log.samba-dcerpcd"))))

    def prepare_and_start(self, i):
        self.prepare_instance(i)
        if has_smbd(i):
            self.auth_prepare(i)        # addc.py: join a realm, or a second domain's account
        self.start_smbd(i)
