package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/testdb"
)

// migratedDB is a fresh database at the latest version, with an extra
// table the application user must not see.
func migratedDB(t *testing.T) (dbconn.Config, *sql.DB) {
	t.Helper()
	cfg, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 2})
	if err := Up(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE other (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	return cfg, db
}

// openAs connects to cfg's database as user with a password.
func openAs(t *testing.T, cfg dbconn.Config, user, password string) *sql.DB {
	t.Helper()
	cfg.User, cfg.Password, cfg.Auth = user, password, dbconn.AuthPassword
	db, err := dbconn.Open(context.Background(), cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mysqlErrNumber(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// grants lists the user's privileges as information_schema reports them:
// "*.*:USAGE", "db.*:PRIV" or "db.table:PRIV", sorted.
func grants(t *testing.T, admin *sql.DB, user string) []string {
	t.Helper()
	grantee := "'" + user + "'@'%'"
	var out []string
	for _, q := range []string{
		`SELECT '*', '*', PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ?`,
		`SELECT TABLE_SCHEMA, '*', PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ?`,
		`SELECT TABLE_SCHEMA, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE = ?`,
		`SELECT TABLE_SCHEMA, TABLE_NAME, CONCAT(PRIVILEGE_TYPE, '(', COLUMN_NAME, ')') FROM information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = ?`,
	} {
		rows, err := admin.Query(q, grantee)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var schema, table, priv string
			if err := rows.Scan(&schema, &table, &priv); err != nil {
				t.Fatal(err)
			}
			out = append(out, schema+"."+table+":"+priv)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

func wantGrants(dbName string) []string {
	var want []string
	for _, table := range AppTables {
		for _, p := range AppPrivileges {
			want = append(want, dbName+"."+table+":"+p)
		}
	}
	want = append(want, "*.*:USAGE")
	slices.Sort(want)
	return want
}

func TestEnsureAppUserGrantsExactlyWhatTheConsumerNeeds(t *testing.T) {
	ctx := context.Background()
	cfg, admin := migratedDB(t)
	user := testdb.NewUser(t)
	// Quotes, backslash, placeholder and comment characters: the password
	// must reach the server intact, not be read as SQL.
	password := `p'a"s\s%_?;-- ` + "`x`"
	if err := EnsureAppUser(ctx, cfg, user, password); err != nil {
		t.Fatalf("EnsureAppUser: %v", err)
	}
	if got, want := grants(t, admin, user), wantGrants(cfg.Name); !slices.Equal(got, want) {
		t.Fatalf("grants\n got %q\nwant %q", got, want)
	}

	app := openAs(t, cfg, user, password)
	allowed := []string{
		`INSERT INTO users (name, email, submission_id, submitted_at) VALUES ('山田太郎', 'taro@example.jp', 'm-1', '2026-01-02 03:04:05.678')`,
		`SELECT id, name, email, created_at, submission_id, submitted_at FROM users WHERE submission_id = 'm-1'`,
		`UPDATE users SET email = 'taro@example.com' WHERE submission_id = 'm-1'`,
		`INSERT INTO users (name, email, submission_id) VALUES ('x', 'x@example.jp', 'm-1') ON DUPLICATE KEY UPDATE submission_id = submission_id`,
		`INSERT INTO quarantine (submission_id, body, reason, detail) VALUES ('m-2', X'FF00', 'invalid_json', 'not JSON')`,
		`SELECT id, submission_id, body, reason, detail, submitted_at, quarantined_at FROM quarantine`,
		`UPDATE quarantine SET detail = 'still not JSON' WHERE submission_id = 'm-2'`,
		// The consumer's idempotent insert reads submission_id in its
		// UPDATE clause, which is why SELECT is needed (MySQL error 1143
		// without it).
		`INSERT INTO quarantine (submission_id, body, reason) VALUES ('m-2', X'00', 'invalid_json') ON DUPLICATE KEY UPDATE submission_id = submission_id`,
	}
	for _, q := range allowed {
		if _, err := app.Exec(q); err != nil {
			t.Errorf("as %s: %s: %v", user, q, err)
		}
	}
	// 1142 table command denied, 1044 database access denied, 1227
	// global privilege needed, 1045 (never here) would be a login failure.
	denied := []string{
		`DELETE FROM users`,
		`DELETE FROM quarantine`,
		`TRUNCATE TABLE quarantine`,
		`DROP TABLE users`,
		`ALTER TABLE users ADD COLUMN x INT`,
		`CREATE TABLE evil (id INT)`,
		`CREATE INDEX evil ON users (email)`,
		`SELECT * FROM other`,
		`INSERT INTO other VALUES (1)`,
		`SELECT * FROM schema_migrations`,
		`UPDATE schema_migrations SET dirty = 1`,
		`SELECT * FROM mysql.user`,
		`CREATE DATABASE evil`,
		"CREATE USER 'evil'@'%' IDENTIFIED BY 'x'",
		"GRANT SELECT ON `" + cfg.Name + "`.`other` TO '" + user + "'@'%'",
	}
	for _, q := range denied {
		_, err := app.Exec(q)
		if n := mysqlErrNumber(err); n != 1142 && n != 1044 && n != 1227 {
			t.Errorf("as %s: %s: got %v, want access denied", user, q, err)
		}
	}
}

func TestEnsureAppUserIsIdempotentAndRotatesThePassword(t *testing.T) {
	ctx := context.Background()
	cfg, admin := migratedDB(t)
	user := testdb.NewUser(t)
	if err := EnsureAppUser(ctx, cfg, user, "first-secret"); err != nil {
		t.Fatal(err)
	}
	if err := EnsureAppUser(ctx, cfg, user, "first-secret"); err != nil {
		t.Fatalf("second call, same password: %v", err)
	}
	if got, want := grants(t, admin, user), wantGrants(cfg.Name); !slices.Equal(got, want) {
		t.Fatalf("after second call\n got %q\nwant %q", got, want)
	}
	if err := openAs(t, cfg, user, "first-secret").Ping(); err != nil {
		t.Fatalf("login with the password: %v", err)
	}

	// A privilege an operator added by hand is not EnsureAppUser's to take.
	if _, err := admin.Exec("GRANT DELETE ON " + quoteIdent(cfg.Name) + ".`quarantine` TO '" + user + "'@'%'"); err != nil {
		t.Fatal(err)
	}
	if err := EnsureAppUser(ctx, cfg, user, "second-secret"); err != nil {
		t.Fatalf("rotation: %v", err)
	}
	if err := openAs(t, cfg, user, "second-secret").Ping(); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := openAs(t, cfg, user, "first-secret").Ping(); mysqlErrNumber(err) != 1045 {
		t.Fatalf("login with the old password: got %v, want access denied (1045)", err)
	}
	want := append(wantGrants(cfg.Name), cfg.Name+".quarantine:DELETE")
	slices.Sort(want)
	if got := grants(t, admin, user); !slices.Equal(got, want) {
		t.Fatalf("after rotation\n got %q\nwant %q", got, want)
	}
}

func TestEnsureAppUserRejectsUnsafeInput(t *testing.T) {
	cfg, admin := migratedDB(t)
	before := countUsers(t, admin)
	for _, tc := range []struct {
		user, password, want string
	}{
		{"", "pw", "want a letter"},
		{"root'@'%' IDENTIFIED BY 'x'; --", "pw", "want a letter"},
		{"a b", "pw", "want a letter"},
		{"app`x", "pw", "want a letter"},
		{"sluice-app", "pw", "want a letter"},
		{"1app", "pw", "want a letter"},
		{"アプリ", "pw", "want a letter"},
		{strings.Repeat("a", 33), "pw", "want a letter"},
		{"sluice_app", "", "empty password"},
		{cfg.User, "pw", "is the user the migrator connects as"},
		{strings.ToUpper(cfg.User), "pw", "is the user the migrator connects as"},
	} {
		err := EnsureAppUser(context.Background(), cfg, tc.user, tc.password)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("EnsureAppUser(%q) = %v, want an error containing %q", tc.user, err, tc.want)
		}
	}
	if after := countUsers(t, admin); after != before {
		t.Errorf("accounts on the server went from %d to %d", before, after)
	}
	if err := ValidateUserName(strings.Repeat("a", 32)); err != nil {
		t.Errorf("a 32-character name was rejected: %v", err)
	}
}

func countUsers(t *testing.T, admin *sql.DB) int {
	t.Helper()
	var n int
	if err := admin.QueryRow("SELECT COUNT(*) FROM mysql.user").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnsureAppUserNeedsTheTables(t *testing.T) {
	cfg, _ := testdb.Open(t, dbconn.PoolOptions{})
	user := testdb.NewUser(t)
	err := EnsureAppUser(context.Background(), cfg, user, "a-secret")
	if n := mysqlErrNumber(err); n != 1146 {
		t.Fatalf("EnsureAppUser before Up = %v, want no such table (1146)", err)
	}
	if strings.Contains(err.Error(), "a-secret") {
		t.Fatalf("error shows the password: %v", err)
	}
}

func TestRedactKeepsThePasswordOutOfErrors(t *testing.T) {
	const pw = "hunter2-very-secret"
	for _, tc := range []struct {
		name string
		in   error
	}{
		{"syntax error quoting the statement", &mysql.MySQLError{Number: 1064, SQLState: [5]byte{'4', '2', '0', '0', '0'},
			Message: "You have an error in your SQL syntax; check the manual near 'IDENTIFIED BY '" + pw + "'' at line 1"}},
		{"quote cut inside the password", &mysql.MySQLError{Number: 1064,
			Message: "You have an error in your SQL syntax near 'BY 'hunter2-ve' at line 1"}},
		{"message echoing the password", &mysql.MySQLError{Number: 1819, Message: "password " + pw + " too weak"}},
		{"wrapped driver error", fmt.Errorf("exec: %w", errors.New("bad packet after "+pw))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := redact(tc.in, pw).Error()
			if strings.Contains(got, "hunter2") {
				t.Errorf("redact(%q) = %q still shows (part of) the password", tc.in, got)
			}
			if n := mysqlErrNumber(tc.in); n != 0 && mysqlErrNumber(redact(tc.in, pw)) != n {
				t.Errorf("redact lost the error number %d: %q", n, got)
			}
		})
	}
}
