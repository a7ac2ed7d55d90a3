package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/internal/dbconn"
)

// Lookup reports whether a users row holds the submission with idempotency
// key key (its dedupe key, record.KeyPrefix + key). It only reads: the
// first-deploy check uses it, through the migrator Lambda that already
// reaches the database, to see its probe submission stored without a new
// network path to the database.
func Lookup(ctx context.Context, cfg dbconn.Config, key string) (bool, error) {
	if err := record.ValidIdempotencyKey(key); err != nil {
		return false, fmt.Errorf("migrations: lookup: %w", err)
	}
	cfg.MultiStatements = false
	db, err := dbconn.Open(ctx, cfg, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		return false, fmt.Errorf("migrations: %w", err)
	}
	defer db.Close()
	if err := waitReachable(ctx, cfg, func() error { return db.PingContext(ctx) }); err != nil {
		return false, fmt.Errorf("migrations: %v: %w", cfg, err)
	}
	var one int
	err = db.QueryRowContext(ctx, "SELECT 1 FROM users WHERE submission_id = ?", record.KeyPrefix+key).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("migrations: lookup on %v: %w", cfg, err)
	}
	return true, nil
}
