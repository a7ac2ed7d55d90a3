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
	"github.com/sluicehq/sluice/offline/testdb"
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

// offlineAlters lists the ALTER TABLE statements of sql that could block
// writers, with why.
func offlineAlters(sql string) []string {
	var out []string
	for _, stmt := range alterTable.FindAllString(stripComments(sql), -1) {
		stmt = strings.TrimSpace(stmt)
		m := algorithm.FindStringSubmatch(stmt)
		if m == nil {
			out = append(out, fmt.Sprintf("%q names no ALGORITHM=INSTANT or INPLACE", stmt))
			continue
		}
		lock := lockClause.FindStringSubmatch(stmt)
		switch {
		case strings.EqualFold(m[1], "INSTANT") && lock != nil:
			// MySQL: "Only LOCK=DEFAULT is supported for operations that are performed instantly."
			out = append(out, fmt.Sprintf("%q combines INSTANT with a LOCK clause, which MySQL rejects", stmt))
		case strings.EqualFold(m[1], "INPLACE") && (lock == nil || !strings.EqualFold(lock[1], "NONE")):
			out = append(out, fmt.Sprintf("%q is INPLACE without LOCK=NONE", stmt))
		}
	}
	return out
}

func TestOfflineAlters(t *testing.T) {
	tests := []struct {
		sql  string
		want int
	}{
		{"ALTER TABLE users ADD COLUMN x INT NULL, ALGORITHM=INSTANT;", 0},
		{"-- ALTER TABLE users ADD COLUMN x INT\nALTER TABLE users DROP COLUMN x, ALGORITHM=INPLACE, LOCK=NONE;", 0},
		{"CREATE TABLE t (id INT);", 0},
		{"ALTER TABLE users ADD COLUMN x INT NULL;", 1},
		{"alter table users add index i (x), algorithm=copy;", 1},
		{"ALTER TABLE users ADD COLUMN x INT, ALGORITHM=INSTANT, LOCK=NONE;", 1},
		{"ALTER TABLE users ADD INDEX i (x), ALGORITHM=INPLACE;", 1},
		{"ALTER TABLE users ADD INDEX i (x), ALGORITHM=INPLACE, LOCK=SHARED;", 1},
		{"ALTER TABLE a ADD COLUMN x INT; ALTER TABLE b ADD COLUMN y INT, ALGORITHM=INSTANT;", 1},
	}
	for _, tt := range tests {
		if got := offlineAlters(tt.sql); len(got) != tt.want {
			t.Errorf("offlineAlters(%q) = %q, want %d finding(s)", tt.sql, got, tt.want)
		}
	}
}

// TestLiveTableMigrationsNameTheirAlgorithm holds every migration from
// onlineFrom on (none yet: the schema ends at version 5) to the rule.
func TestLiveTableMigrationsNameTheirAlgorithm(t *testing.T) {
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
			for _, f := range offlineAlters(string(text)) {
				t.Errorf("%s: %s", names[0], f)
			}
		}
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

// writersFrom is the first migration that runs while the consumer writes
// users rows by submission_id (added by migration 3).
const writersFrom = 4

// TestLiveTableMigrationsLetWritersRun applies and reverts the migrations
// from writersFrom on while a writer inserts into users without pause, as
// the consumer does during `pulumi up`: no insert fails (or hangs for 5 s),
// and the writer is still inserting after each step.
func TestLiveTableMigrationsLetWritersRun(t *testing.T) {
	ctx := context.Background()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 4})
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, cfg, Latest()-writersFrom+1); err != nil {
		t.Fatal(err)
	}
	// Enough rows that a migration which rebuilt the table would take a
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
	if err := Down(ctx, cfg, Latest()-writersFrom+1); err != nil {
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
