-- Which credential set a read or a write used (dpfleet.conf(5), "Credential sets"; dpfleet-scanner(8)):
-- "smb" for [smb] itself, else the NAME of its [credentials NAME] section.  NULL for rows written before this
-- migration and for an observation of a host no set matched (unreachable, reason no_credentials: never
-- contacted).  Written by the scanner (lib/store_scan.c, lib/store_jobs_exec.c); display data for the server.
ALTER TABLE observations ADD COLUMN cred_set TEXT;
ALTER TABLE jobs ADD COLUMN cred_set TEXT;
