-- How many times the scanner tried a host before it settled on the observation's verdict (1 = the first
-- contact answered).  Transient failures (Remote Registry still starting, a reset or stalled SMB/RPC
-- exchange) are retried with backoff inside the host's deadline; see dpfleet-scanner(8), [smb] retries.
ALTER TABLE observations ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 1);
