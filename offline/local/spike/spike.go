// Package spike fires a burst of POSTs at a Sluice edge, follows the drain,
// and reports what the seed promises: every accepted record stored exactly
// once, at a pace the database can take, also when clients send records
// again with the same idempotency key (Options.RetryFraction).
package spike

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/offline/local/edge"
	"github.com/sluicehq/sluice/offline/local/pipeline"
)

// Options configure a spike.
type Options struct {
	URL         string // edge base URL; records go to URL+"/submit"
	N           int    // records to send
	Concurrency int    // clients sending at once
	// Retries is how often a client retries a 429, with exponential backoff
	// from 100 ms, as a well-behaved client of a throttled API does.
	Retries int
	// Keys gives every record an idempotency key ("idempotency_key" in
	// the body, unique per record).
	Keys bool
	// RetryFraction (0 to 1, implies Keys) is the share of records a
	// client sends a second time with the same key and body. Every other
	// one of them is first sent by a client that gives up without reading
	// the answer, as a timed-out client does; the others are sent again
	// after a 200, as by a client whose answer got lost.
	RetryFraction float64
	// PerRequest is how many records one POST carries: 1 (default) posts
	// each record as a JSON object, more post JSON arrays of that many.
	PerRequest int
	// Raw, with RawQueueURL (a queue of the same engine that nothing
	// consumes), measures the engine's own SendMessage rate in the same
	// run: the bodies of the first RawRequests POSTs (default 5000) sent
	// straight to it before the spike. Nil skips it (a remote pipeline).
	Raw         edge.Sender
	RawQueueURL string
	RawRequests int
	// Counts reads the pipeline's counts (in process, or from the status
	// endpoint of a running `go run ./local`).
	Counts func(context.Context) (pipeline.Counts, error)
	// DB is an administrative login to the pipeline's database, used to
	// find this run's rows.
	DB *sql.DB
	// DrainTimeout bounds the wait for the queue to empty. Default 10 min.
	DrainTimeout time.Duration
	// Every is the sampling period. Default 250 ms.
	Every time.Duration
}

// Sample is the pipeline at one moment of the run.
type Sample struct {
	Seconds       float64 `json:"t"`
	QueueDepth    int     `json:"queue_depth"` // visible + in flight
	Stored        int64   `json:"stored"`      // this run's rows
	DBConnections int     `json:"db_connections"`
}

// Result is the report.
type Result struct {
	RunID      string `json:"run_id"`
	Engine     string `json:"sqs_engine,omitempty"`
	Sent       int    `json:"sent"` // records
	PerRequest int    `json:"records_per_request"`
	Accepted   int    `json:"accepted"`  // records answered 200
	Throttled  int    `json:"throttled"` // 429 answers, retried or not
	Refused    int    `json:"refused"`   // records never accepted
	Keys       bool   `json:"idempotency_keys"`
	Retries    int    `json:"retries"`   // records sent a second time with the same key
	Abandoned  int    `json:"abandoned"` // of the retries: first attempts whose answer was not read
	// AcceptPerSec is records accepted per second of sending, through the
	// edge; RawSendPerSec the engine's own SendMessage rate, in records per
	// second, for the same bodies and senders (0 when not measured).
	AcceptPerSec     float64 `json:"accept_per_sec"`
	RawSendPerSec    float64 `json:"raw_send_per_sec"`
	LatencyP50Ms     float64 `json:"accept_latency_p50_ms"`
	LatencyP99Ms     float64 `json:"accept_latency_p99_ms"`
	SendSeconds      float64 `json:"send_seconds"`  // first POST to last answer
	DrainSeconds     float64 `json:"drain_seconds"` // first POST to the last record stored
	Drained          bool    `json:"drained"`
	Stored           int     `json:"stored"`     // this run's users rows
	Duplicates       int     `json:"duplicates"` // rows beyond one per record, retries included
	Quarantined      int     `json:"quarantined"`
	InDLQ            int     `json:"in_dlq"`
	Lost             int     `json:"lost"` // accepted, and neither stored, quarantined nor in the DLQ
	MaxDBConnections int     `json:"max_db_connections"`
	// PeakRSSMB is the most resident memory this process had by the end of
	// the run (getrusage's ru_maxrss): the pipeline with its in-process SQS
	// engine when the spike started them, not a moto_server child.
	PeakRSSMB float64  `json:"peak_rss_mb"`
	Samples   []Sample `json:"-"`
}

// Run performs one spike.
func Run(ctx context.Context, o Options) (Result, error) {
	if err := o.Check(); err != nil {
		return Result{}, err
	}
	if o.URL == "" || o.Counts == nil || o.DB == nil {
		return Result{}, errors.New("spike: need a URL, counts and a database")
	}
	if o.RetryFraction > 0 {
		o.Keys = true
	}
	if o.DrainTimeout <= 0 {
		o.DrainTimeout = 10 * time.Minute
	}
	if o.Every <= 0 {
		o.Every = 250 * time.Millisecond
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return Result{}, err
	}
	if o.PerRequest <= 0 {
		o.PerRequest = 1
	}
	if o.RawRequests <= 0 {
		o.RawRequests = 5000
	}
	r := Result{RunID: hex.EncodeToString(b), Sent: o.N, Keys: o.Keys, PerRequest: o.PerRequest}
	emailPrefix := "spike-" + r.RunID + "-"
	if o.Raw != nil {
		rate, err := rawSendRate(ctx, o, emailPrefix)
		if err != nil {
			return r, err
		}
		r.RawSendPerSec = rate
	}

	// The run's rows come after the tables' last ids now: its queries scan
	// those rows only, however many earlier runs left (email has no
	// index).
	m, err := pipeline.MarkRows(ctx, o.DB)
	if err != nil {
		return r, fmt.Errorf("spike: %w", err)
	}
	start := time.Now()
	sampler := newSampler(o, start, emailPrefix, m)
	go sampler.run(ctx)

	sent := send(ctx, o, emailPrefix)
	r.SendSeconds = time.Since(start).Seconds()
	r.Accepted, r.Throttled = len(sent.accepted), sent.throttled
	r.Retries, r.Abandoned = sent.retries, sent.abandoned
	r.Refused = o.N - r.Accepted
	r.AcceptPerSec = float64(r.Accepted) / r.SendSeconds
	r.LatencyP50Ms, r.LatencyP99Ms = percentile(sent.latencies, 0.50), percentile(sent.latencies, 0.99)

	// Wait until the queue is empty and every accepted record is settled.
	drainCtx, cancel := context.WithTimeout(ctx, o.DrainTimeout)
	defer cancel()
wait:
	for {
		if c, err := o.Counts(drainCtx); err == nil && c.Queued == 0 && c.InFlight == 0 {
			stored, quarantined, err := settled(drainCtx, o.DB, emailPrefix, m, sent.accepted)
			if err == nil && stored+quarantined+c.DLQ >= r.Accepted {
				r.Drained = true
				break wait
			}
		}
		select {
		case <-drainCtx.Done():
			break wait
		case <-time.After(o.Every):
		}
	}
	r.DrainSeconds = time.Since(start).Seconds()
	sampler.stop()
	r.Samples, r.MaxDBConnections = sampler.samples, sampler.maxConns

	if r.Stored, r.Duplicates, err = storedRows(ctx, o.DB, emailPrefix, m); err != nil {
		return r, err
	}
	notFound, quarantined, err := missing(ctx, o.DB, emailPrefix, m, sent.accepted)
	if err != nil {
		return r, err
	}
	r.Quarantined = quarantined
	if c, err := o.Counts(ctx); err == nil {
		r.InDLQ = c.DLQ
	}
	r.Lost = max(0, notFound-r.InDLQ)
	r.PeakRSSMB = peakRSSMB()
	return r, nil
}

// Check reports the first option a spike cannot run with, in the words of
// the command's flags.
func (o Options) Check() error {
	switch {
	case o.N <= 0:
		return fmt.Errorf("-n %d: want at least 1 record", o.N)
	case o.Concurrency <= 0:
		return fmt.Errorf("-c %d: want at least 1 client", o.Concurrency)
	case o.Retries < 0:
		return fmt.Errorf("-retries %d: want 0 or more", o.Retries)
	case !(o.RetryFraction >= 0 && o.RetryFraction <= 1):
		return fmt.Errorf("-retry-fraction %v: want a number from 0 to 1", o.RetryFraction)
	case o.PerRequest < 0:
		return fmt.Errorf("-per-request %d: want at least 1 record", o.PerRequest)
	}
	return nil
}

// peakRSSMB is this process's peak resident set size in MiB.
func peakRSSMB() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // kilobytes on Linux
}

type sendResult struct {
	accepted  []accepted
	throttled int
	retries   int
	abandoned int
	latencies []time.Duration
}

// accepted is a record the edge answered 200 for (or may have: an
// abandoned attempt), with the MessageIds of the answers read.
type accepted struct {
	email string
	ids   []string
}

// retried reports whether record i of n is sent twice: round(n × f)
// records, spread evenly.
func retried(i int, f float64) bool {
	return int(float64(i+1)*f+0.5) > int(float64(i)*f+0.5)
}

// sampleBody is record i of a run: a sample record derived from the
// record's table (consumer/record), with an e-mail unique to the run and
// the record, by which the run finds its rows; with keys, the key is made
// from it too.
func sampleBody(i int, emailPrefix string, keys bool) (email, body string) {
	email = fmt.Sprintf("%s%d@example.com", emailPrefix, i)
	r := record.Sample(i, "Spike")
	r.Set("email", record.Value{Str: email, Valid: true})
	if keys {
		r.IdempotencyKey = fmt.Sprintf("%s%d", emailPrefix, i)
	}
	return email, r.JSON()
}

// request is the body of POST j: record j alone with one record per
// request, else a JSON array of the records j×perRequest onwards (fewer in
// the last).
func request(o Options, emailPrefix string, j int) (emails []string, body string) {
	per := max(1, o.PerRequest)
	if per == 1 {
		email, body := sampleBody(j, emailPrefix, o.Keys)
		return []string{email}, body
	}
	var b strings.Builder
	b.WriteByte('[')
	for i := j * per; i < min((j+1)*per, o.N); i++ {
		email, rec := sampleBody(i, emailPrefix, o.Keys)
		if len(emails) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rec)
		emails = append(emails, email)
	}
	b.WriteByte(']')
	return emails, b.String()
}

// requests is how many POSTs carry o.N records.
func requests(o Options) int {
	per := max(1, o.PerRequest)
	return (o.N + per - 1) / per
}

// send posts the records with o.Concurrency clients.
func send(ctx context.Context, o Options, emailPrefix string) sendResult {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: o.Concurrency, MaxIdleConnsPerHost: o.Concurrency},
		Timeout:   60 * time.Second,
	}
	var mu sync.Mutex
	var res sendResult
	next := make(chan int)
	var wg sync.WaitGroup
	retries := 0
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				emails, body := request(o, emailPrefix, j)
				var ids []string
				var throttled int
				abandoned, sentAgain := false, retried(j, o.RetryFraction)
				if sentAgain {
					mu.Lock()
					abandoned = retries%2 == 0
					retries++
					mu.Unlock()
				}
				var lat time.Duration
				if abandoned {
					abandon(ctx, client, o.URL+"/submit", body)
				} else {
					var id string
					id, lat, throttled = post(ctx, client, o.URL+"/submit", body, o.Retries)
					if id != "" {
						ids = append(ids, id)
					}
				}
				if sentAgain {
					id, l, th := post(ctx, client, o.URL+"/submit", body, o.Retries)
					throttled += th
					if id != "" {
						ids = append(ids, id)
						if lat == 0 {
							lat = l
						}
					}
				}
				mu.Lock()
				res.throttled += throttled
				if sentAgain {
					res.retries += len(emails)
				}
				if abandoned {
					res.abandoned += len(emails)
				}
				if len(ids) > 0 {
					for _, email := range emails {
						res.accepted = append(res.accepted, accepted{email: email, ids: ids})
					}
					res.latencies = append(res.latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	for j := range requests(o) {
		select {
		case next <- j:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return res
}

// rawSendRate sends the bodies of the first requests of the run (at most
// o.RawRequests) straight to o.Raw with o.Concurrency senders, as the
// edge's SendMessage calls would be made without the edge, and returns the
// records per second.
func rawSendRate(ctx context.Context, o Options, emailPrefix string) (float64, error) {
	n := min(requests(o), o.RawRequests)
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var records int
	var firstErr error
	start := time.Now()
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				emails, body := request(o, emailPrefix+"raw-", j)
				in, err := edge.SendMessageInput(o.RawQueueURL, []byte(body))
				if err == nil {
					_, err = o.Raw.SendMessage(ctx, in)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				records += len(emails)
				mu.Unlock()
			}
		}()
	}
	for j := range n {
		next <- j
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return 0, fmt.Errorf("spike: raw SendMessage: %w", firstErr)
	}
	return float64(records) / time.Since(start).Seconds(), nil
}

// abandon sends one record and gives up as soon as the request is written,
// without waiting for the answer, as a client whose timeout fired does.
// The edge may or may not have queued it by then.
func abandon(ctx context.Context, c *http.Client, url, body string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { cancel() }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, url, bytes.NewBufferString(body))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/json")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close() // the answer came before the cancel took effect; it is not read
	}
}

// post sends one record, retrying 429s, and returns its MessageId (empty if
// never accepted) and the latency of the accepted attempt.
func post(ctx context.Context, c *http.Client, url, body string, retries int) (id string, latency time.Duration, throttled int) {
	backoff := 100 * time.Millisecond
	for attempt := 0; attempt <= retries; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewBufferString(body))
		if err != nil {
			return "", 0, throttled
		}
		req.Header.Set("Content-Type", "application/json")
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return "", 0, throttled
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		latency = time.Since(t0)
		switch resp.StatusCode {
		case http.StatusOK:
			var r edge.SendMessageResponse
			if json.Unmarshal(raw, &r) != nil {
				return "", 0, throttled
			}
			return r.SendMessageResponse.SendMessageResult.MessageID, latency, throttled
		case http.StatusTooManyRequests:
			throttled++
			select {
			case <-ctx.Done():
				return "", 0, throttled
			case <-time.After(backoff):
			}
			backoff *= 2
		default:
			return "", 0, throttled
		}
	}
	return "", 0, throttled
}

func percentile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return float64(s[max(0, i)].Microseconds()) / 1000
}

// storedRows counts this run's users rows, and the rows beyond one per
// record (the email is unique per record of the run).
func storedRows(ctx context.Context, db *sql.DB, emailPrefix string, m pipeline.RowMark) (rows, duplicates int, err error) {
	var distinct int
	err = db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT email) FROM users WHERE id > ? AND email LIKE ?", m.Users, emailPrefix+"%").Scan(&rows, &distinct)
	if err != nil {
		return 0, 0, fmt.Errorf("spike: count stored rows: %w", err)
	}
	return rows, rows - distinct, nil
}

// settled counts the accepted records stored or quarantined.
func settled(ctx context.Context, db *sql.DB, emailPrefix string, m pipeline.RowMark, recs []accepted) (stored, quarantined int, err error) {
	notFound, quarantined, err := missing(ctx, db, emailPrefix, m, recs)
	if err != nil {
		return 0, 0, err
	}
	return len(recs) - notFound - quarantined, quarantined, nil
}

// missing counts the accepted records with no users row (found by their
// e-mail, unique per record) and no quarantine row (found by the
// MessageIds of their answers), and the records in quarantine.
func missing(ctx context.Context, db *sql.DB, emailPrefix string, m pipeline.RowMark, recs []accepted) (notFound, quarantined int, err error) {
	have := map[string]bool{}
	if err := collect(ctx, db, have, "SELECT email FROM users WHERE id > ? AND email LIKE ?", m.Users, emailPrefix+"%"); err != nil {
		return 0, 0, err
	}
	inQuarantine := map[string]bool{}
	if err := collect(ctx, db, inQuarantine, "SELECT submission_id FROM quarantine WHERE id > ?", m.Quarantine); err != nil {
		return 0, 0, err
	}
	for _, r := range recs {
		switch {
		case have[r.email]:
		case anyOf(inQuarantine, r.ids):
			quarantined++
		default:
			notFound++
		}
	}
	return notFound, quarantined, nil
}

func anyOf(set map[string]bool, keys []string) bool {
	for _, k := range keys {
		if set[k] {
			return true
		}
	}
	return false
}

func collect(ctx context.Context, db *sql.DB, into map[string]bool, query string, args ...any) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("spike: %s: %w", query, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id sql.NullString
		if err := rows.Scan(&id); err != nil {
			return err
		}
		into[id.String] = true
	}
	return rows.Err()
}

// sampler records the pipeline over time.
type sampler struct {
	o           Options
	start       time.Time
	emailPrefix string
	mark        pipeline.RowMark
	done        chan struct{}
	stopped     chan struct{}

	mu       sync.Mutex
	samples  []Sample
	maxConns int
}

func newSampler(o Options, start time.Time, emailPrefix string, m pipeline.RowMark) *sampler {
	return &sampler{o: o, start: start, emailPrefix: emailPrefix, mark: m, done: make(chan struct{}), stopped: make(chan struct{})}
}

func (s *sampler) run(ctx context.Context) {
	defer close(s.stopped)
	tick := time.NewTicker(s.o.Every)
	defer tick.Stop()
	for {
		s.sample(ctx)
		select {
		case <-s.done:
			s.sample(ctx)
			return
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (s *sampler) sample(ctx context.Context) {
	c, err := s.o.Counts(ctx)
	if err != nil {
		return
	}
	var stored int64
	if err := s.o.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE id > ? AND email LIKE ?", s.mark.Users, s.emailPrefix+"%").Scan(&stored); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, Sample{
		Seconds:       time.Since(s.start).Seconds(),
		QueueDepth:    c.Queued + c.InFlight,
		Stored:        stored,
		DBConnections: c.DBConnections,
	})
	s.maxConns = max(s.maxConns, c.DBConnections)
}

func (s *sampler) stop() {
	close(s.done)
	<-s.stopped
}
