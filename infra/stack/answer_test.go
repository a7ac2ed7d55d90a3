package stack_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/offline/stackrun"
)

// TestEmptyAnswersStopTheProgram runs the real program (infra/answer's
// checks at work) for the dev stack
// with one answer of AWS left empty. The program must fail with an error
// that names the resource and the property, and register none of the
// resources that need the value, so `pulumi up` creates none of them.
func TestEmptyAnswersStopTheProgram(t *testing.T) {
	const (
		instance   = "aws:rds/instance:Instance"
		proxy      = "aws:rds/proxy:Proxy"
		version    = "aws:secretsmanager/secretVersion:SecretVersion"
		function   = "aws:lambda/function:Function"
		invocation = "aws:lambda/invocation:Invocation"
		mapping    = "aws:lambda/eventSourceMapping:EventSourceMapping"
	)
	del := func(key string) func(resource.PropertyMap) {
		return func(out resource.PropertyMap) { delete(out, resource.PropertyKey(key)) }
	}
	set := func(key string, v any) func(resource.PropertyMap) {
		return func(out resource.PropertyMap) { out[resource.PropertyKey(key)] = resource.NewPropertyValue(v) }
	}
	tests := []struct {
		name     string
		typ      string // the resource whose answer is changed
		change   func(resource.PropertyMap)
		want     []string // in the program's error
		notAfter []string // types that must not be registered
	}{
		// The answer the first `pulumi up` panicked on.
		{"empty managed master secrets", instance, set("masterUserSecrets", []any{}),
			[]string{instance + ` "sluice-dev-db-mysql"`, "masterUserSecrets[0].secretArn"}, []string{proxy, function, invocation, mapping}},
		{"no proxy endpoint", proxy, del("endpoint"),
			[]string{proxy + ` "sluice-dev-proxy"`, "no endpoint"}, []string{function, invocation, mapping}},
		{"no proxy ARN", proxy, set("arn", ""),
			[]string{proxy + ` "sluice-dev-proxy"`, "no arn"}, []string{invocation, mapping}},
		{"null secret string", version, set("secretString", nil),
			[]string{version + ` "sluice-dev-db-app-user-1"`, "secretString"}, []string{invocation, mapping}},
	}
	stackFile := filepath.Join("..", "..", "Pulumi.dev.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := stackrun.RunAnswering(stackFile, func(typ, _ string, out resource.PropertyMap) {
				if typ == tt.typ {
					tt.change(out)
				}
			})
			if err == nil {
				t.Fatal("the program succeeded on an empty answer")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, typ := range tt.notAfter {
				if n := len(res.ByType(typ)); n > 0 {
					t.Errorf("%d %s registered although they need the missing value", n, typ)
				}
			}
		})
	}
}
