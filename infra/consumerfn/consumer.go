// Package consumer defines the consumer's infrastructure: the Lambda that
// turns SQS batches into rows (a dbfunction.DBFunction running the build of
// ./consumer/cmd/consumer), the role policy that lets it consume the queue,
// and the event source mapping that feeds it, whose maximum concurrency is
// the guard that keeps a burst from overwhelming the database.
package consumerfn

import (
	"errors"
	"fmt"
	"maps"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/settings"
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

// Args configures a Consumer: the stack's Consumer settings, the
// DBFunction fields they do not set, and the queue.
type Args struct {
	// Consumer is the stack's Consumer settings (docs/configuration.md),
	// declared and bounded once in infra/settings: the function's timeout,
	// memory and reserved concurrency, which New sets on Function, the
	// consumer's longest INSERT (statementsize.EnvVar in its
	// environment), and the mapping's batch size, batching window and
	// maximum concurrency: the guard that keeps a burst from overwhelming
	// the database.
	settings.Consumer
	// Function configures the Lambda's code, network, database login and
	// logs; its Timeout, MemoryMB and ReservedConcurrency are Consumer's.
	Function dbfunction.Args
	// QueueARN is the ARN of the main queue the function consumes.
	QueueARN pulumi.StringInput
	// DependsOn lists resources the mapping must wait for, above all the
	// migration step's invocation: no message is consumed before the
	// schema is in place.
	DependsOn []pulumi.Resource
}

// function is Function with the Consumer settings that belong to it.
func (a Args) function() dbfunction.Args {
	f := a.Function
	f.Timeout, f.MemoryMB, f.ReservedConcurrency = a.Timeout, a.MemoryMB, a.ReservedConcurrency
	f.Env = maps.Clone(f.Env)
	if f.Env == nil {
		f.Env = map[string]string{}
	}
	f.Env[statementsize.EnvVar] = strconv.Itoa(a.MaxStatementBytes)
	return f
}

// Validate reports every invalid setting, then what is invalid in
// Function and the first other invalid input, by field name.
func (a Args) Validate() error {
	if err := a.Consumer.Validate(); err != nil {
		return err // Function takes some of its fields: they would fail twice
	}
	var function, input error
	if err := a.function().Validate(); err != nil {
		function = fmt.Errorf("%s.%w", "Function", err)
	}
	if a.QueueARN == nil {
		input = limits.Invalid("QueueARN", "required")
	}
	return errors.Join(function, input)
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

	fn, err := dbfunction.New(ctx, name+"-function", args.function(), child)
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
		MaximumBatchingWindowInSeconds: pulumi.Int(int(args.BatchingWindow.Seconds())),
		FunctionResponseTypes:          pulumi.StringArray{pulumi.String("ReportBatchItemFailures")},
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(args.MaxConcurrency),
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
