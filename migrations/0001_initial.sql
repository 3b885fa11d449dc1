-- 0001_initial.sql — the state DB shared by dpfleet-scanner (writes fleet, scans, job results) and
-- dpfleet-server (reads everything; writes users, sessions, scan_requests, queued jobs, audit).
-- Times are ISO 8601 UTC text, 'YYYY-MM-DDTHH:MM:SSZ'.  Hashes are lowercase hex SHA-256 of a value's
-- strings in UTF-8, each followed by one NUL byte (see lib/util.h util_multisz_sha256).

-- Sites as the site DB describes them.  expected_state: present (exactly one distinct Value1),
-- absent (no row), ambiguous (several distinct Value1): only 'present' may ever be written to a host.
CREATE TABLE sites (
	code            TEXT PRIMARY KEY,
	name            TEXT NOT NULL DEFAULT '',
	type            TEXT NOT NULL CHECK (type IN ('cas', 'primary', 'secondary', 'unknown')),
	parent          TEXT,
	server          TEXT,
	install_dir     TEXT,
	expected_state  TEXT NOT NULL CHECK (expected_state IN ('present', 'absent', 'ambiguous')),
	expected_value  TEXT,               -- Value1 exactly as the site DB holds it (present only)
	expected_sha256 TEXT,               -- hash of Value1 split the way REG.exe splits it
	first_seen      TEXT NOT NULL,
	last_seen       TEXT NOT NULL,
	retired_at      TEXT                -- set when the site vanished from the site DB
);

-- DPs and MPs.  A host with both roles is one row.  Hosts that vanish from the site DB are retired.
CREATE TABLE hosts (
	id              INTEGER PRIMARY KEY,
	fqdn            TEXT NOT NULL UNIQUE COLLATE NOCASE,
	site            TEXT NOT NULL,
	is_dp           INTEGER NOT NULL DEFAULT 0,
	is_mp           INTEGER NOT NULL DEFAULT 0,
	pxe             INTEGER NOT NULL DEFAULT 0,   -- IsPXE
	sccm_pxe        INTEGER NOT NULL DEFAULT 0,
	is_active       INTEGER NOT NULL DEFAULT 1,
	is_pull_dp      INTEGER NOT NULL DEFAULT 0,
	first_seen      TEXT NOT NULL,
	last_seen       TEXT NOT NULL,
	retired_at      TEXT,
	last_obs_id     INTEGER                       -- newest observation, kept by the scanner
);
CREATE INDEX hosts_site ON hosts (site);

-- One row per scan run.
CREATE TABLE scans (
	id              INTEGER PRIMARY KEY,
	trigger         TEXT NOT NULL CHECK (trigger IN ('schedule', 'request', 'cli', 'fix')),
	started_at      TEXT NOT NULL,
	finished_at     TEXT,
	state           TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'done', 'failed')),
	hosts           INTEGER NOT NULL DEFAULT 0,
	affected        INTEGER NOT NULL DEFAULT 0,
	unreachable     INTEGER NOT NULL DEFAULT 0,
	duration_ms     INTEGER,
	error           TEXT
);

-- One verdict per host per scan (pinned vocabulary, issue "Scan").
CREATE TABLE observations (
	id               INTEGER PRIMARY KEY,
	scan_id          INTEGER NOT NULL REFERENCES scans (id),
	host_id          INTEGER NOT NULL REFERENCES hosts (id),
	at               TEXT NOT NULL,
	state            TEXT NOT NULL CHECK (state IN ('healthy', 'missing', 'empty', 'mismatch', 'no_key',
	                                                'denied', 'unreachable', 'unknown')),
	reason           TEXT,
	affected         INTEGER NOT NULL DEFAULT 0,
	value_sha256     TEXT,
	expected_sha256  TEXT,
	pxe_cert_errors  INTEGER NOT NULL DEFAULT 0,
	pxe_last_error   TEXT,
	pxe_expired_cert INTEGER NOT NULL DEFAULT 0,
	certmgr_denied   INTEGER NOT NULL DEFAULT 0,
	certmgr_denied_at TEXT,
	scan_ms          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX observations_host ON observations (host_id, id);
CREATE INDEX observations_scan ON observations (scan_id);

-- Raw log records behind a verdict (at most 20 per observation).
CREATE TABLE evidence (
	id              INTEGER PRIMARY KEY,
	observation_id  INTEGER NOT NULL REFERENCES observations (id),
	source          TEXT NOT NULL CHECK (source IN ('smspxe', 'certmgr')),
	file            TEXT NOT NULL,               -- e.g. SMS_DP$/sms/logs/SMSPXE.log
	at              TEXT,                        -- the record's own time, UTC
	component       TEXT,
	type            INTEGER,                     -- 1 info, 2 warning, 3 error (CCM format)
	line            TEXT NOT NULL
);
CREATE INDEX evidence_obs ON evidence (observation_id);

-- Scans asked for by operators; the scanner polls this table.
CREATE TABLE scan_requests (
	id              INTEGER PRIMARY KEY,
	requested_by    TEXT NOT NULL,
	requested_at    TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
	picked_at       TEXT,
	scan_id         INTEGER REFERENCES scans (id)
);

-- Remediation jobs (state machine drawn in scanner/fix.c).
CREATE TABLE jobs (
	id              INTEGER PRIMARY KEY,
	kind            TEXT NOT NULL CHECK (kind IN ('fix', 'rollback')),
	host            TEXT NOT NULL COLLATE NOCASE, -- fqdn
	dry_run         INTEGER NOT NULL DEFAULT 0,
	rollback_of     INTEGER REFERENCES jobs (id),
	requested_by    TEXT NOT NULL,
	requested_at    TEXT NOT NULL,
	started_at      TEXT,
	finished_at     TEXT,
	state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed',
	                                                                'cancelled')),
	outcome         TEXT CHECK (outcome IS NULL OR outcome IN ('written', 'already_correct', 'would_write',
	                        'refused', 'access_denied', 'unreachable', 'verify_failed', 'restored')),
	expected_sha256 TEXT,
	before_sha256   TEXT,
	after_sha256    TEXT,
	backup          TEXT,               -- NULL until taken; 'absent' or lowercase hex of the raw value bytes
	backup_type     INTEGER,            -- registry type of the backed-up value (7 = REG_MULTI_SZ)
	attempts        INTEGER NOT NULL DEFAULT 0,
	error           TEXT
);
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_host ON jobs (host, id);

-- Operators of dpfleet-server.
CREATE TABLE users (
	id              INTEGER PRIMARY KEY,
	name            TEXT NOT NULL UNIQUE,
	role            TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	pwhash          TEXT NOT NULL,      -- libsodium crypto_pwhash_str (argon2id)
	disabled        INTEGER NOT NULL DEFAULT 0,
	locked_until    TEXT,
	created_at      TEXT NOT NULL
);

CREATE TABLE login_failures (
	user_id         INTEGER NOT NULL REFERENCES users (id),
	at              TEXT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (user_id, at);

-- Sessions: only the SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
	token_hash      TEXT PRIMARY KEY,
	user_id         INTEGER NOT NULL REFERENCES users (id),
	csrf_token      TEXT NOT NULL,
	created_at      TEXT NOT NULL,
	expires_at      TEXT NOT NULL
);

-- Who did what, when, to which target.  Both daemons and the CLI append; nobody updates or deletes.
CREATE TABLE audit (
	id              INTEGER PRIMARY KEY,
	at              TEXT NOT NULL,
	who             TEXT NOT NULL,      -- user name, 'cli:<unix user>' or 'scanner'
	action          TEXT NOT NULL,      -- e.g. login, scan.request, job.queue, job.start, job.end, user.add
	target          TEXT,               -- host fqdn, job id, user name
	outcome         TEXT,
	detail          TEXT                -- JSON object with hashes and the rest
);
CREATE INDEX audit_at ON audit (at);
