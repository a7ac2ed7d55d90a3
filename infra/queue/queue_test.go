package queue_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

func validArgs() queue.Args {
	q := componenttest.Settings().Queue
	q.VisibilityTimeout, q.Retention, q.MaxReceiveCount = 186*time.Second, 345600*time.Second, 5
	return queue.Args{
		Queue:           q,
		MaxMessageBytes: 262144,
		Tags:            map[string]string{"project": "sluice", "stack": "dev"},
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*queue.Args)
		field  string
	}{
		{"valid", func(*queue.Args) {}, ""},
		{"smallest message", func(a *queue.Args) { a.MaxMessageBytes = 1024 }, ""},
		{"visibility", func(a *queue.Args) { a.VisibilityTimeout = 43201 * time.Second }, "Queue.VisibilityTimeout"},
		{"retention too short", func(a *queue.Args) { a.Retention = 59 * time.Second }, "Queue.Retention"},
		{"retention as long as the DLQ's", func(a *queue.Args) { a.Retention = settings.DLQRetention }, "Queue.Retention"},
		{"receive count", func(a *queue.Args) { a.MaxReceiveCount = 0 }, "Queue.MaxReceiveCount"},
		{"message size", func(a *queue.Args) { a.MaxMessageBytes = 262145 }, "MaxMessageBytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

// TestQueue: encrypted queues, the main one redriving to this DLQ after
// MaxReceiveCount receives, the DLQ accepting redrives from the main queue
// only and outliving it, and both refusing requests without TLS.
func TestQueue(t *testing.T) {
	var outputs map[string]any
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		q, err := queue.New(ctx, "queue", validArgs())
		if err != nil {
			return err
		}
		outputs, err = componenttest.Await(ctx, map[string]pulumi.Output{"url": q.URL, "arn": q.ARN, "name": q.Name, "dlqUrl": q.DLQURL, "dlqArn": q.DLQARN, "dlqName": q.DLQName})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	main, dlq := m.One(t, "aws:sqs/queue:Queue", "queue"), m.One(t, "aws:sqs/queue:Queue", "queue-dlq")
	for _, q := range []mocks.Registration{main, dlq} {
		if !q.Inputs["sqsManagedSseEnabled"].BoolValue() || q.Inputs["maxMessageSize"].NumberValue() != 262144 {
			t.Errorf("queue %s: %v", q.Name, q.Inputs)
		}
	}
	if main.Inputs["visibilityTimeoutSeconds"].NumberValue() != 186 || main.Inputs["messageRetentionSeconds"].NumberValue() != 345600 {
		t.Errorf("main queue %v", main.Inputs)
	}
	if dlq.Inputs["messageRetentionSeconds"].NumberValue() != limits.DLQRetentionSeconds {
		t.Errorf("DLQ retention %v, want %d", dlq.Inputs["messageRetentionSeconds"], limits.DLQRetentionSeconds)
	}
	var redrive queue.RedrivePolicy
	if err := json.Unmarshal([]byte(main.Inputs["redrivePolicy"].StringValue()), &redrive); err != nil {
		t.Fatal(err)
	}
	if redrive.DeadLetterTargetARN != dlq.Outputs["arn"].StringValue() || redrive.MaxReceiveCount != 5 {
		t.Errorf("redrive %+v, want this DLQ after 5 receives", redrive)
	}
	allow := m.One(t, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy", "queue-dlq-allow")
	var ap queue.RedriveAllowPolicy
	if err := json.Unmarshal([]byte(allow.Inputs["redriveAllowPolicy"].StringValue()), &ap); err != nil {
		t.Fatal(err)
	}
	if allow.Inputs["queueUrl"].StringValue() != dlq.Outputs["url"].StringValue() || ap.RedrivePermission != "byQueue" ||
		!slices.Equal(ap.SourceQueueARNs, []string{main.Outputs["arn"].StringValue()}) {
		t.Errorf("redrive allow policy %+v on %v", ap, allow.Inputs["queueUrl"])
	}
	for suffix, q := range map[string]mocks.Registration{"queue-tls-only": main, "queue-dlq-tls-only": dlq} {
		p := m.One(t, "aws:sqs/queuePolicy:QueuePolicy", suffix)
		d, err := iamdoc.Parse(p.Inputs["policy"].StringValue())
		if err != nil {
			t.Fatal(err)
		}
		st, ok := d.Find("DenyInsecureTransport")
		if p.Inputs["queueUrl"].StringValue() != q.Outputs["url"].StringValue() || !ok || st.Effect != "Deny" ||
			!slices.Equal(st.Resource, []string{q.Outputs["arn"].StringValue()}) || st.Condition["Bool"]["aws:SecureTransport"] != "false" {
			t.Errorf("TLS-only policy %s: %s", suffix, p.Inputs["policy"].StringValue())
		}
	}
	want := map[string]string{
		"url": main.Outputs["url"].StringValue(), "arn": main.Outputs["arn"].StringValue(), "name": main.Outputs["name"].StringValue(),
		"dlqUrl": dlq.Outputs["url"].StringValue(), "dlqArn": dlq.Outputs["arn"].StringValue(), "dlqName": dlq.Outputs["name"].StringValue(),
	}
	for k, v := range want {
		if outputs[k] != any(v) || v == "" {
			t.Errorf("output %s = %q, want %q", k, outputs[k], v)
		}
	}
	m.CheckParentedAndTagged(t, queue.Type, "dev")
}
