package consumer_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/record"
)

func keyed(name, email, key string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "email": email, "idempotency_key": key})
	return string(b)
}

// withID is m under another message id, with its SentTimestamp unchanged.
func withID(m events.SQSMessage, id string) events.SQSMessage {
	m.MessageId = id
	return m
}

// msgN is message "m-n", sent n seconds after sentAt: each client request
// becomes a message with a SentTimestamp of its own, which every
// redelivery of it repeats.
func msgN(n int, body string) events.SQSMessage {
	m := msg(fmt.Sprintf("m-%d", n), body)
	m.Attributes["SentTimestamp"] = strconv.FormatInt(sentAt.Add(time.Duration(n)*time.Second).UnixMilli(), 10)
	return m
}

// TestHandleStoresOneRowPerKey covers the idempotency-key contract in the
// consumer, batch after batch on one table.
func TestHandleStoresOneRowPerKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	ctx := lambdaCtx(t)
	steps := []struct {
		name  string
		msgs  []events.SQSMessage
		stats consumer.Stats
		retry []string
	}{
		{
			name: "first submissions, one without a key",
			msgs: []events.SQSMessage{
				msgN(1, keyed("Alice", "alice@example.com", "k-alice")),
				msgN(2, keyed("山田", "yamada@example.jp", "k-yamada")),
				msgN(3, body("Nokey", "nokey@example.com")),
			},
			stats: consumer.Stats{Received: 3, Stored: 3},
		},
		{
			name: "client retries: new messages, same keys and values; the keyless one is new",
			msgs: []events.SQSMessage{
				msgN(4, keyed("Alice", "alice@example.com", "k-alice")),
				msgN(5, keyed("山田", "yamada@example.jp", "k-yamada")),
				msgN(6, body("Nokey", "nokey@example.com")),
			},
			stats: consumer.Stats{Received: 3, Stored: 1, Duplicate: 2, DuplicateResubmission: 2},
		},
		{
			name: "a redelivery of a retry, and of the original",
			msgs: []events.SQSMessage{
				msgN(4, keyed("Alice", "alice@example.com", "k-alice")),
				msgN(1, keyed("Alice", "alice@example.com", "k-alice")),
			},
			stats: consumer.Stats{Received: 2, Duplicate: 2, DuplicateRedelivery: 1, DuplicateResubmission: 1},
		},
		{
			// The stored row records when its message was sent, not which
			// message it was (one more column would cost every INSERT).
			name:  "a resend sent in the same millisecond as the stored message counts as a redelivery: still one row",
			msgs:  []events.SQSMessage{withID(msgN(1, keyed("Alice", "alice@example.com", "k-alice")), "m-1-same-ms")},
			stats: consumer.Stats{Received: 1, Duplicate: 1, DuplicateRedelivery: 1},
		},
		{
			name: "the same key with another name or email is a conflict; white space the rules trim is not",
			msgs: []events.SQSMessage{
				msgN(7, keyed("Alice B", "alice@example.com", "k-alice")),
				msgN(8, keyed("山田", "other@example.jp", "k-yamada")),
				msgN(9, keyed(" Alice ", "alice@example.com", "k-alice")),
			},
			stats: consumer.Stats{Received: 3, Quarantined: 2, KeyConflicts: 2, Duplicate: 1, DuplicateResubmission: 1},
		},
		{
			name: "a redelivered conflict is quarantined once",
			msgs: []events.SQSMessage{
				msgN(7, keyed("Alice B", "alice@example.com", "k-alice")),
			},
			stats: consumer.Stats{Received: 1, Duplicate: 1, DuplicateRedelivery: 1},
		},
		{
			name: "one key twice in a batch: the first message wins, the second conflicts or repeats",
			msgs: []events.SQSMessage{
				msgN(10, keyed("Bob", "bob@example.com", "k-bob")),
				msgN(11, keyed("Bob", "bob@example.com", "k-bob")),
				msgN(12, keyed("Robert", "bob@example.com", "k-bob")),
			},
			stats: consumer.Stats{Received: 3, Stored: 1, Duplicate: 1, DuplicateResubmission: 1, Quarantined: 1, KeyConflicts: 1},
		},
		{
			name: "keys in a transaction with an invalid record: classified the same way",
			msgs: []events.SQSMessage{
				msgN(13, keyed("Carol", "carol@example.com", "k-carol")),
				msgN(14, keyed("Carol", "carol@example.com", "k-carol")),
				msgN(15, keyed("Bob", "bobby@example.com", "k-bob")),
				msgN(16, `{"name":"x","email":"x@example.com","idempotency_key":"`+strings.Repeat("k", record.MaxIdempotencyKeyBytes+1)+`"}`),
				msgN(17, `{"name":"x","email":"x@example.com","idempotency_key":"with space"}`),
			},
			stats: consumer.Stats{Received: 5, Stored: 1, Duplicate: 1, DuplicateResubmission: 1, Quarantined: 3, KeyConflicts: 1},
		},
		{
			name: "a key that a message id spells is not that message's row",
			msgs: []events.SQSMessage{
				msgN(18, keyed("Dave", "dave@example.com", "m-3")),
			},
			stats: consumer.Stats{Received: 1, Stored: 1},
		},
		{
			name:  "a message id that looks like a dedupe key is left to the DLQ",
			msgs:  []events.SQSMessage{msg(consumer.KeyPrefix+"k-alice", body("Eve", "eve@example.com"))},
			stats: consumer.Stats{Received: 1, Retried: 1},
			retry: []string{consumer.KeyPrefix + "k-alice"},
		},
	}
	for _, st := range steps {
		failed := handle(t, ctx, e, st.msgs...)
		if strings.Join(failed, ",") != strings.Join(st.retry, ",") {
			t.Errorf("%s: BatchItemFailures %v, want %v", st.name, failed, st.retry)
		}
		got := e.lastMetrics(t)
		got.KeyConflicts = st.stats.KeyConflicts // not a metric; checked in the quarantine below
		if got != st.stats {
			t.Errorf("%s: metrics\n got %+v\nwant %+v", st.name, got, st.stats)
		}
	}

	users := e.users(t)
	byKey := map[string]userRow{}
	for _, u := range users {
		byKey[u.SubmissionID] = u
	}
	want := map[string][2]string{ // dedupe key → name, email
		consumer.KeyPrefix + "k-alice":  {"Alice", "alice@example.com"},
		consumer.KeyPrefix + "k-yamada": {"山田", "yamada@example.jp"},
		consumer.KeyPrefix + "k-bob":    {"Bob", "bob@example.com"},
		consumer.KeyPrefix + "k-carol":  {"Carol", "carol@example.com"},
		consumer.KeyPrefix + "m-3":      {"Dave", "dave@example.com"},
		"m-3":                           {"Nokey", "nokey@example.com"},
		"m-6":                           {"Nokey", "nokey@example.com"},
	}
	if len(users) != len(want) {
		t.Errorf("%d users rows, want %d: %+v", len(users), len(want), users)
	}
	for k, w := range want {
		if u, ok := byKey[k]; !ok || u.Name != w[0] || u.Email != w[1] {
			t.Errorf("row %s = %+v, want %v (the first submission, never overwritten)", k, u, w)
		}
	}
	for k, n := range map[string]int{
		consumer.KeyPrefix + "k-alice": 1, consumer.KeyPrefix + "k-bob": 10, "m-3": 3, consumer.KeyPrefix + "m-3": 18,
	} {
		if at := byKey[k].SubmittedAt; !at.Valid || !at.Time.Equal(sentAt.Add(time.Duration(n)*time.Second)) {
			t.Errorf("row %s has submitted_at %v, want the SentTimestamp of m-%d, the message that stored it", k, at, n)
		}
	}

	q := e.quarantine(t)
	wantQ := map[string]string{
		"m-7": consumer.ReasonKeyConflict, "m-8": consumer.ReasonKeyConflict, "m-12": consumer.ReasonKeyConflict,
		"m-15": consumer.ReasonKeyConflict, "m-16": string(record.ReasonKeyTooLong), "m-17": string(record.ReasonKeyInvalid),
	}
	if len(q) != len(wantQ) {
		t.Errorf("quarantine has %d rows, want %d: %+v", len(q), len(wantQ), q)
	}
	for id, reason := range wantQ {
		if q[id].Reason != reason {
			t.Errorf("quarantine %s reason %q, want %q", id, q[id].Reason, reason)
		}
	}
	if d := q["m-7"].Detail.String; !strings.Contains(d, `"k-alice"`) || !strings.Contains(d, "submitted 2026-11-27T04:30:16.123Z") {
		t.Errorf("conflict detail %q should name the key and when the stored row was submitted", d)
	}
	if string(q["m-12"].Body) != keyed("Robert", "bob@example.com", "k-bob") {
		t.Errorf("conflict body %q, want the conflicting message's body", q["m-12"].Body)
	}
}

// TestHandleKeyConflictNotQuarantinable: when the quarantine cannot be
// written after the one-statement INSERT of a batch committed, the stored
// rows stay stored and only the conflicting record goes back to SQS; its
// redelivery, once the quarantine works, is quarantined.
func TestHandleKeyConflictNotQuarantinable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	ctx := lambdaCtx(t)
	if failed := handle(t, ctx, e, msg("c-1", keyed("Alice", "alice@example.com", "k"))); failed != nil {
		t.Fatal(failed)
	}
	if _, err := e.admin.Exec("REVOKE INSERT ON quarantine FROM `" + e.app.User + "`@'%'"); err != nil {
		t.Fatal(err)
	}
	batch := []events.SQSMessage{msg("c-2", keyed("Mallory", "alice@example.com", "k")), msg("c-3", body("Bob", "bob@example.com"))}
	failed := handle(t, ctx, e, batch...)
	if strings.Join(failed, ",") != "c-2" {
		t.Fatalf("BatchItemFailures %v, want only the conflict c-2", failed)
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 2, Stored: 1, Retried: 1}) {
		t.Errorf("metrics %+v", s)
	}
	if _, err := e.admin.Exec("GRANT INSERT ON quarantine TO `" + e.app.User + "`@'%'"); err != nil {
		t.Fatal(err)
	}
	if failed := handle(t, ctx, e, batch...); failed != nil {
		t.Fatalf("redelivery: BatchItemFailures %v", failed)
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 2, Quarantined: 1, Duplicate: 1, DuplicateRedelivery: 1}) {
		t.Errorf("redelivery metrics %+v", s)
	}
	if q := e.quarantine(t); len(q) != 1 || q["c-2"].Reason != consumer.ReasonKeyConflict {
		t.Errorf("quarantine %+v", q)
	}
	if u := e.users(t); len(u) != 2 || u[0].Name != "Alice" || u[1].SubmissionID != "c-3" {
		t.Errorf("users %+v", u)
	}
}
