package answer_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/answer"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

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
