"""SMSPXE.log and CertMgr.log as ConfigMgr writes them (CMTrace records: doc/FIELD-NOTES.md), for each
host's log share: normal PXE traffic, the KB 4469580 failure sequence and the expired-certificate one; where
each log lives (the placements of doc/FIELD-NOTES.md §6: a DP alone, with the client, co-hosted with a
management point or the site server), history copies SMSPXE-<yyyymmdd>-<hhmmss>.log, and a rolled CertMgr.lo_;
the scenario keys for them (cohost, history_logs, ipv6 on hosts; certmgr_rolled on sites).
"""
import datetime
import random
import uuid

from .common import CERT_ERROR_MARK, COHOSTS, EXPIRED_MARK, HISTORY_MAX, LabError


# ---------------------------------------------------------------------------------------------------
# Scenario keys (validated here, called by scenario.validate_scenario).

def _want(cond, msg):
    if not cond:
        raise LabError(msg)


def check_site_logs(s, site, w):
    """A site's certmgr_rolled (bool): its denials are in CertMgr.lo_, CertMgr.log holds only later cycles."""
    site["certmgr_rolled"] = s.get("certmgr_rolled", False)
    _want(isinstance(site["certmgr_rolled"], bool), "%s: certmgr_rolled must be a boolean" % w)


def check_host_logs(h, host, w):
    """A host's cohost (mp | site_server), history_logs (0..HISTORY_MAX) and ipv6 (bool) into host."""
    host["cohost"] = h.get("cohost")
    host["history_logs"] = h.get("history_logs", 0)
    host["ipv6"] = h.get("ipv6", False)
    c = host["cohost"]
    _want(c is None or c in COHOSTS, "%s: cohost must be one of %s" % (w, "|".join(COHOSTS)))
    if c is not None:
        _want("dp" in h["roles"], "%s: cohost describes a DP: it needs the dp role" % w)
        _want(c != "mp" or "mp" in h["roles"], "%s: cohost mp needs the mp role too" % w)
        _want("smspxe_share" not in h, "%s: with cohost, SMSPXE.log is where Windows puts it: no smspxe_share" % w)
    n = host["history_logs"]
    _want(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= HISTORY_MAX,
          "%s: history_logs must be an integer 0..%d" % (w, HISTORY_MAX))
    _want(n == 0 or host["smspxe_log"] != "none", "%s: history_logs needs an smspxe_log" % w)
    _want(isinstance(host["ipv6"], bool), "%s: ipv6 must be a boolean" % w)
    _want(not host["ipv6"] or host["network"] == "ok", "%s: an ipv6 host has network ok" % w)


def check_cohosts(sites, hosts, where):
    """cohost site_server: the host is its own site's server."""
    for h in hosts:
        if h.get("cohost") == "site_server":
            _want(any(s["server"] == h["fqdn"] and s["code"] == h["site"] for s in sites),
                  "%s: %s has cohost site_server but is not the server of its site %s" % (where, h["fqdn"], h["site"]))


def add_cohosts(hosts, prim):
    """For `generate`: every DP that is also an MP (read with an admin account) writes SMSPXE.log where the MP
    keeps its logs (cohost mp), and the site server of prim (a generated primary) becomes a PXE DP too, value
    missing, its SMSPXE.log with the KB 4469580 errors in the site's Logs folder (cohost site_server)."""
    for h in hosts:
        if sorted(h["roles"]) == ["dp", "mp"] and h.get("scan_account_admin", True) and not h.get("cloud"):
            h.pop("smspxe_share", None)
            h["cohost"] = "mp"
    hosts.append({"fqdn": prim["server"], "site": prim["code"], "roles": ["dp"], "pxe": True, "registry": "missing",
                  "smspxe_log": "cert_errors", "network": "ok", "cohost": "site_server"})


def pxe_placement(host):
    """(share, dir, path under the instance's shares/) where Windows writes this DP's SMSPXE.log."""
    if host.get("cohost") == "site_server":
        return "SMS_%s" % host["site"], "Logs", "site_%s/Logs" % host["site"]
    if host.get("cohost") == "mp":
        return "C$", "SMS_CCM/Logs", "c/SMS_CCM/Logs"
    if host["smspxe_share"] == "ADMIN$":
        return "ADMIN$", "CCM/Logs", "windows/CCM/Logs"
    return "SMS_DP$", "sms/logs", "smsdp/sms/logs"


# ---------------------------------------------------------------------------------------------------
# Logs.  CCM format for SMSPXE (multi-line messages, CRLF), site-server format for CertMgr.

class LogClock:
    def __init__(self, log_date, start_minutes, bias):
        d = datetime.date.fromisoformat(log_date)
        self.t = datetime.datetime(d.year, d.month, d.day, 8, 0, 0) + datetime.timedelta(minutes=start_minutes)
        self.bias = bias

    def tick(self, ms):
        self.t += datetime.timedelta(milliseconds=ms)
        return self.t

    def utc_iso(self, t):
        return (t + datetime.timedelta(minutes=self.bias)).strftime("%Y-%m-%dT%H:%M:%SZ")


def ccm_record(clock, msg, typ, thread, src, step_ms):
    t = clock.tick(step_ms)
    rec = '<![LOG[%s]LOG]!><time="%s.%03d%+04d" date="%s" component="SMSPXE" context="" type="%d" ' \
          'thread="%d" file="%s">\r\n' % (msg.replace("\n", "\r\n"), t.strftime("%H:%M:%S"),
                                          t.microsecond // 1000, clock.bias, t.strftime("%m-%d-%Y"),
                                          typ, thread, src)
    return rec, t


def mac_guid(rng):
    mac = ":".join("%02X" % rng.randrange(256) for _ in range(6))
    guid = str(uuid.UUID(int=rng.getrandbits(128))).upper()
    return mac, guid


def normal_pxe_records(rng, fqdn, mp, addr, count):
    out = []
    for _ in range(count):
        mac, guid = mac_guid(rng)
        k = rng.randrange(5)
        if k == 0:
            out.append(("[%s:4011] Recv From:[0.0.0.0:68] Len:548 0x%08x" % (addr, rng.getrandbits(32)), 1,
                        "pxehandler.cpp:227"))
        elif k == 1:
            out.append(("%s, %s: device is in the database." % (mac, guid), 1, "database.cpp:483"))
        elif k == 2:
            out.append(("Client lookup reply: <ClientIDReply><Identification Unknown=\"0\" ItemKey=\"%d\" "
                        "ServerName=\"\"><Machine><ClientID>GUID:%s</ClientID><NetbiosName>PC%04d</NetbiosName>"
                        "</Machine></Identification><PXEBootAction LastPXEAdvertisementID=\"\" "
                        "LastPXEAdvertisementTime=\"\" OfferID=\"\" OfferIDTime=\"\" PkgID=\"\" PackageVersion=\"\" "
                        "PackagePath=\"\" BootImageID=\"\" Mandatory=\"\"/></ClientIDReply>\n"
                        % (16777216 + rng.randrange(100000), guid, rng.randrange(10000)), 1, "libsmsmessaging.cpp:6544"))
        elif k == 3:
            out.append(("%s, %s: no advertisements found" % (mac, guid), 1, "database.cpp:483"))
        else:
            out.append(("Prioritizing local MP https://%s." % mp, 1, "libsmsmessaging.cpp:9858"))
    return out


def startup_records(fqdn, mp):
    return [
        ("============================> Starting SMSPXE", 1, "smspxe.cpp:226"),
        ("Loaded Windows Imaging API DLL (version '10.0.22621.1') from location 'C:\\Program Files (x86)\\"
         "Windows Kits\\10\\Assessment and Deployment Kit\\Deployment Tools\\amd64\\DISM\\wimgapi.dll'", 1,
         "wimfile.cpp:137"),
        ("Initializing PXEPerfObject.", 1, "pxeperf.cpp:50"),
        ("Prioritizing local MP https://%s." % mp, 1, "libsmsmessaging.cpp:9858"),
        ("Warning: Matching Processor Architecture Boot Image (0) not found", 2, "bootimagemgr.cpp:1128"),
        ("PXE Provider finished loading.", 1, "smspxe.cpp:184"),
    ]


KB_SEQUENCE = [
    ("Failed to create certificate store from encoded certificate..\n"
     "An error occurred during encode or decode operation. (Error: 80092002; Source: Windows)", 3,
     "libsmsmessaging.cpp:2013"),
    ("PXE::MP_GetList failed; 0x80092002", 3, "libsmsmessaging.cpp:6391"),
    ("PXE::MP_LookupDevice failed; 0x80092002", 3, "database.cpp:293"),
    ("PXE::MP_ReportStatus failed; 0x80092002", 3, "pxehandler.cpp:1182"),
    ("PXE Provider failed to initialize MP connection.\n"
     "An error occurred during encode or decode operation. (Error: 80092002; Source: Windows)", 3,
     "smspxe.cpp:349"),
]


EXPIRED_SEQUENCE = [
    ("Failed to validate PXEClientKey certificate. Certificate validity period expired.\n"
     "A required certificate is not within its validity period when verifying against the current system "
     "clock or the timestamp in the signed file. (Error: 800B0101; Source: Windows)", 3, "libsmsmessaging.cpp:3370"),
    ("PXE Provider failed to initialize MP connection.\n"
     "A required certificate is not within its validity period when verifying against the current system "
     "clock or the timestamp in the signed file. (Error: 800B0101; Source: Windows)", 3, "smspxe.cpp:349"),
]


def render_log(clock, items, thread):
    """items: (message, type, file).  Returns (text, [(message, utc_iso)])."""
    parts, stamped = [], []
    for msg, typ, src in items:
        rec, t = ccm_record(clock, msg, typ, thread, src, 1000 + (len(msg) * 7) % 900)
        parts.append(rec)
        stamped.append((msg, clock.utc_iso(t)))
    return "".join(parts), stamped


def history_name(log_date, back):
    """SMSPXE-<yyyymmdd>-<hhmmss>.log of the copy rolled `back` days before log_date's evening."""
    d = datetime.date.fromisoformat(log_date) - datetime.timedelta(days=back)
    return "SMSPXE-%s-180000.log" % d.strftime("%Y%m%d")


def build_smspxe(host, addr, mp, log_date, bias, seq):
    """Returns ({relative name: text}, expect-dict) for the host's SMSPXE.log (and .lo_, or its history
    copies).  With history_logs N, the log of the host's kind is the newest of N copies SMSPXE-<date>-<time>.log
    (its .lo_ is not kept: the copies are the rolled logs), the older copies and the current SMSPXE.log hold
    normal traffic only; expect counts the newest copy, which the scanner reads because the current log holds
    no evidence (doc/FIELD-NOTES.md §6)."""
    n = host.get("history_logs", 0)
    files, exp = build_smspxe_kind(host, addr, mp, log_date, bias, seq)
    exp["pxe_history_file"] = None
    if n == 0 or not files:
        return files, exp
    rng = random.Random("history/" + host["fqdn"])
    newest = files.pop("SMSPXE.log")
    files.pop("SMSPXE.lo_", None)
    exp.update(pxe_cert_errors=exp["pxe_cert_errors_live"], pxe_cert_errors_rolled=0, pxe_history_file=history_name(
        log_date, 0), pxe_cert_errors_history=exp["pxe_cert_errors_live"], pxe_cert_errors_live=0)
    files[history_name(log_date, 0)] = newest
    for back in range(1, n):
        clock = LogClock((datetime.date.fromisoformat(log_date) - datetime.timedelta(days=back)).isoformat(), seq * 3,
                         bias)
        files[history_name(log_date, back)] = render_log(clock, startup_records(host["fqdn"], mp)
                                                         + normal_pxe_records(rng, host["fqdn"], mp, addr, 8), 4242)[0]
    clock = LogClock(log_date, seq * 3 + 660, bias)     # after the newest copy was rolled at 18:00
    files["SMSPXE.log"] = render_log(clock, startup_records(host["fqdn"], mp)
                                     + normal_pxe_records(rng, host["fqdn"], mp, addr, 6), 4242)[0]
    return files, exp


def build_smspxe_kind(host, addr, mp, log_date, bias, seq):
    """Returns ({relative name: text}, expect-dict) for the host's SMSPXE.log (and .lo_) of its smspxe_log kind."""
    kind = host["smspxe_log"]
    exp = {"pxe_cert_errors": 0, "pxe_cert_errors_live": 0, "pxe_cert_errors_rolled": 0,
           "pxe_last_error": None, "pxe_expired_cert": False, "pxe_expired_last": None}
    if kind == "none":
        return {}, exp
    rng = random.Random("smspxe/" + host["fqdn"])
    thread = 3000 + rng.randrange(4000)
    files = {}
    cert_stamps = []
    if kind == "cert_errors":
        # The rolled file is the previous day; the live file is the log date.
        old = LogClock((datetime.date.fromisoformat(log_date) - datetime.timedelta(days=1)).isoformat(),
                       seq * 3, bias)
        items = startup_records(host["fqdn"], mp) + normal_pxe_records(rng, host["fqdn"], mp, addr, 6)
        items += KB_SEQUENCE + normal_pxe_records(rng, host["fqdn"], mp, addr, 4)
        text, st = render_log(old, items, thread)
        files["SMSPXE.lo_"] = text
        rolled = [s for m, s in st if CERT_ERROR_MARK in m]
        live_clock = LogClock(log_date, seq * 3, bias)
        items = startup_records(host["fqdn"], mp) + normal_pxe_records(rng, host["fqdn"], mp, addr, 3)
        for r in range(2 + seq % 2):
            items += KB_SEQUENCE + normal_pxe_records(rng, host["fqdn"], mp, addr, 3)
        text, st = render_log(live_clock, items, thread)
        files["SMSPXE.log"] = text
        live = [s for m, s in st if CERT_ERROR_MARK in m]
        cert_stamps = rolled + live
        exp.update(pxe_cert_errors=len(cert_stamps), pxe_cert_errors_live=len(live),
                   pxe_cert_errors_rolled=len(rolled), pxe_last_error=max(cert_stamps))
    elif kind == "expired_cert":
        clock = LogClock(log_date, seq * 3, bias)
        items = startup_records(host["fqdn"], mp) + normal_pxe_records(rng, host["fqdn"], mp, addr, 4)
        items += EXPIRED_SEQUENCE + normal_pxe_records(rng, host["fqdn"], mp, addr, 2) + EXPIRED_SEQUENCE
        text, st = render_log(clock, items, thread)
        files["SMSPXE.log"] = text
        exp.update(pxe_expired_cert=True, pxe_expired_last=max(s for m, s in st if EXPIRED_MARK in m))
    else:
        clock = LogClock(log_date, seq * 3, bias)
        items = startup_records(host["fqdn"], mp) + normal_pxe_records(rng, host["fqdn"], mp, addr, 12)
        text, _ = render_log(clock, items, thread)
        files["SMSPXE.log"] = text
    return files, exp


def build_certmgr_files(site, log_date, bias, seq):
    """{name: text} for the site's Logs folder: CertMgr.log; with certmgr_rolled the denials are in CertMgr.lo_
    and CertMgr.log holds a later cycle with none (the log rolled since)."""
    if not site.get("certmgr_rolled"):
        return {"CertMgr.log": build_certmgr(site, log_date, bias, seq)}
    later = dict(site, certmgr_denied=[])
    return {"CertMgr.lo_": build_certmgr(site, log_date, bias, seq),
            "CertMgr.log": build_certmgr(later, log_date, bias, seq + 60)}


def build_certmgr(site, log_date, bias, seq):
    clock = LogClock(log_date, seq * 5, bias)
    lines = []

    def line(msg):
        t = clock.tick(1500)
        lines.append("%s  $$<SMS_CERTIFICATE_MANAGER><%s.%03d%+04d><thread=7064 (0x1B98)>\r\n"
                     % (msg, t.strftime("%m-%d-%Y %H:%M:%S"), t.microsecond // 1000, bias))

    for cycle in range(2):
        line("Certificate Manager Thread is starting...")
        line("Checking for the site server's certificate validity...")
        line("Site server certificate is valid.")
        for fqdn in site["certmgr_denied"]:
            line("Cannot get copy of security registry key on server (%s) (0x80070005)" % fqdn)
            line("Failed to get the copy of Security registry key on server %s (0x80070005)" % fqdn)
        line("Completed processing certificate for site %s." % site["code"])
        line("Sleeping for 3600 seconds...")
    return "".join(lines)
