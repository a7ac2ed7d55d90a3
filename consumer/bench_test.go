package consumer_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
)

// BenchmarkHandler measures records per second through Handle (decode,
// validate, one transaction of chunked upserts) next to, in the same loop
// on the same table, the same handler given records that all carry an
// idempotency key (on a connection of its own; "keyed"), and two baselines
// over their own connection:
//
//   - raw: a plain multi-row INSERT of the same rows in one statement,
//     the ceiling for this database on this machine;
//   - same-statements: the same plain INSERT cut into statements no longer
//     than the handler's (Options.MaxStatementBytes) in one transaction,
//     the ceiling for that statement size. Reported only when the rows
//     need more than one statement.
//
// It reports the rates, the handler's share of each baseline's rate, the
// keyed handler's share of the handler's, and the median of the
// per-iteration shares. The last case lowers the
// statement size from its default (1 MiB, one statement per batch as raw)
// to statementsize.ProxyPinning, the setting that keeps RDS Proxy
// from pinning the session for any batch without a long quarantined body.
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		size, maxStatement int
		name               string
	}{
		{10, 0, "batch=10"},
		{100, 0, "batch=100"},
		{1000, 0, "batch=1000"},
		{1000, statementsize.ProxyPinning, "batch=1000,stmt=16000"},
	} {
		size, limit := c.size, c.maxStatement
		if limit == 0 {
			limit = statementsize.Default
		}
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := testdb.New(b)
			if err := migrations.Up(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			handlerDB, keyedDB, rawDB := openOne(b, cfg), openOne(b, cfg), openOne(b, cfg)
			opts := consumer.Options{Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard, MaxStatementBytes: c.maxStatement}
			h, hk := consumer.New(handlerDB, opts), consumer.New(keyedDB, opts)
			chunked := len(rawStatements(size, 0, 'c', limit)) > 1

			// The inputs of all four sides are built at the start of the
			// iteration, and each side is timed after a collection: no side
			// pays for the harness's garbage, whose size differs between
			// sides (a keyed body is twice as long), nor for the pages the
			// runtime hands back to the OS after freeing it. What is timed
			// is Handle, and the INSERTs themselves.
			type inputs struct {
				plain, keyed events.SQSEvent
				raw, same    []statement
			}
			build := func(i int) inputs {
				in := inputs{plain: benchEvent(size, i, false), keyed: benchEvent(size, i, true), raw: rawStatements(size, i, 'b', 0)}
				if chunked {
					in.same = rawStatements(size, i, 'c', limit)
				}
				return in
			}
			handle := func(h *consumer.Handler, ev events.SQSEvent) time.Duration {
				runtime.GC()
				start := time.Now()
				resp, err := h.Handle(ctx, ev)
				d := time.Since(start)
				if err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("Handle: %v, %d failures", err, len(resp.BatchItemFailures))
				}
				return d
			}
			sides := []func(in inputs) time.Duration{
				func(in inputs) time.Duration { return handle(h, in.plain) },
				func(in inputs) time.Duration { return handle(hk, in.keyed) },
				func(in inputs) time.Duration { // raw
					runtime.GC()
					start := time.Now()
					if _, err := rawDB.ExecContext(ctx, in.raw[0].query, in.raw[0].args...); err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				},
				func(in inputs) time.Duration { // same-statements
					if !chunked {
						return 0
					}
					runtime.GC()
					start := time.Now()
					tx, err := rawDB.BeginTx(ctx, nil)
					if err != nil {
						b.Fatal(err)
					}
					for _, st := range in.same {
						if _, err := tx.ExecContext(ctx, st.query, st.args...); err != nil {
							b.Fatal(err)
						}
					}
					if err := tx.Commit(); err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				},
			}

			// Sides: 0 handler, 1 keyed handler, 2 raw, 3 same-statements.
			var total [4]time.Duration
			var shares [3][]float64 // other side's time / handler time, per iteration
			for i := 0; b.Loop(); i++ {
				// Rotate which side goes first, so none always inherits
				// another's flush.
				in := build(i)
				var d [4]time.Duration
				for k := range sides {
					side := (k + i) % len(sides)
					d[side] = sides[side](in)
					total[side] += d[side]
				}
				shares[0] = append(shares[0], float64(d[2])/float64(d[0]))
				shares[1] = append(shares[1], float64(d[3])/float64(d[0]))
				shares[2] = append(shares[2], float64(d[0])/float64(d[1]))
			}
			records := float64(size * len(shares[0]))
			rate := func(d time.Duration) float64 { return records / d.Seconds() }
			median := func(x []float64) float64 { slices.Sort(x); return 100 * x[len(x)/2] }
			b.ReportMetric(rate(total[0]), "records/s")
			b.ReportMetric(rate(total[2]), "raw-records/s")
			b.ReportMetric(100*rate(total[0])/rate(total[2]), "%-of-raw")
			// The median of the paired shares shrugs off the load spikes
			// that other processes on a shared machine put on one side of
			// a pair.
			b.ReportMetric(median(shares[0]), "median-%-of-raw")
			b.ReportMetric(rate(total[1]), "keyed-records/s")
			b.ReportMetric(100*rate(total[1])/rate(total[0]), "keyed-%-of-nokey")
			b.ReportMetric(median(shares[2]), "keyed-median-%-of-nokey")
			if chunked {
				b.ReportMetric(rate(total[3]), "same-statements-records/s")
				b.ReportMetric(median(shares[1]), "median-%-of-same-statements")
			}
		})
	}
}

func openOne(b *testing.B, cfg dbconn.Config) *sql.DB {
	db, err := dbconn.Open(context.Background(), cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// benchRow is row j of iteration i: a realistic mix of Latin and Japanese
// names.
func benchRow(i, j int) (name, email string) {
	if j%2 == 0 {
		return fmt.Sprintf("山田 太郎 %d-%d", i, j), fmt.Sprintf("taro.%d.%d@example.jp", i, j)
	}
	return fmt.Sprintf("Alice Example %d-%d", i, j), fmt.Sprintf("alice.%d.%d@example.com", i, j)
}

func benchID(kind byte, i, j int) string {
	return fmt.Sprintf("%08x-%c000-4000-8000-%012x", i, kind, j)
}

// benchEvent is iteration i's batch; with keys every record carries an
// idempotency key (a UUID, as clients typically send) and other message
// ids, so that both kinds of row are new on the same table.
func benchEvent(size, i int, keys bool) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, size)}
	for j := range size {
		if keys {
			name, email := benchRow(i, j)
			ev.Records[j] = msg(benchID('d', i, j), keyed(name, email, benchID('e', i, j)))
			continue
		}
		ev.Records[j] = msg(benchID('a', i, j), body(benchRow(i, j)))
	}
	return ev
}

type statement struct {
	query string
	args  []any
}

// rawStatements is a baseline: the rows of iteration i (with submission
// ids of kind) as plain multi-row INSERTs of at most limit bytes once the
// driver has interpolated them, or in one statement when limit is 0.
func rawStatements(size, i int, kind byte, limit int) []statement {
	const head = "INSERT INTO users (submission_id, name, email, submitted_at) VALUES "
	// The driver writes sentAt as '2026-11-27 04:30:15.123'; the bench
	// rows hold nothing it escapes.
	timeLiteral := len(sentAt.Format("'2006-01-02 15:04:05.000'"))
	var out []statement
	var q strings.Builder
	var args []any
	length := 0
	for j := range size {
		id := benchID(kind, i, j)
		name, email := benchRow(i, j)
		row := len("(, , , )") + len(id) + len(name) + len(email) + 3*len("''") + timeLiteral
		if j > 0 && limit > 0 && length+len(", ")+row > limit {
			out = append(out, statement{q.String(), args})
			q.Reset()
			args = nil
		}
		if len(args) == 0 {
			q.WriteString(head)
			length = len(head) + row
		} else {
			q.WriteString(", ")
			length += len(", ") + row
		}
		q.WriteString("(?, ?, ?, ?)")
		args = append(args, id, name, email, sentAt)
	}
	return append(out, statement{q.String(), args})
}
