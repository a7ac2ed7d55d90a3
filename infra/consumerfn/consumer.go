// Package consumer defines the consumer's infrastructure: the Lambda that
// turns SQS batches into rows (a dbfunction.DBFunction running the build of
// ./consumer/cmd/consumer), the role policy that lets it consume the queue,
// and the event source mapping that feeds it, whose maximum concurrency is
// the guard that keeps a burst from overwhelming the database.
package consumerfn

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
)

// Type is the component's Pulumi type token. It keeps the name of the
// package it was first defined in, so that existing stacks keep their
// resources' URNs.
const Type = "sluice:function:Consumer"

// QueueSid is the Sid of the consumer's queue statement.
const QueueSid = "ConsumeOwnQueue"

// ConsumerActions are the SQS actions the event source mapping needs on the
// queue, and nothing more.
var ConsumerActions = []string{
	"sqs:ReceiveMessage",
	"sqs:DeleteMessage",
	"sqs:GetQueueAttributes",
	"sqs:ChangeMessageVisibility",
}

// Args configures a Consumer: the DBFunction fields plus the queue and the
// event source mapping.
type Args struct {
	// Function configures the Lambda itself. Function.ReservedConcurrency
	// must be at least MaximumConcurrency.
	Function dbfunction.Args
	// QueueARN is the ARN of the main queue the function consumes.
	QueueARN pulumi.StringInput
	// BatchSize is the most messages per invocation (limits.BatchSize);
	// above limits.LargestBatchWithoutWindow a batching window is required.
	BatchSize int
	// BatchingWindowSeconds is how long to gather a batch
	// (limits.BatchingWindowSeconds).
	BatchingWindowSeconds int
	// MaximumConcurrency caps concurrent invocations by this mapping
	// (limits.MaximumConcurrency): the guard that keeps a burst from
	// overwhelming the database.
	MaximumConcurrency int
	// DependsOn lists resources the mapping must wait for, above all the
	// migration step's invocation: no message is consumed before the
	// schema is in place.
	DependsOn []pulumi.Resource
}

// Validate reports the first invalid field by name.
func (a Args) Validate() error {
	if err := a.Function.Validate(); err != nil {
		return fmt.Errorf("%s.%w", "Function", err)
	}
	switch {
	case a.QueueARN == nil:
		return limits.Invalid("QueueARN", "required")
	case !limits.BatchSize.Contains(a.BatchSize):
		return limits.Invalid("BatchSize", "%d: want %v", a.BatchSize, limits.BatchSize)
	case !limits.BatchingWindowSeconds.Contains(a.BatchingWindowSeconds):
		return limits.Invalid("BatchingWindowSeconds", "%d: want %v", a.BatchingWindowSeconds, limits.BatchingWindowSeconds)
	case limits.BatchNeedsWindow(a.BatchSize, a.BatchingWindowSeconds):
		return limits.Invalid("BatchingWindowSeconds", "%d with BatchSize %d: a batch size above %d needs a batching window of at least 1 s",
			a.BatchingWindowSeconds, a.BatchSize, limits.LargestBatchWithoutWindow)
	case !limits.MaximumConcurrency.Contains(a.MaximumConcurrency):
		return limits.Invalid("MaximumConcurrency", "%d: want %v", a.MaximumConcurrency, limits.MaximumConcurrency)
	case !limits.ReservedCoversMaximum(a.Function.ReservedConcurrency, a.MaximumConcurrency):
		return limits.Invalid("Function.ReservedConcurrency", "%d: want at least MaximumConcurrency (%d), or the mapping's invocations are throttled and messages reach the DLQ unprocessed",
			a.Function.ReservedConcurrency, a.MaximumConcurrency)
	}
	return nil
}

// Consumer is the Lambda that turns SQS batches into rows, with the event
// source mapping that feeds it.
type Consumer struct {
	pulumi.ResourceState

	Function *dbfunction.DBFunction
	// QueuePolicy is the role policy granting the queue actions.
	QueuePolicy *iam.RolePolicy
	Mapping     *lambda.EventSourceMapping

	// FunctionName is the consumer Lambda's name (the alarms'
	// FunctionName dimension).
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	// FunctionARN is the consumer Lambda's ARN.
	FunctionARN pulumi.StringOutput `pulumi:"functionArn"`
	// MappingUUID identifies the event source mapping (for
	// `aws lambda update-event-source-mapping`).
	MappingUUID pulumi.StringOutput `pulumi:"mappingUuid"`
}

// New registers a Consumer (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Consumer, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	c := &Consumer{}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	child := pulumi.Parent(c)

	fn, err := dbfunction.New(ctx, name+"-function", args.Function, child)
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}

	queuePolicy, err := iam.NewRolePolicy(ctx, name+"-queue-policy", &iam.RolePolicyArgs{
		Role: fn.Role.ID(),
		Policy: args.QueueARN.ToStringOutput().ApplyT(func(queueARN string) (string, error) {
			return iamdoc.New(iamdoc.Allow(QueueSid, ConsumerActions, queueARN)).JSON()
		}).(pulumi.StringOutput),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role policy %s: %w", name+"-queue-policy", err)
	}

	// Lambda checks the role's SQS permissions when the mapping is created,
	// so the mapping waits for the queue policy as well as for DependsOn.
	mappingDeps := append([]pulumi.Resource{queuePolicy}, args.DependsOn...)
	mapping, err := lambda.NewEventSourceMapping(ctx, name+"-mapping", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 args.QueueARN,
		FunctionName:                   fn.FunctionARN,
		BatchSize:                      pulumi.Int(args.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(args.BatchingWindowSeconds),
		FunctionResponseTypes:          pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(args.MaximumConcurrency),
		},
		Enabled: pulumi.Bool(true),
		Tags:    pulumi.ToStringMap(args.Function.Tags),
	}, child, pulumi.DependsOn(mappingDeps))
	if err != nil {
		return nil, fmt.Errorf("event source mapping %s: %w", name+"-mapping", err)
	}

	c.Function, c.QueuePolicy, c.Mapping = fn, queuePolicy, mapping
	c.FunctionName, c.FunctionARN, c.MappingUUID = fn.FunctionName, fn.FunctionARN, mapping.Uuid
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"functionName": fn.FunctionName,
		"functionArn":  fn.FunctionARN,
		"mappingUuid":  mapping.Uuid,
	}); err != nil {
		return nil, fmt.Errorf("consumer %s outputs: %w", name, err)
	}
	return c, nil
}
