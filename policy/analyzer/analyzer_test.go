package analyzer

import (
	"strings"
	"testing"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/policy/rules"
)

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
		{"list of strings expected", map[string]*pulumirpc.PolicyConfig{"apigw-route-authorization": {Properties: props(map[string]any{"publicRoutes": []any{1}})}}, "not of type array"},
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
