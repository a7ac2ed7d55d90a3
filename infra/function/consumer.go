package function

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
)

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

// ConsumerArgs configures a Consumer: the DBFunction fields plus the queue
// and the event source mapping.
type ConsumerArgs struct {
	// Function configures the Lambda itself. Function.ReservedConcurrency
	// must be at least MaximumConcurrency.
	Function DBFunctionArgs
	// QueueARN is the ARN of the main queue the function consumes.
	QueueARN pulumi.StringInput
	// BatchSize is the most messages per invocation, 1–10000; above 10 a
	// batching window is required.
	BatchSize int
	// BatchingWindowSeconds is how long to gather a batch, 0–300.
	BatchingWindowSeconds int
	// MaximumConcurrency caps concurrent invocations by this mapping, 2–1000:
	// the guard that keeps a burst from overwhelming the database.
	MaximumConcurrency int
	// DependsOn lists resources the mapping must wait for, above all the
	// migration step's invocation: no message is consumed before the
	// schema is in place.
	DependsOn []pulumi.Resource
}

// Validate reports the first invalid field by name.
func (a ConsumerArgs) Validate() error {
	if err := a.Function.Validate(); err != nil {
		return fmt.Errorf("%s.%w", "Function", err)
	}
	switch {
	case a.QueueARN == nil:
		return invalid("QueueARN", "required")
	case a.BatchSize < 1 || a.BatchSize > 10000:
		return invalid("BatchSize", "%d: want 1–10000", a.BatchSize)
	case a.BatchingWindowSeconds < 0 || a.BatchingWindowSeconds > 300:
		return invalid("BatchingWindowSeconds", "%d: want 0–300", a.BatchingWindowSeconds)
	case a.BatchSize > 10 && a.BatchingWindowSeconds == 0:
		return invalid("BatchingWindowSeconds", "0 with BatchSize %d: a batch size above 10 needs a batching window of at least 1 s", a.BatchSize)
	case a.MaximumConcurrency < 2 || a.MaximumConcurrency > 1000:
		return invalid("MaximumConcurrency", "%d: want 2–1000", a.MaximumConcurrency)
	case a.Function.ReservedConcurrency < a.MaximumConcurrency:
		return invalid("Function.ReservedConcurrency", "%d: want at least MaximumConcurrency (%d), or the mapping's invocations are throttled and messages reach the DLQ unprocessed",
			a.Function.ReservedConcurrency, a.MaximumConcurrency)
	}
	return nil
}

// Consumer is the Lambda that turns SQS batches into rows, with the event
// source mapping that feeds it.
type Consumer struct {
	pulumi.ResourceState

	Function *DBFunction
	// QueuePolicy is the role policy granting the queue actions.
	QueuePolicy *iam.RolePolicy
	Mapping     *lambda.EventSourceMapping

	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	FunctionARN  pulumi.StringOutput `pulumi:"functionArn"`
	MappingUUID  pulumi.StringOutput `pulumi:"mappingUuid"`
}

// NewConsumer registers a Consumer (type sluice:function:Consumer).
func NewConsumer(ctx *pulumi.Context, name string, args ConsumerArgs, opts ...pulumi.ResourceOption) (*Consumer, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", name, err)
	}
	c := &Consumer{}
	if err := ctx.RegisterComponentResource("sluice:function:Consumer", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)

	fn, err := NewDBFunction(ctx, name+"-function", args.Function, parent)
	if err != nil {
		return nil, err
	}

	queuePolicy, err := iam.NewRolePolicy(ctx, name+"-queue-policy", &iam.RolePolicyArgs{
		Role: fn.Role.ID(),
		Policy: args.QueueARN.ToStringOutput().ApplyT(func(queueARN string) (string, error) {
			return iamdoc.New(iamdoc.Allow(QueueSid, ConsumerActions, queueARN)).JSON()
		}).(pulumi.StringOutput),
	}, parent)
	if err != nil {
		return nil, err
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
	}, parent, pulumi.DependsOn(mappingDeps))
	if err != nil {
		return nil, err
	}

	c.Function, c.QueuePolicy, c.Mapping = fn, queuePolicy, mapping
	c.FunctionName, c.FunctionARN, c.MappingUUID = fn.FunctionName, fn.FunctionARN, mapping.Uuid
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"functionName": fn.FunctionName,
		"functionArn":  fn.FunctionARN,
		"mappingUuid":  mapping.Uuid,
	}); err != nil {
		return nil, err
	}
	return c, nil
}
