-- sitedb_fleet.sql — fixture rows for the sitedb_* integration tests, loaded after tests/tdsd/configmgr.sql.
-- Three sites (CAS, primary, secondary); P01 has one expected value (stored twice under two components:
-- still one distinct Value1), CAS has two distinct values (ambiguous), S01 none (absent: its only property
-- row has another Name).  DPs: dp1 (PXE), dp2 (no PXE), dp3 (PXE, pull DP, secondary site), MP1 is a DP
-- and also the MP (spelled in a different case in the two views), mp2 is an MP only.  Rows with other
-- RoleNames must be ignored.
INSERT INTO v_Site (SiteCode, SiteName, ReportingSiteCode, Version, Type, Status, BuildNumber, ServerName, InstallDir)
VALUES
  ('CAS', 'Central Administration', '',    '5.00.9122.1000', 4, 1, 9122, 'cas01.contoso.com', 'D:\Program Files\Microsoft Configuration Manager'),
  ('P01', 'Primary One',            'CAS', '5.00.9122.1000', 2, 1, 9122, 'p01.contoso.com',   'E:\ConfigMgr'),
  ('S01', 'Sekundär Süd',           'P01', '5.00.9122.1000', 1, 1, 9122, 's01.contoso.com',   'E:\SMS');

INSERT INTO SC_SiteDefinition (SiteNumber, SiteCode, ParentSiteCode) VALUES
  (1, 'CAS', ''), (2, 'P01', 'CAS'), (3, 'S01', 'P01');

INSERT INTO SC_Component (ID, SiteNumber, ComponentName) VALUES
  (10, 1, 'SMS_SITE_COMPONENT_MANAGER'), (11, 1, 'SMS_POLICY_PROVIDER'),
  (20, 2, 'SMS_SITE_COMPONENT_MANAGER'), (21, 2, 'SMS_DISTRIBUTION_MANAGER'),
  (30, 3, 'SMS_SITE_COMPONENT_MANAGER');

INSERT INTO SC_Component_Property (ID, ComponentID, Name, Value1, Value2, Value3) VALUES
  (100, 10, 'IssuingCertificateList', 'CAS-ISSUER-ONE', '', 0),
  (101, 11, 'IssuingCertificateList', 'CAS-ISSUER-TWO', '', 0),
  (200, 20, 'IssuingCertificateList', 'P01-ISSUER-A\0P01-ISSUER-B', '', 0),
  (201, 21, 'IssuingCertificateList', 'P01-ISSUER-A\0P01-ISSUER-B', '', 0),
  (202, 20, 'SomethingElse', 'not-a-cert-list', '', 0),
  (300, 30, 'Site Server Signing Certificate', 'S01-OTHER', '', 0);

INSERT INTO v_DistributionPointInfo (ID, ServerName, NALPath, SiteCode, SiteName, IsPXE, SccmPXE, IsActive, IsPullDP, IdentityGUID, CertificateType, MaintenanceMode)
VALUES
  (1, 'dp1.contoso.com', '["Display=\\dp1.contoso.com\"]MSWNET:["SMS_SITE=P01"]\\dp1.contoso.com\', 'P01', 'Primary One', 1, 1, 1, 0, 'GUID-1', 1, 0),
  (2, 'dp2.contoso.com', '["Display=\\dp2.contoso.com\"]MSWNET:["SMS_SITE=P01"]\\dp2.contoso.com\', 'P01', 'Primary One', 0, 0, 1, 0, 'GUID-2', 1, 0),
  (3, 'dp3.contoso.com', '["Display=\\dp3.contoso.com\"]MSWNET:["SMS_SITE=S01"]\\dp3.contoso.com\', 'S01', 'Sekundär Süd', 1, 1, 1, 1, 'GUID-3', 1, 0),
  (4, 'MP1.contoso.com', '["Display=\\MP1.contoso.com\"]MSWNET:["SMS_SITE=P01"]\\MP1.contoso.com\', 'P01', 'Primary One', 0, 0, 1, 0, 'GUID-4', 1, 0);

INSERT INTO v_SystemResourceList (NALPath, ResourceType, SiteCode, RoleName, ServerName) VALUES
  ('x', 'Windows NT Server', 'P01', 'SMS Management Point',   'mp1.contoso.com'),
  ('x', 'Windows NT Server', 'P01', 'SMS Management Point',   'mp2.contoso.com'),
  ('x', 'Windows NT Server', 'P01', 'SMS Distribution Point', 'dp1.contoso.com'),
  ('x', 'Windows NT Server', 'P01', 'SMS Distribution Point', 'dp2.contoso.com'),
  ('x', 'Windows NT Server', 'P01', 'SMS Site Server',        'p01.contoso.com'),
  ('x', 'Windows NT Server', 'CAS', 'SMS Provider',           'cas01.contoso.com');
