-- Hosts the site DB lists that dpfleet never scans nor fixes: cloud distribution points and cloud management
-- gateways (Azure services listed in v_DistributionPointInfo; no Remote Registry, no SMB share to read).
-- NULL for an on-premises host; else the kind word of lib/words.h (words_cloud), set by the inventory
-- (scanner/sitedb.c recognises the row, lib/store_fleet.c writes it).  See dpfleet-scanner(8), "What is
-- skipped", and doc/FIELD-NOTES.md, "Cloud distribution points and cloud management gateways".
ALTER TABLE hosts ADD COLUMN cloud TEXT CHECK (cloud IS NULL OR cloud IN ('cloud_dp', 'cmg'));
