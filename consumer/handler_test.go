package consumer_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
)

// env is one migrated test database, an admin pool on it, and a handler
// that connects as a freshly created least-privileged application user.
type env struct {
	admin   *sql.DB
	app     dbconn.Config
	handler *consumer.Handler
	logs    *bytes.Buffer
	metrics *bytes.Buffer
}

func newEnv(t *testing.T, opts consumer.Options) *env {
	t.Helper()
	ctx := context.Background()
	cfg := testdb.New(t)
	if err := migrations.Up(ctx, cfg); err != nil {
		t.Fatalf("migrations.Up: %v", err)
	}
	admin, err := dbconn.Open(ctx, cfg, dbconn.PoolOptions{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })

	app := appUser(t, cfg)
	db, err := dbconn.Open(ctx, app, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	e := &env{admin: admin, app: app, logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
	opts.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Metrics = e.metrics
	e.handler = consumer.New(db, opts)
	return e
}

// appUser creates a uniquely named application user with exactly the
// privileges migrations.EnsureAppUser grants; testdb drops it at cleanup.
func appUser(t *testing.T, admin dbconn.Config) dbconn.Config {
	t.Helper()
	app := admin
	app.User, app.Password = testdb.NewUser(t), testdb.NewPassword(t)
	if err := migrations.EnsureAppUser(context.Background(), admin, app.User, app.Password); err != nil {
		t.Fatalf("EnsureAppUser: %v", err)
	}
	return app
}

// sentAt is the SentTimestamp every test message carries unless it says
// otherwise.
var sentAt = time.Date(2026, 11, 27, 4, 30, 15, 123e6, time.UTC)

func msg(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId:  id,
		Body:       body,
		Attributes: map[string]string{"SentTimestamp": strconv.FormatInt(sentAt.UnixMilli(), 10), "ApproximateReceiveCount": "1"},
	}
}

func body(name, email string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "email": email})
	return string(b)
}

func lambdaCtx(t *testing.T) context.Context {
	return lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-" + t.Name()})
}

type userRow struct {
	ID           int64
	SubmissionID string
	Name, Email  string
	SubmittedAt  sql.NullTime
}

func (e *env) users(t *testing.T) []userRow {
	t.Helper()
	rows, err := e.admin.Query("SELECT id, submission_id, name, email, submitted_at FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []userRow
	for rows.Next() {
		var r userRow
		if err := rows.Scan(&r.ID, &r.SubmissionID, &r.Name, &r.Email, &r.SubmittedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type quarantineRow struct {
	SubmissionID string
	Body         []byte
	Reason       string
	Detail       sql.NullString
	SubmittedAt  sql.NullTime
}

func (e *env) quarantine(t *testing.T) map[string]quarantineRow {
	t.Helper()
	rows, err := e.admin.Query("SELECT submission_id, body, reason, detail, submitted_at FROM quarantine")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]quarantineRow{}
	for rows.Next() {
		var r quarantineRow
		if err := rows.Scan(&r.SubmissionID, &r.Body, &r.Reason, &r.Detail, &r.SubmittedAt); err != nil {
			t.Fatal(err)
		}
		out[r.SubmissionID] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stats parses the EMF lines written so far; the last one is the latest
// batch.
func (e *env) lastMetrics(t *testing.T) consumer.Stats {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(e.metrics.String()), "\n")
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("EMF line %q: %v", lines[len(lines)-1], err)
	}
	n := func(k string) int {
		v, ok := m[k].(float64)
		if !ok {
			t.Fatalf("EMF line lacks %s: %v", k, m)
		}
		return int(v)
	}
	// KeyConflicts is not a metric: it is part of RecordsQuarantined.
	return consumer.Stats{
		Received: n(emf.RecordsReceived), Stored: n(emf.RecordsStored), Quarantined: n(emf.RecordsQuarantined),
		Duplicate: n(emf.RecordsDuplicate), DuplicateRedelivery: n(emf.RecordsDuplicateRedelivery),
		DuplicateResubmission: n(emf.RecordsDuplicateResubmission), Retried: n(emf.RecordsRetried),
		DeadlockRetries: n(emf.DeadlockRetries),
	}
}

func handle(t *testing.T, ctx context.Context, e *env, msgs ...events.SQSMessage) []string {
	t.Helper()
	resp, err := e.handler.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatalf("Handle returned error %v; per-record problems must be reported in BatchItemFailures", err)
	}
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

func TestHandleStoresValidBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	want := []struct{ id, name, email string }{
		{"m-1", "Alice", "alice@example.com"},
		{"m-2", "山田 太郎", "taro@example.jp"},
		{"m-3", "𠮷野家 🍣", "yoshinoya@example.jp"}, // 4-byte characters
		{"m-4", `O'Brien "Bob" \`, "ob@example.com"},
	}
	var msgs []events.SQSMessage
	for _, w := range want {
		msgs = append(msgs, msg(w.id, body(w.name, w.email)))
	}
	if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
		t.Fatalf("BatchItemFailures %v, want none", failed)
	}
	got := e.users(t)
	if len(got) != len(want) {
		t.Fatalf("%d users rows, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.SubmissionID != w.id || g.Name != w.name || g.Email != w.email {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
		if !g.SubmittedAt.Valid || !g.SubmittedAt.Time.Equal(sentAt) {
			t.Errorf("row %d submitted_at %v, want SentTimestamp %v", i, g.SubmittedAt, sentAt)
		}
		// Byte for byte, as the server holds it (not as the driver
		// decodes it).
		var hexName string
		if err := e.admin.QueryRow("SELECT HEX(name) FROM users WHERE submission_id = ?", w.id).Scan(&hexName); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(hexName, hex.EncodeToString([]byte(w.name))) {
			t.Errorf("%s: name bytes %s, want %x", w.id, hexName, w.name)
		}
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 4, Stored: 4}) {
		t.Errorf("metrics %+v", s)
	}
	if !strings.Contains(e.logs.String(), `"requestId":"req-TestHandleStoresValidBatch"`) {
		t.Errorf("logs lack the request id:\n%s", e.logs)
	}
}

func TestHandleQuarantinesInvalidRecords(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	valid := []events.SQSMessage{
		msg("ok-1", body("Alice", "alice@example.com")),
		msg("ok-2", body("鈴木 花子", "hanako@example.jp")),
	}
	invalid := []struct {
		id, body, reason string
	}{
		{"bad-json", `{"name":"a",`, "invalid_json"},
		{"bad-utf8", "{\"name\":\"\xff\xfe\",\"email\":\"a@example.com\"}", "invalid_utf8"},
		{"bad-name", body("", "a@example.com"), "name_required"},
		{"bad-long", body(strings.Repeat("名", 256), "a@example.com"), "name_too_long"},
		{"bad-email", body("Alice", "Alice <alice@example.com>"), "email_invalid"},
		{"bad-field", `{"name":"a","email":"a@example.com","role":"admin"}`, "unknown_field"},
		{"bad-dup", `{"name":"a","name":"b","email":"a@example.com"}`, "duplicate_field"},
	}
	msgs := slices.Clone(valid)
	for i, in := range invalid {
		m := msg(in.id, in.body)
		if i == 0 {
			delete(m.Attributes, "SentTimestamp") // falls back, then NULL
		}
		msgs = slices.Insert(msgs, 1, m)
	}
	if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
		t.Fatalf("BatchItemFailures %v, want none (invalid records are quarantined, not retried)", failed)
	}
	users := e.users(t)
	if len(users) != 2 || users[0].SubmissionID != "ok-1" || users[1].Name != "鈴木 花子" {
		t.Fatalf("users %+v, want the two valid records", users)
	}
	q := e.quarantine(t)
	if len(q) != len(invalid) {
		t.Fatalf("%d quarantine rows, want %d: %+v", len(q), len(invalid), q)
	}
	for i, in := range invalid {
		r, ok := q[in.id]
		if !ok {
			t.Errorf("%s not quarantined", in.id)
			continue
		}
		if r.Reason != in.reason {
			t.Errorf("%s: reason %q, want %q", in.id, r.Reason, in.reason)
		}
		if !bytes.Equal(r.Body, []byte(in.body)) {
			t.Errorf("%s: body %q, want the raw %q", in.id, r.Body, in.body)
		}
		if !r.Detail.Valid || r.Detail.String == "" {
			t.Errorf("%s: no detail", in.id)
		}
		if wantAt := i != 0; r.SubmittedAt.Valid != wantAt || (wantAt && !r.SubmittedAt.Time.Equal(sentAt)) {
			t.Errorf("%s: submitted_at %v (want set: %v)", in.id, r.SubmittedAt, wantAt)
		}
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 9, Stored: 2, Quarantined: 7}) {
		t.Errorf("metrics %+v", s)
	}
	// Personal data stays out of the logs.
	for _, pii := range []string{"alice@example.com", "hanako@example.jp", "鈴木"} {
		if strings.Contains(e.logs.String(), pii) {
			t.Errorf("logs contain %q:\n%s", pii, e.logs)
		}
	}
}

func TestHandleIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{})
	first := []events.SQSMessage{
		msg("d-1", body("Alice", "alice@example.com")),
		msg("d-2", body("山田", "yamada@example.jp")),
		msg("d-1", body("Alice", "alice@example.com")), // SQS delivered it twice in one batch
		msg("d-3", `not json`),
	}
	if failed := handle(t, lambdaCtx(t), e, first...); failed != nil {
		t.Fatalf("BatchItemFailures %v", failed)
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 4, Stored: 2, Quarantined: 1, Duplicate: 1, DuplicateRedelivery: 1}) {
		t.Errorf("first delivery metrics %+v", s)
	}
	before, beforeQ := e.users(t), e.quarantine(t)
	if len(before) != 2 || len(beforeQ) != 1 {
		t.Fatalf("after first delivery: users %+v quarantine %+v", before, beforeQ)
	}

	// A redelivery, as SQS makes it: same ids, same bodies; here with a
	// later SentTimestamp and another body for d-2 as well, which must not
	// change what is stored either.
	redelivered := []events.SQSMessage{first[0], msg("d-2", body("Changed", "changed@example.com")), first[3], msg("d-4", body("New", "new@example.com"))}
	for i := range redelivered[:3] {
		redelivered[i].Attributes = map[string]string{"SentTimestamp": strconv.FormatInt(sentAt.Add(time.Hour).UnixMilli(), 10)}
	}
	for range 2 {
		if failed := handle(t, lambdaCtx(t), e, redelivered...); failed != nil {
			t.Fatalf("BatchItemFailures %v", failed)
		}
	}
	if s := e.lastMetrics(t); s != (consumer.Stats{Received: 4, Duplicate: 4, DuplicateRedelivery: 4}) {
		t.Errorf("second redelivery metrics %+v", s)
	}
	after := e.users(t)
	if len(after) != 3 {
		t.Fatalf("users after redeliveries: %+v", after)
	}
	if !slices.Equal(after[:2], before) {
		t.Errorf("redelivery changed stored rows:\nbefore %+v\nafter  %+v", before, after[:2])
	}
	if after[2].SubmissionID != "d-4" {
		t.Errorf("new record: %+v", after[2])
	}
	if afterQ := e.quarantine(t); len(afterQ) != 1 || !afterQ["d-3"].SubmittedAt.Time.Equal(sentAt) {
		t.Errorf("quarantine after redeliveries: %+v", afterQ)
	}
}

// TestHandleIsolatesDatabaseRejections makes MySQL stricter than the
// validation rules (as a later migration or a DBA might), so that records
// that pass validation fail in the database, and checks that exactly those
// records are quarantined while the rest of the batch commits.
func TestHandleIsolatesDatabaseRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		alter  string
		bad    func(i int) bool
		record func(i int, bad bool) (name, email string)
		errNo  []string // MySQL 8 and MariaDB differ for CHECK
		// maxStatement 600 spreads the batch over several statements in
		// a transaction; 0 (the default) fits it in one autocommitted
		// statement, whose data error sends the batch to the transaction.
		maxStatement int
	}{
		{
			name:  "data too long",
			alter: "ALTER TABLE users MODIFY name VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
			bad:   func(i int) bool { return i == 3 || i == 17 || i == 18 },
			record: func(i int, bad bool) (string, string) {
				if bad {
					return fmt.Sprintf("長い名前の人%03dさんです", i), fmt.Sprintf("u%d@example.com", i)
				}
				return fmt.Sprintf("名前%03d", i), fmt.Sprintf("u%d@example.com", i)
			},
			errNo:        []string{"MySQL error 1406:"},
			maxStatement: 600,
		},
		{
			name:  "check constraint",
			alter: "ALTER TABLE users ADD CONSTRAINT users_no_example_org CHECK (email NOT LIKE '%@example.org')",
			bad:   func(i int) bool { return i == 0 || i == 19 },
			record: func(i int, bad bool) (string, string) {
				if bad {
					return fmt.Sprintf("n%d", i), fmt.Sprintf("u%d@example.org", i)
				}
				return fmt.Sprintf("n%d", i), fmt.Sprintf("u%d@example.com", i)
			},
			errNo: []string{"MySQL error 4025:", "MySQL error 3819:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, consumer.Options{MaxStatementBytes: tt.maxStatement})
			if _, err := e.admin.Exec(tt.alter); err != nil {
				t.Fatal(err)
			}
			var msgs []events.SQSMessage
			var wantStored, wantBad []string
			for i := range 20 {
				id := fmt.Sprintf("r-%02d", i)
				name, email := tt.record(i, tt.bad(i))
				msgs = append(msgs, msg(id, body(name, email)))
				if tt.bad(i) {
					wantBad = append(wantBad, id)
				} else {
					wantStored = append(wantStored, id)
				}
			}
			if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
				t.Fatalf("BatchItemFailures %v, want none", failed)
			}
			var stored []string
			for _, u := range e.users(t) {
				stored = append(stored, u.SubmissionID)
			}
			slices.Sort(stored)
			if !slices.Equal(stored, wantStored) {
				t.Errorf("stored %v\nwant   %v", stored, wantStored)
			}
			q := e.quarantine(t)
			if len(q) != len(wantBad) {
				t.Errorf("quarantined %v, want %v", q, wantBad)
			}
			for _, id := range wantBad {
				r := q[id]
				if r.Reason != consumer.ReasonRejectedByDatabase || !slices.ContainsFunc(tt.errNo, func(p string) bool { return strings.HasPrefix(r.Detail.String, p) }) {
					t.Errorf("%s: reason %q detail %q, want %s with one of %v", id, r.Reason, r.Detail.String, consumer.ReasonRejectedByDatabase, tt.errNo)
				}
			}
			if s := e.lastMetrics(t); s != (consumer.Stats{Received: 20, Stored: len(wantStored), Quarantined: len(wantBad)}) {
				t.Errorf("metrics %+v", s)
			}
			// Redelivering the batch isolates the same records again and
			// adds nothing.
			if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
				t.Fatalf("redelivery: BatchItemFailures %v", failed)
			}
			if s := e.lastMetrics(t); s != (consumer.Stats{Received: 20, Duplicate: 20, DuplicateRedelivery: 20}) {
				t.Errorf("redelivery metrics %+v", s)
			}
		})
	}
}

func TestHandleDatabaseUnreachable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msgs []events.SQSMessage
		want []string
	}{
		{"valid records only", []events.SQSMessage{msg("u-1", body("a", "a@example.com")), msg("u-3", body("b", "b@example.com"))}, []string{"u-1", "u-3"}},
		{"mixed, with a repeat", []events.SQSMessage{msg("u-1", body("a", "a@example.com")), msg("u-2", `invalid`), msg("u-3", body("b", "b@example.com")), msg("u-1", body("a", "a@example.com"))}, []string{"u-1", "u-2", "u-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			unreachable(t, tt.msgs, tt.want)
		})
	}
}

func unreachable(t *testing.T, msgs []events.SQSMessage, want []string) {
	// A loopback port nobody listens on: connections are refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := testdb.Server()
	cfg.Endpoint, cfg.Name = addr, "sluice"
	db, err := dbconn.Open(context.Background(), cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var metrics, logs bytes.Buffer
	h := consumer.New(db, consumer.Options{Metrics: &metrics, Logger: slog.New(slog.NewJSONHandler(&logs, nil))})

	resp, err := h.Handle(lambdaCtx(t), events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatalf("Handle error %v, want nil with every record in BatchItemFailures", err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, want) {
		t.Errorf("BatchItemFailures %v, want %v (each distinct id once)", failed, want)
	}
	if !strings.Contains(metrics.String(), fmt.Sprintf(`"RecordsRetried":%d`, len(msgs))) {
		t.Errorf("metrics %s", metrics.String())
	}
	if !strings.Contains(logs.String(), `"transient":true`) {
		t.Errorf("a refused connection was not logged as transient:\n%s", logs.String())
	}
}

// blockOn makes the handler's INSERT of submission id "lock" wait: another
// transaction inserts the same id and holds it uncommitted until the
// returned release is called.
func blockOn(t *testing.T, e *env, id string) (release func()) {
	t.Helper()
	tx, err := e.admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO users (submission_id, name, email) VALUES (?, 'lock', 'lock@example.com')", id); err != nil {
		t.Fatal(err)
	}
	released := false
	release = func() {
		if !released {
			released = true
			if err := tx.Rollback(); err != nil {
				t.Errorf("release lock: %v", err)
			}
		}
	}
	t.Cleanup(release)
	return release
}

// waitForStatement returns the connection id of the application user's
// session once it is executing the INSERT that holds submission id id
// (blocked by blockOn).
func waitForStatement(t *testing.T, e *env, id string) int64 {
	t.Helper()
	for range 600 {
		var conn int64
		err := e.admin.QueryRow(`SELECT ID FROM information_schema.PROCESSLIST
			WHERE USER = ? AND INFO LIKE 'INSERT INTO users %' AND INSTR(INFO, ?) > 0`, e.app.User, "'"+id+"'").Scan(&conn)
		if err == nil {
			return conn
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the handler never ran the INSERT of %s", id)
	return 0
}

func lockBatch() []events.SQSMessage {
	var msgs []events.SQSMessage
	for i := range 30 {
		msgs = append(msgs, msg(fmt.Sprintf("k-%02d", i), body(fmt.Sprintf("name %d", i), fmt.Sprintf("k%d@example.com", i))))
	}
	return append(msgs, msg("k-bad", `{}`))
}

func allIDs(msgs []events.SQSMessage) []string {
	var ids []string
	for _, m := range msgs {
		ids = append(ids, m.MessageId)
	}
	return ids
}

// TestHandleConnectionLostMidBatch kills the handler's connection while its
// transaction has already inserted some chunks: every record must be
// reported for retry, and none of them stored.
func TestHandleConnectionLostMidBatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, consumer.Options{MaxStatementBytes: 1024})
	msgs := lockBatch()
	release := blockOn(t, e, "k-20") // the earlier chunks go through first

	type result struct {
		failed []string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := e.handler.Handle(lambdaCtx(t), events.SQSEvent{Records: msgs})
		var r result
		r.err = err
		for _, f := range resp.BatchItemFailures {
			r.failed = append(r.failed, f.ItemIdentifier)
		}
		done <- r
	}()
	conn := waitForStatement(t, e, "k-20")
	if _, err := e.admin.Exec(fmt.Sprintf("KILL %d", conn)); err != nil {
		t.Fatal(err)
	}
	r := <-done
	release()
	if r.err != nil {
		t.Fatalf("Handle error %v, want nil", r.err)
	}
	if !slices.Equal(r.failed, allIDs(msgs)) {
		t.Errorf("BatchItemFailures %v, want every record", r.failed)
	}
	if u, q := e.users(t), e.quarantine(t); len(u) != 0 || len(q) != 0 {
		t.Errorf("half-written batch: users %+v quarantine %+v", u, q)
	}
	// The pool recovers: the redelivery stores everything.
	if failed := handle(t, lambdaCtx(t), e, msgs...); failed != nil {
		t.Fatalf("redelivery: BatchItemFailures %v", failed)
	}
	if u := e.users(t); len(u) != 30 {
		t.Errorf("after redelivery: %d users rows, want 30", len(u))
	}
}

// TestHandleStopsBeforeDeadline gives the invocation a deadline that runs
// out while the transaction waits on a lock: the handler must answer before
// the deadline, reporting every record, with nothing written.
func TestHandleStopsBeforeDeadline(t *testing.T) {
	t.Parallel()
	// The work window is one second; the margin is long so that "answered
	// before the deadline" is about behaviour, not about how loaded the
	// machine is.
	const margin = 30 * time.Second
	e := newEnv(t, consumer.Options{MaxStatementBytes: 1024, DeadlineMargin: margin})
	msgs := lockBatch()
	release := blockOn(t, e, "k-20")

	deadline := time.Now().Add(margin + time.Second)
	ctx, cancel := context.WithDeadline(lambdaCtx(t), deadline)
	defer cancel()
	resp, err := e.handler.Handle(ctx, events.SQSEvent{Records: msgs})
	if err != nil {
		t.Fatalf("Handle error %v, want nil", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Handle returned after the invocation deadline; it must stop %v before it", margin)
	}
	release()
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, allIDs(msgs)) {
		t.Errorf("BatchItemFailures %v, want every record", failed)
	}
	if u, q := e.users(t), e.quarantine(t); len(u) != 0 || len(q) != 0 {
		t.Errorf("half-written batch: users %+v quarantine %+v", u, q)
	}

	// Already inside the margin: the database is not touched at all.
	ctx2, cancel2 := context.WithDeadline(lambdaCtx(t), time.Now().Add(margin/2))
	defer cancel2()
	if failed := handle(t, ctx2, e, msgs[:3]...); !slices.Equal(failed, allIDs(msgs[:3])) {
		t.Errorf("inside the margin: BatchItemFailures %v, want every record", failed)
	}
	if u := e.users(t); len(u) != 0 {
		t.Errorf("inside the margin: %d rows written", len(u))
	}
}

func TestHandleRejectsMessageWithoutID(t *testing.T) {
	t.Parallel()
	h := consumer.New(nil, consumer.Options{Metrics: &bytes.Buffer{}, Logger: slog.New(slog.DiscardHandler)})
	_, err := h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{{Body: "{}"}}})
	if err == nil {
		t.Fatal("a message without a MessageId cannot be reported alone; Handle must fail the invocation")
	}
}
