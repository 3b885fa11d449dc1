#!/usr/bin/env python3
"""sitedb_tls — the site DB connection's TLS, both ways real: `dpfleet-scanner --inventory` (FreeTDS) against
dpfleet-tdsd with --tls-cert/--tls-key (GnuTLS, handshake inside TDS PRELOGIN packets).  A throwaway CA and
server certificates are made with openssl in the test's temp dir.

- encryption = require with the right ca_file: the inventory reads, and tdsd's log shows the TLS session
  before the batches; host = localhost (a DNS subjectAltName) works as host = 127.0.0.1 (an IP one) does.
- a man in the middle -- a certificate for the right name from another CA, a certificate from the right CA
  for another name, a server that offers no TLS -- is refused: exit 1, a message naming the certificate
  check, no LOGIN7 and no batch reach tdsd, the stored fleet is unchanged.
- tls_name on this FreeTDS (1.3) is refused before anything is sent.
- encryption = off still works against a plain tdsd and logs the opt-out warning; request against a TLS tdsd
  works (everything encrypted when tdsd requires it, only LOGIN7 with --tls-mode login) and warns too.
- `-n` checks ca_file: unreadable or not "system"/an absolute path is an error."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, SCANNER  # noqa: E402

TLS_ALL = "everything encrypted"
TLS_LOGIN = "LOGIN7 encrypted, then plain text"


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    key, pem = os.path.join(d, name + ".key"), os.path.join(d, name + ".pem")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", pem, "-days", "2", "-subj", "/CN=%s" % name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return key, pem


def make_server(d, name, ca, san):
    """A server certificate and key signed by ca (key, pem) with subjectAltName san."""
    key, csr, pem, ext = [os.path.join(d, name + s) for s in (".key", ".csr", ".pem", ".ext")]
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % san)
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=%s" % name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[1], "-CAkey", ca[0], "-CAcreateserial", "-days", "2",
            "-extfile", ext, "-out", pem)
    return ["--tls-cert", pem, "--tls-key", key]


def conf(env, name, encryption, ca_file=None, host=None, tls_name=None):
    """A scanner.conf from the shared harness, with the TLS keys of this test added to [sitedb]."""
    path = env.write_conf(name, encryption=encryption)
    with open(path) as f:
        text = f.read()
    extra = "".join("%s = %s\n" % (k, v) for k, v in (("ca_file", ca_file), ("tls_name", tls_name)) if v)
    text = text.replace("encryption = %s\n" % encryption, "encryption = %s\n%s" % (encryption, extra))
    if host:
        text = text.replace("host = 127.0.0.1\n", "host = %s\n" % host)
    with open(path, "w") as f:
        f.write(text)
    return path


def tdsd_log(env):
    with open(env.tdsd_log, encoding="utf-8", errors="replace") as f:
        return f.read()


def restart(env, args):
    env.stop_tdsd()
    env.start_tdsd(args=args)


def reads_over_tls(t, env, what, path, session=TLS_ALL, warned=None):
    """The inventory reads (exit 0, every site printed) and tdsd logged a TLS session, then the batches."""
    before = len(tdsd_log(env))
    rc, out, err, _ = env.scanner(path)
    t.equal((rc, err), (0, ""), "%s: inventory exits 0, nothing else on stderr" % what)
    t.check(out.count("\n") > 5 and "P01\tprimary" in out, "%s: the fleet was read" % what)
    log = tdsd_log(env)[before:]
    m = re.search(r"^TLS session: (.*)$", log, re.M)
    t.check(m is not None and session in m.group(1) and m.start() < log.find("batch SELECT"),
            "%s: tdsd logged the TLS session before the batches (%s)" % (what, m.group(1) if m else log[-300:]))
    if warned is None:
        t.equal(env.optout_warnings, [], "%s: no opt-out warning" % what)
    else:
        t.check(len(env.optout_warnings) == 1 and warned in env.optout_warnings[0]
                and "man in the middle" in env.optout_warnings[0],
                "%s: warns about %s (%r)" % (what, warned, env.optout_warnings))


def refused(t, env, what, path, want, tdsd_says):
    """Exit 1 with want in the one-line message; tdsd saw no LOGIN7 and no batch (with tdsd_says None: no
    packet at all), and logged tdsd_says; nothing stored."""
    stored, before = env.stored(), len(tdsd_log(env))
    rc, out, err, _ = env.scanner(path)
    log = tdsd_log(env)[before:]
    t.check(rc == 1 and out == "" and len(err.splitlines()) == 1 and all(w in err for w in want),
            "%s: refused, exit 1, one line naming %s (%r)" % (what, want, err.strip()))
    t.check("login ok" not in log and "batch " not in log, "%s: no login and no batch reached tdsd" % what)
    if tdsd_says is None:
        t.check("PRELOGIN" not in log, "%s: refused before any packet was sent (%r)" % (what, log.strip()))
    else:
        t.check(tdsd_says in log, "%s: tdsd logged '%s' (%r)" % (what, tdsd_says, log.strip()[-300:]))
    t.equal(env.stored(), stored, "%s: stored fleet unchanged" % what)
    t.equal(env.leftovers, [], "%s: private freetds.conf removed" % what)


def check_n(path):
    p = subprocess.run([SCANNER, "-n", "-f", path], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def main(t, env):
    d = os.path.join(env.dir, "pki")
    os.mkdir(d, 0o700)
    ca, mitm_ca = make_ca(d, "site-ca"), make_ca(d, "mitm-ca")
    good = make_server(d, "sitedb", ca, "IP:127.0.0.1,DNS:localhost")
    forged = make_server(d, "forged", mitm_ca, "IP:127.0.0.1,DNS:localhost")
    other = make_server(d, "other", ca, "DNS:other.test")
    ca_file = ca[1]

    # 1. The default: require, verified against ca_file, by IP (subjectAltName IP) and by name.
    env.start_tdsd(args=good)
    reads_over_tls(t, env, "require, right CA, host 127.0.0.1", conf(env, "req.conf", "require", ca_file))
    reads_over_tls(t, env, "require, right CA, host localhost",
                   conf(env, "req-name.conf", "require", ca_file, host="localhost"))
    print("     tdsd: %s" % re.findall(r"^TLS session: .*$", tdsd_log(env), re.M)[0])

    # 2. Men in the middle.
    restart(env, forged)
    refused(t, env, "certificate from another CA", conf(env, "req.conf", "require", ca_file),
            ["certificate", "not trusted", ca_file], "TLS handshake failed")
    restart(env, other)
    refused(t, env, "certificate for another name", conf(env, "req.conf", "require", ca_file),
            ["certificate", "does not name '127.0.0.1'"], "TLS handshake failed")
    restart(env, [])
    refused(t, env, "server offers no TLS", conf(env, "req.conf", "require", ca_file),
            ["no verified TLS session", "offers no TLS"], "PRELOGIN")
    refused(t, env, "tls_name on FreeTDS 1.3", conf(env, "name.conf", "require", ca_file, tls_name="sitedb.test"),
            ["tls_name needs FreeTDS 1.5"], None)

    # 3. The opt-outs still work, and say what they risk.
    reads_plain = conf(env, "off.conf", "off")
    rc, out, err, _ = env.scanner(reads_plain)
    t.check(rc == 0 and err == "" and "P01\tprimary" in out, "off, plain tdsd: inventory reads (%r)" % err)
    t.check(len(env.optout_warnings) == 1 and "encryption = off" in env.optout_warnings[0]
            and "man in the middle" in env.optout_warnings[0], "off: the risk is logged (%r)" % env.optout_warnings)
    restart(env, good)
    reads_over_tls(t, env, "request, TLS required by tdsd", conf(env, "rq.conf", "request"), TLS_ALL,
                   warned="encryption = request")
    restart(env, good + ["--tls-mode", "login"])
    reads_over_tls(t, env, "request, tdsd --tls-mode login", conf(env, "rq.conf", "request"), TLS_LOGIN,
                   warned="encryption = request")

    # 4. -n checks ca_file.
    rc, out, err = check_n(conf(env, "n-good.conf", "require", ca_file))
    t.equal((rc, out, err), (0, "configuration OK\n", ""), "-n: readable ca_file is OK")
    rc, out, err = check_n(conf(env, "n-sys.conf", "require", "system"))
    t.equal((rc, out, err), (0, "configuration OK\n", ""), "-n: ca_file = system is OK")
    missing = os.path.join(d, "missing.pem")
    rc, out, err = check_n(conf(env, "n-missing.conf", "require", missing))
    t.check(rc == 1 and out == "" and "%s: No such file or directory" % missing in err,
            "-n: an unreadable ca_file is an error (%r)" % err.strip())
    rc, out, err = check_n(conf(env, "n-rel.conf", "require", "ca.pem"))
    t.check(rc == 1 and "[sitedb] ca_file: \"ca.pem\" is not \"system\" or an absolute path" in err,
            "-n: a relative ca_file is an error (%r)" % err.strip())


if __name__ == "__main__":
    run(main)
