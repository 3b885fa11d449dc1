-- What the scanner needs to treat every job row as untrusted (dpfleet-scanner(8), "Jobs"; the server can
-- write any row of this DB):
--   site_sha256  a fix's hash of the site value the scanner read at run time; expected_sha256 stays the hash
--                the operator approved at queue time (never overwritten) and a fix writes only when both agree;
--   seal         HMAC-SHA256 (hex) with a key only the scanner can read ("<[store] path>.jobs.key") over a
--                written fix's id, host, backup, backup type and after-value hash, set when the scanner
--                finishes the job: a rollback restores only a backup whose seal verifies.
ALTER TABLE jobs ADD COLUMN site_sha256 TEXT;
ALTER TABLE jobs ADD COLUMN seal TEXT;
