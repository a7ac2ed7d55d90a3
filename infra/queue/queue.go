// Package queue owns the SQS queue that parks every accepted submission and
// its dead-letter queue: both encrypted (SSE-SQS) and reachable only over
// TLS, the main queue redriving to the DLQ after maxReceiveCount receives,
// and the DLQ accepting redrives from the main queue only and keeping
// messages longer than the main queue does (limits.DLQRetentionSeconds, the
// SQS maximum).
package queue

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:queue:Queue"

// Args configures the queues.
type Args struct {
	// Queue is the stack's Queue settings (docs/configuration.md): the
	// main queue's visibility timeout, retention and receives before the
	// DLQ, declared and bounded once in infra/settings.
	settings.Queue
	// MaxMessageBytes is both queues' maximum message size
	// (limits.MessageBytes): the largest body the API accepts.
	MaxMessageBytes int
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid field by name.
func (a Args) Validate() error {
	var errs []error
	if err := a.Queue.Validate(); err != nil {
		errs = append(errs, err)
	}
	if !limits.MessageBytes.Contains(a.MaxMessageBytes) {
		errs = append(errs, limits.Invalid("MaxMessageBytes", "%d: want %v", a.MaxMessageBytes, limits.MessageBytes))
	}
	return errors.Join(errs...)
}

// Queue is the component.
type Queue struct {
	pulumi.ResourceState

	// URL, ARN and Name are the main queue's: the API sends to the URL,
	// the consumer's mapping reads the ARN, the alarms watch the name.
	URL  pulumi.StringOutput `pulumi:"url"`
	ARN  pulumi.StringOutput `pulumi:"arn"`
	Name pulumi.StringOutput `pulumi:"name"`
	// DLQURL, DLQARN and DLQName are the dead-letter queue's (the redrive
	// runbook uses the URL and ARN).
	DLQURL  pulumi.StringOutput `pulumi:"dlqUrl"`
	DLQARN  pulumi.StringOutput `pulumi:"dlqArn"`
	DLQName pulumi.StringOutput `pulumi:"dlqName"`
}

// RedrivePolicy is the main queue's redrive policy document.
type RedrivePolicy struct {
	DeadLetterTargetARN string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// RedriveAllowPolicy is the DLQ's redrive allow policy document.
type RedriveAllowPolicy struct {
	RedrivePermission string   `json:"redrivePermission"`
	SourceQueueARNs   []string `json:"sourceQueueArns"`
}

// New registers the queues (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Queue, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	q := &Queue{}
	if err := ctx.RegisterComponentResource(Type, name, q, opts...); err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	child := pulumi.Parent(q)
	tags := pulumi.ToStringMap(args.Tags)

	dlq, err := sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		SqsManagedSseEnabled:    pulumi.Bool(true),
		MessageRetentionSeconds: pulumi.Int(limits.DLQRetentionSeconds),
		MaxMessageSize:          pulumi.Int(args.MaxMessageBytes),
		Tags:                    tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(RedrivePolicy{DeadLetterTargetARN: arn, MaxReceiveCount: args.MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	main, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{
		SqsManagedSseEnabled:     pulumi.Bool(true),
		VisibilityTimeoutSeconds: pulumi.Int(int(args.VisibilityTimeout.Seconds())),
		MessageRetentionSeconds:  pulumi.Int(int(args.Retention.Seconds())),
		MaxMessageSize:           pulumi.Int(args.MaxMessageBytes),
		RedrivePolicy:            redrive,
		Tags:                     tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	allow := main.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(RedriveAllowPolicy{RedrivePermission: "byQueue", SourceQueueARNs: []string{arn}})
		return string(b), err
	}).(pulumi.StringOutput)
	if _, err := sqs.NewRedriveAllowPolicy(ctx, name+"-dlq-allow", &sqs.RedriveAllowPolicyArgs{
		QueueUrl:           dlq.Url,
		RedriveAllowPolicy: allow,
	}, child); err != nil {
		return nil, fmt.Errorf("dlq redrive allow policy: %w", err)
	}
	for _, target := range []struct {
		name string
		q    *sqs.Queue
	}{{name + "-tls-only", main}, {name + "-dlq-tls-only", dlq}} {
		policy := target.q.Arn.ApplyT(DenyInsecureTransport).(pulumi.StringOutput)
		if _, err := sqs.NewQueuePolicy(ctx, target.name, &sqs.QueuePolicyArgs{
			QueueUrl: target.q.Url,
			Policy:   policy,
		}, child); err != nil {
			return nil, fmt.Errorf("queue policy %s: %w", target.name, err)
		}
	}

	q.URL, q.ARN, q.Name = main.Url, main.Arn, main.Name
	q.DLQURL, q.DLQARN, q.DLQName = dlq.Url, dlq.Arn, dlq.Name
	if err := ctx.RegisterResourceOutputs(q, pulumi.Map{
		"url":     q.URL,
		"arn":     q.ARN,
		"dlqUrl":  q.DLQURL,
		"dlqArn":  q.DLQARN,
		"name":    q.Name,
		"dlqName": q.DLQName,
	}); err != nil {
		return nil, fmt.Errorf("queue %s outputs: %w", name, err)
	}
	return q, nil
}

// DenyInsecureTransport is the queue policy that refuses every request not
// made over TLS, whoever makes it.
func DenyInsecureTransport(queueARN string) (string, error) {
	return iamdoc.New(iamdoc.Statement{
		Sid:       "DenyInsecureTransport",
		Effect:    "Deny",
		Principal: &iamdoc.Principal{AWS: "*"},
		Action:    []string{"sqs:*"},
		Resource:  []string{queueARN},
		Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
	}).JSON()
}
