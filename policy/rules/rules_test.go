package rules_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

func TestCompliantStackHasNoViolations(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		vs := rules.Evaluate(rules.All(), rulestest.Stack(), nil, rules.Env{Stack: stack})
		// Undeclared, the public intake route is the one advisory finding.
		if len(vs) != 1 || vs[0].Policy != "apigw-route-authorization" || vs[0].EnforcementLevel != rules.Advisory {
			t.Fatalf("%s: got %+v, want only the advisory route finding", stack, vs)
		}
		cfg := rules.PackConfig{"apigw-route-authorization": {Properties: rules.Config{"publicRoutes": []any{"POST /submit"}}}}
		if vs := rules.Evaluate(rules.All(), rulestest.Stack(), cfg, rules.Env{Stack: stack}); len(vs) != 0 {
			t.Fatalf("%s with POST /submit allow-listed: got %+v, want none", stack, vs)
		}
		declared := rules.Env{Stack: stack, Project: "sluice", Config: map[string]string{"sluice:publicRoutes": "POST /submit"}}
		if vs := rules.Evaluate(rules.All(), rulestest.Stack(), nil, declared); len(vs) != 0 {
			t.Fatalf("%s declaring POST /submit public: got %+v, want none", stack, vs)
		}
	}
}

func TestMutationsOfHandBuiltStack(t *testing.T) {
	base := map[string][]rules.Resource{"dev": rulestest.Stack(), "prod": rulestest.Stack()}
	applied, caught := rulestest.CheckMutations(t, base, true)
	t.Logf("%d mutations applied, %d caught by the intended policy alone", applied, caught)
	if applied < 25 {
		t.Errorf("only %d mutations applied, want at least 25", applied)
	}
}

func TestPanicInPolicyBecomesViolation(t *testing.T) {
	p := rules.Policy{
		Name: "boom", EnforcementLevel: rules.Mandatory, Severity: rules.High,
		ValidateResource: func(rules.Check, rules.Resource) { panic("nil map") },
	}
	vs := p.CheckResource(rules.Resource{Type: "t", Name: "n"}, nil, rules.Env{})
	if len(vs) != 1 || vs[0].Policy != "boom" || !strings.Contains(vs[0].Message, "internal error: nil map") {
		t.Fatalf("got %+v", vs)
	}
	s := rules.Policy{Name: "boom-stack", ValidateStack: func(rules.Check, *rules.Stack) { panic("bad") }}
	if vs := s.CheckStack(nil, nil, rules.Env{}); len(vs) != 1 || vs[0].EnforcementLevel != rules.Advisory {
		t.Fatalf("got %+v", vs)
	}
}

func TestEnforcementConfig(t *testing.T) {
	mandatory, disabled := rules.Mandatory, rules.Disabled
	stack := rulestest.Stack()
	cfg := rules.PackConfig{"all": {EnforcementLevel: &mandatory}}
	vs := rules.Evaluate(rules.All(), stack, cfg, rules.Env{Stack: "dev"})
	if len(vs) != 1 || vs[0].EnforcementLevel != rules.Mandatory {
		t.Fatalf("all=mandatory: got %+v", vs)
	}
	cfg["apigw-route-authorization"] = rules.PolicyConfig{EnforcementLevel: &disabled}
	if vs := rules.Evaluate(rules.All(), stack, cfg, rules.Env{Stack: "dev"}); len(vs) != 0 {
		t.Fatalf("policy disabled: got %+v", vs)
	}
	if !rules.HasMandatory([]rules.Violation{{EnforcementLevel: rules.Mandatory}}) || rules.HasMandatory(nil) {
		t.Fatal("HasMandatory is wrong")
	}
}

func TestPoliciesAreWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range rules.All() {
		if seen[p.Name] || p.Name == "all" || p.Description == "" || p.Severity == 0 {
			t.Errorf("policy %q: duplicate, reserved or missing description/severity", p.Name)
		}
		seen[p.Name] = true
		if p.ValidateResource == nil && p.ValidateStack == nil {
			t.Errorf("policy %q sets no validator", p.Name)
		}
		if len(p.Reads) == 0 {
			t.Errorf("policy %q does not say which resource types it reads", p.Name)
		}
		for k := range p.Defaults {
			if _, ok := p.ConfigSchema[k]; !ok {
				t.Errorf("policy %q: default %q has no schema", p.Name, k)
			}
		}
	}
}

// props builds a property map; values may be rulestest.Computed() or
// rulestest.Secret(...).
func props(m map[string]any) resource.PropertyMap { return resource.NewPropertyMapFromMap(m) }

func TestCompliantStackInPreview(t *testing.T) {
	preview := rulestest.Preview(rulestest.Stack())
	vs := rules.Evaluate(rules.All(), preview, nil, rules.Env{Stack: "dev", DryRun: true})
	if rules.HasMandatory(vs) {
		t.Fatalf("preview of the compliant stack: %+v", vs)
	}
	// At `up` a still-unknown policy document or redrive policy is reported.
	vs = rules.Evaluate(rules.All(), preview, nil, rules.Env{Stack: "dev"})
	got := map[string]bool{}
	for _, v := range vs {
		got[v.Policy] = true
	}
	for _, want := range []string{"sqs-queue-has-dlq", "iam-no-wildcards", "rds-iam-auth"} {
		if !got[want] {
			t.Errorf("unknown values at up: %s reported nothing (got %v)", want, got)
		}
	}
}
