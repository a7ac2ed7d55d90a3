package rules_test

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// TestPolicyPackDoc checks docs/policy-pack.md against the code: the level
// and severity of the issue 11 policies, their default config, and the
// example messages, regenerated from the mutations they describe.
func TestPolicyPackDoc(t *testing.T) {
	raw, err := os.ReadFile("../../docs/policy-pack.md")
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, p := range []rules.Policy{rules.ResourcePolicyNotPublic, rules.RDSEngineStandardSupport} {
		row := fmt.Sprintf("| `%s` | %s | %s |", p.Name, p.EnforcementLevel, p.Severity)
		if !strings.Contains(page, row) {
			t.Errorf("the page lacks the row %q", row)
		}
	}
	for _, k := range rules.ResourcePolicyNotPublic.Defaults["narrowingConditionKeys"].([]any) {
		if !strings.Contains(page, fmt.Sprintf("`%s`", k)) {
			t.Errorf("the page does not list the default narrowing key %s", k)
		}
	}
	for _, key := range []string{"mysqlStandardSupportEnds", "auroraMysqlStandardSupportEnds"} {
		table := rules.RDSEngineStandardSupport.Defaults[key].(map[string]any)
		var pairs []string
		for _, v := range slices.Sorted(maps.Keys(table)) {
			pairs = append(pairs, fmt.Sprintf("%q: %q", v, table[v]))
		}
		row := fmt.Sprintf("| `rds-engine-standard-support` | `%s` | `{%s}` |", key, strings.Join(pairs, ", "))
		if !strings.Contains(page, row) {
			t.Errorf("the page lacks the default row %q", row)
		}
	}
	examples := map[string]string{
		"queue policy lets anyone send":                       "resource-policy-not-public",
		"Lambda permission for API Gateway without sourceArn": "resource-policy-not-public",
		"database on MySQL 8.0 past standard support":         "rds-engine-standard-support",
	}
	for _, m := range rulestest.Mutations() {
		policy, ok := examples[m.Name]
		if !ok {
			continue
		}
		delete(examples, m.Name)
		mutated, err := m.Apply(rulestest.Stack())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, v := range rules.Evaluate(rules.All(), mutated, m.Config, rules.Env{Stack: "dev"}) {
			if v.Policy != policy {
				continue
			}
			found = true
			if !strings.Contains(page, "```text\n"+v.Message+"\n```") {
				t.Errorf("the page lacks the message of %q:\n%s", m.Name, v.Message)
			}
		}
		if !found {
			t.Errorf("%q: %s reports nothing", m.Name, policy)
		}
	}
	if len(examples) > 0 {
		t.Errorf("no mutations named %v", examples)
	}
}
