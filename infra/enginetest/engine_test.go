package enginetest

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/settings"
)

// Resource types (as the engine reports them) and how many of each a stack
// must plan; subnets are counted from the stack's own settings.
const (
	typeInstance     = "aws:rds/instance:Instance"
	typeProxy        = "aws:rds/proxy:Proxy"
	typeTargetGroup  = "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup"
	typeProxyTarget  = "aws:rds/proxyTarget:ProxyTarget"
	typeQueue        = "aws:sqs/queue:Queue"
	typeFunction     = "aws:lambda/function:Function"
	typeMapping      = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeInvocation   = "aws:lambda/invocation:Invocation"
	typeSubnet       = "aws:ec2/subnet:Subnet"
	typeSubnetGroup  = "aws:rds/subnetGroup:SubnetGroup"
	typeParamGroup   = "aws:rds/parameterGroup:ParameterGroup"
	typeQueuePolicy  = "aws:sqs/queuePolicy:QueuePolicy"
	typeStackRoot    = "pulumi:pulumi:Stack"
	typeAPI          = "aws:apigatewayv2/api:Api"
	typeStage        = "aws:apigatewayv2/stage:Stage"
	typeRoute        = "aws:apigatewayv2/route:Route"
	typeIntegration  = "aws:apigatewayv2/integration:Integration"
	levelMandatory   = "mandatory"
	packName         = "sluice"
	dlqPolicy        = "sqs-queue-has-dlq"
	publicPolicy     = "rds-instance-not-public"
	productionPolicy = "production-safeguards"
)

func expectedCreates(s settings.Settings) map[string]int {
	return map[string]int{
		typeStackRoot:   1,
		typeInstance:    1,
		typeParamGroup:  1,
		typeSubnetGroup: 1,
		typeProxy:       1,
		typeTargetGroup: 1,
		typeProxyTarget: 1,
		typeQueue:       2, // the queue and its DLQ
		typeQueuePolicy: 2, // TLS-only policies for both
		typeFunction:    2, // consumer and migrator
		typeMapping:     1,
		typeInvocation:  1, // the migration step
		typeAPI:         1,
		typeStage:       1,
		typeRoute:       1, // POST /submit
		typeIntegration: 1, // SQS-SendMessage
		typeSubnet:      len(s.Network.AvailabilityZones),
	}
}

// TestEnginePreview previews both stacks as a pull-request check does: the
// engine must accept the program and the stack file, plan the pipeline's
// resources, and the policy pack must find no mandatory violation.
func TestEnginePreview(t *testing.T) {
	tl := sharedTools(t)
	for _, stackName := range []string{"dev", "prod"} {
		t.Run(stackName, func(t *testing.T) {
			s, err := settings.LoadFile(filepath.Join(tl.root, "Pulumi."+stackName+".yaml"))
			if err != nil {
				t.Fatalf("settings of %s: %v", stackName, err)
			}
			run := tl.preview(t, previewOptions{stack: stackName})
			if run.err != nil {
				t.Fatalf("preview of %s failed: %v\n%s", stackName, run.err, run.output)
			}
			if v := run.policyViolations(levelMandatory); len(v) > 0 {
				t.Errorf("mandatory policy violations in %s: %+v", stackName, v)
			}
			if !slices.Contains(run.policyPacks(), packName) {
				t.Errorf("policy packs the engine ran = %v, want %q among them", run.policyPacks(), packName)
			}
			got := run.creates()
			for typ, want := range expectedCreates(s) {
				if got[typ] != want {
					t.Errorf("%s: %d %s to create, want %d", stackName, got[typ], typ, want)
				}
			}
			if t.Failed() {
				t.Logf("planned creates: %v\n%s", got, run.output)
			}
		})
	}
}

// TestEnginePolicyBlocks shows that the pack stops a preview the way a
// pull-request check needs: each case breaks one rule, through the stack
// file or through the program, and the preview must fail with that rule's
// mandatory violation on the resource concerned.
func TestEnginePolicyBlocks(t *testing.T) {
	tl := sharedTools(t)
	tests := []struct {
		name       string
		stack      string
		editStack  func(t *testing.T, file []byte) []byte
		transforms []pulumi.ResourceTransform
		policy     string
		resource   string // type of the resource the violation must name
		message    string // part of the policy's message
	}{
		{
			name:      "prod stack file without deletion protection",
			stack:     "prod",
			editStack: setStackKey("sluice:dbDeletionProtection", "false"),
			policy:    productionPolicy,
			resource:  typeInstance,
			message:   "deletionProtection is false in a production stack",
		},
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
			run := tl.preview(t, previewOptions{stack: tt.stack, editStack: tt.editStack, transforms: tt.transforms})
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

// setStackKey returns an edit that replaces the value of one key in a stack
// file, failing the test if the file does not set that key.
func setStackKey(key, value string) func(*testing.T, []byte) []byte {
	return func(t *testing.T, file []byte) []byte {
		t.Helper()
		re := regexp.MustCompile(`(?m)^(\s+` + regexp.QuoteMeta(key) + `:)\s*.*$`)
		if !re.Match(file) {
			t.Fatalf("stack file does not set %s", key)
		}
		return re.ReplaceAll(file, []byte("${1} "+value))
	}
}
