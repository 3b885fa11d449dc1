-- configmgr.sql — the subset of a ConfigMgr site database that dpfleet reads (doc/FIELD-NOTES.md, "Site database and FreeTDS"), as SQLite tables.
-- In SQL Server the v_* objects are views; here they are plain tables holding the same columns, so the
-- scanner's queries run unchanged through dpfleet-tdsd.  The lab (tests/lab/dpfleet-lab) fills them from a
-- scenario file.  Types: INTEGER columns go out as INT, TEXT as NVARCHAR, BOOLEAN-ish columns as BIT where
-- SQL Server has bit (IsPXE, SccmPXE, IsActive, IsPullDP), DATETIME as DATETIME.  SccmPXE is not in
-- Microsoft Learn's "v_DistributionPointInfo"; tests/integration/sitedb_estate.py drops it.  Region and
-- ServiceType are set for cloud DPs and CMGs only (Microsoft Learn, "SMS_DistributionPointInfo server WMI
-- class"); tests/integration/scan_estate.py drops them to check cloud rows are still recognised by name.
CREATE TABLE v_Site (
	SiteCode          TEXT PRIMARY KEY,
	SiteName          TEXT,
	ReportingSiteCode TEXT,           -- parent site code, '' for the top
	Version           TEXT,
	Type              INTEGER,        -- 1 secondary, 2 primary, 4 CAS
	Status            INTEGER,
	BuildNumber       INTEGER,
	ServerName        TEXT,
	InstallDir        TEXT
);

CREATE TABLE v_DistributionPointInfo (
	ID                INTEGER PRIMARY KEY,
	ServerName        TEXT,
	NALPath           TEXT,
	SiteCode          TEXT,
	SiteName          TEXT,
	IsPXE             BIT,
	SccmPXE           BIT,
	IsActive          BIT,
	IsPullDP          BIT,
	IdentityGUID      TEXT,
	CertificateType   INTEGER,
	MaintenanceMode   INTEGER,
	Region            TEXT,           -- cloud DPs only: the Azure region (SMS_DistributionPointInfo.Region)
	ServiceType       TEXT            -- cloud DPs only: CloudDistributionPoint, CloudProxyService (a CMG)
);

CREATE TABLE v_SystemResourceList (
	NALPath           TEXT,
	ResourceType      TEXT,
	SiteCode          TEXT,
	RoleName          TEXT,           -- 'SMS Distribution Point', 'SMS Management Point', 'SMS Site Server', ...
	ServerName        TEXT
);

CREATE TABLE SC_SiteDefinition (
	SiteNumber        INTEGER PRIMARY KEY,
	SiteCode          TEXT,
	ParentSiteCode    TEXT
);

CREATE TABLE SC_Component (
	ID                INTEGER PRIMARY KEY,
	SiteNumber        INTEGER,
	ComponentName     TEXT
);

CREATE TABLE SC_Component_Property (
	ID                INTEGER PRIMARY KEY,
	ComponentID       INTEGER,
	Name              TEXT,
	Value1            TEXT,
	Value2            TEXT,
	Value3            INTEGER
);
