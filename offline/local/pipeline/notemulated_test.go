package pipeline

import (
	"strings"
	"testing"

	"github.com/sluicehq/sluice/infra/routeauth"
	"github.com/sluicehq/sluice/infra/settings"
)

func TestNotEmulated(t *testing.T) {
	tests := []struct {
		name string
		api  settings.API
		want []string // one substring per expected line
	}{
		{"open route, no CORS", settings.API{Auth: routeauth.None}, nil},
		{"jwt", settings.API{Auth: routeauth.JWT, JWTIssuer: "https://issuer.example.com/"}, []string{"JWT (issuer https://issuer.example.com/)"}},
		{"iam", settings.API{Auth: routeauth.IAM}, []string{"AWS_IAM"}},
		{"cors", settings.API{Auth: routeauth.None, CORSAllowOrigins: []string{"https://app.example.com", "http://localhost:3000"}},
			[]string{"CORS for https://app.example.com, http://localhost:3000"}},
		{"both", settings.API{Auth: routeauth.IAM, CORSAllowOrigins: []string{"*"}}, []string{"AWS_IAM", "CORS for *"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NotEmulated(tt.api)
			if len(got) != len(tt.want) {
				t.Fatalf("NotEmulated = %q, want %d lines", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("line %d %q lacks %q", i, got[i], w)
				}
			}
		})
	}
}
