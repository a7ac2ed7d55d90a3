package pipeline

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/consumer"
	recordrules "github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/local/edge"
)

// post sends one body, with an Idempotency-Key header when header is set,
// and returns the MessageId of the 200 answer.
func post(t *testing.T, url, body, header string) string {
	t.Helper()
	id, err := tryPost(url, body, header)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func tryPost(url, body, header string) (string, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/submit", bytes.NewBufferString(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if header != "" {
		req.Header.Set("Idempotency-Key", header)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r edge.SendMessageResponse
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &r) != nil {
		return "", fmt.Errorf("POST %s: %d %s", body, resp.StatusCode, raw)
	}
	return r.SendMessageResponse.SendMessageResult.MessageID, nil
}

func keyedBody(name, email, key string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "email": email, "idempotency_key": key})
	return string(b)
}

type storedUser struct {
	submissionID, name, email string
	submittedAt               sql.NullTime
}

func usersByEmail(t *testing.T, p *Pipeline) map[string][]storedUser {
	t.Helper()
	rows, err := p.Admin().Query("SELECT submission_id, submitted_at, name, email FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]storedUser{}
	for rows.Next() {
		var u storedUser
		if err := rows.Scan(&u.submissionID, &u.submittedAt, &u.name, &u.email); err != nil {
			t.Fatal(err)
		}
		out[u.email] = append(out[u.email], u)
	}
	return out
}

// TestIdempotencyKeysEndToEnd posts through the edge, moto and the consumer
// into MariaDB: a client retry with the same key (after the first answer,
// and five clients at once) stores one row; the same key with another body
// is quarantined and leaves the first row as it was; requests without a key
// behave as before (a repeated body is a second row); a key that is too
// long is accepted by the edge (an HTTP API cannot read the body) and
// quarantined; an Idempotency-Key header is not read.
func TestIdempotencyKeysEndToEnd(t *testing.T) {
	s := devSettings(t)
	s.API.ThrottleRate, s.API.ThrottleBurst = 1e6, 1000
	p := startPipeline(t, s, dbconn.Config{}, nil)
	url := p.URL()

	bodyA := keyedBody("山田 花子", "hanako@example.jp", "order-7f3a")
	tooLong := keyedBody("Long Key", "long@example.com", strings.Repeat("k", recordrules.MaxIdempotencyKeyBytes+1))
	noKey := `{"name":"No Key","email":"nokey@example.com"}`
	headerOnly := `{"name":"Header Only","email":"header@example.com"}`

	first := map[string]string{
		"keyed":   post(t, url, bodyA, ""),
		"tooLong": post(t, url, tooLong, ""),
		"noKey":   post(t, url, noKey, ""),
		"header":  post(t, url, headerOnly, "hdr-1"),
	}
	waitFor(t, p, 2*time.Minute, "first submissions settled", func(c Counts) bool {
		return c.Stored+c.Quarantined >= 4 && c.Queued == 0 && c.InFlight == 0
	})

	// The retries come after the first ones are stored, as a client's
	// retry after a timeout does; five concurrent clients race on another key.
	// SentTimestamp has millisecond precision.
	time.Sleep(2 * time.Millisecond)
	retriesFrom := time.Now()
	retry := post(t, url, bodyA, "")
	conflict := post(t, url, keyedBody("山田 花子", "other@example.jp", "order-7f3a"), "")
	noKeyAgain := post(t, url, noKey, "")
	headerAgain := post(t, url, headerOnly, "hdr-1")
	race := keyedBody("Race", "race@example.com", "race-1")
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := tryPost(url, race, ""); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if retry == first["keyed"] {
		t.Fatalf("the retry got the first message's id %s: it was not a second message", retry)
	}

	c := waitFor(t, p, 2*time.Minute, "all settled", func(c Counts) bool {
		return c.Stored+c.Quarantined >= 8 && c.Queued == 0 && c.InFlight == 0 && p.Poller().Stats().InFlight == 0
	})
	if c.Stored != 6 || c.Quarantined != 2 || c.DLQ != 0 {
		t.Errorf("counts %+v: want 6 stored (the keyed record and the race once each, the keyless and header bodies twice), 2 quarantined, nothing in the DLQ", c)
	}

	users := usersByEmail(t, p)
	if u := users["hanako@example.jp"]; len(u) != 1 || u[0].submissionID != consumer.KeyPrefix+"order-7f3a" || u[0].name != "山田 花子" ||
		!u[0].submittedAt.Valid || !u[0].submittedAt.Time.Before(retriesFrom) {
		t.Errorf("keyed record: %+v, want one row under key:order-7f3a, submitted by the first message (before %v)", u, retriesFrom)
	}
	if u := users["other@example.jp"]; len(u) != 0 {
		t.Errorf("the conflicting body was stored: %+v", u)
	}
	if u := users["race@example.com"]; len(u) != 1 {
		t.Errorf("five concurrent retries stored %d rows, want 1: %+v", len(u), u)
	}
	for email, ids := range map[string][]string{"nokey@example.com": {first["noKey"], noKeyAgain}, "header@example.com": {first["header"], headerAgain}} {
		u := users[email]
		if len(u) != 2 || u[0].submissionID != ids[0] || u[1].submissionID != ids[1] {
			t.Errorf("%s: %+v, want two rows keyed by the message ids %v (no key, no dedupe: as before)", email, u, ids)
		}
	}

	reasons := map[string]string{}
	rows, err := p.Admin().Query("SELECT submission_id, reason FROM quarantine")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, reason string
		if err := rows.Scan(&id, &reason); err != nil {
			t.Fatal(err)
		}
		reasons[id] = reason
	}
	want := map[string]string{conflict: consumer.ReasonKeyConflict, first["tooLong"]: string(recordrules.ReasonKeyTooLong)}
	if len(reasons) != len(want) {
		t.Errorf("quarantine %v, want %v", reasons, want)
	}
	for id, r := range want {
		if reasons[id] != r {
			t.Errorf("quarantine reason of %s = %q, want %q", id, reasons[id], r)
		}
	}
	if st := p.Poller().Stats(); st.ItemFailures != 0 || st.InvocationErrors != 0 {
		t.Errorf("keys caused retries: %+v", st)
	}
}
