package migrations

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicehq/sluice/internal/dbconn"
)

func TestWaitReachable(t *testing.T) {
	refused := syscall.ECONNREFUSED
	denied := &mysql.MySQLError{Number: 1045, Message: "Access denied"}
	syntax := &mysql.MySQLError{Number: 1064}
	tests := []struct {
		name      string
		auth      dbconn.Auth
		wait      time.Duration
		errs      []error // what each attempt returns; past the end: nil
		attempts  int
		wantErr   error // errors.Is target; nil: success
		wantFinal bool  // an *UnreachableError
	}{
		{name: "reachable at once", wait: time.Minute, attempts: 1},
		{name: "refused twice, then reachable", wait: time.Minute, errs: []error{refused, refused}, attempts: 3},
		{name: "no wait: one attempt", wait: 0, errs: []error{refused, refused}, attempts: 1, wantErr: refused, wantFinal: true},
		{name: "an SQL error is never retried", wait: time.Minute, errs: []error{syntax}, attempts: 1, wantErr: syntax},
		{name: "1045 with a password is never retried", auth: dbconn.AuthPassword, wait: time.Minute, errs: []error{denied}, attempts: 1, wantErr: denied},
		{name: "1045 with IAM is retried", auth: dbconn.AuthIAM, wait: time.Minute, errs: []error{denied}, attempts: 2},
		{name: "the wait runs out", wait: 500 * time.Millisecond, errs: []error{refused, refused, refused, refused, refused}, attempts: 2, wantErr: refused, wantFinal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.auth == "" {
				tc.auth = dbconn.AuthPassword
			}
			cfg := dbconn.Config{Endpoint: "127.0.0.1:1", Auth: tc.auth, ConnectWait: tc.wait}
			n := 0
			err := waitReachable(context.Background(), cfg, func() error {
				n++
				if n <= len(tc.errs) {
					return tc.errs[n-1]
				}
				return nil
			})
			if n != tc.attempts {
				t.Errorf("%d attempts, want %d", n, tc.attempts)
			}
			if (tc.wantErr == nil) != (err == nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			var ue *UnreachableError
			if errors.As(err, &ue) != tc.wantFinal {
				t.Errorf("err = %v: UnreachableError %t, want %t", err, !tc.wantFinal, tc.wantFinal)
			}
		})
	}
}
