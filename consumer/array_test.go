package consumer_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/record"
)

// array is a body that is a JSON array of the given record bodies.
func array(records ...string) string { return "[" + strings.Join(records, ", ") + "]" }

// TestHandleStoresArraysElementByElement: a body that is a JSON array of
// records is stored or quarantined record by record, each with its own
// identity, so that a redelivered array and a resent array of keyed records
// store nothing twice, and one bad record costs the others nothing.
func TestHandleStoresArraysElementByElement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	ctx := lambdaCtx(t)

	// As a new user would try it: two valid records in one array.
	two := msg("a-1", array(body("Alice", "alice@example.com"), body("Bob", "bob@example.com")))
	// One bad record among good ones, one not an object, and a keyed one.
	mixed := msg("a-2", array(
		body("Carol", "carol@example.com"),
		body("Dave", "not an address"),
		`"just a string"`,
		keyed("Erin", "erin@example.com", "erin-1"),
	))
	single := msg("s-1", body("Frank", "frank@example.com"))
	if failed := handle(t, ctx, e, two, mixed, single); failed != nil {
		t.Fatalf("BatchItemFailures %v, want none", failed)
	}
	wantUsers := map[string][2]string{
		"a-1#0": {"Alice", "alice@example.com"}, "a-1#1": {"Bob", "bob@example.com"},
		"a-2#0": {"Carol", "carol@example.com"}, consumer.KeyPrefix + "erin-1": {"Erin", "erin@example.com"},
		"s-1": {"Frank", "frank@example.com"}, // a single object keeps the bare message id
	}
	checkUsers := func(stage string) {
		t.Helper()
		got := e.users(t)
		if len(got) != len(wantUsers) {
			t.Fatalf("%s: %d users rows, want %d: %+v", stage, len(got), len(wantUsers), got)
		}
		for _, u := range got {
			if w, ok := wantUsers[u.SubmissionID]; !ok || u.Name != w[0] || u.Email != w[1] || !u.SubmittedAt.Time.Equal(sentAt) {
				t.Errorf("%s: unexpected row %+v", stage, u)
			}
		}
	}
	checkUsers("first delivery")
	q := e.quarantine(t)
	if len(q) != 2 || q["a-2#1"].Reason != "email_invalid" || q["a-2#2"].Reason != string(record.ReasonNotObject) {
		t.Fatalf("quarantine %+v, want a-2#1 email_invalid and a-2#2 not_object", q)
	}
	// The quarantine keeps the bad record's own bytes, as in the body.
	if got := string(q["a-2#1"].Body); got != body("Dave", "not an address") {
		t.Errorf("quarantined body %q", got)
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 7, Stored: 5, Quarantined: 2}) {
		t.Errorf("metrics %+v, want 7 records received (not 3 messages), 5 stored, 2 quarantined", s)
	}

	// SQS redelivers both arrays: nothing is written twice.
	if failed := handle(t, ctx, e, two, mixed); failed != nil {
		t.Fatalf("redelivery: BatchItemFailures %v", failed)
	}
	checkUsers("redelivery")
	if len(e.quarantine(t)) != 2 {
		t.Errorf("redelivery quarantined again: %+v", e.quarantine(t))
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 6, Duplicate: 6, DuplicateRedelivery: 6}) {
		t.Errorf("redelivery metrics %+v", s)
	}

	// The client resends an array of keyed records as a new message: the
	// keyed records are resubmissions, and a new one is stored.
	resend := msgN(9, array(keyed("Erin", "erin@example.com", "erin-1"), keyed("Gina", "gina@example.com", "gina-1")))
	resendAgain := msgN(10, array(keyed("Erin", "erin@example.com", "erin-1"), keyed("Gina", "gina@example.com", "gina-1")))
	if failed := handle(t, ctx, e, resend); failed != nil {
		t.Fatalf("resend: BatchItemFailures %v", failed)
	}
	if failed := handle(t, ctx, e, resendAgain); failed != nil {
		t.Fatalf("resend: BatchItemFailures %v", failed)
	}
	wantUsers[consumer.KeyPrefix+"gina-1"] = [2]string{"Gina", "gina@example.com"}
	got := e.users(t)
	if len(got) != len(wantUsers) {
		t.Fatalf("after resends: %d users rows, want %d: %+v", len(got), len(wantUsers), got)
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 2, Duplicate: 2, DuplicateResubmission: 2}) {
		t.Errorf("second resend metrics %+v, want two resubmissions", s)
	}
}

// TestHandleQuarantinesUnusableArrays: an array body that cannot be split
// into records is one quarantine row under its message id, with the raw
// body, as a malformed single body is.
func TestHandleQuarantinesUnusableArrays(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	tooMany := make([]string, record.MaxRecords+1)
	for i := range tooMany {
		tooMany[i] = body(fmt.Sprintf("n%d", i), fmt.Sprintf("n%d@example.com", i))
	}
	msgs := []events.SQSMessage{
		msg("u-1", `[]`),
		msg("u-2", array(tooMany...)),
		msg("u-3", `[{"name":"a","email":"a@example.com"},`),
		msg("u-4", `[{"name":"a","email":"a@example.com"}] x`),
		msg("u-5", "[\"\xff\"]"),
	}
	if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
		t.Fatalf("BatchItemFailures %v, want none", failed)
	}
	want := map[string]record.Reason{"u-1": record.ReasonEmptyArray, "u-2": record.ReasonTooManyRecords,
		"u-3": record.ReasonInvalidJSON, "u-4": record.ReasonTrailingData, "u-5": record.ReasonInvalidUTF8}
	q := e.quarantine(t)
	for _, m := range msgs {
		if q[m.MessageId].Reason != string(want[m.MessageId]) || string(q[m.MessageId].Body) != m.Body {
			t.Errorf("%s: quarantined %s, want %s with the raw body", m.MessageId, q[m.MessageId].Reason, want[m.MessageId])
		}
	}
	if len(e.users(t)) != 0 {
		t.Errorf("users rows from unusable arrays: %+v", e.users(t))
	}
	// Exactly MaxRecords is accepted.
	if failed := handle(t, lambdaCtx(t), e, msg("u-6", array(tooMany[:record.MaxRecords]...))); failed != nil {
		t.Fatalf("BatchItemFailures %v", failed)
	}
	if n := len(e.users(t)); n != record.MaxRecords {
		t.Errorf("%d rows from an array of %d, want all", n, record.MaxRecords)
	}
}

// TestHandleLeavesSeparatorMessageIDsToTheDLQ: a message id holding the
// element separator could spell another message's element identity, so,
// like one that spells a dedupe key, it is never stored: SQS retries it
// until it reaches the DLQ. SQS's own ids are UUIDs and never do.
func TestHandleLeavesSeparatorMessageIDsToTheDLQ(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	failed := handle(t, lambdaCtx(t), e, msg("x"+consumer.ElementSeparator+"0", body("A", "a@example.com")), msg("x", array(body("B", "b@example.com"))))
	if len(failed) != 1 || failed[0] != "x#0" {
		t.Fatalf("BatchItemFailures %v, want only x#0", failed)
	}
	if u := e.users(t); len(u) != 1 || u[0].SubmissionID != "x#0" || u[0].Name != "B" {
		t.Errorf("users %+v, want the array's element x#0 (B) only", u)
	}
}
