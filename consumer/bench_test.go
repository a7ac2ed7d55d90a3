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
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/migrations"
)

// BenchmarkHandler measures records per second through Handle (decode,
// validate, one transaction of chunked upserts) and, interleaved in the
// same loop on the same table, a raw multi-row INSERT of the same rows in
// one statement over one connection: the ceiling for this database on
// this machine. It reports both rates, the handler's share of the raw
// rate, and the median of that share over the paired iterations. The last case lifts the statement size limit from its default
// (16 KiB, below RDS Proxy's pinning threshold) to 1 MiB, so that the whole
// batch goes in one statement as the raw INSERT does.
func BenchmarkHandler(b *testing.B) {
	for _, c := range []struct {
		size, maxStatement int
		name               string
	}{
		{10, 0, "batch=10"},
		{100, 0, "batch=100"},
		{1000, 0, "batch=1000"},
		{1000, 1 << 20, "batch=1000,stmt=1MiB"},
	} {
		size := c.size
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := testdb.New(b)
			if err := migrations.Up(ctx, cfg); err != nil {
				b.Fatal(err)
			}
			handlerDB := openOne(b, cfg)
			rawDB := openOne(b, cfg)
			h := consumer.New(handlerDB, consumer.Options{
				Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard, MaxStatementBytes: c.maxStatement,
			})

			// Inputs are built before the clock starts, followed by a
			// collection so that neither side pays for the harness's
			// garbage: what is timed is Handle, and the INSERT itself.
			runHandler := func(i int) time.Duration {
				ev := benchEvent(size, i)
				runtime.GC()
				start := time.Now()
				resp, err := h.Handle(ctx, ev)
				d := time.Since(start)
				if err != nil || len(resp.BatchItemFailures) != 0 {
					b.Fatalf("Handle: %v, %d failures", err, len(resp.BatchItemFailures))
				}
				return d
			}
			runRaw := func(i int) time.Duration {
				query, args := rawInsert(size, i)
				runtime.GC()
				start := time.Now()
				if _, err := rawDB.ExecContext(ctx, query, args...); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}

			var handlerTime, rawTime time.Duration
			var ratios []float64 // raw time / handler time, per iteration
			for i := 0; b.Loop(); i++ {
				// Alternate which side goes first, so neither always
				// inherits the other's flush.
				var hd, rd time.Duration
				if i%2 == 0 {
					hd, rd = runHandler(i), runRaw(i)
				} else {
					rd, hd = runRaw(i), runHandler(i)
				}
				handlerTime += hd
				rawTime += rd
				ratios = append(ratios, float64(rd)/float64(hd))
			}
			records := float64(size * len(ratios))
			handlerRate, rawRate := records/handlerTime.Seconds(), records/rawTime.Seconds()
			b.ReportMetric(handlerRate, "records/s")
			b.ReportMetric(rawRate, "raw-records/s")
			b.ReportMetric(100*handlerRate/rawRate, "%-of-raw")
			// The median of the paired ratios shrugs off the load spikes
			// that other processes on a shared machine put on one side of
			// a pair.
			slices.Sort(ratios)
			b.ReportMetric(100*ratios[len(ratios)/2], "median-%-of-raw")
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

func benchEvent(size, i int) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, size)}
	for j := range size {
		ev.Records[j] = msg(benchID('a', i, j), body(benchRow(i, j)))
	}
	return ev
}

// rawInsert is the baseline statement: all rows in one plain multi-row
// INSERT.
func rawInsert(size, i int) (string, []any) {
	var q strings.Builder
	q.WriteString("INSERT INTO users (submission_id, name, email, submitted_at) VALUES ")
	args := make([]any, 0, 4*size)
	for j := range size {
		if j > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?)")
		name, email := benchRow(i, j)
		args = append(args, benchID('b', i, j), name, email, sentAt)
	}
	return q.String(), args
}
