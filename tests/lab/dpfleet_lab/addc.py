"""Kerberos-only hosts and second domains: per realm one Samba AD DC (the KDC, not a scenario host) on its own
loopback address, and the realm's hosts as domain member servers (smbd with `security = ads` and winbindd,
joined with `net ads join`) that refuse NTLM; NTLM hosts of another domain (their own workgroup and account).

The DC: `samba-tool domain provision` with an empty smb.conf (-s; so nothing of the machine's
/etc/samba/smb.conf is inherited), the generated smb.conf replaced by ours, run as `samba -i -M single` with
`server services = s3fs, rpc, kdc, winbindd, ldap, cldap` (LDAP and CLDAP for the joins) and the ldap/ SPNs
samba_spnupdate would add (the lab runs no dnsupdate service).  The scan account of the realm is a Domain
Admin; its keytab (`samba-tool domain exportkeytab`) and password file go to DIR/krb/.

Nothing outside DIR is read or written: every process gets the lab's own krb5.conf (KRB5_CONFIG), the lab's
hosts file through nss_wrapper (NSS_WRAPPER_HOSTS), and winbind's client finds its daemon through
SELFTEST_WINBINDD_SOCKET_DIR (winbind's client library ignores `winbindd socket directory`; without it Kerberos
succeeds and the session setup then fails with NT_STATUS_INTERNAL_ERROR).  DIR/krb.env holds what a client
needs (sourced by the tests).  Samba's NSS module is not used: a domain account gets a passwd line in the lab's
nss_wrapper file with the uid idmap_rid(8) gives it.

The NTLM evidence: every host logs with `auth_audit:4 auth:3` (smb.conf(5) `log level`), so log.smbd has one
`Got NTLMSSP neg_flags=...` line per NTLMSSP NEGOTIATE that reached smbd (auth/ntlmssp/ntlmssp_server.c, whether
or not an AUTHENTICATE follows), one `Auth: [SMB2,...] ... with [NTLMv2] status [...]` line per NTLM
authentication (NT_STATUS_NTLM_BLOCKED with `ntlm auth = disabled`) and one `Successful AuthZ: [SMB2,krb5]`
line per Kerberos session (auth/auth_log.c); auth_counts() counts them per host.
"""
import os
import re
import socket
import subprocess
import threading
import time

from .common import (ADMIN_GID, ADMIN_GROUP, LabError, SCAN_UID, SCAN_USER, WORKGROUP, listening_on,
                     stop_lab_processes, tail, write_file)
from .realms import DC_NAME


IDMAP_STEP = 100000     # realm k's idmap_rid range: (k+1)*IDMAP_STEP .. +IDMAP_STEP-1


DC_SERVICES = "s3fs, rpc, kdc, winbindd, ldap, cldap"


# auth/auth_log.c: failures at 2, successes at 3, authorizations at 4; the auth class at 3: NTLMSSP NEGOTIATE
AUTH_LOG_LEVEL = "1 auth_audit:4 auth:3"


SAMBA_PYTHON = "/usr/bin/python3"      # Debian's python3-samba is for the system interpreter


# The DC's accounts, run by SAMBA_PYTHON on the DC's sam.ldb before samba starts: argv = smb.conf, the DC's
# account, user, password, keytab, principal, SPNs to add to the DC's account.  Prints "rid N".
ACCOUNTS_SCRIPT = """
import sys
import ldb
from samba import enable_net_export_keytab, param
from samba.auth import system_session
from samba.dcerpc import security
from samba.ndr import ndr_unpack
from samba.net import Net
from samba.samdb import SamDB
conf, dc, user, password, keytab, principal = sys.argv[1:7]
lp = param.LoadParm()
lp.load(conf)
db = SamDB(url=lp.private_path("sam.ldb"), session_info=system_session(), lp=lp)
res = db.search(expression="(sAMAccountName=%s)" % ldb.binary_encode(dc), attrs=["servicePrincipalName"])
have = {str(v).lower() for v in res[0].get("servicePrincipalName", [])}
add = [s for s in sys.argv[7:] if s.lower() not in have]
if add:
    m = ldb.Message()
    m.dn = res[0].dn
    m["servicePrincipalName"] = ldb.MessageElement(add, ldb.FLAG_MOD_ADD, "servicePrincipalName")
    db.modify(m)
db.newuser(user, password, description="dpfleet scan account")
db.add_remove_group_members("Domain Admins", [user], add_members_operation=True)
sid = db.search(expression="(sAMAccountName=%s)" % ldb.binary_encode(user), attrs=["objectSid"])[0]["objectSid"][0]
enable_net_export_keytab()
Net(None, lp).export_keytab(keytab=keytab, principal=principal)
print("rid", str(ndr_unpack(security.dom_sid, sid)).rsplit("-", 1)[1])
"""


DC_READY_S = 240        # provision (~6 s idle, ~30 s on a loaded machine) + start
NSS_MAX_HOSTENTS = 65536   # nss_wrapper hosts table (names and addresses): far above any lab fleet


def krb_dir(d):
    return os.path.join(d, "krb")


class AdDc:
    """Lab's methods for Kerberos realms and second domains (a mixin of lab.Lab: self is the Lab)."""

    # -- files every process of the lab reads ----------------------------------------------------------
    def addc_files(self):
        """DIR/krb5.conf, DIR/nss/hosts (every lab FQDN and DC to its address) and DIR/krb.env.  Written for
        every lab (the hosts file helps any client that connects by name)."""
        d = self.d
        os.makedirs(krb_dir(d), exist_ok=True)
        os.chmod(krb_dir(d), 0o700)
        lines = ["# written by dpfleet-lab: the lab's Kerberos configuration (krb5.conf(5))", "[libdefaults]"]
        if self.realms:
            lines.append("\tdefault_realm = %s" % sorted(self.realms)[0])
        lines += ["\tdns_lookup_kdc = false", "\tdns_lookup_realm = false", "\trdns = false",
                  "\tdns_canonicalize_hostname = false", "\tudp_preference_limit = 1", "", "[realms]"]
        for r in self.realms.values():
            lines += ["\t%s = {" % r["realm"], "\t\tkdc = %s" % r["addr"], "\t\tadmin_server = %s" % r["addr"], "\t}"]
        lines += ["", "[domain_realm]"]
        for r in self.realms.values():
            lines += ["\t.%s = %s" % (r["realm"].lower(), r["realm"]), "\t%s = %s" % (r["realm"].lower(), r["realm"])]
        write_file(os.path.join(d, "krb5.conf"), "\n".join(lines) + "\n")
        hosts = ["127.0.0.1 localhost"]
        hosts += ["%s %s %s" % (i["addr"], i["fqdn"], i["fqdn"].split(".")[0]) for i in self.inst]
        hosts += ["%s %s %s" % (r["addr"], r["dc_fqdn"], DC_NAME) for r in self.realms.values()]
        write_file(os.path.join(d, "nss", "hosts"), "\n".join(hosts) + "\n")
        env = self.client_env_vars()
        write_file(os.path.join(d, "krb.env"), "# written by dpfleet-lab: source this before a Kerberos client\n"
                   + "".join("export %s=%s\n" % kv for kv in sorted(env.items())))

    def client_env_vars(self):
        d = self.d
        return {"KRB5_CONFIG": os.path.join(d, "krb5.conf"), "LD_PRELOAD": "libnss_wrapper.so",
                "NSS_WRAPPER_HOSTS": os.path.join(d, "nss", "hosts"),
                # nss_wrapper's hosts table holds 100 entries unless told (nss_wrapper(1)); a demo fleet has more
                "NSS_WRAPPER_MAX_HOSTENTS": str(NSS_MAX_HOSTENTS),
                "NSS_WRAPPER_PASSWD": os.path.join(d, "nss", "passwd"),
                "NSS_WRAPPER_GROUP": os.path.join(d, "nss", "group"),
                "KRB5CCNAME": "MEMORY:dpfleet-lab"}

    def daemon_env(self, winbindd_dir):
        env = dict(self.nss_env)
        env.update(self.client_env_vars())
        env["SELFTEST_WINBINDD_SOCKET_DIR"] = winbindd_dir
        return env

    # -- the DCs -------------------------------------------------------------------------------------
    def addc_start(self):
        """Provisions and starts every realm's DC, each in its own thread; auth_prepare waits for its realm's."""
        # A listener, not port_free(): the previous lab's joins leave TIME_WAIT on the DC's 445, which makes a
        # plain bind() fail while samba itself binds with SO_REUSEADDR.
        busy = ["%s:%d" % (r["addr"], port) for r in self.realms.values() for port in (88, 389, 445)
                if r["addr"] in listening_on(port)]
        if busy:
            raise LabError("address already in use (another lab on this --base-addr?): " + ", ".join(busy))
        self.dc_threads = []
        for r in self.realms.values():
            t = threading.Thread(target=self.dc_thread, args=(r,), daemon=True)
            t.start()
            self.dc_threads.append(t)

    def addc_abort(self):
        """up failed: no DC may start from now on; a running provision or account script is stopped, and the
        DC threads are waited for (bounded), so the caller's stop finds every process they started."""
        self.dc_aborted = True
        threads = [t for t in getattr(self, "dc_threads", []) if t.is_alive()]
        if threads:
            stop_lab_processes(self.d)      # samba-tool and the accounts script end; their thread returns
        for t in threads:
            t.join(60)

    def dc_thread(self, r):
        try:
            t0 = time.monotonic()
            self.provision_dc(r)
            t1 = time.monotonic()
            self.dc_accounts(r)
            t2 = time.monotonic()
            if getattr(self, "dc_aborted", False):
                raise LabError("up failed elsewhere: the DC is not started")
            self.start_dc(r)
            r["timing"] = {"provision_s": round(t1 - t0, 1), "accounts_s": round(t2 - t1, 1),
                           "start_s": round(time.monotonic() - t2, 1)}
        except Exception as e:      # noqa: BLE001 -- reported by dc_wait to the members and to up
            r["error"] = str(e) if isinstance(e, (LabError, OSError)) else "%s: %s" % (type(e).__name__, e)
        finally:
            r["ready"].set()

    def dc_wait(self, r):
        if not r["ready"].wait(DC_READY_S + 60):
            raise LabError("realm %s: the DC is not ready after %d s" % (r["realm"], DC_READY_S + 60))
        if r["error"]:
            raise LabError("realm %s: %s" % (r["realm"], r["error"]))

    def dc_run(self, r, argv, what, timeout=120, nss=True):
        """Runs a Samba tool for realm r; nss False: without nss_wrapper (provision looks up the machine's
        root, users and nogroup groups)."""
        env = self.daemon_env(os.path.join(r["root"], "winbindd"))
        if not nss:
            env = dict(os.environ, KRB5_CONFIG=env["KRB5_CONFIG"])
            env.pop("LD_PRELOAD", None)
        try:
            p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise LabError("%s: %s" % (what, e))
        if p.returncode != 0:
            raise LabError("%s failed (exit %d): %s" % (what, p.returncode, (p.stderr or p.stdout).strip()[-400:]))
        return p.stdout

    def provision_dc(self, r):
        root = r["root"]
        os.makedirs(root)
        empty = os.path.join(root, "empty.conf")
        write_file(empty, "")
        self.dc_run(r, ["samba-tool", "domain", "provision", "-s", empty, "--targetdir=" + root,
                        "--realm=" + r["realm"], "--domain=" + r["workgroup"], "--server-role=dc",
                        "--dns-backend=NONE", "--use-rfc2307", "--adminpass=" + r["admin_password"],
                        "--host-name=" + DC_NAME, "--host-ip=" + r["addr"]],
                    "samba-tool domain provision (%s)" % r["realm"], timeout=DC_READY_S, nss=False)
        for sub in ("pid", "ncalrpc", "winbindd", "log", "usershares", "cache"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        write_file(os.path.join(root, "etc", "smb.conf"), self.dc_conf(r))

    def dc_conf(self, r):
        root = r["root"]
        return "\n".join([
            "# written by dpfleet-lab: the AD DC of realm %s (replaces provision's smb.conf)" % r["realm"],
            "[global]",
            "netbios name = %s" % DC_NAME.upper(), "realm = %s" % r["realm"], "workgroup = %s" % r["workgroup"],
            "server role = active directory domain controller", "server services = %s" % DC_SERVICES,
            "dns update command = /bin/true",
            "interfaces = %s/8" % r["addr"], "bind interfaces only = yes", "disable netbios = yes",
            "private dir = %s/private" % root, "state directory = %s/state" % root,
            "cache directory = %s/cache" % root, "lock directory = %s" % root, "pid directory = %s/pid" % root,
            "ncalrpc dir = %s/ncalrpc" % root, "binddns dir = %s/bind-dns" % root,
            "winbindd socket directory = %s/winbindd" % root, "usershare path = %s/usershares" % root,
            "log file = %s/log/log.samba" % root, "max log size = 2000", "log level = %s" % AUTH_LOG_LEVEL,
            "ntlm auth = disabled", "server signing = mandatory",
            "load printers = no", "printing = bsd", "printcap name = /dev/null", "disable spoolss = yes",
            "idmap_ldb:use rfc2307 = yes", "",
            "[sysvol]", "path = %s/state/sysvol" % root, "read only = no", "",
            "[netlogon]", "path = %s/state/sysvol/%s/scripts" % (root, r["realm"].lower()), "read only = no", ""])

    def start_dc(self, r):
        """`samba -i -M single` in its own session and mount namespace, where DIR/h/dcK/log is bind-mounted on
        /var/log/samba (samba-dcerpcd and its helpers, started on demand by the DC's smbd, log there)."""
        root = r["root"]
        out = open(os.path.join(root, "log", "samba.out"), "wb")
        script = "mount --bind \"$1\" /var/log/samba 2>/dev/null || true\nexec samba -i -M single -s \"$2\""
        try:
            p = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                                  os.path.join(root, "log"), os.path.join(root, "etc", "smb.conf")],
                                 env=self.daemon_env(os.path.join(root, "winbindd")), stdin=subprocess.DEVNULL,
                                 cwd=root,      # down finds it by its working directory (common.runs_in)
                                 stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            out.close()
        r["proc"] = p
        deadline = time.monotonic() + 120
        for port in (88, 389, 445):
            while not port_open(r["addr"], port):
                if p.poll() is not None:
                    raise LabError("samba (DC of %s) exited (status %s): %s" % (
                        r["realm"], p.returncode, tail(os.path.join(root, "log", "samba.out"))))
                if time.monotonic() > deadline:
                    raise LabError("samba (DC of %s) does not listen on %s:%d: %s" % (
                        r["realm"], r["addr"], port, tail(os.path.join(root, "log", "log.samba"))))
                time.sleep(0.1)
        pidf = os.path.join(root, "pid", "samba.pid")
        while not os.path.exists(pidf) and time.monotonic() < deadline:
            time.sleep(0.05)
        r["pid"] = p.pid

    def dc_accounts(self, r):
        """Before the DC starts, in one python3-samba process (ACCOUNTS_SCRIPT; eight samba-tool runs cost ~1 s
        of CPU each): the ldap/ SPNs (samba_spnupdate's job), the realm's scan account in Domain Admins and its
        keytab; then its password file in DIR/krb and its passwd line for the members' nss_wrapper (idmap_rid:
        uid = range base + RID, gid of Domain Users likewise)."""
        fq = r["dc_fqdn"]
        kt = os.path.join(krb_dir(self.d), "%s.keytab" % r["realm"])
        spns = ["ldap/%s" % fq, "ldap/%s/%s" % (fq, r["realm"].lower()), "ldap/%s" % DC_NAME.upper(),
                "ldap/%s/%s" % (fq, r["workgroup"])]
        out = self.dc_run(r, [SAMBA_PYTHON, "-c", ACCOUNTS_SCRIPT, os.path.join(r["root"], "etc", "smb.conf"),
                              DC_NAME.upper() + "$", SCAN_USER, r["password"], kt, "%s@%s" % (SCAN_USER, r["realm"])]
                          + spns, "scan account (%s)" % r["realm"])
        m = re.search(r"^rid ([0-9]+)$", out, re.M)
        if not m or not os.path.exists(kt):
            raise LabError("scan account (%s): no RID or no keytab: %r" % (r["realm"], out[-200:]))
        os.chmod(kt, 0o600)
        write_file(os.path.join(krb_dir(self.d), "%s.password" % r["realm"]), r["password"] + "\n", 0o600)
        base = (r["k"] + 1) * IDMAP_STEP
        r["uid"] = base + int(m.group(1))
        r["gid"] = base + 513
        with self.nss_lock:
            with open(os.path.join(self.d, "nss", "passwd"), "a") as f:
                f.write("%s\\%s:x:%d:%d:dpfleet scan account:/nonexistent:/usr/sbin/nologin\n"
                        % (r["workgroup"], SCAN_USER, r["uid"], r["gid"]))
            with open(os.path.join(self.d, "nss", "group"), "a") as f:
                f.write("%s\\domain users:x:%d:\n" % (r["workgroup"], r["gid"]))

    # -- members and second-domain hosts (hooks of smbd_host) ------------------------------------------------
    def auth_globals(self, i, root, g):
        """smb.conf [global] lines g of instance i, changed for a realm member or a second domain's host."""
        over = {"log level": AUTH_LOG_LEVEL}      # every host: its NTLM and Kerberos logons in log.smbd
        if i.get("workgroup"):
            over["workgroup"] = i["workgroup"]
        if i.get("realm"):
            r = self.realms[i["realm"]]
            base = (r["k"] + 1) * IDMAP_STEP
            over.update({
                "server role": "member server", "security": "ads", "realm": r["realm"],
                "password server": r["dc_fqdn"], "kerberos method": "secrets and keytab",
                "dedicated keytab file": "%s/private/krb5.keytab" % root,
                "ntlm auth": "disabled", "server signing": "mandatory",
                "idmap config * : backend": "tdb", "idmap config * : range": "3000-7999",
                "idmap config %s : backend" % r["workgroup"]: "rid",
                "idmap config %s : range" % r["workgroup"]: "%d-%d" % (base, base + IDMAP_STEP - 1),
                "winbind use default domain": "no", "template shell": "/usr/sbin/nologin"})
        out, seen = [], set()
        for line in g:
            k = line.split("=", 1)[0].strip() if "=" in line else None
            if k in over:
                out.append("%s = %s" % (k, over[k]))
                seen.add(k)
            else:
                out.append(line)
        end = len(out) - 1 if out and out[-1] == "" else len(out)
        out[end:end] = ["%s = %s" % (k, v) for k, v in over.items() if k not in seen]
        return out

    def auth_prepare(self, i):
        """After prepare_instance: a realm member joins its domain (`net ads join`, Kerberos: the DC refuses
        NTLM); a second domain's host gets its own account instead of the lab's (smbpasswd)."""
        if i.get("realm"):
            r = self.realms[i["realm"]]
            self.dc_wait(r)
            self.dc_run(r, ["net", "ads", "join", "-s", i["conf"], "-S", r["dc_fqdn"], "--use-kerberos=required",
                            "-U", "Administrator%" + r["admin_password"]], "net ads join (%s)" % i["fqdn"])
        elif i.get("workgroup") and not i.get("realm"):
            dom = self.domains[i["workgroup"]]
            pw = dom["password"]
            self.run(["smbpasswd", "-c", i["conf"], "-s", "-a", dom["user"]], stdin="%s\n%s\n" % (pw, pw),
                     what="smbpasswd %s (%s)" % (dom["user"], i["fqdn"]))
            self.run(["smbpasswd", "-c", i["conf"], "-x", SCAN_USER], what="smbpasswd -x (%s)" % i["fqdn"])

    def auth_daemons(self, i):
        """(extra lines of the start script, env) for start_smbd: a member's winbindd before smbd."""
        if not i.get("realm"):
            return [], None
        return (['winbindd --configfile="$2" -D'], self.daemon_env(os.path.join(i["root"], "winbindd")))

    def auth_client(self, i):
        """(net credential arguments, env) for the lab's own winreg readiness client, or None for the default."""
        if i.get("realm"):
            r = self.realms[i["realm"]]
            env = dict(os.environ, **self.client_env_vars())
            return (["-S", i["fqdn"], "--use-kerberos=required", "-U", "%s@%s%%%s" % (SCAN_USER, r["realm"],
                                                                                       r["password"])], env)
        if i.get("workgroup"):
            dom = self.domains[i["workgroup"]]
            env = dict(os.environ, PASSWD=dom["password"])
            env.pop("LD_PRELOAD", None)
            return (["-I", i["real_addr"], "-U", "%s\\%s" % (dom["domain"], dom["user"])], env)
        return None

    def auth_nss(self):
        """Second domains' accounts in the lab's passwd and admin group (after write_nss)."""
        self.nss_lock = threading.Lock()
        if not self.domains:
            return
        users = [dom["user"] for dom in self.domains.values()]
        pw = os.path.join(self.d, "nss", "passwd")
        with open(pw, "a") as f:
            for n, u in enumerate(users):
                f.write("%s:x:%d:%d:dpfleet scan account (%s):/nonexistent:/usr/sbin/nologin\n"
                        % (u, SCAN_UID + 10 + n, SCAN_UID, u))
        gr = os.path.join(self.d, "nss", "group")
        with open(gr) as f:
            text = f.read()
        text = re.sub(r"^(%s:x:%d:.*)$" % (ADMIN_GROUP, ADMIN_GID), lambda m: m.group(1) + "," + ",".join(users),
                      text, flags=re.M)
        write_file(gr, text)

    # -- what the scanner and the tests read ---------------------------------------------------------
    def addc_scanner_conf(self):
        """[credentials NAME] sections (dpfleet.conf(5)) for each realm and second domain."""
        out = []
        for r in self.realms.values():
            out += ["[credentials %s]" % r["realm"].lower(), "domain = %s" % r["workgroup"], "user = %s" % SCAN_USER,
                    "keytab = %s" % os.path.join(krb_dir(self.d), "%s.keytab" % r["realm"]),
                    "principal = %s@%s" % (SCAN_USER, r["realm"]), "fqdn_suffix = %s" % r["realm"].lower(), ""]
        for dom in self.domains.values():
            codes = sorted({s["code"] for s in self.sc["sites"] if s.get("domain") == dom["domain"]})
            fqdns = sorted(i["fqdn"] for i in dom["hosts"] if i["host"] and i["host"]["domain"] == dom["domain"]
                           and i["host"]["site"] not in codes)
            pwf = os.path.join(krb_dir(self.d), "%s.password" % dom["domain"])
            write_file(pwf, dom["password"] + "\n", 0o600)
            out += ["[credentials %s]" % dom["domain"].lower(), "domain = %s" % dom["domain"],
                    "user = %s" % dom["user"], "password_file = %s" % pwf]
            if codes:
                out.append("site_codes = %s" % ", ".join(codes))
            if fqdns:
                out.append("fqdn_suffix = %s" % ", ".join(fqdns))
            out.append("")
        return out

    def addc_lab_json(self):
        """lab.json's kerberos, domains and smbd_logs entries (tests/lab/README.md)."""
        kd = krb_dir(self.d)
        return {
            "kerberos": {
                "krb5_conf": os.path.join(self.d, "krb5.conf"), "env_file": os.path.join(self.d, "krb.env"),
                "env": self.client_env_vars(),
                "realms": {r["realm"]: {
                    "kdc": r["addr"], "dc": r["dc_fqdn"], "domain": r["workgroup"],
                    "principal": "%s@%s" % (SCAN_USER, r["realm"]), "user": SCAN_USER, "password": r["password"],
                    "keytab": os.path.join(kd, "%s.keytab" % r["realm"]),
                    "password_file": os.path.join(kd, "%s.password" % r["realm"]),
                    "credential_set": r["realm"].lower(), "dc_log": os.path.join(r["root"], "log", "log.samba"),
                    "timing": r.get("timing"),
                    "hosts": sorted(i["fqdn"] for i in r["hosts"])} for r in self.realms.values()}},
            "domains": {dom["domain"]: {
                "user": dom["user"], "password": dom["password"], "credential_set": dom["domain"].lower(),
                "password_file": os.path.join(kd, "%s.password" % dom["domain"]),
                "hosts": sorted(i["fqdn"] for i in dom["hosts"])} for dom in self.domains.values()},
            "smbd_logs": {i["fqdn"]: os.path.join(i["root"], "log.smbd") for i in self.inst if i.get("root")},
        }

    def auth_expect(self, i):
        """The expect entries of a host's authentication (merged into lab.json expect)."""
        if i.get("realm"):
            r = self.realms[i["realm"]]
            return {"auth": "kerberos", "realm": r["realm"], "domain": r["workgroup"],
                    "credential_set": r["realm"].lower(), "ntlm_refused": True}
        if i.get("workgroup"):
            return {"auth": "ntlm", "realm": None, "domain": i["workgroup"],
                    "credential_set": i["workgroup"].lower(), "ntlm_refused": False}
        return {"auth": "ntlm", "realm": None, "domain": WORKGROUP, "credential_set": None, "ntlm_refused": False}


def port_open(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=0.3):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------
# NTLM evidence

NTLM_LINE = re.compile(r"^\s*Auth: \[SMB2?,[^\]]*\] user .* with \[(NTLMv2|NTLMv1|NTLM)\] status \[([A-Z0-9_]+)\]")


KRB_LINE = re.compile(r"^\s*Successful AuthZ: \[SMB2?,krb5\] user ")


NEGOTIATE_LINE = re.compile(r"^\s*Got NTLMSSP neg_flags=0x[0-9a-f]+\s*$")


def auth_counts(log_path):
    """Counts in a host's log.smbd and its rotated log.smbd.old (`max log size`; auth/auth_log.c lines, `log
    level = ... auth_audit:4 auth:3`): ntlm_negotiate = NTLMSSP NEGOTIATE messages that reached smbd (the first
    message of any NTLM exchange), ntlm = NTLM authentications that reached the host (any status), ntlm_ok = those
    that succeeded, kerberos = Kerberos sessions authorized.  A missing log counts zero."""
    c = {"ntlm_negotiate": 0, "ntlm": 0, "ntlm_ok": 0, "kerberos": 0}
    for path in (log_path + ".old", log_path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = NTLM_LINE.match(line)
                    if m:
                        c["ntlm"] += 1
                        c["ntlm_ok"] += m.group(2) == "NT_STATUS_OK"
                    elif KRB_LINE.match(line):
                        c["kerberos"] += 1
                    elif NEGOTIATE_LINE.match(line):
                        c["ntlm_negotiate"] += 1
        except FileNotFoundError:
            pass
    return c


def lab_auth_counts(lab):
    """auth_counts() of every host of a lab.json dict: {fqdn: counts}."""
    return {fq: auth_counts(p) for fq, p in lab.get("smbd_logs", {}).items()}
