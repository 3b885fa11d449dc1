-- What else the registry value showed, whatever the verdict (NULL = nothing): a REG_MULTI_SZ whose bytes are
-- not the canonical encoding of the list Windows reads from them ("non-canonical REG_MULTI_SZ encoding (single
-- final NUL)"), a value of another type ("value type REG_SZ (1), not REG_MULTI_SZ"), why a value did not decode.
-- Written by scanner/verdict.c through lib/store_scan.c; see dpfleet-scanner(8), "Verdicts".
ALTER TABLE observations ADD COLUMN note TEXT;
