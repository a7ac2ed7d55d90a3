package testdb

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
)

func TestOpenGivesAnEmptyPrivateDatabase(t *testing.T) {
	cfg, db := Open(t, dbconn.PoolOptions{})
	var name string
	var tables int
	if err := db.QueryRowContext(context.Background(), "SELECT DATABASE(), (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE())").Scan(&name, &tables); err != nil {
		t.Fatal(err)
	}
	if name != cfg.Name || tables != 0 {
		t.Fatalf("connected to %q with %d tables, want %q and none", name, tables, cfg.Name)
	}
}
