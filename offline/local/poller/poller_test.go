package poller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/offline/local/sqsenv"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// env is one moto server shared by the subtests of a test, each subtest with
// its own queue.
type env struct {
	client *sqs.Client
	n      atomic.Int64
}

func newEnv(t *testing.T) *env {
	t.Helper()
	testenv.NeedsMoto(t)
	m, err := sqsenv.StartMoto(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	c, err := sqsenv.NewClient(context.Background(), "ap-northeast-1", m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	return &env{client: c}
}

// queue creates a queue holding n messages with bodies "0".."n-1".
func (e *env) queue(t *testing.T, n, visibility int) sqsenv.Queues {
	t.Helper()
	ctx := context.Background()
	q, err := sqsenv.CreateQueues(ctx, e.client, sqsenv.QueueSpec{
		Name: fmt.Sprintf("q%d", e.n.Add(1)), VisibilityTimeoutSeconds: visibility, MaxReceiveCount: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	for start := 0; start < n; start += 10 {
		var entries []types.SendMessageBatchRequestEntry
		for i := start; i < min(start+10, n); i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(strconv.Itoa(i))})
		}
		if _, err := e.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.URL), Entries: entries}); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// recorder is a sandbox that records what it was given.
type recorder struct {
	mu       sync.Mutex
	batches  [][]events.SQSMessage
	bodies   map[string]int // body → deliveries
	respond  func(ev events.SQSEvent) (events.SQSEventResponse, error)
	inside   *atomic.Int64
	maxInner *atomic.Int64
	hold     time.Duration
}

func (r *recorder) Handle(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
	if r.inside != nil {
		now := r.inside.Add(1)
		defer r.inside.Add(-1)
		for m := r.maxInner.Load(); now > m && !r.maxInner.CompareAndSwap(m, now); m = r.maxInner.Load() {
		}
	}
	if r.hold > 0 {
		time.Sleep(r.hold)
	}
	r.mu.Lock()
	r.batches = append(r.batches, ev.Records)
	if r.bodies == nil {
		r.bodies = map[string]int{}
	}
	for _, m := range ev.Records {
		r.bodies[m.Body]++
	}
	r.mu.Unlock()
	if r.respond == nil {
		return events.SQSEventResponse{}, nil
	}
	return r.respond(ev)
}

func (r *recorder) deliveries(body string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bodies[body]
}

// runUntil runs p until cond holds (checked every 100 ms, at most 30 s).
func runUntil(t *testing.T, p *Poller, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { p.Run(ctx); close(stopped) }()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			<-stopped
			t.Fatalf("condition not reached; stats %+v", p.Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	<-stopped
}

func depth(t *testing.T, c *sqs.Client, url string) sqsenv.Depth {
	t.Helper()
	d, err := sqsenv.GetDepth(context.Background(), c, url)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func cfg(t *testing.T, q sqsenv.Queues) Config {
	return Config{
		QueueURL: q.URL, QueueARN: q.ARN, Region: "ap-northeast-1", BatchSize: 10, FunctionTimeout: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}

func TestSettlement(t *testing.T) {
	e := newEnv(t)
	failFirst := func(body string) func(ev events.SQSEvent) (events.SQSEventResponse, error) {
		return func(ev events.SQSEvent) (events.SQSEventResponse, error) {
			var resp events.SQSEventResponse
			for _, m := range ev.Records {
				if m.Body == body && m.Attributes["ApproximateReceiveCount"] == "1" {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			return resp, nil
		}
	}
	failAllOnce := func(bad func(ev events.SQSEvent) (events.SQSEventResponse, error)) func(ev events.SQSEvent) (events.SQSEventResponse, error) {
		return func(ev events.SQSEvent) (events.SQSEventResponse, error) {
			if ev.Records[0].Attributes["ApproximateReceiveCount"] == "1" {
				return bad(ev)
			}
			return events.SQSEventResponse{}, nil
		}
	}
	tests := []struct {
		name    string
		respond func(ev events.SQSEvent) (events.SQSEventResponse, error)
		timeout time.Duration
		hold    time.Duration
		// want: deliveries per body ("0".."4") and invocation errors
		deliveries []int
		errors     int64
	}{
		{name: "empty response deletes all", deliveries: []int{1, 1, 1, 1, 1}},
		{name: "reported failure is redelivered, the rest deleted", respond: failFirst("3"), deliveries: []int{1, 1, 1, 2, 1}},
		{name: "error redelivers the whole batch", respond: failAllOnce(func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{}, errors.New("database down")
		}), deliveries: []int{2, 2, 2, 2, 2}, errors: 1},
		{name: "unknown itemIdentifier invalidates the response", respond: failAllOnce(func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: "not-in-batch"}}}, nil
		}), deliveries: []int{2, 2, 2, 2, 2}, errors: 1},
		{name: "empty itemIdentifier invalidates the response", respond: failAllOnce(func(events.SQSEvent) (events.SQSEventResponse, error) {
			return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{}}}, nil
		}), deliveries: []int{2, 2, 2, 2, 2}, errors: 1},
		{name: "panic redelivers the whole batch", respond: failAllOnce(func(events.SQSEvent) (events.SQSEventResponse, error) {
			panic("boom")
		}), deliveries: []int{2, 2, 2, 2, 2}, errors: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := e.queue(t, 5, 1) // redeliveries after 1 s
			r := &recorder{respond: tc.respond, hold: tc.hold}
			p, err := New(e.client, cfg(t, q), []Handler{r})
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			for _, d := range tc.deliveries {
				want += d
			}
			runUntil(t, p, func() bool {
				s := p.Stats()
				return s.Received >= int64(want) && s.Deleted == 5
			})
			for i, d := range tc.deliveries {
				if got := r.deliveries(strconv.Itoa(i)); got != d {
					t.Errorf("body %d delivered %d times, want %d", i, got, d)
				}
			}
			if s := p.Stats(); s.InvocationErrors != tc.errors {
				t.Errorf("invocation errors %d, want %d", s.InvocationErrors, tc.errors)
			}
			if d := depth(t, e.client, q.URL); d != (sqsenv.Depth{}) {
				t.Errorf("queue not empty: %+v", d)
			}
		})
	}
}

func TestTimedOutInvocationIsRedelivered(t *testing.T) {
	e := newEnv(t)
	q := e.queue(t, 3, 1)
	slowOnce := &recorder{}
	var calls atomic.Int64
	h := HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		if calls.Add(1) == 1 {
			<-ctx.Done() // outlive the function timeout, as a stuck handler would
			time.Sleep(200 * time.Millisecond)
			return events.SQSEventResponse{}, nil // too late: must not count
		}
		return slowOnce.Handle(ctx, ev)
	})
	c := cfg(t, q)
	c.FunctionTimeout = 300 * time.Millisecond
	p, err := New(e.client, c, []Handler{h})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, func() bool { return p.Stats().Deleted == 3 })
	s := p.Stats()
	if s.InvocationErrors != 1 {
		t.Errorf("invocation errors %d, want 1 (the timeout)", s.InvocationErrors)
	}
	for i := range 3 {
		if got := slowOnce.deliveries(strconv.Itoa(i)); got != 1 {
			t.Errorf("body %d handled %d times after the timeout, want 1", i, got)
		}
	}
}

func TestConcurrencyAndBatchBounds(t *testing.T) {
	e := newEnv(t)
	const messages, sandboxes, batchSize = 200, 3, 25
	// A visibility timeout well above window + handling time: no redelivery.
	q := e.queue(t, messages, 30)
	var inside, maxInside atomic.Int64
	var hs []Handler
	var rs []*recorder
	for range sandboxes {
		r := &recorder{inside: &inside, maxInner: &maxInside, hold: 50 * time.Millisecond}
		rs = append(rs, r)
		hs = append(hs, r)
	}
	c := cfg(t, q)
	// A window long enough that a slow receive on a busy machine cannot
	// close a batch before it is full.
	c.BatchSize, c.BatchWindow = batchSize, 5*time.Second
	p, err := New(e.client, c, hs)
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, func() bool { return p.Stats().Deleted >= messages && depth(t, e.client, q.URL) == (sqsenv.Depth{}) })

	if got := maxInside.Load(); got > sandboxes {
		t.Errorf("%d handlers ran at once, maximum concurrency is %d", got, sandboxes)
	}
	if got := p.Stats().MaxBusySandboxes; got > sandboxes || got < maxInside.Load() {
		t.Errorf("poller reports %d busy sandboxes at most; handlers saw %d, maximum concurrency is %d", got, maxInside.Load(), sandboxes)
	}
	largest, total, seen := 0, 0, map[string]bool{}
	for _, r := range rs {
		for _, b := range r.batches {
			if len(b) > batchSize {
				t.Errorf("batch of %d, batch size is %d", len(b), batchSize)
			}
			largest = max(largest, len(b))
			total += len(b)
			for _, m := range b {
				seen[m.Body] = true
				if m.EventSource != "aws:sqs" || m.EventSourceARN != q.ARN || m.AWSRegion != "ap-northeast-1" ||
					m.Attributes["ApproximateReceiveCount"] != "1" || m.Attributes["SentTimestamp"] == "" || m.ReceiptHandle == "" || m.Md5OfBody == "" {
					t.Fatalf("record not as Lambda builds it: %+v", m)
				}
			}
		}
	}
	// With 200 messages waiting, batches fill up within the window.
	if largest != batchSize {
		t.Errorf("largest batch %d, want %d", largest, batchSize)
	}
	// SQS is at-least-once: moto, like SQS, may hand one message to two
	// concurrent receives, so more than 200 deliveries is allowed; fewer
	// distinct bodies is not.
	if len(seen) != messages {
		t.Errorf("%d distinct records handled, want %d", len(seen), messages)
	}
	t.Logf("%d deliveries of %d messages", total, messages)
}

func TestNewRejectsWhatTheMappingRejects(t *testing.T) {
	h := []Handler{HandlerFunc(func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
		return events.SQSEventResponse{}, nil
	})}
	ok := Config{QueueURL: "http://q", BatchSize: 10, FunctionTimeout: time.Second}
	tests := []struct {
		name string
		edit func(*Config)
		hs   []Handler
	}{
		{"no queue", func(c *Config) { c.QueueURL = "" }, h},
		{"batch size 0", func(c *Config) { c.BatchSize = 0 }, h},
		{"batch size over 10000", func(c *Config) { c.BatchSize = 10001 }, h},
		{"batch over 10 without a window", func(c *Config) { c.BatchSize = 11 }, h},
		{"no timeout", func(c *Config) { c.FunctionTimeout = 0 }, h},
		{"no sandbox", func(*Config) {}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			if _, err := New(nil, c, tc.hs); err == nil {
				t.Errorf("New(%+v) succeeded", c)
			}
		})
	}
	if _, err := New(nil, ok, h); err != nil {
		t.Errorf("valid config rejected: %v", err)
	}
}

func TestBatchesFitThePayloadLimit(t *testing.T) {
	e := newEnv(t)
	q, err := sqsenv.CreateQueues(context.Background(), e.client, sqsenv.QueueSpec{Name: "payload", VisibilityTimeoutSeconds: 30, MaxReceiveCount: 5})
	if err != nil {
		t.Fatal(err)
	}
	const messages = 12
	for i := range messages {
		body := fmt.Sprintf("%02d", i) + strings.Repeat("x", 998)
		if _, err := e.client.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(body)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var sizes []int
	seen := map[string]bool{}
	h := HandlerFunc(func(_ context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		b, err := json.Marshal(ev)
		if err != nil {
			return events.SQSEventResponse{}, err
		}
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(b))
		for _, m := range ev.Records {
			seen[m.Body[:2]] = true
		}
		return events.SQSEventResponse{}, nil
	})
	c := cfg(t, q)
	const limit = 3500 // room for two or three 1,000-byte records with their metadata
	c.MaxPayloadBytes, c.BatchSize, c.BatchWindow = limit, 10, 2*time.Second
	p, err := New(e.client, c, []Handler{h})
	if err != nil {
		t.Fatal(err)
	}
	runUntil(t, p, func() bool { return p.Stats().Deleted >= messages })
	mu.Lock()
	defer mu.Unlock()
	for _, n := range sizes {
		if n > limit {
			t.Errorf("invocation payload %d bytes, limit %d", n, limit)
		}
	}
	if len(sizes) < messages/3 {
		t.Errorf("%d invocations for %d records of 1,000 bytes under a %d-byte limit: batches were not split", len(sizes), messages, limit)
	}
	if len(seen) != messages {
		t.Errorf("%d distinct records handled, want %d", len(seen), messages)
	}
}
