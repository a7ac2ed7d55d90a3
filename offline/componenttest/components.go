package componenttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Taggable lists the resource types Sluice creates that take tags; each
// must carry the project and stack tags.
var Taggable = []string{
	"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup", "aws:ec2/routeTable:RouteTable",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:rds/parameterGroup:ParameterGroup",
	"aws:rds/subnetGroup:SubnetGroup", "aws:rds/instance:Instance", "aws:secretsmanager/secret:Secret", "aws:iam/role:Role",
	"aws:rds/proxy:Proxy", "aws:sqs/queue:Queue", "aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping",
	"aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topic:Topic",
	"aws:apigatewayv2/api:Api", "aws:apigatewayv2/stage:Stage", "aws:kms/key:Key",
}

// CheckParentedAndTagged fails the test for every AWS resource the program
// registered, except those named in except, whose parent is not a component
// of a type starting with parentType, or that takes tags (Taggable) and
// lacks project "sluice" and the stack's name.
func (r Recorder) CheckParentedAndTagged(tb testing.TB, parentType, stack string, except ...string) {
	tb.Helper()
	for _, p := range r.parentedAndTagged(parentType, stack, except...) {
		tb.Error(p)
	}
}

func (r Recorder) parentedAndTagged(parentType, stack string, except ...string) []string {
	var problems []string
	for _, reg := range r.Registrations() {
		if !strings.HasPrefix(reg.Type, "aws:") || slices.Contains(except, reg.Name) {
			continue
		}
		if !strings.Contains(reg.Parent, "::"+parentType) && !strings.Contains(reg.Parent, "$"+parentType) {
			problems = append(problems, fmt.Sprintf("%s %s has parent %q, want a %s component", reg.Type, reg.Name, reg.Parent, parentType))
		}
		if !slices.Contains(Taggable, reg.Type) {
			continue
		}
		tag := func(key resource.PropertyKey) string {
			if tags, ok := reg.Inputs["tags"]; ok && tags.IsObject() && tags.ObjectValue()[key].IsString() {
				return tags.ObjectValue()[key].StringValue()
			}
			return ""
		}
		if tag("project") != "sluice" || tag("stack") != stack {
			problems = append(problems, fmt.Sprintf("%s %s tags %v, want project sluice and stack %s", reg.Type, reg.Name, reg.Inputs["tags"], stack))
		}
	}
	return problems
}

// Await waits, inside a program, for each of outputs and returns their
// values by name (a test reads a component's outputs with it; an ApplyT
// callback could still be running when the program returns).
func Await(ctx *pulumi.Context, outputs map[string]pulumi.Output) (map[string]any, error) {
	values := make(map[string]any, len(outputs))
	for name, o := range outputs {
		r, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		values[name] = r.Value
	}
	return values, nil
}
