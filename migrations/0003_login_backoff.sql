-- Sign-in back-off instead of a hard lock (doc/dpfleet-server.8, SIGN-IN, SESSIONS AND CSRF).  failed_logins
-- counts the failed sign-ins since the last success (a failure more than a day after the previous one starts
-- again at 1), last_failed_at is the newest of them, and locked_until now means "no password is checked
-- before this time".  lib/store_users.c (store_login_claim) counts an attempt before its password is
-- checked, in one transaction, so parallel attempts cannot pass the back-off together.  The per-failure
-- rows of login_failures are no longer needed.
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0);
ALTER TABLE users ADD COLUMN last_failed_at TEXT;
DROP TABLE login_failures;
