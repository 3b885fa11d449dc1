"""Values written raw into a lab host's registry: a host's `registry_raw` {"type", "hex"} puts exactly those
bytes, with that value type, into IssuingCertificateList (tests/lab/README.md, "Raw registry values"), so the
lab can hold what Windows itself may write and a .reg-style list of strings cannot say: a REG_MULTI_SZ with a
single final NUL, an extra NUL or a trailing empty string, a REG_SZ, a REG_BINARY (Microsoft Learn, "Registry
value types").

How: the instance's registry seed (smbd_host.reg_file, imported by `net registry import`) gets the line
`"IssuingCertificateList"=hex(N):..` instead of the canonical one.  Samba's .reg parser takes hex(N) as the
value's type and its bytes as they are; registry.tdb then holds them unchanged (checked with tdbdump: 8, 12 and
2-byte REG_MULTI_SZ, a 6-byte REG_SZ and a 3-byte REG_BINARY stored byte for byte) and rpcd_winreg's
QueryValue answers them unchanged.  `net registry setvalue` cannot do this (no multi_sz, no raw bytes).
Samba's SetValue (source3/registry/reg_api.c, reg_setvalue) keeps the stored value, type included, when the new
bytes equal the stored ones: unlike Windows, writing REG_MULTI_SZ over a REG_BINARY with the same bytes
leaves a REG_BINARY, so a raw value of another type should not hold the canonical bytes of the site's list.

read_value() reads a value back over winreg with Samba's own IDL-generated client (python3-samba,
samba.dcerpc.winreg): the type and the exact bytes, independent of dpfleet's codec.  python3-samba lives in
Debian's /usr/bin/python3 only, so `python3 regraw.py read ...` (run by that interpreter) is the entry tests use
(read_value_cli).
"""
import json
import os
import subprocess
import sys

# Microsoft Learn, "Registry value types" (winnt.h REG_*).
TYPES = {"REG_NONE": 0, "REG_SZ": 1, "REG_EXPAND_SZ": 2, "REG_BINARY": 3, "REG_DWORD": 4, "REG_MULTI_SZ": 7,
         "REG_QWORD": 11}
MAX_BYTES = 64 * 1024
SYSTEM_PYTHON = "/usr/bin/python3"       # the interpreter Debian's python3-samba is built for


class RawError(Exception):
    pass


def check(spec, where):
    """A host's registry_raw, validated: {"type": name, "code": REG_* number, "hex": lower-case hex}.  Raises
    RawError with the reason."""
    if not isinstance(spec, dict) or set(spec) != {"type", "hex"}:
        raise RawError("%s: registry_raw must be {\"type\": REG_..., \"hex\": \"...\"}" % where)
    if spec["type"] not in TYPES:
        raise RawError("%s: registry_raw type must be one of %s" % (where, "|".join(sorted(TYPES))))
    h = spec["hex"]
    try:
        data = bytes.fromhex(h) if isinstance(h, str) else None
    except ValueError:
        data = None
    if data is None or len(data) > MAX_BYTES:
        raise RawError("%s: registry_raw hex must be hexadecimal digits (at most %d bytes)" % (where, MAX_BYTES))
    return {"type": spec["type"], "code": TYPES[spec["type"]], "hex": data.hex()}


def reg_line(name, spec):
    """The .reg line (Windows Registry Editor 5.00) that sets value `name` to spec's type and bytes."""
    data = bytes.fromhex(spec["hex"])
    kind = "hex" if spec["code"] == 3 else "hex(%x)" % spec["code"]
    return '"%s"=%s:%s' % (name, kind, ",".join("%02x" % b for b in data))


def read_value(addr, user, password, domain, key, name):
    """(type, bytes) of value `name` under HKLM subkey `key` on addr, read with samba.dcerpc.winreg; (None,
    None) when the value does not exist.  Needs python3-samba (SYSTEM_PYTHON)."""
    from samba import credentials, param
    from samba.dcerpc import winreg

    lp = param.LoadParm()
    lp.set("client min protocol", "SMB2_02")
    creds = credentials.Credentials()
    creds.guess(lp)
    creds.set_domain(domain)
    creds.set_username(user)
    creds.set_password(password)
    conn = winreg.winreg("ncacn_np:%s" % addr, lp, creds)
    hklm = conn.OpenHKLM(None, winreg.KEY_QUERY_VALUE)
    kname = winreg.String()
    kname.name = key
    h = conn.OpenKey(hklm, kname, 0, winreg.KEY_QUERY_VALUE)
    vname = winreg.String()
    vname.name = name
    try:
        vtype, data, size, length = conn.QueryValue(h, vname, TYPES["REG_NONE"], [0] * MAX_BYTES, MAX_BYTES, 0)
    except RuntimeError as e:
        if e.args and e.args[0] == 2:        # WERR_FILE_NOT_FOUND (badfile): no such value
            return None, None
        raise
    finally:
        conn.CloseKey(h)
    return vtype, bytes(data[:length])


def read_value_cli(addr, user, password, domain, key, name, timeout=60):
    """read_value() run by SYSTEM_PYTHON (the password goes on stdin): (type, bytes) or (None, None).  Raises
    RawError with the reader's error."""
    r = subprocess.run([SYSTEM_PYTHON, "-I", os.path.abspath(__file__), "read", addr, user, domain, key, name],
                       input=password + "\n", capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RawError("winreg read of %s on %s failed: %s" % (name, addr, (r.stderr or r.stdout).strip()[-400:]))
    out = json.loads(r.stdout)
    return out["type"], (bytes.fromhex(out["hex"]) if out["hex"] is not None else None)


def main(argv):
    if len(argv) != 7 or argv[1] != "read":
        sys.stderr.write("usage: regraw.py read ADDR USER DOMAIN KEY VALUE  (password on stdin)\n")
        return 2
    password = sys.stdin.readline().rstrip("\n")
    vtype, data = read_value(argv[2], argv[3], password, argv[4], argv[5], argv[6])
    sys.stdout.write(json.dumps({"type": vtype, "hex": data.hex() if data is not None else None}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
