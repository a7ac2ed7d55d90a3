package migrations

import (
	"context"
	"database/sql"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/testdb"
)

// The tests in this file check the differences between MySQL 8.0, MySQL 8.4
// and MariaDB 10.11 that docs/database.md lists, as far as the MariaDB
// server the tests run on can exercise them.

// mysqlReserved are the reserved words of MySQL 8.0 and 8.4: the words
// INFORMATION_SCHEMA.KEYWORDS marks RESERVED in MySQL 8.0
// (mysql-test/r/information_schema_keywords.result of mysql/mysql-server),
// and the words the 8.0 and 8.4 manuals list as reserved in later 8.0
// releases (INTERSECT, QUALIFY, TABLESAMPLE). A word reserved only in an
// early release (ARRAY, MEMBER) stays in: a name that avoids it costs
// nothing.
var mysqlReserved = strings.Fields(`
ACCESSIBLE ADD ALL ALTER ANALYZE AND ARRAY AS ASC ASENSITIVE BEFORE BETWEEN BIGINT BINARY BLOB BOTH BY
CALL CASCADE CASE CHANGE CHAR CHARACTER CHECK COLLATE COLUMN CONDITION CONSTRAINT CONTINUE CONVERT CREATE
CROSS CUBE CUME_DIST CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER CURSOR DATABASE DATABASES
DAY_HOUR DAY_MICROSECOND DAY_MINUTE DAY_SECOND DEC DECIMAL DECLARE DEFAULT DELAYED DELETE DENSE_RANK DESC
DESCRIBE DETERMINISTIC DISTINCT DISTINCTROW DIV DOUBLE DROP DUAL EACH ELSE ELSEIF EMPTY ENCLOSED ESCAPED
EXCEPT EXISTS EXIT EXPLAIN FALSE FETCH FIRST_VALUE FLOAT FLOAT4 FLOAT8 FOR FORCE FOREIGN FROM FULLTEXT
FUNCTION GENERATED GET GRANT GROUP GROUPING GROUPS HAVING HIGH_PRIORITY HOUR_MICROSECOND HOUR_MINUTE
HOUR_SECOND IF IGNORE IN INDEX INFILE INNER INOUT INSENSITIVE INSERT INT INT1 INT2 INT3 INT4 INT8 INTEGER
INTERSECT INTERVAL INTO IO_AFTER_GTIDS IO_BEFORE_GTIDS IS ITERATE JOIN JSON_TABLE KEY KEYS KILL LAG
LAST_VALUE LATERAL LEAD LEADING LEAVE LEFT LIKE LIMIT LINEAR LINES LOAD LOCALTIME LOCALTIMESTAMP LOCK LONG
LONGBLOB LONGTEXT LOOP LOW_PRIORITY MASTER_BIND MASTER_SSL_VERIFY_SERVER_CERT MATCH MAXVALUE MEDIUMBLOB
MEDIUMINT MEDIUMTEXT MEMBER MIDDLEINT MINUTE_MICROSECOND MINUTE_SECOND MOD MODIFIES NATURAL NOT
NO_WRITE_TO_BINLOG NTH_VALUE NTILE NULL NUMERIC OF ON OPTIMIZE OPTIMIZER_COSTS OPTION OPTIONALLY OR ORDER
OUT OUTER OUTFILE OVER PARTITION PERCENT_RANK PERSIST PERSIST_ONLY PRECISION PRIMARY PROCEDURE PURGE
QUALIFY RANGE RANK READ READS READ_WRITE REAL RECURSIVE REFERENCES REGEXP RELEASE RENAME REPEAT REPLACE
REQUIRE RESIGNAL RESTRICT RETURN REVOKE RIGHT RLIKE ROW ROWS ROW_NUMBER SCHEMA SCHEMAS SECOND_MICROSECOND
SELECT SENSITIVE SEPARATOR SET SHOW SIGNAL SMALLINT SPATIAL SPECIFIC SQL SQLEXCEPTION SQLSTATE SQLWARNING
SQL_BIG_RESULT SQL_CALC_FOUND_ROWS SQL_SMALL_RESULT SSL STARTING STORED STRAIGHT_JOIN SYSTEM TABLE
TABLESAMPLE TERMINATED THEN TINYBLOB TINYINT TINYTEXT TO TRAILING TRIGGER TRUE UNDO UNION UNIQUE UNLOCK
UNSIGNED UPDATE USAGE USE USING UTC_DATE UTC_TIME UTC_TIMESTAMP VALUES VARBINARY VARCHAR VARCHARACTER
VARYING VIRTUAL WHEN WHERE WHILE WINDOW WITH WRITE XOR YEAR_MONTH ZEROFILL`)

// schemaIdentifiers lists every table, column and index name of the
// migrated schema in cfg's database, golang-migrate's table included.
func schemaIdentifiers(t *testing.T, db *sql.DB, schema string) []string {
	t.Helper()
	var names []string
	for _, q := range []string{
		"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?",
		"SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ?",
		"SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND INDEX_NAME <> 'PRIMARY'",
	} {
		rows, err := db.Query(q, schema)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			names = append(names, n)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TestSchemaIdentifiersAreNotReservedWords: the consumer's and the seed's
// statements name tables and columns unquoted, so no identifier may be a
// reserved word of MySQL 8.0, MySQL 8.4 or MariaDB. MySQL's list is above;
// MariaDB is asked by using each name unquoted where a reserved word is a
// syntax error.
func TestSchemaIdentifiersAreNotReservedWords(t *testing.T) {
	cfg, db := migratedDB(t)
	names := schemaIdentifiers(t, db, cfg.Name)
	for _, want := range []string{"users", "quarantine", "schema_migrations", "submission_id", "body", "reason", "detail", "name", "email"} {
		if !slices.Contains(names, want) {
			t.Fatalf("identifier %q not found in %v: the check reads the wrong schema", want, names)
		}
	}
	for _, n := range names {
		if slices.Contains(mysqlReserved, strings.ToUpper(n)) {
			t.Errorf("%q is a reserved word of MySQL 8.0/8.4", n)
		}
		if _, err := db.Exec("CREATE TEMPORARY TABLE " + n + " (" + n + " INT)"); err != nil {
			t.Errorf("%q used unquoted on MariaDB: %v", n, err)
			continue
		}
		if _, err := db.Exec("DROP TEMPORARY TABLE " + n); err != nil {
			t.Fatal(err)
		}
	}
	// The probe can fail: a MariaDB reserved word is refused.
	if _, err := db.Exec("CREATE TEMPORARY TABLE t (interval INT)"); mysqlErrNumber(err) != 1064 {
		t.Errorf("a reserved word (INTERVAL) unquoted: %v, want syntax error 1064", err)
	}
	t.Logf("%d identifiers checked: %v", len(names), names)
}

var mysql0900 = regexp.MustCompile(`(?i)_0900_|uca1400`)

// TestSchemaUsesCollationsEveryServerHas: MariaDB 10.11 has no
// utf8mb4_0900_* collations (MySQL 8's default) and MySQL has no
// uca1400 ones (MariaDB 10.10+), so the migrations name utf8mb4_bin and
// ascii_bin, which both have, and every column and table of ours has one of
// them whatever the server's default.
func TestSchemaUsesCollationsEveryServerHas(t *testing.T) {
	cfg, db := migratedDB(t)
	var version string
	var has0900 int
	if err := db.QueryRow("SELECT VERSION(), (SELECT COUNT(*) FROM information_schema.COLLATIONS WHERE COLLATION_NAME = 'utf8mb4_0900_ai_ci')").Scan(&version, &has0900); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(version, "10.11.") && has0900 != 0 {
		t.Errorf("MariaDB %s has utf8mb4_0900_ai_ci: the difference docs/database.md describes is gone", version)
	}
	err := fs.WalkDir(files, "sql", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		text, err := fs.ReadFile(files, path)
		if err != nil {
			return err
		}
		if mysql0900.Match([]byte(stripComments(string(text)))) {
			t.Errorf("%s names a collation only one of MySQL and MariaDB has", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT TABLE_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('users', 'quarantine') AND COLLATION_NAME IS NOT NULL
		UNION ALL SELECT TABLE_NAME, '', TABLE_COLLATION FROM information_schema.TABLES
		WHERE TABLE_SCHEMA = ? AND TABLE_NAME IN ('users', 'quarantine')`, cfg.Name, cfg.Name)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var table, column, collation string
		if err := rows.Scan(&table, &column, &collation); err != nil {
			t.Fatal(err)
		}
		n++
		if collation != "utf8mb4_bin" && collation != "ascii_bin" {
			t.Errorf("%s.%s has collation %s, want utf8mb4_bin or ascii_bin", table, column, collation)
		}
	}
	if n < 8 { // 6 text columns and 2 tables
		t.Fatalf("only %d collations read: the check reads the wrong schema", n)
	}
}

func TestAppUserStatementsFollowTheServer(t *testing.T) {
	const account = "'app'@'%'"
	native := []string{"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED BY ?", "ALTER USER 'app'@'%' IDENTIFIED BY ?"}
	sha2 := []string{"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED WITH caching_sha2_password BY ?", "ALTER USER 'app'@'%' IDENTIFIED WITH caching_sha2_password BY ?"}
	for version, want := range map[string][]string{
		"8.0.39":                     native, // the server's default plugin
		"8.0.40-debug":               native,
		"8.4.3":                      sha2,
		"8.4.0-commercial":           sha2,
		"9.1.0":                      sha2,
		"10.11.19-MariaDB-0+deb12u1": native, // no caching_sha2_password on MariaDB
		"11.4.2-MariaDB":             native,
		"garbage":                    native,
	} {
		if got := appUserStatements(account, version, ""); !slices.Equal(got, want) {
			t.Errorf("VERSION() %s: %q, want %q", version, got, want)
		}
	}
	// The fallback names mysql_native_password on MySQL and leaves
	// MariaDB, whose default it is, alone.
	legacy := []string{"CREATE USER IF NOT EXISTS 'app'@'%' IDENTIFIED WITH mysql_native_password BY ?", "ALTER USER 'app'@'%' IDENTIFIED WITH mysql_native_password BY ?"}
	for version, want := range map[string][]string{
		"8.0.39":                     legacy,
		"8.4.3":                      legacy,
		"10.11.19-MariaDB-0+deb12u1": native,
		"garbage":                    native,
	} {
		if got := appUserStatements(account, version, PluginNativeLegacy); !slices.Equal(got, want) {
			t.Errorf("VERSION() %s with %s: %q, want %q", version, PluginNativeLegacy, got, want)
		}
	}
}

// TestAppUserOnThisServer runs EnsureAppUser's statements on the MariaDB
// server: the account gets the server's default plugin and logs in, and the
// plugin the MySQL 8.4 statements name is one MariaDB does not have, which
// is why the statements depend on the server.
func TestAppUserOnThisServer(t *testing.T) {
	ctx := context.Background()
	cfg, admin := migratedDB(t)
	var version string
	if err := admin.QueryRow("SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(version, "MariaDB") {
		t.Logf("server %s is not MariaDB: checking its own statements only", version)
	}
	user, password := testdb.NewUser(t), testdb.NewPassword(t)
	for range 2 { // create, then the ALTER of an existing account
		if err := EnsureAppUser(ctx, cfg, user, password); err != nil {
			t.Fatal(err)
		}
	}
	var plugin string
	if err := admin.QueryRow("SELECT plugin FROM mysql.user WHERE User = ? AND Host = '%'", user).Scan(&plugin); err != nil {
		t.Fatal(err)
	}
	want := "mysql_native_password"
	if mysqlAtLeast(version, 8, 4) {
		want = "caching_sha2_password"
	}
	if plugin != want {
		t.Errorf("application user's plugin %q, want %q on %s", plugin, want, version)
	}
	app := openAs(t, cfg, user, password)
	if err := app.PingContext(ctx); err != nil {
		t.Fatalf("application user cannot log in: %v", err)
	}
	if strings.Contains(version, "MariaDB") {
		_, err := admin.Exec("CREATE USER IF NOT EXISTS '" + testdb.NewUser(t) + "'@'%' IDENTIFIED WITH caching_sha2_password BY 'x'")
		if err == nil {
			t.Error("MariaDB accepted caching_sha2_password: the MySQL 8.4 statements would run here too")
		}
	}
}

// TestDDLSyntaxBothServersParse runs the online-DDL clauses the migrations
// use, in the combinations MySQL allows, on this server.
func TestDDLSyntaxBothServersParse(t *testing.T) {
	_, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 1})
	for _, stmt := range []string{
		"CREATE TABLE t (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, a VARCHAR(10) CHARACTER SET ascii COLLATE ascii_bin NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
		"ALTER TABLE t ADD COLUMN b VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL, ALGORITHM=INSTANT",
		"ALTER TABLE t DROP COLUMN b, ALGORITHM=INPLACE, LOCK=NONE",
		"ALTER TABLE t ADD UNIQUE KEY t_a (a), ALGORITHM=INPLACE, LOCK=NONE",
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Errorf("%s: %v", stmt, err)
		}
	}
	// A change that cannot be made in place is refused, not copied.
	if _, err := db.Exec("ALTER TABLE t MODIFY a INT, ALGORITHM=INPLACE, LOCK=NONE"); err == nil {
		t.Error("a column type change ran with ALGORITHM=INPLACE: the guard guards nothing")
	}
}
