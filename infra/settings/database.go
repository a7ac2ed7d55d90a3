package settings

import (
	"strings"

	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/internal/proxyhealth"
	"github.com/sluicehq/sluice/migrations"
)

// Keys of the Database section, without the namespace.
const (
	KeyDBInstanceClass            = "dbInstanceClass"
	KeyDBEngineVersion            = "dbEngineVersion"
	KeyDBAllowMajorVersionUpgrade = "dbAllowMajorVersionUpgrade"
	KeyDBAllocatedStorage         = "dbAllocatedStorageGiB"
	KeyDBMaxAllocatedStorage      = "dbMaxAllocatedStorageGiB"
	KeyDBMultiAZ                  = "dbMultiAz"
	KeyDBDeletionProtection       = "dbDeletionProtection"
	KeyDBBackupRetentionDays      = "dbBackupRetentionDays"
	KeyDBFinalSnapshot            = "dbFinalSnapshot"
	KeyDBPerformanceInsights      = "dbPerformanceInsights"
	KeyDBName                     = "dbName"
	KeyDBMasterUser               = "dbMasterUser"
	KeyDBAppUser                  = "dbAppUser"
	KeyAppPasswordGeneration      = "appPasswordGeneration"
	KeyAppUserAuthPlugin          = proxyhealth.KeyAppUserAuthPlugin
)

// Database is the RDS MySQL instance and its users: what database.Args
// takes. Each field is one key of databaseKeys, which declares its type,
// default, bound and documentation; comments here say only what the key's
// one line cannot.
type Database struct {
	InstanceClass string // sluice:dbInstanceClass
	// EngineVersion is the MySQL major version; RDS applies its minor
	// versions automatically.
	EngineVersion string // sluice:dbEngineVersion
	// AllowMajorVersionUpgrade lets an update change EngineVersion of an
	// existing instance and applies that update immediately instead of in
	// the next maintenance window, so that the old parameter group is free
	// to delete in the same update.
	AllowMajorVersionUpgrade bool // sluice:dbAllowMajorVersionUpgrade
	AllocatedStorageGiB      int  // sluice:dbAllocatedStorageGiB
	MaxAllocatedStorageGiB   int  // sluice:dbMaxAllocatedStorageGiB
	MultiAZ                  bool // sluice:dbMultiAz
	// DeletionProtection makes RDS refuse to delete the instance, and the
	// engine too (the instance is created with protect).
	DeletionProtection  bool // sluice:dbDeletionProtection
	BackupRetentionDays int  // sluice:dbBackupRetentionDays
	// FinalSnapshot's suffix is drawn when the instance is created and kept
	// for its life, because a snapshot identifier is unique in the account
	// and region.
	FinalSnapshot       bool   // sluice:dbFinalSnapshot
	PerformanceInsights bool   // sluice:dbPerformanceInsights
	Name                string // sluice:dbName
	MasterUser          string // sluice:dbMasterUser
	AppUser             string // sluice:dbAppUser
	// AppPasswordGeneration numbers the application user's password;
	// raising it makes the next `pulumi up` store a new one and re-run the
	// migrator, which sets it (rotation).
	AppPasswordGeneration int    // sluice:appPasswordGeneration
	AppUserAuthPlugin     string // sluice:appUserAuthPlugin
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Database) Validate() error { return checkSection(Settings{Database: v}, "Database") }

var databaseKeys = []Spec{
	{Key: KeyDBInstanceClass, Type: String, Default: "db.t4g.micro",
		Doc: "RDS instance class.", DevProd: "prod: a general-purpose instance for production load",
		Pattern: limits.InstanceClassPattern, Allowed: limits.InstanceClassAllowed,
		field: func(s *Settings) any { return &s.Database.InstanceClass }},
	{Key: KeyDBEngineVersion, Type: String, Default: mysqlversion.Default,
		Doc:    "RDS for MySQL major version; the parameter group family and the proxy's client authentication follow it.",
		Values: mysqlversion.Majors(),
		field:  func(s *Settings) any { return &s.Database.EngineVersion }},
	{Key: KeyDBAllowMajorVersionUpgrade, Type: Boolean, Default: "false",
		Doc:   "true only for the `pulumi up` that changes dbEngineVersion of an existing instance: allows the major upgrade and applies it immediately (docs/operating.md).",
		field: func(s *Settings) any { return &s.Database.AllowMajorVersionUpgrade }},
	{Key: KeyDBAllocatedStorage, Type: Integer, Default: "20",
		Doc: "Allocated gp3 storage, GiB.", DevProd: "prod: room for a year of submissions", Range: limits.AllocatedStorageGiB,
		field: func(s *Settings) any { return &s.Database.AllocatedStorageGiB }},
	{Key: KeyDBMaxAllocatedStorage, Type: Integer, Default: "100",
		Doc: "Storage autoscaling ceiling, GiB; 0 turns autoscaling off.", DevProd: "dev caps the cost, prod the growth",
		Range: limits.MaxAllocatedStorageGiB,
		field: func(s *Settings) any { return &s.Database.MaxAllocatedStorageGiB }},
	{Key: KeyDBMultiAZ, Type: Boolean, Default: "false",
		Doc: "A standby in a second zone that RDS fails over to.", DevProd: "prod survives the loss of a zone",
		field: func(s *Settings) any { return &s.Database.MultiAZ }},
	{Key: KeyDBDeletionProtection, Type: Boolean, Default: "false",
		Doc: "RDS refuses to delete the instance.", DevProd: "prod cannot be deleted by accident",
		field: func(s *Settings) any { return &s.Database.DeletionProtection }},
	{Key: KeyDBBackupRetentionDays, Type: Integer, Default: "1",
		Doc: "Days of automated backups (point-in-time restore).", DevProd: "prod can be restored two weeks back",
		Range: limits.BackupRetentionDays,
		field: func(s *Settings) any { return &s.Database.BackupRetentionDays }},
	{Key: KeyDBFinalSnapshot, Type: Boolean, Default: "false",
		Doc: "Take snapshot `<instance>-final-<8 hex>` when the instance is deleted (the suffix is drawn when the instance is created, so a re-created stack's snapshot gets another name).", DevProd: "prod keeps its data when the stack is destroyed",
		field: func(s *Settings) any { return &s.Database.FinalSnapshot }},
	{Key: KeyDBPerformanceInsights, Type: Boolean, Default: "false",
		Doc: "Database Insights Standard (Performance Insights API, 7 days, no charge).", DevProd: "dev's micro class has none",
		field: func(s *Settings) any { return &s.Database.PerformanceInsights }},
	{Key: KeyAppUserAuthPlugin, Type: String, Default: migrations.PluginCachingSHA2,
		Doc:    "Authentication plugin the migrator creates the application user with; " + migrations.PluginNativeLegacy + " is the fallback if RDS Proxy cannot log in with the other (docs/deploying.md).",
		Values: []string{migrations.PluginCachingSHA2, migrations.PluginNativeLegacy},
		field:  func(s *Settings) any { return &s.Database.AppUserAuthPlugin }},
	{Key: KeyDBName, Type: String, Default: "sluice",
		Doc: "Schema the consumer writes to.", Pattern: limits.DBNamePattern, Allowed: limits.DBNameAllowed,
		field: func(s *Settings) any { return &s.Database.Name }},
	{Key: KeyDBMasterUser, Type: String, Default: "sluice_admin",
		Doc:     "RDS master user (migrations); RDS keeps its password in Secrets Manager.",
		Pattern: limits.UserPattern, Allowed: limits.UserAllowed, Check: notReserved,
		field: func(s *Settings) any { return &s.Database.MasterUser }},
	{Key: KeyDBAppUser, Type: String, Default: "sluice_app",
		Doc:     "Least-privileged user the consumer connects as.",
		Pattern: limits.UserPattern, Allowed: limits.UserAllowed, Check: notReserved,
		field: func(s *Settings) any { return &s.Database.AppUser }},
	{Key: KeyAppPasswordGeneration, Type: Integer, Default: "1",
		Doc: "Raise by one to rotate the application user's password (docs/operating.md).", Range: limits.Range{Min: 1, Max: 1000000},
		field: func(s *Settings) any { return &s.Database.AppPasswordGeneration }},
}

func notReserved(v string) string {
	if limits.ReservedUser(v) {
		return "must not be one of the reserved names " + strings.Join(limits.ReservedUsers, ", ")
	}
	return ""
}
