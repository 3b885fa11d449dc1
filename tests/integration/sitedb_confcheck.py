#!/usr/bin/env python3
"""sitedb_confcheck — `dpfleet-scanner -n -f FILE` on real files: a good scanner.conf prints exactly
"configuration OK" and exits 0; a bad one prints every error in one run (parse errors with file:line, an
empty unknown section included, and the named files' problems too) and exits 1; a group-readable or
symlinked password file is refused.  No site DB is contacted (-n only reads the files)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sitedb_common import run, SCANNER  # noqa: E402


def check(conf):
    p = subprocess.run([SCANNER, "-n", "-f", conf], capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def main(t, env):
    good = env.write_conf("good.conf", port=1433)
    rc, out, err = check(good)
    t.equal((rc, out, err), (0, "configuration OK\n", ""), "good config: 'configuration OK', exit 0")

    # Bad: errors on lines 3, 5, 6, 8, 9 and a group-readable password file named by a parsed key.
    leaky = os.path.join(env.dir, "pw-leaky")
    with open(leaky, "w") as f:
        f.write("secret\n")
    os.chmod(leaky, 0o640)
    bad = os.path.join(env.dir, "bad.conf")
    with open(bad, "w") as f:
        f.write("[store]\n"                              # 1
                "path = %s\n"                            # 2
                "[bogus]\n"                              # 3: unknown section, no keys
                "[sitedb]\n"                             # 4
                "port = 99999\n"                         # 5: out of range
                "colour = blue\n"                        # 6: unknown key
                "[scan]\n"                               # 7
                "log_tail_bytes = 0\n"                   # 8: below 4096
                "no equals sign here\n"                  # 9: syntax
                "[smb]\n"                                # 10
                "user = svc\n"                           # 11
                "password_file = %s\n"                   # 12: group-readable
                % (env.state_path, leaky))
    rc, out, err = check(bad)
    t.equal(rc, 1, "bad config: exit 1")
    t.equal(out, "", "bad config: nothing on stdout (no 'configuration OK')")
    lines = err.splitlines()
    for line, text in [(3, "unknown section [bogus]"), (5, "[sitedb] port: \"99999\" is not an integer in 1..65535"),
                       (6, "unknown key \"colour\" in [sitedb]"),
                       (8, "[scan] log_tail_bytes: \"0\" is not an integer in 4096..8388608"),
                       (9, "expected \"key = value\"")]:
        t.check("%s:%d: %s" % (bad, line, text) in lines, "bad config: line %d reported: %s" % (line, text))
    t.check("%s: missing required key \"host\" in [sitedb]" % bad in lines, "bad config: missing key reported")
    t.check("%s: group or others have access (mode 640): chmod 600 it" % leaky in lines,
            "bad config: the group-readable password file is reported with the parse errors")
    t.equal(len(lines), 10, "bad config: 5 line errors + 4 missing keys + 1 file error, one per line (%r)" % err)

    # Otherwise good, but the password file is group-readable, then a symbolic link to a good one.
    rc, out, err = check(env.write_conf("leaky.conf", port=1433, password_file=leaky))
    t.check(rc == 1 and out == "" and "pw-leaky: group or others have access (mode 640)" in err,
            "group-readable password file refused, exit 1 (%r)" % err.strip())
    link = os.path.join(env.dir, "pw-link")
    os.symlink(env.pw_good, link)
    rc, out, err = check(env.write_conf("link.conf", port=1433, password_file=link))
    t.check(rc == 1 and out == "" and "pw-link: a symbolic link" in err,
            "symlinked password file refused, exit 1 (%r)" % err.strip())


if __name__ == "__main__":
    run(main)
