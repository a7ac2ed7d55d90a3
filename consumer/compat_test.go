package consumer

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
)

var (
	valuesFunction = regexp.MustCompile(`(?i)UPDATE\b.*\bVALUES\s*\(`)
	rowAlias       = regexp.MustCompile(`(?i)\)\s+AS\s+\w+\s+ON\s+DUPLICATE`)
)

// usersArgs are the arguments of a one-row usersInsert with the seed's
// name and email; every other column is NULL.
func usersArgs(id, name, email string) []any {
	args := appendUser(nil, userRow{key: id, values: seedValues(name, email)})
	return args
}

// TestUpsertRunsOnEveryServer: the consumer's INSERT … ON DUPLICATE KEY
// UPDATE uses neither VALUES(col) in the update list (deprecated since
// MySQL 8.0.20, so it warns on 8.0 and 8.4 and is due for removal) nor the
// MySQL 8.0.19 row alias that replaces it (a syntax error on MariaDB 10.11,
// shown below), and it runs on this server.
func TestUpsertRunsOnEveryServer(t *testing.T) {
	for _, s := range []insertStatement{usersInsert, quarantineInsert} {
		text := s.text(3)
		if valuesFunction.MatchString(text) || rowAlias.MatchString(text) {
			t.Errorf("%s: uses VALUES() or a row alias: %s", s.table, text)
		}
		if !strings.HasSuffix(text, "ON DUPLICATE KEY UPDATE submission_id = submission_id") {
			t.Errorf("%s: %s", s.table, text)
		}
	}
	ctx := context.Background()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 1})
	if err := migrations.Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	row := usersArgs("m-1", "n", "e@example.com")
	for i, want := range []int64{1, 0} { // inserted, then a no-op
		res, err := db.Exec(usersInsert.text(1), row...)
		if err != nil {
			t.Fatalf("upsert %d: %v", i, err)
		}
		if n, _ := res.RowsAffected(); n != want {
			t.Errorf("upsert %d: %d rows affected, want %d", i, n, want)
		}
	}
	var version string
	if err := db.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(version, "MariaDB") {
		_, err := db.Exec("INSERT INTO users (submission_id, name) VALUES ('m-2', 'n') AS new ON DUPLICATE KEY UPDATE name = new.name")
		if me, ok := dataError(err); ok || me == nil || me.Number != 1064 {
			t.Errorf("MariaDB %s and the row alias: %v, want syntax error 1064 (the reason the consumer does not use it)", version, err)
		}
	}
}

// TestDataErrorsNeedStrictMode: the consumer quarantines a row MySQL
// refuses, which it refuses only under strict SQL mode (STRICT_TRANS_TABLES,
// the default of MySQL 8.0, 8.4 and MariaDB 10.11). Without it the same
// INSERT stores a cut value with a warning, so a server whose sql_mode drops
// strict mode (a parameter group can) loses data silently.
func TestDataErrorsNeedStrictMode(t *testing.T) {
	ctx := context.Background()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 1})
	if err := migrations.Up(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var mode string
	if err := db.QueryRow("SELECT @@GLOBAL.sql_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(mode, "STRICT_TRANS_TABLES") && !strings.Contains(mode, "STRICT_ALL_TABLES") {
		t.Errorf("this server's sql_mode %q is not strict", mode)
	}
	long := strings.Repeat("x", 300) // users.name is VARCHAR(255)
	_, err := db.Exec(usersInsert.text(1), usersArgs("m-strict", long, "e@example.com")...)
	if me, ok := dataError(err); !ok || me.Number != 1406 {
		t.Errorf("strict mode: %v, want data error 1406 (ER_DATA_TOO_LONG)", err)
	}
	if _, err := db.Exec("SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(usersInsert.text(1), usersArgs("m-lax", long, "e@example.com")...); err != nil {
		t.Fatalf("non-strict mode: %v", err)
	}
	var stored int
	if err := db.QueryRow("SELECT CHAR_LENGTH(name) FROM users WHERE submission_id = 'm-lax'").Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored != 255 {
		t.Errorf("non-strict mode stored %d characters of 300", stored)
	}
}
