package record

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/offline/testdb"
)

// TestEveryKindRoundTripsThroughMySQL: for a field of every kind, a column
// of its ColumnType holds every value Decode accepts, written with Arg (as
// the consumer's interpolating connection writes it) and read back with
// Scanner as a Value that Equal finds the same, including NULL for an
// optional field and the limits of each kind.
func TestEveryKindRoundTripsThroughMySQL(t *testing.T) {
	fields := []Field{
		{Member: "s", Column: "s", Kind: String, MaxChars: 10},
		{Member: "p", Column: "p", Kind: String, MaxBytes: 16, Check: &E164},
		{Member: "n", Column: "n", Kind: Integer},
		{Member: "r", Column: "r", Kind: Integer, Min: -5, Max: 5},
		{Member: "d", Column: "d", Kind: Decimal, Digits: 10, Scale: 2},
		{Member: "t", Column: "t", Kind: Timestamp},
		{Member: "b", Column: "b", Kind: Boolean},
	}
	// Raw JSON values each field must accept, as a client sends them.
	accepted := map[string][]string{
		"s": {`"山田 太郎 🍣 10"`, `"  x  "`, `"O'Brien \"\\"`},
		"p": {`"+819012345678"`, `"+123456789012345"`},
		"n": {`0`, `-9223372036854775808`, `9223372036854775807`},
		"r": {`-5`, `5`},
		"d": {`12345678.99`, `-12345678.99`, `0.5`, `-0`, `007.10`},
		"t": {`"2026-12-08T09:30:15.123+09:00"`, `"1000-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999Z"`, `"2026-01-02T03:04:05.123456789Z"`},
		"b": {`true`, `false`},
	}
	ctx := context.Background()
	_, db := testdb.Open(t, dbconn.PoolOptions{MaxOpenConns: 1})
	var cols []string
	for i := range fields {
		cols = append(cols, fields[i].Column+" "+fields[i].ColumnType())
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE kinds (id INT PRIMARY KEY, "+strings.Join(cols, ", ")+") CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "SET SESSION sql_mode = '"+dbconn.StrictSQLMode+"'"); err != nil {
		t.Fatal(err)
	}
	id := 0
	for k := range fields {
		f := &fields[k]
		for _, raw := range append(accepted[f.Member], "null") {
			want, err := f.decode(raw)
			if err != nil {
				t.Fatalf("%s: %s refused: %v", f.Member, raw, err)
			}
			id++
			args := []any{id}
			for j := range fields {
				v := Value{}
				if j == k {
					v = want
				}
				args = append(args, fields[j].Arg(v))
			}
			q := fmt.Sprintf("INSERT INTO kinds VALUES (?%s)", strings.Repeat(", ?", len(fields)))
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatalf("%s: insert %s: %v", f.Member, raw, err)
			}
			dest, read := f.Scanner()
			if err := db.QueryRowContext(ctx, "SELECT "+f.Column+" FROM kinds WHERE id = ?", id).Scan(dest); err != nil {
				t.Fatalf("%s: read %s back: %v", f.Member, raw, err)
			}
			got, err := read()
			if err != nil || !f.Equal(got, want) {
				t.Errorf("%s: sent %s, decoded %+v, read back %+v (%v)", f.Member, raw, want, got, err)
			}
		}
	}
	// What Decode's rules stop, the strict column would refuse too; the
	// rules must stop it first (a value out of its kind's range).
	for _, tc := range []struct{ member, raw string }{
		{"d", `123456789.5`}, {"d", `0.125`}, {"d", `1e3`}, {"r", `6`}, {"n", `9223372036854775808`},
		{"t", `"0999-12-31T23:59:59Z"`}, {"t", `"2026-13-01T00:00:00Z"`}, {"s", `"12345678901"`}, {"p", `"+0123"`},
	} {
		for k := range fields {
			if fields[k].Member == tc.member {
				if v, err := fields[k].decode(tc.raw); err == nil {
					t.Errorf("%s: %s accepted as %+v", tc.member, tc.raw, v)
				}
			}
		}
	}
}
