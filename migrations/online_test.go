package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/testdb"
)

// onlineFrom is the first migration written to run on a live table: every
// ALTER TABLE from here on names its ALGORITHM, so that MySQL and MariaDB
// refuse the statement instead of silently copying the table (and blocking
// the consumer's writes) when the change cannot be made instantly or in place.
const onlineFrom = 6

var (
	alterTable = regexp.MustCompile(`(?is)\bALTER\s+TABLE\b[^;]*`)
	algorithm  = regexp.MustCompile(`(?i),\s*ALGORITHM\s*=\s*(INSTANT|INPLACE)\b`)
	lockClause = regexp.MustCompile(`(?i),\s*LOCK\s*=\s*(\w+)`)
)

func TestLiveTableMigrationsNameTheirAlgorithm(t *testing.T) {
	checked := 0
	for _, v := range Versions() {
		if v < onlineFrom {
			continue
		}
		for _, dir := range []string{"up", "down"} {
			names, err := fs.Glob(files, fmt.Sprintf("sql/%06d_*.%s.sql", v, dir))
			if err != nil || len(names) != 1 {
				t.Fatalf("version %d %s: %v %v", v, dir, names, err)
			}
			text, err := fs.ReadFile(files, names[0])
			if err != nil {
				t.Fatal(err)
			}
			sql := stripComments(string(text))
			for _, stmt := range alterTable.FindAllString(sql, -1) {
				checked++
				m := algorithm.FindStringSubmatch(stmt)
				if m == nil {
					t.Errorf("%s: %q names no ALGORITHM=INSTANT or INPLACE", names[0], stmt)
					continue
				}
				lock := lockClause.FindStringSubmatch(stmt)
				switch {
				case strings.EqualFold(m[1], "INSTANT") && lock != nil:
					// MySQL: "Only LOCK=DEFAULT is supported for operations that are performed instantly."
					t.Errorf("%s: %q combines INSTANT with a LOCK clause, which MySQL rejects", names[0], stmt)
				case strings.EqualFold(m[1], "INPLACE") && (lock == nil || !strings.EqualFold(lock[1], "NONE")):
					t.Errorf("%s: %q is INPLACE without LOCK=NONE", names[0], stmt)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no ALTER TABLE found in the live-table migrations: the check checked nothing")
	}
}

func stripComments(sql string) string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestLiveTableMigrationsLetWritersRun applies and reverts the live-table
// migrations while a writer inserts into users without pause, as the
// consumer does during `pulumi up`: no insert fails (or hangs for 5 s),
// and the writer is still inserting after each step.
func TestLiveTableMigrationsLetWritersRun(t *testing.T) {
	ctx := context.Background()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 4})
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, cfg, Latest()-onlineFrom+1); err != nil {
		t.Fatal(err)
	}
	// Enough rows that rebuilding the table (the INPLACE down) takes a
	// while, in statements of 1,000 rows.
	for i := 0; i < 20; i++ {
		var q strings.Builder
		q.WriteString("INSERT INTO users (name, email, submission_id) VALUES ")
		for j := range 1000 {
			if j > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "('n', 'e%d@example.com', 'seed-%d-%d')", j, i, j)
		}
		if _, err := db.Exec(q.String()); err != nil {
			t.Fatal(err)
		}
	}

	var inserted, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			ictx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := db.ExecContext(ictx, `INSERT INTO users (name, email, submission_id) VALUES (?, ?, ?)`,
				"w", fmt.Sprintf("w%d@example.com", i), fmt.Sprintf("writer-%d", i))
			cancel()
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				continue
			}
			inserted.Add(1)
		}
	}()
	waitInserts := func(n int64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for inserted.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("writer stalled at %d inserts", inserted.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitInserts(20)
	before := inserted.Load()
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up under load: %v", err)
	}
	checkSchema(t, db, cfg, Latest())
	waitInserts(before + 20)
	if err := Down(ctx, cfg, Latest()-onlineFrom+1); err != nil {
		t.Fatalf("Down under load: %v", err)
	}
	waitInserts(inserted.Load() + 20)
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d inserts failed while migrating, first: %v", n, firstErr.Load())
	}
	t.Logf("%d inserts during the migrations, none failed", inserted.Load())
}
