package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/testdb"
)

// tableShape is what information_schema says about one table: its
// default collation, its columns in order and its indexes.
type tableShape struct {
	Collation string
	Columns   []string // "name type[(len)] [collation] null|not null"
	Indexes   []string // "name unique|index (col,...)"
}

// Expected shapes after each version. The test database's default is set
// to latin1 first, as on a MariaDB server with stock settings, so that the
// seed's table visibly differs from the utf8mb4 one.
var (
	usersV1 = tableShape{
		Collation: "latin1_swedish_ci",
		Columns: []string{
			"id bigint not null",
			"name varchar(255) latin1_swedish_ci null",
			"email varchar(255) latin1_swedish_ci null",
			"created_at timestamp null",
		},
		Indexes: []string{"PRIMARY unique (id)"},
	}
	usersV2 = tableShape{
		Collation: "utf8mb4_bin",
		Columns: []string{
			"id bigint not null",
			"name varchar(255) utf8mb4_bin null",
			"email varchar(255) utf8mb4_bin null",
			"created_at timestamp null",
		},
		Indexes: usersV1.Indexes,
	}
	usersV3 = tableShape{
		Collation: "utf8mb4_bin",
		Columns:   append(slices.Clone(usersV2.Columns), "submission_id varchar(128) ascii_bin null"),
		Indexes:   []string{"PRIMARY unique (id)", "users_submission_id unique (submission_id)"},
	}
	usersV4 = tableShape{
		Collation: "utf8mb4_bin",
		Columns:   append(slices.Clone(usersV3.Columns), "submitted_at datetime(3) null"),
		Indexes:   usersV3.Indexes,
	}
	quarantineV5 = tableShape{
		Collation: "utf8mb4_bin",
		Columns: []string{
			"id bigint not null",
			"submission_id varchar(128) ascii_bin not null",
			"body mediumblob not null",
			"reason varchar(64) ascii_bin not null",
			"detail varchar(1024) utf8mb4_bin null",
			"submitted_at datetime(3) null",
			"quarantined_at datetime(3) not null",
		},
		Indexes: []string{"PRIMARY unique (id)", "quarantine_submission_id unique (submission_id)"},
	}
	// schemaAt maps a version to the expected shape of both tables; a nil
	// shape means the table does not exist.
	schemaAt = map[int]map[string]*tableShape{
		0: {"users": nil, "quarantine": nil},
		1: {"users": &usersV1, "quarantine": nil},
		2: {"users": &usersV2, "quarantine": nil},
		3: {"users": &usersV3, "quarantine": nil},
		4: {"users": &usersV4, "quarantine": nil},
		5: {"users": &usersV4, "quarantine": &quarantineV5},
	}
)

// newLatin1DB returns a fresh test database whose default character set
// is latin1, and an admin pool on it.
func newLatin1DB(t *testing.T) (dbconn.Config, *sql.DB) {
	t.Helper()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 2})
	if _, err := db.Exec("ALTER DATABASE " + quoteIdent(cfg.Name) + " CHARACTER SET latin1 COLLATE latin1_swedish_ci"); err != nil {
		t.Fatal(err)
	}
	return cfg, db
}

func shapeOf(t *testing.T, db *sql.DB, schema, table string) *tableShape {
	t.Helper()
	var s tableShape
	err := db.QueryRow(`SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?`, schema, table).Scan(&s.Collation)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, DATETIME_PRECISION, COLLATION_NAME, IS_NULLABLE
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, typ, nullable string
		var maxLen, precision sql.NullInt64
		var collation sql.NullString
		if err := rows.Scan(&name, &typ, &maxLen, &precision, &collation, &nullable); err != nil {
			t.Fatal(err)
		}
		col := name + " " + typ
		switch {
		case strings.HasSuffix(typ, "blob"), strings.HasSuffix(typ, "text"):
			// their maximum length is implied by the type
		case maxLen.Valid:
			col += fmt.Sprintf("(%d)", maxLen.Int64)
		case precision.Valid && precision.Int64 > 0:
			col += fmt.Sprintf("(%d)", precision.Int64)
		}
		if collation.Valid {
			col += " " + collation.String
		}
		if nullable == "YES" {
			col += " null"
		} else {
			col += " not null"
		}
		s.Columns = append(s.Columns, col)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = db.Query(`SELECT INDEX_NAME, MIN(NON_UNIQUE), GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX)
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? GROUP BY INDEX_NAME ORDER BY INDEX_NAME`, schema, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, cols string
		var nonUnique int
		if err := rows.Scan(&name, &nonUnique, &cols); err != nil {
			t.Fatal(err)
		}
		kind := "unique"
		if nonUnique == 1 {
			kind = "index"
		}
		s.Indexes = append(s.Indexes, fmt.Sprintf("%s %s (%s)", name, kind, cols))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return &s
}

func checkSchema(t *testing.T, db *sql.DB, cfg dbconn.Config, version int) {
	t.Helper()
	want, ok := schemaAt[version]
	// A version after the last one above is a migration added since
	// (docs/contributing.md): it may only add, so the last shape above
	// must still be there, as the first columns and among the indexes. A
	// new migration then needs no edit of this test.
	added := false
	if !ok {
		last := slices.Max(slices.Collect(maps.Keys(schemaAt)))
		if version < last {
			t.Fatalf("no expected schema for version %d", version)
		}
		want, added = schemaAt[last], true
	}
	for table, w := range want {
		got := shapeOf(t, db, cfg.Name, table)
		switch {
		case w == nil && got != nil:
			t.Errorf("version %d: table %s exists, want none: %+v", version, table, *got)
		case w != nil && got == nil:
			t.Errorf("version %d: table %s missing", version, table)
		case w != nil:
			if got.Collation != w.Collation {
				t.Errorf("version %d: %s collation = %s, want %s", version, table, got.Collation, w.Collation)
			}
			columns, indexes := got.Columns, got.Indexes
			if added {
				columns = columns[:min(len(columns), len(w.Columns))]
				indexes = slices.DeleteFunc(slices.Clone(indexes), func(ix string) bool { return !slices.Contains(w.Indexes, ix) })
			}
			if !slices.Equal(columns, w.Columns) {
				t.Errorf("version %d: %s columns\n got %q\nwant %q", version, table, got.Columns, w.Columns)
			}
			if !slices.Equal(indexes, w.Indexes) {
				t.Errorf("version %d: %s indexes\n got %q\nwant %q", version, table, got.Indexes, w.Indexes)
			}
		}
	}
	st, err := Version(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if st != (State{Version: version}) {
		t.Errorf("Version = %+v, want {Version:%d Dirty:false}", st, version)
	}
}

func TestVersionsAreContiguous(t *testing.T) {
	vs := Versions()
	for i, v := range vs {
		if v != i+1 {
			t.Fatalf("Versions() = %v, want 1..n without gaps", vs)
		}
	}
	// schemaAt may stop before the last version: checkSchema holds a
	// later one to "only adds" (docs/contributing.md).
	if len(vs) < len(schemaAt)-1 {
		t.Fatalf("%d migrations embedded, the test knows the schema of %d", len(vs), len(schemaAt)-1)
	}
	for _, v := range vs {
		for _, dir := range []string{"up", "down"} {
			matches, err := fs.Glob(files, fmt.Sprintf("sql/%06d_*.%s.sql", v, dir))
			if err != nil || len(matches) != 1 {
				t.Errorf("version %d: want exactly one %s file, got %v (%v)", v, dir, matches, err)
			}
		}
	}
}

func TestUpDownUpRoundTrip(t *testing.T) {
	ctx := context.Background()
	cfg, db := newLatin1DB(t)

	checkSchema(t, db, cfg, 0)
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up: %v", err)
	}
	checkSchema(t, db, cfg, Latest())
	for v := Latest() - 1; v >= 0; v-- {
		if err := Down(ctx, cfg, 1); err != nil {
			t.Fatalf("Down 1 to %d: %v", v, err)
		}
		checkSchema(t, db, cfg, v)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("second Up: %v", err)
	}
	checkSchema(t, db, cfg, Latest())
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up with nothing pending: %v", err)
	}
	checkSchema(t, db, cfg, Latest())
}

func TestDownRefusesMoreThanApplied(t *testing.T) {
	ctx := context.Background()
	cfg, db := newLatin1DB(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	err := Down(ctx, cfg, Latest()+1)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("only %d migrations are applied", Latest())) {
		t.Fatalf("Down(%d) = %v, want a refusal", Latest()+1, err)
	}
	checkSchema(t, db, cfg, Latest())
	if err := Down(ctx, cfg, 0); err == nil {
		t.Fatal("Down(0) succeeded")
	}
}

// A database the seed created before Sluice existed is adopted as version
// 1 with its rows, and after Up Japanese names (including 4-byte
// characters) come back byte for byte.
func TestUpAdoptsSeededTableAndStoresJapaneseExactly(t *testing.T) {
	ctx := context.Background()
	cfg, db := newLatin1DB(t)
	if _, err := db.Exec(`CREATE TABLE users (id SERIAL PRIMARY KEY, name VARCHAR(255), email VARCHAR(255), created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO users (name, email) VALUES ('Seed User', 'seed@example.com')`); err != nil {
		t.Fatal(err)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up over a seeded database: %v", err)
	}
	checkSchema(t, db, cfg, Latest())

	var seeded string
	if err := db.QueryRow(`SELECT name FROM users WHERE email = 'seed@example.com'`).Scan(&seeded); err != nil || seeded != "Seed User" {
		t.Fatalf("seeded row after Up: %q, %v", seeded, err)
	}

	names := []string{"山田太郎", "ﾔﾏﾀﾞ ﾀﾛｳ", "𠮷野家 🍣", "はは", "ばば", "ぱぱ"}
	for i, n := range names {
		if _, err := db.Exec(`INSERT INTO users (name, email, submission_id) VALUES (?, ?, ?)`, n, fmt.Sprintf("u%d@example.jp", i), fmt.Sprintf("msg-%d", i)); err != nil {
			t.Fatalf("insert %q: %v", n, err)
		}
	}
	for i, n := range names {
		var got []byte
		if err := db.QueryRow(`SELECT name FROM users WHERE submission_id = ?`, fmt.Sprintf("msg-%d", i)).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if string(got) != n {
			t.Errorf("name %q came back as %q (% x)", n, got, got)
		}
	}
	// utf8mb4_bin compares code points: distinct names stay distinct, where
	// accent-insensitive collations would call は, ば and ぱ equal.
	var matches int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users WHERE name = 'はは'`).Scan(&matches); err != nil {
		t.Fatal(err)
	}
	if matches != 1 {
		t.Errorf("name = 'はは' matched %d rows, want 1", matches)
	}
	if _, err := db.Exec(`INSERT INTO users (name, submission_id) VALUES ('dup', 'msg-0')`); err == nil {
		t.Error("a second row with submission_id msg-0 was accepted")
	}
}

func TestConcurrentMigratorsApplyOnce(t *testing.T) {
	ctx := context.Background()
	cfg, db := newLatin1DB(t)
	logs := captureLogs(t)
	const migrators = 3
	var wg sync.WaitGroup
	errs := make([]error, migrators)
	for i := range migrators {
		wg.Go(func() { errs[i] = Up(ctx, cfg) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrator %d: %v", i, err)
		}
	}
	checkSchema(t, db, cfg, Latest())
	// golang-migrate logs "N/u name (duration)" once per migration it ran.
	for _, v := range Versions() {
		prefix := fmt.Sprintf("%d/u ", v)
		n := 0
		for _, line := range logs() {
			if strings.HasPrefix(line, prefix) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("migration %d ran %d times across %d concurrent migrators, want once", v, n, migrators)
		}
	}
}

// captureLogs records the messages logged through slog.Default until the
// test ends. Tests that use it must not run in parallel.
func captureLogs(t *testing.T) func() []string {
	t.Helper()
	h := &recordingHandler{mu: new(sync.Mutex), msgs: new([]string)}
	prev := slog.Default()
	slog.SetDefault(slog.New(h))
	t.Cleanup(func() { slog.SetDefault(prev) })
	return func() []string {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Clone(*h.msgs)
	}
}

type recordingHandler struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordingHandler) WithGroup(string) slog.Handler      { return h }

func TestForceRejectsUnknownVersion(t *testing.T) {
	cfg, _ := newLatin1DB(t)
	for _, v := range []int{-1, Latest() + 1} {
		if err := Force(context.Background(), cfg, v); err == nil || !strings.Contains(err.Error(), "no such migration") {
			t.Errorf("Force(%d) = %v, want no such migration", v, err)
		}
	}
}

func TestDirtyStateNamesTheRepair(t *testing.T) {
	ctx := context.Background()
	cfg, db := newLatin1DB(t)
	if err := Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := Down(ctx, cfg, Latest()-2); err != nil {
		t.Fatal(err)
	}
	checkSchema(t, db, cfg, 2)
	// A column someone added by hand makes migration 3 fail half-way
	// through golang-migrate's bookkeeping: version 3, dirty.
	if _, err := db.Exec("ALTER TABLE users ADD COLUMN submission_id INT"); err != nil {
		t.Fatal(err)
	}
	const repair = "run `migrator force 2` and `migrator up`"

	err := Up(ctx, cfg)
	var dirty *DirtyError
	if !errors.As(err, &dirty) || *dirty != (DirtyError{Version: 3, Previous: 2}) {
		t.Fatalf("Up over a conflicting column = %v, want a DirtyError at 3", err)
	}
	if !strings.Contains(err.Error(), "migration 3 failed: Error 1060 (42S21): Duplicate column name 'submission_id'") || !strings.Contains(err.Error(), repair) {
		t.Errorf("Up error should carry the cause and %q: %v", repair, err)
	}
	if strings.Contains(err.Error(), "ALTER TABLE") {
		t.Errorf("Up error repeats the migration file: %v", err)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1060 {
		t.Errorf("Up error does not unwrap to the server's error 1060: %v", err)
	}
	if st, err := Version(ctx, cfg); err != nil || st != (State{Version: 3, Dirty: true}) {
		t.Fatalf("Version = %+v, %v; want 3, dirty", st, err)
	}
	for name, op := range map[string]func() error{
		"up again": func() error { return Up(ctx, cfg) },
		"down":     func() error { return Down(ctx, cfg, 1) },
	} {
		err := op()
		if !errors.As(err, &dirty) || dirty.Version != 3 || !strings.Contains(err.Error(), repair) {
			t.Errorf("%s on a dirty database = %v, want the repair command", name, err)
		}
	}

	// The runbook: migration 3 is not applied (the column is the stray
	// one), so undo the stray change, force 2, up.
	if _, err := db.Exec("ALTER TABLE users DROP COLUMN submission_id"); err != nil {
		t.Fatal(err)
	}
	if err := Force(ctx, cfg, 2); err != nil {
		t.Fatalf("Force(2): %v", err)
	}
	if err := Up(ctx, cfg); err != nil {
		t.Fatalf("Up after the repair: %v", err)
	}
	checkSchema(t, db, cfg, Latest())
}

func TestDirtyAtNamesThePreviousVersion(t *testing.T) {
	for _, tc := range []struct {
		version int
		want    string
	}{
		{1, "run `migrator force 0` and `migrator up`; if it is fully applied, run `migrator force 1`"},
		{3, "run `migrator force 2` and `migrator up`; if it is fully applied, run `migrator force 3`"},
		{Latest(), fmt.Sprintf("run `migrator force %d` and `migrator up`", Latest()-1)},
	} {
		if got := DirtyAt(tc.version).Error(); !strings.Contains(got, tc.want) {
			t.Errorf("DirtyAt(%d) = %q, want it to contain %q", tc.version, got, tc.want)
		}
	}
}

func TestLockHeldElsewhereGivesUpReadably(t *testing.T) {
	cfg, db := newLatin1DB(t)
	holder, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var got sql.NullInt64
	if err := holder.QueryRowContext(context.Background(), "SELECT GET_LOCK(?, 0)", lockName(cfg.Name)).Scan(&got); err != nil || got.Int64 != 1 {
		t.Fatalf("take the migration lock: %v, %v", got, err)
	}
	// The deadline bounds how long Up keeps retrying; each attempt still
	// waits golang-migrate's 10 s inside GET_LOCK.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err = Up(ctx, cfg)
	var lockErr *LockError
	if !errors.As(err, &lockErr) {
		t.Fatalf("Up while the lock is held = %v, want a LockError", err)
	}
	want := fmt.Sprintf("another migrator holds the migration lock of database %q", cfg.Name)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "IS_USED_LOCK('"+lockName(cfg.Name)+"')") {
		t.Errorf("error = %q, want it to say %q and how to find the holder", err, want)
	}
	if _, err := holder.ExecContext(context.Background(), "SELECT RELEASE_LOCK(?)", lockName(cfg.Name)); err != nil {
		t.Fatal(err)
	}
	checkSchema(t, db, cfg, 0)
}

func TestDriverConfigLetsDDLRunLong(t *testing.T) {
	cfg := testdb.Server()
	cfg.Password = "pw"
	mc, err := driverConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if mc.ReadTimeout != 0 || !mc.MultiStatements {
		t.Errorf("ReadTimeout = %v, MultiStatements = %v; want none and true", mc.ReadTimeout, mc.MultiStatements)
	}
	// Everything else is dbconn's decision.
	want, err := cfg.MySQLConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if mc.Addr != want.Addr || mc.User != want.User || mc.Passwd != want.Passwd || mc.DBName != want.DBName ||
		mc.InterpolateParams != want.InterpolateParams || mc.Loc != want.Loc || mc.Timeout != want.Timeout {
		t.Errorf("driver config differs from dbconn's beyond the two settings:\n got %+v\nwant %+v", mc, want)
	}
}
