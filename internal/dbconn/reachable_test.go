package dbconn

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// refusedDial returns the error a real dial to a loopback port with no
// listener gives, so the test classifies what the driver sees.
func refusedDial(t *testing.T) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
		t.Fatalf("dial %s: something listens there", addr)
	}
	return err
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("migrations: connect to x: %w", err) }
	tests := []struct {
		name string
		err  error
		auth Auth
		want Class
	}{
		{"nil", nil, AuthIAM, Permanent},
		{"connection refused (a real dial)", refusedDial(t), AuthIAM, Unreachable},
		{"connection refused, wrapped", wrap(refusedDial(t)), AuthPassword, Unreachable},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}, AuthIAM, Unreachable},
		{"read i/o timeout", wrap(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), AuthIAM, Unreachable},
		{"dial error of another kind", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("no route")}, AuthIAM, Unreachable},
		{"driver.ErrBadConn", wrap(driver.ErrBadConn), AuthIAM, Unreachable},
		{"mysql.ErrInvalidConn", mysql.ErrInvalidConn, AuthIAM, Unreachable},
		{"EOF during the handshake", wrap(io.ErrUnexpectedEOF), AuthIAM, Unreachable},
		{"RDS Proxy 9501", wrap(&mysql.MySQLError{Number: 9501, Message: "Timed-out waiting to acquire database connection"}), AuthIAM, Unreachable},
		{"2013 lost connection", &mysql.MySQLError{Number: 2013}, AuthPassword, Unreachable},
		{"1045 with IAM: the grant may be propagating", wrap(&mysql.MySQLError{Number: 1045}), AuthIAM, AuthPending},
		{"1045 with a password: wrong password", wrap(&mysql.MySQLError{Number: 1045}), AuthPassword, Permanent},
		{"SQL syntax error", &mysql.MySQLError{Number: 1064}, AuthIAM, Permanent},
		{"unknown database", &mysql.MySQLError{Number: 1049}, AuthIAM, Permanent},
		{"DNS name does not exist", &net.DNSError{Name: "nope.invalid", IsNotFound: true}, AuthIAM, Permanent},
		{"DNS server timed out", &net.DNSError{Name: "prx", IsTimeout: true}, AuthIAM, Unreachable},
		{"context deadline", wrap(context.DeadlineExceeded), AuthIAM, Permanent},
		{"context canceled", context.Canceled, AuthIAM, Permanent},
		{"a plain error", errors.New("database is dirty at version 3"), AuthIAM, Permanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err, tc.auth); got != tc.want {
				t.Errorf("Classify(%v, %s) = %s, want %s", tc.err, tc.auth, got, tc.want)
			}
		})
	}
}
