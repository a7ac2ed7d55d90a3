package pipeline

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/local/poller"
)

// TestBurstOf10000 is the spike story: 10,000 POSTs at once are all accepted,
// drained at the pace the maximum concurrency allows, and stored exactly once,
// while the server never sees more consumer sessions than the stack allows.
func TestBurstOf10000(t *testing.T) {
	const n = 10000
	s := devSettings(t)
	// The edge must not throttle a test client that does not retry; the
	// throttle itself is tested in package edge.
	s.API.ThrottleRate, s.API.ThrottleBurst = 1e6, n
	p := startPipeline(t, s, dbconn.Config{}, nil)
	sampler := sampleConnections(t, p, p.AppUser())

	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = record("burst", i)
	}
	start := time.Now()
	ids := postAll(t, p.URL(), bodies, 100)
	t.Logf("%d accepted in %s", n, time.Since(start))
	waitFor(t, p, 10*time.Minute, "all stored", func(c Counts) bool {
		return c.Stored >= n && c.Queued == 0 && c.InFlight == 0
	})
	t.Logf("drained in %s; poller %+v", time.Since(start), p.Poller().Stats())
	maxConns, samples := sampler.Stop()

	storedOnce(t, p.Admin(), ids)
	limit := s.Consumer.MaxConcurrency
	if maxConns > limit {
		t.Errorf("the server saw %d consumer sessions at once, the stack's maximum concurrency is %d", maxConns, limit)
	}
	if maxConns == 0 {
		t.Errorf("no consumer session seen in %d samples: the sampler measures nothing", samples)
	}
	t.Logf("most consumer sessions seen: %d (limit %d, %d samples)", maxConns, limit, samples)
	c := waitFor(t, p, time.Minute, "final counts", func(Counts) bool { return true })
	if c.Quarantined != 0 || c.DLQ != 0 {
		t.Errorf("valid records quarantined (%d) or dead-lettered (%d)", c.Quarantined, c.DLQ)
	}
}

// batchLog is a sandbox wrapper that records the message ids of each batch
// (and how often each id was delivered) before calling the real consumer.
type batchLog struct {
	mu         sync.Mutex
	batches    [][]string
	deliveries map[string]int
}

func (l *batchLog) wrap(h poller.Handler) poller.Handler {
	return poller.HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		l.record(ev)
		return h.Handle(ctx, ev)
	})
}

func (l *batchLog) record(ev events.SQSEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.deliveries == nil {
		l.deliveries = map[string]int{}
	}
	var ids []string
	for _, m := range ev.Records {
		ids = append(ids, m.MessageId)
		l.deliveries[m.MessageId]++
	}
	l.batches = append(l.batches, ids)
}

// TestPoisonRecordsAreQuarantinedWhileTheirBatchCommits mixes records that
// can never be stored among valid ones in the same batches: the poison ones
// land in quarantine with their reason, the rest of each batch is stored, and
// nothing is retried. It is also the bad-data scenario of the alarm check:
// enough poison for the quarantine alarm to fire, and the consumer's lines
// must say so.
func TestPoisonRecordsAreQuarantinedWhileTheirBatchCommits(t *testing.T) {
	s := devSettings(t)
	log := &batchLog{}
	printed := newOutputFile(t, "emf.log")
	p := startPipeline(t, s, dbconn.Config{}, log.wrap, withConsumerMetrics(t, printed))

	poison := map[string]string{ // body → reason
		`not json`:                  "invalid_json",
		`{"email":"a@example.com"}`: "name_required",
		`{"name":"花子","email":"not-an-email"}`: "email_invalid",
		`"name, email"`: "not_object",
		`{"name":"x","email":"x@example.com","admin":true}`: "unknown_field",
	}
	// Twice the alarm's threshold: the 5-minute period may split the run
	// in two, and one of the halves must still reach it.
	copies := (2*s.Observability.QuarantineAlarmRecords + len(poison) - 1) / len(poison)
	var bodies []string
	valid := 0
	for range copies {
		for b := range poison {
			for range 2 {
				bodies = append(bodies, record("poison-ok", valid))
				valid++
			}
			bodies = append(bodies, b)
		}
	}
	// Posting one at a time keeps the poison spread over the batches.
	ids := postAll(t, p.URL(), bodies, 1)
	poisonID := map[string]string{}
	var validIDs []string
	for i, b := range bodies {
		if reason, ok := poison[b]; ok {
			poisonID[ids[i]] = reason
		} else {
			validIDs = append(validIDs, ids[i])
		}
	}
	waitFor(t, p, 2*time.Minute, "all settled", func(c Counts) bool {
		return c.Stored+c.Quarantined >= int64(len(bodies)) && c.Queued == 0 && c.InFlight == 0
	})

	storedOnce(t, p.Admin(), validIDs)
	rows, err := p.Admin().Query("SELECT submission_id, reason FROM quarantine")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, reason string
		if err := rows.Scan(&id, &reason); err != nil {
			t.Fatal(err)
		}
		got[id] = reason
	}
	if len(got) != len(poisonID) {
		t.Errorf("quarantine has %d rows, want %d", len(got), len(poisonID))
	}
	proveConsumerAlarms(t, scenarioBadData, printed.written(t))
	for id, want := range poisonID {
		if got[id] != want {
			t.Errorf("quarantine reason of %s = %q, want %q", id, got[id], want)
		}
	}
	if st := p.Poller().Stats(); st.ItemFailures != 0 || st.InvocationErrors != 0 {
		t.Errorf("poison caused retries: %+v", st)
	}
	// The claim is about shared batches: at least one batch must have held
	// poison and valid records together.
	mixed := 0
	for _, b := range log.batches {
		var bad, good int
		for _, id := range b {
			if _, ok := poisonID[id]; ok {
				bad++
			} else {
				good++
			}
		}
		if bad > 0 && good > 0 {
			mixed++
		}
	}
	if mixed == 0 {
		t.Errorf("no batch mixed poison and valid records (%d batches): the test proved nothing", len(log.batches))
	}
}

// TestRecordFailingEveryTimeEndsInTheDLQ: a record whose processing fails
// transiently on every delivery is received maxReceiveCount times and then
// moved to the DLQ by SQS's redrive policy, while its batch-mates are stored.
func TestRecordFailingEveryTimeEndsInTheDLQ(t *testing.T) {
	s := devSettings(t)
	s.Queue.MaxReceiveCount = 3
	s.Queue.VisibilityTimeout = time.Second // redeliver quickly
	// One sandbox polls at a time, so moto's occasional double delivery to
	// two concurrent receives cannot add a receive to the count.
	s.Consumer.MaxConcurrency = 1
	const doomed = "doomed@example.com"
	var mu sync.Mutex
	deliveries := 0
	fail := func(h poller.Handler) poller.Handler {
		return poller.HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			// Report the doomed record as failed, as the consumer does for
			// a transient database error, and let the consumer handle the rest.
			var rest []events.SQSMessage
			var failed []events.SQSBatchItemFailure
			for _, m := range ev.Records {
				if strings.Contains(m.Body, doomed) {
					mu.Lock()
					deliveries++
					mu.Unlock()
					failed = append(failed, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
					continue
				}
				rest = append(rest, m)
			}
			ev.Records = rest
			resp, err := h.Handle(ctx, ev)
			resp.BatchItemFailures = append(resp.BatchItemFailures, failed...)
			return resp, err
		})
	}
	p := startPipeline(t, s, dbconn.Config{}, fail)
	bodies := []string{record("dlq", 0), `{"name":"Doomed","email":"` + doomed + `"}`, record("dlq", 1)}
	ids := postAll(t, p.URL(), bodies, 1)
	c := waitFor(t, p, 2*time.Minute, "doomed record in the DLQ", func(c Counts) bool {
		return c.DLQ == 1 && c.Queued == 0 && c.InFlight == 0
	})
	if c.Stored != 2 {
		t.Errorf("stored %d, want the 2 batch-mates", c.Stored)
	}
	storedOnce(t, p.Admin(), []string{ids[0], ids[2]})
	mu.Lock()
	got := deliveries
	mu.Unlock()
	if got != s.Queue.MaxReceiveCount {
		t.Errorf("doomed record delivered %d times, want maxReceiveCount = %d", got, s.Queue.MaxReceiveCount)
	}
	out, err := p.SQS().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(p.Queues().DLQURL),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].MessageId) != ids[1] {
		t.Fatalf("DLQ holds %+v, want message %s", out.Messages, ids[1])
	}
}

// TestEveryMessageDeliveredTwice: each message is processed, then reported
// as failed on its first delivery (as if the delete had been lost), so SQS
// delivers it a second time; the table still has each record exactly once.
func TestEveryMessageDeliveredTwice(t *testing.T) {
	const n = 300
	s := devSettings(t)
	s.Queue.VisibilityTimeout = 2 * time.Second
	log := &batchLog{}
	twice := func(h poller.Handler) poller.Handler {
		return poller.HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			log.record(ev)
			resp, err := h.Handle(ctx, ev)
			if err != nil {
				return resp, err
			}
			for _, m := range ev.Records {
				if m.Attributes["ApproximateReceiveCount"] == "1" {
					resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
				}
			}
			return resp, nil
		})
	}
	p := startPipeline(t, s, dbconn.Config{}, twice)
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = record("twice", i)
	}
	ids := postAll(t, p.URL(), bodies, 20)
	waitFor(t, p, 3*time.Minute, "all delivered twice and deleted", func(c Counts) bool {
		return c.Queued == 0 && c.InFlight == 0 && p.Poller().Stats().Deleted >= n
	})
	storedOnce(t, p.Admin(), ids)
	log.mu.Lock()
	defer log.mu.Unlock()
	for _, id := range ids {
		if log.deliveries[id] < 2 {
			t.Errorf("message %s delivered %d times, want at least 2", id, log.deliveries[id])
		}
	}
}

// TestDatabaseOutageMidDrain stops the database for 30 s while the queue is
// draining. Batches fail and come back after the visibility timeout; once the
// server returns, every accepted record is stored exactly once and none
// reaches the DLQ, because maxReceiveCount × visibility timeout outlasts the
// outage (the sizing rule docs/local.md gives). It is also the database-down
// scenario of the alarm check: the consumer's lines must fire the
// records-retried alarm, which consumer-errors cannot (every invocation
// succeeds with a partial batch response).
func TestDatabaseOutageMidDrain(t *testing.T) {
	const n, outage = 1500, 30 * time.Second
	server := startPrivateMariaDB(t)
	s := devSettings(t)
	s.Queue.VisibilityTimeout = 5 * time.Second
	s.Queue.MaxReceiveCount = 20 // 20 × 5 s = 100 s > 30 s outage
	s.API.ThrottleRate, s.API.ThrottleBurst = 1e6, n
	printed := newOutputFile(t, "emf.log")
	// Once a tenth of the records has been handled, invocations wait until
	// the database is down: on a fast SQS engine the whole drain can
	// otherwise finish before the outage starts, and the test would depend
	// on the machine's speed rather than on what it means to show.
	outageStarted := make(chan struct{})
	var handled atomic.Int64
	holdUntilOutage := func(h poller.Handler) poller.Handler {
		return poller.HandlerFunc(func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
			if handled.Load() >= n/10 {
				select {
				case <-outageStarted:
				case <-ctx.Done():
					return events.SQSEventResponse{}, ctx.Err()
				}
			}
			resp, err := h.Handle(ctx, ev)
			handled.Add(int64(len(ev.Records)))
			return resp, err
		})
	}
	p := startPipeline(t, s, server.Config("sluice_outage"), holdUntilOutage, withConsumerMetrics(t, printed))

	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = record("outage", i)
	}
	ids := postAll(t, p.URL(), bodies, 50)
	before := waitFor(t, p, 2*time.Minute, "drain under way", func(c Counts) bool { return c.Stored >= n/10 })
	if before.Stored >= n {
		t.Fatalf("drain finished before the outage (%d stored): the test would prove nothing", before.Stored)
	}
	server.stop()
	close(outageStarted)
	t.Logf("database stopped with %d of %d stored", before.Stored, n)
	time.Sleep(outage)
	failuresDuringOutage := p.Poller().Stats()
	server.start()
	t.Logf("database back; poller during the outage: %+v", failuresDuringOutage)
	if failuresDuringOutage.ItemFailures+failuresDuringOutage.InvocationErrors == 0 {
		t.Errorf("no batch failed during the outage: the consumer never noticed it")
	}

	c := waitFor(t, p, 3*time.Minute, "all stored after the outage", func(c Counts) bool {
		return c.Stored >= n && c.Queued == 0 && c.InFlight == 0
	})
	storedOnce(t, p.Admin(), ids)
	if c.DLQ != 0 || c.Quarantined != 0 {
		t.Errorf("after the outage: %d in the DLQ, %d quarantined; want none", c.DLQ, c.Quarantined)
	}
	if failuresDuringOutage.InvocationErrors != 0 {
		t.Errorf("%d invocations failed during the outage; the consumer reports records for retry instead, and consumer-errors must stay quiet", failuresDuringOutage.InvocationErrors)
	}
	proveConsumerAlarms(t, scenarioDatabaseDown, printed.written(t))
}
