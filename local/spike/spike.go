// Package spike fires a burst of POSTs at a Sluice edge, follows the drain,
// and reports what the seed promises: every accepted record stored exactly
// once, at a pace the database can take.
package spike

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/sluicehq/sluice/local/edge"
	"github.com/sluicehq/sluice/local/pipeline"
)

// Options configure a spike.
type Options struct {
	URL         string // edge base URL; records go to URL+"/submit"
	N           int    // records to send
	Concurrency int    // clients sending at once
	// Retries is how often a client retries a 429, with exponential backoff
	// from 100 ms, as a well-behaved client of a throttled API does.
	Retries int
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
	RunID            string   `json:"run_id"`
	Sent             int      `json:"sent"`      // records
	Accepted         int      `json:"accepted"`  // records answered 200
	Throttled        int      `json:"throttled"` // 429 answers, retried or not
	Refused          int      `json:"refused"`   // records never accepted
	LatencyP50Ms     float64  `json:"accept_latency_p50_ms"`
	LatencyP99Ms     float64  `json:"accept_latency_p99_ms"`
	SendSeconds      float64  `json:"send_seconds"`  // first POST to last answer
	DrainSeconds     float64  `json:"drain_seconds"` // first POST to the last record stored
	Drained          bool     `json:"drained"`
	Stored           int      `json:"stored"`     // this run's users rows
	Duplicates       int      `json:"duplicates"` // rows beyond one per record
	Quarantined      int      `json:"quarantined"`
	InDLQ            int      `json:"in_dlq"`
	Lost             int      `json:"lost"` // accepted, and neither stored, quarantined nor in the DLQ
	MaxDBConnections int      `json:"max_db_connections"`
	Samples          []Sample `json:"-"`
}

// Run performs one spike.
func Run(ctx context.Context, o Options) (Result, error) {
	if o.N <= 0 || o.Concurrency <= 0 || o.URL == "" || o.Counts == nil || o.DB == nil {
		return Result{}, fmt.Errorf("spike: need a URL, N > 0, concurrency > 0, counts and a database: %+v", o)
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
	r := Result{RunID: hex.EncodeToString(b), Sent: o.N}
	emailPrefix := "spike-" + r.RunID + "-"

	start := time.Now()
	sampler := newSampler(o, start, emailPrefix)
	go sampler.run(ctx)

	sent := send(ctx, o, emailPrefix)
	r.SendSeconds = time.Since(start).Seconds()
	r.Accepted, r.Throttled = len(sent.ids), sent.throttled
	r.Refused = o.N - r.Accepted
	r.LatencyP50Ms, r.LatencyP99Ms = percentile(sent.latencies, 0.50), percentile(sent.latencies, 0.99)

	// Wait until the queue is empty and every accepted record is settled.
	drainCtx, cancel := context.WithTimeout(ctx, o.DrainTimeout)
	defer cancel()
wait:
	for {
		if c, err := o.Counts(drainCtx); err == nil && c.Queued == 0 && c.InFlight == 0 {
			stored, quarantined, err := settled(drainCtx, o.DB, emailPrefix, sent.ids)
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

	var err error
	if r.Stored, r.Duplicates, err = storedRows(ctx, o.DB, emailPrefix); err != nil {
		return r, err
	}
	notFound, quarantined, err := missing(ctx, o.DB, emailPrefix, sent.ids)
	if err != nil {
		return r, err
	}
	r.Quarantined = quarantined
	if c, err := o.Counts(ctx); err == nil {
		r.InDLQ = c.DLQ
	}
	r.Lost = max(0, notFound-r.InDLQ)
	return r, nil
}

type sendResult struct {
	ids       []string
	throttled int
	latencies []time.Duration
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
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				body := fmt.Sprintf(`{"name":"Spike %d","email":"%s%d@example.com"}`, i, emailPrefix, i)
				id, lat, throttled := post(ctx, client, o.URL+"/submit", body, o.Retries)
				mu.Lock()
				res.throttled += throttled
				if id != "" {
					res.ids = append(res.ids, id)
					res.latencies = append(res.latencies, lat)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range o.N {
		select {
		case next <- i:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	return res
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
func storedRows(ctx context.Context, db *sql.DB, emailPrefix string) (rows, duplicates int, err error) {
	var distinct int
	err = db.QueryRowContext(ctx, "SELECT COUNT(*), COUNT(DISTINCT email) FROM users WHERE email LIKE ?", emailPrefix+"%").Scan(&rows, &distinct)
	if err != nil {
		return 0, 0, fmt.Errorf("spike: count stored rows: %w", err)
	}
	return rows, rows - distinct, nil
}

// settled counts the accepted ids stored or quarantined.
func settled(ctx context.Context, db *sql.DB, emailPrefix string, ids []string) (stored, quarantined int, err error) {
	notFound, quarantined, err := missing(ctx, db, emailPrefix, ids)
	if err != nil {
		return 0, 0, err
	}
	return len(ids) - notFound - quarantined, quarantined, nil
}

// missing counts the accepted ids with no users row and no quarantine row,
// and the ids in quarantine.
func missing(ctx context.Context, db *sql.DB, emailPrefix string, ids []string) (notFound, quarantined int, err error) {
	have := map[string]bool{}
	if err := collect(ctx, db, have, "SELECT submission_id FROM users WHERE email LIKE ?", emailPrefix+"%"); err != nil {
		return 0, 0, err
	}
	inQuarantine := map[string]bool{}
	if err := collect(ctx, db, inQuarantine, "SELECT submission_id FROM quarantine"); err != nil {
		return 0, 0, err
	}
	for _, id := range ids {
		switch {
		case have[id]:
		case inQuarantine[id]:
			quarantined++
		default:
			notFound++
		}
	}
	return notFound, quarantined, nil
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
	done        chan struct{}
	stopped     chan struct{}

	mu       sync.Mutex
	samples  []Sample
	maxConns int
}

func newSampler(o Options, start time.Time, emailPrefix string) *sampler {
	return &sampler{o: o, start: start, emailPrefix: emailPrefix, done: make(chan struct{}), stopped: make(chan struct{})}
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
	if err := s.o.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM users WHERE email LIKE ?", s.emailPrefix+"%").Scan(&stored); err != nil {
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
