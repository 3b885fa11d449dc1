"""The scenario file: its schema (tests/lab/README.md), validation with every error reported, the
REG_MULTI_SZ helpers of IssuingCertificateList, and `generate` (a realistic scenario printed as JSON).
"""
import base64
import datetime
import hashlib
import json
import random
import re
import sys

from .realms import generated_site, host_auth, site_auth
from .sitedb import validate_sitedb
from . import regraw
from .logs import add_cohosts, check_cohosts, check_host_logs, check_site_logs
from .common import (DEFAULT_LOG_DATE, DEFAULT_RR_IDLE_S, LOG_KINDS, LabError, MAX_RTT_MS, NETWORKS, REGISTRY_STATES,
                     RR_STATES, SHARES, SITE_TYPES, SMB_TIMEOUT_S, die)


# ---------------------------------------------------------------------------------------------------
# Scenario: strict validation (unknown keys are an error), defaults for optional keys.

SITE_KEYS = {"code": True, "name": False, "type": True, "parent": False, "server": True,
             "issuing_certificate_list": False, "extra_values": False, "certmgr_denied": False, "certmgr_rolled": False,
             "realm": False, "domain": False}


HOST_KEYS = {"fqdn": True, "site": True, "roles": True, "pxe": False, "registry": False,
             "smspxe_log": False, "smspxe_share": False, "network": False, "slow_ms": False,
             "scan_account_admin": False, "remote_registry": False, "rpc_delay_ms": False,
             "remote_registry_idle_s": False, "rtt_ms": False, "jitter_ms": False, "loss": False,
             "auth": False, "realm": False, "domain": False,
             "cloud": False, "registry_raw": False,
             "cohost": False, "history_logs": False, "ipv6": False, "smb_encrypt": False}

SMB_ENCRYPT = ("off", "required")      # a host's smb_encrypt: its smbd's `server smb encrypt` (smbd_host.smb_conf)

CLOUD_KINDS = ("dp", "cmg")     # a host's `cloud`: a cloud DP or a CMG row, no smbd (sitedb.CLOUD_ROWS)


TOP_KEYS = {"sites": True, "hosts": True, "log_date": False, "comment": False, "site_servers": False,
            "sitedb": False}       # sitedb: the site DB's logins (sitedb.validate_sitedb)


WAN_KEYS = {"network": False, "rtt_ms": False, "jitter_ms": False, "loss": False}   # top-level site_servers


def check_wan(obj, w):
    """The relay's keys of a host (or of site_servers): rtt_ms (required), jitter_ms, loss only with network
    wan.  Returns {rtt_ms, jitter_ms, loss} for a wan host, else None."""
    net = obj.get("network", "ok")
    if net != "wan":
        want(not any(k in obj for k in ("rtt_ms", "jitter_ms", "loss")),
             "%s: rtt_ms, jitter_ms and loss need network wan" % w)
        return None
    wan = {"rtt_ms": obj.get("rtt_ms"), "jitter_ms": obj.get("jitter_ms", 0), "loss": obj.get("loss", 0)}
    for k in ("rtt_ms", "jitter_ms"):
        want(isinstance(wan[k], int) and not isinstance(wan[k], bool) and 0 <= wan[k] <= MAX_RTT_MS,
             "%s: %s must be an integer 0..%d (network wan needs rtt_ms)" % (w, k, MAX_RTT_MS))
    want(isinstance(wan["loss"], (int, float)) and not isinstance(wan["loss"], bool) and 0 <= wan["loss"] <= 1,
         "%s: loss must be a number 0..1 (the probability that a connection is reset)" % w)
    wan["loss"] = float(wan["loss"])
    return wan


FQDN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


CODE_RE = re.compile(r"^[A-Z0-9]{3}$")


def check_keys(obj, spec, where):
    if not isinstance(obj, dict):
        raise LabError("%s: must be an object" % where)
    for k in obj:
        if k not in spec:
            raise LabError("%s: unknown key %r" % (where, k))
    for k, req in spec.items():
        if req and k not in obj:
            raise LabError("%s: missing required key %r" % (where, k))


def want(cond, msg):
    if not cond:
        raise LabError(msg)


def load_scenario(path):
    try:
        with open(path, encoding="utf-8") as f:
            sc = json.load(f)
    except (OSError, ValueError) as e:
        raise LabError("%s: %s" % (path, e))
    return validate_scenario(sc, path)


def validate_scenario(sc, where="scenario"):
    check_keys(sc, TOP_KEYS, where)
    validate_sitedb(sc.get("sitedb"), where)
    want(isinstance(sc["sites"], list) and sc["sites"], "%s: sites must be a non-empty list" % where)
    want(isinstance(sc["hosts"], list), "%s: hosts must be a list" % where)
    log_date = sc.get("log_date", DEFAULT_LOG_DATE)
    try:
        datetime.date.fromisoformat(log_date)
    except (TypeError, ValueError):
        raise LabError("%s: log_date must be YYYY-MM-DD" % where)
    sites, hosts = [], []
    codes = {}
    for i, s in enumerate(sc["sites"]):
        w = "%s: sites[%d]" % (where, i)
        check_keys(s, SITE_KEYS, w)
        code = s["code"]
        want(isinstance(code, str) and CODE_RE.match(code), "%s: code must be 3 upper-case letters/digits" % w)
        want(code not in codes, "%s: duplicate site code %s" % (w, code))
        want(s["type"] in SITE_TYPES, "%s: type must be cas|primary|secondary" % w)
        server = s["server"]
        want(isinstance(server, str) and FQDN_RE.match(server), "%s: server must be a lower-case FQDN" % w)
        icl = s.get("issuing_certificate_list")
        want(icl is None or (isinstance(icl, str) and icl != ""),
             "%s: issuing_certificate_list must be a non-empty string or null" % w)
        extra = s.get("extra_values", [])
        want(isinstance(extra, list) and all(isinstance(v, str) and v for v in extra),
             "%s: extra_values must be a list of non-empty strings" % w)
        denied = s.get("certmgr_denied", [])
        want(isinstance(denied, list) and all(isinstance(v, str) for v in denied),
             "%s: certmgr_denied must be a list of FQDNs" % w)
        name = s.get("name", code + " site")
        want(isinstance(name, str), "%s: name must be a string" % w)
        parent = s.get("parent")
        want(parent is None or isinstance(parent, str), "%s: parent must be a site code or null" % w)
        site = {"code": code, "name": name, "type": s["type"], "parent": parent, "server": server,
                "issuing_certificate_list": icl, "extra_values": list(extra),
                "certmgr_denied": list(denied), "index": i}
        check_site_logs(s, site, w)     # logs.py: certmgr_rolled
        site.update(site_auth(s, w))      # addc.py: realm (Kerberos hosts) or domain (a second domain)
        codes[code] = site
        sites.append(site)
    for site in sites:
        w = "%s: site %s" % (where, site["code"])
        p = site["parent"]
        if site["type"] == "cas":
            want(p is None, "%s: a CAS has no parent" % w)
        elif p is not None:
            want(p in codes, "%s: unknown parent %s" % (w, p))
            want(p != site["code"], "%s: a site cannot be its own parent" % w)
            if site["type"] == "secondary":
                want(codes[p]["type"] == "primary", "%s: a secondary's parent must be a primary" % w)
            else:
                want(codes[p]["type"] == "cas", "%s: a primary's parent must be the CAS" % w)
        else:
            want(site["type"] == "primary", "%s: a secondary site needs a parent" % w)
    want(any(s["type"] == "primary" for s in sites), "%s: at least one primary site is required" % where)
    want(sum(1 for s in sites if s["type"] == "cas") <= 1, "%s: at most one CAS" % where)
    fqdns = set()
    for i, h in enumerate(sc["hosts"]):
        w = "%s: hosts[%d]" % (where, i)
        check_keys(h, HOST_KEYS, w)
        fqdn = h["fqdn"]
        want(isinstance(fqdn, str) and FQDN_RE.match(fqdn), "%s: fqdn must be a lower-case FQDN" % w)
        want(fqdn not in fqdns, "%s: duplicate fqdn %s" % (w, fqdn))
        fqdns.add(fqdn)
        want(h["site"] in codes, "%s: unknown site %r" % (w, h["site"]))
        roles = h["roles"]
        want(isinstance(roles, list) and roles and all(r in ("dp", "mp") for r in roles)
             and len(set(roles)) == len(roles), "%s: roles must be a non-empty subset of [dp, mp]" % w)
        host = {
            "fqdn": fqdn, "site": h["site"], "roles": sorted(roles),
            "pxe": h.get("pxe", False), "registry": h.get("registry", "ok"),
            "smspxe_log": h.get("smspxe_log", "none"), "smspxe_share": h.get("smspxe_share", "SMS_DP$"),
            "network": h.get("network", "ok"), "slow_ms": h.get("slow_ms", 3000),
            "scan_account_admin": h.get("scan_account_admin", True), "index": i,
            "remote_registry": h.get("remote_registry", "running"), "rpc_delay_ms": h.get("rpc_delay_ms", 0),
            "remote_registry_idle_s": h.get("remote_registry_idle_s", DEFAULT_RR_IDLE_S),
            "smb_encrypt": h.get("smb_encrypt", "off"),
        }
        want(isinstance(host["pxe"], bool), "%s: pxe must be a boolean" % w)
        want(not host["pxe"] or "dp" in roles, "%s: pxe needs the dp role" % w)
        want(host["registry"] in REGISTRY_STATES, "%s: registry must be one of %s" % (w, "|".join(REGISTRY_STATES)))
        want(host["smspxe_log"] in LOG_KINDS, "%s: smspxe_log must be one of %s" % (w, "|".join(LOG_KINDS)))
        want(host["smspxe_log"] == "none" or "dp" in roles, "%s: an SMSPXE log needs the dp role" % w)
        want(host["smspxe_share"] in SHARES, "%s: smspxe_share must be SMS_DP$ or ADMIN$" % w)
        want(host["network"] in NETWORKS, "%s: network must be one of %s" % (w, "|".join(NETWORKS)))
        want(isinstance(host["slow_ms"], int) and not isinstance(host["slow_ms"], bool)
             and 0 <= host["slow_ms"] <= 600000, "%s: slow_ms must be an integer 0..600000" % w)
        want(isinstance(host["scan_account_admin"], bool), "%s: scan_account_admin must be a boolean" % w)
        host["wan"] = check_wan(h, w)
        want(host["smb_encrypt"] in SMB_ENCRYPT, "%s: smb_encrypt must be one of %s" % (w, "|".join(SMB_ENCRYPT)))
        want(isinstance(host["remote_registry"], str) and host["remote_registry"] in RR_STATES,
             "%s: remote_registry must be one of %s" % (w, "|".join(RR_STATES)))
        want(isinstance(host["rpc_delay_ms"], int) and not isinstance(host["rpc_delay_ms"], bool)
             and 0 <= host["rpc_delay_ms"] <= 600000, "%s: rpc_delay_ms must be an integer 0..600000" % w)
        want(isinstance(host["remote_registry_idle_s"], int) and not isinstance(host["remote_registry_idle_s"], bool)
             and 1 <= host["remote_registry_idle_s"] <= 86400,
             "%s: remote_registry_idle_s must be an integer 1..86400" % w)
        want(host["remote_registry"] != "disabled" or host["rpc_delay_ms"] == 0,
             "%s: rpc_delay_ms needs remote_registry running or trigger_start (a disabled service never binds)" % w)
        want("remote_registry_idle_s" not in h or host["remote_registry"] == "trigger_start",
             "%s: remote_registry_idle_s only applies to remote_registry trigger_start" % w)
        check_estate(h, host, w)
        check_host_logs(h, host, w)     # logs.py: cohost, history_logs, ipv6
        if host["registry"] == "ok" and not host["cloud"]:
            want(codes[h["site"]]["issuing_certificate_list"] is not None,
                 "%s: registry ok needs the site's issuing_certificate_list (site %s has null)" % (w, h["site"]))
        host_auth(h, codes[h["site"]], host, w)
        hosts.append(host)
    for site in sites:
        for d in site["certmgr_denied"]:
            want(d in fqdns, "%s: site %s: certmgr_denied names unknown host %s" % (where, site["code"], d))
        if site["server"] in fqdns:
            h = next(x for x in hosts if x["fqdn"] == site["server"])
            want(h["network"] in ("ok", "wan"),
                 "%s: site server %s must have network ok or wan" % (where, site["server"]))
    check_cohosts(sites, hosts, where)
    servers = [s["server"] for s in sites]
    want(len(set(servers)) == len(servers), "%s: two sites share a server" % where)
    ss = sc.get("site_servers", {})
    check_keys(ss, WAN_KEYS, "%s: site_servers" % where)
    want(ss.get("network", "ok") in ("ok", "wan"), "%s: site_servers: network must be ok or wan" % where)
    return {"sites": sites, "hosts": hosts, "log_date": log_date,
            "site_servers_wan": check_wan(ss, "%s: site_servers" % where), "sitedb": sc.get("sitedb") or {}}


def check_estate(h, host, w):
    """A host's `cloud` (dp | cmg: a site-DB row only, roles [dp], nothing else set) and `registry_raw` (exact
    bytes for IssuingCertificateList, regraw.check) into host."""
    host["cloud"] = h.get("cloud")
    want(host["cloud"] is None or host["cloud"] in CLOUD_KINDS, "%s: cloud must be dp or cmg" % w)
    if host["cloud"]:
        want(h["roles"] == ["dp"] and set(h) <= {"fqdn", "site", "roles", "cloud"},
             "%s: a cloud host has roles [dp] and no other key (it is a site-DB row, nothing listens)" % w)
    try:
        host["registry_raw"] = regraw.check(h["registry_raw"], w) if "registry_raw" in h else None
    except regraw.RawError as e:
        raise LabError(str(e))
    want(host["registry_raw"] is None or host["registry"] == "ok",
         "%s: registry_raw needs registry ok (the key exists; the raw value replaces the site's)" % w)


def value_elements(value1):
    """Value1 as REG.exe /t REG_MULTI_SZ /d writes it: split on the two characters backslash-zero."""
    return [e for e in value1.split("\\0") if e != ""]


def multisz_bytes(elements):
    """UTF-16LE, each element NUL-terminated, then the final NUL.  No elements: two NULs (4 bytes)."""
    if not elements:
        return b"\0\0\0\0"
    out = b"".join(e.encode("utf-16-le") + b"\0\0" for e in elements)
    return out + b"\0\0"


def multisz_sha256(elements):
    """lib/util.h util_multisz_sha256: SHA-256 over each UTF-8 element followed by one NUL byte."""
    if elements is None:
        return None
    return hashlib.sha256(b"".join(e.encode("utf-8") + b"\0" for e in elements)).hexdigest()


def fake_value1(seed_text, n=3):
    """A deterministic stand-in for a site's IssuingCertificateList Value1 (opaque base64 blobs)."""
    parts = []
    for k in range(n):
        blob = b""
        for j in range(6):
            blob += hashlib.sha256(("%s/%d/%d" % (seed_text, k, j)).encode()).digest()
        parts.append(base64.b64encode(blob).decode())
    return ";".join(parts)


# ---------------------------------------------------------------------------------------------------
# generate

def cmd_generate(a):
    if a.sites < 1 or a.hosts < 0 or not 0.0 <= a.broken <= 1.0:
        die("generate: --sites >= 1, --hosts >= 0, 0 <= --broken <= 1")
    rng = random.Random(a.seed)
    sites = []
    n = a.sites
    if n >= 3:
        n_prim = max(1, (n - 1) * 2 // 3)
        sites.append({"code": "CAS", "type": "cas", "parent": None})
        prims = ["P%02d" % k for k in range(1, n_prim + 1)]
        for c in prims:
            sites.append({"code": c, "type": "primary", "parent": "CAS"})
        for k in range(1, n - 1 - n_prim + 1):
            sites.append({"code": "S%02d" % k, "type": "secondary", "parent": prims[(k - 1) % len(prims)]})
    else:
        for k in range(1, n + 1):
            sites.append({"code": "P%02d" % k, "type": "primary", "parent": None})
    for s in sites:
        s["name"] = {"cas": "Central Administration Site", "primary": "Primary site %s",
                     "secondary": "Secondary site %s"}[s["type"]].replace("%s", s["code"])
        s["server"] = "cm-%s.lab.test" % s["code"].lower()
        s["issuing_certificate_list"] = fake_value1("site/%s/%s" % (a.seed, s["code"]))
        s["certmgr_denied"] = []
    host_sites = [s for s in sites if s["type"] != "cas"]
    if a.broken > 0 and len(sites) >= 3:
        sites[-1]["issuing_certificate_list"] = None                     # a site with no value in the DB
    if a.broken > 0 and len(sites) >= 4:
        sites[1]["extra_values"] = [fake_value1("other/%s" % a.seed)]   # an ambiguous site
    kinds = ["missing", "denied", "nonadmin", "blackhole", "empty", "mismatch", "no_key", "down", "slow",
             "expired_cert"]
    n_broken = int(round(a.hosts * a.broken))
    broken_at = set(rng.sample(range(a.hosts), n_broken)) if n_broken else set()
    order = sorted(broken_at)
    kind_of = {h: kinds[k % len(kinds)] for k, h in enumerate(order)}
    hosts = []
    counters = {}
    # Primaries carry most DPs, secondaries fewer, the site without a value (if any) very few.
    weights = [0.3 if s["issuing_certificate_list"] is None else (3.0 if s["type"] == "primary" else 1.0)
               for s in host_sites]
    site_of = [host_sites[k] for k in range(min(a.hosts, len(host_sites)))]
    site_of += rng.choices(host_sites, weights=weights, k=max(0, a.hosts - len(host_sites)))
    for k in range(a.hosts):
        site = site_of[k]
        r = rng.random()
        roles = ["mp"] if r < 0.08 else (["dp", "mp"] if r < 0.18 else ["dp"])
        pxe = "dp" in roles and rng.random() < 0.6
        prefix = {"dp": "dp", "mp": "mp", "dp,mp": "dpmp"}[",".join(roles)]
        counters[prefix] = counters.get(prefix, 0) + 1
        h = {"fqdn": "%s%03d.%s.lab.test" % (prefix, counters[prefix], site["code"].lower()),
             "site": site["code"], "roles": roles, "pxe": pxe, "registry": "ok",
             "smspxe_log": "clean" if pxe else "none",
             "smspxe_share": "ADMIN$" if rng.random() < 0.2 else "SMS_DP$", "network": "ok",
             "scan_account_admin": True}
        kind = kind_of.get(k)
        if kind in ("missing", "empty", "mismatch", "no_key", "denied"):
            h["registry"] = kind
            if pxe and kind in ("missing", "empty"):
                h["smspxe_log"] = "cert_errors"
            if kind == "denied":
                site["certmgr_denied"].append(h["fqdn"])
        elif kind == "nonadmin":
            h["registry"] = "missing"
            h["scan_account_admin"] = False
            h["smspxe_share"] = "SMS_DP$"
            if pxe:
                h["smspxe_log"] = "cert_errors"
            site["certmgr_denied"].append(h["fqdn"])
        elif kind in ("down", "blackhole", "slow"):
            h["network"] = kind
            if kind == "slow":
                h["slow_ms"] = 1500
        elif kind == "expired_cert" and "dp" in roles:
            h["pxe"] = True
            h["smspxe_log"] = "expired_cert"
        if site["issuing_certificate_list"] is None and h["registry"] == "ok":
            h["registry"] = "missing"
            if h["pxe"] and h["smspxe_log"] == "clean":
                h["smspxe_log"] = "cert_errors"
        hosts.append(h)
    if a.broken > 0:
        # Remote Registry states, drawn from their own random stream so the fields above stay what they were
        # for a seed: ~10% trigger_start, ~5% disabled, ~5% binds answered 1-2.5 s late (well under the
        # scanner.conf [smb] timeout the lab writes) and, in fleets of 40 hosts or more, one host whose binds
        # come after it.  Only hosts whose network is ok, one state each.
        rr = random.Random("remote_registry/%d" % a.seed)
        cand = [k for k, h in enumerate(hosts) if h["network"] == "ok"]
        rr.shuffle(cand)
        n = len(hosts)

        def take(m):
            return [cand.pop() for _ in range(min(m, len(cand)))]

        for k in take(int(round(n * 0.10))):
            hosts[k]["remote_registry"] = "trigger_start"
        for k in take(int(round(n * 0.05))):
            hosts[k]["remote_registry"] = "disabled"
        for k in take(int(round(n * 0.05))):
            hosts[k]["rpc_delay_ms"] = rr.choice((1000, 1500, 2000, 2500))
        for k in take(1 if n >= 40 else 0):
            hosts[k]["rpc_delay_ms"] = SMB_TIMEOUT_S * 1000 + 2000
    if a.broken > 0:
        # A cloud DP and a CMG on the first primary: site-DB rows only, listed and never scanned.
        prim = next(s for s in sites if s["type"] == "primary")
        hosts.append({"fqdn": "cdp-%s.cloudapp.net" % prim["code"].lower(), "site": prim["code"], "roles": ["dp"],
                      "cloud": "dp"})
        hosts.append({"fqdn": "cmg-%s.westeurope.cloudapp.azure.com" % prim["code"].lower(), "site": prim["code"],
                      "roles": ["dp"], "cloud": "cmg"})
        add_cohosts(hosts, prim)    # logs.py: DPs co-hosted with an MP, a DP on the site server
    if getattr(a, "kerberos_site", False):     # addc.py: site KR1 of Kerberos-only hosts
        ksite, khosts = generated_site(sites, fake_value1("site/%s/KR1" % a.seed))
        sites.append(ksite)
        hosts += khosts
    sc = {"sites": sites, "hosts": hosts}
    validate_scenario(json.loads(json.dumps(sc)), "generated scenario")
    json.dump(sc, sys.stdout, indent=1)
    sys.stdout.write("\n")
