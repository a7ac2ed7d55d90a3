// Package queue owns the SQS queue that parks every accepted submission and
// its dead-letter queue: both encrypted (SSE-SQS) and reachable only over
// TLS, the main queue redriving to the DLQ after maxReceiveCount receives,
// and the DLQ accepting redrives from the main queue only and keeping
// messages longer than the main queue does.
package queue

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sqs"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:queue:Queue"

// Args configures the queues.
type Args struct {
	Settings        settings.Queue
	MaxMessageBytes int
	Tags            pulumi.StringMap
}

// Queue is the component.
type Queue struct {
	pulumi.ResourceState

	URL     pulumi.StringOutput
	ARN     pulumi.StringOutput
	Name    pulumi.StringOutput
	DLQURL  pulumi.StringOutput
	DLQARN  pulumi.StringOutput
	DLQName pulumi.StringOutput
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

// New creates the queue component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Queue, error) {
	q := &Queue{}
	if err := ctx.RegisterComponentResource(Type, name, q, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(q)
	s := args.Settings

	dlq, err := sqs.NewQueue(ctx, name+"-dlq", &sqs.QueueArgs{
		SqsManagedSseEnabled:    pulumi.Bool(true),
		MessageRetentionSeconds: pulumi.Int(int(settings.DLQRetention.Seconds())),
		MaxMessageSize:          pulumi.Int(args.MaxMessageBytes),
		Tags:                    args.Tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("dlq: %w", err)
	}
	redrive := dlq.Arn.ApplyT(func(arn string) (string, error) {
		b, err := json.Marshal(RedrivePolicy{DeadLetterTargetARN: arn, MaxReceiveCount: s.MaxReceiveCount})
		return string(b), err
	}).(pulumi.StringOutput)
	main, err := sqs.NewQueue(ctx, name, &sqs.QueueArgs{
		SqsManagedSseEnabled:     pulumi.Bool(true),
		VisibilityTimeoutSeconds: pulumi.Int(int(s.VisibilityTimeout.Seconds())),
		MessageRetentionSeconds:  pulumi.Int(int(s.Retention.Seconds())),
		MaxMessageSize:           pulumi.Int(args.MaxMessageBytes),
		RedrivePolicy:            redrive,
		Tags:                     args.Tags,
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
		return nil, err
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
