package database_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/infra/mocks"
	"github.com/sluicehq/sluice/infra/settings"
)

// TestAppPassword: the password handed to the migration step is the one in
// the secret version, it stays a Pulumi secret, and later runs keep the
// stored value (ignoreChanges on the version's secretString).
func TestAppPassword(t *testing.T) {
	s, err := settings.LoadConfig(map[string]string{settings.RegionKey: "ap-northeast-1"})
	if err != nil {
		t.Fatal(err)
	}
	m := &mocks.Mocks{Project: "sluice", Stack: "test", Region: "ap-northeast-1"}
	var password internals.UnsafeAwaitOutputResult
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		db, err := database.New(ctx, "db", database.Args{
			Settings:         s.Database,
			SubnetIDs:        pulumi.ToStringArray([]string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}),
			SecurityGroupIDs: pulumi.ToStringArray([]string{"sg-0123456789abcdef0"}),
		})
		if err != nil {
			return err
		}
		password, err = internals.UnsafeAwaitOutput(ctx.Context(), db.AppPassword)
		return err
	}, pulumi.WithMocks("sluice", "test", m))
	if err != nil {
		t.Fatal(err)
	}
	if !password.Secret || !password.Known {
		t.Fatalf("app password secret=%v known=%v", password.Secret, password.Known)
	}
	var version mocks.Registration
	for _, r := range m.Registrations() {
		if r.Type == "aws:secretsmanager/secretVersion:SecretVersion" {
			version = r
		}
	}
	if !slices.Contains(version.IgnoreChanges, "secretString") {
		t.Errorf("secret version ignores changes of %v; a new password would be stored on every run", version.IgnoreChanges)
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
