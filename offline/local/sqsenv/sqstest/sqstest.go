// Package sqstest is the conformance suite of the SQS behaviours the Sluice
// pipeline relies on, run against every engine the local pipeline can use
// (as golang-migrate's database/testing is run against every driver). Each
// check names the SQS documentation that says SQS behaves so; an engine
// that differs must be bridged in sqsenv or its difference documented in
// docs/local.md.
package sqstest

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/sluicehq/sluice/offline/local/sqsenv"
)

// Engine is one engine under test: a client for it, as the pipeline makes
// its own.
type Engine struct {
	Client *sqs.Client
}

// Run runs every check; start returns a fresh engine for each (stopped at
// the test's cleanup).
func Run(t *testing.T, start func(t *testing.T) Engine) {
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, c *sqs.Client)
	}{
		{"SendMessageAnswer", testSendMessageAnswer},
		{"SentTimestampAndReceiveCount", testSentTimestampAndReceiveCount},
		{"VisibilityTimeout", testVisibilityTimeout},
		{"VisibilityExtension", testVisibilityExtension},
		{"RedriveAfterMaxReceiveCount", testRedrive},
		{"BatchReceiveAndDelete", testBatchReceiveAndDelete},
		{"LongPolling", testLongPolling},
		{"MaximumMessageSize", testMaximumMessageSize},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, start(t).Client) })
	}
}

var ctx = context.Background()

func queue(t *testing.T, c *sqs.Client, visibility, maxReceive, maxSize int) sqsenv.Queues {
	t.Helper()
	q, err := sqsenv.CreateQueues(ctx, c, sqsenv.QueueSpec{
		Name: "conformance", VisibilityTimeoutSeconds: visibility, MaxReceiveCount: maxReceive, MaximumMessageSize: maxSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func send(t *testing.T, c *sqs.Client, url, body string) *sqs.SendMessageOutput {
	t.Helper()
	out, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return out
}

// receive asks once, waiting up to wait seconds, for up to max messages
// with every system attribute, as the poller does.
func receive(t *testing.T, c *sqs.Client, url string, max, wait int32) []types.Message {
	t.Helper()
	out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(url), MaxNumberOfMessages: max, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	return out.Messages
}

// receiveOne waits (up to 20 s, in long polls) for the next message.
func receiveOne(t *testing.T, c *sqs.Client, url string) types.Message {
	t.Helper()
	for range 4 {
		if m := receive(t, c, url, 1, 5); len(m) == 1 {
			return m[0]
		}
	}
	t.Fatalf("no message on %s within 20 s", url)
	return types.Message{}
}

func depth(t *testing.T, c *sqs.Client, url string) sqsenv.Depth {
	t.Helper()
	d, err := sqsenv.GetDepth(ctx, c, url)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// SendMessage answers the MessageId, unique per message, and the MD5 of the
// body ("MD5OfMessageBody – An MD5 digest of the non-URL-encoded message
// body string", SendMessage API reference), under a request id of its own;
// the edge passes all three on.
func testSendMessageAnswer(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 30, 5, 0)
	body := `{"name":"山田 花子","email":"hanako@example.jp"}`
	a, b := send(t, c, q.URL, body), send(t, c, q.URL, body)
	sum := md5.Sum([]byte(body))
	for _, out := range []*sqs.SendMessageOutput{a, b} {
		if aws.ToString(out.MessageId) == "" {
			t.Error("SendMessage answered no MessageId")
		}
		if got := aws.ToString(out.MD5OfMessageBody); got != hex.EncodeToString(sum[:]) {
			t.Errorf("MD5OfMessageBody = %q, want %x", got, sum)
		}
	}
	if aws.ToString(a.MessageId) == aws.ToString(b.MessageId) {
		t.Errorf("two messages got one MessageId %s", aws.ToString(a.MessageId))
	}
	// Every answer carries its own request id (x-amzn-RequestId), which
	// the edge passes on as RequestId.
	ra, _ := awsmiddleware.GetRequestIDMetadata(a.ResultMetadata)
	rb, _ := awsmiddleware.GetRequestIDMetadata(b.ResultMetadata)
	if ra == "" || ra == rb {
		t.Errorf("request ids %q and %q, want two distinct ones", ra, rb)
	}
}

// SentTimestamp is "the time the message was sent to the queue" and stays
// so on every delivery; ApproximateReceiveCount is "the number of times a
// message has been received across all queues but not deleted"
// (ReceiveMessage API reference, MessageSystemAttributeName). The consumer
// stores the first as submitted_at and tells a redelivery by it. The body
// and message attributes come back as sent, also when they look like the
// attributes' JSON (a bridge that rewrites the answer must not touch them).
func testSentTimestampAndReceiveCount(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 1, 5, 0)
	before := time.Now().Add(-time.Second).UnixMilli() // engines' clocks are this machine's
	body := `{"ReceiptHandle":"x","SentTimestamp":"1","ApproximateReceiveCount":"9","note":"<&> \"SentTimestamp\":\"2\" 山田"}`
	sent, err := c.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl: aws.String(q.URL), MessageBody: aws.String(body),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"SentTimestamp": {DataType: aws.String("String"), StringValue: aws.String(`"ApproximateReceiveCount":"7"`)},
		},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	after := time.Now().Add(time.Second).UnixMilli()
	var first string
	for n := 1; n <= 3; n++ {
		var m types.Message
		for tries := 0; m.MessageId == nil && tries < 4; tries++ {
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(q.URL), MaxNumberOfMessages: 1, WaitTimeSeconds: 5,
				MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
				MessageAttributeNames:       []string{"All"},
			})
			if err != nil {
				t.Fatalf("ReceiveMessage: %v", err)
			}
			if len(out.Messages) == 1 {
				m = out.Messages[0]
			}
		}
		if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
			t.Fatalf("delivery %d: received %q, sent %s", n, aws.ToString(m.MessageId), aws.ToString(sent.MessageId))
		}
		if got := aws.ToString(m.Body); got != body {
			t.Errorf("delivery %d: body %s, sent %s", n, got, body)
		}
		if got := aws.ToString(m.MessageAttributes["SentTimestamp"].StringValue); got != `"ApproximateReceiveCount":"7"` {
			t.Errorf("delivery %d: message attribute SentTimestamp = %q, sent %q", n, got, `"ApproximateReceiveCount":"7"`)
		}
		if got := m.Attributes["ApproximateReceiveCount"]; got != strconv.Itoa(n) {
			t.Errorf("delivery %d: ApproximateReceiveCount = %q, want %d", n, got, n)
		}
		ts := m.Attributes["SentTimestamp"]
		ms, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || ms < before || ms > after {
			t.Errorf("delivery %d: SentTimestamp = %q, want the send's time in ms (%d to %d)", n, ts, before, after)
		}
		if n == 1 {
			first = ts
		} else if ts != first {
			t.Errorf("delivery %d: SentTimestamp = %s, first delivery had %s: it must not change", n, ts, first)
		}
	}
}

// A received message is hidden for the visibility timeout ("Amazon SQS
// sets a visibility timeout ... during which Amazon SQS prevents all
// consumers from receiving and processing the message", Developer Guide,
// Visibility timeout) and counted as not visible, not as available.
func testVisibilityTimeout(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 1, 5, 0)
	send(t, c, q.URL, "x")
	if d := depth(t, c, q.URL); d.Visible != 1 || d.InFlight != 0 {
		t.Errorf("before the receive: %+v, want 1 visible, 0 in flight", d)
	}
	m := receiveOne(t, c, q.URL)
	if got := receive(t, c, q.URL, 10, 0); len(got) != 0 {
		t.Errorf("a message in flight was received again at once: %v", got)
	}
	if d := depth(t, c, q.URL); d.Visible != 0 || d.InFlight != 1 {
		t.Errorf("in flight: %+v, want 0 visible (ApproximateNumberOfMessages), 1 in flight", d)
	}
	again := receiveOne(t, c, q.URL)
	if aws.ToString(again.MessageId) != aws.ToString(m.MessageId) {
		t.Errorf("after the timeout got %s, want %s back", aws.ToString(again.MessageId), aws.ToString(m.MessageId))
	}
}

// ChangeMessageVisibility extends a message's timeout from now
// (ChangeMessageVisibility API reference); the consumer's
// functionTimeout ≤ visibility rule relies on a message staying hidden.
func testVisibilityExtension(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 1, 5, 0)
	send(t, c, q.URL, "x")
	m := receiveOne(t, c, q.URL)
	if _, err := c.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 60,
	}); err != nil {
		t.Fatal(err)
	}
	// Three seconds are well past the queue's 1 s, well within the 60 s.
	if got := receive(t, c, q.URL, 10, 3); len(got) != 0 {
		t.Errorf("received %d messages within the extended timeout", len(got))
	}
	if _, err := c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Errorf("delete with the extended receipt handle: %v", err)
	}
}

// "When the ReceiveCount for a message exceeds the maxReceiveCount for a
// queue, Amazon SQS moves the message to a dead-letter queue" (Developer
// Guide, Using dead-letter queues): it is delivered maxReceiveCount times,
// never once more, and then is on the DLQ with its MessageId and body.
func testRedrive(t *testing.T, c *sqs.Client) {
	const maxReceive = 2
	q := queue(t, c, 1, maxReceive, 0)
	sent := send(t, c, q.URL, "poison")
	deliveries := 0
	var dead []types.Message
	for range 20 {
		if m := receive(t, c, q.URL, 1, 1); len(m) == 1 {
			deliveries++
		}
		if dead = receive(t, c, q.DLQURL, 1, 0); len(dead) > 0 {
			break
		}
	}
	if deliveries != maxReceive {
		t.Errorf("delivered %d times, want maxReceiveCount = %d", deliveries, maxReceive)
	}
	if len(dead) != 1 {
		t.Fatalf("DLQ has %d messages, want the poison one", len(dead))
	}
	if aws.ToString(dead[0].Body) != "poison" || aws.ToString(dead[0].MessageId) != aws.ToString(sent.MessageId) {
		t.Errorf("DLQ message %s %q, want %s %q", aws.ToString(dead[0].MessageId), aws.ToString(dead[0].Body), aws.ToString(sent.MessageId), "poison")
	}
}

// ReceiveMessage returns at most MaxNumberOfMessages (up to 10), maybe
// fewer; DeleteMessageBatch deletes up to 10 and reports each entry in
// Successful or Failed, a receipt handle that is not valid as a sender
// fault (API reference of both).
func testBatchReceiveAndDelete(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 30, 5, 0)
	const n = 15
	for i := range n {
		send(t, c, q.URL, fmt.Sprint("m", i))
	}
	seen := map[string]bool{}
	var got []types.Message
	for tries := 0; len(got) < n && tries < 20; tries++ {
		ms := receive(t, c, q.URL, 10, 1)
		if len(ms) > 10 {
			t.Fatalf("received %d messages, MaxNumberOfMessages was 10", len(ms))
		}
		for _, m := range ms {
			if seen[aws.ToString(m.Body)] {
				t.Errorf("%s received twice within its visibility timeout", aws.ToString(m.Body))
			}
			seen[aws.ToString(m.Body)] = true
		}
		got = append(got, ms...)
	}
	if len(got) != n {
		t.Fatalf("received %d of %d messages", len(got), n)
	}
	for start := 0; start < n; start += 10 {
		var entries []types.DeleteMessageBatchRequestEntry
		for i, m := range got[start:min(start+10, n)] {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if start > 0 {
			entries = append(entries, types.DeleteMessageBatchRequestEntry{Id: aws.String("bad"), ReceiptHandle: aws.String("not-a-receipt-handle")})
		}
		out, err := c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries})
		if err != nil {
			// SQS may also refuse the whole call for a malformed handle
			// (ReceiptHandleIsInvalid); the poller never sends one.
			var api smithy.APIError
			if start > 0 && errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient {
				t.Logf("the engine refused the whole batch for one bad handle: %v", err)
				entries = entries[:len(entries)-1]
				if out, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries}); err != nil {
					t.Fatal(err)
				}
			} else {
				t.Fatal(err)
			}
		}
		wantOK := min(start+10, n) - start
		if len(out.Successful) != wantOK {
			t.Errorf("DeleteMessageBatch: %d successful, want %d", len(out.Successful), wantOK)
		}
		for _, f := range out.Failed {
			if aws.ToString(f.Id) != "bad" || !f.SenderFault {
				t.Errorf("failed entry %s (%s, sender fault %t), want only \"bad\" as a sender fault", aws.ToString(f.Id), aws.ToString(f.Code), f.SenderFault)
			}
		}
	}
	if d := depth(t, c, q.URL); d.Visible != 0 || d.InFlight != 0 {
		t.Errorf("after deleting all: %+v, want an empty queue", d)
	}
}

// A receive with WaitTimeSeconds returns as soon as a message arrives
// within the wait ("Long polling ... returns messages as soon as they
// become available", Developer Guide, Short and long polling); the poller
// waits so for its batching window.
func testLongPolling(t *testing.T, c *sqs.Client) {
	q := queue(t, c, 30, 5, 0)
	got := make(chan []types.Message, 1)
	go func() {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.URL), WaitTimeSeconds: 20})
		if err != nil {
			t.Error(err)
			got <- nil
			return
		}
		got <- out.Messages
	}()
	time.Sleep(500 * time.Millisecond) // the receive is waiting on an empty queue
	send(t, c, q.URL, "late")
	ms := <-got
	if len(ms) != 1 || aws.ToString(ms[0].Body) != "late" {
		t.Errorf("the waiting receive returned %d messages, want the one sent during the wait", len(ms))
	}
}

// A message over the queue's MaximumMessageSize is refused with
// InvalidParameterValue, a sender fault ("MaximumMessageSize – The limit
// of how many bytes a message can contain before Amazon SQS rejects it",
// SetQueueAttributes API reference); the edge passes the 400 on, and the
// stack sets the limit to maxBodyBytes.
func testMaximumMessageSize(t *testing.T, c *sqs.Client) {
	const limit = 1024
	q := queue(t, c, 30, 5, limit)
	send(t, c, q.URL, strings.Repeat("a", limit))
	_, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(strings.Repeat("a", limit+1))})
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("a %d-byte message on a %d-byte queue: err = %v, want InvalidParameterValue", limit+1, limit, err)
	}
	if api.ErrorCode() != "InvalidParameterValue" || api.ErrorFault() != smithy.FaultClient {
		t.Errorf("error %s (fault %v), want InvalidParameterValue, a client fault", api.ErrorCode(), api.ErrorFault())
	}
}
