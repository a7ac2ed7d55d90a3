package analyzer

import (
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/policy/rules"
)

// TestDefaultsMatchSchemas checks every default config value against its
// schema, so that the config the pack publishes is one it would accept.
func TestDefaultsMatchSchemas(t *testing.T) {
	for _, p := range rules.All() {
		for k, v := range p.Defaults {
			if err := CheckValue(p.ConfigSchema[k], v); err != nil {
				t.Errorf("%s default %s: %v", p.Name, k, err)
			}
		}
	}
}

func TestParseConfig(t *testing.T) {
	props := func(m map[string]any) *structpb.Struct {
		s, err := structpb.NewStruct(m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name    string
		in      map[string]*pulumirpc.PolicyConfig
		wantErr string
	}{
		{"empty", nil, ""},
		{"all mandatory", map[string]*pulumirpc.PolicyConfig{"all": {EnforcementLevel: pulumirpc.EnforcementLevel_MANDATORY}}, ""},
		{"all with properties", map[string]*pulumirpc.PolicyConfig{"all": {Properties: props(map[string]any{"x": 1})}}, "only an enforcement level"},
		{"unknown policy", map[string]*pulumirpc.PolicyConfig{"no-such-policy": {}}, "unknown policy"},
		{"unknown property", map[string]*pulumirpc.PolicyConfig{"sqs-queue-has-dlq": {Properties: props(map[string]any{"maxReceiveCount": 3})}}, "no config property"},
		{"remediate is not supported", map[string]*pulumirpc.PolicyConfig{"sqs-queue-has-dlq": {EnforcementLevel: pulumirpc.EnforcementLevel_REMEDIATE}}, "not supported"},
		{"integer expected", map[string]*pulumirpc.PolicyConfig{"sqs-queue-has-dlq": {Properties: props(map[string]any{"maxMaxReceiveCount": "ten"})}}, "not of type integer"},
		{"fraction for an integer", map[string]*pulumirpc.PolicyConfig{"sqs-queue-has-dlq": {Properties: props(map[string]any{"maxMaxReceiveCount": 2.5})}}, "not of type integer"},
		{"list of strings expected", map[string]*pulumirpc.PolicyConfig{"apigw-route-authorization": {Properties: props(map[string]any{"publicRoutes": []any{1}})}}, "element 0: 1 is not of type string"},
		{"list expected", map[string]*pulumirpc.PolicyConfig{"apigw-route-authorization": {Properties: props(map[string]any{"publicRoutes": "POST /submit"})}}, "not of type array"},
		{"date table expected", map[string]*pulumirpc.PolicyConfig{"rds-engine-standard-support": {Properties: props(map[string]any{"mysqlStandardSupportEnds": "2026-07-31"})}}, "not of type object"},
		{"date in the table malformed", map[string]*pulumirpc.PolicyConfig{"rds-engine-standard-support": {Properties: props(map[string]any{"mysqlStandardSupportEnds": map[string]any{"8.0": "31 July 2026"}})}}, `"8.0": "31 July 2026" does not match`},
		{"asOf malformed", map[string]*pulumirpc.PolicyConfig{"rds-engine-standard-support": {Properties: props(map[string]any{"asOf": "tomorrow"})}}, `"tomorrow" does not match`},
		{"asOf and a table", map[string]*pulumirpc.PolicyConfig{"rds-engine-standard-support": {Properties: props(map[string]any{"asOf": "2026-08-01", "mysqlStandardSupportEnds": map[string]any{"8.4": "2029-07-31"}})}}, ""},
		{"narrowing keys must be strings", map[string]*pulumirpc.PolicyConfig{"resource-policy-not-public": {Properties: props(map[string]any{"narrowingConditionKeys": []any{true}})}}, "not of type string"},
		{"boolean expected", map[string]*pulumirpc.PolicyConfig{"production-safeguards": {Properties: props(map[string]any{"production": "yes"})}}, "not of type boolean"},
		{"known property", map[string]*pulumirpc.PolicyConfig{"sqs-queue-has-dlq": {EnforcementLevel: pulumirpc.EnforcementLevel_ADVISORY, Properties: props(map[string]any{"maxMaxReceiveCount": 8})}}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(rules.All(), tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.name == "known property" {
				pc := cfg["sqs-queue-has-dlq"]
				if *pc.EnforcementLevel != rules.Advisory || pc.Properties["maxMaxReceiveCount"] != float64(8) {
					t.Fatalf("got %+v", pc)
				}
			}
		})
	}
}

// TestConfigureStackDeclaresPublicRoutes: the stack config the engine sends
// in ConfigureStack reaches the route policy (the stack's own
// publicRoutes), secret keys are not kept, and an explicit pack config can
// stop trusting the stack.
func TestConfigureStackDeclaresPublicRoutes(t *testing.T) {
	route, err := structpb.NewStruct(map[string]any{"routeKey": "POST /submit", "authorizationType": "NONE"})
	if err != nil {
		t.Fatal(err)
	}
	analyze := func(s *Server) []*pulumirpc.AnalyzeDiagnostic {
		t.Helper()
		resp, err := s.Analyze(t.Context(), &pulumirpc.AnalyzeRequest{
			Type: "aws:apigatewayv2/route:Route", Name: "api-submit", Urn: "urn:pulumi:dev::sluice::aws:apigatewayv2/route:Route::api-submit", Properties: route,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetDiagnostics()
	}
	configure := func(s *Server, routes string) {
		t.Helper()
		if _, err := s.ConfigureStack(t.Context(), &pulumirpc.AnalyzerStackConfigureRequest{
			Stack: "dev", Project: "sluice", DryRun: true,
			Config:           map[string]string{"sluice:publicRoutes": routes, "sluice:alarmEmail": "ops@example.com", "aws:region": "ap-northeast-1"},
			ConfigSecretKeys: []string{"sluice:alarmEmail"},
		}); err != nil {
			t.Fatal(err)
		}
	}

	s := New(rules.PackName, rules.PackVersion, rules.All())
	if ds := analyze(s); len(ds) != 1 || ds[0].GetPolicyName() != "apigw-route-authorization" {
		t.Fatalf("before ConfigureStack: %v, want the route finding", ds)
	}
	configure(s, "POST /submit")
	if ds := analyze(s); len(ds) != 0 {
		t.Errorf("stack declares the route public: %v, want no finding", ds)
	}
	if _, kept := s.env.Config["sluice:alarmEmail"]; kept || s.env.Config["aws:region"] != "ap-northeast-1" {
		t.Errorf("kept config %v: want everything but the secret keys", s.env.Config)
	}
	configure(s, "")
	if ds := analyze(s); len(ds) != 1 {
		t.Errorf("stack declares no public route: %v, want the route finding", ds)
	}

	configure(s, "POST /submit")
	props, err := structpb.NewStruct(map[string]any{"trustStackConfig": false})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Configure(t.Context(), &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"apigw-route-authorization": {EnforcementLevel: pulumirpc.EnforcementLevel_ADVISORY, Properties: props},
	}}); err != nil {
		t.Fatal(err)
	}
	if ds := analyze(s); len(ds) != 1 {
		t.Errorf("stack config not trusted: %v, want the route finding", ds)
	}
}
