package fakeaws

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"

	"github.com/sluicehq/sluice/internal/dbconn"
)

// identifierPattern keeps names spliced into SQL plain.
var identifierPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

func checkIdentifier(kind, name string) error {
	if !identifierPattern.MatchString(name) {
		return fmt.Errorf("%s %q: want a letter followed by letters, digits or underscores", kind, name)
	}
	return nil
}

func openAdmin(ctx context.Context, admin dbconn.Config) (*sql.DB, error) {
	db, err := dbconn.Open(ctx, admin, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return nil, err
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("the MySQL server standing in for RDS (%s) does not answer: %w", admin.Endpoint, err)
	}
	return db, nil
}

// backingCreate creates an instance's database and master user, with the
// global privileges RDS gives a master user (it creates users and grants).
func backingCreate(ctx context.Context, admin dbconn.Config, dbName, master, password string) error {
	if err := checkIdentifier("database name", dbName); err != nil {
		return err
	}
	if err := checkIdentifier("master user name", master); err != nil {
		return err
	}
	db, err := openAdmin(ctx, admin)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", dbName).Scan(&exists); err != nil {
		return err
	}
	if exists > 0 {
		return fmt.Errorf("the MySQL server standing in for RDS already has a database %s: another instance holds it", dbName)
	}
	account := "'" + master + "'@'%'"
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"CREATE DATABASE `" + dbName + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci", nil},
		{"CREATE USER " + account + " IDENTIFIED BY ?", []any{password}},
		{"GRANT ALL PRIVILEGES ON *.* TO " + account + " WITH GRANT OPTION", nil},
	} {
		if _, err := db.ExecContext(ctx, stmt.sql, stmt.args...); err != nil {
			return fmt.Errorf("setting up database %s and master user %s: %w", dbName, master, err)
		}
	}
	return nil
}

// backingDelete removes an instance from the backing server: when snapshot
// is not empty its tables are first moved into that database, then the
// users that hold privileges on the instance's database (those the
// application created) and the master user are dropped with the database.
// It returns the tables moved.
func backingDelete(ctx context.Context, admin dbconn.Config, dbName, master, snapshot string) ([]string, error) {
	if err := checkIdentifier("database name", dbName); err != nil {
		return nil, err
	}
	if err := checkIdentifier("master user name", master); err != nil {
		return nil, err
	}
	db, err := openAdmin(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var tables []string
	if snapshot != "" {
		if err := checkIdentifier("snapshot database", snapshot); err != nil {
			return nil, err
		}
		if tables, err = column(ctx, db, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME", dbName); err != nil {
			return nil, err
		}
		if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+snapshot+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"); err != nil {
			return nil, fmt.Errorf("final snapshot: %w", err)
		}
		for _, t := range tables {
			if _, err := db.ExecContext(ctx, "RENAME TABLE `"+dbName+"`.`"+t+"` TO `"+snapshot+"`.`"+t+"`"); err != nil {
				return nil, fmt.Errorf("final snapshot of table %s: %w", t, err)
			}
		}
	}
	grantees, err := column(ctx, db, `SELECT DISTINCT GRANTEE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = ?
		UNION SELECT DISTINCT GRANTEE FROM information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = ?`, dbName, dbName)
	if err != nil {
		return nil, err
	}
	for _, g := range append(grantees, "'"+master+"'@'%'") {
		if _, err := db.ExecContext(ctx, "DROP USER IF EXISTS "+g); err != nil {
			return nil, fmt.Errorf("dropping user %s: %w", g, err)
		}
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+dbName+"`"); err != nil {
		return nil, err
	}
	return tables, nil
}

func column(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, errors.Join(rows.Err())
}
