// Package migrations owns Sluice's database schema: the golang-migrate SQL
// files embedded from sql/, the operations that apply them (Up, Down,
// Version, Force), the least-privileged application user (EnsureAppUser),
// and the event contract of the migrator Lambda (Handle).
//
// Every operation opens its own connection with internal/dbconn's driver
// configuration (so IAM tokens never pass through a URL string), and
// closes it before returning. An operation first waits for the database to
// become reachable, for up to cfg.ConnectWait (see UnreachableError): a
// first deploy invokes the migrator while RDS Proxy's target is still
// registering. golang-migrate serialises concurrent migrators with
// MySQL's GET_LOCK on that connection; a migrator that finds the lock taken
// keeps trying for LockWait before giving up with an error that says so.
//
// Progress is logged through slog.Default, which the migrator command sets
// to a JSON handler inside Lambda.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/golang-migrate/migrate/v4"
	"github.com/golang-migrate/migrate/v4/database"
	"github.com/golang-migrate/migrate/v4/database/mysql"
	"github.com/golang-migrate/migrate/v4/source"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/sluicehq/sluice/internal/dbconn"
)

//go:embed sql/*.sql
var files embed.FS

// MigrationsTable is the table in which golang-migrate records the schema
// version (one row: version, dirty).
const MigrationsTable = "schema_migrations"

// LockWait bounds how long an operation waits for another migrator to
// release the migration lock. It is long enough for the slowest migration
// here (the utf8mb4 conversion rewrites users) on a table of a few million
// rows, and shorter than the migrator Lambda's timeout.
const LockWait = 5 * time.Minute

// lockRetryPause spaces the attempts; each attempt already waits up to
// 10 s inside the server (golang-migrate's GET_LOCK timeout).
const lockRetryPause = time.Second

// driverLockTimeout is golang-migrate's client-side bound on one lock
// attempt. It must exceed the driver's server-side GET_LOCK wait (10 s):
// when it fires first, the abandoned GET_LOCK can still succeed later.
const driverLockTimeout = 20 * time.Second

// State is the schema version recorded in the database.
type State struct {
	// Version is the last applied migration; 0 means none.
	Version int
	// Dirty means migration Version failed part-way and needs a human:
	// see DirtyError.
	Dirty bool
}

// DirtyError reports a database whose last migration failed part-way.
// MySQL DDL commits implicitly, so the failed step may be partly applied;
// golang-migrate refuses to continue until someone has looked and set the
// version by hand with Force.
type DirtyError struct {
	Version  int // the version recorded as dirty
	Previous int // the version before it (0: none)
}

func (e *DirtyError) Error() string {
	return fmt.Sprintf("database is dirty at version %d (a migration failed part-way; MySQL DDL is not transactional): "+
		"inspect the schema; if migration %d is not applied, run `migrator force %d` and `migrator up`; "+
		"if it is fully applied, run `migrator force %d` "+
		`(Lambda events {"action":"force","version":%d} then {"action":"up",...})`,
		e.Version, e.Version, e.Previous, e.Version, e.Previous)
}

// LockError reports that another migrator kept the migration lock for
// longer than LockWait.
type LockError struct {
	Database string
	LockName string // the GET_LOCK name, for SELECT IS_USED_LOCK(...)
	Waited   time.Duration
}

func (e *LockError) Error() string {
	return fmt.Sprintf("another migrator holds the migration lock of database %q and did not release it within %s: "+
		"let it finish and run this again (the holder's connection id: SELECT IS_USED_LOCK('%s'))",
		e.Database, e.Waited.Round(time.Second), e.LockName)
}

// Up applies all pending migrations. Nothing pending is success.
func Up(ctx context.Context, cfg dbconn.Config) error {
	return withMigrate(ctx, cfg, func(m *migrate.Migrate) error {
		err := m.Up()
		if errors.Is(err, migrate.ErrNoChange) {
			return nil
		}
		return err
	})
}

// Down reverts the last steps migrations. It refuses to revert more
// migrations than are applied.
func Down(ctx context.Context, cfg dbconn.Config, steps int) error {
	if steps < 1 {
		return fmt.Errorf("migrations: down: steps must be at least 1, got %d", steps)
	}
	return withMigrate(ctx, cfg, func(m *migrate.Migrate) error {
		st, err := state(m)
		if err != nil {
			return err
		}
		if !st.Dirty && steps > st.Version {
			return fmt.Errorf("down %d: only %d migrations are applied", steps, st.Version)
		}
		return m.Steps(-steps)
	})
}

// Version reports the recorded schema version.
func Version(ctx context.Context, cfg dbconn.Config) (State, error) {
	var st State
	err := withMigrate(ctx, cfg, func(m *migrate.Migrate) error {
		var err error
		st, err = state(m)
		return err
	})
	return st, err
}

// Force records version as applied and clean without running any SQL: the
// repair step after a dirty migration was inspected. 0 records "no
// migration applied".
func Force(ctx context.Context, cfg dbconn.Config, version int) error {
	if version != 0 && !Has(version) {
		return fmt.Errorf("migrations: force %d: no such migration (known: %v, or 0 for none)", version, Versions())
	}
	v := version
	if v == 0 {
		v = database.NilVersion
	}
	return withMigrate(ctx, cfg, func(m *migrate.Migrate) error { return m.Force(v) })
}

// Versions lists the embedded migration versions in order.
func Versions() []int {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		panic("migrations: embedded sql directory unreadable: " + err.Error())
	}
	var vs []int
	for _, e := range entries {
		m, err := source.DefaultParse(e.Name())
		if err != nil || m.Direction != source.Up {
			continue
		}
		vs = append(vs, int(m.Version))
	}
	return vs
}

// Has reports whether version is an embedded migration.
func Has(version int) bool {
	for _, v := range Versions() {
		if v == version {
			return true
		}
	}
	return false
}

// Latest is the version Up migrates to.
func Latest() int {
	vs := Versions()
	return vs[len(vs)-1]
}

func state(m *migrate.Migrate) (State, error) {
	v, dirty, err := m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return State{}, nil
	}
	if err != nil {
		return State{}, fmt.Errorf("read schema version: %w", err)
	}
	return State{Version: int(v), Dirty: dirty}, nil
}

// withMigrate runs op on a fresh migrate instance, retrying while another
// migrator holds the lock (up to LockWait, or until ctx is done), and turns
// dirty states into a DirtyError.
func withMigrate(ctx context.Context, cfg dbconn.Config, op func(*migrate.Migrate) error) error {
	start := time.Now()
	for {
		err := attempt(ctx, cfg, op)
		if !errors.Is(err, database.ErrLocked) && !errors.Is(err, migrate.ErrLockTimeout) {
			return err
		}
		lockErr := &LockError{Database: cfg.Name, LockName: lockName(cfg.Name), Waited: time.Since(start)}
		if lockErr.Waited >= LockWait || ctx.Err() != nil {
			return fmt.Errorf("migrations: %v: %w", cfg, lockErr)
		}
		slog.InfoContext(ctx, "migration lock held by another migrator; waiting", "database", cfg.Name, "waited", lockErr.Waited.Round(time.Second).String())
		select {
		case <-ctx.Done():
			lockErr.Waited = time.Since(start)
			return fmt.Errorf("migrations: %v: %w", cfg, lockErr)
		case <-time.After(lockRetryPause):
		}
	}
}

func attempt(ctx context.Context, cfg dbconn.Config, op func(*migrate.Migrate) error) (err error) {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("migrations: %v: not started: %w", cfg, err)
	}
	var m *migrate.Migrate
	err = waitReachable(ctx, cfg, func() error {
		var err error
		m, err = open(ctx, cfg)
		return err
	})
	if err != nil {
		return err
	}
	defer func() {
		srcErr, dbErr := m.Close()
		if err == nil {
			if e := errors.Join(srcErr, dbErr); e != nil {
				err = fmt.Errorf("migrations: close: %w", e)
			}
		}
	}()

	// golang-migrate takes no context; GracefulStop lets the running
	// migration finish and skips the rest, which is the only safe way to
	// stop: killing a DDL half-way leaves the database dirty.
	stop := context.AfterFunc(ctx, func() { m.GracefulStop <- true })
	defer stop()

	err = op(m)
	if err == nil && ctx.Err() != nil {
		// GracefulStop makes golang-migrate return nil with work left.
		err = fmt.Errorf("stopped before finishing: %w", ctx.Err())
	}
	if err == nil {
		return nil
	}
	if errors.Is(err, database.ErrLocked) || errors.Is(err, migrate.ErrLockTimeout) {
		return err
	}
	var dirty migrate.ErrDirty
	if errors.As(err, &dirty) {
		return fmt.Errorf("migrations: %v: %w", cfg, DirtyAt(dirty.Version))
	}
	err = withoutMigrationText(err)
	// A failed migration leaves the version dirty; say so with the repair
	// command instead of leaving the next run to discover it.
	if st, verr := state(m); verr == nil && st.Dirty {
		return fmt.Errorf("migrations: %v: migration %d failed: %w; %w", cfg, st.Version, err, DirtyAt(st.Version))
	}
	return fmt.Errorf("migrations: %v: %w", cfg, err)
}

// withoutMigrationText rewrites golang-migrate's database.Error, whose
// message embeds the whole migration file and which does not unwrap, into
// its cause, keeping the statement only when it is one short line.
func withoutMigrationText(err error) error {
	var e database.Error
	if pe := (*database.Error)(nil); errors.As(err, &pe) {
		e = *pe
	} else if !errors.As(err, &e) {
		return err
	}
	if e.OrigErr == nil {
		return err
	}
	var parts []string
	if e.Err != "" && e.Err != "migration failed" { // the caller says which migration failed
		parts = append(parts, e.Err)
	}
	if q := strings.TrimSpace(string(e.Query)); q != "" && len(q) <= 120 && !strings.Contains(q, "\n") {
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		return e.OrigErr
	}
	return fmt.Errorf("%s: %w", strings.Join(parts, ": "), e.OrigErr)
}

// DirtyAt describes a database recorded as dirty at version, naming the
// version to force it back to.
func DirtyAt(version int) *DirtyError {
	e := &DirtyError{Version: version}
	for _, v := range Versions() {
		if v < version {
			e.Previous = v
		}
	}
	return e
}

// driverConfig is dbconn's driver configuration (authentication, TLS)
// with the two settings migrations need: several statements per Exec,
// because golang-migrate runs a file in one Exec, and no read timeout,
// because a DDL statement on a large table legitimately runs for minutes
// and a client that gives up on it leaves the database dirty while the
// server carries on. The Lambda deadline still bounds a run there.
func driverConfig(ctx context.Context, cfg dbconn.Config) (*mysqldriver.Config, error) {
	cfg.MultiStatements = true
	mc, err := cfg.MySQLConfig(ctx)
	if err != nil {
		return nil, err
	}
	mc.ReadTimeout = 0
	return mc, nil
}

func open(ctx context.Context, cfg dbconn.Config) (*migrate.Migrate, error) {
	mc, err := driverConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	connector, err := mysqldriver.NewConnector(mc)
	if err != nil {
		return nil, fmt.Errorf("migrations: %v: %w", cfg, err)
	}
	// One connection: golang-migrate holds it for the whole run, and
	// RELEASE_LOCK must come from the session that took GET_LOCK.
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(1)
	drv, err := mysql.WithInstance(db, &mysql.Config{MigrationsTable: MigrationsTable, DatabaseName: cfg.Name})
	if err != nil {
		db.Close()
		if errors.Is(err, database.ErrLocked) {
			return nil, err
		}
		return nil, fmt.Errorf("migrations: connect to %v: %w", cfg, err)
	}
	src, err := iofs.New(files, "sql")
	if err != nil {
		drv.Close()
		return nil, fmt.Errorf("migrations: embedded sql: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "mysql", drv)
	if err != nil {
		drv.Close()
		src.Close()
		return nil, fmt.Errorf("migrations: %w", err)
	}
	m.LockTimeout = driverLockTimeout
	m.Log = migrateLog{ctx: ctx}
	return m, nil
}

// lockName is the GET_LOCK name golang-migrate's mysql driver uses.
func lockName(dbName string) string {
	id, _ := database.GenerateAdvisoryLockId(dbName + ":" + MigrationsTable)
	return id
}

// migrateLog forwards golang-migrate's progress lines to slog.
type migrateLog struct{ ctx context.Context }

func (l migrateLog) Printf(format string, v ...any) {
	slog.InfoContext(l.ctx, strings.TrimSpace(fmt.Sprintf(format, v...)))
}

func (migrateLog) Verbose() bool { return false }
