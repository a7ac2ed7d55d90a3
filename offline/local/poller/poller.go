// Package poller emulates the Lambda SQS event source mapping on one machine:
// it gathers batches from a queue, invokes a handler synchronously with the
// same events.SQSEvent Lambda builds, and deletes what the handler reports as
// done.
//
// The semantics follow the AWS documentation for SQS event sources with
// FunctionResponseTypes=[ReportBatchItemFailures]:
//
//   - A batch is up to BatchSize messages gathered for at most BatchWindow
//     after the first message arrived (window 0: whatever one receive
//     returns), and no larger than the 6 MB invocation payload; messages
//     that do not fit start the next batch.
//   - At most len(sandboxes) batches are in flight at once: one per sandbox,
//     as the mapping's MaximumConcurrency bounds concurrent invocations. Each
//     sandbox keeps its own resources (its own DB pool), as a Lambda
//     execution environment does.
//   - An invocation that returns an error, panics or outlives FunctionTimeout
//     deletes nothing: every message reappears after the queue's visibility
//     timeout.
//   - An empty or null batchItemFailures list means the whole batch
//     succeeded. Listed items are left on the queue and the rest are deleted.
//     A failure with an empty itemIdentifier, or one that is not in the
//     batch, makes the whole response invalid: nothing is deleted.
//   - Failed messages are not made visible early (no
//     ChangeMessageVisibility), because Lambda does not do that either; they
//     come back when the visibility timeout expires, and every receive counts
//     towards the redrive policy's maxReceiveCount.
//
// A Lambda invocation that times out is killed with its sandbox. A goroutine
// cannot be killed, so here the timed-out invocation is counted as failed at
// the deadline, and its sandbox is not reused until the handler has returned;
// that keeps the in-flight bound (and so the DB connection bound) exact.
package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/infra/limits"
)

// MaxPayloadBytes is Lambda's synchronous invocation payload limit.
const MaxPayloadBytes = 6 << 20

// Handler is a Lambda handler for SQS events with partial batch responses.
type Handler interface {
	Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	return f(ctx, ev)
}

// Client is the part of the SQS client the poller uses.
type Client interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
}

// Config is the event source mapping and function settings that matter.
type Config struct {
	QueueURL string
	QueueARN string // the event's eventSourceARN
	Region   string // the event's awsRegion

	BatchSize       int           // 1–10,000
	BatchWindow     time.Duration // MaximumBatchingWindowInSeconds
	FunctionTimeout time.Duration

	// MaxPayloadBytes is the synchronous invocation payload limit a batch
	// must fit in; default 6 MB, Lambda's.
	MaxPayloadBytes int

	// IdleWait is the long-poll wait while the queue is empty; it also
	// bounds how long Run takes to notice cancellation. Default 1 s.
	IdleWait time.Duration
	Logger   *slog.Logger
}

// Stats count what the poller did since it started.
type Stats struct {
	Received         int64 `json:"received"`          // messages, counting redeliveries
	InFlight         int64 `json:"in_flight"`         // messages inside an invocation now
	Invocations      int64 `json:"invocations"`       // batches handed to the handler
	InvocationErrors int64 `json:"invocation_errors"` // errors, panics, timeouts, invalid responses
	ItemFailures     int64 `json:"item_failures"`     // messages reported in batchItemFailures
	Deleted          int64 `json:"deleted"`
	MaxBusySandboxes int64 `json:"max_busy_sandboxes"` // the most invocations at once
}

// Poller runs the event source mapping.
type Poller struct {
	client    Client
	cfg       Config
	sandboxes []Handler
	log       *slog.Logger

	received, inFlight, invocations, invocationErrors atomic.Int64
	itemFailures, deleted, busy, maxBusy              atomic.Int64
}

// New returns a poller with one sandbox per handler: len(sandboxes) is the
// mapping's maximum concurrency.
func New(c Client, cfg Config, sandboxes []Handler) (*Poller, error) {
	switch {
	case cfg.QueueURL == "":
		return nil, errors.New("poller: QueueURL is required")
	case !limits.BatchSize.Contains(cfg.BatchSize):
		return nil, fmt.Errorf("poller: batch size %d: want %v", cfg.BatchSize, limits.BatchSize)
	case limits.BatchNeedsWindow(cfg.BatchSize, int(cfg.BatchWindow/time.Second)):
		// The same rule CreateEventSourceMapping enforces.
		return nil, fmt.Errorf("poller: batch size %d needs a batching window of at least 1s, have %s", cfg.BatchSize, cfg.BatchWindow)
	case cfg.FunctionTimeout <= 0:
		return nil, errors.New("poller: FunctionTimeout is required")
	case len(sandboxes) == 0:
		return nil, errors.New("poller: at least one sandbox (maximum concurrency ≥ 1) is required")
	}
	if cfg.IdleWait <= 0 {
		cfg.IdleWait = time.Second
	}
	if cfg.MaxPayloadBytes <= 0 {
		cfg.MaxPayloadBytes = MaxPayloadBytes
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Poller{client: c, cfg: cfg, sandboxes: sandboxes, log: log}, nil
}

// Stats returns the counts so far.
func (p *Poller) Stats() Stats {
	return Stats{
		Received:         p.received.Load(),
		InFlight:         p.inFlight.Load(),
		Invocations:      p.invocations.Load(),
		InvocationErrors: p.invocationErrors.Load(),
		ItemFailures:     p.itemFailures.Load(),
		Deleted:          p.deleted.Load(),
		MaxBusySandboxes: p.maxBusy.Load(),
	}
}

// Run polls until ctx is cancelled, then waits for the invocations in flight
// to finish (they are not cancelled: a Lambda invocation is not stopped by its
// mapping being disabled) and returns. Messages a sandbox had received but
// not yet handed over are invoked before it stops.
func (p *Poller) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, h := range p.sandboxes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var carry []types.Message
			for ctx.Err() == nil || len(carry) > 0 {
				var batch []types.Message
				batch, carry = p.gather(ctx, carry)
				if len(batch) > 0 {
					p.invoke(context.WithoutCancel(ctx), h, batch)
				}
			}
		}()
	}
	wg.Wait()
}

// gather builds one batch, starting with the messages carried over from the
// previous one. It returns the batch and the messages received that did not
// fit in it (over the batch size or the invocation payload limit), which
// start the next batch.
func (p *Poller) gather(ctx context.Context, carry []types.Message) (batch, rest []types.Message) {
	size := len(`{"Records":[]}`)
	var windowEnd time.Time
	add := func(msgs []types.Message) (overflow []types.Message) {
		for i, m := range msgs {
			n := p.recordSize(m)
			if len(batch) == p.cfg.BatchSize || (len(batch) > 0 && size+n > p.cfg.MaxPayloadBytes) {
				return msgs[i:]
			}
			if len(batch) == 0 {
				windowEnd = time.Now().Add(p.cfg.BatchWindow)
			}
			batch, size = append(batch, m), size+n
		}
		return nil
	}
	if overflow := add(carry); len(overflow) > 0 {
		return batch, overflow
	}
	for len(batch) < p.cfg.BatchSize && ctx.Err() == nil {
		wait := p.cfg.IdleWait
		if len(batch) > 0 {
			if p.cfg.BatchWindow == 0 {
				break
			}
			wait = time.Until(windowEnd)
			if wait <= 0 {
				break
			}
		}
		out, err := p.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(p.cfg.QueueURL),
			MaxNumberOfMessages:         int32(min(10, p.cfg.BatchSize-len(batch))),
			WaitTimeSeconds:             int32(min(20, math.Ceil(wait.Seconds()))),
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
			MessageAttributeNames:       []string{"All"},
		})
		if err != nil {
			if ctx.Err() == nil {
				p.log.Warn("poller: receive failed; retrying", "err", err)
				sleep(ctx, time.Second)
			}
			break
		}
		p.received.Add(int64(len(out.Messages)))
		if overflow := add(out.Messages); len(overflow) > 0 {
			return batch, overflow
		}
	}
	return batch, nil
}

// recordSize is the size of m's record in the invocation payload.
func (p *Poller) recordSize(m types.Message) int {
	b, err := json.Marshal(p.record(m))
	if err != nil {
		return len(aws.ToString(m.Body))
	}
	return len(b) + 1 // the comma
}

type result struct {
	resp events.SQSEventResponse
	err  error
}

// invoke runs one batch in sandbox h and settles it with the queue.
func (p *Poller) invoke(ctx context.Context, h Handler, batch []types.Message) {
	n := int64(len(batch))
	p.inFlight.Add(n)
	defer p.inFlight.Add(-n)
	busy := p.busy.Add(1)
	defer p.busy.Add(-1)
	for {
		m := p.maxBusy.Load()
		if busy <= m || p.maxBusy.CompareAndSwap(m, busy) {
			break
		}
	}
	p.invocations.Add(1)

	ev := p.event(batch)
	ictx, cancel := context.WithTimeout(ctx, p.cfg.FunctionTimeout)
	defer cancel()
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("handler panic: %v", r)}
			}
		}()
		resp, err := h.Handle(ictx, ev)
		done <- result{resp, err}
	}()

	var res result
	select {
	case res = <-done:
	case <-ictx.Done():
		p.invocationErrors.Add(1)
		p.log.Warn("poller: invocation timed out; the whole batch will be redelivered", "messages", n, "timeout", p.cfg.FunctionTimeout)
		<-done // the sandbox is reused only once the handler has returned
		return
	}
	if res.err != nil {
		p.invocationErrors.Add(1)
		p.log.Warn("poller: invocation failed; the whole batch will be redelivered", "messages", n, "err", res.err)
		return
	}
	failed, err := failedIDs(res.resp, batch)
	if err != nil {
		p.invocationErrors.Add(1)
		p.log.Warn("poller: invalid partial batch response; the whole batch will be redelivered", "err", err)
		return
	}
	p.itemFailures.Add(int64(len(failed)))
	var settled []types.Message
	for _, m := range batch {
		if !failed[aws.ToString(m.MessageId)] {
			settled = append(settled, m)
		}
	}
	p.delete(ctx, settled)
}

// failedIDs validates a partial batch response as Lambda does.
func failedIDs(resp events.SQSEventResponse, batch []types.Message) (map[string]bool, error) {
	inBatch := make(map[string]bool, len(batch))
	for _, m := range batch {
		inBatch[aws.ToString(m.MessageId)] = true
	}
	failed := make(map[string]bool, len(resp.BatchItemFailures))
	for _, f := range resp.BatchItemFailures {
		switch {
		case f.ItemIdentifier == "":
			return nil, errors.New("batchItemFailures has an empty itemIdentifier")
		case !inBatch[f.ItemIdentifier]:
			return nil, fmt.Errorf("batchItemFailures names %q, which is not in the batch", f.ItemIdentifier)
		}
		failed[f.ItemIdentifier] = true
	}
	return failed, nil
}

// delete removes settled messages, ten per request (the SQS limit).
func (p *Poller) delete(ctx context.Context, msgs []types.Message) {
	for start := 0; start < len(msgs); start += 10 {
		chunk := msgs[start:min(start+10, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle}
		}
		out, err := p.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(p.cfg.QueueURL), Entries: entries})
		if err != nil {
			// Not fatal: the messages come back and the idempotent
			// consumer stores nothing twice.
			p.log.Warn("poller: delete failed; the messages will be redelivered", "messages", len(chunk), "err", err)
			continue
		}
		p.deleted.Add(int64(len(out.Successful)))
		for _, f := range out.Failed {
			p.log.Warn("poller: delete of one message failed; it will be redelivered", "code", aws.ToString(f.Code), "message", aws.ToString(f.Message))
		}
	}
}

// event builds the SQSEvent exactly as Lambda delivers it.
func (p *Poller) event(batch []types.Message) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, len(batch))}
	for i, m := range batch {
		ev.Records[i] = p.record(m)
	}
	return ev
}

func (p *Poller) record(m types.Message) events.SQSMessage {
	attrs := make(map[string]string, len(m.Attributes))
	for k, v := range m.Attributes {
		attrs[k] = v
	}
	var mattrs map[string]events.SQSMessageAttribute
	if len(m.MessageAttributes) > 0 {
		mattrs = make(map[string]events.SQSMessageAttribute, len(m.MessageAttributes))
		for k, v := range m.MessageAttributes {
			mattrs[k] = events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
				DataType:         aws.ToString(v.DataType),
			}
		}
	}
	return events.SQSMessage{
		MessageId:              aws.ToString(m.MessageId),
		ReceiptHandle:          aws.ToString(m.ReceiptHandle),
		Body:                   aws.ToString(m.Body),
		Md5OfBody:              aws.ToString(m.MD5OfBody),
		Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes:             attrs,
		MessageAttributes:      mattrs,
		EventSourceARN:         p.cfg.QueueARN,
		EventSource:            "aws:sqs",
		AWSRegion:              p.cfg.Region,
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
