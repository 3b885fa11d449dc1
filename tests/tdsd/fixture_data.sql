-- fixture_data.sql — rows for tdsd_test.py on top of configmgr.sql: three sites, the KB 4469580 property
-- for two of them, non-ASCII text and NULLs, plus t_types, a table that exercises every column type
-- dpfleet-tdsd sends (INT, BIGINT, BIT, DATETIME, FLOAT, NVARCHAR, NVARCHAR(MAX), NULL).
INSERT INTO v_Site VALUES ('CAS', 'Zentrale Köln', '', '5.00.9122.1000', 4, 0, 9122, 'cas.corp.example', 'D:\Program Files\Microsoft Configuration Manager');
INSERT INTO v_Site VALUES ('PS1', 'Primary Straße', 'CAS', '5.00.9122.1000', 2, 0, 9122, 'ps1.corp.example', 'E:\SMS');
INSERT INTO v_Site VALUES ('SS1', 'Secondary 1', 'PS1', '5.00.9122.1000', 1, 0, 9122, 'ss1.corp.example', NULL);

INSERT INTO SC_SiteDefinition VALUES (1, 'CAS', '');
INSERT INTO SC_SiteDefinition VALUES (2, 'PS1', 'CAS');
INSERT INTO SC_SiteDefinition VALUES (3, 'SS1', 'PS1');
INSERT INTO SC_Component VALUES (10, 1, 'SMS_SITE_COMPONENT_MANAGER');
INSERT INTO SC_Component VALUES (20, 2, 'SMS_SITE_COMPONENT_MANAGER');
INSERT INTO SC_Component VALUES (30, 3, 'SMS_SITE_COMPONENT_MANAGER');
INSERT INTO SC_Component_Property VALUES (100, 10, 'IssuingCertificateList', 'CN=Root CA, O=Contoso Ä', NULL, 0);
INSERT INTO SC_Component_Property VALUES (200, 20, 'IssuingCertificateList', 'CN=Issuing CA 1\0CN=Issuing CA 2', 'x', 1);
INSERT INTO SC_Component_Property VALUES (300, 30, 'SomethingElse', 'y', NULL, NULL);

INSERT INTO v_DistributionPointInfo VALUES (1, 'dp1.corp.example', '["Display=\\dp1\"]MSWNET:["SMS_SITE=PS1"]\\dp1\', 'PS1', 'Primary Straße', 1, 0, 1, 0, 'guid-1', 1, 0, NULL, NULL);
INSERT INTO v_DistributionPointInfo VALUES (2, 'dp2.corp.example', NULL, 'SS1', 'Secondary 1', 0, 0, 1, 1, NULL, NULL, NULL, NULL, NULL);
-- A cloud distribution point: an Azure service, Region and ServiceType set (dpfleet lists it, never scans it).
INSERT INTO v_DistributionPointInfo VALUES (3, 'cdp1.cloudapp.net', '["Display=\\cdp1.cloudapp.net\"]MSWNET:["SMS_SITE=PS1"]\\cdp1.cloudapp.net\', 'PS1', 'Primary Straße', 0, 0, 1, 0, NULL, NULL, NULL, 'West Europe', 'CloudDistributionPoint');
INSERT INTO v_SystemResourceList VALUES ('x', 'Windows NT Server', 'PS1', 'SMS Management Point', 'dp1.corp.example');

CREATE TABLE t_types (i INTEGER, big INTEGER, b BIT, d DATETIME, f REAL, s TEXT, m TEXT);
INSERT INTO t_types VALUES (42, 5000000000, 1, '2024-02-29 12:34:56', 1.5, 'héllo € 😀', NULL);
INSERT INTO t_types VALUES (NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO t_types VALUES (-7, 1, 0, '1999-12-31T23:59:59Z', -0.25, '', printf('%.5000c', 'x'));
