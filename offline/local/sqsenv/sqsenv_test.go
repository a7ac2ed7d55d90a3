package sqsenv

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/testkit/testenv"
)

// startForTest starts moto and a client for it, stopped at cleanup.
func startForTest(t *testing.T) (*Moto, *sqs.Client) {
	t.Helper()
	testenv.NeedsMoto(t)
	ctx := context.Background()
	m, err := StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	c, err := NewClient(ctx, "ap-northeast-1", m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestCreateQueuesSetsStackAttributes(t *testing.T) {
	_, c := startForTest(t)
	ctx := context.Background()
	q, err := CreateQueues(ctx, c, QueueSpec{Name: "intake", VisibilityTimeoutSeconds: 1, MaxReceiveCount: 2, MaximumMessageSize: 2048})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(q.URL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.Attributes["VisibilityTimeout"]; v != "1" {
		t.Errorf("VisibilityTimeout = %q, want 1", v)
	}
	if v := got.Attributes["MaximumMessageSize"]; v != "2048" {
		t.Errorf("MaximumMessageSize = %q, want 2048", v)
	}
	var redrive struct {
		DeadLetterTargetArn string
		MaxReceiveCount     json.Number
	}
	if err := json.Unmarshal([]byte(got.Attributes["RedrivePolicy"]), &redrive); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", got.Attributes["RedrivePolicy"], err)
	}
	if redrive.DeadLetterTargetArn != q.DLQARN || redrive.MaxReceiveCount.String() != "2" {
		t.Errorf("RedrivePolicy = %+v, want DLQ %s and maxReceiveCount 2", redrive, q.DLQARN)
	}

	// The redrive really happens: two receives without a delete (each
	// waiting out the 1 s visibility timeout), then the third receive moves
	// the message to the DLQ instead of returning it.
	if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) != 1 {
			t.Fatalf("receive %d: got %d messages, want 1", i, len(out.Messages))
		}
	}
	// Waiting past the 1 s visibility timeout makes the message eligible again.
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 0 {
		t.Fatalf("third receive returned %d messages; want none (moved to the DLQ)", len(out.Messages))
	}
	dlq, err := GetDepth(ctx, c, q.DLQURL)
	if err != nil {
		t.Fatal(err)
	}
	if dlq.Visible != 1 {
		t.Errorf("DLQ depth = %+v, want 1 visible", dlq)
	}
}

func TestCreateQueuesRejectsIncompleteSpec(t *testing.T) {
	for name, s := range map[string]QueueSpec{
		"no name":       {VisibilityTimeoutSeconds: 30, MaxReceiveCount: 5},
		"no visibility": {Name: "q", MaxReceiveCount: 5},
		"no redrive":    {Name: "q", VisibilityTimeoutSeconds: 30},
	} {
		t.Run(name, func(t *testing.T) {
			// The check comes before any call, so no endpoint is needed.
			if _, err := CreateQueues(context.Background(), nil, s); err == nil {
				t.Errorf("CreateQueues(%+v) succeeded", s)
			}
		})
	}
}

func TestGetDepthCountsVisibleAndInFlight(t *testing.T) {
	_, c := startForTest(t)
	ctx := context.Background()
	q, err := CreateQueues(ctx, c, QueueSpec{Name: "depth", VisibilityTimeoutSeconds: 60, MaxReceiveCount: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 1}); err != nil {
		t.Fatal(err)
	}
	d, err := GetDepth(ctx, c, q.URL)
	if err != nil {
		t.Fatal(err)
	}
	if d != (Depth{Visible: 2, InFlight: 1}) {
		t.Errorf("depth = %+v, want 2 visible, 1 in flight", d)
	}
}

func TestStartMotoSaysWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := StartMoto(context.Background(), nil)
	if !errors.Is(err, ErrMotoNotInstalled) {
		t.Fatalf("StartMoto without moto_server on PATH: %v, want ErrMotoNotInstalled", err)
	}
	for _, want := range []string{"pip install 'moto[server]", "AWS_ENDPOINT_URL_SQS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}

func TestStopEndsMoto(t *testing.T) {
	m, c := startForTest(t)
	m.Stop()
	m.Stop() // a second Stop is harmless
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.ListQueues(ctx, &sqs.ListQueuesInput{}); err == nil {
		t.Error("moto still answers after Stop")
	}
}
