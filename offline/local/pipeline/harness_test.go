package pipeline

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/local/edge"
	"github.com/sluicehq/sluice/offline/local/poller"
	"github.com/sluicehq/sluice/offline/testdb"
)

// devSettings loads the dev stack's settings, as `go run ./local --stack dev`
// does, for a test to adjust.
func devSettings(t *testing.T) settings.Settings {
	t.Helper()
	s, err := settings.LoadFile("../../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startPipeline runs a pipeline on its own SQS engine (GoAWS, the default,
// unless an option names another) and its own database (on db, or on a
// fresh testdb database when db is the zero value), as a throw-away
// application user.
func startPipeline(t *testing.T, s settings.Settings, db dbconn.Config, wrap func(poller.Handler) poller.Handler, opts ...func(*Config)) *Pipeline {
	t.Helper()
	if db.Endpoint == "" {
		db = testdb.New(t)
	}
	user := "e2e_" + randomHex(t, 6)
	t.Cleanup(func() { dropUser(t, db, user) })
	cfg := Config{
		Settings:    s,
		DB:          db,
		AppUser:     user,
		Addr:        "127.0.0.1:0",
		WrapSandbox: wrap,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

func dropUser(t *testing.T, db dbconn.Config, user string) {
	conn, err := dbconn.Open(context.Background(), db, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Errorf("drop user %s: %v", user, err)
		return
	}
	defer conn.Close()
	if _, err := conn.Exec("DROP USER IF EXISTS `" + user + "`@'%'"); err != nil {
		t.Logf("drop user %s: %v", user, err)
	}
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// record is a valid body numbered i.
func record(tag string, i int) string {
	return fmt.Sprintf(`{"name":"利用者 %s %d","email":"%s-%d@example.com"}`, tag, i, tag, i)
}

// postAll sends every body to the edge with `workers` clients at once and
// returns the MessageId of each (all must be accepted).
func postAll(t *testing.T, url string, bodies []string, workers int) []string {
	t.Helper()
	ids := make([]string, len(bodies))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 60 * time.Second}
	next := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				resp, err := client.Post(url+"/submit", "application/json", bytes.NewBufferString(bodies[i]))
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var r edge.SendMessageResponse
				if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &r) != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%d %s", resp.StatusCode, raw))
					mu.Unlock()
					continue
				}
				ids[i] = r.SendMessageResponse.SendMessageResult.MessageID
			}
		}()
	}
	for i := range bodies {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d POSTs not accepted, first: %s", len(failures), len(bodies), failures[0])
	}
	return ids
}

// waitFor polls cond every 250 ms until it holds or limit passes.
func waitFor(t *testing.T, p *Pipeline, limit time.Duration, what string, cond func(Counts) bool) Counts {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last Counts
	for {
		c, err := p.Counts(context.Background())
		if err == nil {
			last = c
			if cond(c) {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s; last counts %+v (err %v), poller %+v", what, limit, last, err, p.Poller().Stats())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// storedOnce checks that every id has exactly one users row and that users
// has no other rows.
func storedOnce(t *testing.T, db *sql.DB, ids []string) {
	t.Helper()
	var rows, distinct int
	if err := db.QueryRow("SELECT COUNT(*), COUNT(DISTINCT submission_id) FROM users").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(ids) || distinct != len(ids) {
		t.Errorf("users has %d rows (%d distinct submission ids), want exactly %d", rows, distinct, len(ids))
	}
	var dupEmails int
	if err := db.QueryRow("SELECT COUNT(*) - COUNT(DISTINCT email) FROM users").Scan(&dupEmails); err != nil {
		t.Fatal(err)
	}
	if dupEmails != 0 {
		t.Errorf("%d duplicate emails: a record was stored twice under two ids", dupEmails)
	}
	missing := missingIDs(t, db, "users", ids)
	if len(missing) > 0 {
		t.Errorf("%d accepted records not stored, e.g. %s", len(missing), missing[0])
	}
}

// missingIDs lists the ids that have no row in table.
func missingIDs(t *testing.T, db *sql.DB, table string, ids []string) []string {
	t.Helper()
	rows, err := db.Query("SELECT submission_id FROM " + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, id := range ids {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	return missing
}

// maxSampler samples the application user's server sessions every 50 ms
// until stopped, and keeps the largest count.
type maxSampler struct {
	stop chan struct{}
	done chan struct{}
	max  int
	n    int
}

func sampleConnections(t *testing.T, p *Pipeline, user string) *maxSampler {
	m := &maxSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			if n, err := AppConnections(context.Background(), p.Admin(), user); err == nil {
				m.max = max(m.max, n)
				m.n++
			}
			select {
			case <-m.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return m
}

func (m *maxSampler) Stop() (maxSeen, samples int) {
	close(m.stop)
	<-m.done
	return m.max, m.n
}
