"""dpfleet-lab as a package: tests/lab/dpfleet-lab (the entry point) imports cli.main from here.

common (constants, process and port helpers), scenario (schema, validation, generate), logs (ConfigMgr logs),
smbd_host (the smbd/samba-dcerpcd hosts), sitedb (the SQLite site DB + dpfleet-tdsd), faults (refused,
blackhole, slow proxy), gate (the rpc gate), realms (the scenario's realm/domain/auth keys and their plan),
addc (a Samba AD DC per realm, its member hosts, second domains, the NTLM evidence), lab (Lab: all of them put
together), cli (the commands).
"""
