package consumer_test

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/consumer"
)

// retryMessage is the log line of one deadlock retry.
const retryMessage = "batch transaction deadlocked; running it again"

// retryLines returns the retry log lines written so far.
func retryLines(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == retryMessage {
			out = append(out, m)
		}
	}
	return out
}

// waitForLockWait returns once the application user's transaction waits
// for a row lock: the handler's INSERT has locked the rows before the one
// it waits for. InnoDB refreshes what INNODB_TRX shows only when nobody has
// read it for 100 ms, so the polls are further apart than that and the
// tests that poll do not run in parallel with each other.
func waitForLockWait(t *testing.T, e *env) {
	t.Helper()
	for range 300 {
		var n int
		err := e.admin.QueryRow(`SELECT COUNT(*) FROM information_schema.INNODB_TRX t
			JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id
			WHERE p.USER = ? AND t.trx_state = 'LOCK WAIT'`, e.app.User).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("the handler's transaction never waited for the other transaction's lock")
}

// TestHandleRetriesRealDeadlock makes InnoDB pick the handler's
// transaction as a deadlock victim, the way two consumers storing the same
// idempotency keys at once can: another transaction (a client retry in
// another batch) holds key B, the handler inserts A and waits for B, the
// other then inserts A. The other transaction has written more rows, so
// InnoDB rolls back the handler's, the lighter one. The handler must run
// its transaction again in the same invocation and account for every
// record exactly once, whether the other transaction commits (A and B are
// then resubmissions) or rolls back.
func TestHandleRetriesRealDeadlock(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		invalid bool // an invalid record too: the batch takes the explicit transaction
		commit  bool // the other transaction commits rather than rolls back
	}{
		{name: "one statement, other commits", commit: true},
		{name: "one statement, other rolls back"},
		{name: "transaction, other commits", invalid: true, commit: true},
		{name: "transaction, other rolls back", invalid: true},
	} {
		t.Run(tc.name, func(t *testing.T) { // not parallel: see waitForLockWait
			e := newEnv(t, consumer.Options{})
			msgs := []events.SQSMessage{
				msgN(1, keyed("Ann", "ann@example.com", "A")),
				msgN(2, keyed("Bob", "bob@example.com", "B")),
				msgN(3, keyed("Cid", "cid@example.com", "C")),
			}
			if tc.invalid {
				msgs = append(msgs, msgN(4, `{"name": ""}`))
			}
			const fillers = 20

			other, err := e.admin.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Rollback()
			insert := func(key, name, email string) error {
				_, err := other.Exec("INSERT INTO users (submission_id, name, email, submitted_at) VALUES (?, ?, ?, ?)",
					consumer.KeyPrefix+key, name, email, sentAt.Add(time.Hour))
				return err
			}
			for i := range fillers {
				if err := insert(fmt.Sprintf("filler-%d", i), "Filler", fmt.Sprintf("f%d@example.com", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := insert("B", "Bob", "bob@example.com"); err != nil {
				t.Fatal(err)
			}

			type result struct {
				resp events.SQSEventResponse
				err  error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := e.handler.Handle(lambdaCtx(t), events.SQSEvent{Records: msgs})
				done <- result{resp, err}
			}()
			waitForLockWait(t, e)
			if err := insert("A", "Ann", "ann@example.com"); err != nil {
				if me := (*mysql.MySQLError)(nil); errors.As(err, &me) && me.Number == 1213 {
					t.Fatal("InnoDB picked the other transaction as the deadlock victim, not the handler's")
				}
				t.Fatal(err)
			}
			if tc.commit {
				err = other.Commit()
			} else {
				err = other.Rollback()
			}
			if err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.err != nil {
				t.Fatalf("Handle error %v, want nil", r.err)
			}
			if len(r.resp.BatchItemFailures) != 0 {
				t.Errorf("BatchItemFailures %v, want none: the deadlock is retried in the invocation", r.resp.BatchItemFailures)
			}

			rows := map[string]int{}
			for _, u := range e.users(t) {
				rows[u.SubmissionID]++
			}
			wantRows := 3
			if tc.commit {
				wantRows += fillers
			}
			if len(rows) != wantRows {
				t.Errorf("%d distinct users rows, want %d: %v", len(rows), wantRows, rows)
			}
			for _, k := range []string{"A", "B", "C"} {
				if n := rows[consumer.KeyPrefix+k]; n != 1 {
					t.Errorf("key %s: %d users rows, want 1", k, n)
				}
			}
			wantQuarantine := 0
			if tc.invalid {
				wantQuarantine = 1
			}
			if q := e.quarantine(t); len(q) != wantQuarantine {
				t.Errorf("%d quarantine rows, want %d: %+v", len(q), wantQuarantine, q)
			}

			want := consumer.Stats{Received: len(msgs), Stored: 3, Quarantined: wantQuarantine, DeadlockRetries: 1}
			if tc.commit {
				want.Stored, want.Duplicate, want.DuplicateResubmission = 1, 2, 2
			}
			if got := e.lastMetrics(t); got != want {
				t.Errorf("metrics %+v, want %+v", got, want)
			}

			retries := retryLines(t, e.logs.String())
			if len(retries) != 1 {
				t.Fatalf("%d retry log lines, want 1:\n%s", len(retries), e.logs)
			}
			if got := retries[0]["attempt"]; got != float64(2) {
				t.Errorf("retry logged attempt %v, want 2", got)
			}
			line, _ := json.Marshal(retries[0])
			for _, value := range []string{"Ann", "ann@example.com", "Bob", "bob@example.com"} {
				if strings.Contains(string(line), value) {
					t.Errorf("retry log line leaks record value %q: %s", value, line)
				}
			}
		})
	}
}

// TestHandleDeadlockRetryIsBounded runs the handler on a database whose
// every statement fails with the given error: a deadlock is run again
// until the attempts or the invocation's time run out, anything else is
// not; either way the batch is handed back whole, as before.
func TestHandleDeadlockRetryIsBounded(t *testing.T) {
	t.Parallel()
	const margin = 2 * time.Second
	for _, tc := range []struct {
		name        string
		number      uint16
		deadline    time.Duration // from now; 0 means none
		invalid     bool
		maxAttempts int32
		minAttempts int32
		retries     int
	}{
		{name: "deadlock every attempt", number: 1213, maxAttempts: 3, minAttempts: 3, retries: 2},
		{name: "deadlock every attempt, transaction", number: 1213, invalid: true, maxAttempts: 3, minAttempts: 3, retries: 2},
		// Too little time left for the backoff: no retry. The first
		// attempt may not even start, since the deadline may pass first.
		{name: "deadlock near the deadline", number: 1213, deadline: margin + time.Millisecond, maxAttempts: 1},
		{name: "lock wait timeout", number: 1205, maxAttempts: 1, minAttempts: 1},
		{name: "connection refused", number: 1040, maxAttempts: 1, minAttempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fault := &faultConnector{err: &mysql.MySQLError{Number: tc.number, SQLState: [5]byte{'4', '0', '0', '0', '1'}, Message: "injected"}}
			db := sql.OpenDB(fault)
			defer db.Close()
			e := &env{logs: &bytes.Buffer{}, metrics: &bytes.Buffer{}}
			e.handler = consumer.New(db, consumer.Options{DeadlineMargin: margin, Metrics: e.metrics,
				Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})

			msgs := []events.SQSMessage{msgN(1, keyed("Ann", "ann@example.com", "A")), msgN(2, body("Bob", "bob@example.com"))}
			if tc.invalid {
				msgs = append(msgs, msgN(3, `{"name": ""}`))
			}
			ctx := lambdaCtx(t)
			if tc.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, time.Now().Add(tc.deadline))
				defer cancel()
			}
			failed := handle(t, ctx, e, msgs...)
			if !slices.Equal(failed, allIDs(msgs)) {
				t.Errorf("BatchItemFailures %v, want every record", failed)
			}
			if n := fault.execs.Load(); n < tc.minAttempts || n > tc.maxAttempts {
				t.Errorf("%d attempts, want %d to %d", n, tc.minAttempts, tc.maxAttempts)
			}
			retries := retryLines(t, e.logs.String())
			if len(retries) != tc.retries {
				t.Fatalf("%d retry log lines, want %d:\n%s", len(retries), tc.retries, e.logs)
			}
			for i, r := range retries {
				if got := r["attempt"]; got != float64(i+2) {
					t.Errorf("retry %d logged attempt %v, want %d", i, got, i+2)
				}
			}
			if got := e.lastMetrics(t); got.Retried != len(msgs) || got.Stored != 0 || got.DeadlockRetries != tc.retries {
				t.Errorf("metrics %+v, want every record retried and %d deadlock retries", got, tc.retries)
			}
		})
	}
}

// faultConnector is a database whose every statement fails with err; it
// counts the statements, one per attempt (the first statement of each
// attempt fails it).
type faultConnector struct {
	err   error
	execs atomic.Int32
}

func (c *faultConnector) Connect(context.Context) (driver.Conn, error) { return faultConn{c}, nil }
func (c *faultConnector) Driver() driver.Driver                        { return faultDriver{c} }

type faultDriver struct{ c *faultConnector }

func (d faultDriver) Open(string) (driver.Conn, error) { return faultConn(d), nil }

type faultConn struct{ c *faultConnector }

func (c faultConn) Prepare(string) (driver.Stmt, error) {
	return nil, errors.New("fault: no prepared statements")
}
func (faultConn) Close() error              { return nil }
func (faultConn) Begin() (driver.Tx, error) { return faultTx{}, nil }

// CheckNamedValue accepts every argument: none reaches a server.
func (faultConn) CheckNamedValue(*driver.NamedValue) error { return nil }

func (c faultConn) ExecContext(context.Context, string, []driver.NamedValue) (driver.Result, error) {
	c.c.execs.Add(1)
	return nil, c.c.err
}

func (c faultConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, c.c.err
}

type faultTx struct{}

func (faultTx) Commit() error   { return errors.New("fault: nothing to commit") }
func (faultTx) Rollback() error { return nil }
