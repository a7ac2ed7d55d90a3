package consumer_test

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
)

// TestPinnedSQLModeQuarantinesWhatValidationMissed: under the sql_mode the
// stack's parameter group pins (dbconn.StrictSQLMode), a value that passed
// validation but does not fit its column (here a column narrowed by hand,
// a change made outside the code) is refused by the database, and the
// consumer quarantines that record alone. Under a non-strict mode the same
// batch stores a silently cut value. The mode is set per connection here
// only because this MariaDB is shared and its global mode is not ours to
// change; in AWS the parameter group sets it for the server.
func TestPinnedSQLModeQuarantinesWhatValidationMissed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		mode   string
		strict bool
	}{
		{dbconn.StrictSQLMode, true},
		{"NO_ENGINE_SUBSTITUTION", false},
	} {
		cfg := testdb.New(t)
		if err := migrations.Up(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		admin, err := dbconn.Open(ctx, cfg, dbconn.PoolOptions{MaxOpenConns: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { admin.Close() })
		if _, err := admin.Exec("ALTER TABLE users MODIFY name VARCHAR(5) NULL"); err != nil {
			t.Fatal(err)
		}
		mc, err := cfg.MySQLConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mc.Params = map[string]string{"sql_mode": "'" + tc.mode + "'"}
		conn, err := mysql.NewConnector(mc)
		if err != nil {
			t.Fatal(err)
		}
		db := sql.OpenDB(conn)
		t.Cleanup(func() { db.Close() })
		var mode string
		if err := db.QueryRow("SELECT @@SESSION.sql_mode").Scan(&mode); err != nil || !strings.Contains(mode, "STRICT_TRANS_TABLES") != !tc.strict {
			t.Fatalf("session sql_mode %q, %v", mode, err)
		}

		h := consumer.New(db, consumer.Options{Logger: slog.New(slog.DiscardHandler), Metrics: io.Discard})
		e := &env{admin: admin, handler: h}
		failed := handle(t, lambdaCtx(t), e, msg("fits", body("Bo", "bo@example.com")), msg("cut", body("Alexander", "alex@example.com")))
		if failed != nil {
			t.Fatalf("%s: BatchItemFailures %v", tc.mode, failed)
		}
		names := map[string]string{}
		for _, u := range e.users(t) {
			names[u.SubmissionID] = u.Name
		}
		q := e.quarantine(t)
		if tc.strict {
			if len(names) != 1 || names["fits"] != "Bo" || q["cut"].Reason != consumer.ReasonRejectedByDatabase || !strings.HasPrefix(q["cut"].Detail.String, "MySQL error 1406") {
				t.Errorf("strict: users %v, quarantine %+v; want fits stored and cut quarantined with 1406", names, q)
			}
			continue
		}
		// What the pinned mode prevents: a row other than the one sent.
		if names["cut"] != "Alexa" || len(q) != 0 {
			t.Errorf("non-strict: users %v, quarantine %+v; want the cut name stored (this server no longer truncates?)", names, q)
		}
	}
}
