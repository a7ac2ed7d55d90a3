package fakecloud

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/sluicehq/sluice/offline/fakeaws"
	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// TestEnforcePublishedPack follows the published pack to where it is
// enforced, with the real CLI: `pulumi policy enable <org>/sluice latest`,
// then `pulumi preview` of the dev stack on the stand-in backend, without
// --policy-pack. The CLI gets the pack as a required policy, downloads the
// archive, installs it (`go mod tidy` by the language host) and runs it;
// the stand-in receives its verdicts as engine events. The dev stack
// declares its open route public (sluice:publicRoutes), and the engine
// hands the required pack the stack's configuration too, so the route
// check finds nothing, also with the recommended config. Enabling the pack
// again with a config that makes the route check mandatory and stops it
// trusting the stack's declaration turns the same preview into a failed
// one: the policy group's config reaches the downloaded pack.
func TestEnforcePublishedPack(t *testing.T) {
	testenv.NeedsPulumiCLI(t)
	cli, lang := tools(t)
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	awsDir := t.TempDir()
	buildFakeAWS(t, root, awsDir)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	sess, err := NewSession(Options{RepoRoot: root, Pulumi: cli, PluginDirs: []string{lang, awsDir}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	org := sess.Org()
	stack := org + "/sluice/dev"
	step := func(dir string, args ...string) string {
		t.Helper()
		out, d, err := sess.Run(ctx, dir, args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pulumi %s: %v", strings.Join(args, " "), d.Round(time.Millisecond))
		return out
	}
	if _, err := sess.Login(ctx); err != nil {
		t.Fatal(err)
	}
	step(sess.PackDir(), "policy", "publish", org)
	// What a workflow asks before publishing: is this version out already?
	var listed []struct {
		Name     string   `json:"name"`
		Versions []string `json:"versions"`
	}
	if err := json.Unmarshal([]byte(step(root, "policy", "ls", org, "--json")), &listed); err != nil {
		t.Fatalf("pulumi policy ls --json: %v", err)
	}
	if len(listed) != 1 || listed[0].Name != rules.PackName || !slices.Equal(listed[0].Versions, []string{rules.PackVersion}) {
		t.Errorf("pulumi policy ls %s --json = %+v, want %s with version %s", org, listed, rules.PackName, rules.PackVersion)
	}
	step(root, "policy", "enable", org+"/sluice", "latest")
	if g := sess.Server().PolicyGroup(apitype.DefaultPolicyGroup); len(g) != 1 || g[0].VersionTag != rules.PackVersion {
		t.Fatalf("default policy group = %+v, want sluice %s", g, rules.PackVersion)
	}
	unchanged := snapshotFiles(t, root, "Pulumi.yaml", "Pulumi.dev.yaml")
	step(root, "stack", "init", stack)
	out := step(root, "preview", "--stack", stack)
	unchanged(t)
	t.Logf("preview's policy section:\n%s", policySection(out))

	updates := sess.Server().Updates()
	if len(updates) != 1 {
		t.Fatalf("updates = %d, want 1", len(updates))
	}
	u := updates[0]
	checkEnforced(t, sess, u, apitype.UpdateStatusSucceeded)
	if events := u.PolicyEvents(); len(events) != 0 {
		t.Errorf("the dev preview, whose stack declares its open route public, has policy events %+v", events)
	}

	// The recommended config (docs/policy-pack.md) keeps the stack clean.
	step(root, "policy", "enable", org+"/sluice", "latest", "--config", filepath.Join(root, "policy", "recommended-config.json"))
	step(root, "preview", "--stack", stack)
	updates = sess.Server().Updates()
	u = updates[len(updates)-1]
	checkEnforced(t, sess, u, apitype.UpdateStatusSucceeded)
	if events := u.PolicyEvents(); len(events) != 0 {
		t.Errorf("with the recommended config the dev preview has policy events %+v", events)
	}

	// The policy group's config reaches the downloaded pack: the route
	// check, made mandatory and not trusting the stack's declaration, fails
	// the same preview.
	cfg := filepath.Join(t.TempDir(), "policy-config.json")
	if err := os.WriteFile(cfg, []byte(`{"`+rules.APIRouteAuthorization.Name+`": {"enforcementLevel": "mandatory", "trustStackConfig": false}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	step(root, "policy", "enable", org+"/sluice", "latest", "--config", cfg)
	out, _, err = sess.Run(ctx, root, "preview", "--stack", stack)
	if err == nil {
		t.Fatal("preview with the route check made mandatory succeeded")
	}
	sec := policySection(out)
	if !strings.Contains(sec, "[mandatory]") || !strings.Contains(sec, rules.APIRouteAuthorization.Name) {
		t.Errorf("failed preview does not name the mandatory violation:\n%s", out)
	}
	t.Logf("failed preview's policy section:\n%s", sec)
	updates = sess.Server().Updates()
	u = updates[len(updates)-1]
	checkEnforced(t, sess, u, apitype.UpdateStatusFailed)
	want := apitype.PolicyEvent{PolicyName: rules.APIRouteAuthorization.Name, PolicyPackName: rules.PackName,
		PolicyPackVersion: rules.PackVersion, EnforcementLevel: "mandatory"}
	if !hasPolicyEvent(u, want) {
		t.Errorf("failed preview's events lack %+v; policy events: %+v", want, u.PolicyEvents())
	}
	if unknown := sess.Server().Unknown(); len(unknown) > 0 {
		t.Errorf("the CLI called endpoints the stand-in lacks: %v", unknown)
	}
	calls := map[string]int{}
	var endpoints []string
	for _, r := range sess.Server().Requests() {
		if calls[r.Endpoint] == 0 {
			endpoints = append(endpoints, r.Endpoint)
		}
		calls[r.Endpoint]++
	}
	for _, e := range endpoints {
		t.Logf("%3d × %s", calls[e], e)
	}
}

// checkEnforced checks that an update ran the published pack from the
// backend, not a local one: the pack was a required policy with the
// stand-in's download URL, the CLI fetched it and installed it under
// PULUMI_HOME, and completed the update with the given status.
func checkEnforced(t *testing.T, sess *Session, u Update, status apitype.UpdateStatus) {
	t.Helper()
	if len(u.Program.Options.LocalPolicyPackPaths) > 0 {
		t.Errorf("preview ran local packs %v", u.Program.Options.LocalPolicyPackPaths)
	}
	if len(u.Required) != 1 || u.Required[0].Name != rules.PackName || u.Required[0].VersionTag != rules.PackVersion {
		t.Fatalf("required policies = %+v, want %s %s", u.Required, rules.PackName, rules.PackVersion)
	}
	download := "GET " + strings.TrimPrefix(u.Required[0].PackLocation, sess.Server().URL())
	if !slices.ContainsFunc(sess.Server().Requests(), func(r Request) bool { return r.Method+" "+r.Path == download && r.Status == 200 }) {
		t.Errorf("the CLI never downloaded %s", download)
	}
	// sdk/go/common/workspace/plugins.go GetPolicyPath.
	installed := filepath.Join(sess.Home(), "policies", sess.Org(), "pulumi-analyzer-"+rules.PackName+"-v"+rules.PackVersion)
	for _, f := range []string{"PulumiPolicy.yaml", "go.mod", "main.go"} {
		if _, err := os.Stat(filepath.Join(installed, f)); err != nil {
			t.Errorf("installed pack: %v", err)
		}
	}
	if u.Status != status {
		t.Errorf("update %s completed %q, want %q", u.ID, u.Status, status)
	}
}

// policySection cuts the "Policies:" block out of a preview's output.
func policySection(out string) string {
	_, after, ok := strings.Cut(out, "\nPolicies:\n")
	if !ok {
		return ""
	}
	sec, _, _ := strings.Cut(after, "\n\n")
	return "Policies:\n" + sec
}

func hasPolicyEvent(u Update, want apitype.PolicyEvent) bool {
	return slices.ContainsFunc(u.PolicyEvents(), func(e apitype.PolicyEvent) bool {
		return e.PolicyName == want.PolicyName && e.PolicyPackName == want.PolicyPackName &&
			e.PolicyPackVersion == want.PolicyPackVersion && e.EnforcementLevel == want.EnforcementLevel
	})
}

// buildFakeAWS builds the stand-in aws provider into dir under the name the
// engine looks for on PATH, reporting the pulumi-aws version of go.mod.
func buildFakeAWS(t *testing.T, root, dir string) {
	t.Helper()
	if _, err := fakeaws.BuildPlugin(root, dir); err != nil {
		t.Fatal(err)
	}
}

// snapshotFiles records files of the checkout and returns a check that
// they are unchanged, restoring any that changed: a preview on the Cloud
// backend must not rewrite the stack file (as a passphrase stack's first
// use does).
func snapshotFiles(t *testing.T, root string, names ...string) func(*testing.T) {
	t.Helper()
	before := map[string]string{}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(root, n))
		if err != nil {
			t.Fatal(err)
		}
		before[n] = string(b)
	}
	return func(t *testing.T) {
		t.Helper()
		for _, n := range names {
			b, err := os.ReadFile(filepath.Join(root, n))
			if err != nil || string(b) != before[n] {
				t.Errorf("%s changed (restored): %v\n%s", n, err, b)
				_ = os.WriteFile(filepath.Join(root, n), []byte(before[n]), 0o644)
			}
		}
	}
}
