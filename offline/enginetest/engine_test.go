package enginetest

import (
	"context"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource types as the engine reports them, and the pack's names.
const (
	typeInstance   = "aws:rds/instance:Instance"
	typeQueue      = "aws:sqs/queue:Queue"
	levelMandatory = "mandatory"
	packName       = "sluice"
	dlqPolicy      = "sqs-queue-has-dlq"
	publicPolicy   = "rds-instance-not-public"
)

// TestEnginePolicyBlocks shows that the pack stops a preview the way a
// pull-request check needs, for changes only the program could make: each
// case breaks one rule through a resource transform, and the preview must
// fail with that rule's mandatory violation on the resource concerned. (A
// rule broken through the stack file, prod without deletion protection, is
// rehearsed through the CLI by offline/lifecycle.)
func TestEnginePolicyBlocks(t *testing.T) {
	tl := sharedTools(t)
	tests := []struct {
		name       string
		stack      string
		transforms []pulumi.ResourceTransform
		policy     string
		resource   string // type of the resource the violation must name
		message    string // part of the policy's message
	}{
		{
			name:       "public database",
			stack:      "dev",
			transforms: []pulumi.ResourceTransform{setProp(typeInstance, "publiclyAccessible", pulumi.Bool(true))},
			policy:     publicPolicy,
			resource:   typeInstance,
			message:    "publiclyAccessible is true",
		},
		{
			name:       "queue without DLQ",
			stack:      "dev",
			transforms: []pulumi.ResourceTransform{setProp(typeQueue, "redrivePolicy", nil)},
			policy:     dlqPolicy,
			resource:   typeQueue,
			message:    "no redrive policy",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := tl.preview(t, previewOptions{stack: tt.stack, transforms: tt.transforms})
			if run.err == nil {
				t.Fatalf("preview succeeded, want it blocked by %s\n%s", tt.policy, run.output)
			}
			var found bool
			for _, v := range run.policyViolations(levelMandatory) {
				if v.PolicyName == tt.policy && v.PolicyPackName == packName &&
					string(resource.URN(v.ResourceURN).Type()) == tt.resource && strings.Contains(v.Message, tt.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no mandatory %s violation on a %s saying %q; violations: %+v\nerror: %v",
					tt.policy, tt.resource, tt.message, run.policyViolations(""), run.err)
			}
		})
	}
}

// setProp returns a transform that sets (or, for a nil value, removes) one
// input of every resource of type typ.
func setProp(typ, key string, value pulumi.Input) pulumi.ResourceTransform {
	return func(_ context.Context, args *pulumi.ResourceTransformArgs) *pulumi.ResourceTransformResult {
		if args.Type != typ {
			return nil
		}
		props := pulumi.Map{}
		for k, v := range args.Props {
			props[k] = v
		}
		if value == nil {
			delete(props, key)
		} else {
			props[key] = value
		}
		return &pulumi.ResourceTransformResult{Props: props, Opts: args.Opts}
	}
}
