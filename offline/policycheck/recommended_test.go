package policycheck_test

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/policycheck"
	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/policy/analyzer"
	"github.com/sluicehq/sluice/policy/rules"
)

// recommendedConfig is the config to enable the published pack with
// (pulumi policy enable <org>/sluice latest --config …), in the CLI's
// policy config file format.
const recommendedConfig = "../../policy/recommended-config.json"

// TestRecommendedConfig: the recommended config is valid for the pack; with
// it both stacks are clean, because each declares its public route itself
// (sluice:publicRoutes, which the engine hands the pack with the stack's
// configuration); a stack that declares none still gets the finding.
func TestRecommendedConfig(t *testing.T) {
	cfg := loadRecommended(t)
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	for stack, file := range stackFiles {
		t.Run(stack, func(t *testing.T) {
			res, vs, err := policycheck.Check(file, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(vs) != 0 {
				t.Errorf("%s with the recommended config: %+v, want no finding", stack, vs)
			}
			config := maps.Clone(res.Config)
			config[settings.Key(settings.KeyPublicRoutes)] = ""
			undeclared, err := stackrun.RunConfig(root, stack, config)
			if err != nil {
				t.Fatal(err)
			}
			vs = rules.Evaluate(rules.All(), policycheck.Resources(undeclared), cfg, policycheck.Env(undeclared))
			if len(vs) != 1 || vs[0].Policy != "apigw-route-authorization" || vs[0].EnforcementLevel != rules.Advisory {
				t.Errorf("%s declaring no public route: %+v, want the one advisory route finding", stack, vs)
			}
		})
	}
}

// TestRecommendedConfigDocumented: docs/policy-pack.md shows the file as it is.
func TestRecommendedConfigDocumented(t *testing.T) {
	raw, err := os.ReadFile(recommendedConfig)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "policy-pack.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), "```json\n"+string(raw)+"```") {
		t.Errorf("docs/policy-pack.md does not show policy/recommended-config.json as it is:\n%s", raw)
	}
}

// loadRecommended reads the file as the CLI's policy config file format
// (policy name → {"enforcementLevel", properties…}) and checks it with the
// pack's own Configure parsing.
func loadRecommended(t *testing.T) rules.PackConfig {
	t.Helper()
	raw, err := os.ReadFile(recommendedConfig)
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]map[string]any
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	in := map[string]*pulumirpc.PolicyConfig{}
	for name, entry := range file {
		level, err := rules.ParseLevel(entry["enforcementLevel"].(string))
		if err != nil {
			t.Fatal(err)
		}
		delete(entry, "enforcementLevel")
		props, err := structpb.NewStruct(entry)
		if err != nil {
			t.Fatal(err)
		}
		in[name] = &pulumirpc.PolicyConfig{EnforcementLevel: pulumirpc.EnforcementLevel(level), Properties: props}
	}
	cfg, err := analyzer.ParseConfig(rules.All(), in)
	if err != nil {
		t.Fatalf("the pack refuses %s: %v", recommendedConfig, err)
	}
	return cfg
}
