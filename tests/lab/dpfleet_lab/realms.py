"""The scenario's authentication keys and the plan they make: site `realm` or `domain`, host `auth`, `realm`,
`domain` (tests/lab/README.md, "Kerberos realms and second domains"), checked for scenario.py; `generate
--kerberos-site`'s site; plan_auth(), which marks each instance as a realm member or a second domain's host and
lists the realms (their DC's address, name and secrets) and domains that addc.py then builds.
"""
import os
import re
import secrets
import threading

from .common import LabError, WORKGROUP


REALM_RE = re.compile(r"^[A-Z0-9]([A-Z0-9-]{0,61}[A-Z0-9])?(\.[A-Z0-9]([A-Z0-9-]{0,61}[A-Z0-9])?)+$")


DOMAIN_RE = re.compile(r"^[A-Z][A-Z0-9-]{0,14}$")     # a NetBIOS domain name: 15 characters at most


AUTHS = ("ntlm", "kerberos")


DC_OFFSET = 2           # realm k's DC listens on BASE+2+k (the site DB is BASE+1, hosts start at BASE+10)


MAX_REALMS = 8


DC_NAME = "dc1"         # the DC of realm R is dc1.<r>


# ---------------------------------------------------------------------------------------------------
# Scenario keys: site realm/domain, host auth/realm/domain (tests/lab/README.md).

def site_auth(s, w):
    """The site's optional `realm` and `domain`, checked."""
    realm, domain = s.get("realm"), s.get("domain")
    if realm is not None and (not isinstance(realm, str) or not REALM_RE.match(realm)):
        raise LabError("%s: realm must be an upper-case DNS name like KRB.LAB.TEST" % w)
    if domain is not None and (not isinstance(domain, str) or not DOMAIN_RE.match(domain)):
        raise LabError("%s: domain must be a NetBIOS domain name (A-Z, 0-9, -, at most 15)" % w)
    if realm and domain:
        raise LabError("%s: realm and domain are exclusive (a realm's domain is its first label)" % w)
    return {"realm": realm, "domain": domain}


def host_auth(h, site, host, w):
    """Fills host["auth"], host["realm"], host["domain"] from the host's keys and its site's (site: the validated
    site dict); a Kerberos host must be a plain running host whose FQDN is <name>.<realm>."""
    auth = h.get("auth", "ntlm")
    if auth not in AUTHS:
        raise LabError("%s: auth must be ntlm or kerberos" % w)
    own = site_auth({"realm": h.get("realm"), "domain": h.get("domain")}, w)
    realm = own["realm"] or (None if own["domain"] else site.get("realm"))
    domain = own["domain"] or (None if own["realm"] else site.get("domain"))
    if auth == "kerberos":
        if not realm:
            raise LabError("%s: auth kerberos needs a realm (host or site key)" % w)
        fq = host["fqdn"]
        if not fq.endswith("." + realm.lower()) or fq.count(".") != realm.count(".") + 1:
            raise LabError("%s: a Kerberos host's fqdn must be <name>.%s" % (w, realm.lower()))
        if len(fq.split(".")[0]) > 15:
            raise LabError("%s: a Kerberos host's first label is its NetBIOS name: 15 characters at most" % w)
        if host["network"] != "ok" or host["remote_registry"] != "running" or host["rpc_delay_ms"]:
            raise LabError("%s: a Kerberos host needs network ok and remote_registry running" % w)
        if not host["scan_account_admin"] or host["registry"] == "denied":
            raise LabError("%s: a Kerberos host's scan account is a Domain Admin (scan_account_admin true, "
                           "registry not denied)" % w)
        domain = None
    else:
        realm = None
    host.update(auth=auth, realm=realm, domain=domain)


def generated_site(sites, value1):
    """`generate --kerberos-site`: a small Kerberos-only site (KR1, realm KRB.LAB.TEST; its site server and two
    PXE DPs, one healthy, one missing the value) as (site, hosts) in scenario form; sites: the generated ones
    (its parent is their CAS, if any)."""
    cas = [s["code"] for s in sites if s["type"] == "cas"]
    site = {"code": "KR1", "name": "Kerberos-only site", "type": "primary", "parent": cas[0] if cas else None,
            "server": "cm-kr1.krb.lab.test", "realm": "KRB.LAB.TEST", "issuing_certificate_list": value1,
            "certmgr_denied": []}
    hosts = [{"fqdn": "dpk01.krb.lab.test", "site": "KR1", "roles": ["dp"], "pxe": True, "registry": "ok",
              "smspxe_log": "clean", "auth": "kerberos"},
             {"fqdn": "dpk02.krb.lab.test", "site": "KR1", "roles": ["dp"], "pxe": True, "registry": "missing",
              "smspxe_log": "cert_errors", "auth": "kerberos"}]
    return site, hosts


def realm_domain(realm):
    return realm.split(".")[0][:15]


# ---------------------------------------------------------------------------------------------------
# Plan: realms, domains and what each instance is.

def plan_auth(lab):
    """Marks each instance (i["realm"] for a realm member, i["workgroup"] for a host of another domain; a site
    server not listed as a host follows its site) and returns (realms, domains) dicts."""
    sites = {s["code"]: s for s in lab.sc["sites"]}
    realms, domains = {}, {}
    for i in lab.inst:
        h = i["host"]
        if h:
            realm, dom = h["realm"], h["domain"]
        else:
            s = sites[i["site_codes"][0]]
            realm, dom = s.get("realm"), s.get("domain")
        if realm:
            if realm not in realms:
                k = len(realms)
                if k >= MAX_REALMS:
                    raise LabError("at most %d realms" % MAX_REALMS)
                realms[realm] = {
                    "realm": realm, "k": k, "workgroup": realm_domain(realm), "addr": str(lab.base + DC_OFFSET + k),
                    "dc_fqdn": "%s.%s" % (DC_NAME, realm.lower()), "root": os.path.join(lab.d, "h", "dc%d" % k),
                    "password": "Krb-" + secrets.token_urlsafe(15),
                    "admin_password": "Adm-" + secrets.token_urlsafe(15),
                    "hosts": [], "ready": threading.Event(), "error": None}
            i["realm"] = realm
            i["workgroup"] = realms[realm]["workgroup"]
            realms[realm]["hosts"].append(i)
        elif dom and dom != WORKGROUP:
            domains.setdefault(dom, {"domain": dom, "user": "svc_" + dom.lower().replace("-", "_"),
                                     "password": "Dom-" + secrets.token_urlsafe(15), "hosts": []})
            domains[dom]["hosts"].append(i)
            i["workgroup"] = dom
    for r in realms.values():
        for i in r["hosts"]:
            if not i["host"] and (not i["fqdn"].endswith("." + r["realm"].lower())
                                  or i["fqdn"].count(".") != r["realm"].count(".") + 1):
                raise LabError("site server %s of a site in realm %s must be <name>.%s"
                               % (i["fqdn"], r["realm"], r["realm"].lower()))
        names = [i["fqdn"].split(".")[0].upper() for i in r["hosts"]]
        if DC_NAME.upper() in names or len(set(names)) != len(names):
            raise LabError("realm %s: host names must be unique and not %s" % (r["realm"], DC_NAME))
    return realms, domains
