package database_test

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

const (
	typeInstance = "aws:rds/instance:Instance"
	typeParams   = "aws:rds/parameterGroup:ParameterGroup"
)

// validArgs is the smallest database: dev's.
func validArgs() database.Args {
	d := componenttest.Settings().Database
	d.InstanceClass, d.EngineVersion, d.AllocatedStorageGiB, d.MaxAllocatedStorageGiB, d.BackupRetentionDays = "db.t4g.micro", "8.4", 20, 100, 1
	d.Name, d.MasterUser, d.AppUser, d.AppPasswordGeneration = "sluice", "sluice_admin", "sluice_app", 1
	return database.Args{
		Database:         d,
		LogRetentionDays: 7,
		SubnetIDs:        pulumi.ToStringArray([]string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}),
		SecurityGroupIDs: pulumi.ToStringArray([]string{"sg-0123456789abcdef0"}),
		Tags:             map[string]string{"project": "sluice", "stack": "dev"},
	}
}

// production is prod's shape: durable and observable.
func production(a *database.Args) {
	a.InstanceClass, a.MultiAZ, a.DeletionProtection, a.FinalSnapshot, a.PerformanceInsights = "db.m7g.large", true, true, true, true
	a.BackupRetentionDays, a.AllocatedStorageGiB, a.MaxAllocatedStorageGiB = 14, 100, 500
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*database.Args)
		field  string
	}{
		{"valid", func(*database.Args) {}, ""},
		{"production", production, ""},
		{"mysql 8.0", func(a *database.Args) { a.EngineVersion = "8.0" }, ""},
		{"major upgrade", func(a *database.Args) { a.AllowMajorVersionUpgrade = true }, ""},
		{"no autoscaling", func(a *database.Args) { a.MaxAllocatedStorageGiB = 0 }, ""},
		{"class", func(a *database.Args) { a.InstanceClass = "t4g.micro" }, "Database.InstanceClass"},
		{"engine 5.7", func(a *database.Args) { a.EngineVersion = "5.7" }, "Database.EngineVersion"},
		{"engine minor", func(a *database.Args) { a.EngineVersion = "8.4.3" }, "Database.EngineVersion"},
		{"no engine", func(a *database.Args) { a.EngineVersion = "" }, "Database.EngineVersion"},
		{"storage", func(a *database.Args) { a.AllocatedStorageGiB = 19 }, "Database.AllocatedStorageGiB"},
		{"ceiling not above storage", func(a *database.Args) { a.MaxAllocatedStorageGiB = 20 }, "Database.MaxAllocatedStorageGiB"},
		{"ceiling too high", func(a *database.Args) { a.MaxAllocatedStorageGiB = 65537 }, "Database.MaxAllocatedStorageGiB"},
		{"backups", func(a *database.Args) { a.BackupRetentionDays = 36 }, "Database.BackupRetentionDays"},
		{"protected without backups", func(a *database.Args) { a.DeletionProtection, a.BackupRetentionDays = true, 0 }, "Database.BackupRetentionDays"},
		{"performance insights on micro", func(a *database.Args) { a.PerformanceInsights = true }, "Database.PerformanceInsights"},
		{"schema", func(a *database.Args) { a.Name = "my-db" }, "Database.Name"},
		{"master reserved", func(a *database.Args) { a.MasterUser = "admin" }, "Database.MasterUser"},
		{"app user malformed", func(a *database.Args) { a.AppUser = "app-user" }, "Database.AppUser"},
		{"app user is the proxy's", func(a *database.Args) { a.AppUser = "rdsproxyadmin" }, "Database.AppUser"},
		{"app user is master", func(a *database.Args) { a.AppUser = "SLUICE_ADMIN" }, "Database.AppUser"},
		{"generation", func(a *database.Args) { a.AppPasswordGeneration = 0 }, "Database.AppPasswordGeneration"},
		{"log retention", func(a *database.Args) { a.LogRetentionDays = 0 }, "LogRetentionDays"},
		{"no subnets", func(a *database.Args) { a.SubnetIDs = nil }, "SubnetIDs"},
		{"no security groups", func(a *database.Args) { a.SecurityGroupIDs = nil }, "SecurityGroupIDs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

func record(t *testing.T, args database.Args) (componenttest.Recorder, map[string]any) {
	t.Helper()
	var out map[string]any
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		db, err := database.New(ctx, "db", args)
		if err != nil {
			return err
		}
		out, err = componenttest.Await(ctx, map[string]pulumi.Output{
			"instanceIdentifier": db.InstanceIdentifier, "instanceArn": db.InstanceARN, "address": db.Address,
			"parameterGroupName": db.ParameterGroupName, "masterSecretArn": db.MasterSecretARN, "appSecretArn": db.AppSecretARN,
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m, out
}

// TestDatabase checks the instance against its parameter group, subnet
// group and secrets, for dev's and prod's shapes.
func TestDatabase(t *testing.T) {
	for _, tt := range []struct {
		name   string
		modify func(*database.Args)
	}{{"dev", func(*database.Args) {}}, {"prod", production}} {
		t.Run(tt.name, func(t *testing.T) {
			a := validArgs()
			tt.modify(&a)
			m, out := record(t, a)
			db := m.One(t, typeInstance, "db-mysql")
			in := db.Inputs
			for _, k := range []resource.PropertyKey{"storageEncrypted", "iamDatabaseAuthenticationEnabled", "manageMasterUserPassword", "autoMinorVersionUpgrade", "copyTagsToSnapshot"} {
				if !in[k].IsBool() || !in[k].BoolValue() {
					t.Errorf("%s is not true", k)
				}
			}
			if in["publiclyAccessible"].BoolValue() || in["password"].HasValue() {
				t.Error("the database is public or has a password input; RDS must manage the master password")
			}
			if in["engine"].StringValue() != "mysql" || in["engineVersion"].StringValue() != "8.4" {
				t.Errorf("engine %v %v", in["engine"], in["engineVersion"])
			}
			for _, k := range []resource.PropertyKey{"allowMajorVersionUpgrade", "applyImmediately"} {
				if _, ok := in[k]; ok {
					t.Errorf("%s set without a major version upgrade: modifications wait for the maintenance window", k)
				}
			}
			pg := m.One(t, typeParams, "db-params")
			if pg.Inputs["family"].StringValue() != "mysql8.4" || in["parameterGroupName"].StringValue() != pg.ID || out["parameterGroupName"] != pg.ID {
				t.Errorf("parameter group %s family %v; instance uses %v", pg.ID, pg.Inputs["family"], in["parameterGroupName"])
			}
			if params := parameters(pg); params["require_secure_transport"] != "1" || params["character_set_server"] != "utf8mb4" || params["collation_server"] != "utf8mb4_0900_ai_ci" ||
				!strings.Contains(params["sql_mode"], "STRICT_TRANS_TABLES") {
				t.Errorf("parameters %v lack TLS, utf8mb4 or a strict sql_mode", params)
			}
			sg := m.One(t, "aws:rds/subnetGroup:SubnetGroup", "db-subnets")
			if in["dbSubnetGroupName"].StringValue() != sg.ID || len(sg.Inputs["subnetIds"].ArrayValue()) != 2 {
				t.Errorf("subnet group %v, instance in %v", sg.Inputs["subnetIds"], in["dbSubnetGroupName"])
			}
			if v := in["vpcSecurityGroupIds"].ArrayValue(); len(v) != 1 || v[0].StringValue() != "sg-0123456789abcdef0" {
				t.Errorf("security groups %v", v)
			}
			// Prod-only inputs follow the Args.
			if got, want := in["multiAz"].BoolValue(), a.MultiAZ; got != want {
				t.Errorf("multiAz %v, want %v", got, want)
			}
			if got, want := in["skipFinalSnapshot"].BoolValue(), !a.FinalSnapshot; got != want {
				t.Errorf("skipFinalSnapshot %v, want %v", got, want)
			}
			if _, ok := in["finalSnapshotIdentifier"]; ok != a.FinalSnapshot {
				t.Errorf("finalSnapshotIdentifier present %v, want %v", ok, a.FinalSnapshot)
			}
			// The instance is named after the component, so that its error
			// log group (RDS would create it without retention) exists first.
			logs := m.One(t, "aws:cloudwatch/logGroup:LogGroup", "db-error-logs")
			if in["identifier"].StringValue() != "db" || logs.Inputs["name"].StringValue() != database.ErrorLogGroup("db") ||
				logs.Inputs["name"].StringValue() != "/aws/rds/instance/db/error" || logs.Inputs["retentionInDays"].NumberValue() != float64(a.LogRetentionDays) {
				t.Errorf("instance %v, error log group %v kept %v days", in["identifier"], logs.Inputs["name"], logs.Inputs["retentionInDays"])
			}
			if !db.DependsOnName("db-error-logs") {
				t.Error("the instance does not wait for its error log group: RDS would create it first, without retention")
			}
			if exports := in["enabledCloudwatchLogsExports"].ArrayValue(); len(exports) != 1 || exports[0].StringValue() != database.ErrorLogExport {
				t.Errorf("log exports %v, want only the error log, whose group the stack owns", exports)
			}
			if _, ok := in["performanceInsightsRetentionPeriod"]; ok != a.PerformanceInsights {
				t.Errorf("performanceInsightsRetentionPeriod present %v, want %v", ok, a.PerformanceInsights)
			}
			if in["maxAllocatedStorage"].NumberValue() != float64(a.MaxAllocatedStorageGiB) || in["backupRetentionPeriod"].NumberValue() != float64(a.BackupRetentionDays) {
				t.Errorf("storage ceiling %v, backups %v", in["maxAllocatedStorage"], in["backupRetentionPeriod"])
			}

			appSecret := m.One(t, "aws:secretsmanager/secret:Secret", "db-app-user")
			if out["appSecretArn"] != appSecret.Outputs["arn"].StringValue() || !strings.HasPrefix(out["masterSecretArn"].(string), "arn:aws:secretsmanager:") ||
				out["instanceIdentifier"] != db.Outputs["identifier"].StringValue() || out["address"] != db.Outputs["address"].StringValue() {
				t.Errorf("outputs %v", out)
			}
			m.CheckParentedAndTagged(t, database.Type, "dev")
		})
	}
}

// TestFinalSnapshotNameIsDrawnAtCreate: prod's final snapshot is named
// after the instance with 8 hex characters drawn by each run of the program
// (the instance keeps the first one: ignoreChanges), so a prod created again
// gets a snapshot name that RDS has not seen (DBSnapshotAlreadyExists).
func TestFinalSnapshotNameIsDrawnAtCreate(t *testing.T) {
	name := func() string {
		a := validArgs()
		production(&a)
		m, _ := record(t, a)
		return m.One(t, typeInstance, "db-mysql").Inputs["finalSnapshotIdentifier"].StringValue()
	}
	first, second := name(), name()
	if !regexp.MustCompile(`^db-final-[0-9a-f]{8}$`).MatchString(first) || first == second {
		t.Errorf("final snapshots %q and %q: want db-final-<8 hex>, a new suffix per create", first, second)
	}
	if got := database.FinalSnapshotIdentifier("sluice-prod-db", "x"); got != database.FinalSnapshotIdentifier("sluice-prod-db", "x") ||
		got == database.FinalSnapshotIdentifier("sluice-prod-db", "y") {
		t.Errorf("FinalSnapshotIdentifier is not a function of its seed: %q", got)
	}
}

// TestNativePasswordFallback: with the application user on
// mysql_native_password (sluice:appUserAuthPlugin), MySQL 8.4's parameter
// group turns the plugin on (off by default in 8.4); 8.0 has it on already.
func TestNativePasswordFallback(t *testing.T) {
	for _, tt := range []struct {
		version, native string
		want            string
	}{{"8.4", "on", "ON"}, {"8.4", "", ""}, {"8.0", "on", ""}} {
		a := validArgs()
		a.EngineVersion = tt.version
		if tt.native != "" {
			a.AppUserAuthPlugin = migrations.PluginNativeLegacy
		}
		m, _ := record(t, a)
		if got := parameters(m.One(t, typeParams, "db-params"))["mysql_native_password"]; got != tt.want {
			t.Errorf("MySQL %s, fallback %v: mysql_native_password = %q, want %q", tt.version, tt.native != "", got, tt.want)
		}
	}
}

func parameters(pg mocks.Registration) map[string]string {
	out := map[string]string{}
	for _, p := range pg.Inputs["parameters"].ArrayValue() {
		out[p.ObjectValue()["name"].StringValue()] = p.ObjectValue()["value"].StringValue()
	}
	return out
}

// TestMajorVersionUpgrade shows what `pulumi up` gets to diff when a stack
// moves from 8.0 to 8.4 with AllowMajorVersionUpgrade: the parameter
// group's family changes (the provider replaces a group on a new family;
// the group is auto-named, so the new one is created before the old one is
// deleted), and the same instance (same resource name, none of the inputs
// the provider replaces an instance for) is updated to the new version and
// group, immediately.
func TestMajorVersionUpgrade(t *testing.T) {
	old := validArgs()
	old.EngineVersion = "8.0"
	upgrade := validArgs()
	upgrade.AllowMajorVersionUpgrade = true
	before, _ := record(t, old)
	after, _ := record(t, upgrade)

	pgBefore, pgAfter := before.One(t, typeParams, "db-params"), after.One(t, typeParams, "db-params")
	if pgBefore.Inputs["family"].StringValue() != "mysql8.0" || pgAfter.Inputs["family"].StringValue() != "mysql8.4" {
		t.Errorf("families %v → %v, want mysql8.0 → mysql8.4", pgBefore.Inputs["family"], pgAfter.Inputs["family"])
	}
	if _, named := pgAfter.Inputs["name"]; named {
		t.Error("the parameter group has a fixed name: its replacement could not be created before the old one is deleted")
	}
	if !slices.Equal(names(parameters(pgBefore)), names(parameters(pgAfter))) {
		t.Errorf("parameters differ between the families: %v → %v", parameters(pgBefore), parameters(pgAfter))
	}

	dbBefore, dbAfter := before.One(t, typeInstance, "db-mysql"), after.One(t, typeInstance, "db-mysql")
	if dbBefore.URN != dbAfter.URN {
		t.Errorf("the instance's URN changes (%s → %s): it would be replaced, and its data lost", dbBefore.URN, dbAfter.URN)
	}
	changed := changedInputs(dbBefore.Inputs, dbAfter.Inputs)
	want := []string{"allowMajorVersionUpgrade", "applyImmediately", "engineVersion"}
	if !slices.Equal(changed, want) {
		t.Errorf("instance inputs that change: %v, want exactly %v (and parameterGroupName, which follows the new group)", changed, want)
	}
	if dbAfter.Inputs["engineVersion"].StringValue() != "8.4" || !dbAfter.Inputs["allowMajorVersionUpgrade"].BoolValue() || !dbAfter.Inputs["applyImmediately"].BoolValue() {
		t.Errorf("upgraded instance %v", dbAfter.Inputs)
	}
	if dbAfter.Inputs["parameterGroupName"].StringValue() != pgAfter.ID {
		t.Errorf("the upgraded instance uses %v, not the new group %s", dbAfter.Inputs["parameterGroupName"], pgAfter.ID)
	}
	// The inputs the provider replaces an RDS instance for do not change.
	for _, k := range []resource.PropertyKey{"engine", "dbName", "username", "storageEncrypted", "identifier", "identifierPrefix", "kmsKeyId", "availabilityZone", "dbSubnetGroupName"} {
		if !dbBefore.Inputs[k].DeepEquals(dbAfter.Inputs[k]) {
			t.Errorf("%s changes: %v → %v", k, dbBefore.Inputs[k], dbAfter.Inputs[k])
		}
	}
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// changedInputs lists the inputs that differ, leaving out those computed
// from other resources (the mocks give a replaced group the same id).
func changedInputs(a, b resource.PropertyMap) []string {
	keys := maps.Clone(a)
	maps.Copy(keys, b)
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !a[k].DeepEquals(b[k]) {
			out = append(out, string(k))
		}
	}
	return out
}

// TestAppPassword: the password handed to the migration step is the one in
// the secret version, it stays a Pulumi secret, and later runs keep the
// stored value (ignoreChanges on the version's secretString).
func TestAppPassword(t *testing.T) {
	var password internals.UnsafeAwaitOutputResult
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		db, err := database.New(ctx, "db", validArgs())
		if err != nil {
			return err
		}
		password, err = internals.UnsafeAwaitOutput(ctx.Context(), db.AppPassword)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !password.Secret || !password.Known {
		t.Fatalf("app password secret=%v known=%v", password.Secret, password.Known)
	}
	version := m.One(t, "aws:secretsmanager/secretVersion:SecretVersion", "db-app-user-1")
	if !slices.Contains(version.IgnoreChanges, "secretString") {
		t.Errorf("secret version ignores changes of %v; a new password would be stored on every run", version.IgnoreChanges)
	}
	if version.Inputs["secretId"].StringValue() != m.One(t, "aws:secretsmanager/secret:Secret", "db-app-user").ID {
		t.Error("the secret version is not in the app user's secret")
	}
	v := version.Inputs["secretString"]
	if !v.IsSecret() {
		t.Fatal("secret version value is not a Pulumi secret")
	}
	var stored database.AppSecret
	if err := json.Unmarshal([]byte(v.SecretValue().Element.StringValue()), &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Username != "sluice_app" || stored.Password != password.Value || len(stored.Password) < 26 {
		t.Errorf("stored %q/%d chars; handed on a different password: %v", stored.Username, len(stored.Password), stored.Password != password.Value)
	}
}

// TestPasswordGeneration: a new generation is a new secret version
// resource, so ignoreChanges cannot carry the old value into it.
func TestPasswordGeneration(t *testing.T) {
	a := validArgs()
	a.AppPasswordGeneration = 2
	m, _ := record(t, a)
	if got := m.All("aws:secretsmanager/secretVersion:SecretVersion"); len(got) != 1 || !strings.HasSuffix(got[0].Name, "-app-user-2") {
		t.Fatalf("secret versions %v, want the generation-2 one only", got)
	}
}
