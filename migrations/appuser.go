package migrations

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// DefaultAppUser is the name of the application user the consumer logs in
// as, unless the stack names another.
const DefaultAppUser = "sluice_app"

// AppTables are the tables the application user may use, and AppPrivileges
// what it may do there: the consumer inserts rows, reads them back to
// resolve duplicates, and updates them on redelivery. It may not delete,
// alter or drop anything, nor see any other table.
var (
	AppTables     = []string{"users", "quarantine"}
	AppPrivileges = []string{"SELECT", "INSERT", "UPDATE"}
)

// userNamePattern keeps the name a plain identifier: it is spliced into
// account names, which MySQL does not accept as placeholders everywhere,
// so only characters that need no quoting at all are allowed. 32 is MySQL
// 8's limit on user names (MariaDB allows more).
var userNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)

// ValidateUserName reports whether name can be used as the application
// user.
func ValidateUserName(name string) error {
	if !userNamePattern.MatchString(name) {
		return fmt.Errorf("application user name %q: want a letter followed by up to 31 letters, digits or underscores", name)
	}
	return nil
}

// EnsureAppUser creates the application user 'user'@'%' if it does not
// exist, sets its password (so re-running it rotates the password), and
// grants it AppPrivileges on AppTables of cfg's database. It only grants:
// privileges someone else gave the user are left alone. The tables must
// exist, so run Up first. The password never appears in an error.
func EnsureAppUser(ctx context.Context, cfg dbconn.Config, user, password string) error {
	return EnsureAppUserWith(ctx, cfg, user, password, "")
}

// The authentication plugins EnsureAppUserWith accepts for the
// application user on MySQL ("" is PluginCachingSHA2).
const (
	PluginCachingSHA2  = "caching_sha2_password"
	PluginNativeLegacy = "mysql_native_password"
)

// EnsureAppUserWith is EnsureAppUser with the authentication plugin the
// user is created with on MySQL: PluginNativeLegacy is the fallback for an
// RDS Proxy that cannot log in to MySQL 8.4 with caching_sha2_password
// (on 8.4 the server must then run with mysql_native_password=ON).
func EnsureAppUserWith(ctx context.Context, cfg dbconn.Config, user, password, plugin string) error {
	if plugin != "" && plugin != PluginCachingSHA2 && plugin != PluginNativeLegacy {
		return fmt.Errorf("migrations: application user %s: authentication plugin %q: want %s or %s", user, plugin, PluginCachingSHA2, PluginNativeLegacy)
	}
	if err := ValidateUserName(user); err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if password == "" {
		return fmt.Errorf("migrations: application user %s: empty password", user)
	}
	if strings.EqualFold(user, cfg.User) {
		return fmt.Errorf("migrations: application user %s is the user the migrator connects as: refusing to change its password and privileges", user)
	}
	if cfg.Name == "" || strings.ContainsRune(cfg.Name, 0) {
		return fmt.Errorf("migrations: database name %q cannot be granted on", cfg.Name)
	}
	// One statement per Exec: nothing here should ever run two.
	cfg.MultiStatements = false
	db, err := dbconn.Open(ctx, cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	defer db.Close()
	if err := waitReachable(ctx, cfg, func() error { return db.PingContext(ctx) }); err != nil {
		return fmt.Errorf("migrations: %v: %w", cfg, err)
	}

	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return fmt.Errorf("migrations: read the server version on %v: %w", cfg, err)
	}
	account := "'" + user + "'@'%'" // safe: ValidateUserName allows no quote
	for _, stmt := range appUserStatements(account, version, plugin) {
		if _, err := db.ExecContext(ctx, stmt, password); err != nil {
			verb, _, _ := strings.Cut(stmt, " "+account)
			return fmt.Errorf("migrations: %s %s on %v: %w", verb, account, cfg, redact(err, password))
		}
	}
	privs := strings.Join(AppPrivileges, ", ")
	for _, table := range AppTables {
		stmt := "GRANT " + privs + " ON " + quoteIdent(cfg.Name) + "." + quoteIdent(table) + " TO " + account
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("migrations: %s: %w", stmt, err)
		}
	}
	return nil
}

// appUserStatements creates the account if it does not exist and sets its
// password, on the server whose VERSION() is version. CREATE USER IF NOT
// EXISTS leaves an existing user's password alone, so ALTER USER sets it
// every time. The password is a placeholder, interpolated and escaped by
// the driver.
//
// The authentication plugin is the server's default, except on MySQL 8.4
// and later, where both statements name caching_sha2_password: that is
// 8.4's default, and naming it makes ALTER USER (which otherwise keeps the
// account's plugin) move an account created under 8.0 with
// mysql_native_password, which 8.4 disables by default, so the upgrade
// cannot lock the application out. On MySQL 8.0 the default is left alone,
// and MariaDB has no caching_sha2_password at all. plugin
// PluginNativeLegacy names mysql_native_password on any MySQL; MariaDB's
// default is that plugin already.
func appUserStatements(account, version, plugin string) []string {
	with := ""
	switch {
	case plugin == PluginNativeLegacy && mysqlAtLeast(version, 8, 0):
		with = " WITH " + PluginNativeLegacy
	case plugin != PluginNativeLegacy && mysqlAtLeast(version, 8, 4):
		with = " WITH " + PluginCachingSHA2
	}
	return []string{
		"CREATE USER IF NOT EXISTS " + account + " IDENTIFIED" + with + " BY ?",
		"ALTER USER " + account + " IDENTIFIED" + with + " BY ?",
	}
}

// mysqlAtLeast reports whether version, a VERSION() string, is MySQL (not
// MariaDB, whose VERSION() says so) at major.minor or later.
func mysqlAtLeast(version string, major, minor int) bool {
	if strings.Contains(strings.ToLower(version), "mariadb") {
		return false
	}
	var maj, min int
	if _, err := fmt.Sscanf(version, "%d.%d", &maj, &min); err != nil {
		return false
	}
	return maj > major || maj == major && min >= minor
}

// quoteIdent quotes a MySQL identifier; a backtick inside is doubled.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// redact keeps the password out of an error from a statement that carried
// it. Server messages quote the statement after "near '" (syntax errors),
// possibly cut in the middle of the password, so that tail is dropped, and
// any remaining occurrence is masked.
func redact(err error, password string) error {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		if strings.Contains(err.Error(), password) {
			return errors.New(strings.ReplaceAll(err.Error(), password, "[redacted]"))
		}
		return err
	}
	msg := me.Message
	if i := strings.Index(msg, "near '"); i >= 0 {
		msg = msg[:i] + "near [statement redacted]"
	}
	msg = strings.ReplaceAll(msg, password, "[redacted]")
	return &mysql.MySQLError{Number: me.Number, SQLState: me.SQLState, Message: msg}
}
