"""The site database: a SQLite file built from tests/tdsd/configmgr.sql and the scenario's sites and
hosts, served by dpfleet-tdsd (tests/tdsd/README.md) on the lab's first address.  A cloud host (`cloud`: dp or
cmg) is a DP row with Region and ServiceType set and nothing else: no smbd, no address.

Logins (scenario key `sitedb`, tests/lab/README.md): by default a SQL login; with {"auth": "windows"} tdsd
runs Windows-authentication-only (--windows-only) with the domain login DOMAIN\\svc_cmread (--windows-login,
NTLMv2 verified against its password) and the lab's scanner.conf logs in with [sitedb] auth = ntlm.
"""
import os
import re
import sqlite3
import subprocess
import uuid

from .common import LabError, SITEDB_PORT, SITEDB_USER, SITE_TYPES, nal, source_root, write_file

# A host's `cloud` (tests/lab/README.md): the Region and ServiceType its v_DistributionPointInfo row carries
# (Microsoft Learn, "SMS_DistributionPointInfo server WMI class": set for cloud DPs only; SMS_AzureService:
# CloudDistributionPoint; CloudProxyService is what administrators select CMGs by).  On-premises rows: NULL.
CLOUD_ROWS = {"dp": ("West Europe", "CloudDistributionPoint"), "cmg": ("West Europe", "CloudProxyService")}

SITEDB_AUTH_KEYS = {"auth": False, "domain": False}     # the scenario's `sitedb` object
SITEDB_WIN_USER = "svc_cmread"                          # the domain login of {"auth": "windows"}
SITEDB_WIN_DOMAIN = "LABSQL"                            # its default domain (NetBIOS: 1..15 characters)


def validate_sitedb(spec, where):
    """The scenario's `sitedb` object: auth "sql" (default) or "windows", domain a NetBIOS name."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise LabError("%s: sitedb must be an object" % where)
    for k in spec:
        if k not in SITEDB_AUTH_KEYS:
            raise LabError("%s: sitedb: unknown key %r" % (where, k))
    if spec.get("auth", "sql") not in ("sql", "windows"):
        raise LabError("%s: sitedb: auth must be \"sql\" or \"windows\"" % where)
    dom = spec.get("domain", SITEDB_WIN_DOMAIN)
    if not isinstance(dom, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,15}", dom):
        raise LabError("%s: sitedb: domain must be 1 to 15 letters, digits, '-' or '_'" % where)


class SiteDb:
    """Lab's methods for sitedb (a mixin of lab.Lab: self is the Lab)."""

    # -- site database --------------------------------------------------------------------------------
    def write_sitedb(self):
        schema_path = os.path.join(source_root(), "tests", "tdsd", "configmgr.sql")
        try:
            with open(schema_path, encoding="utf-8") as f:
                schema = f.read()
        except OSError as e:
            raise LabError("site DB schema: %s" % e)
        path = os.path.join(self.d, "sitedb.sqlite")
        db = sqlite3.connect(path)
        try:
            db.executescript(schema)
            comp_id = 0
            prop_id = 0
            other_components = ["SMS_MP_CONTROL_MANAGER", "SMS_POLICY_PROVIDER", "SMS_DISTRIBUTION_MANAGER",
                                "SMS_HIERARCHY_MANAGER"]
            for n, s in enumerate(self.sc["sites"], 1):
                db.execute("INSERT INTO v_Site VALUES (?,?,?,?,?,?,?,?,?)",
                           (s["code"], s["name"], s["parent"] or "", "5.00.9122.1000", SITE_TYPES[s["type"]],
                            1, 9122, s["server"], "C:\\Program Files\\Microsoft Configuration Manager"))
                db.execute("INSERT INTO SC_SiteDefinition VALUES (?,?,?)", (n, s["code"], s["parent"] or ""))
                comp_id += 1
                db.execute("INSERT INTO SC_Component VALUES (?,?,?)", (comp_id, n, "SMS_SITE_COMPONENT_MANAGER"))
                main_comp = comp_id
                for name, v1, v3 in (("Certificate Store", "", 0), ("Enable Client Certificate Check", None, 1)):
                    prop_id += 1
                    db.execute("INSERT INTO SC_Component_Property VALUES (?,?,?,?,?,?)",
                               (prop_id, main_comp, name, v1, None, v3))
                if s["issuing_certificate_list"] is not None:
                    prop_id += 1
                    db.execute("INSERT INTO SC_Component_Property VALUES (?,?,?,?,?,?)",
                               (prop_id, main_comp, "IssuingCertificateList", s["issuing_certificate_list"], "", 0))
                for k, v in enumerate(s["extra_values"]):
                    comp_id += 1
                    db.execute("INSERT INTO SC_Component VALUES (?,?,?)",
                               (comp_id, n, other_components[k % len(other_components)]))
                    prop_id += 1
                    db.execute("INSERT INTO SC_Component_Property VALUES (?,?,?,?,?,?)",
                               (prop_id, comp_id, "IssuingCertificateList", v, "", 0))
                db.execute("INSERT INTO v_SystemResourceList VALUES (?,?,?,?,?)",
                           (nal(s["server"], s["code"]), "System Resource", s["code"], "SMS Site Server", s["server"]))
                db.execute("INSERT INTO v_SystemResourceList VALUES (?,?,?,?,?)",
                           (nal(s["server"], s["code"]), "System Resource", s["code"], "SMS Provider", s["server"]))
            dp_id = 0
            for h in self.sc["hosts"]:
                s = self.sites[h["site"]]
                if "dp" in h["roles"]:
                    dp_id += 1
                    region, stype = CLOUD_ROWS.get(h["cloud"], (None, None))
                    db.execute("INSERT INTO v_DistributionPointInfo VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                               (dp_id, h["fqdn"], nal(h["fqdn"], s["code"]), s["code"], s["name"], int(h["pxe"]),
                                int(h["pxe"]), 1, 0, "{%s}" % str(uuid.uuid5(uuid.NAMESPACE_DNS, h["fqdn"])).upper(),
                                1, 0, region, stype))
                    db.execute("INSERT INTO v_SystemResourceList VALUES (?,?,?,?,?)",
                               (nal(h["fqdn"], s["code"]), "System Resource", s["code"], "SMS Distribution Point",
                                h["fqdn"]))
                if "mp" in h["roles"]:
                    db.execute("INSERT INTO v_SystemResourceList VALUES (?,?,?,?,?)",
                               (nal(h["fqdn"], s["code"]), "System Resource", s["code"], "SMS Management Point",
                                h["fqdn"]))
                if not h["cloud"]:      # a cloud service runs no ConfigMgr component server
                    db.execute("INSERT INTO v_SystemResourceList VALUES (?,?,?,?,?)",
                               (nal(h["fqdn"], s["code"]), "System Resource", s["code"], "SMS Component Server",
                                h["fqdn"]))
            db.commit()
        finally:
            db.close()
        return path

    def sitedb_windows(self):
        """The Windows login's DOMAIN\\user when the scenario's site DB takes Windows logins only, else None."""
        spec = self.sc.get("sitedb") or {}
        if spec.get("auth", "sql") != "windows":
            return None
        return "%s\\%s" % (spec.get("domain", SITEDB_WIN_DOMAIN), SITEDB_WIN_USER)

    def sitedb_login_lines(self):
        """scanner.conf's [sitedb] login lines for this lab (dpfleet.conf(5), [sitedb] auth)."""
        pw = "password_file = %s/sitedb.password" % self.d
        win = self.sitedb_windows()
        if win is None:
            return ["user = %s" % SITEDB_USER, pw]
        return ["auth = ntlm", "user = %s" % win, pw]

    def tdsd_login_args(self):
        """dpfleet-tdsd's login flags: the SQL login, plus for a Windows-only site DB the domain login (its
        password in run/tdsd-windows.password, the lab's site DB password) and --windows-only."""
        args = ["--login", "%s:%s" % (SITEDB_USER, self.sitedb_password)]
        win = self.sitedb_windows()
        if win is not None:
            pwfile = os.path.join(self.d, "run", "tdsd-windows.password")
            write_file(pwfile, self.sitedb_password + "\n", 0o600)
            args += ["--windows-login", "%s:%s" % (win, pwfile), "--windows-only"]
        return args

    def start_tdsd(self, dbpath):
        if not self.tdsd_path or not os.access(self.tdsd_path, os.X_OK):
            raise LabError("dpfleet-tdsd not found (use --tdsd PATH, DPFLEET_TDSD or DPFLEET_BUILD_ROOT; "
                           "or --no-sitedb)")
        out = open(os.path.join(self.d, "run", "tdsd.out"), "wb")
        try:
            p = subprocess.Popen([self.tdsd_path, "--listen", "%s:%d" % (self.sitedb_addr, SITEDB_PORT),
                                  "--db", dbpath] + self.tdsd_login_args() + ["--database", self.database],
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        except OSError as e:
            raise LabError("dpfleet-tdsd: %s" % e)
        finally:
            out.close()
        write_file(os.path.join(self.d, "run", "tdsd.pid"), "%d\n" % p.pid)
        self.pids["tdsd"] = p.pid
        return p
