-- sitedb_hostile.sql — awkward but legal site-DB contents for sitedb_data.py: a site name longer than the
-- 255-byte cap made of 2-byte UTF-8 characters, control characters in a name, NULL Type / parent / flags,
-- a Value1 made only of "\0" separators (nothing REG.exe could write: absent), a NULL Value1 next to a real
-- one (present), a separator-only Value1 after (H03) and before (H04) a real one (present either way; H04's
-- third row differs from its second only in a trailing separator: still one value), a value for a site
-- v_Site does not list, a DP whose ServerName holds a space and an MP row without ServerName (both skipped
-- with a warning).
INSERT INTO v_Site (SiteCode, SiteName, ReportingSiteCode, Type, ServerName, InstallDir) VALUES
  ('H01', 'Ä', NULL, NULL, NULL, NULL),
  ('H02', 'Tab	and
newline', 'H01', 2, 'h02.contoso.com', 'E:\SMS'),
  ('H03', 'Separator after', 'H01', 1, 'h03.contoso.com', 'E:\SMS'),
  ('H04', 'Separator before', 'H01', 1, 'h04.contoso.com', 'E:\SMS');
UPDATE v_Site SET SiteName = (WITH RECURSIVE r(n, s) AS (SELECT 1, 'Ä' UNION ALL SELECT n + 1, s || 'Ä' FROM r WHERE n < 200)
  SELECT s FROM r WHERE n = 200) WHERE SiteCode = 'H01';

INSERT INTO SC_SiteDefinition (SiteNumber, SiteCode, ParentSiteCode) VALUES (1, 'H01', ''), (2, 'H02', 'H01'), (3, 'H03', 'H01'),
  (4, 'H04', 'H01'), (9, 'ZZZ', '');
INSERT INTO SC_Component (ID, SiteNumber, ComponentName) VALUES (10, 1, 'X'), (20, 2, 'X'), (30, 3, 'X'), (40, 4, 'X'),
  (90, 9, 'X');
INSERT INTO SC_Component_Property (ID, ComponentID, Name, Value1, Value2, Value3) VALUES
  (100, 10, 'IssuingCertificateList', '\0\0', '', 0),
  (200, 20, 'IssuingCertificateList', NULL, '', 0),
  (201, 20, 'IssuingCertificateList', 'H02-ISSUER', '', 0),
  (301, 30, 'IssuingCertificateList', 'H03-ISSUER', '', 0),
  (302, 30, 'IssuingCertificateList', '\0', '', 0),
  (401, 40, 'IssuingCertificateList', '\0\0', '', 0),
  (402, 40, 'IssuingCertificateList', 'H04-ISSUER', '', 0),
  (403, 40, 'IssuingCertificateList', 'H04-ISSUER\0', '', 0),
  (900, 90, 'IssuingCertificateList', 'ORPHAN', '', 0);

INSERT INTO v_DistributionPointInfo (ID, ServerName, SiteCode, IsPXE, SccmPXE, IsActive, IsPullDP) VALUES
  (1, 'ok1.contoso.com', 'H02', NULL, NULL, NULL, NULL),
  (2, 'bad host.contoso.com', 'H02', 1, 1, 1, 0),
  (3, 'ok2.contoso.com', 'H02', 1, 0, 0, 0);

INSERT INTO v_SystemResourceList (NALPath, ResourceType, SiteCode, RoleName, ServerName) VALUES
  ('x', 'Windows NT Server', 'H02', 'SMS Management Point', NULL),
  ('x', 'Windows NT Server', 'H02', 'SMS Management Point', 'OK2.CONTOSO.COM');
