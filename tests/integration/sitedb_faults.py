#!/usr/bin/env python3
"""sitedb_faults — `dpfleet-scanner --inventory` when the site DB misbehaves: bad login, server down
(nothing listening), login delay beyond login_timeout, query delay beyond query_timeout, connection dropped
mid-result, reply truncated, a missing table.  Each must exit 1 with its own one-line message on stderr,
within the timeout that applies + 2 s (a correctness bound on the client's deadline handling, measured
with time.monotonic), and leave the stored fleet exactly as the previous good inventory left it."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, free_port, PASSWORD  # noqa: E402

LOGIN_TIMEOUT = 2
QUERY_TIMEOUT = 2
SLACK = 2.0


def main(t, env):
    env.start_tdsd()
    conf = env.write_conf()
    rc, out, err, _ = env.scanner(conf)
    if not t.equal(rc, 0, "baseline inventory exits 0"):
        print("     stderr: %s" % err)
    before = env.stored()
    t.check(before is not None and len(before[1]) == 5, "baseline stored 5 hosts")

    def case(name, conf_path, faults, bound, want):
        env.set_faults(faults)
        rc, out, err, dt = env.scanner(conf_path)
        env.set_faults({})
        lines = err.splitlines()
        t.equal(rc, 1, "%s: exit 1" % name)
        t.equal(out, "", "%s: nothing on stdout" % name)
        t.check(len(lines) == 1, "%s: exactly one line on stderr (%r)" % (name, err))
        t.check(all(w in err for w in want), "%s: message names %s (%r)" % (name, want, err.strip()))
        t.check(dt <= bound + SLACK, "%s: failed within %.0f s + %.0f s (took %.2f s)"
                % (name, bound, SLACK, dt))
        print("     %s: %.2f s" % (name, dt))
        t.equal(env.stored(), before, "%s: stored fleet unchanged" % name)
        t.equal(env.leftovers, [], "%s: private freetds.conf dir removed" % name)
        t.check(PASSWORD not in err and "not-the-password" not in err, "%s: no password in the message" % name)

    case("bad login", env.write_conf("bad.conf", password_file=env.pw_bad), {}, LOGIN_TIMEOUT,
         ["login failed", "18456", "dpfleet_reader"])
    case("login rejected", conf, {"login_reject": True}, LOGIN_TIMEOUT, ["login failed", "18456"])
    case("server down", env.write_conf("down.conf", port=free_port()), {}, LOGIN_TIMEOUT,
         ["unreachable", "refused"])
    case("login delay", conf, {"login_delay_ms": (LOGIN_TIMEOUT + 4) * 1000}, LOGIN_TIMEOUT,
         ["timeout", "login timed out after %d s" % LOGIN_TIMEOUT])
    case("query delay", conf, {"query_delay_ms": (QUERY_TIMEOUT + 6) * 1000}, QUERY_TIMEOUT,
         ["timeout", "query timed out after %d s" % QUERY_TIMEOUT, "v_Site"])
    case("query delay on one view", conf,
         {"query_delay_ms": (QUERY_TIMEOUT + 6) * 1000, "match": "v_DistributionPointInfo"},
         QUERY_TIMEOUT, ["timeout", "reading v_DistributionPointInfo"])
    # drop_after_bytes counts every byte tdsd sent on the connection: its PRELOGIN + LOGIN7 replies take
    # about 440 bytes and the v_Site reply (COLMETADATA + 3 rows) the next ~640, so 750 cuts a row.
    case("dropped mid-result", conf, {"drop_after_bytes": 750}, QUERY_TIMEOUT,
         ["connection dropped", "reading v_Site"])
    case("dropped during login", conf, {"drop_after_bytes": 200}, LOGIN_TIMEOUT,
         ["connection dropped", "login"])
    case("truncated reply", conf, {"truncate_reply_bytes": 40, "match": "v_SystemResourceList"},
         QUERY_TIMEOUT, ["connection dropped", "reading v_SystemResourceList"])

    # The private freetds.conf is what carries the encryption setting: tdsd answers PRELOGIN with
    # ENCRYPT_NOT_SUP, so `encryption = require` must fail the login, and say why (sitedb_tls: the rest).
    case("encryption required", env.write_conf("enc.conf", encryption="require"), {}, LOGIN_TIMEOUT,
         ["no verified TLS session", "encryption = require"])

    env.sitedb_exec("ALTER TABLE v_SystemResourceList RENAME TO gone_SystemResourceList;")
    case("missing table", conf, {}, QUERY_TIMEOUT,
         ["missing table", "v_SystemResourceList", "208"])
    env.sitedb_exec("ALTER TABLE gone_SystemResourceList RENAME TO v_SystemResourceList;")

    rc, out, err, _ = env.scanner(conf)
    t.check(rc == 0 and err == "", "after the faults a clean inventory works again (%r)" % err)


if __name__ == "__main__":
    run(main, login_timeout=LOGIN_TIMEOUT, query_timeout=QUERY_TIMEOUT)
