package consumer

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/consumer/statementsize"
)

func TestOptionsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Options
		wantErr string
	}{
		{name: "unset keeps defaults", env: nil, want: Options{}},
		{name: "all set", env: map[string]string{EnvDeadlineMargin: "1500ms", statementsize.EnvVar: "65536", EnvMetricsNamespace: "SluiceDev"},
			want: Options{DeadlineMargin: 1500 * time.Millisecond, MaxStatementBytes: 65536, MetricsNamespace: "SluiceDev"}},
		{name: "margin not a duration", env: map[string]string{EnvDeadlineMargin: "2"}, wantErr: EnvDeadlineMargin},
		{name: "negative margin", env: map[string]string{EnvDeadlineMargin: "-1s"}, wantErr: EnvDeadlineMargin},
		{name: "zero margin", env: map[string]string{EnvDeadlineMargin: "0s"}, wantErr: EnvDeadlineMargin},
		{name: "statement too small", env: map[string]string{statementsize.EnvVar: "100"}, wantErr: statementsize.EnvVar},
		{name: "statement above max_allowed_packet", env: map[string]string{statementsize.EnvVar: "67108864"}, wantErr: statementsize.EnvVar},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := OptionsFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.DeadlineMargin != tt.want.DeadlineMargin || got.MaxStatementBytes != tt.want.MaxStatementBytes || got.MetricsNamespace != tt.want.MetricsNamespace {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestChunksStayWithinLimits(t *testing.T) {
	row := func(n int) userRow {
		return userRow{key: "id", messageID: "id", values: seedValues(strings.Repeat("x", n), "e@example.com")}
	}
	rows := make([]userRow, 0, 50)
	for i := range 50 {
		rows = append(rows, row(10+i*7))
	}
	rows = append(rows, row(5000), row(1)) // one row larger than the limit
	const limit = 1024
	got := chunks(rows, usersInsert, limit, userRow.literalLen)
	total := 0
	for i, c := range got {
		if len(c) == 0 {
			t.Fatalf("chunk %d is empty", i)
		}
		size := usersInsert.fixedLen()
		for _, r := range c {
			size += r.literalLen()
		}
		if size > limit && len(c) > 1 {
			t.Errorf("chunk %d: %d rows, %d bytes > %d", i, len(c), size, limit)
		}
		total += len(c)
	}
	if total != len(rows) {
		t.Fatalf("chunks hold %d rows, want %d", total, len(rows))
	}

	// The placeholder limit binds when rows are tiny and the byte limit
	// is not.
	many := make([]userRow, 20000)
	got = chunks(many, usersInsert, 1<<30, func(userRow) int { return 1 })
	if len(got) != 2 || len(got[0])*len(usersInsert.columns) > maxPlaceholders {
		t.Errorf("placeholder limit: chunk sizes %d", len(got[0]))
	}
}

// TestLiteralLenBoundsTheStatement checks the size estimate against what
// the statement really is once values are inlined, quoting and escaping as
// the driver does.
func TestLiteralLenBoundsTheStatement(t *testing.T) {
	name, email := `O'Brien "\ 山田`+"\u3000", "o'b@example.com"
	r := userRow{key: KeyPrefix + "client-key-0001", messageID: "0b6c3d3e-8f0a-4f0e-9a53-1c1d1e1f2021", values: seedValues(name, email),
		submittedAt: sql.NullTime{Time: time.Date(2026, 1, 2, 3, 4, 5, 999999000, time.UTC), Valid: true}}
	escape := strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\x00", `\0`, "\x1a", `\Z`)
	inlined := fmt.Sprintf("('%s', '%s', '%s', '%s')", escape.Replace(r.key), escape.Replace(name), escape.Replace(email),
		r.submittedAt.Time.Format("2006-01-02 15:04:05.999999"))
	if got := r.literalLen(); got < len(inlined)+2 {
		t.Errorf("literalLen %d < inlined row %d (+2 for the separator)", got, len(inlined))
	}
}

// seedValues are the values of a record with the seed's name and email
// (every other field absent).
func seedValues(name, email string) []record.Value {
	values := make([]record.Value, len(fields))
	for i := range fields {
		switch fields[i].Member {
		case "name":
			values[i] = record.Value{Str: name, Valid: true}
		case "email":
			values[i] = record.Value{Str: email, Valid: true}
		}
	}
	return values
}

func TestErrorClasses(t *testing.T) {
	tests := []struct {
		err       error
		data      bool
		transient bool
		deadlock  bool // the whole transaction is rerun
	}{
		{&mysql.MySQLError{Number: 1406, Message: "Data too long for column 'name' at row 1"}, true, false, false},
		{&mysql.MySQLError{Number: 1366}, true, false, false},
		{&mysql.MySQLError{Number: 4025}, true, false, false},
		{&mysql.MySQLError{Number: 3819}, true, false, false},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1213}), false, true, true},
		{&mysql.MySQLError{Number: 1205}, false, true, false},
		{&mysql.MySQLError{Number: 9501, Message: "Timed-out waiting to acquire database connection"}, false, true, false},
		{&mysql.MySQLError{Number: 1927}, false, true, false},
		{&mysql.MySQLError{Number: 1146, Message: "Table 'x.users' doesn't exist"}, false, false, false},
		{&mysql.MySQLError{Number: 1142, Message: "INSERT command denied"}, false, false, false},
		{&mysql.MySQLError{Number: 1364}, false, false, false}, // a column without default: the schema, not the row
		{mysql.ErrInvalidConn, false, true, false},
		{driver.ErrBadConn, false, true, false},
		{sql.ErrConnDone, false, true, false},
		{context.DeadlineExceeded, false, true, false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, false, true, false},
		{errors.New("something else"), false, false, false},
	}
	for _, tt := range tests {
		if _, got := dataError(tt.err); got != tt.data {
			t.Errorf("dataError(%v) = %v, want %v", tt.err, got, tt.data)
		}
		if got := isTransient(tt.err); got != tt.transient {
			t.Errorf("isTransient(%v) = %v, want %v", tt.err, got, tt.transient)
		}
		if got := isDeadlock(tt.err); got != tt.deadlock {
			t.Errorf("isDeadlock(%v) = %v, want %v", tt.err, got, tt.deadlock)
		}
	}
}

func TestDescribeHidesServerMessage(t *testing.T) {
	err := fmt.Errorf("consumer: insert 3 users rows: %w", &mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry 'alice@example.com' for key 'email'"})
	got := describe(err)
	if strings.Contains(got, "alice") || !strings.Contains(got, "insert 3 users rows") || !strings.Contains(got, "1062") || !strings.Contains(got, "23000") {
		t.Errorf("describe = %q", got)
	}
}

func TestTruncateDetail(t *testing.T) {
	long := strings.Repeat("長", maxDetailChars+10)
	if got := []rune(truncateDetail(long)); len(got) != maxDetailChars {
		t.Errorf("truncated to %d characters, want %d", len(got), maxDetailChars)
	}
	if got := truncateDetail("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
}

func TestSubmittedAt(t *testing.T) {
	sent := time.Date(2026, 11, 27, 4, 30, 15, 123e6, time.UTC)
	tests := []struct {
		attrs map[string]string
		want  sql.NullTime
	}{
		{map[string]string{"SentTimestamp": "1795753815123", "ApproximateFirstReceiveTimestamp": "1795753899999"}, sql.NullTime{Time: sent, Valid: true}},
		{map[string]string{"ApproximateFirstReceiveTimestamp": "1795753815123"}, sql.NullTime{Time: sent, Valid: true}},
		{map[string]string{"SentTimestamp": "soon"}, sql.NullTime{}},
		{nil, sql.NullTime{}},
	}
	for _, tt := range tests {
		got := submittedAt(tt.attrs)
		if got.Valid != tt.want.Valid || !got.Time.Equal(tt.want.Time) || (got.Valid && got.Time.Location() != time.UTC) {
			t.Errorf("submittedAt(%v) = %v, want %v", tt.attrs, got, tt.want)
		}
	}
}

// BenchmarkPrepare is the client-side work of a 1000-record batch, without
// the database: decoding and validating every body, chunking, and building
// the statements' arguments. It is what Handle adds to a raw INSERT, for
// bodies without and with an idempotency key.
func BenchmarkPrepare(b *testing.B) {
	for _, keyed := range []bool{false, true} {
		name := "keyless"
		if keyed {
			name = "keyed"
		}
		b.Run(name, func(b *testing.B) {
			msgs := make([]events.SQSMessage, 1000)
			for j := range msgs {
				m := map[string]string{"name": fmt.Sprintf("山田 太郎 %d", j), "email": fmt.Sprintf("taro.%d@example.jp", j)}
				if keyed {
					m["idempotency_key"] = fmt.Sprintf("%08x-e000-4000-8000-%012x", 1, j)
				}
				body, _ := json.Marshal(m)
				msgs[j] = events.SQSMessage{MessageId: fmt.Sprintf("%08x-a000-4000-8000-%012x", 1, j), Body: string(body), Attributes: map[string]string{"SentTimestamp": "1795753815123"}}
			}
			h := New(nil, Options{})
			for b.Loop() {
				batch, err := h.prepare(msgs)
				if err != nil || len(batch.users) != len(msgs) {
					b.Fatalf("prepare: %v, %d valid", err, len(batch.users))
				}
				for _, c := range chunks(batch.users, usersInsert, statementsize.Default, userRow.literalLen) {
					args := make([]any, 0, len(c)*len(usersInsert.columns))
					for _, r := range c {
						args = appendUser(args, r)
					}
					_ = usersInsert.text(len(c))
				}
			}
		})
	}
}
