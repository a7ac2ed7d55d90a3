package migration_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/migration"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

const testPassword = "c0rrect-h0rse-battery-staple"

// migrator is a DBFunction as the migrator needs it: the master user, one
// at a time, with time for DDL.
func migrator() dbfunction.Args {
	f := componenttest.ExampleDBFunction("sluice-dev-migrator", "sluice_admin")
	f.Timeout, f.ReservedConcurrency, f.LogRetentionDays = 900*time.Second, 1, 30
	return f
}

func validArgs() migration.Args {
	return migration.Args{
		Database: componenttest.Settings().Database,
		Function: migrator(),

		AppPassword: pulumi.ToSecret(pulumi.String(testPassword)).(pulumi.StringOutput),
		SQLDir:      filepath.Join("testdata", "sql"),
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*migration.Args)
		field  string
	}{
		{"valid", func(*migration.Args) {}, ""},
		{"function", func(a *migration.Args) { a.Function.ProxyEndpoint = nil }, "Function.ProxyEndpoint"},
		{"short timeout", func(a *migration.Args) { a.Function.Timeout = 60 * time.Second }, "Function.Timeout"},
		{"concurrent migrators", func(a *migration.Args) { a.Function.ReservedConcurrency = 2 }, "Function.ReservedConcurrency"},
		{"unreserved", func(a *migration.Args) { a.Function.ReservedConcurrency = 0 }, ""},
		{"unknown auth plugin", func(a *migration.Args) { a.AppUserAuthPlugin = "sha256_password" }, "Database.AppUserAuthPlugin"},
		{"no app user", func(a *migration.Args) { a.AppUser = "" }, "Database.AppUser"},
		{"app user is master", func(a *migration.Args) { a.AppUser = "sluice_admin" }, "Database.AppUser"},
		{"no password", func(a *migration.Args) { a.AppPassword = nil }, "AppPassword"},
		{"no sql dir", func(a *migration.Args) { a.SQLDir = "" }, "SQLDir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

func TestHashSQL(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := migration.HashSQL(dir); err == nil {
		t.Fatal("migration.HashSQL of an empty directory succeeded")
	}
	write("000001_a.up.sql", "CREATE TABLE a (id INT);")
	first, err := migration.HashSQL(dir)
	if err != nil {
		t.Fatal(err)
	}
	write("README.md", "not a migration")
	if again, _ := migration.HashSQL(dir); again != first {
		t.Error("a non-SQL file changed the hash")
	}
	write("000002_b.up.sql", "CREATE TABLE b (id INT);")
	second, _ := migration.HashSQL(dir)
	if second == first {
		t.Error("a new migration did not change the hash")
	}
	write("000002_b.up.sql", "CREATE TABLE b (id BIGINT);")
	if third, _ := migration.HashSQL(dir); third == second {
		t.Error("an edited migration did not change the hash")
	}
}

// The real migration files hash without error.
func TestHashSQLRepository(t *testing.T) {
	if _, err := migration.HashSQL(filepath.Join("..", "..", "migrations", "sql")); err != nil {
		t.Fatal(err)
	}
}

func TestMigration(t *testing.T) {
	var proxyTargetURN string
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		target, err := rds.NewProxyTarget(ctx, "proxy-target", &rds.ProxyTargetArgs{
			DbProxyName:          pulumi.String("sluice-dev"),
			TargetGroupName:      pulumi.String("default"),
			DbInstanceIdentifier: pulumi.String("sluice-dev"),
		})
		if err != nil {
			return err
		}
		target.URN().ApplyT(func(u pulumi.URN) string { proxyTargetURN = string(u); return "" })
		a := validArgs()
		a.DependsOn = []pulumi.Resource{target}
		_, err = migration.New(ctx, "migration", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	inv := m.One(t, "aws:lambda/invocation:Invocation", "migration-up")
	input := inv.Inputs["input"]
	if !input.IsSecret() {
		t.Fatalf("invocation input is not secret: %v", input)
	}
	var ev migrations.Event
	if err := json.Unmarshal([]byte(input.SecretValue().Element.StringValue()), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Action != migrations.ActionUp || ev.AppUser != "sluice_app" || ev.AppPassword != testPassword {
		t.Errorf("event %v (password set %v), want up for sluice_app with the given password", ev, ev.AppPassword == testPassword)
	}

	fn := m.One(t, "aws:lambda/function:Function", "migration-migrator")
	if got := inv.Inputs["functionName"].StringValue(); got != fn.Inputs["name"].StringValue() {
		t.Errorf("invocation targets %q, want the migrator %q", got, fn.Inputs["name"].StringValue())
	}
	triggers := inv.Inputs["triggers"].ObjectValue()
	wantSQL, _ := migration.HashSQL(filepath.Join("testdata", "sql"))
	if triggers["code"].StringValue() != fn.Inputs["sourceCodeHash"].StringValue() || triggers["migrations"].StringValue() != wantSQL {
		t.Errorf("triggers %v, want the migrator's sourceCodeHash and the SQL hash %s", triggers, wantSQL)
	}
	if !dependsOn(inv, proxyTargetURN) || !inv.DependsOnName("migration-migrator") {
		t.Errorf("invocation deps %v: want the proxy target and the migrator function", inv.Dependencies)
	}

	env := fn.Inputs["environment"].ObjectValue()["variables"].ObjectValue()
	for k, want := range map[string]string{
		"SLUICE_DB_USER": "sluice_admin", "SLUICE_DB_AUTH": "iam", "SLUICE_DB_TLS": "true",
		"SLUICE_DB_ENDPOINT": "sluice-dev.proxy-c0ffee.ap-northeast-1.rds.amazonaws.com:3306",
	} {
		if got := env[resource.PropertyKey(k)].StringValue(); got != want {
			t.Errorf("migrator env %s = %q, want %q", k, got, want)
		}
	}
	for k, v := range env {
		if strings.Contains(v.String(), testPassword) {
			t.Errorf("migrator env %s carries the app password", k)
		}
	}
	if fn.Inputs["timeout"].NumberValue() < migration.MinTimeout.Seconds() {
		t.Errorf("migrator timeout %v", fn.Inputs["timeout"])
	}
	if fn.Inputs["reservedConcurrentExecutions"].NumberValue() != 1 {
		t.Errorf("migrator reserved concurrency %v, want 1", fn.Inputs["reservedConcurrentExecutions"])
	}

	policy, err := iamdoc.Parse(m.One(t, "aws:iam/rolePolicy:RolePolicy", "migration-migrator-policy").Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.CheckWildcards(dbfunction.VPCNetworkInterfacesSid); err != nil {
		t.Error(err)
	}
	connect, _ := policy.Find(dbfunction.DBConnectSid)
	want := "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0f1e2d3c4b5a69788/sluice_admin"
	if len(connect.Resource) != 1 || connect.Resource[0] != want {
		t.Errorf("migrator may connect as %v, want only %s", connect.Resource, want)
	}
	if n := len(m.All("aws:iam/rolePolicy:RolePolicy")); n != 1 {
		t.Errorf("%d role policies, want 1 (the migrator needs no queue access)", n)
	}

	m.CheckParentedAndTagged(t, migration.Type, "dev", "proxy-target")
}

// A SQL directory without migrations stops the program before anything is
// mocks.Registration.
func TestMigrationWithoutSQL(t *testing.T) {
	a := validArgs()
	a.SQLDir = t.TempDir()
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := migration.New(ctx, "migration", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "no *.sql files") {
		t.Fatalf("error = %v", err)
	}
	if len(m.Registrations()) != 0 {
		t.Errorf("%d resources mocks.Registration", len(m.Registrations()))
	}
}

func dependsOn(r mocks.Registration, urn string) bool {
	for _, d := range r.Dependencies {
		if d == urn && urn != "" {
			return true
		}
	}
	return false
}

// The invocation input is secret even when the password reaches the
// component as a plain value.
func TestInvocationInputSecretFromPlainPassword(t *testing.T) {
	a := validArgs()
	a.AppPassword = pulumi.String(testPassword)
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := migration.New(ctx, "migration", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if input := m.One(t, "aws:lambda/invocation:Invocation", "migration-up").Inputs["input"]; !input.IsSecret() {
		t.Fatalf("invocation input is not secret: %v", input)
	}
}
