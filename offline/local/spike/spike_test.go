package spike

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"image/png"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/local/pipeline"
	"github.com/sluicehq/sluice/offline/local/sqsenv"
	"github.com/sluicehq/sluice/offline/testdb"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		in   []time.Duration
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7},
		{ms(4, 1, 3, 2), 0.5, 2},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5},
	}
	for _, tc := range tests {
		if got := percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{1: 1, 1.5: 1.5, 1.6: 2, 3: 3, 3.1: 4, 7: 8, 9: 10, 10000: 10000, 10001: 15000, 29.6: 30, 87.5: 100} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}

func startPipeline(t *testing.T) (*pipeline.Pipeline, settings.Settings) {
	t.Helper()
	s, err := settings.LoadFile("../../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Two sandboxes storing records under the same idempotency key at
	// once (a retry and its first attempt in two batches) can deadlock in
	// MySQL (error 1213); the consumer then hands the batch back and SQS
	// redelivers it after the visibility timeout, which on the dev stack
	// is 186 s (6 × (function timeout + window)): a test that met one
	// waited three minutes for it. 10 s still far outlasts a batch here.
	s.Queue.VisibilityTimeout = 10 * time.Second
	db := testdb.New(t)
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	user := "spk_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		if conn, err := dbconn.Open(context.Background(), db, dbconn.PoolOptions{}); err == nil {
			_, _ = conn.Exec("DROP USER IF EXISTS `" + user + "`@'%'")
			conn.Close()
		}
	})
	p, err := pipeline.Start(context.Background(), pipeline.Config{
		Settings: s, DB: db, AppUser: user,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p, s
}

func TestRetriedSpreadsTheShare(t *testing.T) {
	for _, tc := range []struct {
		n    int
		f    float64
		want int
	}{{1000, 0, 0}, {1000, 0.1, 100}, {1000, 0.25, 250}, {7, 0.5, 4}, {300, 1, 300}, {3, 0.2, 1}} {
		got, run, longest := 0, 0, 0
		for i := range tc.n {
			if retried(i, tc.f) {
				got++
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		if got != tc.want {
			t.Errorf("n=%d f=%v: %d retried, want %d", tc.n, tc.f, got, tc.want)
		}
		if tc.f <= 0.5 && longest > 1 {
			t.Errorf("n=%d f=%v: %d retried records in a row, want them spread", tc.n, tc.f, longest)
		}
	}
}

// TestSpikeWithRetries sends half the records twice with the same key, half
// of those first by a client that does not read the answer: still one row
// per record.
func TestSpikeWithRetries(t *testing.T) {
	p, _ := startPipeline(t)
	r, err := Run(context.Background(), Options{URL: p.URL(), N: 300, Concurrency: 20, Retries: 8, RetryFraction: 0.5, Counts: p.Counts, DB: p.Admin()})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Drained || !r.Keys || r.Retries != 150 || r.Abandoned != 75 || r.Accepted != 300 || r.Stored != 300 || r.Duplicates != 0 || r.Lost != 0 || r.Quarantined != 0 {
		t.Errorf("result %+v, want 150 retries (75 abandoned), 300 accepted and stored, no duplicates, none lost", r)
	}
	var rows, keyed, distinctKeys int
	if err := p.Admin().QueryRow(`SELECT COUNT(*), SUM(submission_id = CONCAT('key:', SUBSTRING_INDEX(email, '@', 1))), COUNT(DISTINCT submission_id)
		FROM users WHERE email LIKE ?`, "spike-"+r.RunID+"-%").Scan(&rows, &keyed, &distinctKeys); err != nil {
		t.Fatal(err)
	}
	if rows != 300 || keyed != 300 || distinctKeys != 300 {
		t.Errorf("table: %d rows, %d under their key, %d distinct keys; want 300 each", rows, keyed, distinctKeys)
	}
	st := p.Poller().Stats()
	if st.Deleted < 300+75 {
		t.Errorf("poller deleted %d messages: the retries did not reach the queue (%+v)", st.Deleted, st)
	}
	// The status line's numbers add up: every message the edge accepted
	// is counted once, a resend that wrote nothing as deduplicated.
	c, err := p.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Deduplicated == 0 || c.Accepted != c.Stored+c.Quarantined+c.Deduplicated+int64(c.Queued+c.InFlight+c.DLQ) {
		t.Errorf("counts %+v: accepted is not stored + quarantined + deduplicated + queued + in flight + dlq, or no resend was deduplicated", c)
	}
}

// TestSpikeWithArrays posts 10 records per request, some of them twice
// under their keys: the summary counts records, and every record is one row.
func TestSpikeWithArrays(t *testing.T) {
	p, _ := startPipeline(t)
	r, err := Run(context.Background(), Options{URL: p.URL(), N: 305, PerRequest: 10, Concurrency: 8, Retries: 8, RetryFraction: 0.2, Counts: p.Counts, DB: p.Admin()})
	if err != nil {
		t.Fatal(err)
	}
	// 31 requests (the last of 5 records); 6 of them, spread evenly, sent twice.
	if !r.Drained || r.Sent != 305 || r.Accepted != 305 || r.Stored != 305 || r.Duplicates != 0 || r.Lost != 0 || r.Quarantined != 0 || r.Retries < 50 {
		t.Errorf("result %+v, want 305 records sent, accepted and stored, about 60 resent, none lost or duplicated", r)
	}
	c, err := p.Counts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c.Accepted < 31 || c.Accepted > 31+6 || c.Stored != 305 {
		t.Errorf("counts %+v: want 31 requests and up to 6 resends accepted, 305 records stored", c)
	}
}

// TestRequestsCarryEveryRecordOnce: with N records per POST the bodies are
// JSON arrays that together carry each record of the run exactly once.
func TestRequestsCarryEveryRecordOnce(t *testing.T) {
	for _, tc := range []struct{ n, per, requests int }{{7, 3, 3}, {6, 3, 2}, {5, 1, 5}, {1, 10, 1}} {
		o := Options{N: tc.n, PerRequest: tc.per, Keys: true}
		if got := requests(o); got != tc.requests {
			t.Errorf("n=%d per=%d: %d requests, want %d", tc.n, tc.per, got, tc.requests)
		}
		seen := map[string]int{}
		for j := range requests(o) {
			emails, body := request(o, "p-", j)
			var recs []map[string]string
			if tc.per == 1 {
				var one map[string]string
				if err := json.Unmarshal([]byte(body), &one); err != nil {
					t.Fatalf("one record per request: body %s is not one JSON object: %v", body, err)
				}
				recs = append(recs, one)
			} else if err := json.Unmarshal([]byte(body), &recs); err != nil {
				t.Fatalf("body %s is not a JSON array of records: %v", body, err)
			}
			if len(recs) != len(emails) || len(recs) > tc.per {
				t.Errorf("request %d: %d records, %d emails, at most %d per request", j, len(recs), len(emails), tc.per)
			}
			for i, r := range recs {
				if r["email"] != emails[i] || r["idempotency_key"] == "" {
					t.Errorf("request %d record %d: %v, want email %s and a key", j, i, r, emails[i])
				}
				seen[r["email"]]++
			}
		}
		if len(seen) != tc.n {
			t.Errorf("n=%d per=%d: %d distinct records sent, want %d", tc.n, tc.per, len(seen), tc.n)
		}
		for e, k := range seen {
			if k != 1 {
				t.Errorf("%s sent %d times", e, k)
			}
		}
	}
}

func TestCheckRefusesWhatCannotRun(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{N: 0, Concurrency: 1}, "-n 0"},
		{Options{N: 1, Concurrency: -5}, "-c -5"},
		{Options{N: 1, Concurrency: 1, RetryFraction: 2}, "-retry-fraction 2"},
		{Options{N: 1, Concurrency: 1, Retries: -1}, "-retries -1"},
		{Options{N: 1, Concurrency: 1, PerRequest: -1}, "-per-request -1"},
	} {
		err := tc.o.Check()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want+":") {
			t.Errorf("Check(%+v) = %v, want an error starting %q", tc.o, err, tc.want)
		}
	}
	if err := (Options{N: 1, Concurrency: 1, RetryFraction: 1}).Check(); err != nil {
		t.Errorf("a valid spike: %v", err)
	}
}

// TestSpikeAgainstAPipeline runs a small spike end to end and checks the
// report against the database.
func TestSpikeAgainstAPipeline(t *testing.T) {
	p, s := startPipeline(t)

	raw, drop, err := p.ScratchQueue(context.Background(), "spike-test-raw")
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	r, err := Run(context.Background(), Options{URL: p.URL(), N: 300, Concurrency: 20, Retries: 8, Counts: p.Counts, DB: p.Admin(), Raw: p.SQS(), RawQueueURL: raw})
	if err != nil {
		t.Fatal(err)
	}
	if r.AcceptPerSec <= 0 || r.RawSendPerSec <= 0 || r.PeakRSSMB <= 0 {
		t.Errorf("accept %v/s, raw %v/s, peak RSS %v MiB: want each measured", r.AcceptPerSec, r.RawSendPerSec, r.PeakRSSMB)
	}
	if d, err := sqsenv.GetDepth(context.Background(), p.SQS(), raw); err != nil || d.Visible != 300 {
		t.Errorf("the raw queue holds %+v (%v), want the 300 raw sends", d, err)
	}
	if !r.Drained || r.Sent != 300 || r.Accepted != 300 || r.Stored != 300 || r.Duplicates != 0 || r.Lost != 0 {
		t.Errorf("result %+v, want 300 sent, accepted and stored, drained, no duplicates, none lost", r)
	}
	var rows int
	if err := p.Admin().QueryRow("SELECT COUNT(*) FROM users WHERE email LIKE ?", "spike-"+r.RunID+"-%").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != r.Stored {
		t.Errorf("report says %d stored, the table has %d", r.Stored, rows)
	}
	if r.MaxDBConnections < 1 || r.MaxDBConnections > s.Consumer.MaxConcurrency {
		t.Errorf("max DB connections %d, want 1..%d", r.MaxDBConnections, s.Consumer.MaxConcurrency)
	}
	if r.LatencyP50Ms <= 0 || r.LatencyP99Ms < r.LatencyP50Ms {
		t.Errorf("latencies p50 %v p99 %v", r.LatencyP50Ms, r.LatencyP99Ms)
	}
	if len(r.Samples) < 2 || r.Samples[len(r.Samples)-1].Stored != 300 {
		t.Errorf("samples do not end at 300 stored: %d samples, last %+v", len(r.Samples), r.Samples[len(r.Samples)-1:])
	}

	var buf bytes.Buffer
	if err := Plot(&buf, r); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 800 || b.Dy() != 420 {
		t.Errorf("plot is %v, want 800×420", b)
	}
	found := map[[3]uint32]bool{}
	for y := 0; y < 420; y++ {
		for x := 0; x < 800; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			found[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
		}
	}
	for name, c := range map[string][3]uint32{"depth": {0x1f, 0x77, 0xb4}, "stored": {0x2c, 0xa0, 0x2c}, "sending stopped": {0xd6, 0x27, 0x28}} {
		if !found[c] {
			t.Errorf("no %s line in the plot", name)
		}
	}
}
