// Package testdb gives each test its own throw-away database on the MySQL
// (MariaDB) server that tests run against, so packages can test in parallel
// without seeing each other's rows.
//
// The server is taken from SLUICE_TEST_MYSQL (a host:port, default
// 127.0.0.1:3306) with user root and an empty password unless
// SLUICE_TEST_MYSQL_USER / SLUICE_TEST_MYSQL_PASSWORD say otherwise. With
// go test -short (make test-short) every test that asks for a database or a
// user is skipped; otherwise a server that does not answer fails the test.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// Server returns the admin connection settings of the test server, without
// a database selected.
func Server() dbconn.Config {
	addr := os.Getenv("SLUICE_TEST_MYSQL")
	if addr == "" {
		addr = "127.0.0.1:3306"
	}
	user := os.Getenv("SLUICE_TEST_MYSQL_USER")
	if user == "" {
		user = "root"
	}
	return dbconn.Config{
		Endpoint: addr,
		Name:     "mysql",
		User:     user,
		Auth:     dbconn.AuthPassword,
		Password: os.Getenv("SLUICE_TEST_MYSQL_PASSWORD"),
		TLS:      false,
	}
}

// New creates an empty database with a random name, drops it when the test
// ends, and returns admin settings pointing at it.
func New(tb testing.TB) dbconn.Config {
	tb.Helper()
	admin := Server()
	testenv.NeedsMariaDB(tb, admin.Endpoint)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := dbconn.Open(ctx, admin, dbconn.PoolOptions{MaxOpenConns: 2})
	if err != nil {
		tb.Fatalf("testdb: %v", err)
	}
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		tb.Fatalf("testdb: MySQL test server %s does not answer (start MariaDB, or set SLUICE_TEST_MYSQL): %v", admin.Endpoint, err)
	}
	name := "sluice_test_" + randomSuffix(tb)
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		tb.Fatalf("testdb: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := dbconn.Open(ctx, admin, dbconn.PoolOptions{MaxOpenConns: 1})
		if err != nil {
			tb.Errorf("testdb: cleanup: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			tb.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	cfg := admin
	cfg.Name = name
	return cfg
}

// Open is New followed by dbconn.Open, with the pool closed at cleanup.
func Open(tb testing.TB, o dbconn.PoolOptions) (dbconn.Config, *sql.DB) {
	tb.Helper()
	cfg := New(tb)
	db, err := dbconn.Open(context.Background(), cfg, o)
	if err != nil {
		tb.Fatalf("testdb: open %v: %v", cfg, err)
	}
	tb.Cleanup(func() { db.Close() })
	return cfg, db
}

func randomSuffix(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testdb: random: %v", err)
	}
	return fmt.Sprintf("%s_%d", hex.EncodeToString(b), os.Getpid())
}

// NewPassword returns a random password for a user from NewUser.
func NewPassword(tb testing.TB) string {
	tb.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("testdb: random: %v", err)
	}
	return "Pw-" + hex.EncodeToString(b)
}

// NewUser returns a MySQL user name that no other test or test run uses, and
// drops that user ('name'@'%') when the test ends: users are server-wide, so
// unlike databases they cannot hide inside the test's own database.
func NewUser(tb testing.TB) string {
	tb.Helper()
	testenv.NeedsMariaDB(tb, Server().Endpoint)
	user := "sluice_t_" + randomSuffix(tb)[:12]
	tb.Cleanup(func() {
		db, err := dbconn.Open(context.Background(), Server(), dbconn.PoolOptions{})
		if err != nil {
			tb.Errorf("testdb: cleanup: %v", err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP USER IF EXISTS '" + user + "'@'%'"); err != nil {
			tb.Errorf("testdb: drop user %s: %v", user, err)
		}
	})
	return user
}
