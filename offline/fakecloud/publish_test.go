package fakecloud

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"gopkg.in/yaml.v3"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/testkit/testenv"
)

const repoRoot = "../.."

// tools returns the pulumi CLI and the directory of pulumi-language-go, as
// .ci/run builds them (both cached after the first build).
func tools(t *testing.T) (cli, languageDir string) {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	out := func(script string) string {
		cmd := exec.Command("bash", script)
		cmd.Dir = root
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v\n%s", script, err, stderr.String())
		}
		return strings.TrimSpace(string(b))
	}
	cli = out(filepath.Join(root, "scripts", "pulumi-cli.sh"))
	lang := out(filepath.Join(root, "scripts", "pulumi-language-go.sh"))
	return cli, filepath.Dir(lang)
}

// TestPublishPolicyPack publishes policy/ with the real CLI into the
// stand-in, as a user runs it (`pulumi login`, then `pulumi policy publish
// <org>` in policy/), and checks what arrived: the three-step exchange,
// every policy of rules.All() with its level, severity, remediation text and
// config schema, an archive that is exactly the pack directory and builds on
// its own.
func TestPublishPolicyPack(t *testing.T) {
	testenv.NeedsPulumiCLI(t)
	cli, lang := tools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := PublishPolicyPack(ctx, Options{RepoRoot: repoRoot, Pulumi: cli, PluginDirs: []string{lang}})
	if err != nil {
		t.Fatalf("%v\nrequests: %v", err, res.Requests)
	}
	t.Logf("CLI output:\n%s", res.Output)
	t.Logf("login %v, publish %v, go build of the archive %v", res.Login.Round(time.Millisecond),
		res.Publish.Round(time.Millisecond), res.Build.Round(time.Millisecond))

	// Login validates the token; publish then runs its three steps and reads
	// the version back. The backend also fetches its capabilities and the
	// default org concurrently (promises in httpstate.New), so those two may
	// come anywhere after login, or not at all before the CLI exits.
	version := "/api/orgs/" + DefaultOrg + "/policypacks/sluice/versions/" + rules.PackVersion
	steps := []string{
		"GET /api/user",
		"POST /api/orgs/" + DefaultOrg + "/policypacks",
		"PUT /storage/policypacks/" + DefaultOrg + "/sluice/" + rules.PackVersion,
		"POST " + version + "/complete",
		"GET " + version,
	}
	concurrent := []string{"GET /api/capabilities", "GET /api/user/organizations/default"}
	var got []string
	for _, r := range res.Requests {
		if rq := r.Method + " " + r.Path; !slices.Contains(concurrent, rq) {
			got = append(got, rq)
		}
		if r.Status >= 300 {
			t.Errorf("%v", r)
		}
	}
	if !slices.Equal(got, steps) {
		t.Errorf("requests %v\nwant, besides %v: %v", res.Requests, concurrent, steps)
	}

	c := res.Pack.Create
	if c.Name != rules.PackName || c.VersionTag != rules.PackVersion || c.Runtime != "go" {
		t.Errorf("create request names %s@%s runtime %q, want %s@%s runtime go", c.Name, c.VersionTag, c.Runtime, rules.PackName, rules.PackVersion)
	}
	// The pack reports rules.PackVersion; PulumiPolicy.yaml says the same,
	// so that the prebuilt-binary mode (which reads the file) agrees.
	var yml struct{ Version string }
	if b, err := os.ReadFile(filepath.Join(repoRoot, "policy", "PulumiPolicy.yaml")); err != nil {
		t.Fatal(err)
	} else if err := yaml.Unmarshal(b, &yml); err != nil || yml.Version != rules.PackVersion {
		t.Errorf("PulumiPolicy.yaml version %q (%v), want rules.PackVersion %q", yml.Version, err, rules.PackVersion)
	}
	if len(c.Policies) != len(rules.All()) {
		t.Errorf("create request lists %d policies, rules.All() has %d", len(c.Policies), len(rules.All()))
	}
	for _, p := range c.Policies {
		t.Logf("published %-32s %-9s %-8s config %s", p.Name, p.EnforcementLevel, p.Severity, schemaKeys(p.ConfigSchema))
	}
	checkRejectsMutations(t, c.Policies)
	checkArchiveIsPackDir(t, res)
}

func schemaKeys(s *apitype.PolicyConfigSchema) []string {
	if s == nil {
		return nil
	}
	var ks []string
	for k := range s.Properties {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkRejectsMutations changes the received policies one way at a time and
// requires CheckPolicies to notice each change, so that its success on the
// real request means something.
func checkRejectsMutations(t *testing.T, published []apitype.Policy) {
	t.Helper()
	clone := func() []apitype.Policy {
		b, err := json.Marshal(published)
		if err != nil {
			t.Fatal(err)
		}
		var out []apitype.Policy
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	configurable := slices.IndexFunc(published, func(p apitype.Policy) bool { return len(p.ConfigSchema.Properties) > 1 })
	if configurable < 0 {
		t.Fatal("no published policy has config beyond enforcementLevel")
	}
	raw := func(s string) *json.RawMessage { r := json.RawMessage(s); return &r }
	mutations := map[string]func(ps []apitype.Policy) []apitype.Policy{
		"policy dropped": func(ps []apitype.Policy) []apitype.Policy { return ps[1:] },
		"policy added":   func(ps []apitype.Policy) []apitype.Policy { return append(ps, apitype.Policy{Name: "extra"}) },
		"policy twice":   func(ps []apitype.Policy) []apitype.Policy { return append(ps, ps[0]) },
		"level changed":  func(ps []apitype.Policy) []apitype.Policy { ps[0].EnforcementLevel = "disabled"; return ps },
		"severity changed": func(ps []apitype.Policy) []apitype.Policy {
			ps[0].Severity = map[apitype.PolicySeverity]apitype.PolicySeverity{"low": "critical"}[ps[0].Severity]
			if ps[0].Severity == "" {
				ps[0].Severity = "low"
			}
			return ps
		},
		"description changed":  func(ps []apitype.Policy) []apitype.Policy { ps[0].Description += "."; return ps },
		"remediation dropped":  func(ps []apitype.Policy) []apitype.Policy { ps[0].RemediationSteps = ""; return ps },
		"schema dropped":       func(ps []apitype.Policy) []apitype.Policy { ps[configurable].ConfigSchema = nil; return ps },
		"schema not an object": func(ps []apitype.Policy) []apitype.Policy { ps[0].ConfigSchema.Type = "string"; return ps },
		"level property dropped": func(ps []apitype.Policy) []apitype.Policy {
			delete(ps[0].ConfigSchema.Properties, "enforcementLevel")
			return ps
		},
		"config property dropped": func(ps []apitype.Policy) []apitype.Policy {
			for k := range ps[configurable].ConfigSchema.Properties {
				if k != "enforcementLevel" {
					delete(ps[configurable].ConfigSchema.Properties, k)
					break
				}
			}
			return ps
		},
		"config property changed": func(ps []apitype.Policy) []apitype.Policy {
			for k := range ps[configurable].ConfigSchema.Properties {
				if k != "enforcementLevel" {
					ps[configurable].ConfigSchema.Properties[k] = raw(`{"type":"null"}`)
					break
				}
			}
			return ps
		},
		"config property added": func(ps []apitype.Policy) []apitype.Policy {
			ps[0].ConfigSchema.Properties["bogus"] = raw(`{"type":"string"}`)
			return ps
		},
	}
	for name, mutate := range mutations {
		if err := CheckPolicies(mutate(clone()), rules.All()); err == nil {
			t.Errorf("CheckPolicies accepted the request with %s", name)
		}
	}
}

// checkArchiveIsPackDir requires the archive to hold exactly the files
// `git` would show in policy/ (tracked or not ignored: archive.TGZ honours
// .gitignore), each with the same bytes, and go.mod among them.
func checkArchiveIsPackDir(t *testing.T, res Result) {
	t.Helper()
	ls := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "--deduplicate")
	ls.Dir = filepath.Join(repoRoot, "policy")
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files in policy/: %v", err)
	}
	wantFiles := strings.Fields(string(out))
	got := slices.Sorted(slices.Values(res.Files))
	slices.Sort(wantFiles)
	if !slices.Equal(got, wantFiles) {
		t.Errorf("archive files:\n%v\nwant policy/'s:\n%v", got, wantFiles)
	}
	for _, f := range []string{"go.mod", "go.sum", "PulumiPolicy.yaml", "main.go"} {
		if !slices.Contains(got, f) {
			t.Errorf("archive lacks %s", f)
		}
	}
	dir := t.TempDir()
	if err := Extract(res.Pack.Archive, dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range got {
		a, errA := os.ReadFile(filepath.Join(dir, f))
		b, errB := os.ReadFile(filepath.Join(repoRoot, "policy", f))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("archive's %s differs from policy/%s (%v, %v)", f, f, errA, errB)
		}
	}
	t.Logf("archive: %d bytes, %d files: %s", len(res.Pack.Archive), len(got), strings.Join(got, " "))
}
