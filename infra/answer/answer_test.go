package answer_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/answer"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
	"github.com/sluicehq/sluice/offline/stackrun"
)

// TestEmptyAnswersStopTheProgram runs the real program for the dev stack
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

// TestFirst covers the shapes of an array answer the program test does not:
// absent, an element without the value, and a present value.
func TestFirst(t *testing.T) {
	tests := []struct {
		name   string
		answer func(resource.PropertyMap)
		want   string // the ARN, or "" for the error
	}{
		{"absent", func(out resource.PropertyMap) { delete(out, "masterUserSecrets") }, ""},
		{"no secretArn", func(out resource.PropertyMap) {
			out["masterUserSecrets"] = resource.NewPropertyValue([]any{map[string]any{"secretStatus": "active"}})
		}, ""},
		{"present", func(resource.PropertyMap) {}, "arn:aws:secretsmanager:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &mocks.Mocks{Project: "sluice", Stack: "dev", Region: componenttest.ExampleRegion,
				Answer: func(_, _ string, out resource.PropertyMap) { tt.answer(out) }}
			var got string
			err := pulumi.RunErr(func(ctx *pulumi.Context) error {
				inst, err := rds.NewInstance(ctx, "db", &rds.InstanceArgs{
					InstanceClass:            pulumi.String("db.t4g.micro"),
					ManageMasterUserPassword: pulumi.Bool(true),
				})
				if err != nil {
					return err
				}
				arn := answer.First(inst.MasterUserSecrets, "aws:rds/instance:Instance", "db", "masterUserSecrets[0].secretArn", "the test needs",
					func(s rds.InstanceMasterUserSecret) *string { return s.SecretArn })
				// Exported, the value is awaited as the engine awaits the
				// inputs of a resource.
				ctx.Export("arn", arn.ApplyT(func(v string) string { got = v; return v }))
				return nil
			}, pulumi.WithMocks("sluice", "dev", m))
			var missing *answer.MissingError
			switch {
			case tt.want == "" && !(errors.As(err, &missing) && missing.Property == "masterUserSecrets[0].secretArn"):
				t.Errorf("err = %v, want a MissingError for masterUserSecrets[0].secretArn", err)
			case tt.want != "" && (err != nil || !strings.HasPrefix(got, tt.want)):
				t.Errorf("got %q, %v; want %s…", got, err, tt.want)
			}
		})
	}
}
